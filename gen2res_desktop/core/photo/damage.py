"""The damage map: scratches, dust specks, cracks and creases, found with OpenCV.

A scratch or a crack is a thin line that differs from *both* sides; an object's edge
differs from one side only. Dust is a small blob that differs from all around it. So:

1. *Residues.* Closing the lightness with a small disc removes every dark structure
   narrower than the disc (black-hat residue), opening removes the bright ones (white
   top-hat). A step edge leaves no residue: closing or opening reproduces it.
2. *Contrast against noise and texture.* A pixel is a candidate when its residue is well
   above the noise (measured robustly over the photo), above the residue its
   neighbourhood has anyway (grain, fur, foliage raise it) and above a least contrast worth
   inpainting, and when the photo *without* the thin structure (the closed / opened image)
   is flat there: beside an edge's sharpening halo the background steps, and a halo is
   rejected. On a colour photo a bright candidate must also be less colourful than its
   surroundings: paper showing through a scratch is neutral, a highlight on an orange
   sleeve is orange. Dark candidates need a third more contrast: thin dark lines (shadows,
   gaps, creases in cloth) are far commoner in photos than thin bright ones.
3. *Straight lines.* Oriented line structuring elements at 12 angles keep the candidates
   that extend as a line for a scale-dependent length (a slightly dilated map lets gently
   wavy lines through). A line pixel admits a few neighbouring angles; a blob, a crossing
   or a patch of texture admits many or two separate sets, and is cut out, which parts a
   scratch from the fur strands crossing it. Lines with parallel lines close beside them at
   the same angle are texture (hair, fabric, grass). Components of the line cores must be
   long, thin, straight or gently curved, and not surrounded by other structure.
4. *Wandering lines.* Cracks and craquelure wander and branch, and a scratch across a face
   is cut into pieces by the crossings with brows, eyes and lips, so the straight-line test
   alone misses them. The Hessian of the lightness at two scales says where the structure
   is a ridge (curved strongly across, hardly along: a line of any course) rather than a
   blob or a corner; candidates on such ridges that join into a long, thin component,
   mostly strong and not surrounded by other structure, are lines too.
5. *Faint lines.* A long scratch too faint for its pixels to pass one by one still stands
   out when the residue is averaged along lines: at its own angle the mean is well above
   the means at the other angles (isotropic grain and texture are alike at all), over a
   long straight run. Such runs, three times the shortest straight length, are lines too.
6. *Crack networks.* Craquelure is its own surroundings, so the tests above, which
   judge a line against what lies around it, reject it as texture; a net of thin lines
   closing round cells is found by its shape instead (:mod:`.crack_network`).
7. *Specks.* What is left of the strong candidates: small, compact, isolated blobs.
   Lines are traced on the weaker candidates and kept when most of their pixels are
   strong (hysteresis: grain breaks a faint scratch's strong pixels apart).
8. The accepted lines and specks grow into their weaker rim: a scratch's soft edge is
   damage too. (The inpainting grows the map by one more pixel.)

Widths and lengths scale with the photo (``unit`` = shorter side / 1000, at least 1), so a
scratch on a 4000 px scan, 6-10 px wide, is found like a 2 px one on a 1000 px scan.
Large photos go through in overlapping tiles (bounded memory, progress and cancel between
tiles). The constants are tuned on the dev split of benchmarks/oldphoto only (generator 1
on its own photos); its test split (another generator, other photos) reports how well they
carry over (see oldphoto_notes.md there).

Whatever this finds still passes the face guard (:mod:`.face_safe`) before anything is
filled: see :func:`.damage_finding.find_damage`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gen2res_desktop.core.photo.crack_network import find_crack_networks
from gen2res_desktop.core.photo.tiles import process_tiled
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

ANGLES = 12
# Sizes in pixels at unit 1 (a photo whose shorter side is 1000 px).
_DISC = 4.0  # residue disc radius: lines up to ~7 px wide, specks up to ~8 px across
_SMOOTH = 0.6  # pre-smoothing sigma: grain is finer than any scratch worth finding
_LINE = 17.0  # the line element's length: what must extend straight to count as a line
_MIN_LENGTH = 40.0  # a line component's shortest extent (bounding-box diagonal)
_MAX_WIDTH = 8.0  # a line component's widest mean width
_SPECK_SIZE = 9.0  # a speck's largest bounding-box side
_FLOOR_WINDOW = 31.0  # neighbourhood over which the texture floor is measured
_DENSITY_WINDOW = 31.0  # neighbourhood over which parallel lines count as texture
# Thresholds (grey levels of the residue, at sensitivity 0.5).
_K_NOISE = 3.0  # residue over the photo's noise sigma
_K_FLOOR = 2.5  # residue over the neighbourhood's mean residue
_MIN_CONTRAST = 25.0  # a scratch fainter than this is not worth inpainting
_K_EDGE = 0.6  # residue over the step of the background beside it (halo test)
_K_SPECK = 1.6  # specks need this much more contrast than line pixels
_WEAK = 0.7  # the rim: weak pixels joined to a line or speck, as a fraction of the threshold
_MAX_DENSITY = 0.35  # fraction of a neighbourhood covered by same-angle lines (texture above)
_MAX_CLUTTER = 0.06  # fraction of a line's surroundings holding other candidates (texture)
_LONG = 5.0  # a line this many times the shortest length may cross that much more clutter
_RING_WINDOW = 17.0  # the neighbourhood a speck must have to itself
_SPECK_CLUTTER = 0.06  # fraction of it other candidates may cover
_STRONG_SHARE = 0.6  # of a line component that must be strong (the rest: its weak rim)
_BRIDGE = 6  # pixels a line grows along strong candidates (across a crossing)
_DARK = 1.3  # dark candidates need this much more contrast than bright ones
_MAX_RUN = 4  # of the 12 angles: more, and the pixel is in a blob, not on a line
_BEND = 0.1  # a line's spread across its axis may be this fraction of its length
_WAVE = 3.0  # plus this many pixels (a wavy scratch, a crack's wander)
_RIDGE_SCALES = (1.0, 1.8)  # Hessian scales (sigma at unit 1) for the wandering lines
_ANISO = 0.35  # on a ridge the curvature along is at most this fraction of that across
_WANDER = 2.0  # a wandering line's shortest extent, in shortest straight lengths
_FAINT_LINE = 31.0  # the averaging line's length for faint lines
_FAINT_CONTRAST = 6.0  # a faint line's least averaged contrast (grey levels) ...
_K_FAINT = 3.0  # ... and its least over the neighbourhood's mean of that contrast
_FAINT_LENGTH = 3.0  # a faint line's shortest extent, in shortest straight lengths
_FAINT_PIXEL = 0.3  # of the candidate threshold: what each faint line pixel must have
_GRAY_PHOTO = 0.08  # below this saturation almost everywhere the photo has no colour to use
_NEUTRAL = 0.45  # a bright damaged pixel's saturation: at most this fraction of its
_NEUTRAL_SLACK = 0.06  # surroundings' most colourful, plus this
_TILE = 1536


def _odd(x: float) -> int:
    return max(3, int(round(x)) | 1)


def _line_kernels(length: int) -> list[np.ndarray]:
    kernels = []
    c = length // 2
    for i in range(ANGLES):
        a = math.pi * i / ANGLES
        dx, dy = math.cos(a) * c, math.sin(a) * c
        k = np.zeros((length, length), np.uint8)
        p = (int(round(c - dx)), int(round(c - dy)))
        q = (int(round(c + dx)), int(round(c + dy)))
        cv2.line(k, p, q, 1, 1)
        k[c, c] = 1  # the anchor on the line: an opening never invents pixels at the border
        kernels.append(k)
    return kernels


def _mean_kernels(length: int) -> list[np.ndarray]:
    """Line kernels at the ANGLES, each summing to 1: the mean along a line."""
    return [(k / k.sum()).astype(np.float32) for k in _line_kernels(length)]


def _one_direction(max_run: int) -> np.ndarray:
    """Lookup over the 2**ANGLES sets of angles: 1 for a set that is one run of at most
    ``max_run`` neighbouring angles (going round: the last neighbours the first)."""
    table = np.zeros(1 << ANGLES, np.uint8)
    for bits in range(1, 1 << ANGLES):
        on = [(bits >> i) & 1 for i in range(ANGLES)]
        starts = sum(1 for i in range(ANGLES) if on[i] and not on[i - 1])
        if sum(on) <= max_run and starts <= 1:
            table[bits] = 1
    return table


_ONE_DIRECTION = _one_direction(_MAX_RUN)


def _noise_sigma(gray: np.ndarray) -> float:
    """Noise sigma (grey levels) of ``gray``, Immerkaer's estimate over its calmer 90%."""
    if min(gray.shape) < 3:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(gray, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT))
    response = response[1:-1, 1:-1]
    calm = response[response <= np.percentile(response, 90)]
    return float(np.sqrt(np.pi / 2.0) * calm.mean() / 6.0) if calm.size else 0.0


