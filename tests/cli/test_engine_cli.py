"""Every engine command end to end, through the real entry point, on a real photo."""

import json
import subprocess
import sys

import pytest
import torch
from PIL import Image
from tiny_models import make_tiny_unet, save_tiny_prior

from gen2res_desktop.cli.main import main


@pytest.fixture
def photos(tmp_path, astronaut, astronaut_face):
    crop = tmp_path / "face.png"
    astronaut_face.save(crop)
    album = tmp_path / "album"
    album.mkdir()
    for i in range(6):
        astronaut.crop((140 + 3 * i, 25, 270 + 3 * i, 155)).save(album / f"good_{i}.jpg")
    return crop, album


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert "gen2res 0.1.0" in capsys.readouterr().out


def test_models_import_list_train_album_restore(
    capsys, gen2res_home, tiny_prior_dir, photos, tmp_path
):
    crop, album = photos
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "No priors installed" in out

    code, out, _ = run(
        capsys, "models", "import", str(tiny_prior_dir), "--name", "tiny", "--kind", "face"
    )
    assert code == 0 and "Installed prior 'tiny'" in out
    code, out, _ = run(capsys, "models", "list", "--json")
    listed = json.loads(out)["priors"]
    assert code == 0 and listed[0]["name"] == "tiny" and listed[0]["resolution"] == 32

    adapter = tmp_path / "grandma.safetensors"
    code, out, _ = run(
        capsys,
        "train",
        "--prior",
        "tiny",
        "--images",
        str(album),
        "--out",
        str(adapter),
        "--steps",
        "6",
        "--rank",
        "4",
        "--batch",
        "2",
        "--lr",
        "1e-3",
        "--seed",
        "1",
    )
    assert code == 0 and adapter.is_file() and "6 steps on 6 images" in out

    code, out, _ = run(
        capsys,
        "album",
        str(crop),
        "--prior",
        "tiny",
        "--out",
        str(tmp_path / "gen"),
        "--count",
        "3",
        "--strength",
        "20",
    )
    assert code == 0 and len(list((tmp_path / "gen").glob("album_*.png"))) == 3

    restored = tmp_path / "restored.png"
    code, _, _ = run(
        capsys,
        "restore",
        str(crop),
        "--prior",
        "tiny",
        "--adapter",
        str(adapter),
        "--out",
        str(restored),
        "--strength",
        "30",
        "--steps",
        "5",
        "--seed",
        "2",
    )
    assert code == 0
    assert Image.open(restored).size == Image.open(crop).size

    single = tmp_path / "single.jpg"
    code, _, _ = run(
        capsys,
        "restore",
        str(crop),
        "--prior",
        "tiny",
        "--single",
        "--album-count",
        "2",
        "--album-strength",
        "20",
        "--train-steps",
        "2",
        "--strength",
        "20",
        "--out",
        str(single),
    )
    assert code == 0 and Image.open(single).format == "JPEG"

    code, _, _ = run(
        capsys,
        "restore",
        str(crop),
        "--prior",
        "tiny",
        "--unconstrained",
        "--strength",
        "10",
        "--out",
        str(tmp_path / "plain.png"),
    )
    assert code == 0


def test_expected_errors_exit_1_with_one_line(capsys, tiny_registry, tmp_path, photos):
    crop, _ = photos
    cases = [
        [
            "restore",
            str(crop),
            "--prior",
            "nope",
            "--unconstrained",
            "--out",
            str(tmp_path / "x.png"),
        ],
        [
            "restore",
            str(tmp_path / "missing.png"),
            "--prior",
            "tiny",
            "--unconstrained",
            "--out",
            "x.png",
        ],
        ["restore", str(crop), "--prior", "tiny", "--out", str(tmp_path / "x.png")],
        [
            "restore",
            str(crop),
            "--prior",
            "tiny",
            "--unconstrained",
            "--strength",
            "5000",
            "--out",
            "x.png",
        ],
        ["models", "import", str(tmp_path), "--name", "x", "--kind", "face"],
        ["train", "--prior", "tiny", "--images", str(tmp_path / "none"), "--out", "a.safetensors"],
        ["restore", str(crop), "--prior", "tiny", "--adapter", str(crop), "--out", "x.png"],
    ]
    for argv in cases:
        code, _, err = run(capsys, *argv)
        assert code == 1, argv
        assert err.startswith("gen2res: ") and err.count("\n") == 1 and "Traceback" not in err, err


def test_adapter_for_another_prior_refused_on_cli(capsys, tiny_registry, tmp_path, photos):
    crop, album = photos
    tiny_registry.import_folder(save_tiny_prior(tmp_path / "cat", seed=9), "cat", "cat")
    adapter = tmp_path / "a.safetensors"
    assert (
        run(
            capsys,
            "train",
            "--prior",
            "tiny",
            "--images",
            str(album),
            "--out",
            str(adapter),
            "--steps",
            "1",
        )[0]
        == 0
    )
    code, _, err = run(
        capsys,
        "restore",
        str(crop),
        "--prior",
        "cat",
        "--adapter",
        str(adapter),
        "--out",
        str(tmp_path / "x.png"),
    )
    assert code == 1 and "trained for the prior 'tiny'" in err


def test_models_download_against_fake_hub(capsys, gen2res_home, tmp_path, monkeypatch):
    import huggingface_hub.constants as c
    from fake_hub import FakeHub

    repo = save_tiny_prior(tmp_path / "repo", layout="bare")
    torch.save(make_tiny_unet().state_dict(), repo / "diffusion_pytorch_model.bin")
    (repo / "diffusion_pytorch_model.safetensors").unlink()
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    with FakeHub({"google/ddpm-ema-cat-256": repo}) as hub:
        monkeypatch.setattr(c, "ENDPOINT", hub.endpoint)
        code, out, err = run(capsys, "models", "download", "cat")
    assert code == 0, err
    assert "Installed prior 'cat'" in out


def test_usage_errors_exit_2_and_no_traceback():
    r = subprocess.run(
        [sys.executable, "-m", "gen2res_desktop.cli.main", "restore"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "gen2res_desktop.cli.main",
            "models",
            "download",
            "face",
            "--name",
            "f",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **__import__("os").environ,
            "HF_HUB_OFFLINE": "0",
            "HF_ENDPOINT": "http://127.0.0.1:9",
            "GEN2RES_HOME": str(__import__("tempfile").mkdtemp()),
        },
    )
    assert r.returncode == 1 and "offline" in r.stderr and "Traceback" not in r.stderr


def test_train_flags_default_to_the_engine_defaults():
    from gen2res_desktop.cli.engine_cmds import train_options
    from gen2res_desktop.cli.main import build_parser
    from gen2res_desktop.core.training import TrainOptions

    base = ["train", "--images", "x", "--prior", "p", "--out", "o.safetensors"]
    assert train_options(build_parser().parse_args(base)) == TrainOptions()
    options = train_options(build_parser().parse_args([*base, "--max-timestep", "0", "--flip"]))
    assert options.max_timestep is None and options.flip
