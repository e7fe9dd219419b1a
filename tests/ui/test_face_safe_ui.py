"""The face-safe repair in the window: the protected facial features outlined over the
damage map, the choice of damage detector in the restore options, and the repair line
naming the detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage

from gen2res_desktop.core.photo import models as photo_models
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.library.tables.photos import write_damage_levels, write_damage_map
from gen2res_desktop.ui import restore_options
from gen2res_desktop.ui.compare import CompareInfo, CompareWindow, repair_summary
from gen2res_desktop.ui.compare_overlays import PARTLY_LEGEND, PROTECTED_LEGEND, protected_polygons
from gen2res_desktop.ui.damage_map import mask_to_overlay, pixels
from gen2res_desktop.ui.restore_options import AUTO_BUILT_IN_NOTE, RestoreOptionsDialog

EYE = [[10, 10], [40, 10], [40, 40], [10, 40]]  # in the damage map's (input's) pixels
MOUTH = [[60, 12], [90, 12], [75, 30]]


def solid(color: QColor, w: int, h: int) -> QImage:
    image = QImage(w, h, QImage.Format_RGB32)
    image.fill(color)
    return image


def lower_half_damaged(w: int = 100, h: int = 80) -> QImage:
    mask = np.zeros((h, w), np.uint8)
    mask[h // 2 :, :] = 255
    return mask_to_overlay(mask)


def enlarged_compare(qtbot, protected) -> CompareWindow:
    """A 100 x 80 photo repaired into a 200 x 160 result, its map's lower half damaged."""
    before, after = solid(QColor(90, 90, 90), 100, 80), solid(QColor(20, 20, 220), 200, 160)
    win = CompareWindow(
        before, after, CompareInfo(), damage_overlay=lower_half_damaged(), protected=protected
    )
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    return win


# -- the outline over the damage map --------------------------------------------------------


def test_the_protected_features_are_outlined_with_the_damage_map(qtbot):
    win = enlarged_compare(qtbot, [EYE, MOUTH])
    left, right = win.side_by_side.left, win.side_by_side.right
    assert PROTECTED_LEGEND in win.action_damage.toolTip()
    assert not left.outline.isVisible() and win.legend_label.isHidden()  # the map is off

    win.show_damage(True)
    assert left.overlay.isVisible() and left.outline.isVisible()
    assert not right.outline.isVisible()
    # in the map's pixels, stretched onto the enlarged result exactly like the map
    assert left.outline.path().boundingRect() == QRectF(10, 10, 80, 30)
    assert left.outline.transform() == left.overlay.transform()
    assert left.outline.transform().m11() == 2.0
    pen = left.outline.pen()
    assert pen.isCosmetic() and pen.widthF() <= 1 and pen.color().alpha() < 255
    assert not win.legend_label.isHidden()
    assert PROTECTED_LEGEND in win.legend_label.text()

    win.flip()  # the outline stays with the Before image
    assert right.outline.isVisible() and not left.outline.isVisible()
    win.flip()
    win.show_damage(False)
    assert not left.outline.isVisible() and not left.overlay.isVisible()
    assert win.legend_label.isHidden()

    # the split view paints the outline too: a light line along the eye's left edge
    win.show_damage(True)
    win.set_mode(CompareWindow.SPLIT)
    split = win.split
    split.set_divider(1.0)  # all Before
    win.fit()
    image = split.grab().toImage()
    rect = split.image_rect()
    zoom = rect.width() / 100  # map pixels to widget pixels
    x = round(rect.left() + 10 * zoom)
    column = [
        image.pixelColor(dx, round(rect.top() + y * zoom))
        for y in range(12, 39)
        for dx in (x - 1, x, x + 1)
    ]
    assert any(c.blue() > c.red() + 40 for c in column)  # cyan over the grey photo
    # no outline where nothing was protected
    far = image.pixelColor(round(rect.left() + 25 * zoom), round(rect.top() + 25 * zoom))
    assert abs(far.blue() - far.red()) < 10


