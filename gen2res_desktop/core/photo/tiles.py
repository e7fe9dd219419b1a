"""Running an image operation over overlapping tiles, so memory stays bounded on large
scans and a cancel or a progress report comes between tiles.

Neighbouring tiles share at least ``overlap`` pixels. In a shared band each tile's result
is trusted least near its own edge (where the operation saw the tile's border instead of
the photo): the outer quarter of the band on each side is not used at all, and the middle
half is a linear cross-fade. So no seam shows, and a tiled run matches a whole-image run
wherever the operation's reach is under a quarter of the overlap.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

TileFn = Callable[[np.ndarray], np.ndarray]


def tile_grid(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """(start, end) of tiles covering ``range(length)``, each at most ``tile`` long, the
    inner ones sharing at least ``overlap`` pixels with each neighbour. With ``align`` > 1
    (``length`` and ``tile`` its multiples) every start is a multiple of it too."""
    if length <= tile:
        return [(0, length)]
    n = math.ceil((length - overlap) / (tile - overlap - (align - 1)))
    # evenly spread, so every shared band is about the same width and only neighbours overlap
    starts = [align * round(i * (length - tile) / (n - 1) / align) for i in range(n)]
    return [(s, s + tile) for s in starts]


def _band(shared: int) -> np.ndarray:
    """Rising weights over a band of ``shared`` pixels: 0, then a linear ramp, then 1."""
    skip = shared // 4
    ramp = shared - 2 * skip
    w = np.zeros(shared, np.float32)
    w[skip : skip + ramp] = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp
    w[skip + ramp :] = 1.0
    return w


def _ramp(length: int, lead: int, trail: int) -> np.ndarray:
    """Weights along one axis of a tile sharing ``lead`` / ``trail`` pixels with its
    neighbours; the neighbour's weights over a shared band are the complement."""
    w = np.ones(length, np.float32)
    if lead:
        w[:lead] = _band(lead)
    if trail:
        w[length - trail :] = np.minimum(w[length - trail :], _band(trail)[::-1])
    return w


def process_tiled(
    image: np.ndarray,
    fn: TileFn,
    *,
    tile: int = 512,
    overlap: int = 32,
    scale: int = 1,
    align: int = 1,
    stage: str = "tiles",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """``fn`` applied to ``image`` (H x W [x C]) tile by tile; ``fn`` returns its tile
    enlarged ``scale`` times. The result is float32 of shape (H*scale, W*scale[, C']).
    ``align``: tiles start at its multiples (H, W and ``tile`` must be multiples of it), for
    a network whose pooling grid must line up with the whole image's."""
    if overlap * 2 >= tile:
        raise ValueError("the overlap must be under half the tile size")
    h, w = image.shape[:2]
    rows, cols = tile_grid(h, tile, overlap, align), tile_grid(w, tile, overlap, align)
    total = len(rows) * len(cols)
    if total == 1:
        if cancel is not None:
            cancel.check()
        out = np.asarray(fn(image), np.float32)
        progress(Progress(stage, 1, 1))
        return out
    out: np.ndarray | None = None
    weight = np.zeros((h * scale, w * scale), np.float32)
    done = 0
    for i, (y0, y1) in enumerate(rows):
        for j, (x0, x1) in enumerate(cols):
            if cancel is not None:
                cancel.check()
            result = np.asarray(fn(image[y0:y1, x0:x1]), np.float32)
            if out is None:
                extra = result.shape[2:]
                out = np.zeros((h * scale, w * scale, *extra), np.float32)
            # ramps only where a neighbour shares the margin; the photo's own edge keeps 1
            top = (rows[i - 1][1] - y0) if i > 0 else 0
            bottom = (y1 - rows[i + 1][0]) if i + 1 < len(rows) else 0
            left = (cols[j - 1][1] - x0) if j > 0 else 0
            right = (x1 - cols[j + 1][0]) if j + 1 < len(cols) else 0
            wy = _ramp((y1 - y0) * scale, top * scale, bottom * scale)
            wx = _ramp((x1 - x0) * scale, left * scale, right * scale)
            wt = wy[:, None] * wx[None, :]
            sl = np.s_[y0 * scale : y1 * scale, x0 * scale : x1 * scale]
            out[sl] += result * (wt[..., None] if result.ndim == 3 else wt)
            weight[sl] += wt
            done += 1
            progress(Progress(stage, done, total))
    assert out is not None
    return out / (weight[..., None] if out.ndim == 3 else weight)
