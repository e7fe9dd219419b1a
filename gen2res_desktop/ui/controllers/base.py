"""What every area of the main window shares: the window, its library, actions, guards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QImage, QImageReader, QKeySequence

from gen2res_desktop.core.errors import Gen2ResError

if TYPE_CHECKING:
    from gen2res_desktop.library.store import Library
    from gen2res_desktop.ui.main_window import MainWindow
    from gen2res_desktop.ui.settings import AppSettings


class Controller(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    @property
    def library(self) -> Library:
        return self.window.library

    @property
    def settings(self) -> AppSettings:
        return self.window.settings

    def action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self.window)
        action.triggered.connect(lambda _=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        self.window.addAction(action)
        return action

    def guard(self, title: str, fn: Callable[[], object]) -> object | None:
        """Run a quick library call; an expected failure becomes a message, never a crash."""
        try:
            return fn()
        except Gen2ResError as e:
            self.window.notify(title, str(e), error=True)
        except OSError as e:
            self.window.notify(title, f"{e.strerror or e}", error=True)
        return None

    def status(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 photo', '3 photos'."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def read_qimage(path: Path) -> QImage:
    """Load an image upright (EXIF orientation applied, as the library's pixels are)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise Gen2ResError(f"{Path(path).name}: cannot be shown ({reader.errorString()}).")
    return image
