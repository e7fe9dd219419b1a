"""A square crop box the user drags over a pet photo (no pet detector ships offline)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.ui.settings import Crop

MIN_SIDE = 16


class SquareItem(QGraphicsRectItem):
    """A square kept inside ``bounds``: drag the inside to move, the corner grip to resize."""

    def __init__(self, bounds: QRectF, rect: QRectF, on_change) -> None:
        super().__init__(rect)
        self.bounds = bounds
        self.on_change = on_change
        self.setPen(QPen(QColor(255, 210, 0), 0))
        self.setBrush(QBrush(QColor(255, 210, 0, 40)))
        self.setFlag(QGraphicsItem.ItemIsSelectable, False)
        self.setAcceptHoverEvents(True)
        self._mode: str | None = None
        self._origin = QPointF()
        self._start = QRectF()

    def grip_size(self) -> float:
        # a grip of ~14 screen pixels whatever the zoom
        view = self.scene().views()[0] if self.scene() and self.scene().views() else None
        scale = view.transform().m11() if view else 1.0
        return 14 / max(scale, 1e-6)

    def _on_grip(self, pos: QPointF) -> bool:
        r = self.rect()
        g = self.grip_size()
        return pos.x() >= r.right() - g and pos.y() >= r.bottom() - g

    def paint(self, painter, option, widget=None) -> None:
        super().paint(painter, option, widget)
        r = self.rect()
        g = self.grip_size()
        painter.fillRect(QRectF(r.right() - g, r.bottom() - g, g, g), QColor(255, 210, 0))

    def hoverMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.setCursor(Qt.SizeFDiagCursor if self._on_grip(event.pos()) else Qt.SizeAllCursor)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        self._mode = "resize" if self._on_grip(event.pos()) else "move"
        self._origin = event.scenePos()
        self._start = QRectF(self.rect())
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        d = event.scenePos() - self._origin
        self.set_square(self._dragged(d))

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        self._mode = None

    def _dragged(self, d: QPointF) -> QRectF:
        s = self._start
        if self._mode == "resize":
            side = s.width() + max(d.x(), d.y())
            return QRectF(s.x(), s.y(), side, side)
        return QRectF(s.x() + d.x(), s.y() + d.y(), s.width(), s.height())

    def set_square(self, r: QRectF) -> None:
        b = self.bounds
        side = min(max(r.width(), MIN_SIDE), b.width(), b.height())
        if self._mode == "resize":
            # grow from the top-left corner, never past the photo's edges
            side = min(side, b.right() - r.x(), b.bottom() - r.y())
        x = min(max(r.x(), b.left()), b.right() - side)
        y = min(max(r.y(), b.top()), b.bottom() - side)
        self.setRect(QRectF(x, y, side, side))
        self.on_change()


class CropDialog(QDialog):
    """Shows the photo with a draggable, resizable square; ``crop()`` is in photo pixels."""

    def __init__(
        self,
        image: QImage,
        crop: Crop | None = None,
        parent: QWidget | None = None,
        *,
        pet: bool = False,
    ):
        super().__init__(parent)
        # a pet's head, or (for a person) a face the detector did not find
        what = "the pet's head" if pet else "the face"
        self.setWindowTitle("Crop box: " + ("the pet's head" if pet else "a face to restore"))
        self.image_size = image.size()
        w, h = image.width(), image.height()
        self.scene = QGraphicsScene(self)
        self.scene.addItem(QGraphicsPixmapItem(QPixmap.fromImage(image)))
        bounds = QRectF(0, 0, w, h)
        if crop is None:
            side = int(min(w, h) * 0.8)
            crop = Crop((w - side) // 2, (h - side) // 2, side)
        self.shade = QGraphicsPathItem()
        self.shade.setBrush(QColor(0, 0, 0, 110))
        self.shade.setPen(Qt.NoPen)
        self.scene.addItem(self.shade)
        self.square = SquareItem(
            bounds, QRectF(crop.x, crop.y, crop.size, crop.size), self._changed
        )
        self.scene.addItem(self.square)
        self.view = QGraphicsView(self.scene)
        self.view.setMinimumSize(420, 320)
        self.label = QLabel()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                f"Drag the square over {what}; drag its corner to resize. The square is what "
                "gets restored."
            )
        )
        layout.addWidget(self.view, 1)
        layout.addWidget(self.label)
        layout.addWidget(buttons)
        self.square.set_square(self.square.rect())
        self.resize(700, 560)

    def _changed(self) -> None:
        c = self.crop()
        self.label.setText(f"{c.size} × {c.size} px at ({c.x}, {c.y})")
        # darken everything outside the square
        path = QPainterPath()
        path.addRect(QRectF(0, 0, self.image_size.width(), self.image_size.height()))
        inner = QPainterPath()
        inner.addRect(self.square.rect())
        self.shade.setPath(path.subtracted(inner))

    def crop(self) -> Crop:
        r = self.square.rect()
        return Crop(round(r.x()), round(r.y()), round(r.width()))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.view.fitInView(self.scene.itemsBoundingRect(), Qt.KeepAspectRatio)
