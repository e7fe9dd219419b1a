"""A procedural world of portrait-like photos whose ground truth is known exactly.

An :class:`Identity` fixes what stays the same across a subject's photos: face shape,
skin tone, eye spacing, size and colour, hair style and colour, lips, and a personal
detail (a pattern of small moles on the cheeks) that blur and downscaling destroy. Each
photo varies pose (shift, scale, small rotation), lighting, expression (eye openness,
brows, smile, open mouth, gaze), clothing and background. Everything is deterministic
from integer seeds.

Shapes are defined in face-local coordinates (x right, y down, unit = half the face
width), mapped to the image by the photo's similarity transform, rasterised at
``SUPERSAMPLE`` times the output size and box-filtered down, which antialiases edges.
"""

from __future__ import annotations

import colorsys
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 4
# Bumped whenever rendering changes, so cached priors trained on older pictures are not reused.
WORLD_VERSION = 1

EYE_COLOURS = (
    (0.20, 0.42, 0.75),  # blue
    (0.25, 0.55, 0.30),  # green
    (0.40, 0.24, 0.10),  # brown
    (0.45, 0.48, 0.50),  # grey
    (0.55, 0.42, 0.15),  # hazel
    (0.12, 0.08, 0.05),  # dark brown
)


@dataclass(frozen=True)
class Identity:
    seed: int
    face_ratio: float  # half-height / half-width of the face ellipse
    jaw: float  # how much the lower face narrows towards the chin
    skin: tuple[float, float, float]
    lips: tuple[float, float, float]
    eye_spacing: float  # x of each eye centre
    eye_height: float  # y of the eyes
    eye_size: float
    iris: tuple[float, float, float]
    hair: tuple[float, float, float]
    hairline: float  # top of the forehead, as a fraction of the face half-height
    hair_sides: float  # exponent of the hairline's fall towards the temples
    hair_long: float  # 0: short; >0 hair falls behind the head down to this depth
    fringe: float  # amplitude of a jagged fringe (0: none)
    parting: float  # x of the parting notch
    nose_length: float
    mouth_y: float
    mouth_width: float
    moles: tuple[tuple[float, float, float], ...]  # (x, y, radius), face-local


# Cheek regions that hold the moles: the personal detail and where its error is scored.
CHEEKS = ((-0.52, 0.38, 0.30, 0.24), (0.52, 0.38, 0.30, 0.24))  # (cx, cy, rx, ry)


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def make_identity(seed: int) -> Identity:
    rng = np.random.default_rng([seed, 0x1D])
    skin_v = rng.uniform(0.35, 0.95)
    skin = _hsv(rng.uniform(0.03, 0.09), rng.uniform(0.25, 0.55), skin_v)
    lips = _hsv(rng.uniform(0.97, 1.02), rng.uniform(0.35, 0.6), skin_v * rng.uniform(0.6, 0.8))
    hair_kind = rng.integers(0, 5)
    if hair_kind == 0:  # blond
        hair = _hsv(rng.uniform(0.1, 0.14), rng.uniform(0.4, 0.7), rng.uniform(0.7, 0.9))
    elif hair_kind == 1:  # red
        hair = _hsv(rng.uniform(0.02, 0.06), rng.uniform(0.6, 0.85), rng.uniform(0.45, 0.7))
    elif hair_kind == 2:  # grey / white
        hair = _hsv(0.0, 0.0, rng.uniform(0.55, 0.9))
    else:  # brown to black
        hair = _hsv(rng.uniform(0.05, 0.1), rng.uniform(0.3, 0.7), rng.uniform(0.08, 0.4))
    moles = []
    for cx, cy, rx, ry in CHEEKS:
        for _ in range(int(rng.integers(1, 4))):
            # uniform in the cheek ellipse, kept off its rim so the whole mole is scored
            r, a = 0.8 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            moles.append(
                (cx + rx * r * np.cos(a), cy + ry * r * np.sin(a), rng.uniform(0.06, 0.09))
            )
    return Identity(
        seed=seed,
        face_ratio=rng.uniform(1.15, 1.4),
        jaw=rng.uniform(0.0, 0.3),
        skin=skin,
        lips=lips,
        eye_spacing=rng.uniform(0.33, 0.47),
        eye_height=rng.uniform(-0.12, 0.02),
        eye_size=rng.uniform(0.85, 1.2),
        iris=EYE_COLOURS[int(rng.integers(0, len(EYE_COLOURS)))],
        hair=hair,
        hairline=rng.uniform(0.35, 0.7),
        hair_sides=rng.uniform(1.5, 4.0),
        hair_long=float(rng.choice([0.0, 0.0, rng.uniform(0.8, 1.8)])),
        fringe=float(rng.choice([0.0, rng.uniform(0.04, 0.12)])),
        parting=rng.uniform(-0.5, 0.5),
        nose_length=rng.uniform(0.25, 0.45),
        mouth_y=rng.uniform(0.62, 0.8),
        mouth_width=rng.uniform(0.32, 0.52),
        moles=tuple(moles),
    )


