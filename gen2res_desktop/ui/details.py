"""The details panel: the selected photo's file facts, subjects, faces and restorations;
for several photos, a summary of them."""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Sequence

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
from gen2res_desktop.library.colour import is_colourised
from gen2res_desktop.library.models import Face, Photo, Restoration
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.compare import (
    WARNING_COLOUR,
    face_scores_parts,
    face_scores_warnings,
    repair_summary,
)
from gen2res_desktop.ui.face_thumbs import FaceThumbnails
from gen2res_desktop.ui.name_suggestions import add_file_names
from gen2res_desktop.ui.people import CONFIRMED, REFERENCE, SUGGESTED, identify, reference_subject
from gen2res_desktop.ui.photo_models_tab import format_bytes
from gen2res_desktop.ui.words import face_model, readable_date, variation

log = logging.getLogger(__name__)

ROLE_WORDS = {"reference": "reference", "restore": "to restore"}
# Above this many selected photos the summary reads whole lists once instead of asking the
# library about each photo (a select-all of 5,000 photos must stay quick).
_PER_PHOTO_QUERIES = 40


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def faces_summary(faces: Sequence[Face], searched: str | None) -> str:
    """How many faces the photo shows, "none found" only once it was searched, and how a
    face was found when it took the second search (the first found nothing on the print)."""
    if not faces:
        return "Faces: none found" if searched else "Faces: not searched yet"
    text = f"Faces: {len(faces)}"
    notes = [(n, f.second_pass) for n, f in enumerate(faces, 1) if f.second_pass]
    if not notes:
        return text
    if len(notes) == len(faces) and len({note for _, note in notes}) == 1:
        return f"{text} ({notes[0][1]})"
    return f"{text} ({'; '.join(f'face {n} {note}' for n, note in notes)})"


def restoration_warnings(r: Restoration) -> list[str]:
    """Why a restoration's faces deserve a second look (see face_scores_warnings)."""
    if r.settings.get("restore_faces") is False:
        return []
    return face_scores_warnings(r.face_scores)


def _faces_redrawn(r: Restoration) -> bool:
    return r.settings.get("restore_faces") is not False and not r.settings.get("faces_note")


def restoration_what(r: Restoration) -> str:
    """What redrew the faces, in a few words: whose face model, the photo alone, or
    nothing (repaired only)."""
    if r.settings.get("restore_faces") is False:
        return "repaired only"
    if r.settings.get("faces_note"):
        return "repaired, no face found"
    faces = [f for f in r.settings.get("faces", []) if isinstance(f, dict)]
    modes = {f.get("mode") for f in faces}
    if r.adapter_id is not None and r.subject and "single-photo" not in modes:
        return face_model(r.subject)
    if faces and "single-photo" not in modes:
        return " and ".join(sorted({face_model(f.get("subject")) for f in faces}))
    return "faces from this photo alone"


def _repair_words(settings: dict) -> list[str]:
    """Whether the user's painted damage map was used (else the damage found itself), and
    an enlargement: the options that tell restorations of one photo apart."""
    repair = settings.get("repair") if isinstance(settings, dict) else None
    stages = repair.get("stages", []) if isinstance(repair, dict) else []
    by_stage = {st.get("stage"): st for st in stages if isinstance(st, dict)}
    words = []
    damage = by_stage.get("damage")
    if damage is not None:
        painted = damage.get("method") == "your map"
        words.append("your painted damage map" if painted else "damage found automatically")
    upscale = by_stage.get("upscale")
    if upscale is not None:
        factor = (upscale.get("detail") or {}).get("factor") or repair.get("scale")
        if factor and factor != 1:
            words.append(f"enlarged {factor}×")
    return words


def restoration_label(r: Restoration) -> str:
    """When it was made, what it did, whether a painted damage map was used, and the
    decision; the numbers are in :func:`restoration_numbers` (the tooltip)."""
    parts = [readable_date(r.created)] if r.created else []
    if _faces_redrawn(r):
        parts.append(variation(r.seed))
    parts.append(restoration_what(r))
    if is_colourised(r):
        parts.append("in colour")
    parts += _repair_words(r.settings)
    parts.append({True: "kept", False: "discarded", None: "not decided yet"}[r.kept])
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]


