"""Generator 3: a second way of ageing a print, for training the damage detector only.

Generator 1 (:mod:`.degrade`) draws thin scratches, specks and cracks at one scale; a
detector that learns only from it misses what it never drew. This generator was written
from a description of what happens to prints, without reading generator 2 (the test
split's, :mod:`.degrade_real`), and draws differently:

- marks in pixels of the size the detector works at (0.5-6 px wide, whatever the photo's
  size), bright or dark, some faint, some broken into dashes;
- areas of lost emulsion: flakes, torn or missing corners and chips, edge wear;
- hairs, pen and ink strokes, creases whose emulsion broke along the fold;
- crazing drawn as the borders between the territories of noise fields, not as cell edges;
- and marks that are *not* damage, drawn into the undamaged twin as well, so the detector
  learns to leave them: water rings, foxing, tape, silvering and a fold's shading;
- its own scan: blur, sometimes sharpening, grain, JPEG.

No split of the benchmark uses it; only ``train_detector`` does.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from benchmarks.oldphoto.degrade import VISIBLE, Aged, _fade

SS = 2  # drawn at 2x and averaged down
KINDS = ("scratch", "hair", "dust", "crack", "flake", "tear", "edge", "pen", "crease")


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-ish noise varying over about ``cell`` pixels."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    coarse = rng.normal(0, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


class _Canvas:
    """Per-kind coverage (uint8, 0..255 = opacity) and the marks' colour, at SS x."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.cover = {k: np.zeros((h * SS, w * SS), np.uint8) for k in KINDS}
        self.drawn = np.zeros((h * SS, w * SS), np.uint8)
        self.colour = np.zeros((h * SS, w * SS, 3), np.uint8)

    @staticmethod
    def _pts(pts: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(pts) * SS * 16).astype(np.int32).reshape(-1, 1, 2)

    def line(self, kind: str, pts, width: float, colour, opacity: float = 1.0) -> None:
        p = self._pts(pts)
        t = max(1, int(round(width * SS)))
        c = tuple(int(round(v * 255)) for v in colour)
        cv2.polylines(self.cover[kind], [p], False, int(255 * opacity), t, cv2.LINE_AA, shift=4)
        cv2.polylines(self.drawn, [p], False, 255, t, cv2.LINE_AA, shift=4)
        cv2.polylines(self.colour, [p], False, c, t, cv2.LINE_AA, shift=4)

    def fill(self, kind: str, pts, colour, opacity: float = 1.0) -> None:
        p = [self._pts(pts)]
        c = tuple(int(round(v * 255)) for v in colour)
        cv2.fillPoly(self.cover[kind], p, int(255 * opacity), cv2.LINE_AA, shift=4)
        cv2.fillPoly(self.drawn, p, 255, cv2.LINE_AA, shift=4)
        cv2.fillPoly(self.colour, p, c, cv2.LINE_AA, shift=4)

    def down(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        size = (self.w, self.h)
        cover = {
            k: cv2.resize(c, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
            for k, c in self.cover.items()
        }
        drawn = cv2.resize(self.drawn, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        colour = cv2.resize(self.colour, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        colour = np.clip(colour / np.maximum(drawn, 1e-3)[..., None], 0, 1)
        return cover, colour


def _curve(rng, start, heading, length, step, turn, drift=0.0) -> np.ndarray:
    """A walk whose heading wanders by ``turn`` per step and bends by ``drift``."""
    pts = [np.asarray(start, float)]
    a = heading
    for _ in range(max(2, int(length / step))):
        drift = float(np.clip(drift + rng.normal(0, turn * 0.3), -turn, turn))
        a += rng.normal(0, turn) + drift
        pts.append(pts[-1] + step * np.array([np.cos(a), np.sin(a)]))
    return np.array(pts)


def _ragged(rng, centre, radius, roughness) -> np.ndarray:
    """A closed outline: a circle whose radius carries random harmonics."""
    n = 48
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 9):
        r += roughness / k * rng.normal() * np.cos(k * t + rng.uniform(0, 6.3))
    r += rng.normal(0, roughness * 0.15, n)
    r = radius * np.clip(r, 0.25, None)
    squash = rng.uniform(0.4, 1.0)
    turn = rng.uniform(0, np.pi)
    x, y = r * np.cos(t), r * np.sin(t) * squash
    c, s = np.cos(turn), np.sin(turn)
    return np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1)


def _paper(rng, black: np.ndarray, white: np.ndarray, bright: bool) -> np.ndarray:
    if bright:
        return np.clip(white * rng.uniform(0.9, 1.05), 0, 1)
    return np.clip(black * rng.uniform(0.3, 1.0), 0, 1)


def _width(rng, lo: float = 0.5, hi: float = 7.0) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _scratches(c: _Canvas, rng, amount, black, white) -> int:
    h, w = c.h, c.w
    n = int(rng.integers(1, 7) * amount + 0.5)
    for _ in range(n):
        length = rng.uniform(0.1, 1.0) * max(h, w)
        start = rng.uniform([0, 0], [w, h])
        heading = rng.uniform(0, 2 * np.pi)
        straight = rng.uniform() < 0.5
        pts = _curve(rng, start, heading, length, 4.0, 0.0 if straight else 0.02)
        width = _width(rng, 0.8, 6.0)
        colour = _paper(rng, black, white, rng.uniform() < 0.6)
        opacity = rng.uniform(0.7, 1.0)
        if rng.uniform() < 0.35:  # broken: the stylus skipped
            keep = np.cumsum(rng.uniform(0, 1, len(pts)) < 0.15) % 2 == 0
            runs = np.split(pts, np.nonzero(np.diff(keep.astype(int)))[0] + 1)
            flags = np.split(keep, np.nonzero(np.diff(keep.astype(int)))[0] + 1)
            for run, f in zip(runs, flags, strict=True):
                if f[0] and len(run) > 1:
                    c.line("scratch", run, width, colour, opacity)
        else:
            # the width changes along a long scratch
            for seg in np.array_split(pts, max(1, len(pts) // 25)):
                c.line("scratch", seg, width * rng.uniform(0.7, 1.3), colour, opacity)
    return n


def _hairs(c: _Canvas, rng, amount, black, white) -> int:
    n = int(rng.integers(0, 4) * amount + 0.3)
    for _ in range(n):
        start = rng.uniform([0, 0], [c.w, c.h])
        length = rng.uniform(0.04, 0.3) * max(c.h, c.w)
        pts = _curve(rng, start, rng.uniform(0, 6.3), length, 2.0, 0.08, rng.normal(0, 0.02))
        colour = _paper(rng, black, white, rng.uniform() < 0.3)
        c.line("hair", pts, _width(rng, 0.6, 2.2), colour, rng.uniform(0.6, 1.0))
    return n


def _dust(c: _Canvas, rng, amount, black, white) -> int:
    n = int(rng.integers(10, 80) * amount * (c.h * c.w / 5e5) ** 0.5 + 0.5)
    for _ in range(n):
        r = _width(rng, 0.5, 6.0)
        outline = _ragged(rng, rng.uniform([0, 0], [c.w, c.h]), r, rng.uniform(0, 0.5))
        colour = _paper(rng, black, white, rng.uniform() < 0.55)
        c.fill("dust", outline, colour, rng.uniform(0.5, 1.0))
    return n


def _cracks(c: _Canvas, rng, amount, black, white) -> int:
    n = int(rng.integers(0, 4) * amount + 0.3)
    for _ in range(n):
        todo = [(rng.uniform([0, 0], [c.w, c.h]), rng.uniform(0, 6.3), rng.uniform(0.1, 0.5))]
        width = _width(rng, 0.6, 4.0)
        colour = _paper(rng, black, white, rng.uniform() < 0.4)
        drawn = 0
        while todo and drawn < 6:
            start, heading, frac = todo.pop()
            pts = _curve(rng, start, heading, frac * max(c.h, c.w), 6.0, 0.15)
            # jagged: each vertex pushed sideways a little
            pts = pts + rng.normal(0, 1.0, pts.shape)
            c.line("crack", pts, width * rng.uniform(0.6, 1.2), colour)
            drawn += 1
            for k in rng.integers(0, len(pts), int(rng.integers(0, 3))):
                todo.append(
                    (pts[k], heading + rng.choice([-1, 1]) * rng.uniform(0.4, 1.4), frac * 0.5)
                )
    return n


def _crazing(c: _Canvas, rng, black, white) -> bool:
    """A fine crack network over a region: the borders between the territories of a few
    noise fields (whichever is largest owns a pixel), so cells are curved and meet in
    threes, as crazed emulsion does."""
    h, w = c.h, c.w
    H, W = h * SS, w * SS
    cell = rng.uniform(20, 80) * SS
    owner = np.argmax(np.stack([_smooth_noise(rng, H, W, cell) for _ in range(6)]), axis=0)
    owner = owner.astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    border = cv2.dilate(owner, kernel) != cv2.erode(owner, kernel)
    width = _width(rng, 0.5, 2.5)
    layer = border.astype(np.uint8) * 255
    if width * SS > 2:
        k = int(round(width * SS - 1))
        layer = cv2.dilate(layer, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    region = _smooth_noise(rng, H, W, max(H, W) / 3) > rng.uniform(-0.3, 0.8)
    layer[~region] = 0
    # some cracks stop short of closing their cell
    layer[_smooth_noise(rng, H, W, cell / 2) > rng.uniform(0.6, 1.5)] = 0
    colour = _paper(rng, black, white, rng.uniform() < 0.45)
    c.cover["crack"] = np.maximum(c.cover["crack"], layer)
    c.drawn = np.maximum(c.drawn, layer)
    c.colour[layer > 0] = [int(v * 255) for v in colour]
    return True


def _flakes(c: _Canvas, rng, amount, black, white) -> int:
    n = int(rng.integers(0, 6) * amount + 0.3)
    centre = rng.uniform([0, 0], [c.w, c.h])
    for _ in range(n):
        # flakes come in clusters where the emulsion let go
        p = centre + rng.normal(0, 0.08 * max(c.h, c.w), 2)
        outline = _ragged(rng, p, _width(rng, 3.0, 25.0), rng.uniform(0.3, 0.9))
        c.fill("flake", outline, _paper(rng, black, white, rng.uniform() < 0.8))
    return n


def _tear(c: _Canvas, rng, black, white) -> None:
    """A missing corner, or a bite out of an edge, with a jagged paper edge."""
    h, w = c.h, c.w
    # no bigger than the detector can see round: inside, a hole is just a flat colour
    size = rng.uniform(0.03, 0.12) * min(h, w)
    corner = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)[rng.integers(4)]
    inward = np.sign(np.array([w / 2, h / 2]) - corner)
    a = corner + inward * [size * rng.uniform(0.5, 1.5), 0]
    b = corner + inward * [0, size * rng.uniform(0.5, 1.5)]
    t = np.linspace(0, 1, 30)[:, None]
    edge = a + t * (b - a)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(np.hypot(*(b - a)), 1e-6)
    edge = edge + normal * rng.normal(0, size * 0.04, (30, 1)) + rng.normal(0, 1.0, edge.shape)
    behind = rng.choice(3)  # what the scanner saw through the hole
    colour = (white * 1.05, np.array([0.05, 0.05, 0.05]), rng.uniform(0.3, 0.7) * np.ones(3))[
        behind
    ]
    poly = np.concatenate([[corner], edge])
    c.fill("tear", poly, np.clip(colour, 0, 1))
    if rng.uniform() < 0.6:  # torn paper shows its white fibres along the tear
        c.line("tear", edge, _width(rng, 1.0, 4.0), np.clip(white * 1.1, 0, 1))


def _edge_wear(c: _Canvas, rng, black, white) -> None:
    h, w = c.h, c.w
    depth = rng.uniform(1.5, 10.0)
    for side in rng.choice(4, int(rng.integers(1, 5)), replace=False):
        n = h if side % 2 else w
        along = np.linspace(0, n, 40)
        d = np.clip(depth * (0.5 + _smooth_noise(rng, 1, 40, 6)[0]), 0, None)
        if side == 0:
            pts = np.stack([along, d], 1)
            poly = np.concatenate([[[n, 0], [0, 0]], pts])
        elif side == 1:
            pts = np.stack([w - d, along], 1)
            poly = np.concatenate([[[w, n], [w, 0]], pts])
        elif side == 2:
            pts = np.stack([along, h - d], 1)
            poly = np.concatenate([[[n, h], [0, h]], pts])
        else:
            pts = np.stack([d, along], 1)
            poly = np.concatenate([[[0, n], [0, 0]], pts])
        c.fill("edge", poly, _paper(rng, black, white, rng.uniform() < 0.8))


def _pen(c: _Canvas, rng) -> None:
    ink = (
        np.array([0.12, 0.15, 0.45]),
        np.array([0.05, 0.05, 0.07]),
        np.array([0.45, 0.12, 0.1]),
    )[rng.integers(3)]
    start = rng.uniform([0, 0], [c.w, c.h])
    for _ in range(int(rng.integers(1, 6))):
        # handwriting: loops along a line
        n = int(rng.integers(10, 60))
        t = np.arange(n) * rng.uniform(1.5, 4.0)
        r = rng.uniform(3, 12)
        x = t + r * np.cos(t / r * rng.uniform(1.5, 3)) * rng.uniform(0.3, 1)
        y = r * np.sin(t / r * rng.uniform(1.5, 3))
        c.line("pen", start + np.stack([x, y], 1), _width(rng, 0.8, 3.0), ink, rng.uniform(0.6, 1))
        start = start + [0, r * 3]


def _crease(c: _Canvas, rng, black, white, shade: np.ndarray) -> None:
    """A fold: broken emulsion along the line (damage) and a shaded ridge (not damage)."""
    h, w = c.h, c.w
    vertical = rng.uniform() < 0.5
    pos = rng.uniform(0.2, 0.8) * (w if vertical else h)
    tilt = rng.normal(0, 0.05)
    n = h if vertical else w
    s = np.linspace(0, n, 200)
    off = pos + tilt * s + rng.normal(0, 0.4, 200).cumsum() * 0.3
    pts = np.stack([off, s], 1) if vertical else np.stack([s, off], 1)
    colour = _paper(rng, black, white, True)
    keep = _smooth_noise(rng, 1, 200, 8)[0] > rng.uniform(-0.6, 0.4)
    for k in range(0, 199, 4):
        if keep[k]:
            c.line("crease", pts[k : k + 5], _width(rng, 0.6, 4.0), colour, rng.uniform(0.5, 1))
    # the ridge's shading, one side lit, the other in shadow
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    coord = xx if vertical else yy
    along = yy if vertical else xx
    d = coord - (pos + tilt * along)
    sigma = rng.uniform(2.0, 10.0)
    shade += rng.uniform(0.03, 0.1) * np.tanh(d / sigma) * np.exp(-((d / (3 * sigma)) ** 2))


def _stains(img: np.ndarray, rng: np.random.Generator, shade: np.ndarray) -> list[str]:
    """What happens to a print that is not damage to be filled: it is the print."""
    h, w = img.shape[:2]
    done = []
    brown = np.array([0.75, 0.6, 0.4], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.uniform() < 0.3:  # a water ring: a tide line round a paler pool
        cx, cy = rng.uniform([0, 0], [w, h])
        r = rng.uniform(0.1, 0.4) * min(h, w)
        d = np.hypot(xx - cx, yy - cy) + _smooth_noise(rng, h, w, r / 3) * r * 0.08
        line = np.exp(-(((d - r) / rng.uniform(2, 8)) ** 2)) * rng.uniform(0.1, 0.3)
        pool = (d < r) * rng.uniform(0.0, 0.06)
        img[:] = img * (1 - line[..., None] * (1 - brown)) + pool[..., None] * 0.5
        done.append("water")
    if rng.uniform() < 0.3:  # foxing: soft rust spots, no edge
        spots = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(3, 30))):
            cx, cy = rng.uniform([0, 0], [w, h])
            s = rng.uniform(2, 12)
            spots += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s)) * rng.uniform(
                0.1, 0.3
            )
        spots = np.clip(spots, 0, 0.5)[..., None]
        img[:] = img * (1 - spots * (1 - brown * 0.8))
        done.append("foxing")
    if rng.uniform() < 0.2:  # tape: a yellowed translucent band
        c = rng.uniform([0, 0], [w, h])
        ang = rng.uniform(0, np.pi)
        u = (xx - c[0]) * np.cos(ang) + (yy - c[1]) * np.sin(ang)
        v = -(xx - c[0]) * np.sin(ang) + (yy - c[1]) * np.cos(ang)
        half_w, half_l = rng.uniform(0.03, 0.08) * min(h, w), rng.uniform(0.1, 0.4) * max(h, w)
        band = ((np.abs(u) < half_l) & (np.abs(v) < half_w)).astype(np.float32)
        band = cv2.GaussianBlur(band, (0, 0), 1.0)[..., None]
        tint = np.array([1.0, 0.95, 0.75], np.float32) * rng.uniform(0.9, 1.0)
        img[:] = img * (1 - band) + (img * tint + rng.uniform(0, 0.06)) * band
        done.append("tape")
    if rng.uniform() < 0.2:  # silvering: a metallic sheen creeping in from the edges
        edge = np.minimum.reduce([xx, yy, w - 1 - xx, h - 1 - yy]) / (0.15 * min(h, w))
        sheen = np.clip(1 - edge + 0.5 * _smooth_noise(rng, h, w, 30), 0, 1)
        sheen = (sheen * rng.uniform(0.15, 0.4))[..., None]
        img[:] = img * (1 - sheen) + np.array([0.55, 0.6, 0.68], np.float32) * sheen
        done.append("silvering")
    img += shade[..., None]
    if shade.any():
        done.append("fold ridge")
    np.clip(img, 0, 1, out=img)
    return done


def _scan(img: np.ndarray, q: dict) -> np.ndarray:
    if q["blur"] > 0:
        img = cv2.GaussianBlur(img, (0, 0), q["blur"])
    if q["sharpen"] > 0:
        soft = cv2.GaussianBlur(img, (0, 0), 1.2)
        img = img + q["sharpen"] * (img - soft)
    noise = np.random.default_rng(q["seed"])
    grain = noise.normal(0, q["grain"], img.shape[:2]).astype(np.float32)
    img = img + cv2.GaussianBlur(grain, (0, 0), 0.7)[..., None] * 1.5
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, "JPEG", quality=q["jpeg"])
    return np.asarray(Image.open(buf).convert("RGB"))


