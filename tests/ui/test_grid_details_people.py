"""The grid's cells and badges, the details panel's summary and face pictures, the People
view and its sidebar entry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QStyleOptionViewItem

from gen2res_desktop.library.models import FaceData
from gen2res_desktop.ui import details as details_module
from gen2res_desktop.ui.details import DetailsPanel
from gen2res_desktop.ui.face_thumbs import (
    FACE_THUMB_SIZE,
    FaceThumbnails,
    face_crop_box,
    render_face_crop,
)
from gen2res_desktop.ui.grid import (
    BADGE_STYLES,
    BADGES_ROLE,
    ICON_SIZE,
    GridItem,
    PhotoDelegate,
    PhotoGrid,
    PhotoGridModel,
)
from gen2res_desktop.ui.people import (
    REFERENCE,
    SUGGESTED,
    SUGGESTED_COLOUR,
    UNNAMED_SECTION,
    PeopleView,
)
from gen2res_desktop.ui.sidebar import ALL, PEOPLE, RESTORATIONS, UNSORTED, Sidebar, View
from gen2res_desktop.ui.thumbnails import ThumbnailLoader

RED, GREEN, BLUE = (220, 30, 30), (30, 170, 60), (30, 60, 220)


def close_to(c: QColor, rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip((c.red(), c.green(), c.blue()), rgb, strict=True))


# -- the grid ------------------------------------------------------------------------------


def make_items(folder: Path, sizes: list[tuple[int, int]], colour=RED) -> list[GridItem]:
    items = []
    for i, (w, h) in enumerate(sizes):
        path = folder / f"p{i}.png"
        Image.new("RGB", (w, h), colour).save(path)
        items.append(
            GridItem(photo_id=i + 1, title=f"photo {i}.jpg", tooltip=f"photo {i}", source=path)
        )
    return items


@pytest.fixture
def grid_with(qtbot):
    loaders = []

    def make(items: list[GridItem]) -> tuple[PhotoGrid, PhotoGridModel]:
        loader = ThumbnailLoader(ICON_SIZE)
        loaders.append(loader)
        model = PhotoGridModel(loader)
        grid = PhotoGrid()
        qtbot.addWidget(grid)
        grid.setModel(model)
        model.setParent(grid)
        model.set_items(items)
        grid.resize(900, 700)
        grid.show()
        qtbot.waitExposed(grid)
        grid.grab()  # paints every cell: their thumbnails are asked for
        qtbot.waitUntil(lambda: loader.pending() == 0 and loader.cached() == len(items))
        grid.grab()
        return grid, model

    yield make
    for loader in loaders:
        loader.shutdown()


def cell_rects(grid: PhotoGrid, model: PhotoGridModel) -> list[tuple[int, int]]:
    return [
        (grid.visualRect(model.index(r)).width(), grid.visualRect(model.index(r)).height())
        for r in range(model.rowCount())
    ]


def size_hints(grid: PhotoGrid, model: PhotoGridModel) -> set[tuple[int, int]]:
    option = QStyleOptionViewItem()
    hints = set()
    for r in range(model.rowCount()):
        s = grid.itemDelegate().sizeHint(option, model.index(r))
        hints.add((s.width(), s.height()))
    return hints


def test_grid_cells_keep_their_size_and_caption_after_a_shift_selection(qtbot, grid_with, tmp_path):
    # portraits and squares, and a landscape (4:3) last: Qt's uniform item sizes sample
    # the last row, whose loaded thumbnail is 160 x 120 (75 % of a portrait's height)
    sizes = [(300, 400), (400, 400), (300, 400), (300, 400), (400, 400), (400, 300)]
    grid, model = grid_with(make_items(tmp_path, sizes))
    before = cell_rects(grid, model)
    assert len(set(before)) == 1 and len(size_hints(grid, model)) == 1
    caption_height = grid.fontMetrics().height()
    assert before[0][1] >= ICON_SIZE + caption_height  # room for the picture and caption

    viewport = grid.viewport()
    QTest.mouseClick(
        viewport, Qt.LeftButton, Qt.NoModifier, grid.visualRect(model.index(0)).center()
    )
    QTest.mouseClick(
        viewport, Qt.LeftButton, Qt.ShiftModifier, grid.visualRect(model.index(4)).center()
    )
    assert [i.photo_id for i in grid.selected_items()] == [1, 2, 3, 4, 5]
    # in the window the details panel then changes width, and the grid lays itself out again
    grid.resize(820, 700)
    qtbot.wait(50)
    grid.doItemsLayout()
    grid.grab()

    assert cell_rects(grid, model) == before
    assert size_hints(grid, model) == {before[0]}
    for r in range(model.rowCount()):
        assert model.index(r).data(Qt.DisplayRole) == f"photo {r}.jpg"
        rect = grid.visualRect(model.index(r))
        caption = PhotoDelegate.caption_rect(rect)
        assert caption.height() >= caption_height and rect.contains(caption)

    # the whole of a portrait picture is painted, its bottom row included
    image = viewport.grab().toImage()
    square = PhotoDelegate.picture_rect(grid.visualRect(model.index(2)))
    assert close_to(image.pixelColor(square.center().x(), square.bottom() - 2), RED)


def test_grid_badges_are_readable_painted_and_in_the_tooltip(qtbot, grid_with, tmp_path):
    items = make_items(tmp_path, [(400, 400)] * 3, colour=GREEN)
    items[0] = dataclasses.replace(items[0], badges=("reference",))
    items[1] = dataclasses.replace(items[1], badges=("restore", "restored"))
    grid, model = grid_with(items)
    assert model.index(0).data(BADGES_ROLE) == ["reference"]
    assert model.index(1).data(BADGES_ROLE) == ["restore", "restored"]
    assert model.index(2).data(BADGES_ROLE) == []
    assert "reference" in model.index(0).data(Qt.ToolTipRole).lower()
    tip = model.index(1).data(Qt.ToolTipRole).lower()
    assert "to restore" in tip and "restored" in tip
    assert model.index(2).data(Qt.ToolTipRole) == "photo 2"

    image = grid.viewport().grab().toImage()
    pill_height = 12  # a little under the pill's height at the smallest font
    for row, badge in ((0, "reference"), (1, "restore")):
        square = PhotoDelegate.picture_rect(grid.visualRect(model.index(row)))
        # inside the pill's rounded left end, left of its words
        colour = image.pixelColor(square.x() + 6, square.y() + 3 + pill_height // 2)
        assert close_to(colour, BADGE_STYLES[badge][1].getRgb()[:3], tol=30), (badge, colour)
    plain = PhotoDelegate.picture_rect(grid.visualRect(model.index(2)))
    assert close_to(image.pixelColor(plain.x() + 6, plain.y() + 9), GREEN)


# -- the library: photos, a person, faces --------------------------------------------------


@pytest.fixture
def family(library, photo_files):
    """Three photos (astronaut, chelsea, coffee) and Grandma, Grandpa (people), Rex (dog)."""
    summary = library.import_paths(
        [photo_files["astronaut"], photo_files["chelsea"], photo_files["coffee"]]
    )
    ids = {Path(f.path).stem: f.photo_id for f in summary.imported}
    for name, kind in (("Grandma", "person"), ("Grandpa", "person"), ("Rex", "dog")):
        library.add_subject(name, kind, "tiny" if kind == "person" else None)
    return library, ids


@pytest.fixture
def panel(qtbot, family):
    lib, _ = family
    panel = DetailsPanel(lib)
    qtbot.addWidget(panel)
    yield panel
    panel.face_thumbs.shutdown()


def face_texts(panel: DetailsPanel) -> list[str]:
    return [w.text() for w in panel.faces_box.findChildren(QLabel) if w.isVisibleTo(panel)]


def test_details_summarises_several_photos_and_shows_one_in_full(qtbot, family, panel, monkeypatch):
    lib, ids = family
    a, c, k = ids["astronaut"], ids["chelsea"], ids["coffee"]
    lib.tag([a, c], "Grandma", "reference")
    lib.tag([k], "Grandma", "restore")
    lib.tag([k], "Grandpa", "reference")
    out = lib.restoration_path_for(k, 7)
    Image.new("RGB", (40, 40)).save(out)
    r = lib.add_restoration(k, "Grandma", None, {}, 7, out)
    lib.set_restoration_kept(r.id, True)

    panel.show_photos([a])
    assert panel.photo_id == a and panel.photo_ids == [a]
    assert not panel.faces_box.isHidden() and not panel.restorations_box.isHidden()
    assert not panel.facts.isHidden() and panel.summary_label.isHidden()

    panel.show_photos([a, c, k])
    assert panel.photo_id is None and panel.photo_ids == [a, c, k]
    assert panel.title.text() == "<b>3 photos selected</b>"
    for widget in (panel.faces_box, panel.restorations_box, panel.crop_button, panel.facts):
        assert widget.isHidden()
    assert not panel.summary_label.isHidden()
    summary = panel.summary_label.text()
    assert "Grandma: 2 reference photos, 1 to restore" in summary
    assert "Grandpa: 1 reference photo" in summary
    assert "1 restoration (1 kept)" in summary
    assert not panel.keep_button.isEnabled() and not panel.compare_button.isEnabled()

    # a big selection reads whole lists instead of each photo, to the same words
    monkeypatch.setattr(details_module, "_PER_PHOTO_QUERIES", 1)
    panel.refresh()
    assert panel.summary_label.text() == summary

    lib.untag([c], "Grandma")
    panel.show_photos([c, a])
    assert "Not sorted yet: 1 photo" in panel.summary_label.text()
    assert "No restorations yet" in panel.summary_label.text()

    panel.show_photo(k)  # the old single-photo entry still works, restorations included
    assert panel.photo_id == k and panel.summary_label.isHidden()
    assert panel.restorations.count() == 1 and panel.keep_button.isEnabled()
    with qtbot.waitSignal(panel.kept_changed) as kept:
        panel.discard_button.click()
    assert kept.args == [r.id, False]

    panel.show_photos([])
    assert panel.photo_id is None and panel.title.text() == "No photo selected."
    assert panel.faces_box.isHidden() and panel.summary_label.isHidden()


def test_face_rows_show_a_picture_of_the_face(qtbot, family, panel):
    lib, ids = family
    a = ids["astronaut"]
    (face,) = lib.replace_faces(a, [FaceData(box=(170, 50, 90, 100))])
    panel.show_photo(a)
    picture = panel.face_picture(face.id)
    assert picture is not None and picture.isVisibleTo(panel)
    qtbot.waitUntil(lambda: panel.face_thumbs.pending() == 0)
    pix = picture.pixmap()
    assert max(pix.width(), pix.height()) == FACE_THUMB_SIZE
    # the crop's centre is the astronaut's face, not the grey placeholder
    expected = render_face_crop(lib, face).getpixel((FACE_THUMB_SIZE // 2, FACE_THUMB_SIZE // 2))
    got = pix.toImage().pixelColor(pix.width() // 2, pix.height() // 2)
    assert close_to(got, expected, tol=12)
    assert not close_to(got, (200, 200, 200), tol=15)

    # cached per face: showing the photo again queues nothing
    panel.show_photo(a)
    assert panel.face_thumbs.pending() == 0
    assert panel.face_picture(face.id).pixmap().cacheKey() == pix.cacheKey()


def test_single_face_of_a_reference_photo_is_that_person(qtbot, family, panel):
    lib, ids = family
    a, c = ids["astronaut"], ids["chelsea"]
    lib.tag([a, c], "Grandma", "reference")
    (face,) = lib.replace_faces(a, [FaceData(box=(170, 50, 90, 100))])
    panel.show_photo(a)
    assert "Face 1: Grandma (reference photo)" in face_texts(panel)
    assert panel.faces_box.findChild(QComboBox) is None

    # two faces on a reference photo: nobody can tell which is Grandma, so ask
    f1, f2 = lib.replace_faces(c, [FaceData(box=(10, 10, 60, 60)), FaceData(box=(200, 50, 60, 60))])
    panel.show_photo(c)
    combos = [w for w in panel.faces_box.findChildren(QComboBox) if w.isVisibleTo(panel)]
    assert len(combos) == 2 and combos[0].itemText(0) == "Who is this?"
    assert [combos[0].itemText(i) for i in range(1, combos[0].count())] == ["Grandma", "Grandpa"]
    with qtbot.waitSignal(panel.confirm_face) as named:
        combos[1].activated.emit(combos[1].findText("Grandpa"))
    assert named.args == [f2.id, "Grandpa"]

    # a confirmation wins over the reference photo
    lib.confirm_face(face.id, "Grandpa")
    panel.show_photo(a)
    assert "Face 1: Grandpa ✓" in face_texts(panel)
    qtbot.waitUntil(lambda: panel.face_thumbs.pending() == 0)


def test_face_crop_of_a_small_face_in_a_big_photo_comes_from_the_photo(tmp_path, library):
    # a 6000 x 4000 scan with a small blue face: far too small in the 256 px thumbnail
    scan = Image.new("RGB", (6000, 4000), RED)
    ImageDraw.Draw(scan).rectangle((3000, 2000, 3199, 2199), fill=BLUE)
    path = tmp_path / "scan.jpg"
    scan.save(path, quality=90)
    pid = library.import_paths([path]).imported[0].photo_id
    (face,) = library.replace_faces(pid, [FaceData(box=(3000, 2000, 200, 200))])
    crop = render_face_crop(library, face)
    assert max(crop.size) == FACE_THUMB_SIZE
    centre = crop.getpixel((crop.width // 2, crop.height // 2))
    assert all(abs(a - b) < 30 for a, b in zip(centre, BLUE, strict=True))
    corner = crop.getpixel((1, 1))  # the margin around the box shows the red around it
    assert all(abs(a - b) < 40 for a, b in zip(corner, RED, strict=True))


def test_face_crop_box_is_a_square_with_margin_inside_the_photo():
    assert face_crop_box((100, 100, 50, 50), 1000, 1000, margin=0.2) == (90, 90, 160, 160)
    # at a corner: moved inside
    assert face_crop_box((0, 0, 80, 60), 300, 200, margin=0.2) == (0, 0, 112, 112)
    # larger than the photo's height: as high as the photo, still square
    assert face_crop_box((150, 80, 100, 100), 200, 150) == (50, 0, 200, 150)


# -- the People view ----------------------------------------------------------------------


@pytest.fixture
def people_faces(family):
    """Grandma: the single face of her reference photo and a suggestion; Grandpa: a
    confirmed face; two faces nobody named (one suggested for the dog, which is no person)."""
    lib, ids = family
    a, c, k = ids["astronaut"], ids["chelsea"], ids["coffee"]
    lib.tag([a], "Grandma", "reference")
    (ref,) = lib.replace_faces(a, [FaceData(box=(170, 50, 90, 100))])
    confirmed, suggested, unnamed = lib.replace_faces(
        c,
        [
            FaceData(box=(10, 10, 60, 60)),
            FaceData(box=(120, 40, 60, 60)),
            FaceData((250, 50, 60, 60)),
        ],
    )
    lib.confirm_face(confirmed.id, "Grandpa")
    lib.set_face_suggestion(suggested.id, "Grandma", 0.42)
    (other,) = lib.replace_faces(k, [FaceData(box=(170, 60, 110, 110))])
    return lib, {
        "ref": ref.id,
        "confirmed": confirmed.id,
        "suggested": suggested.id,
        "unnamed": unnamed.id,
        "other": other.id,
        "chelsea": c,
    }


@pytest.fixture
def people_view(qtbot, people_faces):
    lib, _ = people_faces
    view = PeopleView(lib)
    qtbot.addWidget(view)
    view.resize(700, 600)
    yield view
    view.face_thumbs.shutdown()


def action(menu: QMenu, *path: str):
    for title in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == title)
    return next(a for a in menu.actions() if a.text() == path[-1])


def test_people_view_groups_faces_by_person(qtbot, people_faces, people_view):
    lib, f = people_faces
    view = people_view
    assert view.sections() == ["Grandma", "Grandpa", UNNAMED_SECTION]  # the dog has no faces
    assert view.faces_in("Grandma") == [f["ref"], f["suggested"]]
    assert view.faces_in("Grandpa") == [f["confirmed"]]
    assert view.faces_in(UNNAMED_SECTION) == [f["unnamed"], f["other"]]
    assert view.face_status(f["ref"]) == REFERENCE
    suggested = view.item_for(f["suggested"])
    assert view.face_status(f["suggested"]) == SUGGESTED and suggested.text() == "suggested?"
    assert suggested.foreground().color() == SUGGESTED_COLOUR and suggested.font().italic()
    assert view.item_for(f["ref"]).text() == "reference photo"
    assert "Looks like Grandma" in suggested.toolTip()

    view.show()
    qtbot.waitUntil(lambda: view.face_thumbs.pending() == 0)
    icon = view.item_for(f["confirmed"]).icon().pixmap(QSize(72, 72)).toImage()
    assert not close_to(icon.pixelColor(36, 36), (200, 200, 200), tol=15)  # a face, loaded


def test_people_view_confirms_rejects_and_names_faces(qtbot, people_faces, people_view):
    lib, f = people_faces
    view = people_view
    assigned = []
    view.face_assigned.connect(lambda face, who: assigned.append((face, who)))

    menu = view.build_menu(f["suggested"])
    action(menu, "Yes, this is Grandma").trigger()
    action(menu, "No, this is not Grandma").trigger()
    assert assigned == [(f["suggested"], "Grandma"), (f["suggested"], "")]

    menu = view.build_menu(f["unnamed"])
    who = next(a.menu() for a in menu.actions() if a.text() == "This is")
    assert [a.text() for a in who.actions()] == ["Grandma", "Grandpa"]  # people, not the dog
    action(menu, "This is", "Grandpa").trigger()
    assert assigned[-1] == (f["unnamed"], "Grandpa")

    menu = view.build_menu(f["confirmed"])
    action(menu, "This is not Grandpa").trigger()
    action(menu, "This is someone else", "Grandma").trigger()
    assert assigned[-2:] == [(f["confirmed"], ""), (f["confirmed"], "Grandma")]

    # the window stores the answer and refreshes
    lib.confirm_face(f["unnamed"], "Grandpa")
    lib.set_face_suggestion(f["suggested"], None, None)
    view.refresh()
    assert view.faces_in("Grandpa") == [f["confirmed"], f["unnamed"]]
    assert view.faces_in("Grandma") == [f["ref"]]
    assert view.faces_in(UNNAMED_SECTION) == [f["suggested"], f["other"]]


def test_people_view_double_click_opens_the_photo(qtbot, people_faces, people_view):
    _, f = people_faces
    view = people_view
    view.show()
    qtbot.waitExposed(view)
    faces_list = view.section_list("Grandpa")
    rect = faces_list.visualItemRect(view.item_for(f["confirmed"]))
    with qtbot.waitSignal(view.photo_requested) as opened:
        # QTest's double-click alone does not reach an item view here: click, then double
        QTest.mouseClick(faces_list.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
        QTest.mouseDClick(faces_list.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    assert opened.args == [f["chelsea"]]
    qtbot.waitUntil(lambda: view.face_thumbs.pending() == 0)


def test_people_view_with_hundreds_of_faces_and_with_none(qtbot, family):
    lib, ids = family
    view = PeopleView(lib)
    qtbot.addWidget(view)
    assert view.sections() == ["Grandma", "Grandpa", UNNAMED_SECTION]
    assert view.faces_in(UNNAMED_SECTION) == []
    boxes = [FaceData(box=(x * 20, y * 20, 18, 18)) for x in range(20) for y in range(15)]
    faces = lib.replace_faces(ids["astronaut"], boxes)
    view.refresh()
    assert len(view.faces_in(UNNAMED_SECTION)) == 300
    # the pictures are cut in the background; one cache serves them all
    thumbs = FaceThumbnails(lib)
    assert thumbs.get(faces[0]) is None
    qtbot.waitUntil(lambda: thumbs.pending() == 0)
    assert thumbs.get(faces[0]) is not None
    thumbs.shutdown()
    view.face_thumbs.shutdown()


# -- the sidebar ---------------------------------------------------------------------------


def test_sidebar_people_entry_is_a_view_between_all_photos_and_the_subjects(qtbot, family):
    lib, _ = family
    for view in (ALL, PEOPLE, UNSORTED, RESTORATIONS, View("subject", "Grandma")):
        assert View.from_key(view.key()) == view
    assert PEOPLE == View("people") and PEOPLE.key() == "people"

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_subjects(lib.list_subjects())
    tops = [sidebar.topLevelItem(i).text(0) for i in range(sidebar.topLevelItemCount())]
    assert tops[:2] == ["All photos", "People"]
    people = sidebar.item_for(PEOPLE)
    assert people is sidebar.topLevelItem(1) and people.flags() & Qt.ItemIsSelectable
    assert [people.child(i).text(0).split(" (")[0] for i in range(people.childCount())] == [
        "Grandma",
        "Grandpa",
    ]
    with qtbot.waitSignal(sidebar.view_changed) as changed:
        sidebar.select_view(PEOPLE)
    assert changed.args == [PEOPLE] and sidebar.current_view() == PEOPLE
    sidebar.set_subjects(lib.list_subjects())  # a refresh keeps the People view
    assert sidebar.current_view() == PEOPLE
    sidebar.select_view(View("subject", "Grandpa"))
    assert sidebar.current_view() == View("subject", "Grandpa")

    # photos dropped on the People row are tagged to nobody
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDropEvent

    from gen2res_desktop.ui.grid import PHOTO_IDS_MIME, encode_ids

    sidebar.resize(300, 400)
    sidebar.show()
    mime = QMimeData()
    mime.setData(PHOTO_IDS_MIME, encode_ids([1]))
    dropped = []
    sidebar.photos_dropped.connect(lambda *args: dropped.append(args))
    pos = sidebar.visualItemRect(people).center()
    event = QDropEvent(QPointF(pos), Qt.LinkAction, mime, Qt.LeftButton, Qt.NoModifier)
    sidebar.dropEvent(event)
    assert dropped == [] and not event.isAccepted()


def test_the_faces_line_says_whether_the_photo_was_searched_and_by_which_search(
    qtbot, family, panel
):
    lib, ids = family
    a, k = ids["astronaut"], ids["coffee"]

    def faces_line() -> QLabel:
        (label,) = [
            w for w in panel.faces_box.findChildren(QLabel, "facesSummary") if w.isVisibleTo(panel)
        ]
        return label

    panel.show_photo(k)
    assert faces_line().text() == "Faces: not searched yet"
    assert "Find faces" in faces_line().toolTip()
    lib.replace_faces(k, [])  # a search that found no face
    panel.show_photo(k)
    assert faces_line().text() == "Faces: none found"

    # found only by the second search, on the faded print's brightened copy
    lib.replace_faces(a, [FaceData(box=(170, 50, 90, 100), found_by="hog, enhanced")])
    panel.show_photo(a)
    assert faces_line().text() == "Faces: 1 (found on a brightened copy of this faded print)"
    assert "first search found no face" in faces_line().toolTip()
    assert "Face 1:" in face_texts(panel)
    lib.replace_faces(a, [FaceData(box=(170, 50, 90, 100), found_by="cnn, enhanced")])
    panel.show_photo(a)
    assert "slower second search" in faces_line().text()
    lib.replace_faces(
        a,
        [
            FaceData(box=(170, 50, 90, 100), found_by="hog, enhanced"),
            FaceData(box=(300, 50, 90, 100), found_by="named in the file"),
        ],
    )
    panel.show_photo(a)
    assert faces_line().text() == (
        "Faces: 2 (face 1 found on a brightened copy of this faded print)"
    )
    # the first search's faces, and the file's named ones, need no word about it
    lib.replace_faces(
        a,
        [
            FaceData(box=(170, 50, 90, 100), found_by="hog"),
            FaceData(box=(300, 50, 90, 100), found_by="named in the file"),
        ],
    )
    panel.show_photo(a)
    assert faces_line().text() == "Faces: 2" and faces_line().toolTip() == ""
    qtbot.waitUntil(lambda: panel.face_thumbs.pending() == 0)


def test_a_long_file_path_fits_one_line_and_the_whole_path_is_in_its_tooltip(qtbot, family, panel):
    lib, ids = family
    a = ids["astronaut"]
    photo = lib.get_photo(a)
    long_path = (
        "/home/someone/Pictures/Scans/Grandma's shoebox, 1968 summer/"
        + Path(photo.original_path).name
    )
    panel.resize(300, 700)
    panel.show()
    panel.show_photos([a])
    label = panel.file_label
    label.set_path(long_path)
    qtbot.waitUntil(lambda: "…" in label.text())
    assert label.toolTip() == long_path and label.path() == long_path
    assert label.fontMetrics().horizontalAdvance(label.text()) <= max(label.width(), 40)
    assert "\n" not in label.text()
    label.set_path("/a/b.jpg")  # a short one is shown whole
    assert label.text() == "/a/b.jpg"
