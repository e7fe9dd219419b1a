"""The base prior: an unconditional UNet2DModel trained from scratch on the toy world.

Plain DDPM training (epsilon MSE, t uniform in [0, 1000), linear betas, clip_sample on),
with an EMA of the weights as the published DDPM priors have. The result is saved with
``save_pretrained`` as a diffusers folder and imported through :class:`PriorRegistry`
into a library under the cache, so the benchmark loads it through the product's own
loading code. Everything is cached by a hash of :class:`PriorConfig`: a rerun skips the
training, and a killed training resumes from its last checkpoint. A trained prior can be
committed under ``assets/`` (:func:`export_asset`); a run then imports that folder through
the same registry instead of training (assets/README.md has the command that made it).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.toyworld.scales import PriorConfig
from benchmarks.toyworld.world import WORLD_VERSION, render_training_photos
from gen2res_desktop.core.atomic import atomic_path, atomic_write_text
from gen2res_desktop.core.priors import PriorInfo, PriorRegistry

TRAINER_VERSION = 1
PRIOR_NAME = "toyworld"
CHECKPOINT_EVERY = 500
ASSETS = Path(__file__).resolve().parent / "assets"


def cache_key(config: PriorConfig) -> str:
    d = asdict(config) | {"world": WORLD_VERSION, "trainer": TRAINER_VERSION}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def prior_home(cache: Path, config: PriorConfig) -> Path:
    """The library folder (a GEN2RES_HOME) holding this config's imported prior."""
    return cache / f"prior-{config.resolution}px-{cache_key(config)}"


def asset_folder(config: PriorConfig) -> Path:
    """Where a committed copy of this config's prior lives (a diffusers folder)."""
    return ASSETS / f"prior-{config.resolution}px-{cache_key(config)}"


def build_unet(config: PriorConfig):
    from diffusers import UNet2DModel

    downs = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in config.attention)
    ups = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(config.attention))
    torch.manual_seed(config.seed)
    return UNet2DModel(
        sample_size=config.resolution,
        in_channels=3,
        out_channels=3,
        block_out_channels=config.block_out_channels,
        layers_per_block=config.layers_per_block,
        down_block_types=downs,
        up_block_types=ups,
        attention_head_dim=32,
        norm_num_groups=min(config.norm_groups, config.block_out_channels[0]),
    )


def make_scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True)


def training_set(config: PriorConfig, log: Callable[[str], None]) -> np.ndarray:
    """(N, R, R, 3) uint8 photos of the training identities (seeds 0..identities-1)."""
    start = time.monotonic()
    images = render_training_photos(
        config.identities, config.photos_per_identity, config.resolution
    )
    log(f"rendered {len(images)} training photos in {time.monotonic() - start:.0f} s")
    return images


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        # one fused kernel for all tensors: a loop of per-tensor lerps dominated a GPU step
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)


