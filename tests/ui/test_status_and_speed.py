"""What the window says about jobs: "Paused" while paused, the single-photo question's
default when a search found no face (and when none was made yet), and this computer's
speed measured as soon as a prior is installed (so the first training already says how
long it takes)."""

from __future__ import annotations

from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.controllers.subjects import NOT_MEASURED
from gen2res_desktop.ui.jobs import Job, JobState
from gen2res_desktop.ui.settings import AppSettings
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.workers import SyncJobRunner


def test_the_status_bar_says_paused_while_a_job_is_paused(qtbot, make_window):
    window = make_window()
    seen = []

    def three_steps(*, progress, cancel):
        for i in range(1, 4):
            cancel.check()
            progress(Progress("restore", i, 3))

    def pause_and_go_on(job_id, p):
        if p.step == 2:
            window.runner.set_paused(job_id, True)
            seen.append(window.jobs.queue_label.text())
            window.runner.set_paused(job_id, False)
            seen.append(window.jobs.queue_label.text())

    window.runner.progress.connect(pause_and_go_on)
    window.jobs.submit(Job("Restore scan.jpg", three_steps, kind="restore"))
    assert seen == ["Paused: Restore scan.jpg", "Running: Restore scan.jpg"]


def restore_untagged(make_window, path, choices_seen, answer):
    window = make_window(
        settings=AppSettings(steps=1, find_faces=True, welcome_done=True, measure_speed=False)
    )
    window.imports.import_paths([path])  # faces are looked for after the import
    pid = window.library.list_photos()[0].id
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])
    window.choose = lambda title, q, choices: choices_seen.append((q, choices)) or answer
    return window, window.restore.restore_selected()


def test_a_photo_where_no_face_was_found_defaults_to_repairing_it(qtbot, make_window, tmp_path):
    from PIL import Image
    from skimage import data

    cups = tmp_path / "cups.png"  # small: finding no face in it is quick
    Image.fromarray(data.coffee()[::4, ::4]).save(cups)
    asked = []
    window, [job_id] = restore_untagged(make_window, cups, asked, 0)  # the default button
    question, choices = asked[0]
    assert choices == ("Repair photo only", "Restore faces (slow)")  # the first is the default
    assert question.startswith("No face was found in this photo, so there is nothing to")
    assert "Set crop box" in question
    job = window.runner.job(job_id)
    assert job.fn.keywords["faces"] is False and job.fn.keywords["single_photo"] is False
    assert job.state is JobState.FINISHED, job.error


def test_a_photo_with_a_face_found_still_offers_its_faces_first(qtbot, make_window, photo_files):
    asked = []
    window, ids = restore_untagged(make_window, photo_files["astronaut"], asked, None)  # Cancel
    question, choices = asked[0]
    assert choices == ("Restore faces (slow)", "Repair photo only")
    assert "No face was found" not in question and ids == []


def test_the_speed_is_measured_as_soon_as_a_prior_is_installed(qtbot, tmp_path, tiny_prior_dir):
    from gen2res_desktop.core.priors import PriorRegistry
    from gen2res_desktop.library.store import Library
    from gen2res_desktop.ui.main_window import MainWindow

    home = tmp_path / "first-start"
    library = Library.open(home)
    window = MainWindow(
        library,
        runner=SyncJobRunner(),
        io_runner=SyncJobRunner(),
        download_runner=SyncJobRunner(),
        settings=AppSettings(steps=1, find_faces=False, welcome_done=True, measure_speed=True),
    )
    qtbot.addWidget(window)
    try:
        # first start, no prior yet: nothing to measure with, and the dialog says so
        assert window.runner.history() == []
        assert window.subjects.training_estimate_text(500) == NOT_MEASURED

        def install(*, progress, cancel):
            return PriorRegistry(home).import_folder(tiny_prior_dir, "tiny", "face")

        window.download_runner.submit(Job("Import prior tiny", install, kind="download"))
        qtbot.waitUntil(
            lambda: any(j.kind == "measure" and j.done for j in window.runner.history()),
            timeout=60_000,
        )
        [measured] = window.runner.history()
        assert measured.state is JobState.FINISHED, measured.error
        # before any training: how long one takes on this computer
        assert window.subjects.training_estimate_text(500).startswith("500 steps take ")
        assert window.jobs.measure_speed() is None  # once
    finally:
        window.close()
        library.close()


def test_the_question_defaults_to_repairing_only_once_a_search_found_no_face(
    qtbot, make_window, tmp_path
):
    from PIL import Image
    from skimage import data

    cups = tmp_path / "cups.png"
    Image.fromarray(data.coffee()[::4, ::4]).save(cups)
    asked = []
    # not searched after the import (the setting is off), so nothing is known: faces first
    window = make_window()
    window.imports.import_paths([cups])
    pid = window.library.list_photos()[0].id
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])
    window.choose = lambda title, q, choices: asked.append((q, choices)) or None  # Cancel
    assert window.restore.restore_selected() == []
    assert asked[-1][1] == ("Restore faces (slow)", "Repair photo only")
    # the search then finds none (recorded in the library): repairing only is the default
    window.imports.find_faces([pid])
    assert window.library.list_faces(photo_id=pid) == []
    assert window.restore.restore_selected() == []
    question, choices = asked[-1]
    assert choices == ("Repair photo only", "Restore faces (slow)")
    assert question.startswith("No face was found in this photo")
    assert window.library.get_photo(pid).faces_searched is not None


def test_the_setting_to_search_after_imports_is_no_proof_a_photo_was_searched(
    qtbot, make_window, tmp_path
):
    from PIL import Image
    from skimage import data

    cups = tmp_path / "cups.png"
    Image.fromarray(data.coffee()[::4, ::4]).save(cups)
    window = make_window()  # imported while searching after imports was off
    window.imports.import_paths([cups])
    window.settings.find_faces = True  # turned on later: this photo is still unsearched
    pid = window.library.list_photos()[0].id
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])
    asked = []
    window.choose = lambda title, q, choices: asked.append((q, choices)) or None
    assert window.restore.restore_selected() == []
    question, choices = asked[0]
    assert choices == ("Restore faces (slow)", "Repair photo only")
    assert "No face was found" not in question
