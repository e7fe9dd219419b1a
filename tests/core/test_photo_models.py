"""Photo models: import and recognise each supported architecture, run it on a real photo,
refuse what is not a model (or is more than data), and download from a local server."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from fake_release_server import FakeReleaseServer, closed_port_url
from spandrel.architectures.Compact import Compact
from tiny_photo_models import FILES, save, save_lama_torchscript

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.photo import models as pm
from gen2res_desktop.core.photo.learned import TASKS
from gen2res_desktop.core.photo.models import (
    CATALOGUE,
    PhotoModelRegistry,
    download_photo_model,
)
from gen2res_desktop.core.photo.spandrel_models import PhotoModelCache, canonical_state_dict
from gen2res_desktop.core.photo.tiles import tile_grid
from gen2res_desktop.core.photo.torchscript import is_torchscript, read_torchscript_state_dict
from gen2res_desktop.core.progress import CancelToken


@pytest.fixture(scope="session")
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photo_models")
    return {kind: save(kind, folder) for kind in FILES}


@pytest.fixture(scope="session")
def lama_script(tmp_path_factory):
    return save_lama_torchscript(tmp_path_factory.mktemp("lama"))


@pytest.fixture
def registry(tmp_path):
    return PhotoModelRegistry(tmp_path / "library")


@pytest.fixture(scope="session")
def photo():
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[40:157, 100:190])  # odd size: 90 x 117


def _installed_files(registry):
    return sorted(p.name for p in registry.root.iterdir()) if registry.root.is_dir() else []


def _one_line_naming(err: Gen2ResError, path) -> None:
    text = str(err)
    assert "\n" not in text and str(path) in text, text


# -- import, recognise, run ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FILES))
def test_import_recognises_each_architecture_and_runs(kind, model_files, registry, photo):
    filename, _, arch, task, scale = FILES[kind]
    info = registry.import_file(model_files[kind], licence="MIT")
    assert (info.name, info.arch, info.task, info.scale) == (
        model_files[kind].stem,
        arch,
        task,
        scale,
    )
    assert info.path == registry.root / f"{info.name}.safetensors" and info.path.is_file()
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert info.source_sha256 == hashlib.sha256(model_files[kind].read_bytes()).hexdigest()
    assert info.parameters > 0 and info.licence == "MIT"
    assert [i.name for i in registry.list()] == [info.name]
    assert info.to_json()["path"] == str(info.path)

    model = PhotoModelCache(registry.root.parent, "cpu").load(info.name)
    assert (model.name, model.task, model.scale, model.sha256) == (
        info.name,
        task,
        scale,
        info.sha256,
    )
    out = model.run(photo, strength=0.5, progress=lambda p: None, cancel=CancelToken())
    h, w = photo.shape[:2]
    assert out.dtype == np.uint8 and out.shape == (h * scale, w * scale, 3)


def test_training_wrappers_unwrapped_preferring_the_ema_weights(model_files, registry):
    from safetensors.torch import load_file

    raw = torch.load(model_files["esrgan-x2"], weights_only=True)
    raw["params"] = {k: v + 1 for k, v in raw["params"].items()}  # must not be the ones used
    path = model_files["esrgan-x2"].parent / "both.pth"
    torch.save(raw, path)
    info = registry.import_file(path, "x2")
    installed = load_file(info.path)
    ema = {k[len("module.") :]: v for k, v in raw["params_ema"].items()}
    assert installed.keys() == ema.keys()
    assert all(torch.equal(installed[k], ema[k]) for k in ema)


def test_lama_training_checkpoint_keeps_only_the_generator():
    g = torch.zeros(2)
    sd = canonical_state_dict(
        {
            "state_dict": {
                "generator.model.1.bn_l.running_mean": g,
                "generator.model.1.ffc.convl2l.weight": g,
                "discriminator.model.0.weight": g,
                "loss_resnet_pl.impl.weight": g,
            },
            "hyper_parameters": {"lr": 1},
        },
        "best.ckpt",
    )
    assert sorted(sd) == ["model.model.1.bn_l.running_mean", "model.model.1.ffc.convl2l.weight"]


def test_tiled_matches_untiled_for_a_convolutional_model(model_files, registry, photo):
    info = registry.import_file(model_files["compact-x4"])
    model = PhotoModelCache(registry.root.parent, "cpu").load(info.name)
    whole = model.run(photo)
    seen = []
    model.tile, model.overlap = 48, 12
    tiled = model.run(photo, progress=seen.append)
    assert seen[-1].total > 4 and seen[-1].step == seen[-1].total
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert diff.max() <= 1, diff.max()


def test_cancel_between_tiles(model_files, registry, photo):
    info = registry.import_file(model_files["compact-x4"])
    model = PhotoModelCache(registry.root.parent, "cpu").load(info.name)
    model.tile, model.overlap = 48, 12
    token = CancelToken()
    with pytest.raises(Cancelled):
        model.run(photo, progress=lambda p: token.cancel(), cancel=token)


def test_drunet_strength_sets_its_noise_level(model_files, registry, photo):
    info = registry.import_file(model_files["drunet"])
    model = PhotoModelCache(registry.root.parent, "cpu").load(info.name)
    calls = []
    inner = model.descriptor.model.forward

    def spy(x):
        calls.append(float(x[0, 3, 0, 0]))
        return inner(x)

    model.descriptor.model.forward = spy
    weak, strong = model.run(photo, strength=0.0), model.run(photo, strength=1.0)
    assert calls == pytest.approx([5 / 255, 50 / 255], abs=1e-6)
    assert not np.array_equal(weak, strong)


def test_explicit_task_checked_against_the_architecture(model_files, registry):
    info = registry.import_file(model_files["scunet"], "s-jpeg", task="jpeg")
    assert info.task == "jpeg"
    with pytest.raises(Gen2ResError, match="x4 Compact model cannot be used for denoise"):
        registry.import_file(model_files["compact-x4"], task="denoise")
    with pytest.raises(Gen2ResError, match="cannot be used for inpaint"):
        registry.import_file(model_files["scunet"], task="inpaint")
    assert [i.name for i in registry.list()] == ["s-jpeg"]


def test_names_replace_remove_and_cache(model_files, registry):
    with pytest.raises(Gen2ResError, match="not a valid photo model name"):
        registry.import_file(model_files["compact-x4"], "../escape")
    first = registry.import_file(model_files["compact-x4"], "up")
    with pytest.raises(Gen2ResError, match="already installed"):
        registry.import_file(model_files["compact-x4"], "up")
    cache = PhotoModelCache(registry.root.parent, "cpu")
    loaded = cache.load("up")
    assert cache.load("up") is loaded
    second = registry.import_file(model_files["esrgan-x2"], "up", replace=True)
    assert second.sha256 != first.sha256 and cache.load("up").scale == 2
    registry.import_file(model_files["fdncnn"], "noise")
    registry.import_file(model_files["scunet"], "scunet")
    assert cache.installed("denoise") == ["scunet", "noise"]  # catalogue models first
    assert cache.installed("inpaint") == []
    registry.remove("up")
    with pytest.raises(Gen2ResError, match=r"No photo model named 'up' .*installed: noise, scunet"):
        cache.load("up")
    with pytest.raises(Gen2ResError, match="Download it in Models") as e:
        registry.get("lama")
    assert "gen2res models download lama" in e.value.cli_text()


def test_a_changed_installed_file_is_refused(model_files, registry):
    info = registry.import_file(model_files["compact-x4"])
    data = bytearray(info.path.read_bytes())
    data[-1] ^= 0xFF
    info.path.write_bytes(bytes(data))
    with pytest.raises(Gen2ResError, match="changed or damaged"):
        PhotoModelCache(registry.root.parent, "cpu").load(info.name)


def test_killed_import_leaves_nothing_listed_and_is_swept(registry, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(proc.stdout)
    registry.root.mkdir(parents=True)
    stale = registry.root / f".staging-{dead}-0badc0de.safetensors"
    stale.write_bytes(b"half written")
    live = registry.root / f".staging-{os.getpid()}-0badc0de.safetensors"
    live.write_bytes(b"another import running now")
    assert registry.list() == []
    assert not stale.exists() and live.exists()


# -- refusals ---------------------------------------------------------------------------------


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))


def _bad_files(folder, model_files):
    good = model_files["scunet"].read_bytes()
    files = {
        "unknown.pth": lambda p: torch.save({"foo.weight": torch.ones(3, 3)}, p),
        "truncated.pth": lambda p: p.write_bytes(good[: len(good) // 2]),
        "empty.pth": lambda p: p.write_bytes(b""),
        "evil.pth": lambda p: p.write_bytes(pickle.dumps({"w": _Evil()}, protocol=2)),
        "evil-zip.pth": lambda p: torch.save({"w": torch.zeros(1), "x": _Evil()}, p),
        "noise.safetensors": lambda p: p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json"),
        "grey.pth": lambda p: torch.save(
            Compact(num_in_ch=1, num_out_ch=1, num_feat=4, num_conv=1, upscale=2).state_dict(), p
        ),
    }
    paths = {}
    for name, write in files.items():
        path = folder / name
        write(path)
        paths[name] = path
    return paths


def test_refusals_are_one_line_name_the_file_and_install_nothing(model_files, registry, tmp_path):
    bad = _bad_files(tmp_path, model_files)
    expect = {
        "unknown.pth": "unknown architecture",
        "truncated.pth": "damaged",
        "empty.pth": "empty file",
        "evil.pth": "refused for safety",
        "evil-zip.pth": "refused for safety",
        "noise.safetensors": "damaged",
        "grey.pth": "1-channel",
    }
    for name, path in bad.items():
        with pytest.raises(Gen2ResError) as e:
            registry.import_file(path)
        _one_line_naming(e.value, path)
        assert expect[name] in str(e.value), str(e.value)
    assert registry.list() == [] and _installed_files(registry) == []


def test_torchscript_with_a_forbidden_global_is_refused(tmp_path, registry):
    script = torch.jit.script(torch.nn.Conv2d(3, 3, 1))
    src = tmp_path / "ok.pt"
    script.save(str(src))
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(evil, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith("/data.pkl"):
                data = pickle.dumps(_Evil(), protocol=2)
            zout.writestr(item, data)
    assert is_torchscript(evil)
    assert read_torchscript_state_dict(src).keys() == script.state_dict().keys()
    with pytest.raises(Gen2ResError) as e:
        registry.import_file(evil)
    _one_line_naming(e.value, evil)
    assert "system" in str(e.value) and registry.list() == []


# -- LaMa: TorchScript read as data, inpainting -------------------------------------------------


def test_torchscript_reader_returns_the_models_exact_state_dict(lama_script):
    path, expected = lama_script
    assert is_torchscript(path)
    got = read_torchscript_state_dict(path)
    assert list(got) == list(expected)
    for k, v in expected.items():
        assert got[k].dtype == v.dtype and torch.equal(got[k], v), k


def test_lama_installs_as_inpainting_and_changes_only_the_holes(lama_script, registry, photo):
    path, _ = lama_script
    info = registry.import_file(path, "lama", licence="Apache-2.0")
    assert (info.arch, info.task, info.scale) == ("LaMa", "inpaint", 1)
    model = PhotoModelCache(registry.root.parent, "cpu").load("lama")
    img = np.ascontiguousarray(np.tile(photo, (2, 2, 1))[:128, :128])
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[100:104, 90:120] = 255  # a scratch and a speck in one corner
    mask[110:116, 84:90] = 255
    with pytest.raises(Gen2ResError, match="needs a damage map"):
        model.run(img)
    model.tile, model.overlap = 64, 16  # 3 x 3 tiles
    runs = []
    inner = model._forward
    model._forward = lambda *a: runs.append(1) or inner(*a)
    out = model.run(img, mask=mask)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask == 0], img[mask == 0])
    assert np.abs(out[mask > 0].astype(int) - img[mask > 0]).mean() > 1
    grid = tile_grid(128, 64, 16)
    holed = [mask[y0:y1, x0:x1].any() for y0, y1 in grid for x0, x1 in grid]
    assert len(runs) == sum(holed) < len(holed)  # only the tiles reaching the holes ran
    assert np.array_equal(model.run(img, mask=np.zeros_like(mask)), img)


# -- downloads ------------------------------------------------------------------------------


def _serve_as(monkeypatch, name, path, **changes):
    """Make catalogue entry ``name`` describe the local file ``path``; return URL path + bytes."""
    data = path.read_bytes()
    pinned = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    entry = dataclasses.replace(CATALOGUE[name], **(pinned | changes))
    monkeypatch.setitem(CATALOGUE, name, entry)
    return pm.urlsplit(entry.url).path, data


def test_download_checks_and_installs(monkeypatch, model_files, tmp_path):
    url_path, data = _serve_as(monkeypatch, "realesrgan-x2", model_files["esrgan-x2"])
    seen = []
    with FakeReleaseServer({url_path: data}) as server:
        info = download_photo_model(
            "realesrgan-x2", home=tmp_path, base_url=server.base_url, progress=seen.append
        )
    assert (info.name, info.task, info.scale, info.arch) == (
        "realesrgan-x2",
        "upscale",
        2,
        "ESRGAN",
    )
    assert info.licence == "BSD-3-Clause" and info.source == CATALOGUE["realesrgan-x2"].url
    assert info.source_page == "https://github.com/xinntao/Real-ESRGAN"
    assert info.source_sha256 == hashlib.sha256(data).hexdigest()
    downloads = [p for p in seen if p.stage == "download"]
    assert downloads[-1].step == downloads[-1].total == len(data)
    assert not list((tmp_path / "photo-models" / ".downloads").iterdir())
    with pytest.raises(Gen2ResError, match="already installed"):
        download_photo_model("realesrgan-x2", home=tmp_path, base_url="http://127.0.0.1:9")


def test_download_with_only_an_md5(monkeypatch, model_files, tmp_path):
    data = model_files["compact-x4"].read_bytes()
    url_path, _ = _serve_as(
        monkeypatch,
        "realesrgan-general-x4v3",
        model_files["compact-x4"],
        sha256=None,
        md5=hashlib.md5(data).hexdigest(),
        size=None,
    )
    with FakeReleaseServer({url_path: data}) as server:
        info = download_photo_model(
            "realesrgan-general-x4v3", home=tmp_path, base_url=server.base_url
        )
    assert info.scale == 4


def test_checksum_mismatch_refuses_and_removes(monkeypatch, model_files, tmp_path):
    url_path, data = _serve_as(
        monkeypatch, "realesrgan-x2", model_files["esrgan-x2"], sha256="0" * 64
    )
    with FakeReleaseServer({url_path: data}) as server, pytest.raises(Gen2ResError) as e:
        download_photo_model("realesrgan-x2", home=tmp_path, base_url=server.base_url)
    assert "failed its checksum" in str(e.value) and "removed" in str(e.value)
    assert "\n" not in str(e.value)
    assert not list((tmp_path / "photo-models" / ".downloads").iterdir())
    assert PhotoModelRegistry(tmp_path).list() == []


def test_dropped_connection_resumes_with_a_range_request(monkeypatch, model_files, tmp_path):
    url_path, data = _serve_as(monkeypatch, "realesrgan-x2", model_files["esrgan-x2"])
    part = tmp_path / "photo-models" / ".downloads" / "RealESRGAN_x2plus.pth.part"
    with FakeReleaseServer({"/files/x2.pth": data}) as server:
        server.redirects[url_path] = "/files/x2.pth"  # as GitHub sends releases elsewhere
        server.cuts["/files/x2.pth"] = [300_000]
        with pytest.raises(Gen2ResError) as e:
            download_photo_model("realesrgan-x2", home=tmp_path, base_url=server.base_url)
        assert "incomplete" in str(e.value) and "start the download again to resume" in str(e.value)
        assert part.stat().st_size == 300_000
        info = download_photo_model("realesrgan-x2", home=tmp_path, base_url=server.base_url)
        assert server.ranges("/files/x2.pth") == [None, "bytes=300000-"]
    assert info.source_sha256 == hashlib.sha256(data).hexdigest() and not part.exists()


def test_server_ignoring_the_range_starts_over(monkeypatch, model_files, tmp_path):
    url_path, data = _serve_as(monkeypatch, "realesrgan-x2", model_files["esrgan-x2"])
    part = tmp_path / "photo-models" / ".downloads" / "RealESRGAN_x2plus.pth.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)  # not even the right bytes: must be overwritten
    with FakeReleaseServer({url_path: data}) as server:
        server.ignore_range = True
        info = download_photo_model("realesrgan-x2", home=tmp_path, base_url=server.base_url)
        assert server.ranges(url_path) == ["bytes=1000-"]
    assert info.source_sha256 == hashlib.sha256(data).hexdigest()


def test_cancel_keeps_the_part_file_for_resume(monkeypatch, model_files, tmp_path):
    url_path, data = _serve_as(monkeypatch, "realesrgan-x2", model_files["esrgan-x2"])
    part = tmp_path / "photo-models" / ".downloads" / "RealESRGAN_x2plus.pth.part"
    token = CancelToken()

    def cancel_soon(p):
        if p.stage == "download" and p.step >= 200_000:
            token.cancel()

    with FakeReleaseServer({url_path: data}) as server:
        with pytest.raises(Cancelled):
            download_photo_model(
                "realesrgan-x2",
                home=tmp_path,
                base_url=server.base_url,
                progress=cancel_soon,
                cancel=token,
            )
        have = part.stat().st_size
        assert 0 < have < len(data)
        download_photo_model("realesrgan-x2", home=tmp_path, base_url=server.base_url)
        assert server.ranges(url_path)[-1] == f"bytes={have}-"


def test_offline_and_http_errors_are_one_line(tmp_path):
    with pytest.raises(Gen2ResError) as e:
        download_photo_model("scunet", home=tmp_path, base_url=closed_port_url())
    text = str(e.value)
    assert "not reachable (are you offline?)" in text and "\n" not in text
    with FakeReleaseServer({}) as server, pytest.raises(Gen2ResError) as e:
        download_photo_model("scunet", home=tmp_path, base_url=server.base_url)
    assert "HTTP 404" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(Gen2ResError, match="No photo model named 'nope' to download"):
        download_photo_model("nope", home=tmp_path)
    assert PhotoModelRegistry(tmp_path).list() == []


def test_catalogue_is_complete_and_pinned():
    assert set(CATALOGUE) == {
        "lama",
        "scunet",
        "drunet",
        "fbcnn",
        "realesrgan-general-x4v3",
        "realesrgan-x2",
        "realesrgan-x4",
        "bopbtl-scratch",
        "ddcolor",
        "ddcolor-artistic",
    }
    hosts = ("https://github.com/", "https://huggingface.co/")
    for e in CATALOGUE.values():
        assert e.task in TASKS and (e.sha256 or e.md5) and e.url.startswith(hosts)
        named = e.archive_member if e.archive_member else e.url
        assert e.licence and e.source_page.startswith("https://") and named.endswith(e.filename)


def test_models_module_imports_no_torch():
    code = (
        "import sys; import gen2res_desktop.core.photo.models, gen2res_desktop.cli.models_cmds; "
        "print(sorted(m for m in ('torch', 'spandrel') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
