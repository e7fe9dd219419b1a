"""The album store: one SQLite database and the files it points to, in one folder.

Layout of the library folder::

    library.sqlite3            the database (WAL mode, foreign keys on)
    photos/ab/<sha256>.<ext>   imported originals, byte for byte, named by content
    thumbnails/ab/<sha256>.jpg cached previews, longest side 256
    restorations/<photo id>/   restored images (and the damage map each one used)
    masks/<sha256>.png         damage maps the user painted, one per photo
    adapters/subject-<id>.*    per-subject LoRA adapters (and their training checkpoints)
    backups/                   database copies taken before each migration
    locks/                     one lock per running Library with jobs, and the lock
                               every open Library shares (see locks.py)
    priors/                    installed priors (owned by core.priors)

Where each part lives:

- ``database.py``: the connection per thread, the write lock and transactions, the open
  lock, paths inside the folder, temporary files; ``opening.py``: what opening does first
  (a lost album refused, the schema upgraded after a copy, the daily copy);
- ``tables/``: one repository per table family (photos with their thumbnails and damage
  maps, subjects and tags, faces, adapters, restorations, jobs, settings, named regions);
- ``album.py``: the families put together, and what spans them (deleting a photo,
  removing a subject, a subject's face-model state, crash recovery);
- ``importer.py`` and ``integrity.py``: importing photos, and ``library check``.

:class:`Library` is the album with the names the app and the command line call: each
method below hands over to one repository or album operation, turning subject names
into ids on the way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from gen2res_desktop.core.paths import library_home
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress
from gen2res_desktop.library import importer
from gen2res_desktop.library.album import Album
from gen2res_desktop.library.database import sqlite_error
from gen2res_desktop.library.integrity import check_library
from gen2res_desktop.library.models import (
    AdapterRecord,
    CheckReport,
    Face,
    FaceData,
    ImportSummary,
    Job,
    Photo,
    PhotoLink,
    Restoration,
    Subject,
)
from gen2res_desktop.library.opening import open_database
from gen2res_desktop.library.tables.subjects import check_role


class Library(Album):
    """A family's photo library. Use :meth:`open`; close it (or use ``with``) when done."""

    @classmethod
    def open(cls, home: Path | None = None, *, readonly: bool = False) -> Library:
        """Open (creating if needed) the library in ``home`` or the default folder.

        ``readonly``: for commands that only look (lists, checks, export): nothing in the
        library folder is written, so they work on a full disk or a read-only library. A
        library that does not exist yet or needs a schema upgrade is opened normally.
        """
        db = open_database(Path(home) if home is not None else library_home(), readonly=readonly)
        lib = cls(db)
        if db.readonly:
            return lib
        try:
            lib.recover()
        except sqlite3.Error as e:
            lib.close()
            raise sqlite_error(e, lib.home) from e
        except BaseException:
            lib.close()
            raise
        return lib

    @property
    def name(self) -> str:
        return self.home.name

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(self, relative: str) -> Path:
        return self.db.resolve(relative)

    def relative(self, path: Path) -> str:
        return self.db.relative(path)

    def temp_files(self) -> list[Path]:
        return self.db.temp_files()

    def check(
        self,
        *,
        verify_hashes: bool = True,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> CheckReport:
        """Missing files, orphan files, hash mismatches and database damage; see integrity.py."""
        return check_library(self.db, verify_hashes=verify_hashes, progress=progress, cancel=cancel)

    # ------------------------------------------------------------------ jobs

    def start_job(self, kind: str, total: int = 0) -> int:
        return self.jobs.start(kind, total)

    def update_job(
        self, job_id: int, progress: int, total: int | None = None, message: str | None = None
    ) -> None:
        self.jobs.update(job_id, progress, total, message)

    def finish_job(
        self, job_id: int, state: str, error: str | None = None, message: str | None = None
    ) -> None:
        self.jobs.finish(job_id, state, error, message)

    def get_job(self, job_id: int) -> Job:
        return self.jobs.get(job_id)

    def list_jobs(self, limit: int = 100) -> list[Job]:
        return self.jobs.recent(limit)

    # ------------------------------------------------------------------ photos

    def import_paths(
        self,
        paths: Sequence[Path],
        *,
        subject: str | None = None,
        role: str | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> ImportSummary:
        """Copy photos in (files and folders, recursively); see :mod:`library.importer`."""
        return importer.import_paths(
            self, paths, subject=subject, role=role, progress=progress, cancel=cancel
        )

    def list_photos(
        self, subject: Subject | str | None = None, role: str | None = None, unsorted: bool = False
    ) -> list[Photo]:
        """Photos in import order; ``unsorted``: only those not tagged to any subject."""
        if role is not None:
            check_role(role)
        return self.photos.find(self.subjects.optional_id(subject), role, unsorted)

    def get_photo(self, photo_id: int) -> Photo:
        return self.photos.get(photo_id)

    def photo_crop(self, photo_id: int) -> tuple[int, int, int] | None:
        return self.photos.crop(photo_id)

    def set_photo_crop(self, photo_id: int, crop: tuple[int, int, int] | None) -> None:
        self.photos.set_crop(photo_id, crop)

    def photo_damage_map(self, photo_id: int) -> np.ndarray | None:
        return self.photos.damage_map(photo_id)

    def set_photo_damage_map(self, photo_id: int, mask: np.ndarray | None) -> None:
        self.photos.set_damage_map(photo_id, mask)

    def photo_path(self, photo: Photo | int) -> Path:
        return self.photos.path(photo)

    def load_photo_rgb(self, photo: Photo | int) -> Image.Image:
        return self.photos.load_rgb(photo)

    def thumbnail_path(self, photo_id: int) -> Path:
        return self.photos.thumbnail(photo_id)

    # delete_photo: see album.py (the photo's restorations go with it)

    # ------------------------------------------------------------------ subjects and tags

    def add_subject(self, name: str, kind: str, prior: str | None = None) -> Subject:
        return self.subjects.add(name, kind, prior)

    def get_subject(self, name: str) -> Subject:
        return self.subjects.get(name)

    def list_subjects(self) -> list[Subject]:
        return self.subjects.find()

    def rename_subject(self, old: str, new: str) -> Subject:
        return self.subjects.rename(old, new)

    # remove_subject: see album.py (its face models go with it)

    def reference_hashes(self, subject: Subject | str) -> list[str]:
        return self.tags.reference_hashes(self.subjects.id_of(subject))

    def training_alive(self, subject: Subject | str) -> bool:
        return self.adapters.training_alive(self.subjects.id_of(subject))

    def tag(self, photo_ids: Sequence[int], subject: str, role: str) -> None:
        check_role(role)
        subject_id = self.subjects.id_of(subject)
        self.tags.tag(self.photos.check_ids(photo_ids), subject_id, role)

    def untag(self, photo_ids: Sequence[int], subject: str) -> None:
        subject_id = self.subjects.id_of(subject)
        self.tags.untag(self.photos.check_ids(photo_ids), subject_id)

    def photo_subjects(self, photo_id: int) -> list[PhotoLink]:
        return self.tags.of_photo(photo_id)

    def all_links(self) -> dict[int, list[PhotoLink]]:
        return self.tags.by_photo()

    # ------------------------------------------------------------------ faces

    def replace_faces(self, photo_id: int, faces: Sequence[FaceData]) -> list[Face]:
        self.photos.get(photo_id)
        return self.faces.replace(photo_id, faces)

    def list_faces(self, photo_id: int | None = None, subject: str | None = None) -> list[Face]:
        return self.faces.find(photo_id, self.subjects.optional_id(subject))

    def get_face(self, face_id: int) -> Face:
        return self.faces.get(face_id)

    def set_face_suggestion(
        self, face_id: int, subject: str | None, distance: float | None
    ) -> None:
        self.faces.suggest(face_id, self.subjects.optional_id(subject), distance)

    def confirm_face(self, face_id: int, subject: str | None) -> None:
        self.faces.confirm(face_id, self.subjects.optional_id(subject))

    # ------------------------------------------------------------------ adapters

    def adapter_path_for(self, subject: Subject | str) -> Path:
        return self.adapters.path_for(self.subjects.id_of(subject))

    def get_adapter(self, adapter_id: int) -> AdapterRecord:
        return self.adapters.get(adapter_id)

    def record_adapter(
        self,
        subject: Subject | str,
        file: Path,
        prior_hash: str,
        settings: dict,
        steps_done: int,
        status: str,
        image_hashes: Sequence[str],
        *,
        prior_name: str | None = None,
        job_id: int | None = None,
    ) -> AdapterRecord:
        """Record a training run; ``prior_name`` defaults to the subject's prior."""
        subj = subject if isinstance(subject, Subject) else self.subjects.get(subject)
        return self.adapters.record(
            subj.id,
            file,
            prior_name or subj.prior,
            prior_hash,
            settings,
            steps_done,
            status,
            image_hashes,
            job_id,
        )

    def set_adapter_status(
        self, adapter_id: int, status: str, steps_done: int | None = None
    ) -> AdapterRecord:
        return self.adapters.set_status(adapter_id, status, steps_done)

    def latest_adapter(self, subject: Subject | str) -> AdapterRecord | None:
        return self.adapters.latest(self.subjects.id_of(subject))

    def ready_adapter(self, subject: Subject | str) -> AdapterRecord | None:
        return self.adapters.ready(self.subjects.id_of(subject))

    # ------------------------------------------------------------------ restorations

    def restoration_path_for(self, photo_id: int, seed: int) -> Path:
        return self.restorations.path_for(photo_id, seed)

    def add_restoration(
        self,
        photo_id: int,
        subject: Subject | str | None,
        adapter_id: int | None,
        settings: dict,
        seed: int,
        output_file: Path,
        identity_scores: Sequence[float] | None = None,
        damage_map: Path | None = None,
    ) -> Restoration:
        self.photos.get(photo_id)
        if adapter_id is not None:
            self.adapters.get(adapter_id)
        subject_id = self.subjects.optional_id(subject)
        return self.restorations.add(
            photo_id,
            subject_id,
            adapter_id,
            settings,
            seed,
            output_file,
            identity_scores,
            damage_map,
        )

    def get_restoration(self, restoration_id: int) -> Restoration:
        return self.restorations.get(restoration_id)

    def list_restorations(self, photo_id: int | None = None) -> list[Restoration]:
        return self.restorations.find(photo_id)

    def set_restoration_kept(self, restoration_id: int, kept: bool | None) -> None:
        self.restorations.set_kept(restoration_id, kept)

    def update_restoration_settings(
        self, restoration_id: int, change: Callable[[dict], dict]
    ) -> Restoration:
        return self.restorations.update_settings(restoration_id, change)

    def delete_restoration(self, restoration_id: int) -> None:
        self.restorations.delete(restoration_id)

    # ------------------------------------------------------------------ preferences

    def get_setting(self, key: str, default: object = None) -> object:
        return self.settings.get(key, default)

    def set_setting(self, key: str, value: object) -> None:
        self.settings.set(key, value)

    def repair_settings(self) -> RepairSettings:
        return self.settings.repair()

    def set_repair_settings(self, settings: RepairSettings) -> None:
        self.settings.set_repair(settings)
