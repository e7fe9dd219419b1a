"""The jobs panel: honest time left, the loss curve only for trainings, every runner's
finished jobs under Done, and what a cancel loses."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui import jobs
from gen2res_desktop.ui.jobs import Job, JobState
from gen2res_desktop.ui.jobs_panel import JobsPanel, LossCurve, outcome_text
from gen2res_desktop.ui.workers import SyncJobRunner


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(jobs, "clock", fake)
    return fake


def history(panel):
    return [panel.history_list.item(i).text() for i in range(panel.history_list.count())]


def queue(panel):
    return [panel.queue_list.item(i).text() for i in range(panel.queue_list.count())]


def reporting(reports, clock, loss=False, result="done"):
    """A job that reports each (stage, step, total, seconds since the last report)."""

    def fn(*, progress, cancel):
        for stage, step, total, dt in reports:
            clock.t += dt
            cancel.check()
            progress(Progress(stage, step, total, loss=1.0 / (step + 1) if loss else None))
        return result

    return fn


def statuses(runner, panel):
    seen = []
    runner.progress.connect(lambda j, p: seen.append((p.stage, p.step, panel.status.text())))
    return seen


def test_no_time_left_until_the_pace_is_known(qtbot, clock):
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    seen = statuses(runner, panel)
    # 30 s of loading before step 1, then one step a second
    steps = [("train", 1, 1000, 30.0)] + [("train", i, 1000, 1.0) for i in range(2, 6)]
    runner.submit(Job("Train Rose", reporting(steps, clock), kind="train"))
    texts = {step: text for _, step, text in seen}
    assert "left" not in texts[1]  # was "about 0 s left" at step 1 of 1000
    assert "left" not in texts[3]
    assert "16 min 36 s left" in texts[4]  # 996 steps at 1 step/s
    assert all(" 0 s" not in text for text in texts.values())


def test_stages_and_unknown_totals_give_no_nonsense(qtbot, clock):
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    seen = statuses(runner, panel)
    steps = (
        [("loading", 0, 1, 20.0), ("loading", 1, 1, 0.1), ("damage", 0, 0, 0.1)]
        + [("damage", i, 0, 1.0) for i in range(1, 5)]
        + [("restore", i, 25, 1.0) for i in range(1, 9)]
        + [("faces", 0, 2, 0.1), ("faces", 1, 2, 0.1)]
    )
    runner.submit(Job("Restore x", reporting(steps, clock), kind="restore"))
    by_stage = {}
    for stage, _step, text in seen:
        by_stage.setdefault(stage, []).append(text)
    assert not any(
        "left" in t for t in by_stage["loading"] + by_stage["damage"] + by_stage["faces"]
    )
    # several stages so far: a pace covers only the stage it was measured in, and says so
    assert by_stage["restore"][-1].endswith("17 s left in this stage")
    assert all(" 0 s" not in t for _, _, t in seen)


def test_up_front_estimate_until_a_pace_is_measured(qtbot, clock):
    runner = SyncJobRunner(autostart=False)
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    first = Job("Train Rose", reporting([("train", 1, 100, 0.0)], clock), kind="train")
    first.estimate_s = 600.0
    second = Job("Train Max", reporting([("train", 1, 10, 0.0)], clock), kind="train")
    second.estimate_s = 30.0
    third = Job("Train Ann", reporting([], clock), kind="train")
    for job in (first, second, third):
        runner.submit(job)
    assert queue(panel) == ["Train Rose · about 10 min", "Train Max · under a minute", "Train Ann"]
    starts = []
    runner.started.connect(lambda j: starts.append(panel.status.text()))
    seen = statuses(runner, panel)
    runner.run_pending()
    assert starts[0] == "Starting… · 10 min 00 s left"
    assert seen[0][2].endswith("10 min 00 s left")  # one step: the estimate still speaks


def test_loss_curve_only_for_a_training(qtbot, clock):
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    assert panel.curve.isHidden()  # idle
    shown = []
    runner.started.connect(lambda j: shown.append(("started", not panel.curve.isHidden())))
    runner.progress.connect(lambda j, p: shown.append((p.stage, not panel.curve.isHidden())))
    train = [("train", i, 4, 1.0) for i in range(1, 5)]
    runner.submit(Job("Train Rose", reporting(train, clock, loss=True), kind="train"))
    assert shown == [("started", True)] + [("train", True)] * 4
    assert len(panel.curve.points) == 4
    assert panel.curve.isHidden()  # finished: idle again
    shown.clear()
    restore = [("restore", 1, 2, 1.0), ("restore", 2, 2, 1.0)]
    runner.submit(Job("Restore x", reporting(restore, clock), kind="restore"))
    assert shown == [("started", False), ("restore", False), ("restore", False)]
    assert "loss" not in panel.status.text()


def test_loss_curve_has_labelled_axes(qtbot):
    curve = LossCurve()
    qtbot.addWidget(curve)
    curve.resize(300, 120)
    assert curve.axis_labels() is None
    for i in range(1, 50):
        curve.add_point(i, 1.0 / i)
    assert curve.axis_labels() == (("1", "49"), ("0.0204", "1"))
    assert curve.caption() == "Loss 0.0204 (log scale)"
    image = curve.grab().toImage()
    text = curve.palette().text().color()
    ink = {
        (x, y)
        for x in range(image.width())
        for y in range(image.height())
        if abs(image.pixelColor(x, y).lightness() - text.lightness()) < 60
    }
    width, height = image.width(), image.height()
    # the axes are the longest runs of ink: a column (y) and a row (x)
    axis_x = max(range(width), key=lambda x: sum(1 for y in range(height) if (x, y) in ink))
    axis_y = max(range(height), key=lambda y: sum(1 for x in range(width) if (x, y) in ink))
    assert sum(1 for y in range(height) if (axis_x, y) in ink) > height // 2
    assert sum(1 for x in range(width) if (x, axis_y) in ink) > width // 2
    # highest and lowest loss left of the y axis, first and last step under the x axis
    assert any(x < axis_x - 2 and y < height // 3 for x, y in ink)
    assert any(x < axis_x - 2 and y > height * 2 // 3 for x, y in ink)
    assert any(x < axis_x + 15 and y > axis_y + 2 for x, y in ink)
    assert any(x > width - 20 and y > axis_y + 2 for x, y in ink)


def test_done_lists_finished_jobs_of_every_runner(qtbot):
    gpu, io, downloads = SyncJobRunner(), SyncJobRunner(), SyncJobRunner()
    panel = JobsPanel(gpu)
    panel.add_runner(io, kinds={"faces"})
    panel.add_runner(downloads)
    qtbot.addWidget(panel)
    assert panel.runners() == [gpu, io, downloads]

    def ok(*, progress, cancel):
        progress(Progress("step", 1, 1))

    io.submit(Job("Import 3 item(s)", ok, kind="import"))  # has its own dialog
    io.submit(Job("Find faces in 3 photo(s)", ok, kind="faces"))
    downloads.submit(Job("Import prior Face", ok, kind="prior"))
    gpu.submit(Job("Restore x", ok, kind="restore"))
    assert history(panel) == [
        "Restore x: finished.",
        "Import prior Face: finished.",
        "Find faces in 3 photo(s): finished.",
    ]
    assert panel.title.text() == "Restore x: finished."


def test_the_first_face_finding_is_the_job_under_way_with_pause_and_cancel(qtbot, clock):
    """While the GPU is idle, finding faces has the big line: its title, progress and a
    working Pause and Cancel, not "No job running" beside a queue line "running 5 / 13"."""
    gpu, io = SyncJobRunner(autostart=False), SyncJobRunner()
    panel = JobsPanel(gpu)
    panel.add_runner(io, kinds={"faces"})
    qtbot.addWidget(panel)
    gpu.submit(Job("Train Rose", reporting([], clock), kind="train"))  # waiting, not running
    seen = []

    def look_then_cancel(job_id, p):
        seen.append(
            (
                panel.title.text(),
                panel.bar.format(),
                panel.cancel_button.isEnabled(),
                panel.pause_button.isEnabled(),
                queue(panel),
            )
        )
        if p.step == 2:
            panel.cancel_button.click()

    io.progress.connect(look_then_cancel)
    faces = Job(
        "Find faces in 13 photos",
        reporting([("faces", i, 13, 1.0) for i in range(1, 14)], clock),
        kind="faces",
    )
    io.submit(faces)
    # one job, one place: on the big line with Pause and Cancel, not in the queue list
    assert seen[0] == ("Find faces in 13 photos", "1 / 13", True, True, ["Train Rose"])
    assert faces.state is JobState.CANCELLED and len(seen) == 2
    assert history(panel) == ["Find faces in 13 photos: cancelled."]
    assert panel.title.text() == "Find faces in 13 photos: cancelled."
    assert not panel.cancel_button.isEnabled() and not panel.pause_button.isEnabled()
    assert queue(panel) == ["Train Rose"]  # the GPU's queue is untouched
    assert gpu.job(faces.id) is None


def test_a_job_of_another_runner_beside_a_running_training_cancels_in_the_queue(qtbot, clock):
    gpu, io = SyncJobRunner(autostart=False), SyncJobRunner()
    panel = JobsPanel(gpu)
    panel.add_runner(io, kinds={"faces"})
    qtbot.addWidget(panel)
    lines = []

    def find_faces_meanwhile(job_id, p):
        if p.step != 1:
            return
        faces = Job(
            "Find faces in 3 photo(s)",
            reporting([("faces", i, 3, 1.0) for i in (1, 2, 3)], clock),
            kind="faces",
        )

        def click_cancel(job_id, p):
            lines.append((queue(panel), panel.title.text()))
            if p.step == 2:
                panel.queue_list.item(0).setSelected(True)
                assert panel.remove_button.text() == "Cancel selected"
                panel.remove_button.click()

        io.progress.connect(click_cancel)
        io.submit(faces)
        lines.append(faces.state)

    gpu.progress.connect(find_faces_meanwhile)
    gpu.submit(Job("Train Rose", reporting([("train", i, 3, 1.0) for i in (1, 2, 3)], clock)))
    gpu.run_pending()
    # the training keeps the big line; finding faces is a line of its own, cancellable there
    assert lines[0] == (["Find faces in 3 photo(s) · running · 1 / 3"], "Train Rose")
    assert lines[-1] is JobState.CANCELLED
    assert history(panel)[-1] == "Find faces in 3 photo(s): cancelled."
    assert history(panel)[0] == "Train Rose: finished."


def test_cancel_note_says_what_was_lost(qtbot, clock):
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    note = "Training stopped before its first checkpoint; it starts from the beginning next time."
    job = Job(
        "Train Rose", reporting([("train", i, 100, 1.0) for i in range(1, 10)], clock), kind="train"
    )
    job.cancel_note = note
    runner.progress.connect(lambda j, p: panel.cancel_button.click() if p.step == 3 else None)
    runner.submit(job)
    assert job.state is JobState.CANCELLED
    assert outcome_text(job) == f"Train Rose: cancelled. {note}"
    assert history(panel) == [f"Train Rose: cancelled. {note}"]
    # the note is only for a cancel
    done = Job("Train Max", reporting([], clock), kind="train", cancel_note=note)
    runner.submit(done)
    assert history(panel)[0] == "Train Max: finished."


def test_cancel_all_puts_waiting_jobs_under_done(qtbot, clock):
    gpu, downloads = SyncJobRunner(autostart=False), SyncJobRunner(autostart=False)
    panel = JobsPanel(gpu)
    panel.add_runner(downloads)
    qtbot.addWidget(panel)
    gpu.submit(Job("Train Rose", reporting([], clock), kind="train"))
    gpu.submit(Job("Restore x", reporting([], clock), kind="restore"))
    downloads.submit(Job("Download Face", reporting([], clock), kind="download"))
    assert queue(panel) == ["Train Rose", "Restore x", "Download Face"]
    for runner in (gpu, downloads):
        runner.cancel_all()
    assert queue(panel) == []
    assert sorted(history(panel)) == [
        "Download Face: cancelled.",
        "Restore x: cancelled.",
        "Train Rose: cancelled.",
    ]


def test_queue_line_selection_survives_a_refresh(qtbot, clock):
    runner = SyncJobRunner(autostart=False)
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    a = Job("A", reporting([], clock))
    runner.submit(a)
    panel.queue_list.item(0).setSelected(True)
    runner.submit(Job("B", reporting([], clock)))
    assert [i.text() for i in panel.queue_list.selectedItems()] == ["A"]
    assert panel.remove_button.text() == "Remove from queue"
    panel.remove_button.click()
    assert queue(panel) == ["B"] and a.state is JobState.CANCELLED
    assert panel.queue_list.item(0).data(Qt.UserRole) != a.id


def _left(text: str) -> str:
    """The time-left part of a status line."""
    return next((part for part in text.split(" · ") if part.endswith("left")), "")


def test_an_estimate_gives_way_to_the_jobs_own_pace(qtbot, clock):
    """The plan from the speed check said 22 minutes; the job's own steps run at a second
    each. After a few steps the time left is what this job shows, for the whole job."""
    from gen2res_desktop.core.estimates import REPAIR_STAGES, StageEstimate

    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    seen = statuses(runner, panel)
    steps = (
        [("loading", 0, 1, 2.0), ("damage", 0, 1, 0.5), ("colour", 1, 1, 0.5)]
        + [("faces", 0, 2, 0.1)]
        + [("restore", i, 25, 1.0) for i in range(1, 26)]
        + [("faces", 1, 2, 0.1)]
        + [("restore", i, 25, 1.0) for i in range(1, 26)]
        + [("faces", 2, 2, 0.1), ("done", 1, 1, 0.1)]
    )
    job = Job("Restore scan.jpg", reporting(steps, clock), kind="restore")
    job.plan = (
        StageEstimate(REPAIR_STAGES, 4.0, paced=False),
        StageEstimate(frozenset({"restore"}), 650.0),
        StageEstimate(frozenset({"restore"}), 650.0),
    )
    job.estimate_s = sum(part.seconds for part in job.plan)
    runner.submit(job)
    restore = [(step, _left(text)) for stage, step, text in seen if stage == "restore"]
    assert restore[0][1] == "21 min 14 s left"  # the plan, before the job's pace is known
    # from its own pace (1 s a step) on, and for both faces: 45 steps of 50 are left
    assert restore[4] == (5, "45 s left")
    # the second face follows that pace at once
    assert restore[25] == (1, "24 s left")
    assert all("min" not in left for _, left in restore[4:])


def test_the_time_left_never_stands_still_for_more_than_a_step(qtbot, clock):
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    seen = statuses(runner, panel)
    train = [("train", 1, 600, 20.0)] + [("train", i, 600, 1.5) for i in range(2, 40)]
    job = Job("Train Rose", reporting(train, clock), kind="train", estimate_s=900.0)
    runner.submit(job)
    lefts = [_left(text) for _, _, text in seen]
    assert all(lefts)  # the estimate, then the measured pace: always a number
    assert all(a != b for a, b in zip(lefts, lefts[1:], strict=False)), lefts


def test_the_time_left_counts_down_between_reports(qtbot, clock):
    """A step of several minutes (an album, a big photo's repair) still shows time moving."""
    runner = SyncJobRunner()
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    ticks = []

    def long_step(*, progress, cancel):
        progress(Progress("album", 0, 16))
        for _ in range(3):
            clock.t += 7.0
            panel._tick.timeout.emit()  # what the panel's one-second timer does
            ticks.append(_left(panel.status.text()))
        return "done"

    job = Job("Restore old.jpg", long_step, kind="restore", estimate_s=600.0)
    runner.submit(job)
    assert ticks == ["9 min 53 s left", "9 min 46 s left", "9 min 39 s left"]
