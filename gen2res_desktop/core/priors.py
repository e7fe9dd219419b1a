"""Diffusion priors: unconditional pixel-space ``UNet2DModel`` + DDPM scheduler.

Installed priors live in ``<library>/priors/<name>/`` in one normalised layout
(``unet/`` with safetensors weights, ``scheduler/``, and ``prior.json`` describing it),
whatever layout they were imported or downloaded from. Weights arriving as ``.bin`` are
loaded with ``weights_only=True`` and converted to safetensors once, at install.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from gen2res_desktop.core.atomic import atomic_write_text
from gen2res_desktop.core.defaults import PRIOR_KINDS
from gen2res_desktop.core.devices import resolve_device
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.paths import priors_dir

SUBJECT_PRIOR = {"person": "face", "cat": "cat", "dog": "dog"}
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def prior_kind_for_subject(kind: str) -> str:
    """The prior kind (and default prior name) a subject of ``kind`` uses."""
    try:
        return SUBJECT_PRIOR[kind]
    except KeyError:
        raise Gen2ResError(f"Unknown subject kind '{kind}'; use person, cat or dog.") from None


@dataclass(frozen=True)
class PriorInfo:
    name: str
    kind: str
    path: Path
    resolution: int
    parameters: int
    weights_hash: str
    source: str
    revision: str | None = None
    installed_at: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


@dataclass
class LoadedPrior:
    """A prior ready to run: its UNet in eval mode on ``device`` and its scheduler."""

    info: PriorInfo
    unet: torch.nn.Module
    scheduler: object
    device: torch.device
    adapter: object | None = field(default=None)  # AdapterMeta when a LoRA is applied

    @property
    def resolution(self) -> int:
        return self.info.resolution


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise Gen2ResError(f"{path}: cannot read ({e}).") from e


def _locate_parts(folder: Path) -> tuple[Path, Path | None]:
    """Find the UNet folder and the scheduler config in a pipeline, flat or bare layout."""
    if not folder.is_dir():
        raise Gen2ResError(f"{folder}: not a folder.")
    if (folder / "unet" / "config.json").is_file():
        unet_dir = folder / "unet"
        sched = folder / "scheduler" / "scheduler_config.json"
    elif (folder / "config.json").is_file():
        unet_dir = folder
        sched = folder / "scheduler_config.json"
    else:
        raise Gen2ResError(
            f"{folder}: not a diffusers model folder (expected unet/config.json or config.json)."
        )
    config = _read_json(unet_dir / "config.json")
    cls = config.get("_class_name")
    if cls != "UNet2DModel":
        raise Gen2ResError(
            f"{folder}: the model is a {cls or 'unknown model'}, but a prior must be an "
            "unconditional pixel-space UNet2DModel."
        )
    if config.get("in_channels", 3) != 3 or config.get("out_channels", 3) != 3:
        raise Gen2ResError(f"{folder}: the UNet must map RGB to RGB (3 in, 3 out channels).")
    return unet_dir, (sched if sched.is_file() else None)


def _load_state_dict(unet_dir: Path) -> dict[str, torch.Tensor]:
    st = unet_dir / WEIGHTS_NAME
    if st.is_file():
        from safetensors.torch import load_file

        try:
            return load_file(st)
        except Exception as e:  # noqa: BLE001 - SafetensorError, OSError...
            raise Gen2ResError(f"{st}: damaged weights file ({e}).") from e
    binary = unet_dir / "diffusion_pytorch_model.bin"
    if binary.is_file():
        try:
            # weights_only: a downloaded file is data, never code
            return torch.load(binary, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - pickle/zip errors come in many types
            raise Gen2ResError(f"{binary}: damaged or not a weights file ({e}).") from e
    raise Gen2ResError(
        f"{unet_dir}: no weights file ({WEIGHTS_NAME} or diffusion_pytorch_model.bin)."
    )


def _count_parameters(weights: Path) -> int:
    total = 0
    with safe_open(weights, framework="pt") as f:
        for key in f.keys():
            n = 1
            for d in f.get_slice(key).get_shape():
                n *= d
            total += n
    return total


class PriorRegistry:
    """The installed priors of one library, found by scanning ``priors/*/prior.json``."""

    def __init__(self, home: Path | None = None) -> None:
        self.root = priors_dir(home)

    def list(self) -> list[PriorInfo]:
        if not self.root.is_dir():
            return []
        infos = []
        for meta in sorted(self.root.glob("*/prior.json")):
            try:
                infos.append(self._read(meta.parent))
            except Gen2ResError:
                continue  # a half-removed prior is not listed; `get` explains it
        return infos

    def get(self, name: str) -> PriorInfo:
        folder = self.root / name
        if not _NAME_RE.match(name) or not (folder / "prior.json").is_file():
            installed = ", ".join(p.name for p in self.list()) or "none"
            raise Gen2ResError(
                f"No prior named '{name}' is installed (installed: {installed}). "
                "Use 'gen2res models download' or 'gen2res models import'."
            )
        return self._read(folder)

    def _read(self, folder: Path) -> PriorInfo:
        d = _read_json(folder / "prior.json")
        d["path"] = folder
        try:
            return PriorInfo(**d)
        except TypeError as e:
            raise Gen2ResError(f"{folder}: prior.json is damaged ({e}).") from e

    def import_folder(
        self,
        source: Path,
        name: str,
        kind: str,
        *,
        origin: str | None = None,
        revision: str | None = None,
        replace: bool = False,
    ) -> PriorInfo:
        """Copy a local diffusers folder in as prior ``name``, converting weights to safetensors."""
        source = Path(source)
        if not _NAME_RE.match(name):
            raise Gen2ResError(
                f"'{name}' is not a valid prior name (letters, digits, '-', '_' and '.', up to 64)."
            )
        if kind not in PRIOR_KINDS:
            raise Gen2ResError(f"Unknown prior kind '{kind}'; use one of {', '.join(PRIOR_KINDS)}.")
        target = self.root / name
        if target.exists() and not replace:
            raise Gen2ResError(f"A prior named '{name}' is already installed.")
        unet_dir, sched_cfg = _locate_parts(source)
        state = _load_state_dict(unet_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=self.root))
        try:
            (staging / "unet").mkdir()
            (staging / "scheduler").mkdir()
            shutil.copyfile(unet_dir / "config.json", staging / "unet" / "config.json")
            weights = staging / "unet" / WEIGHTS_NAME
            save_file({k: v.contiguous() for k, v in state.items()}, str(weights))
            del state
            if sched_cfg is not None:
                shutil.copyfile(sched_cfg, staging / "scheduler" / "scheduler_config.json")
            else:
                from diffusers import DDPMScheduler

                DDPMScheduler(num_train_timesteps=1000).save_config(staging / "scheduler")
            config = _read_json(staging / "unet" / "config.json")
            resolution = config.get("sample_size")
            if isinstance(resolution, list | tuple):
                resolution = resolution[0]
            if not isinstance(resolution, int) or resolution <= 0:
                raise Gen2ResError(f"{source}: the UNet config has no usable sample_size.")
            info = PriorInfo(
                name=name,
                kind=kind,
                path=target,
                resolution=resolution,
                parameters=_count_parameters(weights),
                weights_hash=sha256_file(weights),
                source=origin or str(source.resolve()),
                revision=revision,
                installed_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            )
            meta = info.to_json()
            del meta["path"]  # the folder is the path; keep the library relocatable
            atomic_write_text(staging / "prior.json", json.dumps(meta, indent=2))
            # Load once now so a broken checkpoint fails at install, not at first restore.
            _build_unet(staging / "unet")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(name)

    def remove(self, name: str) -> None:
        info = self.get(name)
        trash = info.path.with_name(f".removing-{name}")
        info.path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)


def _build_unet(unet_dir: Path) -> torch.nn.Module:
    from diffusers import UNet2DModel

    try:
        return UNet2DModel.from_pretrained(unet_dir, use_safetensors=True)
    except Exception as e:  # noqa: BLE001 - diffusers raises many types for bad files
        raise Gen2ResError(
            f"{unet_dir.parent.name}: the prior's weights cannot be loaded ({e})."
        ) from e


def load_prior(info: PriorInfo, device: str | torch.device | None = None) -> LoadedPrior:
    """Load an installed prior for inference on ``device`` (auto-chosen when None)."""
    from diffusers import DDPMScheduler

    dev = device if isinstance(device, torch.device) else resolve_device(device)
    unet = _build_unet(info.path / "unet")
    unet.requires_grad_(False)
    unet.eval().to(dev)
    scheduler = DDPMScheduler.from_pretrained(info.path / "scheduler")
    return LoadedPrior(info=info, unet=unet, scheduler=scheduler, device=dev)
