"""Generator 4: synthetic old-print damage held out of the detector's training.

It exists only to measure a damage detector on damage it never saw, so it was written
without reading generators 1-3 or the detector, from how real prints age. The print is
modelled in layers and sized in millimetres (the short side is 60-130 mm):

* a paper base (warm white, cloudy and fibrous) carrying a gelatin emulsion that holds the
  faded, yellowed (or grey/sepia toned) picture;
* damage to the emulsion, showing the paper or printed dark: scratches (abrasion, often
  parallel, light or dark, intermittent), a network of craquelure cells, long branching
  cracks, folds (broken emulsion along the line), flakes of lost emulsion and wear along
  the edges;
* stains over the print, which are ageing and never damage: foxing, water tide-lines,
  silvering, yellowed tape and the shaded ridge of a crease;
* things on top: pen writing, hairs and dust on the scanner glass;
* tears: missing corners or edge pieces showing the scanner lid beyond a fibrous edge;
* a scan: blur, sensor noise, optional sharpening and JPEG.

Two twins share every random draw except the damage: ``image`` and ``undamaged``. A pixel
is damaged where the twins differ by more than VISIBLE after the scan's blur and before
its noise and JPEG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from benchmarks.oldphoto.degrade import VISIBLE, Aged

KINDS = ("craquelure", "crack", "fold", "tear", "flake", "scratch", "hair", "dust", "pen", "edge")
STAINS = ("foxing", "water", "silvering", "tape", "crease")
PROFILES = (
    "mixed",
    "scratched",
    "craquelure",
    "torn",
    "cracked",
    "flaking",
    "creased",
    "stained",
    "inked",
)

_SALT = 0x4D1E_0004  # keeps this generator's random streams apart from the others'
_SHIFT = 4  # cv2 drawing at 1/16 px so thin marks land between pixels
_ONE = 1 << _SHIFT
_F = np.float32
_MIN_W = 0.6  # px: thinner marks would vanish under the scan blur
_STAIN_SIDE = 1000  # stains are soft, so they are made at most this size and enlarged

# Emphasised kinds per profile (strength 2 = the profile's subject, 1 = a supporting role).
_PROFILE_KINDS: dict[str, dict[str, int]] = {
    "scratched": {"scratch": 2, "hair": 1, "dust": 1},
    "craquelure": {"craquelure": 2, "dust": 1},
    "torn": {"tear": 2, "edge": 1, "dust": 1},
    "cracked": {"crack": 2, "dust": 1},
    "flaking": {"flake": 2, "edge": 1, "dust": 1},
    "creased": {"fold": 2, "dust": 1},
    "stained": {},
    "inked": {"pen": 2, "dust": 1},
}
# How often a kind turns up on a "mixed" print: dust and scratches are nearly universal.
_MIXED_ODDS = {
    "dust": 0.85,
    "scratch": 0.6,
    "hair": 0.4,
    "edge": 0.35,
    "flake": 0.3,
    "crack": 0.25,
    "craquelure": 0.2,
    "fold": 0.2,
    "pen": 0.2,
    "tear": 0.15,
}


@dataclass
class AgedHeld(Aged):
    """An aged print from generator 4, with where each stain lies (stains are not damage)."""

    stains: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers


def _noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth noise of roughly unit spread with features about `cell` px across."""
    h, w = shape
    gh, gw = max(2, int(h / max(cell, 1.0)) + 3), max(2, int(w / max(cell, 1.0)) + 3)
    g = rng.standard_normal((gh, gw)).astype(_F)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def _fractal(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 3):
    out = np.zeros(shape, _F)
    amp = 1.0
    for _ in range(octaves):
        out += amp * _noise(rng, shape, cell)
        cell, amp = cell / 2.0, amp * 0.5
    return out / 1.3


def _pts(p: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(p, np.float64) * _ONE).astype(np.int32)


def _polyline(canvas: np.ndarray, pts: np.ndarray, widths, values) -> None:
    """Antialiased polyline whose width and strength may change per segment. Marks thinner
    than a pixel are drawn one pixel wide and proportionally fainter, which is what the
    scan's blur makes of them anyway."""
    n = len(pts) - 1
    if n < 1:
        return
    widths = np.broadcast_to(np.asarray(widths, np.float64), (n,))
    values = np.broadcast_to(np.asarray(values, np.float64), (n,))
    ip = _pts(pts)
    for i in range(n):
        w = max(widths[i], _MIN_W)
        v = values[i] * min(1.0, w)
        if v <= 0.004:
            continue
        t = max(1, int(round(w)))
        cv2.line(
            canvas,
            (int(ip[i, 0]), int(ip[i, 1])),
            (int(ip[i + 1, 0]), int(ip[i + 1, 1])),
            int(round(255 * min(v, 1.0))),
            t,
            cv2.LINE_AA,
            _SHIFT,
        )


def _blob(rng: np.random.Generator, centre, radius: float, rough: float, n: int = 0):
    """A ragged closed outline: radius modulated by a few random harmonics."""
    n = n or int(np.clip(radius * 2, 8, 64))
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 5):
        r += rough / (k * 1.5) * rng.uniform(0.2, 1.0) * np.cos(k * th + rng.uniform(0, 2 * np.pi))
    # chipped outlines: a random walk in radius gives angular, not petal-like, edges
    walk = np.cumsum(rng.normal(0, rough * 0.12, n))
    r += walk - np.linspace(0, walk[-1], n) + rough * 0.08 * rng.standard_normal(n)
    r = np.maximum(r, 0.25) * radius
    return np.stack([centre[0] + r * np.cos(th), centre[1] + r * np.sin(th)], 1)


def _fill(canvas: np.ndarray, polys: list[np.ndarray], value: float) -> None:
    for p in polys:  # one at a time: fillPoly would leave the overlaps of a list unfilled
        cv2.fillPoly(canvas, [_pts(p)], int(round(255 * value)), cv2.LINE_AA, _SHIFT)


