"""The OpenCV repair stages one by one: tone and colour, denoising, inpainting."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from benchmarks.oldphoto.photos import sepia
from gen2res_desktop.core.photo import denoise, inpaint, tone


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def chroma(rgb: np.ndarray) -> np.ndarray:
    """How far each pixel is from gray (grey levels)."""
    return np.abs(rgb.astype(np.float64) - rgb.mean(axis=2, keepdims=True)).max(axis=2)


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


def fade(rgb: np.ndarray) -> np.ndarray:
    """A faded print: contrast lost, blacks lifted, yellowed (red up, blue down)."""
    img = rgb.astype(np.float32) / 255
    out = ((img - 0.5) * 0.6 + 0.5 + 0.08) * np.array([1.08, 1.0, 0.85], np.float32)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


# ---- tone and colour


def test_faded_cast_photo_gets_its_range_and_colour_back(astronaut):
    faded = fade(astronaut)
    out = tone.correct_tone(faded)
    # measured: 32.9 grey levels off before, 10.2 after
    assert mad(out, astronaut) < 0.5 * mad(faded, astronaut)
    cast_before = np.abs(faded.mean(axis=(0, 1)) - astronaut.mean(axis=(0, 1)))
    cast_after = np.abs(out.mean(axis=(0, 1)) - astronaut.mean(axis=(0, 1)))
    assert cast_after.max() < 0.5 * cast_before.max()
    # the contrast comes back towards the original's (per channel std 74/68/67 vs 82/77/78)
    assert (out.std(axis=(0, 1)) > faded.std(axis=(0, 1)) * 1.25).all()
    assert tone.fading(out) < tone.fading(faded)


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_well_exposed_photo_changes_little(name):
    """Both already span the whole range (fading 0), so the levels do nothing and only a
    light local contrast (CLAHE at 0.25 x 0.5 x strength) is blended in: measured 0.8 and
    1.7 grey levels of mean change; a visible change would be several times that."""
    img = getattr(data, name)()
    assert tone.fading(img) == 0.0
    assert mad(tone.correct_tone(img), img) < 2.5


def test_strength_zero_is_a_no_op(astronaut):
    faded = fade(astronaut)
    assert np.array_equal(tone.correct_tone(faded, 0.0), faded)


def test_monochrome_photos_stay_monochrome_and_colour_is_colour(astronaut):
    gray = np.repeat(data.camera()[..., None], 3, axis=2)
    toned = sepia(astronaut)
    assert not tone.is_monochrome(astronaut)
    assert not tone.is_monochrome(data.coffee())
    for img in (gray, toned, fade(toned)):
        assert tone.is_monochrome(img)
        assert tone.is_monochrome(tone.correct_tone(img))
    # the gray one stays gray, the sepia one keeps its tone ...
    assert chroma(tone.correct_tone(gray)).max() <= 1
    assert np.percentile(chroma(tone.correct_tone(toned)), 90) > 5
    # ... unless asked for neutral
    neutral = tone.correct_tone(fade(toned), monochrome="neutral")
    assert tone.is_monochrome(neutral) and chroma(neutral).max() <= 1
    # and a colour photo treated as monochrome keeps nothing of its colour: "colour" keeps it
    assert chroma(tone.correct_tone(astronaut, monochrome="colour")).mean() > 20


def test_tint_round_trip(astronaut):
    toned = sepia(astronaut)
    tint = tone.monochrome_tint(toned)
    assert tint is not None
    again = tone.apply_tint(
        np.repeat(cv2.cvtColor(toned, cv2.COLOR_RGB2GRAY)[..., None], 3, 2), tint
    )
    assert mad(again, toned) < 3


# ---- denoising


@pytest.fixture(scope="module")
def noisy(astronaut):
    rng = np.random.default_rng(0)
    grain = rng.normal(0, 12, astronaut.shape[:2])[..., None] + rng.normal(0, 4, astronaut.shape)
    return np.clip(astronaut + grain, 0, 255).astype(np.uint8)


def test_noisy_photo_gets_closer_to_the_clean_one(astronaut, noisy):
    out, h = denoise.denoise_opencv(noisy, 0.5)
    assert h > 5  # measured 9.3 (sigma 12 white grain, plus a little colour noise)
    # measured: 9.2 grey levels off before, 6.2 after
    assert mad(out, astronaut) < 0.75 * mad(noisy, astronaut)


def test_clumped_grain_is_measured():
    """Grain clumped over a few pixels (as scans show it) is measured, not missed."""
    rng = np.random.default_rng(3)
    flat = np.full((256, 256), 128.0, np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 1, flat.shape).astype(np.float32), (0, 0), 0.8)
    grain *= 6.0 / grain.std()
    img = np.repeat(np.clip(flat + grain, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    assert 4.0 < denoise.estimate_noise(img) < 8.0


def test_clean_photo_is_left_alone(astronaut):
    assert denoise.estimate_noise(astronaut) < 2.0  # measured 1.2: JPEG and fine texture
    out, h = denoise.denoise_opencv(astronaut, 0.5)
    assert h == 0.0
    assert np.array_equal(out, astronaut)


def test_tiled_and_whole_denoising_agree(noisy):
    whole, h1 = denoise.denoise_opencv(noisy, 0.5)
    tiled, h2 = denoise.denoise_opencv(noisy, 0.5, tile=200)
    assert h1 == h2
    # the overlap exceeds the filter's reach, so tiles agree exactly (measured 0)
    assert np.abs(whole.astype(int) - tiled).max() <= 1


def test_monochrome_denoising_keeps_the_tint(astronaut, noisy):
    toned = sepia(noisy)
    out, h = denoise.denoise_opencv(toned, 0.5, monochrome=True)
    assert h > 0 and tone.is_monochrome(out)


def test_sharpening_leaves_grain_under_the_threshold_alone():
    rng = np.random.default_rng(4)
    img = np.clip(128 + rng.normal(0, 1.0, (64, 64, 3)), 0, 255).astype(np.uint8)
    assert np.abs(denoise.sharpen(img, 0.5, threshold=10).astype(int) - img).max() <= 1
    assert np.abs(denoise.sharpen(img, 0.5).astype(int) - img).max() >= 1


# ---- inpainting


def test_inpainting_fills_the_mask_and_nothing_far_from_it(astronaut):
    img = astronaut.copy()
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.line(mask, (40, 100), (470, 160), 255, 3)
    cv2.circle(mask, (300, 400), 4, 255, -1)
    img[mask > 0] = (255, 0, 255)
    out = inpaint.inpaint_opencv(img, mask)
    filled = mask > 0
    assert not (out[filled] == (255, 0, 255)).all(axis=1).any()
    assert mad(out[filled], astronaut[filled]) < 25  # measured 11
    far = cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0
    assert np.array_equal(out[far], img[far])


def test_empty_mask_returns_a_copy(astronaut):
    out = inpaint.inpaint_opencv(astronaut, np.zeros(astronaut.shape[:2], np.uint8))
    assert np.array_equal(out, astronaut) and out is not astronaut


def test_grow_widens_the_mask():
    mask = np.zeros((20, 20), np.uint8)
    mask[10, 10] = 255
    assert inpaint.grow(mask, 2).sum() > inpaint.grow(mask, 1).sum() > mask.sum()
    assert inpaint.grow(mask, 0) is mask
