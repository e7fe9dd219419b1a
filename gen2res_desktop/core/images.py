"""Reading user images safely and converting between PIL, numpy and model tensors.

Every decoder error becomes a :class:`Gen2ResError` with a sentence a user understands.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gen2res_desktop.core.errors import Gen2ResError

if TYPE_CHECKING:
    import torch

try:  # HEIC/HEIF (phones) when the optional pillow-heif is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:
    pass

# Larger than any scan a family is likely to have (a 600 dpi A3 page is ~70 MP), small
# enough that a crafted file cannot exhaust memory.
MAX_PIXELS = 120_000_000


def _check_pixels(img: Image.Image, name: str) -> None:
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise Gen2ResError(
            f"{name}: image is too large ({w} x {h} = {w * h / 1e6:.0f} MP; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} MP), refused as a possible decompression bomb."
        )


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open and fully decode an image (first frame), refusing bombs; raises Gen2ResError."""
    path = Path(path)
    name = path.name
    try:
        if path.stat().st_size == 0:
            raise Gen2ResError(f"{name}: the file is empty (0 bytes).")
    except PermissionError as e:
        raise Gen2ResError(f"{name}: cannot read the file (permission denied).") from e
    except FileNotFoundError as e:
        raise Gen2ResError(f"{name}: file not found.") from e
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            _check_pixels(img, name)
            img.seek(0)
            img.load()
    except Gen2ResError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise Gen2ResError(
            f"{name}: image is too large, refused as a possible decompression bomb."
        ) from e
    except UnidentifiedImageError as e:
        raise Gen2ResError(f"{name}: not an image file, or a format that cannot be read.") from e
    except PermissionError as e:
        raise Gen2ResError(f"{name}: cannot read the file (permission denied).") from e
    except OSError as e:
        raise Gen2ResError(f"{name}: the image is damaged or truncated ({e}).") from e
    except (ValueError, SyntaxError, EOFError) as e:
        raise Gen2ResError(f"{name}: the image is damaged ({e}).") from e
    return img


def to_rgb(img: Image.Image) -> Image.Image:
    """Normalise any mode (CMYK, 16-bit, palette, alpha, grayscale) to 8-bit RGB.

    Transparency is flattened onto white, as a printed photo would be.
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Open an image for its pixels: EXIF orientation applied, converted to RGB."""
    img = open_image(path)
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the photo
        pass
    return to_rgb(img)


def pil_to_tensor(img: Image.Image, size: int | None = None) -> torch.Tensor:
    """RGB PIL image -> float tensor (3, H, W) in [-1, 1], optionally resized to size x size."""
    import torch

    img = to_rgb(img)
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """Tensor (3, H, W) in [-1, 1] -> RGB PIL image (rounded, not truncated)."""
    import torch

    arr = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).cpu().numpy(), "RGB")


IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".tif",
    ".tiff",
    ".bmp",
    ".webp",
    ".gif",
    ".heic",
    ".heif",
}


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly in ``folder`` (sorted, hidden files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise Gen2ResError(f"{folder}: not a folder.")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