@dataclass(frozen=True)
class Pose:
    cx: float  # face centre, in output pixels
    cy: float
    scale: float  # output pixels per face-local unit
    angle: float  # radians


@dataclass(frozen=True)
class PhotoParams:
    pose: Pose
    light_dir: float
    light_strength: float
    brightness: float
    tint: tuple[float, float, float]
    eye_open: float
    brow_raise: float
    smile: float
    mouth_open: float
    gaze: tuple[float, float]
    shirt: tuple[float, float, float]
    bg_top: tuple[float, float, float]
    bg_bottom: tuple[float, float, float]
    bg_blobs: tuple[tuple[float, float, float, tuple[float, float, float]], ...]


def photo_params(identity: Identity, photo: int, size: int) -> PhotoParams:
    rng = np.random.default_rng([identity.seed, photo, 0xF0])
    pose = Pose(
        cx=size * (0.5 + rng.uniform(-0.05, 0.05)),
        cy=size * (0.46 + rng.uniform(-0.04, 0.04)),
        scale=size * 0.27 * rng.uniform(0.9, 1.08),
        angle=np.deg2rad(rng.uniform(-10, 10)),
    )
    blobs = tuple(
        (
            rng.uniform(0, size),
            rng.uniform(0, size),
            rng.uniform(0.1, 0.3) * size,
            _hsv(rng.uniform(), rng.uniform(0, 0.6), rng.uniform(0.2, 0.95)),
        )
        for _ in range(int(rng.integers(0, 4)))
    )
    return PhotoParams(
        pose=pose,
        light_dir=rng.uniform(0, 2 * np.pi),
        light_strength=rng.uniform(0.0, 0.35),
        brightness=rng.uniform(0.85, 1.1),
        tint=tuple(float(v) for v in 1 + rng.uniform(-0.04, 0.04, 3)),
        eye_open=float(rng.choice([rng.uniform(0.75, 1.1), rng.uniform(0.35, 0.75)], p=[0.8, 0.2])),
        brow_raise=rng.uniform(-0.04, 0.08),
        smile=rng.uniform(-0.04, 0.16),
        mouth_open=float(rng.choice([0.0, rng.uniform(0.04, 0.12)], p=[0.6, 0.4])),
        gaze=(rng.uniform(-1, 1), rng.uniform(-0.5, 0.5)),
        shirt=_hsv(rng.uniform(), rng.uniform(0.1, 0.8), rng.uniform(0.15, 0.9)),
        bg_top=_hsv(rng.uniform(), rng.uniform(0, 0.5), rng.uniform(0.3, 1.0)),
        bg_bottom=_hsv(rng.uniform(), rng.uniform(0, 0.5), rng.uniform(0.2, 0.9)),
        bg_blobs=blobs,
    )


