"""Entry point of the ``gen2res-desktop`` GUI script and ``python -m gen2res_desktop``."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gen2res_desktop import __version__
from gen2res_desktop.core.errors import Gen2ResError

log = logging.getLogger("gen2res_desktop")

LOG_NAME = "gen2res.log"


def setup_logging(home: Path) -> Path | None:
    """Rotating log file in ``<library>/logs``; returns its path (None if not writable)."""
    folder = home / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / LOG_NAME, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root = logging.getLogger("gen2res_desktop")
    root.setLevel(logging.INFO)
    for old in [h for h in root.handlers if getattr(h, "_gen2res", False)]:
        root.removeHandler(old)
        old.close()
    handler._gen2res = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return folder / LOG_NAME


def _apply_look(app) -> None:
    """The style sheet and window icon; a missing file is logged, never fatal."""
    from PySide6.QtGui import QIcon

    from gen2res_desktop import resources

    try:
        app.setStyleSheet(resources.style_sheet())
        icon = QIcon()
        for path in resources.icon_files():
            icon.addFile(str(path))
        app.setWindowIcon(icon)
    except (FileNotFoundError, OSError) as e:
        log.warning("resources: %s", e)


def open_library(home: Path, ask_restore: Callable[[str, str], bool]):
    """The library in ``home``; when its database is lost or damaged and a backup exists,
    ``ask_restore(problem, backup)`` decides whether to bring the newest backup back.
    None (after telling the user) when it cannot be opened."""
    from PySide6.QtWidgets import QMessageBox

    from gen2res_desktop.library.backups import list_backups, restore_backup
    from gen2res_desktop.library.store import Library

    try:
        return Library.open(home)
    except Gen2ResError as e:
        log.error("cannot open the library: %s", e)
        problem = str(e)
    found = list_backups(home)
    if found and ask_restore(problem, found[0].describe()):
        try:
            chosen = restore_backup(home)
            log.info("restored the library database from %s", chosen.name)
            return Library.open(home)
        except Gen2ResError as e:
            log.error("restoring the backup failed: %s", e)
            problem = str(e)
    QMessageBox.critical(None, "Gen2Res", f"The photo library cannot be opened.\n\n{problem}")
    return None


def _ask_restore_backup(problem: str, backup: str) -> bool:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(
        QMessageBox.Warning,
        "Gen2Res",
        f"The photo library cannot be opened.\n\n{problem}\n\nBring back the newest backup, "
        f"{backup}? The current database is kept aside in the backups folder.",
    )
    restore = box.addButton("Restore backup", QMessageBox.AcceptRole)
    box.addButton("Quit", QMessageBox.RejectRole)
    box.exec()
    return box.clickedButton() is restore


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; returns the process exit code."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from gen2res_desktop.ui.crash_handler import install_crash_handler
    from gen2res_desktop.ui.main_window import MainWindow
    from gen2res_desktop.ui.settings import APPLICATION, ORGANIZATION, AppSettings

    args = list(
        sys.argv if argv is None else [sys.argv[0] if sys.argv else "gen2res-desktop", *argv]
    )
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication(args)
    app.setApplicationDisplayName("Gen2Res")

    settings = AppSettings.load()
    home = settings.library_home()
    log_path = setup_logging(home)
    # exceptions escaping a slot are logged and explained: the app never dies on bad input
    install_crash_handler(log_path or home / "logs" / LOG_NAME)
    _apply_look(app)
    log.info("Gen2Res %s starting; library %s; log %s", __version__, home, log_path)
    library = open_library(home, _ask_restore_backup)
    if library is None:
        return 1
    try:
        window = MainWindow(library, settings=settings)
        window.show()
        if not settings.welcome_done:
            window.show_welcome()
        code = app.exec()
    finally:
        library.close()
    log.info("Gen2Res exiting with %s", code)
    return int(code)
