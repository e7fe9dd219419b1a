"""Crack networks: craquelure and crazed emulsion, found as nets of thin lines with cells.

The line tests in :mod:`.damage` judge each line against its surroundings, and a crack
network is its own surroundings: every crack sits among other cracks, so its neighbourhood
looks like texture (fur, grass) and the crack is rejected. What sets a network apart from
texture is its shape, not its contrast: thin lines joined into one component that closes
round cells, the way drying gelatine splits. Fur and grass give strands that seldom close
a loop; a blob or an edge is not thin.

So: candidates are pixels on a ridge of the lightness (curved across, of the polarity) whose
residue stands out from the *median* residue around them (a median, unlike a mean, is not
raised by the sparse cracks themselves, but is by dense texture); a connected component of
them is a network when, with what is thick taken out (what an opening by a crack's width keeps:
shadows, dark eyes, a coat), it encloses several cells of a crack cell's size.

A network's cracks run on where texture (grass, gravel) raises the median around them:
fainter thin ridges joined to a network found are part of it (hysteresis).

Constants were chosen on the dev split of ``benchmarks/oldphoto`` (generator 1's
craquelure) and sit on a plateau there: the dev IoU moves by less than 0.002 for a
least contrast of 6 to 14 grey levels or 3 to 10 cells, and by less than 0.004 for a
joined crack's median factor of 2.5 to 3.5 (crack recall 0.71 -> 0.82 at 3).
"""

from __future__ import annotations

import cv2
import numpy as np

_MIN_CONTRAST = 10.0  # grey levels: fainter cracks are not worth inpainting
_K_NOISE = 4.0  # residue over the photo's noise sigma
_K_MEDIAN = 4.0  # residue over the median residue around it
_K_WEAK = 3.0  # ... for a crack joined to a network found (hysteresis)
_MEDIAN_WINDOW = 41.0  # at unit 1: the neighbourhood of that median
_HALF_WIDTH = 3.5  # at unit 1: a crack is narrower than twice this
_CELL = 4.0  # at unit 1: a cell's least side, as the root of its area ...
_MAX_CELL = 120.0  # ... and its largest
_CELLS = 6  # a network closes at least this many cells
_COARSE = 4  # the median is taken at a quarter of the resolution (a large window is slow)


def _local_median(residue: np.ndarray, unit: float) -> np.ndarray:
    h, w = residue.shape
    small = cv2.resize(
        residue, (max(1, w // _COARSE), max(1, h // _COARSE)), interpolation=cv2.INTER_AREA
    )
    # medianBlur takes 8-bit images at large windows: a quarter grey level is precision enough
    small = np.clip(small * 4.0, 0, 255).astype(np.uint8)
    k = max(3, int(_MEDIAN_WINDOW * unit / _COARSE) | 1)
    median = cv2.medianBlur(small, k).astype(np.float32) / 4.0
    return cv2.resize(median, (w, h), interpolation=cv2.INTER_LINEAR)


def _across_curved(g: np.ndarray, bright: bool, unit: float) -> np.ndarray:
    """Where the lightness curves across like a line of the polarity at one of two scales:
    the Hessian's eigenvalue of larger size has the line's sign (uint8 0/1)."""
    out = np.zeros(g.shape, np.uint8)
    for s in (1.0, 1.8):
        gs = cv2.GaussianBlur(g, (0, 0), s * unit)
        dxx = cv2.Sobel(gs, cv2.CV_32F, 2, 0, ksize=3)
        dyy = cv2.Sobel(gs, cv2.CV_32F, 0, 2, ksize=3)
        dxy = cv2.Sobel(gs, cv2.CV_32F, 1, 1, ksize=3)
        root = cv2.sqrt((dxx - dyy) ** 2 + 4 * dxy * dxy)
        if bright:
            out |= ((dxx + dyy - root) < 0).astype(np.uint8)
        else:
            out |= ((dxx + dyy + root) > 0).astype(np.uint8)
    return out


def _cells_enclosed(component_labels: np.ndarray, n: int, unit: float) -> np.ndarray:
    """Per component, how many cells of a crack cell's size it closes round."""
    background = (component_labels == 0).astype(np.uint8)
    hn, holes, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    h, w = holes.shape
    area = stats[:, 4]
    inside = (
        (stats[:, 0] > 0)
        & (stats[:, 1] > 0)
        & (stats[:, 0] + stats[:, 2] < w)
        & (stats[:, 1] + stats[:, 3] < h)
    )
    sized = inside & (area >= (_CELL * unit) ** 2) & (area <= (_MAX_CELL * unit) ** 2)
    # a hole that touches no border is bounded by one 8-connected component: the one
    # just left of any of its pixels
    hole_right = holes[:, 1:]
    wall_left = component_labels[:, :-1]
    pairs = (hole_right > 0) & (wall_left > 0)
    owner = np.zeros(hn, np.int64)
    owner[hole_right[pairs]] = wall_left[pairs]
    counted = sized & (owner > 0)
    return np.bincount(owner[counted], minlength=n)


def find_crack_networks(
    g: np.ndarray, residue: np.ndarray, bright: bool, sigma: float, unit: float, strictness: float
) -> np.ndarray:
    """Crack networks of one polarity (uint8 0/1) in the smoothed lightness ``g``, given its
    morphological ``residue`` of that polarity (black-hat for dark cracks, top-hat for
    bright) and the photo's noise ``sigma``. ``strictness`` scales the contrast needed."""
    floor = max(_MIN_CONTRAST, _K_NOISE * sigma)
    median = _local_median(residue, unit)
    ridge = _across_curved(g, bright, unit) > 0
    thin = _thin((residue > strictness * np.maximum(floor, _K_MEDIAN * median)) & ridge, unit)
    n, labels, _, _ = cv2.connectedComponentsWithStats(thin, connectivity=8)
    if n <= 1:
        return np.zeros(g.shape, np.uint8)
    keep = _cells_enclosed(labels, n, unit) >= _CELLS
    keep[0] = False
    nets = keep.astype(np.uint8)[labels]
    if not nets.any():
        return nets
    # hysteresis: a net's cracks go on where texture (grass, gravel) raises the median
    # around them; fainter thin ridges joined to a network found are part of it
    weak = _thin((residue > strictness * np.maximum(floor, _K_WEAK * median)) & ridge, unit)
    n, labels, _, _ = cv2.connectedComponentsWithStats(weak | nets, connectivity=8)
    joined = np.zeros(n, bool)
    joined[labels[nets > 0]] = True
    joined[0] = False
    return joined.astype(np.uint8)[labels]


def _thin(candidates: np.ndarray, unit: float) -> np.ndarray:
    """The thin part of a candidate map (uint8 0/1): grain's gaps closed, what is thick
    taken out."""
    # a crack's pixels broken by grain are one line again
    candidates = cv2.morphologyEx(
        candidates.astype(np.uint8),
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)),
    )
    # what survives an erosion by a crack's half-width is thick (a shadow, a dark eye, a
    # dark coat): it is not a crack, and taken out it no longer joins cracks to content
    k = max(3, int(round(2 * _HALF_WIDTH * unit)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    thick = cv2.dilate(
        cv2.morphologyEx(candidates, cv2.MORPH_OPEN, disc), np.ones((3, 3), np.uint8)
    )
    return candidates & (1 - thick)
