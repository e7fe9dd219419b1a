"""The built-in damage detector's training script: its patches come from the dev
generator with their true maps, a short run learns, and what it saves is what the app
loads (so the shipped weights can be remade with `python -m benchmarks.oldphoto.train_detector`)."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.oldphoto import train_detector as td
from benchmarks.oldphoto.degrade import age
from benchmarks.oldphoto.photos import natural
from gen2res_desktop.core.photo import damage_net


def test_patches_train_and_load_as_the_app_loads_them(tmp_path):
    rng = np.random.default_rng(0)
    aged = age(natural("camera", 0.1).image, 3, monochrome=True, amount=2.0)
    crops = td._crops(damage_net.normalise(aged.image), aged.mask, 12, rng, near_damage=1.0)
    assert len(crops) == 12
    x = np.stack([c.transpose(2, 0, 1) for c, _ in crops]).astype(np.float16)
    y = np.stack([m for _, m in crops]).astype(np.uint8)
    assert x.shape == (12, 3, td.PATCH, td.PATCH) and y.any()
    net = td.train(x, y, steps=3, batch=4)
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path)
    loaded = damage_net.load(path)
    p = damage_net.probability(aged.image, loaded)
    assert p.shape == aged.mask.shape and np.isfinite(p).all()
