"""Faces of library photos: detection stored with descriptors, and subject suggestions.

A face is suggested for the subject whose reference faces lie nearest in dlib's
descriptor space, when that distance is under 0.6 (dlib's same-person threshold; see
``core.faces.identity.suggest_subject``). The user confirms suggestions.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from gen2res_desktop.core.faces import (
    DEFAULT_MAX_SIDE,
    DetectedFace,
    detect_faces,
    suggest_subject,
)
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.library import named_faces
from gen2res_desktop.library.models import Face, FaceData
from gen2res_desktop.library.store import Library


def stored_detected_faces(faces: list[Face]) -> list[DetectedFace]:
    """The library's stored faces as the detector gives them (box, landmarks, descriptor,
    and the search that found them where known)."""
    return [
        DetectedFace(
            f.box, np.asarray(f.landmarks, dtype=float), 0.0, f.descriptor, f.found_by or "hog"
        )
        for f in faces
    ]


def subject_references(lib: Library) -> dict[str, list[np.ndarray]]:
    """Reference descriptors per person subject: the faces confirmed as that subject, and
    the face of each of its reference photos that shows exactly one face."""
    refs: dict[str, list[np.ndarray]] = {}
    for subject in lib.list_subjects():
        if subject.kind != "person":
            continue
        descs = [
            f.descriptor for f in lib.list_faces(subject=subject.name) if f.descriptor is not None
        ]
        for photo in lib.list_photos(subject=subject.name, role="reference"):
            faces = lib.list_faces(photo_id=photo.id)
            if (
                len(faces) == 1
                and faces[0].confirmed_subject is None
                and faces[0].descriptor is not None
            ):
                descs.append(faces[0].descriptor)
        refs[subject.name] = descs
    return refs


def detect_library_photo(
    lib: Library, photo_id: int, *, detector: str = "hog", max_side: int = DEFAULT_MAX_SIDE
):
    """Detect the faces of a library photo, store them, and store a suggested subject for
    each. Returns (photo, image, faces, stored faces) with both face lists in one order."""
    photo = lib.get_photo(photo_id)
    image = lib.load_photo_rgb(photo)
    faces = detect_faces(image, detector=detector, with_descriptors=True, max_side=max_side)
    # faces other photo managers named that the detector missed (issue 25)
    faces += named_faces.missed_faces(lib, photo.id, image, faces)
    stored = lib.replace_faces(
        photo.id,
        [
            FaceData(
                f.box, [(float(x), float(y)) for x, y in f.landmarks], f.descriptor, f.found_by
            )
            for f in faces
        ],
    )
    refs = subject_references(lib)
    for face, record in zip(faces, stored, strict=True):
        hit = suggest_subject(face.descriptor, refs)
        lib.set_face_suggestion(record.id, hit[0] if hit else None, hit[1] if hit else None)
    named_faces.name_faces(lib, photo.id)  # a face the files name after a subject is theirs
    return photo, image, faces, lib.list_faces(photo_id=photo.id)


def photo_faces(
    lib: Library, photo_id: int, *, detector: str = "hog"
) -> tuple[Image.Image, list[Face]]:
    """The photo's pixels and its faces: the stored ones, detected (and stored) only when the
    photo has none yet, so restoring or training does not redo the detection each time."""
    faces = lib.list_faces(photo_id=photo_id)
    if faces:
        return lib.load_photo_rgb(photo_id), faces
    _, image, _, faces = detect_library_photo(lib, photo_id, detector=detector)
    return image, faces


def resuggest_faces(
    lib: Library,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> int:
    """Suggest again whose each unconfirmed face is, against the subjects' references as
    they are now (after the user tagged or confirmed more); the number of faces whose
    suggestion changed.

    A face on a reference photo that shows only that face is the subject's own: it is
    suggested for the subject rather than left as "Who is this?".
    """
    cancel = cancel or CancelToken()
    refs = subject_references(lib)
    own: dict[int, str] = {}
    for subject in lib.list_subjects():
        for photo in lib.list_photos(subject=subject.name, role="reference"):
            own.setdefault(photo.id, subject.name)
    faces = [f for f in lib.list_faces() if f.confirmed_subject is None]
    per_photo: dict[int, int] = {}
    for f in faces:
        per_photo[f.photo_id] = per_photo.get(f.photo_id, 0) + 1
    changed = 0
    for i, face in enumerate(faces):
        cancel.check()
        if face.photo_id in own and per_photo[face.photo_id] == 1:
            hit: tuple[str, float] | None = (own[face.photo_id], 0.0)
        elif face.descriptor is not None:
            hit = suggest_subject(face.descriptor, refs)
        else:
            continue
        name, distance = hit if hit else (None, None)
        if name != face.suggested_subject:
            lib.set_face_suggestion(face.id, name, distance)
            changed += 1
        if (i + 1) % 50 == 0 or i + 1 == len(faces):
            progress(Progress("faces", i + 1, len(faces), "Updating face suggestions"))
    return changed
