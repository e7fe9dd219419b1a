"""Restore options: what Restore does to the whole photo before it regenerates the faces.

The stages in the order they run, each with its switch and strength, saved with the
library (``Library.set_repair_settings``), so the command line and every later restore
use them too. The choices of method list the built-in method and the installed photo
models that can do that stage; :meth:`RestoreOptionsDialog.refresh_models` refreshes them
when models are added or removed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo import models as photo_models
from gen2res_desktop.core.photo.settings import AUTO, OFF, OPENCV, RepairSettings
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.services import (
    installed_photo_models,
    restore_faces_option,
    set_restore_faces_option,
)

log = logging.getLogger(__name__)

BUILT_IN = "Built-in"
BUILT_IN_DETECTOR = "Built-in (no download)"
DAMAGE = "damage"  # the photo-model task of damage detectors
COLOUR = "colour"  # the photo-model task of colourisers
NO_COLOURISER_NOTE = "Adding colour needs the colouriser, a free download."
AUTO_BUILT_IN_NOTE = (
    "Automatic uses the built-in detector, trained here on made-up damage; the learned "
    "detector, trained on real old prints, is a free download."
)
MONOCHROME_LABELS = {
    "keep": "Keep their tint (sepia stays sepia)",
    "neutral": "Make them neutral grey",
    "colour": "Treat them as colour photos",
}
ENLARGE_LABELS = {1: "Keep the size (1×)", 2: "Twice as large (2×)", 4: "Four times as large (4×)"}
NO_MODELS_HINT = (
    "No photo models are installed, so the built-in methods are used. To add better ones "
    "for scratches, grain or enlarging, click Photo models…"
)


class PercentSlider(QWidget):
    """A 0-100 % slider with its value beside it; ``value()`` is 0..1."""

    def __init__(self, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setToolTip(tooltip)
        self.label = QLabel()
        self.label.setMinimumWidth(40)
        self.label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.slider.valueChanged.connect(lambda v: self.label.setText(f"{v}%"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.label.setText("0%")

    def value(self) -> float:
        return self.slider.value() / 100

    def set_value(self, value: float) -> None:
        self.slider.setValue(round(value * 100))


def damage_detectors(
    models: list[photo_models.PhotoModelInfo],
) -> list[photo_models.PhotoModelInfo]:
    """The installed damage detectors, best first: the catalogue's in its order, then
    imported ones by name (the order the repair's "auto" picks from)."""
    order = list(photo_models.CATALOGUE)
    found = [m for m in models if m.task == DAMAGE]
    return sorted(
        found, key=lambda m: (order.index(m.name) if m.name in order else len(order), m.name)
    )


def learned_detector() -> photo_models.CatalogueEntry | None:
    """The catalogue's damage detector to offer for download; None while it has none."""
    return next((e for e in photo_models.CATALOGUE.values() if e.task == DAMAGE), None)


def colourisers(models: list[photo_models.PhotoModelInfo]) -> list[str]:
    """The installed colourisers' names, the catalogue's first (what "auto" picks)."""
    order = list(photo_models.CATALOGUE)
    found = [m.name for m in models if m.task == COLOUR]
    return sorted(found, key=lambda n: (order.index(n) if n in order else len(order), n))


def catalogue_colouriser() -> photo_models.CatalogueEntry | None:
    return next((e for e in photo_models.CATALOGUE.values() if e.task == COLOUR), None)


def _title(name: str) -> str:
    entry = photo_models.CATALOGUE.get(name)
    return entry.title if entry is not None and entry.title else name


def _select(combo: QComboBox, data: object, missing_label: str | None = None) -> None:
    """Select the item holding ``data``; a saved model no longer installed still shows."""
    index = combo.findData(data)
    if index < 0 and missing_label is not None:
        combo.addItem(missing_label, data)
        combo.setItemData(
            combo.count() - 1,
            "This photo model is not installed any more: choose another, or install it in "
            "Photo models.",
            Qt.ToolTipRole,
        )
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))


