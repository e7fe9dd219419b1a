"""Undamaged photos of natural textures -- pebbles, beach shingle, sand, grass, bark, dry
soil, foliage, knitwear -- made procedurally, for tuning and reporting how much of an
undamaged textured photo a damage detector marks.

Texture is what a dust-and-scratch detector most often takes for damage: the highlight on a
wet pebble looks like a dust speck, a grass blade or a crack in dry mud like a scratch.
Nothing here is damage, so every pixel marked on these is a false alarm. The test split's
real texture photos are never used to build them, nor looked at: each material is drawn
from an idea of how it looks in a photograph -- lit from one side, soft shading, elements
of varied colour and size, dark crevices, small highlights, grain, a little defocus.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

KINDS: tuple[str, ...] = ("pebbles", "shingle", "sand", "grass", "bark", "soil", "foliage", "knit")

F32 = np.float32
Rng = np.random.Generator
Shape = tuple[int, int]


def _lin(srgb: object) -> np.ndarray:
    """Palette colours are written as seen (sRGB); light adds up in linear units."""
    return np.asarray(srgb, F32) ** 2.2


def _child(rng: Rng) -> Rng:
    """For draws whose count grows with the size: one draw from `rng`, so a seed's scale,
    palette and light stay the same at every size."""
    return np.random.default_rng(rng.integers(2**63))


def _noise(rng: Rng, shape: Shape, cell: float | tuple[float, float],
           octaves: int = 3) -> np.ndarray:  # fmt: skip
    """Smooth noise of unit std whose largest features are about `cell` px (or (cy, cx))."""
    (h, w), rng = shape, _child(rng)
    cy, cx = (cell, cell) if np.isscalar(cell) else cell
    out, amp = np.zeros(shape, F32), 1.0
    for _ in range(octaves):
        gh, gw = max(2, round(h / max(cy, 1.0)) + 2), max(2, round(w / max(cx, 1.0)) + 2)
        g = rng.standard_normal((gh, gw)).astype(F32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        cy, cx, amp = cy / 2, cx / 2, amp * 0.5
    return out / (out.std() + 1e-6)


def _light(rng: Rng, elevation: tuple[float, float], side: bool = False) -> np.ndarray:
    """A unit vector toward the light: from above, as daylight or a window is, or (side)
    from the left or right, the raking light bark is photographed in. Image y points down."""
    az = rng.choice([np.pi, 0.0]) + rng.uniform(-0.5, 0.3) if side else rng.uniform(-2.8, -0.3)
    el = np.radians(rng.uniform(*elevation))
    return np.array([np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.sin(el)], F32)


def _shade(height: np.ndarray, light: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    """Lambert shading (1 on flat ground) and a Blinn-Phong highlight of a height map in px."""
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8
    nz = 1 / np.sqrt(1 + gx * gx + gy * gy)
    lx, ly, lz = light
    diffuse = np.clip((lz - gx * lx - gy * ly) * nz, 0, None) / lz
    hx, hy, hz = (light + [0, 0, 1]) / np.linalg.norm(light + [0, 0, 1])
    return diffuse, np.clip((hz - gx * hx - gy * hy) * nz, 0, 1) ** power


def _shadow(height: np.ndarray, light: np.ndarray, reach: float) -> np.ndarray:
    """How far each point lies in a cast shadow: something between it and the light stands
    above the ray toward the light. Soft, as under a sky rather than a point lamp."""
    (h, w), flat = height.shape, float(np.hypot(light[0], light[1]))
    dx, dy, rise = light[0] / flat, light[1] / flat, light[2] / flat
    occl = np.zeros_like(height)
    for k in np.geomspace(1, max(reach, 1.5), 6):
        m = np.float32([[1, 0, k * dx], [0, 1, k * dy]])
        flags, border = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, cv2.BORDER_REPLICATE
        ahead = cv2.warpAffine(height, m, (w, h), flags=flags, borderMode=border)
        occl = np.maximum(occl, np.clip(ahead - height - k * rise, 0, 1))
    return cv2.GaussianBlur(occl, (0, 0), 1.2)


def _edges_distance(lab: np.ndarray) -> np.ndarray:
    """Distance of each pixel to the nearest border between two labels."""
    edge = np.zeros(lab.shape, bool)
    edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    edge[1:, :] |= lab[1:, :] != lab[:-1, :]
    return cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)


# ---- stones ------------------------------------------------------------------------------
STONE = {  # sRGB of dry stone, and how often it turns up in a gravel bed or on a beach
    "granite": ((0.62, 0.6, 0.57), 0.25), "basalt": ((0.26, 0.26, 0.27), 0.15),
    "sandstone": ((0.72, 0.58, 0.42), 0.2), "jasper": ((0.6, 0.38, 0.3), 0.1),
    "quartz": ((0.88, 0.86, 0.8), 0.1), "greenstone": ((0.45, 0.5, 0.42), 0.1),
    "slate": ((0.4, 0.43, 0.48), 0.1),
}  # fmt: skip


Span = tuple[float, float]  # a seed draws its value from this range


def _stones(rng: Rng, shape: Shape, light: np.ndarray, *, diam: Span, aspect: Span,
            coverage: Span, flat: float, wet: Span, veins: float, grey: Span) -> np.ndarray:  # fmt: skip
    h, w = shape
    diam = float(np.exp(rng.uniform(np.log(diam[0]), np.log(diam[1]))))
    coverage, wet, grey = rng.uniform(*coverage), rng.uniform(*wet), rng.uniform(*grey)
    names = list(STONE)
    prob = np.array([STONE[k][1] for k in names]) * rng.uniform(0.3, 1.7, len(names))
    ground = _lin(rng.choice([(0.4, 0.34, 0.26), (0.55, 0.5, 0.42), (0.3, 0.28, 0.25)]))
    power, el = rng.uniform(60, 160), _child(rng)
    m = int(diam) + 2  # stones run off the frame as they do in a crop
    hh, ww = h + 2 * m, w + 2 * m
    n = int(coverage * hh * ww / (np.pi / 4 * diam**2 * np.mean(aspect)))
    a = np.maximum(diam / 2 * el.lognormal(0, 0.35, n), 1.5)
    b = np.maximum(a * el.uniform(*aspect, n), 1.2)
    cx, cy, ang = el.uniform(0, ww, n), el.uniform(0, hh, n), el.uniform(0, 180, n)
    lab = np.zeros((hh, ww), np.int32)
    for i in range(n):
        axes = (int(a[i] + 0.5), int(b[i] + 0.5))
        cv2.ellipse(lab, (int(cx[i]), int(cy[i])), axes, ang[i], 0, 360, i + 1, -1)
    lab = lab[m:-m, m:-m]
    dist, stone = _edges_distance(lab), lab > 0

    def per(v: np.ndarray) -> np.ndarray:  # each stone's value at its pixels
        return np.concatenate([[1.0], v]).astype(F32)[lab]

    # the dome is the whole stone's, so a stone half hidden under another still looks
    # round, not like a curled shell; its bumpy skin breaks a wet highlight into dots
    yy, xx = np.mgrid[0:h, 0:w].astype(F32)
    dx, dy = xx - per(cx - m), yy - per(cy - m)
    cos, sin = per(np.cos(np.radians(ang))), per(np.sin(np.radians(ang)))
    rho2 = ((dx * cos + dy * sin) / per(a + 0.5)) ** 2 + ((dy * cos - dx * sin) / per(b + 0.5)) ** 2
    bump = 0.15 * _noise(rng, shape, 3, 2)
    dome = (flat * per(b) * np.clip(1 - rho2, 0, 1) ** 0.6 + bump) * stone
    diffuse, spec = _shade(dome, light, power)
    lift = per(np.linspace(0, diam * 0.3, n))  # the later a stone fell, the higher it lies
    shadow = _shadow(np.where(stone, dome + lift, 0).astype(F32), light, diam * 0.6)
    kind = el.choice(len(names), n + 1, p=prob / prob.sum())
    col = _lin([STONE[names[k]][0] for k in kind]) * el.lognormal(0, 0.2, (n + 1, 1))
    col *= 1 + el.normal(0, 0.06, (n + 1, 3))  # no two stones quite the same hue
    col = col * (1 - grey) + col.mean(1, keepdims=True) * grey
    is_wet = el.random(n + 1) < wet
    col[is_wet] *= 0.7  # wet stone is darker, and shines
    shine = np.where(is_wet, el.uniform(0.5, 1.8, n + 1), el.uniform(0.02, 0.12, n + 1))
    mott = el.uniform(0.05, 0.3, n + 1).astype(F32)[lab]
    speck = el.uniform(0.0, 0.35, n + 1).astype(F32)[lab]  # granite's grains
    tex = 1 + mott * _noise(rng, shape, max(diam / 3, 2)) + speck * _noise(rng, shape, 1.2, 1)
    alb = col.astype(F32)[lab] * np.clip(tex, 0.3, 2)[..., None]
    if veins > 0:  # a quartz band or two across some beach stones
        va = el.uniform(0, np.pi, n)
        proj = dx * per(np.cos(va)) + dy * per(np.sin(va)) - per(b * el.uniform(-0.7, 0.7, n))
        proj = np.minimum(np.abs(proj), np.abs(proj - per(el.uniform(3, 9, n))))
        width = per(el.uniform(0.5, 2.5, n))
        vein = np.exp(-((proj + _noise(rng, shape, diam / 3)) ** 2) / (2 * width**2))
        vein = (vein * per(el.random(n) < veins))[..., None]
        alb = alb * (1 - vein) + _lin((0.85, 0.84, 0.8)) * vein
    ground = ground * 0.45 * (1 + 0.3 * _noise(rng, shape, 1.5, 2))[..., None]
    alb = np.where(stone[..., None], alb, ground)
    # crevices between stones see little sky; stone rims a bit less than their tops
    ao = np.where(stone, 1 - 0.35 * np.exp(-dist / 2), 0.35 + 0.4 * (1 - np.exp(-dist / 4)))
    lit = (0.3 + 0.7 * diffuse * (1 - 0.8 * shadow)) * ao
    glint = shine.astype(F32)[lab] * spec * (1 - shadow) * stone
    return alb * lit[..., None] + glint[..., None]


# gravel of every colour, round, sometimes wet; beach shingle: flat, worn smooth, mostly
# grey, often wet and banded with quartz
_pebbles = partial(_stones, diam=(6, 60), aspect=(0.55, 0.95), coverage=(1.3, 2.2), flat=0.8,
                   wet=(0.0, 0.6), veins=0.08, grey=(0.2, 0.7))  # fmt: skip
_shingle = partial(_stones, diam=(20, 90), aspect=(0.45, 0.8), coverage=(1.5, 2.2), flat=0.45,
                   wet=(0.3, 0.9), veins=0.2, grey=(0.5, 0.9))  # fmt: skip


# ---- ground ------------------------------------------------------------------------------
def _sand(rng: Rng, shape: Shape, light: np.ndarray) -> np.ndarray:
    h, w = shape
    g = rng.uniform(1.0, 2.5)  # px per grain
    gh, gw = int(h / g) + 1, int(w / g) + 1
    grains = _lin([(0.86, 0.78, 0.62), (0.8, 0.64, 0.52), (0.3, 0.27, 0.24), (0.95, 0.93, 0.88)])
    p = np.array([0.65, 0.2, 0.1, 0.05]) * rng.uniform(0.4, 1.6, 4)
    tint = _lin(rng.choice([(1, 0.95, 0.85), (1, 0.9, 0.8), (0.9, 0.9, 0.9)]))
    lam, th = rng.uniform(15, 90), rng.uniform(0, np.pi)
    sparkles, px = rng.uniform(2e-4, 2e-3), _child(rng)
    cols = grains[px.choice(4, (gh, gw), p=p / p.sum())] * px.lognormal(0, 0.12, (gh, gw, 1))
    alb = cv2.resize(cols.astype(F32), (w, h), interpolation=cv2.INTER_LINEAR) * tint
    alb *= (1 + 0.1 * _noise(rng, shape, 60.0))[..., None]
    yy, xx = np.mgrid[0:h, 0:w].astype(F32)
    ph = (xx * np.cos(th) + yy * np.sin(th)) / lam + 0.5 * _noise(rng, shape, lam * 3, 2)
    f = ph - np.floor(ph)
    # ripples: a long gentle stoss slope, a short steep lee slope
    prof = np.where(f < 0.75, f / 0.75, (1 - f) / 0.25)
    height = cv2.GaussianBlur(prof.astype(F32), (0, 0), lam * 0.06) * lam * 0.1
    height += 0.3 * cv2.resize(px.standard_normal((gh, gw)).astype(F32), (w, h))
    diffuse, _ = _shade(height, light, 1)
    sparkle = (px.random(shape) < sparkles) * px.uniform(1, 4, shape)  # mica and wet grains
    return alb * (0.35 + 0.65 * diffuse)[..., None] + sparkle.astype(F32)[..., None]


def _cells(rng: Rng, shape: Shape, spacing: float, wobble: float,
           stretch: float = 1.0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Labels of cells about `spacing` px across (and `stretch` times as tall), with
    borders bent into the meander of a real crack; and each pixel's distance to a border."""
    (h, w), px = shape, _child(rng)
    hs = max(2, int(h / stretch))
    gy, gx = np.mgrid[0 : hs + spacing : spacing, 0 : w + spacing : spacing]
    ys = (gy + px.uniform(0, spacing, gy.shape)).astype(int).ravel()
    xs = (gx + px.uniform(0, spacing, gx.shape)).astype(int).ravel()
    inside, src = (ys < hs) & (xs < w), np.ones((hs, w), np.uint8)
    src[ys[inside], xs[inside]] = 0
    lab = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)[1]
    yy, xx = np.mgrid[0:h, 0:w].astype(F32)
    mx = (xx + wobble * _noise(rng, shape, spacing * 0.7)).astype(F32)
    my = ((yy + wobble * _noise(rng, shape, spacing * 0.7)) * hs / h).astype(F32)
    lab = cv2.remap(lab.astype(F32), mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    return lab.astype(np.int32), _edges_distance(lab)


def _soil(rng: Rng, shape: Shape, light: np.ndarray) -> np.ndarray:
    s = rng.uniform(30, 130)  # size of a dried mud plate
    cw0, part_level = rng.uniform(0.6, 2.5), rng.uniform(0.0, 1.0)
    base = _lin(rng.choice([(0.55, 0.42, 0.3), (0.5, 0.47, 0.42), (0.62, 0.45, 0.32),
                            (0.66, 0.56, 0.4)]))  # fmt: skip
    px = _child(rng)
    lab, dist = _cells(rng, shape, s, s * 0.12)
    cw = np.clip(cw0 * (1 + 0.5 * _noise(rng, shape, s)), 0.3, None)
    plate = np.clip((dist - cw) / 1.2, 0, 1)
    # finer, shallower cracks part-way across some plates
    fine = _cells(rng, shape, s / 3, s * 0.05)[1]
    part = _noise(rng, shape, s * 0.7) > part_level
    plate *= np.where(part, np.clip((fine - 0.4) / 1.0, 0.25, 1), 1)
    curl = s * 0.04 * np.exp(-dist / (s * 0.12))  # plate rims curl up as they dry
    height = (plate * (s * 0.05 + curl) + 0.4 * _noise(rng, shape, 2.0, 2)).astype(F32)
    diffuse, _ = _shade(height, light, 1)
    shadow = _shadow(height, light, s * 0.1)
    tone = px.lognormal(0, 0.08, lab.max() + 1).astype(F32)[lab]
    tex = tone * (1 + 0.15 * _noise(rng, shape, s / 2) + 0.15 * _noise(rng, shape, 1.3, 1))
    grit = (px.random(shape) < 0.004) * px.normal(0, 0.5, shape)  # embedded grains
    alb = base * np.clip(tex + cv2.GaussianBlur(grit.astype(F32), (0, 0), 0.7), 0.2, 2)[..., None]
    lit = (0.3 + 0.7 * diffuse * (1 - 0.7 * shadow)) * (0.12 + 0.88 * plate)
    return alb * lit[..., None]


def _bark(rng: Rng, shape: Shape, light: np.ndarray) -> np.ndarray:
    sx, stretch = rng.uniform(20, 70), rng.uniform(2.5, 6)  # ridge width, length / width
    fw, moss = rng.uniform(1.5, 6.0), rng.uniform(1.0, 2.5)
    top = _lin(rng.choice([(0.45, 0.42, 0.38), (0.42, 0.36, 0.3), (0.5, 0.48, 0.45)]))
    tint = _lin(rng.choice([(0.66, 0.68, 0.6), (0.45, 0.5, 0.3)]))  # lichen or moss
    # plates are cells drawn tall and narrow: long furrows run between the columns of
    # them and short cracks across, as in oak or pine bark
    lab, dist = _cells(rng, shape, sx, sx * 0.12, stretch)
    dist = dist - fw * np.clip(1 + 0.4 * _noise(rng, shape, sx), 0.3, 2)
    t = np.clip(dist / (sx * 0.2), 0, 1)
    ridge = (1 - (1 - t) ** 2) * rng.lognormal(0, 0.15, lab.max() + 1).astype(F32)[lab]
    fibre, flake = _noise(rng, shape, (10.0, 1.5), 2), _noise(rng, shape, sx / 3, 2)
    height = sx * 0.18 * ridge + 0.5 * fibre + sx * 0.04 * flake * ridge
    height = cv2.GaussianBlur(height.astype(F32), (0, 0), 0.5)
    diffuse, _ = _shade(height, light, 1)
    shadow = _shadow(height, light, sx * 0.5)
    deep = _lin((0.3, 0.2, 0.14))  # the fresh, browner bark down in a furrow
    alb = deep + (top - deep) * np.clip(ridge, 0, 1)[..., None]
    rough = 1 + 0.2 * _noise(rng, shape, sx) + 0.15 * fibre + 0.25 * flake
    alb *= np.clip(rough, 0.3, 2)[..., None]
    patch = _noise(rng, shape, sx * 1.5) + 0.4 * _noise(rng, shape, 2.0, 2)
    lichen = (np.clip((patch - moss) * 1.5, 0, 0.8) * np.clip(ridge, 0, 1))[..., None]
    alb = alb * (1 - lichen) + tint * lichen
    lit = (0.25 + 0.75 * diffuse * (1 - 0.8 * shadow)) * (0.15 + 0.85 * np.clip(t * 1.5, 0, 1))
    return alb * lit[..., None]


# ---- blades and leaves -----------------------------------------------------------------
Draw = Callable[[np.ndarray, np.ndarray, float], None]
_T = np.linspace(0, 1, 12)  # along a blade or leaf, stalk to tip


def _layers(rng: Rng, shape: Shape, light: np.ndarray, ground: np.ndarray, draw: Draw,
            n_layers: int, gap: float) -> np.ndarray:  # fmt: skip
    """Composites layers of drawn elements back to front; each casts a soft shadow on what
    lies behind it, and the deeper layers sit in the shade of those in front."""
    (h, w), canvas = shape, ground.copy()
    flat = float(np.hypot(light[0], light[1]))
    move = np.float32([[1, 0, -light[0] / flat * gap], [0, 1, -light[1] / flat * gap]])
    for k in range(n_layers):
        col, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8)
        draw(col, alpha, 0.35 + 0.65 * k / max(n_layers - 1, 1))
        a = (alpha.astype(F32) / 255)[..., None]
        # leaves and blades are cupped: darker toward their rims
        rim = cv2.distanceTransform((alpha > 127).astype(np.uint8), cv2.DIST_L2, 3)
        cup = (0.7 + 0.3 * np.clip(rim / (gap + 1), 0, 1))[..., None]
        # dappled light, and the deeper layers a little out of focus
        dapple = (1 + 0.25 * _noise(rng, shape, gap * 6, 2))[..., None]
        canvas = cv2.GaussianBlur(canvas, (0, 0), 0.6)
        cast = cv2.GaussianBlur(cv2.warpAffine(a[..., 0], move, (w, h)), (0, 0), gap * 0.6 + 0.5)
        canvas *= 1 - 0.6 * cast[..., None]
        canvas = canvas * (1 - a) + _lin(col.astype(F32) / 255) * dapple * cup * a
    return canvas


