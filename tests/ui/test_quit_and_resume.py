"""Quitting with restores under way: the quit dialog says what is lost, the question goes
at once and the window says it is stopping, SIGTERM quits like Quit, and the next start
offers the restores again (only the photos not yet restored)."""

from __future__ import annotations

import signal
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.restore_jobs import UNFINISHED_KEY
from gen2res_desktop.ui.jobs import JobState
from gen2res_desktop.ui.services import set_restore_faces_option
from gen2res_desktop.ui.settings import qsettings
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.workers import JobRunner, SyncJobRunner


@pytest.fixture
def scans(tmp_path, astronaut):
    """Three small scans (repairing them takes a fraction of a second)."""
    paths = []
    for i in range(3):
        path = tmp_path / f"scan{i}.png"
        astronaut.rotate(i * 5).resize((96, 96)).save(path)
        paths.append(path)
    return paths


def repair_only(window) -> None:
    """No prior, no question: just the print; and no damage map, so no face search for its
    guard (these tests are about quitting, not about repairing)."""
    from dataclasses import replace

    set_restore_faces_option(window.library, False)
    lib = window.library
    lib.set_repair_settings(replace(lib.repair_settings(), scratches=False))


def select(window, *photo_ids: int) -> None:
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid)) for pid in photo_ids])


def import_scans(window, paths, **kwargs) -> list[int]:
    window.imports.import_paths(list(paths), **kwargs)
    names = {p.name for p in paths}
    return sorted(p.id for p in window.library.list_photos() if p.original_name in names)


@pytest.fixture
def slow_restore(monkeypatch):
    """Restores that take a while and stop at a cancel, like the real one, between steps."""
    from gen2res_desktop.ui import services

    started = []

    def restore(lib, photo_id, *, progress, cancel, **_):
        started.append(photo_id)
        for i in range(1, 1000):
            cancel.check()
            progress(Progress("restore", i, 1000))
            time.sleep(0.02)
        raise AssertionError("never cancelled")

    monkeypatch.setattr(services, "restore_library_photo", restore)
    return started


def test_a_waiting_restore_is_named_in_the_quit_dialog_and_offered_next_time(
    qtbot, make_window, scans
):
    window = make_window(runner=SyncJobRunner(autostart=False))
    repair_only(window)
    [pid] = import_scans(window, scans[:1])
    select(window, pid)
    [job_id] = window.restore.restore_selected()
    question = window.jobs.quit_question()
    assert "• Repair scan0.png (waiting): Gen2Res offers it again when it next starts." in question
    window.show()
    window.close()
    assert not window.isVisible() and window.runner.job(job_id).state is JobState.CANCELLED
    assert window.library.list_restorations(pid) == []

    again = make_window()
    asked = []
    again.ask = lambda title, q: asked.append(q) or True
    [resumed] = again.restore.offer_resume()
    assert asked[0].startswith("Gen2Res closed before this restore finished:\n• Repair scan0.png")
    assert again.runner.job(resumed).state is JobState.FINISHED, again.runner.job(resumed).error
    [restored] = again.library.list_restorations(pid)
    assert restored.settings["restore_faces"] is False  # asked again as it was asked first
    assert again.restore.offer_resume() == []  # offered once
    assert again.library.get_setting(UNFINISHED_KEY) == []  # finished: nothing kept


def test_quitting_during_a_restore_says_what_is_lost_and_shows_it_is_stopping(
    qtbot, make_window, scans, slow_restore
):
    window = make_window(runner=JobRunner())
    repair_only(window)
    window.show()
    [pid] = import_scans(window, scans[:1])
    select(window, pid)
    with qtbot.waitSignal(window.runner.progress, timeout=10_000):
        window.restore.restore_selected()
    question = window.jobs.quit_question()
    assert (
        "• Repair scan0.png (running). Its work so far is lost; Gen2Res offers to restore it "
        "again when it next starts."
    ) in question
    shown = []
    window.statusBar().messageChanged.connect(
        lambda text: shown.append(
            (text, QApplication.overrideCursor(), window.runner.thread_running())
        )
    )
    cursor = []
    window.ask = lambda title, q: True
    window.close()
    stopping = [s for s in shown if s[0].startswith("Stopping")]
    # said while the job was still finishing its step, with a busy cursor
    assert stopping[0][0] == "Stopping: Repair scan0.png stops after its current step…"
    assert stopping[0][1] is not None and stopping[0][1].shape() == Qt.WaitCursor
    assert stopping[0][2]
    cursor.append(QApplication.overrideCursor())
    assert cursor == [None]  # and given back once stopped
    assert not window.isVisible() and not window.threads_running()
    [kept] = window.library.get_setting(UNFINISHED_KEY)
    assert kept["title"] == "Repair scan0.png" and kept["photos"][0]["photo_id"] == pid


def test_sigterm_quits_like_quit_without_asking(qtbot, make_window, scans, slow_restore):
    from gen2res_desktop.ui.app import quit_on_signals

    window = make_window(runner=JobRunner())
    repair_only(window)
    window.show()
    [pid] = import_scans(window, scans[:1])
    select(window, pid)
    with qtbot.waitSignal(window.runner.progress, timeout=10_000):
        window.restore.restore_selected()

    def no_one_to_answer(title, question):
        raise AssertionError("a logout cannot wait for an answer")

    window.ask = no_one_to_answer
    restore = quit_on_signals(window.jobs.quit_now)
    try:
        # what the interpreter does when SIGTERM arrives; a real signal inside the test run
        # (torch, ONNX and Qt threads of earlier tests) crashed it, so the real one is sent
        # to an app of its own in tests/test_lazy_imports.py
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    finally:
        restore()
    assert not window.threads_running()
    assert window.library.get_setting(UNFINISHED_KEY)[0]["photos"][0]["photo_id"] == pid
    assert qsettings().contains("window/geometry")  # the window's state was saved
    # nothing half-written: no restoration recorded, no temporary file left
    assert window.library.list_restorations(pid) == []
    leftovers = [p for p in window.library.home.rglob(".tmp-gen2res-*")]
    assert leftovers == []


def test_a_restore_all_cut_short_offers_only_the_photos_not_yet_restored(qtbot, make_window, scans):
    window = make_window(runner=SyncJobRunner(autostart=False))
    repair_only(window)
    window.subjects.create_subject("Rose", "person", "tiny")
    ids = import_scans(window, scans, subject="Rose", role="restore")
    window.sidebar.select_view(View("subject", "Rose"))
    window.restore.restore_all("Rose")
    questions = []
    window.ask = lambda title, q: questions.append(q) or True

    def quit_after_the_first_photo(job_id, p):
        if p.stage == "batch" and p.step == 1 and p.message.endswith("done"):
            window.close()

    window.runner.progress.connect(quit_after_the_first_photo)
    window.show()
    window.runner.run_pending()
    assert (
        "Restore all for Rose (3 photos) (running). The 1 photo restored so far is kept; "
        "Gen2Res offers to restore the other 2 photos when it next starts."
    ) in questions[0]
    assert not window.isVisible()
    done = [pid for pid in ids if window.library.list_restorations(pid)]
    assert len(done) == 1

    again = make_window()
    asked = []
    again.ask = lambda title, q: asked.append(q) or True
    [job_id] = again.restore.offer_resume()
    assert "• Restore all for Rose (3 photos) (2 photos left)" in asked[0]
    assert again.runner.job(job_id).state is JobState.FINISHED
    # every photo restored once: the first was not done again
    assert [len(again.library.list_restorations(pid)) for pid in ids] == [1, 1, 1]
