"""Generator 2: old prints made the way real ones look, designed apart from generator 1
(:mod:`.degrade`) so that a detector tuned on one is tested on the other.

Order of events on a print: the dyes or the silver fade (a density model: each dye loses
density at its own rate, the blacks lose their maximum density, the paper base yellows;
a toned silver print is brown in its densities), then stains settle (foxing, water,
silver mirroring, tape, the shaded ridge of a fold), then the print breaks (craquelure,
cracks, the emulsion along folds, torn corners, flakes, scratches, hairs, dust, ink,
worn edges). The scanner sees it through an elongated blur, may sharpen it, adds
grain strongest in the mid-tones, and saves a JPEG, sometimes twice.

What should be filled (``mask``): the local kinds in :data:`FILL_KINDS`, where they
visibly changed the print (more than :data:`VISIBLE` in any channel, seen through the
scan's blur). Pen marks are in: writing on the picture is a foreign mark a restorer
removes. The kinds in :data:`STAIN_KINDS` (and the fading, grain and scan) are corrected
by grading, never by filling: ``undamaged`` carries all of them, so a detector's marks
on it, or on a stain's region, are false positives.

Every photo gets a ``profile``: the damage it mainly shows (``craquelure``, ``torn``...),
so the report can say on which kind of damaged print the repair helps or harms.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from benchmarks.oldphoto import local_damage, stains
from benchmarks.oldphoto.degrade import Aged
from benchmarks.oldphoto.marks import Print, smooth_noise

VISIBLE = 0.05
FILL_KINDS = (
    "craquelure",
    "crack",
    "fold",
    "tear",
    "flake",
    "scratch",
    "hair",
    "dust",
    "pen",
    "edge",
)
STAIN_KINDS = ("foxing", "water", "silvering", "tape", "crease")
_DRAW = {
    "craquelure": local_damage.craquelure,
    "crack": local_damage.cracks,
    "tear": local_damage.tears,
    "flake": local_damage.flakes,
    "scratch": local_damage.scratches,
    "hair": local_damage.hairs,
    "dust": local_damage.dust,
    "pen": local_damage.pen,
    "edge": local_damage.edge_wear,
}
_STAIN = {
    "foxing": stains.foxing,
    "water": stains.water,
    "silvering": stains.silvering,
    "tape": stains.tape,
}
# What each profile draws, and how much (0..1). "fold" draws the ridge (stain "crease")
# and the broken emulsion (fill "fold") together. "mixed" draws a random subset.
PROFILES: dict[str, dict[str, float]] = {
    "mixed": {},
    "craquelure": {"craquelure": 1.0, "dust": 0.5, "foxing": 0.5},
    "cracked": {"crack": 1.0, "fold": 0.6, "dust": 0.4},
    "creased": {"fold": 1.0, "edge": 0.7, "dust": 0.4},
    "torn": {"tear": 1.0, "tape": 1.0, "edge": 1.0, "dust": 0.3},
    "flaking": {"flake": 1.0, "silvering": 0.7, "dust": 0.4},
    "scratched": {"scratch": 1.0, "hair": 1.0, "dust": 1.0},
    "inked": {"pen": 1.0, "water": 0.7, "dust": 0.3},
    "stained": {"foxing": 1.0, "water": 1.0, "silvering": 1.0},
}


@dataclass
class AgedReal(Aged):
    """:class:`Aged` plus the stain kinds' regions (where marks are false positives)."""

    stains: dict[str, np.ndarray] = field(default_factory=dict)
    profile: str = "mixed"


def _rng(seed: int, stage: int) -> np.random.Generator:
    # one stream per stage: adding a kind to a profile does not move the others
    return np.random.default_rng([seed, 0x2EA1, stage])


def _mixed(rng: np.random.Generator) -> dict[str, float]:
    local = [k for k in FILL_KINDS if k != "fold"] + ["fold"]
    chosen = {k: rng.uniform(0.4, 1.0) for k in local if rng.uniform() < 0.45}
    while len(chosen) < 3:
        chosen[local[int(rng.integers(len(local)))]] = rng.uniform(0.4, 1.0)
    for k in _STAIN:
        if rng.uniform() < 0.35:
            chosen[k] = rng.uniform(0.3, 1.0)
    return chosen