def _sprig(rng: Rng, col: np.ndarray, alpha: np.ndarray, base: np.ndarray, tip: np.ndarray,
           sway: float, width: np.ndarray, colour: np.ndarray,
           light: np.ndarray, fold: float, rims: bool) -> None:  # fmt: skip
    """Draws a blade or leaf on a curved midrib as two halves folded along it, one facing
    the light; it bends, so its tip half meets the light anew. A leaf (rims) has a dark
    edge and a pale midrib."""
    t = _T[:, None]
    mid = (base + tip) / 2 + rng.normal(0, sway * np.linalg.norm(tip - base), 2)
    centre = (1 - t) ** 2 * base + 2 * t * (1 - t) * mid + t**2 * tip
    d = np.gradient(centre, axis=0)
    side = np.stack([-d[:, 1], d[:, 0]], 1) / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-6)
    half_w = side * width[:, None] / 2
    left, right = centre + half_w, centre - half_w
    half = (light + [0, 0, 1]) / np.linalg.norm(light + [0, 0, 1])
    tilt, shine, bend = rng.normal(0, 0.5, 2), rng.uniform(0, 0.3), rng.lognormal(0, 0.2)

    def fix(pts: np.ndarray) -> list[np.ndarray]:  # subpixel points, as cv2 takes them
        return [np.round(pts * 16).astype(np.int32)]

    def srgb8(lin: np.ndarray) -> tuple[int, ...]:
        return tuple(int(v) for v in np.clip(lin, 0, 1) ** (1 / 2.2) * 255)

    for sgn, edge in ((1, left), (-1, right)):
        nrm = np.array([*(tilt + sgn * fold * side[0]), 1.0])
        nrm /= np.linalg.norm(nrm)
        f = 0.3 + 0.7 * max(nrm @ light, 0) / light[2] + shine * max(nrm @ half, 0) ** 30
        for seg, g in ((slice(0, 7), 1.0), (slice(6, 12), bend)):
            poly = fix(np.vstack([centre[seg], edge[seg][::-1]]))
            cv2.fillPoly(col, poly, srgb8(colour * f * g), cv2.LINE_AA, shift=4)
    outline = fix(np.vstack([left, right[::-1]]))
    if rims:
        cv2.polylines(col, outline, True, srgb8(colour * 0.5), 1, cv2.LINE_AA, 4)
        cv2.polylines(col, fix(centre[:-2]), False, srgb8(colour * 1.6 + 0.02), 1, cv2.LINE_AA, 4)
    cv2.fillPoly(alpha, outline, 255, cv2.LINE_AA, shift=4)


