"""Generator 2's tone and stain kinds: what changes the print's colour over an area
without destroying it. A restorer corrects these by grading, not by filling, so a damage
detector that marks them is wrong (they are reported as false positives per kind).

Each function works in place on the float print and returns how strongly it acted where
(0..1), from which the report's per-kind region is taken.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks.oldphoto.marks import Print, ragged_blob, smooth_noise

STAIN_AT = 0.03  # effect above which a pixel belongs to a stain's region


def foxing(p: Print, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Rust-brown spots from iron in the paper: soft, a darker core, in loose clusters."""
    effect = np.zeros((p.h, p.w), np.float32)
    brown = np.array([0.62, 0.42, 0.2], np.float32) * rng.uniform(0.85, 1.1)
    clusters = int(rng.integers(1, 4))
    for _ in range(clusters):
        centre = rng.uniform([0, 0], [p.w, p.h])
        for _ in range(int(rng.integers(3, 16) * amount) + 1):
            at = centre + rng.normal(0, 0.12 * p.short, 2)
            r = rng.uniform(0.002, 0.012) * p.short + 1.0
            x0, y0 = int(max(0, at[0] - 3 * r)), int(max(0, at[1] - 3 * r))
            x1, y1 = int(min(p.w, at[0] + 3 * r + 1)), int(min(p.h, at[1] + 3 * r + 1))
            if x1 <= x0 or y1 <= y0:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            d = np.hypot(xx - at[0], yy - at[1]) / r
            spot = np.exp(-(d**2)) * (0.7 + 0.3 * np.exp(-((d / 0.4) ** 2)))
            np.maximum(
                effect[y0:y1, x0:x1], spot * rng.uniform(0.2, 0.55), out=effect[y0:y1, x0:x1]
            )
    p.img *= 1 - effect[..., None] * (1 - brown)
    return effect


