"""Fading and colour cast: automatic levels, white balance and local contrast.

A faded print has lifted blacks, dull whites and a cast (yellowed paper, magenta dyes
that outlived the cyan). Levels are stretched per channel between robust percentiles,
which removes a cast in the shadows and the highlights at once; local contrast is
restored with CLAHE on the lightness channel only, so colours do not shift. Both are
scaled by how faded the photo measures, so a well-exposed photo is barely touched.

A black-and-white or sepia photo stays monochrome: only its lightness is corrected and
its tint is kept (or removed, when asked).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Percentiles taken as black and white, measured on a copy averaged down to 512 px (where
# a speck or a scratch missed by the damage map is diluted). 0.5 / 99.5 stretched further
# than the original prints' range: on the old-photo benchmark 0.1 / 99.9 is 1.4 dB closer.
_LOW, _HIGH = 0.1, 99.9
# A monochrome photo's chroma is a function of its lightness (a toning curve); this is
# how far (in Lab units) 90% of the pixels of a 256 px copy may stray from that curve.
# Measured on sepia and colour prints aged by both old-photo generators (seven photos, four
# seeds each): toned prints strayed at most 3.8, colour ones at least 7.1; a toy portrait
# of few flat colours, each at its own lightness, aged with a cast, 4.3 (it must stay
# colour). Over 95% of a 512 px copy, grain and stains took a toned print up to 5.7, so a
# regenerated face kept the prior's colours in it.
_MONO_RESIDUAL = 4.0
_MONO_SIDE = 256
_MONO_SHARE = 90
_CLAHE_CLIP = 2.0
_CLAHE_TILES = 8
# How much of the CLAHE result is blended in at full strength on a badly faded print. At
# 1.0 it cost 1.4 dB (raw) on the old-photo benchmark, unevenly faded prints included,
# for no gain once matched; half keeps some local contrast for prints that need it.
_LOCAL = 0.5


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _rgb(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _sample(img: np.ndarray, limit: int = 512) -> np.ndarray:
    """A small copy for statistics: a 12 MP scan need not be read pixel by pixel, and
    averaging (not skipping) pixels keeps grain from posing as colour."""
    h, w = img.shape[:2]
    f = limit / max(h, w)
    if f >= 1:
        return img
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


_BINS = 24


@dataclass(frozen=True)
class Tint:
    """The chroma (Lab a, b) of a monochrome photo as a function of its lightness: the
    toning of a sepia or cyanotype print, flat zero for a neutral black-and-white one."""

    lightness: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def neutral(cls) -> Tint:
        zero = np.zeros(2, np.float32)
        return cls(np.array([0.0, 100.0], np.float32), zero, zero)


def _fit_tint(lab: np.ndarray) -> tuple[Tint, float]:
    """The toning curve of ``lab`` and how far (the _MONO_SHARE percentile) its pixels
    stray from it."""
    lum, a, b = lab[..., 0].ravel(), lab[..., 1].ravel(), lab[..., 2].ravel()
    bins = np.clip((lum / 100.0 * _BINS).astype(int), 0, _BINS - 1)
    centres, curve_a, curve_b = [], [], []
    residual = np.empty_like(lum)
    for k in np.unique(bins):
        sel = bins == k
        ma, mb = np.median(a[sel]), np.median(b[sel])
        residual[sel] = np.hypot(a[sel] - ma, b[sel] - mb)
        centres.append(float(np.median(lum[sel])))
        curve_a.append(float(ma))
        curve_b.append(float(mb))
    tint = Tint(
        np.array(centres, np.float32), np.array(curve_a, np.float32), np.array(curve_b, np.float32)
    )
    return tint, float(np.percentile(residual, _MONO_SHARE))


def monochrome_tint(rgb: np.ndarray) -> Tint | None:
    """The photo's tint when it is black-and-white or toned (sepia...), None for colour."""
    small = _sample(rgb, _MONO_SIDE)
    if small is rgb:  # a small photo: average its grain away all the same
        small = cv2.blur(rgb, (3, 3))
    tint, spread = _fit_tint(_lab(small))
    return tint if spread < _MONO_RESIDUAL else None


