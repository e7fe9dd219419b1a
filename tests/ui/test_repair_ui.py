"""The whole-photo repair in the window: restore options, one-click Restore without faces,
the compare view's damage map and repair line, and the photo models tab."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QToolBar

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo import models as photo_models
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.tables.photos import read_damage_levels
from gen2res_desktop.ui.compare import CompareInfo, CompareWindow, repair_summary
from gen2res_desktop.ui.controllers.restore import REPAIR_ONLY
from gen2res_desktop.ui.damage_map import mask_to_overlay
from gen2res_desktop.ui.models_dialog import format_bytes
from gen2res_desktop.ui.restore_options import RestoreOptionsDialog
from gen2res_desktop.ui.services import restore_faces_option, set_restore_faces_option
from gen2res_desktop.ui.sidebar import View

SCRATCH = ((20, 30), (170, 150))  # a bright scratch across the photo, (x, y) end points


def scratched(astronaut: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """A 192 px photo with a thin bright scratch drawn on it, and the scratch's pixels."""
    clean = cv2.resize(np.asarray(astronaut), (192, 192), interpolation=cv2.INTER_AREA)
    line = np.zeros(clean.shape[:2], np.uint8)
    cv2.line(line, *SCRATCH, 255, 2)
    photo = clean.copy()
    photo[line > 0] = (250, 250, 245)
    return photo, line > 0


@pytest.fixture
def scratched_file(tmp_path, astronaut):
    photo, line = scratched(astronaut)
    path = tmp_path / "scratched.png"
    Image.fromarray(photo).save(path)
    return path, photo, line


def import_one(window, path) -> int:
    window.imports.import_paths([path])
    window.sidebar.select_view(View("all"))
    pid = window.library.list_photos()[0].id
    window.views.select_rows([window.model.row_of(("photo", pid))])
    return pid


def record(runner):
    events = []
    runner.progress.connect(lambda j, p: events.append(("progress", p.stage, p.message)))
    runner.finished.connect(lambda j, r: events.append(("finished", r)))
    runner.failed.connect(lambda j, m: events.append(("failed", m)))
    return events


# -- restore options ------------------------------------------------------------------------


def test_restore_options_round_trip_through_the_library(qtbot, make_window):
    window = make_window()
    dialog = window.windows.open_restore_options()
    assert dialog.settings() == RepairSettings() and dialog.faces()
    assert not dialog.hint.isHidden()  # no photo model installed: the built-in methods
    assert "built-in methods are used" in dialog.hint.text()
    assert [dialog.fill_combo.itemText(i) for i in range(dialog.fill_combo.count())] == [
        "Automatic",
        "Built-in",
    ]

    dialog.scratches_check.setChecked(False)
    assert not dialog.sensitivity.isEnabled() and not dialog.fill_combo.isEnabled()
    dialog.sensitivity.set_value(0.8)
    dialog.fill_combo.setCurrentIndex(dialog.fill_combo.findData("opencv"))
    dialog.grain_combo.setCurrentIndex(dialog.grain_combo.findData("off"))
    assert not dialog.grain_strength.isEnabled()
    dialog.sharpen.set_value(0.1)
    assert not dialog.enlarge_method.isEnabled()
    dialog.enlarge_combo.setCurrentIndex(dialog.enlarge_combo.findData(2))
    assert dialog.enlarge_method.isEnabled()
    dialog.colour_strength.set_value(0.4)
    dialog.monochrome_combo.setCurrentIndex(dialog.monochrome_combo.findData("neutral"))
    dialog.faces_check.setChecked(False)
    chosen = dialog.settings()
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert not dialog.isVisible()

    lib = window.library
    assert lib.repair_settings() == chosen
    assert chosen == RepairSettings(
        scratches=False,
        scratch_sensitivity=0.8,
        inpaint="opencv",
        denoise="off",
        sharpen=0.1,
        upscale=2,
        colour_strength=0.4,
        monochrome="neutral",
    )
    assert restore_faces_option(lib) is False
    assert lib.get_setting("restore.faces") is False

    # a fresh dialog shows what was saved
    again = RestoreOptionsDialog(lib)
    qtbot.addWidget(again)
    assert again.settings() == chosen and not again.faces()
    assert again.sensitivity.label.text() == "80%"

    again.reset_button.click()
    assert again.settings() == RepairSettings() and again.faces()
    assert lib.repair_settings() == chosen  # not saved until Save
    assert again.save()
    assert lib.repair_settings() == RepairSettings() and restore_faces_option(lib)

    # the menu and the toolbar reach the dialog
    photos = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Photos")
    assert window.windows.action_restore_options in photos.actions()
    assert window.windows.action_damage_map in photos.actions()
    toolbar = window.findChild(QToolBar, "mainToolbar")
    assert window.windows.action_restore_options in toolbar.actions()


