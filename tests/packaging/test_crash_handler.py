"""The crash handler logs unexpected errors and tells the user where the log is."""

from __future__ import annotations

import faulthandler
import subprocess
import sys
import textwrap
import threading

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.ui.crash_handler import NATIVE_LOG_NAME, install_crash_handler

# pytest-qt would swallow slot exceptions itself; these tests want ours to see them
pytestmark = pytest.mark.qt_no_exception_capture


@pytest.fixture
def shown(monkeypatch, qapp) -> list[dict[str, str]]:
    """Dialogs the handler showed (exec replaced, so nothing blocks); hooks restored after."""
    boxes: list[dict[str, str]] = []

    def fake_exec(box: QMessageBox) -> int:
        boxes.append(
            {
                "title": box.windowTitle(),
                "text": box.text(),
                "info": box.informativeText(),
                "details": box.detailedText(),
            }
        )
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield boxes
    faulthandler.enable(file=sys.__stderr__)  # pytest had it on; point it back at stderr


def _raise_in_restore_step() -> None:
    raise ValueError("scanner returned a negative width")


def _exc_info():
    try:
        _raise_in_restore_step()
    except ValueError:
        return sys.exc_info()


def test_error_is_logged_and_shown_with_the_log_location(tmp_path, shown):
    log = tmp_path / "library" / "logs" / "gen2res.log"
    install_crash_handler(log)
    sys.excepthook(*_exc_info())

    text = log.read_text(encoding="utf-8")
    assert "CRITICAL" in text and "Traceback" in text
    assert "_raise_in_restore_step" in text and "scanner returned a negative width" in text
    assert len(shown) == 1
    assert "ValueError: scanner returned a negative width" in shown[0]["text"]
    assert str(log) in shown[0]["info"]
    assert "_raise_in_restore_step" in shown[0]["details"]


def test_exception_escaping_a_slot_reaches_the_handler(tmp_path, shown, qapp):
    class Emitter(QObject):
        fired = Signal()

    log = tmp_path / "logs" / "gen2res.log"
    install_crash_handler(log)
    emitter = Emitter()
    emitter.fired.connect(_raise_in_restore_step)
    emitter.fired.emit()  # PySide6 hands the slot's exception to sys.excepthook and goes on

    assert "_raise_in_restore_step" in log.read_text(encoding="utf-8")
    assert len(shown) == 1


def test_worker_thread_error_shows_on_the_gui_thread(tmp_path, shown, qtbot, monkeypatch):
    log = tmp_path / "logs" / "gen2res.log"
    install_crash_handler(log)
    shown_from: list[bool] = []
    real_exec = QMessageBox.exec

    def record_thread(box):
        shown_from.append(threading.current_thread() is threading.main_thread())
        return real_exec(box)

    monkeypatch.setattr(QMessageBox, "exec", record_thread)
    worker = threading.Thread(target=_raise_in_restore_step, name="restore-worker")
    worker.start()
    worker.join()

    qtbot.waitUntil(lambda: len(shown) == 1, timeout=5000)
    assert shown_from == [True]
    text = log.read_text(encoding="utf-8")
    assert "restore-worker" in text and "_raise_in_restore_step" in text


def test_unwritable_log_still_shows_the_details(tmp_path, shown):
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the log folder should be", encoding="utf-8")
    install_crash_handler(blocker / "gen2res.log")
    sys.excepthook(*_exc_info())

    assert len(shown) == 1
    assert "could not be written" in shown[0]["info"]
    assert "_raise_in_restore_step" in shown[0]["details"]


def test_same_error_again_is_logged_but_not_shown_again(tmp_path, shown):
    log = tmp_path / "logs" / "gen2res.log"
    install_crash_handler(log)
    sys.excepthook(*_exc_info())
    sys.excepthook(*_exc_info())

    assert log.read_text(encoding="utf-8").count("CRITICAL") == 2
    assert len(shown) == 1


def test_expected_error_that_escaped_shows_its_own_message(tmp_path, shown):
    install_crash_handler(tmp_path / "logs" / "gen2res.log")
    try:
        raise Gen2ResError("grandma.jpg: the file is empty.")
    except Gen2ResError:
        sys.excepthook(*sys.exc_info())

    assert shown[0]["text"] == "grandma.jpg: the file is empty."


def test_keyboard_interrupt_is_left_to_python(tmp_path, shown, monkeypatch):
    passed_on = []
    monkeypatch.setattr(sys, "__excepthook__", lambda *exc: passed_on.append(exc[0]))
    log = tmp_path / "logs" / "gen2res.log"
    install_crash_handler(log)
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)

    assert passed_on == [KeyboardInterrupt]
    assert not shown and not log.exists()


def test_native_crash_leaves_a_stack_in_the_log_folder(tmp_path):
    logs = tmp_path / "logs"
    script = textwrap.dedent(
        f"""
        import faulthandler
        from pathlib import Path
        from gen2res_desktop.ui.crash_handler import install_crash_handler
        install_crash_handler(Path({str(logs / "gen2res.log")!r}))
        faulthandler._sigsegv()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    native = (logs / NATIVE_LOG_NAME).read_text(encoding="utf-8")
    assert "Segmentation fault" in native and "<string>" in native
