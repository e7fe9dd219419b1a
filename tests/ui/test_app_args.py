"""Photos and folders named on the command line (the desktop entry's %F) are imported."""

from __future__ import annotations

import configparser
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from gen2res_desktop.ui import app
from gen2res_desktop.ui.app import ArgPaths, open_command_line_paths, paths_from_args

ROOT = Path(__file__).resolve().parents[2]


def test_paths_from_args_keeps_existing_files_and_folders_once(tmp_path):
    photo = tmp_path / "Grandma at the beach.jpg"
    photo.write_bytes(b"not really a jpeg: existing is enough here")
    folder = tmp_path / "shoebox"
    folder.mkdir()
    gone = tmp_path / "moved away.png"
    args = [
        str(photo),
        "--some-option",  # not Qt's (QApplication takes those out): ignored
        str(folder),
        str(gone),
        "file://" + str(photo).replace(" ", "%20"),  # the same photo as an address
        str(folder / ".." / "shoebox"),  # the same folder again
        "",
        "bad\0name.png",  # no file system takes this name
    ]
    result = paths_from_args(args)
    assert result.found == [photo, folder]
    assert result.missing == [str(gone), "bad\0name.png"]
    assert paths_from_args([]) == ArgPaths([], [])


def test_paths_from_args_resolves_relative_paths(tmp_path, monkeypatch):
    (tmp_path / "scan.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert paths_from_args(["scan.png"]).found == [tmp_path / "scan.png"]


class _Imports:
    def __init__(self) -> None:
        self.calls: list[list[Path]] = []

    def import_paths(self, paths) -> int:
        self.calls.append(list(paths))
        return len(self.calls)


class _Window(QWidget):
    """The main window's part that command-line files need: its import controller."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        self.imports = _Imports()
        self.welcomed = False
        self.windows = self  # the windows controller's show_welcome
        self.subjects = self  # the subjects controller's offer_resume
        self.restore = self  # the restore controller's offer_resume (unfinished restores)
        self.resume_offered = False
        _Window.made.append(self)

    def show_welcome(self) -> None:
        self.welcomed = True

    def offer_resume(self) -> list[int]:
        self.resume_offered = True
        return []

    made: list[_Window] = []


def test_found_files_are_imported_and_missing_ones_reported(qtbot, tmp_path):
    window = _Window()
    qtbot.addWidget(window)
    photo = tmp_path / "scan.png"
    box = open_command_line_paths(window, ArgPaths([photo], [str(tmp_path / "gone.png")]))
    assert window.imports.calls == [[photo]]
    assert isinstance(box, QMessageBox) and box.isVisible() and box.parent() is window
    assert str(tmp_path / "gone.png") in box.text()
    assert "could not find this file or folder" in box.text() and "--" not in box.text()
    box.close()
    # all there: no message; nothing named: nothing imported
    assert open_command_line_paths(window, ArgPaths([photo, tmp_path], [])) is None
    assert window.imports.calls == [[photo], [photo, tmp_path]]
    assert open_command_line_paths(window, ArgPaths([], [])) is None
    assert len(window.imports.calls) == 2
    many = [f"/nowhere/{i}.jpg" for i in range(25)]
    box = open_command_line_paths(window, ArgPaths([], many))
    assert "these files or folders" in box.text() and "…and 5 more" in box.text()
    assert "/nowhere/24.jpg" not in box.text()
    box.close()


def test_main_imports_the_files_named_on_its_command_line(qtbot, monkeypatch, tmp_path):
    from gen2res_desktop.ui import crash_handler, main_window

    photo = tmp_path / "scan.png"
    photo.write_bytes(b"x")
    _Window.made.clear()
    monkeypatch.setattr(main_window, "MainWindow", _Window)
    monkeypatch.setattr(crash_handler, "install_crash_handler", lambda path: None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(app, "setup_logging", lambda home: None)
    monkeypatch.setattr(app, "_apply_look", lambda qapp: None)

    class Library:
        closed = False

        def close(self) -> None:
            self.closed = True

    library = Library()
    monkeypatch.setattr(app, "open_library", lambda home, ask: library)

    def run_event_loop(self) -> int:
        # the import starts once the event loop runs, after the window is shown
        qtbot.waitUntil(lambda: bool(_Window.made and _Window.made[0].imports.calls))
        return 0

    monkeypatch.setattr(QApplication, "exec", run_event_loop)
    qapp = QApplication.instance()
    before = (
        QCoreApplication.organizationName(),
        QCoreApplication.applicationName(),
        QCoreApplication.applicationVersion(),
        qapp.applicationDisplayName(),
        QGuiApplication.desktopFileName(),
    )
    try:
        assert app.main([str(photo), str(tmp_path / "gone.jpg"), "--no-such-option"]) == 0
    finally:
        QCoreApplication.setOrganizationName(before[0])
        QCoreApplication.setApplicationName(before[1])
        QCoreApplication.setApplicationVersion(before[2])
        qapp.setApplicationDisplayName(before[3])
        QGuiApplication.setDesktopFileName(before[4])
    (window,) = _Window.made
    qtbot.addWidget(window)
    assert window.isVisible() and window.welcomed  # the first run's welcome came first
    assert window.resume_offered  # unfinished trainings are offered once the loop runs
    assert window.imports.calls == [[photo]]
    (box,) = window.findChildren(QMessageBox)
    assert str(tmp_path / "gone.jpg") in box.text()
    assert library.closed


def test_the_desktop_entry_passes_the_files_it_opens():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "io.github.gen2res.Gen2Res.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Exec"].split() == ["gen2res-desktop", "%F"]
    assert "image/jpeg" in section["MimeType"].split(";")
    assert app.DESKTOP_FILE == "io.github.gen2res.Gen2Res"
