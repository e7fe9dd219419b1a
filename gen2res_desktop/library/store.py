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

Paths stored in the database are relative to the folder and are checked to stay inside
it. Files are written to a temporary name and renamed into place. Threads: each thread
gets its own connection; writes from this process go through one lock and an
``IMMEDIATE`` transaction, and other processes wait on SQLite's busy timeout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import stat
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import load_rgb, open_image
from gen2res_desktop.core.paths import adapters_dir, library_home
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress
from gen2res_desktop.library import backups, locks, schema
from gen2res_desktop.library.models import (
    ADAPTER_STATUSES,
    DEFAULT_PRIOR,
    DESCRIPTOR_SIZE,
    JOB_STATES,
    ROLES,
    SUBJECT_KINDS,
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

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite3"
THUMBNAIL_SIDE = 256
# Temporary files younger than this may belong to a write in progress in another process.
STALE_TEMP_SECONDS = 3600
TEMP_PREFIXES = (".tmp-", ".import-", ".staging-")
MAX_NAME_LENGTH = 100
_BUSY_TIMEOUT_S = 30.0
# How long an open waits for a backup being put in place (a copy of the database: seconds).
OPEN_WAIT_S = 30.0
# Group and others get nothing: the folder holds a family's photos (see _make_private).
_PRIVATE = 0o700
REPLACED_MESSAGE = (
    "The library database was replaced while Gen2Res had it open (a backup was restored, "
    "or the file was moved); nothing was written. Close Gen2Res and open it again."
)
# A face keeps its confirmed subject across re-detection when the boxes overlap this much.
_SAME_FACE_IOU = 0.5


_REPAIR_KEY = "restore.repair"


def readonly_connect(db_path: Path) -> sqlite3.Connection:
    """A connection that never writes to the library folder.

    SQLite reads a WAL database through a shared-memory file it may need to create or
    grow, which fails on a full or read-only disk. Then, if the WAL holds nothing (every
    change is in the database file, as after any clean close), the file is read as it is
    (``immutable``); with changes still in the WAL it cannot be read without writing.
    """

    def connect(uri: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
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


def read_damage_map(path: Path) -> np.ndarray:
    """A damage map image (any mode) as uint8 0/255; Gen2ResError if it cannot be read."""
    img = open_image(path)
    gray = np.asarray(img.convert("L"))
    return np.where(gray > 127, 255, 0).astype(np.uint8)


def write_damage_map(mask: np.ndarray, target: Path) -> Path:
    """Save ``mask`` (nonzero = damaged) as a black-and-white PNG, atomically."""
    img = Image.fromarray(np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8), "L")
    with atomic_path(target) as tmp:
        img.convert("1").save(tmp, format="PNG")
    return target


def _from_json(text: str | None, default, kind: type, where: str):
    """A JSON column's value, or ``default`` when it is damaged or of the wrong type: one bad
    byte must not stop a listing or the app's start (``library check`` reports it)."""
    if text is None:
        return default
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        log.warning("%s: damaged JSON in the library database, ignored", where)
        return default
    if not isinstance(value, kind):
        log.warning("%s: unexpected value in the library database, ignored", where)
        return default
    return value


def _landmarks(r: sqlite3.Row) -> list[tuple[float, float]]:
    points = _from_json(r["landmarks"], [], list, f"face {r['id']} landmarks")
    try:
        return [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        log.warning("face %s landmarks: unexpected value in the library database", r["id"])
        return []


def _scores(text: str, restoration_id: int) -> list[float] | None:
    values = _from_json(text, None, list, f"restoration {restoration_id} identity scores")
    try:
        return None if values is None else [float(v) for v in values]
    except (TypeError, ValueError):
        return None


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_temp_name(name: str) -> bool:
    """A name the app (or an import in progress) writes before renaming it into place."""
    return name.startswith(TEMP_PREFIXES) or name.endswith(".part")


def _sqlite_error(e: sqlite3.Error, home: Path) -> Gen2ResError:
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


def _make_private(home: Path) -> None:
    """A new library is for its owner's account only: the folder is 0700, so the photos,
    database, backups and logs inside need no mode of their own. A folder made before the
    database (the app's log goes there first) is tightened too; one whose database exists
    keeps whatever mode its owner gave it (a family may share it with a group on purpose)."""
    if os.name == "nt":
        return  # the user's profile folder is private already
    st = os.stat(home)
    if st.st_uid == os.getuid() and st.st_mode & 0o077:
        os.chmod(home, stat.S_IMODE(st.st_mode) & _PRIVATE)


def db_text(text: str | None) -> str | None:
    """``text`` as SQLite can store it: a file name's undecodable bytes (surrogate escapes)
    become readable \\xNN instead of stopping the write with a UnicodeEncodeError."""
    if text is None:
        return None
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# Unicode categories a name may not hold: control and format characters (bidi overrides,
# zero-width joiners and spaces that make two names look alike or text run backwards),
# private-use and unpaired surrogates, line and paragraph separators.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def _check_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise Gen2ResError("A subject needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise Gen2ResError(f"Subject names are limited to {MAX_NAME_LENGTH} characters.")
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name):
        raise Gen2ResError(
            "Subject names cannot contain control or invisible characters (such as "
            "zero-width spaces or text-direction marks)."
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise Gen2ResError(f"Unknown role '{role}'; use reference or restore.")
    return role


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class Library:
    """A family's photo library. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.db_path = self.home / DB_NAME
        self.photos_dir = self.home / "photos"
        self.thumbnails_dir = self.home / "thumbnails"
        self.restorations_dir = self.home / "restorations"
        self.masks_dir = self.home / "masks"
        self.adapters_dir = adapters_dir(self.home)
        self.backups_dir = self.home / "backups"
        self.locks_dir = self.home / "locks"
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._owner = uuid.uuid4().hex
        self._owner_lock: locks.OwnerLock | None = None
        self._closed = False
        self._readonly = False
        self._open_lock: locks.OpenLock | None = None
        # (device, inode) of the database this Library opened: a write into anything else
        # (a backup restored under it) is refused
        self._db_id: tuple[int, int] | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, home: Path | None = None, *, readonly: bool = False) -> Library:
        """Open (creating if needed) the library in ``home`` or the default folder.

        ``readonly``: for commands that only look (lists, checks, export): nothing in the
        library folder is written, so they work on a full disk or a read-only library. A
        library that does not exist yet or needs a schema upgrade is opened normally.
        """
        lib = cls(Path(home) if home is not None else library_home())
        lib._refuse_lost_database()
        if readonly and lib._current_schema():
            lib._readonly = True
            try:
                lib._hold_open(create=False)
                schema.refuse_newer(schema.user_version(lib._conn()), lib.db_path)
            except sqlite3.Error as e:
                lib.close()
                raise _sqlite_error(e, lib.home) from e
            except BaseException:
                lib.close()
                raise
            return lib
        new = not lib.db_path.exists()
        try:
            lib.home.mkdir(mode=_PRIVATE, parents=True, exist_ok=True)
            if new:
                _make_private(lib.home)
            for folder in (
                lib.photos_dir,
                lib.thumbnails_dir,
                lib.restorations_dir,
                lib.masks_dir,
                lib.adapters_dir,
                lib.locks_dir,
            ):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise Gen2ResError(
                f"Cannot create the library folder {lib.home} ({e.strerror or e})."
            ) from e
        try:
            lib._hold_open(create=True)
            conn = lib._conn()
            before = schema.user_version(conn)
            schema.refuse_newer(before, lib.db_path)
            conn.execute("PRAGMA journal_mode=WAL")
            upgraded = schema.migrate(conn, lib.db_path)
            if before > 0 and upgraded is None:  # an upgrade just made its own copy
                lib._daily_backup(conn)
            lib._db_id = lib._database_id()
            lib._recover()
        except sqlite3.Error as e:
            lib.close()
            raise _sqlite_error(e, lib.home) from e
        except BaseException:
            lib.close()
            raise
        return lib

    def _hold_open(self, *, create: bool) -> None:
        """Share the library's open lock for as long as this Library is open, so a backup is
        never put in place under it (see locks.OpenLock)."""
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

    def _database_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.db_path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def _refuse_lost_database(self) -> None:
        """A missing or empty database beside photos is a lost album, not a new library:
        never replace it with an empty one."""
        try:
            size = self.db_path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            size = None
        except OSError as e:
            raise Gen2ResError(
                f"Cannot read the library database in {self.home} ({e.strerror or e})."
            ) from e
        if size and size > 0:
            return
        if not backups.has_content(self.home):
            return
        state = "missing" if size is None else "empty (0 bytes)"
        raise Gen2ResError(
            f"The library database in {self.home} is {state}, but the library holds photos; "
            "Gen2Res did not start a new empty one, which would lose your subjects, tags and "
            f"restorations. {backups.newest_hint(self.home)}"
        )

    def _current_schema(self) -> bool:
        """True when the database exists and needs no upgrade (so it can be read as it is)."""
        if not self.db_path.is_file():
            return False
        try:
            conn = readonly_connect(self.db_path)
            try:
                return schema.user_version(conn) >= schema.SCHEMA_VERSION
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise _sqlite_error(e, self.home) from e

    def _daily_backup(self, conn: sqlite3.Connection) -> None:
        try:
            backups.daily_backup(conn, self.home)
        except (OSError, sqlite3.Error, Gen2ResError) as e:
            # a backup that cannot be written (full disk) must not keep the library shut
            log.warning("daily backup of %s skipped: %s", self.home, e)

    @property
    def name(self) -> str:
        return self.home.name

    def close(self) -> None:
        self._closed = True
        with self._conns_lock:
            for _, conn in self._conns:
                conn.close()
            self._conns.clear()
        if self._owner_lock is not None:
            self._owner_lock.release()
            self._owner_lock = None
        if self._open_lock is not None:
            self._open_lock.release()
            self._open_lock = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ database access

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise Gen2ResError("The library is closed.")
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._readonly:
            conn = readonly_connect(self.db_path)
        else:
            conn = sqlite3.connect(
                self.db_path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        conn.row_factory = sqlite3.Row
        # A byte that is not UTF-8 (a damaged one, or a file name's bytes kept as they were)
        # must not stop a listing; it reads as \xNN, which says what the byte was.
        conn.text_factory = lambda b: b.decode("utf-8", "backslashreplace")
        conn.execute("PRAGMA foreign_keys = ON")
        # FULL: a committed import survives a power cut, not only a crash.
        conn.execute("PRAGMA synchronous = FULL")
        with self._conns_lock:
            # Worker threads come and go; their connections are closed once they are gone.
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

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise _sqlite_error(e, self.home) from e
        except OverflowError as e:  # an id typed beyond SQLite's 64-bit integers
            raise Gen2ResError("That number is too large to be a library number.") from e

    def _row(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; this process's writers take turns."""
        if self._readonly:
            raise Gen2ResError("This command only reads the library; it cannot change it.")
        with self._write_lock:
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise _sqlite_error(e, self.home) from e
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
                    raise _sqlite_error(e, self.home) from e
                raise

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

    # ------------------------------------------------------------------ crash recovery

    def _recover(self) -> None:
        """Mark jobs of dead processes interrupted and remove what they left half-written."""
        running = self._rows(
            "SELECT id, kind, owner, pending_file FROM jobs WHERE state = 'running'"
        )
        dead_owners = {
            r["owner"] for r in running if not locks.owner_alive(self.locks_dir, r["owner"])
        }
        dead = [r for r in running if r["owner"] in dead_owners]
        if dead:
            ids = [r["id"] for r in dead]
            marks = ",".join("?" * len(ids))
            with self._write() as c:
                c.execute(
                    f"UPDATE jobs SET state = 'interrupted', pending_file = NULL, finished = ?, updated = ?, "
                    f"error = 'The app stopped while this job was running.' WHERE id IN ({marks})",
                    [now(), now(), *ids],
                )
            for r in dead:
                self._remove_leftovers(r["id"], r["pending_file"])
        # A training whose job is over (or gone) cannot still be training.
        if self._row(
            "SELECT 1 FROM adapters WHERE status = 'training' AND (job IS NULL OR job NOT IN "
            "(SELECT id FROM jobs WHERE state = 'running'))"
        ):
            with self._write() as c:
                c.execute(
                    "UPDATE adapters SET status = 'interrupted', updated = ? WHERE status = 'training' "
                    "AND (job IS NULL OR job NOT IN (SELECT id FROM jobs WHERE state = 'running'))",
                    [now()],
                )
        locks.remove_stale(self.locks_dir, keep=self._owner)
        self._remove_stale_temp_files()

    def _remove_leftovers(self, job_id: int, pending: str | None) -> None:
        for tmp in self.photos_dir.glob(f".import-{job_id}-*"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        if pending and not self._row("SELECT 1 FROM photos WHERE file = ?", [pending]):
            # Renamed into place but never committed: the import did not happen.
            with contextlib.suppress(OSError, Gen2ResError):
                self.resolve(pending).unlink()

    def _remove_stale_temp_files(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for path in self.temp_files():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def temp_files(self) -> list[Path]:
        """Temporary files in the folders the library writes to."""
        found = []
        for folder in (
            self.photos_dir,
            self.thumbnails_dir,
            self.restorations_dir,
            self.masks_dir,
            self.adapters_dir,
        ):
            for dirpath, _, filenames in os.walk(folder):
                found.extend(Path(dirpath) / n for n in filenames if is_temp_name(n))
        return found

    # ------------------------------------------------------------------ jobs

    def start_job(self, kind: str, total: int = 0) -> int:
        with self._write_lock:
            if self._owner_lock is None:
                try:
                    self._owner_lock = locks.OwnerLock(self.locks_dir, self._owner)
                except OSError as e:
                    raise Gen2ResError(
                        f"Cannot write into the library folder {self.home} ({e.strerror or e})."
                    ) from e
        t = now()
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO jobs (kind, state, total, owner, started, updated) VALUES (?, 'running', ?, ?, ?, ?)",
                [kind, total, self._owner, t, t],
            )
            return int(cur.lastrowid)

    def update_job(
        self, job_id: int, progress: int, total: int | None = None, message: str | None = None
    ) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE jobs SET progress = ?, total = COALESCE(?, total), message = COALESCE(?, message), "
                "updated = ? WHERE id = ?",
                [progress, total, db_text(message), now(), job_id],
            )

    def _set_pending(self, job_id: int, relative: str | None) -> None:
        """Record the file about to be renamed into place, so a crash can be cleaned up."""
        with self._write() as c:
            c.execute(
                "UPDATE jobs SET pending_file = ?, updated = ? WHERE id = ?",
                [relative, now(), job_id],
            )

    def finish_job(
        self, job_id: int, state: str, error: str | None = None, message: str | None = None
    ) -> None:
        """End a job as done, failed, cancelled or interrupted (stopped by Ctrl+C or the
        system, to be continued); ``message`` replaces its progress text."""
        if state not in JOB_STATES or state == "running":
            raise ValueError(f"a job cannot finish as {state!r}")
        t = now()
        with self._write() as c:
            c.execute(
                "UPDATE jobs SET state = ?, error = ?, message = COALESCE(?, message), "
                "pending_file = NULL, finished = ?, updated = ? WHERE id = ?",
                [state, db_text(error), db_text(message), t, t, job_id],
            )

    def get_job(self, job_id: int) -> Job:
        row = self._row("SELECT * FROM jobs WHERE id = ?", [job_id])
        if row is None:
            raise Gen2ResError(f"No job with id {job_id}.")
        return self._job(row)

    def list_jobs(self, limit: int = 100) -> list[Job]:
        return [
            self._job(r) for r in self._rows("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", [limit])
        ]

    def _job(self, r: sqlite3.Row) -> Job:
        state = r["state"]
        if state == "running" and not locks.owner_alive(self.locks_dir, r["owner"]):
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
        from gen2res_desktop.library.importer import import_paths

        return import_paths(
            self, paths, subject=subject, role=role, progress=progress, cancel=cancel
        )

    @staticmethod
    def _photo(r: sqlite3.Row) -> Photo:
        return Photo(
            id=r["id"],
            hash=r["hash"],
            file=r["file"],
            original_name=r["original_name"],
            original_path=r["original_path"],
            imported=r["imported"],
            size=r["size"],
            format=r["format"],
            width=r["width"],
            height=r["height"],
            mode=r["mode"],
            taken=r["taken"],
            exif=_from_json(r["exif"], {}, dict, f"photo {r['id']} exif"),
        )

    def list_photos(
        self, subject: Subject | str | None = None, role: str | None = None, unsorted: bool = False
    ) -> list[Photo]:
        """Photos in import order; ``unsorted``: only those not tagged to any subject."""
        where, params = [], []
        if role is not None:
            _check_role(role)
        if subject is not None:
            where.append(
                "EXISTS (SELECT 1 FROM photo_links l WHERE l.photo = p.id AND l.subject = ?"
                + (" AND l.role = ?)" if role else ")")
            )
            params += [self._subject_id(subject)] + ([role] if role else [])
        elif role is not None:
            where.append("EXISTS (SELECT 1 FROM photo_links l WHERE l.photo = p.id AND l.role = ?)")
            params.append(role)
        if unsorted:
            where.append("NOT EXISTS (SELECT 1 FROM photo_links l WHERE l.photo = p.id)")
        sql = (
            "SELECT * FROM photos p"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY p.id"
        )
        return [self._photo(r) for r in self._rows(sql, params)]

    def get_photo(self, photo_id: int) -> Photo:
        row = self._row("SELECT * FROM photos WHERE id = ?", [photo_id])
        if row is None:
            raise Gen2ResError(f"No photo with id {photo_id}.")
        return self._photo(row)

    def photo_crop(self, photo_id: int) -> tuple[int, int, int] | None:
        """The square (x, y, size) the user drew around a pet in this photo, if any."""
        self.get_photo(photo_id)
        row = self._row("SELECT crop FROM photos WHERE id = ?", [photo_id])
        if row is None or not row["crop"]:
            return None
        x, y, size = (int(v) for v in row["crop"].split(","))
        return x, y, size

    def set_photo_crop(self, photo_id: int, crop: tuple[int, int, int] | None) -> None:
        photo = self.get_photo(photo_id)
        value = None
        if crop is not None:
            x, y, size = (int(v) for v in crop)
            if size <= 0 or x < 0 or y < 0 or x + size > photo.width or y + size > photo.height:
                raise Gen2ResError(
                    f"The square ({x}, {y}, {size}) does not fit in the photo "
                    f"({photo.width} x {photo.height})."
                )
            value = f"{x},{y},{size}"
        with self._write() as c:
            c.execute("UPDATE photos SET crop = ? WHERE id = ?", [value, photo_id])

    def _damage_map_file(self, photo: Photo) -> Path:
        return self.masks_dir / f"{photo.hash}.png"

    def photo_damage_map(self, photo_id: int) -> np.ndarray | None:
        """The damage map the user painted for this photo (uint8, 255 = damaged), if any.

        A map whose file has gone missing counts as none (``library check`` reports it).
        """
        self.get_photo(photo_id)
        row = self._row("SELECT damage_map FROM photos WHERE id = ?", [photo_id])
        if row is None or not row["damage_map"]:
            return None
        path = self.resolve(row["damage_map"])
        if not path.is_file():
            return None
        return read_damage_map(path)

    def set_photo_damage_map(self, photo_id: int, mask: np.ndarray | None) -> None:
        """Keep ``mask`` (photo-sized, nonzero = damaged) as this photo's damage map, used by
        every later restore instead of the detector; None goes back to detecting."""
        photo = self.get_photo(photo_id)
        target = self._damage_map_file(photo)
        if mask is None:
            with self._write() as c:
                c.execute("UPDATE photos SET damage_map = NULL WHERE id = ?", [photo_id])
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return
        mask = np.asarray(mask)
        if mask.ndim != 2 or mask.shape != (photo.height, photo.width):
            got = " x ".join(str(v) for v in mask.shape[1::-1]) if mask.ndim >= 2 else "not 2-D"
            raise Gen2ResError(
                f"The damage map is {got} pixels but {photo.original_name} is "
                f"{photo.width} x {photo.height}; it must be painted on this photo."
            )
        write_damage_map(mask, target)
        with self._write() as c:
            c.execute(
                "UPDATE photos SET damage_map = ? WHERE id = ?", [self.relative(target), photo_id]
            )

    def _photo_id_by_hash(self, digest: str) -> int | None:
        row = self._row("SELECT id FROM photos WHERE hash = ?", [digest])
        return None if row is None else int(row["id"])

    def photo_path(self, photo: Photo | int) -> Path:
        """The stored original (never write to it)."""
        if not isinstance(photo, Photo):
            photo = self.get_photo(photo)
        return self.resolve(photo.file)

    def load_photo_rgb(self, photo: Photo | int) -> Image.Image:
        """The photo's pixels, EXIF orientation applied, as 8-bit RGB."""
        if not isinstance(photo, Photo):
            photo = self.get_photo(photo)
        path = self.photo_path(photo)
        if not path.is_file():
            raise Gen2ResError(
                f"The library's copy of {photo.original_name} (photo {photo.id}) is missing.",
                app="Delete it from the library and import the photo again.",
                cli="Run 'gen2res library check'.",
            )
        return load_rgb(path)

    def _thumbnail_file(self, digest: str) -> Path:
        return self.thumbnails_dir / digest[:2] / f"{digest}.jpg"

    def thumbnail_path(self, photo_id: int) -> Path:
        """A JPEG preview (longest side 256), made on first use and cached."""
        photo = self.get_photo(photo_id)
        target = self._thumbnail_file(photo.hash)
        if target.is_file():
            return target
        img = self.load_photo_rgb(photo)
        img.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
        try:
            with atomic_path(target) as tmp:
                img.save(tmp, "JPEG", quality=85)
        except OSError as e:
            raise Gen2ResError(
                f"Cannot write the thumbnail into {self.thumbnails_dir} ({e.strerror or e})."
            ) from e
        return target

    def delete_photo(self, photo_id: int) -> None:
        """Remove a photo from the library with its thumbnail, faces, tags and restorations.

        The user's original file outside the library is never touched.
        """
        photo = self.get_photo(photo_id)
        restored = [r.path for r in self.list_restorations(photo_id)]
        restored += [r.damage_map for r in self.list_restorations(photo_id) if r.damage_map]
        with self._write() as c:
            c.execute("DELETE FROM photos WHERE id = ?", [photo_id])
        # Files go after the commit: a crash in between leaves orphans, never dangling rows.
        files = [self.photo_path(photo), self._thumbnail_file(photo.hash), *restored]
        for path in [*files, self._damage_map_file(photo)]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        shutil.rmtree(self.restorations_dir / str(photo_id), ignore_errors=True)

    # ------------------------------------------------------------------ subjects

    def _subject_id(self, subject: Subject | str) -> int:
        return subject.id if isinstance(subject, Subject) else self.get_subject(subject).id

    def _optional_subject_id(self, subject: Subject | str | None) -> int | None:
        return None if subject is None else self._subject_id(subject)

    def add_subject(self, name: str, kind: str, prior: str | None = None) -> Subject:
        name = _check_name(name)
        if kind not in SUBJECT_KINDS:
            raise Gen2ResError(f"Unknown subject kind '{kind}'; use person, cat or dog.")
        prior = (prior or "").strip() or DEFAULT_PRIOR[kind]
        try:
            with self._write() as c:
                c.execute(
                    "INSERT INTO subjects (name, kind, prior, created) VALUES (?, ?, ?, ?)",
                    [name, kind, prior, now()],
                )
        except sqlite3.IntegrityError:
            raise Gen2ResError(f"There is already a subject named '{name}'.") from None
        return self.get_subject(name)

    def get_subject(self, name: str) -> Subject:
        row = self._row("SELECT * FROM subjects WHERE name = ?", [(name or "").strip()])
        if row is None:
            known = ", ".join(s.name for s in self.list_subjects()) or "none yet"
            raise Gen2ResError(f"No subject named '{name}' (subjects: {known}).")
        return self._subject(row)

    def list_subjects(self) -> list[Subject]:
        rows = self._rows("SELECT * FROM subjects ORDER BY name COLLATE NOCASE")
        return [self._subject(r) for r in rows]

    def _subject(self, r: sqlite3.Row) -> Subject:
        counts = dict.fromkeys(ROLES, 0)
        for c in self._rows(
            "SELECT role, COUNT(*) AS n FROM photo_links WHERE subject = ? GROUP BY role", [r["id"]]
        ):
            counts[c["role"]] = c["n"]
        return Subject(
            id=r["id"],
            name=r["name"],
            kind=r["kind"],
            prior=r["prior"],
            created=r["created"],
            reference_count=counts["reference"],
            restore_count=counts["restore"],
            adapter_state=self._adapter_state(r["id"]),
        )

    def reference_hashes(self, subject: Subject | str) -> list[str]:
        """Content hashes of the subject's reference photos, in photo id order."""
        return self._reference_hashes(self._subject_id(subject))

    def _reference_hashes(self, subject_id: int) -> list[str]:
        rows = self._rows(
            "SELECT p.hash FROM photos p JOIN photo_links l ON l.photo = p.id "
            "WHERE l.subject = ? AND l.role = 'reference' ORDER BY p.id",
            [subject_id],
        )
        return [r["hash"] for r in rows]

    def _adapter_state(self, subject_id: int) -> str:
        if self._training_alive(subject_id):
            return "training"
        row = self._row(
            "SELECT image_hashes FROM adapters WHERE subject = ? AND status = 'ready' ORDER BY id DESC LIMIT 1",
            [subject_id],
        )
        if row is None:
            return "none"
        current = set(self._reference_hashes(subject_id))
        hashes = _from_json(row["image_hashes"], [], list, f"adapter of subject {subject_id}")
        return "ready" if set(map(str, hashes)) == current else "outdated"

    def _training_alive(self, subject_id: int) -> bool:
        """True while a training of the subject runs in a live process. A row still saying
        "training" whose process was killed reads as stopped at once, before the next
        normal open marks it (a look cannot)."""
        rows = self._rows(
            "SELECT j.owner FROM adapters a JOIN jobs j ON j.id = a.job "
            "WHERE a.subject = ? AND a.status = 'training' AND j.state = 'running'",
            [subject_id],
        )
        return any(locks.owner_alive(self.locks_dir, r["owner"]) for r in rows)

    def training_alive(self, subject: Subject | str) -> bool:
        return self._training_alive(self._subject_id(subject))

    def rename_subject(self, old: str, new: str) -> Subject:
        subject = self.get_subject(old)
        new = _check_name(new)
        try:
            with self._write() as c:
                c.execute("UPDATE subjects SET name = ? WHERE id = ?", [new, subject.id])
        except sqlite3.IntegrityError:
            raise Gen2ResError(f"There is already a subject named '{new}'.") from None
        return self.get_subject(new)

    def remove_subject(self, name: str) -> None:
        """Delete a subject, its tags and adapters; its photos and restorations stay."""
        subject = self.get_subject(name)
        if subject.adapter_state == "training":
            raise Gen2ResError(f"'{subject.name}' is being trained; cancel the training first.")
        with self._write() as c:
            c.execute("DELETE FROM subjects WHERE id = ?", [subject.id])
        stem = self.adapter_path_for(subject).name
        for path in self.adapters_dir.glob(f"{stem}*"):
            with contextlib.suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------ tags

    def _check_photo_ids(self, photo_ids: Sequence[int]) -> list[int]:
        ids = sorted({int(i) for i in photo_ids})
        if not ids:
            raise Gen2ResError("No photos given.")
        found = {
            r["id"]
            for r in self._rows(
                f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids
            )
        }
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise Gen2ResError(f"No photo with id {', '.join(missing)}.")
        return ids

    def tag(self, photo_ids: Sequence[int], subject: str, role: str) -> None:
        """Tag photos to a subject (as ``reference`` or ``restore``); retagging changes the role."""
        _check_role(role)
        subject_id = self._subject_id(subject)
        ids = self._check_photo_ids(photo_ids)
        with self._write() as c:
            for photo_id in ids:
                self._link(c, photo_id, subject_id, role)

    @staticmethod
    def _link(c: sqlite3.Connection, photo_id: int, subject_id: int, role: str) -> None:
        c.execute(
            "INSERT INTO photo_links (photo, subject, role, added) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (photo, subject) DO UPDATE SET role = excluded.role",
            [photo_id, subject_id, role, now()],
        )

    def untag(self, photo_ids: Sequence[int], subject: str) -> None:
        subject_id = self._subject_id(subject)
        ids = self._check_photo_ids(photo_ids)
        with self._write() as c:
            c.executemany(
                "DELETE FROM photo_links WHERE photo = ? AND subject = ?",
                [(i, subject_id) for i in ids],
            )

    def photo_subjects(self, photo_id: int) -> list[PhotoLink]:
        rows = self._rows(
            "SELECT l.photo, l.subject, s.name, l.role FROM photo_links l JOIN subjects s ON s.id = l.subject "
            "WHERE l.photo = ? ORDER BY s.name COLLATE NOCASE",
            [photo_id],
        )
        return [PhotoLink(r["photo"], r["subject"], r["name"], r["role"]) for r in rows]

    def all_links(self) -> dict[int, list[PhotoLink]]:
        """Every photo's subject links, by photo id (one query, for the grid's badges)."""
        rows = self._rows(
            "SELECT l.photo, l.subject, s.name, l.role FROM photo_links l JOIN subjects s "
            "ON s.id = l.subject ORDER BY s.name COLLATE NOCASE"
        )
        links: dict[int, list[PhotoLink]] = {}
        for r in rows:
            links.setdefault(r["photo"], []).append(
                PhotoLink(r["photo"], r["subject"], r["name"], r["role"])
            )
        return links

    # ------------------------------------------------------------------ faces

    _FACE_SQL = (
        "SELECT f.*, ss.name AS suggested_name, cs.name AS confirmed_name FROM faces f "
        "LEFT JOIN subjects ss ON ss.id = f.suggested_subject "
        "LEFT JOIN subjects cs ON cs.id = f.confirmed_subject"
    )

    @staticmethod
    def _face(r: sqlite3.Row) -> Face:
        blob = r["descriptor"]
        return Face(
            id=r["id"],
            photo_id=r["photo"],
            box=(r["x"], r["y"], r["w"], r["h"]),
            landmarks=_landmarks(r),
            descriptor=None if blob is None else np.frombuffer(blob, dtype="<f4").copy(),
            suggested_subject=r["suggested_name"],
            suggested_distance=r["suggested_distance"],
            confirmed_subject=r["confirmed_name"],
        )

    def replace_faces(self, photo_id: int, faces: Sequence[FaceData]) -> list[Face]:
        """Store a fresh detection for a photo; a face the user had confirmed keeps its subject."""
        self.get_photo(photo_id)
        old = self._rows(
            "SELECT x, y, w, h, confirmed_subject FROM faces WHERE photo = ?", [photo_id]
        )
        confirmed = [
            ((r["x"], r["y"], r["w"], r["h"]), r["confirmed_subject"])
            for r in old
            if r["confirmed_subject"]
        ]
        rows = []
        for face in faces:
            box = tuple(int(v) for v in face.box)
            if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
                raise ValueError(f"a face box is x, y, w, h with a positive size, not {face.box!r}")
            descriptor = None
            if face.descriptor is not None:
                d = np.asarray(face.descriptor, dtype=np.float32).reshape(-1)
                if d.size != DESCRIPTOR_SIZE:
                    raise ValueError(
                        f"a face descriptor has {DESCRIPTOR_SIZE} values, not {d.size}"
                    )
                descriptor = d.astype("<f4").tobytes()
            keep = max(confirmed, key=lambda c, b=box: _iou(b, c[0]), default=None)
            subject = keep[1] if keep is not None and _iou(box, keep[0]) >= _SAME_FACE_IOU else None
            landmarks = _json([[float(x), float(y)] for x, y in face.landmarks])
            rows.append([photo_id, *box, landmarks, descriptor, subject])
        with self._write() as c:
            c.execute("DELETE FROM faces WHERE photo = ?", [photo_id])
            c.executemany(
                "INSERT INTO faces (photo, x, y, w, h, landmarks, descriptor, confirmed_subject) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return self.list_faces(photo_id=photo_id)

    def list_faces(self, photo_id: int | None = None, subject: str | None = None) -> list[Face]:
        """Faces of one photo and/or faces confirmed as ``subject``."""
        where, params = [], []
        if photo_id is not None:
            where.append("f.photo = ?")
            params.append(photo_id)
        if subject is not None:
            where.append("f.confirmed_subject = ?")
            params.append(self._subject_id(subject))
        sql = self._FACE_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY f.id"
        return [self._face(r) for r in self._rows(sql, params)]

    def get_face(self, face_id: int) -> Face:
        row = self._row(self._FACE_SQL + " WHERE f.id = ?", [face_id])
        if row is None:
            raise Gen2ResError(f"No face with id {face_id}.")
        return self._face(row)

    def _update_face(self, face_id: int, sql: str, params: list[object]) -> None:
        with self._write() as c:
            if c.execute(sql, [*params, face_id]).rowcount == 0:
                raise Gen2ResError(f"No face with id {face_id}.")

    def set_face_suggestion(
        self, face_id: int, subject: str | None, distance: float | None
    ) -> None:
        self._update_face(
            face_id,
            "UPDATE faces SET suggested_subject = ?, suggested_distance = ? WHERE id = ?",
            [self._optional_subject_id(subject), None if subject is None else distance],
        )

    def confirm_face(self, face_id: int, subject: str | None) -> None:
        """Say whose face it is (None: not known / undo)."""
        self._update_face(
            face_id,
            "UPDATE faces SET confirmed_subject = ? WHERE id = ?",
            [self._optional_subject_id(subject)],
        )

    # ------------------------------------------------------------------ adapters

    def adapter_path_for(self, subject: Subject | str) -> Path:
        """Where the subject's adapter lives; named by id so a rename does not move it."""
        return self.adapters_dir / f"subject-{self._subject_id(subject)}.safetensors"

    def _adapter(self, r: sqlite3.Row) -> AdapterRecord:
        return AdapterRecord(
            id=r["id"],
            subject_id=r["subject"],
            subject=r["subject_name"],
            path=self.resolve(r["file"]),
            prior_name=r["prior_name"],
            prior_hash=r["prior_hash"],
            settings=_from_json(r["settings"], {}, dict, f"adapter {r['id']} settings"),
            steps_done=r["steps_done"],
            status=r["status"],
            image_hashes=[
                str(h) for h in _from_json(r["image_hashes"], [], list, f"adapter {r['id']}")
            ],
            job_id=r["job"],
            created=r["created"],
            updated=r["updated"],
        )

    _ADAPTER_SQL = (
        "SELECT a.*, s.name AS subject_name FROM adapters a JOIN subjects s ON s.id = a.subject"
    )

    def get_adapter(self, adapter_id: int) -> AdapterRecord:
        row = self._row(self._ADAPTER_SQL + " WHERE a.id = ?", [adapter_id])
        if row is None:
            raise Gen2ResError(f"No adapter with id {adapter_id}.")
        return self._adapter(row)

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
        """Record a training run of the subject's adapter.

        A "training" row should name its job: without a running job to show it is alive,
        the next :meth:`open` takes it for a crashed run and marks it "interrupted".
        """
        if status not in ADAPTER_STATUSES:
            raise ValueError(f"unknown adapter status {status!r}")
        subj = subject if isinstance(subject, Subject) else self.get_subject(subject)
        t = now()
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO adapters (subject, file, prior_name, prior_hash, settings, steps_done, status, "
                "image_hashes, job, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    subj.id,
                    self.relative(file),
                    prior_name or subj.prior,
                    prior_hash,
                    _json(settings),
                    steps_done,
                    status,
                    _json(list(image_hashes)),
                    job_id,
                    t,
                    t,
                ],
            )
            adapter_id = int(cur.lastrowid)
            if status == "ready":
                self._supersede(c, adapter_id)
        return self.get_adapter(adapter_id)

    @staticmethod
    def _supersede(c: sqlite3.Connection, adapter_id: int) -> None:
        # The new file replaced the old one on disk, so older "ready" rows no longer describe it.
        c.execute(
            "UPDATE adapters SET status = 'superseded' WHERE status = 'ready' AND id != ? AND "
            "(subject, file) = (SELECT subject, file FROM adapters WHERE id = ?)",
            [adapter_id, adapter_id],
        )

    def set_adapter_status(
        self, adapter_id: int, status: str, steps_done: int | None = None
    ) -> AdapterRecord:
        if status not in ADAPTER_STATUSES:
            raise ValueError(f"unknown adapter status {status!r}")
        with self._write() as c:
            cur = c.execute(
                "UPDATE adapters SET status = ?, steps_done = COALESCE(?, steps_done), updated = ? WHERE id = ?",
                [status, steps_done, now(), adapter_id],
            )
            if cur.rowcount == 0:
                raise Gen2ResError(f"No adapter with id {adapter_id}.")
            if status == "ready":
                self._supersede(c, adapter_id)
        return self.get_adapter(adapter_id)

    def latest_adapter(self, subject: Subject | str) -> AdapterRecord | None:
        """The subject's most recent training run, whatever its status."""
        row = self._row(
            self._ADAPTER_SQL + " WHERE a.subject = ? ORDER BY a.id DESC LIMIT 1",
            [self._subject_id(subject)],
        )
        return None if row is None else self._adapter(row)

    def ready_adapter(self, subject: Subject | str) -> AdapterRecord | None:
        """The adapter to restore with: the newest finished one."""
        row = self._row(
            self._ADAPTER_SQL
            + " WHERE a.subject = ? AND a.status = 'ready' ORDER BY a.id DESC LIMIT 1",
            [self._subject_id(subject)],
        )
        return None if row is None else self._adapter(row)

    # ------------------------------------------------------------------ restorations

    def restoration_path_for(self, photo_id: int, seed: int) -> Path:
        """A new, unused file name for a restoration of ``photo_id`` (folder created)."""
        folder = self.restorations_dir / str(int(photo_id))
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return folder / f"{int(photo_id)}-seed{int(seed)}-{stamp}-{uuid.uuid4().hex[:6]}.png"

    def _restoration(self, r: sqlite3.Row) -> Restoration:
        scores = r["identity_scores"]
        return Restoration(
            id=r["id"],
            photo_id=r["photo"],
            subject_id=r["subject"],
            subject=r["subject_name"],
            adapter_id=r["adapter"],
            settings=_from_json(r["settings"], {}, dict, f"restoration {r['id']} settings"),
            seed=r["seed"],
            path=self.resolve(r["file"]),
            identity_scores=None if scores is None else _scores(scores, r["id"]),
            kept=None if r["kept"] is None else bool(r["kept"]),
            created=r["created"],
            damage_map=self.resolve(r["damage_map"]) if r["damage_map"] else None,
        )

    _RESTORATION_SQL = "SELECT r.*, s.name AS subject_name FROM restorations r LEFT JOIN subjects s ON s.id = r.subject"

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
        """Record a restored image already written (atomically) under ``restorations/``,
        with the damage map its repair used (a PNG written there too), if any."""
        self.get_photo(photo_id)
        if adapter_id is not None:
            self.get_adapter(adapter_id)
        rel = self._restoration_file(output_file, "restored image")
        map_rel = None if damage_map is None else self._restoration_file(damage_map, "damage map")
        scores = None if identity_scores is None else _json([float(s) for s in identity_scores])
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO restorations (photo, subject, adapter, settings, seed, file, "
                "identity_scores, created, damage_map) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    photo_id,
                    self._optional_subject_id(subject),
                    adapter_id,
                    _json(settings),
                    int(seed),
                    rel,
                    scores,
                    now(),
                    map_rel,
                ],
            )
            rid = int(cur.lastrowid)
        return self.get_restoration(rid)

    def _restoration_file(self, path: Path, what: str) -> str:
        rel = self.relative(path)
        if not rel.startswith("restorations/"):
            raise Gen2ResError(
                f"Restorations are stored under {self.restorations_dir}, not at {path}."
            )
        if not Path(path).is_file():
            raise Gen2ResError(f"{path}: the {what} was not written.")
        return rel

    def get_restoration(self, restoration_id: int) -> Restoration:
        row = self._row(self._RESTORATION_SQL + " WHERE r.id = ?", [restoration_id])
        if row is None:
            raise Gen2ResError(f"No restoration with id {restoration_id}.")
        return self._restoration(row)

    def list_restorations(self, photo_id: int | None = None) -> list[Restoration]:
        """Newest first."""
        if photo_id is None:
            rows = self._rows(self._RESTORATION_SQL + " ORDER BY r.id DESC")
        else:
            rows = self._rows(
                self._RESTORATION_SQL + " WHERE r.photo = ? ORDER BY r.id DESC", [photo_id]
            )
        return [self._restoration(r) for r in rows]

    def set_restoration_kept(self, restoration_id: int, kept: bool | None) -> None:
        with self._write() as c:
            cur = c.execute(
                "UPDATE restorations SET kept = ? WHERE id = ?",
                [None if kept is None else int(kept), restoration_id],
            )
            if cur.rowcount == 0:
                raise Gen2ResError(f"No restoration with id {restoration_id}.")

    def delete_restoration(self, restoration_id: int) -> None:
        restoration = self.get_restoration(restoration_id)
        with self._write() as c:
            c.execute("DELETE FROM restorations WHERE id = ?", [restoration_id])
        for path in (restoration.path, restoration.damage_map):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    # ------------------------------------------------------------------ preferences

    def get_setting(self, key: str, default: object = None) -> object:
        """A preference kept with this library (JSON value), or ``default``."""
        row = self._row("SELECT value FROM settings WHERE key = ?", [key])
        if row is None:
            return default
        # a damaged value is as good as none; the next save replaces it
        return _from_json(row["value"], default, object, f"setting {key}")

    def set_setting(self, key: str, value: object) -> None:
        with self._write() as c:
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, _json(value)],
            )

    def repair_settings(self) -> RepairSettings:
        """The restore options last chosen in this library (the defaults at first)."""
        try:
            return RepairSettings.from_json(self.get_setting(_REPAIR_KEY))
        except Gen2ResError:
            return RepairSettings()

    def set_repair_settings(self, settings: RepairSettings) -> None:
        self.set_setting(_REPAIR_KEY, settings.to_json())

    # ------------------------------------------------------------------ integrity

    def check(
        self,
        *,
        verify_hashes: bool = True,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> CheckReport:
        """Missing files, orphan files, hash mismatches and database damage; see integrity.py."""
        from gen2res_desktop.library.integrity import check_library

        return check_library(self, verify_hashes=verify_hashes, progress=progress, cancel=cancel)
