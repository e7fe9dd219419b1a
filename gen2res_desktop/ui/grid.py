"""The thumbnail grid: a list model over photos (or restorations) with lazy thumbnails."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from gen2res_desktop.ui.workers import ThumbnailLoader

log = logging.getLogger(__name__)

PHOTO_IDS_MIME = "application/x-gen2res-photo-ids"
ICON_SIZE = 160
PHOTO_ID_ROLE = Qt.UserRole + 1
RESTORATION_ID_ROLE = Qt.UserRole + 2


@dataclass(frozen=True)
class GridItem:
    """One cell: a photo, or a restoration of one (``restoration_id`` set)."""

    photo_id: int
    title: str
    tooltip: str
    restoration_id: int | None = None
    # where the thumbnail comes from; called on a pool thread (it may render and cache one)
    source: Callable[[], Path] | None = None

    @property
    def key(self) -> tuple[str, int]:
        if self.restoration_id is not None:
            return ("restoration", self.restoration_id)
        return ("photo", self.photo_id)


def encode_ids(ids: Sequence[int]) -> QByteArray:
    return QByteArray(",".join(str(i) for i in ids).encode())


def decode_ids(mime: QMimeData) -> list[int]:
    if not mime.hasFormat(PHOTO_IDS_MIME):
        return []
    raw = bytes(mime.data(PHOTO_IDS_MIME)).decode(errors="replace")
    return [int(v) for v in raw.split(",") if v.strip().isdigit()]


def _placeholder(size: int, text: str = "") -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(QColor(225, 225, 225))
    if text:
        p = QPainter(pix)
        p.setPen(QColor(120, 120, 120))
        p.drawText(pix.rect(), Qt.AlignCenter | Qt.TextWordWrap, text)
        p.end()
    return pix


class PhotoGridModel(QAbstractListModel):
    """Rows are GridItems. Thumbnails are requested when a row is first painted."""

    PIXMAP_CACHE = 600

    def __init__(self, loader: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self.loader = loader
        self._items: list[GridItem] = []
        self._rows: dict[tuple[str, int], int] = {}
        self._pixmaps: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._loading = _placeholder(loader.size)
        self._broken = _placeholder(loader.size, "cannot\nshow")
        loader.loaded.connect(self._on_loaded)

    def set_items(self, items: Sequence[GridItem]) -> None:
        items = list(items)
        if [i.key for i in items] == [i.key for i in self._items]:
            # same cells (a tag or a rename): update in place, so the view keeps its
            # scroll position and selection
            self._items = items
            if items:
                self.dataChanged.emit(self.index(0), self.index(len(items) - 1))
            return
        self.beginResetModel()
        self._items = items
        self._rows = {item.key: row for row, item in enumerate(self._items)}
        self.endResetModel()

    def items(self) -> list[GridItem]:
        return list(self._items)

    def item(self, row: int) -> GridItem:
        return self._items[row]

    def row_of(self, key: tuple[str, int]) -> int | None:
        return self._rows.get(key)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.DisplayRole:
            return item.title
        if role == Qt.ToolTipRole:
            return item.tooltip
        if role == Qt.DecorationRole:
            return self._pixmap(item)
        if role == PHOTO_ID_ROLE:
            return item.photo_id
        if role == RESTORATION_ID_ROLE:
            return item.restoration_id
        return None

    def _pixmap(self, item: GridItem) -> QPixmap:
        key = item.key
        pix = self._pixmaps.get(key)
        if pix is not None:
            self._pixmaps.move_to_end(key)
            return pix
        image = self.loader.get(key, item.source)
        if image is None:
            return self._broken if self.loader.failed(key) else self._loading
        # QPixmap only on the GUI thread (here), from the QImage the pool decoded
        pix = QPixmap.fromImage(image)
        self._pixmaps[key] = pix
        while len(self._pixmaps) > self.PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        return pix

    def invalidate(self, key: tuple[str, int]) -> None:
        self._pixmaps.pop(key, None)
        self.loader.invalidate(key)

    def _on_loaded(self, key: object) -> None:
        row = self._rows.get(key)  # type: ignore[arg-type]
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.DecorationRole])

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PHOTO_IDS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        ids = sorted({self._items[i.row()].photo_id for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setData(PHOTO_IDS_MIME, encode_ids(ids))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.CopyAction | Qt.LinkAction


class PhotoGrid(QListView):
    """Icon mode, uniform cells and batched layout keep 5,000 photos smooth."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.IconMode)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(300)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setGridSize(QSize(ICON_SIZE + 24, ICON_SIZE + 40))
        self.setSpacing(4)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setDefaultDropAction(Qt.LinkAction)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)

    def selected_items(self) -> list[GridItem]:
        model = self.model()
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [model.item(r) for r in rows]
