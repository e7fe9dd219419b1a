"""Facial features the automatic repair must never fill (DESIGN.md, "The whole photo"):
their mask from the 68 iBUG landmarks, toy portraits with catchlights, and the toy
portraits' landmarks taken from the renderer's own geometry (dlib rarely finds a face in
a toy portrait, so its 68 points are computed where the renderer drew them).
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks.toyworld.world import Identity, make_identity, photo_params, render
from gen2res_desktop.core.faces.detect import DetectedFace

# iBUG 68 groups that make up the features: eyes, brows, nose tip and nostrils, lips
FEATURES = (range(36, 42), range(42, 48), range(17, 22), range(22, 27), range(30, 36), range(48, 60))  # fmt: skip
MARGIN = 0.1  # of the eye distance, the features' dilation


def feature_mask(shape: tuple[int, int], landmarks: list[np.ndarray]) -> np.ndarray:
    """Eyes, brows, nostrils and lips of every face: filled convex hulls, dilated."""
    mask = np.zeros(shape, np.uint8)
    for pts in landmarks:
        eye_d = float(np.hypot(*(pts[42:48].mean(0) - pts[36:42].mean(0))))
        part = np.zeros(shape, np.uint8)
        for group in FEATURES:
            hull = cv2.convexHull(np.round(pts[list(group)]).astype(np.int32))
            cv2.fillConvexPoly(part, hull, 1)
        r = max(1, int(round(MARGIN * eye_d)))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        mask |= cv2.dilate(part, disc)
    return mask > 0


def _to_image(ident: Identity, photo: int, size: int, local: np.ndarray) -> np.ndarray:
    pose = photo_params(ident, photo, size).pose
    c, s = np.cos(pose.angle), np.sin(pose.angle)
    x, y = local[:, 0], local[:, 1]
    return np.stack([pose.cx + pose.scale * (c * x - s * y), pose.cy + pose.scale * (s * x + c * y)], 1)  # fmt: skip


def toy_landmarks(seed: int, photo: int, size: int) -> np.ndarray:
    """The 68 iBUG points of a toy portrait, from the shapes the renderer draws."""
    ident = make_identity(seed)
    p = photo_params(ident, photo, size)
    fr = ident.face_ratio
    a = np.linspace(np.pi, 0, 17)  # the jaw, image-left to image-right through the chin
    jaw = np.stack([-np.cos(a) * (1 - ident.jaw * np.sin(a) ** 2), fr * np.sin(a)], 1)
    brows, eyes = [], []
    for side in (-1, 1):
        ex, ey = side * ident.eye_spacing, ident.eye_height
        t = np.linspace(0, 1, 5)
        bx = ex + np.sort(side * (-0.2 + 0.42 * t))
        by = ey - 0.24 - p.brow_raise - 0.03 * np.sin(np.pi * t)
        brows.append(np.stack([bx, by], 1))
        rx = 0.19 * ident.eye_size
        ry = rx * 0.6 * p.eye_open
        th = np.deg2rad([180, 240, 300, 0, 60, 120])
        eyes.append(np.stack([ex + rx * np.cos(th), ey + ry * np.sin(th)], 1))
    eh, nl = ident.eye_height, ident.nose_length
    bridge = np.stack([np.zeros(4), np.linspace(eh, eh + 0.12 + nl, 4)], 1)
    nostrils = np.stack([np.linspace(-0.07, 0.09, 5), np.full(5, eh + 0.13 + nl)], 1)
    mw, my = ident.mouth_width, ident.mouth_y

    def lip(x: np.ndarray, off: float, open_: float = 0.0) -> np.ndarray:
        bow = 1 - (x / mw) ** 2
        return np.stack([x, my + p.smile * bow + off + open_ * 2 * bow], 1)

    top = np.linspace(-mw, mw, 7)
    outer = np.concatenate(
        [lip(top, -0.035), lip(top[-2:0:-1], 0.035, p.mouth_open)]
    )  # 48-59: corner, upper lip left to right, corner, lower lip right to left
    inner_top = np.linspace(-mw * 0.8, mw * 0.8, 5)
    inner = np.concatenate([lip(inner_top, 0.0), lip(inner_top[-2:0:-1], 0.0, p.mouth_open)])
    local = np.concatenate([jaw, *brows, bridge, nostrils, *eyes, outer, inner])
    assert local.shape == (68, 2)
    return _to_image(ident, photo, size, local)


def toy_face(seed: int, photo: int, size: int) -> DetectedFace:
    pts = toy_landmarks(seed, photo, size)
    lo, hi = pts.min(0), pts.max(0)
    box = (int(lo[0]), int(lo[1]), int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    return DetectedFace(box=box, landmarks=pts, score=1.0)


def catchlight_portrait(seed: int, photo: int, size: int) -> np.ndarray:
    """A toy portrait with a catchlight (the window's specular reflection) in each eye:
    a small, sharp, near-white dot, up and to one side of the pupil: what a speck
    detector mistakes for dust."""
    ident = make_identity(seed)
    p = photo_params(ident, photo, size)
    img = render(ident, photo, size).image.copy()
    rng = np.random.default_rng([seed, photo, 0xCA7])
    offset = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.55, -0.25)])
    r_iris = 0.1 * ident.eye_size
    centres = np.array(
        [
            [side * ident.eye_spacing + p.gaze[0] * 0.05, ident.eye_height + p.gaze[1] * 0.03]
            for side in (-1, 1)
        ]
    )
    dots = _to_image(ident, photo, size, centres + offset * r_iris)
    radius = max(0.8, rng.uniform(0.18, 0.3) * r_iris * p.pose.scale)
    layer = np.zeros(img.shape[:2], np.uint8)
    for d in dots:
        centre = tuple(int(v) for v in np.round(d * 16))
        cv2.circle(layer, centre, int(round(radius * 16)), 255, -1, cv2.LINE_AA, shift=4)
    a = (layer.astype(np.float32) / 255.0)[..., None] * 0.95
    out = img.astype(np.float32) * (1 - a) + 250 * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
