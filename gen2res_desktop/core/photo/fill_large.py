"""Filling a large hole (torn corner, flaked emulsion, wide crack) with texture copied from
the photo around it: a multi-scale PatchMatch nearest-neighbour field with voting
(Wexler, Shechtman & Irani 2007 "Space-time completion"; Barnes et al. 2009 "PatchMatch"),
written in numpy and OpenCV so it needs no extra dependency.

Why not diffusion: ``cv2.inpaint`` carries colour inward from the rim, so a hole wider than
a few pixels becomes a smooth blob. Copying whole patches keeps grain, fabric and fur.

How it stays fast in numpy: patches are compared through a few PCA coefficients (the
leading components of the photo's own 7 x 7 colour patches, computed with ``filter2D``)
instead of 147 raw values, and the field is improved for every pixel at once (propagation
from neighbours at a few jump distances, then random search), not in scan order.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

PATCH = 7
_R = PATCH // 2
_FEATURES = 12  # PCA coefficients per patch; 12 keep ~95% of a photo patch's variance
_COARSE_RADIUS = 3.0  # the coarsest level's hole is this thin, so a diffusion start is fine
_MIN_SIDE = 4 * PATCH  # a level smaller than this has too few source patches
_PCA_SAMPLES = 4000
_JUMPS = (4, 2, 1)
_EXACT_PIXELS = 40_000  # levels this small compare raw patches, not PCA coefficients
_BORDER = max(_R, *_JUMPS)  # how far off the image a neighbour or a covering patch can be


def _clamp(a: np.ndarray, hi: int) -> np.ndarray:
    """``a`` within [0, hi]: np.clip's result, without its per-call overhead."""
    return np.minimum(np.maximum(a, 0), hi)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _rgb(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _down(img: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half size, averaging known pixels only, so a hole's colour never leaks into the
    coarser level; a coarse pixel with any unknown child counts as unknown."""
    h, w = known.shape
    size = ((w + 1) // 2, (h + 1) // 2)
    k = known.astype(np.float32)
    num = cv2.resize(img * k[..., None], size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(k, size, interpolation=cv2.INTER_AREA)
    out = num / np.maximum(den, 1e-6)[..., None]
    return out.astype(np.float32), den > 0.999


def _down_any(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    size = ((w + 1) // 2, (h + 1) // 2)
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 1e-3


def _diffuse(lab: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The coarsest level's starting guess: Telea's smooth fill (the hole is thin there)."""
    filled = cv2.inpaint(_rgb(lab), hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    out = lab.copy()
    out[hole] = _lab(filled)[hole]
    return out


class _Level:
    """One pyramid level: its image, hole, allowed sources and the field over its targets."""

    def __init__(self, img: np.ndarray, hole: np.ndarray, forbidden: np.ndarray) -> None:
        self.img = img
        self.hole = hole
        self.h, self.w = hole.shape
        ok = (~hole & ~forbidden).astype(np.uint8)
        # a source patch lies wholly on usable pixels inside the crop (border counts as bad)
        src = cv2.erode(ok, np.ones((PATCH, PATCH), np.uint8), borderValue=0) > 0
        # one False past the end, so a candidate of -1 (none) reads as not valid
        self.valid = np.append(src.ravel(), False)
        self.sources = np.flatnonzero(self.valid).astype(np.int64)
        # targets: every patch that touches the hole takes part in the vote
        grown = cv2.dilate(hole.astype(np.uint8), np.ones((PATCH, PATCH), np.uint8)) > 0
        self.targets = np.flatnonzero(grown).astype(np.int64)
        self.ty, self.tx = np.divmod(self.targets, self.w)
        self.holes = np.flatnonzero(hole.ravel()).astype(np.int64)
        # the same pixels on the field padded with a border of "no match", so a neighbour
        # or a covering patch off the image is one lookup, not a bounds test
        self.pw = self.w + 2 * _BORDER
        self.tp = self._on_padded(self.targets)
        self.hp = self._on_padded(self.holes)
        self.q = np.zeros(len(self.targets), np.int64)  # source (flat index) per target
        self.d = np.full(len(self.targets), np.inf, np.float32)
        self.basis: np.ndarray | None = None
        self.raw = False  # features are the whole patches (small levels)

    # -- patch features

    def fit_basis(self, rng: np.random.Generator) -> None:
        if self.h * self.w <= _EXACT_PIXELS:
            # a small level compares whole patches: that is where the layout of the fill
            # is decided, and a few dozen coefficients would miss a thin edge
            self.raw = True
            return
        n = min(_PCA_SAMPLES, len(self.sources))
        # drawn with replacement: choice(replace=False) shuffles every source, seconds
        pick = self.random_sources(n, rng)
        py, px = np.divmod(pick, self.w)
        dy, dx = np.mgrid[-_R : _R + 1, -_R : _R + 1]
        patches = self.img[py[:, None, None] + dy, px[:, None, None] + dx]  # n,P,P,3
        x = np.ascontiguousarray(patches.reshape(n, -1), np.float32)
        # OpenCV's PCA, not numpy's: numpy's BLAS may start a thread per core the machine
        # reports, which on a CPU-limited container made a 147 x 147 eigh take 0.5 s
        _, vecs, _ = cv2.PCACompute2(x, mean=None, maxComponents=_FEATURES)
        k = vecs.shape[0]
        self.basis = vecs.reshape(k, PATCH, PATCH, 3).astype(np.float32)

    def features(self) -> np.ndarray:
        """The patch around every pixel as (H*W, k) float32: its PCA coefficients (the dot
        product of a basis patch with the image is a correlation, which filter2D does), or
        on a small level the whole patch."""
        if self.raw:
            return self._raw_patches()
        assert self.basis is not None
        chans = cv2.split(self.img)
        out = np.empty((self.h, self.w, len(self.basis)), np.float32)
        for i, b in enumerate(self.basis):
            acc = cv2.filter2D(chans[0], cv2.CV_32F, b[..., 0], borderType=cv2.BORDER_REFLECT)
            for c in (1, 2):
                acc += cv2.filter2D(chans[c], cv2.CV_32F, b[..., c], borderType=cv2.BORDER_REFLECT)
            out[..., i] = acc
        return out.reshape(-1, len(self.basis))

    def _raw_patches(self) -> np.ndarray:
        """Every pixel's whole patch, (H*W, 147) in (row, column, channel) order: what
        correlating with an identity basis gives, taken as shifted views of the image
        (441 filter2D calls took most of a small level's time)."""
        padded = cv2.copyMakeBorder(self.img, _R, _R, _R, _R, cv2.BORDER_REFLECT)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (PATCH, PATCH), axis=(0, 1))
        # (H, W, 3, P, P) -> (H, W, P, P, 3): the order of the identity basis's patches
        return np.ascontiguousarray(windows.transpose(0, 1, 3, 4, 2)).reshape(self.h * self.w, -1)

    # -- the nearest-neighbour field

    def random_sources(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sources[rng.integers(0, len(self.sources), n)]

    def _try(self, feats: np.ndarray, ft: np.ndarray, cand: np.ndarray) -> None:
        """Keep ``cand`` (flat source indices, -1 for none) where it beats the current match."""
        idx = np.flatnonzero(self.valid[cand])
        if not len(idx):
            return
        diff = ft[idx] - feats[cand[idx]]
        d = np.einsum("ij,ij->i", diff, diff)
        better = d < self.d[idx]
        win = idx[better]
        self.q[win] = cand[win]
        self.d[win] = d[better]

    def _grid(self) -> np.ndarray:
        """The field as (H, W) source rows and columns; non-targets hold -1 (no match)."""
        g = np.full(self.h * self.w, -1, np.int64)
        g[self.targets] = self.q
        return g.reshape(self.h, self.w)

    def _on_padded(self, flat: np.ndarray) -> np.ndarray:
        y, x = np.divmod(flat, self.w)
        return (y + _BORDER) * self.pw + x + _BORDER

    def _padded(self, values: np.ndarray, fill: float) -> np.ndarray:
        """``values`` (one per target) on the padded grid, flat; ``fill`` elsewhere."""
        out = np.full((self.h + 2 * _BORDER) * self.pw, fill, values.dtype)
        out[self.tp] = values
        return out

    def search(self, feats: np.ndarray, iterations: int, rng: np.random.Generator) -> None:
        ft = feats[self.targets]
        # the image changed since the last search, so the stored distances are stale
        diff = ft - feats[self.q]
        self.d = np.einsum("ij,ij->i", diff, diff)
        n = len(self.targets)
        for _ in range(iterations):
            for step in _JUMPS:
                grid = self._padded(self.q, -1)
                for dy, dx in ((step, 0), (-step, 0), (0, step), (0, -step)):
                    nq = grid[self.tp + (dy * self.pw + dx)]  # -1 off the image
                    # the neighbour's match, shifted back: keeps the copied texture coherent
                    qy, qx = np.divmod(nq, self.w)
                    qy, qx = qy - dy, qx - dx
                    good = (nq >= 0) & (qy >= 0) & (qy < self.h) & (qx >= 0) & (qx < self.w)
                    self._try(feats, ft, np.where(good, qy * self.w + qx, -1))
            radius = max(self.h, self.w)
            while radius >= 1:
                qy, qx = np.divmod(self.q, self.w)
                qy = _clamp(qy + rng.integers(-radius, radius + 1, n), self.h - 1)
                qx = _clamp(qx + rng.integers(-radius, radius + 1, n), self.w - 1)
                self._try(feats, ft, qy * self.w + qx)
                radius //= 2

    def vote(self, *, uniform: bool = False) -> None:
        """Each hole pixel becomes the weighted mean of what the patches covering it copy
        there; a close match weighs more (Wexler's weights), which keeps the mean sharp.
        ``uniform`` weighs all alike, for a field whose distances are not known yet."""
        grid = self._padded(self.q, -1)
        dgrid = self._padded(self.d.astype(np.float32), np.inf)
        sigma2 = 1.0 if uniform else max(float(np.percentile(self.d, 75)), 1e-3)
        flat = self.img.reshape(-1, 3)
        acc = np.zeros((len(self.holes), 3), np.float32)
        wsum = np.zeros(len(self.holes), np.float32)
        for dy in range(-_R, _R + 1):
            for dx in range(-_R, _R + 1):
                # the patch centred at p - (dy, dx) covers p at its offset (dy, dx)
                centre = self.hp - (dy * self.pw + dx)
                q = grid[centre]  # -1 off the image
                use = q >= 0
                qy, qx = np.divmod(np.where(use, q, 0), self.w)
                src = _clamp(qy + dy, self.h - 1) * self.w + _clamp(qx + dx, self.w - 1)
                if uniform:
                    wt = use.astype(np.float32)
                else:
                    wt = np.where(use, np.exp(-dgrid[centre] / (2 * sigma2)), 0)
                    wt = wt.astype(np.float32)
                acc += flat[src] * wt[:, None]
                wsum += wt
        have = wsum > 0
        rows = self.holes[have]
        flat[rows] = acc[have] / wsum[have, None]

    def upsample_from(self, coarse: _Level, rng: np.random.Generator) -> None:
        """Start from the coarser level's field: twice the match, plus the pixel's offset
        inside its 2 x 2 block, so full-resolution texture is copied from the first vote."""
        cgrid = coarse._grid()
        cy = np.minimum(self.ty // 2, coarse.h - 1)
        cx = np.minimum(self.tx // 2, coarse.w - 1)
        cq = cgrid[cy, cx]
        qy, qx = np.divmod(np.where(cq >= 0, cq, 0), coarse.w)
        qy = np.clip(2 * qy + (self.ty - 2 * cy), 0, self.h - 1)
        qx = np.clip(2 * qx + (self.tx - 2 * cx), 0, self.w - 1)
        q = qy * self.w + qx
        bad = (cq < 0) | ~self.valid[q]
        q[bad] = self.random_sources(int(bad.sum()), rng)
        self.q = q


def _levels(radius: float, h: int, w: int) -> int:
    """How many halvings bring the hole down to a few pixels, while the crop keeps enough
    room for source patches."""
    n = max(0, math.ceil(math.log2(max(radius, 1.0) / _COARSE_RADIUS)))
    while n > 0 and min(h, w) / 2**n < _MIN_SIDE:
        n -= 1
    return n


def fill_hole(
    rgb: np.ndarray,
    hole: np.ndarray,
    *,
    forbidden: np.ndarray | None = None,
    seed: int = 0,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    stage: str = "inpaint",
) -> np.ndarray:
    """``rgb`` (uint8 H x W x 3, a crop around the hole with context) with the pixels where
    ``hole`` is true filled by patches copied from elsewhere in it. ``forbidden`` marks other
    pixels not to copy from (other damage). Pixels outside ``hole`` are returned unchanged.
    Falls back to Telea's fill when the crop holds no whole undamaged patch."""
    hole = np.asarray(hole, bool)
    out = np.ascontiguousarray(rgb).copy()
    if not hole.any():
        return out
    forbidden = np.zeros_like(hole) if forbidden is None else np.asarray(forbidden, bool)
    rng = np.random.default_rng(seed)
    h, w = hole.shape
    radius = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).max())
    n = _levels(radius, h, w)

    # the pyramid, finest first; each coarser image averages only known pixels
    imgs, holes, bads = [_lab(out)], [hole], [forbidden]
    for _ in range(n):
        img, known = _down(imgs[-1], ~holes[-1])
        imgs.append(img)
        holes.append(~known)
        bads.append(_down_any(bads[-1]))
    levels = [_Level(i, m, f) for i, m, f in zip(imgs, holes, bads, strict=True)]
    if any(len(lv.sources) == 0 for lv in levels):
        return _telea(out, hole)

    total = len(levels)
    prev: _Level | None = None
    for step, lv in enumerate(reversed(levels)):
        if cancel is not None:
            cancel.check()
        finest = step == total - 1
        lv.fit_basis(rng)
        if prev is None:
            lv.img = _diffuse(lv.img, lv.hole)
            lv.q = lv.random_sources(len(lv.targets), rng)
        else:
            lv.upsample_from(prev, rng)
            lv.vote(uniform=True)
        # more rounds where the image is small and the layout is still being decided
        rounds = 2 if finest else (4 if prev is None else 3)
        for _ in range(rounds):
            if cancel is not None:
                cancel.check()
            lv.search(lv.features(), 2 if (finest or prev is None) else 1, rng)
            lv.vote()
        prev = lv
        progress(Progress(stage, step + 1, total, "Filling a large hole"))

    filled = _rgb(levels[0].img)
    out[hole] = filled[hole]
    return out


def _telea(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    filled = cv2.inpaint(rgb, hole.astype(np.uint8), 4, cv2.INPAINT_TELEA)
    out[hole] = filled[hole]
    return out
