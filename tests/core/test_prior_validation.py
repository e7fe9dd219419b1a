"""Every file the app reads for a prior is checked at the door (import) and again when an
installed prior is read; killed imports, removals and downloads leave nothing listed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file, save_file
from tiny_models import make_tiny_unet, save_tiny_prior

from gen2res_desktop.core import priors
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PriorRegistry, install, load_prior


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A valid bare UNet folder with a scheduler config, copied by each test that damages it."""
    from diffusers import DDPMScheduler

    folder = save_tiny_prior(tmp_path_factory.mktemp("src") / "bare", layout="bare")
    DDPMScheduler(num_train_timesteps=1000, clip_sample=True).save_config(folder)
    return folder


@pytest.fixture
def src(source, tmp_path):
    return shutil.copytree(source, tmp_path / "src")


def _edit(path, change) -> None:
    data = json.loads(path.read_text())
    if callable(change):
        data = change(data)
    else:
        data.update(change)
    path.write_text(json.dumps(data))


def _refused(registry, src, *needles):
    with pytest.raises(Gen2ResError) as info:
        registry.import_folder(src, "bad", "face")
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    for needle in needles:
        assert needle in message, message
    assert registry.list() == []
    assert [p.name for p in registry.root.iterdir()] == [] if registry.root.exists() else True
    return message


UNET_CASES = {
    "sample_size huge": ({"sample_size": 100000}, "'sample_size'"),
    "sample_size 7": ({"sample_size": 7}, "'sample_size'"),
    "sample_size true": ({"sample_size": True}, "'sample_size'"),
    "sample_size text": ({"sample_size": "32"}, "'sample_size'"),
    "sample_size not square": ({"sample_size": [32, 16]}, "'sample_size'"),
    "sample_size odd for 2 levels": ({"sample_size": 33}, "a multiple of 2"),
    "four input channels": ({"in_channels": 4}, "'in_channels'"),
    "no blocks": ({"block_out_channels": []}, "'block_out_channels'"),
    "negative channels": ({"block_out_channels": [32, -64]}, "'block_out_channels'"),
    "channels text": ({"block_out_channels": "32,64"}, "'block_out_channels'"),
    "block types not a list": ({"down_block_types": "DownBlock2D"}, "'down_block_types'"),
    "conditional block": (
        {"down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"]},
        "'down_block_types'",
    ),
    "class conditional": ({"num_class_embeds": 10}, "'num_class_embeds'"),
    "groups do not divide": ({"norm_num_groups": 7}, "'norm_num_groups'"),
    "layers zero": ({"layers_per_block": 0}, "'layers_per_block'"),
    "a JSON list": (lambda d: [d], "must be a JSON object, not list"),
    "null": (lambda d: None, "must be a JSON object, not null"),
}


@pytest.mark.parametrize("case", UNET_CASES)
def test_unusable_unet_configs_are_refused_at_import(gen2res_home, src, case):
    change, needle = UNET_CASES[case]
    _edit(src / "config.json", change)
    message = _refused(PriorRegistry(gen2res_home), src, "config.json", needle)
    assert "import a diffusers UNet2DModel prior" in message


def test_config_that_is_not_json_is_refused(gen2res_home, src):
    (src / "config.json").write_text('{"_class_name": "UNet2DModel", "sample_size": 32')
    _refused(PriorRegistry(gen2res_home), src, "config.json", "not valid JSON")


SCHEDULER_CASES = {
    "zero timesteps": ({"num_train_timesteps": 0}, "'num_train_timesteps'"),
    "bool timesteps": ({"num_train_timesteps": True}, "'num_train_timesteps'"),
    "too many timesteps": ({"num_train_timesteps": 10**6}, "'num_train_timesteps'"),
    "unknown schedule": ({"beta_schedule": "cosine"}, "'beta_schedule'"),
    "beta_start zero": ({"beta_start": 0}, "'beta_start'"),
    "beta_end above one": ({"beta_end": 1.5}, "'beta_end'"),
    "beta text": ({"beta_start": "0.0001"}, "'beta_start'"),
    "start above end": ({"beta_start": 0.03, "beta_end": 0.02}, "'beta_end'"),
    "v prediction": ({"prediction_type": "v_prediction"}, "'prediction_type'"),
    "clip_sample text": ({"clip_sample": "yes"}, "'clip_sample'"),
    "learned variance": ({"variance_type": "learned"}, "'variance_type'"),
    "trained betas wrong length": ({"trained_betas": [0.1, 0.2]}, "'trained_betas'"),
    "zero snr": ({"rescale_betas_zero_snr": True}, "'rescale_betas_zero_snr'"),
    "another scheduler": ({"_class_name": "ScoreSdeVeScheduler"}, "'_class_name'"),
    "a JSON list": (lambda d: [d], "must be a JSON object"),
}