@dataclass(frozen=True)
class Photo:
    image: np.ndarray  # (R, R, 3) uint8
    face_mask: np.ndarray  # (R, R) bool: the face, where PSNR/SSIM are scored
    detail_mask: np.ndarray  # (R, R) bool: the cheeks holding the personal detail


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def _stroke(points: np.ndarray, width: float) -> np.ndarray:
    """A polyline thickened into a closed polygon (for brows and lips)."""
    d = np.gradient(points, axis=0)
    normal = np.stack([-d[:, 1], d[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
    return np.concatenate([points + normal * width / 2, (points - normal * width / 2)[::-1]])


class _Canvas:
    def __init__(self, size: int, pose: Pose) -> None:
        self.size = size
        self.big = size * SUPERSAMPLE
        self.rgb = np.zeros((self.big, self.big, 3), np.float32)
        self.person = np.zeros((self.big, self.big), np.float32)  # where the light falls
        c, s = np.cos(pose.angle), np.sin(pose.angle)
        k = pose.scale * SUPERSAMPLE
        self.matrix = np.array([[c * k, -s * k], [s * k, c * k]])
        self.offset = np.array([pose.cx, pose.cy]) * SUPERSAMPLE

    def mask(self, local: np.ndarray) -> np.ndarray:
        pts = local @ self.matrix.T + self.offset
        img = Image.new("L", (self.big, self.big), 0)
        ImageDraw.Draw(img).polygon([tuple(p) for p in pts], fill=255)
        return np.asarray(img, np.float32) / 255.0

    def paint(self, mask: np.ndarray, colour, person: bool = True) -> None:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if rows.size == 0:
            return
        # blend only inside the shape's bounding box: most shapes are small
        box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        m = mask[box][..., None]
        region = self.rgb[box]
        region += (np.asarray(colour, np.float32) - region) * m
        if person:
            np.maximum(self.person[box], mask[box], out=self.person[box])

    def down(self, arr: np.ndarray) -> np.ndarray:
        """Box-filter a supersampled array to the output size (the antialiasing)."""
        s = SUPERSAMPLE
        shape = (self.size, s, self.size, s) + arr.shape[2:]
        return arr.reshape(shape).mean(axis=(1, 3))


def _face_outline(ident: Identity) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x, y = np.cos(a), ident.face_ratio * np.sin(a)
    lower = np.clip(y / ident.face_ratio, 0, 1)
    return np.stack([x * (1 - ident.jaw * lower**2), y], 1)


def _hair_top(ident: Identity) -> np.ndarray:
    """The hair cap: the top of a slightly larger head ellipse down to the hairline."""
    b = ident.face_ratio * 1.1
    top = np.linspace(np.pi, 2 * np.pi, 40)
    cap = np.stack([1.1 * np.cos(top), -0.05 + b * np.sin(top)], 1)
    xs = np.linspace(1.1, -1.1, 60)
    y_top, y_side = -ident.face_ratio * ident.hairline, -0.15
    line = y_top + (y_side - y_top) * np.abs(xs / 1.1) ** ident.hair_sides
    if ident.fringe:
        line = line + ident.fringe * np.abs(np.sin(xs * 9.0))
    # the parting: a narrow notch up into the cap
    line = line - 0.12 * np.exp(-(((xs - ident.parting) / 0.06) ** 2))
    return np.concatenate([cap, np.stack([xs, line], 1)])


def _light(canvas: _Canvas, p: PhotoParams) -> np.ndarray:
    """A smooth multiplicative light field across the frame (directional plus brightness)."""
    n = canvas.big
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n - 0.5
    ramp = np.cos(p.light_dir) * xx + np.sin(p.light_dir) * yy
    field = p.brightness * (1 + p.light_strength * 2 * ramp)
    return field[..., None] * np.asarray(p.tint, np.float32)


def render(ident: Identity, photo: int, size: int) -> Photo:
    """Render photo number ``photo`` of ``ident`` at ``size`` x ``size`` pixels."""
    p = photo_params(ident, photo, size)
    cv = _Canvas(size, p.pose)
    n = cv.big
    yy = np.linspace(0, 1, n, dtype=np.float32)[:, None, None]
    cv.rgb = (1 - yy) * np.asarray(p.bg_top, np.float32) + yy * np.asarray(p.bg_bottom, np.float32)
    cv.rgb = np.broadcast_to(cv.rgb, (n, n, 3)).copy()
    for bx, by, br, colour in p.bg_blobs:
        yx = np.mgrid[0:n, 0:n].astype(np.float32) / SUPERSAMPLE
        d2 = ((yx[1] - bx) ** 2 + (yx[0] - by) ** 2) / br**2
        cv.paint(0.7 * np.exp(-d2), colour, person=False)

    fr = ident.face_ratio
    skin = np.asarray(ident.skin)
    if ident.hair_long:
        back = _ellipse(0, 0.2 + ident.hair_long * 0.4, 1.3, fr * 1.1 + ident.hair_long * 0.6)
        cv.paint(cv.mask(back), ident.hair)
    shirt = np.array([[-2.6, 4.0], [-2.2, fr + 0.55], [-0.5, fr + 0.25], [0.5, fr + 0.25]])
    shirt = np.concatenate([shirt, shirt[::-1] * [-1, 1]])
    cv.paint(
        cv.mask(np.array([[-0.42, 0.3], [0.42, 0.3], [0.46, fr + 0.9], [-0.46, fr + 0.9]])),
        skin * 0.85,
    )
    cv.paint(cv.mask(shirt), p.shirt)
    for side in (-1, 1):
        cv.paint(cv.mask(_ellipse(side * 0.98, 0.05, 0.16, 0.27)), skin * 0.92)
    face = cv.mask(_face_outline(ident))
    cv.paint(face, skin)
    cv.paint(cv.mask(_hair_top(ident)), ident.hair)

    for side in (-1, 1):
        ex, ey = side * ident.eye_spacing, ident.eye_height
        brow_y = ey - 0.24 - p.brow_raise
        brow = np.stack(
            [
                ex + side * np.linspace(-0.2, 0.22, 8),
                brow_y - 0.03 * np.sin(np.linspace(0, np.pi, 8)),
            ],
            1,
        )
        cv.paint(cv.mask(_stroke(brow, 0.075)), np.asarray(ident.hair) * 0.7)
        rx = 0.19 * ident.eye_size
        sclera = cv.mask(_ellipse(ex, ey, rx, rx * 0.6 * p.eye_open))
        cv.paint(sclera, (0.93, 0.92, 0.9))
        ix, iy = ex + p.gaze[0] * 0.05, ey + p.gaze[1] * 0.03
        iris = cv.mask(_ellipse(ix, iy, 0.1 * ident.eye_size, 0.1 * ident.eye_size))
        cv.paint(iris * sclera, ident.iris)
        cv.paint(cv.mask(_ellipse(ix, iy, 0.045, 0.045)) * sclera, (0.03, 0.03, 0.03))
        # the upper lid line, which keeps a closed-ish eye readable
        lid = np.stack(
            [
                ex + np.linspace(-rx, rx, 8),
                ey - rx * 0.6 * p.eye_open * np.sin(np.linspace(0, np.pi, 8)),
            ],
            1,
        )
        cv.paint(cv.mask(_stroke(lid, 0.04)), skin * 0.35)

    nose = np.array(
        [
            [0.0, ident.eye_height + 0.12],
            [0.09, ident.eye_height + 0.12 + ident.nose_length],
            [-0.07, ident.eye_height + 0.14 + ident.nose_length],
        ]
    )
    cv.paint(cv.mask(nose), skin * 0.78)

    mw, my = ident.mouth_width, ident.mouth_y
    xs = np.linspace(-mw, mw, 12)
    # a smile lowers the middle of the mouth relative to its corners
    curve = np.stack([xs, my + p.smile * (1 - (xs / mw) ** 2)], 1)
    if p.mouth_open:
        lower = curve + np.stack([0 * xs, p.mouth_open * 2 * (1 - (xs / mw) ** 2)], 1)
        inner = np.concatenate([curve, lower[::-1]])
        cv.paint(cv.mask(inner), (0.25, 0.05, 0.05))
    cv.paint(cv.mask(_stroke(curve, 0.07)), ident.lips)

    for mx, my_, mr in ident.moles:
        cv.paint(cv.mask(_ellipse(mx, my_, mr, mr, 16)) * face, skin * 0.25)

    lit = cv.rgb * (1 + cv.person[..., None] * (_light(cv, p) - 1))
    img = np.clip(cv.down(lit), 0, 1)
    cheeks = sum(cv.mask(_ellipse(*c)) for c in CHEEKS)
    face_small = cv.down(face)
    return Photo(
        image=(img * 255 + 0.5).astype(np.uint8),
        face_mask=face_small > 0.5,
        detail_mask=(cv.down(np.minimum(cheeks, 1) * face) > 0.5),
    )


def render_image(identity_seed: int, photo: int, size: int) -> np.ndarray:
    """Just the pixels (what the prior's training set needs); picklable for worker pools."""
    return render(make_identity(identity_seed), photo, size).image


def to_pil(photo: Photo | np.ndarray) -> Image.Image:
    arr = photo.image if isinstance(photo, Photo) else photo
    return Image.fromarray(arr, "RGB")


def _render_job(job: tuple[int, int, int]) -> np.ndarray:
    return render_image(*job)


def render_training_photos(identities: int, photos_per_identity: int, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8 photos of identities 0..identities-1, rendered on every core."""
    jobs = [(i, p, size) for i in range(identities) for p in range(photos_per_identity)]
    workers = min(len(jobs) // 64 + 1, os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            return np.stack(list(pool.map(_render_job, jobs, chunksize=64)))
    return np.stack([_render_job(j) for j in jobs])
