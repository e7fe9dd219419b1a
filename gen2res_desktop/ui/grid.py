"""The thumbnail grid: a list model over photos (or restorations) with lazy thumbnails.

Every cell has one fixed size, painted by :class:`PhotoDelegate`: the picture centred in an
``ICON_SIZE`` square, the caption on one elided line below it, and the role badges
("reference", "to restore", "restored") as small coloured pills over the picture's corner.
"""

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
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from gen2res_desktop.ui.thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

PHOTO_IDS_MIME = "application/x-gen2res-photo-ids"
ICON_SIZE = 160
PHOTO_ID_ROLE = Qt.UserRole + 1
RESTORATION_ID_ROLE = Qt.UserRole + 2
BADGES_ROLE = Qt.UserRole + 3  # list[str]: the GridItem's badges

# One size for every cell, whatever its picture. Qt's uniform item sizes take the size hint
# of one sample row (the last) and reuse it for all; with the default delegate that hint
# followed the sample's loaded thumbnail, so a landscape last photo (160 x 120) shrank every
# cell to 75 % of a portrait picture and pushed the caption out, at the next relayout (the
# details panel resizing the grid after a selection). A constant hint cannot drift.
CELL_PADDING = 4
CAPTION_HEIGHT = 28
ITEM_SIZE = QSize(ICON_SIZE + 2 * CELL_PADDING + 12, ICON_SIZE + CELL_PADDING + CAPTION_HEIGHT)
GRID_SIZE = QSize(ITEM_SIZE.width() + 4, ITEM_SIZE.height() + 4)  # a gap between selections

# badge value -> (words on the pill, pill colour)
BADGE_STYLES: dict[str, tuple[str, QColor]] = {
    "reference": ("reference", QColor(37, 99, 190)),
    "restore": ("to restore", QColor(200, 110, 20)),
    "restored": ("restored", QColor(40, 140, 70)),
}
_OTHER_BADGE_COLOUR = QColor(110, 110, 110)


def badge_words(badge: str) -> str:
    """What a badge says to the user ("restore" reads "to restore")."""
    return BADGE_STYLES.get(badge, (badge, _OTHER_BADGE_COLOUR))[0]


@dataclass(frozen=True)
class GridItem:
    """One cell: a photo, or a restoration of one (``restoration_id`` set)."""

    photo_id: int
    title: str
    tooltip: str
    restoration_id: int | None = None
    # where the thumbnail comes from; called on a pool thread (it may render and cache one)
    source: Callable[[], Path] | None = None
    # drawn over the thumbnail: "reference", "restore", "restored" (see BADGE_STYLES)
    badges: tuple[str, ...] = ()

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
            if not item.badges:
                return item.tooltip
            words = ", ".join(badge_words(b) for b in item.badges)
            return f"{item.tooltip}\n{words[:1].upper()}{words[1:]}"
        if role == Qt.DecorationRole:
            return self._pixmap(item)
        if role == PHOTO_ID_ROLE:
            return item.photo_id
        if role == RESTORATION_ID_ROLE:
            return item.restoration_id
        if role == BADGES_ROLE:
            return list(item.badges)
        if role == Qt.SizeHintRole:
            return QSize(ITEM_SIZE)  # the same for every row, even under another delegate
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


class PhotoDelegate(QStyledItemDelegate):
    """Paints a cell at the fixed ITEM_SIZE: picture, badges, one-line caption."""

    def sizeHint(  # noqa: N802 - Qt override
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(ITEM_SIZE)

    @staticmethod
    def picture_rect(cell: QRect) -> QRect:
        """The ICON_SIZE square a cell's picture is centred in."""
        x = cell.x() + (cell.width() - ICON_SIZE) // 2
        return QRect(x, cell.y() + CELL_PADDING, ICON_SIZE, ICON_SIZE)

    @staticmethod
    def caption_rect(cell: QRect) -> QRect:
        top = cell.y() + CELL_PADDING + ICON_SIZE + 2
        return QRect(cell.x() + 2, top, cell.width() - 4, cell.bottom() - top)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        painter.save()
        try:
            # the style's selection and hover background over the whole cell (by default
            # only behind where the default layout would put the text)
            opt.showDecorationSelected = True
            style.drawPrimitive(QStyle.PE_PanelItemViewItem, opt, painter, widget)
            square = self.picture_rect(opt.rect)
            pix = index.data(Qt.DecorationRole)
            shown = QRect(square)
            if isinstance(pix, QPixmap) and not pix.isNull():
                if pix.width() > ICON_SIZE or pix.height() > ICON_SIZE:
                    pix = pix.scaled(
                        ICON_SIZE, ICON_SIZE, Qt.KeepAspectRatio, Qt.SmoothTransformation
                    )
                shown = QRect(0, 0, pix.width(), pix.height())
                shown.moveCenter(square.center())
                painter.drawPixmap(shown.topLeft(), pix)
            self._paint_badges(painter, opt, shown, index.data(BADGES_ROLE) or [])
            text = index.data(Qt.DisplayRole) or ""
            caption = self.caption_rect(opt.rect)
            selected = bool(opt.state & QStyle.State_Selected)
            painter.setPen(
                opt.palette.color(
                    opt.palette.ColorRole.HighlightedText
                    if selected
                    else opt.palette.ColorRole.Text
                )
            )
            painter.setFont(opt.font)
            elided = QFontMetrics(opt.font).elidedText(text, opt.textElideMode, caption.width())
            painter.drawText(caption, Qt.AlignHCenter | Qt.AlignTop, elided)
            if opt.state & QStyle.State_HasFocus:
                focus = QStyleOptionViewItem(opt)
                style.drawPrimitive(QStyle.PE_FrameFocusRect, focus, painter, widget)
        finally:
            painter.restore()

    @staticmethod
    def _paint_badges(
        painter: QPainter, opt: QStyleOptionViewItem, picture: QRect, badges: Sequence[str]
    ) -> None:
        if not badges:
            return
        font = QFont(opt.font)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        font.setBold(True)
        fm = QFontMetrics(font)
        painter.setFont(font)
        painter.setRenderHint(QPainter.Antialiasing, True)
        y = picture.y() + 3
        for badge in badges:
            words, colour = BADGE_STYLES.get(badge, (badge, _OTHER_BADGE_COLOUR))
            pill = QRect(picture.x() + 3, y, fm.horizontalAdvance(words) + 10, fm.height() + 2)
            painter.setPen(Qt.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(pill, Qt.AlignCenter, words)
            y += pill.height() + 2


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
        self.setGridSize(GRID_SIZE)
        self.setItemDelegate(PhotoDelegate(self))  # the fixed cell size; see ITEM_SIZE
        self.setTextElideMode(Qt.ElideMiddle)  # file names differ at their end, keep both
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setDefaultDropAction(Qt.LinkAction)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self._empty_text = ""

    def set_empty_text(self, text: str) -> None:
        """What an empty grid says to do (an empty white pane tells a family nothing)."""
        self._empty_text = text
        self.viewport().update()

    def empty_text(self) -> str:
        """The hint shown now: empty while the grid has cells."""
        model = self.model()
        return self._empty_text if model is None or model.rowCount() == 0 else ""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        text = self.empty_text()
        if not text:
            return
        p = QPainter(self.viewport())
        p.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
        box = self.viewport().rect().adjusted(40, 40, -40, -40)
        p.drawText(box, Qt.AlignHCenter | Qt.AlignTop | Qt.TextWordWrap, text)
        p.end()

    def selected_items(self) -> list[GridItem]:
        model = self.model()
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [model.item(r) for r in rows]
