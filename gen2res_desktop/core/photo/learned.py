"""What the repair stages need from a learned photo model, whatever loads it.

:mod:`.models` installs and loads spandrel-loadable files into objects with this shape;
tests and benchmarks can pass their own.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from gen2res_desktop.core.progress import CancelToken, ProgressCallback

# What a photo model is for; the repair stage that may use it. ``colour`` is not a repair
# stage: a colouriser runs after the faces, on request, into a separate restoration.
TASKS = ("inpaint", "denoise", "jpeg", "upscale", "damage", "colour")


class PhotoModel(Protocol):
    name: str
    task: str  # one of TASKS
    scale: int  # output size / input size (1 for inpainting and denoising)
    sha256: str  # of the installed weights file: recorded with every restoration

    def run(
        self,
        rgb: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        strength: float | None = None,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> np.ndarray:
        """uint8 RGB (H x W x 3) in, uint8 RGB (H*scale x W*scale x 3) out; a ``damage``
        model (a detector) returns its damage map instead: uint8 H x W, 255 = damaged; a
        ``colour`` model returns the photo in colour with its lightness kept. ``mask``
        (uint8, nonzero = fill) is required by inpainting models; ``strength`` (0..1) is
        used by models that take a noise level (DRUNet) and by a colouriser (how much colour),
        and ignored by others."""
        ...


class ModelSource(Protocol):
    """The installed photo models, loaded on demand (and kept for the next photo)."""

    def installed(self, task: str) -> list[str]:
        """Names of installed models for ``task``, best first."""
        ...

    def load(self, name: str) -> PhotoModel:
        """Raises Gen2ResError naming the model if it is not installed or cannot load."""
        ...
