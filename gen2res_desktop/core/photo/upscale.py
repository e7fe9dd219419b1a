"""Enlarging the repaired photo: OpenCV's Lanczos filter, the built-in default."""

from __future__ import annotations

import cv2
import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import MAX_PIXELS


def check_upscaled_size(width: int, height: int, factor: int) -> None:
    """Refuse an enlargement whose result would be larger than any photo the app opens."""
    if width * height * factor * factor > MAX_PIXELS:
        raise Gen2ResError(
            f"Enlarging this {width} x {height} photo {factor} times would make it "
            f"{width * factor} x {height * factor}, over the {MAX_PIXELS / 1e6:.0f} MP limit; "
            "choose a smaller enlargement."
        )


def upscale_opencv(rgb: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return rgb
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (w * factor, h * factor), interpolation=cv2.INTER_LANCZOS4)
