"""The People view: every face in the library, grouped by whose it is.

A face belongs to a person when the user said so (confirmed), or when it is the only face
on one of that person's reference photos (the photos the user tagged as showing them;
``library.faces.subject_references`` counts those faces as the person's too). A face the
face finder thinks looks like someone is shown there as "suggested?" until the user says
yes or no; the rest wait under "Not yet named".
"""

from __future__ import annotations

import html
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.models import Face, PhotoLink, Subject
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.face_thumbs import FaceThumbnails

log = logging.getLogger(__name__)

CONFIRMED, REFERENCE, SUGGESTED, UNNAMED = "confirmed", "reference", "suggested", "unnamed"
UNNAMED_SECTION = "Not yet named"
PEOPLE_ICON_SIZE = 72  # bigger than the details panel's faces: this view is about them

FACE_ID_ROLE = Qt.UserRole + 1
PHOTO_ID_ROLE = Qt.UserRole + 2
STATUS_ROLE = Qt.UserRole + 3
SUBJECT_ROLE = Qt.UserRole + 4

SUGGESTED_COLOUR = QColor(200, 120, 0)
_CAPTIONS = {CONFIRMED: "", REFERENCE: "reference photo", SUGGESTED: "suggested?", UNNAMED: ""}


@dataclass(frozen=True)
class FaceIdentity:
    """Whose a face is taken to be, and why (``status``: CONFIRMED, REFERENCE, SUGGESTED
    or UNNAMED; ``subject`` is None only when UNNAMED)."""

    face: Face
    subject: str | None
    status: str


def reference_subject(links: Iterable[PhotoLink], people: Iterable[str]) -> str | None:
    """The person a photo is a reference photo of, when it is one person's only."""
    people = set(people)
    names = {link.subject for link in links if link.role == "reference" and link.subject in people}
    return names.pop() if len(names) == 1 else None


def identify(face: Face, faces_on_photo: int, reference_of: str | None) -> FaceIdentity:
    """Confirmed first; then the single face of a reference photo (the user tagged the photo
    as showing that person, so there is nobody else it can be); then the suggestion."""
    if face.confirmed_subject:
        return FaceIdentity(face, face.confirmed_subject, CONFIRMED)
    if faces_on_photo == 1 and reference_of:
        return FaceIdentity(face, reference_of, REFERENCE)
    if face.suggested_subject:
        return FaceIdentity(face, face.suggested_subject, SUGGESTED)
    return FaceIdentity(face, None, UNNAMED)


def identify_library(library: Library) -> tuple[list[Subject], list[FaceIdentity]]:
    """The person subjects (sidebar order) and every face of the library with its identity,
    in a handful of queries however many faces there are."""
    people = [s for s in library.list_subjects() if s.kind == "person"]
    names = [s.name for s in people]
    references: dict[int, set[str]] = defaultdict(set)
    for name in names:
        for photo in library.list_photos(subject=name, role="reference"):
            references[photo.id].add(name)
    faces = library.list_faces()
    per_photo = Counter(f.photo_id for f in faces)
    out = []
    for face in faces:
        refs = references.get(face.photo_id, set())
        ref = next(iter(refs)) if len(refs) == 1 else None
        out.append(identify(face, per_photo[face.photo_id], ref))
    return people, out


