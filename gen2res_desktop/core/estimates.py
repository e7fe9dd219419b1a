"""How long a job takes on this machine, from step times measured on it.

Two numbers carry every estimate: one denoising step (a UNet forward pass, batch 1, at the
prior's resolution) and one training step (forward and backward at the training batch).
:func:`measure_step_times` times both on the loaded prior (about two minutes on a 2-core
CPU at 256 px); a finished training replaces the guess with what it really took (see
``library.speed``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gen2res_desktop.core import defaults
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

# Whole-photo repair (damage map, inpainting, denoise, tone) at the built-in OpenCV methods,
# measured by benchmarks/oldphoto on the 2-core reference machine: 2.0 s per megapixel.
REPAIR_SECONDS_PER_MEGAPIXEL = 2.0


@dataclass(frozen=True)
class StepTimes:
    denoise_s: float
    train_s: float

    def to_json(self) -> dict[str, float]:
        return {"denoise_s": self.denoise_s, "train_s": self.train_s}

    @classmethod
    def from_json(cls, value: object) -> StepTimes | None:
        """None for anything that is not two positive numbers (a damaged setting)."""
        if not isinstance(value, dict):
            return None
        try:
            times = cls(float(value["denoise_s"]), float(value["train_s"]))
        except (KeyError, TypeError, ValueError):
            return None
        ok = all(0 < t < 3600 for t in (times.denoise_s, times.train_s))
        return times if ok else None


def measure_step_times(
    prior,
    *,
    batch: int = defaults.TRAIN_BATCH,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> StepTimes:
    """Time denoising and training steps of ``prior`` (a core.priors.LoadedPrior; its
    denoising step on its faster CPU engine, if it has one).

    The first pass warms up (allocations, kernel choice) and is not counted; the training
    step is the product's: a LoRA of the default rank and targets on a copy of the UNet,
    in the training layout, with its optimiser step (the peft layers cost about a quarter
    of a step on a CPU, so the bare UNet would under-promise).
    """
    import copy

    import torch

    from gen2res_desktop.core.adapters import attach_lora
    from gen2res_desktop.core.training import TRAIN_MEMORY_FORMAT

    cancel = cancel or CancelToken()
    r = prior.resolution
    unet, device = prior.unet, prior.device
    x = torch.randn(1, 3, r, r, device=device)
    t = torch.tensor([500], device=device)

    def timed(fn) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def denoise() -> None:
        with torch.no_grad():
            # the engine the restores will run on (core.runtimes), if the prior has one
            prior.fast(x, t) if prior.fast is not None else unet(x, t)

    xb = torch.randn(batch, 3, r, r, device=device)
    tb = t.repeat(batch)
    lora = copy.deepcopy(unet).to(memory_format=TRAIN_MEMORY_FORMAT)
    attach_lora(lora, defaults.LORA_RANK, float(defaults.LORA_RANK), defaults.LORA_TARGETS)
    optim = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-6)

    def train() -> None:
        lora(xb, tb).sample.float().pow(2).mean().backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    progress(Progress("measure", 0, 4, "Measuring how fast this computer restores"))
    denoise()
    cancel.check()
    progress(Progress("measure", 1, 4, "Measuring how fast this computer restores"))
    denoise_s = min(timed(denoise), timed(denoise))
    cancel.check()
    progress(Progress("measure", 2, 4, "Measuring how fast this computer trains"))
    train()
    cancel.check()
    progress(Progress("measure", 3, 4, "Measuring how fast this computer trains"))
    train_s = timed(train)
    progress(Progress("measure", 4, 4, "Measured"))
    return StepTimes(denoise_s=denoise_s, train_s=train_s)


def train_seconds(times: StepTimes, steps: int) -> float:
    return times.train_s * max(0, steps)


def restore_seconds(
    times: StepTimes,
    *,
    faces: int = 1,
    steps: int | None = defaults.RESTORE_STEPS,
    strength: int = 200,
    megapixels: float = 1.0,
    single_photo: bool = False,
) -> float:
    """One photo: the repair, then each of ``faces`` faces' denoising (and, in single-photo
    mode, its generative album and adapter first); ``faces`` 0 repairs only."""
    per_face = (steps or strength) * times.denoise_s
    if single_photo:
        album_steps = defaults.ALBUM_STEPS or defaults.ALBUM_STRENGTH
        per_face += defaults.ALBUM_COUNT * album_steps * times.denoise_s
        per_face += defaults.SINGLE_TRAIN_STEPS * times.train_s
    return REPAIR_SECONDS_PER_MEGAPIXEL * megapixels + max(0, faces) * per_face


def describe_duration(seconds: float) -> str:
    """ "about 40 minutes", in words a family reads at a glance (rounded up)."""
    if seconds < 45:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {max(1, minutes)} minute{'s' if minutes > 1 else ''}"
    hours = seconds / 3600
    return f"about {hours:.1f} hours".replace(".0 hours", " hours")
