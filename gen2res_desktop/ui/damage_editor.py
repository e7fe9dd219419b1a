"""The damage map editor: the photo with its scratches and dust shown in red, to correct by
hand before restoring.

The map is painted straight into one ``QImage`` of the photo's size
(``Format_ARGB32_Premultiplied``: a damaged pixel is semi-transparent red, an undamaged one
fully transparent), so the overlay needs no second copy to keep in sync, a brush stroke
repaints only the rectangle it touched, and the map converts to and from numpy without a
Python loop. Detection runs as a job on a runner (seconds for a big scan), never on the
GUI thread; painting is paused while it runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QStyleOptionGraphicsItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.workers import BaseRunner, Job

log = logging.getLogger(__name__)

OVERLAY_COLOR = QColor(255, 0, 0)
OVERLAY_ALPHA = 120
UNDO_LEVELS = 20
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.01, 32.0
MAX_BRUSH = 400
BRUSH, ERASER = "brush", "eraser"


# -- numpy <-> QImage ------------------------------------------------------------------------


def _overlay_pixel(color: QColor = OVERLAY_COLOR, alpha: int = OVERLAY_ALPHA) -> np.uint32:
    """The premultiplied ARGB32 value QPainter writes for ``color`` at ``alpha``."""
    one = QImage(1, 1, QImage.Format_ARGB32_Premultiplied)
    one.fill(QColor(color.red(), color.green(), color.blue(), alpha))
    return np.uint32(pixels(one)[0, 0])


def pixels(image: QImage) -> np.ndarray:
    """A writable (H, W) uint32 view of a 32-bit ``image``'s pixels (no copy)."""
    h, w = image.height(), image.width()
    buffer = np.frombuffer(image.bits(), np.uint32)  # bits() detaches a shared image
    return buffer.reshape(h, image.bytesPerLine() // 4)[:, :w]


def mask_to_overlay(
    mask: np.ndarray, color: QColor = OVERLAY_COLOR, alpha: int = OVERLAY_ALPHA
) -> QImage:
    """``mask`` (H x W, nonzero = damaged) as a transparent image, damage in ``color``."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    h, w = mask.shape
    image = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
    np.copyto(pixels(image), np.where(mask > 0, _overlay_pixel(color, alpha), np.uint32(0)))
    return image


def overlay_to_mask(image: QImage) -> np.ndarray:
    """The damage map painted in ``image``: uint8, 255 where anything is painted."""
    return np.where(pixels(image) != 0, 255, 0).astype(np.uint8)


# -- the view -------------------------------------------------------------------------------


class _MaskItem(QGraphicsItem):
    """Draws the map image; only the exposed part, so a stroke repaints only its rectangle."""

    def __init__(self, image: QImage) -> None:
        super().__init__()
        self.image = image
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption, True)

    def set_image(self, image: QImage) -> None:
        self.prepareGeometryChange()
        self.image = image
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        rect = option.exposedRect.toAlignedRect().intersected(self.image.rect())
        if not rect.isEmpty():
            painter.drawImage(rect, self.image, rect)


class DamageView(QGraphicsView):
    """The photo with the map over it. Left-drag paints with the editor's tool; the wheel
    zooms around the cursor; middle-drag, or Space held with a left-drag, pans."""

    def __init__(self, editor: DamageMapEditor) -> None:
        super().__init__()
        self.editor = editor
        self.setScene(QGraphicsScene(self))
        self.photo_item = QGraphicsPixmapItem()
        self.photo_item.setTransformationMode(Qt.SmoothTransformation)
        self.mask_item = _MaskItem(QImage(1, 1, QImage.Format_ARGB32_Premultiplied))
        self.mask_item.setZValue(1)
        self.cursor_item = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255, 220), 1.5)
        pen.setCosmetic(True)
        self.cursor_item.setPen(pen)
        self.cursor_item.setZValue(2)
        self.cursor_item.setVisible(False)
        for item in (self.photo_item, self.mask_item, self.cursor_item):
            self.scene().addItem(item)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(480, 360)
        self._fit = True
        self._space = False
        self._pan_from: QPoint | None = None
        self._painting = False

    def set_photo(self, photo: QImage, mask: QImage) -> None:
        self.photo_item.setPixmap(QPixmap.fromImage(photo))
        self.mask_item.set_image(mask)
        self.scene().setSceneRect(QRectF(0, 0, photo.width(), photo.height()))
        if self._fit:
            self.fit()

    # -- zoom -------------------------------------------------------------------------------
    def zoom_factor(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fit = True
        self.fitInView(self.scene().sceneRect(), Qt.KeepAspectRatio)

    def actual_size(self) -> None:
        self._fit = False
        self.resetTransform()

    def zoom_by(self, factor: float) -> None:
        new = self.zoom_factor() * factor
        if MIN_ZOOM <= new <= MAX_ZOOM:
            self._fit = False
            self.scale(factor, factor)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        self._move_cursor(event.position())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    # -- mouse ------------------------------------------------------------------------------
    def _move_cursor(self, pos: QPointF) -> None:
        centre = self.mapToScene(pos.toPoint())
        r = self.editor.brush_size() / 2
        self.cursor_item.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        self.cursor_item.setVisible(self._pan_from is None and self.editor.can_paint())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            self.cursor_item.setVisible(False)
            return
        if event.button() == Qt.LeftButton and self.editor.can_paint():
            self._painting = True
            self.editor.begin_stroke(self.mapToScene(event.position().toPoint()))
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        if self._pan_from is not None:
            delta = pos.toPoint() - self._pan_from
            self._pan_from = pos.toPoint()
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - delta.x())
            v.setValue(v.value() - delta.y())
            return
        if self._painting:
            self.editor.stroke_to(self.mapToScene(pos.toPoint()))
        self._move_cursor(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.CrossCursor)
            return
        if self._painting and event.button() == Qt.LeftButton:
            self._painting = False
            self.editor.end_stroke()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.cursor_item.setVisible(False)
        super().leaveEvent(event)

    def enterEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.viewport().setCursor(Qt.CrossCursor)
        super().enterEvent(event)

    # -- keys -------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self.viewport().setCursor(Qt.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key_Space:
            if not event.isAutoRepeat():
                self._space = False
                self.viewport().setCursor(Qt.CrossCursor)
            return
        super().keyReleaseEvent(event)


# -- the dialog -----------------------------------------------------------------------------


@dataclass
class _Undo:
    """The map's pixels in one rectangle before a change, packed one bit a pixel."""

    x: int
    y: int
    w: int
    h: int
    bits: np.ndarray


DetectFn = Callable[..., np.ndarray]  # (sensitivity=, progress=, cancel=) -> uint8 map


class DamageMapEditor(QDialog):
    """Edit one library photo's damage map: its painted map if it has one, else the map the
    detector finds (shown once detection has run on ``runner``).

    Save stores the map with the photo, used by every later restore instead of the
    detector; "Use automatic detection" drops it again. Questions go through :meth:`ask`,
    which tests replace.
    """

    def __init__(
        self,
        library: Library,
        photo_id: int,
        photo: QImage,
        runner: BaseRunner,
        detect: DetectFn,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.photo_id = photo_id
        self.runner = runner
        self.detect = detect
        self.photo_name = library.get_photo(photo_id).original_name
        self.setWindowTitle(f"Damage map — {self.photo_name}")
        self.image = QImage(photo.width(), photo.height(), QImage.Format_ARGB32_Premultiplied)
        self.image.fill(0)
        self._red = _overlay_pixel()
        self._total = max(photo.width() * photo.height(), 1)
        self._coverage = 0.0
        self._undo: list[_Undo] = []
        self._stroke_before: QImage | None = None
        self._stroke_rect = QRect()
        self._last_point = QPointF()
        self._job_id: int | None = None
        self._automatic_job = False
        self._closed = False
        self.source = "automatic"  # "painted": the map stored with the photo
        self.dirty = False  # changes not saved yet
        self.saved_sensitivity = library.repair_settings().scratch_sensitivity

        self.view = DamageView(self)
        self._build_controls()
        self.view.set_photo(photo, self.image)
        self._connect_runner(True)
        self.resize(1000, 760)

        painted = self._load_painted()
        if painted is not None:
            self._set_mask(painted)
            self.source = "painted"
            self._update_status()
        else:
            self.detect_again(self.saved_sensitivity, automatic=True)

    # -- construction -----------------------------------------------------------------------
    def _build_controls(self) -> None:
        tb = QToolBar("Damage map")
        group = QActionGroup(self)
        self.action_brush = QAction("Brush", self, checkable=True)
        self.action_brush.setShortcut(QKeySequence("B"))
        self.action_brush.setToolTip("Paint over scratches and dust the detector missed (B)")
        self.action_eraser = QAction("Eraser", self, checkable=True)
        self.action_eraser.setShortcut(QKeySequence("E"))
        self.action_eraser.setToolTip("Remove red from places that are not damage (E)")
        for a in (self.action_brush, self.action_eraser):
            group.addAction(a)
            tb.addAction(a)
        self.action_brush.setChecked(True)
        tb.addSeparator()
        tb.addWidget(QLabel(" Brush size "))
        self.size_slider = QSlider(Qt.Horizontal)
        self.size_slider.setRange(1, MAX_BRUSH)
        w, h = self.image.width(), self.image.height()
        self.size_slider.setValue(max(4, min(w, h) // 100))
        self.size_slider.setFixedWidth(140)
        self.size_slider.setToolTip("Brush size in photo pixels; [ and ] make it smaller or larger")
        self.size_label = QLabel()
        self.size_slider.valueChanged.connect(self._size_changed)
        tb.addWidget(self.size_slider)
        tb.addWidget(self.size_label)
        self._size_changed(self.size_slider.value())
        smaller = QAction("Smaller brush", self)
        smaller.setShortcut(QKeySequence("["))
        smaller.triggered.connect(lambda: self.set_brush_size(round(self.brush_size() / 1.25)))
        larger = QAction("Larger brush", self)
        larger.setShortcut(QKeySequence("]"))
        larger.triggered.connect(lambda: self.set_brush_size(round(self.brush_size() * 1.25) + 1))
        self.addAction(smaller)
        self.addAction(larger)
        tb.addSeparator()
        self.action_undo = tb.addAction("Undo", self.undo)
        self.action_undo.setShortcut(QKeySequence.Undo)
        self.action_undo.setToolTip("Take back the last change (Ctrl+Z)")
        self.action_clear = tb.addAction("Clear all", self.clear_all)
        self.action_clear.setToolTip("Remove all red: nothing on this photo will be filled in")
        tb.addSeparator()
        self.action_fit = tb.addAction("Fit", self.view.fit)
        self.action_fit.setShortcut(QKeySequence("Ctrl+0"))
        self.action_fit.setToolTip("Show the whole photo (Ctrl+0)")
        self.action_actual = tb.addAction("100%", self.view.actual_size)
        self.action_actual.setShortcut(QKeySequence("Ctrl+1"))
        self.action_actual.setToolTip("One photo pixel per screen pixel (Ctrl+1)")

        detect_row = QHBoxLayout()
        detect_row.addWidget(QLabel("Sensitivity:"))
        self.sensitivity = QSlider(Qt.Horizontal)
        self.sensitivity.setRange(0, 100)
        self.sensitivity.setValue(round(self.saved_sensitivity * 100))
        self.sensitivity.setToolTip(
            "How faint a scratch or speck is still marked. Higher finds more, but may mark "
            "fine detail too. Click Detect again to use it."
        )
        detect_row.addWidget(self.sensitivity, 1)
        self.detect_button = QPushButton("Detect again")
        self.detect_button.setToolTip(
            "Find the scratches and dust again at this sensitivity (replaces the red marks)"
        )
        self.detect_button.clicked.connect(lambda: self.detect_again())
        self.automatic_button = QPushButton("Use automatic detection")
        self.automatic_button.setToolTip(
            "Forget the painted map: each restore finds the scratches and dust by itself"
        )
        self.automatic_button.clicked.connect(self.use_automatic)
        detect_row.addWidget(self.detect_button)
        detect_row.addWidget(self.automatic_button)

        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(220)
        self.cancel_detect_button = QPushButton("Stop")
        self.cancel_detect_button.setVisible(False)
        self.cancel_detect_button.clicked.connect(self.cancel_detection)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Keep this map for the photo; every restore will use it")
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_detect_button)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.cancel_button)

        hint = QLabel(
            "Red shows the scratches, dust and cracks that will be filled in. Paint with the "
            "brush where some were missed, wipe with the eraser where red covers real detail."
        )
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setMenuBar(tb)
        layout.addWidget(hint)
        layout.addWidget(self.view, 1)
        layout.addLayout(detect_row)
        layout.addLayout(bottom)

    def _connect_runner(self, on: bool) -> None:
        r = self.runner
        pairs = (
            (r.progress, self._on_progress),
            (r.finished, self._on_finished),
            (r.failed, self._on_failed),
            (r.cancelled, self._on_cancelled),
        )
        for signal, slot in pairs:
            signal.connect(slot) if on else signal.disconnect(slot)

    # -- questions (tests replace) -----------------------------------------------------------
    def ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(
            self, title, question, QMessageBox.Yes | QMessageBox.No, QMessageBox.No
        )
        return answer == QMessageBox.Yes

    # -- the map ----------------------------------------------------------------------------
    def mask(self) -> np.ndarray:
        """The map as shown: uint8, photo-sized, 255 = damaged."""
        return overlay_to_mask(self.image)

    def coverage(self) -> float:
        """Fraction of the photo marked as damaged."""
        return self._coverage

    def _load_painted(self) -> np.ndarray | None:
        try:
            return self.library.photo_damage_map(self.photo_id)
        except Gen2ResError as e:
            log.warning("painted damage map of photo %s: %s", self.photo_id, e)
            self.status.setText(f"Your painted map could not be read ({e}); detecting instead.")
            return None

    def _set_mask(self, mask: np.ndarray) -> None:
        mask = np.asarray(mask)
        if mask.shape[:2] != (self.image.height(), self.image.width()):
            raise Gen2ResError(
                f"The damage map is {mask.shape[1]} x {mask.shape[0]} pixels but the photo is "
                f"{self.image.width()} x {self.image.height()}."
            )
        np.copyto(pixels(self.image), np.where(mask > 0, self._red, np.uint32(0)))
        self.view.mask_item.update()
        self._recount()

    def _recount(self) -> None:
        self._coverage = np.count_nonzero(pixels(self.image)) / self._total
        self._update_status()

    def _update_status(self) -> None:
        if self._job_id is not None:
            return
        if self.source == "painted":
            where = "your painted map"
        else:
            where = "found automatically" + (", then edited" if self.dirty else "")
        text = f"Damage marked: {self._coverage:.2%} of the photo ({where})"
        if self.dirty:
            text += " · not saved yet"
        self.status.setText(text)

    def _push_undo(self, rect: QRect, before: QImage | None = None) -> None:
        """Remember ``rect`` of the map as it was (``before``: a copy of the whole map)."""
        rect = rect.intersected(self.image.rect())
        if rect.isEmpty():
            return
        src = pixels(before if before is not None else self.image)
        x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
        bits = np.packbits(src[y : y + h, x : x + w] != 0)
        self._undo.append(_Undo(x, y, w, h, bits))
        del self._undo[:-UNDO_LEVELS]
        self.action_undo.setEnabled(True)

    def _changed(self) -> None:
        self.dirty = True
        self._recount()

    def undo(self) -> bool:
        if not self._undo or self._job_id is not None:
            return False
        u = self._undo.pop()
        region = np.unpackbits(u.bits, count=u.w * u.h).reshape(u.h, u.w).astype(bool)
        pixels(self.image)[u.y : u.y + u.h, u.x : u.x + u.w] = np.where(
            region, self._red, np.uint32(0)
        )
        self.view.mask_item.update(QRectF(u.x, u.y, u.w, u.h))
        self.action_undo.setEnabled(bool(self._undo))
        self._changed()
        return True

    def clear_all(self) -> None:
        if self._job_id is not None or not self._coverage:
            return
        self._push_undo(self.image.rect())
        self.image.fill(0)
        self.view.mask_item.update()
        self._changed()

    # -- painting ---------------------------------------------------------------------------
    def tool(self) -> str:
        return ERASER if self.action_eraser.isChecked() else BRUSH

    def set_tool(self, tool: str) -> None:
        (self.action_eraser if tool == ERASER else self.action_brush).setChecked(True)

    def brush_size(self) -> int:
        return self.size_slider.value()

    def set_brush_size(self, size: int) -> None:
        self.size_slider.setValue(min(max(int(size), 1), MAX_BRUSH))

    def _size_changed(self, value: int) -> None:
        self.size_label.setText(f"{value} px ")

    def can_paint(self) -> bool:
        return self._job_id is None

    def begin_stroke(self, point: QPointF) -> None:
        # the whole map as it was (a memory copy, milliseconds); only the rectangle the
        # stroke touches is kept for Undo when it ends
        self._stroke_before = self.image.copy()
        self._stroke_rect = QRect()
        self._last_point = point
        self._paint_segment(point, point)

    def stroke_to(self, point: QPointF) -> None:
        if self._stroke_before is None:
            return
        self._paint_segment(self._last_point, point)
        self._last_point = point

    def end_stroke(self) -> None:
        before, self._stroke_before = self._stroke_before, None
        if before is None or self._stroke_rect.isEmpty():
            return
        self._push_undo(self._stroke_rect, before)
        self._changed()

    def _paint_segment(self, a: QPointF, b: QPointF) -> None:
        size = self.brush_size()
        painter = QPainter(self.image)
        if self.tool() == ERASER:
            painter.setCompositionMode(QPainter.CompositionMode_Clear)
        else:
            painter.setCompositionMode(QPainter.CompositionMode_Source)
        # no antialiasing: every pixel is either damaged or not
        color = QColor(OVERLAY_COLOR)
        color.setAlpha(OVERLAY_ALPHA)
        painter.setPen(QPen(color, size, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        painter.drawLine(a, b)
        painter.end()
        pad = size / 2 + 2
        dirty = QRectF(a, b).normalized().adjusted(-pad, -pad, pad, pad).toAlignedRect()
        self._stroke_rect = self._stroke_rect.united(dirty)
        self.view.mask_item.update(QRectF(dirty))

    # -- detection --------------------------------------------------------------------------
    def detect_again(
        self, sensitivity: float | None = None, *, automatic: bool = False
    ) -> int | None:
        """Run the detector in the background; its map replaces the marks when it is done.

        ``automatic``: the map every restore finds by itself (at the saved sensitivity),
        shown as it is, not a change to save; otherwise the result is a change (Undo, Save).
        """
        if self._job_id is not None:
            return None
        if sensitivity is not None:
            self.sensitivity.setValue(round(sensitivity * 100))
        value = self.sensitivity.value() / 100
        fn = functools.partial(self.detect, sensitivity=value)
        job = Job(f"Find damage in {self.photo_name}", fn, kind="detect")
        self._job_id = job.id
        self._automatic_job = automatic
        self._busy(True)
        self.runner.submit(job)
        return job.id

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_detect_button.setVisible(busy)
        for w in (self.detect_button, self.automatic_button, self.save_button):
            w.setEnabled(not busy)
        for a in (self.action_undo, self.action_clear):
            a.setEnabled(not busy)
        if busy:
            self.progress.setRange(0, 0)
            self.status.setText("Finding scratches and dust…")
        else:
            self.action_undo.setEnabled(bool(self._undo))

    def detecting(self) -> bool:
        return self._job_id is not None

    def cancel_detection(self) -> None:
        if self._job_id is not None:
            self.runner.cancel(self._job_id)
            self.status.setText("Stopping…")

    def _on_progress(self, job_id: int, p: Progress) -> None:
        if job_id != self._job_id:
            return
        if p.total > 0:
            self.progress.setRange(0, p.total)
            self.progress.setValue(min(p.step, p.total))

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False)
        if not isinstance(result, np.ndarray):
            return
        if self._automatic_job:
            # what a restore would find by itself: nothing to undo, nothing to save
            self._set_mask(result)
            return
        self._push_undo(self.image.rect())
        self._set_mask(result)
        self._changed()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False)
        self._update_status()
        self.status.setText(f"Finding the damage failed: {message}")

    def _on_cancelled(self, job_id: int) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False)
        self._update_status()

    # -- saving -----------------------------------------------------------------------------
    def use_automatic(self) -> bool:
        """Drop the painted map (restores detect the damage again) and show what they find."""
        if (self.source == "painted" or self.dirty) and not self.ask(
            "Use automatic detection",
            "Forget the damage map you painted for this photo? Each restore will find the "
            "scratches and dust by itself again.",
        ):
            return False
        try:
            self.library.set_photo_damage_map(self.photo_id, None)
        except (Gen2ResError, OSError) as e:
            self.status.setText(f"Could not change the map: {e}")
            return False
        self.source = "automatic"
        self.dirty = False
        self._undo.clear()
        self.action_undo.setEnabled(False)
        self.detect_again(self.saved_sensitivity, automatic=True)
        return True

    def save(self) -> bool:
        """Keep the map with the photo and close; an untouched automatic map stays automatic."""
        if self._job_id is not None:
            return False
        if self.source == "automatic" and not self.dirty:
            self.accept_without_question()
            return True
        try:
            self.library.set_photo_damage_map(self.photo_id, self.mask())
        except (Gen2ResError, OSError) as e:
            self.status.setText(f"The map could not be saved: {e}")
            return False
        self.source = "painted"
        self.dirty = False
        self.accept_without_question()
        return True

    def accept_without_question(self) -> None:
        self._finish()
        super().accept()

    def reject(self) -> None:
        """Cancel, Escape and the window's close button: asks first if there are changes."""
        if self.dirty and not self.ask(
            "Unsaved changes",
            "You changed the damage map. Close without saving? Click No, then Save, to keep it.",
        ):
            return
        self._finish()
        super().reject()

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._job_id is not None:
            self.runner.cancel(self._job_id)
            self._job_id = None
        self._connect_runner(False)