def _onoff(rng: np.random.Generator, n: int, on_frac: float, run: float) -> np.ndarray:
    """Intermittent strokes: alternating on/off runs of geometric length (mean `run`)."""
    out = np.zeros(n, bool)
    i, on = 0, rng.random() < on_frac
    while i < n:
        mean = run * (on_frac if on else 1 - on_frac) * 2
        k = int(rng.geometric(1.0 / max(mean, 1.0)))
        out[i : i + k] = on
        i += k
        on = not on
    return out


def _taper(n: int) -> np.ndarray:
    t = np.linspace(0, 1, max(n, 2))
    return np.clip(np.sin(np.pi * t) * 3, 0.25, 1.0)[:n]


class _Sheet:
    """The damaged twin being drawn on, and which kind changed each pixel most."""

    def __init__(self, start: np.ndarray, sigma: float):
        self.img = start.copy()
        h, w = start.shape[:2]
        self.best = np.zeros((h, w), _F)
        self.who = np.full((h, w), 255, np.uint8)
        self.sigma = sigma
        self.pad = int(math.ceil(3 * sigma)) + 1

    def blend(self, kind: str, canvas: np.ndarray, colour, opacity: float = 1.0) -> None:
        rows = np.flatnonzero(canvas.any(1))
        if rows.size == 0:
            return
        cols = np.flatnonzero(canvas.any(0))
        h, w = canvas.shape
        y0, y1 = max(0, rows[0] - self.pad), min(h, rows[-1] + 1 + self.pad)
        x0, x1 = max(0, cols[0] - self.pad), min(w, cols[-1] + 1 + self.pad)
        contrib = np.zeros((y1 - y0, x1 - x0), _F)
        full = isinstance(colour, np.ndarray) and colour.ndim == 3
        tile = 512
        for ty in range(y0, y1, tile):
            for tx in range(x0, x1, tile):
                sl = (slice(ty, min(ty + tile, y1)), slice(tx, min(tx + tile, x1)))
                a = canvas[sl]
                if not a.any():
                    continue
                af = a.astype(_F) * _F(opacity / 255.0)
                before = self.img[sl]
                c = colour[sl] if full else colour
                d = (c - before) * af[..., None]
                before += d
                contrib[ty - y0 : sl[0].stop - y0, tx - x0 : sl[1].stop - x0] = np.abs(d).max(2)
        # Blurred like the truth is, so that the kind that wins a pixel is the one whose
        # change the scan actually shows there.
        cb = cv2.GaussianBlur(contrib, (0, 0), self.sigma)
        best = self.best[y0:y1, x0:x1]
        upd = cb > best
        best[upd] = cb[upd]
        self.who[y0:y1, x0:x1][upd] = KINDS.index(kind)


class _Look:
    """Colours of this print: its faded dyes or toned silver, its paper, its ink."""

    def __init__(self, rng: np.random.Generator, mono: bool):
        self.mono = mono
        self.sepia = float(rng.uniform(0.4, 1.0) if rng.random() < 0.6 else rng.uniform(0, 0.2))
        # silver toned warmer in the mid-tones: each channel its own power of lightness
        self.exps = (1.0 + np.array([-0.14, 0.0, 0.4]) * self.sepia).astype(_F)
        self.black = float(rng.uniform(0.02, 0.12))  # lifted blacks of a faded print
        self.white = float(rng.uniform(0.86, 0.95))
        self.gamma = float(rng.uniform(0.85, 1.15))
        self.sat = float(rng.uniform(0.55, 1.0))
        # dyes fade unequally: cyan first (a red cast), then yellow (a magenta one)
        self.lift = np.array([rng.uniform(0, 0.10), rng.uniform(0, 0.04), rng.uniform(0, 0.06)], _F)
        age = float(rng.uniform(0.2, 1.0))
        self.gel = np.array([1.0, 1.0 - 0.04 * age, 1.0 - 0.16 * age], _F)  # yellowed gelatin
        pw = rng.uniform(0.9, 0.97)
        self.paper = np.array([pw, pw - rng.uniform(0.01, 0.03), pw - rng.uniform(0.05, 0.1)], _F)
        self.age = age

    def tone(self, lum: np.ndarray) -> np.ndarray:
        lum = np.clip(np.asarray(lum, _F), 1e-4, 1.0)
        return lum[..., None] ** self.exps

    def colour(self, rgb) -> np.ndarray:
        """A mark's colour as this print shows it: toned if the print is monochrome."""
        rgb = np.asarray(rgb, _F)
        if not self.mono:
            return rgb
        return self.tone(np.float32(rgb @ np.array([0.299, 0.587, 0.114], _F)))

    def emulsion(self, rgb: np.ndarray) -> np.ndarray:
        """The picture as the aged emulsion holds it (0..1 floats in, out)."""
        lumw = np.array([0.299, 0.587, 0.114], _F)
        if self.mono:
            lum = rgb @ lumw
            lum = self.black + (self.white - self.black) * np.clip(lum, 0, 1) ** self.gamma
            out = self.tone(lum)
        else:
            lum = (rgb @ lumw)[..., None]
            out = lum + (rgb - lum) * _F(self.sat)
            out = np.clip(out, 0, 1) ** _F(self.gamma)
            lo = self.black + self.lift
            out = lo + (self.white - lo) * out
        return (out * self.gel).astype(_F)

    def dark(self) -> np.ndarray:
        return self.emulsion(np.zeros((1, 1, 3), _F))[0, 0]


# ----------------------------------------------------------------------------- damage
# Each drawer returns [(canvas uint8 alpha, colour, opacity), ...] and a recipe entry.


