"""The learned damage detector of "Bringing Old Photos Back to Life": its network takes
the released checkpoint's layout, runs the authors' way (tiled where asked), installs and
loads through the photo model registry, refuses bad files in one line, and downloads only
its own member out of the authors' zip archive (from a local server)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile

import numpy as np
import pytest
import torch
from fake_release_server import FakeReleaseServer
from tiny_photo_models import save

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.photo import models as pm
from gen2res_desktop.core.photo import scratch_detector as sdet
from gen2res_desktop.core.photo.models import CATALOGUE, PhotoModelRegistry, download_photo_model
from gen2res_desktop.core.photo.spandrel_models import PhotoModelCache
from gen2res_desktop.core.progress import CancelToken

MEMBER = "checkpoints/detection/FT_Epoch_latest.pt"

# Names and shapes of the authors' UNet(in_channels=1, out_channels=1, depth=4, conv_num=2,
# wf=6, antialiasing=True, ...) as listed from their networks.py (a sample of its 156).
RELEASED = {
    "first.1.weight": (64, 1, 7, 7),
    "down_sample.0.1.weight": (64, 64, 3, 3),
    "down_sample.0.2.running_var": (64,),
    "down_sample.3.4.filt": (512, 1, 3, 3),
    "down_path.0.block.1.weight": (128, 64, 3, 3),
    "down_path.3.block.5.weight": (1024, 1024, 3, 3),
    "down_path.3.block.6.num_batches_tracked": (),
    "up_path.0.up.2.weight": (512, 1024, 3, 3),
    "up_path.0.conv_block.block.1.weight": (512, 1024, 3, 3),
    "up_path.3.conv_block.block.6.bias": (64,),
    "last.1.weight": (1, 64, 3, 3),
    "last.1.bias": (1,),
}


def _random_net(wf: int = 6, seed: int = 0) -> sdet.ScratchUNet:
    """Random weights, random BN statistics, and a last layer scaled so the damage
    probability spans 0..1 around the threshold (a default init sits near 0.5)."""
    torch.manual_seed(seed)
    net = sdet.ScratchUNet(sdet.UNetShape(wf=wf)).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
                m.num_batches_tracked.fill_(1000)
        x = torch.from_numpy(sdet.prepare(_photo()))[None, None]
        z = net(x)
        scale = 3.0 / z.std()
        net.last[1].weight.mul_(scale)
        net.last[1].bias.mul_(scale)
        net.last[1].bias.sub_(net(x).mean() - float(np.log(0.4 / 0.6)))
    return net


def _photo() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[40:157, 100:190])  # odd size: 90 x 117


def _checkpoint(net: torch.nn.Module) -> dict:
    """Shaped like the released file: the model beside its training state."""
    return {
        "model_state": net.state_dict(),
        "optimizer_state": {"state": {}, "param_groups": [{"lr": 2e-4, "params": [0, 1]}]},
        "epoch": 20,
    }


@pytest.fixture(scope="module")
def net() -> sdet.ScratchUNet:
    return _random_net()


@pytest.fixture(scope="module")
def small_net() -> sdet.ScratchUNet:
    """The released key names at a quarter of the width: quick where width is no matter."""
    return _random_net(wf=4)


@pytest.fixture(scope="module")
def detector_file(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("bopbtl") / "FT_Epoch_latest.pt"
    torch.save(_checkpoint(net), path)
    return path


def test_network_has_the_released_layout_and_loads_it_strictly(net):
    sd = net.state_dict()
    assert len(sd) == 156
    for key, shape in RELEASED.items():
        assert tuple(sd[key].shape) == shape, key
    filt = sd["down_sample.1.4.filt"][0, 0]
    assert torch.allclose(filt, torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16.0)
    rebuilt = sdet.build({k: v.clone() for k, v in sd.items()}, "x")
    assert rebuilt.shape == sdet.UNetShape()
    assert sdet.parameters(rebuilt) == 37_626_177
    x = torch.randn(1, 1, 64, 96)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), net(x))


def test_working_size_is_the_authors(net):
    # short side 256, both sides rounded to multiples of 16 (half to even, as round())
    assert sdet.working_sizes(117, 90) == ((112, 96), (304, 256))
    assert sdet.working_sizes(3000, 4000) == ((3008, 4000), (256, 336))
    assert sdet.prepare(_photo()).shape == (304, 256)


def test_tiled_matches_whole_image(small_net):
    rgb = _photo()
    whole = sdet.ScratchDetectorModel(small_net, tile=4096)
    tiled = sdet.ScratchDetectorModel(small_net, tile=144, overlap=48)
    seen = []
    a = whole.probabilities(rgb)
    b = tiled.probabilities(rgb, progress=seen.append)
    assert seen[-1].total > 4 and a.shape == b.shape  # really tiled, at unaligned starts
    assert 0.05 < (a >= 0.4).mean() < 0.95  # a map with both classes: a real check
    assert np.abs(a - b).max() < 0.01
    assert ((a >= 0.4) == (b >= 0.4)).mean() >= 0.999
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        tiled.run(rgb, cancel=token)


def test_import_load_and_run_through_the_registry(detector_file, tmp_path):
    registry = PhotoModelRegistry(tmp_path)
    info = registry.import_file(detector_file, "bopbtl-scratch", licence="MIT")
    assert (info.task, info.arch, info.scale) == ("damage", "BOPBTLScratchUNet", 1)
    assert info.parameters == 37_626_177
    cache = PhotoModelCache(tmp_path, device="cpu")
    assert cache.installed("damage") == ["bopbtl-scratch"]
    assert cache.installed("denoise") == []
    model = cache.load("bopbtl-scratch")
    assert cache.load("bopbtl-scratch") is model and model.sha256 == info.sha256
    rgb = _photo()
    seen = []
    out = model.run(rgb, progress=seen.append, cancel=CancelToken())
    assert out.dtype == np.uint8 and out.shape == rgb.shape[:2]
    assert set(np.unique(out)) == {0, 255} and seen[-1].stage == "damage"
    # the map is the thresholded probability scaled back (nearest) to the photo
    prob = model.probabilities(rgb)
    assert abs((out > 0).mean() - (prob >= 0.4).mean()) < 0.02
    with pytest.raises(Gen2ResError, match="8-bit RGB"):
        model.run(rgb[..., 0])


def _refusal(registry, path, **kw) -> str:
    with pytest.raises(Gen2ResError) as e:
        registry.import_file(path, **kw)
    text = str(e.value)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_damaged_or_wrong_checkpoints_are_refused_in_one_line(net, detector_file, tmp_path):
    registry = PhotoModelRegistry(tmp_path / "library")
    folder = tmp_path / "bad"
    folder.mkdir()
    ckpt = _checkpoint(net)
    wrong_shape = dict(ckpt["model_state"])
    wrong_shape["down_path.3.block.5.weight"] = torch.zeros(1024, 512, 3, 3)
    torch.save({**ckpt, "model_state": wrong_shape}, folder / "shape.pt")
    missing = dict(ckpt["model_state"])
    del missing["up_path.1.conv_block.block.2.running_var"]
    torch.save({**ckpt, "model_state": missing}, folder / "missing.pt")
    data = detector_file.read_bytes()
    (folder / "truncated.pt").write_bytes(data[: len(data) // 2])
    compact = save("compact-x4", folder)

    text = _refusal(registry, folder / "shape.pt")
    assert "scratch detector" in text and "do not fit" in text and "shape.pt" in text
    text = _refusal(registry, folder / "missing.pt")
    assert "do not fit" in text and "running_var" in text
    assert "truncated.pt" in _refusal(registry, folder / "truncated.pt")
    assert "cannot be used for damage" in _refusal(registry, compact, task="damage")
    text = _refusal(registry, detector_file, task="denoise")
    assert "it is for damage" in text
    assert registry.list() == []


# -- downloading the member out of the archive ---------------------------------------------


def _archive(member_bytes: bytes, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    """An archive like global_checkpoints.zip: big members around the one wanted."""
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("checkpoints/restoration/mapping_quality/latest_net_G.pth", rng.bytes(300_000))
        z.writestr(MEMBER, member_bytes, compress_type=compress)
        z.writestr("checkpoints/restoration/VAE_A_quality/latest_net_G.pth", rng.bytes(200_000))
    return buf.getvalue()


def _serve(monkeypatch, member_bytes: bytes, compress: int = zipfile.ZIP_DEFLATED):
    entry = dataclasses.replace(
        CATALOGUE["bopbtl-scratch"], sha256=hashlib.sha256(member_bytes).hexdigest()
    )
    monkeypatch.setitem(CATALOGUE, "bopbtl-scratch", entry)
    archive = _archive(member_bytes, compress)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo(MEMBER)
    return pm.urlsplit(entry.url).path, archive, info


@pytest.fixture(scope="module")
def small_detector(small_net) -> bytes:
    buf = io.BytesIO()
    torch.save(_checkpoint(small_net), buf)
    return buf.getvalue()


def test_download_fetches_only_the_member_and_installs_it(monkeypatch, small_detector, tmp_path):
    url_path, archive, zinfo = _serve(monkeypatch, small_detector)
    seen = []
    with FakeReleaseServer({url_path: archive}) as server:
        info = download_photo_model(
            "bopbtl-scratch", home=tmp_path, base_url=server.base_url, progress=seen.append
        )
        ranges = server.ranges(url_path)
    assert (info.task, info.arch, info.licence) == ("damage", "BOPBTLScratchUNet", "MIT")
    assert info.source_sha256 == hashlib.sha256(small_detector).hexdigest()
    assert info.source == CATALOGUE["bopbtl-scratch"].url
    size, tail = len(archive), max(0, len(archive) - (22 + 0xFFFF + 20))
    head = zinfo.header_offset
    data = head + 30 + len(MEMBER.encode()) + len(zinfo.extra)
    assert ranges == [
        "bytes=0-0",  # the archive's size
        f"bytes={tail}-{size - 1}",  # the end record and the central directory
        f"bytes={head}-{head + 29}",  # the member's local header
        f"bytes={data}-{data + zinfo.compress_size - 1}",  # its compressed bytes only
    ]
    fetched = 1 + (size - tail) + 30 + zinfo.compress_size
    assert fetched < size - 300_000  # the first 300 kB member was never read
    downloads = [p for p in seen if p.stage == "download"]
    assert downloads[-1].step == downloads[-1].total == zinfo.compress_size
    assert not list((tmp_path / "photo-models" / ".downloads").iterdir())
    model = PhotoModelCache(tmp_path, device="cpu").load("bopbtl-scratch")
    assert model.run(_photo()).shape == (117, 90)


def test_crc_mismatch_is_refused_and_nothing_installed(monkeypatch, small_detector, tmp_path):
    url_path, archive, zinfo = _serve(monkeypatch, small_detector, zipfile.ZIP_STORED)
    at = zinfo.header_offset + 30 + len(MEMBER) + len(zinfo.extra) + 5000
    bad = archive[:at] + bytes([archive[at] ^ 0xFF]) + archive[at + 1 :]
    with FakeReleaseServer({url_path: bad}) as server, pytest.raises(Gen2ResError) as e:
        download_photo_model("bopbtl-scratch", home=tmp_path, base_url=server.base_url)
    text = str(e.value)
    assert "CRC32" in text and "removed" in text and "\n" not in text
    assert not list((tmp_path / "photo-models" / ".downloads").iterdir())
    assert PhotoModelRegistry(tmp_path).list() == []


def test_pinned_checksum_is_checked_after_the_crc(monkeypatch, small_detector, tmp_path):
    url_path, archive, _ = _serve(monkeypatch, small_detector)
    entry = dataclasses.replace(CATALOGUE["bopbtl-scratch"], sha256="0" * 64)
    monkeypatch.setitem(CATALOGUE, "bopbtl-scratch", entry)
    with FakeReleaseServer({url_path: archive}) as server, pytest.raises(Gen2ResError) as e:
        download_photo_model("bopbtl-scratch", home=tmp_path, base_url=server.base_url)
    assert "failed its checksum" in str(e.value)
    assert PhotoModelRegistry(tmp_path).list() == []


def test_cancel_keeps_the_part_and_the_next_try_resumes(monkeypatch, small_detector, tmp_path):
    url_path, archive, zinfo = _serve(monkeypatch, small_detector)
    token = CancelToken()

    def cancel_soon(p):
        if p.stage == "download" and p.step >= 100_000:
            token.cancel()

    folder = tmp_path / "photo-models" / ".downloads"
    with FakeReleaseServer({url_path: archive}) as server:
        with pytest.raises(Cancelled):
            download_photo_model(
                "bopbtl-scratch",
                home=tmp_path,
                base_url=server.base_url,
                progress=cancel_soon,
                cancel=token,
            )
        (part,) = folder.glob("*.zpart")
        have = part.stat().st_size
        assert 0 < have < zinfo.compress_size
        info = download_photo_model("bopbtl-scratch", home=tmp_path, base_url=server.base_url)
        data = zinfo.header_offset + 30 + len(MEMBER) + len(zinfo.extra)
        assert (
            server.ranges(url_path)[-1] == f"bytes={data + have}-{data + zinfo.compress_size - 1}"
        )
    assert info.task == "damage" and not part.exists()


def test_a_server_without_ranges_is_refused_in_one_line(monkeypatch, small_detector, tmp_path):
    url_path, archive, _ = _serve(monkeypatch, small_detector)
    with FakeReleaseServer({url_path: archive}) as server, pytest.raises(Gen2ResError) as e:
        server.ignore_range = True
        download_photo_model("bopbtl-scratch", home=tmp_path, base_url=server.base_url)
    assert "range requests" in str(e.value) and "\n" not in str(e.value)


def test_auto_uses_the_installed_detector_and_keeps_it_off_the_features(detector_file, tmp_path):
    """With the learned detector installed, "auto" finds the damage with it, and the face
    guard applies to its map as to the built-in one's."""
    from skimage import data

    from gen2res_desktop.core.faces import detect_faces
    from gen2res_desktop.core.photo.face_safe import face_guard
    from gen2res_desktop.core.photo.repair import repair_photo
    from gen2res_desktop.core.photo.settings import OFF, RepairSettings

    PhotoModelRegistry(tmp_path).import_file(detector_file, "bopbtl-scratch", licence="MIT")
    rgb = np.ascontiguousarray(data.astronaut())
    faces = detect_faces(rgb, with_descriptors=False)
    settings = RepairSettings(denoise=OFF, sharpen=0.0, colour=False, inpaint=OFF)
    result = repair_photo(
        rgb, settings, models=PhotoModelCache(tmp_path, device="cpu"), faces=faces
    )
    damage = result.stages[0]
    assert damage.method == "bopbtl-scratch" and damage.model_sha256
    guard = face_guard(rgb.shape[:2], faces)
    assert guard is not None and result.damage_map.any()
    assert not result.damage_map[guard.features > 0].any()
    assert damage.detail["protected_pixels"] > 0 and result.protected
    # the built-in one when asked for by name, installed model or not
    builtin = repair_photo(
        rgb,
        settings.with_changes(damage_detector="opencv"),
        models=PhotoModelCache(tmp_path, device="cpu"),
        faces=faces,
    )
    assert builtin.stages[0].method == "opencv"


def test_a_member_inflating_past_its_declared_size_is_refused(tmp_path):
    """A lying central directory (a zip bomb) stops the inflating at the declared size."""
    import zlib

    from gen2res_desktop.core.photo import zip_member

    raw = bytes(8 << 20)  # 8 MB of zeros deflate to a few KB
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    part = tmp_path / "member.part"
    part.write_bytes(packer.compress(raw) + packer.flush())
    member = zip_member.ZipMember(
        "bomb.pt", zip_member.DEFLATED, 0, zlib.crc32(raw[:1000]), part.stat().st_size, 1000, 0
    )
    dest = tmp_path / "bomb.pt"
    with pytest.raises(Gen2ResError, match="CRC32"):
        zip_member.inflate(member, part, dest, lambda m: Gen2ResError(m))
    assert not dest.exists() and not part.exists()