# -- one-click restore ----------------------------------------------------------------------


def test_restore_with_faces_off_repairs_the_photo_and_compare_shows_the_map(
    qtbot, make_window, scratched_file
):
    path, photo, line = scratched_file
    window = make_window()
    set_restore_faces_option(window.library, False)
    pid = import_one(window, path)
    asked = []
    window.ask = lambda title, q: asked.append(q) or True
    window.choose = lambda title, q, choices: asked.append(q) or 0
    events = record(window.runner)
    [job_id] = window.restore.restore_selected()
    assert asked == []  # no subject, no face, no question: the photo is repaired only
    assert events[-1][0] == "finished", events[-1]
    assert window.runner.job(job_id).title == "Repair scratched.png"
    stages = [e[1] for e in events if e[0] == "progress"]
    order = [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s]
    assert order[:5] == ["loading", "damage", "inpaint", "denoise", "colour"]
    messages = {e[2] for e in events if e[0] == "progress"}
    assert "Finding scratches and dust" in messages and "Filling scratches and dust" in messages

    [r] = window.library.list_restorations(pid)
    assert r.damage_map is not None and r.damage_map.is_file()
    levels = read_damage_levels(r.damage_map)  # a white scratch is filled whole, whatever doubt
    assert levels.shape == photo.shape[:2] and np.median(levels[line]) == 255
    assert r.settings["restore_faces"] is False and r.subject is None
    restored = np.asarray(Image.open(r.path).convert("RGB")).astype(int)
    assert restored.shape == photo.shape
    diff = np.abs(restored - photo.astype(int)).mean(axis=2)
    assert diff[line].mean() > 40  # the bright scratch was filled in
    assert diff[line].mean() > 4 * diff[~line].mean()

    compare = window.windows.open_compare(r.id)
    qtbot.waitExposed(compare)
    assert compare.info_label.isHidden()  # nothing to say about faces: none regenerated
    repair_line = compare.repair_label.text()
    # the astronaut's face may keep some marks out of the map: the line then says so
    assert repair_line.startswith("Damage found by the built-in detector, filled (built-in)")
    assert "Grain reduced" in repair_line
    assert "Colour corrected" in repair_line and "Faces: not regenerated" in repair_line
    assert compare.action_damage.isEnabled() and not compare.showing_damage()
    assert not compare.side_by_side.left.overlay.isVisible()
    compare.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is compare)
    qtbot.keyClick(compare.side_by_side.left, Qt.Key_M)  # M shows the map over Before
    assert compare.showing_damage()
    assert compare.side_by_side.left.overlay.isVisible()
    assert not compare.side_by_side.right.overlay.isVisible()
    # the split view paints the Before side red along the scratch, the After side not
    compare.set_mode(CompareWindow.SPLIT)
    split = compare.split
    split.set_divider(1.0)  # all Before
    rect = split.image_rect()
    x, y = (np.array(SCRATCH[0]) + np.array(SCRATCH[1])) / 2
    at = (round(rect.left() + x / 192 * rect.width()), round(rect.top() + y / 192 * rect.height()))
    before_red = split.grab().toImage().pixelColor(*at)
    assert before_red.red() > before_red.green() + 60
    compare.flip()  # After left, Before (with its map) right
    assert compare.side_by_side.right.overlay.isVisible()
    assert not compare.side_by_side.left.overlay.isVisible()
    compare.close()

    # scratches off: the next restoration has no map, and the toggle says why it is off
    window.library.set_repair_settings(RepairSettings(scratches=False))
    window.restore.restore_photos([pid], seeds=(1,))
    second = next(x for x in window.library.list_restorations(pid) if x.seed == 1)
    assert second.damage_map is None
    compare = window.windows.open_compare(second.id)
    assert not compare.action_damage.isEnabled()
    assert "no damage map" in compare.action_damage.toolTip()
    assert "Scratches" not in compare.repair_label.text()
    compare.close()


