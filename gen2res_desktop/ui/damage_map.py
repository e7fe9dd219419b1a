"""The damage map as it is edited: one ``QImage`` of the photo's size, painted in place,
with the undo history of its changes; and its conversion to and from a numpy mask.

The image is ``Format_ARGB32_Premultiplied``: a damaged pixel is semi-transparent red, an
undamaged one fully transparent. The overlay therefore needs no second copy to keep in
sync, a brush stroke touches only the rectangle it covers, and the map converts to and
from numpy without a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from gen2res_desktop.core.errors import Gen2ResError

OVERLAY_COLOR = QColor(255, 0, 0)
OVERLAY_ALPHA = 120
UNDO_LEVELS = 20


def overlay_pixel(color: QColor = OVERLAY_COLOR, alpha: int = OVERLAY_ALPHA) -> np.uint32:
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
    np.copyto(pixels(image), np.where(mask > 0, overlay_pixel(color, alpha), np.uint32(0)))
    return image


# A mark the repair filled only part way shows at this share of OVERLAY_ALPHA, from the
# faintest (barely moved: still shown, so the user sees it was found and doubted) to the
# palest (almost whole: still plainly paler than a mark filled whole)
FAINTEST, PALEST = 0.25, 0.6


def levels_to_overlay(levels: np.ndarray, color: QColor = OVERLAY_COLOR) -> QImage:
    """A repair's map with how far each mark was filled (uint8, 255 wholly, lower part way,
    0 unmarked) as a transparent image: a mark in ``color``, paler when filled part way,
    the paler the less."""
    levels = np.asarray(levels, dtype=np.uint8)
    h, w = levels.shape
    lut = np.zeros(256, np.uint32)
    for level in np.unique(levels[levels > 0]):
        share = 1.0 if level == 255 else FAINTEST + (PALEST - FAINTEST) * float(level) / 255.0
        lut[level] = overlay_pixel(color, round(OVERLAY_ALPHA * share))
    image = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
    np.copyto(pixels(image), lut[levels])
    return image


def overlay_to_mask(image: QImage) -> np.ndarray:
    """The damage map painted in ``image``: uint8, 255 where anything is painted."""
    return np.where(pixels(image) != 0, 255, 0).astype(np.uint8)


@dataclass
class _Undo:
    """The map's pixels in one rectangle before a change, packed one bit a pixel."""

    x: int
    y: int
    w: int
    h: int
    bits: np.ndarray


class DamageMap:
    """The map being edited. Its methods return the rectangle they changed, for the view
    to repaint; the share of the photo marked is counted again only on :meth:`recount`
    (a stroke under way does not count until it ends)."""

    def __init__(self, width: int, height: int) -> None:
        self.image = QImage(width, height, QImage.Format_ARGB32_Premultiplied)
        self.image.fill(0)
        self._red = overlay_pixel()
        self._total = max(width * height, 1)
        self._coverage = 0.0
        self._undo: list[_Undo] = []
        self._stroke_before: QImage | None = None
        self._stroke_rect = QRect()
        self._last_point = QPointF()

    def mask(self) -> np.ndarray:
        """The map: uint8, photo-sized, 255 = damaged."""
        return overlay_to_mask(self.image)

    def coverage(self) -> float:
        """Fraction of the photo marked as damaged, as last counted."""
        return self._coverage

    def recount(self) -> None:
        self._coverage = np.count_nonzero(pixels(self.image)) / self._total

    def set_mask(self, mask: np.ndarray) -> None:
        """Replace the whole map with ``mask`` (nonzero = damaged), counted."""
        mask = np.asarray(mask)
        if mask.shape[:2] != (self.image.height(), self.image.width()):
            raise Gen2ResError(
                f"The damage map is {mask.shape[1]} x {mask.shape[0]} pixels but the photo is "
                f"{self.image.width()} x {self.image.height()}."
            )
        np.copyto(pixels(self.image), np.where(mask > 0, self._red, np.uint32(0)))
        self.recount()

    def clear(self) -> None:
        self.image.fill(0)

    # -- undo -------------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo)

    def remember(self, rect: QRect, before: QImage | None = None) -> bool:
        """Keep ``rect`` of the map as it was (``before``: a copy of the whole map) for
        :meth:`undo`; False when the rectangle holds none of the photo."""
        rect = rect.intersected(self.image.rect())
        if rect.isEmpty():
            return False
        src = pixels(before if before is not None else self.image)
        x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
        bits = np.packbits(src[y : y + h, x : x + w] != 0)
        self._undo.append(_Undo(x, y, w, h, bits))
        del self._undo[:-UNDO_LEVELS]
        return True

    def undo(self) -> QRect | None:
        """Put back the last remembered rectangle; the rectangle, or None with none left."""
        if not self._undo:
            return None
        u = self._undo.pop()
        region = np.unpackbits(u.bits, count=u.w * u.h).reshape(u.h, u.w).astype(bool)
        pixels(self.image)[u.y : u.y + u.h, u.x : u.x + u.w] = np.where(
            region, self._red, np.uint32(0)
        )
        return QRect(u.x, u.y, u.w, u.h)

    def forget_history(self) -> None:
        self._undo.clear()

    # -- brush strokes ----------------------------------------------------------------------
    def begin_stroke(self, point: QPointF, size: int, erase: bool) -> QRect:
        # the whole map as it was (a memory copy, milliseconds); only the rectangle the
        # stroke touches is kept for Undo when it ends
        self._stroke_before = self.image.copy()
        self._stroke_rect = QRect()
        self._last_point = point
        return self._paint_segment(point, point, size, erase)

    def stroke_to(self, point: QPointF, size: int, erase: bool) -> QRect | None:
        if self._stroke_before is None:
            return None
        dirty = self._paint_segment(self._last_point, point, size, erase)
        self._last_point = point
        return dirty

    def end_stroke(self) -> tuple[QRect, QImage] | None:
        """The rectangle the stroke touched and the map before it, or None when no stroke
        touched anything."""
        before, self._stroke_before = self._stroke_before, None
        if before is None or self._stroke_rect.isEmpty():
            return None
        return self._stroke_rect, before

    def _paint_segment(self, a: QPointF, b: QPointF, size: int, erase: bool) -> QRect:
        painter = QPainter(self.image)
        if erase:
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
        return dirty
