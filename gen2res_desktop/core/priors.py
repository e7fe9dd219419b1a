"""Diffusion priors: unconditional pixel-space ``UNet2DModel`` + DDPM scheduler.

Installed priors live in ``<library>/priors/<name>/`` in one normalised layout
(``unet/`` with safetensors weights, ``scheduler/``, and ``prior.json`` describing it),
whatever layout they were imported or downloaded from. Weights arriving as ``.bin`` are
loaded with ``weights_only=True`` and converted to safetensors once, at install.

Every file the app reads for a prior is checked at the door, with types and ranges,
before any tensor is built: the UNet config and the scheduler config when a folder is
imported, and again (with ``prior.json``) whenever an installed prior is read, since a
file on disk can be edited or damaged. A bad value gives one line naming the file and the
field. The weights must hold exactly the tensors the config describes, all finite.

Only ``priors/NAME/prior.json`` with a valid NAME is a prior. The staging folders of an
import (``.import-*``), a removal (``.removing-*``) or a download (``.downloads/NAME``)
never are: those left by a killed process are removed the next time the registry is used
(an import's when its process is gone, or after :data:`STALE_SECONDS` where that cannot
be asked; a download's, kept for resuming, after :data:`DOWNLOAD_STALE_SECONDS`).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import safe_open

from gen2res_desktop.core import model_file_checks as checks
from gen2res_desktop.core.atomic import atomic_write_text
from gen2res_desktop.core.defaults import PRIOR_KINDS
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.paths import priors_dir

if TYPE_CHECKING:
    # torch loads where a prior is built or loaded: the app and commands that only list
    # or check priors stay light
    import torch

SUBJECT_PRIOR = {"person": "face", "cat": "cat", "dog": "dog"}
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")

# Staging folders: an import's and a removal's carry the pid of their process.
IMPORT_PREFIX = ".import-"
REMOVING_PREFIX = ".removing-"
DOWNLOADS = ".downloads"
OWNER_FILE = ".owner"  # in a download folder: the pid of the process downloading into it
_PID_RE = re.compile(r"\.pid(\d+)$")
# A staging folder untouched this long, whose process cannot be asked about, is left over.
STALE_SECONDS = 3600
# ...even when its pid runs again (pids are reused).
_OWNED_STALE_SECONDS = 24 * 3600
# A partial download is kept this long for resuming, when its process is gone.
DOWNLOAD_STALE_SECONDS = 7 * 24 * 3600

# What the engine can run (see diffusion.Schedule): limits that keep a hostile config from
# allocating the machine away before anything is checked.
MIN_RESOLUTION, MAX_RESOLUTION = 8, 2048
MAX_TIMESTEPS = 10_000
_MAX_CONFIG_BYTES = 1 << 20
_MAX_LEVELS = 8
_MAX_CHANNELS = 4096
_DOWN_BLOCKS = {
    "DownBlock2D",
    "AttnDownBlock2D",
    "ResnetDownsampleBlock2D",
    "SkipDownBlock2D",
    "AttnSkipDownBlock2D",
}
_UP_BLOCKS = {
    "UpBlock2D",
    "AttnUpBlock2D",
    "ResnetUpsampleBlock2D",
    "SkipUpBlock2D",
    "AttnSkipUpBlock2D",
}
# UNet2DModel's defaults, for fields a config leaves out.
_UNET_DEFAULTS = {
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": [224, 448, 672, 896],
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "layers_per_block": 2,
    "norm_num_groups": 32,
}
_SCHEDULERS = {"DDPMScheduler", "DDIMScheduler"}
_BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid")
_VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log")

_IMPORT_ADVICE = "Gen2Res cannot use this model; import a diffusers UNet2DModel prior."


def _installed_advice(name: str) -> str:
    # priors are checked where both the app and the command line read them: one sentence
    # that names the window and the command
    return (
        f"Remove the prior '{name}' in Models (gen2res models remove {name}) and download "
        "or import it again."
    )


def check_prior_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise Gen2ResError(
            f"'{name}' is not a valid prior name (letters, digits, '-', '_' and '.', up to 64, "
            "starting with a letter or digit)."
        )
    return name


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
    adapter_hash: str | None = None  # sha256 of the adapter file's bytes
    adapter_label: str | None = None  # the adapter file's path: a retrained one replaces it
    # a faster engine's epsilon(x, t) for gradient-free steps (core.runtimes), and its name
    fast: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = field(
        default=None, repr=False
    )
    fast_name: str = "torch"

    @property
    def resolution(self) -> int:
        return self.info.resolution


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _read_json(path: Path) -> object:
    """The parsed JSON of a small config file; one line naming the file when it cannot be."""
    try:
        # non-blocking: a named pipe in a config's place cannot hang the app
        with open(path, "rb", opener=_nonblocking) as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise Gen2ResError(f"{path}: not a regular file, so not a config file.")
            data = f.read(_MAX_CONFIG_BYTES + 1)  # bounded, whatever the file claims
        if len(data) > _MAX_CONFIG_BYTES:
            raise Gen2ResError(
                f"{path}: too large for a config file (over {_MAX_CONFIG_BYTES} bytes); it is "
                "not a prior's config."
            )
        text = data.decode("utf-8")
    except OSError as e:
        raise Gen2ResError(f"{path}: cannot be read ({e.strerror or e}).") from e
    except UnicodeDecodeError as e:
        raise Gen2ResError(f"{path}: not a text file, so not a JSON config.") from e
    try:
        return json.loads(text)
    except ValueError as e:
        raise Gen2ResError(f"{path}: not valid JSON ({e}).") from e
    except RecursionError as e:
        raise Gen2ResError(f"{path}: not a usable JSON config (nested too deeply).") from e


def _object(value: object, path: Path, what: str) -> dict:
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise Gen2ResError(f"{path}: {what} must be a JSON object, not {kind}.")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bad(path: Path, key: str, rule: str, value: object) -> Gen2ResError:
    shown = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else value
    shown = str(shown)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return Gen2ResError(f"{path}: '{key}' must be {rule} (it is {shown}).")


def _int_field(d: dict, key: str, lo: int, hi: int, path: Path, *, default=None) -> int:
    value = d.get(key, default)
    if not _is_int(value) or not lo <= value <= hi:
        raise _bad(path, key, f"a whole number from {lo} to {hi}", value)
    return value


def _bool_field(d: dict, key: str, path: Path) -> None:
    if key in d and not isinstance(d[key], bool):
        raise _bad(path, key, "true or false", d[key])


def _choice_field(d: dict, key: str, choices, path: Path, *, default=None, none=False) -> None:
    value = d.get(key, default)
    if none and value is None:
        return
    if not isinstance(value, str) or value not in choices:
        raise _bad(path, key, "one of " + ", ".join(f"'{c}'" for c in choices), value)


def _number_field(d: dict, key: str, path: Path, *, lo=None, hi=None, open_lo=True) -> None:
    if key not in d:
        return
    value = d[key]
    ok = _is_number(value)
    if ok and lo is not None:
        ok = value > lo if open_lo else value >= lo
    if ok and hi is not None:
        ok = value < hi
    if not ok:
        rule = "a number"
        if lo is not None and hi is not None:
            rule = f"a number between {lo} and {hi}"
        elif lo is not None:
            rule = f"a number {'above' if open_lo else 'of at least'} {lo}"
        raise _bad(path, key, rule, value)


def validate_unet_config(config: object, path: Path) -> int:
    """Check a UNet config for what Gen2Res can build and run; returns the resolution."""
    d = _object(config, path, "the UNet config")
    cls = d.get("_class_name")
    if cls != "UNet2DModel":
        raise Gen2ResError(
            f"{path}: the model is a {cls if isinstance(cls, str) else 'unknown model'}, but a "
            "prior must be an unconditional pixel-space UNet2DModel."
        )
    for key in ("in_channels", "out_channels"):
        value = d.get(key, 3)
        if not _is_int(value) or value != 3:
            raise _bad(path, key, "3 (a prior maps an RGB image to RGB)", value)
    size = d.get("sample_size")
    if isinstance(size, list) and len(size) == 2 and size[0] == size[1]:
        size = size[0]  # (height, width) of a square
    if not _is_int(size) or not MIN_RESOLUTION <= size <= MAX_RESOLUTION:
        raise _bad(
            path,
            "sample_size",
            f"a whole number from {MIN_RESOLUTION} to {MAX_RESOLUTION} (a square image's side)",
            d.get("sample_size"),
        )
    channels = d.get("block_out_channels", _UNET_DEFAULTS["block_out_channels"])
    if (
        not isinstance(channels, list)
        or not 1 <= len(channels) <= _MAX_LEVELS
        or not all(_is_int(c) and 1 <= c <= _MAX_CHANNELS for c in channels)
    ):
        raise _bad(
            path,
            "block_out_channels",
            f"a list of 1 to {_MAX_LEVELS} whole numbers from 1 to {_MAX_CHANNELS}",
            channels,
        )
    for key, known in (("down_block_types", _DOWN_BLOCKS), ("up_block_types", _UP_BLOCKS)):
        blocks = d.get(key, _UNET_DEFAULTS[key])
        if not isinstance(blocks, list) or not all(isinstance(b, str) for b in blocks):
            raise _bad(path, key, "a list of block type names", blocks)
        if len(blocks) != len(channels):
            raise _bad(
                path, key, f"a list of {len(channels)} names (one per block_out_channels)", blocks
            )
        unknown = [b for b in blocks if b not in known]
        if unknown:
            raise _bad(path, key, "made of " + ", ".join(sorted(known)), unknown[0])
    _int_field(d, "layers_per_block", 1, 16, path, default=2)
    groups = d.get("norm_num_groups", 32)
    if not _is_int(groups) or groups < 1 or any(c % groups for c in channels):
        raise _bad(
            path, "norm_num_groups", "a whole number dividing every block_out_channels", groups
        )
    head = d.get("attention_head_dim")
    if head is not None and (not _is_int(head) or not 1 <= head <= _MAX_CHANNELS):
        raise _bad(
            path, "attention_head_dim", f"null or a whole number from 1 to {_MAX_CHANNELS}", head
        )
    _choice_field(
        d, "time_embedding_type", ("positional", "fourier", "learned"), path, default="positional"
    )
    for key in ("class_embed_type", "num_class_embeds"):
        if d.get(key) is not None:
            raise _bad(path, key, "null (a prior is unconditional)", d[key])
    for key in ("center_input_sample", "flip_sin_to_cos", "add_attention"):
        _bool_field(d, key, path)
    _number_field(d, "norm_eps", path, lo=0)
    _number_field(d, "dropout", path, lo=0, hi=1, open_lo=False)
    step = 2 ** (len(channels) - 1)
    if size % step:
        raise _bad(
            path,
            "sample_size",
            f"a multiple of {step} (the UNet halves it {len(channels) - 1} times)",
            size,
        )
    return size


def validate_scheduler_config(config: object, path: Path) -> None:
    """Check a scheduler config for a DDPM noise schedule the engine can run."""
    d = _object(config, path, "the scheduler config")
    cls = d.get("_class_name", "DDPMScheduler")
    if cls not in _SCHEDULERS:
        raise _bad(path, "_class_name", "DDPMScheduler (or DDIMScheduler)", cls)
    steps = _int_field(d, "num_train_timesteps", 2, MAX_TIMESTEPS, path, default=1000)
    _choice_field(d, "beta_schedule", _BETA_SCHEDULES, path, default="linear")
    _number_field(d, "beta_start", path, lo=0, hi=1)
    _number_field(d, "beta_end", path, lo=0, hi=1)
    start, end = d.get("beta_start", 0.0001), d.get("beta_end", 0.02)
    if not start < end:
        raise _bad(path, "beta_end", f"larger than beta_start ({start})", end)
    betas = d.get("trained_betas")
    if betas is not None and (
        not isinstance(betas, list)
        or len(betas) != steps
        or not all(_is_number(b) and 0 < b < 1 for b in betas)
    ):
        raise _bad(path, "trained_betas", f"null or {steps} numbers between 0 and 1", betas)
    _choice_field(d, "prediction_type", ("epsilon",), path, default="epsilon")
    _choice_field(d, "variance_type", _VARIANCE_TYPES, path, default="fixed_small")
    _choice_field(
        d, "timestep_spacing", ("linspace", "leading", "trailing"), path, default="leading"
    )
    for key in ("clip_sample", "thresholding"):
        _bool_field(d, key, path)
    _number_field(d, "clip_sample_range", path, lo=0)
    _number_field(d, "sample_max_value", path, lo=0)
    _number_field(d, "dynamic_thresholding_ratio", path, lo=0, hi=1)
    if "steps_offset" in d:
        _int_field(d, "steps_offset", 0, steps, path)
    if d.get("rescale_betas_zero_snr", False) is not False:
        raise _bad(
            path,
            "rescale_betas_zero_snr",
            "false (a zero-SNR schedule cannot restore)",
            d["rescale_betas_zero_snr"],
        )


def _read_prior_json(folder: Path) -> dict:
    """``prior.json`` of an installed prior, checked field by field."""
    path = folder / "prior.json"
    d = _object(_read_json(path), path, "prior.json")
    for key in ("name", "kind", "weights_hash", "source"):
        if not isinstance(d.get(key), str):
            raise _bad(path, key, "a string", d.get(key))
    if d["name"] != folder.name:
        raise _bad(path, "name", f"the name of its folder, '{folder.name}'", d["name"])
    _choice_field(d, "kind", PRIOR_KINDS, path)
    _int_field(d, "resolution", MIN_RESOLUTION, MAX_RESOLUTION, path)
    _int_field(d, "parameters", 1, 10**12, path)
    if not _HASH_RE.match(d["weights_hash"]):
        raise _bad(path, "weights_hash", "a sha256 (64 lowercase hex digits)", d["weights_hash"])
    for key in ("revision", "installed_at"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise _bad(path, key, "a string", d[key])
    known = {f for f in PriorInfo.__dataclass_fields__ if f != "path"}
    return {k: v for k, v in d.items() if k in known}  # unknown keys (a newer app's) ignored


def _locate_parts(folder: Path) -> tuple[Path, Path | None, dict, dict | None]:
    """Find the UNet folder and the scheduler config in a pipeline, flat or bare layout, and
    check both configs: (unet folder, scheduler config file, UNet config, scheduler config)."""
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
    validate_unet_config(config, unet_dir / "config.json")
    sched_config = None
    if sched.is_file():
        sched_config = _read_json(sched)
        validate_scheduler_config(sched_config, sched)
    return unet_dir, (sched if sched.is_file() else None), config, sched_config


def _empty_unet(config: dict, path: Path) -> torch.nn.Module:
    """The UNet a config describes, without memory for its weights (on the meta device)."""
    import torch
    from diffusers import UNet2DModel

    try:
        with torch.device("meta"):
            return UNet2DModel.from_config(config)
    except Exception as e:  # noqa: BLE001 - diffusers raises many types for odd configs
        raise Gen2ResError(
            f"{path}: the UNet config does not describe a usable model ({e})."
        ) from e


def _check_weights(
    shapes: dict[str, tuple[int, ...]],
    dtypes: dict[str, str],
    config: dict,
    weights: Path,
    config_path: Path,
) -> None:
    """The weights hold exactly the floating-point tensors the config's UNet has, of a size
    that fits (weighed from the shapes: stride-0 tensors can describe billions)."""
    expected = {k: tuple(v.shape) for k, v in _empty_unet(config, config_path).state_dict().items()}
    checks.check_parameters(checks.parameter_count(expected.values()), config_path.parent)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (such as {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (such as {unexpected[0]})")
        raise Gen2ResError(
            f"{weights}: the weights do not match the UNet config: tensors "
            + " and ".join(parts)
            + "."
        )
    for key, shape in sorted(shapes.items()):
        if shape != expected[key]:
            raise Gen2ResError(
                f"{weights}: tensor {key} has shape {list(shape)}, but the UNet config needs "
                f"{list(expected[key])}."
            )
    for key, dtype in sorted(dtypes.items()):
        if not dtype.startswith(("F", "BF", "float", "bfloat", "torch.float", "torch.bfloat")):
            raise Gen2ResError(f"{weights}: tensor {key} is {dtype}, not floating point.")


def _header(weights: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Tensor names, shapes and dtypes of a safetensors file, read without its data."""
    try:
        with safe_open(str(weights), framework="pt") as f:
            shapes, dtypes = {}, {}
            for key in f.keys():
                piece = f.get_slice(key)
                shapes[key] = tuple(piece.get_shape())
                dtypes[key] = str(piece.get_dtype())
            return shapes, dtypes
    except Exception as e:  # noqa: BLE001 - SafetensorError, OSError...
        raise checks.damaged(weights) from e


