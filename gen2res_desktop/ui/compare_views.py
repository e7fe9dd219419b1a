"""The two ways the compare window shows a pair of images: side by side with synchronised
zoom and pan, or one image split by a draggable divider.

Both show the images in the result's coordinates (the original is stretched onto a result
the repair enlarged), so the same zoom and scroll position mean the same pixels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.ui.compare_overlays import (
    DamageOverlay,
    OverlayItems,
    paint_divider,
    paint_label,
    paint_overlay,
    stretch,
)

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
BACKGROUND = QColor(40, 40, 40)


# -- side by side ---------------------------------------------------------------------------


class _ImageView(QGraphicsView):
    """A zoomable view of one image; wheel zooms around the cursor, drag pans."""

    zoomed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.SmoothTransformation)
        self.scene().addItem(self.item)
        # the damage map and the protected features' outline, over the Before image
        self.overlays = OverlayItems(self.scene())
        self.overlay, self.outline = self.overlays.image, self.overlays.outline
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setBackgroundBrush(BACKGROUND)
        self.setFrameShape(QGraphicsView.NoFrame)

    def set_image(self, image: QImage, scene_size: QSize) -> None:
        self.item.setPixmap(QPixmap.fromImage(image))
        # an image of another size is stretched over the scene's rectangle
        self.item.setTransform(stretch(image, scene_size))
        self.scene().setSceneRect(QRectF(0, 0, scene_size.width(), scene_size.height()))

    def set_overlay(self, overlay: DamageOverlay | None, scene_size: QSize) -> None:
        """Lay ``overlay`` over the picture (stretched the same way), or take it off."""
        self.overlays.set(overlay, scene_size)

    def zoom_factor(self) -> float:
        return self.transform().m11()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        factor = ZOOM_STEP**steps
        new = self.zoom_factor() * factor
        if MIN_ZOOM <= new <= MAX_ZOOM:
            self.scale(factor, factor)
            self.zoomed.emit()


class SideBySideView(QWidget):
    """Two views sharing one transform and one scroll position."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left, self.right = _ImageView(), _ImageView()
        self.left_label, self.right_label = QLabel("Before"), QLabel("After")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for view, label in ((self.left, self.left_label), (self.right, self.right_label)):
            col = QVBoxLayout()
            col.setSpacing(2)
            label.setAlignment(Qt.AlignCenter)
            col.addWidget(label)
            col.addWidget(view, 1)
            layout.addLayout(col, 1)
        self._syncing = False
        for a, b in ((self.left, self.right), (self.right, self.left)):
            a.zoomed.connect(lambda a=a, b=b: self._copy_view(a, b))
            a.horizontalScrollBar().valueChanged.connect(
                lambda v, b=b: self._sync_scroll(b.horizontalScrollBar(), v)
            )
            a.verticalScrollBar().valueChanged.connect(
                lambda v, b=b: self._sync_scroll(b.verticalScrollBar(), v)
            )
        self._fit = True

    def set_images(self, left: QImage, right: QImage, scene_size: QSize) -> None:
        self.left.set_image(left, scene_size)
        self.right.set_image(right, scene_size)
        if self._fit:
            self.fit()

    def set_labels(self, left: str, right: str) -> None:
        self.left_label.setText(left)
        self.right_label.setText(right)

    def set_overlays(
        self, left: DamageOverlay | None, right: DamageOverlay | None, scene_size: QSize
    ) -> None:
        self.left.set_overlay(left, scene_size)
        self.right.set_overlay(right, scene_size)

    def _sync_scroll(self, bar, value: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            bar.setValue(value)
        finally:
            self._syncing = False

    def _copy_view(self, src: _ImageView, dst: _ImageView) -> None:
        self._fit = False
        self._syncing = True
        try:
            dst.setTransform(src.transform())
            dst.horizontalScrollBar().setValue(src.horizontalScrollBar().value())
            dst.verticalScrollBar().setValue(src.verticalScrollBar().value())
        finally:
            self._syncing = False

    def fit(self) -> None:
        self._fit = True
        rect = self.left.scene().sceneRect()
        self.left.fitInView(rect, Qt.KeepAspectRatio)
        self._copy_view(self.left, self.right)
        self._fit = True

    def actual_size(self) -> None:
        self.left.resetTransform()
        self._copy_view(self.left, self.right)

    def zoom_factor(self) -> float:
        return self.left.zoom_factor()

    def zoom_to(self, zoom: float, x: float, y: float) -> None:
        self._fit = False
        self.left.resetTransform()
        self.left.scale(zoom, zoom)
        self.left.centerOn(x, y)
        self._copy_view(self.left, self.right)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._fit:
            self.fit()


# -- split ----------------------------------------------------------------------------------


class SplitView(QWidget):
    """One image: the left image left of a draggable divider, the right image right of it."""

    divider_moved = Signal(float)

    GRAB_PX = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 150)
        self.setFocusPolicy(Qt.StrongFocus)
        self._left = QImage()
        self._right = QImage()
        self._overlays: tuple[DamageOverlay | None, DamageOverlay | None] = (None, None)
        self._labels = ("Before", "After")
        self._size = QSize(1, 1)
        self._divider = 0.5  # fraction of the widget's width
        self._zoom: float | None = None  # None: fit the widget
        self._center = QPointF(0.5, 0.5)  # image point (fractions) at the widget's centre
        self._drag: str | None = None
        self._drag_origin = QPointF()
        self._drag_center = QPointF()

    # -- state ----------------------------------------------------------------------------
    def set_images(self, left: QImage, right: QImage, scene_size: QSize) -> None:
        self._left, self._right, self._size = left, right, scene_size
        self.update()

    def set_labels(self, left: str, right: str) -> None:
        self._labels = (left, right)
        self.update()

    def set_overlays(
        self, left: DamageOverlay | None, right: DamageOverlay | None, scene_size: QSize
    ) -> None:
        """What is laid over the left / right image (stretched onto it), or None."""
        self._overlays = (left, right)
        self.update()

    def divider(self) -> float:
        return self._divider

    def divider_x(self) -> int:
        return round(self._divider * self.width())

    def set_divider(self, fraction: float) -> None:
        self._divider = min(max(fraction, 0.0), 1.0)
        self.divider_moved.emit(self._divider)
        self.update()

    def fit(self) -> None:
        self._zoom = None
        self._center = QPointF(0.5, 0.5)
        self.update()

    def actual_size(self) -> None:
        self._zoom = 1.0
        self.update()

    def zoom_to(self, zoom: float, x: float, y: float) -> None:
        """Show image pixel (x, y) at the centre, at ``zoom`` screen pixels per pixel."""
        self._zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        w, h = max(self._size.width(), 1), max(self._size.height(), 1)
        self._center = QPointF(x / w, y / h)
        self.update()

    def zoom_factor(self) -> float:
        if self._zoom is not None:
            return self._zoom
        w, h = max(self._size.width(), 1), max(self._size.height(), 1)
        return min(self.width() / w, self.height() / h)

    def image_rect(self) -> QRectF:
        """Where the image lands in widget coordinates."""
        z = self.zoom_factor()
        w, h = self._size.width() * z, self._size.height() * z
        if self._zoom is None:
            return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        c = self._clamped(self._center, w, h)
        return QRectF(self.width() / 2 - c.x() * w, self.height() / 2 - c.y() * h, w, h)

    def _clamped(self, center: QPointF, w: float, h: float) -> QPointF:
        """Keep the image over the whole widget where it is big enough (no empty margin
        beside a zoomed image), centred along an axis where it is smaller."""

        def axis(value: float, extent: float, view: float) -> float:
            if extent <= view:
                return 0.5
            half = view / 2 / extent
            return min(max(value, half), 1 - half)

        return QPointF(axis(center.x(), w, self.width()), axis(center.y(), h, self.height()))

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        target = self.image_rect()
        # smooth until 4x; beyond that the user is inspecting pixels and should see them
        p.setRenderHint(QPainter.SmoothPixmapTransform, self.zoom_factor() < 4.0)
        x = self.divider_x()
        halves = (
            (self._left, self._overlays[0], QRectF(0, 0, x, self.height())),
            (self._right, self._overlays[1], QRectF(x, 0, self.width() - x, self.height())),
        )
        for image, overlay, clip in halves:
            if image.isNull():
                continue
            p.save()
            p.setClipRect(clip)
            p.drawImage(target, image)
            paint_overlay(p, target, overlay)
            p.restore()
        paint_divider(p, x, self.height())
        paint_label(p, self.font(), self.width(), self._labels[0], left=True)
        paint_label(p, self.font(), self.width(), self._labels[1], left=False)
        p.end()

    # -- interaction ----------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.LeftButton:
            return
        pos = event.position()
        if abs(pos.x() - self.divider_x()) <= self.GRAB_PX:
            self._drag = "divider"
        elif self._zoom is not None:
            self._drag = "pan"
            self._drag_origin = pos
            rect = self.image_rect()
            self._drag_center = self._clamped(self._center, rect.width(), rect.height())
            self.setCursor(Qt.ClosedHandCursor)
        else:
            # a click anywhere else moves the divider there, the quickest way to compare
            self._drag = "divider"
            self.set_divider(pos.x() / max(self.width(), 1))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        if self._drag == "divider":
            self.set_divider(pos.x() / max(self.width(), 1))
        elif self._drag == "pan":
            rect = self.image_rect()
            d = pos - self._drag_origin
            self._center = self._clamped(
                QPointF(
                    self._drag_center.x() - d.x() / max(rect.width(), 1),
                    self._drag_center.y() - d.y() / max(rect.height(), 1),
                ),
                rect.width(),
                rect.height(),
            )
            self.update()
        elif abs(pos.x() - self.divider_x()) <= self.GRAB_PX:
            self.setCursor(Qt.SplitHCursor)
        else:
            self.unsetCursor()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._drag = None
        self.unsetCursor()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        rect = self.image_rect()
        pos = event.position()
        # keep the image point under the cursor where it is
        fx = (pos.x() - rect.x()) / max(rect.width(), 1)
        fy = (pos.y() - rect.y()) / max(rect.height(), 1)
        new = min(max(self.zoom_factor() * ZOOM_STEP**steps, MIN_ZOOM), MAX_ZOOM)
        self._zoom = new
        w, h = self._size.width() * new, self._size.height() * new
        self._center = QPointF(
            fx - (pos.x() - self.width() / 2) / max(w, 1),
            fy - (pos.y() - self.height() / 2) / max(h, 1),
        )
        self.update()
