"""The job runners: signals, queue order, errors, cancel, and which thread runs what."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.jobs import Job, JobState
from gen2res_desktop.ui.jobs_panel import JobsPanel, LossCurve
from gen2res_desktop.ui.thumbnails import ThumbnailLoader
from gen2res_desktop.ui.workers import JobRunner, SyncJobRunner


def counting(n: int, result: object = "done", loss: bool = False):
    def fn(*, progress, cancel):
        for i in range(1, n + 1):
            cancel.check()
            progress(Progress("train", i, n, loss=1.0 / i if loss else None))
        return result

    return fn


def record(runner):
    events = []
    runner.started.connect(lambda j: events.append(("started", j)))
    runner.progress.connect(lambda j, p: events.append(("progress", j, p.step)))
    runner.finished.connect(lambda j, r: events.append(("finished", j, r)))
    runner.failed.connect(lambda j, m: events.append(("failed", j, m)))
    runner.cancelled.connect(lambda j: events.append(("cancelled", j)))
    return events


def test_sync_runner_reports_progress_then_result():
    runner = SyncJobRunner()
    events = record(runner)
    job = Job("Count", counting(3, result=42))
    runner.submit(job)
    assert events[0] == ("started", job.id)
    assert [e[2] for e in events if e[0] == "progress"] == [1, 2, 3]
    assert events[-1] == ("finished", job.id, 42)
    assert job.state is JobState.FINISHED and job.result == 42
    assert not runner.is_busy()


def test_errors_become_readable_messages(caplog):
    runner = SyncJobRunner()
    events = record(runner)

    def expected(*, progress, cancel):
        raise Gen2ResError("The prior 'face' is not installed.")

    def crash(*, progress, cancel):
        raise ZeroDivisionError("division by zero")

    a = runner.submit(Job("A", expected))
    b = runner.submit(Job("B", crash))
    failed = {e[1]: e[2] for e in events if e[0] == "failed"}
    assert failed[a] == "The prior 'face' is not installed."
    assert "Unexpected error" in failed[b] and "ZeroDivisionError" in failed[b]
    assert "Traceback" in caplog.text  # the details go to the log, not to the user


def test_queue_is_fifo_and_queued_jobs_can_be_removed():
    runner = SyncJobRunner(autostart=False)
    order = []

    def make(name):
        def fn(*, progress, cancel):
            order.append(name)

        return fn

    jobs = [Job(name, make(name)) for name in ("first", "second", "third")]
    changes = []
    runner.queue_changed.connect(lambda: changes.append(len(runner.queued())))
    for j in jobs:
        runner.submit(j)
    assert [j.title for j in runner.queued()] == ["first", "second", "third"]
    runner.cancel(jobs[1].id)
    assert jobs[1].state is JobState.CANCELLED
    assert [j.title for j in runner.queued()] == ["first", "third"]
    runner.run_pending()
    assert order == ["first", "third"]
    assert changes[:3] == [1, 2, 3]


def test_cancel_during_sync_job_stops_it():
    runner = SyncJobRunner()
    job = Job("Long", counting(1000))
    runner.progress.connect(lambda j, p: runner.cancel(j) if p.step == 5 else None)
    events = record(runner)
    runner.submit(job)
    assert job.state is JobState.CANCELLED
    assert events[-1] == ("cancelled", job.id)
    assert max(e[2] for e in events if e[0] == "progress") <= 6


@pytest.fixture
def threaded():
    runner = JobRunner()
    yield runner
    # a QThread destroyed while running aborts the process: never leave one behind
    assert runner.shutdown(10_000)


def test_threaded_runner_runs_off_gui_thread_and_signals_on_it(qtbot, threaded):
    runner = threaded
    gui = QApplication.instance().thread()
    seen = {}

    def fn(*, progress, cancel):
        seen["worker"] = QThread.currentThread()
        progress(Progress("restore", 1, 1))
        return "ok"

    slot_threads = []
    runner.progress.connect(lambda j, p: slot_threads.append(QThread.currentThread()))
    runner.finished.connect(lambda j, r: slot_threads.append(QThread.currentThread()))
    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        runner.submit(Job("One", fn))
    assert blocker.args[1] == "ok"
    assert seen["worker"] is not gui
    assert slot_threads and all(t is gui for t in slot_threads)
    qtbot.waitUntil(lambda: not runner.thread_running() and runner._thread is None, timeout=5000)


def test_threaded_runner_runs_one_job_at_a_time(qtbot, threaded):
    runner = threaded
    active, overlap = [0], [False]
    lock = threading.Lock()

    def fn(*, progress, cancel):
        with lock:
            active[0] += 1
            overlap[0] |= active[0] > 1
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return "x"

    done = []
    runner.finished.connect(lambda j, r: done.append(j))
    ids = [runner.submit(Job(f"J{i}", fn)) for i in range(3)]
    assert len(runner.queued()) == 2  # the first runs, the others wait visibly
    qtbot.waitUntil(lambda: len(done) == 3, timeout=10_000)
    assert done == ids and not overlap[0]
    assert runner.wait(5000)


def test_threaded_cancel_and_shutdown_leave_no_thread(qtbot, threaded):
    runner = threaded
    started = threading.Event()

    def fn(*, progress, cancel):
        started.set()
        for i in range(10_000):
            cancel.check()
            progress(Progress("train", i, 10_000, loss=0.1))
            time.sleep(0.001)

    job = Job("Endless", fn)
    runner.submit(job)
    assert started.wait(5)
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.cancel(job.id)
    assert job.state is JobState.CANCELLED
    # shutdown with a running job: the cancel reaches it and the thread is joined
    started.clear()
    second = Job("Second", fn)
    runner.submit(second)
    qtbot.waitUntil(started.is_set, timeout=5000)  # starts once the first thread has ended
    assert runner.shutdown(5000)
    assert second.state is JobState.CANCELLED
    assert not runner.thread_running()


def test_jobs_panel_shows_progress_loss_and_outcome(qtbot):
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    seen = []
    runner.progress.connect(
        lambda j, p: seen.append((panel.bar.value(), panel.bar.maximum(), panel.bar.format()))
    )
    runner.submit(Job("Train Rose", counting(5, loss=True)))
    assert seen[2] == (3, 5, "3 / 5")
    assert len(panel.curve.points) == 5
    assert panel.history_list.item(0).text() == "Train Rose: finished."

    def boom(*, progress, cancel):
        raise Gen2ResError("No reference photos.")

    runner.submit(Job("Train Max", boom))
    assert panel.history_list.item(0).text() == "Train Max: failed. No reference photos."


def test_loss_curve_paints_a_line(qtbot):
    curve = LossCurve()
    qtbot.addWidget(curve)
    curve.resize(300, 120)
    for i in range(1, 50):
        curve.add_point(i, 1.0 / i)
    image = curve.grab().toImage()
    line = [
        (x, y)
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).blue() > 150 and image.pixelColor(x, y).red() < 120
    ]
    assert len(line) > 50  # the blue polyline is drawn across the widget
    assert max(x for x, _ in line) - min(x for x, _ in line) > 200


def test_thumbnail_loader_loads_off_thread_and_caches(qtbot, tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.full((400, 300, 3), 200, np.uint8)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    loader = ThumbnailLoader(size=64)
    assert loader.get("good", good) is None
    assert loader.get("bad", bad) is None
    qtbot.waitUntil(lambda: loader.pending() == 0, timeout=5000)
    image = loader.get("good", good)
    assert image is not None and max(image.width(), image.height()) == 64
    assert loader.get("bad", bad) is None and loader.failed("bad")
    loader.shutdown()
    assert loader.active_threads() == 0


def test_seconds_left_waits_for_steps_after_the_first_and_some_seconds():
    # the first report comes after loading the models: its time is not a step's time
    job = Job("Train", counting(1000))
    job.started_at = 70.0
    job.note_progress(Progress("train", 1, 1000), now=100.0)
    assert job.seconds_left(now=100.0) is None  # was "about 0 s left" at step 1 of 1000
    job.note_progress(Progress("train", 2, 1000), now=101.0)
    job.note_progress(Progress("train", 3, 1000), now=102.0)
    assert job.seconds_left(now=102.0) is None  # two steps: not enough evidence
    job.note_progress(Progress("train", 4, 1000), now=103.0)
    assert job.seconds_left(now=103.0) == pytest.approx(996)  # 1 step/s from step 1 on
    # many fast steps but under the minimum time: still no estimate
    fast = Job("Fast", counting(1000))
    for i in range(1, 200):
        fast.note_progress(Progress("train", i, 1000), now=10.0 + i * 0.01)
    assert fast.seconds_left(now=12.0) is None


def test_seconds_left_is_per_stage_and_never_zero_while_work_remains():
    job = Job("Restore", counting(1))
    job.note_progress(Progress("loading", 0, 0), now=0.0)
    job.note_progress(Progress("loading", 5, 0), now=10.0)
    assert job.seconds_left(now=10.0) is None  # no known total
    for i in range(1, 6):
        job.note_progress(Progress("restore", i, 10), now=10.0 + i)
    assert job.seconds_left(now=15.0) == pytest.approx(5)
    job.note_progress(Progress("faces", 0, 2), now=16.0)
    assert job.seconds_left(now=16.0) is None  # a new stage: its pace is not known yet
    assert job.stages_seen == 3
    # a new total within a stage (the next file of a download) restarts the measurement too
    dl = Job("Download", counting(1))
    for i in range(1, 6):
        dl.note_progress(Progress("download", i * 100, 1000), now=float(i))
    assert dl.seconds_left(now=5.0) is not None
    dl.note_progress(Progress("download", 10, 5000), now=6.0)
    assert dl.seconds_left(now=6.0) is None
    # at the pace measured, the last step is due in a fraction of a second: not "0"
    quick = Job("Quick", counting(1))
    for i in range(1, 1000):
        quick.note_progress(Progress("train", i, 1000), now=i * 0.004)
    assert quick.seconds_left(now=999 * 0.004) == 1.0
    quick.note_progress(Progress("train", 1000, 1000), now=4.0)
    assert quick.seconds_left(now=4.0) is None  # nothing left
    # stalled far past its pace: no number at all rather than a wrong one
    slow = Job("Slow", counting(1))
    for i in range(1, 5):
        slow.note_progress(Progress("train", i, 10), now=float(i))
    assert slow.seconds_left(now=4.0) == pytest.approx(6)
    assert slow.seconds_left(now=100.0) is None


def test_estimated_seconds_left_counts_down_the_up_front_estimate():
    job = Job("Train", counting(1), estimate_s=300.0)
    assert job.estimated_seconds_left(now=5.0) == 300.0  # queued: all of it
    job.state, job.started_at = JobState.RUNNING, 100.0
    assert job.estimated_seconds_left(now=160.0) == pytest.approx(240)
    assert job.estimated_seconds_left(now=500.0) is None  # ran out: no "0 s"
    assert Job("No guess", counting(1)).estimated_seconds_left(now=0.0) is None


def test_cancel_all_settles_queued_jobs_as_cancelled():
    runner = SyncJobRunner(autostart=False)
    events = record(runner)
    jobs = [Job(name, counting(3)) for name in ("a", "b", "c")]
    for job in jobs:
        runner.submit(job)
    assert runner.pending() == jobs  # what the quit dialog lists
    runner.cancel_all()
    assert [e for e in events if e[0] == "cancelled"] == [("cancelled", j.id) for j in jobs]
    assert all(j.state is JobState.CANCELLED for j in jobs)
    assert runner.history() == jobs and runner.queued() == [] and runner.pending() == []


def test_cancel_all_while_running_cancels_the_running_and_the_waiting():
    runner = SyncJobRunner(autostart=False)
    events = record(runner)
    seen_pending = []

    def stop_all(job_id, p):
        if p.step == 2:
            seen_pending.append([j.title for j in runner.pending()])
            runner.cancel_all()

    runner.progress.connect(stop_all)
    first, second = Job("first", counting(100)), Job("second", counting(100))
    runner.submit(first)
    runner.submit(second)
    runner.run_pending()
    assert seen_pending == [["first", "second"]]
    assert first.state is JobState.CANCELLED and second.state is JobState.CANCELLED
    assert sorted(e[1] for e in events if e[0] == "cancelled") == sorted([first.id, second.id])
    assert not any(e[0] == "started" and e[1] == second.id for e in events)


def test_a_paused_job_waits_in_place_and_goes_on_or_cancels(qtbot, threaded):
    """Pause frees the computer mid-job (a laptop's training): the job stops at its next
    step and keeps its place; Resume goes on from there; a cancel while paused ends it."""
    runner = threaded
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    steps = []

    def fn(*, progress, cancel):
        for i in range(1, 401):
            cancel.check()
            steps.append(i)
            progress(Progress("train", i, 400, loss=0.1))
            time.sleep(0.002)
        return "done"

    job = Job("Train Rose", fn, kind="train")
    job.estimate_s = 30.0
    runner.submit(job)
    qtbot.waitUntil(lambda: len(steps) >= 5, timeout=5000)
    assert panel.pause_button.isEnabled() and panel.pause_button.text() == "Pause"
    panel.pause_button.click()
    assert panel.pause_button.text() == "Resume" and "Paused" in panel.status.text()
    time.sleep(0.1)  # the step under way ends
    held = len(steps)
    time.sleep(0.3)
    QApplication.processEvents()
    assert len(steps) == held < 400 and job.state is JobState.RUNNING
    assert "Paused" in panel.status.text()  # late reports do not hide it
    assert job.seconds_left() is None  # no pace while paused
    waited = job.estimated_seconds_left()
    time.sleep(0.2)
    assert job.estimated_seconds_left() == pytest.approx(waited, abs=0.05)  # time stands still

    with qtbot.waitSignal(runner.finished, timeout=10_000):
        panel.pause_button.click()  # Resume
    assert steps == list(range(1, 401))  # every step once, in order: it went on in place
    assert job.state is JobState.FINISHED and not panel.pause_button.isEnabled()

    second = Job("Train Rose again", fn, kind="train")
    steps.clear()
    runner.submit(second)
    qtbot.waitUntil(lambda: len(steps) >= 5, timeout=5000)
    panel.toggle_pause()
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        panel.cancel_current()
    assert second.state is JobState.CANCELLED and len(steps) < 400
