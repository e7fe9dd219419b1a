"""Guided-diffusion (ADM) checkpoints as Gen2Res priors.

The paper's own priors are ADM UNets (Dhariwal & Nichol 2021): FFHQ for faces, AFHQ for
cats and dogs. Their ``.pt`` files hold a bare state dict; this module reads it as data
only, works out the architecture from the tensor shapes (or takes it from a config), and
builds the equivalent diffusers ``UNet2DModel``: scale-shift time embedding, ``flip_sin_to_cos``
with no frequency shift, ResNet (or conv) down/up-sampling, attention with the checkpoint's
head split. A learned-sigma output keeps its epsilon half. Every source key is used exactly
once; one left over or missing is an error that names it.

Written from the architecture description in the paper and the issue, not from the
authors' code; ``tests/core/test_adm.py`` proves the numbers against OpenAI's reference
implementation (``guided-diffusion-sdk``).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.model_file_checks import (
    check_parameters,
    load_torch_weights,
    parameter_count,
)
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

ADM_FORMAT = "adm"
_MAX_FILE_BYTES = 4 << 30
_CONFIG_KEYS = {
    "num_heads",
    "num_head_channels",
    "use_new_attention_order",
    "noise_schedule",
    "diffusion_steps",
    "image_size",
}


@dataclass
class AdmConfig:
    """What an ADM checkpoint's architecture is (the names of guided-diffusion's flags)."""

    image_size: int
    in_channels: int
    model_channels: int
    out_channels: int
    num_res_blocks: int
    channel_mult: tuple[int, ...]
    attention_levels: tuple[int, ...]  # levels (0 = full size) with attention
    use_scale_shift_norm: bool
    resblock_updown: bool
    num_head_channels: int = 64  # not in the weights: the public FFHQ/AFHQ models use 64
    num_heads: int = -1
    use_new_attention_order: bool = False
    noise_schedule: str = "linear"
    diffusion_steps: int = 1000
    notes: list[str] = field(default_factory=list)

    @property
    def learn_sigma(self) -> bool:
        return self.out_channels == 2 * self.in_channels

    def heads(self, channels: int) -> int:
        if self.num_head_channels > 0:
            if channels % self.num_head_channels:
                raise Gen2ResError(
                    f"{channels} channels do not split into heads of {self.num_head_channels}."
                )
            return channels // self.num_head_channels
        return self.num_heads

    def level_channels(self) -> list[int]:
        return [self.model_channels * m for m in self.channel_mult]


# ----------------------------------------------------------------------------- reading


def load_adm_state_dict(path: Path) -> dict:
    """The checkpoint's tensors, read as data only (``weights_only``: no code runs), and
    checked before anything is built from them: a sane size from the shapes alone (a file
    of stride-0 tensors can describe billions of parameters), finite values."""
    import torch

    from gen2res_desktop.core.priors import all_finite

    path = Path(path)
    if not path.is_file():
        raise Gen2ResError(f"{path}: no such file.")
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise Gen2ResError(f"{path}: larger than 4 GiB; not an ADM checkpoint.")
    state = load_torch_weights(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise Gen2ResError(f"{path}: not a state dict of tensors, so not an ADM checkpoint.")
    check_parameters(parameter_count(v.shape for v in state.values()), path)
    for key, tensor in state.items():
        if tensor.is_floating_point() and not all_finite(tensor):
            raise Gen2ResError(
                f"{path}: the tensor {key} holds values that are not numbers (NaN or "
                "infinity); the checkpoint is damaged and would give blank images."
            )
    return {k.removeprefix("module."): v for k, v in state.items()}


def _block_indices(state: dict, prefix: str) -> list[int]:
    found = {int(m.group(1)) for k in state if (m := re.match(rf"{prefix}\.(\d+)\.", k))}
    return sorted(found)


def _sub(state: dict, prefix: str) -> dict[str, object]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def infer_adm_config(state: dict, overrides: dict | None = None) -> AdmConfig:
    """The architecture from the tensor shapes; ``overrides`` gives what shapes cannot say
    (heads, attention order, noise schedule) and the image size."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - _CONFIG_KEYS
    if unknown:
        raise Gen2ResError(
            f"Unknown ADM config key(s): {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted(_CONFIG_KEYS))}."
        )
    if "label_emb.weight" in state:
        raise Gen2ResError(
            "This is a class-conditional ADM model (it has label_emb.weight); a prior must be "
            "unconditional."
        )
    try:
        conv_in = state["input_blocks.0.0.weight"]
        out = state["out.2.weight"]
    except KeyError as e:
        raise Gen2ResError(f"Not an ADM (guided-diffusion) UNet: no {e.args[0]}.") from None
    model_channels, in_channels = int(conv_in.shape[0]), int(conv_in.shape[1])
    out_channels = int(out.shape[0])

    outputs = _block_indices(state, "output_blocks")
    inputs = _block_indices(state, "input_blocks")
    if not outputs or outputs != list(range(len(outputs))):
        raise Gen2ResError("Not an ADM UNet: its output blocks are not numbered 0, 1, 2…")

    def kinds(prefix: str) -> list[str]:
        """What each sub-module of a block is: res, attn, conv (resample) or res-resample."""
        names = []
        for j in _block_indices(state, prefix):
            sub = _sub(state, f"{prefix}.{j}.")
            if "qkv.weight" in sub:
                names.append("attn")
            elif "in_layers.0.weight" in sub:
                names.append("res")
            elif "op.weight" in sub or "conv.weight" in sub:
                names.append("conv")
            else:
                names.append("?")
        return names

    first_up = next((i for i in outputs if len(kinds(f"output_blocks.{i}")) > 1
                     and kinds(f"output_blocks.{i}")[-1] in ("conv", "res")), None)  # fmt: skip
    nrb = first_up if first_up is not None else len(outputs) - 1
    levels = len(outputs) // (nrb + 1)
    if levels * (nrb + 1) != len(outputs) or len(inputs) != levels * (nrb + 1):
        if len(inputs) == levels * (nrb + 1) - (levels - 1):
            raise Gen2ResError(
                "This ADM model resamples without weights (conv_resample off); Gen2Res "
                "converts models that resample with a convolution or a ResNet block."
            )
        raise Gen2ResError("Cannot work out the ADM model's levels from its blocks.")

    mult, attention, updown = [], [], False
    for level in range(levels):
        first = 1 + level * (nrb + 1)
        out_w = state[f"input_blocks.{first}.0.out_layers.3.weight"]
        ch = int(out_w.shape[0])
        if ch % model_channels:
            raise Gen2ResError(
                f"Level {level} has {ch} channels, not a multiple of {model_channels}."
            )
        mult.append(ch // model_channels)
        if "attn" in kinds(f"input_blocks.{first}"):
            attention.append(level)
        if level < levels - 1:
            down = kinds(f"input_blocks.{first + nrb}")
            updown = down == ["res"]
    emb = state["input_blocks.1.0.emb_layers.1.weight"]
    res_out = state["input_blocks.1.0.out_layers.3.weight"].shape[0]
    scale_shift = int(emb.shape[0]) == 2 * int(res_out)

    heads = {}
    if "num_heads" in overrides and "num_head_channels" not in overrides:
        heads = {"num_heads": int(overrides["num_heads"]), "num_head_channels": -1}
    elif "num_head_channels" in overrides:
        heads = {"num_head_channels": int(overrides["num_head_channels"])}
        if heads["num_head_channels"] <= 0:
            heads["num_heads"] = int(overrides.get("num_heads", -1))
    cfg = AdmConfig(
        image_size=int(overrides.get("image_size", 256)),
        in_channels=in_channels,
        model_channels=model_channels,
        out_channels=out_channels,
        num_res_blocks=nrb,
        channel_mult=tuple(mult),
        attention_levels=tuple(attention),
        use_scale_shift_norm=scale_shift,
        resblock_updown=updown,
        use_new_attention_order=bool(overrides.get("use_new_attention_order", False)),
        noise_schedule=str(overrides.get("noise_schedule", "linear")),
        diffusion_steps=int(overrides.get("diffusion_steps", 1000)),
        **heads,
    )
    if cfg.noise_schedule not in ("linear", "cosine"):
        raise Gen2ResError(f"Unknown ADM noise schedule '{cfg.noise_schedule}'; linear or cosine.")
    if cfg.out_channels not in (cfg.in_channels, 2 * cfg.in_channels):
        raise Gen2ResError(f"An ADM output of {cfg.out_channels} channels is not an image's.")
    return cfg


# ----------------------------------------------------------------------------- converting


def diffusers_config(cfg: AdmConfig) -> dict:
    """The ``UNet2DModel`` config equivalent to ``cfg``."""
    channels = cfg.level_channels()
    attn_channels = {channels[i] for i in cfg.attention_levels} | {channels[-1]}
    head_dims = {c // cfg.heads(c) for c in attn_channels}
    if len(head_dims) != 1:
        raise Gen2ResError(
            "This ADM model's attention heads differ in size between levels (a fixed number of "
            "heads over different widths); diffusers' UNet2DModel has one head size."
        )
    # a level without attention that resamples with a ResNet block has its own block type
    plain_down, plain_up = (
        ("ResnetDownsampleBlock2D", "ResnetUpsampleBlock2D")
        if cfg.resblock_updown
        else ("DownBlock2D", "UpBlock2D")
    )
    levels = range(len(channels))
    down = ["AttnDownBlock2D" if i in cfg.attention_levels else plain_down for i in levels]
    up = ["AttnUpBlock2D" if i in cfg.attention_levels else plain_up for i in reversed(levels)]
    return {
        "_class_name": "UNet2DModel",
        "sample_size": cfg.image_size,
        "in_channels": cfg.in_channels,
        "out_channels": cfg.in_channels,  # the epsilon half of a learned-sigma output
        "block_out_channels": channels,
        "down_block_types": down,
        "up_block_types": up,
        "layers_per_block": cfg.num_res_blocks,
        "attention_head_dim": head_dims.pop(),
        "norm_num_groups": 32,
        "attn_norm_num_groups": 32,
        "norm_eps": 1e-5,
        "resnet_time_scale_shift": "scale_shift" if cfg.use_scale_shift_norm else "default",
        "downsample_type": "resnet" if cfg.resblock_updown else "conv",
        "upsample_type": "resnet" if cfg.resblock_updown else "conv",
        "downsample_padding": 1,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "time_embedding_type": "positional",
        "act_fn": "silu",
        "add_attention": True,
        "mid_block_scale_factor": 1,
        "center_input_sample": False,
    }


class _Mapper:
    """Moves source tensors to target names, each source key exactly once."""

    def __init__(self, source: dict) -> None:
        self.source = source
        self.used: set[str] = set()
        self.target: dict = {}

    def take(self, key: str):
        if key not in self.source:
            raise Gen2ResError(f"The ADM checkpoint has no {key}, which its architecture needs.")
        if key in self.used:
            raise Gen2ResError(f"{key} would be used twice.")  # a bug, never the file's fault
        self.used.add(key)
        return self.source[key]

    def copy(self, src: str, dst: str, fn: Callable | None = None) -> None:
        for suffix in ("weight", "bias"):
            tensor = self.take(f"{src}.{suffix}")
            self.target[f"{dst}.{suffix}"] = fn(tensor, suffix) if fn else tensor

    def resnet(self, src: str, dst: str, *, skip: bool) -> None:
        self.copy(f"{src}.in_layers.0", f"{dst}.norm1")
        self.copy(f"{src}.in_layers.2", f"{dst}.conv1")
        self.copy(f"{src}.emb_layers.1", f"{dst}.time_emb_proj")
        self.copy(f"{src}.out_layers.0", f"{dst}.norm2")
        self.copy(f"{src}.out_layers.3", f"{dst}.conv2")
        if skip:
            self.copy(f"{src}.skip_connection", f"{dst}.conv_shortcut")

    def attention(self, src: str, dst: str, heads: int, new_order: bool) -> None:
        self.copy(f"{src}.norm", f"{dst}.group_norm")
        for suffix in ("weight", "bias"):
            qkv = self.take(f"{src}.qkv.{suffix}")
            c = qkv.shape[0] // 3
            flat = qkv.reshape(3 * c, -1) if suffix == "weight" else qkv.reshape(3 * c, 1)
            if new_order:  # q, k, v each of all heads
                q, k, v = flat.reshape(3, c, -1)
            else:  # legacy: per head, its q, k, v
                q, k, v = flat.reshape(heads, 3, c // heads, -1).transpose(0, 1).reshape(3, c, -1)
            for name, t in (("to_q", q), ("to_k", k), ("to_v", v)):
                self.target[f"{dst}.{name}.{suffix}"] = t if suffix == "weight" else t.reshape(c)
            proj = self.take(f"{src}.proj_out.{suffix}")
            self.target[f"{dst}.to_out.0.{suffix}"] = (
                proj.reshape(proj.shape[0], -1) if suffix == "weight" else proj
            )

    def leftover(self) -> list[str]:
        return sorted(set(self.source) - self.used)


def convert_adm_state_dict(state: dict, cfg: AdmConfig) -> dict:
    """The diffusers state dict of ``cfg``'s UNet, every source key used once."""
    m = _Mapper(state)
    m.copy("time_embed.0", "time_embedding.linear_1")
    m.copy("time_embed.2", "time_embedding.linear_2")
    m.copy("input_blocks.0.0", "conv_in")
    channels = cfg.level_channels()
    nrb = cfg.num_res_blocks
    block, ch = 1, cfg.model_channels
    skips = [ch]
    for level, out_ch in enumerate(channels):
        attn = level in cfg.attention_levels
        for i in range(nrb):
            m.resnet(
                f"input_blocks.{block}.0", f"down_blocks.{level}.resnets.{i}", skip=ch != out_ch
            )
            if attn:
                m.attention(f"input_blocks.{block}.1", f"down_blocks.{level}.attentions.{i}",
                            cfg.heads(out_ch), cfg.use_new_attention_order)  # fmt: skip
            ch = out_ch
            skips.append(ch)
            block += 1
        if level < len(channels) - 1:
            dst = f"down_blocks.{level}.downsamplers.0"
            if cfg.resblock_updown:
                m.resnet(f"input_blocks.{block}.0", dst, skip=False)
            else:
                m.copy(f"input_blocks.{block}.0.op", f"{dst}.conv")
            skips.append(ch)
            block += 1
    m.resnet("middle_block.0", "mid_block.resnets.0", skip=False)
    m.attention(
        "middle_block.1", "mid_block.attentions.0", cfg.heads(ch), cfg.use_new_attention_order
    )
    m.resnet("middle_block.2", "mid_block.resnets.1", skip=False)
    block = 0
    for up, level in enumerate(reversed(range(len(channels)))):
        out_ch = channels[level]
        attn = level in cfg.attention_levels
        for i in range(nrb + 1):
            src = f"output_blocks.{block}"
            m.resnet(f"{src}.0", f"up_blocks.{up}.resnets.{i}", skip=ch + skips.pop() != out_ch)
            sub = 1
            if attn:
                m.attention(f"{src}.1", f"up_blocks.{up}.attentions.{i}",
                            cfg.heads(out_ch), cfg.use_new_attention_order)  # fmt: skip
                sub = 2
            ch = out_ch
            if level and i == nrb:
                dst = f"up_blocks.{up}.upsamplers.0"
                if cfg.resblock_updown:
                    m.resnet(f"{src}.{sub}", dst, skip=False)
                else:
                    m.copy(f"{src}.{sub}.conv", f"{dst}.conv")
            block += 1
    m.copy("out.0", "conv_norm_out")
    # a learned-sigma model predicts (epsilon, variance): the sampler needs epsilon only
    half = cfg.in_channels
    m.copy("out.2", "conv_out", lambda t, suffix: t[:half] if cfg.learn_sigma else t)
    extra = m.leftover()
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise Gen2ResError(f"The ADM checkpoint has keys its architecture does not use: {shown}.")
    return m.target


def build_unet(state: dict, cfg: AdmConfig):
    """The diffusers UNet2DModel with the checkpoint's weights (strict: nothing missing)."""
    from diffusers import UNet2DModel

    config = {k: v for k, v in diffusers_config(cfg).items() if not k.startswith("_")}
    unet = UNet2DModel(**config)
    converted = convert_adm_state_dict(state, cfg)
    result = unet.load_state_dict(converted, strict=False)
    if result.missing_keys or result.unexpected_keys:
        names = [*result.missing_keys, *result.unexpected_keys]
        raise Gen2ResError(f"The converted weights do not fit the UNet: {', '.join(names[:5])}.")
    return unet.eval()


def scheduler_config(cfg: AdmConfig) -> dict:
    """ADM's noise schedule for diffusers' DDPMScheduler (linear betas scaled to 1000 steps)."""
    scale = 1000 / cfg.diffusion_steps
    common = {"num_train_timesteps": cfg.diffusion_steps, "prediction_type": "epsilon",
              "variance_type": "fixed_small", "clip_sample": True}  # fmt: skip
    if cfg.noise_schedule == "cosine":
        return {**common, "beta_schedule": "squaredcos_cap_v2"}
    return {**common, "beta_schedule": "linear", "beta_start": scale * 0.0001,
            "beta_end": scale * 0.02}  # fmt: skip


def import_adm_checkpoint(
    registry,
    path: Path,
    name: str,
    kind: str,
    *,
    config: dict | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
):
    """Convert an ADM ``.pt`` file and install it as prior ``name`` (a core.priors
    PriorRegistry); returns its PriorInfo."""
    from diffusers import DDPMScheduler

    from gen2res_desktop.core.priors import check_prior_name, validate_unet_config

    cancel = cancel or CancelToken()
    check_prior_name(name)
    path = Path(path)
    progress(Progress("import", 0, 3, "Reading the checkpoint"))
    state = load_adm_state_dict(path)
    with _naming(path):
        cfg = infer_adm_config(state, config)
        # what the prior's own checks would refuse after the conversion, said of this file
        validate_unet_config(diffusers_config(cfg), path)
    cancel.check()
    progress(Progress("import", 1, 3, "Converting the UNet"))
    with _naming(path):
        unet = build_unet(state, cfg)
    del state  # copied into the UNet: not held through the install's own copies
    cancel.check()
    progress(Progress("import", 2, 3, "Installing the prior"))
    with tempfile.TemporaryDirectory(prefix="gen2res-adm-") as tmp:
        folder = Path(tmp)
        unet.save_pretrained(folder / "unet", safe_serialization=True)
        DDPMScheduler(**scheduler_config(cfg)).save_pretrained(folder / "scheduler")
        try:
            info = registry.import_folder(folder, name, kind, origin=f"ADM checkpoint {path.name}")
        except Gen2ResError as e:
            if tmp not in e.message:
                raise
            raise _about_the_checkpoint(e, tmp, path) from e
    progress(Progress("import", 3, 3, "Installed"))
    return info


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Errors about the architecture name the file they are about."""
    try:
        yield
    except Gen2ResError as e:
        if str(path) in e.message:
            raise
        raise Gen2ResError(f"{path}: {e.message}", app=e.app_hint, cli=e.cli_hint) from e


def _about_the_checkpoint(error: Gen2ResError, tmp: str, path: Path) -> Gen2ResError:
    """A prior check's refusal of the converted copy, said of the user's checkpoint: the
    temporary folder it names and its advice to import a diffusers prior mean nothing to
    someone importing a ``.pt``."""
    from gen2res_desktop.core.priors import IMPORT_ADVICE

    detail = error.message.replace(IMPORT_ADVICE, "").strip()
    detail = re.sub(re.escape(tmp) + r"[^:]*: ", "", detail).rstrip(".")
    return Gen2ResError(f"{path}: the converted model failed Gen2Res's checks: {detail}.")
