"""The speed levers of DESIGN.md, each against the toy world's identity and quality.

    python -m benchmarks.toyworld.experiments --scale cpu [--only sampler,budget,album]
                                              [--subjects N] [--threads 1]

Three experiments on the same held-out subjects, photos and seeds as the main table
(``python -m benchmarks.toyworld``), each writing ``toyworld_<name>_<scale>.{md,json,png}``:

- ``sampler``: respaced restore steps (10, 15, 25, 50) against all K ancestral steps, at
  K = 200 and 400, for the prior alone and a personal adapter (the base settings below).
- ``budget``: the personal adapter's training budget, one setting at a time around a
  base: steps, learning rate, rank, targets, flips, batch size and the timesteps trained
  on; identity and quality against image-steps (steps x batch), with the paper's full
  fine-tune (5000 iterations x batch 4 at lr 1e-5) and a LoRA at the same 20,000
  image-steps as references.
- ``album``: single-photo mode's generative album: its size, its strength K_album, its
  sampler steps and the adapter's steps.

Adapters are trained with the engine's :func:`train_adapter` (full fine-tunes with
:func:`fine_tune`), restores are :func:`restore_tensor` batches as in the main table, and
single-photo mode is :func:`restore_crop`. Each experiment writes its files after every
subject (or photo), so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from benchmarks.toyworld.report import _font, mean_sem
from benchmarks.toyworld.run import Case, Log, Timer, World, album, restore_batch, setup
from benchmarks.toyworld.scales import ATTN_TARGETS, CONV_TARGETS, PAPER_RECIPE, SCALES, Scale
from benchmarks.toyworld.world import to_pil
from gen2res_desktop.core import defaults
from gen2res_desktop.core.adapters import with_adapter
from gen2res_desktop.core.atomic import atomic_path, atomic_write_text
from gen2res_desktop.core.diffusion import AlbumSettings, RestoreSettings
from gen2res_desktop.core.pipeline import SingleOptions, restore_crop
from gen2res_desktop.core.training import TrainOptions, fine_tune, train_adapter

ROOT = Path(__file__).resolve().parents[2]
KS = (200, 400)
METRICS = ("identity", "psnr", "ssim", "artefact")
DECODER_KINDS = ("to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2")


def decoder_targets(unet: torch.nn.Module) -> tuple[str, ...]:
    """The attention projections and resnet convs of the decoder (up blocks) only, by full
    module name: the backward pass stops halfway through the UNet."""
    return tuple(
        name
        for name, _ in unet.named_modules()
        if name.startswith("up_blocks.") and any(name.endswith("." + k) for k in DECODER_KINDS)
    )


# The base the budget sweep varies one setting at a time (chosen before the sweep from the
# last run's notes: resnet targets constrained twice as much as attention only; flips
# mirror the moles). The chosen defaults are in core/defaults.py and results/defaults.md.
BASE = TrainOptions(
    steps=500,
    batch_size=4,
    lr=1e-3,
    rank=16,
    alpha=16,
    targets=CONV_TARGETS,
    flip=False,
    max_timestep=None,
)


@dataclass
class Variant:
    name: str
    group: str
    options: TrainOptions | None  # None: the prior alone
    full: bool = False  # every weight (fine_tune) instead of a LoRA


def budget_variants(base: TrainOptions, unet: torch.nn.Module) -> list[Variant]:
    v = [Variant("prior alone", "reference", None)]
    for steps in (100, 250, 500, 1000, 1500):
        v.append(Variant(f"{steps} steps", "steps", replace(base, steps=steps)))
    for lr in (1e-4, 3e-4, 3e-3):
        v.append(Variant(f"lr {lr:g}", "lr", replace(base, lr=lr)))
    for rank in (4, 8, 32):
        v.append(Variant(f"rank {rank}", "rank", replace(base, rank=rank, alpha=rank)))
    v.append(Variant("attention only", "targets", replace(base, targets=ATTN_TARGETS)))
    v.append(Variant("decoder only", "targets", replace(base, targets=decoder_targets(unet))))
    v.append(
        Variant(f"flips {'off' if base.flip else 'on'}", "flips", replace(base, flip=not base.flip))
    )
    for b in (1, 2, 8):
        v.append(Variant(f"batch {b}", "batch", replace(base, batch_size=b)))
    v.append(Variant("timesteps < 400", "timesteps", replace(base, max_timestep=400)))
    v.append(
        Variant(
            "LoRA 5000 x 4 (paper image-steps)",
            "reference",
            replace(base, steps=5000, checkpoint_every=10**9),
        )
    )
    # the paper's recipe, with the base's flips so the two differ in what and how long
    recipe = replace(PAPER_RECIPE, flip=base.flip)
    v.append(Variant("full fine-tune, paper recipe", "reference", recipe, full=True))
    if base.steps < 10:  # the smoke scale: every variant as short as its base
        v = [
            replace(x, options=replace(x.options, steps=base.steps)) if x.options else x for x in v
        ]
    return v


@dataclass
class AlbumVariant:
    name: str
    group: str
    album: AlbumSettings
    train: TrainOptions


def album_variants(scale: Scale, train: TrainOptions) -> list[AlbumVariant]:
    base = replace(scale.album, count=16, strength=400, steps=50)
    v = [AlbumVariant("base: 16 images, K_album 400, 50 steps", "base", base, train)]
    for count in (4, 8):
        v.append(AlbumVariant(f"{count} images", "size", replace(base, count=count), train))
    for strength in (200, 300):
        v.append(
            AlbumVariant(f"K_album {strength}", "strength", replace(base, strength=strength), train)
        )
    for steps in (25, 100, None):
        label = f"{steps} album steps" if steps else "all K_album album steps"
        v.append(AlbumVariant(label, "album steps", replace(base, steps=steps), train))
    for s in (train.steps // 2, train.steps * 2):
        v.append(AlbumVariant(f"adapter {s} steps", "adapter", base, replace(train, steps=s)))
    return v


def album_step_variants(train: TrainOptions) -> list[AlbumVariant]:
    """Single-photo mode as the product ships it, against fewer album steps and fewer guided
    steps (guidance every 20 timesteps instead of 10, with the same or twice the scale)."""
    base = AlbumSettings()
    return [
        AlbumVariant(
            f"default: {base.steps} steps, guidance every {base.guidance_every}", "default",
            base, train,
        ),
        AlbumVariant("50 album steps", "album steps", replace(base, steps=50), train),
        AlbumVariant(
            "guidance every 20 (half the guided steps)", "guided steps",
            replace(base, guidance_every=20), train,
        ),
        AlbumVariant(
            "guidance every 20 at twice the scale", "guided steps",
            replace(base, guidance_every=20, guidance_scale=2 * base.guidance_scale), train,
        ),
    ]  # fmt: skip


@dataclass
class Exp:
    name: str
    scale: Scale
    world: World
    rows: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def add(self, variant: str, group: str, case: Case, k: int, steps, image: np.ndarray, **kw):
        self.world.record("exp", k, case, image, keep=False)
        sc = self.world.results.scores.pop(("exp", k, case.key))
        self.rows.append(
            {
                "variant": variant,
                "group": group,
                "case": case.key,
                "subject": case.subject,
                "k": k,
                "restore_steps": steps,
                **{m: getattr(sc, m) for m in METRICS},
                **kw,
            }
        )


def _subjects(world: World, n: int) -> list[list[Case]]:
    return [[c for c in world.results.cases if c.subject == s] for s in range(n)]


def run_sampler(exp: Exp, subjects: int, work: Path, log: Log, base: TrainOptions) -> None:
    steps_list = (10, 15, 25, 50, None)
    w = exp.world
    for cases in _subjects(w, subjects):
        s = cases[0].subject
        t = Timer()
        path = work / f"sampler-base-s{s}.safetensors"
        train_adapter(w.prior, album(exp.scale, s), path, base)
        log(f"sampler: subject {s} base adapter in {t.done()[0]:.0f} s")
        for label, model in (
            ("prior alone", w.prior),
            ("personal adapter (base)", with_adapter(w.prior, path)),
        ):
            for k in KS:
                for steps in steps_list:
                    t = Timer()
                    images = restore_batch(model, cases, k, steps, seed=s)
                    wall, cpu = t.done()
                    for case, img in zip(cases, images, strict=True):
                        exp.add(
                            label,
                            "sampler",
                            case,
                            k,
                            steps,
                            img,
                            evals=steps or k,
                            cpu_s_per_photo=cpu / len(cases),
                        )
        write(exp)
        log(f"sampler: subject {s} done")


STEPS_SWEEP = (6, 8, 10, 15, 25, None)
STEPS_KS = (100, 200, 300, 400)
STEPS_SEEDS = 2


def run_steps(exp: Exp, subjects: int, work: Path, log: Log, base: TrainOptions) -> None:
    """The personal adapter's restore at each respaced step count and K, two sampling seeds
    per photo: the evidence for the default step count (paired differences, so a photo's
    own difficulty cancels out)."""
    w = exp.world
    exp.meta["seeds"] = STEPS_SEEDS
    for cases in _subjects(w, subjects):
        s = cases[0].subject
        t = Timer()
        path = work / f"steps-base-s{s}.safetensors"
        if not path.exists():  # the adapter depends only on the subject and the options
            train_adapter(w.prior, album(exp.scale, s), path, base)
        log(f"steps: subject {s} adapter ready in {t.done()[0]:.0f} s")
        model = with_adapter(w.prior, path)
        for k in STEPS_KS:
            for steps in STEPS_SWEEP:
                for seed in range(STEPS_SEEDS):
                    t = Timer()
                    images = restore_batch(model, cases, k, steps, seed=s + 1000 * seed)
                    wall, cpu = t.done()
                    for case, img in zip(cases, images, strict=True):
                        exp.add(
                            "personal adapter",
                            "steps",
                            case,
                            k,
                            steps,
                            img,
                            seed=seed,
                            evals=steps or k,
                            cpu_s_per_photo=cpu / len(cases),
                        )
        write(exp)
        log(f"steps: subject {s} done")


BF16_STEPS = (10, 25)


@contextlib.contextmanager
def _sampling_dtype(dtype: torch.dtype | None):
    """Make restore_tensor's gradient-free steps autocast to ``dtype`` (None: fp32), as the
    product would where the CPU has native bf16."""
    from gen2res_desktop.core import diffusion

    before = diffusion.autocast_dtype
    diffusion.autocast_dtype = lambda device, precision="auto": dtype
    try:
        yield
    finally:
        diffusion.autocast_dtype = before


def run_bf16(exp: Exp, subjects: int, work: Path, log: Log, base: TrainOptions) -> None:
    """The personal adapter's restore with its denoising steps in bf16 autocast against
    fp32, the same photos, seeds and noise: what bf16 rounding does to the restored face."""
    w = exp.world
    exp.meta["seeds"] = STEPS_SEEDS
    exp.meta["native_bf16"] = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    for cases in _subjects(w, subjects):
        s = cases[0].subject
        path = work.parent / f"exp-{exp.scale.name}-steps" / f"steps-base-s{s}.safetensors"
        if not path.exists():
            path = work / f"bf16-base-s{s}.safetensors"
            train_adapter(w.prior, album(exp.scale, s), path, base)
        model = with_adapter(w.prior, path)
        for k in KS:
            for steps in BF16_STEPS:
                for seed in range(STEPS_SEEDS):
                    for label, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
                        t = Timer()
                        with _sampling_dtype(dtype):
                            images = restore_batch(model, cases, k, steps, seed=s + 1000 * seed)
                        wall, cpu = t.done()
                        for case, img in zip(cases, images, strict=True):
                            exp.add(
                                label,
                                "precision",
                                case,
                                k,
                                steps,
                                img,
                                seed=seed,
                                evals=steps,
                                cpu_s_per_photo=cpu / len(cases),
                            )
        write(exp)
        log(f"bf16: subject {s} done")


def _bf16_markdown(rows: list[dict], meta: dict) -> list[str]:
    lines = [
        f"This CPU reports native bf16: {meta.get('native_bf16')}. Each difference is paired: "
        "the same photo, seed and noise in bf16 and fp32, mean ± standard error over all pairs.",
        "",
        "| K | restore steps | identity fp32 | identity bf16 | identity bf16 - fp32 | "
        "PSNR bf16 - fp32 | pairs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in aggregate([r for r in rows if r["variant"] == "fp32"], ("k", "restore_steps")):
        cur = {"k": c["k"], "restore_steps": c["restore_steps"]}
        b = aggregate(
            [
                r
                for r in rows
                if r["variant"] == "bf16"
                and r["k"] == c["k"]
                and r["restore_steps"] == c["restore_steps"]
            ],
            ("k",),
        )[0]
        di = paired_vs(rows, cur | {"variant": "bf16"}, cur | {"variant": "fp32"}, "identity")
        dp = paired_vs(rows, cur | {"variant": "bf16"}, cur | {"variant": "fp32"}, "psnr")
        lines.append(
            f"| {c['k']} | {c['restore_steps']} | {_f(c, 'identity')} | {_f(b, 'identity')} | "
            f"{di[0]:+.4f} ± {di[1]:.4f} | {dp[0]:+.3f} ± {dp[1]:.3f} | {di[2]} |"
        )
    return lines


PATCH = 0.5


def patch_variants(base: TrainOptions) -> list[Variant]:
    """Whole-face training against half-side crops at equal image-steps, at four times the
    steps (equal FLOPs) and at eight (a little over equal wall time on the 256 px prior,
    where a half-side step measured 0.15 of a whole one: speed_full_cpu.md)."""
    crop = replace(base, patch=PATCH)
    return [
        Variant("whole faces (default)", "whole", base),
        Variant(f"crops {PATCH:g} side, same steps", "patch", crop),
        Variant(f"crops {PATCH:g} side, 4x steps", "patch", replace(crop, steps=4 * base.steps)),
        Variant(f"crops {PATCH:g} side, 8x steps", "patch", replace(crop, steps=8 * base.steps)),
    ]


def run_patch(exp: Exp, subjects: int, work: Path, log: Log, restore_steps) -> None:
    """Patch training (random crops of the aligned faces, full-size sampling) against
    whole-face training with the product's adapter options: identity and quality of the
    restore, and the training's CPU time."""
    w = exp.world
    exp.meta["restore_steps"] = restore_steps
    exp.meta["seeds"] = STEPS_SEEDS
    variants = patch_variants(exp.scale.personal)  # the product's adapter options
    if exp.scale.name == "smoke":
        variants = [replace(v, options=replace(v.options, steps=3, batch_size=2)) for v in variants]
    for cases in _subjects(w, subjects):
        s = cases[0].subject
        for v in variants:
            t = Timer()
            path = work / f"patch-s{s}-{v.group}-{v.options.steps}.safetensors"
            train_adapter(w.prior, album(exp.scale, s), path, v.options)
            _, train_cpu = t.done()
            model = with_adapter(w.prior, path)
            for k in KS:
                for seed in range(STEPS_SEEDS):
                    images = restore_batch(model, cases, k, restore_steps, seed=s + 1000 * seed)
                    for case, img in zip(cases, images, strict=True):
                        exp.add(
                            v.name,
                            v.group,
                            case,
                            k,
                            restore_steps,
                            img,
                            seed=seed,
                            image_steps=v.options.steps * v.options.batch_size,
                            train_cpu_s=train_cpu,
                        )
            log(f"patch: subject {s} {v.name}: trained in {train_cpu:.0f} CPU s")
        write(exp)


