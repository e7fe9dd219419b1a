"""The whole-photo repair: damage map -> inpainting -> noise and blur -> enlargement ->
tone and colour, each stage switchable and recorded.

The faces are not restored here: the library's restore service runs this first, then
regenerates each face from the *repaired* photo and pastes it back into it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import DetectedFace
from gen2res_desktop.core.photo import denoise, inpaint, tone, upscale
from gen2res_desktop.core.photo.damage_finding import find_damage
from gen2res_desktop.core.photo.face_safe import protected_region
from gen2res_desktop.core.photo.learned import ModelSource, PhotoModel
from gen2res_desktop.core.photo.settings import AUTO, OFF, OPENCV, RepairSettings
from gen2res_desktop.core.progress import (
    CancelToken,
    Progress,
    ProgressCallback,
    no_progress,
    stage_progress,
)

# Smallest side a photo needs to be repaired (the filters look 7-15 px around a pixel),
# and the longest strip still treated as a photo rather than, say, a scanned film edge.
MIN_SIDE = 16
MAX_ASPECT = 20


@dataclass
class StageRecord:
    """One stage as it ran: what did the work (``opencv``, a model's name, ``your map``)."""

    stage: str
    method: str
    model_sha256: str | None = None
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)


@dataclass
class RepairResult:
    image: np.ndarray  # uint8 RGB, ``scale`` times the input's size
    damage_map: np.ndarray | None  # uint8, input size; None when the stage was off
    stages: list[StageRecord]
    scale: int
    tint: tone.Tint | None  # set for a photo kept monochrome; apply it after the faces
    # facial features the automatic map was kept off, polygons of [x, y] input pixels
    protected: list[list[list[int]]] = field(default_factory=list)
    # how far each pixel was moved to its fill (1 wholly); None: every mark filled whole
    fill_weight: np.ndarray | None = None

    def map_levels(self) -> np.ndarray | None:
        """The damage map with how far each mark was filled (:func:`.inpaint.fill_levels`):
        what the compare view shows, a mark filled only part way fainter."""
        if self.damage_map is None:
            return None
        return inpaint.fill_levels(self.damage_map, self.fill_weight)

    def record(self) -> dict:
        """What the library stores with a restoration, so the result can be reproduced."""
        return {
            "scale": self.scale,
            "monochrome": self.tint is not None,
            "stages": [asdict(s) for s in self.stages],
            "protected": self.protected,
        }

    def finish(self, image: np.ndarray) -> np.ndarray:
        """``image`` (the repaired photo with its faces pasted in) kept monochrome if the
        photo is: the generated faces must not bring colour into a black-and-white print."""
        return image if self.tint is None else tone.apply_tint(image, self.tint)


def check_photo(rgb: np.ndarray, name: str = "The photo") -> None:
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise Gen2ResError(
            f"{name} is only {w} x {h} pixels; a photo needs at least {MIN_SIDE} pixels on "
            "each side to be repaired."
        )
    if max(h, w) > MAX_ASPECT * min(h, w):
        raise Gen2ResError(
            f"{name} is {w} x {h} pixels, too long and thin to be a photo (at most "
            f"{MAX_ASPECT}:1). Crop it to the picture and try again."
        )


