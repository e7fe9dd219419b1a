"""Loading an installed prior into a model ready to run, after checking its files again."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors.configs import read_json
from gen2res_desktop.core.priors.info import (
    WEIGHTS_NAME,
    LoadedPrior,
    PriorInfo,
    installed_advice,
)
from gen2res_desktop.core.priors.registry import PriorRegistry
from gen2res_desktop.core.priors.weights import build_unet, check_weights, weights_header

if TYPE_CHECKING:
    import torch


def load_prior(info: PriorInfo, device: str | torch.device | None = None) -> LoadedPrior:
    """Load an installed prior for inference on ``device`` (auto-chosen when None).

    Its files are checked again first (they may have changed since ``info`` was read):
    the configs, and the weights' tensor names and shapes against the config.
    """
    import torch
    from diffusers import DDPMScheduler

    from gen2res_desktop.core.devices import in_layout, resolve_device

    folder = Path(info.path)
    current = PriorRegistry(folder.parent.parent).read_folder(folder)
    if current.weights_hash != info.weights_hash:
        raise Gen2ResError(
            f"The prior '{info.name}' was replaced while in use (its weights changed); "
            "start again to use the new one."
        )
    unet_dir = folder / "unet"
    try:
        config = read_json(unet_dir / "config.json")
        check_weights(
            *weights_header(unet_dir / WEIGHTS_NAME),
            config,
            unet_dir / WEIGHTS_NAME,
            unet_dir / "config.json",
        )
    except Gen2ResError as e:
        raise Gen2ResError(f"{e} {installed_advice(folder.name)}") from e
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    unet = build_unet(unet_dir)
    unet.requires_grad_(False)
    in_layout(unet.eval().to(dev), dev)
    try:
        scheduler = DDPMScheduler.from_pretrained(folder / "scheduler")
    except Exception as e:  # noqa: BLE001 - checked above; a file changing meanwhile
        raise Gen2ResError(
            f"{folder / 'scheduler'}: the scheduler cannot be loaded ({e}). "
            f"{installed_advice(folder.name)}"
        ) from e
    return LoadedPrior(info=current, unet=unet, scheduler=scheduler, device=dev)