def test_a_restoration_without_protected_features_draws_no_outline(qtbot):
    win = enlarged_compare(qtbot, ())
    assert win.protected_outline is None
    assert PROTECTED_LEGEND not in win.action_damage.toolTip()
    win.show_damage(True)
    assert win.side_by_side.left.overlay.isVisible()
    assert not win.side_by_side.left.outline.isVisible()
    assert PROTECTED_LEGEND not in win.legend_label.text()
    win.set_mode(CompareWindow.SPLIT)
    win.split.grab()  # paints without an outline


def test_protected_polygons_read_old_and_odd_records():
    assert protected_polygons({}) == []
    assert protected_polygons({"repair": {"stages": []}}) == []  # made before protection
    assert protected_polygons({"repair": {"protected": []}}) == []
    assert protected_polygons({"repair": {"protected": "nonsense"}}) == []
    odd = [EYE, [[1, 2], [3, 4]], "x", [[1, 1], [5, "a"], [9, 9], [2.0, 7.0]]]
    assert protected_polygons({"repair": {"protected": odd}}) == [
        [(10, 10), (40, 10), (40, 40), (10, 40)],
        [(1, 1), (9, 9), (2, 7)],
    ]


def _restoration(lib, tmp_path: Path, settings: dict, levels: np.ndarray | None = None) -> int:
    """A repaired 100 x 80 photo recorded with its damage map (``levels``: how far each
    pixel was filled; else a black-and-white map, its lower part marked) and ``settings``."""
    src = tmp_path / "print.png"
    Image.fromarray(np.full((80, 100, 3), 120, np.uint8)).save(src)
    (photo,) = lib.import_paths([src]).photo_ids
    seed = len(lib.list_restorations(photo))
    out = lib.restoration_path_for(photo, seed)
    Image.fromarray(np.full((80, 100, 3), 130, np.uint8)).save(out)
    mask = np.zeros((80, 100), np.uint8)
    mask[50:, :] = 255
    damage = out.with_name(out.stem + "-damage.png")
    if levels is None:
        write_damage_map(mask, damage)
    else:
        write_damage_levels(levels, damage)
    settings = {"restore_faces": False, **settings}
    return lib.add_restoration(photo, None, None, settings, seed, out, damage_map=damage).id


def test_the_compare_window_reads_the_protected_features_from_the_restoration(
    qtbot, make_window, tmp_path
):
    window = make_window()
    lib = window.library
    stages = [
        {"stage": "damage", "method": "opencv", "detail": {"protected_pixels": 42}},
        {"stage": "inpaint", "method": "opencv", "detail": {}},
    ]
    rid = _restoration(lib, tmp_path, {"repair": {"stages": stages, "protected": [EYE]}})
    compare = window.windows.open_compare(rid)
    qtbot.waitExposed(compare)
    assert compare.repair_label.text() == (
        "Damage found by the built-in detector, filled (built-in), facial features left alone"
        " · Faces: not regenerated"
    )
    compare.show_damage(True)
    assert compare.side_by_side.left.outline.isVisible()
    assert compare.side_by_side.left.outline.path().boundingRect() == QRectF(10, 10, 30, 30)
    compare.close()

    older = _restoration(lib, tmp_path, {"repair": {"stages": stages[:1]}})  # no key
    compare = window.windows.open_compare(older)
    compare.show_damage(True)
    assert compare.side_by_side.left.overlay.isVisible()
    assert not compare.side_by_side.left.outline.isVisible()
    compare.close()


