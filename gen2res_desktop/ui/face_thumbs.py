"""Small pictures of faces, cut from their photos off the GUI thread and cached.

A face crop is taken from the library's thumbnail (longest side 256) when the face is big
enough there, which is most of them and costs one small JPEG read; only a face too small in
the thumbnail is cut from the photo itself, decoded at a reduced scale where the format
allows it (JPEG), so a 40 MP scan does not have to be decoded in full for a 48 px icon.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable

from PIL import Image, ImageOps
from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from gen2res_desktop.core.images import MAX_PIXELS, load_rgb, to_rgb
from gen2res_desktop.library.models import Face, Photo
from gen2res_desktop.library.store import Library

log = logging.getLogger(__name__)

FACE_THUMB_SIZE = 48
# room around the detected box: the box is tight on the features, hair and chin help
# people recognise a face
FACE_MARGIN = 0.35
# a crop this many times the target side or more in the thumbnail is sharp enough
_THUMBNAIL_ENOUGH = 0.75

FaceKey = tuple[int, int, tuple[int, int, int, int]]  # face id, photo id, box


def face_key(face: Face) -> FaceKey:
    """A cache key that changes when a new detection reuses a face id for another box."""
    return (face.id, face.photo_id, tuple(face.box))  # type: ignore[return-value]


def face_crop_box(
    box: tuple[int, int, int, int], width: int, height: int, margin: float = FACE_MARGIN
) -> tuple[int, int, int, int]:
    """A square (left, top, right, bottom) around ``box`` with ``margin`` of its size on
    each side, moved to lie inside a ``width`` x ``height`` photo (and no bigger)."""
    x, y, w, h = box
    side = max(1, round(max(w, h) * (1 + 2 * margin)))
    side = min(side, width, height)
    cx, cy = x + w / 2, y + h / 2
    left = min(max(0, round(cx - side / 2)), max(0, width - side))
    top = min(max(0, round(cy - side / 2)), max(0, height - side))
    return left, top, min(width, left + side), min(height, top + side)


def _scaled(box: tuple[int, int, int, int], sx: float, sy: float) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return (
        math.floor(left * sx),
        math.floor(top * sy),
        max(math.floor(left * sx) + 1, math.ceil(right * sx)),
        max(math.floor(top * sy) + 1, math.ceil(bottom * sy)),
    )


def _open_reduced(path: str, photo: Photo, need: float) -> Image.Image:
    """The photo as RGB at a scale of at least ``need`` (0..1] of its full size, decoding
    a JPEG at a reduced scale; other formats have no cheap reduced decode."""
    with Image.open(path) as img:
        if img.width * img.height > MAX_PIXELS:
            raise ValueError("too large")  # the library refuses such photos anyway
        if img.format != "JPEG" or need >= 0.5:
            return load_rgb(path)
        # draft keeps a size at least the one asked for, at 1/2, 1/4 or 1/8 scale
        img.draft(
            "RGB", (max(1, math.ceil(img.width * need)), max(1, math.ceil(img.height * need)))
        )
        img.load()
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the face
            pass
        return to_rgb(img)


def render_face_crop(
    library: Library, face: Face, size: int = FACE_THUMB_SIZE, photo: Photo | None = None
) -> Image.Image:
    """The face with some margin, scaled to fit ``size`` x ``size`` (safe on any thread)."""
    photo = photo or library.get_photo(face.photo_id)
    crop = face_crop_box(face.box, photo.width, photo.height)
    side = max(crop[2] - crop[0], crop[3] - crop[1])
    image: Image.Image | None = None
    try:
        thumb = load_rgb(library.thumbnail_path(photo.id))
        if side * thumb.width / photo.width >= size * _THUMBNAIL_ENOUGH:
            image = thumb
    except Exception:  # noqa: BLE001 - no thumbnail: cut from the photo instead
        log.info("no thumbnail for face %d, using its photo", face.id, exc_info=True)
    if image is None:
        image = _open_reduced(str(library.photo_path(photo)), photo, min(1.0, size / side))
    part = image.crop(_scaled(crop, image.width / photo.width, image.height / photo.height))
    # the box is square in the photo; rounding at the source's scale may cost a pixel, so
    # size it exactly (scaling a tiny face up: blurred is still more use than a dot)
    return part.resize((size, size), Image.Resampling.LANCZOS)


def pil_to_qimage(image: Image.Image) -> QImage:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    # copy: the QImage must not point into the Python bytes once they are gone
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format_RGB888).copy()


def face_placeholder(size: int = FACE_THUMB_SIZE) -> QPixmap:
    """A grey square with a head outline, shown while a face is being cut out."""
    pix = QPixmap(size, size)
    pix.fill(QColor(225, 225, 225))
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing, True)
    p.setPen(QColor(170, 170, 170))
    p.setBrush(QColor(200, 200, 200))
    p.drawEllipse(QRectF(size * 0.32, size * 0.15, size * 0.36, size * 0.42))
    p.drawEllipse(QRectF(size * 0.18, size * 0.62, size * 0.64, size * 0.6))
    p.end()
    return pix


class _FaceSignals(QObject):
    loaded = Signal(object, QImage)  # FaceKey, image (null QImage on failure)


class _FaceTask(QRunnable):
    def __init__(
        self, key: FaceKey, render: Callable[[], Image.Image], signals: _FaceSignals
    ) -> None:
        super().__init__()
        self.key, self.render, self.signals = key, render, signals

    def run(self) -> None:
        image = QImage()
        try:
            image = pil_to_qimage(self.render())
        except Exception:  # noqa: BLE001 - a missing or broken photo only loses its icon
            log.info("no face picture for %s", self.key, exc_info=True)
        self.signals.loaded.emit(self.key, image)


class FaceThumbnails(QObject):
    """Face crops cut on a thread pool; ``loaded(face id)`` when one is ready.

    ``get`` answers from the cache or queues the face once and answers None; the pixmaps
    are made on the GUI thread from the QImages the pool made.
    """

    loaded = Signal(int)  # face id

    def __init__(
        self,
        library: Library,
        size: int = FACE_THUMB_SIZE,
        cache_size: int = 2000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.size = size
        self._cache: OrderedDict[FaceKey, QPixmap] = OrderedDict()
        self._cache_size = cache_size
        self._pending: set[FaceKey] = set()
        self._failed: set[FaceKey] = set()
        self._placeholder = face_placeholder(size)
        self._pool = QThreadPool(self)
        # two threads at most: the machine is busy enough restoring photos
        self._pool.setMaxThreadCount(max(1, min(2, QThread.idealThreadCount())))
        self._signals = _FaceSignals()
        self._signals.loaded.connect(self._on_loaded, Qt.QueuedConnection)

    def get(self, face: Face) -> QPixmap | None:
        """The face's picture, or None after queueing it (once)."""
        key = face_key(face)
        pix = self._cache.get(key)
        if pix is not None:
            self._cache.move_to_end(key)
            return pix
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            lib, size = self.library, self.size
            self._pool.start(
                _FaceTask(key, lambda: render_face_crop(lib, face, size), self._signals)
            )
        return None

    def pixmap(self, face: Face) -> QPixmap:
        """The face's picture, or the placeholder while it loads (or when it cannot)."""
        return self.get(face) or self._placeholder

    def failed(self, face: Face) -> bool:
        return face_key(face) in self._failed

    def pending(self) -> int:
        return len(self._pending)

    @Slot(object, QImage)
    def _on_loaded(self, key: FaceKey, image: QImage) -> None:
        self._pending.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self._cache[key] = QPixmap.fromImage(image)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self.loaded.emit(key[0])

    def active_threads(self) -> int:
        return self._pool.activeThreadCount()

    def shutdown(self) -> None:
        """Drop what is queued and wait for the faces being cut (before the library closes)."""
        self._pool.clear()
        self._pool.waitForDone()
