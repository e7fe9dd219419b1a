"""Aligned square crops: FFHQ / CelebA-HQ face alignment, and plain square crops for pets.

The face priors were trained on crops made by the FFHQ alignment procedure (Karras et al.,
"A Style-Based Generator Architecture for GANs", dataset repository), written here from its
description:

- e0, e1 = centres of the image-left and image-right eyes; eye_avg = (e0 + e1) / 2,
  eye_to_eye = e1 - e0; mouth_avg = centre of the mouth corners,
  eye_to_mouth = mouth_avg - eye_avg;
- x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1] (the horizontal axis, blending the eye
  line with the perpendicular of the eye-mouth line), normalised, then scaled to
  max(|eye_to_eye| * 2.0, |eye_to_mouth| * 1.8); y = flipud(x) * [-1, 1];
- centre c = eye_avg + eye_to_mouth * 0.1; the crop is the square c +- x +- y, of side 2|x|.

So the eyes sit symmetric about the vertical centre line (exactly for a symmetric face),
|eye_to_eye| * R / (2|x|) apart (R / 4 when the eye term wins the max, as on most faces),
and 0.1 * |eye_to_mouth| * R / (2|x|) above the crop centre. ``AlignedFace.eye_left`` and
``eye_right`` give those positions for the actual face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import geometry
from gen2res_desktop.core.faces.detect import (
    LEFT_EYE,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    RIGHT_EYE,
    DetectedFace,
)


@dataclass
class AlignedFace:
    """A square crop of a photo at the prior's resolution and how it maps back.

    ``matrix`` maps photo pixels to crop pixels, ``inverse`` crop to photo (2x3, pixel
    centres at integer coordinates). ``eye_left`` / ``eye_right`` are the image-left and
    image-right eye centres in the crop; None for a plain crop. ``kind`` says which blend
    mask suits it when pasting back.
    """

    crop: Image.Image
    matrix: np.ndarray
    inverse: np.ndarray
    eye_left: tuple[float, float] | None
    eye_right: tuple[float, float] | None
    kind: Literal["face", "crop"] = "face"

    @property
    def resolution(self) -> int:
        return self.crop.size[0]


def ffhq_quad(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre c, half-axis x, half-axis y) of the FFHQ crop square, photo coordinates."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_l, eye_r = lm[RIGHT_EYE].mean(axis=0), lm[LEFT_EYE].mean(axis=0)
    eye_avg = (eye_l + eye_r) / 2
    eye_to_eye = eye_r - eye_l
    mouth_avg = (lm[MOUTH_LEFT] + lm[MOUTH_RIGHT]) / 2
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    norm = np.hypot(*x)
    if norm == 0:
        raise Gen2ResError("The face landmarks are degenerate (eyes and mouth coincide).")
    x = x / norm * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return c, x, y


def alignment_matrix(landmarks: np.ndarray, resolution: int) -> np.ndarray:
    """2x3 similarity taking photo pixels to the R x R aligned crop.

    The quad's corner c - x - y lands on the crop's outer corner (-0.5, -0.5) and
    c + x + y on (R - 0.5, R - 0.5): the square covers the crop's pixels exactly.
    """
    c, x, y = ffhq_quad(landmarks)
    k = resolution / (2 * float(x @ x))
    a = k * np.vstack([x, y])
    t = (resolution - 1) / 2 - a @ c
    return np.hstack([a, t[:, None]])


def align_face(image: Image.Image | np.ndarray, face: DetectedFace, resolution: int) -> AlignedFace:
    """The face's FFHQ-aligned R x R crop; the photo is mirrored where the square leaves it."""
    m = alignment_matrix(face.landmarks, resolution)
    crop = geometry.warp(
        geometry.as_rgb_array(image), m, (resolution, resolution), border=cv2.BORDER_REFLECT
    )
    eyes = geometry.apply(m, np.array(face.eye_centres))
    return AlignedFace(
        crop=Image.fromarray(crop, "RGB"),
        matrix=m,
        inverse=geometry.invert(m),
        eye_left=(float(eyes[0, 0]), float(eyes[0, 1])),
        eye_right=(float(eyes[1, 0]), float(eyes[1, 1])),
    )


def square_crop_region(
    image: Image.Image | np.ndarray, x: int, y: int, size: int, resolution: int
) -> AlignedFace:
    """The square (x, y, size) of the photo (top-left corner and side, in pixels) at R x R.

    For pets, where no detector ships offline: the user says where the animal is.
    """
    rgb = geometry.as_rgb_array(image)
    h, w = rgb.shape[:2]
    if size <= 0:
        raise Gen2ResError(f"The crop size must be positive (got {size}).")
    if x < 0 or y < 0 or x + size > w or y + size > h:
        raise Gen2ResError(
            f"The crop {x},{y},{size} goes past the photo, which is {w} x {h} pixels: "
            f"X + SIZE must be at most {w} and Y + SIZE at most {h}."
        )
    k = resolution / size
    # the square's outer edges (x - 0.5 .. x + size - 0.5) cover the crop's outer edges
    m = np.array([[k, 0.0, k * (0.5 - x) - 0.5], [0.0, k, k * (0.5 - y) - 0.5]])
    crop = geometry.warp(rgb, m, (resolution, resolution), border=cv2.BORDER_REFLECT)
    return AlignedFace(
        crop=Image.fromarray(crop, "RGB"),
        matrix=m,
        inverse=geometry.invert(m),
        eye_left=None,
        eye_right=None,
        kind="crop",
    )
