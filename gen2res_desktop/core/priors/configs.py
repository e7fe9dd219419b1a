"""Reading a prior's JSON files at the door and checking them, with types and ranges,
before any tensor is built: the UNet config, the scheduler config and ``prior.json``.

A bad value gives one line naming the file and the field. The limits are what the engine
can run (see diffusion.Schedule): they keep a hostile config from allocating the machine
away before anything is checked.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

from gen2res_desktop.core.defaults import PRIOR_KINDS
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors.info import PriorInfo

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
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def read_json(path: Path) -> object:
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


def bad_value(path: Path, key: str, rule: str, value: object) -> Gen2ResError:
    shown = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else value
    shown = str(shown)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return Gen2ResError(f"{path}: '{key}' must be {rule} (it is {shown}).")


def _int_field(d: dict, key: str, lo: int, hi: int, path: Path, *, default=None) -> int:
    value = d.get(key, default)
    if not _is_int(value) or not lo <= value <= hi:
        raise bad_value(path, key, f"a whole number from {lo} to {hi}", value)
    return value


def _bool_field(d: dict, key: str, path: Path) -> None:
    if key in d and not isinstance(d[key], bool):
        raise bad_value(path, key, "true or false", d[key])


def _choice_field(d: dict, key: str, choices, path: Path, *, default=None, none=False) -> None:
    value = d.get(key, default)
    if none and value is None:
        return
    if not isinstance(value, str) or value not in choices:
        raise bad_value(path, key, "one of " + ", ".join(f"'{c}'" for c in choices), value)


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
        raise bad_value(path, key, rule, value)


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
            raise bad_value(path, key, "3 (a prior maps an RGB image to RGB)", value)
    size = d.get("sample_size")
    if isinstance(size, list) and len(size) == 2 and size[0] == size[1]:
        size = size[0]  # (height, width) of a square
    if not _is_int(size) or not MIN_RESOLUTION <= size <= MAX_RESOLUTION:
        raise bad_value(
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
        raise bad_value(
            path,
            "block_out_channels",
            f"a list of 1 to {_MAX_LEVELS} whole numbers from 1 to {_MAX_CHANNELS}",
            channels,
        )
    for key, known in (("down_block_types", _DOWN_BLOCKS), ("up_block_types", _UP_BLOCKS)):
        blocks = d.get(key, _UNET_DEFAULTS[key])
        if not isinstance(blocks, list) or not all(isinstance(b, str) for b in blocks):
            raise bad_value(path, key, "a list of block type names", blocks)
        if len(blocks) != len(channels):
            raise bad_value(
                path, key, f"a list of {len(channels)} names (one per block_out_channels)", blocks
            )
        unknown = [b for b in blocks if b not in known]
        if unknown:
            raise bad_value(path, key, "made of " + ", ".join(sorted(known)), unknown[0])
    _int_field(d, "layers_per_block", 1, 16, path, default=2)
    groups = d.get("norm_num_groups", 32)
    if not _is_int(groups) or groups < 1 or any(c % groups for c in channels):
        raise bad_value(
            path, "norm_num_groups", "a whole number dividing every block_out_channels", groups
        )
    head = d.get("attention_head_dim")
    if head is not None and (not _is_int(head) or not 1 <= head <= _MAX_CHANNELS):
        raise bad_value(
            path, "attention_head_dim", f"null or a whole number from 1 to {_MAX_CHANNELS}", head
        )
    _choice_field(
        d, "time_embedding_type", ("positional", "fourier", "learned"), path, default="positional"
    )
    for key in ("class_embed_type", "num_class_embeds"):
        if d.get(key) is not None:
            raise bad_value(path, key, "null (a prior is unconditional)", d[key])
    for key in ("center_input_sample", "flip_sin_to_cos", "add_attention"):
        _bool_field(d, key, path)
    _number_field(d, "norm_eps", path, lo=0)
    _number_field(d, "dropout", path, lo=0, hi=1, open_lo=False)
    step = 2 ** (len(channels) - 1)
    if size % step:
        raise bad_value(
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
        raise bad_value(path, "_class_name", "DDPMScheduler (or DDIMScheduler)", cls)
    steps = _int_field(d, "num_train_timesteps", 2, MAX_TIMESTEPS, path, default=1000)
    _choice_field(d, "beta_schedule", _BETA_SCHEDULES, path, default="linear")
    _number_field(d, "beta_start", path, lo=0, hi=1)
    _number_field(d, "beta_end", path, lo=0, hi=1)
    start, end = d.get("beta_start", 0.0001), d.get("beta_end", 0.02)
    if not start < end:
        raise bad_value(path, "beta_end", f"larger than beta_start ({start})", end)
    betas = d.get("trained_betas")
    if betas is not None and (
        not isinstance(betas, list)
        or len(betas) != steps
        or not all(_is_number(b) and 0 < b < 1 for b in betas)
    ):
        raise bad_value(path, "trained_betas", f"null or {steps} numbers between 0 and 1", betas)
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
        raise bad_value(
            path,
            "rescale_betas_zero_snr",
            "false (a zero-SNR schedule cannot restore)",
            d["rescale_betas_zero_snr"],
        )


def read_prior_json(folder: Path) -> dict:
    """``prior.json`` of an installed prior, checked field by field."""
    path = folder / "prior.json"
    d = _object(read_json(path), path, "prior.json")
    for key in ("name", "kind", "weights_hash", "source"):
        if not isinstance(d.get(key), str):
            raise bad_value(path, key, "a string", d.get(key))
    if d["name"] != folder.name:
        raise bad_value(path, "name", f"the name of its folder, '{folder.name}'", d["name"])
    _choice_field(d, "kind", PRIOR_KINDS, path)
    _int_field(d, "resolution", MIN_RESOLUTION, MAX_RESOLUTION, path)
    _int_field(d, "parameters", 1, 10**12, path)
    if not _HASH_RE.match(d["weights_hash"]):
        raise bad_value(
            path, "weights_hash", "a sha256 (64 lowercase hex digits)", d["weights_hash"]
        )
    for key in ("revision", "installed_at"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise bad_value(path, key, "a string", d[key])
    known = {f for f in PriorInfo.__dataclass_fields__ if f != "path"}
    return {k: v for k, v in d.items() if k in known}  # unknown keys (a newer app's) ignored