def restoration_numbers(r: Restoration) -> str:
    """The numbers behind a restoration, each with what it means (a tooltip's lines)."""
    lines = []
    if _faces_redrawn(r):
        lines.append(
            f"{variation(r.seed).capitalize()} (seed {r.seed}): More variations redraws the "
            "faces from other starting points."
        )
        strength = r.settings.get("strength")
        if strength is not None:
            lines.append(
                f"Strength {strength}: how strongly the faces were redrawn; higher repairs "
                "more damage, lower stays closer to the photo."
            )
        lines += [part[:1].upper() + part[1:] for part in face_scores_parts(r.face_scores)]
    repair = repair_summary(r.settings)
    if repair:
        lines.append(repair)
    return "\n".join(lines)


class PathLabel(QLabel):
    """A file's path on one line, shortened in the middle to the width it has (the whole
    path in its tooltip): a wrapped path in the narrow panel was cut off half-way down."""

    def __init__(self) -> None:
        super().__init__()
        self._path = ""
        self.setMinimumWidth(40)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)

    def set_path(self, path: str) -> None:
        self._path = path or ""
        self.setToolTip(self._path)
        self._fit()

    def path(self) -> str:
        return self._path

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._path, Qt.ElideMiddle, max(self.width(), 40))
        if shown != self.text():
            self.setText(shown)


