"""Training a subject's LoRA adapter with the ordinary denoising loss.

Checkpoints every ``checkpoint_every`` steps hold the LoRA weights, optimizer state and
the data generator's state, so a killed or cancelled run continues exactly where its
last checkpoint left off when started again with the same settings.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from gen2res_desktop.core import defaults
from gen2res_desktop.core.adapters import (
    AdapterMeta,
    attach_lora,
    lora_state_dict,
    save_adapter,
)
from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.devices import autocast, autocast_dtype, oom_as_error
from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.images import load_rgb, pil_to_tensor, to_rgb
from gen2res_desktop.core.paths import checkpoint_path
from gen2res_desktop.core.priors import LoadedPrior
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

MIN_IMAGES = 1


# Training keeps the default memory layout even on a CPU, where sampling uses channels-last
# (core.devices.memory_format): a LoRA step measured 46.6 s contiguous and 50.1 s
# channels-last (benchmarks/results/speed_variants_full_cpu.md).
TRAIN_MEMORY_FORMAT = torch.contiguous_format


@dataclass(frozen=True)
class TrainOptions:
    steps: int = defaults.TRAIN_STEPS
    batch_size: int = defaults.TRAIN_BATCH
    lr: float = defaults.TRAIN_LR
    rank: int = defaults.LORA_RANK
    alpha: float = float(defaults.LORA_RANK)
    targets: tuple[str, ...] = defaults.LORA_TARGETS
    seed: int = 0
    precision: str = "auto"
    checkpoint_every: int = defaults.CHECKPOINT_EVERY
    # Mirroring doubles a small album, but it also mirrors asymmetric detail (a mole on
    # one cheek); the toy-world benchmark measured slightly better scores without it.
    flip: bool = defaults.TRAIN_FLIP
    # Train on timesteps t < max_timestep only (None: all T; a prior with fewer timesteps
    # trains on all of its own). Restoring uses the model only for t < K (the album sampler
    # for t < its strength), so the rest of T is never used at the default strengths.
    max_timestep: int | None = defaults.TRAIN_MAX_TIMESTEP
    # Train on random square crops of this share of the side (None: whole faces); a
    # half-side crop costs about a quarter of a whole image's step. Sampling stays full size.
    patch: float | None = None


@dataclass(frozen=True)
class TrainResult:
    meta: AdapterMeta
    path: Path
    losses: list[float] = field(default_factory=list)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _square(img: Image.Image) -> Image.Image:
    w, h = img.size
    if w == h:
        return img
    return ImageOps.fit(img, (min(w, h), min(w, h)), Image.Resampling.LANCZOS)


def _pixels_hash(img: Image.Image) -> str:
    h = hashlib.sha256(f"{img.size}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def prepare_images(
    images: Sequence[Image.Image | Path | str], resolution: int
) -> tuple[torch.Tensor, list[str]]:
    """Centre-square, resize to the prior's resolution; returns (N, 3, R, R) and pixel hashes."""
    tensors, hashes = [], []
    for item in images:
        img = load_rgb(item) if isinstance(item, str | os.PathLike) else to_rgb(item)
        img = _square(img)
        hashes.append(_pixels_hash(img))
        tensors.append(pil_to_tensor(img, resolution))
    if len(tensors) < MIN_IMAGES:
        raise Gen2ResError("No images to train on.")
    return torch.stack(tensors), hashes


def _run_key(prior: LoadedPrior, options: TrainOptions, hashes: list[str]) -> str:
    """What must match for a checkpoint to be resumed (the step count may grow)."""
    d = asdict(options)
    d.pop("steps")
    d.pop("checkpoint_every")
    for optional in ("max_timestep", "patch"):
        if d[optional] is None:
            d.pop(optional)  # checkpoints from before the option existed still resume
    d["targets"] = list(options.targets)
    return json.dumps(
        {"prior": prior.info.weights_hash, "options": d, "images": hashes}, sort_keys=True
    )