def _patch_markdown(rows: list[dict], meta: dict) -> list[str]:
    lines = [
        f"Restores with {meta.get('restore_steps')} steps, two sampling seeds per photo; "
        "differences are paired against whole-face training (same photo, K and seed). "
        "Training CPU seconds are per subject, on this machine's threads.",
        "",
        "| training | image-steps | train CPU s | identity K=200 | identity K=400 | "
        "vs whole K=200 | vs whole K=400 | PSNR vs whole K=200 | artefact vs whole K=200 | pairs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    whole = next((r["variant"] for r in rows if r["group"] == "whole"), None)
    for c in aggregate(rows, ("variant",)):
        cells = {
            k: aggregate([r for r in rows if r["variant"] == c["variant"] and r["k"] == k], ("k",))[
                0
            ]
            for k in KS
        }
        d = {
            (k, m): paired_vs(
                rows, {"variant": c["variant"], "k": k}, {"variant": whole, "k": k}, m
            )
            for k in KS
            for m in ("identity", "psnr", "artefact")
        }
        lines.append(
            f"| {c['variant']} | {c.get('image_steps', 0):.0f} | {c.get('train_cpu_s', 0):.0f} | "
            f"{_f(cells[KS[0]], 'identity')} | {_f(cells[KS[1]], 'identity')} | "
            f"{d[(KS[0], 'identity')][0]:+.3f} ± {d[(KS[0], 'identity')][1]:.3f} | "
            f"{d[(KS[1], 'identity')][0]:+.3f} ± {d[(KS[1], 'identity')][1]:.3f} | "
            f"{d[(KS[0], 'psnr')][0]:+.2f} ± {d[(KS[0], 'psnr')][1]:.2f} | "
            f"{d[(KS[0], 'artefact')][0]:+.3f} ± {d[(KS[0], 'artefact')][1]:.3f} | "
            f"{d[(KS[0], 'identity')][2]} |"
        )
    return lines


def _steps_markdown(rows: list[dict]) -> list[str]:
    lines = [
        "Each difference is paired: the same photo and sampling seed at two step counts, "
        "mean ± standard error over all pairs.",
        "",
        "| K | restore steps | identity | PSNR | identity vs 25 steps | identity vs all K | "
        "PSNR vs 25 steps | CPU s per photo | pairs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in aggregate(rows, ("k", "restore_steps")):
        cur = {"k": c["k"], "restore_steps": c["restore_steps"]}
        at25 = paired_vs(rows, cur, {"k": c["k"], "restore_steps": 25}, "identity")
        allk = paired_vs(rows, cur, {"k": c["k"], "restore_steps": None}, "identity")
        p25 = paired_vs(rows, cur, {"k": c["k"], "restore_steps": 25}, "psnr")
        cpu = np.mean(
            [
                r["cpu_s_per_photo"]
                for r in rows
                if r["k"] == c["k"] and r["restore_steps"] == c["restore_steps"]
            ]
        )
        lines.append(
            f"| {c['k']} | {c['restore_steps'] or 'all ' + str(c['k'])} | {_f(c, 'identity')} | "
            f"{_f(c, 'psnr')} | {at25[0]:+.3f} ± {at25[1]:.3f} | {allk[0]:+.3f} ± {allk[1]:.3f} | "
            f"{p25[0]:+.2f} ± {p25[1]:.2f} | {cpu:.2f} | {at25[2]} |"
        )
    lines += [
        "",
        "Pooled over every K (the same pairs, all K together):",
        "",
        "| restore steps | identity vs 25 steps | identity vs all K | PSNR vs 25 steps | pairs |",
        "| --- | --- | --- | --- | --- |",
    ]
    for steps in STEPS_SWEEP:
        d25 = _pooled(rows, steps, 25, "identity")
        dall = _pooled(rows, steps, None, "identity")
        p25 = _pooled(rows, steps, 25, "psnr")
        lines.append(
            f"| {steps or 'all K'} | {d25[0]:+.3f} ± {d25[1]:.3f} | {dall[0]:+.3f} ± "
            f"{dall[1]:.3f} | {p25[0]:+.2f} ± {p25[1]:.2f} | {d25[2]} |"
        )
    return lines


def _pooled(rows: list[dict], a, b, metric: str) -> tuple[float, float, int]:
    """Paired a - b step counts over every K, photo and seed."""

    def pick(steps):
        return {
            (r["case"], r["k"], r.get("seed")): r[metric]
            for r in rows
            if r["restore_steps"] == steps
        }

    sa, sb = pick(a), pick(b)
    d = np.array([sa[c] - sb[c] for c in sorted(set(sa) & set(sb))])
    if not d.size:
        return float("nan"), float("nan"), 0
    m, sem = mean_sem(d)
    return m, sem, d.size


def run_budget(
    exp: Exp, subjects: int, work: Path, log: Log, restore_steps, base: TrainOptions
) -> None:
    w = exp.world
    variants = budget_variants(base, w.prior.unet)
    exp.meta["base"] = _opts(base)
    exp.meta["restore_steps"] = restore_steps
    for cases in _subjects(w, subjects):
        s = cases[0].subject
        photos = album(exp.scale, s)
        for v in variants:
            t = Timer()
            if v.options is None:
                model = w.prior
            elif v.full:
                model = fine_tune(w.prior, photos, v.options).model
            else:
                path = work / f"budget-s{s}.safetensors"
                train_adapter(w.prior, photos, path, v.options)
                model = with_adapter(w.prior, path)
            wall, cpu = t.done()
            for k in KS:
                images = restore_batch(model, cases, k, restore_steps, seed=s)
                for case, img in zip(cases, images, strict=True):
                    o = v.options
                    exp.add(
                        v.name,
                        v.group,
                        case,
                        k,
                        restore_steps,
                        img,
                        image_steps=(o.steps * o.batch_size) if o else 0,
                        train_wall_s=wall,
                        train_cpu_s=cpu,
                        full=v.full,
                        options=_opts(o) if o else None,
                    )
            del model
            log(f"budget: subject {s} {v.name}: trained in {wall:.0f} s wall, {cpu:.0f} s CPU")
            write(exp)


def run_album(
    exp: Exp,
    subjects: int,
    work: Path,
    log: Log,
    restore_steps,
    train: TrainOptions,
    variants: list[AlbumVariant] | None = None,
    seed: int = 0,
):
    """``seed``: a second draw of everything random (album, adapter, restore noise)."""
    w = exp.world
    variants = variants or album_variants(exp.scale, train)
    exp.meta["seed"] = seed
    exp.meta["restore_steps"] = restore_steps
    for cases in _subjects(w, subjects):
        s = cases[0].subject
        for case in (c for c in cases if c.single):
            for v in variants:
                t = Timer()
                keep = work / f"album-{case.key}" if not seed else work / f"album-{case.key}-{seed}"
                album_s = replace(v.album, seed=v.album.seed + seed)
                train_s = replace(v.train, seed=v.train.seed + seed)
                restore_crop(
                    w.prior,
                    to_pil(case.degraded),
                    RestoreSettings(strength=KS[0], steps=restore_steps, seed=s + 1000 * seed),
                    single=SingleOptions(album=album_s, train=train_s, keep_dir=keep),
                )
                wall, cpu = t.done()
                model = with_adapter(w.prior, keep / "single_photo_adapter.safetensors")
                for k in KS:
                    # the subject's batch, so this photo gets the main table's noise
                    img = restore_batch(model, cases, k, restore_steps, seed=s + 1000 * seed)[
                        cases.index(case)
                    ]
                    exp.add(
                        v.name,
                        v.group,
                        case,
                        k,
                        restore_steps,
                        img,
                        wall_s=wall,
                        cpu_s=cpu,
                        album=asdict(v.album),
                        train=_opts(v.train),
                        album_evals=v.album.count * (v.album.steps or v.album.strength),
                    )
                log(f"album: {case.key} {v.name}: {wall:.0f} s wall, {cpu:.0f} s CPU")
                write(exp)


def _opts(o: TrainOptions) -> dict:
    d = asdict(o)
    d["targets"] = list(o.targets)
    if len(d["targets"]) > 6:  # the decoder's modules by name: summarise
        d["targets"] = f"{len(d['targets'])} decoder modules"
    return d


# ----------------------------------------------------------------------------- reports


def aggregate(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Mean ± s.e. of every metric per distinct value of ``keys`` (in first-seen order)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for key, rs in groups.items():
        cell = dict(zip(keys, key, strict=True)) | {"n": len(rs)}
        for m in METRICS:
            mean, sem = mean_sem(np.array([r[m] for r in rs]))
            cell[m] = {"mean": mean, "sem": sem}
        for extra in ("image_steps", "train_cpu_s", "evals", "album_evals", "cpu_s"):
            if extra in rs[0]:
                cell[extra] = float(np.mean([r[extra] for r in rs]))
        out.append(cell)
    return out


def paired_vs(rows: list[dict], a: dict, b: dict, metric: str) -> tuple[float, float, int]:
    """Mean ± s.e. of a - b over the photos both row filters hold."""

    def pick(f):
        return {
            (r["case"], r["k"], r.get("seed")): r[metric]
            for r in rows
            if all(r.get(k) == v for k, v in f.items())
        }

    sa, sb = pick(a), pick(b)
    common = sorted(set(sa) & set(sb))
    d = np.array([sa[c] - sb[c] for c in common])
    if not d.size:
        return float("nan"), float("nan"), 0
    m, sem = mean_sem(d)
    return m, sem, d.size


def _f(cell: dict, m: str) -> str:
    d = 2 if m == "psnr" else 3
    return f"{cell[m]['mean']:.{d}f} ± {cell[m]['sem']:.{d}f}"


def markdown(exp: Exp) -> str:
    w = exp.world.results
    lines = [
        f"# Toy-world experiment `{exp.name}`, scale `{exp.scale.name}`",
        "",
        f"Written {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} by "
        f"`python -m benchmarks.toyworld.experiments --scale {exp.scale.name} --only {exp.name}` "
        f"on {w.device} ({platform.processor() or platform.machine()}, torch "
        f"{torch.__version__}, {w.threads} thread(s)). Photos: the main table's first "
        f"{exp.meta.get('subjects')} subjects, their damaged test photos, the same seeds. "
        "Means ± standard error over photos; identity is the cosine to the subject's clean "
        "reference photos (see toyworld_cpu.md for the metric's sanity numbers).",
        "",
    ]
    rows = exp.rows
    if exp.name == "sampler":
        lines += [
            "| model | K | restore steps (UNet evals) | identity | PSNR | SSIM | artefact | "
            "identity vs all K | PSNR vs all K | photos |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for c in aggregate(rows, ("variant", "k", "restore_steps")):
            ref = {"variant": c["variant"], "k": c["k"], "restore_steps": None}
            cur = {"variant": c["variant"], "k": c["k"], "restore_steps": c["restore_steps"]}
            di = paired_vs(rows, cur, ref, "identity")
            dp = paired_vs(rows, cur, ref, "psnr")
            steps = c["restore_steps"] or f"all {c['k']}"
            lines.append(
                f"| {c['variant']} | {c['k']} | {steps} | {_f(c, 'identity')} | {_f(c, 'psnr')} | "
                f"{_f(c, 'ssim')} | {_f(c, 'artefact')} | {di[0]:+.3f} ± {di[1]:.3f} | "
                f"{dp[0]:+.2f} ± {dp[1]:.2f} | {c['n']} |"
            )
    elif exp.name == "steps":
        lines += _steps_markdown(rows)
    elif exp.name == "bf16":
        lines += _bf16_markdown(rows, exp.meta)
    elif exp.name == "patch":
        lines += _patch_markdown(rows, exp.meta)
    elif exp.name == "budget":
        base = exp.meta.get("base", {})
        lines += [
            f"Base: {base.get('steps')} steps x batch {base.get('batch_size')}, lr "
            f"{base.get('lr')}, rank {base.get('rank')}, targets {base.get('targets')}, flips "
            f"{'on' if base.get('flip') else 'off'}; each row changes one setting. Restores: "
            f"{exp.meta.get('restore_steps') or 'all K'} steps. Training CPU seconds are per "
            "subject (20 album photos).",
            "",
            "| group | setting | image-steps | train CPU s | identity K=200 | identity K=400 | "
            "PSNR K=200 | PSNR K=400 | SSIM K=200 | artefact K=200 | id. vs paper recipe K=200 | "
            "id. vs paper recipe K=400 | photos |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        cells = aggregate(rows, ("variant", "group", "k"))
        by = {(c["variant"], c["k"]): c for c in cells}
        full = "full fine-tune, paper recipe"
        for c in (c for c in cells if c["k"] == KS[0]):
            c2 = by.get((c["variant"], KS[1]))
            d = [
                paired_vs(
                    rows, {"variant": c["variant"], "k": k}, {"variant": full, "k": k}, "identity"
                )
                for k in KS
            ]
            lines.append(
                f"| {c['group']} | {c['variant']} | {c.get('image_steps', 0):.0f} | "
                f"{c.get('train_cpu_s', 0):.0f} | {_f(c, 'identity')} | "
                f"{_f(c2, 'identity') if c2 else '-'} | {_f(c, 'psnr')} | "
                f"{_f(c2, 'psnr') if c2 else '-'} | {_f(c, 'ssim')} | {_f(c, 'artefact')} | "
                + " | ".join(f"{x[0]:+.3f} ± {x[1]:.3f}" if x[2] else "-" for x in d)
                + f" | {c['n']} |"
            )
    elif exp.name in ("album", "album_steps"):
        lines += [
            f"Single-photo mode on each subject's first {exp.scale.single_photos} photos; "
            f"restores with {exp.meta.get('restore_steps') or 'all K'} steps. Album UNet "
            "evaluations = images x album steps (each guidance point adds a backward pass).",
            "",
            "| group | setting | album evals | CPU s per photo | identity K=200 | "
            "identity K=400 | PSNR K=200 | PSNR K=400 | SSIM K=200 | id. vs base K=200 | "
            "id. vs base K=400 | photos |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        cells = aggregate(rows, ("variant", "group", "k"))
        by = {(c["variant"], c["k"]): c for c in cells}
        base = next((c["variant"] for c in cells if c["group"] in ("base", "default")), None)
        for c in (c for c in cells if c["k"] == KS[0]):
            c2 = by.get((c["variant"], KS[1]))
            d = [
                paired_vs(
                    rows, {"variant": c["variant"], "k": k}, {"variant": base, "k": k}, "identity"
                )
                for k in KS
            ]
            lines.append(
                f"| {c['group']} | {c['variant']} | {c.get('album_evals', 0):.0f} | "
                f"{c.get('cpu_s', 0):.0f} | {_f(c, 'identity')} | "
                f"{_f(c2, 'identity') if c2 else '-'} | {_f(c, 'psnr')} | "
                f"{_f(c2, 'psnr') if c2 else '-'} | {_f(c, 'ssim')} | "
                + " | ".join(f"{x[0]:+.3f} ± {x[1]:.3f}" if x[2] else "-" for x in d)
                + f" | {c['n']} |"
            )
    timing = exp.meta.get("timing")
    if timing:
        lines += [
            "",
            f"Time: {timing['wall']:.0f} s wall, {timing['cpu']:.0f} s CPU "
            f"({timing['cpu'] / max(timing['wall'], 1):.2f} CPU s per wall s).",
        ]
    lines += [
        "",
        f"Figure: `toyworld_{exp.name}_{exp.scale.name}.png`; every photo's scores: "
        f"`toyworld_{exp.name}_{exp.scale.name}.json`.",
        "",
    ]
    return "\n".join(lines)


PALETTE = (
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def _panel(cells, metric, x_key, title, series, colour) -> Image.Image:
    """One panel: ``metric`` (mean ± s.e.) against log10 of ``x_key``, a line per series."""
    w, h, left, right, top, bottom = 440, 300, 50, 12, 22, 30
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    font = _font(11)
    d.text((left, 4), title, fill="black", font=font)
    if not cells:
        return img
    xs = [np.log10(c[x_key]) for c in cells]
    ys = [c[metric]["mean"] for c in cells]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    pad = (max(ys) - min(ys)) * 0.1 or 0.01
    y0, y1 = min(ys) - pad, max(ys) + pad

    def xy(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * (w - left - right),
            top + (y1 - y) / (y1 - y0) * (h - top - bottom),
        )

    d.rectangle([left, top, w - right, h - bottom], outline=(160, 160, 160))
    for frac in (0, 0.5, 1):
        v = y0 + pad + frac * (y1 - y0 - 2 * pad)
        label = f"{v:.2f}" if metric == "psnr" else f"{v:.3f}"
        d.text((2, xy(x0, v)[1] - 6), label, fill="black", font=font)
    for e in range(int(np.floor(x0)), int(np.ceil(x1)) + 1):
        for m in (1, 2, 5):
            lx = np.log10(m * 10.0**e)
            if x0 <= lx <= x1:
                d.text(
                    (xy(lx, y0)[0] - 8, h - bottom + 4), f"{m * 10**e:g}", fill="black", font=font
                )
    for name, members in series.items():
        pts = sorted((np.log10(c[x_key]), c[metric]["mean"], c[metric]["sem"]) for c in members)
        col = colour[name]
        if len(pts) > 1:
            d.line([xy(x, y) for x, y, _ in pts], fill=col, width=2)
        for x, y, sem in pts:
            px, py = xy(x, y)
            d.line([px, xy(x, y + sem)[1], px, xy(x, y - sem)[1]], fill=col)
            d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=col)
    return img


def figure(exp: Exp) -> Image.Image:
    """Identity (left) and PSNR (right) against cost (log scale), a line per group and K."""
    if exp.name in ("budget", "patch"):
        x_key, x_label, key = "image_steps", "image-steps", ("variant", "group", "k")
    elif exp.name in ("album", "album_steps"):
        x_key, x_label, key = "cpu_s", "CPU s per photo", ("variant", "group", "k")
    else:
        x_key, x_label, key = "evals", "restore steps", ("variant", "k", "restore_steps")
    cells = [c for c in aggregate(exp.rows, key) if c.get(x_key)]
    series_key = "group" if exp.name not in ("sampler", "steps", "bf16") else "variant"
    series: dict[str, list[dict]] = {}
    for c in cells:
        series.setdefault(f"{c[series_key]} K={c['k']}", []).append(c)
    colour = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(series)}
    panels = [
        _panel(cells, m, x_key, f"{m} vs {x_label} (log scale)", series, colour)
        for m in ("identity", "psnr")
    ]
    legend_h = 16 * ((len(series) + 2) // 3) + 6
    fig = Image.new("RGB", (880, 300 + legend_h), "white")
    for i, p in enumerate(panels):
        fig.paste(p, (i * 440, 0))
    d, font = ImageDraw.Draw(fig), _font(11)
    for i, n in enumerate(series):
        x, y = 10 + (i % 3) * 290, 304 + 16 * (i // 3)
        d.rectangle([x, y + 2, x + 10, y + 12], fill=colour[n])
        d.text((x + 14, y), n, fill="black", font=font)
    return fig


def write(exp: Exp, out_dir: Path | None = None) -> list[Path]:
    out_dir = out_dir or exp.meta["out"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"toyworld_{exp.name}_{exp.scale.name}"
    md, js, png = stem.with_suffix(".md"), stem.with_suffix(".json"), stem.with_suffix(".png")
    atomic_write_text(md, markdown(exp))
    meta = {k: v for k, v in exp.meta.items() if k != "out"}
    atomic_write_text(
        js,
        json.dumps(
            {"experiment": exp.name, "scale": exp.scale.name, "meta": meta, "rows": exp.rows},
            indent=1,
            default=str,
        ),
    )
    with atomic_path(png) as tmp:
        figure(exp).save(tmp, format="PNG")
    return [md, js, png]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.toyworld.experiments", description=__doc__
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--only", default="sampler,budget,album")
    parser.add_argument("--subjects", type=int, default=None, help="default: 2 (cpu), all (smoke)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "cache" / "toyworld")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--seed", type=int, default=0, help="album experiments: another draw of every seed"
    )
    parser.add_argument(
        "--variants", default=None, help="album_steps: only the variants whose names start so"
    )
    parser.add_argument(
        "--restore-steps",
        type=int,
        default=None,
        help="restore steps for the budget and album experiments (default: the scale's)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    scale = SCALES[args.scale]
    subjects = args.subjects or (2 if scale.name != "smoke" else scale.subjects)
    subjects = min(subjects, scale.subjects)
    log = Log(lambda m: print(m, flush=True))
    world = setup(scale, args.cache, args.device, log, check_metric=False)
    restore_steps = args.restore_steps or scale.restore_steps
    base = BASE if scale.name != "smoke" else replace(BASE, steps=3, batch_size=2)
    single = scale.single_train  # single-photo mode's adapter, as the product trains it
    for name in args.only.split(","):
        work = args.cache / f"exp-{scale.name}-{name}"
        work.mkdir(parents=True, exist_ok=True)
        exp = Exp(name, scale, world, meta={"out": args.out, "subjects": subjects})
        t = Timer()
        if name == "sampler":
            run_sampler(exp, subjects, work, log, base)
        elif name == "steps":
            run_steps(exp, subjects, work, log, base)
        elif name == "bf16":
            run_bf16(exp, subjects, work, log, base)
        elif name == "patch":
            run_patch(exp, subjects, work, log, restore_steps)
        elif name == "budget":
            run_budget(exp, subjects, work, log, restore_steps, base)
        elif name == "album":
            run_album(exp, subjects, work, log, restore_steps, single)
        elif name == "album_steps":
            # the product's single-photo adapter (the scale's keeps the committed table's)
            product = TrainOptions(steps=defaults.SINGLE_TRAIN_STEPS)
            if scale.name == "smoke":
                product = replace(single, steps=2)
            chosen = album_step_variants(product)
            if args.variants:
                chosen = [v for v in chosen if v.name.startswith(tuple(args.variants.split(",")))]
            run_album(exp, subjects, work, log, restore_steps, product, chosen, args.seed)
        else:
            parser.error(f"unknown experiment {name!r}")
        wall, cpu = t.done()
        exp.meta["timing"] = {"wall": round(wall, 1), "cpu": round(cpu, 1)}
        for p in write(exp):
            log(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
