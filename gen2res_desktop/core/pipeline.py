"""Restoring one crop of a subject: with a trained adapter, or in single-photo mode.

torch, peft and the diffusion engine are imported inside the functions that run them:
:class:`SingleOptions` and :func:`face_batch` are read by code that may never restore a
face (a repair-only restore), which must not pay seconds and a gigabyte for them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gen2res_desktop.core import defaults
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress, stage_progress
from gen2res_desktop.core.sampling import AlbumSettings, RestoreSettings

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from gen2res_desktop.core.priors import LoadedPrior
    from gen2res_desktop.core.runtimes import FastCpu
    from gen2res_desktop.core.training import TrainOptions


def _single_train_options() -> TrainOptions:
    from gen2res_desktop.core.training import TrainOptions

    return TrainOptions(steps=defaults.SINGLE_TRAIN_STEPS)


@dataclass(frozen=True)
class SingleOptions:
    """Single-photo mode: a generative album, an adapter trained on it, then restore."""

    album: AlbumSettings = field(default_factory=AlbumSettings)
    train: TrainOptions = field(default_factory=_single_train_options)
    keep_dir: Path | None = None  # keep album and adapter here (else a temp folder)


def face_batch(device: torch.device) -> int:
    """How many faces of one photo restore together on ``device``."""
    return defaults.FACE_BATCH_CPU if device.type == "cpu" else defaults.FACE_BATCH_GPU


def restore_crops(
    prior: LoadedPrior,
    images: list[Image.Image],
    settings: RestoreSettings,
    *,
    adapter: Path | None = None,
    single: SingleOptions | None = None,
    fast: FastCpu | None = None,
    batch_size: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[Image.Image]:
    """Restore square crops of one subject; each output has its input's size.

    With ``adapter`` the prior is constrained by it (merged into the weights, and run by
    the faster CPU engine ``fast`` chooses, if any); the crops restore in batches of
    ``batch_size`` (the device's default if None). With ``single`` an adapter is first
    learned from a generative album of each crop; with neither the prior runs alone.
    """
    from gen2res_desktop.core.adapters import with_adapter
    from gen2res_desktop.core.diffusion import restore_images
    from gen2res_desktop.core.runtimes import accelerate

    cancel = cancel or CancelToken()
    if adapter is not None and single is not None:
        raise Gen2ResError("Use either an adapter or single-photo mode, not both.")
    restore = stage_progress(progress, "restore")
    if single is not None:
        out = []
        for image in images:
            model = _single_photo_model(prior, image, single, fast, progress, cancel)
            out.extend(restore_images(model, [image], settings, progress=restore, cancel=cancel))
        return out
    model = with_adapter(prior, Path(adapter)) if adapter is not None else prior
    model = accelerate(model, fast, progress=progress, cancel=cancel)
    size = max(1, batch_size or face_batch(model.device))
    out = []
    for first in range(0, len(images), size):
        chunk = images[first : first + size]
        out.extend(restore_images(model, chunk, settings, progress=restore, cancel=cancel))
    return out


def restore_crop(
    prior: LoadedPrior,
    image: Image.Image,
    settings: RestoreSettings,
    *,
    adapter: Path | None = None,
    single: SingleOptions | None = None,
    fast: FastCpu | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Image.Image:
    """One crop: see :func:`restore_crops`."""
    (out,) = restore_crops(
        prior,
        [image],
        settings,
        adapter=adapter,
        single=single,
        fast=fast,
        progress=progress,
        cancel=cancel,
    )
    return out


def _single_photo_model(
    prior: LoadedPrior,
    image: Image.Image,
    single: SingleOptions,
    fast: FastCpu | None,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> LoadedPrior:
    from gen2res_desktop.core.adapters import with_adapter
    from gen2res_desktop.core.diffusion import generate_album
    from gen2res_desktop.core.runtimes import accelerate, merge_adapter
    from gen2res_desktop.core.training import train_adapter

    # The album's unguided steps may use the faster engine (the bare prior's conversion is
    # cached); the one-off adapter is only merged: converting it would cost more than the
    # one face it restores saves.
    album = generate_album(
        accelerate(prior, fast, progress=progress, cancel=cancel),
        image,
        single.album,
        progress=stage_progress(progress, "album"),
        cancel=cancel,
    )
    with tempfile.TemporaryDirectory(prefix="gen2res-single-") as tmp:
        work = Path(single.keep_dir) if single.keep_dir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if single.keep_dir:
            for i, img in enumerate(album):
                img.save(work / f"album_{i:02d}.png")
        adapter_path = work / "single_photo_adapter.safetensors"
        train_adapter(
            prior,
            album,
            adapter_path,
            single.train,
            progress=stage_progress(progress, "train"),
            cancel=cancel,
        )
        return merge_adapter(with_adapter(prior, adapter_path))
