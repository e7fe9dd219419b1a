"""Colour for a black-and-white print: a learned colouriser (:mod:`.ddcolor`) run the way
its authors run it, with the photo's own lightness kept.

The authors' pipeline (``ddcolor/pipeline.py``): the photo is resized to 512 x 512, its
CIE Lab lightness L is taken and turned back to RGB with zero chroma (a neutral grey
image), the network predicts a and b at 512 x 512, those are scaled to the photo's size
and joined with the *full-resolution* L of the photo. Detail and tone therefore stay the
user's: the network only ever adds chroma. Two things differ, both so that the restored
print's lightness survives exactly:

- chroma is scaled up bilinearly rather than by nearest neighbour (theirs), so a large
  scan shows no 4-pixel blocks of colour along edges;
- a predicted colour the screen cannot show (outside sRGB) has its chroma reduced until
  it can, instead of each RGB channel being clipped: clipping would change the lightness
  of that pixel, which is the one thing the restoration must not change.

``strength`` scales the chroma (0 = the grey print, 1 = the colouriser's colours).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from gen2res_desktop.core.photo.ddcolor import ARCH, DDColorNet
from gen2res_desktop.core.photo.torch_tiles import check_rgb8, run_shrinking
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    from gen2res_desktop.core.photo.models import PhotoModelInfo

INPUT_SIZE = 512  # the authors' inference size (scripts/infer.py, --input_size)
_MULTIPLE = 32  # the encoder's total stride
_GAMUT_STEPS = 12  # halvings of the chroma scale for out-of-gamut pixels: 1/4096 precision
_GAMUT_EPS = 1e-4


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (0..100, float32) of a uint8 RGB image, as OpenCV computes it for floats."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def model_input(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """The network's input for a uint8 RGB photo: float32 3 x size x size in [0, 1], the
    lightness of the resized photo as a neutral grey (the authors' preparation)."""
    img = rgb.astype(np.float32) / 255.0
    img = cv2.resize(img, (size, size))  # bilinear, as theirs
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2Lab)[..., :1]
    grey = cv2.cvtColor(np.concatenate([lum, np.zeros_like(lum), np.zeros_like(lum)], 2),
                        cv2.COLOR_Lab2RGB)  # fmt: skip
    return np.ascontiguousarray(grey.transpose(2, 0, 1))


# CIE Lab (D65) to sRGB as OpenCV converts floats, but unclipped: OpenCV clips each channel
# to [0, 1], which hides exactly the out-of-gamut colours that must be found.
_WHITE = np.array([0.950456, 1.0, 1.088754], np.float32)
_XYZ_TO_RGB = np.array(
    [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556],
     [0.055648, -0.204043, 1.057311]],
    np.float32,
)  # fmt: skip


def _lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Float sRGB (0..1 where in gamut, beyond where not) of an ... x 3 Lab array."""
    lab = lab.astype(np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    edge = 6.0 / 29.0
    xyz = np.where(f > edge, f**3, 3 * edge**2 * (f - 4.0 / 29.0)) * _WHITE
    lin = xyz @ _XYZ_TO_RGB.T
    srgb = 1.055 * np.power(np.maximum(lin, 0.0031308), 1 / 2.4) - 0.055
    return np.where(lin > 0.0031308, srgb, 12.92 * lin).astype(np.float32)


def _in_gamut(rgb: np.ndarray) -> np.ndarray:
    return ((rgb >= -_GAMUT_EPS) & (rgb <= 1 + _GAMUT_EPS)).all(axis=-1)


def join_lightness(lum: np.ndarray, ab: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """uint8 RGB from lightness ``lum`` (H x W, L* 0..100) and chroma ``ab`` (H x W x 2),
    the chroma scaled by ``strength`` and, where a colour falls outside sRGB, reduced
    until it fits, so the lightness is the one given."""
    ab = ab.astype(np.float32) * float(strength)
    lab = np.concatenate([lum[..., None].astype(np.float32), ab], axis=2)
    rgb = _lab_to_rgb(lab)
    bad = ~_in_gamut(rgb)
    if bad.any():
        # per pixel, the largest chroma scale k in [0, 1] that is in gamut (k = 0 is grey,
        # always in gamut): bisection on the pixels that need it only
        px = lab[bad]  # n x 3
        lo = np.zeros(len(px), np.float32)
        hi = np.ones(len(px), np.float32)
        for _ in range(_GAMUT_STEPS):
            mid = (lo + hi) / 2
            trial = np.concatenate([px[:, :1], px[:, 1:] * mid[:, None]], axis=1)
            ok = _in_gamut(_lab_to_rgb(trial[:, None, :])[:, 0])
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        fixed = np.concatenate([px[:, :1], px[:, 1:] * lo[:, None]], axis=1)
        rgb[bad] = _lab_to_rgb(fixed[:, None, :])[:, 0]
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def upscale_ab(ab: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Chroma (1 x 2 x h x w) scaled to the photo's ``size`` (H, W): H x W x 2 float32."""
    if tuple(ab.shape[-2:]) != size:
        ab = F.interpolate(ab.float(), size=size, mode="bilinear", align_corners=False)
    return ab[0].float().cpu().numpy().transpose(1, 2, 0)