class DetailsPanel(QScrollArea):
    confirm_face = Signal(int, str)  # face id, subject
    compare_requested = Signal(int)  # restoration id
    kept_changed = Signal(int, bool)  # restoration id, kept
    variations_requested = Signal(int)  # restoration id
    crop_requested = Signal(int)  # photo id

    def __init__(
        self,
        library: Library,
        parent: QWidget | None = None,
        *,
        face_thumbs: FaceThumbnails | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.photo_id: int | None = None  # the one photo shown; None for none or several
        self.photo_ids: list[int] = []  # every photo shown (the summary's, when several)
        self.face_thumbs = face_thumbs or FaceThumbnails(library, parent=self)
        self.face_thumbs.loaded.connect(self._on_face_loaded)
        self._face_pictures: dict[int, tuple[QLabel, Face]] = {}  # face id -> its row's picture
        self.setWidgetResizable(True)
        self.setMinimumWidth(260)
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.title = QLabel("No photo selected.")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # several photos: how many of them are whose, and their restorations
        self.summary_label = QLabel()
        self.summary_label.setObjectName("selectionSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.facts = QWidget()  # the one photo's file facts, hidden for several
        self.form = QFormLayout(self.facts)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.file_label = PathLabel()
        self.taken_label, self.size_label = QLabel(), QLabel()
        self.subjects_label, self.crop_label = QLabel(), QLabel()
        self._fact_labels = (
            self.file_label,
            self.taken_label,
            self.size_label,
            self.subjects_label,
            self.crop_label,
        )
        for label in self._fact_labels[1:]:
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.form.addRow("File:", self.file_label)
        self.form.addRow("Taken:", self.taken_label)
        self.form.addRow("Size:", self.size_label)
        self.form.addRow("Subjects:", self.subjects_label)
        self.form.addRow("Crop box:", self.crop_label)
        self.crop_button = QPushButton("Set crop box…")
        self.crop_button.setToolTip(
            "The square Restore regenerates: a pet's head, or a face that was not found"
        )
        self.crop_button.clicked.connect(
            lambda: self.photo_id and self.crop_requested.emit(self.photo_id)
        )

        self.faces_box = QGroupBox("Faces")
        self.faces_layout = QVBoxLayout(self.faces_box)

        # the decisions about a restoration come first, under the photo's name: at
        # 1280 x 820 the facts and faces above them pushed Keep and Discard out of sight
        self.restorations_box = QGroupBox("Restorations")
        self.restorations_box.setObjectName("restorationsBox")
        rl = QVBoxLayout(self.restorations_box)
        self.no_restorations = QLabel("Not restored yet: click Restore (Ctrl+R).")
        self.no_restorations.setWordWrap(True)
        rl.addWidget(self.no_restorations)
        self.restorations = QListWidget()
        self.restorations.setWordWrap(True)
        self.restorations.setAlternatingRowColors(True)  # where one long line ends
        self.restorations.setMaximumHeight(10 * self.fontMetrics().lineSpacing() + 8)
        self.restorations.itemDoubleClicked.connect(
            lambda _: self._emit_selected(self.compare_requested)
        )
        self.restorations.currentRowChanged.connect(self._update_buttons)
        rl.addWidget(self.restorations)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        self.decision_buttons = QWidget()
        buttons = QVBoxLayout(self.decision_buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
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
        self.keep_button.setToolTip("Keep this restoration (exported and shown as kept)")
        self.discard_button.setToolTip("Mark this restoration as not good")
        self.variations_button.setToolTip(
            "Restore the photo again with the faces redrawn from other starting points"
        )
        buttons.addLayout(row1)
        buttons.addLayout(row2)
        rl.addWidget(self.decision_buttons)

        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.summary_label)
        self.layout_.addWidget(self.restorations_box)
        self.layout_.addWidget(self.facts)
        self.layout_.addWidget(self.crop_button)
        self.layout_.addWidget(self.faces_box)
        self.layout_.addStretch(1)
        self.setWidget(body)
        self.show_photo(None)

    # -- content --------------------------------------------------------------------------
    def show_photos(self, photo_ids: Sequence[int]) -> None:
        """Show the selection: one photo in full, several as a summary, none as a hint."""
        ids = list(dict.fromkeys(photo_ids))  # the order the caller gave, once each
        if len(ids) <= 1:
            self.show_photo(ids[0] if ids else None)
            return
        self.photo_id = None
        self.photo_ids = ids
        self._clear_faces()
        self.restorations.clear()
        self._update_buttons()
        for w in (self.facts, self.faces_box, self.restorations_box, self.crop_button):
            w.setVisible(False)
        self.title.setText(f"<b>{len(ids)} photos selected</b>")
        try:
            self.summary_label.setText(self._summary(ids))
        except Gen2ResError as e:
            self.summary_label.setText(html.escape(str(e)))
        self.summary_label.setVisible(True)

    def refresh(self) -> None:
        """Show the same photos again, with what changed in the library since."""
        self.show_photos(self.photo_ids)

    def _summary(self, ids: list[int]) -> str:
        """Rich text: per subject how many of the photos are references or to restore, how
        many belong to nobody yet, and their restorations."""
        lib = self.library
        wanted = set(ids)
        roles: Counter[tuple[str, str]] = Counter()  # (subject, role) -> photos
        tagged: set[int] = set()
        if len(ids) <= _PER_PHOTO_QUERIES:
            for pid in ids:
                for link in lib.photo_subjects(pid):
                    roles[(link.subject, link.role)] += 1
                    tagged.add(pid)
            restorations = [r for pid in ids for r in lib.list_restorations(pid)]
        else:
            for subject in lib.list_subjects():
                for role in ROLE_WORDS:
                    hits = wanted.intersection(
                        p.id for p in lib.list_photos(subject=subject, role=role)
                    )
                    if hits:
                        roles[(subject.name, role)] += len(hits)
                        tagged |= hits
            restorations = [r for r in lib.list_restorations() if r.photo_id in wanted]
        lines = []
        for subject in sorted({s for s, _ in roles}, key=str.casefold):
            parts = []
            if roles[(subject, "reference")]:
                parts.append(_plural(roles[(subject, "reference")], "reference photo"))
            if roles[(subject, "restore")]:
                parts.append(f"{roles[(subject, 'restore')]} to restore")
            lines.append(f"{html.escape(subject)}: {', '.join(parts)}")
        untagged = len(wanted - tagged)
        if untagged:
            lines.append(f"Not sorted yet: {_plural(untagged, 'photo')}")
        if restorations:
            kept = sum(1 for r in restorations if r.kept)
            text = _plural(len(restorations), "restoration")
            lines.append(f"{text} ({kept} kept)" if kept else text)
        else:
            lines.append("No restorations yet")
        return "<br>".join(lines)

    def show_photo(self, photo_id: int | None) -> None:
        self.photo_id = photo_id
        photo = None
        if photo_id is not None:
            try:
                photo = self.library.get_photo(photo_id)
            except Gen2ResError:
                photo = None  # deleted meanwhile
        visible = photo is not None
        self.summary_label.setVisible(False)
        for w in (self.facts, self.faces_box, self.restorations_box, self.crop_button):
            w.setVisible(visible)
        for label in self._fact_labels:
            label.setText("")
        if photo is None:
            self.photo_id = None
            self.photo_ids = []
            self._clear_faces()
            self.title.setText("No photo selected.")
            return
        self.photo_ids = [photo.id]
        self.title.setText(f"<b>{photo.original_name}</b>")
        self.file_label.set_path(photo.original_path)
        self.taken_label.setText(readable_date(photo.taken) or "unknown")
        self.size_label.setText(
            f"{photo.width} × {photo.height} px, {format_bytes(photo.size)}, {photo.format}"
        )
        links = self.library.photo_subjects(photo.id)
        self.subjects_label.setText(
            "\n".join(f"{link.subject} — {ROLE_WORDS.get(link.role, link.role)}" for link in links)
            or "none (unsorted)"
        )
        subjects = self.library.list_subjects()
        pets = {s.name for s in subjects if s.kind != "person"}
        people = [s.name for s in subjects if s.kind == "person"]
        crop = self.library.photo_crop(photo.id)
        if crop:
            x, y, size = crop
            self.crop_label.setText(f"{size} px square at ({x}, {y}); Restore uses it")
        else:
            needed = any(link.subject in pets for link in links)
            if needed:
                self.crop_label.setText("needed for a pet")
            elif self.library.list_faces(photo_id=photo.id):
                self.crop_label.setText("none (the faces found are used)")
            else:
                self.crop_label.setText("none (draw one if a face was missed)")
        self._show_faces(photo, people, reference_subject(links, people))
        self._show_restorations(photo.id)

    def _clear_faces(self) -> None:
        self._face_pictures.clear()
        while self.faces_layout.count():
            item = self.faces_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()

    def _face_picture(self, face: Face) -> QLabel:
        label = QLabel()
        label.setObjectName(f"facePicture{face.id}")
        size = self.face_thumbs.size
        label.setFixedSize(size, size)
        label.setAlignment(Qt.AlignCenter)
        label.setPixmap(self.face_thumbs.pixmap(face))
        self._face_pictures[face.id] = (label, face)
        return label

    def _on_face_loaded(self, face_id: int) -> None:
        entry = self._face_pictures.get(face_id)
        if entry is not None:
            label, face = entry
            pix = self.face_thumbs.get(face)
            if pix is not None:
                label.setPixmap(pix)

    def face_picture(self, face_id: int) -> QLabel | None:
        """The picture label of a face row shown now (for tests)."""
        entry = self._face_pictures.get(face_id)
        return entry[0] if entry is not None else None

    def _show_faces(self, photo: Photo, people: list[str], reference_of: str | None) -> None:
        self._clear_faces()
        add_file_names(self.faces_layout, self.library, photo.id)  # "Named in the file: …"
        faces = self.library.list_faces(photo_id=photo.id)
        summary = QLabel(faces_summary(faces, photo.faces_searched))
        summary.setObjectName("facesSummary")
        summary.setWordWrap(True)
        if not faces and not photo.faces_searched:
            summary.setToolTip(
                "Faces are looked for after each import (Settings), or select the photo and "
                "choose Find faces."
            )
        elif any(f.second_pass for f in faces):
            summary.setToolTip(
                "The first search found no face on this print, so Gen2Res looked again on a "
                "copy with its contrast brought back. Check that it is a face before "
                "restoring it."
            )
        self.faces_layout.addWidget(summary)
        if not faces:
            return
        for n, face in enumerate(faces, 1):
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(self._face_picture(face))
            ident = identify(face, len(faces), reference_of)
            if ident.status == CONFIRMED:
                h.addWidget(QLabel(f"Face {n}: {face.confirmed_subject} ✓"), 1)
            elif ident.status == REFERENCE:
                label = QLabel(f"Face {n}: {ident.subject} (reference photo)")
                label.setToolTip(
                    f"This is one of {ident.subject}'s reference photos and it shows one face, "
                    f"so the face is taken to be {ident.subject}'s."
                )
                h.addWidget(label, 1)
            elif ident.status == SUGGESTED:
                suggestion = QLabel(f"Face {n}: looks like {face.suggested_subject}")
                suggestion.setWordWrap(True)  # the panel is narrow; the button must show
                h.addWidget(suggestion, 1)
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
            tip = restoration_numbers(r)
            warnings = restoration_warnings(r)
            if warnings:
                item.setIcon(self.style().standardIcon(QStyle.SP_MessageBoxWarning))
                item.setForeground(WARNING_COLOUR)
                tip = "\n".join(warnings) + (f"\n\n{tip}" if tip else "")
            item.setToolTip(tip)
            self.restorations.addItem(item)
        has = self.restorations.count() > 0
        self.no_restorations.setVisible(not has)
        self.restorations.setVisible(has)
        self.decision_buttons.setVisible(has)
        if has:
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