@pytest.mark.parametrize("case", SCHEDULER_CASES)
def test_unusable_scheduler_configs_are_refused_at_import(gen2res_home, src, case):
    change, needle = SCHEDULER_CASES[case]
    _edit(src / "scheduler_config.json", change)
    _refused(PriorRegistry(gen2res_home), src, "scheduler_config.json", needle)


def test_scheduler_config_that_is_not_json_is_refused(gen2res_home, src):
    (src / "scheduler_config.json").write_bytes(b"\xff\xfe not json at all")
    _refused(PriorRegistry(gen2res_home), src, "scheduler_config.json")


@pytest.mark.parametrize("problem", ["missing tensor", "extra tensor", "wrong shape", "nan", "int"])
def test_weights_must_be_what_the_config_describes(gen2res_home, src, problem):
    weights = src / priors.WEIGHTS_NAME
    state = load_file(weights)
    key = sorted(state)[3]
    if problem == "missing tensor":
        del state[key]
        needle = "1 missing"
    elif problem == "extra tensor":
        state["stowaway.weight"] = torch.zeros(3)
        needle = "1 unexpected (such as stowaway.weight)"
    elif problem == "wrong shape":
        state[key] = torch.zeros(2, 2)
        needle = f"tensor {key} has shape [2, 2]"
    elif problem == "nan":
        state[key] = torch.full_like(state[key], float("nan"))
        needle = "not finite"
    else:
        state[key] = state[key].to(torch.int32)
        needle = "not floating point"
    save_file(state, str(weights))
    _refused(PriorRegistry(gen2res_home), src, str(weights), needle)


def test_bin_weights_that_are_not_a_table_of_tensors(gen2res_home, src):
    (src / priors.WEIGHTS_NAME).unlink()
    torch.save([1, 2, 3], src / "diffusion_pytorch_model.bin")
    _refused(PriorRegistry(gen2res_home), src, "diffusion_pytorch_model.bin", "not a weights file")


def test_the_checked_configs_are_what_is_installed(gen2res_home, src):
    info = PriorRegistry(gen2res_home).import_folder(src, "ok", "face")
    assert info.resolution == 32
    sched = json.loads((info.path / "scheduler" / "scheduler_config.json").read_text())
    assert sched["num_train_timesteps"] == 1000 and sched["clip_sample"] is True


# ---------------------------------------------------------------------- installed priors


def _damage_prior_json(change):
    return lambda info: _edit(info.path / "prior.json", change)


INSTALLED_CASES = {
    "prior.json a list": (_damage_prior_json(lambda d: [d]), "prior.json", "JSON object"),
    "prior.json null": (_damage_prior_json(lambda d: None), "prior.json", "JSON object"),
    "prior.json garbage": (
        lambda info: (info.path / "prior.json").write_text("{garbage"),
        "prior.json",
        "not valid JSON",
    ),
    "resolution text": (_damage_prior_json({"resolution": "32"}), "prior.json", "'resolution'"),
    "resolution huge": (
        _damage_prior_json({"resolution": 10**6}),
        "prior.json",
        "'resolution'",
    ),
    "resolution differs": (_damage_prior_json({"resolution": 64}), "prior.json", "sample_size"),
    "kind unknown": (_damage_prior_json({"kind": "horse"}), "prior.json", "'kind'"),
    "hash missing": (
        _damage_prior_json(lambda d: {k: v for k, v in d.items() if k != "weights_hash"}),
        "prior.json",
        "'weights_hash'",
    ),
    "name of another folder": (_damage_prior_json({"name": "face"}), "prior.json", "'name'"),
    "unet config edited": (
        lambda info: _edit(info.path / "unet" / "config.json", {"sample_size": 100000}),
        "config.json",
        "'sample_size'",
    ),
    "scheduler config edited": (
        lambda info: _edit(
            info.path / "scheduler" / "scheduler_config.json", {"num_train_timesteps": 0}
        ),
        "scheduler_config.json",
        "'num_train_timesteps'",
    ),
    "weights gone": (
        lambda info: (info.path / "unet" / priors.WEIGHTS_NAME).unlink(),
        priors.WEIGHTS_NAME,
        "missing",
    ),
}


