"""Restoring one crop of a subject: with a trained adapter, or in single-photo mode."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from gen2res_desktop.core import defaults
from gen2res_desktop.core.adapters import with_adapter
from gen2res_desktop.core.diffusion import (
    AlbumSettings,
    RestoreSettings,
    generate_album,
    restore_image,
)
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import LoadedPrior
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress, stage_progress
from gen2res_desktop.core.training import TrainOptions, train_adapter


@dataclass(frozen=True)
class SingleOptions:
    """Single-photo mode: a generative album, an adapter trained on it, then restore."""

    album: AlbumSettings = field(default_factory=AlbumSettings)
    train: TrainOptions = field(
        default_factory=lambda: TrainOptions(steps=defaults.SINGLE_TRAIN_STEPS)
    )
    keep_dir: Path | None = None  # keep album and adapter here (else a temp folder)


def restore_crop(
    prior: LoadedPrior,
    image: Image.Image,
    settings: RestoreSettings,
    *,
    adapter: Path | None = None,
    single: SingleOptions | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Image.Image:
    """Restore a square crop of the subject; the output has the input's size.

    With ``adapter`` the prior is constrained by it; with ``single`` an adapter is first
    learned from a generative album of the crop; with neither the prior runs alone.
    """
    cancel = cancel or CancelToken()
    if adapter is not None and single is not None:
        raise Gen2ResError("Use either an adapter or single-photo mode, not both.")
    model = prior
    if adapter is not None:
        model = with_adapter(prior, Path(adapter))
    elif single is not None:
        model = _single_photo_model(prior, image, single, progress, cancel)
    return restore_image(
        model, image, settings, progress=stage_progress(progress, "restore"), cancel=cancel
    )


def _single_photo_model(
    prior: LoadedPrior,
    image: Image.Image,
    single: SingleOptions,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> LoadedPrior:
    album = generate_album(
        prior, image, single.album, progress=stage_progress(progress, "album"), cancel=cancel
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
        return with_adapter(prior, adapter_path)