def all_finite(tensor: torch.Tensor) -> bool:
    """No NaN or infinity in ``tensor`` (numpy's check: several times quicker on a CPU)."""
    import torch

    t = tensor.detach().cpu()
    if t.dtype not in (torch.float16, torch.float32, torch.float64):
        t = t.float()
    return bool(np.isfinite(t.numpy()).all())


def _check_finite(state: dict[str, torch.Tensor], weights: Path) -> None:
    for key, tensor in state.items():
        if not all_finite(tensor):
            raise Gen2ResError(
                f"{weights}: tensor {key} holds values that are not finite numbers (NaN or "
                "infinity); these weights would give blank images."
            )


def _load_state_dict(unet_dir: Path, config: dict) -> dict[str, torch.Tensor]:
    """The UNet's weights, checked against its config: names, shapes, floating, finite."""
    import torch

    config_path = unet_dir / "config.json"
    st = unet_dir / WEIGHTS_NAME
    if st.is_file():
        from safetensors.torch import load_file

        _check_weights(*_header(st), config, st, config_path)  # before reading any data
        try:
            state = load_file(st)
        except Exception as e:  # noqa: BLE001 - SafetensorError, OSError...
            raise checks.damaged(st) from e
        _check_finite(state, st)
        return state
    binary = unet_dir / "diffusion_pytorch_model.bin"
    if binary.is_file():
        state = checks.load_torch_weights(binary)  # data, never code; one line when refused
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise Gen2ResError(f"{binary}: not a weights file (no table of named tensors).")
        shapes = {k: tuple(v.shape) for k, v in state.items()}
        dtypes = {k: str(v.dtype) for k, v in state.items()}
        _check_weights(shapes, dtypes, config, binary, config_path)
        _check_finite(state, binary)
        return state
    raise Gen2ResError(
        f"{unet_dir}: no weights file ({WEIGHTS_NAME} or diffusion_pytorch_model.bin)."
    )


