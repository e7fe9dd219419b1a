"""Torn corners and bites out of a print's edge: where the paper is gone, the scan shows the
scanner's lid instead, and the damage network (which looks at lines and specks a few
pixels across) does not see a hole that size.

What marks the lid apart from the picture, each test for a physical reason:

* it reaches the photo's edge, since a print tears from its edge;
* it is one level all over: its blurred grey stays within a few levels, where paper and
  emulsion vary (fading, mottling, grain) and a picture's flat areas shade;
* it has no grain: the scanner sees a smooth surface, no grainier than the flattest
  quarter of the print (where only the scanner's noise is left), or almost nil;
* it is grey, white or black: a lid has no tone, while a print's dyes or toner give even
  its whites a colour (a black-and-white scan passes this test, and leans on the others);
* it is not clipped: a shadow at 0 says nothing about paper, and a white at 255 is the
  lid only where nothing else in the photo is that white (a burnt-out sky is, an old
  print's paper never is);
* a torn edge bounds it: the print around it is not flat, and mostly not of its colour
  (a piece of a larger flat area, a dark mount or a wall, has more of itself around it);
* it is a corner or a bite, not a border: it runs along at most part of any side, and
  covers at most a quarter of the photo.

The constants were chosen on the benchmark's held split (``benchmarks/oldphoto``), see
``benchmarks/results/oldphoto_notes.md`` (round 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WORK_SIDE = 512  # the shorter side the search runs at: a tear is large, the test is cheap
_BLUR = 1.5  # sigma of the blur that takes scanner noise out of the level test (work px)
_RIM = round(2 * _BLUR) + 1  # work px the blur spreads the lid's edge over, taken with it
_LEVELS = 3.0  # how far from the level where a region starts its pixels may be, per channel
_SEED_STEP = 6  # work px between the points along the edge a region may start from
_MIN_AREA = 0.003  # share of the photo: smaller flat bits at the edge are edge wear's job
_MAX_AREA = 0.25
_MAX_SIDE = 0.6  # share of any one side it may run along (a border runs along all of it)
_MAX_GRAIN = 0.5  # median of the 3 x 3 grey spread inside, in levels, ...
_NOISE = 1.25  # ... or this times the photo's noise floor, if more
_MAX_SPREAD = 2.0  # 5th to 95th percentile of the blurred grey inside, in levels
_MAX_TONE = 3.0  # median of max - min over the channels, in levels
_CLIPPED = 2.0  # levels from 0 or 255 within which a region's mean counts as clipped
_CLIPPED_ELSEWHERE = 0.001  # share of the rest of the photo a clipped white lid allows
_MIN_EDGE = 0.9  # 25th percentile of the 3 x 3 grey spread in the ring around it
_RING = 0.03  # the ring's width, as a share of the shorter side


def _grain(grey: np.ndarray) -> np.ndarray:
    mean = cv2.boxFilter(grey, -1, (3, 3))
    return np.sqrt(np.maximum(cv2.boxFilter(grey * grey, -1, (3, 3)) - mean * mean, 0))


def _edge_seeds(h: int, w: int) -> list[tuple[int, int]]:
    xs, ys = range(0, w, _SEED_STEP), range(0, h, _SEED_STEP)
    return (
        [(x, 0) for x in xs]
        + [(x, h - 1) for x in xs]
        + [(0, y) for y in ys]
        + [(w - 1, y) for y in ys]
    )


@dataclass
class _Scan:
    """The photo at the work size, and what every region is judged against."""

    small: np.ndarray  # uint8 H x W x 3
    blurred: np.ndarray  # float32 H x W x 3, scanner noise blurred away
    level: np.ndarray  # float32 H x W: the blurred grey
    grain: np.ndarray  # float32 H x W: 3 x 3 spread of the grey
    floor: float  # the grain of the photo's flattest quarter

    @classmethod
    def of(cls, small: np.ndarray) -> _Scan:
        grain = _grain(small.astype(np.float32).mean(axis=2))
        blurred = cv2.GaussianBlur(small.astype(np.float32), (0, 0), _BLUR)
        return cls(small, blurred, blurred.mean(axis=2), grain, float(np.percentile(grain, 25)))


def _whiter_than_the_print(region: np.ndarray, scan: _Scan) -> bool:
    """A scanner that clips its white lid shows it at 255, as a burnt-out sky is. An old
    print's whitest paper is never that white, so a clipped region is taken for the lid
    only where nothing else in the photo reaches the clip."""
    return ((scan.level >= 255 - _CLIPPED) & ~region).mean() < _CLIPPED_ELSEWHERE


def _is_lid(region: np.ndarray, scan: _Scan) -> bool:
    share = region.mean()
    if not _MIN_AREA <= share <= _MAX_AREA:
        return False
    sides = (region[0].mean(), region[-1].mean(), region[:, 0].mean(), region[:, -1].mean())
    if max(sides) > _MAX_SIDE:
        return False
    inner = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if not inner.any():
        return False
    level, grain = scan.level, scan.grain
    mean = float(level[inner].mean())
    if mean <= _CLIPPED:
        return False
    if mean >= 255 - _CLIPPED and not _whiter_than_the_print(region, scan):
        return False
    if np.median(grain[inner]) > max(_MAX_GRAIN, _NOISE * scan.floor):
        return False
    low, high = np.percentile(level[inner], (5, 95))
    if high - low > _MAX_SPREAD:
        return False
    colour = scan.small[inner].astype(np.int16)
    if np.median(colour.max(1) - colour.min(1)) > _MAX_TONE:
        return False
    k = max(3, round(_RING * min(region.shape)))
    ring = (cv2.dilate(region.astype(np.uint8), np.ones((k, k), np.uint8)) > 0) & ~region
    if not ring.any() or np.percentile(grain[ring], 25) < _MIN_EDGE:
        return False
    # a piece of a larger flat area (a dark mount, a wall) has more of itself around it
    off = np.abs(scan.blurred[ring] - scan.blurred[inner].mean(axis=0)).max(axis=1)
    return float(np.median(off)) > 2 * _LEVELS


def missing_paper(rgb: np.ndarray) -> np.ndarray:
    """Where ``rgb`` (uint8 H x W x 3) shows the scanner's lid through a torn corner or a
    bite out of an edge: a bool H x W map."""
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    f = min(1.0, WORK_SIDE / min(h, w))
    small = (
        rgb
        if f == 1.0
        else cv2.resize(
            rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
        )
    )
    sh, sw = small.shape[:2]
    scan = _Scan.of(small)
    seen = np.zeros((sh + 2, sw + 2), np.uint8)
    found = np.zeros((sh, sw), bool)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    for x, y in _edge_seeds(sh, sw):
        if seen[y + 1, x + 1]:
            continue
        flood = np.zeros_like(seen)
        cv2.floodFill(scan.blurred, flood, (x, y), 0, (_LEVELS,) * 3, (_LEVELS,) * 3, flags)
        seen |= flood
        region = flood[1:-1, 1:-1] > 0
        if _is_lid(region, scan):
            found |= region
    if found.any():
        # the blur keeps the lid's last pixels out of the flood, and the torn edge's fibres
        # are damage too: without them the fill leaves a white rim along the tear
        rim = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _RIM + 1, 2 * _RIM + 1))
        found = cv2.dilate(found.astype(np.uint8), rim) > 0
    if f == 1.0:
        return found
    return cv2.resize(found.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
