"""Plain records handed out by the library; none of them holds a database handle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUBJECT_KINDS = ("person", "cat", "dog")
ROLES = ("reference", "restore")
# The prior a new subject uses unless told otherwise.
DEFAULT_PRIOR = {"person": "face", "cat": "cat", "dog": "dog"}
JOB_STATES = ("running", "done", "failed", "cancelled", "interrupted")
ADAPTER_STATUSES = ("training", "ready", "cancelled", "failed", "interrupted", "superseded")
DESCRIPTOR_SIZE = 128


@dataclass(frozen=True)
class Photo:
    id: int
    hash: str  # sha256 of the original bytes, also the stored file's name
    file: str  # relative to the library folder
    original_name: str
    original_path: str
    imported: str
    size: int
    format: str
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    mode: str  # the original's pixel mode (CMYK, I;16, P, RGBA, L, RGB...)
    taken: str | None
    exif: dict = field(default_factory=dict)
    # when its faces were last searched for (None: never, so "no face" is not known yet)
    faces_searched: str | None = None


@dataclass(frozen=True)
class Subject:
    id: int
    name: str
    kind: str
    prior: str
    created: str
    reference_count: int = 0
    restore_count: int = 0
    adapter_state: str = "none"  # none | training | ready | outdated


@dataclass(frozen=True)
class PhotoLink:
    photo_id: int
    subject_id: int
    subject: str
    role: str


@dataclass(frozen=True)
class FaceData:
    """A detected face as the faces engine hands it over (pixel coordinates of the oriented photo)."""

    box: tuple[int, int, int, int]  # x, y, w, h
    landmarks: Sequence[tuple[float, float]] = ()
    descriptor: np.ndarray | Sequence[float] | None = None
    found_by: str | None = None  # core.faces.DetectedFace.found_by (None: not known)


@dataclass(frozen=True)
class Face:
    id: int
    photo_id: int
    box: tuple[int, int, int, int]
    landmarks: list[tuple[float, float]]
    descriptor: np.ndarray | None
    suggested_subject: str | None
    suggested_distance: float | None
    confirmed_subject: str | None
    found_by: str | None = None  # which search found it (None: stored before this was kept)

    @property
    def second_pass(self) -> str | None:
        """How a second search found it, in words (None: the first search, or not known)."""
        return second_pass_words(self.found_by)


# core.faces.detect_faces's found_by for the searches it makes only when the first found no
# face on the photo, as the details and the command line say them (repeated here so the
# records need none of the face engine's imports; tests/core/test_faces_faded.py checks
# the names still match)
SECOND_PASS_WORDS = {
    "hog, enhanced": "found on a brightened copy of this faded print",
    "cnn, enhanced": "found by the slower second search, on a brightened copy of this faded print",
}


def second_pass_words(found_by: str | None) -> str | None:
    return SECOND_PASS_WORDS.get(found_by) if found_by else None


@dataclass(frozen=True)
class AdapterRecord:
    id: int
    subject_id: int
    subject: str
    path: Path
    prior_name: str
    prior_hash: str
    settings: dict
    steps_done: int
    status: str
    image_hashes: list[str]
    job_id: int | None
    created: str
    updated: str


# identity_similarity at dlib's same-person distance, as core.faces.identity's
# SAME_PERSON_SIMILARITY; repeated so the records need none of the face engine's imports
SAME_PERSON_SIMILARITY = 0.5


@dataclass(frozen=True)
class FaceScores:
    """The likeness scores of one restored face, as recorded with its restoration (each
    0..1, 0.5 at dlib's same-person line; see core.photo_restore.FaceOutcome).

    ``identity``: the restored face against the subject's reference faces;
    ``identity_before``: the damaged input face against them; ``faithfulness``: the
    restored face against the damaged one. ``references``: how many reference faces the
    subject had (0: none yet; None: no person subject). ``legacy``: recorded before identity
    against the subject existed, when the only number kept was the faithfulness.
    """

    number: int  # the face's number in the photo, from 1, as the restore reported it
    subject: str | None = None
    identity: float | None = None
    identity_before: float | None = None
    faithfulness: float | None = None
    references: int | None = None
    legacy: bool = False

    @property
    def looks_less_alike(self) -> bool:
        """The restore lowered the identity score, at the two decimals shown (the rule of
        core.faces.identity.looks_less_alike)."""
        if self.identity is None or self.identity_before is None:
            return False
        return round(self.identity, 2) < round(self.identity_before, 2)

    @property
    def under_same_person_line(self) -> bool:
        return self.identity is not None and round(self.identity, 2) < SAME_PERSON_SIMILARITY


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _score(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def recorded_face_scores(
    settings: dict, identity_scores: Sequence[float] | None
) -> list[FaceScores]:
    """The per-face scores of a restoration, from its settings' ``faces`` list.

    A restoration whose faces carry no ``faithfulness`` key is legacy: its
    ``identity_scores`` column held the similarity of each face before and after restoring,
    which is returned as faithfulness (never as identity).
    """
    faces = settings.get("faces") if isinstance(settings, dict) else None
    faces = [f for f in faces if isinstance(f, dict)] if isinstance(faces, list) else []
    if any("faithfulness" in f for f in faces):
        out = []
        for i, f in enumerate(faces):
            number = f.get("index")
            refs = f.get("references")
            out.append(
                FaceScores(
                    number=number if isinstance(number, int) else i + 1,
                    subject=_text(f.get("subject")),
                    identity=_score(f.get("identity")),
                    identity_before=_score(f.get("identity_before")),
                    faithfulness=_score(f.get("faithfulness")),
                    references=refs if isinstance(refs, int) else None,
                )
            )
        return out
    scores = list(identity_scores or [])
    # pets had no score, so the scores pair with the faces only when the counts agree
    paired = len(faces) == len(scores)
    return [
        FaceScores(
            number=i + 1,
            subject=_text(faces[i].get("subject")) if paired else None,
            faithfulness=_score(s),
            legacy=True,
        )
        for i, s in enumerate(scores)
    ]


@dataclass(frozen=True)
class Restoration:
    """``identity_scores``: the identity score (against the subject's reference faces) of
    each restored face that has one, in face order; None when no face has one (no person
    subject, or no reference faces yet). The full per-face record, faithfulness included,
    is in ``settings["faces"]``: see :attr:`face_scores`. Restorations made before identity
    against the subject existed kept the faithfulness here instead (read them through
    :attr:`face_scores`, which knows)."""

    id: int
    photo_id: int
    subject_id: int | None
    subject: str | None
    adapter_id: int | None
    settings: dict
    seed: int
    path: Path
    identity_scores: list[float] | None
    kept: bool | None  # None: not decided yet
    created: str
    damage_map: Path | None = None  # the scratches and dust the repair filled, if any

    @property
    def face_scores(self) -> list[FaceScores]:
        return recorded_face_scores(self.settings, self.identity_scores)


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: str
    progress: int
    total: int
    message: str
    error: str | None
    started: str
    updated: str
    finished: str | None


@dataclass(frozen=True)
class ImportedFile:
    path: Path
    photo_id: int


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


@dataclass
class ImportSummary:
    job_id: int
    total: int = 0
    imported: list[ImportedFile] = field(default_factory=list)
    duplicates: list[ImportedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    # Files in the folders that are not photos (documents, sidecars); not failures.
    ignored: list[SkippedFile] = field(default_factory=list)
    cancelled: bool = False
    # Names other photo managers wrote into the files: named faces per source, and
    # "keywords" for people keywords (library/named_faces.py).
    names_found: dict[str, int] = field(default_factory=dict)

    @property
    def photo_ids(self) -> list[int]:
        """Every photo the batch now stands for, new or already known."""
        return [f.photo_id for f in self.imported + self.duplicates]

    def message(self) -> str:
        done = len(self.imported) + len(self.duplicates) + len(self.skipped)
        text = (
            f"{len(self.imported)} imported, {len(self.duplicates)} already in the library, "
            f"{len(self.skipped)} skipped"
        )
        if self.ignored:
            text += f", {len(self.ignored)} other files ignored"
        if any(self.names_found.values()):
            from gen2res_desktop.core.metadata.regions import found_text

            text += f"; named in the files: {found_text(self.names_found)}"
        if self.cancelled:
            text += (
                f". Cancelled after {done} of {self.total} files; "
                "the photos imported before the cancel were kept"
            )
        return text + "."


@dataclass
class CheckReport:
    missing_files: list[str] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    hash_mismatches: list[str] = field(default_factory=list)
    database_errors: list[str] = field(default_factory=list)
    damaged_files: list[str] = field(default_factory=list)  # present but unusable (adapters)
    photos_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.missing_files
            or self.orphan_files
            or self.hash_mismatches
            or self.database_errors
            or self.damaged_files
        )