def _count_parameters(weights: Path) -> int:
    total = 0
    for shape in _header(weights)[0].values():
        total += math.prod(shape)
    return total


# ---------------------------------------------------------------------------------------
# leftovers of killed imports, removals and downloads


def _pid_alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs; None where that cannot be asked safely (Windows)."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _newest_mtime(folder: Path) -> float:
    """When anything in ``folder`` last changed (a live download keeps appending to a file)."""
    newest = folder.lstat().st_mtime
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            try:
                newest = max(newest, os.lstat(os.path.join(dirpath, n)).st_mtime)
            except OSError:
                continue
    return newest


def _owner_of(folder: Path) -> int | None:
    m = _PID_RE.search(folder.name)
    if m:
        return int(m.group(1))
    try:
        text = (folder / OWNER_FILE).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def _stale(path: Path, now: float, limit: float, *, owner_gone_is_enough: bool) -> bool:
    """Left over by a killed process. ``owner_gone_is_enough``: as soon as its process is
    gone (an import); else only once it has also been untouched for ``limit`` seconds (a
    download, kept to resume). Where the owner cannot be asked, ``limit`` decides; a live
    owner's is kept, unless untouched for a day and ``limit`` (its pid may be reused)."""
    age = now - _newest_mtime(path)
    pid = _owner_of(path)
    alive = _pid_alive(pid) if pid is not None else None
    if alive is True:
        return age > max(limit, _OWNED_STALE_SECONDS)
    if alive is False and owner_gone_is_enough:
        return True
    return age > limit


