"""The main window over a real library: import, tagging, subjects, state, robustness."""

from __future__ import annotations

import time

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QMenu, QPushButton

from gen2res_desktop.library.models import FaceData
from gen2res_desktop.ui.grid import PHOTO_IDS_MIME, GridItem, PhotoGrid, PhotoGridModel, encode_ids
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.main_window import MainWindow
from gen2res_desktop.ui.settings import AppSettings
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.thumbnails import ThumbnailLoader


def import_files(window, paths):
    window.imports.choose_import_files = lambda: list(paths)
    window.imports.action_import.trigger()


def menu_action(menu: QMenu, *path: str):
    """The action reached by following submenu titles, e.g. ("Tag as reference of…", "Rose")."""
    for title in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == title)
    return next(a for a in menu.actions() if a.text() == path[-1])


def test_import_through_the_action_fills_the_grid(qtbot, make_window, photo_files, tmp_path):
    window = make_window()
    window.show()
    # Qt adds the application's display name ("home — Gen2Res"): the title must not repeat it
    assert window.windowTitle() == window.library.name
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    import_files(window, [*photo_files.values(), empty, fake])

    assert window.model.rowCount() == 3
    assert {window.model.item(r).title for r in range(3)} == {
        "astronaut.png",
        "chelsea.jpg",
        "coffee.png",
    }
    summary = window.imports.last_summary
    assert summary.headline.text().startswith("3 imported")
    reasons = [summary.skipped.item(i).text() for i in range(summary.skipped.count())]
    assert len(reasons) == 2
    assert any(r.startswith("empty.jpg:") for r in reasons)
    assert any(r.startswith("notes.png:") for r in reasons)
    # thumbnails arrive from the pool and replace the placeholders
    qtbot.waitUntil(
        lambda: window.loader.pending() == 0 and window.loader.cached() == 3, timeout=10_000
    )
    icon = window.model.data(window.model.index(0), Qt.DecorationRole)
    assert max(icon.width(), icon.height()) == 160

    # importing the same files again only reports duplicates
    import_files(window, [photo_files["astronaut"]])
    assert window.model.rowCount() == 3
    assert "1 already in the library" in window.imports.last_summary.headline.text()


def test_drop_files_on_the_window_imports_them(qtbot, make_window, photo_files):
    from PySide6.QtCore import QUrl

    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_files["coffee"]))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.model.rowCount() == 1


