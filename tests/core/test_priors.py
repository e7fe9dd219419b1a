import json

import pytest
import torch
from fake_hub import COMMIT, FakeHub
from tiny_models import make_tiny_unet, save_tiny_prior

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.priors import PriorRegistry, load_prior
from gen2res_desktop.core.progress import CancelToken


def test_import_pipeline_layout_registers_metadata(tiny_registry, tiny_prior_dir):
    info = tiny_registry.get("tiny")
    assert info.kind == "face" and info.resolution == 32
    assert info.parameters == sum(p.numel() for p in make_tiny_unet().parameters())
    assert len(info.weights_hash) == 64
    assert [p.name for p in tiny_registry.list()] == ["tiny"]
    assert (info.path / "unet" / "diffusion_pytorch_model.safetensors").is_file()


def test_resolution_is_read_from_the_prior(gen2res_home, tmp_path):
    from diffusers import UNet2DModel

    unet = UNet2DModel(
        sample_size=16,
        block_out_channels=(32, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    )
    unet.save_pretrained(tmp_path / "bare16")
    info = PriorRegistry(gen2res_home).import_folder(tmp_path / "bare16", "p16", "other")
    assert info.resolution == 16
    prior = load_prior(info, "cpu")
    assert prior.resolution == 16
    # a bare UNet folder gets the default DDPM scheduler
    assert prior.scheduler.config.num_train_timesteps == 1000


def test_bin_weights_are_converted_with_identical_outputs(gen2res_home, tmp_path):
    src = save_tiny_prior(tmp_path / "bin", layout="bare")
    unet = make_tiny_unet()
    torch.save(unet.state_dict(), src / "diffusion_pytorch_model.bin")
    (src / "diffusion_pytorch_model.safetensors").unlink()
    info = PriorRegistry(gen2res_home).import_folder(src, "frombin", "cat")
    loaded = load_prior(info, "cpu").unet
    x, t = torch.randn(1, 3, 32, 32), torch.tensor([10])
    with torch.no_grad():
        assert torch.allclose(loaded(x, t).sample, unet.eval()(x, t).sample, atol=1e-5)


@pytest.mark.parametrize("problem", ["not_a_folder", "no_config", "conditional", "bad_weights"])
def test_bad_prior_folders_give_clear_errors(gen2res_home, tmp_path, problem):
    src = save_tiny_prior(tmp_path / "p", layout="bare")
    if problem == "not_a_folder":
        src = tmp_path / "missing"
    elif problem == "no_config":
        (src / "config.json").unlink()
    elif problem == "conditional":
        cfg = json.loads((src / "config.json").read_text())
        cfg["_class_name"] = "UNet2DConditionModel"
        (src / "config.json").write_text(json.dumps(cfg))
    else:
        (src / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")
    registry = PriorRegistry(gen2res_home)
    with pytest.raises(Gen2ResError):
        registry.import_folder(src, "bad", "face")
    assert registry.list() == []
    assert not any(p.name.startswith(".import") for p in registry.root.glob(".*"))


def test_unknown_prior_and_duplicate_name(tiny_registry, tiny_prior_dir):
    with pytest.raises(Gen2ResError, match="No prior named 'nope'.*installed: tiny"):
        tiny_registry.get("nope")
    with pytest.raises(Gen2ResError, match="already installed"):
        tiny_registry.import_folder(tiny_prior_dir, "tiny", "face")
    with pytest.raises(Gen2ResError, match="not a valid prior name"):
        tiny_registry.import_folder(tiny_prior_dir, "../evil", "face")


@pytest.fixture
def hub_repo(tmp_path):
    """The flat layout of the google/ddpm-ema-* repos: config + .bin weights + scheduler config."""
    repo = save_tiny_prior(tmp_path / "repo", layout="bare")
    torch.save(make_tiny_unet().state_dict(), repo / "diffusion_pytorch_model.bin")
    (repo / "diffusion_pytorch_model.safetensors").unlink()
    from diffusers import DDPMScheduler

    DDPMScheduler(num_train_timesteps=1000).save_config(repo)
    (repo / "README.md").write_text("model card")
    return repo


@pytest.fixture
def online(monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)


def test_download_from_fake_hub_installs_prior(gen2res_home, hub_repo, online):
    from gen2res_desktop.core.download import download_prior

    reports = []
    with FakeHub({"google/ddpm-ema-celebahq-256": hub_repo}) as hub:
        info = download_prior(
            "face", home=gen2res_home, endpoint=hub.endpoint, progress=reports.append
        )
    assert info.name == "face" and info.kind == "face" and info.revision == COMMIT
    assert info.source == "hub:google/ddpm-ema-celebahq-256"
    assert reports and reports[-1].step == reports[-1].total
    assert not (gen2res_home / "priors" / ".downloads" / "face").exists()
    fetched = {p for m, p, _ in hub.requests if m == "GET" and "/resolve/" in p}
    assert not any(p.endswith("README.md") for p in fetched)
    assert load_prior(info, "cpu").resolution == 32


def test_interrupted_download_resumes(gen2res_home, hub_repo, online):
    from gen2res_desktop.core.download import download_prior

    with FakeHub({"org/tiny": hub_repo}) as hub:
        hub.truncate["diffusion_pytorch_model.bin"] = 300_000
        with pytest.raises(Gen2ResError, match="run the same command again to resume"):
            download_prior("org/tiny", home=gen2res_home, endpoint=hub.endpoint)
        assert PriorRegistry(gen2res_home).list() == []
        del hub.truncate["diffusion_pytorch_model.bin"]
        hub.requests.clear()
        info = download_prior("org/tiny", home=gen2res_home, endpoint=hub.endpoint)
    assert info.name == "tiny"
    ranges = [r for m, p, r in hub.requests if m == "GET" and p.endswith(".bin")]
    assert len(ranges) == 1 and ranges[0].startswith("bytes=") and ranges[0] != "bytes=0-"


def test_download_cancel_then_offline_message(gen2res_home, hub_repo, online):
    from gen2res_desktop.core.download import download_prior

    token = CancelToken()
    token.cancel()
    with FakeHub({"org/tiny": hub_repo}) as hub:
        with pytest.raises(Cancelled):
            download_prior("org/tiny", home=gen2res_home, endpoint=hub.endpoint, cancel=token)
        with pytest.raises(Gen2ResError, match="No model 'org/missing'"):
            download_prior("org/missing", home=gen2res_home, endpoint=hub.endpoint)
    with pytest.raises(Gen2ResError, match="not reachable"):
        download_prior("org/tiny", home=gen2res_home, endpoint="http://127.0.0.1:9")
    assert PriorRegistry(gen2res_home).list() == []


def test_priors_are_found_by_kind_with_the_chosen_one_first(tiny_registry, tiny_prior_dir):
    from gen2res_desktop.core.errors import Gen2ResError

    # no prior is named "face": the face-kind prior stands in for it
    assert tiny_registry.for_kind("face").name == "tiny"
    assert tiny_registry.for_kind("face", "face").name == "tiny"
    tiny_registry.import_folder(tiny_prior_dir, "face", "face")
    assert tiny_registry.for_kind("face").name == "face"  # the one named like its kind
    assert tiny_registry.for_kind("face", "tiny").name == "tiny"  # the subject's choice
    with pytest.raises(Gen2ResError, match="No dog prior is installed") as e:
        tiny_registry.for_kind("dog")
    assert "in Models" in str(e.value) and "gen2res models download" in e.value.cli_text()
    # a chosen prior that is damaged says so; it is not swapped for another
    (tiny_registry.root / "tiny" / "unet" / "config.json").write_text("{")
    with pytest.raises(Gen2ResError, match="tiny"):
        tiny_registry.for_kind("face", "tiny")