def _grass(rng: Rng, shape: Shape, light: np.ndarray) -> np.ndarray:
    h, w = shape
    length = rng.uniform(50, 180)
    wid = float(np.clip(length * rng.uniform(0.02, 0.045), 2.0, 6))
    lean, dry = rng.normal(0, 0.3), rng.uniform(0, 0.3)
    greens = _lin([(0.36, 0.56, 0.18), (0.52, 0.6, 0.2), (0.26, 0.46, 0.28), (0.72, 0.65, 0.42)])

    def draw(col: np.ndarray, alpha: np.ndarray, depth: float) -> None:
        for _ in range(int(1.2 * h * w / (length * wid * 0.5) / 4) + 1):
            L, a = length * rng.lognormal(0, 0.3), lean + rng.normal(0, 0.35)
            base = np.array([rng.uniform(-20, w + 20), rng.uniform(0, h + L * 0.8)])
            k = 3 if rng.random() < dry else rng.choice(3, p=[0.5, 0.25, 0.25])  # 3: dry
            width = wid * rng.lognormal(0, 0.3) * (1 - _T) ** 0.6
            c = greens[k] * rng.lognormal(0, 0.2) * depth
            tip = base + L * np.array([np.sin(a), -np.cos(a)])
            _sprig(rng, col, alpha, base, tip, 0.2, width, c, light, 0.8, False)

    ground = _lin((0.25, 0.2, 0.12)) * 0.25 * (1 + 0.3 * _noise(rng, shape, 4.0))[..., None]
    return _layers(rng, shape, light, ground, draw, 4, wid * 1.5)


