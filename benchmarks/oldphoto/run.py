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

import inspect
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from benchmarks.oldphoto import metrics, splits
from benchmarks.oldphoto.degrade import Aged
from benchmarks.oldphoto.splits import SCALES, Case, Scale
from gen2res_desktop.core.faces import detect_faces
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
LARGE_RUNS = ("input", "full")  # the speed cases: enough for the time and the map
# "Never worse than the input": the full repair, colour off, on photos with nothing to fill
NO_COLOUR = RepairSettings(colour=False)
# The detector alone (plus the face protection inside repair_photo): every other stage off
DETECT_ONLY = RepairSettings(inpaint=OFF, denoise=OFF, sharpen=0.0, colour=False)
__all__ = ["SCALES", "Scale", "Log", "run"]
# repair_photo takes the faces found on the photo where the product passes them (so the
# repair can keep off their features); older versions of it have no such keyword
_TAKES_FACES = "faces" in inspect.signature(repair_photo).parameters


class Log:
    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.sink(f"[{time.perf_counter() - self.t0:7.1f}s] {message}")


@dataclass
class PhotoResult:
    name: str
    split: str
    profile: str
    seed: int
    what: str
    size: tuple[int, int]  # width, height
    recipe: dict
    damage: dict  # damage-map scores
    runs: dict[str, dict] = field(default_factory=dict)  # run -> quality, seconds
    never_worse: dict = field(default_factory=dict)  # clean / undamaged -> psnr, marked
    features: dict = field(default_factory=dict)  # facial-feature pixels marked / changed
    faces: dict = field(default_factory=dict)  # how many found, where they came from
    # kept for the figure only
    images: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


@dataclass
class Results:
    scale: Scale
    machine: dict
    splits: tuple[str, ...]
    photos: list[PhotoResult] = field(default_factory=list)
    seconds: float = 0.0
    detector_only: bool = False

    def of(self, split: str) -> list[PhotoResult]:
        return [p for p in self.photos if p.split == split]


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


def repair(rgb: np.ndarray, settings: RepairSettings, mask=None, faces=None):
    if _TAKES_FACES:
        return repair_photo(rgb, settings, damage_map=mask, faces=faces or [])
    return repair_photo(rgb, settings, damage_map=mask)


def _timed_repair(rgb, settings, mask, faces) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    result = repair(rgb, settings, mask, faces)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, wall, cpu


def found_faces(case: Case, image: np.ndarray) -> tuple[list, dict]:
    """The faces the product would pass: dlib's on the damaged photo. On a toy portrait the
    renderer's landmarks stand in: dlib was not made for cartoon faces (its HOG pass finds
    few, and its second pass on an enhanced copy can find one with landmarks off the
    drawn features), so the feature rule is tested rather than dlib's eye for cartoons
    (the report says so; face finding on faded prints has its own benchmark)."""
    known = splits.known_faces(case)
    if known:
        return known, {"dlib_found": None, "source": "renderer"}
    found = detect_faces(image, with_descriptors=False)
    return found, {"dlib_found": len(found), "source": "dlib" if found else "none"}


def score_damage(aged: Aged, found: np.ndarray) -> dict:
    scores = {"overall": metrics.overlap(found, aged.mask)}
    for kind, truth in aged.kinds.items():
        scores[kind] = metrics.kind_scores(found, aged.mask, truth)
    stains = getattr(aged, "stains", {})
    scores["stains"] = {k: metrics.fraction(found[m]) if m.any() else float("nan") for k, m in stains.items()}  # fmt: skip
    scores["true_fraction"] = metrics.fraction(aged.mask)
    scores["found_fraction"] = metrics.fraction(found)
    return scores


def _features(feat: np.ndarray, aged: Aged, found: np.ndarray, outs: dict) -> dict:
    out = {
        "pixels": int(feat.sum()),
        "true_damage": int((feat & aged.mask).sum()),
        "marked": int((feat & found).sum()),
    }
    if "damage" in outs:  # what the fill changed (no denoising, no tone)
        out["changed_fill"] = metrics.changed(outs["damage"], aged.image, feat)
    if "denoise" in outs:  # the whole repair with the tone and colour stage off
        out["changed_repair"] = metrics.changed(outs["denoise"], aged.image, feat)
    return out


