"""Scores against the clean ground truth that a global tone or colour shift cannot fool.

Every reference score first matches the result's mean and contrast to the ground
truth's, per channel, over the scored region: a faded or colour-cast result whose
structure is right scores as right (DESIGN.md, "Tests"). On top of the paper's fidelity
(PSNR and SSIM on the face) and identity (detail error on the moles), a no-reference
artefact score measures the *quality* axis of the paper's Fig. 8 (how photo-like a result
is, whoever it shows), so "quality up, fidelity down as K grows" can be checked. The
identity score (the paper's ArcFace analogue) is in ``identity.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.metrics import structural_similarity


@dataclass(frozen=True)
class Scores:
    psnr: float  # dB on the face, after matching (higher is better)
    ssim: float  # mean SSIM over the face, after matching (higher is better)
    detail: (
        float  # identity-detail error on the cheeks: 0 exact, 1 detail missing (lower is better)
    )
    artefact: float  # spectral distance to clean photos, no reference (lower is better)
    # cosine similarity to the subject's clean reference photos (identity.py; higher is better)
    identity: float = float("nan")


def _float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)


def match_tone(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Affine per-channel map of ``result`` giving it ``truth``'s mean and std over ``region``."""
    out = np.empty_like(result)
    for c in range(3):
        r, t = result[..., c][region], truth[..., c][region]
        # a flat result stays flat: its noise is not blown up to the truth's contrast
        gain = t.std() / max(r.std(), 1e-3)
        out[..., c] = (result[..., c] - r.mean()) * gain + t.mean()
    return out


def _luma(img: np.ndarray) -> np.ndarray:
    return img @ np.array([0.299, 0.587, 0.114])


def high_pass(img: np.ndarray, sigma: float) -> np.ndarray:
    return img - cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def detail_error(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """Relative error of the fine (high-pass) luminance on ``region``.

    0 means the moles are reproduced exactly, 1 is what a result with no detail there
    scores (a flat or blurred cheek), above 1 means wrong detail (misplaced moles, noise).
    """
    sigma = truth.shape[0] / 32.0
    hr, ht = high_pass(_luma(result), sigma), high_pass(_luma(truth), sigma)
    ref = np.sqrt(np.mean(ht[region] ** 2))
    return float(np.sqrt(np.mean((hr - ht)[region] ** 2)) / max(ref, 1e-6))


def log_spectrum(img: np.ndarray) -> np.ndarray:
    """Radially averaged log power of the luminance, one value per frequency ring."""
    y = _luma(_float(img))
    y = (y - y.mean()) / max(y.std(), 1e-6)  # scale-free: fading is not an artefact here
    n = y.shape[0]
    window = np.outer(np.hanning(n), np.hanning(n))
    power = np.abs(np.fft.fftshift(np.fft.fft2(y * window))) ** 2
    yy, xx = np.mgrid[0:n, 0:n] - n // 2
    ring = np.sqrt(xx**2 + yy**2).astype(int)
    rings = np.arange(1, n // 2)
    return np.log(np.array([power[ring == r].mean() for r in rings]) + 1e-12)


def artefact_score(img: np.ndarray, clean_spectrum: np.ndarray) -> float:
    """Mean absolute log-power gap to clean photos over the upper half of the frequencies.

    Blur removes power there, noise, JPEG blocks and scratches add it; a fresh sample of
    the world, whoever it shows, scores like a clean photo.
    """
    spec = log_spectrum(img)
    upper = slice(len(spec) // 2, None)
    return float(np.mean(np.abs(spec[upper] - clean_spectrum[upper])))


def score(
    result: np.ndarray,
    truth: np.ndarray,
    face: np.ndarray,
    detail: np.ndarray,
    clean_spectrum: np.ndarray,
) -> Scores:
    """All scores of one result (uint8 or float in [0, 1], (R, R, 3)) against its ground truth."""
    res, gt = _float(result), _float(truth)
    matched = match_tone(res, gt, face)
    mse = float(np.mean((matched - gt)[face] ** 2))
    psnr = 10 * np.log10(1.0 / max(mse, 1e-10))
    _, ssim_map = structural_similarity(
        matched, gt, channel_axis=2, data_range=1.0, win_size=7, full=True
    )
    ssim = float(ssim_map.mean(axis=2)[face].mean())
    return Scores(
        psnr=float(psnr),
        ssim=ssim,
        # the tone map is one per photo, and the face gives a steadier estimate than the cheeks
        detail=detail_error(matched, gt, detail),
        artefact=artefact_score(result, clean_spectrum),
    )


def mean_spectrum(images: list[np.ndarray]) -> np.ndarray:
    return np.mean([log_spectrum(img) for img in images], axis=0)
