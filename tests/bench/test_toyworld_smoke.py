"""The toy-world benchmark's smoke scale end to end: it runs and writes its three outputs.

No quality assertions (a 20-step prior restores nothing); the numbers must only be real
numbers, and the figure a real image.
"""

from __future__ import annotations

import json
import math

import numpy as np
from PIL import Image

from benchmarks.toyworld.__main__ import main
from benchmarks.toyworld.degrade import degrade
from benchmarks.toyworld.metrics import mean_spectrum, score
from benchmarks.toyworld.world import make_identity, render


def test_smoke_scale_writes_table_json_and_figure(tmp_path):
    out, cache = tmp_path / "results", tmp_path / "cache"
    args = ["--scale", "smoke", "--out", str(out), "--cache", str(cache), "--device", "cpu"]
    assert main([*args, "--threads", "1"]) == 0

    table = (out / "toyworld_smoke.md").read_text()
    assert "| method | K |" in table
    for label in ("degraded input", "prior alone", "generative album", "personal album"):
        assert label in table

    data = json.loads((out / "toyworld_smoke.json").read_text())
    arms = {row["arm"] for row in data["per_photo"]}
    assert arms == {"input", "prior", "single", "personal", "personal_conv"}
    # 1 input + 4 arms x 2 K, all finite
    assert len(data["per_photo"]) == 9
    assert all(
        math.isfinite(row["psnr"]) and math.isfinite(row["detail"]) for row in data["per_photo"]
    )
    assert data["checks"] and all(c["verdict"] for c in data["checks"])

    fig = Image.open(out / "toyworld_smoke.png")
    fig.load()
    assert fig.width > 500 and fig.height > 200
    assert np.asarray(fig).std() > 10  # drawn, not blank

    # the prior is cached: a rerun reuses it instead of training again
    priors = list(cache.glob("prior-*/priors/toyworld/prior.json"))
    assert len(priors) == 1


def test_world_is_deterministic_and_identities_differ():
    a, b = render(make_identity(7), 3, 32), render(make_identity(7), 3, 32)
    assert np.array_equal(a.image, b.image)
    assert a.face_mask.sum() > 100 and 0 < a.detail_mask.sum() < a.face_mask.sum()
    other = render(make_identity(8), 3, 32)
    assert not np.array_equal(a.image, other.image)
    damaged, defects = degrade(a.image, 1)
    assert defects and np.abs(damaged.astype(int) - a.image).mean() > 1


def test_scores_ignore_tone_shift_but_not_lost_detail():
    photo = render(make_identity(11), 0, 32)
    spectrum = mean_spectrum([render(make_identity(100 + i), 0, 32).image for i in range(8)])
    faded = (photo.image.astype(np.float64) / 255) * 0.6 + 0.25
    same = score(faded, photo.image, photo.face_mask, photo.detail_mask, spectrum)
    assert same.psnr > 60 and same.ssim > 0.999 and same.detail < 1e-6
    no_moles = make_identity(11).__class__(**{**make_identity(11).__dict__, "moles": ()})
    plain = render(no_moles, 0, 32).image
    lost = score(plain, photo.image, photo.face_mask, photo.detail_mask, spectrum)
    assert lost.detail > 0.8