def test_subjects_and_tagging_by_context_menu_and_drag(qtbot, make_window, photo_files):
    window = make_window()
    window.show()
    import_files(window, photo_files.values())
    rose = window.subjects.create_subject("Rose", "person", "tiny")
    assert rose is not None and window.views.current_view() == View("subject", "Rose")
    window.subjects.create_subject("Nobi", "cat", "tiny")
    assert (
        window.subjects.create_subject("rose", "person") is None
    )  # duplicate name: a message, no crash
    assert "already a subject" in window.last_message.text()

    window.sidebar.select_view(View("all"))
    window.views.select_rows([0, 2])
    ids = window.views.selected_photo_ids()
    # looking for a face on the face-less coffee takes seconds: test_family_words has it
    window.tagging.check_reference_faces = lambda ids, subject: None
    menu = window.tagging.build_grid_menu()
    menu_action(menu, "Tag as reference of…", "Rose").trigger()
    assert [p.id for p in window.library.list_photos(subject="Rose", role="reference")] == ids
    label = window.sidebar.item_for(View("subject", "Rose")).text(0)
    assert label == "Rose (2)\nnot trained yet"

    # drag one photo from the grid onto the cat in the sidebar
    window.tagging.choose_role = lambda subject: "restore"
    mime = window.model.mimeData([window.model.index(1)])
    cat = window.sidebar.item_for(View("subject", "Nobi"))
    pos = window.sidebar.visualItemRect(cat).center()
    event = QDropEvent(QPointF(pos), Qt.LinkAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.sidebar.dropEvent(event)
    chelsea = window.model.item(1).photo_id
    assert [p.id for p in window.library.list_photos(subject="Nobi", role="restore")] == [chelsea]

    # rename and remove: photos stay
    assert window.subjects.rename_subject("Nobi", "Nobi the cat") is not None
    assert window.subjects.remove_subject("Nobi the cat")
    assert len(window.library.list_photos()) == 3
    assert [s.name for s in window.sidebar.subjects()] == ["Rose"]


def test_keyboard_shortcut_opens_the_tag_menu(qtbot, make_window, photo_files):
    window = make_window()
    window.show()
    import_files(window, [photo_files["coffee"]])
    window.subjects.create_subject("Rose", "person", "tiny")
    window.sidebar.select_view(View("all"))
    window.views.select_rows([0])
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.grid, Qt.Key_T, Qt.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    popup = QApplication.activePopupWidget()
    menu_action(popup, "Tag to restore for…", "Rose").trigger()
    popup.close()
    assert len(window.library.list_photos(subject="Rose", role="restore")) == 1


def test_faces_found_after_import_are_suggested_and_confirmed_with_one_click(
    qtbot, make_window, reference_files, astronaut, tmp_path
):
    window = make_window(
        settings=AppSettings(steps=1, find_faces=True, welcome_done=True, measure_speed=False)
    )
    window.subjects.create_subject("Rose", "person", "tiny")
    window.imports.import_paths([reference_files[1]], subject="Rose", role="reference")
    scan = tmp_path / "scan.jpg"
    astronaut.save(scan, quality=80)
    window.imports.import_paths([scan])
    lib = window.library
    photo = next(p for p in lib.list_photos() if p.original_name == "scan.jpg")
    faces = lib.list_faces(photo_id=photo.id)
    assert len(faces) == 1 and faces[0].suggested_subject == "Rose"
    window.sidebar.select_view(View("unsorted"))
    window.views.select_rows([0])
    assert window.details.photo_id == photo.id
    window.choose = lambda title, question, choices: 1  # "It needs restoring"
    button = window.details.findChild(QPushButton, f"confirmFace{faces[0].id}")
    qtbot.mouseClick(button, Qt.LeftButton)
    assert lib.list_faces(photo_id=photo.id)[0].confirmed_subject == "Rose"
    # confirming puts the photo in Rose's album (it leaves Unsorted), to be restored
    assert [(link.subject, link.role) for link in lib.photo_subjects(photo.id)] == [
        ("Rose", "restore")
    ]
    assert window.model.row_of(("photo", photo.id)) is None
    assert lib.get_subject("Rose").restore_count == 1


def test_unknown_face_can_be_named_from_the_details_panel(qtbot, make_window, photo_files):
    window = make_window()
    import_files(window, [photo_files["coffee"]])
    window.subjects.create_subject("Rose", "person", "tiny")
    lib = window.library
    pid = lib.list_photos()[0].id
    face = lib.replace_faces(pid, [FaceData(box=(170, 60, 110, 110))])[0]
    window.sidebar.select_view(View("all"))
    window.views.select_rows([0])
    window.choose = lambda title, question, choices: 1  # "It needs restoring"
    combo = window.details.faces_box.findChild(QComboBox)
    combo.setCurrentIndex(combo.findText("Rose"))
    combo.activated.emit(combo.currentIndex())
    assert lib.list_faces(photo_id=pid)[0].confirmed_subject == "Rose"
    assert face.id == lib.list_faces(photo_id=pid)[0].id
    # choosing whose the face is tags the photo, shown at once in the panel, and undoes
    assert [(lk.subject, lk.role) for lk in lib.photo_subjects(pid)] == [("Rose", "restore")]
    labels = [w.text() for w in window.details.faces_box.findChildren(QLabel)]
    assert any("Rose" in text and "✓" in text for text in labels)
    assert "Rose" in window.sidebar.item_for(View("subject", "Rose")).text(0)
    window.tagging.action_undo.trigger()
    assert lib.list_faces(photo_id=pid)[0].confirmed_subject is None
    assert lib.photo_subjects(pid) == []
    window.tagging.action_redo.trigger()
    assert lib.list_faces(photo_id=pid)[0].confirmed_subject == "Rose"
    assert [(lk.subject, lk.role) for lk in lib.photo_subjects(pid)] == [("Rose", "restore")]


def test_window_state_and_last_view_are_restored(qtbot, make_window, photo_files):
    window = make_window()
    import_files(window, [photo_files["coffee"]])
    window.subjects.create_subject("Rose", "person", "tiny")
    window.resize(700, 500)  # the offscreen screen is 800 x 600
    window.show()
    window.sidebar.select_view(View("unsorted"))
    window.close()
    again = make_window()
    again.show()
    assert again.views.current_view() == View("unsorted")
    assert again.model.rowCount() == 1
    assert again.size().width() == 700


def test_a_crashing_job_reaches_the_user_and_the_log(qtbot, make_window, caplog):
    window = make_window()

    def crash(*, progress, cancel):
        raise KeyError("boom")

    window.jobs.submit(Job("Restore x", crash))
    text = window.last_message.text()
    assert "Unexpected error" in text and "KeyError" in text
    assert "Traceback" in caplog.text
    assert window.jobs_panel.history_list.item(0).text().startswith("Restore x: failed.")


def test_closing_during_a_job_asks_and_leaves_no_thread(qtbot, make_window):
    from gen2res_desktop.ui.workers import JobRunner

    window = make_window(runner=JobRunner())
    window.show()

    def wait_for_cancel(*, progress, cancel):
        while True:
            cancel.check()
            time.sleep(0.01)

    with qtbot.waitSignal(window.runner.started):
        window.jobs.submit(Job("Train Rose", wait_for_cancel))
    questions = []
    window.ask = lambda title, q: questions.append(q) or False
    window.close()
    assert window.isVisible() and "Train Rose" in questions[0]
    window.ask = lambda title, q: True
    window.close()
    assert not window.isVisible()
    assert not window.threads_running()
    assert window.runner.history()[-1].title == "Train Rose"


def test_grid_stays_lazy_with_5000_photos(qtbot, tmp_path):
    from PIL import Image

    path = tmp_path / "one.png"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(path)
    loader = ThumbnailLoader(160)
    model = PhotoGridModel(loader)
    model.set_items([GridItem(i, f"photo {i}.jpg", "", source=path) for i in range(5000)])
    grid = PhotoGrid()
    qtbot.addWidget(grid)
    grid.setModel(model)
    grid.resize(900, 600)
    grid.show()
    qtbot.waitExposed(grid)
    start = time.perf_counter()
    grid.scrollTo(model.index(4000))
    grid.grab()
    elapsed = time.perf_counter() - start
    qtbot.waitUntil(lambda: loader.pending() == 0, timeout=10_000)
    # only the cells on screen asked for a thumbnail, not all 5,000
    assert 0 < loader.cached() < 200
    assert elapsed < 2.0
    grid.selectAll()
    assert len(grid.selected_items()) == 5000
    loader.shutdown()


def test_sidebar_drop_mime_roundtrip():
    mime = QMimeData()
    mime.setData(PHOTO_IDS_MIME, encode_ids([3, 1, 2]))
    from gen2res_desktop.ui.grid import decode_ids

    assert decode_ids(mime) == [3, 1, 2]


def test_main_entry_opens_and_closes(qtbot, monkeypatch, tmp_path, tiny_registry, gen2res_home):
    import logging
    import sys
    import threading

    from PySide6.QtCore import QTimer

    from gen2res_desktop.ui import app

    # main() installs the crash handler's hooks; put pytest's back afterwards
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    AppSettings(welcome_done=True).save()
    seen = []

    def close_windows():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow):
                seen.append(w.windowTitle())
                w.close()

    QTimer.singleShot(300, close_windows)
    try:
        assert app.main([]) == 0
    finally:
        logger = logging.getLogger("gen2res_desktop")
        for handler in [h for h in logger.handlers if getattr(h, "_gen2res", False)]:
            logger.removeHandler(handler)
            handler.close()
    assert seen == [gen2res_home.name]  # Qt adds " — Gen2Res" itself
    assert (gen2res_home / "logs" / "gen2res.log").read_text().count("starting") == 1


def test_cancel_an_import_from_its_progress_dialog(qtbot, make_window, photo_files):
    window = make_window()

    def press_cancel(job_id, p):
        if p.step == 1:
            button = next(
                b
                for b in window.imports.import_dialog.findChildren(QPushButton)
                if b.text() == "Cancel"
            )
            button.click()

    window.io_runner.progress.connect(press_cancel)
    import_files(window, photo_files.values())
    headline = window.imports.last_summary.headline.text()
    assert headline.startswith("1 imported") and "Cancelled after 1 of 3 files" in headline
    assert window.model.rowCount() == 1
    assert window.imports.import_dialog is None
