"""Shared fixtures: a tiny seeded prior saved with save_pretrained, loaded through the real code."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never reach a model hub from the tests, whatever the code under test tries.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

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


@pytest.fixture(scope="session")
def tiny_prior_dir(tmp_path_factory) -> Path:
    return save_tiny_prior(tmp_path_factory.mktemp("tiny_prior"))


@pytest.fixture
def gen2res_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "library"
    monkeypatch.setenv("GEN2RES_HOME", str(home))
    return home


@pytest.fixture
def tiny_registry(gen2res_home, tiny_prior_dir):
    from gen2res_desktop.core.priors import PriorRegistry

    registry = PriorRegistry(gen2res_home)
    registry.import_folder(tiny_prior_dir, "tiny", "face")
    return registry


@pytest.fixture
def tiny_prior(tiny_registry):
    from gen2res_desktop.core.priors import load_prior

    return load_prior(tiny_registry.get("tiny"), "cpu")


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def astronaut_face(astronaut) -> Image.Image:
    """A square crop around the astronaut's face (the subject-cropped input the engine takes)."""
    return astronaut.crop((150, 30, 270, 150))


@pytest.fixture(scope="session")
def chelsea() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.chelsea())


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)
