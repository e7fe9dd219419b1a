"""The compare window: split divider painting, synchronised side-by-side views, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from gen2res_desktop.ui.compare import CompareInfo, CompareWindow, SplitView

RED, BLUE = QColor(220, 20, 20), QColor(20, 20, 220)


def solid(color: QColor, w: int = 200, h: int = 100) -> QImage:
    image = QImage(w, h, QImage.Format_RGB32)
    image.fill(color)
    return image


def is_close(c: QColor, ref: QColor) -> bool:
    return abs(c.red() - ref.red()) < 30 and abs(c.blue() - ref.blue()) < 30


def test_split_view_paints_before_left_and_after_right_of_the_divider(qtbot):
    view = SplitView()
    qtbot.addWidget(view)
    view.resize(400, 200)  # a 200x100 image fits exactly, filling the widget
    view.set_images(solid(RED), solid(BLUE), QSize(200, 100))
    view.show()
    qtbot.waitExposed(view)

    def colour_at(x: int) -> QColor:
        return view.grab().toImage().pixelColor(x, 150)

    x = view.divider_x()
    assert x == 200
    assert is_close(colour_at(x - 20), RED) and is_close(colour_at(x + 20), BLUE)

    # drag the divider with the mouse from the middle to a quarter of the width
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(view, QPoint(150, 150))
    qtbot.mouseMove(view, QPoint(100, 150))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(100, 150))
    assert view.divider_x() == 100
    assert is_close(colour_at(80), RED)
    assert is_close(colour_at(120), BLUE)  # was before-coloured until the divider moved
    assert is_close(colour_at(300), BLUE)


def test_compare_window_flip_fit_and_actual_size(qtbot):
    info = CompareInfo("astronaut.png", strength=200, seed=3, adapter="Rose", identity=0.912)
    win = CompareWindow(solid(RED), solid(BLUE), info)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.info_label.text() == "Strength 200 · seed 3 · adapter: Rose · identity score 0.91"
    win.action_split.trigger()
    assert win.mode() == CompareWindow.SPLIT
    left = (
        win.split.grab().toImage().pixelColor(win.split.divider_x() - 30, win.split.height() // 2)
    )
    assert is_close(left, RED)
    win.activateWindow()  # shortcuts only fire in the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    qtbot.keyClick(win.split, Qt.Key_Space)  # Space flips before and after
    assert win.flipped
    left = (
        win.split.grab().toImage().pixelColor(win.split.divider_x() - 30, win.split.height() // 2)
    )
    assert is_close(left, BLUE)
    win.action_actual.trigger()
    assert win.split.zoom_factor() == 1.0 and win.side_by_side.zoom_factor() == 1.0
    win.action_fit.trigger()
    assert win.split.zoom_factor() != 1.0


def _wheel(widget, steps: int) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.NoButton,
        Qt.NoModifier,
        Qt.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_side_by_side_zoom_and_pan_stay_in_sync(qtbot):
    win = CompareWindow(solid(RED, 800, 600), solid(BLUE, 400, 300), CompareInfo())
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    sbs = win.side_by_side
    _wheel(sbs.left.viewport(), 3)
    assert sbs.left.zoom_factor() > 0.9
    assert sbs.right.transform() == sbs.left.transform()
    bar = sbs.left.horizontalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)
    assert sbs.right.horizontalScrollBar().value() == bar.value()
    sbs.right.verticalScrollBar().setValue(7)
    assert sbs.left.verticalScrollBar().value() == 7
    # the smaller result is stretched over the original, so both scenes match
    assert sbs.right.scene().sceneRect() == sbs.left.scene().sceneRect()


def test_export_goes_through_the_callback(qtbot, tmp_path):
    calls = []

    def export(path: Path, side_by_side: bool) -> Path:
        calls.append((path, side_by_side))
        path.write_bytes(b"x")
        return path

    win = CompareWindow(solid(RED), solid(BLUE), CompareInfo(), export=export)
    qtbot.addWidget(win)
    win.choose_export_path = lambda sbs: tmp_path / ("sbs.png" if sbs else "full.png")
    win.action_export.trigger()
    win.action_export_sbs.trigger()
    assert calls == [(tmp_path / "full.png", False), (tmp_path / "sbs.png", True)]

    def broken(path: Path, side_by_side: bool) -> Path:
        raise PermissionError("read-only folder")

    win._export = broken
    assert win.export(side_by_side=False) is None
    assert "read-only folder" in win.last_message.text()


def test_zoom_to_a_point_pans_within_the_image(qtbot):
    win = CompareWindow(solid(RED, 800, 600), solid(BLUE, 800, 600), CompareInfo())
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    win.set_mode(CompareWindow.SPLIT)
    split = win.split
    win.zoom_to(2.0, 0, 0)  # the top-left corner: clamped, no empty margin shows
    rect = split.image_rect()
    assert split.zoom_factor() == 2.0 and rect.left() == 0 and rect.top() == 0
    assert win.side_by_side.left.transform().m11() == 2.0
    assert win.side_by_side.right.transform() == win.side_by_side.left.transform()
    # dragging away from the divider pans the zoomed image
    start = QPoint(split.width() // 4, split.height() // 2)
    qtbot.mousePress(split, Qt.LeftButton, pos=start)
    qtbot.mouseMove(split, start + QPoint(-40, -30))
    qtbot.mouseRelease(split, Qt.LeftButton, pos=start + QPoint(-40, -30))
    moved = split.image_rect()
    assert (round(moved.left()), round(moved.top())) == (-40, -30)
    assert split.divider() == 0.5
