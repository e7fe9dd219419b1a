"""Drawing surface and shared shapes for generator 2 (:mod:`.degrade_real`).

Unlike generator 1 (which draws at 4x and averages down), marks are drawn once at the
photo's own resolution with OpenCV's antialiased lines and fills in sub-pixel
coordinates, each mark composited straight onto the print inside its bounding box: a
4000 px scan costs no more memory than its own size. A mark narrower than a pixel is
drawn one pixel wide at the matching fraction of its opacity (what it covers is what a
scanner's photosite sees).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

Colour = np.ndarray  # (3,) RGB 0..1, or an H x W x 3 patch the size of the mark's box

_SHIFT = 4  # OpenCV's fixed-point bits: coordinates in 1/16 px


@dataclass
class Print:
    """The print being damaged, and per kind of damage how opaque it is where (0..1)."""

    img: np.ndarray  # float32 H x W x 3, 0..1
    paper: np.ndarray  # (3,) the aged paper base: what shows where the emulsion is gone
    cover: dict[str, np.ndarray] = field(default_factory=dict)  # float32 H x W per kind

    @property
    def h(self) -> int:
        return self.img.shape[0]

    @property
    def w(self) -> int:
        return self.img.shape[1]

    @property
    def short(self) -> int:
        return min(self.h, self.w)

    @property
    def unit(self) -> float:
        """One thousandth of the shorter side: sizes scale with the print, not the pixel."""
        return self.short / 1000.0

    def width(self, rel: float, floor: float = 0.5) -> float:
        """A width of ``rel`` units in pixels; never under ``floor`` (sub-pixel ones fade)."""
        return max(floor, rel * self.unit)

    def _box(self, pts: np.ndarray, margin: float) -> tuple[int, int, int, int] | None:
        lo = np.floor(pts.min(axis=0) - margin).astype(int)
        hi = np.ceil(pts.max(axis=0) + margin).astype(int) + 1
        x0, y0 = max(0, lo[0]), max(0, lo[1])
        x1, y1 = min(self.w, hi[0]), min(self.h, hi[1])
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1

    def composite(
        self, kind: str, box: tuple[int, int, int, int], alpha: np.ndarray, colour: Colour
    ) -> None:
        """Lay ``colour`` over the print at ``alpha`` (float, the box's size)."""
        x0, y0, x1, y1 = box
        region = self.img[y0:y1, x0:x1]
        col = np.asarray(colour, np.float32)
        region += (col - region) * alpha[..., None]
        cov = self.cover.setdefault(kind, np.zeros((self.h, self.w), np.float32))
        np.maximum(cov[y0:y1, x0:x1], alpha, out=cov[y0:y1, x0:x1])

    def _fixed(self, pts: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        off = np.array(box[:2], np.float64)
        return np.round((pts - off) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)

    def coverage_strokes(
        self, lines: list[np.ndarray], width_px: float
    ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
        """Antialiased coverage (0..1) of polylines ``width_px`` wide, in their box."""
        lines = [p for p in lines if len(p) >= 2]
        if not lines:
            return None
        box = self._box(np.concatenate(lines), width_px + 2)
        if box is None:
            return None
        tmp = np.zeros((box[3] - box[1], box[2] - box[0]), np.uint8)
        thick = max(1, int(round(width_px)))
        fixed = [self._fixed(p, box) for p in lines]
        cv2.polylines(tmp, fixed, False, 255, thick, cv2.LINE_AA, shift=_SHIFT)
        return box, tmp.astype(np.float32) / 255.0 * min(1.0, width_px)

    def coverage_polygons(
        self, polys: list[np.ndarray]
    ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
        polys = [p for p in polys if len(p) >= 3]
        if not polys:
            return None
        box = self._box(np.concatenate(polys), 2)
        if box is None:
            return None
        tmp = np.zeros((box[3] - box[1], box[2] - box[0]), np.uint8)
        cv2.fillPoly(tmp, [self._fixed(p, box) for p in polys], 255, cv2.LINE_AA, shift=_SHIFT)
        return box, tmp.astype(np.float32) / 255.0

    def stroke(
        self,
        kind: str,
        lines: list[np.ndarray],
        width_px: float,
        colour: Colour,
        opacity: float,
    ) -> None:
        got = self.coverage_strokes(lines, width_px)
        if got is not None:
            self.composite(kind, got[0], got[1] * opacity, colour)

    def fill(self, kind: str, polys: list[np.ndarray], colour: Colour, opacity: float) -> None:
        got = self.coverage_polygons(polys)
        if got is not None:
            self.composite(kind, got[0], got[1] * opacity, colour)


def smooth_noise(rng: np.random.Generator, h: int, w: int, scale_px: float) -> np.ndarray:
    """Smooth random field in 0..1 whose blobs are about ``scale_px`` across."""
    gh, gw = max(2, int(h / scale_px) + 2), max(2, int(w / scale_px) + 2)
    coarse = rng.uniform(0, 1, (gh, gw)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def wander(
    a: np.ndarray, b: np.ndarray, rough: float, rng: np.random.Generator, seg_px: float = 2.0
) -> np.ndarray:
    """A path from ``a`` to ``b`` that wanders like a torn or cracked edge: midpoint
    displacement, each level half as rough as the last (a fractal edge, not a sine)."""
    pts = np.stack([a, b]).astype(np.float64)
    length = float(np.hypot(*(b - a)))
    amp = rough * length
    levels = int(np.clip(np.ceil(np.log2(max(length / seg_px, 1.0))), 0, 9))
    for _ in range(levels):
        p, q = pts[:-1], pts[1:]
        d = q - p
        normal = np.stack([-d[:, 1], d[:, 0]], 1) / (np.hypot(d[:, 0], d[:, 1])[:, None] + 1e-9)
        mid = (p + q) / 2 + normal * rng.normal(0, amp, (len(p), 1))
        out = np.empty((len(pts) + len(mid), 2))
        out[0::2], out[1::2] = pts, mid
        pts, amp = out, amp * 0.55
    return pts


def ragged_blob(
    rng: np.random.Generator, centre: np.ndarray, radius: float, rag: float, n: int = 48
) -> np.ndarray:
    """An irregular closed outline: a few slow lobes plus vertex-level raggedness."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rng.normal(0, 0.22 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r *= 1 + rag * rng.uniform(-1, 1, n)
    r = np.maximum(r, 0.25) * radius
    return centre + np.stack([r * np.cos(theta), r * np.sin(theta)], 1)


def walk(
    rng: np.random.Generator,
    start: np.ndarray,
    heading: float,
    length: float,
    step: float,
    turn: float,
    curl: float = 0.0,
) -> np.ndarray:
    """A path of ``length`` px: heading drifts by ``turn`` per step; ``curl`` lets the
    turning rate itself drift (a hair's loops)."""
    n = max(2, int(length / step))
    rate = np.cumsum(rng.normal(0, curl, n)) if curl else np.zeros(n)
    angles = heading + np.cumsum(rng.normal(0, turn, n) + rate)
    steps = step * np.stack([np.cos(angles), np.sin(angles)], 1)
    return np.concatenate([start[None], start + np.cumsum(steps, axis=0)])


def point_on_edge(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, float]:
    """A point on the print's border and the heading that points inwards."""
    side = int(rng.integers(4))
    t = rng.uniform(0.1, 0.9)
    inward = rng.normal(0, 0.4)
    if side == 0:
        return np.array([t * w, 0.0]), np.pi / 2 + inward
    if side == 1:
        return np.array([t * w, h - 1.0]), -np.pi / 2 + inward
    if side == 2:
        return np.array([0.0, t * h]), inward
    return np.array([w - 1.0, t * h]), np.pi + inward
