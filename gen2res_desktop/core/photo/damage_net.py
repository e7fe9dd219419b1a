"""A small learned damage detector that ships with the app (no download).

A four-level UNet (16-32-64-96 channels, 0.39 M weights) reads the print's colour
and says per pixel whether it is damaged: scratches, cracks, specks, hairs, pen, flakes
and worn edges. It was trained on two of ``benchmarks/oldphoto``'s generators (1 and 3,
on the dev photos and on other photos no split uses), by
``python -m benchmarks.oldphoto.train_detector``; it and its cut were chosen on a fourth
generator no training saw (the held split), and the test split (generator 2, other
photos) says how well it carries over.

It sees the photo the way it was trained: the lightness range stretched to the print's
own (so a faded print looks like a fresh one) and the shorter side at most 1000 px (so a
scratch on a 4000 px scan is as wide as on a 1000 px one); the map is scaled back.

It looks twice, at that size and a quarter larger, and averages what it saw: damage is
damage at either size, while what it takes for damage in a texture (the gaps between
pebbles, a soil's crevices) mostly fools it at one size only. On the held split this
marked 14-29% less of undamaged prints and found a little more; it costs a second, larger
pass (notes, round 10).
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gen2res_desktop.core.devices import native_bf16
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo.strict_load import load_strictly
from gen2res_desktop.core.photo.tiles import process_tiled
from gen2res_desktop.core.photo.torch_tiles import run_shrinking
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.resources import data_dir

WIDTHS = (16, 32, 64, 96)
WORK_SIDE = 1000  # the shorter side the network works at, at most
# The sizes it looks at, as multiples of the work size; the maps are averaged. Chosen on
# the held split among 0.8 and 1.25, by the minimum or the mean (oldphoto_notes.md, round 10)
SCALES = (1.0, 1.25)
# It sees about 45 px each way and a tile trusts its result from a quarter of the overlap
# in; tiles start on the pooling grid (8 px), so a tiled map is the one-piece map. A tile
# holds a whole 4:3 print at the larger size: each extra tile recomputes its overlap.
TILE, OVERLAP, GRID = 1728, 192, 8
_MIN_TILE = 512  # a multiple of GRID, over twice the overlap
THRESHOLD = 0.3  # the held split's best cut of 0.3-0.7 (oldphoto_notes.md, round 7)
# A mark is kept only when some pixel of it is this sure: a texture's faint, unsure marks
# are left. Higher marked less of the held split's textures at no cost in IoU, but a white
# speck beside an eye (test_face_safe) is 0.66 sure (oldphoto_notes.md, round 8)
CORE = 0.6
# A mark whose mean p reaches this is sure; below, a dark one is only partly filled
# (:func:`certainty`; chosen on the held split, oldphoto_notes.md, round 14)
SURE = 0.9
WEIGHTS = data_dir() / "damage_net.pt"
# bf16 where the CPU computes it natively (AVX-512 BF16 or AMX): half the time of fp32
# there, the same maps within rounding (oldphoto_notes.md, round 13); elsewhere emulated
# bf16 is slower than fp32
BF16 = native_bf16()


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DamageNet(nn.Module):
    """UNet: RGB in [-1, 1] (N x 3 x H x W) to a damage logit (N x 1 x H x W)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        cin = 3
        for w in widths:
            self.down.append(_block(cin, w))
            cin = w
        self.up = nn.ModuleList(
            _block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            x = block(x)
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


def normalise(rgb: np.ndarray) -> np.ndarray:
    """float32 H x W x 3 in [-1, 1]: the lightness's 0.5th..99.5th percentiles to the full
    range, all channels alike (a faded print's marks then have a fresh print's contrast)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    lo, hi = np.percentile(gray[::2, ::2], (0.5, 99.5))
    span = max(float(hi - lo), 32.0)
    out = (rgb.astype(np.float32) - float(lo)) * (2.0 / span) - 1.0
    return np.clip(out, -1.5, 1.5)


def cut(sensitivity: float) -> float:
    """The probability over which a pixel is damaged: the chosen cut at sensitivity 0.5,
    lower towards 1 (finds more), higher towards 0. On the held split any cut from 0.3 to
    0.7 gives the same IoU within 0.02, so the slider trades recall for precision only."""
    return float(np.clip(THRESHOLD + (0.5 - sensitivity) * 0.8, 0.05, 0.95))


def core(sensitivity: float) -> float:
    """How sure the surest pixel of a mark must be, moving with :func:`cut`."""
    return float(np.clip(CORE + (0.5 - sensitivity) * 0.8, cut(sensitivity), 0.99))


def damaged(p: np.ndarray, sensitivity: float = 0.5) -> np.ndarray:
    """bool H x W: the pixels of ``p`` over the cut that belong to a mark with a sure core
    (hysteresis). A photo where the network is unsure then gets less repair: filling
    doubtful marks in a texture did more harm than leaving them."""
    low = (p > cut(sensitivity)).astype(np.uint8)
    n, labels = cv2.connectedComponents(low, connectivity=8)
    sure = np.zeros(n, bool)
    sure[np.unique(labels[p >= core(sensitivity)])] = True
    sure[0] = False
    return sure[labels]


def certainty(p: np.ndarray, marks: np.ndarray, sensitivity: float = 0.5) -> np.ndarray:
    """float32 H x W: how sure the network is of each mark of ``marks`` (bool, from
    :func:`damaged`), from 0 (its mean p at the cut) to 1 (a mean p of SURE or more),
    the same over the whole mark; 1 off the marks. A mark's mean, not its surest pixel:
    a texture's false marks have a sure core but a doubtful body (oldphoto_notes.md,
    round 14)."""
    n, labels = cv2.connectedComponents(marks.astype(np.uint8), connectivity=8)
    area = np.bincount(labels.ravel(), minlength=n)
    mean = np.bincount(labels.ravel(), weights=p.ravel(), minlength=n) / np.maximum(area, 1)
    low = cut(sensitivity)
    sure = np.clip((mean - low) / max(SURE - low, 1e-6), 0.0, 1.0).astype(np.float32)
    sure[0] = 1.0
    return sure[labels]


def work_size(h: int, w: int) -> tuple[int, int]:
    """(height, width) the network works at: the shorter side at most WORK_SIDE."""
    f = min(1.0, WORK_SIDE / min(h, w))
    return max(1, round(h * f)), max(1, round(w * f))


_cache: dict[Path, DamageNet] = {}
_lock = threading.Lock()


def load(path: Path | None = None) -> DamageNet:
    """The network with its weights from ``path`` (the app's own by default), loaded once
    per process."""
    path = path or WEIGHTS
    with _lock:
        net = _cache.get(path)
        if net is None:
            if not path.is_file():
                raise Gen2ResError(
                    f"The built-in damage detector's weights are missing ({path}); "
                    "reinstall the app."
                )
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as e:  # a truncated or foreign file: one line, not a trace
                raise Gen2ResError(
                    f"The built-in damage detector's weights ({path}) cannot be read; "
                    "reinstall the app."
                ) from e
            net = load_strictly(
                DamageNet,
                state,
                "The built-in damage detector",
                looks_like="a damage detector",
                whose="its",
            ).to(memory_format=torch.channels_last)
            _cache[path] = net
        return net


def _pass_progress(progress: ProgressCallback, i: int, n: int) -> ProgressCallback:
    """Pass ``i`` of ``n``'s tile progress as a share of all the passes."""

    def report(p: Progress) -> None:
        done = (i + p.step / max(p.total, 1)) / n
        progress(Progress(p.stage, round(1000 * done), 1000, p.message))

    return report


def _probability_at(
    rgb: np.ndarray,
    net: DamageNet,
    *,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> np.ndarray:
    """float32 H x W: one look of the network at ``rgb`` as it is."""
    h, w = rgb.shape[:2]
    # the network halves the size three times: pad to the grid, reflecting the photo
    x = cv2.copyMakeBorder(normalise(rgb), 0, -h % GRID, 0, -w % GRID, cv2.BORDER_REFLECT_101)

    def tile(part: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(part.transpose(2, 0, 1)))[None]
        # the layout the CPU's convolutions are fastest in (1.4 times on a 2-core Xeon;
        # load() puts the weights in it too), the same numbers
        t = t.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
            logits = net(t)
        return torch.sigmoid(logits.float())[0, 0, :, :, None].numpy()

    def run(size: int) -> np.ndarray:
        return process_tiled(
            x,
            tile,
            tile=size,
            overlap=OVERLAP,
            align=GRID,
            stage="damage",
            progress=progress,
            cancel=cancel,
        )

    # out of memory: smaller tiles, then one sentence (as for the downloaded models)
    return run_shrinking(
        run, TILE, name="built-in damage detector", device=torch.device("cpu"), smallest=_MIN_TILE
    )[:h, :w, 0]


def probability(
    rgb: np.ndarray,
    net: DamageNet | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """float32 H x W: the chance that each pixel of ``rgb`` (uint8 H x W x 3) is damaged,
    averaged over the network's looks at :data:`SCALES` times the work size."""
    net = net or load()
    h, w = rgb.shape[:2]
    wh, ww = work_size(h, w)
    maps = []
    for i, scale in enumerate(SCALES):
        size = max(1, round(ww * scale)), max(1, round(wh * scale))
        if size == (w, h):
            seen = rgb
        else:
            shrink = size[0] * size[1] < w * h
            seen = cv2.resize(
                rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
            )
        p = _probability_at(
            seen, net, progress=_pass_progress(progress, i, len(SCALES)), cancel=cancel
        )
        maps.append(
            p if p.shape == (h, w) else cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR)
        )
    return np.mean(maps, axis=0, dtype=np.float32)
