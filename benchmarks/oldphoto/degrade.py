"""Ageing a clean photo into an old print whose damage is known pixel for pixel.

What happens to a print, in order: it fades, unevenly, and takes a colour cast (or a sepia
one for a black-and-white print), it gets scratched (straight and wavy, bright where the emulsion
is gone, dark where dirt sits in the groove), dust specks settle on it and the paper
cracks; then the scan blurs it a little, adds grain and saves it as a JPEG. Everything
is drawn from one seeded generator, so a photo's damage is the same on every run.

Sizes are relative to the photo (``unit`` = shorter side / 1000): a scratch on a large
scan is wider in pixels than on a small one.

The true damage mask is defined by what the damage visibly did: the pixels where the
drawn scratches, dust and cracks changed the print by more than ``VISIBLE`` (of the full
range), seen through the scan's blur. A dark scratch over a black coat changes nothing
there, so nothing there counts as damage.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

SUPERSAMPLE = 4  # damage is drawn at 4x and averaged down: antialiased, sub-pixel widths
VISIBLE = 0.06  # change (0..1 of the range) that makes a pixel count as damaged
KINDS = ("scratch", "dust", "crack")


@dataclass
class Aged:
    """A degraded photo, its clean original and the truth about its damage."""

    image: np.ndarray  # uint8 H x W x 3, what the app is given
    mask: np.ndarray  # bool H x W, any visible damage
    kinds: dict[str, np.ndarray]  # bool H x W per kind of damage (scratch, dust, crack)
    undamaged: np.ndarray  # uint8: the same ageing and scan without scratches, dust, cracks
    recipe: dict = field(default_factory=dict)  # what was applied, for the report


def _sepia_cast(rng: np.random.Generator) -> np.ndarray:
    return np.array([1.0, 0.86 + rng.uniform(-0.03, 0.03), 0.66 + rng.uniform(-0.06, 0.06)])


def _fade(img: np.ndarray, rng: np.random.Generator, monochrome: bool) -> tuple[np.ndarray, dict]:
    """Lost contrast, lifted blacks and a cast: yellowed paper, magenta dyes, sepia."""
    contrast = rng.uniform(0.55, 0.85)
    lift = rng.uniform(0.03, 0.12)
    if monochrome:
        cast = _sepia_cast(rng) ** rng.uniform(0.3, 0.8)  # a toned print yellows further
    else:
        cast = np.array(
            [1 + rng.uniform(0.0, 0.1), 1 + rng.uniform(-0.04, 0.05), 1 - rng.uniform(0.05, 0.2)]
        )
        if rng.uniform() < 0.35:
            cast = cast[[0, 2, 1]]  # magenta rather than yellow
    out = ((img - 0.5) * contrast + 0.5 + lift) * cast.astype(np.float32)
    # prints fade unevenly (light from one side, a frame's edge): a smooth gain field
    h, w = img.shape[:2]
    uneven = rng.uniform(0.0, 0.12)
    coarse = rng.uniform(-1, 1, (3, 3)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    out = out * (1 + uneven * field[..., None]) + uneven * 0.5 * np.maximum(field, 0)[..., None]
    recipe = {
        "contrast": round(contrast, 3),
        "lift": round(lift, 3),
        "cast": cast.round(3).tolist(),
        "uneven": round(uneven, 3),
    }
    return np.clip(out, 0, 1), recipe


class _Layers:
    """Supersampled drawing surfaces: per kind a coverage layer, and one value layer."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.cover = {k: np.zeros((h * SUPERSAMPLE, w * SUPERSAMPLE), np.uint8) for k in KINDS}
        self.value = np.zeros((h * SUPERSAMPLE, w * SUPERSAMPLE), np.uint8)

    def polyline(self, kind: str, pts: np.ndarray, width: float, value: float) -> None:
        """``pts`` in output pixels; ``width`` in output pixels (may be under 1)."""
        big = np.round(pts * SUPERSAMPLE * 16).astype(np.int32).reshape(-1, 1, 2)
        thick = max(1, int(round(width * SUPERSAMPLE)))
        v = int(round(value * 255))
        cv2.polylines(self.cover[kind], [big], False, 255, thick, cv2.LINE_AA, shift=4)
        cv2.polylines(self.value, [big], False, v, thick, cv2.LINE_AA, shift=4)

    def blob(self, centre: np.ndarray, axes: tuple[float, float], angle: float, value: float):
        c = tuple(int(round(v * SUPERSAMPLE * 16)) for v in centre)
        ax = tuple(max(1, int(round(a * SUPERSAMPLE * 16))) for a in axes)
        v = int(round(value * 255))
        cv2.ellipse(self.cover["dust"], c, ax, angle, 0, 360, 255, -1, cv2.LINE_AA, shift=4)
        cv2.ellipse(self.value, c, ax, angle, 0, 360, v, -1, cv2.LINE_AA, shift=4)

    def down(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        size = (self.w, self.h)
        cover = {
            k: cv2.resize(c, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
            for k, c in self.cover.items()
        }
        total = np.maximum.reduce(list(cover.values()))
        # the value layer was drawn with antialiased edges too: divide the coverage out
        value = cv2.resize(self.value, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        value = np.clip(value / 255.0 / np.maximum(total, 1e-3), 0, 1)
        return cover, value


def _path(rng: np.random.Generator, h: int, w: int, length: float, wavy: bool) -> np.ndarray:
    """A long scratch: straight, gently curved, or wavy (a sine along a slow curve)."""
    start = rng.uniform([0, 0], [w, h])
    angle = rng.uniform(0, np.pi) if rng.uniform() < 0.6 else rng.choice([np.pi / 2, 0.0])
    angle += rng.normal(0, 0.05)
    n = max(8, int(length / 3))
    t = np.linspace(0, length, n)
    bend = rng.uniform(-1, 1) * length * 0.08 * (t / length) ** 2  # a gentle overall curve
    offset = bend
    if wavy:
        amp = rng.uniform(1.5, 6.0) * max(1.0, min(h, w) / 1000)
        period = rng.uniform(80, 260) * max(1.0, min(h, w) / 1000)
        offset = offset + amp * np.sin(2 * np.pi * t / period + rng.uniform(0, 6.3))
    d = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-d[1], d[0]])
    return start + t[:, None] * d + offset[:, None] * normal


def _crack(rng: np.random.Generator, start: np.ndarray, length: float, unit: float) -> list:
    """A random walk with a persistent direction that branches once or twice."""
    paths = []
    heading = rng.uniform(0, 2 * np.pi)
    todo = [(start, heading, length)]
    while todo and len(paths) < 4:
        p, a, left = todo.pop()
        pts = [p]
        step = 3.0 * unit
        for _ in range(int(left / step)):
            a += rng.normal(0, 0.25)
            p = p + step * np.array([np.cos(a), np.sin(a)])
            pts.append(p)
            if rng.uniform() < 0.02 and len(todo) + len(paths) < 3:
                todo.append((p, a + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1), left * 0.5))
        paths.append(np.array(pts))
    return paths


