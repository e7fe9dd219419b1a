"""The damage map editor's view: the photo with the map over it, zoomed and panned by
hand, painted with the editor's brush."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
)

if TYPE_CHECKING:
    from gen2res_desktop.ui.damage_editor import DamageMapEditor

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.01, 32.0


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
