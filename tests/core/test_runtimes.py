"""The faster CPU engines: conversion checked against torch, cached per adapter, replaced
when the adapter changes, and torch whenever an engine is missing or wrong."""

import numpy as np
import pytest
import torch
from peft.tuners.tuners_utils import BaseTunerLayer
from tiny_models import pixels

from gen2res_desktop.core import runtimes
from gen2res_desktop.core.adapters import with_adapter
from gen2res_desktop.core.diffusion import RestoreSettings
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.pipeline import restore_crop, restore_crops
from gen2res_desktop.core.runtimes import FastCpu, accelerate, merge_adapter
from gen2res_desktop.core.training import TrainOptions, train_adapter

ENGINES = [
    pytest.param(name, marks=pytest.mark.skipif(not runtimes.installed(name), reason="missing"))
    for name in (runtimes.OPENVINO, runtimes.ONNXRUNTIME)
]
ORT = pytest.mark.skipif(not runtimes.installed(runtimes.ONNXRUNTIME), reason="missing")
CPU = torch.device("cpu")
MEASURED = runtimes.CPU_PREFERENCE  # read before conftest sets torch for every test


@pytest.fixture
def adapter(tiny_prior, astronaut, tmp_path):
    album = [astronaut.crop((140 + 4 * i, 25, 270 + 4 * i, 155)) for i in range(4)]
    path = tmp_path / "eileen.safetensors"
    train_adapter(tiny_prior, album, path, TrainOptions(steps=4, batch_size=2, lr=1e-2, seed=1))
    return path