def test_a_photo_without_a_subject_asks_then_repairs_only(qtbot, make_window, scratched_file):
    path, *_ = scratched_file
    window = make_window()
    assert restore_faces_option(window.library)  # faces on: the question comes
    pid = import_one(window, path)
    asked = []

    def choose(title, question, choices):
        asked.append((question, choices))
        return REPAIR_ONLY

    window.choose = choose
    [job_id] = window.restore.restore_selected()
    assert asked[0][0].startswith("This photo is not tagged to a subject, so the faces")
    assert "Repair photo only" in asked[0][0] and asked[0][1][REPAIR_ONLY] == "Repair photo only"
    job = window.runner.job(job_id)
    assert job.fn.keywords["faces"] is False and job.fn.keywords["single_photo"] is False
    assert job.fn.keywords["repair"] == window.library.repair_settings()
    [r] = window.library.list_restorations(pid)
    assert r.settings["restore_faces"] is False


# -- compare view ---------------------------------------------------------------------------


def solid(color: QColor, w: int, h: int) -> QImage:
    image = QImage(w, h, QImage.Format_RGB32)
    image.fill(color)
    return image


def test_compare_scales_the_before_image_onto_an_enlarged_result(qtbot):
    before, after = solid(QColor(200, 200, 200), 100, 80), solid(QColor(20, 20, 220), 200, 160)
    mask = np.zeros((80, 100), np.uint8)
    mask[40:, :] = 255
    info = CompareInfo(repair="Enlarged 2×")
    win = CompareWindow(before, after, info, damage_overlay=mask_to_overlay(mask))
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    sbs = win.side_by_side
    assert win.scene_size() == QSize(200, 160)
    assert sbs.left.scene().sceneRect() == sbs.right.scene().sceneRect()
    assert sbs.left.item.transform().m11() == 2.0 and sbs.right.item.transform().m11() == 1.0
    win.show_damage(True)
    assert sbs.left.overlay.transform().m11() == 2.0
    win.actual_size()  # 100%: the result pixel for pixel, both views alike
    assert sbs.left.zoom_factor() == 1.0 and sbs.right.transform() == sbs.left.transform()
    win.set_mode(CompareWindow.SPLIT)
    win.fit()
    image = win.split.grab().toImage()
    rect = win.split.image_rect()
    top = image.pixelColor(round(rect.left() + 10), round(rect.top() + rect.height() * 0.25))
    bottom = image.pixelColor(round(rect.left() + 10), round(rect.top() + rect.height() * 0.75))
    assert top.red() == top.green()  # grey Before, no damage there
    assert bottom.red() > bottom.green() + 60  # the red map over the lower half
    assert win.repair_label.text() == "Enlarged 2×"


def test_repair_summary_words():
    settings = {
        "repair": {
            "inpaint": "auto",
            "scale": 2,
            "stages": [
                {"stage": "damage", "method": "your map", "detail": {}},
                {"stage": "inpaint", "method": "lama", "detail": {}},
                {"stage": "denoise", "method": "scunet", "detail": {}},
                {"stage": "upscale", "method": "opencv", "detail": {"factor": 2}},
                {"stage": "colour", "method": "opencv", "detail": {}},
            ],
        },
        "restore_faces": True,
        "faces": [{"subject": "Grandma", "mode": "adapter"}],
    }
    assert repair_summary(settings) == (
        "Damage from your painted map, filled (lama) · Grain reduced (scunet) · Enlarged 2× · "
        "Colour corrected · Faces: Grandma's face model"
    )
    assert repair_summary({"strength": 200}) == ""  # made before the repair existed


# -- photo models ---------------------------------------------------------------------------


def tiny_upscaler(folder, scale: int = 2, name: str = "tiny-x2.pth"):
    import torch
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    path = folder / name
    torch.save({"params": Compact(num_feat=8, num_conv=2, upscale=scale).state_dict()}, path)
    return path


