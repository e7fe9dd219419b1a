"""Choosing the compute device and its precision; turning out-of-memory into advice."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from gen2res_desktop.core.defaults import DEVICE_CHOICES
from gen2res_desktop.core.errors import Gen2ResError, OutOfMemory


def resolve_device(name: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; or the device the user named (validated)."""
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise Gen2ResError(
            f"Unknown device '{name}'; use one of {', '.join(DEVICE_CHOICES)}."
        ) from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise Gen2ResError(
            "No CUDA GPU is available here (or torch was built without CUDA).",
            app="Choose the CPU in Settings → Device.",
            cli="Use --device cpu.",
        )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise Gen2ResError(
            "Apple MPS is not available on this machine.",
            app="Choose the CPU in Settings → Device.",
            cli="Use --device cpu.",
        )
    return device


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if precision != "auto":
        raise Gen2ResError(f"Unknown precision '{precision}'; use auto, fp32, bf16 or fp16.")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    # CPU autocast in bf16 is slower than fp32 on most desktop processors.
    return None


def native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX-512 BF16 or AMX, as oneDNN reports).
    Elsewhere bf16 is emulated and slower than fp32."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):  # a torch without the query
        return False


def sampling_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for the denoising steps that need no gradient: bf16 on a CPU that
    has it natively, as on a GPU. The toy world measured its restores within 0.001 identity
    and 0.01 dB of fp32 (benchmarks/results/toyworld_bf16_cpu.md); steps with a gradient
    (the album's guided ones) and training keep :func:`autocast_dtype`: bf16 training ran
    slower than fp32 on a CPU."""
    if device.type == "cpu" and native_bf16():
        return torch.bfloat16
    return autocast_dtype(device)


def memory_format(device: torch.device) -> torch.memory_format:
    """Channels-last for sampling on a CPU, where oneDNN's convolutions run faster with it
    (benchmarks/results/speed_variants_full_cpu.md: the 256 px forward 4.26 -> 3.73 s); the
    default layout elsewhere (untested on GPUs). Training keeps the default layout (see
    core.training.TRAIN_MEMORY_FORMAT)."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def in_layout(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``module``'s convolution weights in the device's fast layout (in place)."""
    return module.to(memory_format=memory_format(device))


def as_layout(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """An image batch in the device's fast layout (differentiable)."""
    return x.contiguous(memory_format=memory_format(device)) if x.dim() == 4 else x


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    if dtype is None:
        yield
    else:
        with torch.autocast(device_type=device.type, dtype=dtype):
            yield


BACKGROUND_NICENESS = 10


def lower_thread_priority() -> bool:
    """Lower the calling thread's scheduling priority (Linux, where a thread has its own
    nice value; the compute threads it starts afterwards inherit it). False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + BACKGROUND_NICENESS))
    except OSError:
        return False
    return True


@contextlib.contextmanager
def in_background(device: torch.device) -> Iterator[None]:
    """Hours of CPU training that leave the app and the computer responsive: at a low
    priority on every core where the thread's priority can be lowered (call this before
    the thread first runs torch, so torch's compute threads inherit it), else on every core
    but one. A GPU leaves the cores free anyway. The priority is not raised again: each
    job runs on a thread of its own."""
    before = torch.get_num_threads()
    cores = os.cpu_count() or 1
    if device.type == "cpu" and not lower_thread_priority() and cores > 1:
        torch.set_num_threads(max(1, min(before, cores - 1)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def oom_as_error(hint: str = "try a smaller batch size") -> Iterator[None]:
    try:
        yield
    except torch.OutOfMemoryError as e:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise OutOfMemory(
            f"The GPU ran out of memory: {hint}.",
            app="Or run on the CPU (Settings → Device).",
            cli="Or use --device cpu.",
        ) from e


@dataclass(frozen=True)
class DeviceReport:
    """What the settings dialog shows about a device."""

    name: str
    kind: str
    memory_gib: float | None
    warning: str | None


def describe_device(name: str | None = None) -> DeviceReport:
    device = resolve_device(name)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return DeviceReport(props.name, "cuda", props.total_memory / 2**30, None)
    if device.type == "mps":
        return DeviceReport("Apple GPU (MPS)", "mps", None, None)
    return DeviceReport(
        "CPU",
        "cpu",
        None,
        "No GPU found: restoring a face takes a minute or two, and training a subject's "
        "face model takes hours (overnight on a laptop).",
    )
