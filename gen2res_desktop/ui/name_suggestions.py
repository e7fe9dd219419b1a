"""People other photo managers named: a banner above the People view, and the settings.

"12 photos already name Grandma Rose — make them a person?": one click makes the subject
and confirms the faces the files give that name, as one step on the undo stack (Edit →
Undo takes the faces back; the subject stays, like one made by hand). Photos whose faces
were never looked for get their faces found in the background, and the files' names are
given to those faces as they are found. "Not now" stops suggesting the name.

The banner lives in a strip above the central views (shown with the People view only),
so the People view itself needs no change; :class:`NamesController` puts it there and
adds "Names from other photo apps" to the Photos menu.
"""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import name_suggestions, named_faces
from gen2res_desktop.library.name_suggestions import NameSuggestion
from gen2res_desktop.ui.controllers.base import Controller, plural

log = logging.getLogger(__name__)


class NameSuggestionBar(QFrame):
    """The first name suggestion, with Make, Not now and Next."""

    make_requested = Signal(str, str)  # name, kind (person, cat, dog)
    dismiss_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("nameSuggestionBar")
        self.setFrameShape(QFrame.StyledPanel)
        self.suggestions: list[NameSuggestion] = []
        self._index = 0
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.make_button = QPushButton("Make a person")
        self.make_button.setObjectName("makeSubjectFromName")
        self.pet_menu = QMenu(self)
        for kind, text in (("cat", "A cat"), ("dog", "A dog")):
            action = self.pet_menu.addAction(text)
            action.triggered.connect(lambda _=False, k=kind: self._make(k))
        self.not_now_button = QPushButton("Not now")
        self.next_button = QPushButton("Next name")
        self.make_button.clicked.connect(lambda: self._make("person"))
        self.not_now_button.clicked.connect(self._dismiss)
        self.next_button.clicked.connect(self.next)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.label, 1)
        for button in (self.make_button, self.not_now_button, self.next_button):
            row.addWidget(button)
        self.hide()

    @property
    def current(self) -> NameSuggestion | None:
        return self.suggestions[self._index] if self.suggestions else None

    def set_suggestions(self, suggestions: list[NameSuggestion]) -> None:
        shown = self.current.name if self.current else None
        self.suggestions = list(suggestions)
        names = [s.name for s in self.suggestions]
        self._index = names.index(shown) if shown in names else 0
        self._show()

    def next(self) -> None:
        if self.suggestions:
            self._index = (self._index + 1) % len(self.suggestions)
            self._show()

    def _show(self) -> None:
        s = self.current
        if s is None:
            self.label.clear()
            return
        more = len(self.suggestions) - 1
        tail = f" <span style='color:gray'>({plural(more, 'more name')})</span>" if more else ""
        self.label.setText(html.escape(s.text()) + tail)
        self.label.setToolTip("Named in the files by " + ", ".join(s.sources))
        pet = s.kind == "pet"
        self.make_button.setText("Make a pet…" if pet else "Make a person")
        self.make_button.setMenu(self.pet_menu if pet else None)
        self.next_button.setVisible(more > 0)

    def _make(self, kind: str) -> None:
        if self.current is not None:
            self.make_requested.emit(self.current.name, kind)

    def _dismiss(self) -> None:
        if self.current is not None:
            self.dismiss_requested.emit(self.current.name)


def file_names_text(library, photo_id: int) -> str:
    """'Named in the file: Grandma Rose (digiKam), Tom (Picasa)' for the details panel."""
    try:
        names = named_faces.photo_names(library, photo_id)
    except Gen2ResError:
        return ""
    seen: dict[str, str] = {}
    for n in names:
        seen.setdefault(n.name, n.where)
    return (
        "Named in the file: " + ", ".join(f"{name} ({where})" for name, where in seen.items())
        if seen
        else ""
    )


def add_file_names(layout: QVBoxLayout, library, photo_id: int) -> QLabel | None:
    """Put the file's names at the top of the details panel's faces (nothing if none)."""
    text = file_names_text(library, photo_id)
    if not text:
        return None
    label = QLabel(text)
    label.setObjectName("namedInFile")
    label.setWordWrap(True)
    label.setToolTip(
        "Names another photo manager (digiKam, Lightroom, Picasa, Windows, Immich) wrote "
        "into the photo's files. A face with the name of a subject is confirmed as theirs."
    )
    layout.addWidget(label)
    return label


