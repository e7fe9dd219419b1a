"""Candidate damage networks side by side, on what round 12's rule judges them by
(``benchmarks/results/oldphoto_notes.md``), so the next round's rule can be checked with
one command instead of scripts of its own:

* the held split's prints through the product's map (the network's two looks, the cut with
  a sure core, torn corners, the face guard): mean IoU, and the share of the prints' clean
  and aged-but-undamaged twins marked;
* the skin probe: white specks on the astronaut's plain skin (off her features), three sets
  of them, and how many the network is sure of (0.6 or more) or puts over the cut (one set
  of 20 is too few: round 12's first scoring and this one's, with other specks, differed
  by a speck for every network, and the gate with them);
* the camera man without damage: the share over the cut (``test_damage_net`` allows 1.5%);
* with ``--scans``, the mean share of the real scans named in ``--undamaged`` (those with no
  damage on them; all, when none are named) that the network's map marks: what it takes
  for damage on real prints.

    python -m benchmarks.oldphoto.candidates gen2res_desktop/data/damage_net.pt /tmp/v26.pt \
        --scans SCANS_DIR --undamaged HR,old_a,old_b

The held maps are cached per network (``--cache``); the test split is never read.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

from benchmarks.oldphoto import splits
from benchmarks.oldphoto.metrics import overlap
from benchmarks.oldphoto.run import found_faces
from gen2res_desktop.core.faces import detect_faces
from gen2res_desktop.core.images import list_images, load_rgb
from gen2res_desktop.core.photo import damage_net
from gen2res_desktop.core.photo.face_safe import face_guard
from gen2res_desktop.core.photo.missing_paper import missing_paper

PROBE_SPECKS = 32  # per set, at most: as many as fit 9 px apart
PROBE_SEEDS = (1234, 1235, 1236)


@dataclass
class Score:
    name: str
    held_iou: float = float("nan")
    clean_marked: float = float("nan")
    undamaged_marked: float = float("nan")
    probe_sure: int = 0
    probe_over: int = 0
    probe_specks: int = 0
    camera_marked: float = float("nan")
    scans_undamaged: float = float("nan")


def _probability(rgb: np.ndarray, net: damage_net.DamageNet) -> np.ndarray:
    with torch.inference_mode():
        return damage_net.probability(rgb, net)


def product_map(rgb: np.ndarray, p: np.ndarray, faces: list) -> np.ndarray:
    """What the repair fills, from the network's chances ``p``, composed as
    :func:`~gen2res_desktop.core.photo.damage_finding.find_damage` composes it (which runs
    the shipped network itself): the marks with a sure core, torn corners, the face guard."""
    mask = np.where(damage_net.damaged(p) | missing_paper(rgb), 255, 0).astype(np.uint8)
    guard = face_guard(rgb.shape[:2], faces, ())
    if guard is not None:
        mask, _ = guard.apply(mask, rgb)
    return mask > 0


def _cached_p(rgb: np.ndarray, net, cache: Path | None, key: str) -> np.ndarray:
    path = cache / f"{key}.npy" if cache is not None else None
    if path is not None and path.is_file():
        return np.load(path).astype(np.float32)
    # kept as float16: a first run scores what a cached rerun will
    p = _probability(rgb, net).astype(np.float16)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, p)
        tmp.replace(path)
    return p.astype(np.float32)


@lru_cache(maxsize=64)
def _faces(case: splits.Case) -> list:
    """The faces the product would guard on the aged print (they do not depend on the network)."""
    return found_faces(case, splits.aged(case).image)[0]


def score_held(net, cases, cache: Path | None, tag: str) -> tuple[float, float, float]:
    ious, clean, undamaged = [], [], []
    for case in (c for c in cases if not c.large):
        slug = hashlib.sha256(case.name.encode()).hexdigest()[:10]
        aged = splits.aged(case)
        faces = _faces(case)
        images = {"aged": aged.image, "clean": splits.clean_photo(case).image}
        images["undamaged"] = aged.undamaged
        maps = {
            k: product_map(img, _cached_p(img, net, cache, f"{tag}/{slug}_{k}"), faces)
            for k, img in images.items()
        }
        ious.append(overlap(maps["aged"], aged.mask)["iou"])
        clean.append(float(maps["clean"].mean()))
        undamaged.append(float(maps["undamaged"].mean()))
    return float(np.mean(ious)), float(np.mean(clean)), float(np.mean(undamaged))


@lru_cache(maxsize=len(PROBE_SEEDS))
def skin_probe(seed: int = 1234) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The astronaut with white specks (radius 1.5-3, level 225-255) on her plain skin: inside
    the jaw and brows' hull, a fifth of an eye distance off every feature."""
    img = np.ascontiguousarray(data.astronaut())
    face = detect_faces(img, with_descriptors=False)[0]
    marks = face.landmarks
    skin = np.zeros(img.shape[:2], np.uint8)
    cv2.fillConvexPoly(skin, cv2.convexHull(np.round(marks[:27]).astype(np.int32)), 1)
    features = np.zeros_like(skin)
    for part in (slice(17, 22), slice(22, 27), slice(27, 36), slice(36, 48), slice(48, 68)):
        hull = cv2.convexHull(np.round(marks[part]).astype(np.int32))
        cv2.fillConvexPoly(features, hull, 1)
    r = int(0.2 * face.eye_distance)
    features = cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    plain = cv2.erode(((skin > 0) & (features == 0)).astype(np.uint8), np.ones((7, 7), np.uint8))
    ys, xs = np.nonzero(plain)
    rng = np.random.default_rng(seed)
    points: list[tuple[int, int]] = []
    for _ in range(20_000):  # as many as fit 9 px apart, up to PROBE_SPECKS
        if len(points) == PROBE_SPECKS or not len(ys):
            break
        k = int(rng.integers(len(ys)))
        p = (int(xs[k]), int(ys[k]))
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 > 81 for q in points):
            points.append(p)
    out = img.copy()
    for x, y in points:
        level = int(rng.uniform(225, 255))
        radius = int(rng.uniform(1.5, 3.0) * 4)
        cv2.circle(out, (x * 4, y * 4), radius, (level,) * 3, -1, cv2.LINE_AA, shift=2)
    return out, points


