"""Thumbnails loaded off the GUI thread: :class:`ThumbnailLoader` decodes them on a
``QThreadPool`` (``QImage`` is safe to build off the GUI thread, ``QPixmap`` is not) and
keeps them in a small LRU cache."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader

log = logging.getLogger(__name__)


class _ThumbSignals(QObject):
    loaded = Signal(object, QImage)  # key, image (null QImage on failure)


ThumbSource = Path | Callable[[], Path]


class _ThumbTask(QRunnable):
    def __init__(self, key: object, source: ThumbSource, size: int, signals: _ThumbSignals) -> None:
        super().__init__()
        self.key, self.source, self.size, self.signals = key, source, size, signals

    def run(self) -> None:
        image = QImage()
        try:
            # a callable source may render the file first (the library's cached thumbnail)
            path = self.source() if callable(self.source) else self.source
            reader = QImageReader(str(path))
            reader.setAutoTransform(True)  # EXIF orientation, as the photo will be shown
            src = reader.size()
            if src.isValid() and (src.width() > self.size or src.height() > self.size):
                # decode at reduced size: a 40 MP scan must not be decoded in full for an icon
                reader.setScaledSize(src.scaled(QSize(self.size, self.size), Qt.KeepAspectRatio))
            image = reader.read()
            if image.isNull():
                log.info("no thumbnail for %s: %s", path, reader.errorString())
        except Exception:  # noqa: BLE001 - a broken file must only give a broken icon
            log.warning("no thumbnail for %s", self.key, exc_info=True)
        self.signals.loaded.emit(self.key, image)


class ThumbnailLoader(QObject):
    """Loads images scaled to ``size`` on a thread pool; an LRU cache of QImages."""

    loaded = Signal(object)  # key; the image is then in the cache

    def __init__(
        self, size: int = 160, cache_size: int = 2000, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.size = size
        self._cache: OrderedDict[object, QImage] = OrderedDict()
        self._cache_size = cache_size
        self._pending: set[object] = set()
        self._failed: set[object] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, min(4, QThread.idealThreadCount())))
        self._signals = _ThumbSignals()
        self._signals.loaded.connect(self._on_loaded, Qt.QueuedConnection)

    def get(self, key: object, source: ThumbSource | None) -> QImage | None:
        """The cached image, or None after queueing a load (once per key)."""
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
            return image
        if source is not None and key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self._pool.start(_ThumbTask(key, source, self.size, self._signals))
        return None

    def failed(self, key: object) -> bool:
        return key in self._failed

    def invalidate(self, key: object) -> None:
        self._cache.pop(key, None)
        self._failed.discard(key)

    @Slot(object, QImage)
    def _on_loaded(self, key: object, image: QImage) -> None:
        self._pending.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self._cache[key] = image
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self.loaded.emit(key)

    def pending(self) -> int:
        return len(self._pending)

    def cached(self) -> int:
        return len(self._cache)

    def active_threads(self) -> int:
        return self._pool.activeThreadCount()

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
