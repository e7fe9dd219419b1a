"""The windows and dialogs the main window opens: compare, the damage map editor, restore
options, models, settings, getting started and About."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import load_rgb
from gen2res_desktop.library.colour import (
    ColourPair,
    colour_pair,
    colour_strength,
    set_colour_strength,
)
from gen2res_desktop.library.models import Restoration
from gen2res_desktop.ui.compare import CompareInfo, CompareWindow, repair_summary
from gen2res_desktop.ui.compare_colour import BLACK_AND_WHITE, COLOUR, ORIGINAL, ColourImages
from gen2res_desktop.ui.compare_overlays import protected_polygons
from gen2res_desktop.ui.controllers.base import Controller, read_qimage
from gen2res_desktop.ui.damage_editor import DamageMapEditor
from gen2res_desktop.ui.damage_map import levels_to_overlay
from gen2res_desktop.ui.dialogs import AboutDialog, SettingsDialog, WelcomeDialog
from gen2res_desktop.ui.models_dialog import ModelsDialog
from gen2res_desktop.ui.restore_options import RestoreOptionsDialog
from gen2res_desktop.ui.words import face_model

log = logging.getLogger(__name__)


class WindowsController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.compare_windows: list[CompareWindow] = []
        self.models_dialog: ModelsDialog | None = None
        self.options_dialog: RestoreOptionsDialog | None = None
        self.damage_editor: DamageMapEditor | None = None
        self.action_compare = self.action("Compare", self.compare_selected, "Ctrl+E")
        self.action_damage_map = self.action(
            "Edit damage map…",
            self.edit_damage_map_selected,
            "Ctrl+D",
            "See and correct the scratches and dust Restore will fill in",
        )
        self.action_restore_options = self.action(
            "Restore options…",
            self.open_restore_options,
            "Ctrl+Shift+R",
            "Choose how Restore repairs scratches, grain, size and colour, and whether it "
            "regenerates faces",
        )
        self.action_models = self.action(
            "Models…", self.open_models, None, "Install or download priors and photo models"
        )
        self.action_settings = self.action(
            "Settings…", self.open_settings, QKeySequence.Preferences
        )
        self.action_welcome = self.action("Getting started", self.show_welcome)
        self.action_about = self.action("About Gen2Res", self.show_about)

    # ---------------------------------------------------------------- compare
    def compare_selected(self) -> CompareWindow | None:
        items = self.window.views.selected_items()
        if not items:
            self.status("Select a restored photo first, then Compare.")
            return None
        rid = items[0].restoration_id
        if rid is None:
            restorations = (
                self.guard("Compare", lambda: self.library.list_restorations(items[0].photo_id))
                or []
            )
            if not restorations:
                self.window.notify(
                    "Compare", "This photo has no restoration yet: click Restore first."
                )
                return None
            rid = restorations[0].id
        return self.open_compare(rid)

    def open_compare(self, restoration_id: int) -> CompareWindow | None:
        window = self.guard("Cannot compare", lambda: self._build_compare(restoration_id))
        if window is None:
            return None
        self.compare_windows.append(window)
        window.destroyed.connect(lambda *_, w=window: self._forget_compare(w))
        window.show()
        return window

    def _build_compare(self, restoration_id: int) -> CompareWindow:
        lib = self.library
        r = lib.get_restoration(restoration_id)
        photo = lib.get_photo(r.photo_id)
        before = read_qimage(lib.photo_path(photo))
        after = read_qimage(r.path)
        adapter = None  # the face model, in the user's words
        if r.adapter_id is not None:
            try:
                record = lib.get_adapter(r.adapter_id)
                adapter = f"{face_model(record.subject)} ({record.steps_done} training steps)"
            except Gen2ResError:
                adapter = f"{face_model(r.subject)} (since removed)"
        info = CompareInfo(
            title=photo.original_name,
            strength=r.settings.get("strength"),
            seed=r.seed,
            adapter=adapter,
            scores=tuple(r.face_scores),
            faces=r.settings.get("restore_faces", True) is not False,
            repair=repair_summary(r.settings),
        )
        overlay, partly = None, False
        if r.damage_map is not None:
            from gen2res_desktop.library.tables.photos import read_damage_levels

            try:
                levels = read_damage_levels(r.damage_map)
                overlay = levels_to_overlay(levels)
                partly = bool(((levels > 0) & (levels < 255)).any())
            except Gen2ResError as e:
                log.warning("damage map of restoration %s: %s", r.id, e)

        colour, pair = self._compare_colour(r)

        def export(path: Path, side_by_side: bool) -> Path:
            from gen2res_desktop.library.export import export_restoration

            # what the After side shows: the colour one at its strength, or the other
            rid = restoration_id
            controls = window.colour_controls
            if pair is not None and controls is not None and controls.choice() != ORIGINAL:
                shown = pair.colour if controls.choice() == COLOUR else pair.monochrome
                rid = shown.id if shown is not None else rid
            # the save dialog has already asked before replacing a file
            return export_restoration(lib, rid, path, side_by_side=side_by_side, overwrite=True)

        stem = Path(photo.original_name).stem
        window = CompareWindow(
            before,
            after,
            info,
            export=export,
            suggested_name=f"{stem}-restored.jpg",
            damage_overlay=overlay,
            damage_partly=partly,
            # outlined over the map: in its pixels, so stretched with it onto the scene
            protected=protected_polygons(r.settings) if overlay is not None else (),
            colour=colour,
        )
        return window

    def _compare_colour(self, r: Restoration) -> tuple[ColourImages | None, ColourPair | None]:
        """The colour controls' images for a restoration with a colourised counterpart (it,
        or the one it was made from), showing the one opened first; None for the rest."""
        lib = self.library
        pair = colour_pair(lib, r)
        if pair is None:
            return None, None
        try:
            colour = np.asarray(load_rgb(pair.colour.path))
        except Gen2ResError as e:
            log.warning("colourised restoration %s: %s", pair.colour.id, e)
            return None, None
        grey = None
        if pair.monochrome is not None:
            try:
                grey = np.asarray(load_rgb(pair.monochrome.path))
            except Gen2ResError as e:
                log.warning("black-and-white restoration %s: %s", pair.monochrome.id, e)
        colour_id = pair.colour.id

        def keep(strength: float) -> None:
            try:
                set_colour_strength(lib, colour_id, strength)
            except Gen2ResError as e:  # a read-only library: the view still follows
                log.warning("colour strength of restoration %s not kept: %s", colour_id, e)

        first = COLOUR if r.id == colour_id else BLACK_AND_WHITE
        images = ColourImages(colour, grey, colour_strength(pair.colour), keep, first)
        return images, pair

    def _forget_compare(self, window: CompareWindow) -> None:
        if window in self.compare_windows:
            self.compare_windows.remove(window)

    def close_all(self) -> None:
        for w in list(self.compare_windows):
            w.close()

    # ---------------------------------------------------------------- damage map
    def edit_damage_map_selected(self) -> DamageMapEditor | None:
        ids = self.window.views.selected_photo_ids()
        if not ids:
            self.status("Select a photo first, then Edit damage map.")
            return None
        return self.edit_damage_map(ids[0])

    def edit_damage_map(self, photo_id: int) -> DamageMapEditor | None:
        """Open the damage map editor on a photo (detection, if needed, runs on the io
        runner); one editor at a time."""
        from gen2res_desktop.ui.services import detect_photo_damage

        if self.damage_editor is not None:  # still open (it is forgotten when it closes)
            self.damage_editor.raise_()
            self.damage_editor.activateWindow()
            if self.damage_editor.photo_id == photo_id:
                return self.damage_editor
            self.window.notify(
                "Edit damage map",
                "Save or cancel the damage map that is open first, then try again.",
            )
            return None

        def build() -> DamageMapEditor:
            image = read_qimage(self.library.photo_path(photo_id))
            detect = functools.partial(detect_photo_damage, self.library, photo_id)
            return DamageMapEditor(
                self.library, photo_id, image, self.window.io_runner, detect, self.window
            )

        editor = self.guard("Cannot open the damage map", build)
        if editor is None:
            return None
        editor.setAttribute(Qt.WA_DeleteOnClose)

        def saved() -> None:
            if editor.source == "painted":  # an untouched automatic map stays automatic
                self.status("Damage map saved; the next restore uses it.")

        editor.accepted.connect(saved)
        editor.finished.connect(lambda _: setattr(self, "damage_editor", None))
        self.damage_editor = editor
        editor.open()
        return editor

    # ---------------------------------------------------------------- dialogs
    def open_restore_options(self) -> RestoreOptionsDialog:
        if self.options_dialog is None:
            self.options_dialog = RestoreOptionsDialog(self.library, self.window)
            self.options_dialog.models_requested.connect(self._open_photo_models)
            self.options_dialog.download_requested.connect(self._open_photo_models)
            self.options_dialog.saved.connect(lambda: self.status("Restore options saved.", 5000))
        self.options_dialog.load()
        self.options_dialog.show()
        self.options_dialog.raise_()
        return self.options_dialog

    def _open_photo_models(self, name: str = "") -> ModelsDialog:
        """The Models dialog on its photo models tab, with catalogue entry ``name``
        selected (a download offer points the user at the one to click Download on)."""
        dialog = self.open_models()
        dialog.tabs.setCurrentWidget(dialog.photo_tab)
        if name:
            dialog.photo_tab.select_entry(name)
        return dialog

    def _photo_models_changed(self) -> None:
        if self.options_dialog is not None:
            self.options_dialog.refresh_models()

    def open_models(self) -> ModelsDialog:
        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(
                self.library.home, self.window.download_runner, self.window
            )
            self.models_dialog.finished.connect(lambda _: self.window.views.refresh_subjects())
            self.models_dialog.photo_models_changed.connect(self._photo_models_changed)
        self.models_dialog.refresh()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def open_settings(self) -> None:
        SettingsDialog(self.settings, self.window).exec()

    def show_welcome(self) -> None:
        dialog = WelcomeDialog(self.window)
        dialog.exec()
        self.settings.welcome_done = True
        self.settings.save()
        if dialog.open_models:
            self.open_models()

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.library.home, self.window)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog
