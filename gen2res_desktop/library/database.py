"""The database core: the library folder, its SQLite file, and the rules every table
family's repository (``library/tables/``) reads and writes by.

- Each thread gets its own connection (worker threads come and go: a dead thread's
  connection is closed when the next one is made).
- Writes from this process take turns on one lock and run in an ``IMMEDIATE``
  transaction; other processes wait on SQLite's busy timeout. SQLite's errors become one
  sentence saying what is wrong with the disk or the file (:func:`sqlite_error`).
- The open lock (``locks.OpenLock``, shared while this is open) keeps a backup from being
  put in place under it; should the file be replaced all the same, a write is refused
  rather than lost in the copy set aside (the database's identity is checked).
- Paths stored in the database are relative to the folder and never leave it.
- Files are written to a temporary name and renamed into place; temporary files an hour
  old belong to no write in progress and are swept.

What opening a library folder does first (the folders, the schema, the copies) is
``opening.py``'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.paths import adapters_dir
from gen2res_desktop.library import backups, locks

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite3"
# Temporary files younger than this may belong to a write in progress in another process.
STALE_TEMP_SECONDS = 3600
TEMP_PREFIXES = (".tmp-", ".import-", ".staging-")
BUSY_TIMEOUT_S = 30.0
# How long an open waits for a backup being put in place (a copy of the database: seconds).
OPEN_WAIT_S = 30.0
REPLACED_MESSAGE = (
    "The library database was replaced while Gen2Res had it open (a backup was restored, "
    "or the file was moved); nothing was written. Close Gen2Res and open it again."
)


def readonly_connect(db_path: Path) -> sqlite3.Connection:
    """A connection that never writes to the library folder.

    SQLite reads a WAL database through a shared-memory file it may need to create or
    grow, which fails on a full or read-only disk. Then, if the WAL holds nothing (every
    change is in the database file, as after any clean close), the file is read as it is
    (``immutable``); with changes still in the WAL it cannot be read without writing.
    """

    def connect(uri: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    try:
        return connect(backups.readonly_uri(db_path))
    except sqlite3.OperationalError:
        wal = db_path.with_name(db_path.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise
        return connect(backups.readonly_uri(db_path) + "&immutable=1")


def sqlite_error(e: sqlite3.Error, home: Path) -> Gen2ResError:
    """What went wrong, in words a user can act on."""
    text = str(e).lower()
    if "full" in text:
        msg = f"The library disk is full ({home}). Free some space and try again."
    elif "readonly" in text or "read-only" in text:
        msg = f"The library folder {home} is read-only; Gen2Res needs to write there."
    elif "locked" in text or "busy" in text:
        msg = "The library is busy (another Gen2Res is writing to it). Try again in a moment."
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        msg = f"The library database in {home} is damaged ({e}). {backups.newest_hint(home)}"
    elif "disk i/o error" in text:
        msg = (
            f"Cannot use the library database in {home}: the disk may be full, read-only or "
            "failing. Free some space and try again; nothing was changed."
        )
    elif "unable to open" in text:
        msg = f"Cannot open the library database in {home} ({e})."
    else:
        msg = f"Library database error: {e}"
    return Gen2ResError(msg)


def is_temp_name(name: str) -> bool:
    """A name the app (or an import in progress) writes before renaming it into place."""
    return name.startswith(TEMP_PREFIXES) or name.endswith(".part")


class Database:
    """One library folder's database, open until :meth:`close`; ``opening.open_database``
    makes one. ``readonly``: every connection only reads, and a write is refused."""

    def __init__(self, home: Path, *, readonly: bool = False) -> None:
        self.home = Path(home)
        self.db_path = self.home / DB_NAME
        # The folder layout: each table family keeps its files in its own folder.
        self.photos_dir = self.home / "photos"
        self.thumbnails_dir = self.home / "thumbnails"
        self.restorations_dir = self.home / "restorations"
        self.masks_dir = self.home / "masks"
        self.adapters_dir = adapters_dir(self.home)
        self.backups_dir = self.home / "backups"
        self.locks_dir = self.home / "locks"
        self.readonly = readonly
        # This process's jobs are alive while it holds owner_lock (see locks.OwnerLock).
        self.owner = uuid.uuid4().hex
        self.owner_lock: locks.OwnerLock | None = None
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        self._open_lock: locks.OpenLock | None = None
        # (device, inode) of the database opened: a write into anything else (a backup
        # restored under it) is refused
        self._db_id: tuple[int, int] | None = None

    @property
    def writes_into(self) -> tuple[Path, ...]:
        """The folders the library writes files into (temporary files are swept there)."""
        return (
            self.photos_dir,
            self.thumbnails_dir,
            self.restorations_dir,
            self.masks_dir,
            self.adapters_dir,
        )

    def hold_open_lock(self, *, create: bool) -> None:
        """Share the library's open lock until :meth:`close`, so a backup is never put in
        place under this (see locks.OpenLock)."""
        try:
            self._open_lock = locks.OpenLock.shared(
                self.locks_dir, create=create, wait_s=OPEN_WAIT_S
            )
        except locks.LockBusy:
            raise Gen2ResError(
                f"A backup of the library in {self.home} is being restored right now; "
                "try again in a moment."
            ) from None
        except OSError as e:
            # A folder that cannot be written to: a look goes on without the lock, and a
            # change fails on its own with what is wrong with the disk.
            log.warning("no open lock in %s: %s", self.locks_dir, e)

    def pin_file(self) -> None:
        """From now on, refuse to write should another file take the database's place."""
        self._db_id = self._database_id()

    def _database_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.db_path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def close(self) -> None:
        self._closed = True
        with self._conns_lock:
            for _, conn in self._conns:
                conn.close()
            self._conns.clear()
        if self.owner_lock is not None:
            self.owner_lock.release()
            self.owner_lock = None
        if self._open_lock is not None:
            self._open_lock.release()
            self._open_lock = None

    def claim_owner(self) -> str:
        """Hold this process's owner lock (from its first job on), so other processes see
        its running jobs alive; returns the owner id the jobs are recorded with."""
        with self._write_lock:
            if self.owner_lock is None:
                try:
                    self.owner_lock = locks.OwnerLock(self.locks_dir, self.owner)
                except OSError as e:
                    raise Gen2ResError(
                        f"Cannot write into the library folder {self.home} ({e.strerror or e})."
                    ) from e
        return self.owner

    def owner_alive(self, owner: str) -> bool:
        """Whether the process that recorded a job as ``owner`` is still running."""
        return locks.owner_alive(self.locks_dir, owner)

    # ------------------------------------------------------------------ reading and writing

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: :meth:`write` opens the transactions)."""
        if self._closed:
            raise Gen2ResError("The library is closed.")
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self.readonly:
            conn = readonly_connect(self.db_path)
        else:
            conn = sqlite3.connect(
                self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        conn.row_factory = sqlite3.Row
        # A byte that is not UTF-8 (a damaged one, or a file name's bytes kept as they were)
        # must not stop a listing; it reads as \xNN, which says what the byte was.
        conn.text_factory = lambda b: b.decode("utf-8", "backslashreplace")
        conn.execute("PRAGMA foreign_keys = ON")
        # FULL: a committed import survives a power cut, not only a crash.
        conn.execute("PRAGMA synchronous = FULL")
        with self._conns_lock:
            alive = []
            for thread, old in self._conns:
                if thread.is_alive():
                    alive.append((thread, old))
                else:
                    old.close()
            alive.append((threading.current_thread(), conn))
            self._conns = alive
        self._local.conn = conn
        return conn

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise sqlite_error(e, self.home) from e
        except OverflowError as e:  # an id typed beyond SQLite's 64-bit integers
            raise Gen2ResError("That number is too large to be a library number.") from e

    def row(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; this process's writers take turns. An IntegrityError
        (a name taken, a row gone) reaches the caller as it is, to be said in its words."""
        if self.readonly:
            raise Gen2ResError("This command only reads the library; it cannot change it.")
        with self._write_lock:
            conn = self.connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise sqlite_error(e, self.home) from e
            if self._db_id is not None and self._database_id() != self._db_id:
                # The connection still writes to the file it opened, now a copy aside: what
                # it wrote would be lost in "backups/library-replaced-...".
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                log.error("%s was replaced under this Library; write refused", self.db_path)
                raise Gen2ResError(REPLACED_MESSAGE)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.IntegrityError):
                    raise
                if isinstance(e, sqlite3.Error):
                    raise sqlite_error(e, self.home) from e
                raise

    # ------------------------------------------------------------------ files

    def resolve(self, relative: str) -> Path:
        """The absolute path of a file recorded in the database, refusing to leave the library."""
        rel = PurePosixPath(relative)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or ":" in rel.parts[0]:
            raise Gen2ResError(
                f"The library database points outside the library folder: {relative!r}."
            )
        return self.home.joinpath(*rel.parts)

    def relative(self, path: Path) -> str:
        """``path`` relative to the library folder, as stored in the database."""
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(self.home)).as_posix()
        except ValueError:
            raise Gen2ResError(f"{path} is not inside the library folder {self.home}.") from None

    def temp_files(self) -> list[Path]:
        """Temporary files in the folders the library writes to."""
        found = []
        for folder in self.writes_into:
            for dirpath, _, filenames in os.walk(folder):
                found.extend(Path(dirpath) / n for n in filenames if is_temp_name(n))
        return found

    def remove_stale_temp_files(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for path in self.temp_files():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
