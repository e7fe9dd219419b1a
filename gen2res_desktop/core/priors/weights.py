"""A prior's UNet weights: checked against its config (tensor names, shapes, floating
point, finite values) before they are trusted, and built into a model.

Weights arriving as ``.bin`` are read with ``weights_only=True`` (data, never code). torch
and diffusers are imported inside the functions that need them: listing or checking the
installed priors loads neither.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import safe_open

from gen2res_desktop.core import model_file_checks as checks
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors.info import WEIGHTS_NAME

if TYPE_CHECKING:
    import torch


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


def check_weights(
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


def weights_header(weights: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
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


def load_state_dict(unet_dir: Path, config: dict) -> dict[str, torch.Tensor]:
    """The UNet's weights, checked against its config: names, shapes, floating, finite."""
    import torch

    config_path = unet_dir / "config.json"
    st = unet_dir / WEIGHTS_NAME
    if st.is_file():
        from safetensors.torch import load_file

        check_weights(*weights_header(st), config, st, config_path)  # before reading any data
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
        check_weights(shapes, dtypes, config, binary, config_path)
        _check_finite(state, binary)
        return state
    raise Gen2ResError(
        f"{unet_dir}: no weights file ({WEIGHTS_NAME} or diffusion_pytorch_model.bin)."
    )


def count_parameters(weights: Path) -> int:
    total = 0
    for shape in weights_header(weights)[0].values():
        total += math.prod(shape)
    return total


def build_unet(unet_dir: Path) -> torch.nn.Module:
    from diffusers import UNet2DModel

    try:
        return UNet2DModel.from_pretrained(unet_dir, use_safetensors=True)
    except Exception as e:  # noqa: BLE001 - diffusers raises many types for bad files
        raise Gen2ResError(
            f"{unet_dir.parent.name}: the prior's weights cannot be loaded ({e})."
        ) from e