def is_monochrome(rgb: np.ndarray) -> bool:
    """True for a black-and-white or toned (sepia, cyanotype) photo."""
    return monochrome_tint(rgb) is not None


def apply_tint(rgb: np.ndarray, tint: Tint) -> np.ndarray:
    """``rgb`` made monochrome: its lightness kept, its chroma set from ``tint``."""
    lab = _lab(rgb)
    lum = lab[..., 0]
    lab[..., 1] = np.interp(lum, tint.lightness, tint.a)
    lab[..., 2] = np.interp(lum, tint.lightness, tint.b)
    return _rgb(lab)


def fading(rgb: np.ndarray) -> float:
    """0 for a photo using its whole tonal range, towards 1 as the range collapses."""
    lum = _lab(_sample(rgb))[..., 0]
    lo, hi = np.percentile(lum, [_LOW, _HIGH])
    return float(np.clip(1.0 - (hi - lo) / 90.0, 0.0, 1.0))


def _stretch(channel: np.ndarray, lo: float, hi: float, top: float) -> np.ndarray:
    if hi - lo < 1e-3:
        return channel
    return (channel - lo) * (top / (hi - lo))


def _clahe(lum: np.ndarray, amount: float) -> np.ndarray:
    """CLAHE on Lab lightness (0..100), blended by ``amount``."""
    if amount <= 0:
        return lum
    h, w = lum.shape
    tiles = (max(1, min(_CLAHE_TILES, w // 64)), max(1, min(_CLAHE_TILES, h // 64)))
    clahe = cv2.createCLAHE(clipLimit=_CLAHE_CLIP, tileGridSize=tiles)
    u16 = np.clip(lum / 100.0 * 65535.0, 0, 65535).astype(np.uint16)
    out = clahe.apply(u16).astype(np.float32) / 65535.0 * 100.0
    return lum + amount * (out - lum)


_ASK = Tint.neutral()  # a marker: "measure whether the photo is monochrome here"


def correct_tone(
    rgb: np.ndarray,
    strength: float = 0.7,
    *,
    monochrome: str = "keep",
    tint: Tint | None = _ASK,
) -> np.ndarray:
    """``rgb`` (uint8 H x W x 3) with levels, colour cast and local contrast corrected.

    ``strength`` 0 returns the photo unchanged, 1 applies the full correction.
    ``monochrome``: "keep" / "neutral" / "colour", see RepairSettings. ``tint``: the
    print's toning as the caller measured it on the original (None: a colour photo); left
    out, it is measured on ``rgb``, which earlier stages (grain removed) may have changed.
    """
    if strength <= 0:
        return rgb.copy()
    faded = fading(rgb)
    if monochrome == "colour":
        tint = None
    elif tint is _ASK:
        tint = monochrome_tint(rgb)
    # CLAHE is for what the levels cannot bring back; a crisp photo gets little of it
    local = _LOCAL * strength * min(1.0, 0.25 + 2.0 * faded)
    if tint is not None:
        lab = _lab(rgb)
        lum = lab[..., 0]
        lo, hi = np.percentile(_sample(lum), [_LOW, _HIGH])
        fixed = _clahe(np.clip(_stretch(lum, lo, hi, 100.0), 0, 100), local)
        lab[..., 0] = lum + strength * (fixed - lum)
        return apply_tint(_rgb(lab), Tint.neutral() if monochrome == "neutral" else tint)
    img = rgb.astype(np.float32)
    sample = _sample(img)
    stretched = np.empty_like(img)
    for c in range(3):
        lo, hi = np.percentile(sample[..., c], [_LOW, _HIGH])
        stretched[..., c] = _stretch(img[..., c], lo, hi, 255.0)
    stretched = np.clip(stretched, 0, 255)
    lab = _lab(stretched)
    lab[..., 0] = _clahe(lab[..., 0], local)
    fixed = _rgb(lab).astype(np.float32)
    out = img + strength * (fixed - img)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
