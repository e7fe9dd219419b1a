"""Training, restoring and comparing through the window, with the tiny prior on the CPU."""

from __future__ import annotations

import functools

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from gen2res_desktop.core.download import download_prior
from gen2res_desktop.core.training import TrainOptions
from gen2res_desktop.ui.compare import CompareWindow
from gen2res_desktop.ui.jobs import JobState
from gen2res_desktop.ui.models_dialog import ModelsDialog
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.workers import JobRunner, SyncJobRunner

TINY_TRAIN = TrainOptions(steps=4, batch_size=1, rank=2, alpha=2.0, checkpoint_every=2)


def import_files(window, paths, subject=None, role=None):
    window.imports.import_paths(list(paths), subject=subject, role=role)


def setup_rose(window, reference_files):
    window.subjects.create_subject("Rose", "person", "tiny")
    import_files(window, reference_files, subject="Rose", role="reference")


def record(runner):
    events = []
    runner.progress.connect(lambda j, p: events.append(("progress", p.stage, p.step, p.total)))
    runner.finished.connect(lambda j, r: events.append(("finished", j)))
    runner.failed.connect(lambda j, m: events.append(("failed", m)))
    runner.cancelled.connect(lambda j: events.append(("cancelled", j)))
    return events


def test_training_reports_progress_and_completion(qtbot, make_window, reference_files):
    window = make_window()
    setup_rose(window, reference_files)
    events = record(window.runner)
    labels = []
    window.runner.progress.connect(
        lambda j, p: labels.append(window.sidebar.item_for(View("subject", "Rose")).text(0))
    )
    job_id = window.subjects.start_training("Rose", TINY_TRAIN)
    assert labels[-1] == "Rose (5)\ntraining…"  # while it runs
    steps = [e[2] for e in events if e[0] == "progress" and e[1] == "train"]
    assert steps == [1, 2, 3, 4]
    assert events[-1] == ("finished", job_id)
    assert window.library.get_subject("Rose").adapter_state == "ready"
    label = window.sidebar.item_for(View("subject", "Rose")).text(0)
    assert label == "Rose (5)\nready to restore"
    assert window.jobs_panel.history_list.item(0).text() == "Train Rose: finished."
    assert len(window.jobs_panel.curve.points) == 4
    assert "Rose's face model is ready" in window.last_message.text()


def test_training_with_too_few_photos_says_why(qtbot, make_window, reference_files):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    import_files(window, reference_files[:2], subject="Rose", role="reference")
    events = record(window.runner)
    window.subjects.start_training("Rose", TINY_TRAIN)
    assert events[-1][0] == "failed" and "at least 5" in events[-1][1]
    assert "at least 5" in window.last_message.text()


def test_cancel_a_training_and_see_the_state(qtbot, make_window, reference_files):
    window = make_window()
    setup_rose(window, reference_files)
    events = record(window.runner)
    # the user presses Cancel in the jobs panel during the third step
    window.runner.progress.connect(
        lambda j, p: window.jobs_panel.cancel_button.click() if p.step == 3 else None
    )
    job_id = window.subjects.start_training(
        "Rose", TrainOptions(steps=50, batch_size=1, rank=2, alpha=2.0)
    )
    assert events[-1] == ("cancelled", job_id)
    assert window.runner.job(job_id).state is JobState.CANCELLED
    assert max(e[2] for e in events if e[0] == "progress") < 10
    # before its first checkpoint nothing is kept, and the panel says so
    assert window.jobs_panel.history_list.item(0).text() == (
        "Train Rose: cancelled. It stopped before its first checkpoint, so it starts from "
        "the beginning next time."
    )
    assert window.library.latest_adapter("Rose").status == "cancelled"
    assert window.sidebar.item_for(View("subject", "Rose")).text(0) == "Rose (5)\nnot trained yet"


def test_a_cancel_after_a_checkpoint_says_where_training_resumes(
    qtbot, make_window, reference_files
):
    window = make_window()
    setup_rose(window, reference_files)
    questions = []
    window.runner.progress.connect(
        lambda j, p: questions.append(window.jobs.quit_question()) if p.step == 5 else None
    )
    window.runner.progress.connect(
        lambda j, p: window.jobs_panel.cancel_button.click() if p.step == 5 else None
    )
    options = TrainOptions(steps=50, batch_size=1, rank=2, alpha=2.0, checkpoint_every=2)
    job_id = window.subjects.start_training("Rose", options)
    assert window.runner.job(job_id).state is JobState.CANCELLED
    text = window.jobs_panel.history_list.item(0).text()
    assert text.endswith("It continues from step 4 next time.")
    # the quit dialog said the same before the user chose
    assert "Train Rose (running). It continues from step 4 next time." in questions[0]