def sweep_priors(root: Path) -> None:
    """Remove what killed imports, removals and downloads left in ``root`` (never raises)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    now = time.time()
    for path in entries:
        name = path.name
        try:
            if name.startswith(REMOVING_PREFIX):
                _remove(path)  # garbage whoever owns it; a live remover ignores errors too
            elif name.startswith(IMPORT_PREFIX):
                if _stale(path, now, STALE_SECONDS, owner_gone_is_enough=True):
                    _remove(path)
            elif name == DOWNLOADS and path.is_dir() and not path.is_symlink():
                for part in list(path.iterdir()):
                    if not part.is_dir() or not _NAME_RE.match(part.name):
                        if now - part.lstat().st_mtime > STALE_SECONDS:
                            _remove(part)
                    elif (root / part.name / "prior.json").is_file():
                        # installed: only the removal of the download was missed
                        if _stale(part, now, STALE_SECONDS, owner_gone_is_enough=True):
                            _remove(part)
                    elif _stale(part, now, DOWNLOAD_STALE_SECONDS, owner_gone_is_enough=False):
                        _remove(part)
        except OSError:
            continue


def claim_download_folder(folder: Path) -> None:
    """Mark ``folder`` (``.downloads/NAME``) as used by this process."""
    atomic_write_text(folder / OWNER_FILE, str(os.getpid()))


class PriorRegistry:
    """The installed priors of one library: ``priors/NAME/prior.json`` with a valid NAME."""

    def __init__(self, home: Path | None = None) -> None:
        self.root = priors_dir(home)

    def _candidates(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p
            for p in self.root.iterdir()
            if _NAME_RE.match(p.name) and (p / "prior.json").is_file()
        )

    def list(self) -> list[PriorInfo]:
        sweep_priors(self.root)
        infos = []
        for folder in self._candidates():
            try:
                # prior.json only (a listing reads no more); `get` checks every file, and
                # `problems` says which listed priors cannot be used and why
                infos.append(self._read(folder, files=False))
            except Gen2ResError:
                continue  # a damaged or half-removed prior is not listed; `get` explains it
        return infos

    def problems(self) -> list[tuple[str, str]]:
        """(name, one-line message) for each installed prior that cannot be used."""
        found = []
        for folder in self._candidates():
            try:
                self._read(folder)
            except Gen2ResError as e:
                found.append((folder.name, str(e)))
        return found

    def get(self, name: str) -> PriorInfo:
        sweep_priors(self.root)
        folder = self.root / name if isinstance(name, str) else self.root
        if (
            not isinstance(name, str)
            or not _NAME_RE.match(name)
            or not (folder / "prior.json").is_file()
        ):
            installed = ", ".join(p.name for p in self.list()) or "none"
            raise Gen2ResError(
                f"No prior named '{name}' is installed (installed: {installed}).",
                app="Download or import one in Models.",
                cli="Download or import one with 'gen2res models download' or "
                "'gen2res models import'.",
            )
        return self._read(folder)

    def for_kind(self, kind: str, preferred: str | None = None) -> PriorInfo:
        """The prior a job of ``kind`` (face, cat, dog) uses: ``preferred`` (a subject's
        chosen prior) when it is installed, else an installed prior of that kind, the one
        named like the kind first.

        A ``preferred`` prior that is installed but damaged says so rather than being
        swapped for another: an adapter only fits the weights it was trained on.
        """
        if preferred and isinstance(preferred, str) and (self.root / preferred).is_dir():
            return self.get(preferred)
        usable = sorted(
            (p for p in self.list() if p.kind == kind), key=lambda p: (p.name != kind, p.name)
        )
        for info in usable:
            try:
                return self.get(info.name)
            except Gen2ResError:
                continue  # listed but damaged: another of its kind may still work
        raise Gen2ResError(
            f"The prior '{preferred}' is not installed, nor any other {kind} prior."
            if preferred
            else f"No {kind} prior is installed.",
            app=f"Download or import a {kind} prior in Models.",
            cli=f"Download or import a {kind} prior with 'gen2res models download' or "
            "'gen2res models import'.",
        )

    def _read(self, folder: Path, *, files: bool = True) -> PriorInfo:
        """An installed prior's description, checked; with ``files``, after checking every
        file a load reads (the configs, and that the weights are there)."""
        try:
            d = _read_prior_json(folder)
            if not files:
                return PriorInfo(path=folder, **d)
            unet_dir = folder / "unet"
            resolution = validate_unet_config(
                _read_json(unet_dir / "config.json"), unet_dir / "config.json"
            )
            sched = folder / "scheduler" / "scheduler_config.json"
            validate_scheduler_config(_read_json(sched), sched)
            if resolution != d["resolution"]:
                raise _bad(
                    folder / "prior.json",
                    "resolution",
                    f"the UNet config's sample_size, {resolution}",
                    d["resolution"],
                )
            if not (unet_dir / WEIGHTS_NAME).is_file():
                raise Gen2ResError(f"{unet_dir / WEIGHTS_NAME}: the weights file is missing.")
        except Gen2ResError as e:
            raise Gen2ResError(f"{e} {_installed_advice(folder.name)}") from e
        return PriorInfo(path=folder, **d)

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
        check_prior_name(name)
        if kind not in PRIOR_KINDS:
            raise Gen2ResError(f"Unknown prior kind '{kind}'; use one of {', '.join(PRIOR_KINDS)}.")
        sweep_priors(self.root)
        target = self.root / name
        if target.exists() and not replace:
            raise Gen2ResError(
                f"A prior named '{name}' is already installed; remove it first or choose "
                "another name."
            )
        try:
            unet_dir, sched_cfg, config, sched_config = _locate_parts(source)
            resolution = validate_unet_config(config, unet_dir / "config.json")
            state = _load_state_dict(unet_dir, config)
        except Gen2ResError as e:
            raise Gen2ResError(f"{e} {_IMPORT_ADVICE}") from e
        self.root.mkdir(parents=True, exist_ok=True)
        # The pid in the name tells a later sweep whether its import still runs.
        staging = Path(
            tempfile.mkdtemp(
                prefix=f"{IMPORT_PREFIX}{name}-", suffix=f".pid{os.getpid()}", dir=self.root
            )
        )
        try:
            (staging / "unet").mkdir()
            (staging / "scheduler").mkdir()
            # Written from the checked values, not copied: what was checked is what is kept.
            atomic_write_text(staging / "unet" / "config.json", json.dumps(config, indent=2))
            weights = staging / "unet" / WEIGHTS_NAME
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in state.items()}, str(weights))
            del state
            if sched_config is not None:
                atomic_write_text(
                    staging / "scheduler" / "scheduler_config.json",
                    json.dumps(sched_config, indent=2),
                )
            else:
                from diffusers import DDPMScheduler

                DDPMScheduler(num_train_timesteps=1000).save_config(staging / "scheduler")
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
                trash = (
                    self.root / f"{REMOVING_PREFIX}{name}-{secrets.token_hex(4)}.pid{os.getpid()}"
                )
                target.rename(trash)
                staging.rename(target)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(name)

    def remove(self, name: str) -> None:
        """Remove an installed prior, a damaged one too."""
        sweep_priors(self.root)
        folder = self.root / name if isinstance(name, str) else self.root
        if not isinstance(name, str) or not _NAME_RE.match(name) or not folder.is_dir():
            self.get(name)  # raises the usual "no prior named" message
        trash = self.root / f"{REMOVING_PREFIX}{name}-{secrets.token_hex(4)}.pid{os.getpid()}"
        folder.rename(trash)
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
    """Load an installed prior for inference on ``device`` (auto-chosen when None).

    Its files are checked again first (they may have changed since ``info`` was read):
    the configs, and the weights' tensor names and shapes against the config.
    """
    import torch
    from diffusers import DDPMScheduler

    from gen2res_desktop.core.devices import in_layout, resolve_device

    folder = Path(info.path)
    current = PriorRegistry(folder.parent.parent)._read(folder)
    if current.weights_hash != info.weights_hash:
        raise Gen2ResError(
            f"The prior '{info.name}' was replaced while in use (its weights changed); "
            "start again to use the new one."
        )
    unet_dir = folder / "unet"
    try:
        config = _read_json(unet_dir / "config.json")
        _check_weights(
            *_header(unet_dir / WEIGHTS_NAME),
            config,
            unet_dir / WEIGHTS_NAME,
            unet_dir / "config.json",
        )
    except Gen2ResError as e:
        raise Gen2ResError(f"{e} {_installed_advice(folder.name)}") from e
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    unet = _build_unet(unet_dir)
    unet.requires_grad_(False)
    in_layout(unet.eval().to(dev), dev)
    try:
        scheduler = DDPMScheduler.from_pretrained(folder / "scheduler")
    except Exception as e:  # noqa: BLE001 - checked above; a file changing meanwhile
        raise Gen2ResError(
            f"{folder / 'scheduler'}: the scheduler cannot be loaded ({e}). "
            f"{_installed_advice(folder.name)}"
        ) from e
    return LoadedPrior(info=current, unet=unet, scheduler=scheduler, device=dev)
