"""The damage map editor: detection shown, brush and eraser strokes, undo, save, automatic
detection again, and detection off the GUI thread."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

from gen2res_desktop.ui.damage_map import mask_to_overlay, overlay_to_mask
from gen2res_desktop.ui.services import detect_photo_damage
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.workers import JobRunner

SCRATCH = ((20, 30), (170, 150))


@pytest.fixture
def scratched_file(tmp_path, astronaut):
    clean = cv2.resize(np.asarray(astronaut), (192, 192), interpolation=cv2.INTER_AREA)
    photo = clean.copy()
    cv2.line(photo, *SCRATCH, (250, 250, 245), 2)
    path = tmp_path / "scratched.png"
    Image.fromarray(photo).save(path)
    return path


def open_editor(qtbot, window, path):
    window.imports.import_paths([path])
    window.sidebar.select_view(View("all"))
    pid = window.library.list_photos()[0].id
    window.views.select_rows([window.model.row_of(("photo", pid))])
    window.windows.action_damage_map.trigger()
    editor = window.windows.damage_editor
    assert editor is not None and editor.photo_id == pid
    qtbot.waitExposed(editor)
    return editor, pid


def stroke(qtbot, editor, *points: tuple[float, float]) -> None:
    """Left-drag on the view through photo pixels ``points``."""
    view = editor.view
    at = [view.mapFromScene(QPointF(x, y)) for x, y in points]
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=at[0])
    for p in at[1:]:
        qtbot.mouseMove(view.viewport(), p)
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=at[-1])


def test_mask_and_overlay_convert_both_ways():
    mask = np.zeros((7, 9), np.uint8)
    mask[2:5, 3] = 255
    image = mask_to_overlay(mask)
    assert (image.width(), image.height()) == (9, 7)
    assert np.array_equal(overlay_to_mask(image), mask)
    assert image.pixelColor(3, 3).red() == 255 and image.pixelColor(0, 0).alpha() == 0


def test_paint_erase_undo_save_and_back_to_automatic(qtbot, make_window, scratched_file):
    window = make_window()
    editor, pid = open_editor(qtbot, window, scratched_file)
    lib = window.library

    # no painted map yet: the detector's map is shown, found along the scratch
    assert editor.source == "automatic" and not editor.dirty and not editor.detecting()
    detected = editor.mask()
    assert detected.shape == (192, 192)
    assert np.array_equal(detected, detect_photo_damage(lib, pid, sensitivity=0.5))
    assert detected[90, 95] == 255  # on the scratch
    assert editor.coverage() == (detected > 0).mean() > 0
    assert "Damage marked" in editor.status.text() and "found automatically" in editor.status.text()
    assert not editor.action_undo.isEnabled()  # nothing to take back yet

    # brush: paint a line the detector did not find
    editor.set_brush_size(6)
    stroke(qtbot, editor, (20, 175), (40, 175), (60, 175))
    painted = editor.mask()
    assert painted[175, 40] == 255 and painted[175, 20] == 255 and painted[185, 40] == 0
    assert np.array_equal(painted[:, 70:], detected[:, 70:])  # only where the brush went
    assert (painted > 0).sum() > (detected > 0).sum()
    assert editor.dirty and "not saved yet" in editor.status.text()

    # eraser (key E): wipe the middle of the scratch
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    qtbot.keyClick(editor.view, Qt.Key_E)
    assert editor.tool() == "eraser"
    editor.set_brush_size(16)
    stroke(qtbot, editor, (85, 82), (105, 98))
    erased = editor.mask()
    assert erased[90, 95] == 0 and erased[175, 40] == 255
    qtbot.keyClick(editor.view, Qt.Key_B)
    assert editor.tool() == "brush"
    qtbot.keyClick(editor.view, Qt.Key_BracketRight)
    assert editor.brush_size() > 16

    # undo (Ctrl+Z) takes the strokes back one by one
    qtbot.keyClick(editor.view, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(editor.mask(), painted)
    assert editor.undo()
    assert np.array_equal(editor.mask(), detected)
    assert not editor.undo()

    # paint again and save: the library keeps exactly this map
    stroke(qtbot, editor, (20, 175), (60, 175))
    edited = editor.mask()
    editor.save_button.click()
    assert not editor.isVisible()
    assert np.array_equal(lib.photo_damage_map(pid), edited)

    # opening again shows the painted map, without detecting
    assert window.windows.damage_editor is None
    editor = window.windows.edit_damage_map(pid)
    qtbot.waitExposed(editor)
    assert editor.source == "painted" and np.array_equal(editor.mask(), edited)
    assert "your painted map" in editor.status.text()

    # Clear all, then Cancel asks before dropping the change
    editor.action_clear.trigger()
    assert editor.coverage() == 0 and editor.dirty
    questions = []
    editor.ask = lambda title, q: questions.append(q) or False
    editor.cancel_button.click()
    assert editor.isVisible() and "without saving" in questions[0]
    editor.undo()

    # "Use automatic detection" forgets the painted map and shows the detector's again
    editor.ask = lambda title, q: True
    assert editor.use_automatic()
    assert lib.photo_damage_map(pid) is None
    assert editor.source == "automatic" and not editor.dirty
    assert np.array_equal(editor.mask(), detected)
    editor.save_button.click()  # nothing changed: the photo stays on automatic detection
    assert lib.photo_damage_map(pid) is None


def test_detect_again_with_another_sensitivity_is_a_change(qtbot, make_window, scratched_file):
    window = make_window()
    editor, pid = open_editor(qtbot, window, scratched_file)
    before = editor.mask()
    editor.sensitivity.setValue(100)
    editor.detect_button.click()
    assert editor.dirty
    assert np.array_equal(editor.mask(), detect_photo_damage(window.library, pid, sensitivity=1.0))
    assert editor.undo() and np.array_equal(editor.mask(), before)
    editor.ask = lambda title, q: True
    editor.reject()
    assert window.library.photo_damage_map(pid) is None


def test_detection_runs_off_the_gui_thread(qtbot, make_window, tmp_path, astronaut):
    window = make_window(io_runner=JobRunner())
    big = cv2.resize(np.asarray(astronaut), (1200, 900), interpolation=cv2.INTER_LINEAR)
    cv2.line(big, (75, 75), (1050, 750), (250, 250, 250), 4)
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=92)
    window.imports.import_paths([path])
    qtbot.waitUntil(lambda: not window.io_runner.is_busy(), timeout=20_000)
    pid = window.library.list_photos()[0].id
    editor = window.windows.edit_damage_map(pid)
    # the window is back at once; the detector works on the runner's thread
    assert editor.detecting() and not editor.save_button.isEnabled()
    assert not editor.can_paint() and editor.progress.isVisible()
    assert "Finding scratches" in editor.status.text()
    # seconds on a 2-core CPU, most of them dlib's two passes for faces
    qtbot.waitUntil(lambda: not editor.detecting(), timeout=90_000)
    assert editor.save_button.isEnabled() and editor.coverage() > 0
    assert editor.mask()[412, 562] == 255  # on the line
    editor.reject()
    qtbot.waitUntil(lambda: not window.io_runner.thread_running(), timeout=5000)


def test_zoom_and_pan_with_the_middle_button_or_space(qtbot, make_window, scratched_file):
    window = make_window()
    editor, _ = open_editor(qtbot, window, scratched_file)
    view = editor.view
    view.actual_size()
    assert view.zoom_factor() == 1.0
    view.zoom_by(8)
    bar = view.horizontalScrollBar()
    assert bar.maximum() > 0
    start = bar.value()
    centre = view.viewport().rect().center()
    before = editor.mask()
    qtbot.mousePress(view.viewport(), Qt.MiddleButton, pos=centre)
    qtbot.mouseMove(view.viewport(), centre + QPoint(-60, 0))
    qtbot.mouseRelease(view.viewport(), Qt.MiddleButton, pos=centre + QPoint(-60, 0))
    assert bar.value() == start + 60
    # Space held: a left-drag pans too, and paints nothing
    view.setFocus()
    qtbot.keyPress(view, Qt.Key_Space)
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseMove(view.viewport(), centre + QPoint(40, 0))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=centre + QPoint(40, 0))
    qtbot.keyRelease(view, Qt.Key_Space)
    assert bar.value() == start + 20
    assert np.array_equal(editor.mask(), before) and not editor.dirty
    editor.action_fit.trigger()
    assert view.zoom_factor() > 1.0 and bar.maximum() == 0
