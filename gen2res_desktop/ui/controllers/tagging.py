"""Tagging photos to subjects and saying whose a face is, undoably, and crop boxes.

Confirming a face puts its photo in the subject's album, as a face in digiKam or Immich
puts the photo in that person's album: as a reference (a good photo the face model learns
from) or to restore. Nothing in the library judges a photo's quality, so the user says
which, once, and the answer is remembered (Photos → When I confirm a face); a photo with a
painted damage map needs restoring whatever the answer. Every tag change and subject
rename goes on one undo stack (Edit → Undo).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtGui import QAction, QActionGroup, QImage, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QDialog, QMenu

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.models import Subject
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.controllers.base import Controller, plural, read_qimage
from gen2res_desktop.ui.crop_dialog import CropDialog
from gen2res_desktop.ui.settings import (
    confirmed_face_role,
    load_crop,
    save_crop,
    set_confirmed_face_role,
)
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.words import face_model

ROLE_TITLES = {"reference": "Tag as reference of", "restore": "Tag to restore for"}


def tagged_words(count: int, subject: str, role: str) -> str:
    """'Tagged 1 photo to restore for Grandma.', 'Tagged 3 photos as references of Grandma.'"""
    if role == "reference":
        what = "as a reference" if count == 1 else "as references"
        return f"Tagged {plural(count, 'photo')} {what} of {subject}."
    return f"Tagged {plural(count, 'photo')} to restore for {subject}."


class LibraryEdit(QUndoCommand):
    """A change to tags and faces, undone by putting back what it found.

    ``photo_ids`` and ``faces`` name what the change touches (for ``subject``): their links
    and confirmed subjects are read by :meth:`do`, which applies the change once before the
    command goes on the stack. Undo and redo later report a failure through ``failed`` (a
    photo deleted meanwhile) instead of raising inside Qt.
    """

    def __init__(
        self,
        text: str,
        lib: Library,
        subject: str,
        photo_ids: Sequence[int],
        faces: Sequence[int],
        apply: Callable[[], None],
        after: Callable[[], None],
        failed: Callable[[str], None],
    ) -> None:
        super().__init__(text)
        self.lib, self.subject = lib, subject
        self.photo_ids, self.face_ids = list(photo_ids), list(faces)
        self._apply, self._after, self._failed = apply, after, failed
        self._roles: dict[int, str | None] = {}
        self._faces: dict[int, str | None] = {}
        self._done = False

    def do(self) -> bool:
        """Read what the change touches, then apply it (raises what the library raises)."""
        for pid in self.photo_ids:
            roles = [lk.role for lk in self.lib.photo_subjects(pid) if lk.subject == self.subject]
            self._roles[pid] = roles[0] if roles else None
        for fid in self.face_ids:
            self._faces[fid] = self.lib.get_face(fid).confirmed_subject
        self._apply()
        self._done = True
        return True

    def redo(self) -> None:
        if self._done:  # the push after do(): already applied
            self._done = False
        else:
            self._safely(self._apply)
        self._after()

    def undo(self) -> None:
        self._safely(self._put_back)
        self._after()

    def _put_back(self) -> None:
        for fid, subject in self._faces.items():
            self.lib.confirm_face(fid, subject)
        for role in ("reference", "restore", None):
            ids = [pid for pid, r in self._roles.items() if r == role]
            if not ids:
                continue
            if role is None:
                self.lib.untag(ids, self.subject)
            else:
                self.lib.tag(ids, self.subject, role)

    def _safely(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Gen2ResError as e:
            self._failed(str(e))
        except OSError as e:
            self._failed(f"{e.strerror or e}")


class RenameEdit(QUndoCommand):
    """A subject's new name; undo gives the old one back (tags, faces and the face model
    follow the subject, whose id does not change)."""

    def __init__(
        self,
        lib: Library,
        old: str,
        new: str,
        after: Callable[[str, str], None],
        failed: Callable[[str], None],
    ) -> None:
        super().__init__(f"Rename {old} to {new}")
        self.lib, self.old, self.new = lib, old, new
        self._after, self._failed = after, failed
        self._done = False

    def do(self) -> Subject:
        subject = self.lib.rename_subject(self.old, self.new)
        self.new = subject.name  # as the library stored it
        self._done = True
        return subject

    def redo(self) -> None:
        if self._done:  # the push after do(): already renamed
            self._done = False
            return
        self._rename(self.old, self.new)

    def undo(self) -> None:
        self._rename(self.new, self.old)

    def _rename(self, frm: str, to: str) -> None:
        try:
            self.lib.rename_subject(frm, to)
        except Gen2ResError as e:
            self._failed(str(e))
            return
        except OSError as e:
            self._failed(f"{e.strerror or e}")
            return
        self._after(frm, to)


# what a confirmed face does to its photo, as Photos → When I confirm a face offers it
CONFIRM_CHOICES = (
    (None, "Ask me"),
    ("reference", "Tag the photo as a good photo (reference)"),
    ("restore", "Tag the photo to restore"),
)


class TaggingController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.undo_stack = QUndoStack(self)
        self.action_undo = self.undo_stack.createUndoAction(self.window, "&Undo")
        self.action_undo.setShortcut("Ctrl+Z")
        self.action_redo = self.undo_stack.createRedoAction(self.window, "&Redo")
        self.action_redo.setShortcut("Ctrl+Shift+Z")
        self.window.addAction(self.action_undo)
        self.window.addAction(self.action_redo)
        self.action_tag = self.action(
            "Tag selected…", self.popup_tag_menu, "Ctrl+T", "Tag the selected photos to a subject"
        )
        self.action_crop = self.action(
            "Set crop box…",
            self.crop_selected,
            None,
            "Draw the square to restore: a pet's head, or a face that was not found",
        )
        self.confirm_menu = self._build_confirm_menu()

    def _build_confirm_menu(self) -> QMenu:
        """Photos → When I confirm a face: the remembered answer, shown and changeable."""
        menu = QMenu("When I confirm a face", self.window)
        group = QActionGroup(menu)
        self.confirm_actions: dict[str | None, QAction] = {}
        for role, text in CONFIRM_CHOICES:
            action = menu.addAction(text)
            action.setCheckable(True)
            group.addAction(action)
            action.triggered.connect(lambda _=False, r=role: set_confirmed_face_role(r))
            self.confirm_actions[role] = action
        menu.aboutToShow.connect(
            lambda: self.confirm_actions[confirmed_face_role()].setChecked(True)
        )
        return menu

    # ---------------------------------------------------------------- changes
    def _edit(
        self,
        text: str,
        subject: str,
        photo_ids: Sequence[int],
        apply: Callable[[], None],
        faces: Sequence[int] = (),
    ) -> bool:
        """Apply a tag change as an undoable command; a failure is a message, not a crash."""

        def failed(message: str) -> None:
            self.window.notify(f"Cannot undo or redo: {text}", message, error=True)

        command = LibraryEdit(
            text, self.library, subject, photo_ids, faces, apply, self._changed, failed
        )
        if self.guard(text, command.do) is None:
            return False
        self.undo_stack.push(command)
        return True

    def _changed(self) -> None:
        # the refresh re-shows the view (the People view too) and the selection's details
        self.window.views.refresh()
        self.window.imports.schedule_resuggest()

    def tag_photos(self, ids: Sequence[int], subject: str, role: str) -> bool:
        ids = list(ids)
        if not ids:
            return False
        done = self._edit(
            f"Tag {plural(len(ids), 'photo')} for {subject}",
            subject,
            ids,
            lambda: self.library.tag(ids, subject, role),
        )
        if done:
            self.status(f"{tagged_words(len(ids), subject, role)} Edit → Undo takes it back.")
            if role == "reference":
                self.check_reference_faces(ids, subject)
        return done

    def check_reference_faces(self, ids: Sequence[int], subject: str) -> int | None:
        """A person's reference photo teaches the face model only through a face on it:
        look for faces where none are known yet, and say which photos show none (a cat
        tagged as Grandma's reference would otherwise be taken without a word)."""
        who = self.window.sidebar.subject(subject)
        if who is None or who.kind != "person":
            return None
        unknown = [pid for pid in ids if not self.library.list_faces(photo_id=pid)]
        if not unknown:
            return None
        return self.window.imports.find_faces(
            unknown, then=lambda: self._warn_faceless(unknown, subject)
        )

    def _warn_faceless(self, ids: Sequence[int], subject: str) -> None:
        lib = self.library

        def faceless() -> list[str]:
            names = []
            for pid in ids:
                still = any(
                    lk.subject == subject and lk.role == "reference"
                    for lk in lib.photo_subjects(pid)
                )
                if still and not lib.list_faces(photo_id=pid):
                    names.append(lib.get_photo(pid).original_name)
            return names

        names = self.guard("Reference photos", faceless)
        if not names:
            return
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        self.window.notify(
            "No face found",
            f"No human face was found on {listed}. {face_model(subject)} learns only from "
            f"faces, so {'this photo teaches' if len(names) == 1 else 'these photos teach'} "
            f"it nothing. If {'it is' if len(names) == 1 else 'they are'} not of {subject} "
            "(a pet, say), Edit → Undo takes the tag back; if the face is there but small or "
            "turned away, tag clearer photos of them as references.",
        )

    def tag_selected(self, subject: str, role: str) -> bool:
        return self.tag_photos(self.window.views.selected_photo_ids(), subject, role)

    def untag_selected(self, subject: str) -> None:
        ids = self.window.views.selected_photo_ids()
        if ids:
            self._edit(
                f"Remove {plural(len(ids), 'photo')} from {subject}",
                subject,
                ids,
                lambda: self.library.untag(ids, subject),
            )

    def confirm_face(self, face_id: int, subject: str) -> bool:
        """Say whose a face is ("" or None: nobody's) and put its photo in that album."""
        return self.confirm_faces([face_id], subject)

    def confirm_faces(self, face_ids: Sequence[int], subject: str) -> bool:
        """Say whose these faces are ("" or None: nobody's) and put their photos in that
        album: one question about the photos' role, one step for Edit → Undo."""
        faces = [
            f
            for f in (
                self.guard("Cannot confirm the face", lambda i=i: self.library.get_face(i))
                for i in face_ids
            )
            if f is not None
        ]
        if not faces:
            return False
        ids = [f.id for f in faces]
        if not subject:
            old = {f.id: f.confirmed_subject or f.suggested_subject or "" for f in faces}
            return self._edit(
                "Not this person",
                old[ids[0]],
                [],
                lambda: [self._reject(i, old[i]) for i in ids],
                faces=ids,
            )
        photos = list(dict.fromkeys(f.photo_id for f in faces))
        roles: dict[int, str] = {}
        for pid in photos:
            role = self.guard(
                "Cannot confirm the face", lambda p=pid: self.confirm_role(subject, p)
            )
            if role is None:
                return False
            roles[pid] = role

        def apply() -> None:
            for i in ids:
                self.library.confirm_face(i, subject)
            for role in ("reference", "restore"):
                tagged = [p for p, r in roles.items() if r == role]
                if tagged:
                    self.library.tag(tagged, subject, role)

        text = f"This is {subject}" if len(ids) == 1 else f"These are {subject}"
        done = self._edit(text, subject, photos, apply, faces=ids)
        if done:
            role = next(iter(set(roles.values()))) if len(set(roles.values())) == 1 else ""
            one = len(photos) == 1
            how = {
                "reference": f" as good photos: {face_model(subject)} learns from them",
                "restore": ", to restore",
            }.get(role, "")
            if one and role == "reference":
                how = f" as a good photo: {face_model(subject)} learns from it"
            what = "" if one else f" {len(photos)} photos"
            self.status(f"Added{what} to {subject}'s album{how}. Edit → Undo takes it back.")
        return done

    def confirm_role(self, subject: str, photo_id: int) -> str | None:
        """The role a confirmed face's photo gets: "kept" when the photo is in the album
        already, "restore" when the user painted its damage, else what the user answered
        (asked once, then remembered); None when the user cancelled."""
        lib = self.library
        if any(lk.subject == subject for lk in lib.photo_subjects(photo_id)):
            return "kept"
        try:
            painted = lib.photo_damage_map(photo_id) is not None
        except Gen2ResError:
            painted = False  # an unreadable map is `library check`'s to report, not ours
        if painted:
            return "restore"
        remembered = confirmed_face_role()
        if remembered is not None:
            return remembered
        answer = self.window.choose(
            f"Add to {subject}'s album",
            f"Is this a good photo of {subject}, or does it need restoring?\n\nGood photos "
            f"are references: {face_model(subject)} learns from them what {subject} looks "
            "like. Photos that need restoring are the ones it repairs.\n\nYour answer is "
            "used for the next faces you confirm too; change it in Photos → When I confirm "
            "a face, and a single photo's role with Photos → Tag selected….",
            [f"A good photo of {subject}", "It needs restoring"],
        )
        if answer is None:
            return None
        role = ("reference", "restore")[answer]
        set_confirmed_face_role(role)
        return role

    # ---------------------------------------------------------------- renaming
    def rename_subject(self, old: str, new: str) -> Subject | None:
        """Rename a subject as an undoable edit; its album follows it in the sidebar."""

        def failed(message: str) -> None:
            self.window.notify(f"Cannot undo or redo: rename {old}", message, error=True)

        command = RenameEdit(self.library, old, new, self._renamed, failed)
        subject = self.guard("Cannot rename", command.do)
        if not isinstance(subject, Subject):
            return None
        self.undo_stack.push(command)
        self._renamed(old, subject.name, follow=True)
        self.status(f"Renamed {old} to {subject.name}. Edit → Undo takes it back.")
        return subject

    def _renamed(self, frm: str, to: str, *, follow: bool = False) -> None:
        views = self.window.views
        follow = follow or views.current_view() == View("subject", frm)
        views.refresh_subjects()
        if follow:
            self.window.sidebar.select_view(View("subject", to))
        else:
            views.refresh()

    def _reject(self, face_id: int, subject: str) -> None:
        self.library.confirm_face(face_id, None)
        self.library.set_face_suggestion(face_id, None, None)

    # ---------------------------------------------------------------- menus
    def build_grid_menu(self) -> QMenu:
        """The grid's context menu for the current selection."""
        w = self.window
        menu = QMenu(w)
        ids = w.views.selected_photo_ids()
        subjects = w.sidebar.subjects()
        for role, title in ROLE_TITLES.items():
            sub = menu.addMenu(title + "…")
            sub.setEnabled(bool(ids and subjects))
            for s in subjects:
                action = sub.addAction(s.name)
                action.triggered.connect(lambda _=False, n=s.name, r=role: self.tag_selected(n, r))
        linked = sorted(
            {
                link.subject
                for pid in ids
                for link in self.guard("", lambda p=pid: self.library.photo_subjects(p)) or []
            }
        )
        if linked:
            untag = menu.addMenu("Remove from…")
            for name in linked:
                untag.addAction(name).triggered.connect(
                    lambda _=False, n=name: self.untag_selected(n)
                )
        menu.addAction(w.subjects.action_new_subject)
        menu.addSeparator()
        for a in (
            w.restore.action_restore,
            w.windows.action_compare,
            w.imports.action_faces,
            self.action_crop,
            w.windows.action_damage_map,
            None,
            w.views.action_delete,
        ):
            menu.addSeparator() if a is None else menu.addAction(a)
        return menu

    def popup_tag_menu(self) -> None:
        grid = self.window.grid
        index = grid.currentIndex()
        rect = grid.visualRect(index) if index.isValid() else grid.viewport().rect()
        self.build_grid_menu().popup(grid.viewport().mapToGlobal(rect.center()))

    def choose_role(self, subject: str) -> str | None:
        """Which role photos dropped on ``subject`` get; tests replace this method."""
        menu = QMenu(self.window)
        ref = menu.addAction(f"Reference photos of {subject}")
        rest = menu.addAction(f"Photos to restore for {subject}")
        chosen = menu.exec(self.window.cursor().pos())
        return "reference" if chosen is ref else "restore" if chosen is rest else None

    def photos_dropped(self, subject: str, ids: list[int]) -> None:
        role = self.choose_role(subject)
        if role:
            self.tag_photos(ids, subject, role)

    # ---------------------------------------------------------------- crop boxes
    def crop_selected(self) -> None:
        ids = self.window.views.selected_photo_ids()
        if ids:
            self.edit_crop(ids[0])
        else:
            self.status("Select a photo first, then Set crop box.")

    def edit_crop(self, photo_id: int) -> None:
        def load() -> QImage:
            return read_qimage(self.library.photo_path(photo_id))

        image = self.guard("Cannot open the photo", load)
        if image is None:
            return
        subjects = {s.name: s for s in self.library.list_subjects()}
        pet = any(
            (s := subjects.get(link.subject)) is not None and s.kind != "person"
            for link in self.library.photo_subjects(photo_id)
        )
        dialog = CropDialog(image, load_crop(self.library, photo_id), self.window, pet=pet)
        if dialog.exec() == QDialog.Accepted:
            saved = self.guard(
                "Cannot save the crop box",
                lambda: save_crop(self.library, photo_id, dialog.crop()) or True,
            )
            if saved:
                self.status("Crop box saved; Restore uses it for this photo.", 5000)
                self.window.details.show_photos([photo_id])
