"""The People view's banner for names other photo managers gave, and "named in the file"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from gen2res_desktop.core.metadata import picasa
from gen2res_desktop.library import named_faces
from gen2res_desktop.library.models import FaceData
from gen2res_desktop.ui.sidebar import ALL, PEOPLE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from metadata_fixtures import digikam_packet, jpeg_with_xmp  # noqa: E402


@pytest.fixture(autouse=True)
def no_user_picasa(monkeypatch):
    monkeypatch.setattr(picasa, "user_contacts_files", lambda: [])


@pytest.fixture
def library(gen2res_home):
    """No prior needed here: a bare library (the shared fixture installs one, seconds)."""
    from gen2res_desktop.library.store import Library

    lib = Library.open(gen2res_home)
    yield lib
    lib.close()


@pytest.fixture
def named_photo(library, tmp_path) -> int:
    src = tmp_path / "beach.jpg"
    regions = [("Grandma Rose", 0.25, 0.5, 0.2, 0.3), ("Tom", 0.75, 0.5, 0.2, 0.3)]
    src.write_bytes(
        jpeg_with_xmp(Image.new("RGB", (300, 200), (120, 110, 100)), digikam_packet(regions))
    )
    (photo_id,) = library.import_paths([src]).photo_ids
    library.replace_faces(photo_id, [FaceData((50, 75, 40, 50)), FaceData((200, 75, 40, 50))])
    return photo_id


def test_banner_makes_a_person_undoably_and_not_now_hides_a_name(
    make_window, qtbot, library, named_photo
):
    w = make_window()
    bar = w.names.bar
    assert not bar.isVisibleTo(w)  # only with the People view
    w.sidebar.select_view(PEOPLE)
    assert bar.isVisibleTo(w)
    assert "1 photo already names Grandma Rose — make them a person?" in bar.label.text()
    assert not bar.next_button.isHidden()  # Tom waits behind her
    qtbot.mouseClick(bar.make_button, Qt.LeftButton)
    assert library.get_subject("Grandma Rose").kind == "person"
    faces = library.list_faces(photo_id=named_photo)
    assert [f.confirmed_subject for f in faces] == ["Grandma Rose", None]
    assert "Tom" in bar.label.text() and not not bar.next_button.isHidden()
    w.tagging.undo_stack.undo()
    assert library.list_faces(photo_id=named_photo)[0].confirmed_subject is None
    w.tagging.undo_stack.redo()
    assert library.list_faces(photo_id=named_photo)[0].confirmed_subject == "Grandma Rose"
    qtbot.mouseClick(bar.not_now_button, Qt.LeftButton)
    assert not bar.isVisibleTo(w) and bar.suggestions == []
    w.sidebar.select_view(ALL)
    assert not bar.isVisibleTo(w)


def test_details_say_who_the_file_names_and_settings_toggle(make_window, library, named_photo):
    w = make_window()
    w.details.show_photo(named_photo)
    label = w.details.faces_box.findChild(type(w.names.bar.label), "namedInFile")
    assert label is not None
    assert label.text() == "Named in the file: Grandma Rose (digiKam), Tom (digiKam)"
    w.names.menu.aboutToShow.emit()
    assert w.names.action_read.isChecked() and w.names.action_write.isChecked()
    w.names.action_write.setChecked(False)
    assert named_faces.writes_names(library) is False
    assert w.names.menu.menuAction() in w.menuBar().actions()[2].menu().actions()
