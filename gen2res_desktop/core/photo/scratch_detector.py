"""The learned scratch and crack detector of "Bringing Old Photos Back to Life" (Wan et al.,
CVPR 2020; https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life, MIT), written
here from the paper and the released checkpoint's layout, so its weights load as they are.

The network is a four-level UNet on the grayscale photo. Each level first refines its
features with a 3x3 conv + BatchNorm + LeakyReLU, then halves the resolution with a fixed
3x3 binomial blur sampled every second pixel (anti-aliased downsampling, Zhang 2019), then
two 3x3 conv + BN + LeakyReLU layers double the channels. The way up doubles the size
bilinearly, convolves, joins the skip connection and applies two more conv + BN layers.
All padding reflects the image, so the output has the input's size. Its one output channel
is the logit of "this pixel is damaged".

The authors run it on a copy of the photo whose short side is 256 px (both sides rounded
to multiples of 16, the UNet's total stride), thresholding the sigmoid at 0.4 and scaling
the mask back with nearest-neighbour sampling. :class:`ScratchDetectorModel` does the same,
over overlapping tiles when a larger working size is asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from gen2res_desktop.core.photo.strict_load import load_strictly
from gen2res_desktop.core.photo.tiles import process_tiled
from gen2res_desktop.core.photo.torch_tiles import check_rgb8, run_shrinking
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress

if TYPE_CHECKING:
    from gen2res_desktop.core.photo.models import PhotoModelInfo

ARCH = "BOPBTLScratchUNet"
MULTIPLE = 16  # 2 ** depth: the sizes every level can halve without a remainder
SHORT_SIDE = 256  # the authors' working size (detection.py, scale_tensor)
THRESHOLD = 0.4  # the authors' cut on the sigmoid
# Tiles at the working size; at 256 px a photo of any usual shape is one tile. The network
# sees about 90 px around a pixel, so 128 px of shared context keeps seams out of the mask.
TILE, OVERLAP = 512, 128
_MIN_TILE = 256
_SLOPE = 0.2  # LeakyReLU slope throughout


@dataclass(frozen=True)
class UNetShape:
    """What the released detector is built with (detection.py's constructor call)."""

    in_channels: int = 1
    out_channels: int = 1
    depth: int = 4
    wf: int = 6  # the first level has 2 ** wf channels
    conv_num: int = 2


def _act() -> nn.Module:
    return nn.LeakyReLU(_SLOPE, inplace=True)


class _BlurDown(nn.Module):
    """Halve the size with a normalised [1 2 1] x [1 2 1] blur: aliasing-free striding.
    The kernel is a stored buffer (``filt``) because the checkpoint carries it."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        k2 = k[:, None] * k[None, :]
        self.register_buffer("filt", (k2 / k2.sum()).expand(channels, 1, 3, 3).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.filt, stride=2, groups=x.shape[1])


class _ConvStack(nn.Module):
    """``n`` x (reflect pad, 3x3 conv, BatchNorm, LeakyReLU); layout ``block.<i>``."""

    def __init__(self, n: int, cin: int, cout: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(n):
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout), _act()]
            cin = cout
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class _Up(nn.Module):
    """Double the size (bilinear, then a 3x3 conv to ``cout``), join the skip, refine."""

    def __init__(self, n: int, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.ReflectionPad2d(1),
            nn.Conv2d(cin, cout, 3),
        )
        self.conv_block = _ConvStack(n, cin, cout)  # cin = cout from below + cout skipped

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv_block(torch.cat([self.up(x), skip], dim=1))


class ScratchUNet(nn.Module):
    """The detector network; ``forward`` returns logits. Sides must be multiples of 16."""

    def __init__(self, shape: UNetShape = UNetShape()) -> None:
        super().__init__()
        self.shape = shape
        ch = 2**shape.wf
        self.first = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(shape.in_channels, ch, 7), _act()
        )
        # registered in the checkpoint's order, so even the key order is the released one
        self.down_path = nn.ModuleList()
        self.down_sample = nn.ModuleList()
        for level in range(shape.depth):
            self.down_sample.append(
                nn.Sequential(
                    nn.ReflectionPad2d(1),
                    nn.Conv2d(ch, ch, 3),
                    nn.BatchNorm2d(ch),
                    _act(),
                    _BlurDown(ch),
                )
            )
            nxt = 2 ** (shape.wf + level + 1)
            self.down_path.append(_ConvStack(shape.conv_num, ch, nxt))
            ch = nxt
        self.up_path = nn.ModuleList()
        for level in reversed(range(shape.depth)):
            nxt = 2 ** (shape.wf + level)
            self.up_path.append(_Up(shape.conv_num, ch, nxt))
            ch = nxt
        self.last = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, shape.out_channels, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(x)
        skips = []
        for down, refine in zip(self.down_sample, self.down_path, strict=True):
            skips.append(x)
            x = refine(down(x))
        for up, skip in zip(self.up_path, reversed(skips), strict=True):
            x = up(x, skip)
        return self.last(x)


# ---------------------------------------------------------------------------------------
# recognising a checkpoint


_SIGNATURE = ("first.1.weight", "down_sample.0.4.filt", "up_path.0.up.2.weight", "last.1.weight")


def matches(sd: dict[str, torch.Tensor]) -> bool:
    """Whether ``sd`` has this detector's layout (key names, not yet shapes)."""
    return all(k in sd for k in _SIGNATURE)


def shape_of(sd: dict[str, torch.Tensor]) -> UNetShape:
    """The constructor arguments that ``sd``'s tensors imply."""
    first = sd["first.1.weight"]
    depth = len({k.split(".")[1] for k in sd if k.startswith("down_path.")})
    conv_num = len({k.split(".")[3] for k in sd if k.startswith("down_path.0.block.")}) // 2
    width = int(first.shape[0])
    if first.ndim != 4 or width & (width - 1) or depth < 1 or conv_num < 1:
        raise ValueError("the first layer or the levels do not fit a UNet")
    return UNetShape(
        in_channels=int(first.shape[1]),
        out_channels=int(sd["last.1.weight"].shape[0]),
        depth=depth,
        wf=width.bit_length() - 1,
        conv_num=conv_num,
    )


def build(sd: dict[str, torch.Tensor], label: str) -> ScratchUNet:
    """The network with ``sd`` loaded strictly; Gen2ResError (one line) if it does not fit."""

    def make() -> ScratchUNet:
        shape = shape_of(sd)
        if (shape.in_channels, shape.out_channels) != (1, 1):
            raise ValueError(f"{shape.in_channels} channels in, {shape.out_channels} out")
        return ScratchUNet(shape)

    return load_strictly(
        make,
        sd,
        label,
        looks_like="the Bringing Old Photos Back to Life scratch detector",
        whose="the scratch detector's",
    )


# ---------------------------------------------------------------------------------------
# running


def _round16(x: float) -> int:
    # Python's round (half to even), as the authors' int(round(x / 16) * 16)
    return max(MULTIPLE, int(round(x / MULTIPLE) * MULTIPLE))


def working_sizes(h: int, w: int, short_side: int = SHORT_SIDE) -> tuple[tuple[int, int], ...]:
    """``((h16, w16), (hw, ww))``: the photo rounded to multiples of 16 (detection.py's
    ``full_size``), then scaled so its short side is ``short_side`` (``scale_tensor``)."""
    h16, w16 = _round16(h), _round16(w)
    if h16 < w16:
        hw, ww = short_side, w16 / h16 * short_side
    else:
        hw, ww = h16 / w16 * short_side, short_side
    return (h16, w16), (_round16(hw), _round16(ww))


def prepare(rgb: np.ndarray, short_side: int = SHORT_SIDE) -> np.ndarray:
    """The network's input for a uint8 RGB photo: float32 gray in [-1, 1] at the working
    size. Resampled as the authors do (PIL bicubic to multiples of 16, PIL's luma, then
    bilinear without antialiasing), since that is what the weights saw."""
    h, w = rgb.shape[:2]
    (h16, w16), (hw, ww) = working_sizes(h, w, short_side)
    img = Image.fromarray(rgb)
    if (h16, w16) != (h, w):
        img = img.resize((w16, h16), Image.Resampling.BICUBIC)
    gray = torch.from_numpy(np.asarray(img.convert("L"), np.float32) / 255.0)
    x = (gray - 0.5) / 0.5
    x = F.interpolate(x[None, None], size=(hw, ww), mode="bilinear", align_corners=False)
    return x[0, 0].numpy()


def _nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if mask.shape == size:
        return mask
    t = torch.from_numpy(mask)[None, None]
    return F.interpolate(t, size=size, mode="nearest")[0, 0].numpy()


class ScratchDetectorModel:
    """An installed detector ready to run (a :class:`.learned.PhotoModel` of task
    ``damage``): ``run`` returns the damage map, uint8 H x W, 255 = damaged."""

    task = "damage"
    scale = 1

    def __init__(
        self,
        net: ScratchUNet,
        *,
        name: str = ARCH,
        sha256: str = "",
        device: torch.device | str = "cpu",
        short_side: int = SHORT_SIDE,
        threshold: float = THRESHOLD,
        tile: int = TILE,
        overlap: int = OVERLAP,
        info: PhotoModelInfo | None = None,
    ) -> None:
        self.info = info
        self.name = info.name if info else name
        self.sha256 = info.sha256 if info else sha256
        self.arch = ARCH
        self.device = torch.device(device)
        # fp32 on every device: the net is small and half precision would move the cut
        self.net = net.eval().requires_grad_(False).to(self.device, torch.float32)
        self.short_side, self.threshold = short_side, threshold
        self.tile, self.overlap = tile, overlap
        self._lock = threading.Lock()

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Sigmoid of the logits for a working-size input (sides padded to 16 if needed)."""
        h, w = x.shape
        t = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)[None, None]
        ph, pw = -h % MULTIPLE, -w % MULTIPLE
        if ph or pw:
            t = F.pad(t, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        p = torch.sigmoid(self.net(t))[0, 0, :h, :w]
        return p.float().cpu().numpy()

    def probabilities(
        self,
        rgb: np.ndarray,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """The damage probability at the working size (float32), tiled."""
        x = prepare(rgb, self.short_side)

        def run(size: int) -> np.ndarray:
            return process_tiled(
                x,
                self.probability,
                tile=size,
                overlap=self.overlap,
                stage="damage",
                progress=progress,
                cancel=cancel,
            )

        with self._lock:
            return run_shrinking(
                run, self.tile, name=self.name, device=self.device, smallest=_MIN_TILE
            )

    def run(
        self,
        rgb: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        strength: float | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """The damage map of a uint8 RGB photo: uint8 H x W, 255 = damaged (``mask`` and
        ``strength`` are not used by a detector)."""
        rgb = check_rgb8(rgb, self.name)
        h, w = rgb.shape[:2]
        prob = self.probabilities(rgb, progress=progress, cancel=cancel or CancelToken())
        hit = (prob >= self.threshold).astype(np.uint8)
        # as the authors: nearest back to the 16-rounded photo, which is then the photo's size
        (h16, w16), _ = working_sizes(h, w, self.short_side)
        hit = _nearest(_nearest(hit, (h16, w16)), (h, w))
        return hit * np.uint8(255)


def parameters(net: nn.Module) -> int:
    return int(sum(p.numel() for p in net.parameters()))
