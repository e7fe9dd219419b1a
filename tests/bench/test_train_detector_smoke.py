"""The built-in damage detector's training script: its patches come from the dev
generator with their true maps, a short run learns, and what it saves is what the app
loads (so the shipped weights can be remade with `python -m benchmarks.oldphoto.train_detector`)."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from benchmarks.oldphoto import train_detector as td
from benchmarks.oldphoto.degrade import age
from benchmarks.oldphoto.faces import feature_mask, toy_landmarks
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


def test_speck_patches_hold_light_and_dark_specks_and_start_a_fine_tune(tmp_path):
    camera = natural("camera", 0.1)
    photos = [("camera", camera.image, True, 6), ("astronaut", natural("astronaut", 0.1).image, False, 6)]  # fmt: skip
    x, y = td.mark_patches(("specks",), 1, photos)
    assert len(x) == 8  # two prints of the camera man, four crops each; no astronaut
    assert x.shape[1:] == (3, td.PATCH, td.PATCH) and y.shape == (8, td.PATCH, td.PATCH)
    specks = x[:, 0][y > 0].astype(np.float32)
    assert (specks > 0.5).any() and (specks < -0.5).any()  # paper white and dirt
    assert 0 < y.mean() < 0.1
    net = td.train(x, y, steps=2, batch=4)
    again = td.train(x, y, steps=2, batch=4, lr_max=3e-4, init=net.state_dict(), extra=(x, y))
    assert set(again.state_dict()) == set(net.state_dict())


def test_bundles_are_groups_of_parallel_scratches():
    layer = np.zeros((800, 800), np.uint8)  # a 200 px print, drawn at 4x
    td._bundles(np.random.default_rng(4), 200, 200, layer)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((layer > 0).astype(np.uint8))
    angles = []
    for lab in range(1, n):
        if stats[lab, cv2.CC_STAT_AREA] < 200:
            continue
        ys, xs = np.nonzero(labels == lab)
        (_, _), (a, b), angle = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        angles.append((angle + (90 if a < b else 0)) % 180)
    assert len(angles) >= 2
    gaps = [min(abs(x - y), 180 - abs(x - y)) for i, x in enumerate(angles) for y in angles[i + 1 :]]  # fmt: skip
    assert min(gaps) < 10  # at least two lines run side by side


def test_texture_prints_add_their_unaged_crops_with_empty_maps():
    photos = td._textures(1)
    assert len(photos) == len(td.TEXTURES) and photos[0][0].startswith("texture ")
    x, y = td.mark_patches(("bundles",), 1, photos[:1])
    assert len(x) == 16  # two prints, each four aged crops with marks, four of the texture
    assert y[:4].any() and not y[4:8].any() and not y[12:].any()


def test_skin_specks_land_on_the_face_and_off_its_features():
    size = 256
    skin = td._toy_skin("toy 0", size, (128, 128))  # the print at half the render's size
    pts = toy_landmarks(td.TRAIN_TOY_SEED, td.TRAIN_TOY_SEED - td.TOY_SEED, size) / 2
    features = feature_mask((128, 128), [pts])
    assert skin.any() and not (skin.astype(bool) & features).any()
    inside = np.zeros((128, 128), np.uint8)
    cv2.fillConvexPoly(inside, cv2.convexHull(np.round(pts[:17]).astype(np.int32)), 1)
    assert (skin & inside).sum() > 0.5 * skin.sum()  # mostly cheeks and chin, some forehead
    layer = np.zeros((512, 512), np.uint8)
    td._skin_specks(np.random.default_rng(0), skin, layer)
    specks = cv2.resize(layer, (128, 128), interpolation=cv2.INTER_AREA) > 0
    assert specks.any() and (specks & skin.astype(bool)).sum() > 0.5 * specks.sum()


def test_content_lines_are_thin_soft_and_no_damage():
    img = natural("coffee", 0.1).image
    drawn = td.content_lines(np.random.default_rng(2), img)
    changed = np.abs(drawn.astype(np.int16) - img).max(axis=2) > 20
    assert drawn.shape == img.shape and drawn.dtype == np.uint8
    assert 0 < changed.mean() < 0.1  # a few poles or cables, not a veil
    # lines, not blobs: the largest is a few pixels wide along its length
    n, _, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8))
    x, y, bw, bh, area = stats[1 + stats[1:, cv2.CC_STAT_AREA].argmax()]
    assert n > 1 and area / max(bw, bh) < 8
    photos = [("coffee", img, False, 3)]
    x, y = td.mark_patches(("specks",), 1, photos, content=True)
    plain = td.mark_patches(("specks",), 1, photos)[1]
    # the lines are in the prints, never in their maps: the maps are those of the marks
    assert x.shape[0] == plain.shape[0] and y.mean() < 0.1