def test_photo_models_tab_lists_downloads_imports_and_removes(
    qtbot, make_window, tmp_path, monkeypatch
):
    window = make_window()
    home = window.library.home
    photo_models.PhotoModelRegistry(home).import_file(
        tiny_upscaler(tmp_path), "tiny-x2", licence="MIT"
    )
    options = window.windows.open_restore_options()
    enlarge = [options.enlarge_method.itemData(i) for i in range(options.enlarge_method.count())]
    assert enlarge == [None, "tiny-x2"]
    grain = [options.grain_combo.itemText(i) for i in range(options.grain_combo.count())]
    assert grain == ["Built-in", "Off", "tiny-x2 (cleans up, same size)"]
    assert options.hint.isHidden()  # a photo model is installed

    dialog = window.windows.open_models()
    tab = dialog.photo_tab
    assert dialog.tabs.tabText(1) == "Photo models"
    assert tab.installed_names() == ["tiny-x2"]
    assert [tab.installed.item(0, c).text() for c in (0, 1, 2)] == ["tiny-x2", "Enlarging", "MIT"]
    assert tab.catalogue_names() == list(photo_models.CATALOGUE)
    assert tab.select_entry("realesrgan-x4")
    size = format_bytes(photo_models.CATALOGUE["realesrgan-x4"].size)
    assert size in tab.entry_label.text() and "BSD-3-Clause" in tab.entry_label.text()
    assert tab.catalogue.item(tab.catalogue.currentRow(), 3).text() == "BSD-3-Clause"

    # download (the network replaced by a fake that reports progress and installs a file)
    calls, bars = [], []

    def fake_download(name, *, home, base_url=None, progress, cancel):
        calls.append(name)
        for got in (0, 1_000_000, 2_000_000, 4_000_000):
            progress(Progress("download", got, 4_000_000, "realesr-general-x4v3.pth"))
            bars.append(dialog.progress_bar.format())
        source = tiny_upscaler(tmp_path, 4, "realesr-general-x4v3.pth")
        return photo_models.PhotoModelRegistry(home).import_file(
            source, name, task="upscale", licence="BSD-3-Clause", progress=progress, cancel=cancel
        )

    monkeypatch.setattr(photo_models, "download_photo_model", fake_download)
    changed = []
    dialog.photo_models_changed.connect(lambda: changed.append(True))
    assert tab.select_entry("realesrgan-general-x4v3")
    tab.download_button.click()
    assert calls == ["realesrgan-general-x4v3"]
    assert "2.0 MB of 4.0 MB" in bars
    assert "Installed realesrgan-general-x4v3" in dialog.message.text()
    assert tab.installed_names() == ["realesrgan-general-x4v3", "tiny-x2"]
    assert "realesrgan-general-x4v3" not in tab.catalogue_names()
    assert changed and not dialog.progress_bar.isVisible()
    # the restore options follow
    enlarge = [options.enlarge_method.itemData(i) for i in range(options.enlarge_method.count())]
    assert "realesrgan-general-x4v3" in enlarge

    # a file from the user's disk, with a name; then a file that is no model
    dialog.choose_model_file = lambda: tiny_upscaler(tmp_path, 2, "mine.pth")
    dialog.choose_model_name = lambda path: "my-upscaler"
    tab.import_button.click()
    assert "my-upscaler" in tab.installed_names()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model at all")
    dialog.choose_model_file = lambda: junk
    dialog.choose_model_name = lambda path: ""
    tab.import_button.click()
    message = dialog.message.text()
    assert message and "\n" not in message and "junk.pth" in message
    assert len(tab.installed_names()) == 3

    # remove the one the restore options use: they show it is gone
    options.enlarge_combo.setCurrentIndex(options.enlarge_combo.findData(2))
    options.enlarge_method.setCurrentIndex(options.enlarge_method.findData("tiny-x2"))
    assert options.save()
    window.windows.open_restore_options()
    dialog.ask = lambda title, q: True
    tab.installed.selectRow(tab.installed_names().index("tiny-x2"))
    assert tab.remove_selected()
    assert "tiny-x2" not in tab.installed_names()
    assert options.enlarge_method.currentText() == "tiny-x2 (not installed)"
    with pytest.raises(Gen2ResError):
        photo_models.PhotoModelRegistry(home).get("tiny-x2")


def test_sizes_are_in_the_decimal_units_they_are_labelled_with():
    # 71,982,841 bytes: the README and SCUNet's page say 72.0 MB (it is 68.6 MiB)
    assert format_bytes(71_982_841) == "72.0 MB"
    assert format_bytes(999) == "999 B" and format_bytes(1_500) == "1.5 KB"
