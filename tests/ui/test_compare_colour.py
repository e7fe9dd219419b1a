"""Compare for a photo with a colourised restoration: Colour, Black and white and the
Original to choose from, and a Colour strength that pales the colours without touching
light and dark, kept for each photo. A photo without colour shows none of it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QRadioButton, QSlider
from tiny_colouriser import TOY_SIZE, random_net

from gen2res_desktop.core.photo import colourise
from gen2res_desktop.library.colour import Colourised, record_colourised


@pytest.fixture(scope="module")
def colouriser():
    return colourise.DDColorModel(random_net(), input_size=TOY_SIZE)


def _grey_print(shift: int = 0) -> np.ndarray:
    from skimage import data

    g = np.roll(data.camera()[::4, ::4][:96, :112], shift, axis=1)
    return np.ascontiguousarray(np.repeat(g[..., None], 3, axis=2))


def _restored(library, tmp_path, name: str, grey: np.ndarray, colouriser=None):
    """A photo with a black-and-white restoration, and a colourised one when asked."""
    src = tmp_path / name
    Image.fromarray(grey).save(src)
    (photo,) = library.import_paths([src]).photo_ids
    out = library.restoration_path_for(photo, 0)
    Image.fromarray(grey).save(out)
    mono = library.add_restoration(photo, None, None, {"restore_faces": False}, 0, out)
    if colouriser is None:
        return mono, None
    coloured = Colourised(Image.fromarray(colouriser.run(grey)), "ddcolor", "", 0.1)
    return mono, record_colourised(library, mono, coloured)


def _rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def _chroma(rgb: np.ndarray) -> float:
    import cv2

    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def test_a_colourised_photo_offers_colour_black_and_white_and_original(
    make_window, tmp_path, colouriser
):
    window = make_window()
    grey = _grey_print()
    mono, colour = _restored(window.library, tmp_path, "grandma.png", grey, colouriser)
    win = window.windows.open_compare(colour.id)
    controls = win.colour_controls
    assert controls is not None and controls.isVisible()
    texts = [b.text() for b in controls.findChildren(QRadioButton)]
    assert texts == ["Colour", "Black and white", "Original"]
    assert "Colour strength" in [label.text() for label in controls.findChildren(QLabel)]
    assert all("--" not in b.toolTip() for b in controls.findChildren(QRadioButton))
    # the colour restoration is shown first, at full strength: the file itself
    assert controls.choice() == "colour" and controls.slider.value() == 100
    shown = _rgb(win.after)
    assert np.abs(shown.astype(int) - np.asarray(Image.open(colour.path))).max() <= 1
    assert _chroma(shown) > 3
    controls.buttons["black_and_white"].click()
    assert np.array_equal(_rgb(win.after), grey) and not controls.slider.isEnabled()
    assert np.array_equal(_rgb(win.split._right), grey)  # what the views paint
    controls.buttons["original"].click()
    assert np.array_equal(_rgb(win.after), _rgb(win.before))
    controls.buttons["colour"].click()
    assert controls.slider.isEnabled() and _chroma(_rgb(win.after)) > 3
    win.close()
    # opened on the black-and-white restoration, the same choices, that one shown first
    win = window.windows.open_compare(mono.id)
    assert win.colour_controls is not None and win.colour_controls.choice() == "black_and_white"
    assert np.array_equal(_rgb(win.after), grey)


def test_colour_strength_changes_colour_but_not_light_and_dark(
    qtbot, make_window, tmp_path, colouriser
):
    window = make_window()
    grey = _grey_print()
    _mono, colour = _restored(window.library, tmp_path, "grandma.png", grey, colouriser)
    win = window.windows.open_compare(colour.id)
    slider = win.colour_controls.slider
    full = _rgb(win.after)
    lum = colourise.lightness(grey)
    for value in (30, 0):
        slider.setValue(value)
        shown = _rgb(win.after)
        assert np.array_equal(_rgb(win.side_by_side.right.item.pixmap().toImage()), shown)
        # lightness within 1 L* of the black-and-white restoration's (and the full colour's)
        assert np.abs(colourise.lightness(shown) - lum).max() < 1.0
        assert np.abs(colourise.lightness(shown) - colourise.lightness(full)).max() < 1.0
        assert _chroma(shown) == pytest.approx(value / 100 * _chroma(full), abs=0.5)
    assert _chroma(_rgb(win.after)) < 0.5  # no colour left at 0
    qtbot.keyClick(slider, Qt.Key_PageUp)  # the keyboard moves it too, 10 at a time
    assert slider.value() == 10 and win.colour_controls.value_label.text() == "10%"
    assert _chroma(_rgb(win.after)) == pytest.approx(0.1 * _chroma(full), abs=0.5)


def test_the_colour_strength_is_kept_for_each_photo(make_window, tmp_path, colouriser):
    from gen2res_desktop.library.colour import colour_strength

    window = make_window()
    lib = window.library
    _m, grandma = _restored(lib, tmp_path, "grandma.png", _grey_print(), colouriser)
    _m, grandpa = _restored(lib, tmp_path, "grandpa.png", _grey_print(40), colouriser)
    win = window.windows.open_compare(grandma.id)
    win.colour_controls.slider.setValue(40)
    pale = _rgb(win.after)
    win.close()
    win = window.windows.open_compare(grandpa.id)
    assert win.colour_controls.slider.value() == 100  # the other photo keeps its own
    win.colour_controls.slider.setValue(70)
    win.close()
    win = window.windows.open_compare(grandma.id)
    assert win.colour_controls.slider.value() == 40
    assert win.colour_controls.value_label.text() == "40%"
    assert np.array_equal(_rgb(win.after), pale)
    # Export writes the colour photo at the strength chosen
    win.choose_export_path = lambda side_by_side: tmp_path / "grandma-restored.png"
    exported = np.asarray(Image.open(win.export(side_by_side=False)).convert("RGB"))
    assert np.abs(exported.astype(int) - pale).max() <= 1
    win.close()
    assert window.windows.open_compare(grandpa.id).colour_controls.slider.value() == 70
    # kept in the library, with the colourised restoration (export reads it there)
    assert colour_strength(lib.get_restoration(grandma.id)) == 0.4
    assert colour_strength(lib.get_restoration(grandpa.id)) == 0.7


def test_a_photo_without_colour_shows_no_colour_controls(make_window, tmp_path):
    window = make_window()
    mono, _ = _restored(window.library, tmp_path, "grandma.png", _grey_print())
    win = window.windows.open_compare(mono.id)
    assert win is not None and win.colour_controls is None
    assert win.findChildren(QSlider) == []
    assert [b.text() for b in win.findChildren(QRadioButton)] == []
    assert np.array_equal(_rgb(win.after), _grey_print())


def test_the_restorations_list_tells_the_colour_one_from_the_black_and_white_one(
    make_window, tmp_path, colouriser
):
    from gen2res_desktop.ui.details import restoration_label

    window = make_window()
    mono, coloured = _restored(window.library, tmp_path, "grandpa.png", _grey_print(), colouriser)
    assert "in colour" in restoration_label(coloured)
    assert "in colour" not in restoration_label(mono)