def _camera() -> np.ndarray:
    grey = cv2.resize(data.camera(), (512, 512), interpolation=cv2.INTER_AREA)
    return np.repeat(grey[..., None], 3, axis=2)


def score(path: Path, args, probes) -> Score:
    net = damage_net.load(path)
    out = Score(path.name)
    # bf16 maps (where the CPU has it natively) are not fp32's: cached apart, never mixed
    tag = hashlib.sha256(path.read_bytes()).hexdigest()[:12] + ("-bf16" if damage_net.BF16 else "")
    scale = splits.SCALES[args.scale]
    out.held_iou, out.clean_marked, out.undamaged_marked = score_held(
        net, scale.held, args.cache, tag
    )
    peaks = []
    for specked, points in probes:
        p = _probability(specked, net)
        peaks += [p[y - 1 : y + 2, x - 1 : x + 2].max() for x, y in points]
    # sure as a mark's core must be to stay
    out.probe_sure = sum(v >= damage_net.CORE for v in peaks)
    out.probe_over = sum(v > damage_net.THRESHOLD for v in peaks)
    out.probe_specks = len(peaks)
    out.camera_marked = float((_probability(_camera(), net) > damage_net.THRESHOLD).mean())
    if args.scans is not None:
        chosen = [
            float(damage_net.damaged(_probability(np.asarray(load_rgb(scan)), net)).mean())
            for scan in list_images(args.scans)
            if not args.undamaged or scan.stem in args.undamaged
        ]
        out.scans_undamaged = float(np.mean(chosen)) if chosen else float("nan")
    return out


def table(scores: list[Score]) -> str:
    head = "| network | held IoU | held clean / undamaged marked | probe sure / over the cut | camera man marked | real scans marked |"  # fmt: skip
    rows = [head, "| --- | --- | --- | --- | --- | --- |"]
    for s in scores:
        rows.append(
            f"| {s.name} | {s.held_iou:.4f} | {100 * s.clean_marked:.3f}% / "
            f"{100 * s.undamaged_marked:.3f}% | {s.probe_sure} / {s.probe_over} of "
            f"{s.probe_specks} | {100 * s.camera_marked:.2f}% | "
            f"{100 * s.scans_undamaged:.3f}% |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, nargs="+")
    parser.add_argument("--scale", choices=sorted(splits.SCALES), default="cpu")
    parser.add_argument("--cache", type=Path, help="where the held maps are kept per network")
    parser.add_argument("--scans", type=Path, help="a folder of real scans")
    parser.add_argument(
        "--undamaged",
        type=lambda s: set(filter(None, s.split(","))),
        default=set(),
        help="the scans with no damage (file names without extension); all when not given",
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(2)
    probes = [skin_probe(seed) for seed in PROBE_SEEDS]
    result = table([score(path, args, probes) for path in args.weights])
    print(result, flush=True)
    return result


if __name__ == "__main__":
    main()