def test_marks_filled_only_part_way_show_paler_and_the_legend_says_why(
    qtbot, make_window, tmp_path
):
    window = make_window()
    lib = window.library
    stages = [
        {"stage": "damage", "method": "opencv", "detail": {}},
        {"stage": "inpaint", "method": "opencv", "detail": {"partly_filled_fraction": 0.1}},
    ]
    levels = np.zeros((80, 100), np.uint8)
    levels[10:20], levels[25:30] = 255, 254  # whole, and almost
    levels[40:50], levels[60:70] = 128, 1  # half way, barely
    rid = _restoration(lib, tmp_path, {"repair": {"stages": stages}}, levels)
    compare = window.windows.open_compare(rid)
    qtbot.waitExposed(compare)
    assert "doubtful dark marks part way" in compare.repair_label.text()
    alpha = pixels(compare.damage_overlay)[:, 50] >> 24
    whole, almost, half, barely, none = (int(alpha[y]) for y in (15, 27, 45, 65, 35))
    assert whole > almost > half > barely > none == 0  # a mark the repair doubted still shows
    assert almost <= 0.6 * whole + 1  # and any doubt plainly paler than a whole fill
    compare.show_damage(True)
    assert PARTLY_LEGEND in compare.legend_label.text()
    compare.close()

    # a map where every mark was filled whole (or from before the levels) says nothing of it
    rid = _restoration(lib, tmp_path, {"repair": {"stages": stages[:1]}})
    compare = window.windows.open_compare(rid)
    compare.show_damage(True)
    assert PARTLY_LEGEND not in compare.legend_label.text()
    assert set(np.unique(pixels(compare.damage_overlay) >> 24)) == {0, int(whole)}
    compare.close()


# -- the repair line ------------------------------------------------------------------------


def test_the_repair_line_names_the_detector():
    def line(damage: dict, filler: str | None = "lama", **repair) -> str:
        stages = [{"stage": "damage", **damage}]
        if filler:
            stages.append({"stage": "inpaint", "method": filler, "detail": {}})
        settings = {"repair": {"stages": stages, **repair}, "restore_faces": False}
        return repair_summary(settings).split(" · ")[0]

    assert line({"method": "opencv", "detail": {}}, "opencv") == (
        "Damage found by the built-in detector, filled (built-in)"
    )
    assert line({"method": "bopbtl-scratch", "detail": {"protected_pixels": 310}}) == (
        "Damage found by bopbtl-scratch, filled (lama), facial features left alone"
    )
    torn = {"protected_pixels": 5, "torn_fraction": 0.03}
    assert line({"method": "opencv", "detail": torn}, "opencv") == (
        "Damage found by the built-in detector, filled (built-in), with a torn corner, "
        "facial features left alone"
    )
    # a doubtful dark mark is filled only part way: the line says so, so a faint gap in a
    # texture that stayed is understood
    stages = [
        {"stage": "damage", "method": "opencv", "detail": {}},
        {"stage": "inpaint", "method": "opencv", "detail": {"partly_filled_fraction": 0.004}},
    ]
    assert repair_summary({"repair": {"stages": stages}}).split(" · ")[0] == (
        "Damage found by the built-in detector, filled (built-in), doubtful dark marks part way"
    )
    assert line({"method": "your map", "detail": {"protected_pixels": 0}}) == (
        "Damage from your painted map, filled (lama)"
    )
    assert line({"method": "opencv"}, None, inpaint="off") == (
        "Damage found by the built-in detector, not filled"
    )
    assert line({"method": "bopbtl-scratch", "detail": {}}, None) == (
        "No damage found by bopbtl-scratch"
    )
    assert line({"method": "opencv", "detail": {"protected_pixels": "many"}}, None) == (
        "No damage found by the built-in detector"
    )


def test_the_repair_line_says_when_no_face_was_found_to_regenerate():
    stages = [{"stage": "damage", "method": "opencv", "detail": {}}]
    settings = {
        "repair": {"stages": stages},
        "restore_faces": True,
        "faces": [],
        "faces_note": "No face found in coffee.png. The print was repaired; no face was ...",
    }
    assert repair_summary(settings).endswith("Faces: none found to regenerate")


# -- the restore options --------------------------------------------------------------------


def fake_model(name: str, task: str = "damage") -> photo_models.PhotoModelInfo:
    return photo_models.PhotoModelInfo(
        name=name,
        task=task,
        arch="UNet",
        scale=1,
        path=Path("/nowhere") / f"{name}.safetensors",
        sha256="0" * 64,
        source="test",
        source_sha256=None,
        licence="MIT",
        source_page="",
        parameters=1000,
        installed_at="2024-01-01T00:00:00+00:00",
    )


