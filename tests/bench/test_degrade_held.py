"""Generator 4 (held out of training): determinism, truth masks and toned damage."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data

from benchmarks.oldphoto.degrade import VISIBLE
from benchmarks.oldphoto.degrade_held import KINDS, PROFILES, STAINS, AgedHeld, age_held

# a profile that draws each kind
_DRAWS = {
    "craquelure": "craquelure",
    "crack": "cracked",
    "fold": "creased",
    "tear": "torn",
    "flake": "flaking",
    "scratch": "scratched",
    "hair": "scratched",
    "dust": "scratched",
    "pen": "inked",
    "edge": "torn",
}


def _photo(side: int = 320, name: str = "astronaut") -> np.ndarray:
    img = getattr(data, name)()
    h, w = img.shape[:2]
    s = side / max(h, w)
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def test_same_seed_same_bytes_other_seed_differs():
    img = _photo()
    a, b = age_held(img, 5), age_held(img, 5)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.undamaged, b.undamaged)
    assert np.array_equal(a.mask, b.mask) and a.recipe == b.recipe
    assert not np.array_equal(a.image, age_held(img, 6).image)


@pytest.mark.parametrize("profile", PROFILES)
def test_shapes_dtypes_and_disjoint_kinds(profile):
    img = _photo(300, "coffee")
    a = age_held(img, 3, profile=profile)
    assert isinstance(a, AgedHeld)
    assert a.image.shape == img.shape and a.image.dtype == np.uint8
    assert a.undamaged.shape == img.shape and a.undamaged.dtype == np.uint8
    assert a.mask.shape == img.shape[:2] and a.mask.dtype == bool
    assert set(a.kinds) == set(KINDS) and set(a.stains) == set(STAINS)
    total = np.zeros(a.mask.shape, int)
    for m in a.kinds.values():
        assert m.dtype == bool and m.shape == a.mask.shape
        assert not (m & ~a.mask).any()
        total += m
    assert total.max() <= 1 and np.array_equal(total > 0, a.mask)
    assert a.mask.mean() < 0.25
    json.dumps(a.recipe)


def test_every_kind_reaches_the_truth():
    img = _photo()
    seen = set()
    for kind, profile in _DRAWS.items():
        for seed in range(3):
            if age_held(img, seed, profile=profile).kinds[kind].any():
                seen.add(kind)
                break
    assert seen == set(KINDS)


@pytest.mark.parametrize("profile", ["mixed", "scratched", "inked"])
def test_outside_the_mask_the_twins_agree_up_to_the_scan(profile):
    img = _photo()
    a = age_held(img, 9, profile=profile)
    diff = np.abs(a.image.astype(int) - a.undamaged.astype(int)).max(2)
    # Off the mask only changes below VISIBLE remain (faint craquelure, a scratch on a
    # highlight), plus JPEG blocks spreading a mark's change a little.
    far = cv2.dilate(a.mask.astype(np.uint8), np.ones((17, 17), np.uint8)) == 0
    assert far.any() and np.percentile(diff[far], 99.9) <= VISIBLE * 255 + 4
    # both twins share the scan noise, so most pixels match exactly
    assert np.mean(diff[far] <= 2) > (0.85 if profile == "mixed" else 0.95)
    assert diff[a.mask].mean() > 10


def test_stained_print_has_no_damage_but_is_changed():
    img = _photo()
    for seed in range(3):
        a = age_held(img, seed, profile="stained")
        assert a.mask.mean() < 0.001
        assert any(m.any() for m in a.stains.values())
        assert np.abs(a.image.astype(int) - img.astype(int)).mean() > 5
        assert np.abs(a.image.astype(int) - a.undamaged.astype(int)).max() <= 3


def test_crease_is_a_stain_and_the_broken_fold_is_damage():
    a = age_held(_photo(), 1, profile="creased")
    assert a.stains["crease"].any() and a.kinds["fold"].any()


def _warm_only(rgb: np.ndarray, tol: int = 14) -> float:
    """Fraction of pixels off a toned (grey to sepia) print's palette: R >= G >= B."""
    x = rgb.astype(int)
    bad = (x[..., 1] > x[..., 0] + tol) | (x[..., 2] > x[..., 1] + tol)
    return float(bad.mean())


@pytest.mark.parametrize("profile", ["mixed", "inked", "scratched", "torn"])
def test_monochrome_prints_and_their_damage_are_toned(profile):
    img = _photo()
    assert _warm_only(img) > 0.05  # the colour photo is far off a toned palette
    for seed in range(2):
        a = age_held(img, seed, monochrome=True, profile=profile)
        assert _warm_only(a.image) < 0.002
        x = a.image.astype(int)
        assert np.percentile(x[..., 0] - x[..., 2], 99.9) < 80  # a tone cast, not colour
