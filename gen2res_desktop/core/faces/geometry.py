"""2x3 affine matrices (pixel-centre coordinates, as OpenCV and dlib use) and warping."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

Matrix = np.ndarray  # float64, shape (2, 3): [x', y'] = A @ [x, y] + t


def as_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """Contiguous uint8 H x W x 3 RGB array (dlib and OpenCV both need contiguous memory)."""
    if isinstance(image, Image.Image):
        arr = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    else:
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[:, :, :3]
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected an RGB image array, got shape {arr.shape}")
        if arr.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image array, got {arr.dtype}")
    return np.ascontiguousarray(arr)


def invert(m: Matrix) -> Matrix:
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


def compose(outer: Matrix, inner: Matrix) -> Matrix:
    """The matrix applying ``inner`` first, then ``outer``."""
    o = np.vstack([outer, [0.0, 0.0, 1.0]])
    i = np.vstack([inner, [0.0, 0.0, 1.0]])
    return (o @ i)[:2]


def apply(m: Matrix, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def scale_of(m: Matrix) -> float:
    """Isotropic scale factor of a similarity transform (output pixels per input pixel)."""
    return math.sqrt(abs(np.linalg.det(m[:, :2])))


def similarity(centre: np.ndarray, roll: float, scale: float, out_centre: np.ndarray) -> Matrix:
    """Maps ``centre`` to ``out_centre``, scales by ``scale`` and turns the direction at angle
    ``roll`` (radians, image coordinates with y down, as atan2(dy, dx)) to horizontal."""
    c, s = math.cos(-roll), math.sin(-roll)
    a = scale * np.array([[c, -s], [s, c]])
    t = np.asarray(out_centre, dtype=np.float64) - a @ np.asarray(centre, dtype=np.float64)
    return np.hstack([a, t[:, None]])


def warp(
    image: np.ndarray,
    m: Matrix,
    size: tuple[int, int],
    *,
    interpolation: int = cv2.INTER_CUBIC,
    border: int = cv2.BORDER_REFLECT_101,
) -> np.ndarray:
    """``cv2.warpAffine`` of ``image`` by ``m`` (source -> output) into ``size`` = (w, h).

    warpAffine samples without low-pass filtering, so a strong reduction (a large face
    brought down to the prior's resolution) would alias. There the part of the source that
    the output needs is first shrunk with area averaging, leaving a warp at scale ~1.
    """
    m = np.asarray(m, dtype=np.float64)
    scale = scale_of(m)
    h_src, w_src = image.shape[:2]
    if scale < 0.5:
        w, h = size
        corners = apply(invert(m), np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64))
        margin = 3.0 / scale
        x0 = max(0, math.floor(corners[:, 0].min() - margin))
        y0 = max(0, math.floor(corners[:, 1].min() - margin))
        x1 = min(w_src, math.ceil(corners[:, 0].max() + margin))
        y1 = min(h_src, math.ceil(corners[:, 1].max() + margin))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            roi = image[y0:y1, x0:x1]
            nw = max(1, round((x1 - x0) * scale))
            nh = max(1, round((y1 - y0) * scale))
            small = cv2.resize(roi, (nw, nh), interpolation=cv2.INTER_AREA)
            fx, fy = nw / (x1 - x0), nh / (y1 - y0)
            # small pixel i covers roi pixels [i/f, (i+1)/f): its centre is roi (i + 0.5)/f - 0.5
            small_to_src = np.array(
                [[1 / fx, 0.0, 0.5 / fx - 0.5 + x0], [0.0, 1 / fy, 0.5 / fy - 0.5 + y0]]
            )
            image, m = small, compose(m, small_to_src)
    return cv2.warpAffine(image, m, size, flags=interpolation, borderMode=border)
