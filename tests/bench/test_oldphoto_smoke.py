"""The old-photo benchmark's metrics measure what they claim, and generator 1 is seeded
(the smoke run of both splits is in test_oldphoto_generators.py)."""

from __future__ import annotations

import numpy as np

from benchmarks.oldphoto import metrics
from benchmarks.oldphoto.degrade import KINDS, age
from benchmarks.oldphoto.photos import natural
from benchmarks.oldphoto.run import STAGES_ONLY_DAMAGE
from gen2res_desktop.core.photo.repair import repair_photo


def test_true_damage_map_scores_perfectly_and_ageing_is_seeded():
    clean = natural("astronaut", 0.04)
    aged = age(clean.image, 5)
    again = age(clean.image, 5)
    assert np.array_equal(aged.image, again.image) and np.array_equal(aged.mask, again.mask)
    assert aged.mask.any() and not np.array_equal(aged.image, clean.image)
    assert all(aged.kinds[k].shape == aged.mask.shape for k in KINDS)
    result = repair_photo(aged.image, STAGES_ONLY_DAMAGE, damage_map=aged.mask * 255)
    assert metrics.overlap(result.damage_map > 0, aged.mask)["iou"] == 1.0
    assert metrics.kind_scores(aged.mask, aged.mask, aged.kinds["scratch"])["iou"] == 1.0
    assert metrics.overlap(np.zeros_like(aged.mask), aged.mask)["recall"] == 0.0


def test_quality_ignores_a_global_tone_shift_but_not_damage():
    clean = natural("chelsea", 0.04).image
    shifted = np.clip(clean.astype(np.float64) * 0.6 + 60, 0, 255).astype(np.uint8)
    q = metrics.quality(shifted, clean)
    assert q["psnr_matched"] > 40 and q["ssim_matched"] > 0.99
    assert q["psnr"] < 25
    damaged = age(clean, 1).image
    assert metrics.quality(damaged, clean)["psnr_matched"] < 35
