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


@dataclass(frozen=True)
class Restoration:
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
    photos_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.missing_files or self.orphan_files or self.hash_mismatches or self.database_errors
        )