class DDColorModel:
    """An installed colouriser ready to run (a :class:`.learned.PhotoModel` of task
    ``colour``): ``run`` returns the photo in colour with its lightness unchanged."""

    task = "colour"
    scale = 1

    def __init__(
        self,
        net: DDColorNet,
        *,
        name: str = ARCH,
        sha256: str = "",
        device: torch.device | str = "cpu",
        input_size: int = INPUT_SIZE,
        info: PhotoModelInfo | None = None,
    ) -> None:
        if input_size % _MULTIPLE or input_size < _MULTIPLE:
            raise ValueError(f"input_size must be a multiple of {_MULTIPLE}")
        self.info = info
        self.name = info.name if info else name
        self.sha256 = info.sha256 if info else sha256
        self.arch = ARCH
        self.device = torch.device(device)
        # fp32 everywhere: the transformer's attention in half precision shifts colours
        self.net = net.eval().requires_grad_(False).to(self.device, torch.float32)
        self.input_size = input_size
        self._lock = threading.Lock()

    def chroma(self, rgb: np.ndarray) -> torch.Tensor:
        """The predicted ab at the model's size (1 x 2 x S x S, on the CPU)."""
        x = torch.from_numpy(model_input(rgb, self.input_size))[None].to(self.device)

        def run(_size: int) -> np.ndarray:
            return self.net(x).float().cpu().numpy()

        with self._lock:
            out = run_shrinking(
                run, self.input_size, name=self.name, device=self.device, smallest=self.input_size
            )
        return torch.from_numpy(out)

    def run(
        self,
        rgb: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        strength: float | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """``rgb`` (uint8 H x W x 3) in colour; its lightness is kept. ``strength`` (0..1,
        default 1) scales the colours; ``mask`` is not used."""
        rgb = check_rgb8(rgb, self.name)
        cancel = cancel or CancelToken()
        progress(Progress("colourise", 0, 2, "Colouring the photo"))
        cancel.check()
        ab = self.chroma(rgb)
        cancel.check()
        progress(Progress("colourise", 1, 2, "Keeping the print's tones"))
        out = join_lightness(
            lightness(rgb), upscale_ab(ab, rgb.shape[:2]), 1.0 if strength is None else strength
        )
        progress(Progress("colourise", 2, 2, "Coloured"))
        return out


class StrengthBlend:
    """A colourised photo at any colour strength (0..1): its chroma in Lab scaled, over the
    lightness of ``grey`` (the monochrome restoration it was made from), so lightness never
    changes. Both are taken once, for a slider that asks for many strengths. Without a
    ``grey`` of the same size (deleted, say), the colourised photo's own lightness is used:
    the colouriser kept the grey's, to half an L* unit."""

    def __init__(self, colour: np.ndarray, grey: np.ndarray | None = None) -> None:
        colour = np.asarray(colour, np.uint8)
        if grey is None or np.shape(grey) != colour.shape:
            grey = colour
        self.lum = lightness(grey)
        lab = cv2.cvtColor(colour.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        self.ab = np.ascontiguousarray(lab[..., 1:])

    def __call__(self, strength: float) -> np.ndarray:
        return join_lightness(self.lum, self.ab, min(max(float(strength), 0.0), 1.0))


def with_strength(colour: np.ndarray, grey: np.ndarray | None, strength: float) -> np.ndarray:
    """A colourised photo's chroma scaled by ``strength`` (0..1) in Lab, over the lightness
    of ``grey`` (the monochrome restoration it was made from; None: the colourised photo's
    own, the same to half an L* unit): the compare view's slider and export."""
    return StrengthBlend(colour, grey)(strength)
