"""``gen2res models``: priors and photo models side by side, through the real entry point."""

import dataclasses
import hashlib
import json
from urllib.parse import urlsplit

import pytest
from fake_release_server import FakeReleaseServer, closed_port_url
from tiny_photo_models import save

from gen2res_desktop.cli.main import main
from gen2res_desktop.core.photo.models import CATALOGUE


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def listed_prior(gen2res_home):
    """An installed prior as `models list` sees it (its metadata; no weights are read)."""
    folder = gen2res_home / "priors" / "tiny"
    folder.mkdir(parents=True)
    meta = {
        "name": "tiny",
        "kind": "face",
        "resolution": 32,
        "parameters": 1000,
        "weights_hash": "ab" * 32,
        "source": "test",
        "revision": None,
        "installed_at": "2025-01-01T00:00:00+00:00",
    }
    (folder / "prior.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def upscaler(tmp_path_factory):
    return save("compact-x4", tmp_path_factory.mktemp("cli_models"))


def test_list_import_and_remove_both_kinds(capsys, listed_prior, upscaler):
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    assert "Priors:" in out and "tiny" in out and "face" in out
    assert "No photo models installed" in out
    assert "Available to download" in out and "realesrgan-x4" in out and "BSD-3-Clause" in out

    code, out, err = run(
        capsys, "models", "import", str(upscaler), "--name", "up4", "--licence", "BSD-3-Clause"
    )
    assert code == 0, err
    assert "Installed photo model 'up4' (upscale, Compact x4" in out

    code, out, _ = run(capsys, "models", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and set(listed) == {"priors", "unusable_priors", "photo_models", "available"}
    # the fixture's prior is metadata only: listed, and said to be unusable, with why
    assert [p["name"] for p in listed["unusable_priors"]] == ["tiny"]
    assert [p["name"] for p in listed["priors"]] == ["tiny"]
    (model,) = listed["photo_models"]
    assert (model["name"], model["task"], model["arch"], model["scale"]) == (
        "up4",
        "upscale",
        "Compact",
        4,
    )
    assert model["licence"] == "BSD-3-Clause" and model["sha256"]
    assert {a["name"] for a in listed["available"]} == set(CATALOGUE)

    code, out, _ = run(capsys, "models", "list")
    assert "up4" in out and "No photo models installed" not in out

    assert run(capsys, "models", "remove", "up4")[:2] == (0, "Removed photo model 'up4'.\n")
    assert run(capsys, "models", "remove", "tiny")[:2] == (0, "Removed prior 'tiny'.\n")
    code, out, _ = run(capsys, "models", "list", "--json")
    listed = json.loads(out)
    assert listed["priors"] == [] and listed["photo_models"] == []


def test_download_a_photo_model_from_the_catalogue(capsys, gen2res_home, monkeypatch, upscaler):
    data = upscaler.read_bytes()
    entry = CATALOGUE["realesrgan-general-x4v3"]
    path = urlsplit(entry.url).path
    with FakeReleaseServer({path: data}) as server:
        monkeypatch.setitem(
            CATALOGUE,
            entry.name,
            dataclasses.replace(
                entry,
                url=server.base_url + path,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            ),
        )
        code, out, err = run(capsys, "models", "download", "realesrgan-general-x4v3")
    assert code == 0, err
    assert "Installed photo model 'realesrgan-general-x4v3' (upscale, Compact x4" in out
    assert "licence BSD-3-Clause" in out
    code, out, _ = run(capsys, "models", "list", "--json")
    listed = json.loads(out)
    assert [m["name"] for m in listed["photo_models"]] == ["realesrgan-general-x4v3"]
    assert "realesrgan-general-x4v3" not in {a["name"] for a in listed["available"]}


def test_errors_exit_1_with_one_line(capsys, gen2res_home, monkeypatch, tmp_path, upscaler):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model at all")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    entry = CATALOGUE["scunet"]
    monkeypatch.setitem(
        CATALOGUE,
        "scunet",
        dataclasses.replace(entry, url=closed_port_url() + urlsplit(entry.url).path),
    )
    cases = [
        (["models", "import", str(junk)], "damaged"),
        (["models", "import", str(notes)], "neither a prior folder nor a photo model file"),
        (["models", "import", str(tmp_path / "missing.pth")], "no such file"),
        (
            ["models", "import", str(upscaler), "--kind", "face"],
            "--kind is for priors: a prior folder, or a guided-diffusion (ADM) checkpoint",
        ),
        (["models", "import", str(upscaler), "--task", "inpaint"], "cannot be used for inpaint"),
        (["models", "import", str(tmp_path)], "needs --name and --kind"),
        (["models", "download", "scunet"], "offline"),
        (["models", "download", "scunet", "--name", "x"], "keeps its catalogue name"),
        (["models", "remove", "nothing"], "No prior or photo model named 'nothing'"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *argv)
        assert code == 1, argv
        assert err.startswith("gen2res: ") and err.count("\n") == 1, err
        assert message in err and "Traceback" not in err, err
    assert json.loads(run(capsys, "models", "list", "--json")[1])["photo_models"] == []


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["models", "import", "x.pth", "--task", "colourise"])
    assert e.value.code == 2


class _Payload:
    def __reduce__(self):
        return (print, ("owned",))


def test_hostile_model_files_are_one_line_on_the_command_line(capsys, gen2res_home, tmp_path):
    """A pickle payload or a damaged file, as an ADM checkpoint or a photo model: one line
    that names the file and never PyTorch's advice to load it with weights_only off."""
    import torch

    payload = tmp_path / "payload.pt"
    torch.save({"w": torch.zeros(1), "x": _Payload()}, payload)
    truncated = tmp_path / "truncated.pth"
    torch.save({"conv.weight": torch.randn(16, 3, 3, 3)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:700])
    photo_payload = payload.with_suffix(".pth")
    photo_payload.write_bytes(payload.read_bytes())
    adm = ["--format", "adm", "--name", "x", "--kind", "face"]
    cases = [
        ([str(payload), *adm], payload, "refused for safety"),
        ([str(truncated), *adm], truncated, "damaged or not a model file"),
        ([str(photo_payload)], photo_payload, "refused for safety"),
        ([str(truncated)], truncated, "damaged or not a model file"),
    ]
    for argv, path, needle in cases:
        code, _, err = run(capsys, "models", "import", *argv)
        assert code == 1 and err.count("\n") == 1, err
        assert str(path) in err and needle in err, err
        for leak in ("weights_only", "Re-running", "Errno", "Traceback"):
            assert leak not in err, err
