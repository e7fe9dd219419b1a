"""Sampling in bf16 where the CPU has it natively; fp32 for gradients and elsewhere."""

import numpy as np
import torch

from gen2res_desktop.core import devices, runtimes
from gen2res_desktop.core.diffusion import (
    AlbumSettings,
    RestoreSettings,
    generate_album,
    restore_image,
)

CPU = torch.device("cpu")


def _native(monkeypatch, value: bool) -> None:
    monkeypatch.setattr(devices, "native_bf16", lambda: value)
    monkeypatch.setattr(runtimes, "native_bf16", lambda: value)


def _record_precision(unet: torch.nn.Module, seen: list) -> torch.utils.hooks.RemovableHandle:
    def hook(module, args, kwargs):
        on = torch.is_autocast_enabled("cpu")
        seen.append((torch.get_autocast_dtype("cpu") if on else None, torch.is_grad_enabled()))

    return unet.register_forward_pre_hook(hook, with_kwargs=True)


def test_a_native_bf16_cpu_samples_in_bf16_and_keeps_fp32_for_gradients(
    tiny_prior, astronaut_face, monkeypatch
):
    _native(monkeypatch, True)
    assert devices.sampling_dtype(CPU) == torch.bfloat16
    assert devices.autocast_dtype(CPU) is None  # training stays fp32
    seen: list = []
    handle = _record_precision(tiny_prior.unet, seen)
    try:
        bf16 = restore_image(tiny_prior, astronaut_face, RestoreSettings(strength=60, steps=6))
        assert seen and all(dtype == torch.bfloat16 and not grad for dtype, grad in seen)
        seen.clear()
        generate_album(
            tiny_prior,
            astronaut_face,
            AlbumSettings(count=1, strength=40, steps=8, guidance_every=10),
        )
    finally:
        handle.remove()
    guided = [dtype for dtype, grad in seen if grad]
    plain = [dtype for dtype, grad in seen if not grad]
    assert guided and all(d is None for d in guided)  # the backward pass runs in fp32
    assert plain and all(d == torch.bfloat16 for d in plain)
    # bf16 rounds the network's output, not the sampler's arithmetic: the same face
    _native(monkeypatch, False)
    fp32 = restore_image(tiny_prior, astronaut_face, RestoreSettings(strength=60, steps=6))
    diff = np.abs(np.asarray(bf16, float) - np.asarray(fp32, float))
    assert 0 < diff.mean() < 2.0


def test_elsewhere_sampling_is_fp32_and_the_fastest_engine_is_chosen(monkeypatch):
    _native(monkeypatch, False)
    assert devices.sampling_dtype(CPU) is None
    monkeypatch.setattr(runtimes, "installed", lambda name: True)
    monkeypatch.setattr(runtimes, "CPU_PREFERENCE", (runtimes.ONNXRUNTIME,))
    assert runtimes.choose_runtime(CPU) == runtimes.ONNXRUNTIME
    _native(monkeypatch, True)  # torch in bf16 beats an fp32 engine
    assert runtimes.choose_runtime(CPU) == runtimes.TORCH
    assert runtimes.choose_runtime(CPU, runtimes.ONNXRUNTIME) == runtimes.ONNXRUNTIME


def test_the_speed_check_times_the_denoising_step_as_restores_will_run_it(tiny_prior, monkeypatch):
    from gen2res_desktop.core.estimates import measure_step_times

    _native(monkeypatch, True)
    seen: list = []
    handle = _record_precision(tiny_prior.unet, seen)
    try:
        measure_step_times(tiny_prior, batch=2)
    finally:
        handle.remove()
    assert [d for d, grad in seen if not grad] == [torch.bfloat16] * 3  # warm-up and two timed
