"""The sidebar: All photos, People, Pets (one row per subject), Unsorted, Restorations.

"People" is itself a view (every face, grouped by whose it is) as well as the heading of
the person subjects, so the faces overview sits between "All photos" and the subjects
without a second row of the same name. "Pets" stays a plain heading.

Photos dragged from the grid onto a subject row are tagged to it; files dragged in from
outside are imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from gen2res_desktop.library.models import Subject
from gen2res_desktop.ui.grid import PHOTO_IDS_MIME, decode_ids
from gen2res_desktop.ui.words import face_model, state_words

VIEW_ROLE = Qt.UserRole + 10


@dataclass(frozen=True)
class View:
    """What the window shows: ``all``, ``unsorted``, ``restorations`` or one ``subject`` in
    the grid, or ``people`` (the faces overview)."""

    kind: str
    subject: str | None = None

    def key(self) -> str:
        return f"subject:{self.subject}" if self.kind == "subject" else self.kind

    @classmethod
    def from_key(cls, key: str) -> View:
        if key.startswith("subject:"):
            return cls("subject", key.removeprefix("subject:"))
        if key in VIEW_KINDS:
            return cls(key)
        return cls("all")


# the views without a subject, by the kind that is also their key
VIEW_KINDS = ("all", "people", "unsorted", "restorations")
ALL, PEOPLE, UNSORTED, RESTORATIONS = (View(kind) for kind in VIEW_KINDS)


def subject_label(s: Subject) -> str:
    """Two short lines, name then state, so a narrow sidebar clips neither: a long name
    is elided on its own line (the tooltip has it whole) and the state stays readable."""
    count = s.reference_count + s.restore_count
    return f"{s.name} ({count})\n{state_words(s.adapter_state)}"


def subject_tooltip(s: Subject) -> str:
    return (
        f"{s.name}: {s.reference_count} good (reference) photo"
        f"{'' if s.reference_count == 1 else 's'}, {s.restore_count} to restore\n"
        f"{face_model(s.name)}: {state_words(s.adapter_state)}\n"
        f"A {s.kind}; faces are redrawn with the '{s.prior}' prior"
    )


class Sidebar(QTreeWidget):
    photos_dropped = Signal(str, list)  # subject name, photo ids
    files_dropped = Signal(list)  # local paths
    view_changed = Signal(object)  # View

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.setMinimumWidth(190)
        self.setTextElideMode(Qt.ElideRight)
        self.setUniformRowHeights(False)  # a subject's row has two lines, a view's one
        self._all = self._top("All photos", ALL)
        self._people = self._top("People", PEOPLE)
        self._people.setToolTip(0, "Everyone's faces, grouped by who they are")
        self._pets = self._top("Pets", None)
        self._unsorted = self._top("Unsorted", UNSORTED)
        self._restorations = self._top("Restorations", RESTORATIONS)
        self._subjects: dict[str, Subject] = {}
        self.currentItemChanged.connect(self._on_current)
        self.setCurrentItem(self._all)

    def _top(self, text: str, view: View | None) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text])
        item.setData(0, VIEW_ROLE, view.key() if view else None)
        if view is None:
            item.setFlags(Qt.ItemIsEnabled)  # a heading: expands, is not a view
        self.addTopLevelItem(item)
        return item

    def set_subjects(self, subjects: Sequence[Subject]) -> None:
        current = self.current_view()
        self.blockSignals(True)
        try:
            for group in (self._people, self._pets):
                group.takeChildren()
            self._subjects = {s.name: s for s in subjects}
            for s in subjects:
                parent = self._people if s.kind == "person" else self._pets
                item = QTreeWidgetItem([subject_label(s)])
                item.setData(0, VIEW_ROLE, View("subject", s.name).key())
                item.setToolTip(0, subject_tooltip(s))
                parent.addChild(item)
            self._people.setExpanded(True)
            self._pets.setExpanded(True)
            self.select_view(current, emit=False)
        finally:
            self.blockSignals(False)

    def subject(self, name: str) -> Subject | None:
        return self._subjects.get(name)

    def subjects(self) -> list[Subject]:
        return list(self._subjects.values())

    def item_for(self, view: View) -> QTreeWidgetItem | None:
        key = view.key()
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top.data(0, VIEW_ROLE) == key:
                return top
            for j in range(top.childCount()):
                if top.child(j).data(0, VIEW_ROLE) == key:
                    return top.child(j)
        return None

    def current_view(self) -> View:
        item = self.currentItem()
        key = item.data(0, VIEW_ROLE) if item is not None else None
        return View.from_key(key) if key else ALL

    def select_view(self, view: View, *, emit: bool = True) -> None:
        item = self.item_for(view) or self._all
        if emit:
            self.setCurrentItem(item)
        else:
            blocked = self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(blocked)

    def _on_current(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is not None and current.data(0, VIEW_ROLE):
            self.view_changed.emit(self.current_view())

    # -- drops ----------------------------------------------------------------------------
    def _subject_at(self, event: QDropEvent | QDragMoveEvent) -> str | None:
        item = self.itemAt(event.position().toPoint())
        key = item.data(0, VIEW_ROLE) if item is not None else None
        view = View.from_key(key) if key else None
        return view.subject if view is not None and view.kind == "subject" else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if mime.hasFormat(PHOTO_IDS_MIME) or mime.hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if mime.hasUrls() or (mime.hasFormat(PHOTO_IDS_MIME) and self._subject_at(event)):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if mime.hasFormat(PHOTO_IDS_MIME):
            subject = self._subject_at(event)
            ids = decode_ids(mime)
            if subject and ids:
                event.acceptProposedAction()
                self.photos_dropped.emit(subject, ids)
                return
        elif mime.hasUrls():
            paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
            if paths:
                event.acceptProposedAction()
                self.files_dropped.emit(paths)
                return
        event.ignore()