def _never_worse(case: Case, aged: Aged, faces: list, detector_only: bool) -> dict:
    """On photos with nothing to fill, the repair should change little and mark little."""
    clean = splits.clean_photo(case).image
    out = {}
    for name, img in (("clean", clean), ("undamaged", aged.undamaged)):
        res = repair(img, DETECT_ONLY if detector_only else NO_COLOUR, None, faces)
        marked = res.damage_map > 0 if res.damage_map is not None else np.zeros(img.shape[:2], bool)
        out[name] = {"marked": metrics.fraction(marked)}
        if not detector_only:
            out[name]["psnr"] = round(metrics.psnr(res.image / 255.0, img / 255.0), 3)
    return out


def run_photo(case: Case, log: Log, detector_only: bool = False) -> PhotoResult:
    clean = splits.clean_photo(case)
    aged = splits.aged(case)
    h, w = clean.image.shape[:2]
    mp = h * w / 1e6
    true_map = aged.mask.astype(np.uint8) * 255
    faces, face_info = found_faces(case, aged.image)
    out = PhotoResult(case.name, case.split, case.profile, case.seed, clean.what, (w, h), aged.recipe, {})  # fmt: skip
    out.faces = face_info
    out.images = {"clean": clean.image, "input": aged.image, "truth": aged.mask}
    outs: dict[str, np.ndarray] = {}
    found = None
    if detector_only:
        result = repair(aged.image, DETECT_ONLY, None, faces)
        found = result.damage_map > 0
    runs = LARGE_RUNS if case.large else tuple(RUNS)
    for run in () if detector_only else runs:
        _, settings, use_truth = RUNS[run]
        if settings is None:
            out.runs[run] = metrics.quality(aged.image, clean.image)
            continue
        mask = true_map if use_truth else None
        result, wall, cpu = _timed_repair(aged.image, settings, mask, faces)
        stages = {s.stage: round(s.seconds / mp, 3) for s in result.stages}
        out.runs[run] = {
            **metrics.quality(result.image, clean.image),
            "wall_s_per_mp": round(wall / mp, 3),
            "cpu_s_per_mp": round(cpu / mp, 3),
            "stage_s_per_mp": stages,
            "stage_detail": {s.stage: s.detail for s in result.stages if s.detail},
        }
        outs[run] = result.image
        if run == "full":
            found = result.damage_map > 0
            out.images["output"] = result.image
            out.images["found"] = found
    assert found is not None
    out.images["found"] = found
    out.damage = score_damage(aged, found)
    if not case.large:
        out.never_worse = _never_worse(case, aged, faces, detector_only)
    feat, source = splits.feature_mask(case, clean.image)
    if feat is not None:
        out.features = {**_features(feat, aged, found, outs), "landmarks": source}
    o = out.damage["overall"]
    nw = out.never_worse.get("undamaged", {}).get("marked", float("nan"))
    line = f"{case.split} {out.name} ({w}x{h}): IoU {o['iou']:.2f} P {o['precision']:.2f} R {o['recall']:.2f}, undamaged marked {100 * nw:.2f}%"  # fmt: skip
    if out.features:
        line += f", feature px marked {out.features['marked']}"
    if "full" in out.runs:
        i, f = out.runs["input"], out.runs["full"]
        line += f", PSNR {i['psnr_matched']:.2f} -> {f['psnr_matched']:.2f}, {f['wall_s_per_mp']:.2f} s/MP"  # fmt: skip
    log(line)
    return out


def run(
    scale: Scale,
    out_dir: Path | None,
    log: Log,
    split_names: tuple[str, ...] = ("dev", "test"),
    detector_only: bool = False,
) -> tuple[Results, list[Path]]:
    """Every case of the splits asked for; the report is written once, at the end (and
    not at all with ``out_dir`` None)."""
    from benchmarks.oldphoto import report

    threads = cv2.getNumThreads()
    cv2.setNumThreads(THREADS)
    started = time.perf_counter()
    results = Results(scale, machine(), split_names, detector_only=detector_only)
    paths: list[Path] = []
    try:
        cases = [c for name in split_names for c in getattr(scale, name)]
        log(f"{len(cases)} aged prints ({', '.join(split_names)}), repair takes faces: {_TAKES_FACES}")  # fmt: skip
        for case in cases:
            results.photos.append(run_photo(case, log, detector_only))
            results.seconds = round(time.perf_counter() - started, 1)
        if out_dir is not None:
            paths = report.write_all(results, out_dir)
    finally:
        cv2.setNumThreads(threads)
    return results, paths
