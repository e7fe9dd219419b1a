"""A working copy for finding faces on faded, low-contrast or grainy prints.

The detectors learned their faces from well-exposed photos; a print that has lost two
thirds of its contrast, or whose grain is as strong as its shading, gives them too little
gradient to go on. The copy made here is only looked at, never restored: the lightness
stretched between robust percentiles, its grain smoothed in proportion to the measured
noise, and its local contrast raised (CLAHE), in gray, so a colour cast plays no part.
"""

from __future__ import annotations

import cv2
import numpy as np

# Percentiles of the lightness taken as black and white.
_LOW, _HIGH = 0.5, 99.5
_CLAHE_CLIP = 2.0
_CLAHE_TILES = 8
# Non-local means strength per unit of measured noise sigma, and its least value.
_K_DENOISE = 1.2
_MIN_DENOISE = 3.0


def _noise_sigma(gray: np.ndarray) -> float:
    """Noise sigma (grey levels) from the median absolute Laplacian (robust to edges)."""
    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F))
    return float(np.median(lap)) / 0.6745 / 2.5


def for_detection(rgb: np.ndarray, *, denoise: bool = False) -> np.ndarray:
    """A 3-channel gray copy of ``rgb`` (uint8 H x W x 3) with its lightness stretched and
    its local contrast raised; ``denoise`` smooths the grain first (for the slower second
    pass, on prints whose grain drowns their shading)."""
    lum = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2LAB)[..., 0]
    lo, hi = np.percentile(lum, [_LOW, _HIGH])
    stretched = (lum.astype(np.float32) - lo) * (255.0 / max(float(hi - lo), 1.0))
    gray = np.clip(stretched, 0, 255).astype(np.uint8)
    if denoise:
        h = max(_MIN_DENOISE, _K_DENOISE * _noise_sigma(gray))
        gray = cv2.fastNlMeansDenoising(gray, None, h=h, templateWindowSize=7, searchWindowSize=21)
    else:
        gray = cv2.bilateralFilter(gray, 5, 20, 3)
    gray = cv2.createCLAHE(_CLAHE_CLIP, (_CLAHE_TILES, _CLAHE_TILES)).apply(gray)
    return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