def _scratch(rng, shape, ppm, strength, look, paper):
    h, w = shape
    diag = math.hypot(h, w)
    light_c, dark_c = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    groups = int(rng.integers(3, 8) if strength > 1 else rng.integers(1, 4))
    n_strokes = 0
    for _ in range(groups):
        n_par = int(rng.choice([1, 1, 2, 3, 4, 6]))
        theta = rng.uniform(0, np.pi)
        length = rng.uniform(0.15, 0.75) * diag
        centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        turn = rng.uniform(-0.35, 0.35)  # total bend of a gently curved stroke, radians
        spacing = rng.uniform(0.15, 1.5) * ppm
        light = rng.random() < 0.7
        w0 = rng.uniform(0.04, 0.3) * ppm
        broken = rng.random() < 0.45
        for j in range(n_par):
            ln = length * rng.uniform(0.5, 1.0)
            step = max(2.0, 0.5 * ppm)
            n = max(3, int(ln / step))
            ang = theta + turn * np.linspace(-0.5, 0.5, n) + np.cumsum(rng.normal(0, 0.004, n))
            d = np.stack([np.cos(ang), np.sin(ang)], 1) * step
            perp = np.array([-np.sin(theta), np.cos(theta)])
            start = centre + perp * (j - n_par / 2) * spacing * rng.uniform(0.7, 1.3)
            start = start - d.sum(0) / 2 + rng.uniform(-0.1, 0.1) * ln * d[0] / step
            pts = start + np.concatenate([[[0, 0]], np.cumsum(d, 0)[:-1]])
            ww = (
                w0
                * rng.uniform(0.5, 1.2)
                * (1 + 0.35 * np.sin(np.arange(n - 1) * rng.uniform(0.02, 0.2)))
            )
            ww = ww * _taper(n - 1)
            val = np.full(n - 1, rng.uniform(0.55, 1.0))
            if broken:
                val = val * _onoff(rng, n - 1, rng.uniform(0.4, 0.85), rng.uniform(4, 30))
            _polyline(light_c if light else dark_c, pts, ww, val)
            n_strokes += 1
    recipe = {"groups": groups, "strokes": n_strokes, "width_mm": round(float(w0 / ppm), 3)}
    return [(light_c, paper, 1.0), (dark_c, look.dark(), 1.0)], recipe


def _hair(rng, shape, ppm, strength, look, paper):
    h, w = shape
    dark_c, light_c = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    count = int(rng.integers(4, 14) if strength > 1 else rng.integers(1, 5))
    for _ in range(count):
        length = rng.uniform(1, 15) * ppm
        step = max(0.7, 0.1 * ppm)
        n = max(4, int(length / step))
        # curvature that wanders: curly fibres turn one way, then the other
        kappa = np.cumsum(rng.normal(0, 0.08, n)) / (0.4 * ppm) + rng.normal(0, 1) / (2 * ppm)
        ang = rng.uniform(0, 2 * np.pi) + np.cumsum(kappa * step)
        pts = np.array([rng.uniform(0, w), rng.uniform(0, h)]) + np.cumsum(
            np.stack([np.cos(ang), np.sin(ang)], 1) * step, 0
        )
        width = rng.uniform(0.05, 0.15) * ppm * np.linspace(1.0, rng.uniform(0.5, 1.0), n - 1)
        _polyline(dark_c if rng.random() < 0.75 else light_c, pts, width, rng.uniform(0.75, 1.0))
    dark = look.colour([0.08, 0.07, 0.06])
    light = look.colour([0.9, 0.9, 0.88])
    return [(dark_c, dark, 1.0), (light_c, light, 1.0)], {"count": count}


def _dust(rng, shape, ppm, strength, look, paper):
    h, w = shape
    area_cm2 = h * w / ppm**2 / 100
    density = rng.uniform(0.8, 3.0) if strength > 1 else rng.uniform(0.15, 1.2)
    count = int(area_cm2 * density) + 3
    dark_c, light_c = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    dark_polys, light_polys = [], []
    for _ in range(count):
        size = 0.08 * (1.5 / 0.08) ** (rng.random() ** 1.8)  # mm, mostly small
        r = size * ppm / 2
        c = (rng.uniform(0, w), rng.uniform(0, h))
        light = rng.random() < 0.3
        if r < 0.7:  # below a pixel: a faint dot of its area's worth of ink
            canvas = light_c if light else dark_c
            v = int(round(255 * min(1.0, (r / 0.7) ** 2 * 1.5)))
            if v > 10:
                cv2.circle(
                    canvas,
                    (int(c[0] * _ONE), int(c[1] * _ONE)),
                    int(0.7 * _ONE),
                    v,
                    -1,
                    cv2.LINE_AA,
                    _SHIFT,
                )
            continue
        poly = _blob(rng, c, r, rough=rng.uniform(0.1, 0.6) if size > 0.4 else 0.15)
        (light_polys if light else dark_polys).append(poly)
    _fill(dark_c, dark_polys, 1.0)
    _fill(light_c, light_polys, 1.0)
    dark = look.colour([0.1, 0.09, 0.08])
    light = look.colour([0.93, 0.92, 0.9])
    return [(dark_c, dark, rng.uniform(0.75, 1.0)), (light_c, light, rng.uniform(0.7, 1.0))], {
        "count": count
    }


def _crack(rng, shape, ppm, strength, look, paper):
    h, w = shape
    diag = math.hypot(h, w)
    canvas = np.zeros(shape, np.uint8)
    count = int(rng.integers(2, 6) if strength > 1 else rng.integers(1, 3))
    width = rng.uniform(1.0, 3.0)

    def walk(p, theta, length, depth):
        step = max(1.5, 0.4 * ppm)
        n = max(3, int(length / step))
        ang, a = np.empty(n), 0.0
        for i in range(n):  # jagged but keeping its course: mean-reverting heading
            a = 0.6 * a + rng.normal(0, 0.45)
            ang[i] = theta + a
        pts = p + np.concatenate(
            [[[0, 0]], np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1) * step, 0)]
        )
        wd = width * (0.6 if depth else 1.0) * np.linspace(1, 0.5, n)
        _polyline(canvas, pts, wd, rng.uniform(0.85, 1.0))
        if depth < 2:
            for i in np.flatnonzero(rng.random(n) < 0.025):
                walk(
                    pts[i],
                    theta + rng.choice([-1, 1]) * rng.uniform(0.35, 1.1),
                    length * rng.uniform(0.1, 0.35),
                    depth + 1,
                )

    for _ in range(count):
        walk(
            np.array([rng.uniform(0, w), rng.uniform(0, h)]),
            rng.uniform(0, 2 * np.pi),
            rng.uniform(0.2, 0.6) * diag,
            0,
        )
    return [(canvas, paper, 1.0)], {"count": count, "width_px": round(float(width), 2)}


