"""The toy-world benchmark's smoke scale end to end: it runs and writes its three outputs.

No quality assertions (a 20-step prior restores nothing); the numbers must only be real
numbers, and the figure a real image.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import torch
from PIL import Image

from benchmarks.toyworld.__main__ import main
from benchmarks.toyworld.degrade import degrade
from benchmarks.toyworld.identity import IdentityScorer, _shift_px, ensure_idnet
from benchmarks.toyworld.metrics import mean_spectrum, score
from benchmarks.toyworld.scales import CPU, SMOKE
from benchmarks.toyworld.world import make_identity, render


def test_smoke_scale_writes_table_json_and_figure(tmp_path):
    out, cache = tmp_path / "results", tmp_path / "cache"
    args = ["--scale", "smoke", "--out", str(out), "--cache", str(cache), "--device", "cpu"]
    assert main([*args, "--threads", "1"]) == 0

    table = (out / "toyworld_smoke.md").read_text()
    assert "| method | K | identity" in table
    for label in ("damaged input", "prior alone", "generative album", "full fine-tune"):
        assert label in table
    assert "## Goals for the product defaults" in table
    assert "## The identity metric's own numbers" in table

    data = json.loads((out / "toyworld_smoke.json").read_text())
    arms = {row["arm"] for row in data["per_photo"]}
    assert {"input", "prior", "single", "personal_attn", "personal_conv", "full"} <= arms
    assert "default_allk" in arms and data["default_arm"] in arms
    assert all(math.isfinite(row[m]) for row in data["per_photo"] for m in ("psnr", "identity"))
    assert all(-1.0 <= row["identity"] <= 1.0 for row in data["per_photo"])
    assert data["goals"] and all(g["verdict"] in ("met", "not met") for g in data["goals"])
    assert data["identity_metric_sanity"]["clean"]["retrieval_top1"] >= 0

    fig = Image.open(out / "toyworld_smoke.png")
    fig.load()
    assert fig.width > 500 and fig.height > 200
    assert np.asarray(fig).std() > 10  # drawn, not blank

    # the prior and the identity net are cached: a rerun reuses them instead of training
    assert len(list(cache.glob("prior-*/priors/toyworld/prior.json"))) == 1
    assert len(list(cache.glob("idnet-*/idnet.safetensors"))) == 1


def test_cpu_scale_runs_the_product_defaults_and_the_paper_recipe():
    from gen2res_desktop.core import defaults

    assert CPU.personal.steps == defaults.TRAIN_STEPS and CPU.personal.lr == defaults.TRAIN_LR
    assert tuple(CPU.personal.targets) == tuple(defaults.LORA_TARGETS)
    assert CPU.restore_steps == defaults.RESTORE_STEPS
    assert CPU.album.count == defaults.ALBUM_COUNT
    assert CPU.album.strength == defaults.ALBUM_STRENGTH
    assert CPU.personal == replace(CPU.single_train, steps=defaults.TRAIN_STEPS)
    assert CPU.full is not None and CPU.full.steps * CPU.full.batch_size == 20_000
    assert CPU.full.lr == 1e-5
    assert CPU.default_arm() in CPU.personal_arms()


def test_identity_net_is_deterministic_and_tolerates_a_pixel_shift(tmp_path):
    cfg = replace(SMOKE.idnet, steps=30)
    torch.set_num_threads(1)
    a, rec = ensure_idnet(cfg, tmp_path / "a", log=lambda m: None)
    b, _ = ensure_idnet(cfg, tmp_path / "b", log=lambda m: None)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert len(rec["sha256"]) == 64
    photo = render(make_identity(5), 0, 32).image
    scorer = IdentityScorer(a)
    e = scorer.embed([photo, _shift_px(photo, 1, 1)])
    assert e.shape == (2, cfg.dim)
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert float(e[0] @ e[1]) > 0.5


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
