"""Filling the damage map: OpenCV's Telea inpainting for thin damage, the built-in default,
and patch copying (:mod:`.fill_large`) for damage too wide for it.

Scratches and dust are thin, so the fill radius is small. A map is grown by a pixel
first, because a scratch's soft, half-covered rim is damage too (the repair grows the
automatic map itself, keeping the growth out of protected facial features).

Telea diffuses colour inward from the rim: right for a 3 px scratch, a smooth blob for a
torn corner or a flaked patch. :func:`inpaint_builtin` sends the wide parts of the map to
:func:`.fill_large.fill_hole` (one crop around each, so a 24-megapixel scan costs memory
in proportion to the hole, not the photo) and the rest to Telea, as before.
"""

from __future__ import annotations

import cv2
import numpy as np

from gen2res_desktop.core.photo import fill_large
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

_RADIUS = 4
_GROW = 1
# Damage whose inscribed radius exceeds this (pixels at 1000 px on the short side; it
# scales with the photo) is wide: over ~8 px across, where Telea's fill turns to a blur.
WIDE_RADIUS = 4.0
# Context around a wide hole that its patches may be copied from: this fraction of the
# hole's size, at least _MIN_MARGIN px, and at most what keeps the crop near _CROP_PIXELS.
_MARGIN = 0.75
_MIN_MARGIN = 24
_CROP_PIXELS = 3_000_000


def grow(mask: np.ndarray, pixels: int = _GROW) -> np.ndarray:
    if pixels <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask, k)


def inpaint_opencv(rgb: np.ndarray, mask: np.ndarray, *, grow_pixels: int = _GROW) -> np.ndarray:
    """``rgb`` with every pixel where ``mask`` is nonzero filled from its surroundings."""
    m = grow((mask > 0).astype(np.uint8) * 255, grow_pixels)
    if not m.any():
        return rgb.copy()
    return cv2.inpaint(np.ascontiguousarray(rgb), m, _RADIUS, cv2.INPAINT_TELEA)


