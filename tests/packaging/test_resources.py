"""The resources helper and the files it serves: icon sizes, SVG, style sheet."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gen2res_desktop import resources
from gen2res_desktop.resources import APP_ID, ICON_SIZES

ROOT = Path(__file__).resolve().parents[2]


def _load_render_script():
    spec = importlib.util.spec_from_file_location(
        "render_icons", ROOT / "packaging" / "render_icons.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_icon_files_every_size_then_svg():
    files = resources.icon_files()
    assert [f.suffix for f in files] == [".png"] * len(ICON_SIZES) + [".svg"]
    for size, path in zip(ICON_SIZES, files, strict=False):
        with Image.open(path) as img:
            assert img.size == (size, size)
            assert img.mode == "RGBA"
            alpha = np.asarray(img.getchannel("A"))
        # a real mark with transparent corners, not an empty or a solid square
        assert alpha[0, 0] == 0 and alpha.mean() > 64


def test_pngs_are_renders_of_the_current_svg(qapp, tmp_path):
    """Editing the SVG without re-running packaging/render_icons.py fails here."""
    render = _load_render_script().render
    svg = resources.icon_files()[-1]
    fresh = render(svg, tmp_path, sizes=(48, 256))
    for size, new in zip((48, 256), fresh, strict=True):
        shipped = resources.resource_path(f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png")
        a = np.asarray(Image.open(shipped).convert("RGBA"), dtype=np.int16)
        b = np.asarray(Image.open(new).convert("RGBA"), dtype=np.int16)
        # a few levels of antialiasing may differ between Qt versions, a changed shape not
        assert np.abs(a - b).mean() < 2.0


def test_svg_renders_in_qt(qapp):
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(resources.icon_files()[-1]))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 256


def test_style_sheet_parses(qapp):
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QPushButton

    text = resources.style_sheet()
    assert "QPushButton" in text
    messages: list[str] = []
    previous = qInstallMessageHandler(lambda _kind, _ctx, msg: messages.append(msg))
    try:
        button = QPushButton("Restore")
        button.setStyleSheet(text)  # Qt parses it here and warns on a syntax error
        button.ensurePolished()
        clean = list(messages)
        # the same check on a broken copy, to show it does see errors
        broken = QPushButton("Broken")
        broken.setStyleSheet(text + "\nQPushButton { color: ")
        broken.ensurePolished()
    finally:
        qInstallMessageHandler(previous)
    assert not clean
    assert any("could not parse" in m.lower() for m in messages)


def test_missing_resource_names_the_folder():
    with pytest.raises(FileNotFoundError, match="installation is incomplete") as info:
        resources.resource_path("icons/no-such-icon.png")
    assert str(resources.data_dir()) in str(info.value)


def test_frozen_app_reads_beside_the_executable(monkeypatch, tmp_path):
    # PyInstaller sets sys._MEIPASS; the spec puts the data at gen2res_desktop/data there
    (tmp_path / "gen2res_desktop" / "data").mkdir(parents=True)
    (tmp_path / "gen2res_desktop" / "data" / "style.qss").write_text("QWidget {}", "utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.data_dir() == tmp_path / "gen2res_desktop" / "data"
    assert resources.style_sheet() == "QWidget {}"