def water(p: Print, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A dried water stain: a faint yellow-brown fill and the tide line where the water
    stopped and left what it carried."""
    effect = np.zeros((p.h, p.w), np.float32)
    stain = np.array([0.78, 0.62, 0.4], np.float32)
    for _ in range(max(1, int(round(rng.integers(1, 3) * amount)))):
        centre = rng.uniform([0, 0], [p.w, p.h])
        blob = ragged_blob(rng, centre, rng.uniform(0.1, 0.35) * p.short, 0.06, 96)
        got = p.coverage_polygons([blob])
        if got is None:
            continue
        (x0, y0, x1, y1), cov = got
        inside = (cov > 0.5).astype(np.uint8)
        dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        line_w = rng.uniform(0.002, 0.008) * p.short + 1.0
        tide = np.exp(-((dist / line_w) ** 2)) * inside * rng.uniform(0.3, 0.55)
        fill = cv2.GaussianBlur(cov, (0, 0), line_w) * rng.uniform(0.06, 0.18)
        np.maximum(effect[y0:y1, x0:x1], np.maximum(tide, fill), out=effect[y0:y1, x0:x1])
    p.img *= 1 - effect[..., None] * (1 - stain)
    return effect


def silvering(p: Print, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Silver mirroring: a bluish metallic sheen on the dark parts, strongest towards the
    print's edges, where air got at the silver first."""
    yy = np.arange(p.h, dtype=np.float32)[:, None]
    xx = np.arange(p.w, dtype=np.float32)[None, :]
    edge = np.minimum(np.minimum(yy, p.h - 1 - yy), np.minimum(xx, p.w - 1 - xx))
    reach = rng.uniform(0.06, 0.18) * p.short
    near = np.exp(-edge / reach)
    lum = p.img.mean(axis=2)
    dark = np.clip(1 - lum / 0.55, 0, 1) ** 1.5
    patchy = 0.4 + 0.6 * smooth_noise(rng, p.h, p.w, 0.04 * p.short)
    effect = (near * dark * patchy * rng.uniform(0.3, 0.6) * min(1.0, amount + 0.3)).astype(
        np.float32
    )
    metal = np.array([0.55, 0.58, 0.64], np.float32)
    p.img += (metal - p.img) * effect[..., None]
    return effect


def tape(p: Print, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Old sticky tape: a translucent yellowed strip, usually over an edge, its edges a
    little darker where the adhesive caught dirt."""
    effect = np.zeros((p.h, p.w), np.float32)
    for _ in range(max(1, int(round(rng.integers(1, 3) * amount)))):
        width = rng.uniform(0.04, 0.1) * p.short
        length = rng.uniform(0.15, 0.4) * p.short
        angle = rng.uniform(0, np.pi)
        centre = rng.uniform([0, 0], [p.w, p.h])
        d = np.array([np.cos(angle), np.sin(angle)])
        n = np.array([-d[1], d[0]])
        corners = np.array(
            [
                centre + sd * d * length / 2 + sn * n * width / 2
                for sd, sn in ((-1, -1), (1, -1), (1, 1), (-1, 1))
            ]  # fmt: skip
        )
        got = p.coverage_polygons([corners])
        if got is None:
            continue
        (x0, y0, x1, y1), cov = got
        yellow = np.array([1.0, 0.9, 0.62], np.float32) ** rng.uniform(0.5, 1.2)
        strength = rng.uniform(0.5, 0.9)
        region = p.img[y0:y1, x0:x1]
        tinted = region * yellow * 0.97 + 0.03  # yellowed, a faint gloss lifting the blacks
        region += (tinted - region) * (cov * strength)[..., None]
        rim = cv2.morphologyEx(cov, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        region *= 1 - rim[..., None] * 0.12
        np.maximum(effect[y0:y1, x0:x1], np.maximum(cov * strength, rim), out=effect[y0:y1, x0:x1])
    return effect


def folds(p: Print, rng: np.random.Generator, amount: float) -> tuple[np.ndarray, list[dict]]:
    """The shaded ridge of each fold: bright on the side that faces the scanner's lamp,
    dark on the other. Returns the effect and each fold's line and ridge width (the
    broken emulsion along it is drawn with the local damage)."""
    effect = np.zeros((p.h, p.w), np.float32)
    out = []
    for _ in range(max(1, int(round(rng.integers(1, 3) * amount)))):
        if rng.uniform() < 0.6:  # across the whole print, edge to edge
            horizontal = rng.uniform() < 0.5
            t0, t1 = rng.uniform(0.2, 0.8, 2)
            if horizontal:
                a, b = np.array([0.0, t0 * p.h]), np.array([p.w - 1.0, t1 * p.h])
            else:
                a, b = np.array([t0 * p.w, 0.0]), np.array([t1 * p.w, p.h - 1.0])
        else:  # a dog-ear: a short crease across a corner
            cx, cy = rng.choice([0, 1]) * (p.w - 1), rng.choice([0, 1]) * (p.h - 1)
            s = rng.uniform(0.1, 0.3) * p.short
            a = np.array([abs(cx - s), cy], float)
            b = np.array([cx, abs(cy - s)], float)
        d = (b - a) / (np.hypot(*(b - a)) + 1e-9)
        n = np.array([-d[1], d[0]])
        ridge = rng.uniform(2.0, 6.0) * max(p.unit, 0.6)
        yy, xx = np.mgrid[0 : p.h, 0 : p.w].astype(np.float32)
        along = (xx - a[0]) * d[0] + (yy - a[1]) * d[1]
        inside = (along >= -ridge) & (along <= np.hypot(*(b - a)) + ridge)
        sd = (xx - a[0]) * n[0] + (yy - a[1]) * n[1]
        amp = rng.uniform(0.05, 0.16) * (1 if rng.uniform() < 0.5 else -1)
        shade = amp * (
            np.exp(-(((sd - ridge) / ridge) ** 2)) - np.exp(-(((sd + ridge) / ridge) ** 2))
        )
        shade *= inside
        p.img *= 1 + shade[..., None]
        np.maximum(effect, np.abs(shade) / 0.16, out=effect)
        out.append({"line": np.stack([a, b]), "ridge": ridge})
    return effect, out