def train_prior_weights(
    config: PriorConfig,
    work: Path,
    device: torch.device,
    log: Callable[[str], None],
) -> torch.nn.Module:
    """Train (or resume training) the prior; returns the EMA model."""
    data = torch.from_numpy(training_set(config, log)).to(device)
    data = data.permute(0, 3, 1, 2).contiguous()  # uint8 on the device; scaled per batch
    model = build_unet(config).to(device).train()
    ema = copy.deepcopy(model).requires_grad_(False)
    fused = {"fused": True} if device.type == "cuda" else {}
    optim = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0, **fused)
    sched = make_scheduler()
    ab_all = sched.alphas_cumprod.to(device, torch.float32)
    # drawn where the data is: copying a batch of noise from the CPU would stall a GPU step
    gen = torch.Generator(device).manual_seed(config.seed)
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    ckpt = work / "train.ckpt"
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optim.load_state_dict(state["optim"])
        gen.set_state(state["generator"])
        step = int(state["step"])
        log(f"resuming the prior's training at step {step}")
    warmup = min(500, config.steps // 10 + 1)
    start, first, loss_sum = time.monotonic(), step, torch.zeros((), device=device)
    while step < config.steps:
        for group in optim.param_groups:
            group["lr"] = config.lr * min(1.0, (step + 1) / warmup)
        b = config.batch_size
        idx = torch.randint(0, data.shape[0], (b,), generator=gen, device=device)
        x0 = data[idx].float() / 127.5 - 1
        flip = torch.rand(b, generator=gen, device=device) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
        t = torch.randint(0, 1000, (b,), generator=gen, device=device)
        noise = torch.randn(x0.shape, generator=gen, device=device)
        ab = ab_all[t][:, None, None, None]
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            pred = model(x_t, t).sample
        loss = F.mse_loss(pred.float(), noise)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        # EMA warm-up: early weights are averaged less, so short runs are not dominated by init
        _ema_update(ema, model, min(config.ema_decay, (1 + step) / (10 + step)))
        step += 1
        loss_sum += loss.detach()  # read back only when logged: no GPU sync per step
        if step % 250 == 0 or step == config.steps:
            rate = (time.monotonic() - start) / (step - first)
            n = step % 250 or 250
            log(
                f"prior step {step}/{config.steps}  loss {float(loss_sum) / n:.4f}  "
                f"{rate * 1000:.0f} ms/step"
            )
            loss_sum.zero_()
        if step % CHECKPOINT_EVERY == 0 and step < config.steps:
            state = {
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optim": optim.state_dict(),
                "generator": gen.get_state(),
                "step": step,
            }
            with atomic_path(ckpt) as tmp:
                torch.save(state, tmp)
    return ema.eval()


def ensure_prior(
    config: PriorConfig,
    cache: Path,
    device: torch.device,
    log: Callable[[str], None] = print,
) -> PriorInfo:
    """The cached prior for ``config``, trained and imported first if it is not there."""
    home = prior_home(cache, config)
    registry = PriorRegistry(home)
    if (registry.root / PRIOR_NAME / "prior.json").is_file():
        return registry.get(PRIOR_NAME)
    work = home / "training"
    work.mkdir(parents=True, exist_ok=True)
    asset = asset_folder(config)
    if (asset / "model_index.json").is_file():
        shutil.copyfile(asset / "training.json", work / "training.json")
        info = registry.import_folder(
            asset, PRIOR_NAME, "face", origin=f"toyworld {cache_key(config)} (assets)"
        )
        log(f"prior imported from {asset.relative_to(ASSETS.parents[2])}")
        return info
    start, cpu = time.monotonic(), time.process_time()
    ema = train_prior_weights(config, work, device, log)
    folder = work / "model"
    ema.to("cpu").save_pretrained(folder / "unet")
    make_scheduler().save_pretrained(folder / "scheduler")
    atomic_write_text(
        folder / "model_index.json",
        json.dumps(
            {
                "_class_name": "DDPMPipeline",
                "unet": ["diffusers", "UNet2DModel"],
                "scheduler": ["diffusers", "DDPMScheduler"],
            }
        ),
    )
    atomic_write_text(
        work / "training.json",
        json.dumps(
            asdict(config)
            | {
                "key": cache_key(config),
                "device": str(device),
                "seconds": round(time.monotonic() - start, 1),
                "cpu_seconds": round(time.process_time() - cpu, 1),
                "torch_threads": torch.get_num_threads(),
                "torch": torch.__version__,
            },
            indent=2,
        ),
    )
    info = registry.import_folder(
        folder, PRIOR_NAME, "face", origin=f"toyworld {cache_key(config)}"
    )
    (work / "train.ckpt").unlink(missing_ok=True)
    log(f"prior trained and imported in {time.monotonic() - start:.0f} s")
    return info


def export_asset(config: PriorConfig, cache: Path) -> Path:
    """Copy the trained prior of ``config`` (its diffusers folder) into ``assets/``."""
    work = prior_home(cache, config) / "training"
    src = work / "model"
    if not (src / "model_index.json").is_file():
        raise FileNotFoundError(f"{src}: no trained prior to export (train it first)")
    dest = asset_folder(config)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
    shutil.copyfile(work / "training.json", dest / "training.json")
    return dest


def training_record(info: PriorInfo) -> dict:
    """Where and how long the cached prior was trained (for the report)."""
    path = info.path.parents[1] / "training" / "training.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
