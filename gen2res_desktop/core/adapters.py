"""Per-subject LoRA adapters on a prior's UNet: attach, save, load, with their metadata.

An adapter file is safetensors holding only the LoRA weights; its header metadata holds
:class:`AdapterMeta` as JSON, including the hash of the prior weights it was trained on,
so loading it onto another prior is refused instead of producing garbage.

An adapter file is checked when it is read, and any problem is one line naming the file:
the metadata's types and ranges (:func:`read_adapter_meta`); then (:func:`check_adapter_file`,
which needs no prior and is what ``library check`` runs) that every tensor is a LoRA
``lora_A`` / ``lora_B`` pair of the recorded rank, floating point, with finite values only;
and when applied to a prior (:func:`with_adapter`) that its tensors are exactly the ones the
prior's layers need, with their shapes.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import torch
from peft import (
    LoraConfig,
    get_peft_model_state_dict,
    inject_adapter_in_model,
    set_peft_model_state_dict,
)
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.defaults import LORA_TARGETS
from gen2res_desktop.core.devices import in_layout
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.priors import LoadedPrior, all_finite

DEFAULT_TARGETS = LORA_TARGETS
ADAPTER_NAME = "default"
_META_KEY = "gen2res_adapter"
MAX_RANK = 1024
_MAX_TARGETS = 64
_TARGET_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]{0,99}$")
_LORA_KEY_RE = re.compile(r"^(.+)\.lora_([AB])\.weight$")
RETRAIN = "Train the subject's face model again (Train in the app, or gen2res train)."


@dataclass
class AdapterMeta:
    prior_name: str
    prior_hash: str
    rank: int
    alpha: float
    targets: list[str]
    steps_done: int
    steps_total: int
    seed: int
    batch_size: int
    lr: float
    image_hashes: list[str] = field(default_factory=list)
    created: str = ""
    updated: str = ""
    final_loss: float | None = None


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _positive(v: object) -> bool:
    return _is_number(v) and math.isfinite(v) and v > 0


# field -> (check, what it must be)
_META_RULES = {
    "prior_name": (lambda v: isinstance(v, str) and 0 < len(v) <= 200, "a prior's name"),
    "prior_hash": (lambda v: isinstance(v, str) and 0 < len(v) <= 200, "a prior's weights hash"),
    "rank": (lambda v: _is_int(v) and 1 <= v <= MAX_RANK, f"a whole number from 1 to {MAX_RANK}"),
    "alpha": (_positive, "a number above 0"),
    "targets": (
        lambda v: (
            isinstance(v, list)
            and 1 <= len(v) <= _MAX_TARGETS
            and all(isinstance(t, str) and _TARGET_RE.match(t) for t in v)
        ),
        "a list of layer names",
    ),
    "steps_done": (lambda v: _is_int(v) and v >= 0, "a whole number of at least 0"),
    "steps_total": (lambda v: _is_int(v) and v >= 0, "a whole number of at least 0"),
    "seed": (_is_int, "a whole number"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "a whole number of at least 1"),
    "lr": (_positive, "a number above 0"),
    "image_hashes": (
        lambda v: isinstance(v, list) and all(isinstance(h, str) for h in v),
        "a list of strings",
    ),
    "created": (lambda v: isinstance(v, str), "a string"),
    "updated": (lambda v: isinstance(v, str), "a string"),
    # a diverged fp16 step can record inf: the weights' own check tells if that matters
    "final_loss": (lambda v: v is None or _is_number(v), "a number or null"),
}


def _damaged(path: Path, what: str) -> Gen2ResError:
    return Gen2ResError(f"{path}: {what}. {RETRAIN}")


def parse_adapter_meta(raw: object, path: Path) -> AdapterMeta:
    """AdapterMeta from the JSON text of an adapter file's metadata, checked field by field."""
    if not isinstance(raw, str) or not raw:
        raise Gen2ResError(f"{path}: not a Gen2Res face model (no face-model metadata).")
    try:
        d = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise _damaged(path, f"the face model's metadata is not valid JSON ({e})") from e
    if not isinstance(d, dict):
        raise _damaged(path, "the face model's metadata is not a JSON object")
    required = {
        f.name for f in fields(AdapterMeta) if f.default is MISSING and f.default_factory is MISSING
    }
    for name, (ok, rule) in _META_RULES.items():
        if name not in d:
            if name in required:
                raise _damaged(path, f"the face model's metadata has no '{name}'")
            continue
        if not ok(d[name]):
            shown = json.dumps(d[name]) if not isinstance(d[name], float) else str(d[name])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise _damaged(
                path, f"the face model's metadata's '{name}' must be {rule} (it is {shown})"
            )
    return AdapterMeta(**{k: v for k, v in d.items() if k in _META_RULES})


def lora_config(rank: int, alpha: float, targets: list[str] | tuple[str, ...]) -> LoraConfig:
    return LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0)


def attach_lora(unet: torch.nn.Module, rank: int, alpha: float, targets) -> torch.nn.Module:
    """Inject fresh LoRA layers into ``unet`` in place; only they require grad afterwards."""
    try:
        inject_adapter_in_model(lora_config(rank, alpha, targets), unet, adapter_name=ADAPTER_NAME)
    except ValueError as e:
        raise Gen2ResError(f"Cannot attach the face model: {e}") from e
    for name, p in unet.named_parameters():
        p.requires_grad_("lora_" in name)
    return unet