def wide_parts(mask: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` (nonzero = damage) too wide for Telea, as a uint8 0/255 map:
    every disc of radius above the threshold that fits inside the damage (a morphological
    opening), grown by a pixel so its soft rim goes with it, leaving out specks smaller
    than a few radii. A scratch touching a flake stays thin; only the flake is wide."""
    m = (mask > 0).astype(np.uint8)
    unit = max(1.0, min(m.shape[:2]) / 1000.0)
    radius = WIDE_RADIUS * unit
    if not m.any():
        return np.zeros_like(m)
    # the photo's edge continues the damage, so a torn corner keeps its full width there
    dist = cv2.distanceTransform(
        cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_REPLICATE), cv2.DIST_L2, 5
    )[1:-1, 1:-1]
    core = (dist > radius).astype(np.uint8)
    if not core.any():
        return np.zeros_like(m)
    r = int(np.ceil(radius)) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    wide = cv2.dilate(core, disc) & m
    # a dust speck under ~4 radii across is wide but small: Telea fills it as well and
    # far faster, and keeps the detector's dust fill as it was
    count, labels, stats, _ = cv2.connectedComponentsWithStats(wide, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < np.pi * (2 * radius) ** 2
    small[0] = True  # the background
    wide[small[labels]] = 0
    return wide * 255


def _crop(box: tuple[int, int, int, int], h: int, w: int) -> tuple[slice, slice]:
    """Rows and columns around a hole's bounding box (x, y, width, height) with context."""
    x, y, bw, bh = box
    margin = max(_MIN_MARGIN, int(_MARGIN * max(bw, bh)))
    # the largest margin m with (bw + 2m)(bh + 2m) <= _CROP_PIXELS
    s = bw + bh
    cap = (-s + np.sqrt(s * s - 4 * (bw * bh - _CROP_PIXELS))) / 4
    margin = max(_MIN_MARGIN, min(margin, int(cap)))
    return (
        slice(max(0, y - margin), min(h, y + bh + margin)),
        slice(max(0, x - margin), min(w, x + bw + margin)),
    )


def inpaint_builtin(
    rgb: np.ndarray,
    mask: np.ndarray,
    *,
    grow_pixels: int = _GROW,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    stage: str = "inpaint",
) -> np.ndarray:
    """``rgb`` (uint8 H x W x 3) with every pixel where ``mask`` is nonzero filled: wide
    damage (:func:`wide_parts`) by patches copied from around it, the rest by Telea as
    :func:`inpaint_opencv` does (the same result where the map holds only thin damage).
    Pixels outside the grown mask are returned unchanged. A cancel takes effect between
    holes or pyramid levels."""
    rgb = np.ascontiguousarray(rgb)
    m = grow((mask > 0).astype(np.uint8) * 255, grow_pixels)
    if not m.any():
        return rgb.copy()
    wide = wide_parts(m)
    if not wide.any():
        if cancel is not None:
            cancel.check()
        out = cv2.inpaint(rgb, m, _RADIUS, cv2.INPAINT_TELEA)
        progress(Progress(stage, 1, 1, "Filling scratches and dust"))
        return out
    h, w = m.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(wide, connectivity=8)
    # biggest first: it needs the most context, and the small ones can then copy from it
    order = sorted(range(1, count), key=lambda i: -int(stats[i, cv2.CC_STAT_AREA]))
    total = len(order) + 1
    out = rgb.copy()
    damaged = m > 0  # never copied from, even once filled: a copy of a copy smears
    left = damaged.copy()  # still unfilled
    for n, i in enumerate(order):
        if cancel is not None:
            cancel.check()
        ys, xs = _crop(tuple(int(v) for v in stats[i, :4]), h, w)
        hole = labels[ys, xs] == i
        crop = out[ys, xs]
        todo = left[ys, xs]
        if (todo & ~hole).any():
            # other damage in the crop gets Telea's guess first, so the patches that
            # overlap it compare against something plausible, not the damage's colour
            crop = cv2.inpaint(crop, todo.astype(np.uint8), _RADIUS, cv2.INPAINT_TELEA)
        filled = fill_large.fill_hole(
            crop, hole, forbidden=damaged[ys, xs], seed=i, cancel=cancel, stage=stage
        )
        out[ys, xs][hole] = filled[hole]
        left[ys, xs] &= ~hole
        progress(Progress(stage, n + 1, total, "Filling large damage"))
    if cancel is not None:
        cancel.check()
    if left.any():
        # thin damage last, so a scratch running into a filled flake continues its texture
        thin = np.where(left, 255, 0).astype(np.uint8)
        out = cv2.inpaint(out, thin, _RADIUS, cv2.INPAINT_TELEA)
    progress(Progress(stage, total, total, "Filling scratches and dust"))
    return out


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def soften_unsure(
    before: np.ndarray, filled: np.ndarray, marks: np.ndarray, certainty: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``filled`` where the detector was sure, part way back to ``before`` on the dark
    marks it was unsure of: each pixel of such a mark (and its one-pixel rim, which the
    fill took with it) moves only ``certainty`` of the way to its fill. Also returns how
    far each pixel was moved (float32, 1 where wholly), or None when every mark was
    filled whole.

    Why dark ones only: a print's lost emulsion shows the white paper, and a white mark
    is filled whole whatever the detector's doubt, so a real crack never comes back as a
    ghost. A texture's false marks are mostly its shadows, gaps and crevices, dark, and
    wholly filled they smeared it (the held split's pebbles, soil and foliage;
    oldphoto_notes.md, round 14). Decided per mark: one the fill brightened on the whole
    is dark."""
    m = marks > 0
    if not m.any():
        return filled, None
    n, labels = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
    change = _luma(filled) - _luma(before)
    dark = np.bincount(labels.ravel(), weights=change.ravel(), minlength=n) > 0
    dark[0] = False
    ring = np.ones((3, 3), np.uint8)
    dark_map = cv2.dilate(dark[labels].astype(np.uint8), ring) > 0
    # the rim takes its mark's certainty: the lowest one around (1 off the marks)
    weight = np.where(dark_map, cv2.erode(certainty.astype(np.float32), ring), 1.0)
    if not (m & (weight < 1.0)).any():
        return filled, None
    out = before + weight[..., None] * (filled.astype(np.float32) - before)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), weight.astype(np.float32)


def fill_levels(marks: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """The damage map with how far each mark was filled: uint8, 0 off the marks, 255 where
    filled whole, lower where only part way (at least 1, so every mark stays on the map)."""
    on = np.asarray(marks) > 0
    if weight is None:
        return np.where(on, 255, 0).astype(np.uint8)
    level = np.clip(np.rint(weight * 255.0), 1, 255)
    return np.where(on, level, 0).astype(np.uint8)
