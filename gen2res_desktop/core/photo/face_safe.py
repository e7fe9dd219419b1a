"""Keeping the automatic repair off faces' features.

A damage detector looks for small things that differ from their surroundings, and an
eye's iris with its catchlight, a nostril or the corner of a mouth is exactly that. The
automatic damage map (built-in or learned) therefore goes through a guard built from each
face's 68 landmarks before anything is filled:

- *features* (eyes with their catchlights, brows, nostrils, lips and teeth), each the
  convex hull of its landmarks grown by a margin that scales with the face, are never in
  the map;
- elsewhere inside a face (the landmarks' hull, up to the forehead) a mark needs stronger
  evidence: it stays when it belongs to a long thin line that runs across the face (a
  scratch, a crack or a fold), or when it is a small speck much *brighter* than the skin
  around it (paper showing through, white dust). Dark blobs stay on the face: a mole, a
  freckle or a nostril's shadow is far likelier there than black dust;
- a face that a subject's adapter will regenerate is left to that stage whole: it is
  generated anew from the noised crop, which drowns thin damage anyway.

The user's own painted map never goes through the guard: what they paint is filled.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from gen2res_desktop.core.faces import DetectedFace

# Landmark groups (iBUG 300-W 68-point layout) that make up the protected features, each
# with its margin in eye distances. Eyes get the widest: the iris and the catchlight sit
# inside the lids' outline but lashes, lid creases and a downcast iris reach past it.
# The others' margin also covers the landmarks' own wander: found on a scratched print,
# they sat up to 0.03 eye distances off those found on the clean photo (oldphoto_notes.md,
# round 7), and a scratch stopped at the lips' outline then still touched the lips.
FEATURES: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("eye", tuple(range(36, 42)), 0.16),
    ("eye", tuple(range(42, 48)), 0.16),
    ("brow", tuple(range(17, 22)), 0.15),
    ("brow", tuple(range(22, 27)), 0.15),
    ("nose", (30, 31, 32, 33, 34, 35), 0.15),  # tip and nostrils
    ("mouth", tuple(range(48, 60)), 0.15),  # the lips' outline holds the teeth too
)
# A mark inside a face stays when it is part of a line at least this long (eye distances)
# and at most this wide on average (eye distances): a scratch or a crack across the face.
LONG_LINE = 1.0
THIN_LINE = 0.2
# The face region reaches this far above the brows (eye distances): the forehead.
FOREHEAD = 0.7
# A speck inside a face stays when it is at most this wide (eye distances) and this many
# grey levels brighter than the skin around it.
SPECK_SIDE = 0.25
SPECK_CONTRAST = 40.0


@dataclass
class FaceGuard:
    """Where the automatic map may not go, for one photo's faces (uint8 0/1 maps)."""

    features: np.ndarray
    faces: np.ndarray  # inside a face: a mark needs a long line there
    regenerated: np.ndarray  # faces the face stage will regenerate: left to it
    eye_distance: np.ndarray  # per pixel inside a face, that face's eye distance (0 outside)
    outlines: list[list[list[int]]] = field(default_factory=list)

    def apply(self, mask: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, int]:
        """``mask`` (uint8, nonzero = damaged) of the photo ``rgb`` with what the guard
        forbids taken out, and how many marked pixels that took out."""
        marked = (mask > 0).astype(np.uint8)
        keep = marked & (1 - self.regenerated)
        if (keep & self.faces).any():
            # a line is measured whole, before the features cut it into pieces
            gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
            keep = (keep & (1 - self.faces)) | (keep & self.faces & self._sure_marks(keep, gray))
        keep &= 1 - self.features
        dropped = int(marked.sum()) - int(keep.sum())
        return np.where(keep > 0, 255, 0).astype(np.uint8), dropped

    def _sure_marks(self, marked: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """The components of ``marked`` that reach into a face and are sure damage there:
        long thin lines or small bright specks, measured against that face's size (uint8
        0/1)."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(marked, connectivity=8)
        touching = np.unique(labels[(self.faces > 0) & (labels > 0)])
        lut = np.zeros(n, np.uint8)
        for lab in touching:
            x, y, w, h, area = stats[lab]
            ys, xs = np.nonzero(labels[y : y + h, x : x + w] == lab)
            scale = float(self.eye_distance[y : y + h, x : x + w][ys, xs].max())
            if scale <= 0:
                continue
            pts = np.stack([xs, ys], axis=1).astype(np.float32)
            (_, _), (a, b), _ = cv2.minAreaRect(pts)
            length = max(a, b, 1.0)
            if length >= LONG_LINE * scale and area / length <= THIN_LINE * scale:
                lut[lab] = 1
            elif length <= SPECK_SIDE * scale and self._brighter(gray, labels, lab, stats[lab]):
                lut[lab] = 1
        return lut[labels]

    @staticmethod
    def _brighter(gray: np.ndarray, labels: np.ndarray, lab: int, stat: np.ndarray) -> bool:
        """Whether the speck is much brighter than a ring of skin around it.

        The speck's brightest quarter is measured, not its mean: a detector's mark runs a
        pixel past the speck it found, and that rim, half of a small mark, is skin. A
        network whose mark was a pixel wider lost a white speck beside an eye to its
        mean (oldphoto_notes.md, round 9)."""
        x, y, w, h, _ = (int(v) for v in stat)
        r = max(2, (max(w, h) + 1) // 2)
        y0, y1 = max(0, y - 2 * r), min(gray.shape[0], y + h + 2 * r)
        x0, x1 = max(0, x - 2 * r), min(gray.shape[1], x + w + 2 * r)
        own = (labels[y0:y1, x0:x1] == lab).astype(np.uint8)
        grown = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
        ring = (grown > 0) & (own == 0)
        if not ring.any():
            return False
        patch = gray[y0:y1, x0:x1].astype(np.float32)
        speck = float(np.percentile(patch[own > 0], 75))
        return speck - float(np.median(patch[ring])) >= SPECK_CONTRAST


def _hull_mask(
    shape: tuple[int, int], points: np.ndarray, margin: float, origin: np.ndarray
) -> np.ndarray:
    """The convex hull of ``points`` (photo pixels) grown by ``margin``, drawn on a patch of
    ``shape`` whose top-left corner is the photo's pixel ``origin``."""
    out = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points - origin).astype(np.int32))
    cv2.fillConvexPoly(out, hull, 1)
    r = max(1, int(round(margin)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(out, disc)


def _outline(region: np.ndarray) -> list[list[list[int]]]:
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for c in contours:
        c = cv2.approxPolyDP(c, 1.0, True).reshape(-1, 2)
        if len(c) >= 3:
            polygons.append(c.astype(int).tolist())
    return polygons


def protected_region(polygons: list[list[list[int]]], shape: tuple[int, int]) -> np.ndarray:
    """The protected features drawn from their outlines (bool H x W), a pixel wider than
    the outlines, which were simplified by up to a pixel."""
    out = np.zeros(shape, np.uint8)
    if polygons:
        cv2.fillPoly(out, [np.asarray(p, np.int32) for p in polygons], 1)
        out = cv2.dilate(out, np.ones((3, 3), np.uint8))
    return out > 0


def face_guard(
    shape: tuple[int, int],
    faces: Sequence[DetectedFace],
    regenerate: Collection[int] = (),
) -> FaceGuard | None:
    """The guard for a photo of ``shape`` (height, width) with ``faces`` (their landmarks in
    that photo's pixels); ``regenerate`` holds the indices of faces the face stage will
    regenerate. None when there is no face."""
    usable = [(i, f) for i, f in enumerate(faces) if np.asarray(f.landmarks).shape == (68, 2)]
    if not usable:
        return None
    h, w = shape[:2]
    features = np.zeros((h, w), np.uint8)
    inside = np.zeros((h, w), np.uint8)
    regenerated = np.zeros((h, w), np.uint8)
    eye_distance = np.zeros((h, w), np.float32)
    for i, face in usable:
        lm = np.asarray(face.landmarks, dtype=np.float64)
        d = max(face.eye_distance, 4.0)
        # the face: jaw line and brows, with the forehead above the brows
        up = lm[27] - lm[8]
        up = up / max(np.linalg.norm(up), 1e-6)
        outline = np.concatenate([lm[:27], lm[17:27] + FOREHEAD * d * up])
        # drawn on a patch around the face only: a face is small on a 40 MP scan
        pad = int(np.ceil(0.2 * d)) + 2
        x0, y0 = np.floor(outline.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + pad + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = (y1 - y0, x1 - x0)
        origin = np.array([x0, y0], np.float64)
        own = np.zeros(patch, np.uint8)
        for _, idx, margin in FEATURES:
            own |= _hull_mask(patch, lm[list(idx)], margin * d, origin)
        region = _hull_mask(patch, outline, 0.1 * d, origin)
        box = (slice(y0, y1), slice(x0, x1))
        features[box] |= own
        inside[box] |= region
        eye_distance[box] = np.where(
            region > 0, np.maximum(eye_distance[box], d), eye_distance[box]
        )
        if i in regenerate:
            regenerated[box] |= region
    guard = FaceGuard(features, inside, regenerated, eye_distance)
    guard.outlines = _outline(features)
    return guard
