"""The procedural texture photos: every kind renders at any size, the same for a seed and
different for another, with real structure and not pixel noise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.oldphoto.textures import KINDS, texture

SIZE = (160, 200)  # not square, so rows and columns cannot be swapped unnoticed
SEEDS = (0, 1, 2)


def test_there_are_six_kinds_or_more():
    assert len(KINDS) >= 6 and len(set(KINDS)) == len(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_an_rgb_photo_of_the_asked_size(kind: str):
    img = texture(kind, 0, SIZE)
    assert img.dtype == np.uint8 and img.shape == (*SIZE, 3)
    assert texture(kind, 0, 48).shape == (48, 48, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_per_seed_and_different_for_another(kind: str):
    a = texture(kind, 7, SIZE)
    assert np.array_equal(a, texture(kind, 7, SIZE))
    b = texture(kind, 8, SIZE)
    assert np.abs(a.astype(int) - b).mean() > 5


@pytest.mark.parametrize("kind", KINDS)
def test_textured_but_not_pixel_noise(kind: str):
    for seed in SEEDS:
        img = texture(kind, seed, SIZE)
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        # measured over 30 seeds: the flattest (fine knit) still has a std of 8.7
        assert grey.std() > 6, (kind, seed)
        # a blur of sigma 1 moves them by at most 11.3 levels on average (fine knit); it
        # moves uniform noise by about 55: these are defocused photos, not noise
        blurred = cv2.GaussianBlur(img, (0, 0), 1.0)
        assert np.abs(blurred.astype(np.float32) - img).mean() < 16, (kind, seed)
        # exposed like a photo: highlights clip in dots (at most 0.5% measured), shadows
        # crush only in the deepest gaps between leaves (at most 1.5%)
        assert (img > 250).mean() < 0.02 and (img < 5).mean() < 0.05, (kind, seed)


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="pebbles"):
        texture("marble", 0, 64)


@pytest.mark.parametrize("kind", ["pebbles", "shingle"])
def test_stones_carry_small_highlights(kind: str):
    """The bright dots on wet stone a dust detector takes for specks: most seeds have some
    (over 30 seeds measured, one pebble bed in 30 was dry enough to have none)."""
    with_dots = 0
    for seed in range(6):
        img = texture(kind, seed, SIZE)
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        above = grey - cv2.medianBlur(img, 7).mean(axis=2)  # brighter than what is around
        with_dots += int(((grey > 200) & (above > 40)).sum() > 0)
    assert with_dots >= 4
