"""Faster CPU engines for the denoising steps: ONNX Runtime or OpenVINO, when installed.

On a CPU most of a restore is the UNet's forward pass, and both engines run it faster than
eager torch (benchmarks/results/speed_full_cpu.md). A prior, with its subject's adapter
merged into the weights, is converted once and kept in a cache folder under a key of the
prior's weights, the adapter file's bytes and the engine's version, so a retrained
adapter is converted again and an unchanged one never is. A cached conversion is trusted
only when its record is of this prior, adapter and engine and its files hash as they did
when converted (a folder's name proves nothing); otherwise it is made again. Each
conversion is checked against torch on one input before it is used; anything that fails
falls back to torch, which always works. Only steps without gradients use an engine: the
album's guided steps need torch's backward pass.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from gen2res_desktop.core.defaults import RUNTIME_CHOICES
from gen2res_desktop.core.devices import in_layout, native_bf16
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.priors import LoadedPrior
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

log = logging.getLogger(__name__)

TORCH = "torch"
ONNXRUNTIME = "onnxruntime"
OPENVINO = "openvino"
# Fastest first, as measured on a 2-core CPU without bf16
# (benchmarks/results/speed_full_cpu_avx2_2026-12-02.md: the
# 256 px forward with a merged LoRA takes 3.16 s on ONNX Runtime, 3.31 s on OpenVINO,
# 3.45 s compiled and 3.79 s in eager torch; ONNX Runtime was the fastest in every run and
# converts in 16 s against 36; see speed_notes.md).
CPU_PREFERENCE = (ONNXRUNTIME, OPENVINO)
# what to install for each engine (pip extras of this package)
EXTRAS = {OPENVINO: "openvino", ONNXRUNTIME: "onnx"}
_MODULES = {OPENVINO: ("openvino",), ONNXRUNTIME: ("onnxruntime", "onnx")}
# Largest |difference| from torch's epsilon allowed on the check input (outputs are ~N(0, 1);
# fp32 engines differ by about 1e-5, a wrong conversion by far more).
TOLERANCE = 1e-3
KEEP_ENTRIES = 4  # converted models kept (each is the size of the prior's weights)
_ENTRY = "entry.json"

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def installed(runtime: str) -> bool:
    if runtime == TORCH:
        return True
    return all(importlib.util.find_spec(m) is not None for m in _MODULES.get(runtime, ("-",)))


def choose_runtime(device: torch.device, setting: str = "auto") -> str:
    """The engine for ``device``: on a CPU the fastest installed one (``auto``) or the one
    the user chose if it is installed; torch everywhere else."""
    if setting not in RUNTIME_CHOICES:
        raise Gen2ResError(f"Unknown engine '{setting}'; use one of {', '.join(RUNTIME_CHOICES)}.")
    if device.type != "cpu" or setting == TORCH:
        return TORCH
    if setting != "auto":
        if not installed(setting):
            raise Gen2ResError(
                f"The {setting} engine is not installed.",
                app="Choose Automatic in Settings → CPU engine.",
                cli=f"Install it with pip install 'gen2res-desktop[{EXTRAS[setting]}]' or "
                "use --runtime auto.",
            )
        return setting
    if native_bf16():
        return TORCH  # torch in bf16 beats the fp32 engines (core.devices.sampling_dtype)
    return next((r for r in CPU_PREFERENCE if installed(r)), TORCH)


def runtime_version(runtime: str) -> str:
    if runtime == TORCH:
        return torch.__version__
    return importlib.metadata.version(_MODULES[runtime][0])


@dataclass(frozen=True)
class FastCpu:
    """Where converted models live and which engine to use (``auto`` picks)."""

    cache: Path
    setting: str = "auto"


class _Eps(torch.nn.Module):
    """The UNet as a plain function of (x, t) -> epsilon, for tracing."""

    def __init__(self, unet: torch.nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t).sample


def merged_unet(unet: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``unet`` with any LoRA merged into its weights and the adapter layers
    removed: the same function, at the cost of the bare prior."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    out = copy.deepcopy(unet)
    names = [n for n, m in out.named_modules() if isinstance(m, BaseTunerLayer)]
    for name in names:
        layer = out.get_submodule(name)
        layer.merge()
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, layer.get_base_layer())
    device = next(out.parameters()).device
    return in_layout(out.eval().requires_grad_(False), device)


def merge_adapter(prior: LoadedPrior) -> LoadedPrior:
    """``prior`` with its adapter merged (for sampling only: the LoRA can no longer train)."""
    if prior.adapter is None:
        return prior
    return replace(prior, unet=merged_unet(prior.unet))


def key_inputs(prior: LoadedPrior, runtime: str) -> dict:
    """What a conversion is of: the prior's weights, the adapter file's bytes, the engine."""
    return {
        "prior": prior.info.weights_hash,
        "adapter": prior.adapter_hash or "",
        "resolution": prior.resolution,
        "runtime": runtime,
        "version": runtime_version(runtime),
        "torch": torch.__version__,
    }


def _key_of(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:24]


def cache_key(prior: LoadedPrior, runtime: str) -> str:
    return _key_of(key_inputs(prior, runtime))


def _label(prior: LoadedPrior) -> str:
    """What an entry is for: the prior and the adapter file (a subject's), whatever its
    version."""
    return f"{prior.info.name}:{prior.adapter_label or ''}"


def accelerate(
    prior: LoadedPrior,
    fast: FastCpu | None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> LoadedPrior:
    """``prior`` with its adapter merged and, on a CPU with a faster engine installed, that
    engine running its gradient-free steps. Never fails for the engine's sake: a conversion
    that fails or does not match torch leaves torch in charge."""
    prior = merge_adapter(prior)
    if fast is None:
        return prior
    runtime = choose_runtime(prior.device, fast.setting)
    if runtime == TORCH:
        return prior
    cancel = cancel or CancelToken()
    cancel.check()
    try:
        eps = _cached_or_converted(prior, runtime, Path(fast.cache), progress)
    except Exception as e:  # noqa: BLE001 - any engine failure means: use torch
        log.warning("The %s engine could not run this prior; using torch: %s", runtime, e)
        return prior
    cancel.check()
    return replace(prior, fast=eps, fast_name=runtime)


def _cached_or_converted(
    prior: LoadedPrior, runtime: str, cache: Path, progress: ProgressCallback
) -> EpsFn:
    inputs = key_inputs(prior, runtime)
    key = _key_of(inputs)
    folder = cache / key
    if (folder / _ENTRY).is_file():
        try:
            # a folder's name is no proof of what it holds: another adapter's conversion
            # copied in would restore one subject's photos with another's face
            _verify(folder, inputs)
            eps = _load(runtime, folder)
        except Exception as e:  # noqa: BLE001 - a damaged or foreign conversion is made again
            log.warning(
                "The cached %s conversion %s cannot be used, converting again: %s",
                runtime,
                folder.name,
                e,
            )
            shutil.rmtree(folder, ignore_errors=True)
        else:
            _touch(folder)
            return eps
    progress(Progress("prepare", 0, 1, "Preparing the faster engine (once per face model)"))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{key}.{time.monotonic_ns()}.tmp"
    tmp.mkdir()
    try:
        x, t = _check_input(prior)
        module = _Eps(prior.unet).eval()
        with torch.no_grad():
            expected = module(x, t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent branches
            _convert(runtime, module, x, t, tmp)
        eps = _load(runtime, tmp)
        err = float((eps(x, t) - expected).abs().max())
        if not err <= TOLERANCE:
            raise Gen2ResError(f"differs from torch by {err:.2g} (allowed {TOLERANCE})")
        entry = {
            "label": _label(prior),
            "adapter": prior.adapter_hash or "",
            "runtime": runtime,
            "max_error": err,
            "inputs": inputs,
            "files": _file_hashes(tmp),
        }
        (tmp / _ENTRY).write_text(json.dumps(entry))
        _drop_replaced(cache, entry)
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / _ENTRY).is_file():  # another job converted it meanwhile
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        _touch(folder)
        _keep_newest(cache, KEEP_ENTRIES)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    progress(Progress("prepare", 1, 1, "Faster engine ready"))
    return _load(runtime, folder)


def _file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file of a conversion (the engine may split one into several)."""
    return {
        p.name: sha256_file(p)
        for p in sorted(folder.iterdir())
        if p.name != _ENTRY and not p.is_dir()
    }


def _verify(folder: Path, inputs: dict) -> None:
    """Raise unless ``folder`` holds the conversion ``inputs`` describe, as it was made:
    its record is of these inputs (and they give the folder's name), and its files are
    the ones hashed when it was converted, none added, none changed."""
    entry = json.loads((folder / _ENTRY).read_text())
    if not isinstance(entry, dict) or entry.get("inputs") != inputs:
        raise Gen2ResError("it was made for another prior, face model or engine")
    if _key_of(entry["inputs"]) != folder.name:
        raise Gen2ResError("its record does not match its folder")
    files = entry.get("files")
    if not isinstance(files, dict) or not files or files != _file_hashes(folder):
        raise Gen2ResError("its files are not the ones converted")


def _check_input(prior: LoadedPrior) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1234)
    r = prior.resolution
    return torch.randn(1, 3, r, r, generator=g), torch.tensor([150], dtype=torch.long)