def age_train(
    clean: np.ndarray, seed: int, *, monochrome: bool = False, amount: float = 1.0
) -> Aged:
    """Degrade ``clean`` (uint8 H x W x 3) the third way; the truth as generator 1 defines it."""
    rng = np.random.default_rng([seed, 0x3E3])
    h, w = clean.shape[:2]
    faded, _ = _fade(clean.astype(np.float32) / 255.0, rng, monochrome)
    flat = faded.reshape(-1, 3)
    black = np.percentile(flat, 2, axis=0)
    white = np.percentile(flat, 99.5, axis=0)
    white = np.maximum(white, white.max() * 0.92)  # paper, not a coloured highlight
    canvas = _Canvas(h, w)
    shade = np.zeros((h, w), np.float32)
    recipe = {
        "scratches": _scratches(canvas, rng, amount, black, white),
        "hairs": _hairs(canvas, rng, amount, black, white),
        "dust": _dust(canvas, rng, amount, black, white),
        "cracks": _cracks(canvas, rng, amount, black, white),
    }
    if rng.uniform() < 0.3:
        recipe["crazing"] = _crazing(canvas, rng, black, white)
    if rng.uniform() < 0.35:
        recipe["flakes"] = _flakes(canvas, rng, amount, black, white)
    if rng.uniform() < 0.25:
        _tear(canvas, rng, black, white)
        recipe["tear"] = True
    if rng.uniform() < 0.3:
        _edge_wear(canvas, rng, black, white)
        recipe["edge"] = True
    if rng.uniform() < 0.15:
        _pen(canvas, rng)
        recipe["pen"] = True
    if rng.uniform() < 0.25:
        _crease(canvas, rng, black, white, shade)
        recipe["crease"] = True
    base = faded.copy()
    recipe["stains"] = _stains(base, rng, shade)
    cover, colour = canvas.down()
    alpha = np.maximum.reduce(list(cover.values()))[..., None]
    if monochrome:  # a toned print's damage is toned too
        lum = colour.mean(axis=2, keepdims=True)
        colour = black + lum * (white - black)
    printed = base * (1 - alpha) + colour * alpha
    q = {
        "blur": float(rng.uniform(0.2, 1.2)),
        "sharpen": float(rng.uniform(0.3, 1.0)) if rng.uniform() < 0.3 else 0.0,
        "grain": float(rng.uniform(0.005, 0.04)),
        "jpeg": int(rng.integers(50, 95)),
        "seed": int(rng.integers(1 << 31)),
    }
    image, undamaged = _scan(printed, q), _scan(base, q)
    change = np.abs(printed - base).max(axis=2)
    change = cv2.GaussianBlur(change, (0, 0), q["blur"])
    mask = change > VISIBLE
    strongest = np.argmax(np.stack([cover[k] for k in KINDS]), axis=0)
    kinds = {k: mask & (strongest == i) for i, k in enumerate(KINDS)}
    recipe.update(q)
    return Aged(image, mask, kinds, undamaged, recipe)