@pytest.mark.parametrize("case", INSTALLED_CASES)
def test_a_prior_damaged_on_disk_is_explained_not_a_traceback(tiny_registry, case):
    damage, filename, needle = INSTALLED_CASES[case]
    before = tiny_registry.get("tiny")
    damage(before)

    with pytest.raises(Gen2ResError) as info:
        tiny_registry.get("tiny")
    message = str(info.value)
    assert "\n" not in message and filename in message and needle in message, message
    assert "Remove the prior 'tiny'" in message and "Models" in message
    with pytest.raises(Gen2ResError, match="Remove the prior 'tiny'"):
        load_prior(before, "cpu")  # read before the damage: loading checks the files again
    # a listing reads prior.json only; `problems` names every prior that cannot be used
    listed = [p.name for p in tiny_registry.list()]
    prior_json_alone_is_sound = filename != "prior.json" or case == "resolution differs"
    assert listed == (["tiny"] if prior_json_alone_is_sound else [])
    assert tiny_registry.problems() == [("tiny", message)]
    tiny_registry.remove("tiny")  # a damaged prior can still be removed
    assert not before.path.exists() and tiny_registry.problems() == []


def test_unknown_keys_in_prior_json_are_ignored_and_path_is_never_taken_from_it(tiny_registry):
    info = tiny_registry.get("tiny")
    _edit(info.path / "prior.json", {"path": "/etc", "added_by_a_newer_version": 1})
    assert tiny_registry.get("tiny").path == info.path


# ---------------------------------------------------------------------- leftovers


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path, seconds: float) -> None:
    old = time.time() - seconds
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            os.utime(os.path.join(dirpath, n), (old, old), follow_symlinks=False)
    os.utime(path, (old, old))


def test_staging_of_a_killed_import_is_never_listed_and_is_cleaned(
    gen2res_home, tiny_prior_dir, monkeypatch, tmp_path
):
    registry = PriorRegistry(gen2res_home)
    dead = _dead_pid()
    kept = {}
    real_build = install.build_unet

    def snapshot_then_build(unet_dir):
        staging = unet_dir.parent  # complete, prior.json included: as a kill would leave it
        # the staging folder of an import still running (this process) is left alone
        assert PriorRegistry(gen2res_home).list() == []
        assert staging.is_dir()
        name = staging.name.replace(f".pid{os.getpid()}", f".pid{dead}")
        kept["killed"] = shutil.copytree(staging, tmp_path / name)
        return real_build(unet_dir)

    monkeypatch.setattr(install, "build_unet", snapshot_then_build)
    registry.import_folder(tiny_prior_dir, "tiny", "face")
    monkeypatch.undo()
    killed = kept["killed"].rename(registry.root / kept["killed"].name)
    assert killed.name.startswith(".import-tiny-") and (killed / "prior.json").is_file()
    # older versions named staging folders without a pid: gone once stale
    old_style = shutil.copytree(killed, gen2res_home / "priors" / ".import-cat-x1y2z3")
    young_old_style = shutil.copytree(killed, gen2res_home / "priors" / ".import-dog-a1b2c3")
    _age(old_style, priors.STALE_SECONDS + 60)
    removing = shutil.copytree(killed, gen2res_home / "priors" / ".removing-face")

    assert [p.name for p in registry.list()] == ["tiny"]

    assert not killed.exists() and not old_style.exists() and not removing.exists()
    assert young_old_style.exists()  # may be a live import of an older version
    with pytest.raises(Gen2ResError, match="No prior named"):
        registry.get(".import-dog-a1b2c3")