class RestoreOptionsDialog(QDialog):
    """The restore options of ``library``; Save stores them, Reset to defaults refills."""

    saved = Signal()
    models_requested = Signal()  # the user wants to add photo models
    # the user wants the learned damage detector: its catalogue name ("" if none is listed)
    download_requested = Signal(str)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore options")
        self.library = library
        self.home = Path(library.home)

        intro = QLabel(
            "Restore first repairs the whole photo, in this order, then regenerates the faces. "
            "These choices are kept with this library and used for every photo you restore."
        )
        intro.setWordWrap(True)

        # 1. scratches and dust
        self.scratches_check = QCheckBox("Fill in scratches, dust and cracks")
        self.scratches_check.setToolTip(
            "Finds thin lines, specks and cracks on the print and fills them in from the "
            "picture around them. Edit the marks by hand with Photos → Edit damage map…"
        )
        self.sensitivity = PercentSlider(
            "How faint a scratch or speck is still found. Higher finds more, but may also "
            "mark fine detail such as hair or lace."
        )
        self.detector_combo = QComboBox()
        self.detector_combo.setToolTip(
            "What finds the scratches, dust and cracks. A learned detector, trained on real "
            "old prints, tells damage from fine detail better than the built-in one. Eyes, "
            "nose and mouth are always left alone."
        )
        self.detector_note = QLabel()
        self.detector_note.setWordWrap(True)
        self.detector_note.setObjectName("detectorNote")
        self.download_detector = QPushButton("Download the learned detector…")
        self.download_detector.setToolTip(
            "Open Models to download the scratch detector from “Bringing Old Photos Back to "
            "Life” (needs the internet)"
        )
        self.download_detector.clicked.connect(self._download_detector)
        self.fill_combo = QComboBox()
        self.fill_combo.setToolTip(
            "How the marked places are filled. Automatic uses an installed inpainting photo "
            "model if there is one, else the built-in method."
        )
        scratches = QGroupBox("1. Scratches and dust")
        form = QFormLayout(scratches)
        form.addRow(self.scratches_check)
        form.addRow("Sensitivity:", self.sensitivity)
        form.addRow("Find damage with:", self.detector_combo)
        # under the choice it explains, the offer no wider than its words
        form.addRow("", self.detector_note)
        offer = QHBoxLayout()
        offer.addWidget(self.download_detector)
        offer.addStretch(1)
        form.addRow("", offer)
        form.addRow("Fill with:", self.fill_combo)

        # 2. grain and noise
        self.grain_combo = QComboBox()
        self.grain_combo.setToolTip(
            "What removes film grain, scanner noise and JPEG blocks. An enlarging photo "
            "model can clean up too: the photo keeps its size."
        )
        self.grain_strength = PercentSlider(
            "How much grain and noise is smoothed away. Too much makes skin and fabric look "
            "like plastic."
        )
        self.sharpen = PercentSlider("How much a soft or slightly blurred photo is sharpened.")
        grain = QGroupBox("2. Grain and noise")
        form = QFormLayout(grain)
        form.addRow("Clean up with:", self.grain_combo)
        form.addRow("Strength:", self.grain_strength)
        form.addRow("Sharpen:", self.sharpen)

        # 3. enlarge
        self.enlarge_combo = QComboBox()
        for factor, label in ENLARGE_LABELS.items():
            self.enlarge_combo.addItem(label, factor)
        self.enlarge_combo.setToolTip(
            "Make the restored photo larger, for printing bigger than the original."
        )
        self.enlarge_method = QComboBox()
        self.enlarge_method.setToolTip(
            "Built-in enlarging is smooth but adds no detail; an enlarging photo model adds "
            "plausible fine detail."
        )
        enlarge = QGroupBox("3. Enlarge")
        form = QFormLayout(enlarge)
        form.addRow("Size:", self.enlarge_combo)
        form.addRow("Enlarge with:", self.enlarge_method)

        # 4. fading and colour
        self.colour_check = QCheckBox("Correct fading and colour casts")
        self.colour_check.setToolTip(
            "Brings back contrast to a faded print and removes a yellow, red or blue cast."
        )
        self.colour_strength = PercentSlider("How strongly fading and colour casts are corrected.")
        self.monochrome_combo = QComboBox()
        for key, label in MONOCHROME_LABELS.items():
            self.monochrome_combo.addItem(label, key)
        self.monochrome_combo.setToolTip(
            "What happens to black-and-white and sepia photos. The regenerated faces are toned "
            "to match too. They get colour only if you ask for it below (6. Colour)."
        )
        colour = QGroupBox("4. Fading and colour")
        form = QFormLayout(colour)
        form.addRow(self.colour_check)
        form.addRow("Strength:", self.colour_strength)
        form.addRow("Black-and-white photos:", self.monochrome_combo)

        # 5. faces
        self.faces_check = QCheckBox("Redraw faces with the subject's face model")
        self.faces_check.setToolTip(
            "After the repair, each face is redrawn with its face model: what Gen2Res "
            "learned about that person or pet from their good photos. Switch this off to "
            "repair the photo only: no subject or training is needed then."
        )
        faces = QGroupBox("5. Faces")
        QVBoxLayout(faces).addWidget(self.faces_check)

        # 6. colour, on request: after everything else, kept beside the black-and-white one
        self.colourise_check = QCheckBox("Add colour to black-and-white photos")
        self.colourise_check.setToolTip(
            "After the repair and the faces, the colouriser paints in likely colours, skin "
            "and eyes included. The light and shade stay exactly those of the restored "
            "photo. The black-and-white restoration is kept too, to compare side by side."
        )
        self.colouriser_note = QLabel(NO_COLOURISER_NOTE)
        self.colouriser_note.setWordWrap(True)
        self.colouriser_note.setObjectName("colouriserNote")
        self.download_colouriser = QPushButton("Download the colouriser…")
        self.download_colouriser.setToolTip(
            "Open Models to download the DDColor colouriser (needs the internet)"
        )
        self.download_colouriser.clicked.connect(self._download_colouriser)
        self._colouriser_choice = AUTO  # a colouriser named in the saved options is kept
        colour_box = QGroupBox("6. Colour")
        form = QFormLayout(colour_box)
        form.addRow(self.colourise_check)
        form.addRow(self.colouriser_note)
        offer = QHBoxLayout()
        offer.addWidget(self.download_colouriser)
        offer.addStretch(1)
        form.addRow(offer)

        self.hint = QLabel(NO_MODELS_HINT)
        self.hint.setWordWrap(True)
        self.hint.setObjectName("restoreOptionsHint")
        self.models_button = QPushButton("Photo models…")
        self.models_button.setToolTip("Download or add photo models for these stages")
        self.models_button.clicked.connect(self.models_requested)
        hint_row = QHBoxLayout()
        hint_row.addWidget(self.hint, 1)
        hint_row.addWidget(self.models_button, 0, Qt.AlignRight | Qt.AlignVCenter)
        self.message = QLabel()
        self.message.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.reset_button = self.buttons.addButton("Reset to defaults", QDialogButtonBox.ResetRole)
        self.reset_button.setToolTip("Put every option back to how Gen2Res comes")
        self.reset_button.clicked.connect(self.reset_to_defaults)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        # two columns, the stages numbered in the order they run: short enough for a laptop
        left, right = QVBoxLayout(), QVBoxLayout()
        for box in (scratches, grain, enlarge):
            left.addWidget(box)
        left.addStretch(1)
        for box in (colour, faces, colour_box):
            right.addWidget(box)
        right.addLayout(hint_row)
        right.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(columns)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(800)

        self.scratches_check.toggled.connect(self._update_enabled)
        self.colour_check.toggled.connect(self._update_enabled)
        self.grain_combo.currentIndexChanged.connect(self._update_enabled)
        self.enlarge_combo.currentIndexChanged.connect(self._update_enabled)
        self.load()

    # -- values -----------------------------------------------------------------------------
    def load(self) -> None:
        """Show what the library has saved."""
        self.set_values(self.library.repair_settings(), restore_faces_option(self.library))
        self.message.setText("")

    def set_values(self, s: RepairSettings, faces: bool) -> None:
        self._fill_model_choices(s)
        self.scratches_check.setChecked(s.scratches)
        self.sensitivity.set_value(s.scratch_sensitivity)
        self.grain_strength.set_value(s.denoise_strength)
        self.sharpen.set_value(s.sharpen)
        _select(self.enlarge_combo, s.upscale)
        self.colour_check.setChecked(s.colour)
        self.colour_strength.set_value(s.colour_strength)
        _select(self.monochrome_combo, s.monochrome)
        self.faces_check.setChecked(faces)
        self._colouriser_choice = s.colourise if s.colourise != OFF else AUTO
        self.colourise_check.setChecked(s.colourise != OFF and self.colourise_check.isEnabled())
        self._update_enabled()

    def settings(self) -> RepairSettings:
        """The options as chosen (not saved yet)."""
        return RepairSettings(
            scratches=self.scratches_check.isChecked(),
            scratch_sensitivity=self.sensitivity.value(),
            damage_detector=self.detector_combo.currentData(),
            inpaint=self.fill_combo.currentData(),
            denoise=self.grain_combo.currentData(),
            denoise_strength=self.grain_strength.value(),
            sharpen=self.sharpen.value(),
            upscale=self.enlarge_combo.currentData(),
            upscale_model=self.enlarge_method.currentData(),
            colour=self.colour_check.isChecked(),
            colour_strength=self.colour_strength.value(),
            monochrome=self.monochrome_combo.currentData(),
            colourise=self._colouriser_choice
            if self.colourise_check.isChecked() and self.colourise_check.isEnabled()
            else OFF,
        )

    def faces(self) -> bool:
        return self.faces_check.isChecked()

    def reset_to_defaults(self) -> None:
        self.set_values(RepairSettings(), True)
        self.message.setText("Defaults restored; click Save to keep them.")

    def save(self) -> bool:
        try:
            settings = self.settings()
            self.library.set_repair_settings(settings)
            set_restore_faces_option(self.library, self.faces())
        except (Gen2ResError, OSError) as e:
            self.message.setText(f"The options could not be saved: {e}")
            return False
        self.saved.emit()
        self.accept()
        return True

    # -- model choices ----------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Photo models were added or removed: refill the choices, keeping the selection."""
        self._fill_model_choices(self.settings())
        self._update_enabled()

    def _fill_model_choices(self, s: RepairSettings) -> None:
        models = installed_photo_models(self.home)
        by_task: dict[str, list] = {}
        for info in models:
            by_task.setdefault(info.task, []).append(info)

        def add(combo: QComboBox, info, suffix: str = "") -> None:
            combo.addItem(f"{info.name}{suffix}", info.name)
            combo.setItemData(
                combo.count() - 1,
                f"{info.name}: {info.arch} photo model, licence {info.licence}",
                Qt.ToolTipRole,
            )

        combos = (self.detector_combo, self.fill_combo, self.grain_combo, self.enlarge_method)
        for combo in combos:
            combo.blockSignals(True)
            combo.clear()
        detectors = damage_detectors(models)
        self.detector_combo.addItem("Automatic", AUTO)
        self.detector_combo.addItem(BUILT_IN_DETECTOR, OPENCV)
        for info in detectors:
            add(self.detector_combo, info)
        self.fill_combo.addItem("Automatic", AUTO)
        self.fill_combo.addItem(BUILT_IN, OPENCV)
        for info in by_task.get("inpaint", []):
            add(self.fill_combo, info)
        self.grain_combo.addItem(BUILT_IN, OPENCV)
        self.grain_combo.addItem("Off", OFF)
        for task in ("denoise", "jpeg"):
            for info in by_task.get(task, []):
                add(self.grain_combo, info)
        for info in by_task.get("upscale", []):
            add(self.grain_combo, info, " (cleans up, same size)")
        self.enlarge_method.addItem(BUILT_IN, None)
        for info in by_task.get("upscale", []):
            add(self.enlarge_method, info)
        detector = s.damage_detector
        _select(self.detector_combo, detector, f"{detector} (not installed)")
        _select(self.fill_combo, s.inpaint, f"{s.inpaint} (not installed)")
        _select(self.grain_combo, s.denoise, f"{s.denoise} (not installed)")
        missing = s.upscale_model
        _select(self.enlarge_method, missing, f"{missing} (not installed)" if missing else None)
        for combo in combos:
            combo.blockSignals(False)
        self.hint.setVisible(not models)
        # say what "Automatic" picks right now, and offer the download while it picks the
        # built-in detector
        if detectors:
            self.detector_note.setText(f"Automatic uses {_title(detectors[0].name)}.")
        else:
            self.detector_note.setText(AUTO_BUILT_IN_NOTE)
        self.download_detector.setVisible(not detectors)
        # the colour switch works only with a colouriser installed: until then it is off,
        # greyed out, with the download offered beside it
        found = colourisers(models)
        self.colourise_check.setEnabled(bool(found))
        if not found:
            self.colourise_check.setChecked(False)
            self.colouriser_note.setText(NO_COLOURISER_NOTE)
        else:
            self.colouriser_note.setText(f"Colour is added by {_title(found[0])}.")
        self.download_colouriser.setVisible(not found)

    def _download_detector(self) -> None:
        entry = learned_detector()
        self.download_requested.emit(entry.name if entry is not None else "")

    def _download_colouriser(self) -> None:
        entry = catalogue_colouriser()
        self.download_requested.emit(entry.name if entry is not None else "")

    def _update_enabled(self, *_: object) -> None:
        on = self.scratches_check.isChecked()
        self.sensitivity.setEnabled(on)
        self.detector_combo.setEnabled(on)
        self.detector_note.setEnabled(on)
        self.fill_combo.setEnabled(on)
        self.grain_strength.setEnabled(self.grain_combo.currentData() != OFF)
        self.enlarge_method.setEnabled(self.enlarge_combo.currentData() != 1)
        on = self.colour_check.isChecked()
        self.colour_strength.setEnabled(on)
        self.monochrome_combo.setEnabled(on)