class NamesController(Controller):
    """The banner and the two settings; created by the main window after its menus."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.bar = NameSuggestionBar()
        self.bar.make_requested.connect(self.make_subject)
        self.bar.dismiss_requested.connect(self.dismiss)
        self._install_bar()
        self.action_read = self._setting_action(
            "Read people's names from photo files", named_faces.READ_SETTING
        )
        self.action_write = self._setting_action(
            "Write people's names into exports", named_faces.WRITE_SETTING
        )
        self.menu = QMenu("Names from other photo apps", window)
        self.menu.addAction(self.action_read)
        self.menu.addAction(self.action_write)
        self.menu.aboutToShow.connect(self._sync_actions)
        self._add_to_photos_menu()
        # bound methods, not lambdas: Qt drops them with this controller, so a window being
        # torn down (its views emptied, its undo stack cleared) never calls back into it
        window.central.currentChanged.connect(self._changed)
        # names arrive with imports; faces named or subjects made change what is left
        window.io_runner.finished.connect(self._changed)
        window.tagging.undo_stack.indexChanged.connect(self._changed)
        self.refresh()

    def _install_bar(self) -> None:
        """Put a strip above the central views: the splitter's central slot gets a box
        holding the bar, then the views as they were."""
        w = self.window
        index = w.splitter.indexOf(w.central)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(w.central, 1)
        w.splitter.insertWidget(index, box)
        w.splitter.setStretchFactor(index, 1)

    def _add_to_photos_menu(self) -> None:
        for action in self.window.menuBar().actions():
            menu = action.menu()
            if menu is not None and action.text().replace("&", "") == "Photos":
                menu.addSeparator()
                menu.addMenu(self.menu)
                return

    def _setting_action(self, text: str, key: str) -> QAction:
        action = QAction(text, self.window)
        action.setCheckable(True)
        action.toggled.connect(
            lambda on, k=key: self.guard("Cannot save the setting", lambda: self._set(k, on))
        )
        return action

    def _set(self, key: str, on: bool) -> None:
        if bool(self.library.get_setting(key, True)) != on:
            self.library.set_setting(key, on)

    def _sync_actions(self) -> None:
        for action, on in (
            (self.action_read, named_faces.reads_names(self.library)),
            (self.action_write, named_faces.writes_names(self.library)),
        ):
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    # ---------------------------------------------------------------- the banner
    def _changed(self, *_: object) -> None:
        if not self.window.closing:
            self.refresh()

    def refresh(self) -> list[NameSuggestion]:
        w = self.window
        try:
            suggestions = name_suggestions.name_suggestions(self.library)
        except Gen2ResError as e:  # a banner is no reason for a message box
            log.warning("name suggestions: %s", e)
            suggestions = []
        self.bar.set_suggestions(suggestions)
        self.bar.setVisible(bool(suggestions) and w.central.currentWidget() is w.people)
        return suggestions

    def make_subject(self, name: str, kind: str = "person") -> bool:
        """Make ``name`` a subject and confirm its named faces (one undoable step)."""
        lib = self.library
        subject = self.guard(
            "Cannot make the subject",
            lambda: (
                next((s for s in lib.list_subjects() if s.name.casefold() == name.casefold()), None)
                or lib.add_subject(name, kind)
            ),
        )
        if subject is None:
            return False
        self.window.views.refresh_subjects()
        plan = self.guard(
            "Cannot name the faces", lambda: name_suggestions.plan_name(lib, subject.name)
        )
        if plan is None:
            return False
        if plan.face_ids or plan.row_ids or plan.pet_photos:
            self.window.tagging._edit(
                f"Make {subject.name} from the files' names",
                subject.name,
                [],
                lambda: name_suggestions.apply_plan(lib, plan),
                faces=plan.face_ids,
            )
        text = f"{subject.name} is in People now: {plural(len(plan.face_ids), 'face')} confirmed"
        if plan.without_faces:
            self.window.imports.find_faces(plan.without_faces)
            text += f"; looking for the faces in {plural(len(plan.without_faces), 'more photo')}"
        self.status(text + ". Edit → Undo takes the faces back.")
        self.window.faces_changed()
        self.refresh()
        return True

    def dismiss(self, name: str) -> None:
        self.guard(
            "Cannot save the choice", lambda: name_suggestions.dismiss_name(self.library, name)
        )
        self.status(f"{name} is no longer suggested.")
        self.refresh()