def _craquelure(rng, shape, ppm, strength, look, paper):
    h, w = shape
    cell = max(rng.uniform(2, 8) * ppm, 9.0)  # px; tinier cells would read as texture
    m = cell * 2
    rect = (int(-m), int(-m), int(w + 2 * m), int(h + 2 * m))
    n = int((w + 2 * m) * (h + 2 * m) / cell**2)
    sub = cv2.Subdiv2D(rect)
    xs = rng.uniform(-m + 1, w + m - 1, n)
    ys = rng.uniform(-m + 1, h + m - 1, n)
    sub.insert([(float(x), float(y)) for x, y in zip(xs, ys, strict=True)])
    facets, _ = sub.getVoronoiFacetList([])
    seen: dict[tuple, tuple] = {}
    for f in facets:
        f = np.asarray(f, np.float64)
        for a, b in zip(f, np.roll(f, -1, 0), strict=True):
            ka, kb = (round(a[0], 1), round(a[1], 1)), (round(b[0], 1), round(b[1], 1))
            seen.setdefault((min(ka, kb), max(ka, kb)), (a, b))
    ends = np.array(list(seen.values()))  # E x 2 x 2
    ends = ends[rng.random(len(ends)) > rng.uniform(0.05, 0.3)]  # cracks that never joined up
    k = 5
    t = np.linspace(0, 1, k + 1)[None, :, None]
    seg = ends[:, :1] * (1 - t) + ends[:, 1:] * t
    d = ends[:, 1] - ends[:, 0]
    ln = np.linalg.norm(d, axis=1, keepdims=True) + 1e-6
    perp = np.stack([-d[:, 1], d[:, 0]], 1) / ln
    jit = rng.normal(0, 0.07, (len(ends), k + 1)) * ln
    jit[:, [0, -1]] = 0
    seg = seg + jit[..., None] * perp[:, None, :]
    width = max(rng.uniform(0.03, 0.1) * ppm, _MIN_W)
    val = min(1.0, width)
    canvas = np.zeros(shape, np.uint8)
    cv2.polylines(
        canvas,
        [_pts(s) for s in seg],
        False,
        int(255 * val),
        max(1, int(round(width))),
        cv2.LINE_AA,
        _SHIFT,
    )
    # part of the print or all of it, the lines fainter in places
    cover = rng.uniform(0.3, 1.0) if strength > 1 else rng.uniform(0.1, 0.4)
    lo = (max(2, h // 32), max(2, w // 32))
    field_lo = _fractal(rng, lo, max(lo) / rng.uniform(2, 5), 2)
    thr = np.quantile(field_lo, 1 - cover)
    region = np.clip((field_lo - thr) / 0.25, 0, 1)
    region = cv2.resize(region, (w, h), interpolation=cv2.INTER_LINEAR)
    region *= np.clip(0.75 + 0.35 * _noise(rng, shape, cell * 3), 0.3, 1.0)
    canvas = (canvas * region).astype(np.uint8)
    light = rng.random() < 0.6
    colour = paper if light else look.colour([0.12, 0.1, 0.08])
    recipe = {
        "cell_mm": round(float(cell / ppm), 2),
        "cover": round(float(cover), 2),
        "light": bool(light),
    }
    return [(canvas, colour, rng.uniform(0.6, 1.0))], recipe


def _fold_lines(rng, shape, ppm, strength):
    """Where the print was folded: nearly parallel to a side, at about a half or a third."""
    h, w = shape
    count = int(rng.integers(1, 3) if strength > 1 else 1)
    lines = []
    for _ in range(count):
        across = rng.random() < 0.5  # a fold running left to right
        pos = rng.choice([0.5, 1 / 3, 2 / 3]) + rng.uniform(-0.08, 0.08)
        tilt = np.deg2rad(rng.uniform(-4, 4))
        if across:
            p0, theta = np.array([0.0, pos * h]), tilt
        else:
            p0, theta = np.array([pos * w, 0.0]), np.pi / 2 + tilt
        lines.append((p0, float(theta)))
    return lines


def _fold(rng, shape, ppm, strength, look, paper, lines):
    h, w = shape
    canvas = np.zeros(shape, np.uint8)
    diag = math.hypot(h, w)
    polys = []
    for p0, theta in lines:
        step = max(1.5, 0.3 * ppm)
        n = int(diag * 1.2 / step)
        dirv = np.array([math.cos(theta), math.sin(theta)])
        perp = np.array([-dirv[1], dirv[0]])
        wob = np.cumsum(rng.normal(0, 0.03 * ppm, n))
        wob -= np.linspace(wob[0], wob[-1], n)  # pinned: the fold stays a straight-ish line
        s = np.arange(n) * step - 0.1 * diag
        pts = p0 + s[:, None] * dirv + wob[:, None] * perp
        on = _onoff(
            rng,
            n - 1,
            rng.uniform(0.45, 0.9) if strength > 1 else rng.uniform(0.25, 0.6),
            rng.uniform(3, 15),
        )
        ww = rng.uniform(0.06, 0.25) * ppm * np.exp(0.35 * _noise(rng, (1, n - 1), 6)[0])
        _polyline(canvas, pts, ww, on * rng.uniform(0.8, 1.0))
        # chips of emulsion that cracked off either side of the ridge
        for i in np.flatnonzero(rng.random(n) < (0.04 if strength > 1 else 0.015)):
            c = pts[i] + perp * rng.normal(0, 0.15 * ppm)
            b = _blob(rng, (0.0, 0.0), max(rng.uniform(0.1, 0.35) * ppm, 0.8), 0.8)
            b[:, 0] *= rng.uniform(1.2, 2.5)  # chips split along the fold
            polys.append(c + b @ np.array([dirv, perp]))
        for i in np.flatnonzero(rng.random(n) < 0.04):  # short cracks off the fold
            a = theta + np.pi / 2 + rng.normal(0, 0.5)
            ln = rng.uniform(0.3, 2.5) * ppm
            q = np.array(
                [pts[i], pts[i] + ln * np.array([math.cos(a), math.sin(a)]) * rng.choice([-1, 1])]
            )
            _polyline(canvas, q, max(_MIN_W, 0.08 * ppm), 0.9)
    _fill(canvas, polys, 1.0)
    return [(canvas, paper, 1.0)], {"folds": len(lines)}


def _flake(rng, shape, ppm, strength, look, paper):
    h, w = shape
    clusters = int(rng.integers(2, 6) if strength > 1 else rng.integers(1, 3))
    polys, n = [], 0
    for _ in range(clusters):
        c = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        spread = rng.uniform(2, 10) * ppm
        for _ in range(int(rng.integers(3, 20 if strength > 1 else 8))):
            r = 0.5 * 10 ** (rng.random() ** 2.5) * ppm  # radius: 1-10 mm across, mostly small
            polys.append(
                _blob(
                    rng,
                    c + rng.normal(0, spread, 2),
                    max(r, 1.5),
                    rng.uniform(0.3, 0.7),
                    n=int(np.clip(r, 10, 80)),
                )
            )
            n += 1
    canvas = np.zeros(shape, np.uint8)
    _fill(canvas, polys, 1.0)
    return [(canvas, paper, rng.uniform(0.85, 1.0))], {"clusters": clusters, "flakes": n}


def _edge(rng, shape, ppm, strength, look, paper):
    h, w = shape
    dy = np.minimum(np.arange(h), h - 1 - np.arange(h)).astype(_F)
    dx = np.minimum(np.arange(w), w - 1 - np.arange(w)).astype(_F)
    depth = rng.uniform(0.3, 1.0) * ppm  # px: how far in the wear reaches, on average
    d = np.minimum.outer(dy, dx)
    corner = np.add.outer(dy, dx)
    # worn unevenly along the border, worst at the corners that took the handling
    along = np.clip(0.35 + 0.6 * _noise(rng, shape, rng.uniform(8, 25) * ppm), 0, 1.2)
    strength_f = rng.uniform(0.6, 1.0) * along
    strength_f += 0.8 * np.exp(-corner / (rng.uniform(3, 8) * ppm))
    p = strength_f * np.exp(-d / depth)
    chips = 0.55 + 0.25 * _fractal(rng, shape, max(2.0, rng.uniform(0.3, 1.2) * ppm), 3)
    a = np.clip((p - chips) * 6, 0, 1)
    a[d > 4 * ppm] = 0  # a few mm deep at most
    canvas = (a * 255).astype(np.uint8)
    return [(canvas, paper, 1.0)], {"depth_mm": round(float(depth / ppm), 2)}


_WORDS = (
    "June 1958",
    "Xmas '63",
    "12.8.61",
    "Mom & Dad",
    "Aunt Rose",
    "1947",
    "Lake George 55",
    "Bobby, age 4",
    "Summer 1952",
    "with love",
    "3/4/59",
    "Grandpa Joe",
    "Easter 1966",
    "No. 14",
)


def _pen(rng, shape, ppm, strength, look, paper):
    h, w = shape
    canvas = np.zeros(shape, np.uint8)
    count = int(rng.integers(1, 4) if strength > 1 else 1)
    texts = []
    for _ in range(count):
        text = str(rng.choice(_WORDS))
        font = int(
            rng.choice(
                [
                    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
                    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
                    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
                ]
            )
        )
        (tw, th), base = cv2.getTextSize(text, font, 1.0, 1)
        hpx = rng.uniform(3, 7) * ppm
        scale = max(hpx / th, 0.3)
        thick = max(1, int(round(rng.uniform(0.25, 0.6) * ppm)))
        pw, ph = int(tw * scale + 4 * thick + 8), int((th + base) * scale + 4 * thick + 8)
        patch = np.zeros((ph, pw), np.uint8)
        cv2.putText(
            patch,
            text,
            (2 * thick + 4, int(th * scale) + 2 * thick + 4),
            font,
            scale,
            255,
            thick,
            cv2.LINE_AA,
        )
        if rng.random() < 0.35:  # an underline, as people do
            y = int(ph - thick - 2)
            cv2.line(
                patch,
                (4, y),
                (pw - 4 - int(rng.uniform(0, 0.3) * pw), y - int(rng.uniform(-2, 2) * thick)),
                255,
                thick,
                cv2.LINE_AA,
            )
        # a hand is not a plotter: the baseline wanders
        yy, xx = np.mgrid[0:ph, 0:pw].astype(_F)
        amp = rng.uniform(0.02, 0.08) * hpx
        mapy = yy + amp * np.sin(xx / max(hpx, 1) * rng.uniform(0.5, 1.5) + rng.uniform(0, 6))
        patch = cv2.remap(patch, xx, mapy.astype(_F), cv2.INTER_LINEAR)
        ang = rng.uniform(-12, 12) + (90 if rng.random() < 0.15 else 0)
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), ang, 1.0)
        side = int(math.hypot(pw, ph)) + 2
        m[:, 2] += (side - pw) / 2, (side - ph) / 2
        patch = cv2.warpAffine(patch, m, (side, side), flags=cv2.INTER_LINEAR)
        if rng.random() < 0.6:  # written in the bottom margin of the picture
            cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.78, 0.95) * h
        else:
            cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        x0, y0 = int(cx - side / 2), int(cy - side / 2)
        ys, xs = slice(max(0, y0), min(h, y0 + side)), slice(max(0, x0), min(w, x0 + side))
        sub = patch[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        np.maximum(canvas[ys, xs], sub, out=canvas[ys, xs])
        texts.append(text)
    # ballpoint skips: the ink is patchy along the stroke
    patchy = np.clip(0.85 + 0.25 * _noise(rng, shape, max(2.0, 0.5 * ppm)), 0.35, 1.0)
    canvas = (canvas * patchy).astype(np.uint8)
    ink = [[0.13, 0.18, 0.55], [0.08, 0.08, 0.1], [0.1, 0.12, 0.3]][int(rng.integers(3))]
    return [(canvas, look.colour(ink), rng.uniform(0.8, 0.97))], {"texts": texts}


def _tear(rng, shape, ppm, strength, look, paper):
    h, w = shape
    polys = []
    pieces = int(rng.integers(1, 3) if strength > 1 else 1)
    for _ in range(pieces):
        corner = rng.random() < 0.6
        n = 200
        t = np.linspace(0, 1, n)
        # Brownian bridge: a ragged edge pinned where the tear starts and ends
        bridge = np.cumsum(rng.normal(0, 1, n))
        bridge = (bridge - t * bridge[-1]) / math.sqrt(n)
        fine = rng.normal(0, 0.12 * ppm, n)  # paper fibres make the edge fuzzy at mm scale
        if corner:  # built for the top-left corner, then mirrored to a random one
            a = rng.uniform(0.06, 0.3) * w
            b = rng.uniform(0.06, 0.3) * h
            chord = np.stack([a * (1 - t), b * t], 1)
            nrm = np.array([b, a]) / math.hypot(a, b)
            bulge = rng.uniform(-0.1, 0.2) * math.hypot(a, b) * np.sin(np.pi * t)
            path = chord + (bulge + 0.06 * math.hypot(a, b) * bridge + fine)[:, None] * nrm
            poly = np.concatenate([[[-5, -5]], [[a, -5]], path, [[-5, b]]])
            if rng.random() < 0.5:
                poly[:, 0] = w - 1 - poly[:, 0]
            if rng.random() < 0.5:
                poly[:, 1] = h - 1 - poly[:, 1]
        else:  # a bite out of one side
            side = int(rng.integers(4))
            along = w if side < 2 else h
            span = rng.uniform(0.08, 0.3) * along
            x1 = rng.uniform(0, along - span)
            depth = rng.uniform(0.03, 0.12) * (h if side < 2 else w)
            x = x1 + span * t
            y = depth * np.sin(np.pi * t) ** 0.7 + (0.08 * span * bridge + fine)
            y = np.maximum(y, -3)
            poly = np.concatenate([[[x1, -5]], np.stack([x, y], 1), [[x1 + span, -5]]])
            if side == 1:
                poly[:, 1] = h - 1 - poly[:, 1]
            elif side >= 2:
                poly = poly[:, ::-1].copy()
                if side == 3:
                    poly[:, 0] = w - 1 - poly[:, 0]
        polys.append(poly)
    gone = np.zeros(shape, np.uint8)
    _fill(gone, polys, 1.0)
    # the torn paper's white core shows in a fibrous band along the edge
    rows, cols = np.flatnonzero(gone.any(1)), np.flatnonzero(gone.any(0))
    band_w = rng.uniform(0.3, 1.5) * ppm
    pad = int(band_w * 2) + 4
    y0, y1 = max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)
    x0, x1 = max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)
    sub = gone[y0:y1, x0:x1]
    dist = cv2.distanceTransform((sub < 128).astype(np.uint8), cv2.DIST_L2, 3)
    bw = band_w * np.clip(0.6 + 0.5 * _noise(rng, sub.shape, max(2.0, 2 * ppm)), 0.15, 1.5)
    band = np.clip(bw - dist + 0.5, 0, 1) * (sub < 250)
    band *= np.clip(0.85 + 0.2 * _noise(rng, sub.shape, max(1.0, 0.15 * ppm)), 0, 1)
    fringe = np.zeros(shape, np.uint8)
    fringe[y0:y1, x0:x1] = (band * 255).astype(np.uint8)
    edge_pts = np.concatenate([p[2:-1] for p in polys])
    for i in rng.choice(
        len(edge_pts), min(len(edge_pts), int(rng.integers(20, 120))), replace=False
    ):
        p = edge_pts[i]
        a = rng.uniform(0, 2 * np.pi)
        q = np.array([p, p + rng.uniform(0.1, 0.8) * ppm * np.array([math.cos(a), math.sin(a)])])
        _polyline(fringe, q, _MIN_W, 0.8)
    lid = float(rng.choice([0.95, 0.05, rng.uniform(0.3, 0.7)]))
    fibre = np.minimum(look.paper * 1.04, 1.0).astype(_F)
    recipe = {"pieces": pieces, "lid": round(lid, 3), "band_mm": round(float(band_w / ppm), 2)}
    return [(gone, np.full(3, lid, _F), 1.0), (fringe, fibre, 1.0)], recipe


