"""The album: one library database's table families put together, and every operation that
spans more than one of them.

Each repository (``library/tables/``) knows its own tables and files. What needs two
or more is here and nowhere else:

- how a subject's face model stands, from its adapters and its reference photos;
- deleting a photo, with its restorations' files;
- removing a subject, with its face models' files, never while one is training;
- crash recovery when the library is opened: the jobs of dead processes, the photo files
  they were renaming into place, the trainings they left "training", stale temporary files.

``Library`` (``library/store.py``) is the album the app and the command line hold, with
the names they call; the importer and ``library.named_faces`` work on the album itself.
"""

from __future__ import annotations

import contextlib

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import locks
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.tables.adapters import Adapters
from gen2res_desktop.library.tables.faces import Faces
from gen2res_desktop.library.tables.jobs import Jobs
from gen2res_desktop.library.tables.named_regions import NamedRegions
from gen2res_desktop.library.tables.photos import Photos
from gen2res_desktop.library.tables.restorations import Restorations
from gen2res_desktop.library.tables.settings import Settings
from gen2res_desktop.library.tables.subjects import Subjects, Tags


class Album:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.home = db.home
        self.db_path = db.db_path
        self.photos_dir = db.photos_dir
        self.thumbnails_dir = db.thumbnails_dir
        self.restorations_dir = db.restorations_dir
        self.masks_dir = db.masks_dir
        self.adapters_dir = db.adapters_dir
        self.backups_dir = db.backups_dir
        self.locks_dir = db.locks_dir

        self.jobs = Jobs(db)
        self.photos = Photos(db)
        self.tags = Tags(db)
        self.adapters = Adapters(db)
        self.subjects = Subjects(db, adapter_state=self.adapter_state)
        self.faces = Faces(db)
        self.restorations = Restorations(db)
        self.settings = Settings(db)
        self.named_regions = NamedRegions(db)

    def adapter_state(self, subject_id: int) -> str:
        """ "training" while a training runs; "none" without a ready face model; "ready"
        when the newest was trained on exactly the subject's reference photos as they are
        now, "outdated" when references were added or removed since."""
        if self.adapters.training_alive(subject_id):
            return "training"
        trained_on = self.adapters.ready_hashes(subject_id)
        if trained_on is None:
            return "none"
        current = set(self.tags.reference_hashes(subject_id))
        return "ready" if set(trained_on) == current else "outdated"

    def delete_photo(self, photo_id: int) -> None:
        """Remove a photo from the library with its thumbnail, faces, tags and restorations.

        The user's original file outside the library is never touched.
        """
        photo = self.photos.get(photo_id)
        restored = self.restorations.files_of(photo_id)
        self.photos.delete(photo)  # the restorations' rows go with it
        self.restorations.remove_files(photo_id, restored)

    def remove_subject(self, name: str) -> None:
        """Delete a subject, its tags and adapters; its photos and restorations stay."""
        subject = self.subjects.get(name)
        if subject.adapter_state == "training":
            raise Gen2ResError(f"'{subject.name}' is being trained; cancel the training first.")
        self.subjects.delete(subject.id)
        self.adapters.remove_files(subject.id)

    def recover(self) -> None:
        """Mark jobs of dead processes interrupted and remove what they left half-written."""
        for job_id, pending in self.jobs.interrupt_dead():
            for tmp in self.db.photos_dir.glob(f".import-{job_id}-*"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
            if pending and not self.photos.holds_file(pending):
                # Renamed into place but never committed: the import did not happen.
                with contextlib.suppress(OSError, Gen2ResError):
                    self.db.resolve(pending).unlink()
        self.adapters.interrupt_stale()
        locks.remove_stale(self.db.locks_dir, keep=self.db.owner)
        self.db.remove_stale_temp_files()