def _foliage(rng: Rng, shape: Shape, light: np.ndarray) -> np.ndarray:
    h, w = shape
    length, ratio = rng.uniform(25, 120), rng.uniform(0.35, 0.7)
    leaves = _lin(
        [(0.75, 0.5, 0.15), (0.6, 0.25, 0.12), (0.8, 0.68, 0.25), (0.45, 0.45, 0.2)]
        if rng.random() < 0.2  # autumn
        else [(0.3, 0.5, 0.18), (0.2, 0.38, 0.16), (0.5, 0.6, 0.22), (0.35, 0.48, 0.32)]
    )
    profile = np.sin(np.pi * _T ** rng.uniform(0.6, 1.0)) ** 0.8  # broadest near the stalk

    def draw(col: np.ndarray, alpha: np.ndarray, depth: float) -> None:
        for _ in range(int(2.5 * h * w / (length**2 * ratio * 0.6) / 5) + 1):
            L, a = length * rng.lognormal(0, 0.25), rng.uniform(0, 2 * np.pi)
            base = np.array([rng.uniform(-L, w + L), rng.uniform(-L, h + L)])
            c = leaves[rng.integers(4)] * rng.lognormal(0, 0.2) * depth
            tip = base + L * np.array([np.cos(a), np.sin(a)])
            _sprig(rng, col, alpha, base, tip, 0.1, L * ratio * profile, c, light, 0.5, True)

    ground = _lin((0.15, 0.18, 0.1)) * 0.15 * (1 + 0.3 * _noise(rng, shape, 8.0))[..., None]
    return _layers(rng, shape, light, ground, draw, 5, length * 0.12)