def tone(
    clean: np.ndarray, rng: np.random.Generator, monochrome: bool
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fade in density: returns the faded print (float 0..1), its paper colour, recipe."""
    v = np.clip(clean.astype(np.float32) / 255.0, 0.004, 1.0)
    fog = np.array([0.01, 0.03, 0.09], np.float32) * rng.uniform(0.4, 1.6)  # yellowed base
    d_max = rng.uniform(1.0, 1.7)  # what the blacks have left
    h, w = v.shape[:2]
    # light-struck: one side of the print faded more (it stood in a window)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h) + 0.5
    ramp = np.clip(ramp - ramp.min(), 0, None) / max(1e-6, float(np.ptp(ramp)))
    struck = rng.uniform(0.0, 0.3)
    keep = (1 - struck * ramp) * (0.94 + 0.12 * smooth_noise(rng, h, w, 0.3 * min(h, w)))
    if monochrome:
        y = np.clip(v @ np.array([0.299, 0.587, 0.114], np.float32), 0.004, 1.0)
        dens = -np.log10(y) * rng.uniform(0.6, 0.9) * keep
        dens = d_max * np.tanh(dens / d_max)
        toning = np.array([0.72, 0.88, 1.18], np.float32) * rng.uniform(0.95, 1.05, 3)
        if rng.uniform() < 0.3:
            toning = np.array([0.95, 0.98, 1.03], np.float32)  # a neutral silver print
        rates = toning
        out = 10 ** -(dens[..., None] * toning + fog)
    else:
        rates = np.array(
            [rng.uniform(0.5, 0.8), rng.uniform(0.72, 0.95), rng.uniform(0.6, 0.9)], np.float32
        )  # cyan dye (red channel) goes first, then yellow, magenta last
        dens = -np.log10(v) * rates * keep[..., None]
        dens = d_max * np.tanh(dens / d_max)
        out = 10 ** -(dens + fog)
    paper = (10**-fog).astype(np.float32)
    recipe = {
        "rates": np.round(rates, 3).tolist(),
        "fog": np.round(fog, 3).tolist(),
        "d_max": round(float(d_max), 3),
        "light_struck": round(float(struck), 3),
    }
    return np.clip(out, 0, 1).astype(np.float32), paper, recipe


def _psf(rng: np.random.Generator, sx: float) -> np.ndarray:
    """An elongated Gaussian (a scanner's optics and its motion are not round)."""
    sy = sx * rng.uniform(0.55, 1.0)
    r = int(np.ceil(3 * sx))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    a = rng.uniform(0, np.pi)
    u = np.cos(a) * xx + np.sin(a) * yy
    v = -np.sin(a) * xx + np.cos(a) * yy
    k = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return (k / k.sum()).astype(np.float32)


@dataclass(frozen=True)
class Scan:
    sigma: float  # the blur's long axis, px
    psf: np.ndarray
    sharpen: float
    grain: float
    grain_px: float
    jpeg: tuple[int, ...]  # one or two qualities (saved twice)
    subsampling: int
    noise_seed: int


def _scanner(rng: np.random.Generator, unit: float) -> Scan:
    sigma = float(rng.uniform(0.35, 1.1) * max(unit, 0.6))
    return Scan(
        sigma=sigma,
        psf=_psf(rng, sigma),
        sharpen=float(rng.uniform(0.2, 0.7)) if rng.uniform() < 0.5 else 0.0,
        grain=float(rng.uniform(0.008, 0.03)),
        grain_px=float(rng.uniform(1.0, 2.2) * max(unit, 0.5)),
        jpeg=tuple(int(q) for q in rng.integers(55, 93, 2 if rng.uniform() < 0.3 else 1)),
        subsampling=int(rng.choice([0, 2], p=[0.3, 0.7])),
        noise_seed=int(rng.integers(1 << 31)),
    )


def scan(img: np.ndarray, s: Scan) -> np.ndarray:
    out = cv2.filter2D(img, -1, s.psf, borderType=cv2.BORDER_REFLECT)
    if s.sharpen:
        out = out + s.sharpen * (out - cv2.GaussianBlur(out, (0, 0), 1.2))
    h, w = out.shape[:2]
    noise = np.random.default_rng(s.noise_seed)
    # clumped grain: a field at the grain's size, scaled back up, plus a fine share
    gh, gw = max(2, int(h / s.grain_px)), max(2, int(w / s.grain_px))
    clumps = cv2.resize(noise.normal(0, 1, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)  # fmt: skip
    clumps /= max(1e-6, float(clumps.std()))
    fine = noise.normal(0, 0.4, (h, w)).astype(np.float32)
    chroma = noise.normal(0, 0.3, (h, w, 3)).astype(np.float32)
    lum = out.mean(axis=2, keepdims=True)
    amp = s.grain * (0.4 + 2.4 * np.clip(lum * (1 - lum), 0, 0.25))  # most in mid-tones
    out = out + amp * ((clumps + fine)[..., None] * 0.9 + chroma)
    u8 = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
    for q in s.jpeg:
        buf = io.BytesIO()
        Image.fromarray(u8).save(buf, "JPEG", quality=q, subsampling=s.subsampling)
        u8 = np.asarray(Image.open(buf).convert("RGB"))
    return u8


def age_real(
    clean: np.ndarray, seed: int, *, monochrome: bool = False, profile: str = "mixed"
) -> AgedReal:
    """Age ``clean`` (uint8 H x W x 3) into an old print of ``profile``'s damage."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    h, w = clean.shape[:2]
    unit = min(h, w) / 1000.0
    plan = dict(PROFILES[profile]) or _mixed(_rng(seed, 1))
    faded, paper, tone_recipe = tone(clean, _rng(seed, 2), monochrome)
    p = Print(faded, paper)
    stain_effect: dict[str, np.ndarray] = {}
    recipe: dict = {"profile": profile, "tone": tone_recipe, "kinds": {}}
    for i, kind in enumerate(_STAIN):
        if kind in plan:
            stain_effect[kind] = _STAIN[kind](p, _rng(seed, 10 + i), plan[kind])
            recipe["kinds"][kind] = round(plan[kind], 2)
    fold_lines: list[dict] = []
    if "fold" in plan:
        stain_effect["crease"], fold_lines = stains.folds(p, _rng(seed, 20), plan["fold"])
    stained = p.img.copy()
    for i, kind in enumerate(FILL_KINDS):
        if kind == "fold":
            rng = _rng(seed, 30 + i)
            recipe["kinds"]["fold"] = [
                local_damage.fold_line(p, rng, f["line"], f["ridge"]) for f in fold_lines
            ]
        elif kind in plan:
            recipe["kinds"][kind] = _DRAW[kind](p, _rng(seed, 30 + i), plan[kind])
    s = _scanner(_rng(seed, 3), unit)
    image = scan(p.img, s)
    undamaged = scan(stained, s)
    # the truth: where the local damage visibly changed the print, through the scan's blur
    change = np.abs(p.img - stained).max(axis=2)
    change = cv2.filter2D(change, -1, s.psf, borderType=cv2.BORDER_REFLECT)
    mask = change > VISIBLE
    kinds = {k: np.zeros((h, w), bool) for k in FILL_KINDS}
    if p.cover:
        names = [k for k in FILL_KINDS if k in p.cover]
        blurred = np.stack([cv2.filter2D(p.cover[k], -1, s.psf) for k in names])
        mask &= blurred.max(axis=0) > 0.02
        strongest = np.argmax(blurred, axis=0)
        for j, k in enumerate(names):
            kinds[k] = mask & (strongest == j)
    else:
        mask[:] = False
    # a stain's region, where no fill damage is: marks there are the stain's false positives
    away = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    stain_masks = {k: (stain_effect[k] > stains.STAIN_AT) & away for k in stain_effect}
    recipe.update(
        {
            "monochrome": monochrome,
            "blur_px": round(s.sigma, 2),
            "sharpen": round(s.sharpen, 2),
            "grain": round(s.grain, 4),
            "jpeg": list(s.jpeg),
            "subsampling": s.subsampling,
        }
    )
    return AgedReal(image, mask, kinds, undamaged, recipe, stain_masks, profile)
