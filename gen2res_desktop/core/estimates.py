"""How long a job takes on this machine, from step times measured on it.

Two numbers carry every estimate before a job starts: one denoising step (a UNet forward
pass, batch 1, at the prior's resolution) and one training step (forward and backward at
the training batch). :func:`measure_step_times` times both on the loaded prior (about two
minutes on a 2-core CPU at 256 px); a finished training replaces the guess with what it
really took (see ``library.speed``). Once a job runs, its own steps speak: a
:class:`PlanClock` rescales what is left of its plan by the pace the job measures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
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
    from gen2res_desktop.core.devices import as_layout, autocast, sampling_dtype
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

    dtype = sampling_dtype(device)

    def denoise() -> None:
        # as the restores will run: on the faster engine if the prior has one, else in
        # torch at the sampling precision (bf16 where the CPU has it) and layout
        with torch.no_grad():
            if prior.fast is not None:
                prior.fast(x, t)
            else:
                with autocast(device, dtype):
                    unet(as_layout(x, device), t)

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


# The progress stages of the whole-photo repair (core.photo.repair): one block of the plan,
# timed by the megapixel rule above rather than by the prior's steps.
REPAIR_STAGES = frozenset({"damage", "inpaint", "denoise", "upscale", "colour"})


@dataclass(frozen=True)
class StageEstimate:
    """One part of a job as planned: the progress stages that report it, and how long it
    should take on this machine. ``paced``: its steps run the prior, so the pace this very
    job measures in any paced part rescales it."""

    stages: frozenset[str]
    seconds: float
    paced: bool = True


def restore_plan(
    times: StepTimes,
    *,
    faces: int = 1,
    steps: int | None = defaults.RESTORE_STEPS,
    strength: int = 200,
    megapixels: float = 1.0,
    single_photo: bool = False,
    batch: int = 1,
) -> tuple[StageEstimate, ...]:
    """One photo, in the order a restore reports it: the repair, then each face's
    denoising in batches of ``batch`` (in single-photo mode each face's generative album
    and adapter come first, and each face restores alone); ``faces`` 0 repairs only."""
    plan = [StageEstimate(REPAIR_STAGES, REPAIR_SECONDS_PER_MEGAPIXEL * megapixels, False)]
    per_face = (steps or strength) * times.denoise_s
    faces = max(0, faces)
    if single_photo:
        album_steps = defaults.ALBUM_STEPS or defaults.ALBUM_STRENGTH
        for _ in range(faces):
            plan.append(
                StageEstimate(
                    frozenset({"album"}), defaults.ALBUM_COUNT * album_steps * times.denoise_s
                )
            )
            plan.append(
                StageEstimate(frozenset({"train"}), defaults.SINGLE_TRAIN_STEPS * times.train_s)
            )
            plan.append(StageEstimate(frozenset({"restore"}), per_face))
    else:
        size = max(1, batch)
        for first in range(0, faces, size):
            plan.append(StageEstimate(frozenset({"restore"}), per_face * min(size, faces - first)))
    return tuple(plan)


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
    plan = restore_plan(
        times,
        faces=faces,
        steps=steps,
        strength=strength,
        megapixels=megapixels,
        single_photo=single_photo,
    )
    return sum(part.seconds for part in plan)


class PlanClock:
    """Where a running job is in its plan, and what the job's own pace says of the rest.

    Fed every progress report (:meth:`note`) and, once the job has measured the pace of a
    paced part over a few steps, that pace (:meth:`learn_pace`): from then on every paced
    part still to come is rescaled by measured / planned, so an estimate made from a
    one-off speed check gives way to what this job shows. Times are the job's active
    seconds (paused time left out), from any origin.
    """

    def __init__(self, plan: Sequence[StageEstimate]) -> None:
        self.plan = tuple(plan)
        self.index = -1  # the part under way; -1 before the first
        self.factor = 1.0  # measured / planned time of a paced step
        self._entered: float | None = None
        self._seen: dict[str, tuple[int, int]] = {}  # each stage's last (step, total)

    def note(self, stage: str, step: int, total: int, now: float) -> None:
        """A report: a stage of a later part, or its own stage starting over (the next
        face's batch), moves on to that part; stages of no part (loading, preparing an
        engine, pasting faces) leave the part as it is."""
        last, self._seen[stage] = self._seen.get(stage), (step, total)
        current = self.plan[self.index] if self.index >= 0 else None
        # other stages may come between (a face pasted between two batches)
        again = last is not None and (step < last[0] or total != last[1])
        if current is not None and stage in current.stages and not again:
            return
        for j in range(self.index + 1, len(self.plan)):
            if stage in self.plan[j].stages:
                self.index, self._entered = j, now
                return

    def learn_pace(self, stage: str, step_seconds: float, total: int) -> None:
        """This job's measured time per step of ``stage`` (``total`` steps) rescales the
        paced parts, when that stage is the paced part under way (the pace of a stage of
        no part, such as pasting faces, says nothing of the prior's steps)."""
        if self.index < 0 or total <= 0 or step_seconds <= 0:
            return
        part = self.plan[self.index]
        planned = part.seconds / total
        if part.paced and stage in part.stages and planned > 0:
            self.factor = step_seconds / planned

    def _seconds(self, part: StageEstimate) -> float:
        return part.seconds * (self.factor if part.paced else 1.0)

    def seconds_left(
        self, stage: str, step: int, total: int, measured: float | None, now: float
    ) -> float:
        """Time left in the whole job: the part under way (``measured``, its time left at
        the pace measured in it, when there is one; else the plan's, counted down as steps
        or seconds go by), then the parts after it."""
        rest = sum(self._seconds(p) for p in self.plan[self.index + 1 :])
        if self.index < 0:
            return rest
        part = self.plan[self.index]
        mine = stage in part.stages
        if mine and measured is not None:
            here = measured
        elif mine and part.paced and total > 0:
            here = self._seconds(part) * (1 - min(step, total) / total)
        else:
            since = 0.0 if self._entered is None else now - self._entered
            here = self._seconds(part) - since
        return max(here, 0.0) + rest


def describe_duration(seconds: float) -> str:
    """ "about 40 minutes", in words a family reads at a glance (rounded up)."""
    if seconds < 45:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {max(1, minutes)} minute{'s' if minutes > 1 else ''}"
    hours = seconds / 3600
    return f"about {hours:.1f} hours".replace(".0 hours", " hours")