def _knit(rng: Rng, shape: Shape, light: np.ndarray) -> np.ndarray:
    """Stockinette: columns of V-shaped stitches, each leg a twisted ply of yarn."""
    h, w = shape
    sx, rot = rng.uniform(6, 26), rng.normal(0, 0.15)
    sy = sx * rng.uniform(0.7, 0.95)
    yy, xx = np.mgrid[0:h, 0:w].astype(F32)
    xw = xx * np.cos(rot) - yy * np.sin(rot) + 0.12 * sx * _noise(rng, shape, sx * 5)
    yw = xx * np.sin(rot) + yy * np.cos(rot) + 0.12 * sy * _noise(rng, shape, sx * 5)
    col, u = np.floor(xw / sx), xw / sx - np.floor(xw / sx) - 0.5
    height, tone = np.zeros(shape, F32), np.ones(shape, F32)
    vary = rng.lognormal(0, 0.08, (64, 64)).astype(F32)  # uneven tension, stitch by stitch
    for dr in (-1, 0, 1):  # legs reach into the rows above and below
        row = np.floor(yw / sy) + dr
        v = yw / sy - row - 0.5
        for sgn in (-1, 1):
            a = -sgn * 0.38  # legs meet at the foot of the V, apart from the next column's
            du = (u - sgn * 0.24) * sx / sy
            ql, qs = du * np.sin(a) + v * np.cos(a), du * np.cos(a) - v * np.sin(a)
            k = vary[row.astype(int) % 64, (col.astype(int) * 2 + (sgn > 0)) % 64]
            e = (ql / 0.7) ** 2 + (qs / (0.24 * k)) ** 2
            leg = np.sqrt(np.clip(1 - e, 0, 1)) * (1 + 0.15 * np.sin(2 * np.pi * (ql * 4 + qs * 6)))
            height, tone = np.where(leg > height, leg, height), np.where(leg > height, k, tone)
    height = height * sx * 0.3 + 0.2 * _noise(rng, shape, 1.5, 1)
    diffuse, spec = _shade(height.astype(F32), light, 8)
    yarn = _lin(rng.choice([(0.7, 0.15, 0.15), (0.2, 0.3, 0.55), (0.8, 0.75, 0.62),
                            (0.35, 0.45, 0.3), (0.55, 0.55, 0.55), (0.85, 0.6, 0.2)]))  # fmt: skip
    heather = 1 + 0.15 * _noise(rng, shape, 2.0, 2)[..., None] * rng.uniform(0.3, 1.0, 3)
    ao = 0.15 + 0.85 * np.clip(height / (sx * 0.15), 0, 1)
    lit = ((0.35 + 0.65 * diffuse) * ao)[..., None]
    return yarn * tone[..., None] * heather * lit + 0.04 * spec[..., None]


