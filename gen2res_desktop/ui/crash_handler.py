"""Last line of defence: an unexpected error is logged and explained, never a silent exit.

:func:`install_crash_handler` replaces ``sys.excepthook`` (exceptions escaping Qt slots
and event handlers land there, and PySide6 then keeps the app running) and
``threading.excepthook`` (Python threads). Each writes the traceback to the library's
log file and shows a dialog naming that file; an error in a worker thread reaches the
dialog through a queued signal, since widgets belong to the GUI thread. Native crashes
(a segfault in dlib or torch) cannot show anything, so ``faulthandler`` writes their
Python stack to ``native-crash.log`` beside the log.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

from PySide6.QtCore import QCoreApplication, QObject, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from gen2res_desktop.core.errors import Gen2ResError

NATIVE_LOG_NAME = "native-crash.log"
# The same error raised again within this many seconds is logged but not shown again, so
# an error in a repaint cannot bury the user under dialogs.
REPEAT_QUIET_S = 10.0

# Same layout as the app's log lines, so the crash sits among them in order.
_FORMATTER = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# faulthandler writes to this file descriptor at crash time, so the file stays open.
_native_log: TextIO | None = None


class _CrashHandler(QObject):
    """The hooks; lives on the GUI thread so reports from other threads queue to it."""

    crashed = Signal(str, str, bool)

    def __init__(self, log_path: Path) -> None:
        super().__init__()
        self.log_path = log_path
        self._showing = False
        self._last_shown: dict[str, float] = {}
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())
        self.crashed.connect(self.show_dialog)

    def excepthook(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        self.report((kind, exc, tb))

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return  # what threading does by default: a thread may end itself this way
        self.report((args.exc_type, args.exc_value, args.exc_traceback))

    def report(self, exc_info: ExcInfo) -> None:
        written = self.write_log(exc_info)
        kind, exc, _ = exc_info
        if isinstance(exc, Gen2ResError):
            summary = str(exc)  # already written for the user; only its catch was missing
        else:
            name = f"{kind.__name__}: {exc}" if str(exc) else kind.__name__
            summary = f"Something went wrong that Gen2Res did not expect:\n{name}"
        # Emitted, not called: from another thread the signal queues to the GUI thread.
        self.crashed.emit(summary, _FORMATTER.formatException(exc_info), written)

    def write_log(self, exc_info: ExcInfo) -> bool:
        """Append the traceback to the log file; False when the file cannot be written."""
        record = logging.LogRecord(
            "gen2res_desktop.crash", logging.CRITICAL, __file__, 0, "unhandled error", (), exc_info
        )
        text = _FORMATTER.format(record) + "\n"
        if sys.__stderr__ is not None:  # None in a windowed app on Windows
            sys.__stderr__.write(text)
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # Opened per report, not held: the app's rotating handler renames this file.
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(text)
        except OSError:
            return False
        return True

    @Slot(str, str, bool)
    def show_dialog(self, summary: str, details: str, logged: bool) -> None:
        now = time.monotonic()
        if self._showing or now - self._last_shown.get(summary, -REPEAT_QUIET_S) < REPEAT_QUIET_S:
            return
        if not isinstance(QCoreApplication.instance(), QApplication):
            return  # no GUI (yet, or any more): the log and stderr are all there is
        self._last_shown[summary] = now
        self._showing = True
        try:
            box = QMessageBox(QApplication.activeWindow())
            box.setIcon(QMessageBox.Critical)
            box.setWindowTitle("Gen2Res: unexpected error")
            box.setText(summary)
            if logged:
                box.setInformativeText(
                    f"The details are in the log file:\n{self.log_path}\n\n"
                    "Your photos are safe. If you report the problem, please attach that file."
                )
            else:
                box.setInformativeText(
                    f"The log file {self.log_path} could not be written, so the details are "
                    "shown here only. Your photos are safe."
                )
            box.setDetailedText(details)
            open_folder = box.addButton("Open Log Folder", QMessageBox.ActionRole)
            box.setDefaultButton(box.addButton(QMessageBox.Close))
            box.exec()
            if box.clickedButton() is open_folder:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_path.parent)))
        finally:
            self._showing = False


def install_crash_handler(log_path: Path) -> None:
    """Log unexpected exceptions of every thread to ``log_path`` and show them in a dialog.

    Call it on the GUI thread once the QApplication exists; calling it again (another
    library) replaces the previous handler.
    """
    global _native_log
    log_path = Path(log_path)
    handler = _CrashHandler(log_path)  # the hooks' bound methods keep it alive
    sys.excepthook = handler.excepthook
    threading.excepthook = handler.thread_excepthook
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        native = open(log_path.parent / NATIVE_LOG_NAME, "a", encoding="utf-8")
    except OSError:
        return  # a read-only library: Python errors still reach stderr and the dialog
    faulthandler.enable(file=native, all_threads=True)
    if _native_log is not None:
        _native_log.close()
    _native_log = native
