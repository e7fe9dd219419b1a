"""Shared fixtures: a tiny seeded prior saved with save_pretrained, loaded through the real code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never reach a model hub from the tests, whatever the code under test tries.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from tiny_models import save_tiny_prior  # noqa: E402


@pytest.fixture(autouse=True)
def torch_engine_unless_asked(monkeypatch):
    """Restores run on torch: converting the prior for OpenVINO or ONNX Runtime costs
    seconds per library, so only tests/core/test_runtimes.py asks for an engine."""
    from gen2res_desktop.core import runtimes

    monkeypatch.setattr(runtimes, "CPU_PREFERENCE", ())


@pytest.fixture(autouse=True)
def fp32_sampling_on_any_cpu(monkeypatch):
    """The same numbers on every test machine: sampling and the damage network go bf16 only
    on CPUs with native bf16, so tests pretend there is none (tests/core/test_bf16_sampling.py
    and test_damage_net.py ask for it)."""
    from gen2res_desktop.core import devices, runtimes
    from gen2res_desktop.core.photo import damage_net

    monkeypatch.setattr(devices, "native_bf16", lambda: False)
    monkeypatch.setattr(runtimes, "native_bf16", lambda: False)
    monkeypatch.setattr(damage_net, "BF16", False)


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