# ----------------------------------------------------------------------------- stains


def _stains(rng, chosen, lo_shape, sppm, look, emul_lo, fold_lines, f):
    """Stain fields at the low resolution: P -> P * mult + add, and each stain's reach."""
    h, w = lo_shape
    mult = np.ones((h, w, 3), _F)
    add = np.zeros((h, w, 3), _F)
    reach: dict[str, np.ndarray] = {}
    recipe: dict[str, dict] = {}

    def over(alpha, colour, name):  # a translucent layer of `colour`
        nonlocal mult, add
        a = alpha[..., None].astype(_F)
        mult *= 1 - a
        add[:] = add * (1 - a) + a * colour
        reach[name] = np.maximum(reach.get(name, 0), alpha * 0.5)

    def tint(t, name):  # a stain that darkens/colours what is under it
        nonlocal mult, add
        mult *= t
        add *= t
        reach[name] = np.maximum(reach.get(name, 0), np.abs(t - 1).max(2))

    if "foxing" in chosen:
        canvas = np.zeros((h, w), _F)
        n_cl = int(rng.integers(1, 5))
        n = 0
        for _ in range(n_cl):
            c = np.array([rng.uniform(0, w), rng.uniform(0, h)])
            for _ in range(int(rng.integers(5, 40))):
                p = c + rng.normal(0, rng.uniform(5, 25) * sppm, 2)
                r = max(0.7, rng.uniform(0.15, 1.5) * sppm)
                cv2.circle(
                    canvas,
                    (int(p[0] * _ONE), int(p[1] * _ONE)),
                    int(r * _ONE),
                    float(rng.uniform(0.3, 0.9)),
                    -1,
                    cv2.LINE_AA,
                    _SHIFT,
                )
                n += 1
        canvas = cv2.GaussianBlur(canvas, (0, 0), max(0.5, 0.3 * sppm))
        brown = np.array([0.86, 0.66, 0.45], _F)
        tint(1 - canvas[..., None] * (1 - brown) * _F(rng.uniform(0.5, 1.0)), "foxing")
        recipe["foxing"] = {"spots": n}
    if "water" in chosen:
        cell = rng.uniform(15, 40) * sppm
        fld = _fractal(rng, (h, w), cell, 2)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w].astype(_F)
        rad = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / (rng.uniform(0.2, 0.6) * max(h, w))
        fld = fld * 0.12 - rad
        levels = np.sort(rng.uniform(-1.0, -0.4, int(rng.integers(1, 3))))
        ring_w = rng.uniform(0.012, 0.03)
        body = np.clip((fld - levels[0]) / 0.05, 0, 1) * _F(rng.uniform(0.05, 0.2))
        rings = np.zeros((h, w), _F)
        for lv in levels:  # each drying front leaves a darker tide-line
            dl = fld - lv
            rings = np.maximum(rings, np.exp(-((dl / ring_w) ** 2)) * (dl > -ring_w * 0.5))
        amount = np.clip(body + rings * _F(rng.uniform(0.2, 0.45)), 0, 1)
        stain = np.array([0.82, 0.7, 0.5], _F)
        tint(1 - amount[..., None] * (1 - stain), "water")
        recipe["water"] = {"tide_lines": len(levels)}
    if "silvering" in chosen:
        dy = np.minimum(np.arange(h), h - 1 - np.arange(h)).astype(_F)
        dx = np.minimum(np.arange(w), w - 1 - np.arange(w)).astype(_F)
        edge = np.exp(-np.minimum.outer(dy, dx) / (rng.uniform(5, 20) * sppm))
        darkness = np.clip(1 - emul_lo.mean(2) / 0.6, 0, 1) ** 1.5
        mott = np.clip(0.7 + 0.4 * _noise(rng, (h, w), 3 * sppm), 0, 1)
        alpha = edge * darkness * mott * _F(rng.uniform(0.35, 0.7))
        over(
            alpha,
            look.colour([0.56, 0.6, 0.68]) if look.mono else np.array([0.56, 0.6, 0.68], _F),
            "silvering",
        )
        recipe["silvering"] = {}
    if "tape" in chosen:
        for _ in range(int(rng.integers(1, 3))):
            tw, tl = rng.uniform(12, 19) * sppm, rng.uniform(20, 60) * sppm
            side = int(rng.integers(4))  # tape holds a print into an album by its edge
            cx = {0: rng.uniform(0.1, 0.9) * w, 1: rng.uniform(0.1, 0.9) * w, 2: 0.0, 3: w - 1.0}[
                side
            ]
            cy = {0: 0.0, 1: h - 1.0, 2: rng.uniform(0.1, 0.9) * h, 3: rng.uniform(0.1, 0.9) * h}[
                side
            ]
            ang = (90.0 if side < 2 else 0.0) + rng.uniform(-15, 15)
            box = cv2.boxPoints(((cx, cy), (tl, tw), ang))
            body = np.zeros((h, w), _F)
            cv2.fillPoly(body, [_pts(box)], 1.0, cv2.LINE_AA, _SHIFT)
            edges = np.zeros((h, w), _F)
            cv2.polylines(
                edges, [_pts(box)], True, 1.0, max(1, int(0.5 * sppm)), cv2.LINE_AA, _SHIFT
            )
            edges = cv2.GaussianBlur(edges, (0, 0), max(0.5, 0.2 * sppm)) * body
            old = rng.uniform(0.3, 1.0)
            yel = np.array([0.99, 0.96 - 0.05 * old, 0.88 - 0.16 * old], _F)
            t = 1 - body[..., None] * (1 - yel) - edges[..., None] * _F(0.1)
            tint(t.astype(_F), "tape")
        recipe["tape"] = {"age": round(float(old), 2)}
    if fold_lines:
        yy, xx = np.mgrid[0:h, 0:w].astype(_F)
        for p0, theta in fold_lines:
            # signed distance from the fold, in low-res px
            d = (xx - p0[0] * f) * -math.sin(theta) + (yy - p0[1] * f) * math.cos(theta)
            wd = max(rng.uniform(0.3, 1.2) * sppm, 1.2)
            u = d / wd
            g = np.exp(-0.5 * u**2)
            # a ridge lit from one side: bright slope, dark slope, a darker crest line
            s = _F(rng.uniform(0.12, 0.25)) * u * g * 1.6 - _F(rng.uniform(0.03, 0.12)) * g
            tint(np.repeat((1 + s)[..., None], 3, 2), "crease")
        recipe["crease"] = {"folds": len(fold_lines)}
    return mult, add, reach, recipe