def _convert(
    runtime: str, module: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, folder: Path
) -> None:
    if runtime == ONNXRUNTIME:
        torch.onnx.export(
            module,
            (x, t),
            str(folder / "unet.onnx"),
            input_names=["x", "t"],
            output_names=["eps"],
            dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "eps": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    elif runtime == OPENVINO:
        import openvino as ov

        model = ov.convert_model(module, example_input=(x, t))
        # fp32 weights: the default fp16 compression would change the outputs
        ov.save_model(model, str(folder / "unet.xml"), compress_to_fp16=False)
    else:
        raise Gen2ResError(f"Unknown engine '{runtime}'.")


def _load(runtime: str, folder: Path) -> EpsFn:
    threads = torch.get_num_threads()
    if runtime == ONNXRUNTIME:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(folder / "unet.onnx"), options, providers=["CPUExecutionProvider"]
        )

        def run_ort(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            feed = {"x": _np(x), "t": t.detach().cpu().numpy().astype(np.int64)}
            return torch.from_numpy(session.run(None, feed)[0])

        return run_ort
    if runtime == OPENVINO:
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(
            str(folder / "unet.xml"),
            "CPU",
            {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads},
        )

        def run_ov(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out = compiled([_np(x), t.detach().cpu().numpy().astype(np.int64)])
            return torch.from_numpy(np.array(out[0]))

        return run_ov
    raise Gen2ResError(f"Unknown engine '{runtime}'.")


def _np(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().float().numpy())


def _touch(folder: Path) -> None:
    try:
        (folder / _ENTRY).touch()
    except OSError:
        pass


def _entries(cache: Path) -> list[Path]:
    # a conversion under way is a hidden temporary folder
    return [
        p
        for p in cache.iterdir()
        if not p.name.startswith(".") and p.is_dir() and (p / _ENTRY).is_file()
    ]


def _drop_replaced(cache: Path, new: dict) -> None:
    """A retrained adapter makes every engine's conversion of its old version useless (and
    a new conversion for the same engine replaces the old one)."""
    for folder in _entries(cache):
        try:
            old = json.loads((folder / _ENTRY).read_text())
        except (OSError, ValueError):
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if old.get("label") == new["label"] and (
            old.get("adapter") != new["adapter"] or old.get("runtime") == new["runtime"]
        ):
            shutil.rmtree(folder, ignore_errors=True)


def _keep_newest(cache: Path, keep: int) -> None:
    folders = sorted(_entries(cache), key=lambda p: (p / _ENTRY).stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