class _Detector:
    def __init__(self, unit: float, sigma: float, sensitivity: float, cancel: CancelToken | None):
        self.unit = unit
        self.cancel = cancel
        # sensitivity 0.5 -> thresholds as tuned, 0 -> twice as strict, 1 -> half
        self.scale = 2.0 ** ((0.5 - sensitivity) * 2.0)
        self.sigma = sigma
        self.disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(2 * _DISC * unit),) * 2)
        self.lines = _line_kernels(_odd(_LINE * unit))
        self.means = _mean_kernels(_odd(_FAINT_LINE * unit))
        self.floor_win = _odd(_FLOOR_WINDOW * unit)
        self.dens_win = _odd(_DENSITY_WINDOW * unit)
        self.rim = max(1, int(round(unit)))
        self.ring_win = _odd(_RING_WINDOW * unit)
        self.ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(4 * unit),) * 2)

    def check(self) -> None:
        if self.cancel is not None:
            self.cancel.check()

    def _candidates(
        self, residue: np.ndarray, base: np.ndarray, neutral: np.ndarray | None, stricter: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Strong and weak candidate maps (uint8 0/1) of one polarity, and its threshold."""
        u = self.unit
        floor = cv2.boxFilter(residue, -1, (self.floor_win,) * 2, borderType=cv2.BORDER_REFLECT)
        t = (self.scale * stricter) * np.maximum(
            _K_NOISE * self.sigma + _K_FLOOR * floor, _MIN_CONTRAST
        )
        # the background without the thin structure: flat beside a scratch, a step at a halo
        bg = cv2.GaussianBlur(base, (0, 0), 1.5 * u)
        gx = cv2.Sobel(bg, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
        gy = cv2.Sobel(bg, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
        step = cv2.magnitude(gx, gy) * (2.5 * 1.5 * u)
        t = np.maximum(t, _K_EDGE * step)
        strong = (residue > t).astype(np.uint8)
        weak = (residue > _WEAK * t).astype(np.uint8)
        if neutral is not None:
            strong &= neutral
        return strong, weak, t

    def _lines(
        self, strong: np.ndarray, weak: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Line cores among the candidates as component labels, each component's length
        (its bounding box's diagonal, per label, 0 for those rejected), and the candidates
        cut out as crossings (uint8 0/1)."""
        loose = cv2.dilate(weak, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
        found = np.zeros_like(strong)
        angles = np.zeros(strong.shape, np.uint16)  # bit i: a line at angle i fits here
        limit = _MAX_DENSITY * float(self.dens_win * self.dens_win)
        for i, k in enumerate(self.lines):
            self.check()
            along = cv2.min(cv2.morphologyEx(loose, cv2.MORPH_OPEN, k), 1)
            angles |= along.astype(np.uint16) << i
            # many parallel lines at this angle close together: hair, fabric, grass
            density = cv2.boxFilter(along, cv2.CV_16U, (self.dens_win,) * 2, normalize=False)
            sparse = cv2.compare(density, limit, cv2.CMP_LE)  # 0 / 255
            found = cv2.bitwise_or(found, cv2.bitwise_and(along, sparse))
        # a line fits through a line pixel at a few neighbouring angles only; through a
        # blob or a patch of texture at many, through a crossing at two separate sets:
        # cutting those pixels out parts a scratch from the fur strands that cross it
        one = _ONE_DIRECTION[angles]
        # hysteresis along the line: a component of the weaker candidates is a line when
        # enough of it is strong (grain breaks a faint scratch's strong pixels apart)
        core = found & weak & one
        crossings = found & strong & (1 - one)  # for bridging the lines accepted later
        n, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
        diag = np.hypot(stats[:, 2], stats[:, 3]).astype(np.float32)
        keep = (diag >= _MIN_LENGTH * self.unit) & (stats[:, 4] <= _MAX_WIDTH * self.unit * diag)
        sure = np.bincount(labels.ravel(), weights=strong.ravel(), minlength=n)
        keep &= sure >= _STRONG_SHARE * stats[:, 4]
        keep[0] = False
        if keep.any():
            keep &= self._straight(labels, n, diag)
        labels[~keep[labels]] = 0
        return labels, np.where(keep, diag, 0.0), crossings

    def _straight(self, labels: np.ndarray, n: int, diag: np.ndarray) -> np.ndarray:
        """Per component: does it stay close to a straight line (its spread across its main
        axis small against its length)? A scratch runs straight or gently curved; the rim
        of a badge, a helmet or a cup is a line too, but it bends round."""
        ys, xs = np.nonzero(labels)
        lab = labels[ys, xs]
        count = np.maximum(np.bincount(lab, minlength=n), 1).astype(np.float64)
        xs, ys = xs.astype(np.float64), ys.astype(np.float64)
        mx = np.bincount(lab, xs, n) / count
        my = np.bincount(lab, ys, n) / count
        sxx = np.bincount(lab, xs * xs, n) / count - mx * mx
        syy = np.bincount(lab, ys * ys, n) / count - my * my
        sxy = np.bincount(lab, xs * ys, n) / count - mx * my
        # the smaller eigenvalue of the 2 x 2 covariance: the variance across the main axis
        half = 0.5 * (sxx + syy)
        across = half - np.sqrt(np.maximum(half * half - (sxx * syy - sxy * sxy), 0.0))
        spread = np.sqrt(np.maximum(across, 0.0))
        return spread <= _BEND * diag + _WAVE * self.unit

    def _ridges(self, g: np.ndarray, bright: bool) -> np.ndarray:
        """Where ``g`` is a ridge of the polarity at one of the scales (uint8 0/1): curved
        strongly across (downward for a bright line, upward for a dark one) and hardly
        along, as a line of any course is and a blob or a corner is not."""
        out = np.zeros(g.shape, np.uint8)
        for s in _RIDGE_SCALES:
            gs = cv2.GaussianBlur(g, (0, 0), s * self.unit)
            dxx = cv2.Sobel(gs, cv2.CV_32F, 2, 0, ksize=3)
            dyy = cv2.Sobel(gs, cv2.CV_32F, 0, 2, ksize=3)
            dxy = cv2.Sobel(gs, cv2.CV_32F, 1, 1, ksize=3)
            root = cv2.sqrt((dxx - dyy) ** 2 + 4 * dxy * dxy)
            low = (dxx + dyy - root) * 0.5  # the Hessian's eigenvalues, low <= high
            high = (dxx + dyy + root) * 0.5
            if bright:
                ridge = (low < 0) & (np.abs(high) < _ANISO * -low)
            else:
                ridge = (high > 0) & (np.abs(low) < _ANISO * high)
            out |= ridge.astype(np.uint8)
        return out

    def _wandering(
        self, g: np.ndarray, bright: bool, strong: np.ndarray, weak: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Wandering line components (labels, and per label its bounding box's diagonal, 0
        for those rejected): ridge candidates forming long, thin, mostly strong lines."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            weak & self._ridges(g, bright), connectivity=8
        )
        diag = np.hypot(stats[:, 2], stats[:, 3]).astype(np.float32)
        keep = (diag >= _WANDER * _MIN_LENGTH * self.unit) & (
            stats[:, 4] <= _MAX_WIDTH * self.unit * diag
        )
        sure = np.bincount(labels.ravel(), weights=strong.ravel(), minlength=n)
        keep &= sure >= _STRONG_SHARE * stats[:, 4]
        keep[0] = False
        labels[~keep[labels]] = 0
        return labels, np.where(keep, diag, 0.0)

    def _faint(self, residue: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faint straight line components (labels, and per label its bounding box's
        diagonal, 0 for those rejected). A scratch too faint for its pixels to pass the
        threshold one by one still stands out when its residue is averaged along it: the
        mean along a line at its angle is well above the mean at the other angles (an
        isotropic texture is alike at all), and it stays so over a long straight run."""
        r = np.minimum(residue, 2 * _MIN_CONTRAST)  # one bright blob must not make a line
        along = np.stack(
            [cv2.filter2D(r, -1, k, borderType=cv2.BORDER_REFLECT) for k in self.means]
        )
        evidence = along.max(axis=0) - along.mean(axis=0)
        del along
        floor = cv2.boxFilter(evidence, -1, (self.floor_win,) * 2, borderType=cv2.BORDER_REFLECT)
        limit = self.scale * np.maximum(_FAINT_CONTRAST, _K_FAINT * floor)
        candidates = ((evidence > limit) & (residue > _FAINT_PIXEL * t)).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
        diag = np.hypot(stats[:, 2], stats[:, 3]).astype(np.float32)
        keep = (diag >= _FAINT_LENGTH * _MIN_LENGTH * self.unit) & (
            stats[:, 4] <= _MAX_WIDTH * self.unit * diag
        )
        keep[0] = False
        if keep.any():
            keep &= self._straight(labels, n, diag)
        labels[~keep[labels]] = 0
        return labels, np.where(keep, diag, 0.0)

    def _uncluttered_lines(
        self, labels: np.ndarray, diag: np.ndarray, clutter: np.ndarray
    ) -> np.ndarray:
        """Line components whose surroundings hold little other structure (uint8 0/1)."""
        n = diag.size
        if n <= 1 or not diag[1:].any():
            return np.zeros(labels.shape, np.uint8)
        flat = labels.ravel()
        size = np.bincount(flat, minlength=n).astype(np.float64)
        mean = np.bincount(flat, weights=clutter.ravel(), minlength=n) / np.maximum(size, 1)
        # a long line is not texture even where it crosses some: allow it more clutter
        length = np.clip(diag / (_MIN_LENGTH * self.unit), 1.0, _LONG)
        keep = (diag > 0) & (mean <= _MAX_CLUTTER * length)
        keep[0] = False
        return keep.astype(np.uint8)[labels]

    def _specks(
        self, strong: np.ndarray, residue: np.ndarray, t: np.ndarray, anything: np.ndarray
    ) -> np.ndarray:
        """Dust: the surest candidates that form small, compact blobs with little else
        around them (uint8 0/1)."""
        u = self.unit
        sure = strong & (residue > _K_SPECK * t).astype(np.uint8)
        n, labels, stats, cent = cv2.connectedComponentsWithStats(sure, connectivity=8)
        if n <= 1:
            return sure
        w, h, a = stats[1:, 2], stats[1:, 3], stats[1:, 4]
        side = _SPECK_SIZE * u
        # other structure around the speck (its own pixels taken out): an eye, hair, fur
        own = cv2.dilate(sure, self.ring)
        near = cv2.boxFilter(
            anything & (1 - own), cv2.CV_32F, (self.ring_win,) * 2, normalize=False
        )
        cy = np.clip(np.rint(cent[1:, 1]).astype(int), 0, sure.shape[0] - 1)
        cx = np.clip(np.rint(cent[1:, 0]).astype(int), 0, sure.shape[1] - 1)
        others = near[cy, cx] / float(self.ring_win**2)
        keep = (
            (w <= side)
            & (h <= side)
            & (np.maximum(w, h) <= 3 * np.minimum(w, h))
            & (a >= 0.35 * w * h)
            & (others <= _SPECK_CLUTTER)
        )
        lut = np.concatenate([[0], keep]).astype(np.uint8)
        return lut[labels]

    def _grow(self, seeds: np.ndarray, crossings: np.ndarray, weak: np.ndarray) -> np.ndarray:
        """Seeds grown through the line candidates cut out as crossings (where two scratches
        cross, the crossing was cut out of both lines), then into their weak rim."""
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * self.rim + 1,) * 2)
        out = seeds
        for _ in range(int(_BRIDGE * self.unit)):
            out = out | (cv2.dilate(out, k) & crossings)
        for _ in range(2):
            out = out | (cv2.dilate(out, k) & weak)
        return out

    def _neutral(self, rgb: np.ndarray) -> np.ndarray | None:
        """Where a pixel is less colourful than the most colourful around it (uint8 0/1),
        None for a photo without colour. A scratch shows the paper or holds dirt: it is
        neutral on a coloured print, while a fold in an orange coat is as orange as the coat."""
        smooth = cv2.GaussianBlur(rgb, (0, 0), _SMOOTH * self.unit)
        r, g, b = cv2.split(smooth)
        hi = cv2.max(cv2.max(r, g), b)
        lo = cv2.min(cv2.min(r, g), b)
        # saturation (0..255) with the darkest pixels' noisy hue left out
        sat = cv2.divide(cv2.subtract(hi, lo), cv2.max(hi, 16), scale=255)
        d = self.disc.shape[0]
        around = cv2.dilate(sat, cv2.getStructuringElement(cv2.MORPH_RECT, (d, d)))
        if float(np.percentile(around[::4, ::4], 90)) < _GRAY_PHOTO * 255:
            return None
        limit = cv2.addWeighted(around, _NEUTRAL, around, 0.0, _NEUTRAL_SLACK * 255)
        return (sat <= limit).astype(np.uint8)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        self.check()
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        neutral = self._neutral(rgb)
        g = cv2.GaussianBlur(gray, (0, 0), _SMOOTH * self.unit)
        closed = cv2.morphologyEx(g, cv2.MORPH_CLOSE, self.disc)
        opened = cv2.morphologyEx(g, cv2.MORPH_OPEN, self.disc)
        polarities = []
        # dirt mixed with a colour only darkens it, as shade does: the colour test is for
        # the bright kind (paper showing through) only
        dark = (closed - g, closed, None, _DARK, False)
        bright = (g - opened, opened, neutral, 1.0, True)
        for residue, base, paper, stricter, is_bright in (dark, bright):
            self.check()
            strong, weak, t = self._candidates(residue, base, paper, stricter)
            labels, diag, crossings = self._lines(strong, weak)
            polarities.append((residue, strong, weak, t, labels, diag, crossings, is_bright))
        anything = polarities[0][1] | polarities[1][1]
        cores = ((polarities[0][4] > 0) | (polarities[1][4] > 0)).astype(np.uint8)
        lines_near = cv2.dilate(cores, self.ring)
        # structure that is not one of the lines: texture, features, edges
        clutter = cv2.boxFilter(anything & (1 - lines_near), cv2.CV_32F, (self.dens_win,) * 2)
        mask = np.zeros(g.shape, np.uint8)
        for residue, strong, weak, t, labels, diag, crossings, is_bright in polarities:
            self.check()
            lines = self._uncluttered_lines(labels, diag, clutter)
            w_labels, w_diag = self._wandering(g, is_bright, strong, weak & (1 - lines))
            lines |= self._uncluttered_lines(w_labels, w_diag, clutter)
            f_labels, f_diag = self._faint(residue, t)
            faint = self._uncluttered_lines(f_labels, f_diag, clutter)
            specks = self._specks(strong & (1 - lines_near), residue, t, anything)
            mask |= self._grow(lines | faint | specks, crossings, weak | faint)
            mask |= find_crack_networks(g, residue, is_bright, self.sigma, self.unit, self.scale)
        return mask.astype(np.float32) * 255.0


def detect_damage(
    rgb: np.ndarray,
    *,
    sensitivity: float = 0.5,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """uint8 H x W map of ``rgb``: 255 where the print is damaged, 0 elsewhere."""
    if cancel is not None:
        cancel.check()
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    unit = max(1.0, min(h, w) / 1000.0)
    sigma = _noise_sigma(cv2.GaussianBlur(gray, (0, 0), _SMOOTH * unit))
    progress(Progress("damage", 0, 1, "Damage map"))
    detector = _Detector(unit, sigma, float(np.clip(sensitivity, 0.0, 1.0)), cancel)
    # a pixel's result depends on what lies within about a floor window and a line of it
    overlap = _odd(2 * (_FLOOR_WINDOW + _LINE) * unit)
    tile = max(_TILE, 3 * overlap)
    mask = process_tiled(
        rgb, detector, tile=tile, overlap=overlap, stage="damage", progress=progress, cancel=cancel
    )
    return np.where(mask > 127.0, 255, 0).astype(np.uint8)
