"""Grain, noise, JPEG blocks and mild blur with OpenCV: non-local means, then a gentle
unsharp mask.

The filter strength follows the noise measured in the photo (scaled by the user's
strength), so a clean scan is left almost as it is and a grainy one is smoothed as much
as it needs. Large photos go through in tiles, with progress and cancel between them.
"""

from __future__ import annotations

import cv2
import numpy as np

from gen2res_desktop.core.photo.tiles import process_tiled
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress

_TEMPLATE = 7
# Search window 11, not 15: 0.1 dB lower PSNR on the old-photo benchmark at 55% of the time.
_SEARCH = 11
# The filter's reach: a tile needs this much context for the seams to vanish.
_OVERLAP = _TEMPLATE // 2 + _SEARCH // 2 + 2
# Non-local means' h per unit of measured noise sigma, at strength 0.5 and 1. On the
# old-photo benchmark's grainy scans PSNR peaks at h ~ 1.0 sigma as measured here.
_H_PER_SIGMA = (1.0, 1.8)
# Below this h (grey levels) the filter would change nothing visible.
_MIN_H = 2.0
_SHARPEN_SIGMA = 1.2
# The noise estimate: detail finer than this blur, in the calmest this-percent of the photo.
_NOISE_SCALE = 1.5
_NOISE_PERCENTILE = 10
# What that measures of white noise of sigma 1 (the calmest windows are calmer than the
# average; clumped grain of the same sigma measures 0.7 after this correction).
_CALM_SHARE = 0.815
# Sharpening leaves detail under this many noise sigmas alone (coring): it would be grain.
_CORING = 1.6


def estimate_noise(rgb: np.ndarray) -> float:
    """Noise sigma in grey levels of the luminance, as film grain shows it.

    The luminance minus a blurred copy (sigma ``_NOISE_SCALE``) keeps grain and edges;
    its local spread over 7 x 7 windows is taken in the calmest ``_NOISE_PERCENTILE``
    percent of the photo, where there is grain but no edge. Unlike a 3 x 3 Laplacian
    (Immerkaer's estimate), this also sees grain that is clumped over two or three pixels
    or softened by the scan and the JPEG: the Laplacian measured a third of such grain
    (benchmarks/results/oldphoto_notes.md) and the filter was skipped on grainy scans.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if min(gray.shape) < 16:
        return 0.0
    detail = gray - cv2.GaussianBlur(gray, (0, 0), _NOISE_SCALE, borderType=cv2.BORDER_REFLECT)
    spread = cv2.boxFilter(detail * detail, -1, (7, 7), borderType=cv2.BORDER_REFLECT)
    inner = spread[4:-4:2, 4:-4:2]  # every other pixel is plenty, and half the cost
    calm = np.sqrt(max(float(np.percentile(inner, _NOISE_PERCENTILE)), 0.0))
    return float(calm / _CALM_SHARE)


def filter_strength(sigma: float, strength: float) -> float:
    lo, hi = _H_PER_SIGMA
    per = lo * strength * 2 if strength <= 0.5 else lo + (hi - lo) * (strength - 0.5) * 2
    return per * sigma


def sharpen(rgb: np.ndarray, amount: float, *, threshold: float = 0.0) -> np.ndarray:
    """Unsharp mask on the luminance only (sharpening colour noise would bring it back).

    Detail weaker than ``threshold`` grey levels is left as it is (coring), so what is
    left of the grain is not sharpened back."""
    if amount <= 0:
        return rgb
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    y = ycc[..., 0]
    detail = y - cv2.GaussianBlur(y, (0, 0), _SHARPEN_SIGMA, borderType=cv2.BORDER_REFLECT)
    if threshold > 0:
        detail = np.sign(detail) * np.maximum(np.abs(detail) - threshold, 0.0)
    ycc[..., 0] = y + amount * detail
    out = cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    return out


def denoise_opencv(
    rgb: np.ndarray,
    strength: float = 0.5,
    *,
    monochrome: bool = False,
    sharpen_amount: float = 0.0,
    tile: int = 768,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, float]:
    """``rgb`` with its noise filtered; also returns the filter strength h used (0: none)."""
    sigma = estimate_noise(rgb)
    h = filter_strength(sigma, strength) if strength > 0 else 0.0
    out = rgb
    if h >= _MIN_H:

        def nlm(part: np.ndarray) -> np.ndarray:
            part = np.ascontiguousarray(part)
            if monochrome:
                gray = cv2.cvtColor(part, cv2.COLOR_RGB2GRAY)
                clean = cv2.fastNlMeansDenoising(gray, None, h, _TEMPLATE, _SEARCH)
                # keep the tint: shift every channel by the lightness change
                delta = clean.astype(np.float32) - gray.astype(np.float32)
                return part.astype(np.float32) + delta[..., None]
            return cv2.fastNlMeansDenoisingColored(
                part, None, h, h * 0.8, _TEMPLATE, _SEARCH
            ).astype(np.float32)

        filtered = process_tiled(
            rgb, nlm, tile=tile, overlap=_OVERLAP, stage="denoise", progress=progress, cancel=cancel
        )
        out = np.clip(np.rint(filtered), 0, 255).astype(np.uint8)
    else:
        h = 0.0
    return sharpen(out, sharpen_amount, threshold=_CORING * sigma), h
