"""The old-photo benchmark's smoke scale end to end: it runs and writes its three outputs,
and its metrics measure what they claim."""

from __future__ import annotations

import json
import math

import numpy as np
from PIL import Image

from benchmarks.oldphoto import metrics
from benchmarks.oldphoto.__main__ import main
from benchmarks.oldphoto.degrade import KINDS, age
from benchmarks.oldphoto.photos import natural
from benchmarks.oldphoto.run import RUNS, STAGES_ONLY_DAMAGE
from gen2res_desktop.core.photo.repair import repair_photo


def test_smoke_scale_writes_table_json_and_figure(tmp_path):
    assert main(["--scale", "smoke", "--out", str(tmp_path)]) == 0

    table = (tmp_path / "oldphoto_smoke.md").read_text()
    for label in ("## Goals", "## Damage map", "## Speed", "full pipeline, true damage map"):
        assert label in table

    data = json.loads((tmp_path / "oldphoto_smoke.json").read_text())
    assert len(data["per_photo"]) == 3
    for photo in data["per_photo"]:
        assert set(photo["runs"]) == set(RUNS)
        for run in photo["runs"].values():
            for key in ("psnr", "ssim", "psnr_matched", "ssim_matched"):
                assert math.isfinite(run[key])
        overall = photo["damage"]["overall"]
        assert all(0.0 <= overall[k] <= 1.0 for k in ("precision", "recall", "iou"))
        assert math.isfinite(photo["damage"]["fp_clean"])
    speed = data["summary"]["speed"]
    assert speed["full_wall_s_per_mp"] > 0 and math.isfinite(speed["full_cpu_s_per_mp"])
    assert len(data["checks"]) == 4

    fig = Image.open(tmp_path / "oldphoto_smoke.png")
    fig.load()
    assert fig.width >= 1000 and fig.height > 300
    assert np.asarray(fig).std() > 10  # drawn, not blank


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
