"""Photo model weights as data: reading them safely, recognising the architecture with
spandrel, and running an installed model on a photo (tiled, with progress and cancel).

Weights never run code. ``.safetensors`` is read with safetensors; ``.pth``/``.ckpt``/
``.bin``/``.pt`` with ``torch.load(weights_only=True)``; a TorchScript ``.pt`` with our own
data-only reader (:mod:`.torchscript`). spandrel only ever sees a state dict
(``load_from_state_dict``): its ``load_from_file`` would ``torch.jit.load`` a ``.pt``.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gen2res_desktop.core.devices import resolve_device
from gen2res_desktop.core.errors import Gen2ResError, OutOfMemory
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.model_file_checks import (
    check_parameters,
    damaged,
    load_torch_weights,
    parameter_count,
)
from gen2res_desktop.core.photo import ddcolor, scratch_detector
from gen2res_desktop.core.photo.colourise import DDColorModel
from gen2res_desktop.core.photo.learned import TASKS
from gen2res_desktop.core.photo.models import CATALOGUE, PhotoModelInfo, PhotoModelRegistry
from gen2res_desktop.core.photo.tiles import process_tiled
from gen2res_desktop.core.photo.torch_tiles import brief, check_rgb8, run_shrinking
from gen2res_desktop.core.photo.torchscript import is_torchscript, read_torchscript_state_dict
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress

# The architectures Gen2Res is built and tested around, and what each is for. Others that
# spandrel loads as 3-channel image-to-image restoration or enlargement are accepted too.
KNOWN_ARCHS = {
    "LaMa": "inpaint",
    "SCUNet": "denoise",
    "DRUNet": "denoise",
    "DnCNN": "denoise",
    "FBCNN": "jpeg",
    "ESRGAN": "upscale",
    "Compact": "upscale",
}
# Wrappers training code puts around a state dict, in the order they are unwrapped.
_WRAPPERS = (
    "model_state_dict",
    "model_state",  # Bringing Old Photos Back to Life
    "state_dict",
    "params_ema",
    "params-ema",
    "params",
    "model",
    "net",
)
_PREFIXES = ("module.", "netG.")
_LAMA_KEY = "model.model.1.bn_l.running_mean"
# Tiles: restoration models see ~512 px with 32 px of shared context; LaMa needs much
# more of the photo around a hole to fill it well.
TILE, OVERLAP = 512, 32
INPAINT_TILE, INPAINT_OVERLAP = 1024, 128
_MIN_TILE = 128
# DRUNet / FDnCNN noise level (0..255 scale) for strength 0..1, and when none is given.
_SIGMA_MIN, _SIGMA_SPAN, _SIGMA_DEFAULT = 5.0, 45.0, 15.0


def _spandrel() -> Any:
    # imported on first use: it loads torchvision and every architecture (~3 s), which a
    # repair that uses only the built-in OpenCV methods should not pay
    import spandrel

    return spandrel


# ---------------------------------------------------------------------------------------
# reading weights


def read_weights(path: Path) -> Any:
    """The object stored in a weights file, read as data only."""
    if not path.is_file():
        raise Gen2ResError(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise Gen2ResError(f"{path}: empty file, not a photo model.")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except Exception as e:  # noqa: BLE001 - SafetensorError, OSError...
            raise damaged(path) from e
    if is_torchscript(path):
        return read_torchscript_state_dict(path)
    return load_torch_weights(path)  # data only; one line when damaged, a bomb or a payload


def canonical_state_dict(obj: Any, label: str) -> dict[str, torch.Tensor]:
    """The model's own ``{name: tensor}`` from whatever wrapped it: training-framework keys
    (``params_ema``, ``state_dict``...), ``module.`` prefixes, and for a LaMa training
    checkpoint only its generator."""
    for _ in range(4):
        if not isinstance(obj, dict):
            break
        inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), dict)), None)
        if inner is None and len(obj) == 1 and isinstance(next(iter(obj.values())), dict):
            inner = next(iter(obj.values()))
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise Gen2ResError(f"{label}: not a photo model Gen2Res can use (no weights found).")
    sd = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    for prefix in _PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
    if any(k.startswith("generator.") for k in sd):
        # a GAN training checkpoint (LaMa's Lightning .ckpt): the generator is the model
        sd = {k[len("generator.") :]: v for k, v in sd.items() if k.startswith("generator.")}
        if "model.1.bn_l.running_mean" in sd:
            sd = {f"model.{k}": v for k, v in sd.items()}
    if not sd:
        raise Gen2ResError(f"{label}: not a photo model Gen2Res can use (no weights found).")
    # weighed before anything is built from it: stride-0 tensors can describe billions
    check_parameters(parameter_count(v.shape for v in sd.values()), label)
    return sd


# ---------------------------------------------------------------------------------------
# recognising the architecture


@dataclass
class Detected:
    descriptor: Any  # spandrel ImageModelDescriptor / MaskedImageModelDescriptor
    arch: str
    scale: int
    default_task: str
    parameters: int

    def tasks(self) -> tuple[str, ...]:
        if self.default_task in ("inpaint", "damage", "colour"):
            return (self.default_task,)
        if self.scale > 1:
            return ("upscale",)
        return ("denoise", "jpeg")


def detect(sd: dict[str, torch.Tensor], label: str) -> Detected:
    """Recognise ``sd`` (our own architectures first, then spandrel's) and check Gen2Res
    can use it; Gen2ResError if not."""
    if scratch_detector.matches(sd):  # spandrel does not know it
        net = scratch_detector.build(sd, label)
        params = scratch_detector.parameters(net)
        return Detected(net, scratch_detector.ARCH, 1, "damage", params)
    if ddcolor.matches(sd):  # nor this colouriser
        net = ddcolor.build(sd, label)
        return Detected(net, ddcolor.ARCH, 1, "colour", ddcolor.parameters(net))
    arch = next(
        (
            a.architecture
            for a in _spandrel().MAIN_REGISTRY.architectures("detection")
            if _try(a, sd)
        ),
        None,
    )
    if arch is None:
        raise Gen2ResError(f"{label}: not a photo model Gen2Res can use (unknown architecture).")
    try:
        descriptor = _build(arch, sd)
    except Exception as e:  # noqa: BLE001 - a damaged state dict fails in many ways
        raise Gen2ResError(
            f"{label}: looks like a {arch.name} model but its weights do not fit "
            f"(damaged or incomplete file?): {brief(e)}"
        ) from e
    purpose = descriptor.purpose
    if purpose == "FaceSR":
        raise Gen2ResError(
            f"{label}: a {arch.name} face restoration model; Gen2Res restores faces with its "
            "own priors and cannot use it."
        )
    masked = isinstance(descriptor, _spandrel().MaskedImageModelDescriptor)
    if purpose not in ("SR", "Restoration", "Inpainting") or (masked != (purpose == "Inpainting")):
        raise Gen2ResError(f"{label}: a {arch.name} model is not a photo model Gen2Res can use.")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise Gen2ResError(
            f"{label}: the {arch.name} model works on {descriptor.input_channels}-channel "
            f"images (out: {descriptor.output_channels}); Gen2Res needs a colour (RGB) model."
        )
    if masked:
        task = "inpaint"
    elif arch.id == "FBCNN":
        task = "jpeg"
    elif descriptor.scale > 1:
        task = "upscale"
    else:
        task = "denoise"
    parameters = sum(p.numel() for p in descriptor.model.parameters())
    return Detected(descriptor, str(arch.id), int(descriptor.scale), task, int(parameters))


def _build(arch: Any, sd: dict[str, torch.Tensor]) -> Any:
    """``arch.load(sd)``, skipping the random initialisation of weights that are about to
    be overwritten (seconds for LaMa) where the architecture can be built on the meta
    device; the plain way otherwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if arch.id not in KNOWN_ARCHS:  # only where it is tested: a constant made while
            return arch.load(sd)  # building on the meta device would break the model
        try:
            with torch.device("meta"):
                descriptor = arch.load(sd)
            descriptor.model.load_state_dict(sd, assign=True)
            tensors = [*descriptor.model.parameters(), *descriptor.model.buffers()]
            if not any(t.is_meta for t in tensors):
                return descriptor
        except Exception:  # noqa: BLE001, S110 - not buildable that way: build it plainly
            pass
        return arch.load(sd)


def _try(support: Any, sd: dict) -> bool:
    try:
        return bool(support.detect(sd))
    except Exception:  # noqa: BLE001 - a detector tripping on odd shapes is a "no"
        return False


def check_task(found: Detected, task: str | None, label: str) -> str:
    """``task`` if the model can do it (default: what its architecture is for)."""
    if task is None:
        return found.default_task
    if task not in TASKS:
        raise Gen2ResError(f"Unknown photo model task '{task}'; use one of {', '.join(TASKS)}.")
    if task not in found.tasks():
        what = f"x{found.scale} " if found.scale > 1 else ""
        raise Gen2ResError(
            f"{label}: a {what}{found.arch} model cannot be used for {task}; it is for "
            f"{' or '.join(found.tasks())}."
        )
    return task


def inspect_file(path: Path, task: str | None = None) -> tuple[dict, Detected, str]:
    """Read, canonicalise and recognise a weights file: ``(state dict, detected, task)``."""
    sd = canonical_state_dict(read_weights(path), str(path))
    found = detect(sd, str(path))
    return sd, found, check_task(found, task, str(path))


def tensors_for_saving(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``sd`` as safetensors accepts it: contiguous CPU tensors sharing no memory."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for k, v in sd.items():
        v = v.detach().cpu()
        storage = v.untyped_storage()
        ptr = storage.data_ptr()
        whole = storage.nbytes() == v.numel() * v.element_size()
        if not v.is_contiguous() or not whole or (ptr and ptr in seen):
            v = v.contiguous().clone()
            ptr = v.untyped_storage().data_ptr()
        if ptr:
            seen.add(ptr)
        out[k] = v
    return out


# ---------------------------------------------------------------------------------------
# running


def _pad(x: torch.Tensor, pad_w: int, pad_h: int) -> torch.Tensor:
    """Pad right/bottom: mirror what the photo has, then repeat the edge for the rest."""
    if not (pad_w or pad_h):
        return x
    h, w = x.shape[-2:]
    rw, rh = min(pad_w, w - 1), min(pad_h, h - 1)
    if rw or rh:
        x = torch.nn.functional.pad(x, (0, rw, 0, rh), mode="reflect")
    if pad_w - rw or pad_h - rh:
        x = torch.nn.functional.pad(x, (0, pad_w - rw, 0, pad_h - rh), mode="replicate")
    return x


class LoadedPhotoModel:
    """An installed photo model ready to run (implements :class:`.learned.PhotoModel`)."""

    def __init__(self, info: PhotoModelInfo, descriptor: Any, device: torch.device) -> None:
        self.info = info
        self.name = info.name
        self.task = info.task
        self.scale = info.scale
        self.sha256 = info.sha256
        self.arch = info.arch
        self.descriptor = descriptor
        self.device = device
        self.dtype = torch.float32
        if device.type == "cuda":
            if descriptor.supports_bfloat16 and torch.cuda.is_bf16_supported():
                self.dtype = torch.bfloat16
            elif descriptor.supports_half:
                self.dtype = torch.float16
        descriptor.model.requires_grad_(False)
        descriptor.eval()
        descriptor.model.to(device=device, dtype=self.dtype)
        masked = self.task == "inpaint"
        self.tile = INPAINT_TILE if masked else TILE
        self.overlap = INPAINT_OVERLAP if masked else OVERLAP
        self._lock = threading.Lock()

    # -- the model call on one tile ---------------------------------------------------

    def _noise_level(self, strength: float | None) -> float | None:
        """The noise-level input of DRUNet / FDnCNN (0..1 scale), None for other models."""
        model = self.descriptor.model
        takes_level = self.arch == "DRUNet" or (
            self.arch == "DnCNN" and getattr(model, "mode", "") == "FDnCNN"
        )
        if not takes_level:
            return None
        if strength is None:
            return _SIGMA_DEFAULT / 255.0
        return (_SIGMA_MIN + _SIGMA_SPAN * float(np.clip(strength, 0.0, 1.0))) / 255.0

    def _forward(self, x: torch.Tensor, mask: torch.Tensor | None, level: float | None):
        h, w = x.shape[-2:]
        pad_w, pad_h = self.descriptor.size_requirements.get_padding(w, h)
        x = _pad(x, pad_w, pad_h)
        if mask is not None:
            mask = _pad(mask, pad_w, pad_h)
            y = self.descriptor(x, mask)
        elif level is not None:
            noise = torch.full_like(x[:, :1], level)
            y = self.descriptor.model(torch.cat([x, noise], dim=1))
        else:
            y = self.descriptor(x)
        return y[..., : h * self.scale, : w * self.scale].clamp(0, 1)

    def _tile_fn(self, level: float | None, masked: bool):
        def fn(part: np.ndarray) -> np.ndarray:
            rgb = part[..., :3]
            mask = None
            if masked:
                hole = part[..., 3] > 0
                if not hole.any():  # nothing to fill here: the tile stays as it is
                    return rgb.astype(np.float32)
                mask = torch.from_numpy(hole).to(self.device, self.dtype)[None, None]
            x = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device)
            x = x.permute(2, 0, 1)[None].to(self.dtype).div_(255.0)
            y = self._forward(x, mask, level)
            out = y[0].permute(1, 2, 0).float().mul_(255.0).cpu().numpy()
            if masked:  # unmasked pixels are the photo's own, exactly
                big = np.repeat(hole[..., None], 3, axis=2)
                out = np.where(big, out, rgb.astype(np.float32))
            return out

        return fn

    # -- the PhotoModel API -----------------------------------------------------------

    def run(
        self,
        rgb: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        strength: float | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """uint8 RGB in, uint8 RGB ``scale`` times larger out (see learned.PhotoModel)."""
        cancel = cancel or CancelToken()
        rgb = check_rgb8(rgb, self.name)
        h, w = rgb.shape[:2]
        masked = self.task == "inpaint"
        image = rgb
        if masked:
            if mask is None:
                raise Gen2ResError(f"The inpainting model '{self.name}' needs a damage map.")
            mask = np.asarray(mask)
            if mask.ndim == 3:
                mask = mask.max(axis=2)
            if mask.shape != (h, w):
                raise Gen2ResError(
                    f"The damage map is {mask.shape[1]} x {mask.shape[0]} pixels but the photo "
                    f"is {w} x {h}."
                )
            if not mask.any():
                cancel.check()
                return rgb.copy()
            image = np.concatenate([rgb, (mask > 0).astype(np.uint8)[..., None] * 255], axis=2)
        level = self._noise_level(strength)
        tile, overlap = self.tile, self.overlap
        if self.descriptor.tiling == _spandrel().ModelTiling.INTERNAL:
            tile = max(h, w, 2 * overlap + 1)

        def run(size: int) -> np.ndarray:
            return process_tiled(
                image,
                self._tile_fn(level, masked),  # made anew: a retry may have changed the dtype
                tile=size,
                overlap=overlap,
                scale=self.scale,
                stage=self.task,
                progress=progress,
                cancel=cancel,
            )

        def to_fp32(e: BaseException) -> bool:
            # some kernels lack a half-precision version: fall back to fp32
            if self.dtype == torch.float32:
                return False
            self.dtype = torch.float32
            self.descriptor.model.to(dtype=torch.float32)
            return True

        with self._lock:
            out = run_shrinking(
                run,
                tile,
                name=self.name,
                device=self.device,
                smallest=max(_MIN_TILE, 2 * overlap + 1),
                retry=to_fp32,
            )
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# What loading an installed model gives: a restoration model, a damage detector or a
# colouriser.
Loaded = LoadedPhotoModel | scratch_detector.ScratchDetectorModel | DDColorModel


class PhotoModelCache:
    """The installed photo models, each loaded once and kept for the next photo
    (implements :class:`.learned.ModelSource`)."""

    def __init__(self, home: Path | None, device: str | None = None) -> None:
        self.registry = PhotoModelRegistry(home)
        self._device_name = device
        self._device: torch.device | None = None
        self._models: dict[str, Loaded] = {}
        self._lock = threading.Lock()

    @property
    def device(self) -> torch.device:
        if self._device is None:
            self._device = resolve_device(self._device_name)
        return self._device

    def installed(self, task: str) -> list[str]:
        """Installed models for ``task``: the catalogue's (in its order, best first), then
        imported ones by name."""
        order = list(CATALOGUE)
        names = [i.name for i in self.registry.list() if i.task == task]
        return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))

    def load(self, name: str) -> Loaded:
        info = self.registry.get(name)
        with self._lock:
            cached = self._models.get(name)
            if cached is not None and cached.sha256 == info.sha256:
                return cached
            model = load_installed(info, self.device)
            self._models[name] = model
            return model

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


