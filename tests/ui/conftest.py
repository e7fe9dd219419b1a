"""Qt tests run offscreen, with QSettings and the library in temporary folders."""

from __future__ import annotations

import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

FLAG = re.compile(r"(?<![\w-])--[a-z]")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch, qapp):
    """Each test gets its own settings file and library folder."""
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("GEN2RES_HOME", str(tmp_path / "home"))
    yield tmp_path / "settings"


@pytest.fixture
def library(tiny_registry, gen2res_home):
    """A library in GEN2RES_HOME with the tiny prior installed as 'tiny' (kind face)."""
    from gen2res_desktop.library.store import Library

    lib = Library.open(gen2res_home)
    yield lib
    lib.close()


@pytest.fixture
def photo_files(tmp_path, astronaut, chelsea) -> dict[str, Path]:
    from skimage import data

    folder = tmp_path / "shoebox"
    folder.mkdir()
    files = {
        "astronaut": folder / "astronaut.png",
        "chelsea": folder / "chelsea.jpg",
        "coffee": folder / "coffee.png",
    }
    astronaut.save(files["astronaut"])
    chelsea.save(files["chelsea"], quality=90)
    Image.fromarray(data.coffee()).save(files["coffee"])
    return files


@pytest.fixture
def reference_files(tmp_path, astronaut) -> list[Path]:
    """Five different pictures of the astronaut (training needs at least five)."""
    folder = tmp_path / "references"
    folder.mkdir()
    variants = [
        astronaut,
        ImageOps.mirror(astronaut),
        astronaut.crop((60, 0, 460, 400)),
        astronaut.rotate(8),
        ImageOps.autocontrast(astronaut.crop((100, 10, 400, 310))),
    ]
    paths = []
    for i, img in enumerate(variants):
        path = folder / f"ref{i}.png"
        img.save(path)
        paths.append(path)
    return paths


@pytest.fixture
def make_window(qtbot, library):
    """A MainWindow over ``library`` with synchronous runners unless given others."""
    from gen2res_desktop.ui.main_window import MainWindow
    from gen2res_desktop.ui.settings import AppSettings
    from gen2res_desktop.ui.workers import SyncJobRunner

    windows = []

    def make(**kwargs):
        kwargs.setdefault("runner", SyncJobRunner())
        kwargs.setdefault("io_runner", SyncJobRunner())
        kwargs.setdefault("download_runner", SyncJobRunner())
        kwargs.setdefault(
            "settings",
            AppSettings(steps=1, find_faces=False, welcome_done=True, measure_speed=False),
        )
        window = MainWindow(library, **kwargs)
        shown = window.notify

        def notify(title, text, *, error=False):
            # every message a test provokes is checked as a user would read it
            assert not FLAG.search(text), f"a window names a command-line flag: {text}"
            shown(title, text, error=error)

        window.notify = notify
        window.ask = lambda title, question: True
        window.choose = lambda title, question, choices: 0  # the first choice
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.ask = lambda title, question: True
        window.close()
        assert not window.threads_running()
