"""What a prior is to the rest of the app: its name and kind, the description of an
installed one (:class:`PriorInfo`) and a loaded one (:class:`LoadedPrior`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gen2res_desktop.core.errors import Gen2ResError

if TYPE_CHECKING:
    # torch loads where a prior is built or loaded: the app and commands that only list
    # or check priors stay light
    import torch

SUBJECT_PRIOR = {"person": "face", "cat": "cat", "dog": "dog"}
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

IMPORT_ADVICE = "Gen2Res cannot use this model; import a diffusers UNet2DModel prior."


def installed_advice(name: str) -> str:
    # priors are checked where both the app and the command line read them: one sentence
    # that names the window and the command
    return (
        f"Remove the prior '{name}' in Models (gen2res models remove {name}) and download "
        "or import it again."
    )


def check_prior_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
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