def load_installed(info: PhotoModelInfo, device: torch.device | str = "cpu") -> Loaded:
    """Load an installed photo model after checking its file is the one installed."""
    device = torch.device(device) if isinstance(device, str) else device
    if sha256_file(info.path) != info.sha256:
        raise Gen2ResError(
            f"The photo model '{info.name}' was changed or damaged on disk (its checksum no "
            "longer matches); remove it and install it again."
        )
    sd = canonical_state_dict(read_weights(info.path), f"The photo model '{info.name}'")
    found = detect(sd, f"The photo model '{info.name}'")
    del sd
    if found.arch != info.arch or found.scale != info.scale:
        raise Gen2ResError(
            f"The photo model '{info.name}' no longer loads as the {info.arch} x{info.scale} "
            "model it was installed as; remove it and install it again."
        )
    try:
        if found.arch == scratch_detector.ARCH:
            return scratch_detector.ScratchDetectorModel(found.descriptor, info=info, device=device)
        if found.arch == ddcolor.ARCH:
            return DDColorModel(found.descriptor, info=info, device=device)
        return LoadedPhotoModel(info, found.descriptor, device)
    except torch.OutOfMemoryError as e:
        raise OutOfMemory(
            f"Not enough GPU memory to load the photo model '{info.name}': close other "
            "programs or run on the CPU (Settings → Device)."
        ) from e
