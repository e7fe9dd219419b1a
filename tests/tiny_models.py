"""Tiny seeded priors for tests, saved with save_pretrained so the real loading code runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

TINY_RES = 32


def make_tiny_unet(seed: int = 0, resolution: int = TINY_RES):
    import torch
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(
        sample_size=resolution,
        in_channels=3,
        out_channels=3,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=8,
        norm_num_groups=8,
    )


def save_tiny_prior(folder: Path, seed: int = 0, layout: str = "pipeline") -> Path:
    """Write a tiny prior in a diffusers layout: 'pipeline' (model_index + unet/ + scheduler/) or 'bare'."""
    from diffusers import DDPMScheduler

    unet = make_tiny_unet(seed)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True)
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "pipeline":
        unet.save_pretrained(folder / "unet")
        scheduler.save_pretrained(folder / "scheduler")
        (folder / "model_index.json").write_text(
            '{"_class_name": "DDPMPipeline", "unet": ["diffusers", "UNet2DModel"], '
            '"scheduler": ["diffusers", "DDPMScheduler"]}'
        )
    else:
        unet.save_pretrained(folder)
    return folder


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)