# ----------------------------------------------------------------------------- main


def _choose(rng: np.random.Generator, profile: str) -> dict[str, int]:
    if profile == "mixed":
        chosen = {k: 1 for k, p in _MIXED_ODDS.items() if rng.random() < p}
        while len(chosen) < 2:
            chosen[str(rng.choice(list(_MIXED_ODDS)))] = 1
        return chosen
    return dict(_PROFILE_KINDS[profile])


def _choose_stains(rng: np.random.Generator, profile: str, kinds: dict[str, int]) -> set[str]:
    pool = ("foxing", "water", "silvering", "tape")
    if profile == "stained":
        picks = rng.choice(len(pool), int(rng.integers(2, 5)), replace=False)
        return {pool[i] for i in picks}
    return {s for s in pool if rng.random() < 0.25}


def age_held(
    clean: np.ndarray, seed: int, *, monochrome: bool = False, profile: str = "mixed"
) -> AgedHeld:
    """Age `clean` (uint8 H x W x 3) into a damaged old print and its undamaged twin."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; one of {PROFILES}")
    if clean.ndim != 3 or clean.shape[2] != 3 or clean.dtype != np.uint8:
        raise ValueError("clean must be uint8 H x W x 3")
    rng = np.random.default_rng([seed, _SALT])
    sub_seeds = rng.integers(0, 2**63 - 1, 32)

    def sub(i: int) -> np.random.Generator:  # one stream per layer: kinds don't disturb each other
        return np.random.default_rng([int(sub_seeds[i]), _SALT])

    h, w = clean.shape[:2]
    short_mm = float(rng.uniform(60, 130))
    ppm = min(h, w) / short_mm
    kinds = _choose(rng, profile)
    stains_on = _choose_stains(rng, profile, kinds)
    look = _Look(sub(0), monochrome)

    # paper: cloudy formation at a few mm, fibres at a tenth of one
    prng = sub(1)
    cloud = _fractal(prng, (h, w), max(2.0, prng.uniform(1, 4) * ppm), 3)
    fibre_c = max(1.0, 0.1 * ppm)
    lo = (max(2, int(h / fibre_c)), max(2, int(w / fibre_c)))
    fib = cv2.GaussianBlur(prng.standard_normal(lo).astype(_F), (0, 0), 2.0, sigmaY=0.6)
    fib = cv2.resize(fib, (w, h), interpolation=cv2.INTER_LINEAR) / max(float(fib.std()), 1e-6)
    tex = 1 + 0.012 * cloud + 0.008 * fib
    paper = (tex[..., None] * look.paper).astype(_F)
    del cloud, fib

    emul = look.emulsion(clean.astype(_F) / 255.0)
    print0 = (emul * tex[..., None]).astype(_F)  # the picture on the paper, paper's relief shows
    del emul, tex

    sigma = float(rng.uniform(0.45, 0.95))
    sheet = _Sheet(print0, sigma)
    recipe: dict = {
        "generator": 4,
        "profile": profile,
        "monochrome": bool(monochrome),
        "short_side_mm": round(short_mm, 1),
        "px_per_mm": round(ppm, 3),
        "look": {
            "sepia": round(look.sepia, 3) if monochrome else None,
            "black": round(look.black, 3),
            "age": round(look.age, 3),
        },
        "kinds": {},
    }
    fold_lines = _fold_lines(sub(2), (h, w), ppm, kinds.get("fold", 0)) if "fold" in kinds else []

    drawers = {
        "edge": _edge,
        "flake": _flake,
        "craquelure": _craquelure,
        "crack": _crack,
        "scratch": _scratch,
        "pen": _pen,
        "hair": _hair,
        "dust": _dust,
        "tear": _tear,
    }

    def draw(kind: str) -> None:
        if kind not in kinds:
            return
        r = sub(3 + KINDS.index(kind))
        if kind == "fold":
            layers, rec = _fold(r, (h, w), ppm, kinds[kind], look, paper, fold_lines)
        else:
            layers, rec = drawers[kind](r, (h, w), ppm, kinds[kind], look, paper)
        for canvas, colour, opacity in layers:
            sheet.blend(kind, canvas, colour, opacity)
        recipe["kinds"][kind] = rec

    # emulsion damage first: it lies under any stain
    for kind in ("edge", "flake", "craquelure", "crack", "fold", "scratch"):
        draw(kind)

    f = min(1.0, _STAIN_SIDE / max(h, w))
    lo_shape = (max(2, int(round(h * f))), max(2, int(round(w * f))))
    emul_lo = cv2.resize(print0, lo_shape[::-1], interpolation=cv2.INTER_AREA)
    mult, add, reach, srec = _stains(
        sub(20), stains_on, lo_shape, ppm * f, look, emul_lo, fold_lines, f
    )
    recipe["stains"] = srec
    if stains_on or fold_lines:
        mult = cv2.resize(mult, (w, h), interpolation=cv2.INTER_LINEAR)
        add = cv2.resize(add, (w, h), interpolation=cv2.INTER_LINEAR)
        print0 *= mult
        print0 += add
        sheet.img *= mult
        sheet.img += add
    del mult, add
    stains = {}
    for s in STAINS:
        if s in reach:
            stains[s] = (
                cv2.resize(np.asarray(reach[s], _F), (w, h), interpolation=cv2.INTER_LINEAR) > 0.03
            )
        else:
            stains[s] = np.zeros((h, w), bool)

    # on top of the print: ink, then what lay on the scanner glass; tears replace all
    for kind in ("pen", "hair", "dust", "tear"):
        draw(kind)

    # ---- scan
    srng = sub(30)
    b0 = cv2.GaussianBlur(print0, (0, 0), sigma)
    del print0
    b1 = cv2.GaussianBlur(sheet.img, (0, 0), sigma)
    sheet.img = None
    diff = np.abs(b1 - b0).max(2)
    mask = diff > VISIBLE
    del diff
    level = float(srng.uniform(0.002, 0.01))
    lum = b0.mean(2)
    noise = (
        srng.standard_normal((h, w), dtype=_F)[..., None]
        * (1 + 0.6 * np.sqrt(np.clip(lum, 0, 1)))[..., None]
    )
    noise = noise + 0.35 * srng.standard_normal((h, w, 3), dtype=_F)
    noise *= _F(level)
    del lum
    sharpen = float(srng.uniform(0.3, 1.0)) if srng.random() < 0.5 else 0.0
    us_sigma = float(srng.uniform(0.8, 2.0))
    quality = int(srng.integers(60, 96))

    def finish(b: np.ndarray) -> np.ndarray:
        b += noise
        if sharpen:
            b += _F(sharpen) * (b - cv2.GaussianBlur(b, (0, 0), us_sigma))
        u8 = np.clip(b * 255 + 0.5, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()

    undamaged = finish(b0)
    del b0
    image = finish(b1)
    del b1
    recipe["scan"] = {
        "blur_sigma_px": round(sigma, 3),
        "noise": round(level, 4),
        "sharpen": round(sharpen, 3),
        "jpeg_quality": quality,
    }

    who = sheet.who
    if mask.any():
        orphan = mask & (who == 255)
        if orphan.any():  # a pixel lit only by the sum of faint neighbours: give it the commonest
            counts = np.bincount(who[mask & (who != 255)], minlength=len(KINDS))
            who[orphan] = (
                int(np.argmax(counts)) if counts.sum() else KINDS.index(next(iter(kinds), "dust"))
            )
    kind_masks = {k: mask & (who == i) for i, k in enumerate(KINDS)}
    recipe["coverage"] = round(float(mask.mean()), 5)
    return AgedHeld(
        image=image,
        mask=mask,
        kinds=kind_masks,
        undamaged=undamaged,
        recipe=recipe,
        stains=stains,
    )
