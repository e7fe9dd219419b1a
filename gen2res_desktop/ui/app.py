"""Entry point of the ``gen2res-desktop`` GUI script and ``python -m gen2res_desktop``."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlparse

from gen2res_desktop import __version__
from gen2res_desktop.core.errors import Gen2ResError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("gen2res_desktop")

LOG_NAME = "gen2res.log"
APP_NAME = "Gen2Res"  # the display name Qt adds to every window title
DESKTOP_FILE = "io.github.gen2res.Gen2Res"  # resources/<this>.desktop, as installed


def log_path(home: Path) -> Path:
    """Where the app writes its log for the library in ``home``: ``<library>/logs``."""
    return Path(home) / "logs" / LOG_NAME


def setup_logging(home: Path) -> Path | None:
    """Rotating log file in ``<library>/logs``; returns its path (None if not writable)."""
    path = log_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
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
    return path


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


class ArgPaths(NamedTuple):
    """The files and folders named on the command line."""

    found: list[Path]  # existing ones, each once, in the order given
    missing: list[str]  # named but not there, as given


def paths_from_args(args: Sequence[str]) -> ArgPaths:
    """The photos and folders to import from the command line's arguments (the program's
    name left out): the desktop entry passes the files opened with Gen2Res (``%F``). Qt's
    own options are gone already (QApplication takes them out); any other option is
    ignored, a ``file://`` address is read as its path, and a path that is not there is
    returned in ``missing`` rather than failing."""
    found: list[Path] = []
    missing: list[str] = []
    seen: set[Path] = set()
    for arg in args:
        if not arg or arg.startswith("-"):
            if arg:
                log.info("command line: ignoring %s", arg)
            continue
        text = unquote(urlparse(arg).path) if arg.startswith("file://") else arg
        path = Path(text).expanduser()
        try:
            exists = path.exists()
            path = path.resolve()
        except (OSError, ValueError):  # a name the system cannot take (too long, a NUL)
            exists = False
        if not exists:
            missing.append(arg)
        elif path not in seen:
            seen.add(path)
            found.append(path)
    if missing:
        log.warning("command line: not found: %s", ", ".join(missing))
    return ArgPaths(found, missing)


def open_command_line_paths(window: QWidget, paths: ArgPaths) -> QMessageBox | None:
    """Import ``paths.found`` with ``window``'s import controller (``window.imports``) and
    say which files were not found; returns that message (None when all were there)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    box = None
    if paths.missing:
        names = "\n".join(paths.missing[:20])
        more = len(paths.missing) - 20
        if more > 0:
            names += f"\n…and {more} more"
        one = len(paths.missing) == 1
        box = QMessageBox(
            QMessageBox.Information,
            "Not found",
            f"Gen2Res could not find {'this file or folder' if one else 'these files or folders'}"
            f" to import. {'It' if one else 'They'} may have been moved or renamed, or be on "
            f"a drive that is not connected.\n\n{names}",
            QMessageBox.Ok,
            window,
        )
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
    if paths.found:
        window.imports.import_paths(paths.found)
    return box


# The signals a session sends when it ends (logout, shutdown: SIGTERM; a closed terminal:
# SIGHUP) and Ctrl+C in the terminal that started the app.
QUIT_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


def quit_on_signals(quit_now: Callable[[], None]) -> Callable[[], None]:
    """Make the signals that end a session call ``quit_now`` on the GUI thread (which
    quits as Quit does: jobs stopped after their step and kept for next time, window state
    saved, nothing half-written) instead of killing the process mid-write. Returns what puts
    the previous handlers back. Call it on the main thread.

    Python runs a signal handler only when the interpreter next runs, and Qt's event loop
    waits in C++: the signal wakes it through a socket (``signal.set_wakeup_fd``) watched
    by a QSocketNotifier.
    """
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer

    read_end, write_end = socket.socketpair()
    for end in (read_end, write_end):
        end.setblocking(False)
    notifier = QSocketNotifier(read_end.fileno(), QSocketNotifier.Read)

    def drain() -> None:
        try:
            while read_end.recv(64):
                pass
        except OSError:  # BlockingIOError: nothing more to read
            pass

    notifier.activated.connect(drain)  # the Python handler below runs around this slot

    def handler(signum: int, _frame: object) -> None:
        log.info("signal %s: quitting", signal.Signals(signum).name)
        QTimer.singleShot(0, quit_now)

    previous = {}
    for name in QUIT_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, handler)
    old_fd = signal.set_wakeup_fd(write_end.fileno())

    def restore() -> None:
        signal.set_wakeup_fd(old_fd)
        for number, old in previous.items():
            signal.signal(number, old)
        notifier.setEnabled(False)
        notifier.deleteLater()
        read_end.close()
        write_end.close()

    return restore


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; returns the process exit code."""
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtGui import QGuiApplication
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
    created = QApplication.instance() is None
    app = QApplication.instance() or QApplication(args)
    # Qt adds the display name to every window title: "Settings — Gen2Res"
    app.setApplicationDisplayName(APP_NAME)
    QGuiApplication.setDesktopFileName(DESKTOP_FILE)  # the menu entry's icon on Wayland
    # photos and folders to import; QApplication took its own options out of its copy
    opened = paths_from_args(app.arguments()[1:] if created else args[1:])

    settings = AppSettings.load()
    home = settings.library_home()
    log_file = setup_logging(home)
    # exceptions escaping a slot are logged and explained: the app never dies on bad input
    install_crash_handler(log_file or log_path(home))
    _apply_look(app)
    log.info("Gen2Res %s starting; library %s; log %s", __version__, home, log_file)
    library = open_library(home, _ask_restore_backup)
    if library is None:
        return 1
    restore_signals = None
    try:
        window = MainWindow(library, settings=settings)
        restore_signals = quit_on_signals(lambda: window.jobs.quit_now())
        window.show()
        if not settings.welcome_done:
            window.windows.show_welcome()
        if opened.found or opened.missing:
            QTimer.singleShot(0, lambda: open_command_line_paths(window, opened))
        # what the last quit, logout or crash cut short: trainings, then restores
        QTimer.singleShot(0, window.subjects.offer_resume)
        QTimer.singleShot(0, window.restore.offer_resume)
        code = app.exec()
    finally:
        if restore_signals is not None:
            restore_signals()
        library.close()
    log.info("Gen2Res exiting with %s", code)
    return int(code)
