"""The compare window's colour controls, for a photo with a colourised restoration: what
the After side shows (Colour, Black and white, or the Original) and the Colour strength.

A thin layer: the image at a strength is the core's (colourise.StrengthBlend, the chroma
scaled in Lab over the black-and-white restoration's lightness, so lightness never
changes), and the strength is kept with the colourised restoration in the library (see
library.colour), which export reads too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QSlider, QWidget

from gen2res_desktop.ui.face_thumbs import pil_to_qimage

COLOUR, BLACK_AND_WHITE, ORIGINAL = "colour", "black_and_white", "original"
CHOICES = {COLOUR: "Colour", BLACK_AND_WHITE: "Black and white", ORIGINAL: "Original"}
STEPS = 100  # the slider's positions: percent


@dataclass
class ColourImages:
    """What the colour controls show: the colourised restoration, the black-and-white one it
    was made from (None: deleted since), the strength kept, and where to keep a new one."""

    colour: np.ndarray  # uint8 RGB
    black_and_white: np.ndarray | None
    strength: float = 1.0
    keep: Callable[[float], object] | None = None
    first: str = COLOUR  # what the After side shows at first


def rgb_qimage(rgb: np.ndarray) -> QImage:
    return pil_to_qimage(Image.fromarray(np.ascontiguousarray(rgb, np.uint8), "RGB"))


class ColourControls(QWidget):
    """Three choices and a Colour strength slider; ``changed`` when the image to show does."""

    changed = Signal()

    def __init__(
        self, images: ColourImages, original: QImage, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compareColour")
        from gen2res_desktop.core.photo.colourise import StrengthBlend  # torch: loaded here

        self._images = images
        self._blend = StrengthBlend(images.colour, images.black_and_white)
        self._fixed = {
            ORIGINAL: original,
            BLACK_AND_WHITE: QImage()
            if images.black_and_white is None
            else rgb_qimage(images.black_and_white),
        }
        self._colour = QImage()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("After:"))
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, text in CHOICES.items():
            button = QRadioButton(text)
            button.setObjectName(f"compareShow_{key}")
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
        self.buttons[BLACK_AND_WHITE].setEnabled(images.black_and_white is not None)
        if images.black_and_white is None:
            self.buttons[BLACK_AND_WHITE].setToolTip("The black-and-white restoration was deleted.")
        layout.addSpacing(16)
        self.strength_label = QLabel("Colour strength")
        layout.addWidget(self.strength_label)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("compareColourStrength")
        self.slider.setRange(0, STEPS)
        self.slider.setPageStep(10)
        self.slider.setToolTip(
            "How strong the colours are: less makes them paler, towards the black-and-white "
            "photo. Light and dark stay as they are. Kept for this photo, and used when you "
            "export the colour photo."
        )
        # the image follows when the slider is let go (or a key moves it): a large photo
        # takes a moment per strength
        self.slider.setTracking(False)
        self.slider.setValue(round(images.strength * STEPS))
        self.slider.setMinimumWidth(160)
        layout.addWidget(self.slider)
        self.value_label = QLabel()
        layout.addWidget(self.value_label)
        layout.addStretch(1)
        self._show_value(self.slider.value())
        self._update_colour()
        self.set_choice(images.first if self.buttons[images.first].isEnabled() else COLOUR)
        self.slider.sliderMoved.connect(self._show_value)
        self.slider.valueChanged.connect(self._strength_changed)
        self.group.buttonClicked.connect(lambda _button: self._choice_changed())

    # -- state ----------------------------------------------------------------------------
    def choice(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def set_choice(self, key: str) -> None:
        self.buttons[key].setChecked(True)
        self._choice_changed()

    def strength(self) -> float:
        return self.slider.value() / STEPS

    def set_strength(self, strength: float) -> None:
        self.slider.setValue(round(min(max(strength, 0.0), 1.0) * STEPS))

    def image(self) -> QImage:
        """What the After side shows now."""
        key = self.choice()
        return self._colour if key == COLOUR else self._fixed[key]

    # -- changes --------------------------------------------------------------------------
    def _show_value(self, value: int) -> None:
        self.value_label.setText(f"{value}%")

    def _update_colour(self) -> None:
        self._colour = rgb_qimage(self._blend(self.strength()))

    def _choice_changed(self) -> None:
        self.slider.setEnabled(self.choice() == COLOUR)
        self.changed.emit()

    def _strength_changed(self, value: int) -> None:
        self._show_value(value)
        self._update_colour()
        if self._images.keep is not None:
            self._images.keep(self.strength())
        if self.choice() == COLOUR:
            self.changed.emit()