def test_quitting_names_the_jobs_that_would_not_run(qtbot, make_window, reference_files):
    from gen2res_desktop.ui.jobs import Job
    from gen2res_desktop.ui.workers import SyncJobRunner

    window = make_window(runner=SyncJobRunner(autostart=False))
    setup_rose(window, reference_files)
    window.subjects.start_training("Rose", TINY_TRAIN)
    window.jobs.submit(Job("Restore scan.jpg", lambda **_: None, kind="restore"))
    question = window.jobs.quit_question()
    # a training is offered again next time; a job nobody can ask for again will not run
    assert "Train Rose (waiting): Gen2Res offers it again when it next starts." in question
    assert "Restore scan.jpg (waiting): will not run." in question
    answers = []
    window.ask = lambda title, q: answers.append(q) or False
    window.show()
    window.close()
    assert window.isVisible() and "will not run" in answers[0]  # asked, and staying open
    window.ask = lambda title, q: True
    window.close()  # quits: the waiting training is remembered for next time
    assert window.library.get_setting("training.unfinished") == ["Rose"]


def test_threaded_training_signals_arrive_on_the_gui_thread(qtbot, make_window, reference_files):
    window = make_window(runner=JobRunner())
    setup_rose(window, reference_files)
    gui = QApplication.instance().thread()
    threads = []
    window.runner.progress.connect(lambda j, p: threads.append(QThread.currentThread()))
    window.runner.finished.connect(lambda j, r: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(window.runner.finished, timeout=60_000):
        window.subjects.start_training("Rose", TINY_TRAIN)
    assert threads and all(t is gui for t in threads)
    qtbot.waitUntil(lambda: not window.threads_running(), timeout=5000)
    assert window.library.get_subject("Rose").adapter_state == "ready"


def test_jobs_wait_in_a_visible_queue(qtbot, make_window, reference_files):
    window = make_window(runner=SyncJobRunner(autostart=False))
    setup_rose(window, reference_files)
    window.subjects.start_training("Rose", TINY_TRAIN)
    window.library.add_subject("Max", "person", "tiny")
    window.subjects.start_training("Max", TINY_TRAIN)
    queue = window.jobs_panel.queue_list
    assert [queue.item(i).text() for i in range(queue.count())] == ["Train Rose", "Train Max"]
    assert "2 waiting" in window.jobs.queue_label.text()
    assert window.subjects.start_training("Rose", TINY_TRAIN) is None  # no second copy queued


def trained_rose_with_a_scan(window, reference_files, astronaut, tmp_path):
    """Rose trained, and a scan of another print of her photo (not the same bytes as a
    reference) to restore, selected."""
    setup_rose(window, reference_files)
    window.subjects.start_training("Rose", TINY_TRAIN)
    scan = tmp_path / "scan.jpg"
    astronaut.save(scan, quality=85)
    import_files(window, [scan], subject="Rose", role="restore")
    window.sidebar.select_view(View("subject", "Rose"))
    photo = window.library.list_photos(subject="Rose", role="restore")[0]
    window.views.select_rows([window.model.row_of(("photo", photo.id))])
    return photo


def test_restore_a_photo_then_compare_keep_and_vary(
    qtbot, make_window, reference_files, astronaut, tmp_path
):
    window = make_window()
    photo = trained_rose_with_a_scan(window, reference_files, astronaut, tmp_path)
    asked = []
    window.ask = lambda title, q: asked.append(q) or True
    window.choose = lambda title, q, choices: asked.append(q) or 0
    events = record(window.runner)
    window.restore.action_restore.trigger()
    assert asked == []  # Rose has a ready adapter: no single-photo warning
    assert events[-1][0] == "finished", events[-1]
    assert {e[1] for e in events if e[0] == "progress"} >= {"restore"}
    restorations = window.library.list_restorations(photo.id)
    assert len(restorations) == 1
    assert window.details.restorations.count() == 1

    window.details.compare_button.click()
    compare = window.windows.compare_windows[-1]
    assert isinstance(compare, CompareWindow)
    info = compare.info_label.text()
    assert "strength 200" in info and "variation 1" in info
    assert "Faces redrawn with Rose's face model (4 training steps)" in info
    # scored against Rose's reference faces, and against the face it came from
    assert "looks like Rose" in info and "(damaged photo 0." in info
    assert "true to the original 0." in info
    assert compare.before.size() == compare.after.size()
    compare.choose_export_path = lambda sbs: tmp_path / ("sbs.png" if sbs else "full.png")
    assert compare.export(side_by_side=False) == tmp_path / "full.png"
    assert compare.export(side_by_side=True) == tmp_path / "sbs.png"
    assert (tmp_path / "full.png").stat().st_size > 0
    compare.close()

    window.details.keep_button.click()
    assert window.library.get_restoration(restorations[0].id).kept is True
    window.details.variations_button.click()
    seeds = sorted(r.seed for r in window.library.list_restorations(photo.id))
    assert seeds == [0, 1, 2, 3]
    window.sidebar.select_view(View("restorations"))
    assert window.model.rowCount() == 4


def test_single_photo_mode_asks_first(qtbot, make_window, photo_files):
    window = make_window()
    import_files(window, [photo_files["astronaut"]])
    window.sidebar.select_view(View("all"))
    window.views.select_rows([0])
    asked = []
    window.choose = lambda title, q, choices: asked.append((q, choices)) or None  # Cancel
    assert window.restore.restore_selected() == []
    assert "single-photo mode" in asked[0][0] and "longer" in asked[0][0]
    assert asked[0][1] == ("Restore faces (slow)", "Repair photo only")
    assert window.runner.history() == []


def test_model_manager_offline_message_and_local_import(qtbot, make_window, tiny_prior_dir):
    window = make_window()
    dialog = window.windows.open_models()
    assert dialog.installed_names() == ["tiny"]
    assert dialog.table.item(0, 1).text() == "face"
    assert dialog.table.item(0, 3).text().endswith("KB") or dialog.table.item(0, 3).text().endswith(
        "MB"
    )
    dialog.spec_combo.setCurrentIndex(0)  # "face"
    dialog.start_download()
    assert "offline" in dialog.message.text()
    assert dialog.download_button.isEnabled() and not dialog.progress_bar.isVisible()

    # a hub nobody answers on: the same readable message, nothing installed
    dialog.download_fn = functools.partial(download_prior, endpoint="http://127.0.0.1:9")
    dialog.start_download()
    assert "not reachable" in dialog.message.text()
    assert dialog.installed_names() == ["tiny"]

    dialog.import_folder(tiny_prior_dir, "tiny-two", "cat")
    assert dialog.installed_names() == ["tiny", "tiny-two"]
    assert "Installed tiny-two" in dialog.message.text()


def test_models_dialog_with_threaded_runner(qtbot, tmp_path, gen2res_home):
    runner = JobRunner()
    dialog = ModelsDialog(
        gen2res_home,
        runner,
        download_fn=functools.partial(download_prior, endpoint="http://127.0.0.1:9"),
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(runner.failed, timeout=30_000):
        dialog.start_download()
    assert "not reachable" in dialog.message.text()
    assert runner.shutdown(5000)


def test_a_training_cut_short_by_quitting_is_offered_next_time(qtbot, make_window, reference_files):
    window = make_window(runner=SyncJobRunner(autostart=False))
    setup_rose(window, reference_files)
    options = TrainOptions(steps=6, batch_size=1, rank=2, alpha=2.0, checkpoint_every=2)
    window.subjects.start_training("Rose", options)
    # the user quits while it runs: the job is cut at step 3, after the checkpoint at 2
    window.runner.progress.connect(
        lambda j, p: window.runner.cancel(j) if p.stage == "train" and p.step == 3 else None
    )
    window.subjects.remember_unfinished()
    window.runner.run_pending()
    assert window.library.latest_adapter("Rose").status == "cancelled"

    again = make_window()
    asked = []
    again.ask = lambda title, q: asked.append(q) or True
    [job_id] = again.subjects.offer_resume()
    assert "Training Rose stopped at step 3 of 6" in asked[0]
    assert "continues from step 2" in asked[0]
    job = again.runner.job(job_id)
    assert job.state is JobState.FINISHED, job.error
    steps = again.library.ready_adapter("Rose").steps_done
    assert steps == 6
    assert again.subjects.offer_resume() == []  # offered once


def test_restores_run_on_the_cpu_engine_chosen_in_settings(
    qtbot, make_window, reference_files, astronaut, tmp_path
):
    from gen2res_desktop.ui.settings import AppSettings

    settings = AppSettings(steps=1, find_faces=False, welcome_done=True, measure_speed=False)
    settings.cpu_engine = "onnxruntime"
    window = make_window(settings=settings)
    trained_rose_with_a_scan(window, reference_files, astronaut, tmp_path)
    window.runner.autostart = False  # look at the jobs instead of running them
    window.restore.action_restore.trigger()
    window.restore.restore_all("Rose")
    jobs = window.runner.queued()
    assert len(jobs) == 2
    assert all(job.fn.keywords["runtime"] == "onnxruntime" for job in jobs)
