"""The app as a family uses it: restore paths that work without command-line advice, faces
that become albums, a whole album restored in one click, and honest jobs.

The tiny prior is installed as "tiny" (kind face): no prior is named "face".
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QDialog

from gen2res_desktop.core.diffusion import AlbumSettings
from gen2res_desktop.core.training import TrainOptions
from gen2res_desktop.library.models import FaceData
from gen2res_desktop.ui.jobs import JobState
from gen2res_desktop.ui.settings import AppSettings, Crop, save_crop
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.workers import SyncJobRunner

TINY_TRAIN = TrainOptions(steps=4, batch_size=1, rank=2, alpha=2.0, checkpoint_every=2)


def rose_with_references(window, reference_files, *, train: bool = True):
    window.subjects.create_subject("Rose", "person", "tiny")
    window.imports.import_paths(list(reference_files), subject="Rose", role="reference")
    if train:
        window.subjects.start_training("Rose", TINY_TRAIN)


def import_one(window, path, **kwargs) -> int:
    window.imports.import_paths([path], **kwargs)
    return next(p.id for p in window.library.list_photos() if p.original_name == path.name)


def select_photo(window, pid: int) -> None:
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])


@pytest.fixture
def tiny_single_photo(monkeypatch):
    """Single-photo mode with a two-image album and a two-step adapter (seconds, not hours)."""
    from gen2res_desktop.core import pipeline

    real = pipeline.SingleOptions
    monkeypatch.setattr(
        pipeline,
        "SingleOptions",
        lambda: real(
            album=AlbumSettings(count=2, batch_size=2, steps=2),
            train=TrainOptions(steps=2, batch_size=1, rank=2, alpha=2.0),
        ),
    )


# -------------------------------------------------------------------- 1. restore paths


def test_single_photo_mode_finds_the_face_prior_by_kind(
    qtbot, make_window, photo_files, tiny_single_photo
):
    window = make_window()
    pid = import_one(window, photo_files["astronaut"])
    window.imports.find_faces([pid])
    select_photo(window, pid)
    window.choose = lambda title, q, choices: 0  # Restore faces (slow)
    [job_id] = window.restore.restore_selected()
    job = window.runner.job(job_id)
    assert job.state is JobState.FINISHED, job.error
    assert len(window.library.list_restorations(pid)) == 1


def test_a_person_photo_without_a_found_face_restores_its_crop_box(
    qtbot, make_window, reference_files, photo_files
):
    window = make_window()
    rose_with_references(window, reference_files)
    pid = import_one(window, photo_files["coffee"], subject="Rose", role="restore")
    select_photo(window, pid)
    # no face in the photo: the print comes back repaired, and the message says no face
    # was regenerated and what to click to include one, never a flag
    [repaired] = window.restore.restore_selected()
    text = window.last_message.text()
    assert window.runner.job(repaired).state is JobState.FINISHED
    assert "No face found" in text and "no face was regenerated" in text
    assert "Set crop box" in text and "--" not in text
    [only_repaired] = window.library.list_restorations(pid)
    assert only_repaired.adapter_id is None and only_repaired.settings["faces_note"]
    save_crop(window.library, pid, Crop(100, 50, 200))
    window.details.show_photos([pid])
    assert window.details.crop_label.text() == "200 px square at (100, 50); Restore uses it"
    [job_id] = window.restore.restore_selected()
    assert window.runner.job(job_id).state is JobState.FINISHED
    assert window.library.list_restorations(pid)[0].adapter_id is not None


def test_restore_with_nothing_selected_says_what_to_do(qtbot, make_window):
    window = make_window()
    window.show()
    assert window.restore.action_restore.isEnabled()
    window.restore.action_restore.trigger()
    assert "Select the photos to restore first" in window.last_message.text()


# -------------------------------------------------------------------- 2. faces to albums


def _descriptor(seed: int) -> np.ndarray:
    d = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return d / np.linalg.norm(d) * 0.5


def test_suggestions_follow_the_references_as_they_change(
    qtbot, make_window, reference_files, photo_files
):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    lib = window.library
    ref = import_one(window, reference_files[0])
    other = import_one(window, photo_files["chelsea"])
    rose = _descriptor(1)
    [ref_face] = lib.replace_faces(ref, [FaceData((10, 10, 80, 80), descriptor=rose)])
    near = rose + 0.01
    [face] = lib.replace_faces(other, [FaceData((10, 10, 80, 80), descriptor=near)])
    assert lib.list_faces(photo_id=other)[0].suggested_subject is None

    window.tagging.tag_photos([ref], "Rose", "reference")
    # recomputed in the background soon after the references changed
    qtbot.waitUntil(
        lambda: lib.list_faces(photo_id=other)[0].suggested_subject == "Rose", timeout=5000
    )
    # the reference photo's own face is Rose's, not "Who is this?"
    assert lib.list_faces(photo_id=ref)[0].suggested_subject == "Rose"
    window.tagging.action_undo.trigger()
    qtbot.waitUntil(
        lambda: lib.list_faces(photo_id=other)[0].suggested_subject is None, timeout=5000
    )


def test_a_face_named_in_the_people_view_joins_the_album(qtbot, make_window, photo_files):
    from gen2res_desktop.ui.sidebar import PEOPLE

    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    lib = window.library
    pid = import_one(window, photo_files["astronaut"])
    [face] = lib.replace_faces(pid, [FaceData((170, 60, 110, 110))])
    window.sidebar.select_view(PEOPLE)
    assert window.central.currentWidget() is window.people
    window.people.face_assigned.emit(face.id, "Rose")
    # a good photo (the answer asked for once, see test_family_words) joins as a reference
    assert [(lk.subject, lk.role) for lk in lib.photo_subjects(pid)] == [("Rose", "reference")]
    assert face.id in window.people.faces_in("Rose")
    window.people.photo_requested.emit(pid)
    assert window.views.current_view() == View("all")
    assert window.views.selected_photo_ids() == [pid]


def test_tagging_words_count_right(qtbot, make_window, photo_files):
    window = make_window()
    window.subjects.create_subject("Grandma", "person", "tiny")
    pid = import_one(window, photo_files["coffee"])
    window.tagging.tag_photos([pid], "Grandma", "restore")
    assert window.statusBar().currentMessage().startswith("Tagged 1 photo to restore for Grandma.")


# -------------------------------------------------------------------- restore an album


def test_restore_all_marked_is_one_job_with_a_summary(
    qtbot, make_window, reference_files, photo_files, astronaut, tmp_path
):
    window = make_window()
    rose_with_references(window, reference_files)
    scan = tmp_path / "scan.jpg"
    astronaut.save(scan, quality=85)
    good = import_one(window, scan, subject="Rose", role="restore")
    import_one(window, photo_files["coffee"], subject="Rose", role="restore")  # no face
    window.sidebar.select_view(View("subject", "Rose"))
    assert window.restore.action_restore_all.text() == "Restore all marked for Rose"
    asked = []
    window.ask = lambda title, q: asked.append(q) or True
    before = len(window.runner.history())
    job_id = window.restore.restore_all()
    assert "Restore 2 photos for Rose?" in asked[0]
    assert len(window.runner.history()) == before + 1  # one line for the whole album
    job = window.runner.job(job_id)
    assert job.state is JobState.FINISHED and job.title == "Restore all for Rose (2 photos)"
    summary = window.restore.last_summary.text()
    # every marked print comes back repaired; the one without a face says so
    assert summary.startswith("Restored 2 of 2 photos for Rose.")
    assert "Repaired, but no face regenerated" in summary
    assert "coffee.png: No face found" in summary and "--" not in summary
    assert len(window.library.list_restorations(good)) == 1


def test_restore_all_of_an_untrained_subject_trains_first(
    qtbot, make_window, reference_files, astronaut, tmp_path, monkeypatch
):
    from gen2res_desktop.core import training

    monkeypatch.setattr(training, "TrainOptions", lambda: TINY_TRAIN)
    window = make_window(runner=SyncJobRunner(autostart=False))
    rose_with_references(window, reference_files, train=False)
    scan = tmp_path / "scan.jpg"
    astronaut.save(scan, quality=85)
    import_one(window, scan, subject="Rose", role="restore")
    choices, questions = [], []
    window.choose = lambda title, q, c: choices.append(c) or 0  # Train, then restore all
    window.ask = lambda title, q: questions.append(q) or False
    assert window.restore.restore_all("Rose") is None  # said No: nothing starts
    assert window.runner.queued() == []
    assert "when its training finishes?" in questions[0]
    window.ask = lambda title, q: True
    window.restore.restore_all("Rose")
    assert choices[0] == ("Train, then restore all", "Repair photos only")
    assert [j.title for j in window.runner.queued()] == [
        "Train Rose",
        "Restore all for Rose (1 photo)",
    ]
    window.runner.run_pending()
    assert [j.state for j in window.runner.history()] == [JobState.FINISHED] * 2
    assert window.restore.last_batch.restored


def test_a_restore_while_training_waits_for_it(
    qtbot, make_window, reference_files, astronaut, tmp_path
):
    window = make_window(runner=SyncJobRunner(autostart=False))
    rose_with_references(window, reference_files)  # queued, not run yet
    scan = tmp_path / "scan.jpg"
    astronaut.save(scan, quality=85)
    pid = import_one(window, scan, subject="Rose", role="restore")
    select_photo(window, pid)
    window.choose = lambda *a: pytest.fail("single-photo mode offered during training")
    window.restore.restore_selected()
    assert "when Rose's training finishes" in window.statusBar().currentMessage()
    assert [j.title for j in window.runner.queued()] == ["Train Rose", "Restore scan.jpg"]
    window.runner.run_pending()
    assert window.library.list_restorations(pid)[0].adapter_id is not None


# -------------------------------------------------------------------- jobs and estimates


def test_speed_is_measured_once_and_long_jobs_say_how_long(qtbot, make_window, reference_files):
    from gen2res_desktop.library.speed import step_times

    window = make_window(
        settings=AppSettings(steps=1, find_faces=False, welcome_done=True, measure_speed=True)
    )
    times = step_times(window.library, None)
    assert times is not None and times.denoise_s > 0 and times.train_s > 0
    assert window.runner.history()[0].title == "Measure this computer's speed"
    assert window.measure_speed() is None  # once per device
    rose_with_references(window, reference_files, train=False)
    assert "on this computer" in window.subjects.training_estimate_text(500)
    window.runner.autostart = False
    job_id = window.subjects.start_training("Rose", TINY_TRAIN)
    assert window.runner.job(job_id).estimate_s == pytest.approx(4 * times.train_s)


def test_found_faces_are_listed_under_done(qtbot, make_window, photo_files):
    window = make_window()
    pid = import_one(window, photo_files["astronaut"])
    window.imports.find_faces([pid])
    done = [
        window.jobs_panel.history_list.item(i).text()
        for i in range(window.jobs_panel.history_list.count())
    ]
    assert "Find faces in 1 photo: finished." in done
    assert not any(text.startswith("Import") for text in done)


# -------------------------------------------------------------------- small things


def test_a_clean_import_says_so_in_the_status_bar_without_a_box(qtbot, make_window, photo_files):
    window = make_window()
    window.show()
    window.imports.import_paths([photo_files["coffee"]])
    assert window.imports.last_summary is None
    assert window.statusBar().currentMessage().startswith("1 imported")
    assert not [d for d in window.findChildren(QDialog) if d.isVisible()]


def test_help_has_about(qtbot, make_window):
    window = make_window()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.windows.action_about in help_menu.actions()
    dialog = window.windows.show_about()
    assert dialog.isVisible()
    dialog.close()


def test_undo_after_the_photo_was_deleted_says_so(qtbot, make_window, photo_files):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    pid = import_one(window, photo_files["coffee"])
    window.tagging.tag_photos([pid], "Rose", "restore")
    window.library.delete_photo(pid)
    window.tagging.action_undo.trigger()  # a message, not an exception inside Qt
    assert "No photo with id" in window.last_message.text()
    assert window.windowTitle()  # the window is still alive


def test_train_with_too_few_references_says_how_many_more_before_asking(
    qtbot, make_window, reference_files
):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    window.imports.import_paths(list(reference_files)[:4], subject="Rose", role="reference")
    window.sidebar.select_view(View("subject", "Rose"))
    window.subjects.choose_train_steps = lambda s: pytest.fail("steps asked with 4 references")
    before = len(window.runner.history())
    window.subjects.train_dialog()
    text = window.last_message.text()
    assert "Rose has 4 reference photos" in text and "Tag 1 more good photo" in text
    assert "--" not in text and len(window.runner.history()) == before


def test_crop_box_words_fit_a_person_and_a_pet(qtbot, make_window, photo_files):
    from PySide6.QtGui import QImage

    from gen2res_desktop.ui.crop_dialog import CropDialog

    image = QImage(200, 150, QImage.Format_RGB888)
    person = CropDialog(image)
    assert "pet" not in person.windowTitle() and "face" in person.windowTitle()
    assert "Crop box: the pet's head" == CropDialog(image, pet=True).windowTitle()
    window = make_window()
    pid = import_one(window, photo_files["coffee"])
    window.details.show_photos([pid])
    assert window.details.crop_label.text() == "none (draw one if a face was missed)"
