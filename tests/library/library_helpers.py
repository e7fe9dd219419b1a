"""Helpers for the library tests: real photos (skimage.data) written the way cameras write them."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from PIL import Image, ImageCms

TAG_ORIENTATION = 0x0112
TAG_MAKE = 0x010F
TAG_EXIF_IFD = 0x8769
TAG_DATETIME_ORIGINAL = 0x9003
TAKEN = "1987:06:05 14:30:00"


@functools.cache
def srgb_profile() -> bytes:
    # Cached: the profile carries its creation time, so two calls can differ.
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_jpeg(img: Image.Image, *, orientation: int = 1, icc: bytes | None = None) -> bytes:
    """JPEG bytes as a camera or scanner writes them: EXIF date, make, orientation, ICC profile."""
    exif = Image.Exif()
    exif[TAG_MAKE] = "Kodak"
    exif[TAG_ORIENTATION] = orientation
    exif.get_ifd(TAG_EXIF_IFD)[TAG_DATETIME_ORIGINAL] = TAKEN
    buf = io.BytesIO()
    img.save(
        buf, "JPEG", quality=90, exif=exif, icc_profile=icc if icc is not None else srgb_profile()
    )
    return buf.getvalue()


def small_photo(seed: int, size: int = 24) -> Image.Image:
    """A small, distinct crop of the astronaut photo (distinct bytes for each seed)."""
    from skimage import data

    full = Image.fromarray(data.astronaut())
    x, y = (seed * 37) % 400, (seed * 53) % 400
    return full.crop((x, y, x + 96, y + 96)).resize((size, size))


def write_photos(folder: Path, count: int, size: int = 24) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:03d}.png"
        small_photo(i, size).save(path)
        paths.append(path)
    return paths
