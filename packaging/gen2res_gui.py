"""Entry script of the frozen GUI app (``gen2res-desktop``); PyInstaller runs it as __main__.

``--smoke-test`` checks a build or an install: start on an empty library in a temporary
folder with temporary settings (the real ones are never touched), wait for the main window,
close it (and the first-run welcome dialog), exit 0, and print how long the window took.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

from gen2res_desktop.ui.app import main  # noqa: E402

SMOKE_FLAG = "--smoke-test"


def smoke_test(argv: list[str]) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gen2res_desktop.core.paths import ENV_HOME
    from gen2res_desktop.ui.main_window import MainWindow

    # ignore_cleanup_errors: on Windows the log file is still open when main() returns
    with tempfile.TemporaryDirectory(prefix="gen2res-smoke-", ignore_cleanup_errors=True) as tmp:
        os.environ[ENV_HOME] = os.path.join(tmp, "library")
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, os.path.join(tmp, "settings"))
        app = QApplication.instance() or QApplication([sys.argv[0], *argv])

        def close_when_shown() -> None:
            modal = app.activeModalWidget()
            if modal is not None:
                modal.close()  # the first-run welcome dialog; main() goes on after it
                return
            for widget in app.topLevelWidgets():
                if isinstance(widget, MainWindow) and widget.isVisible():
                    timer.stop()
                    elapsed = time.perf_counter() - START
                    print(f"main window shown after {elapsed:.2f} s", flush=True)
                    widget.close()

        timer = QTimer()
        timer.timeout.connect(close_when_shown)
        timer.start(20)
        return main(argv)


if __name__ == "__main__":
    args = sys.argv[1:]
    if SMOKE_FLAG in args:
        args.remove(SMOKE_FLAG)
        raise SystemExit(smoke_test(args))
    raise SystemExit(main(args))
