"""Old-photo damage the method never sees in training: a random, seeded mix per photo.

Sizes are relative to the image (a 64 px photo gets twice the blur radius of a 32 px
one), so both benchmark scales see the same damage. Every photo loses fine detail (at
least one of blur, motion blur or downscaling) and gets one to three other defects.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def _blur(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    sigma = rng.uniform(0.5, 1.0) * unit
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _motion(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    length = rng.uniform(2.0, 3.5) * unit
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size * 4, size * 4), np.float32)
    c = size * 2
    a = rng.uniform(0, np.pi)
    dx, dy = np.cos(a) * length * 2, np.sin(a) * length * 2
    cv2.line(kernel, (int(c - dx), int(c - dy)), (int(c + dx), int(c + dy)), 1.0, 1, cv2.LINE_AA)
    kernel = cv2.resize(kernel, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def _down_up(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    n = img.shape[0]
    small = max(4, int(round(n / rng.uniform(1.7, 2.8))))
    low = cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA)
    return cv2.resize(low, (n, n), interpolation=cv2.INTER_LINEAR)


def _noise(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    sigma = rng.uniform(0.02, 0.05)
    grain = rng.normal(0, sigma, img.shape[:2])[..., None]  # film grain is mostly luminance
    colour = rng.normal(0, sigma * 0.3, img.shape)
    return img + (grain + colour).astype(np.float32)


def _jpeg(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(_to_u8(img)).save(buf, "JPEG", quality=int(rng.integers(25, 60)))
    return np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255.0


def _fade(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    """Lost contrast, lifted blacks and a colour cast (yellowed or magenta-shifted prints)."""
    contrast = rng.uniform(0.5, 0.8)
    cast = np.array(
        [1.0 + rng.uniform(0.0, 0.12), 1.0 + rng.uniform(-0.04, 0.06), 1 - rng.uniform(0.05, 0.2)],
        np.float32,
    )
    if rng.uniform() < 0.3:
        cast = cast[[0, 2, 1]]
    return ((img - 0.5) * contrast + 0.5 + rng.uniform(0.0, 0.1)) * cast


def _scratches(img: np.ndarray, rng: np.random.Generator, unit: float) -> np.ndarray:
    n = img.shape[0]
    out = img.copy()
    big = 4  # drawn at 4x and averaged down: antialiased hairlines thinner than a pixel
    layer = np.zeros((n * big, n * big), np.float32)
    alpha = np.zeros_like(layer)
    for _ in range(int(rng.integers(1, 4))):
        pts = [rng.uniform(0, n * big, 2)]
        for _ in range(3):
            step = rng.normal(0, n * big * 0.25, 2)
            pts.append(np.clip(pts[-1] + step, 0, n * big - 1))
        value = 1.0 if rng.uniform() < 0.7 else 0.0  # white scratches are the common kind
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            p, q = tuple(int(v) for v in a), tuple(int(v) for v in b)
            cv2.line(layer, p, q, value, max(1, int(big * unit * 0.5)), cv2.LINE_AA)
            cv2.line(alpha, p, q, 1.0, max(1, int(big * unit * 0.5)), cv2.LINE_AA)
    alpha = cv2.resize(alpha, (n, n), interpolation=cv2.INTER_AREA)[..., None]
    layer = cv2.resize(layer, (n, n), interpolation=cv2.INTER_AREA)[..., None]
    colour = layer / np.maximum(alpha, 1e-6)
    a = np.clip(alpha * rng.uniform(0.6, 0.95), 0, 1)
    return out * (1 - a) + colour * a


DETAIL_LOSS = {"blur": _blur, "motion blur": _motion, "downscale": _down_up}
DEFECTS = {"noise": _noise, "jpeg": _jpeg, "fading": _fade, "scratches": _scratches}
# The order damage happens in: the print fades and gets scratched, the scan blurs and adds
# noise, the file gets compressed.
ORDER = ("fading", "scratches", "blur", "motion blur", "downscale", "noise", "jpeg")


def _to_u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def degrade(image: np.ndarray, seed: int) -> tuple[np.ndarray, list[str]]:
    """Damage a uint8 (R, R, 3) image; returns the damaged image and the defects applied."""
    rng = np.random.default_rng([seed, 0xDE])
    unit = image.shape[0] / 32.0
    names = [str(rng.choice(list(DETAIL_LOSS)))]
    if rng.uniform() < 0.15:
        names.append(str(rng.choice([n for n in DETAIL_LOSS if n != names[0]])))
    others = list(DEFECTS)
    k = int(rng.integers(1, 4))
    names += [str(n) for n in rng.choice(others, size=k, replace=False)]
    ops = {**DETAIL_LOSS, **DEFECTS}
    img = image.astype(np.float32) / 255.0
    applied = [n for n in ORDER if n in names]
    for name in applied:
        img = ops[name](img, rng, unit)
    return _to_u8(img), applied
