"""What the grid shows (a view of the sidebar), the selection, and deleting photos."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QKeySequence

from gen2res_desktop.library.models import PhotoLink, Restoration, Subject
from gen2res_desktop.ui.controllers.base import Controller, plural
from gen2res_desktop.ui.details import restoration_label, restoration_numbers
from gen2res_desktop.ui.grid import GridItem
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.words import readable_date, variation

IMPORT_HINT = (
    "Import your scanned photos: File → Import photos… (Ctrl+O), or drop photos and folders here."
)


def empty_hint(view: View, library_empty: bool) -> str:
    """What an empty grid says to do next."""
    if library_empty:
        return f"No photos yet.\n\n{IMPORT_HINT}"
    if view.kind == "subject":
        return (
            f"No photos of {view.subject} yet.\n\nIn All photos, drag photos onto "
            f"{view.subject} in the sidebar, or select them and use Photos → Tag selected…"
        )
    if view.kind == "unsorted":
        return "Every photo belongs to someone's album."
    if view.kind == "restorations":
        return "No restorations yet.\n\nSelect photos and click Restore."
    return IMPORT_HINT


def photo_badges(links: Sequence[PhotoLink], restored: bool) -> tuple[str, ...]:
    """The role marks a thumbnail carries: reference, to restore, restored."""
    roles = {link.role for link in links}
    badges = [
        b for b, role in (("reference", "reference"), ("restore", "restore")) if role in roles
    ]
    return (*badges, "restored") if restored else tuple(badges)


class ViewController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self._shown: View | None = None
        self.action_delete = self.action(
            "Delete from library…",
            self.delete_selected_dialog,
            QKeySequence.Delete,
            "Remove the selected photos and their restorations from the library",
        )
        # the Delete key deletes photos only where the photos are: in the grid, not while
        # the sidebar or the details panel has the keyboard
        self.action_delete.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        window.removeAction(self.action_delete)
        window.grid.addAction(self.action_delete)

    # ---------------------------------------------------------------- views
    def current_view(self) -> View:
        return self.window.sidebar.current_view()

    def show_view(self, view: View) -> None:
        w = self.window
        if view.kind == "people":
            self._shown = view
            w.central.setCurrentWidget(w.people)
            w.people.refresh()
            self.on_selection()
            return
        w.central.setCurrentWidget(w.grid)
        same_view = view == self._shown
        self._shown = view
        selected = {item.key for item in w.grid.selected_items()}
        scroll = w.grid.verticalScrollBar().value()
        items = self.guard("Cannot show the photos", lambda: self.items_for(view)) or []
        w.model.set_items(items)
        if not items:
            empty = self.guard("", lambda: not self.library.list_photos())
            w.grid.set_empty_text(empty_hint(view, bool(empty)))
        sm = w.grid.selectionModel()
        for row, item in enumerate(items):
            if item.key in selected and not sm.isSelected(w.model.index(row)):
                sm.select(w.model.index(row), QItemSelectionModel.Select)
        if same_view:
            # tagging in "Unsorted" removes cells: stay where the user was
            w.grid.verticalScrollBar().setValue(scroll)
        self.on_selection()

    def items_for(self, view: View) -> list[GridItem]:
        lib = self.library
        if view.kind == "restorations":
            names = {p.id: p.original_name for p in lib.list_photos()}
            return [
                restoration_item(r, names.get(r.photo_id, "?")) for r in lib.list_restorations()
            ]
        if view.kind == "subject":
            photos = lib.list_photos(subject=view.subject)
        elif view.kind == "unsorted":
            photos = lib.list_photos(unsorted=True)
        else:
            photos = lib.list_photos()
        links = lib.all_links()
        restored = {r.photo_id for r in lib.list_restorations()}
        items = []
        for p in photos:
            mine = links.get(p.id, [])
            if view.kind == "subject":  # in an album, only that subject's role counts
                mine = [link for link in mine if link.subject == view.subject]
            roles = ", ".join(
                f"{'reference' if link.role == 'reference' else 'to restore'} for {link.subject}"
                for link in mine
            )
            items.append(
                GridItem(
                    photo_id=p.id,
                    title=p.original_name,
                    tooltip=f"{p.original_name}\n{p.width} × {p.height}"
                    + (f"\ntaken {readable_date(p.taken)}" if p.taken else "")
                    + (f"\n{roles}" if roles else ""),
                    source=functools.partial(lib.thumbnail_path, p.id),
                    badges=photo_badges(mine, p.id in restored),
                )
            )
        return items

    def refresh(self) -> None:
        self.refresh_subjects()
        self.show_view(self.current_view())

    def refresh_subjects(self) -> None:
        subjects = self.guard("Cannot list subjects", self.library.list_subjects)
        if subjects is not None:
            self.window.sidebar.set_subjects(subjects)

    def selected_subject(self) -> Subject | None:
        view = self.current_view()
        if view.kind != "subject" or not view.subject:
            return None
        return self.window.sidebar.subject(view.subject)

    # ---------------------------------------------------------------- selection
    def selected_items(self) -> list[GridItem]:
        if self.current_view().kind == "people":
            return []
        return self.window.grid.selected_items()

    def selected_photo_ids(self) -> list[int]:
        return sorted({item.photo_id for item in self.selected_items()})

    def select_rows(self, rows: Sequence[int]) -> None:
        w = self.window
        sm = w.grid.selectionModel()
        sm.clearSelection()
        for row in rows:
            sm.select(w.model.index(row), QItemSelectionModel.Select)
        if rows:
            sm.setCurrentIndex(w.model.index(rows[0]), QItemSelectionModel.NoUpdate)

    def on_selection(self, *_: object) -> None:
        self.window.details.show_photos(self.selected_photo_ids())
        has = bool(self.selected_items())
        for a in self.window.selection_actions():
            a.setEnabled(has)

    # ---------------------------------------------------------------- delete
    def delete_selected_dialog(self) -> None:
        ids = self.selected_photo_ids()
        if ids and self.window.ask(
            "Delete from library",
            f"Remove {plural(len(ids), 'photo')} and "
            f"{'its' if len(ids) == 1 else 'their'} restorations from the library? "
            "The files you imported them from are not touched.",
        ):
            for pid in ids:
                if (
                    self.guard("Cannot delete", lambda p=pid: self.library.delete_photo(p) or True)
                    is None
                ):
                    break
                self.window.model.invalidate(("photo", pid))
            self.refresh()


def restoration_item(r: Restoration, photo_name: str) -> GridItem:
    state = {True: "kept", False: "discarded", None: ""}[r.kept]
    title = f"{photo_name} · {variation(r.seed)}" + (f" · {state}" if state else "")
    details = "\n".join(filter(None, (restoration_label(r), restoration_numbers(r))))
    return GridItem(
        photo_id=r.photo_id,
        title=title,
        tooltip=f"Restoration of {photo_name}\n{details}",
        restoration_id=r.id,
        source=r.path,
    )
