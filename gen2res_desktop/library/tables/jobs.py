"""The ``jobs`` table: imports, trainings and restores, running or ended.

A running job is recorded with its process's owner id; a job whose owner's lock is gone
(``locks.owner_alive``) belongs to a process that died, and reads as interrupted.
"""

from __future__ import annotations

import sqlite3

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.models import JOB_STATES, Job
from gen2res_desktop.library.values import db_text, now


class Jobs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, kind: str, total: int = 0) -> int:
        owner = self.db.claim_owner()
        t = now()
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO jobs (kind, state, total, owner, started, updated) VALUES (?, 'running', ?, ?, ?, ?)",
                [kind, total, owner, t, t],
            )
            return int(cur.lastrowid)

    def update(
        self, job_id: int, progress: int, total: int | None = None, message: str | None = None
    ) -> None:
        with self.db.write() as c:
            c.execute(
                "UPDATE jobs SET progress = ?, total = COALESCE(?, total), message = COALESCE(?, message), "
                "updated = ? WHERE id = ?",
                [progress, total, db_text(message), now(), job_id],
            )

    def set_pending(self, job_id: int, relative: str | None) -> None:
        """Record the file about to be renamed into place, so a crash can be cleaned up."""
        with self.db.write() as c:
            c.execute(
                "UPDATE jobs SET pending_file = ?, updated = ? WHERE id = ?",
                [relative, now(), job_id],
            )

    @staticmethod
    def pending_done(c: sqlite3.Connection, job_id: int) -> None:
        """The pending file's row is written, in the transaction ``c`` that writes it."""
        c.execute("UPDATE jobs SET pending_file = NULL WHERE id = ?", [job_id])

    def finish(
        self, job_id: int, state: str, error: str | None = None, message: str | None = None
    ) -> None:
        """End a job as done, failed, cancelled or interrupted (stopped by Ctrl+C or the
        system, to be continued); ``message`` replaces its progress text."""
        if state not in JOB_STATES or state == "running":
            raise ValueError(f"a job cannot finish as {state!r}")
        t = now()
        with self.db.write() as c:
            c.execute(
                "UPDATE jobs SET state = ?, error = ?, message = COALESCE(?, message), "
                "pending_file = NULL, finished = ?, updated = ? WHERE id = ?",
                [state, db_text(error), db_text(message), t, t, job_id],
            )

    def get(self, job_id: int) -> Job:
        row = self.db.row("SELECT * FROM jobs WHERE id = ?", [job_id])
        if row is None:
            raise Gen2ResError(f"No job with id {job_id}.")
        return self._job(row)

    def recent(self, limit: int = 100) -> list[Job]:
        rows = self.db.rows("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", [limit])
        return [self._job(r) for r in rows]

    def interrupt_dead(self) -> list[tuple[int, str | None]]:
        """Mark the running jobs of dead processes interrupted; returns each one's id and
        the file it was about to rename into place, for the caller to clean up."""
        running = self.db.rows("SELECT id, owner, pending_file FROM jobs WHERE state = 'running'")
        dead_owners = {r["owner"] for r in running if not self.db.owner_alive(r["owner"])}
        dead = [(r["id"], r["pending_file"]) for r in running if r["owner"] in dead_owners]
        if dead:
            ids = [job_id for job_id, _ in dead]
            marks = ",".join("?" * len(ids))
            with self.db.write() as c:
                c.execute(
                    f"UPDATE jobs SET state = 'interrupted', pending_file = NULL, finished = ?, updated = ?, "
                    f"error = 'The app stopped while this job was running.' WHERE id IN ({marks})",
                    [now(), now(), *ids],
                )
        return dead

    def _job(self, r: sqlite3.Row) -> Job:
        state = r["state"]
        if state == "running" and not self.db.owner_alive(r["owner"]):
            # Its process died after this Library was opened, or this one only looks and
            # cannot mark it (the next normal open does): show what it is.
            state = "interrupted"
        return Job(
            id=r["id"],
            kind=r["kind"],
            state=state,
            progress=r["progress"],
            total=r["total"],
            message=r["message"],
            error=r["error"],
            started=r["started"],
            updated=r["updated"],
            finished=r["finished"],
        )