def _craquelure(layers: _Layers, rng: np.random.Generator, unit: float) -> int:
    """A network of fine cracks over part of the print (the emulsion crazed as it dried
    or was bent): the edges of jittered cells, each edge wandering a little. Returns the
    number of edges drawn."""
    h, w = layers.h, layers.w
    cell = rng.uniform(40, 110) * max(unit, 0.5)
    centre = rng.uniform([0, 0], [w, h])
    reach = rng.uniform(0.25, 0.8) * max(h, w)
    xs = np.arange(-cell, w + cell, cell)
    ys = np.arange(-cell, h + cell, cell)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    grid = grid + rng.uniform(-0.4, 0.4, grid.shape) * cell
    subdiv = cv2.Subdiv2D((int(-2 * cell), int(-2 * cell), int(w + 4 * cell), int(h + 4 * cell)))
    for x, y in grid:
        subdiv.insert((float(x), float(y)))
    dark = rng.uniform() < 0.7
    width = rng.uniform(0.6, 1.8) * max(unit, 0.5)
    facets, _ = subdiv.getVoronoiFacetList([])
    seen: set[tuple[int, int, int, int]] = set()
    edges = 0
    for facet in facets:
        for a, b in zip(facet, np.roll(facet, -1, axis=0), strict=True):
            key = tuple(int(v) for v in np.round(np.concatenate(sorted([a, b], key=tuple))))
            if key in seen:
                continue
            seen.add(key)
            mid = (a + b) / 2
            if np.hypot(*(mid - centre)) > reach or np.hypot(*(b - a)) > 3 * cell:
                continue
            # a crack between two cells wanders: a few points pushed off the straight edge
            t = np.linspace(0, 1, 5)[:, None]
            normal = np.array([-(b - a)[1], (b - a)[0]]) / max(np.hypot(*(b - a)), 1e-6)
            push = np.concatenate([[0], rng.normal(0, 0.08, 3), [0]])[:, None]
            pts = a + t * (b - a) + push * np.hypot(*(b - a)) * normal
            value = rng.uniform(0.0, 0.3) if dark else rng.uniform(0.75, 0.95)
            layers.polyline("crack", pts, width * rng.uniform(0.7, 1.3), value)
            edges += 1
    return edges


