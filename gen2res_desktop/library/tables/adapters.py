"""The ``adapters`` table and its files: each training run of a subject's face model (a
LoRA adapter, ``adapters/subject-<id>.safetensors`` with its training checkpoints beside
it), and which run is the one to restore with."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.models import ADAPTER_STATUSES, AdapterRecord
from gen2res_desktop.library.values import from_json, now, to_json

# the subject joined for its name only
_ADAPTER_SQL = (
    "SELECT a.*, s.name AS subject_name FROM adapters a JOIN subjects s ON s.id = a.subject"
)
# A "training" row whose job is over (or gone): a crashed run.
_STALE_TRAINING = (
    "status = 'training' AND (job IS NULL OR job NOT IN "
    "(SELECT id FROM jobs WHERE state = 'running'))"
)


class Adapters:
    def __init__(self, db: Database) -> None:
        self.db = db

    def path_for(self, subject_id: int) -> Path:
        """Where the subject's adapter lives; named by id so a rename does not move it."""
        return self.db.adapters_dir / f"subject-{subject_id}.safetensors"

    def remove_files(self, subject_id: int) -> None:
        """The subject's adapter and everything named after it (its checkpoints)."""
        stem = self.path_for(subject_id).name
        for path in self.db.adapters_dir.glob(f"{stem}*"):
            with contextlib.suppress(OSError):
                path.unlink()

    def _adapter(self, r: sqlite3.Row) -> AdapterRecord:
        return AdapterRecord(
            id=r["id"],
            subject_id=r["subject"],
            subject=r["subject_name"],
            path=self.db.resolve(r["file"]),
            prior_name=r["prior_name"],
            prior_hash=r["prior_hash"],
            settings=from_json(r["settings"], {}, dict, f"adapter {r['id']} settings"),
            steps_done=r["steps_done"],
            status=r["status"],
            image_hashes=[
                str(h) for h in from_json(r["image_hashes"], [], list, f"adapter {r['id']}")
            ],
            job_id=r["job"],
            created=r["created"],
            updated=r["updated"],
        )

    def get(self, adapter_id: int) -> AdapterRecord:
        row = self.db.row(_ADAPTER_SQL + " WHERE a.id = ?", [adapter_id])
        if row is None:
            raise Gen2ResError(f"No adapter with id {adapter_id}.")
        return self._adapter(row)

    def record(
        self,
        subject_id: int,
        file: Path,
        prior_name: str,
        prior_hash: str,
        settings: dict,
        steps_done: int,
        status: str,
        image_hashes: Sequence[str],
        job_id: int | None = None,
    ) -> AdapterRecord:
        """Record a training run of the subject's adapter.

        A "training" row should name its job: without a running job to show it is alive,
        the next open takes it for a crashed run and marks it "interrupted".
        """
        if status not in ADAPTER_STATUSES:
            raise ValueError(f"unknown adapter status {status!r}")
        t = now()
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO adapters (subject, file, prior_name, prior_hash, settings, steps_done, status, "
                "image_hashes, job, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    subject_id,
                    self.db.relative(file),
                    prior_name,
                    prior_hash,
                    to_json(settings),
                    steps_done,
                    status,
                    to_json(list(image_hashes)),
                    job_id,
                    t,
                    t,
                ],
            )
            adapter_id = int(cur.lastrowid)
            if status == "ready":
                self._supersede(c, adapter_id)
        return self.get(adapter_id)

    @staticmethod
    def _supersede(c: sqlite3.Connection, adapter_id: int) -> None:
        # The new file replaced the old one on disk, so older "ready" rows no longer describe it.
        c.execute(
            "UPDATE adapters SET status = 'superseded' WHERE status = 'ready' AND id != ? AND "
            "(subject, file) = (SELECT subject, file FROM adapters WHERE id = ?)",
            [adapter_id, adapter_id],
        )

    def set_status(
        self, adapter_id: int, status: str, steps_done: int | None = None
    ) -> AdapterRecord:
        if status not in ADAPTER_STATUSES:
            raise ValueError(f"unknown adapter status {status!r}")
        with self.db.write() as c:
            cur = c.execute(
                "UPDATE adapters SET status = ?, steps_done = COALESCE(?, steps_done), updated = ? WHERE id = ?",
                [status, steps_done, now(), adapter_id],
            )
            if cur.rowcount == 0:
                raise Gen2ResError(f"No adapter with id {adapter_id}.")
            if status == "ready":
                self._supersede(c, adapter_id)
        return self.get(adapter_id)

    def latest(self, subject_id: int) -> AdapterRecord | None:
        """The subject's most recent training run, whatever its status."""
        row = self.db.row(
            _ADAPTER_SQL + " WHERE a.subject = ? ORDER BY a.id DESC LIMIT 1", [subject_id]
        )
        return None if row is None else self._adapter(row)

    def ready(self, subject_id: int) -> AdapterRecord | None:
        """The adapter to restore with: the newest finished one."""
        row = self.db.row(
            _ADAPTER_SQL + " WHERE a.subject = ? AND a.status = 'ready' ORDER BY a.id DESC LIMIT 1",
            [subject_id],
        )
        return None if row is None else self._adapter(row)

    def training_alive(self, subject_id: int) -> bool:
        """True while a training of the subject runs in a live process. A row still saying
        "training" whose process was killed reads as stopped at once, before the next
        normal open marks it (a look cannot)."""
        rows = self.db.rows(
            "SELECT j.owner FROM adapters a JOIN jobs j ON j.id = a.job "
            "WHERE a.subject = ? AND a.status = 'training' AND j.state = 'running'",
            [subject_id],
        )
        return any(self.db.owner_alive(r["owner"]) for r in rows)

    def ready_hashes(self, subject_id: int) -> list[str] | None:
        """The photos (content hashes) the newest ready adapter was trained on; None when
        the subject has no ready adapter."""
        row = self.db.row(
            "SELECT image_hashes FROM adapters WHERE subject = ? AND status = 'ready' ORDER BY id DESC LIMIT 1",
            [subject_id],
        )
        if row is None:
            return None
        hashes = from_json(row["image_hashes"], [], list, f"adapter of subject {subject_id}")
        return [str(h) for h in hashes]

    def interrupt_stale(self) -> None:
        """A training whose job is over (or gone) cannot still be training."""
        if self.db.row("SELECT 1 FROM adapters WHERE " + _STALE_TRAINING):
            with self.db.write() as c:
                c.execute(
                    "UPDATE adapters SET status = 'interrupted', updated = ? WHERE "
                    + _STALE_TRAINING,
                    [now()],
                )