def entries(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def eps_both(prior, fast_prior, batch=2):
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    t = torch.tensor([40] * batch)
    with torch.no_grad():
        return prior.unet(x, t).sample, fast_prior.fast(x, t)


def test_a_merged_adapter_is_the_same_function_without_adapter_layers(tiny_prior, adapter):
    lora = with_adapter(tiny_prior, adapter)
    merged = merge_adapter(lora)
    assert not any(isinstance(m, BaseTunerLayer) for m in merged.unet.modules())
    assert any(isinstance(m, BaseTunerLayer) for m in lora.unet.modules())  # copy, not in place
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 300])
    with torch.no_grad():
        assert torch.allclose(lora.unet(x, t).sample, merged.unet(x, t).sample, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_matches_torch_and_restores_like_it(
    engine, tiny_prior, adapter, astronaut_face, tmp_path
):
    cache = tmp_path / "cache"
    lora = merge_adapter(with_adapter(tiny_prior, adapter))
    seen = []
    fast = accelerate(lora, FastCpu(cache, engine), progress=seen.append)
    assert fast.fast_name == engine
    assert [p.stage for p in seen] == ["prepare", "prepare"]
    want, got = eps_both(lora, fast, batch=3)  # a batch the conversion never saw
    assert (want - got).abs().max() < 1e-4

    s = RestoreSettings(strength=40, steps=8, seed=2)
    plain = restore_crop(tiny_prior, astronaut_face, s, adapter=adapter)
    quick = restore_crop(
        tiny_prior, astronaut_face, s, adapter=adapter, fast=FastCpu(cache, engine)
    )
    assert np.abs(pixels(plain) - pixels(quick)).max() <= 2


@ORT
def test_a_conversion_is_kept_and_replaced_when_the_adapter_is_retrained(
    tiny_prior, adapter, astronaut, monkeypatch, tmp_path
):
    # the cache is the same for every engine; ONNX Runtime converts fastest
    engine = runtimes.ONNXRUNTIME
    cache = tmp_path / "cache"
    accelerate(with_adapter(tiny_prior, adapter), FastCpu(cache, engine))
    accelerate(tiny_prior, FastCpu(cache, engine))  # the bare prior (the album's) too
    first = entries(cache)
    assert len(first) == 2

    def no_conversion(*a, **k):
        raise AssertionError("converted again")

    with monkeypatch.context() as m:
        m.setattr(runtimes, "_convert", no_conversion)
        again = accelerate(with_adapter(tiny_prior, adapter), FastCpu(cache, engine))
    assert again.fast_name == engine and entries(cache) == first

    # more training changes the file: its conversion replaces the old one, the prior's stays
    album = [astronaut.crop((150, 30, 280, 160))] * 2
    train_adapter(tiny_prior, album, adapter, TrainOptions(steps=6, batch_size=2, seed=1))
    accelerate(with_adapter(tiny_prior, adapter), FastCpu(cache, engine))
    after = entries(cache)
    assert len(after) == 2 and len(set(after) & set(first)) == 1


def test_a_conversion_that_does_not_match_torch_is_not_used(tiny_prior, monkeypatch, tmp_path):
    engine = next((e for e in MEASURED if runtimes.installed(e)), None)
    if engine is None:
        pytest.skip("no engine installed")
    real_load = runtimes._load

    def off_by_a_little(name, folder):
        run = real_load(name, folder)
        return lambda x, t: run(x, t) + 0.01

    monkeypatch.setattr(runtimes, "_load", off_by_a_little)
    cache = tmp_path / "cache"
    out = accelerate(tiny_prior, FastCpu(cache, engine))
    assert out.fast is None and out.fast_name == "torch"
    assert entries(cache) == []  # nothing half-made is left


def test_a_failing_conversion_leaves_torch_in_charge(tiny_prior, monkeypatch, tmp_path):
    monkeypatch.setattr(runtimes, "installed", lambda name: True)
    monkeypatch.setattr(runtimes, "_convert", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    out = accelerate(tiny_prior, FastCpu(tmp_path / "cache", runtimes.OPENVINO))
    assert out.fast is None


def test_the_engine_is_chosen_by_what_is_installed(monkeypatch):
    present = set()
    monkeypatch.setattr(runtimes, "installed", lambda name: name == "torch" or name in present)
    monkeypatch.setattr(runtimes, "CPU_PREFERENCE", MEASURED)
    assert runtimes.choose_runtime(CPU) == "torch"  # nothing extra installed: torch
    present.add(runtimes.ONNXRUNTIME)
    assert runtimes.choose_runtime(CPU) == runtimes.ONNXRUNTIME
    present.add(runtimes.OPENVINO)
    assert runtimes.choose_runtime(CPU) == MEASURED[0]
    assert runtimes.choose_runtime(CPU, "torch") == "torch"
    assert runtimes.choose_runtime(torch.device("cuda"), "auto") == "torch"
    present.clear()
    with pytest.raises(Gen2ResError, match="not installed") as e:
        runtimes.choose_runtime(CPU, runtimes.OPENVINO)
    assert "Settings" in str(e.value)
    with pytest.raises(Gen2ResError, match="Unknown engine"):
        runtimes.choose_runtime(CPU, "tensorrt")


def test_old_conversions_are_dropped_beyond_the_newest_few(tmp_path):
    import os
    import time

    cache = tmp_path / "cache"
    for i in range(runtimes.KEEP_ENTRIES + 2):
        folder = cache / f"k{i}"
        folder.mkdir(parents=True)
        (folder / "entry.json").write_text(f'{{"label": "l{i}"}}')
        os.utime(folder / "entry.json", (time.time() + i, time.time() + i))
    (cache / ".k9.123.tmp").mkdir()  # a conversion under way is left alone
    runtimes._keep_newest(cache, runtimes.KEEP_ENTRIES)
    assert entries(cache) == [".k9.123.tmp", "k2", "k3", "k4", "k5"]


def test_faces_restore_the_same_batched_or_one_by_one(tiny_prior, adapter, astronaut):
    crops = [astronaut.crop((140, 25, 270, 155)), astronaut.crop((150, 35, 250, 135))]
    s = RestoreSettings(strength=40, steps=6, seed=4)
    together = restore_crops(tiny_prior, crops, s, adapter=adapter, batch_size=2)
    alone = [restore_crop(tiny_prior, c, s, adapter=adapter) for c in crops]
    for a, b, crop in zip(together, alone, crops, strict=True):
        assert a.size == crop.size
        assert np.abs(pixels(a) - pixels(b)).max() <= 1


@pytest.mark.skipif(
    not (runtimes.installed(runtimes.OPENVINO) and runtimes.installed(runtimes.ONNXRUNTIME)),
    reason="needs both engines",
)
def test_a_retrained_adapter_drops_every_engines_old_conversion(
    tiny_prior, adapter, astronaut, tmp_path
):
    cache = tmp_path / "cache"
    for engine in (runtimes.OPENVINO, runtimes.ONNXRUNTIME):
        accelerate(with_adapter(tiny_prior, adapter), FastCpu(cache, engine))
    assert len(entries(cache)) == 2  # switching engines keeps the other's conversion
    train_adapter(
        tiny_prior, [astronaut.crop((150, 30, 280, 160))] * 2, adapter, TrainOptions(steps=6)
    )
    accelerate(with_adapter(tiny_prior, adapter), FastCpu(cache, runtimes.ONNXRUNTIME))
    assert len(entries(cache)) == 1


def test_faces_are_batched_by_adapter_and_single_photo_faces_alone():
    from types import SimpleNamespace

    from gen2res_desktop.library.face_plans import FacePlan, face_batches

    def plan(i, adapter):
        region = SimpleNamespace(index=i)
        record = SimpleNamespace(path=adapter) if adapter else None
        return FacePlan(region=region, subject=None, adapter=record)

    plans = [plan(0, "rose"), plan(1, None), plan(2, "rose"), plan(3, "rose"), plan(4, "tom")]
    batches = face_batches(plans, 2)
    assert batches[0] == batches[2] == (0, 2) and batches[3] == (3,)
    assert batches[1] == (1,) and batches[4] == (4,)
    assert set(face_batches(plans, 1).values()) == {(0,), (1,), (2,), (3,), (4,)}


@ORT
def test_a_damaged_conversion_is_made_again(tiny_prior, tmp_path):
    engine = runtimes.ONNXRUNTIME
    cache = tmp_path / "cache"
    accelerate(tiny_prior, FastCpu(cache, engine))
    (folder,) = [p for p in cache.iterdir()]
    for f in folder.iterdir():
        if f.name != "entry.json":
            f.write_bytes(b"not a model")  # a disk error, a half-copied backup
    again = accelerate(tiny_prior, FastCpu(cache, engine))
    assert again.fast_name == engine
    want, got = eps_both(tiny_prior, again)
    assert (want - got).abs().max() < 1e-4


class _Subject(torch.nn.Module):
    """A stand-in for a prior with a subject's adapter merged: any (x, t) -> epsilon."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1).requires_grad_(False)

    def forward(self, x, t):
        from types import SimpleNamespace

        return SimpleNamespace(sample=self.conv(x))


def test_a_conversion_copied_from_another_subject_is_not_trusted(tmp_path, monkeypatch):
    """Subject 2's cached conversion copied over subject 1's must not restore subject 1's
    photos with subject 2's face: what is loaded is checked, and made again on a mismatch.
    (A stand-in engine and model keep this fast; the cache is the same for every engine.)"""
    import shutil

    from gen2res_desktop.core.priors import LoadedPrior, PriorInfo

    def convert(runtime, module, x, t, folder):
        converted.append(runtime)
        torch.save(module, folder / "unet.onnx")

    def load(runtime, folder):
        module = torch.load(folder / "unet.onnx", weights_only=False)  # the test's own file
        return lambda x, t: module(x, t)

    converted = []
    monkeypatch.setattr(runtimes, "installed", lambda name: True)
    monkeypatch.setattr(runtimes, "runtime_version", lambda name: "stand-in")
    monkeypatch.setattr(runtimes, "_convert", convert)
    monkeypatch.setattr(runtimes, "_load", load)
    fast = FastCpu(tmp_path / "cache", runtimes.ONNXRUNTIME)

    def subject(n: int) -> LoadedPrior:
        info = PriorInfo("face", "face", tmp_path, 32, 1, "f" * 64, "test")
        return LoadedPrior(info, _Subject(n), None, CPU, None, str(n) * 64, f"/adapters/{n}")

    one, two = subject(1), subject(2)
    x, t = torch.randn(1, 3, 32, 32), torch.tensor([40])
    with torch.no_grad():
        want, theirs = one.unet(x, t).sample, two.unet(x, t).sample
    assert (want - theirs).abs().max() > 1e-2  # the two subjects' models differ
    accelerate(one, fast)
    (own,) = [fast.cache / n for n in entries(fast.cache)]
    accelerate(two, fast)
    (other,) = [fast.cache / n for n in entries(fast.cache) if n != own.name]

    for copied in ("the converted file", "the whole entry"):
        if copied == "the converted file":
            shutil.copyfile(other / "unet.onnx", own / "unet.onnx")
        else:
            shutil.rmtree(own)
            shutil.copytree(other, own)
        converted.clear()
        again = accelerate(one, fast)
        assert converted == [runtimes.ONNXRUNTIME], copied  # made again, not trusted
        with torch.no_grad():
            assert (again.fast(x, t) - want).abs().max() < 1e-6, copied
    converted.clear()
    accelerate(one, fast)
    assert converted == []  # the remade conversion is kept and trusted
