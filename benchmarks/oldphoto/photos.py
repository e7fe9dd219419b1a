"""The clean photos the old prints are made from: scikit-image's bundled photos (nobody
here made them) and toy-world portraits, enlarged or rendered to the scale's size.

One colour set, one black-and-white print (the cameraman) and one sepia-toned print (the
rocket, toned the way a sepia bath tones silver: chroma growing with lightness).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data

from benchmarks.toyworld.world import make_identity, render

# Toy-world identity seeds far from those the toy-world benchmark trains on.
TOY_SEED = 3_000_000


@dataclass(frozen=True)
class Clean:
    name: str
    image: np.ndarray  # uint8 H x W x 3
    monochrome: bool  # a black-and-white or toned print
    what: str  # for the report: what in it can fool a damage detector


NATURAL = {
    "astronaut": ("colour", "hair, suit fabric, flag stripes"),
    "coffee": ("colour", "rim highlights, spoon edge"),
    "chelsea": ("colour", "whiskers, fur"),
    "camera": ("gray", "tripod legs, grass, coat edges"),
    "rocket": ("sepia", "gantry struts, thin cables"),
    # the test split's photos: none of them is in the dev split
    "motorcycle": ("colour", "spokes, chrome rims, cables"),
    "clock": ("gray", "clock hands, tick marks"),
    "coins": ("sepia", "coin rims, lettering"),
    "moon": ("gray", "craters, terminator"),
    "brick": ("sepia", "mortar lines"),
    "gravel": ("gray", "pebble edges, fine texture"),
    "grass": ("gray", "blades of grass"),
}


def _load(name: str) -> np.ndarray:
    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()


def sepia(rgb: np.ndarray) -> np.ndarray:
    """A toned print: neutral gray made warm, more in the mid-tones than the black."""
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    tone = np.stack([y**0.9, y**1.0, y**1.25], axis=2)
    return (np.clip(tone, 0, 1) * 255 + 0.5).astype(np.uint8)


def resize_to(rgb: np.ndarray, megapixels: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = (megapixels * 1e6 / (h * w)) ** 0.5
    size = (max(16, round(w * f)), max(16, round(h * f)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LANCZOS4
    return cv2.resize(rgb, size, interpolation=interp)


def natural(name: str, megapixels: float) -> Clean:
    kind, what = NATURAL[name]
    img = _load(name)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3])
    if kind == "sepia":
        img = sepia(img)
    elif kind == "gray":
        img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    label = name if kind == "colour" else f"{name} ({kind})"
    return Clean(label, resize_to(img, megapixels), kind != "colour", what)


def portrait(index: int, size: int) -> Clean:
    photo = render(make_identity(TOY_SEED + index), index, size)
    return Clean(f"toy portrait {index}", photo.image, False, "hair line, eyelids, brows")


def photo_set(names: tuple[str, ...], megapixels: float, portraits: int, size: int) -> list[Clean]:
    photos = [natural(n, megapixels) for n in names]
    photos += [portrait(i, size) for i in range(portraits)]
    return photos