def check_damage_map(mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The map as a clean uint8 0/255 array of the photo's size, or a Gen2ResError."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.shape != rgb.shape[:2]:
        raise Gen2ResError(
            f"The damage map is {mask.shape[1]} x {mask.shape[0]} pixels but the photo is "
            f"{rgb.shape[1]} x {rgb.shape[0]}; it must be painted on this photo."
        )
    return np.where(mask > 127, 255, 0).astype(np.uint8)


def _model(models: ModelSource | None, name: str, tasks: tuple[str, ...], what: str) -> PhotoModel:
    if models is None:
        raise Gen2ResError(f"No photo model named '{name}' is installed.")
    model = models.load(name)
    if model.task not in tasks:
        raise Gen2ResError(
            f"The photo model '{name}' is for {model.task}, not for {what}; choose another."
        )
    return model


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    shrink = rgb.shape[1] > width
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4
    return cv2.resize(rgb, (width, height), interpolation=interp)


def repair_photo(
    rgb: np.ndarray,
    settings: RepairSettings,
    *,
    damage_map: np.ndarray | None = None,
    models: ModelSource | None = None,
    faces: Sequence[DetectedFace] | None = None,
    regenerate: Collection[int] = (),
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RepairResult:
    """Run the repair stages on ``rgb`` (uint8 H x W x 3); ``damage_map`` (the user's own,
    same size) replaces the detector. The input is not modified.

    The automatic damage map is kept off the features of ``faces`` (in ``rgb``'s pixels;
    None: found here) and out of the faces in ``regenerate`` (their indices), which the
    face stage regenerates (:mod:`.face_safe`). Its dark marks that the built-in detector
    doubts are filled only part way (:func:`.inpaint.soften_unsure`)."""
    cancel = cancel or CancelToken()
    rgb = np.ascontiguousarray(rgb)
    check_photo(rgb)
    if damage_map is not None:
        damage_map = check_damage_map(damage_map, rgb)
    h, w = rgb.shape[:2]
    factor = settings.upscale
    if factor > 1:
        upscale.check_upscaled_size(w, h, factor)
    tint = None if settings.monochrome == "colour" else tone.monochrome_tint(rgb)
    if tint is not None and settings.monochrome == "neutral":
        tint = tone.Tint.neutral()
    stages: list[StageRecord] = []
    out = rgb
    used_map = None
    certainty = None  # how sure the automatic detector was of each mark
    fill_weight = None  # how far each pixel was moved to its fill, where not wholly
    protected: list[list[list[int]]] = []

    def begin(stage: str, message: str) -> float:
        cancel.check()
        progress(Progress(stage, 0, 1, message))
        return time.perf_counter()

    def done(record: StageRecord, started: float) -> None:
        record.seconds = round(time.perf_counter() - started, 3)
        stages.append(record)
        progress(Progress(record.stage, 1, 1, f"{record.stage}: done"))

    if settings.scratches or damage_map is not None:
        t = begin("damage", "Finding scratches and dust")
        if damage_map is None:
            finding = find_damage(
                out,
                detector=settings.damage_detector,
                sensitivity=settings.scratch_sensitivity,
                faces=faces,
                regenerate=regenerate,
                models=models,
                progress=progress,
                cancel=cancel,
            )
            used_map, protected, certainty = finding.mask, finding.protected, finding.certainty
            record = StageRecord("damage", finding.method, finding.model_sha256)
            record.detail["protected_pixels"] = finding.protected_pixels
            if finding.torn_pixels:
                record.detail["torn_fraction"] = round(finding.torn_pixels / used_map.size, 5)
        else:
            used_map = damage_map
            record = StageRecord("damage", "your map")
        record.detail["damaged_fraction"] = round(float((used_map > 0).mean()), 5)
        done(record, t)
        if settings.inpaint != OFF and used_map.any():
            t = begin("inpaint", "Filling scratches and dust")
            # a mark's soft rim is damage too, and neither a painted map nor the built-in
            # detector's (tight round a mark: a speck kept a bright ring) quite covers it. The
            # fill takes a pixel more, but never into a protected feature. On the dev split
            # it cost 0.06 dB overall and 1 dB on undamaged photos (their false marks grow)
            fill_map = inpaint.grow(used_map)
            fill_map[protected_region(protected, fill_map.shape)] = 0
            name = settings.inpaint
            if name == AUTO:
                found = models.installed("inpaint") if models is not None else []
                name = found[0] if found else OPENCV
            if name == OPENCV:
                # thin damage is diffused over (Telea), wide holes get texture copied in
                out = inpaint.inpaint_builtin(
                    out,
                    fill_map,
                    grow_pixels=0,
                    progress=stage_progress(progress, "inpaint"),
                    cancel=cancel,
                )
                record = StageRecord("inpaint", OPENCV)
            else:
                model = _model(models, name, ("inpaint",), "filling scratches")
                out = model.run(
                    out,
                    mask=fill_map,
                    progress=stage_progress(progress, "inpaint"),
                    cancel=cancel,
                )
                record = StageRecord("inpaint", model.name, model.sha256)
            if certainty is not None:
                # a doubtful dark mark is only partly filled; a painted map is always whole
                out, fill_weight = inpaint.soften_unsure(rgb, out, used_map, certainty)
                if fill_weight is not None:
                    partly = np.count_nonzero((used_map > 0) & (fill_weight < 1.0))
                    record.detail["partly_filled_fraction"] = round(partly / used_map.size, 5)
            done(record, t)

    if settings.denoise != OFF or settings.sharpen > 0:
        t = begin("denoise", "Removing grain and noise")
        if settings.denoise in (OPENCV, OFF):
            strength = settings.denoise_strength if settings.denoise == OPENCV else 0.0
            out, h_used = denoise.denoise_opencv(
                out,
                strength,
                monochrome=tint is not None,
                sharpen_amount=settings.sharpen,
                progress=stage_progress(progress, "denoise"),
                cancel=cancel,
            )
            record = StageRecord(
                "denoise",
                settings.denoise,
                detail={"filter_h": round(h_used, 2), "sharpen": settings.sharpen},
            )
        else:
            model = _model(models, settings.denoise, ("denoise", "jpeg", "upscale"), "noise")
            cleaned = model.run(
                out,
                strength=settings.denoise_strength,
                progress=stage_progress(progress, "denoise"),
                cancel=cancel,
            )
            # an enlarging model used for its clean-up comes back to the photo's size
            out = _resize(cleaned, w, h)
            out = denoise.sharpen(out, settings.sharpen)
            record = StageRecord(
                "denoise", model.name, model.sha256, detail={"sharpen": settings.sharpen}
            )
        done(record, t)

    if factor > 1:
        t = begin("upscale", f"Enlarging {factor} times")
        if settings.upscale_model:
            model = _model(models, settings.upscale_model, ("upscale",), "enlarging")
            big = model.run(out, progress=stage_progress(progress, "upscale"), cancel=cancel)
            out = _resize(big, w * factor, h * factor)
            record = StageRecord("upscale", model.name, model.sha256, detail={"factor": factor})
        else:
            out = upscale.upscale_opencv(out, factor)
            record = StageRecord("upscale", OPENCV, detail={"factor": factor})
        done(record, t)

    if settings.colour:
        t = begin("colour", "Correcting fading and colour")
        before = tone.fading(out)
        # monochrome or colour as decided on the input: the grain filter lowers a colour
        # photo's chroma noise, and the decision must not flip between the stages
        out = tone.correct_tone(
            out,
            settings.colour_strength,
            monochrome=settings.monochrome,
            tint=tint,
        )
        done(StageRecord("colour", OPENCV, detail={"fading": round(before, 3)}), t)

    result = RepairResult(out, used_map, stages, factor, tint, protected, fill_weight)
    result.image = result.finish(out) if tint is not None and stages else out
    return result