def train_adapter(
    prior: LoadedPrior,
    images: Sequence[Image.Image | Path | str],
    out_path: Path,
    options: TrainOptions = TrainOptions(),
    *,
    image_hashes: Sequence[str] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> TrainResult:
    """Train a LoRA adapter on ``images`` and write it to ``out_path`` (atomically).

    ``prior`` is left untouched: training runs on a copy of its UNet. Raises Cancelled
    when cancelled (the last checkpoint stays, so the same call resumes).
    """
    cancel = cancel or CancelToken()
    out_path = Path(out_path)
    _check_options(prior, options)
    data, pixel_hashes = prepare_images(images, prior.resolution)
    hashes = list(image_hashes) if image_hashes is not None else pixel_hashes
    device = prior.device
    data = data.to(device)

    unet = copy.deepcopy(prior.unet)
    # LoRA init draws from the global RNG: seed it so a run (and its resume) is reproducible
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(options.seed)
        attach_lora(unet, options.rank, options.alpha, options.targets)
    unet.to(device, memory_format=TRAIN_MEMORY_FORMAT).train()
    params = [p for p in unet.parameters() if p.requires_grad]
    fused = {"fused": True} if device.type == "cuda" else {}
    optim = torch.optim.AdamW(params, lr=options.lr, weight_decay=0.0, **fused)
    dtype = autocast_dtype(device, options.precision)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    gen = torch.Generator().manual_seed(options.seed)

    key = _run_key(prior, options, hashes)
    ckpt = checkpoint_path(out_path)
    start, created, losses = 0, _now(), []
    if ckpt.is_file():
        start, created, losses = _resume(ckpt, key, unet, optim, gen)
        start = min(start, options.steps)

    def meta(steps_done: int) -> AdapterMeta:
        return AdapterMeta(
            prior_name=prior.info.name,
            prior_hash=prior.info.weights_hash,
            rank=options.rank,
            alpha=options.alpha,
            targets=list(options.targets),
            steps_done=steps_done,
            steps_total=options.steps,
            seed=options.seed,
            batch_size=options.batch_size,
            lr=options.lr,
            image_hashes=hashes,
            created=created,
            updated=_now(),
            final_loss=losses[-1] if losses else None,
        )

    step_fn = _Stepper(prior, unet, data, options, optim, scaler, dtype, gen)
    with oom_as_error(f"try a smaller batch size than {options.batch_size}"):
        for step in range(start, options.steps):
            cancel.check()
            losses.append(step_fn())
            progress(Progress("train", step + 1, options.steps, loss=losses[-1]))
            done = step + 1
            if done % options.checkpoint_every == 0 and done < options.steps:
                _save_checkpoint(ckpt, key, unet, optim, gen, done, created, losses)

    result_meta = meta(options.steps)
    save_adapter(unet, out_path, result_meta)
    ckpt.unlink(missing_ok=True)
    return TrainResult(result_meta, out_path, losses)


def _check_options(prior: LoadedPrior, options: TrainOptions) -> None:
    if options.steps < 1 or options.batch_size < 1:
        raise Gen2ResError("Steps and batch size must be at least 1.")
    if options.patch is not None and not 0.0 < options.patch <= 1.0:
        raise Gen2ResError(
            f"The training crop must be a share of the side in (0, 1] (got {options.patch})."
        )
    if options.max_timestep is not None and options.max_timestep < 1:
        raise Gen2ResError(
            f"The largest training timestep must be at least 1 (got {options.max_timestep})."
        )


class _Stepper:
    """One optimisation step of the denoising loss on a random batch of ``data``.

    The random draws (photos, flips, timesteps, noise) come from ``gen`` in a fixed order,
    so a seed fixes the whole run whatever is being trained (LoRA or every weight).
    """

    def __init__(self, prior, unet, data, options, optim, scaler, dtype, gen) -> None:
        self.unet, self.data, self.options = unet, data, options
        self.optim, self.scaler, self.dtype, self.gen = optim, scaler, dtype, gen
        self.device = prior.device
        sched = prior.scheduler
        self.alphas_cumprod = sched.alphas_cumprod.to(device=self.device, dtype=torch.float32)
        n_timesteps = int(sched.config.num_train_timesteps)
        self.t_high = min(options.max_timestep or n_timesteps, n_timesteps)
        self.side = patch_side(data.shape[-1], options.patch, _downsampling(unet))

    def __call__(self) -> float:
        o, gen, device, data = self.options, self.gen, self.device, self.data
        idx = torch.randint(0, data.shape[0], (o.batch_size,), generator=gen)
        flip = (torch.rand(o.batch_size, generator=gen) < 0.5).to(device) & o.flip
        t = torch.randint(0, self.t_high, (o.batch_size,), generator=gen)
        x0 = data[idx.to(device)]
        x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
        if self.side < data.shape[-1]:
            x0, _ = random_crops(x0, self.side, gen)
        noise = torch.randn(x0.shape, generator=gen).to(device)
        ab = self.alphas_cumprod[t.to(device)][:, None, None, None]
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        with autocast(device, self.dtype):
            pred = self.unet(x_t, t.to(device)).sample
        loss = F.mse_loss(pred.float(), noise)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optim)
        self.scaler.update()
        self.optim.zero_grad(set_to_none=True)
        return float(loss.detach())