# each kind's renderer and the height of its light in degrees (sand's ripples show only in
# a low light), and whether it comes from the side
_RENDER: dict[str, tuple[Callable[[Rng, Shape, np.ndarray], np.ndarray], tuple, bool]] = {
    "pebbles": (_pebbles, (30, 60), False), "shingle": (_shingle, (25, 55), False),
    "sand": (_sand, (15, 35), False), "grass": (_grass, (35, 70), False),
    "bark": (_bark, (20, 45), True), "soil": (_soil, (25, 55), False),
    "foliage": (_foliage, (35, 70), False), "knit": (_knit, (30, 60), False),
}  # fmt: skip


def _finish(rng: Rng, lin: np.ndarray, light: np.ndarray) -> np.ndarray:
    """The camera: uneven light, exposure, colour cast, defocus, tone curve, grain."""
    h, w = lin.shape[:2]
    ramp = (np.arange(h)[:, None] / h - 0.5) * light[1] + (np.arange(w) / w - 0.5) * light[0]
    lin = lin * (1 + rng.uniform(0.1, 0.35) * ramp)[..., None]
    # auto-exposure on the luminance, so a red jumper is not pushed until it glows
    gain = rng.uniform(0.12, 0.22) / (np.median(lin @ np.array([0.21, 0.72, 0.07], F32)) + 1e-4)
    lin = lin * min(gain, 0.9 / (np.percentile(lin.max(2), 99) + 1e-4))  # nor burnt out
    cast = 1 + rng.normal(0, 0.03, 3) + rng.uniform(-0.05, 0.05) * np.array([1, 0, -1])
    lin = cv2.GaussianBlur((lin * cast).astype(F32), (0, 0), rng.uniform(0.5, 1.1))
    srgb = (np.clip(lin, 0, None) / (1 + 0.1 * lin)) ** (1 / 2.2)
    sigma = rng.uniform(0.008, 0.025)
    # film grain: mostly in the luminance, a little in the colour
    grain = rng.standard_normal((h, w, 3)) * 0.35 + rng.standard_normal((h, w, 1))
    grain = cv2.GaussianBlur(grain.astype(F32), (0, 0), 0.5) * sigma * 1.6
    return (np.clip(srgb + grain, 0, 1) * 255 + 0.5).astype(np.uint8)


def texture(kind: str, seed: int, size: tuple[int, int] | int = 512) -> np.ndarray:
    """uint8 H x W x 3 RGB photo of a natural texture, deterministic for (kind, seed, size)."""
    if kind not in _RENDER:
        raise ValueError(f"unknown texture kind {kind!r}; known kinds: {', '.join(KINDS)}")
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    scene, camera = np.random.SeedSequence([zlib.crc32(kind.encode()), seed % 2**63]).spawn(2)
    rng = np.random.default_rng(scene)
    render, elevation, side = _RENDER[kind]
    light = _light(rng, elevation, side)
    lin = render(rng, (h, w), light)
    return _finish(np.random.default_rng(camera), lin.astype(F32), light)
