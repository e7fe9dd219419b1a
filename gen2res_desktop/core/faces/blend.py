"""Pasting a restored crop back into the full-resolution photo without a seam.

The crop is warped back with the inverse alignment and blended through a soft mask that
covers the face (or the pet's square) and falls to exactly zero well inside the crop, so
the crop's mirrored border never shows and every pixel outside the mask keeps its value
bit for bit. Before blending, the restored crop's colour and tone are matched to the
original crop under the mask (weighted mean and spread of each Lab channel), so a
restoration that shifts the overall colour does not leave a visible patch.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from gen2res_desktop.core.faces import geometry
from gen2res_desktop.core.faces.align import AlignedFace

# Mask geometry as fractions of the crop side: ellipse centre, radii, feather sigma.
# "face": in an FFHQ crop the face runs from the forehead (~0.3) to the chin (~0.85) and
# between the cheeks (~0.25..0.75); the ellipse covers that with some hair and neck.
# "crop": a pet's square, which the user frames around the animal's head.
_MASKS = {
    "face": ((0.5, 0.53), (0.36, 0.37), 0.025),
    "crop": ((0.5, 0.5), (0.38, 0.38), 0.025),
}
# Below this the mask is set to exactly 0: such weights move a pixel by under one level.
_MASK_FLOOR = 1.0 / 255.0
# The restored lightness may spread more than the original's (restored detail is real
# contrast) but within these bounds; chroma spread follows the original more freely.
_L_SPREAD = (0.8, 1.25)
_AB_SPREAD = (0.5, 2.0)


@lru_cache(maxsize=8)
def crop_mask(resolution: int, kind: str = "face") -> np.ndarray:
    """Blend weights in crop space (float32 R x R in [0, 1]); 0 near the crop's border."""
    (cx, cy), (rx, ry), sigma = _MASKS[kind]
    r = resolution
    yy, xx = np.mgrid[0:r, 0:r].astype(np.float32)
    inside = ((xx + 0.5 - cx * r) / (rx * r)) ** 2 + ((yy + 0.5 - cy * r) / (ry * r)) ** 2 <= 1.0
    s = sigma * r
    k = 2 * math.ceil(3 * s) + 1
    mask = cv2.GaussianBlur(inside.astype(np.float32), (k, k), s, borderType=cv2.BORDER_CONSTANT)
    mask = np.clip((mask - _MASK_FLOOR) / (1.0 - _MASK_FLOOR), 0.0, 1.0)
    mask.setflags(write=False)
    return mask


def photo_mask(aligned: AlignedFace, shape: tuple[int, ...]) -> np.ndarray:
    """The blend mask in photo space (float32 H x W); where it is 0 the photo is unchanged."""
    h, w = shape[:2]
    out = np.zeros((h, w), dtype=np.float32)
    roi = _roi(aligned, w, h)
    if roi is None:
        return out
    x0, y0, x1, y1 = roi
    out[y0:y1, x0:x1] = _warp_back(
        crop_mask(aligned.resolution, aligned.kind), aligned, roi, cv2.INTER_LINEAR
    )
    return out


def match_colour(restored: np.ndarray, original: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``restored`` (uint8 RGB) with each Lab channel's weighted mean and spread moved to
    those of ``original``; returns float32 RGB in [0, 1]."""
    lab_r = cv2.cvtColor(restored.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab_o = cv2.cvtColor(original.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    w = weights.astype(np.float64)
    total = w.sum()
    if total <= 0:
        return restored.astype(np.float32) / 255.0
    for ch, (lo, hi) in enumerate([_L_SPREAD, _AB_SPREAD, _AB_SPREAD]):
        r, o = lab_r[:, :, ch].astype(np.float64), lab_o[:, :, ch].astype(np.float64)
        mu_r, mu_o = (w * r).sum() / total, (w * o).sum() / total
        sd_r = math.sqrt((w * (r - mu_r) ** 2).sum() / total)
        sd_o = math.sqrt((w * (o - mu_o) ** 2).sum() / total)
        ratio = float(np.clip(sd_o / sd_r, lo, hi)) if sd_r > 1e-6 else 1.0
        lab_r[:, :, ch] = ((r - mu_r) * ratio + mu_o).astype(np.float32)
    return np.clip(cv2.cvtColor(lab_r, cv2.COLOR_Lab2RGB), 0.0, 1.0)


def paste_back(
    photo: np.ndarray, restored_crop: Image.Image | np.ndarray, aligned: AlignedFace
) -> np.ndarray:
    """``photo`` (uint8 H x W x 3) with ``restored_crop`` blended in where ``aligned`` came from.

    Returns a new array; ``photo`` is not modified. Pixels where the mask is 0 are copied.
    """
    photo = geometry.as_rgb_array(photo)
    restored = geometry.as_rgb_array(restored_crop)
    r = aligned.resolution
    if restored.shape[:2] != (r, r):
        raise ValueError(
            f"restored crop is {restored.shape[1]} x {restored.shape[0]}, expected {r} x {r}"
        )
    h, w = photo.shape[:2]
    out = photo.copy()
    roi = _roi(aligned, w, h)
    if roi is None:
        return out
    mask = crop_mask(r, aligned.kind)
    matched = match_colour(restored, np.asarray(aligned.crop), mask)
    x0, y0, x1, y1 = roi
    face = _warp_back(matched, aligned, roi, cv2.INTER_CUBIC)
    m = _warp_back(mask, aligned, roi, cv2.INTER_LINEAR)[:, :, None]
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = region + m * (np.clip(face, 0.0, 1.0) * 255.0 - region)
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def _roi(aligned: AlignedFace, w: int, h: int) -> tuple[int, int, int, int] | None:
    """Photo rectangle (x0, y0, x1, y1) holding the crop's footprint, clipped to the photo."""
    r = aligned.resolution
    corners = geometry.apply(
        aligned.inverse, np.array([[-0.5, -0.5], [r, -0.5], [-0.5, r], [r, r]])
    )
    x0, y0 = max(0, math.floor(corners[:, 0].min())), max(0, math.floor(corners[:, 1].min()))
    x1, y1 = min(w, math.ceil(corners[:, 0].max()) + 1), min(h, math.ceil(corners[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _warp_back(
    crop: np.ndarray, aligned: AlignedFace, roi: tuple[int, int, int, int], interpolation: int
) -> np.ndarray:
    x0, y0, x1, y1 = roi
    to_roi = geometry.compose(np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]]), aligned.inverse)
    # outside the crop the mask is 0 anyway; a constant border keeps it that way
    return geometry.warp(
        crop, to_roi, (x1 - x0, y1 - y0), interpolation=interpolation, border=cv2.BORDER_CONSTANT
    )