def lora_state_dict(unet: torch.nn.Module) -> dict[str, torch.Tensor]:
    return get_peft_model_state_dict(unet, adapter_name=ADAPTER_NAME)


def save_adapter(unet: torch.nn.Module, path: Path, meta: AdapterMeta) -> Path:
    state = {
        k: v.detach().to("cpu", torch.float32).contiguous()
        for k, v in lora_state_dict(unet).items()
    }
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={_META_KEY: json.dumps(asdict(meta))})
    return Path(path)


def _open_error(path: Path, e: Exception) -> Gen2ResError:
    return _damaged(path, f"not a readable face-model file, or it is damaged or cut short ({e})")


def read_adapter_meta(path: Path) -> AdapterMeta:
    """The checked metadata of the adapter file at ``path`` (its tensors are not read)."""
    path = Path(path)
    if not path.is_file():
        raise Gen2ResError(f"{path}: face-model file not found.")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(_META_KEY)
    except (SafetensorError, OSError, ValueError) as e:
        raise _open_error(path, e) from e
    return parse_adapter_meta(raw, path)


def check_adapter_file(path: Path) -> tuple[AdapterMeta, dict[str, torch.Tensor]]:
    """Read and check an adapter file without its prior: metadata, LoRA pairs of the
    recorded rank, floating point, finite values. Returns its metadata and tensors."""
    path = Path(path)
    meta = read_adapter_meta(path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise _open_error(path, e) from e
    if not state:
        raise _damaged(path, "the face-model file holds no weights")
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in sorted(state.items()):
        m = _LORA_KEY_RE.match(key)
        if not m:
            raise _damaged(path, f"tensor {key} is not a LoRA weight")
        if not tensor.is_floating_point():
            raise _damaged(path, f"tensor {key} is {tensor.dtype}, not floating point")
        if tensor.dim() not in (2, 4):
            raise _damaged(path, f"tensor {key} has shape {list(tensor.shape)}")
        pairs.setdefault(m.group(1), {})[m.group(2)] = tensor
    for base, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            half = "B" if "A" in pair else "A"
            raise _damaged(path, f"{base}.lora_{half}.weight is missing")
        a, b = pair["A"], pair["B"]
        if a.shape[0] != meta.rank or b.shape[1] != meta.rank or a.dim() != b.dim():
            raise _damaged(
                path,
                f"{base} has LoRA shapes {list(a.shape)} and {list(b.shape)}, which do not "
                f"fit rank {meta.rank}",
            )
    for key, tensor in sorted(state.items()):
        if not all_finite(tensor):
            raise _damaged(
                path,
                f"tensor {key} holds values that are not finite numbers (NaN or infinity); "
                "it would give a blank image",
            )
    return meta, state


def check_compatible(meta: AdapterMeta, prior: LoadedPrior, path: Path) -> None:
    if meta.prior_hash != prior.info.weights_hash:
        raise Gen2ResError(
            f"{Path(path).name} was trained for the prior '{meta.prior_name}' "
            f"(weights {meta.prior_hash[:12]}), not for '{prior.info.name}' "
            f"(weights {prior.info.weights_hash[:12]}). Train a face model for this prior."
        )


def _check_fits(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path):
    """The file's tensors are exactly the ones the prior's layers need, shape for shape."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        raise _damaged(
            path,
            f"{len(missing)} LoRA weights the prior's layers need are missing (such as "
            f"{missing[0]})",
        )
    if unexpected:
        raise Gen2ResError(
            f"{path}: holds {len(unexpected)} LoRA weights for layers this prior does not have "
            f"(such as {unexpected[0]}); it does not belong to this prior. Train a face model "
            "for this prior."
        )
    for key in sorted(state):
        if tuple(state[key].shape) != tuple(expected[key].shape):
            raise Gen2ResError(
                f"{path}: LoRA weight {key} has shape {list(state[key].shape)}, but this "
                f"prior's layer needs {list(expected[key].shape)}. Train a face model for this "
                "prior."
            )


def with_adapter(prior: LoadedPrior, path: Path) -> LoadedPrior:
    """A copy of ``prior`` with the adapter at ``path`` applied; the base stays untouched."""
    path = Path(path)
    meta, state = check_adapter_file(path)
    check_compatible(meta, prior, path)
    unet = copy.deepcopy(prior.unet)
    try:
        attach_lora(unet, meta.rank, meta.alpha, meta.targets)
    except Gen2ResError as e:
        raise Gen2ResError(
            f"{path}: its target layers ({', '.join(meta.targets)}) are not layers of this "
            f"prior ({' '.join(str(e).split())}). {RETRAIN}"
        ) from e
    _check_fits(state, lora_state_dict(unet), path)
    result = set_peft_model_state_dict(unet, state, adapter_name=ADAPTER_NAME)
    unexpected = getattr(result, "unexpected_keys", None) or []
    if unexpected:
        raise Gen2ResError(f"{path}: face-model weights do not fit this prior's UNet. {RETRAIN}")
    unet.requires_grad_(False)
    in_layout(unet.eval().to(prior.device), prior.device)
    return LoadedPrior(
        info=prior.info,
        unet=unet,
        scheduler=prior.scheduler,
        device=prior.device,
        adapter=meta,
        adapter_hash=sha256_file(path),
        adapter_label=str(path.resolve()),
    )