def draw_damage(
    shape: tuple[int, int],
    rng: np.random.Generator,
    amount: float = 1.0,
    craquelure: np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """Coverage per kind (float H x W, 0..1) and the damage's own value (0 dark .. 1 bright).
    ``craquelure`` (its own generator, so the other damage stays as it was drawn before
    crack networks were added) crazes part of about a third of the prints."""
    h, w = shape
    unit = min(h, w) / 1000.0
    size = max(h, w)
    layers = _Layers(h, w)
    n_scratch = int(rng.integers(3, 7) * amount + 0.5)
    for _ in range(n_scratch):
        length = rng.uniform(0.25, 0.9) * size
        pts = _path(rng, h, w, length, wavy=rng.uniform() < 0.45)
        width = rng.uniform(1.0, 4.0) * max(unit, 0.5)
        bright = rng.uniform() < 0.65  # lost emulsion shows the paper: the common kind
        value = rng.uniform(0.82, 1.0) if bright else rng.uniform(0.0, 0.15)
        layers.polyline("scratch", pts, width, value)
    n_dust = int(rng.integers(25, 70) * amount * (h * w / 1e6) ** 0.5 + 0.5)
    for _ in range(n_dust):
        r = rng.uniform(0.7, 3.5) * max(unit, 0.5)
        centre = rng.uniform([0, 0], [w, h])
        axes = (r, r * rng.uniform(0.5, 1.0))
        value = rng.uniform(0.85, 1.0) if rng.uniform() < 0.5 else rng.uniform(0.0, 0.15)
        layers.blob(centre, axes, rng.uniform(0, 180), value)
    n_crack = int(rng.integers(0, 3) * amount + 0.5)
    for _ in range(n_crack):
        start = rng.uniform([0, 0], [w, h])
        value = rng.uniform(0.05, 0.25) if rng.uniform() < 0.7 else rng.uniform(0.8, 0.95)
        width = rng.uniform(1.0, 2.5) * max(unit, 0.5)
        for pts in _crack(rng, start, rng.uniform(0.15, 0.4) * size, max(unit, 0.5)):
            layers.polyline("crack", pts, width, value)
    n_network = 0
    if craquelure is not None and craquelure.uniform() < 0.35 * amount:
        n_network = _craquelure(layers, craquelure, unit)
    cover, value = layers.down()
    recipe = {"scratches": n_scratch, "dust": n_dust, "cracks": n_crack, "craquelure": n_network}
    return cover, value, recipe


def _scan(img: np.ndarray, rng: np.random.Generator, unit: float, q: dict) -> np.ndarray:
    """The scanner's view: mild blur, film grain (mostly luminance), then a JPEG file."""
    if q["blur"] > 0:
        img = cv2.GaussianBlur(img, (0, 0), q["blur"], borderType=cv2.BORDER_REFLECT)
    noise = np.random.default_rng(q["noise_seed"])
    grain = noise.normal(0, q["grain"], img.shape[:2]).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 0.6 * max(unit, 0.5)) * 1.6  # clumped silver
    colour = noise.normal(0, q["grain"] * 0.25, img.shape).astype(np.float32)
    img = img + grain[..., None] + colour
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, "JPEG", quality=q["jpeg"])
    return np.asarray(Image.open(buf).convert("RGB"))


def age(clean: np.ndarray, seed: int, *, monochrome: bool = False, amount: float = 1.0) -> Aged:
    """Degrade ``clean`` (uint8 H x W x 3); ``monochrome`` for a gray or toned print."""
    rng = np.random.default_rng([seed, 0x01D])
    h, w = clean.shape[:2]
    unit = min(h, w) / 1000.0
    img = clean.astype(np.float32) / 255.0
    faded, fade_recipe = _fade(img, rng, monochrome)
    cover, value, damage_recipe = draw_damage(
        (h, w), rng, amount, craquelure=np.random.default_rng([seed, 0xC7A])
    )
    total = np.maximum.reduce(list(cover.values()))
    if monochrome:
        # damage on a toned print is toned too: bright = paper, dark = the print's black
        paper, black = faded.reshape(-1, 3).max(0), faded.reshape(-1, 3).min(0)
        colour = black + value[..., None] * (paper - black)
    else:
        colour = np.repeat(value[..., None], 3, axis=2)
    opacity = rng.uniform(0.75, 1.0)
    a = (total * opacity)[..., None]
    printed = faded * (1 - a) + colour * a
    scan = {
        "blur": float(rng.uniform(0.3, 0.9) * max(unit, 0.5)),
        "grain": float(rng.uniform(0.01, 0.035)),
        "jpeg": int(rng.integers(60, 90)),
        "noise_seed": int(rng.integers(1 << 31)),
    }
    image = _scan(printed, rng, unit, scan)
    undamaged = _scan(faded, rng, unit, scan)
    # the truth: where the damage changed the print visibly, seen through the scan's blur
    change = np.abs(printed - faded).max(axis=2)
    if scan["blur"] > 0:
        change = cv2.GaussianBlur(change, (0, 0), scan["blur"], borderType=cv2.BORDER_REFLECT)
    mask = change > VISIBLE
    strongest = np.argmax(np.stack([cover[k] for k in KINDS]), axis=0)
    kinds = {k: mask & (strongest == i) for i, k in enumerate(KINDS)}
    recipe = {
        "fade": fade_recipe,
        **damage_recipe,
        "opacity": round(opacity, 3),
        "blur": round(scan["blur"], 3),
        "grain": round(scan["grain"], 4),
        "jpeg": scan["jpeg"],
        "monochrome": monochrome,
    }
    return Aged(image, mask, kinds, undamaged, recipe)