def items(combo) -> list[tuple[str, object]]:
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_the_detector_choice_round_trips_and_offers_the_download(qtbot, make_window):
    window = make_window()
    dialog = window.windows.open_restore_options()
    assert items(dialog.detector_combo) == [
        ("Automatic", "auto"),
        ("Built-in (no download)", "opencv"),
    ]
    assert dialog.settings().damage_detector == "auto"
    # no damage model installed: say what Automatic does, and offer the learned detector
    assert dialog.detector_note.text() == AUTO_BUILT_IN_NOTE
    assert not dialog.download_detector.isHidden()
    assert "--" not in dialog.download_detector.text() + dialog.download_detector.toolTip()

    dialog.scratches_check.setChecked(False)  # like the other scratch controls
    assert not dialog.detector_combo.isEnabled()
    dialog.scratches_check.setChecked(True)
    assert dialog.detector_combo.isEnabled()

    dialog.detector_combo.setCurrentIndex(dialog.detector_combo.findData("opencv"))
    assert dialog.save()
    assert window.library.repair_settings().damage_detector == "opencv"
    again = RestoreOptionsDialog(window.library)
    qtbot.addWidget(again)
    assert again.detector_combo.currentData() == "opencv"
    assert again.settings() == RepairSettings(damage_detector="opencv")

    # the offer opens Models on the photo models tab, at the detector when it is listed
    asked = []
    dialog.download_requested.connect(asked.append)
    dialog.download_detector.click()
    entry = restore_options.learned_detector()
    assert asked == [entry.name if entry else ""]
    models = window.windows.models_dialog
    assert models is not None and models.tabs.currentWidget() is models.photo_tab
    if entry is not None:
        assert models.photo_tab.selected_entry() == entry.name


def test_an_installed_detector_is_listed_and_used_by_automatic(qtbot, make_window, monkeypatch):
    installed = [fake_model("zz-detector"), fake_model("a-detector"), fake_model("lama", "inpaint")]
    monkeypatch.setattr(restore_options, "installed_photo_models", lambda home: installed)
    window = make_window()
    dialog = window.windows.open_restore_options()
    names = [data for _, data in items(dialog.detector_combo)]
    assert names == ["auto", "opencv", "a-detector", "zz-detector"]  # not the inpainter
    assert dialog.detector_note.text() == "Automatic uses a-detector."
    assert dialog.download_detector.isHidden()

    dialog.detector_combo.setCurrentIndex(dialog.detector_combo.findData("zz-detector"))
    assert dialog.save()
    assert window.library.repair_settings().damage_detector == "zz-detector"

    # the chosen detector removed: the choice still shows, marked, and the offer returns
    monkeypatch.setattr(restore_options, "installed_photo_models", lambda home: [])
    dialog.load()
    assert dialog.detector_combo.currentText() == "zz-detector (not installed)"
    assert dialog.settings().damage_detector == "zz-detector"
    assert not dialog.download_detector.isHidden()


def test_a_catalogued_detector_is_named_by_its_title(qtbot, make_window, monkeypatch):
    entry = photo_models.CatalogueEntry(
        name="test-scratch",
        title="Old-photo scratch detector",
        task="damage",
        scale=1,
        filename="x.pt",
        url="https://example.invalid/x.pt",
        size=None,
        sha256=None,
        md5=None,
        licence="MIT",
        source_page="",
    )
    monkeypatch.setitem(photo_models.CATALOGUE, entry.name, entry)
    installed = [fake_model("my-detector"), fake_model("test-scratch")]
    monkeypatch.setattr(restore_options, "installed_photo_models", lambda home: installed)
    window = make_window()
    dialog = window.windows.open_restore_options()
    # the catalogue's detector comes before an imported one: it is what Automatic picks
    assert dialog.detector_note.text() == "Automatic uses Old-photo scratch detector."
    assert restore_options.learned_detector() is not None
