"""The details panel: the selected photo's file facts, subjects, faces and restorations."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.models import Restoration
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.compare import WARNING_COLOUR, face_scores_parts, face_scores_warnings
from gen2res_desktop.ui.models_dialog import format_bytes

log = logging.getLogger(__name__)

ROLE_WORDS = {"reference": "reference", "restore": "to restore"}


def restoration_warnings(r: Restoration) -> list[str]:
    """Why a restoration's faces deserve a second look (see face_scores_warnings)."""
    if r.settings.get("restore_faces") is False:
        return []
    return face_scores_warnings(r.face_scores)


def restoration_label(r: Restoration) -> str:
    if r.settings.get("restore_faces") is False:
        parts = ["Repaired photo"]  # seed and strength belong to the faces: none here
    else:
        parts = [f"Seed {r.seed}"]
        strength = r.settings.get("strength")
        if strength is not None:
            parts.append(f"strength {strength}")
        parts.append(r.subject if r.adapter_id is not None and r.subject else "single-photo")
        parts += face_scores_parts(r.face_scores)
    parts.append({True: "kept", False: "discarded", None: "not decided"}[r.kept])
    return " · ".join(parts)


class DetailsPanel(QScrollArea):
    confirm_face = Signal(int, str)  # face id, subject
    compare_requested = Signal(int)  # restoration id
    kept_changed = Signal(int, bool)  # restoration id, kept
    variations_requested = Signal(int)  # restoration id
    crop_requested = Signal(int)  # photo id

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.photo_id: int | None = None
        self.setWidgetResizable(True)
        self.setMinimumWidth(260)
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.title = QLabel("No photo selected.")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.form = QFormLayout()
        self.file_label, self.taken_label, self.size_label = QLabel(), QLabel(), QLabel()
        self.subjects_label = QLabel()
        for label in (self.file_label, self.taken_label, self.size_label, self.subjects_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.form.addRow("File:", self.file_label)
        self.form.addRow("Taken:", self.taken_label)
        self.form.addRow("Size:", self.size_label)
        self.form.addRow("Subjects:", self.subjects_label)
        self.crop_button = QPushButton("Set pet crop box…")
        self.crop_button.clicked.connect(
            lambda: self.photo_id and self.crop_requested.emit(self.photo_id)
        )

        self.faces_box = QGroupBox("Faces")
        self.faces_layout = QVBoxLayout(self.faces_box)

        self.restorations_box = QGroupBox("Restorations")
        rl = QVBoxLayout(self.restorations_box)
        self.restorations = QListWidget()
        self.restorations.setWordWrap(True)
        self.restorations.itemDoubleClicked.connect(
            lambda _: self._emit_selected(self.compare_requested)
        )
        self.restorations.currentRowChanged.connect(self._update_buttons)
        rl.addWidget(self.restorations)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        self.compare_button = QPushButton("Compare")
        self.keep_button = QPushButton("Keep")
        self.discard_button = QPushButton("Discard")
        self.variations_button = QPushButton("More variations")
        self.compare_button.clicked.connect(lambda: self._emit_selected(self.compare_requested))
        self.keep_button.clicked.connect(lambda: self._emit_kept(True))
        self.discard_button.clicked.connect(lambda: self._emit_kept(False))
        self.variations_button.clicked.connect(
            lambda: self._emit_selected(self.variations_requested)
        )
        row1.addWidget(self.compare_button)
        row1.addWidget(self.variations_button)
        row2.addWidget(self.keep_button)
        row2.addWidget(self.discard_button)
        rl.addLayout(row1)
        rl.addLayout(row2)

        self.layout_.addWidget(self.title)
        self.layout_.addLayout(self.form)
        self.layout_.addWidget(self.crop_button)
        self.layout_.addWidget(self.faces_box)
        self.layout_.addWidget(self.restorations_box)
        self.layout_.addStretch(1)
        self.setWidget(body)
        self.show_photo(None)

    # -- content --------------------------------------------------------------------------
    def show_photo(self, photo_id: int | None) -> None:
        self.photo_id = photo_id
        photo = None
        if photo_id is not None:
            try:
                photo = self.library.get_photo(photo_id)
            except Gen2ResError:
                photo = None  # deleted meanwhile
        visible = photo is not None
        for w in (self.faces_box, self.restorations_box, self.crop_button):
            w.setVisible(visible)
        for label in (self.file_label, self.taken_label, self.size_label, self.subjects_label):
            label.setText("")
        if photo is None:
            self.photo_id = None
            self.title.setText("No photo selected.")
            return
        self.title.setText(f"<b>{photo.original_name}</b>")
        self.file_label.setText(photo.original_path)
        self.taken_label.setText(photo.taken or "unknown")
        self.size_label.setText(
            f"{photo.width} × {photo.height} px, {format_bytes(photo.size)}, {photo.format}"
        )
        links = self.library.photo_subjects(photo.id)
        self.subjects_label.setText(
            "\n".join(f"{link.subject} — {ROLE_WORDS.get(link.role, link.role)}" for link in links)
            or "none (unsorted)"
        )
        pets = [s for s in self.library.list_subjects() if s.kind != "person"]
        linked_pet = any(link.subject in {s.name for s in pets} for link in links)
        self.crop_button.setVisible(linked_pet)
        self._show_faces(photo.id)
        self._show_restorations(photo.id)

    def _show_faces(self, photo_id: int) -> None:
        while self.faces_layout.count():
            item = self.faces_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        faces = self.library.list_faces(photo_id=photo_id)
        if not faces:
            self.faces_layout.addWidget(QLabel("No faces found."))
            return
        people = [s.name for s in self.library.list_subjects() if s.kind == "person"]
        for n, face in enumerate(faces, 1):
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            if face.confirmed_subject:
                h.addWidget(QLabel(f"Face {n}: {face.confirmed_subject} ✓"))
            elif face.suggested_subject:
                h.addWidget(QLabel(f"Face {n}: looks like {face.suggested_subject}"))
                button = QPushButton("Confirm")
                button.setObjectName(f"confirmFace{face.id}")
                button.clicked.connect(
                    lambda _=False, f=face.id, s=face.suggested_subject: self.confirm_face.emit(
                        f, s
                    )
                )
                h.addWidget(button)
            else:
                h.addWidget(QLabel(f"Face {n}:"))
                combo = QComboBox()
                combo.addItem("Who is this?", None)
                for name in people:
                    combo.addItem(name, name)
                combo.activated.connect(
                    lambda i, f=face.id, c=combo: (
                        c.itemData(i) and self.confirm_face.emit(f, c.itemData(i))
                    )
                )
                h.addWidget(combo, 1)
            self.faces_layout.addWidget(row)

    def _show_restorations(self, photo_id: int) -> None:
        self.restorations.clear()
        for r in self.library.list_restorations(photo_id):
            item = QListWidgetItem(restoration_label(r))
            item.setData(Qt.UserRole, r.id)
            warnings = restoration_warnings(r)
            if warnings:
                item.setIcon(self.style().standardIcon(QStyle.SP_MessageBoxWarning))
                item.setForeground(WARNING_COLOUR)
                item.setToolTip("\n".join(warnings))
            self.restorations.addItem(item)
        if self.restorations.count():
            self.restorations.setCurrentRow(0)
        self._update_buttons()

    # -- actions --------------------------------------------------------------------------
    def selected_restoration(self) -> int | None:
        item = self.restorations.currentItem()
        return item.data(Qt.UserRole) if item is not None else None

    def _update_buttons(self, *_: object) -> None:
        has = self.selected_restoration() is not None
        for b in (
            self.compare_button,
            self.keep_button,
            self.discard_button,
            self.variations_button,
        ):
            b.setEnabled(has)

    def _emit_selected(self, signal) -> None:
        rid = self.selected_restoration()
        if rid is not None:
            signal.emit(rid)

    def _emit_kept(self, kept: bool) -> None:
        rid = self.selected_restoration()
        if rid is not None:
            self.kept_changed.emit(rid, kept)
