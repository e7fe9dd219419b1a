"""Per-subject LoRA adapters on a prior's UNet: attach, save, load, with their metadata.

An adapter file is safetensors holding only the LoRA weights; its header metadata holds
:class:`AdapterMeta` as JSON, including the hash of the prior weights it was trained on,
so loading it onto another prior is refused instead of producing garbage.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
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
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import LoadedPrior

DEFAULT_TARGETS = LORA_TARGETS
ADAPTER_NAME = "default"
_META_KEY = "gen2res_adapter"


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


def lora_config(rank: int, alpha: float, targets: list[str] | tuple[str, ...]) -> LoraConfig:
    return LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0)


def attach_lora(unet: torch.nn.Module, rank: int, alpha: float, targets) -> torch.nn.Module:
    """Inject fresh LoRA layers into ``unet`` in place; only they require grad afterwards."""
    try:
        inject_adapter_in_model(lora_config(rank, alpha, targets), unet, adapter_name=ADAPTER_NAME)
    except ValueError as e:
        raise Gen2ResError(f"Cannot attach the adapter: {e}") from e
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


def read_adapter_meta(path: Path) -> AdapterMeta:
    path = Path(path)
    if not path.is_file():
        raise Gen2ResError(f"{path}: adapter file not found.")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(_META_KEY)
    except (SafetensorError, OSError, ValueError) as e:
        raise Gen2ResError(f"{path.name}: not an adapter file, or it is damaged ({e}).") from e
    if not raw:
        raise Gen2ResError(f"{path.name}: not a Gen2Res adapter (no adapter metadata).")
    try:
        return AdapterMeta(**json.loads(raw))
    except (TypeError, ValueError) as e:
        raise Gen2ResError(f"{path.name}: adapter metadata is damaged ({e}).") from e


def check_compatible(meta: AdapterMeta, prior: LoadedPrior, path: Path) -> None:
    if meta.prior_hash != prior.info.weights_hash:
        raise Gen2ResError(
            f"{Path(path).name} was trained for the prior '{meta.prior_name}' "
            f"(weights {meta.prior_hash[:12]}), not for '{prior.info.name}' "
            f"(weights {prior.info.weights_hash[:12]}). Train an adapter for this prior."
        )


def with_adapter(prior: LoadedPrior, path: Path) -> LoadedPrior:
    """A copy of ``prior`` with the adapter at ``path`` applied; the base stays untouched."""
    meta = read_adapter_meta(path)
    check_compatible(meta, prior, path)
    unet = copy.deepcopy(prior.unet)
    attach_lora(unet, meta.rank, meta.alpha, meta.targets)
    state = load_file(str(path), device="cpu")
    result = set_peft_model_state_dict(unet, state, adapter_name=ADAPTER_NAME)
    unexpected = getattr(result, "unexpected_keys", None) or []
    if unexpected:
        raise Gen2ResError(f"{Path(path).name}: adapter weights do not fit this prior's UNet.")
    unet.requires_grad_(False)
    unet.eval().to(prior.device)
    return LoadedPrior(
        info=prior.info, unet=unet, scheduler=prior.scheduler, device=prior.device, adapter=meta
    )