def _downsampling(unet: torch.nn.Module) -> int:
    """How many times the UNet halves its input: a crop's side must divide by 2 that often."""
    blocks = getattr(getattr(unet, "config", None), "block_out_channels", None)
    return 2 ** (len(blocks) - 1) if blocks else 1


def patch_side(resolution: int, patch: float | None, multiple: int) -> int:
    """The side of a training crop: ``patch`` of ``resolution``, rounded to a multiple of
    ``multiple`` (at least one multiple); the whole side when ``patch`` is None."""
    if patch is None:
        return resolution
    side = int(round(resolution * patch / multiple)) * multiple
    return min(resolution, max(multiple, side))


def random_crops(
    x: torch.Tensor, side: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random ``side`` x ``side`` crop of each image of the batch ``x`` (B, C, H, W), every
    position equally likely, drawn from ``gen``; returns the crops and their (top, left)."""
    b, _, h, w = x.shape
    tops = torch.randint(0, h - side + 1, (b,), generator=gen)
    lefts = torch.randint(0, w - side + 1, (b,), generator=gen)
    crops = torch.stack(
        [
            x[i, :, y : y + side, c : c + side]
            for i, (y, c) in enumerate(zip(tops, lefts, strict=True))
        ]
    )
    return crops, torch.stack([tops, lefts], dim=1)


@dataclass
class FineTuneResult:
    model: LoadedPrior  # the prior with every UNet weight fine-tuned (in memory only)
    losses: list[float] = field(default_factory=list)


def fine_tune(
    prior: LoadedPrior,
    images: Sequence[Image.Image | Path | str],
    options: TrainOptions = TrainOptions(lr=1e-5, steps=5000),
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FineTuneResult:
    """The paper's recipe: fine-tune every weight of a copy of the prior's UNet (no LoRA).

    The same loss, data draws and optimiser as :func:`train_adapter` (``rank``, ``alpha``
    and ``targets`` are ignored); the result stays in memory: a whole UNet per subject is
    what the product's adapters avoid storing. Used by the benchmarks as the reference.
    """
    cancel = cancel or CancelToken()
    _check_options(prior, options)
    data, _ = prepare_images(images, prior.resolution)
    device = prior.device
    unet = copy.deepcopy(prior.unet).to(device, memory_format=TRAIN_MEMORY_FORMAT).train()
    unet.requires_grad_(True)
    fused = {"fused": True} if device.type == "cuda" else {}
    optim = torch.optim.AdamW(unet.parameters(), lr=options.lr, weight_decay=0.0, **fused)
    dtype = autocast_dtype(device, options.precision)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    gen = torch.Generator().manual_seed(options.seed)
    step_fn = _Stepper(prior, unet, data.to(device), options, optim, scaler, dtype, gen)
    losses: list[float] = []
    with oom_as_error(f"try a smaller batch size than {options.batch_size}"):
        for step in range(options.steps):
            cancel.check()
            losses.append(step_fn())
            progress(Progress("train", step + 1, options.steps, loss=losses[-1]))
    unet.requires_grad_(False)
    unet.eval()
    model = LoadedPrior(
        info=prior.info, unet=unet, scheduler=prior.scheduler, device=device, adapter=None
    )
    return FineTuneResult(model, losses)


def _save_checkpoint(path, key, unet, optim, gen, step, created, losses) -> None:
    state = {
        "key": key,
        "step": step,
        "created": created,
        "losses": torch.tensor(losses, dtype=torch.float32),
        "lora": {k: v.detach().cpu() for k, v in lora_state_dict(unet).items()},
        "optim": optim.state_dict(),
        "generator": gen.get_state(),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _resume(path, key, unet, optim, gen) -> tuple[int, str, list[float]]:
    """Load a matching checkpoint; a stale or damaged one is ignored (training starts over)."""
    from peft import set_peft_model_state_dict

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged checkpoint only costs the progress
        return 0, _now(), []
    if state.get("key") != key:
        return 0, _now(), []
    set_peft_model_state_dict(unet, state["lora"], adapter_name="default")
    optim.load_state_dict(state["optim"])
    gen.set_state(state["generator"])
    return int(state["step"]), str(state["created"]), state["losses"].tolist()


__all__ = [
    "TrainOptions",
    "TrainResult",
    "FineTuneResult",
    "train_adapter",
    "fine_tune",
    "prepare_images",
    "Cancelled",
]
