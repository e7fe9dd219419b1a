"""Scores of a repaired photo against its clean original, and of a damage map against the
true one.

PSNR and SSIM are given raw and after matching each channel's mean and contrast to the
clean photo's (as the toy-world benchmark does): a repair whose structure is right but
whose grading differs from the original print scores as right (DESIGN.md, "Tests").
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from benchmarks.toyworld.metrics import match_tone

# How far (in pixels at unit 1) around a kind's true pixels its own IoU is measured: the
# detector's map there is compared with that kind's truth, other damage left out.
BAND = 8.0


def _float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) / 255.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float(10 * np.log10(1.0 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=1.0, win_size=7))


def quality(result: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    """PSNR (dB) and SSIM, raw and tone-matched, of uint8 ``result`` against ``clean``."""
    r, c = _float(result), _float(clean)
    matched = np.clip(match_tone(r, c, np.ones(c.shape[:2], bool)), 0, 1)
    return {
        "psnr": round(psnr(r, c), 3),
        "ssim": round(ssim(r, c), 4),
        "psnr_matched": round(psnr(matched, c), 3),
        "ssim_matched": round(ssim(matched, c), 4),
    }


def overlap(found: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and IoU of a boolean map against the true one (1.0 when both empty)."""
    tp = float(np.count_nonzero(found & truth))
    fp = float(np.count_nonzero(found & ~truth))
    fn = float(np.count_nonzero(~found & truth))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "iou": round(tp / (tp + fp + fn), 4) if tp + fp + fn else 1.0,
    }


def kind_scores(found: np.ndarray, truth: np.ndarray, kind: np.ndarray) -> dict[str, float]:
    """Recall of one kind of damage, and its IoU in a band around it (the other kinds'
    pixels left out): how well a scratch is traced where it is, whatever else the map holds."""
    if not kind.any():
        nan = float("nan")
        return {"recall": nan, "precision": nan, "iou": nan, "pixels": 0}
    unit = max(0.5, min(kind.shape) / 1000.0)
    r = max(1, int(round(BAND * unit)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    band = cv2.dilate(kind.astype(np.uint8), disc) > 0
    region = band & ~(truth & ~kind)
    ov = overlap(found & region, kind)
    return {
        "recall": ov["recall"],
        "precision": ov["precision"],
        "iou": ov["iou"],
        "pixels": int(kind.sum()),
    }


def changed(a: np.ndarray, b: np.ndarray, where: np.ndarray, levels: int = 8) -> int:
    """Pixels of ``where`` whose value moved by more than ``levels`` in any channel."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return int(np.count_nonzero((diff > levels) & where))


def fraction(mask: np.ndarray) -> float:
    return round(float(np.count_nonzero(mask)) / mask.size, 5)
