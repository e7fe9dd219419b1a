"""Generator 3, the damage detector's training-only generator: each kind it promises is
drawn and in the truth map, and what is not damage (stains, a fold's shading) is in the
undamaged twin too, so the detector is taught to leave it."""

from __future__ import annotations

import numpy as np

from benchmarks.oldphoto import degrade_train as g3
from benchmarks.oldphoto.photos import natural


def _photo() -> np.ndarray:
    return natural("coffee", 0.16).image[:, :400]


def test_deterministic_per_seed():
    img = _photo()
    a, b = g3.age_train(img, 4), g3.age_train(img, 4)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, g3.age_train(img, 5).image)


def test_every_kind_turns_up_and_lies_inside_the_truth():
    img = _photo()
    seen: set[str] = set()
    for seed in range(40):
        aged = g3.age_train(img, seed, amount=1.5)
        for kind, region in aged.kinds.items():
            assert not (region & ~aged.mask).any()
            if region.sum() > 20:
                seen.add(kind)
        # damage changes the print where the truth says, and not elsewhere by much
        diff = np.abs(aged.image.astype(int) - aged.undamaged.astype(int)).max(axis=2)
        far = ~np.asarray(aged.mask)
        assert np.percentile(diff[far], 99) < 40
        if aged.mask.sum() > 200:
            assert np.median(diff[aged.mask]) > 8
    assert seen == set(g3.KINDS)


def test_stains_change_the_print_but_are_not_damage():
    img = _photo()
    flat = np.full((120, 160, 3), 0.6, np.float32)
    changed = 0
    for seed in range(20):
        out = flat.copy()
        if g3._stains(out, np.random.default_rng(seed), np.zeros((120, 160), np.float32)):
            changed += np.abs(out - flat).max() > 0.03
    assert changed >= 5
    areas = {"crazing", "tear", "edge", "pen", "crease", "flakes"}
    stained_only = 0
    for seed in range(60):
        aged = g3.age_train(img, seed, amount=0.0)  # no lines or specks
        if aged.recipe["stains"] and not areas & set(aged.recipe):
            stained_only += 1
            assert not aged.mask.any()
            assert np.abs(aged.image.astype(int) - aged.undamaged.astype(int)).max() <= 2
    assert stained_only