def _framed(pix: QPixmap, status: str, size: int) -> QPixmap:
    """The face scaled to ``size``, a dashed orange frame around a suggestion so it reads
    as a question, not a fact."""
    out = QPixmap(size, size)
    out.fill(Qt.transparent)
    p = QPainter(out)
    p.setRenderHint(QPainter.SmoothPixmapTransform, True)
    scaled = pix.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    p.drawPixmap((size - scaled.width()) // 2, (size - scaled.height()) // 2, scaled)
    if status == SUGGESTED:
        pen = QPen(SUGGESTED_COLOUR, 3, Qt.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.NoBrush)
        p.drawRect(1, 1, size - 3, size - 3)
    p.end()
    return out


class _FaceList(QListWidget):
    """One section's faces, in icon mode, as tall as its rows (the page scrolls, not it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.IconMode)
        self.setMovement(QListView.Static)
        self.setResizeMode(QListView.Adjust)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(PEOPLE_ICON_SIZE, PEOPLE_ICON_SIZE))
        self.setGridSize(QSize(PEOPLE_ICON_SIZE + 28, PEOPLE_ICON_SIZE + 26))
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.NoFrame)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.setDragEnabled(False)

    def fit_height(self) -> None:
        grid = self.gridSize()
        per_row = max(1, (self.viewport().width() or self.width()) // grid.width())
        rows = max(1, -(-self.count() // per_row))
        self.setFixedHeight(rows * grid.height() + 2 * self.frameWidth() + 4)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_height()


class PeopleView(QScrollArea):
    """One section per person (their faces), then "Not yet named".

    Right-click a face to say who it is (or, for a suggestion, yes or no); double-click it
    to open its photo. The view only asks: the window stores the answer through
    ``face_assigned`` and calls :meth:`refresh`.
    """

    # face id, subject name; "" = not the person it is shown under: the window clears the
    # face's confirmation and its suggestion
    face_assigned = Signal(int, str)
    faces_assigned = Signal(list, str)  # several selected faces at once
    photo_requested = Signal(int)  # photo id

    def __init__(
        self,
        library: Library,
        parent: QWidget | None = None,
        *,
        face_thumbs: FaceThumbnails | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.face_thumbs = face_thumbs or FaceThumbnails(library, parent=self)
        self.face_thumbs.loaded.connect(self._on_face_loaded)
        self.setWidgetResizable(True)
        self._sections: dict[str, _FaceList] = {}
        self._items: dict[int, QListWidgetItem] = {}  # face id -> item
        self._faces: dict[int, FaceIdentity] = {}
        self._people: list[str] = []
        self._photo_names: dict[int, str] = {}
        self._body = QWidget()
        self._layout = QVBoxLayout(self._body)
        self.setWidget(self._body)
        self.refresh()

    # -- content --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild from the library (after a face was named, found or a tag changed)."""
        try:
            people, identities = identify_library(self.library)
            self._photo_names = {p.id: p.original_name for p in self.library.list_photos()}
        except Gen2ResError as e:
            log.warning("cannot list faces: %s", e)
            people, identities = [], []
        self._clear()
        self._people = [s.name for s in people]
        self._faces = {i.face.id: i for i in identities}
        groups: dict[str, list[FaceIdentity]] = {name: [] for name in self._people}
        unnamed: list[FaceIdentity] = []
        for ident in identities:
            if ident.subject in groups:
                groups[ident.subject].append(ident)
            elif ident.status in (UNNAMED, SUGGESTED):
                unnamed.append(ident)  # a suggestion for no person (now) is no name
            # else named as a pet: not a person's face, so not on this page
        if not identities:
            hint = QLabel(
                "No faces found yet. Select photos in “All photos” and choose “Find faces” "
                "to look for the faces in them."
            )
            hint.setWordWrap(True)
            self._layout.addWidget(hint)
        order = {CONFIRMED: 0, REFERENCE: 1, SUGGESTED: 2}
        for name in self._people:
            faces = sorted(groups[name], key=lambda i: (order[i.status], i.face.id))
            self._add_section(name, faces, self._count_text(faces))
        # always there, last, even empty: the user learns where new faces will wait
        n = len(unnamed)
        text = f"{n} face{'s' if n != 1 else ''} — right-click one to say who it is"
        self._add_section(UNNAMED_SECTION, unnamed, text if n else "none")
        self._layout.addStretch(1)

    @staticmethod
    def _count_text(faces: Sequence[FaceIdentity]) -> str:
        sure = sum(1 for i in faces if i.status != SUGGESTED)
        guessed = len(faces) - sure
        text = f"{sure} face{'s' if sure != 1 else ''}"
        if guessed:
            text += f", {guessed} suggested — right-click to confirm or reject"
        return text if faces else "no faces yet"

    def _clear(self) -> None:
        self._sections.clear()
        self._items.clear()
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()

    def _add_section(self, title: str, faces: Sequence[FaceIdentity], count: str) -> None:
        heading = QLabel(f"<b>{html.escape(title)}</b> <span style='color:gray'>{count}</span>")
        heading.setObjectName(f"section:{title}")
        self._layout.addWidget(heading)
        faces_list = _FaceList(self._body)
        faces_list.setObjectName(f"faces:{title}")
        for ident in faces:
            faces_list.addItem(self._make_item(ident))
        faces_list.itemDoubleClicked.connect(
            lambda item: self.photo_requested.emit(int(item.data(PHOTO_ID_ROLE)))
        )
        faces_list.customContextMenuRequested.connect(
            lambda pos, fl=faces_list: self._show_menu(fl, pos)
        )
        self._layout.addWidget(faces_list)
        faces_list.fit_height()
        self._sections[title] = faces_list

    def _make_item(self, ident: FaceIdentity) -> QListWidgetItem:
        face = ident.face
        item = QListWidgetItem(_CAPTIONS[ident.status])
        item.setData(FACE_ID_ROLE, face.id)
        item.setData(PHOTO_ID_ROLE, face.photo_id)
        item.setData(STATUS_ROLE, ident.status)
        item.setData(SUBJECT_ROLE, ident.subject or "")
        item.setIcon(QIcon(_framed(self.face_thumbs.pixmap(face), ident.status, PEOPLE_ICON_SIZE)))
        photo = self._photo_names.get(face.photo_id, f"photo {face.photo_id}")
        item.setToolTip(self._tooltip(ident, photo))
        if ident.status == SUGGESTED:
            item.setForeground(QBrush(SUGGESTED_COLOUR))
            font = QFont(item.font())
            font.setItalic(True)
            item.setFont(font)
        self._items[face.id] = item
        return item

    @staticmethod
    def _tooltip(ident: FaceIdentity, photo: str) -> str:
        who = {
            CONFIRMED: f"{ident.subject}",
            REFERENCE: f"{ident.subject} (the only face on one of their reference photos)",
            SUGGESTED: f"Looks like {ident.subject} — is it? Right-click to say yes or no",
            UNNAMED: "Not named yet — right-click to say who it is",
        }[ident.status]
        return f"{who}\nFrom {photo}\nDouble-click to open the photo"

    def _on_face_loaded(self, face_id: int) -> None:
        item = self._items.get(face_id)
        ident = self._faces.get(face_id)
        if item is None or ident is None:
            return
        pix = self.face_thumbs.get(ident.face)
        if pix is not None:
            item.setIcon(QIcon(_framed(pix, ident.status, PEOPLE_ICON_SIZE)))

    # -- the menu -------------------------------------------------------------------------
    def build_menu(self, face_id: int) -> QMenu:
        """The right-click menu of a face; when it is one of several selected faces, what
        the menu says applies to all of them (tests trigger its actions directly)."""
        menu = QMenu(self)
        ident = self._faces.get(face_id)
        if ident is None:
            return menu
        targets = self._selected_with(face_id)
        these = "this" if len(targets) == 1 else f"these {len(targets)} faces"
        verb = "is" if len(targets) == 1 else "are"
        subject = ident.subject
        if ident.status == SUGGESTED and subject:
            yes, no = f"Yes, {these} {verb} {subject}", f"No, {these} {verb} not {subject}"
            menu.addAction(yes, lambda: self._assign(targets, subject))
            menu.addAction(no, lambda: self._assign(targets, ""))
            menu.addSeparator()
        others = [name for name in self._people if name != subject]
        if others:
            title = "This is someone else" if subject else "This is"
            if len(targets) > 1:
                title = f"These {len(targets)} faces are"
            who = menu.addMenu(title)
            for name in others:
                who.addAction(name, lambda n=name: self._assign(targets, n))
        if ident.status == CONFIRMED and subject:
            not_them = f"{these.capitalize()} {verb} not {subject}"
            menu.addAction(not_them, lambda: self._assign(targets, ""))
        menu.addSeparator()
        menu.addAction("Open the photo", lambda: self.photo_requested.emit(ident.face.photo_id))
        return menu

    def _show_menu(self, faces_list: _FaceList, pos: QPoint) -> None:
        item = faces_list.itemAt(pos)
        if item is None:
            return
        self.build_menu(int(item.data(FACE_ID_ROLE))).exec(faces_list.viewport().mapToGlobal(pos))

    def _selected_with(self, face_id: int) -> list[int]:
        """The selected faces of ``face_id``'s section when it is among them, else just it."""
        item = self._items.get(face_id)
        faces_list = item.listWidget() if item is not None else None
        if faces_list is None or not item.isSelected():
            return [face_id]
        chosen = [int(i.data(FACE_ID_ROLE)) for i in faces_list.selectedItems()]
        return chosen if face_id in chosen else [face_id]

    def _assign(self, face_ids: list[int], subject: str) -> None:
        if len(face_ids) == 1:
            self.face_assigned.emit(face_ids[0], subject)
        else:
            self.faces_assigned.emit(face_ids, subject)

    # -- for tests and the window ---------------------------------------------------------
    def sections(self) -> list[str]:
        """The section titles, top to bottom: person names, then maybe "Not yet named"."""
        return list(self._sections)

    def faces_in(self, section: str) -> list[int]:
        faces_list = self._sections.get(section)
        if faces_list is None:
            return []
        return [int(faces_list.item(i).data(FACE_ID_ROLE)) for i in range(faces_list.count())]

    def face_status(self, face_id: int) -> str | None:
        """CONFIRMED, REFERENCE, SUGGESTED or UNNAMED; None for a face not shown."""
        ident = self._faces.get(face_id)
        return ident.status if ident is not None else None

    def item_for(self, face_id: int) -> QListWidgetItem | None:
        return self._items.get(face_id)

    def section_list(self, section: str) -> QListWidget | None:
        return self._sections.get(section)