def test_download_folders_are_never_listed_and_cleaned_when_stale(gen2res_home, tiny_prior_dir):
    registry = PriorRegistry(gen2res_home)
    downloads = gen2res_home / "priors" / ".downloads"
    dead = str(_dead_pid())

    def leftover(name: str, age: float, owner: str | None) -> object:
        folder = shutil.copytree(tiny_prior_dir, downloads / name)
        (folder / "unet" / "prior.json").write_text("{}")
        if owner:
            (folder / priors.OWNER_FILE).write_text(owner)
        _age(folder, age)
        return folder

    resumable = leftover("face", 3600 * 5, dead)  # a cut-off download: kept to resume
    abandoned = leftover("cat", priors.DOWNLOAD_STALE_SECONDS + 60, dead)
    running = leftover("dog", 3 * 24 * 3600, str(os.getpid()))  # a slow one, still going
    registry.import_folder(tiny_prior_dir, "tiny", "face")
    finished = leftover("tiny", 60, dead)  # killed after installing, before removing it

    assert [p.name for p in registry.list()] == ["tiny"]
    assert resumable.exists() and running.exists()
    assert not abandoned.exists() and not finished.exists()


def test_download_names_from_the_hub_cannot_leave_the_download_folder():
    from gen2res_desktop.core.download import _select_files

    names = [
        "config.json",
        "scheduler_config.json",
        "unet/config.json",
        "../../evil.json",
        "/etc/evil.json",
        "unet/../../evil.json",
        ".hidden.json",
        "deep/inside/x.json",
        "diffusion_pytorch_model.bin",
    ]
    assert _select_files(names) == [
        "config.json",
        "scheduler_config.json",
        "unet/config.json",
        "diffusion_pytorch_model.bin",
    ]


def test_download_refuses_a_name_that_is_not_a_prior_name(gen2res_home):
    from gen2res_desktop.core.download import download_prior

    with pytest.raises(Gen2ResError, match="not a valid prior name"):
        download_prior("org/x", name="..", home=gen2res_home, endpoint="http://127.0.0.1:9")
    assert not (gen2res_home / "priors").exists()


def test_tiny_unet_is_valid_as_built(tmp_path):
    """The validator accepts what diffusers writes for the architectures the app uses."""
    unet = make_tiny_unet()
    unet.save_pretrained(tmp_path / "u")
    cfg = json.loads((tmp_path / "u" / "config.json").read_text())
    assert priors.validate_unet_config(cfg, tmp_path / "u" / "config.json") == 32
    real = dict(
        cfg,
        sample_size=256,
        block_out_channels=[128, 128, 256, 256, 512, 512],
        down_block_types=["DownBlock2D"] * 4 + ["AttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "AttnUpBlock2D"] + ["UpBlock2D"] * 4,
        norm_num_groups=32,
        layers_per_block=2,
        attention_head_dim=None,
    )
    assert priors.validate_unet_config(real, tmp_path / "celebahq.json") == 256


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")
def test_a_pipe_or_device_in_place_of_a_config_is_refused_not_read(tiny_registry):
    import threading

    info = tiny_registry.get("tiny")
    sched = info.path / "scheduler" / "scheduler_config.json"
    sched.unlink()
    os.mkfifo(sched)
    result = {}

    def read():
        try:
            tiny_registry.get("tiny")
        except Gen2ResError as e:
            result["message"] = str(e)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(20)
    hung = worker.is_alive()
    while worker.is_alive():  # unblock a reader stuck on the pipe, then fail
        try:
            os.close(os.open(sched, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        worker.join(0.2)
    assert not hung, "reading the prior hung on a named pipe"
    assert "scheduler_config.json: not a regular file" in result["message"]
    sched.unlink()
    sched.symlink_to("/dev/zero")
    with pytest.raises(Gen2ResError, match="not a regular file"):
        tiny_registry.get("tiny")
