"""What a family tripped over in the main window (issue 23, items 5, 9, 10, 13, 14, 15):
the role a confirmed face gives its photo, restoration decisions in sight, restorations
told apart, a face-less reference, plain words, and the small things."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QToolBar,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.models import AdapterRecord, FaceData
from gen2res_desktop.ui.compare import CompareInfo
from gen2res_desktop.ui.details import restoration_label, restoration_numbers
from gen2res_desktop.ui.models_dialog import ModelsDialog
from gen2res_desktop.ui.settings import confirmed_face_role
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.words import readable_date
from gen2res_desktop.ui.workers import SyncJobRunner

JARGON = ("adapter", "faithfulness", "seed ")


def import_one(window, path) -> int:
    window.imports.import_paths([path])
    return next(p.id for p in window.library.list_photos() if p.original_name == path.name)


def action(menu, *path: str):
    for title in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == title)
    return next(a for a in menu.actions() if a.text() == path[-1])


def roles(lib, pid: int) -> list[tuple[str, str]]:
    return [(lk.subject, lk.role) for lk in lib.photo_subjects(pid)]


def add_restoration(lib, pid: int, seed: int, settings: dict):
    out = lib.restoration_path_for(pid, seed)
    Image.new("RGB", (64, 64), (90, 80, 70)).save(out)
    return lib.add_restoration(pid, None, None, settings, seed, out)


def repaired(painted: bool) -> dict:
    damage = {"stage": "damage", "method": "your map" if painted else "opencv", "detail": {}}
    stages = [damage, {"stage": "inpaint", "method": "opencv", "detail": {}}]
    face = {"index": 1, "subject": "Rose", "mode": "single-photo", "identity": 0.78}
    face |= {"identity_before": 0.55, "faithfulness": 0.91, "references": 5}
    return {"strength": 200, "restore_faces": True, "repair": {"stages": stages}, "faces": [face]}


# -------------------------------------------------------------------- 5. confirm's role


def test_confirming_a_face_asks_once_if_the_photo_is_good_and_remembers(
    qtbot, make_window, photo_files, tmp_path, astronaut
):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    lib = window.library
    asked = []
    window.choose = lambda title, question, choices: asked.append((question, choices)) or 0
    clean = import_one(window, photo_files["astronaut"])
    [face] = lib.replace_faces(clean, [FaceData((170, 60, 110, 110))])
    lib.set_face_suggestion(face.id, "Rose", 0.3)

    assert window.tagging.confirm_face(face.id, "Rose")
    # a good photo is a reference, not a photo "to restore"
    assert roles(lib, clean) == [("Rose", "reference")]
    assert len(asked) == 1 and asked[0][1] == ["A good photo of Rose", "It needs restoring"]
    assert "Rose's face model learns from them" in asked[0][0]
    assert confirmed_face_role() == "reference"
    window.tagging.action_undo.trigger()
    assert roles(lib, clean) == [] and lib.get_face(face.id).confirmed_subject is None

    # asked once: the next confirmation follows the answer without a question
    window.choose = lambda *a: pytest.fail("asked a second time")
    other = tmp_path / "other.png"
    astronaut.rotate(5).save(other)
    second = import_one(window, other)
    [face2] = lib.replace_faces(second, [FaceData((170, 60, 110, 110))])
    assert window.tagging.confirm_face(face2.id, "Rose")
    assert roles(lib, second) == [("Rose", "reference")]

    # a photo whose damage the user painted needs restoring, whatever the answer
    scratched = import_one(window, photo_files["coffee"])
    photo = lib.get_photo(scratched)
    mask = np.zeros((photo.height, photo.width), np.uint8)
    mask[10:20, 10:200] = 255
    lib.set_photo_damage_map(scratched, mask)
    [face3] = lib.replace_faces(scratched, [FaceData((10, 10, 80, 80))])
    assert window.tagging.confirm_face(face3.id, "Rose")
    assert roles(lib, scratched) == [("Rose", "restore")]

    # the answer is shown and changed in Photos → When I confirm a face
    menu = window.tagging.confirm_menu
    photos = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Photos")
    assert menu.menuAction() in photos.actions()
    menu.aboutToShow.emit()
    assert window.tagging.confirm_actions["reference"].isChecked()
    window.tagging.confirm_actions[None].trigger()  # "Ask me"
    assert confirmed_face_role() is None
    lib.confirm_face(face2.id, None)
    lib.untag([second], "Rose")
    window.choose = lambda *a: None  # the user cancels: nothing changes
    assert not window.tagging.confirm_face(face2.id, "Rose")
    assert roles(lib, second) == [] and lib.get_face(face2.id).confirmed_subject is None
    window.choose = lambda *a: 1  # "It needs restoring"
    assert window.tagging.confirm_face(face2.id, "Rose")
    assert roles(lib, second) == [("Rose", "restore")]
    assert confirmed_face_role() == "restore"


# -------------------------------------------------------------------- 9. decisions in sight


def test_keep_discard_compare_and_variations_show_without_scrolling_at_1280x820(
    qtbot, make_window, photo_files
):
    window = make_window()
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    window.subjects.create_subject("Rose", "person", "tiny")
    lib = window.library
    pid = import_one(window, photo_files["astronaut"])
    lib.replace_faces(pid, [FaceData((170, 60, 110, 110)), FaceData((20, 20, 60, 60))])
    for seed in range(3):
        add_restoration(lib, pid, seed, repaired(painted=seed == 1))
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])
    QApplication.processEvents()

    details = window.details
    assert details.restorations.count() == 3
    seen = details.viewport().rect()
    for button in (
        details.keep_button,
        details.discard_button,
        details.variations_button,
        details.compare_button,
    ):
        assert button.isVisible() and button.isEnabled()
        where = QRect(button.mapTo(details.viewport(), QPoint(0, 0)), button.size())
        assert seen.contains(where), f"{button.text()} at {where} outside {seen}"


# -------------------------------------------------------------------- 10. restorations apart


def test_restorations_say_when_what_and_which_damage_map_with_numbers_in_a_tooltip(
    qtbot, make_window, photo_files
):
    window = make_window()
    lib = window.library
    pid = import_one(window, photo_files["astronaut"])
    made = [add_restoration(lib, pid, seed, repaired(painted=seed == 1)) for seed in range(3)]
    labels = [restoration_label(r) for r in made]
    assert len(set(labels)) == 3  # no longer the same line three times over
    first = labels[0]
    when = first.split(" · ")[0]  # when it was made, as a date a family reads
    assert when == readable_date(made[0].created) and made[0].created[:10] not in first
    assert "variation 1" in first and "damage found automatically" in first
    assert "your painted damage map" in labels[1] and "variation 2" in labels[1]
    assert first.endswith("not decided yet")
    for words in JARGON + ("strength", "0.78", "0.91"):
        assert words not in first.lower()
    numbers = restoration_numbers(made[0])
    assert "Strength 200: how strongly the faces were redrawn" in numbers
    assert "Looks like Rose 0.78 (damaged photo 0.55)" in numbers
    assert "True to the original 0.91" in numbers and "Variation 1 (seed 0)" in numbers

    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])
    item = window.details.restorations.item(0)
    assert item.text() in labels and "Strength 200" in item.toolTip()
    # the Restorations view names variations, not seeds
    window.sidebar.select_view(View("restorations"))
    titles = [window.model.item(r).title for r in range(window.model.rowCount())]
    assert sorted(titles) == [f"astronaut.png · variation {n}" for n in (1, 2, 3)]


# -------------------------------------------------------------------- 13. face-less reference


def test_a_person_reference_without_a_human_face_is_warned_about(
    qtbot, make_window, photo_files, monkeypatch
):
    from gen2res_desktop.library import faces

    # the detector's verdict on a cat takes seconds (its CNN second look): given here
    searched = []
    monkeypatch.setattr(
        faces, "detect_faces", lambda image, **kw: searched.append(image.size) or []
    )
    window = make_window()
    shown = []
    window.notify = lambda title, text, error=False: shown.append((title, text))
    window.subjects.create_subject("Rose", "person", "tiny")
    window.subjects.create_subject("Nobi", "cat", "tiny")
    cat = import_one(window, photo_files["chelsea"])
    person = import_one(window, photo_files["astronaut"])
    window.library.replace_faces(person, [FaceData((170, 60, 110, 110))])

    window.tagging.tag_photos([person], "Rose", "reference")
    assert shown == [] and searched == []  # its face is known: nothing to look for
    window.tagging.tag_photos([cat], "Rose", "reference")
    assert searched == [(451, 300)]  # looked for a face where none was known
    [(title, text)] = shown
    assert title == "No face found"
    assert "No human face was found on chelsea.jpg" in text and "Edit → Undo" in text
    assert "Rose's face model learns only from faces" in text
    # the cat as the cat's reference is just right
    shown.clear()
    window.tagging.tag_photos([cat], "Nobi", "reference")
    assert shown == [] and len(searched) == 1


# -------------------------------------------------------------------- 14. words


def test_no_adapter_seed_or_faithfulness_where_a_family_reads(qtbot, make_window):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    texts = []
    for action in window.findChildren(QAction):
        texts += [action.text(), action.toolTip(), action.statusTip()]
    item = window.sidebar.item_for(View("subject", "Rose"))
    texts += [item.text(0), item.toolTip(0)]
    options = window.windows.open_restore_options()
    for widget in options.findChildren(QWidget):
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
    options.close()
    shown = []
    window.notify = lambda title, text, error=False: shown.append(text)
    record = AdapterRecord(1, 1, "Rose", None, "tiny", "", {}, 400, "ready", [], None, "", "")
    window.subjects._trained("Rose", record)
    texts += shown
    assert shown == ["Rose's face model is ready (400 training steps)."]
    for text in texts:
        for words in JARGON:
            assert words not in text.lower(), text

    info = CompareInfo("scan.jpg", strength=200, seed=3, adapter="Rose's face model")
    assert info.line() == "Faces redrawn with Rose's face model · variation 4 · strength 200"
    assert "Strength: how strongly" in info.explanation()


def test_models_dialog_says_click_download_again_and_hides_hub_ids(qtbot, tmp_path):
    def offline(spec, *, home, progress, cancel):
        raise Gen2ResError(
            f"Cannot download '{spec}': the model hub is not reachable (are you offline?). "
            "Nothing was installed; run the same command again to resume."
        )

    dialog = ModelsDialog(tmp_path / "home", SyncJobRunner(), download_fn=offline)
    qtbot.addWidget(dialog)
    # opened from the welcome with nothing installed: what to do, not an empty table
    assert "No prior is installed yet" in dialog.priors_intro.text()
    assert "click Download" in dialog.priors_intro.text()
    dialog.start_download()
    text = dialog.message.text()
    assert "click Download again to resume" in text and "command" not in text
    headers = [
        dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())
    ]
    assert "Source" not in headers
    tips = [dialog.spec_combo.itemData(i, Qt.ToolTipRole) for i in range(dialog.spec_combo.count())]
    assert tips and not any("/" in tip for tip in tips)  # no hub repository ids


# -------------------------------------------------------------------- 15. small things


def test_toolbar_fits_800x600_with_a_long_subject_selected(qtbot, make_window):
    window = make_window()
    window.subjects.create_subject("Eileen Margaret O'Sullivan", "person", "tiny")
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    toolbar = window.findChild(QToolBar, "mainToolbar")
    for action in toolbar.actions():
        if action.isSeparator():
            continue
        button = toolbar.widgetForAction(action)
        assert button.isVisible(), f"{action.text()} dropped from the toolbar"
        assert toolbar.rect().contains(button.geometry())
    restore_all = window.restore.action_restore_all
    assert toolbar.widgetForAction(restore_all).text() == "Restore all"
    assert "Eileen Margaret O'Sullivan" in restore_all.text()  # the menu says whose


def test_delete_key_removes_the_selected_photos_after_the_same_question(
    qtbot, make_window, photo_files
):
    window = make_window()
    window.show()
    import_one(window, photo_files["coffee"])
    import_one(window, photo_files["chelsea"])
    window.sidebar.select_view(View("all"))
    window.views.select_rows([0])
    asked = []
    window.ask = lambda title, question: asked.append((title, question)) or True
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key_Delete)
    assert asked == [
        (
            "Delete from library",
            "Remove 1 photo and its restorations from the library? The files you imported "
            "them from are not touched.",
        )
    ]
    assert len(window.library.list_photos()) == 1
    # Delete in the sidebar does not delete photos
    window.views.select_rows([0])
    window.sidebar.setFocus()
    qtbot.keyClick(window.sidebar, Qt.Key_Delete)
    assert len(asked) == 1 and len(window.library.list_photos()) == 1


def test_renaming_a_subject_is_undone_like_a_tag(qtbot, make_window, photo_files):
    window = make_window()
    window.subjects.create_subject("Nobi", "cat", "tiny")
    pid = import_one(window, photo_files["chelsea"])
    window.tagging.tag_photos([pid], "Nobi", "restore")
    window.sidebar.select_view(View("subject", "Nobi"))
    assert window.subjects.rename_subject("Nobi", "Nobi the cat") is not None
    assert window.views.current_view() == View("subject", "Nobi the cat")
    assert window.tagging.action_undo.text() == "&Undo Rename Nobi to Nobi the cat"
    window.tagging.action_undo.trigger()
    assert [s.name for s in window.library.list_subjects()] == ["Nobi"]
    assert window.views.current_view() == View("subject", "Nobi")  # the album follows
    assert roles(window.library, pid) == [("Nobi", "restore")]
    window.tagging.action_redo.trigger()
    assert [s.name for s in window.library.list_subjects()] == ["Nobi the cat"]
    assert window.views.current_view() == View("subject", "Nobi the cat")


def test_file_dialogs_open_where_the_last_one_of_their_kind_was(
    qtbot, make_window, photo_files, monkeypatch, tmp_path
):
    from gen2res_desktop.ui import compare, models_dialog
    from gen2res_desktop.ui.controllers import imports

    opened = []

    class FakeDialog:
        @staticmethod
        def getOpenFileNames(parent, title, folder, filters):  # noqa: N802 - Qt's name
            opened.append((title, folder))
            return [str(photo_files["coffee"])], filters

        @staticmethod
        def getExistingDirectory(parent, title, folder):  # noqa: N802 - Qt's name
            opened.append((title, folder))
            return str(tmp_path)

        @staticmethod
        def getOpenFileName(parent, title, folder, filters):  # noqa: N802 - Qt's name
            opened.append((title, folder))
            return "", filters

        @staticmethod
        def getSaveFileName(parent, title, path, filters):  # noqa: N802 - Qt's name
            opened.append((title, str(Path(path).parent)))
            return str(tmp_path / "saved" / Path(path).name), filters

    monkeypatch.setattr(imports, "QFileDialog", FakeDialog)
    monkeypatch.setattr(models_dialog, "QFileDialog", FakeDialog)
    monkeypatch.setattr(compare, "QFileDialog", FakeDialog)
    home = str(Path.home())
    window = make_window()
    window.imports.choose_import_files()
    window.imports.choose_import_files()
    shoebox = str(photo_files["coffee"].parent)
    assert opened == [("Import photos", home), ("Import photos", shoebox)]
    window.imports.choose_import_folder()  # its own kind: not the photos' folder
    assert opened[-1] == ("Import a folder of photos", home)
    dialog = window.windows.open_models()
    dialog.choose_checkpoint()
    assert opened[-1][1] == home
    (tmp_path / "saved").mkdir()
    image = QImage(8, 8, QImage.Format_RGB32)
    win = compare.CompareWindow(image, image, CompareInfo())
    qtbot.addWidget(win)
    win.choose_export_path(False)
    win.choose_export_path(True)
    assert opened[-2:] == [("Export", home), ("Export", str(tmp_path / "saved"))]
    window.close()
    again = make_window()  # remembered across restarts
    again.imports.choose_import_files()
    assert opened[-1] == ("Import photos", shoebox)
    again.imports.choose_import_folder()
    assert opened[-1] == ("Import a folder of photos", str(tmp_path.parent))


def test_sidebar_keeps_a_subject_state_readable_in_a_narrow_sidebar(qtbot, make_window):
    window = make_window()
    name = "Eileen Margaret O'Sullivan-Fitzgerald"
    window.subjects.create_subject(name, "person", "tiny")
    window.resize(800, 600)
    window.show()
    window.splitter.setSizes([190, 400, 210])
    QApplication.processEvents()
    sidebar = window.sidebar
    item = sidebar.item_for(View("subject", name))
    rect = sidebar.visualItemRect(item)
    state = item.text(0).splitlines()[-1]
    assert state == "not trained yet"
    assert sidebar.fontMetrics().horizontalAdvance(state) <= rect.width()
    assert name in item.toolTip(0) and "face model: not trained yet" in item.toolTip(0)


def test_dates_read_as_dates(qtbot, make_window, tmp_path, astronaut):
    path = tmp_path / "wedding.jpg"
    exif = Image.Exif()
    exif[306] = "1968:07:04 12:00:00"  # DateTime
    astronaut.save(path, exif=exif)
    window = make_window()
    pid = import_one(window, path)
    assert window.library.get_photo(pid).taken == "1968-07-04T12:00:00"
    window.sidebar.select_view(View("all"))
    window.views.select_rows([window.model.row_of(("photo", pid))])
    taken = window.details.taken_label.text()
    assert "1968" in taken and "July" in taken and "T12" not in taken and "1968-07" not in taken
    tooltip = window.model.item(0).tooltip
    assert f"taken {taken}" in tooltip


def test_an_empty_grid_says_what_to_do(qtbot, make_window, photo_files):
    window = make_window()
    window.sidebar.select_view(View("all"))
    dialog = window.windows.open_models()  # as "Open Models…" in the welcome does
    dialog.close()
    assert window.model.rowCount() == 0
    assert "Import photos" in window.grid.empty_text()
    import_one(window, photo_files["coffee"])
    window.sidebar.select_view(View("all"))
    assert window.grid.empty_text() == ""
    window.sidebar.select_view(View("restorations"))
    assert "click Restore" in window.grid.empty_text()


def test_several_selected_faces_are_named_at_once_with_one_question_and_one_undo(
    qtbot, make_window, photo_files, tmp_path, astronaut
):
    window = make_window()
    window.subjects.create_subject("Rose", "person", "tiny")
    lib = window.library
    asked = []
    window.choose = lambda title, question, choices: asked.append(question) or 0
    photos, faces = [], []
    for angle in (0, 4, 8):
        path = tmp_path / f"rose_{angle}.png"
        astronaut.rotate(angle).save(path)
        pid = import_one(window, path)
        photos.append(pid)
        faces += lib.replace_faces(pid, [FaceData((170, 60, 110, 110))])
    view = window.people
    view.refresh()
    assigned = []
    view.faces_assigned.connect(lambda ids, who: assigned.append((ids, who)))
    for face in faces[:2]:
        view.item_for(face.id).setSelected(True)
    # the menu of a selected face speaks for the whole selection, the face outside the
    # selection still has its own
    assert "This is" in [a.text() for a in view.build_menu(faces[2].id).actions()]
    action(view.build_menu(faces[0].id), "These 2 faces are", "Rose").trigger()
    assert assigned == [([faces[0].id, faces[1].id], "Rose")]  # the window confirms them
    assert len(asked) == 1  # one question for both photos
    assert all(lib.get_face(f.id).confirmed_subject == "Rose" for f in faces[:2])
    assert [roles(lib, p) for p in photos] == [[("Rose", "reference")]] * 2 + [[]]
    window.tagging.action_undo.trigger()  # one step takes both back
    assert all(lib.get_face(f.id).confirmed_subject is None for f in faces[:2])
    assert [roles(lib, p) for p in photos] == [[], [], []]
