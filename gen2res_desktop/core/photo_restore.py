"""Whole-photo restoration: find the faces (or the pet's square), restore each aligned crop,
paste every result back into the full-resolution photo.

The diffusion engine is reached only through ``restore_fn(crop, index) -> crop``, so this
module works with any restorer (adapter per subject, single-photo mode, a test double).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import (
    AlignedFace,
    DetectedFace,
    align_face,
    describe_face,
    detect_faces,
    geometry,
    identity_similarity,
    paste_back,
    square_crop_region,
)
from gen2res_desktop.core.faces.identity import (
    looks_less_alike,
    subject_identity,
    under_same_person_line,
)
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

SubjectKind = Literal["person", "cat", "dog"]

# Smallest face restored, as the side of the detector's box in photo pixels (the box spans
# about brows to chin, ~2.2 eye distances). A 32 px face fills a 256 px crop only after
# 4.5x enlargement, already mostly invention; smaller ones would be guessed, not restored.
MIN_FACE_PIXELS = 32
# How far (in face-box sides) the landmarks may lie outside the photo before the face
# counts as cut by the border: the jaw line of a face touching the edge may graze it.
_BORDER_TOLERANCE = 0.02

CLI_CROP_HINT = "--crop X,Y,SIZE (left, top and side of the square, in pixels)"


@dataclass
class Region:
    """One part of the photo to restore: an aligned face, or a square the user gave."""

    index: int
    box: tuple[int, int, int, int]
    aligned: AlignedFace
    face: DetectedFace | None = None


@dataclass
class SkippedFace:
    index: int
    box: tuple[int, int, int, int]
    reason: str


@dataclass
class RegionScan:
    """The restorable regions of a photo and the faces left out, each with its reason."""

    regions: list[Region] = field(default_factory=list)
    skipped: list[SkippedFace] = field(default_factory=list)


@dataclass
class FaceOutcome:
    """The likeness scores of one restored region, each 0..1 with 0.5 at dlib's same-person
    line (``core.faces.identity``):

    - ``identity``: how much the restored face looks like its subject, against the
      subject's reference faces (:func:`subject_identity`); None when the region was given
      no references (no subject, a subject without reference faces yet).
    - ``identity_before``: the same score for the damaged input face, i.e. the aligned crop
      handed to the restorer: cut from the photo after the print repair (scratches filled,
      grain reduced, colour corrected, maybe enlarged) but before the face was regenerated.
      None when ``identity`` is.
    - ``faithfulness``: the similarity of the restored face to that damaged input face. It
      says how much the face was changed; doing nothing scores 1.

    All three are None for a pet or a plain square (no face landmarks to describe).
    """

    index: int
    box: tuple[int, int, int, int]
    identity: float | None = None
    identity_before: float | None = None
    faithfulness: float | None = None

    @property
    def looks_less_alike(self) -> bool:
        """The restore lowered the identity score (see ``looks_less_alike``)."""
        return looks_less_alike(self.identity, self.identity_before)

    @property
    def under_same_person_line(self) -> bool:
        return under_same_person_line(self.identity)


@dataclass
class PhotoRestoreResult:
    image: Image.Image
    faces: list[FaceOutcome]


def face_problem(
    face: DetectedFace, image_size: tuple[int, int], min_face: int = MIN_FACE_PIXELS
) -> str | None:
    """Why ``face`` cannot be restored (a sentence), or None when it can.

    ``image_size`` is the photo's (width, height).
    """
    w, h = image_size
    side = min(face.box[2], face.box[3])
    x, y = face.box[0], face.box[1]
    if side < min_face:
        return (
            f"the face at ({x}, {y}) is {side} px wide; faces under {min_face} px are too "
            "small to restore. Scan the photo at a higher resolution"
        )
    tol = _BORDER_TOLERANCE * side
    lm = face.landmarks
    if (
        lm[:, 0].min() < -tol
        or lm[:, 1].min() < -tol
        or lm[:, 0].max() > w - 1 + tol
        or lm[:, 1].max() > h - 1 + tol
    ):
        return (
            f"the face at ({x}, {y}) is cut by the photo's border and cannot be aligned; "
            "a crop box around the part that shows restores it"
        )
    return None


def scan_regions(
    image: Image.Image,
    *,
    kind: SubjectKind,
    resolution: int,
    crop: tuple[int, int, int] | None = None,
    detector: str = "hog",
    min_face: int = MIN_FACE_PIXELS,
    faces: Sequence[DetectedFace] | None = None,
    name: str = "the photo",
) -> RegionScan:
    """Regions to restore in ``image``, without raising when there are none.

    ``crop`` (x, y, size) restores that square as given, for any kind. Otherwise a person's
    faces are detected (or taken from ``faces``, e.g. stored in the library) and aligned;
    a cat or dog needs ``crop``, since no pet detector ships offline.
    """
    rgb = geometry.as_rgb_array(image)
    if crop is not None:
        x, y, size = crop
        aligned = square_crop_region(rgb, x, y, size, resolution)
        return RegionScan(regions=[Region(0, (x, y, size, size), aligned)])
    if kind != "person":
        raise Gen2ResError(
            f"{name}: there is no {kind} detector available offline.",
            app=f"Draw a crop box around the {kind}'s head (Photos → Set crop box…).",
            cli=f"Give the square around the {kind}'s head with {CLI_CROP_HINT}.",
        )
    if faces is None:
        faces = detect_faces(rgb, detector=detector, with_descriptors=False)
    scan = RegionScan()
    size = (rgb.shape[1], rgb.shape[0])
    for i, face in enumerate(faces):
        problem = face_problem(face, size, min_face)
        if problem:
            scan.skipped.append(SkippedFace(i, face.box, problem))
        else:
            scan.regions.append(Region(i, face.box, align_face(rgb, face, resolution), face))
    return scan


def find_regions(
    image: Image.Image,
    *,
    kind: SubjectKind,
    resolution: int,
    crop: tuple[int, int, int] | None = None,
    detector: str = "hog",
    min_face: int = MIN_FACE_PIXELS,
    faces: Sequence[DetectedFace] | None = None,
    name: str = "the photo",
) -> list[Region]:
    """Like :func:`scan_regions`, but raises Gen2ResError, saying what to do, when nothing
    in the photo can be restored (no face, or every face too small or cut by the border).
    Faces skipped beside restorable ones are left out silently: use scan_regions to
    report them."""
    scan = scan_regions(
        image,
        kind=kind,
        resolution=resolution,
        crop=crop,
        detector=detector,
        min_face=min_face,
        faces=faces,
        name=name,
    )
    if scan.regions:
        return scan.regions
    if not scan.skipped:
        raise Gen2ResError(
            f"No face found in {name}.",
            app="If a face is there but small, turned away or damaged, draw a crop box "
            "around it (Photos → Set crop box…) and restore again.",
            cli=f"Give the square to restore with {CLI_CROP_HINT}: for a pet photo (with a cat "
            "or dog subject), or for a face that is small, turned away or damaged "
            "(--detector cnn may also find such a face).",
        )
    if len(scan.skipped) == 1:
        message = f"Nothing to restore in {name}: {scan.skipped[0].reason}."
    else:
        reasons = "; ".join(f"face {s.index + 1}: {s.reason}" for s in scan.skipped)
        message = f"Nothing to restore in {name}. {reasons}."
    raise Gen2ResError(
        message,
        app="To restore a face anyway, draw a crop box around it (Photos → Set crop box…).",
        cli=f"To restore a face anyway, give its square with {CLI_CROP_HINT}.",
    )


def restore_photo(
    image: Image.Image,
    regions: Sequence[Region],
    restore_fn: Callable[[Image.Image, int], Image.Image],
    *,
    references: Mapping[int, Sequence[np.ndarray]] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> PhotoRestoreResult:
    """Restore every region with ``restore_fn(aligned_crop, region.index)`` and paste the
    results into a full-resolution copy of ``image``; the input is not modified.

    ``references`` maps a region's index to its subject's reference descriptors; those
    regions get ``identity`` and ``identity_before`` scores (see :class:`FaceOutcome`)."""
    if not regions:
        raise Gen2ResError("Nothing to restore: no face or square was given.")
    references = references or {}
    photo = geometry.as_rgb_array(image).copy()
    outcomes: list[FaceOutcome] = []
    total = len(regions)
    for n, region in enumerate(regions):
        if cancel is not None:
            cancel.check()
        progress(Progress("faces", n, total, f"Restoring face {n + 1} of {total}"))
        restored = restore_fn(region.aligned.crop, region.index)
        if cancel is not None:
            cancel.check()
        photo = paste_back(photo, restored, region.aligned)
        outcomes.append(_score(region, restored, references.get(region.index)))
    progress(Progress("faces", total, total, "Faces restored"))
    return PhotoRestoreResult(image=Image.fromarray(photo, "RGB"), faces=outcomes)


def _score(
    region: Region, restored: Image.Image, references: Sequence[np.ndarray] | None
) -> FaceOutcome:
    """The scores of one region (see :class:`FaceOutcome`).

    Both descriptors are taken at the same place in the aligned crop (the detection box
    carried into it), before and after restoring, so faithfulness measures only the
    restoration. The restored face is described as ``restore_fn`` returned it, before it is
    blended into the photo.
    """
    if region.face is None:
        return FaceOutcome(region.index, region.box)
    x, y, w, h = region.box
    m = region.aligned.matrix
    centre = geometry.apply(m, np.array([x + w / 2 - 0.5, y + h / 2 - 0.5]))[0]
    side = max(w, h) * geometry.scale_of(m)
    box = (centre[0] - side / 2 + 0.5, centre[1] - side / 2 + 0.5, side, side)
    before = describe_face(region.aligned.crop, box).descriptor
    after = describe_face(restored, box).descriptor
    refs = references or ()
    return FaceOutcome(
        region.index,
        region.box,
        identity=subject_identity(after, refs),
        identity_before=subject_identity(before, refs),
        faithfulness=identity_similarity(before, after),
    )
