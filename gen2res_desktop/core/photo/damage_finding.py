"""The automatic damage map as the repair, the damage-map editor and ``gen2res damage`` all
get it: the chosen detector (a learned damage model when one is installed, else the
built-in one), with the torn corners neither detector sees (:mod:`.missing_paper`), then
the face guard (:mod:`.face_safe`).

The built-in detector is the small network of :mod:`.damage_net` that ships with the app.
It replaced hand-made line and speck tests, which found 13% of the damage (IoU) on the
benchmark's test split against its 33%: see ``benchmarks/results/oldphoto_notes.md``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import DetectedFace
from gen2res_desktop.core.photo.face_safe import face_guard
from gen2res_desktop.core.photo.learned import ModelSource
from gen2res_desktop.core.photo.missing_paper import missing_paper
from gen2res_desktop.core.photo.settings import AUTO, OPENCV
from gen2res_desktop.core.progress import (
    CancelToken,
    Progress,
    ProgressCallback,
    no_progress,
    stage_progress,
)


@dataclass
class DamageFinding:
    """An automatic damage map and how it was made."""

    mask: np.ndarray  # uint8 H x W, 255 = damaged
    method: str  # "opencv" or the damage model's name
    model_sha256: str | None = None
    # the facial features kept out of the map, as polygons of [x, y] photo pixels
    protected: list[list[list[int]]] = field(default_factory=list)
    protected_pixels: int = 0  # marks the face guard took out
    torn_pixels: int = 0  # where the paper is gone (a torn corner or a bite out of an edge)
    faces: int = 0  # faces the guard was built from
    # float32 H x W, how sure the detector is of each mark (1 = sure, and off the marks);
    # None where it says nothing of it (a learned model's map is sure throughout)
    certainty: np.ndarray | None = None


def installed_detector(models: ModelSource | None, detector: str) -> str:
    """What ``detector`` ("auto", "opencv" or a model's name) runs with these models."""
    if detector == AUTO:
        found = models.installed("damage") if models is not None else []
        return found[0] if found else OPENCV
    return detector


def builtin_damage(
    rgb: np.ndarray,
    *,
    sensitivity: float = 0.5,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The built-in detector's map of ``rgb`` (uint8 H x W, 255 = damaged)."""
    return builtin_damage_and_certainty(
        rgb, sensitivity=sensitivity, progress=progress, cancel=cancel
    )[0]


def builtin_damage_and_certainty(
    rgb: np.ndarray,
    *,
    sensitivity: float = 0.5,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The built-in detector's map of ``rgb`` and how sure it is of each mark
    (:func:`.damage_net.certainty`)."""
    from gen2res_desktop.core.photo import damage_net  # torch: only when damage is sought

    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    p = damage_net.probability(rgb, progress=progress, cancel=cancel)
    marks = damage_net.damaged(p, sensitivity)
    mask = np.where(marks, 255, 0).astype(np.uint8)
    return mask, damage_net.certainty(p, marks, sensitivity)


def find_faces_for_guard(rgb: np.ndarray) -> list[DetectedFace]:
    """Faces to protect when the caller has none at hand (dlib's HOG detector)."""
    from gen2res_desktop.core.faces import detect_faces

    try:
        return detect_faces(rgb, detector="hog", with_descriptors=False)
    except Gen2ResError:
        return []


def find_damage(
    rgb: np.ndarray,
    *,
    detector: str = AUTO,
    sensitivity: float = 0.5,
    faces: Sequence[DetectedFace] | None = None,
    regenerate: Collection[int] = (),
    models: ModelSource | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> DamageFinding:
    """The face-safe automatic damage map of ``rgb`` (uint8 H x W x 3).

    ``faces`` are the photo's faces in its pixels (None: found here); ``regenerate`` the
    indices of those the face stage will regenerate, whose inside is left to it."""
    cancel = cancel or CancelToken()
    name = installed_detector(models, detector)
    if name == OPENCV:
        mask, sure = builtin_damage_and_certainty(
            rgb, sensitivity=sensitivity, progress=stage_progress(progress, "damage"), cancel=cancel
        )
        finding = DamageFinding(mask, OPENCV, certainty=sure)
    else:
        if models is None:
            raise Gen2ResError(f"No photo model named '{name}' is installed.")
        model = models.load(name)
        if model.task != "damage":
            raise Gen2ResError(
                f"The photo model '{name}' is for {model.task}, not for finding damage; "
                "choose another."
            )
        mask = np.asarray(
            model.run(rgb, progress=stage_progress(progress, "damage"), cancel=cancel)
        )
        if mask.shape != rgb.shape[:2]:
            raise Gen2ResError(f"The damage model '{name}' gave a map of the wrong size.")
        mask = np.where(mask > 127, 255, 0).astype(np.uint8)
        finding = DamageFinding(mask, model.name, model.sha256)
    cancel.check()
    progress(Progress("damage", 0, 1, "Looking for torn corners"))
    torn = missing_paper(rgb)
    finding.mask[torn] = 255
    if finding.certainty is not None:
        finding.certainty[torn] = 1.0  # the paper is gone: no doubt there
    finding.torn_pixels = int(np.count_nonzero(torn))
    cancel.check()
    progress(Progress("damage", 0, 1, "Keeping faces' features out of the damage map"))
    if faces is None:
        faces = find_faces_for_guard(rgb)
    guard = face_guard(rgb.shape[:2], faces, regenerate)
    if guard is not None:
        finding.mask, finding.protected_pixels = guard.apply(finding.mask, rgb)
        finding.protected = guard.outlines
        finding.faces = len(faces)
    return finding
