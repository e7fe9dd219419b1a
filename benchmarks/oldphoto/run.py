"""The whole-photo repair measured on synthetic old prints, through the product's own
:func:`repair_photo`.

Every photo is aged with known damage (:mod:`.degrade`), then repaired with the stages
added in turn: damage map + inpainting, + denoising (and the default sharpening), +
colour (the full default pipeline), and the same with the *true* damage map (what a
perfect detector would give). The detector is also run on the clean photo and on the
aged photo without its damage: what it flags there is all false positive (hair, edges,
grain). Results are written after each photo, so a run cut short still leaves its numbers.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from benchmarks.oldphoto import metrics
from benchmarks.oldphoto.degrade import KINDS, Aged, age
from benchmarks.oldphoto.photos import Clean, photo_set
from gen2res_desktop.core.photo.damage import detect_damage
from gen2res_desktop.core.photo.repair import repair_photo
from gen2res_desktop.core.photo.settings import OFF, RepairSettings

THREADS = 2  # the machine's CPU count, and what a laptop restoring in the background has

# The stages added in turn, and the upper bounds with the true damage map.
STAGES_ONLY_DAMAGE = RepairSettings(denoise=OFF, sharpen=0.0, colour=False)
RUNS: dict[str, tuple[str, RepairSettings | None, bool]] = {
    "input": ("the aged photo, unrepaired", None, False),
    "damage": ("damage map + inpaint", STAGES_ONLY_DAMAGE, False),
    "denoise": ("+ denoise and sharpen", RepairSettings(colour=False), False),
    "full": ("+ tone and colour (full pipeline)", RepairSettings(), False),
    "damage_true": ("inpaint with the true damage map", STAGES_ONLY_DAMAGE, True),
    "full_true": ("full pipeline, true damage map", RepairSettings(), True),
}


@dataclass(frozen=True)
class Scale:
    name: str
    natural: tuple[str, ...]  # scikit-image photos
    megapixels: float  # the size they are enlarged to
    portraits: int  # toy-world portraits
    portrait_size: int
    figure_rows: int
    seeds: int = 1  # differently aged prints of each clean photo
    large: tuple[str, ...] = ()  # scikit-image photos also aged at ``large_megapixels``
    large_megapixels: float = 3.0


SMOKE = Scale("smoke", ("astronaut", "camera"), 0.05, 1, 192, 2)
CPU = Scale(
    "cpu",
    ("astronaut", "coffee", "chelsea", "camera", "rocket"),
    0.8,
    3,
    896,
    5,
    seeds=2,
    large=("coffee",),
    large_megapixels=3.0,
)
SCALES = {s.name: s for s in (SMOKE, CPU)}


class Log:
    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.sink(f"[{time.perf_counter() - self.t0:7.1f}s] {message}")


@dataclass
class PhotoResult:
    name: str
    seed: int
    what: str
    size: tuple[int, int]  # width, height
    recipe: dict
    damage: dict  # damage-map scores
    runs: dict[str, dict] = field(default_factory=dict)  # run -> quality, seconds
    # kept for the figure only
    images: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


@dataclass
class Results:
    scale: Scale
    machine: dict
    photos: list[PhotoResult] = field(default_factory=list)
    seconds: float = 0.0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    return {
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": THREADS,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _timed_repair(rgb: np.ndarray, settings: RepairSettings, mask: np.ndarray | None) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    result = repair_photo(rgb, settings, damage_map=mask)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, wall, cpu


def score_damage(aged: Aged, found: np.ndarray, clean: Clean) -> dict:
    scores = {"overall": metrics.overlap(found, aged.mask)}
    for kind in KINDS:
        scores[kind] = metrics.kind_scores(found, aged.mask, aged.kinds[kind])
    scores["true_fraction"] = metrics.fraction(aged.mask)
    scores["found_fraction"] = metrics.fraction(found)
    # all false positives: the clean original, and the aged photo without its damage
    scores["fp_clean"] = metrics.fraction(detect_damage(clean.image) > 0)
    scores["fp_undamaged"] = metrics.fraction(detect_damage(aged.undamaged) > 0)
    return scores


def run_photo(clean: Clean, seed: int, log: Log, name: str | None = None) -> PhotoResult:
    aged = age(clean.image, seed, monochrome=clean.monochrome)
    h, w = clean.image.shape[:2]
    mp = h * w / 1e6
    true_map = aged.mask.astype(np.uint8) * 255
    out = PhotoResult(name or clean.name, seed, clean.what, (w, h), aged.recipe, {})
    out.images = {"clean": clean.image, "input": aged.image, "truth": aged.mask}
    found = None
    for run, (_, settings, use_truth) in RUNS.items():
        if settings is None:
            out.runs[run] = metrics.quality(aged.image, clean.image)
            continue
        result, wall, cpu = _timed_repair(aged.image, settings, true_map if use_truth else None)
        stages = {s.stage: round(s.seconds / mp, 3) for s in result.stages}
        out.runs[run] = {
            **metrics.quality(result.image, clean.image),
            "wall_s_per_mp": round(wall / mp, 3),
            "cpu_s_per_mp": round(cpu / mp, 3),
            "stage_s_per_mp": stages,
            "stage_detail": {s.stage: s.detail for s in result.stages if s.detail},
        }
        if run == "full":
            found = result.damage_map > 0
            out.images["output"] = result.image
            out.images["found"] = found
        if run == "full_true":
            out.images["output_true"] = result.image
    assert found is not None
    out.damage = score_damage(aged, found, clean)
    d = out.damage
    log(
        f"{out.name} ({w}x{h}): damage IoU {d['overall']['iou']:.2f} "
        f"(scratch {d['scratch']['iou']:.2f}), fp clean {100 * d['fp_clean']:.2f}%, "
        f"PSNR {out.runs['input']['psnr_matched']:.2f} -> {out.runs['full']['psnr_matched']:.2f} "
        f"dB, SSIM {out.runs['input']['ssim_matched']:.3f} -> "
        f"{out.runs['full']['ssim_matched']:.3f}, {out.runs['full']['wall_s_per_mp']:.2f} s/MP"
    )
    return out


def run(scale: Scale, out_dir: Path, log: Log) -> list[Path]:
    from benchmarks.oldphoto import report

    threads = cv2.getNumThreads()
    cv2.setNumThreads(THREADS)
    started = time.perf_counter()
    results = Results(scale, machine())
    paths: list[Path] = []
    try:
        photos = photo_set(scale.natural, scale.megapixels, scale.portraits, scale.portrait_size)
        cases = [
            (clean, 1000 + 10 * i + k, clean.name if k == 0 else f"{clean.name} #{k + 1}")
            for i, clean in enumerate(photos)
            for k in range(scale.seeds if i < len(scale.natural) else 1)
        ]
        for j, clean in enumerate(photo_set(scale.large, scale.large_megapixels, 0, 0)):
            cases.append((clean, 2000 + j, f"{clean.name} ({scale.large_megapixels:g} MP)"))
        log(f"{len(photos)} clean photos ready, {len(cases)} aged prints to repair")
        for clean, seed, name in cases:
            results.photos.append(run_photo(clean, seed, log, name))
            results.seconds = round(time.perf_counter() - started, 1)
            paths = report.write_all(results, out_dir)
    finally:
        cv2.setNumThreads(threads)
    return paths
