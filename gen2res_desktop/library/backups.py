"""Copies of the library database in ``backups/``, and bringing one back.

Three kinds, told apart by their names:

- ``library-v<N>-<time>.sqlite3``: taken before a schema upgrade from version N (kept);
- ``library-daily-<time>.sqlite3``: taken when the library is opened and no copy is younger
  than a day (the newest ``KEEP_DAILY`` are kept);
- ``library-replaced-<time>.sqlite3``: the database a restored backup replaced (kept).

Copies are made with SQLite's online backup API (a file copy would miss what is still in
the WAL) into a temporary file that is renamed into place, so a copy cut short by a crash
is never taken for a backup. Times are UTC.

Restoring works on the folder, without opening the library: it is what a user does when
the database is missing or damaged and the library refuses to open. It is refused while
any process has the library open (each open Library shares ``locks/library.open``; the
restore takes it exclusively), since that process would go on writing into the database
set aside. The backup is copied whole (and synced) next to the database before anything
is moved, so a full disk stops it with the current library as it was.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gen2res_desktop.core.atomic import TEMP_PREFIX, atomic_path
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import locks
from gen2res_desktop.library.schema import SCHEMA_VERSION

DB_NAME = "library.sqlite3"
FOLDER = "backups"
KEEP_DAILY = 5
DAILY_SECONDS = 24 * 3600
_STAMP = "%Y%m%dT%H%M%S%f"
_NAME_RE = re.compile(
    r"^library-(?:v(?P<version>\d+)|(?P<kind>daily|replaced))-(?P<stamp>\d{8}T\d{12})\.sqlite3$"
)
# Library content that makes an empty database a loss rather than a new library.
_CONTENT_FOLDERS = ("photos", "restorations", "adapters", "masks")


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str  # "upgrade", "daily" or "replaced"
    created: _dt.datetime
    from_version: int | None  # the schema it was taken from, for an upgrade copy

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def describe(self) -> str:
        when = self.created.strftime("%Y-%m-%d %H:%M UTC")
        what = {
            "upgrade": f"before the upgrade from version {self.from_version}",
            "daily": "daily copy",
            "replaced": "the database a restored backup replaced",
        }[self.kind]
        return f"{self.name} ({when}, {what})"


def readonly_uri(path: Path) -> str:
    """An SQLite URI opening ``path`` read-only (any character in the path quoted)."""
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"


def _read_connect(path: Path) -> sqlite3.Connection:
    """A read-only connection to a database file that writes nothing beside it when it can:
    reading a WAL-mode file (as backups are) needs a shared-memory file, which a full disk
    cannot make; a file whose WAL holds nothing can be read as it is (``immutable``)."""
    conn = sqlite3.connect(readonly_uri(path), uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        wal = path.with_name(path.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise
    return sqlite3.connect(readonly_uri(path) + "&immutable=1", uri=True)


_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _disk_trouble(e: BaseException) -> bool:
    """An error of the disk (full, read-only, failing) rather than of the file's contents."""
    if isinstance(e, OSError):
        return True
    text = str(e).lower()
    return any(w in text for w in ("full", "disk i/o", "readonly", "read-only", "unable to open"))


def _disk_full(e: BaseException, folder: Path, needed: int) -> bool:
    if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
        return True
    if "full" in str(e).lower():
        return True
    try:  # SQLite says only "disk I/O error" for most failed writes
        return shutil.disk_usage(folder).free < needed
    except OSError:
        return False


def _size_text(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{max(size, 1e6) / 1e6:.0f} MB"


def backups_dir(home: Path) -> Path:
    return Path(home) / FOLDER


def _stamp(now: _dt.datetime | None = None) -> str:
    return (now or _dt.datetime.now(_dt.UTC)).strftime(_STAMP)


def list_backups(home: Path) -> list[Backup]:
    """The backups of the library in ``home``, newest first."""
    folder = backups_dir(home)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        m = _NAME_RE.match(path.name)
        if m is None or not path.is_file():
            continue
        created = _dt.datetime.strptime(m["stamp"], _STAMP).replace(tzinfo=_dt.UTC)
        version = m["version"]
        kind = m["kind"] or "upgrade"
        found.append(Backup(path, kind, created, int(version) if version else None))
    return sorted(found, key=lambda b: b.created, reverse=True)


def make_backup(conn: sqlite3.Connection, home: Path, kind: str, version: int = 0) -> Path:
    """Copy the open database ``conn`` into ``backups/`` as a backup of ``kind``."""
    label = f"v{version}" if kind == "upgrade" else kind
    target = backups_dir(home) / f"library-{label}-{_stamp()}.sqlite3"
    with atomic_path(target, overwrite=False) as tmp:
        dest = sqlite3.connect(tmp)
        try:
            conn.backup(dest)
        finally:
            dest.close()
    return target


def daily_backup(conn: sqlite3.Connection, home: Path) -> Path | None:
    """A daily copy when the newest backup of any kind is older than a day; the oldest daily
    copies beyond KEEP_DAILY are removed. Returns the copy made, if any."""
    existing = list_backups(home)
    now = _dt.datetime.now(_dt.UTC)
    if existing and (now - existing[0].created).total_seconds() < DAILY_SECONDS:
        return None
    made = make_backup(conn, home, "daily")
    dailies = [b for b in list_backups(home) if b.kind == "daily"]
    for old in dailies[KEEP_DAILY:]:
        with contextlib.suppress(OSError):
            old.path.unlink()
    return made


def has_content(home: Path) -> bool:
    """True when the library folder holds photos or results a new database would orphan."""
    for name in _CONTENT_FOLDERS:
        folder = Path(home) / name
        if not folder.is_dir():
            continue
        for _, _, files in os.walk(folder):
            if any(not f.startswith(".") for f in files):
                return True
    return False


def newest_hint(home: Path) -> str:
    """A sentence naming the newest backup and how to bring it back (or saying there is none)."""
    found = list_backups(home)
    if not found:
        return "There is no backup of it yet."
    return (
        f"The newest backup is {found[0].describe()}; the app offers to bring it back when it "
        "starts (or gen2res library restore-backup brings it back)."
    )


def check_backup(path: Path) -> int:
    """The schema version of a backup that reads back whole; Gen2ResError if it does not."""
    conn = None
    try:
        conn = _read_connect(path)
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise Gen2ResError(f"{path.name} is damaged ({result}); choose another backup.")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except (sqlite3.Error, OSError) as e:
        if _disk_trouble(e):
            # a full or failing disk is not the backup's fault: say which it is
            raise Gen2ResError(
                f"Cannot read {path.name} ({e}): the disk may be full, read-only or failing, "
                "which says nothing about the backup itself. The current library was left "
                "as it was."
            ) from e
        raise Gen2ResError(f"{path.name} is not a usable library database ({e}).") from e
    finally:
        if conn is not None:
            conn.close()
    if "photos" not in tables:
        raise Gen2ResError(f"{path.name} is not a Gen2Res library database.")
    if version > SCHEMA_VERSION:
        raise Gen2ResError(
            f"{path.name} was written by a newer version of Gen2Res (schema {version})."
        )
    return version


def restore_backup(home: Path, name: str | None = None) -> Backup:
    """Put backup ``name`` (default: the newest) in place of the library's database.

    The backup is checked first; the database it replaces, if any, is kept in ``backups/``
    as a ``replaced`` copy. Refused while any process has the library open (the app, a
    command, a running import or training), and when the disk cannot take the copy; the
    current database is then left as it was.
    """
    home = Path(home)
    found = list_backups(home)
    if not found:
        raise Gen2ResError(f"The library at {home} has no backups.")
    if name is None:
        chosen = found[0]
    else:
        matches = [b for b in found if b.name == name]
        if not matches:
            names = ", ".join(b.name for b in found[:5])
            raise Gen2ResError(f"No backup named '{name}' (newest: {names}).")
        chosen = matches[0]
    check_backup(chosen.path)
    lock_folder = home / "locks"
    try:
        held = locks.OpenLock.exclusive(lock_folder)
    except OSError as e:
        raise _restore_error(e, home, chosen) from e
    if held is None:
        raise Gen2ResError(_in_use_message(lock_folder))
    try:
        # An older Gen2Res holds no open lock, only its jobs' locks.
        if any(locks.owner_alive(lock_folder, p.stem) for p in lock_folder.glob("*.lock")):
            raise Gen2ResError(_in_use_message(lock_folder))
        try:
            _put_in_place(home, chosen)
        except (sqlite3.Error, OSError) as e:
            raise _restore_error(e, home, chosen) from e
    finally:
        held.release()
    return chosen


def _in_use_message(lock_folder: Path) -> str:
    jobs = lock_folder.is_dir() and any(
        locks.owner_alive(lock_folder, p.stem) for p in lock_folder.glob("*.lock")
    )
    if jobs:
        return (
            "Gen2Res is working on this library (an import, training or restore is running); "
            "wait for it to finish or cancel it. Close Gen2Res and try again."
        )
    return (
        "Gen2Res has this library open (the app, or a gen2res command still running), and "
        "it would go on writing into the database set aside. Close Gen2Res and try again."
    )


def _copy_database(src: Path, dest: Path) -> None:
    """Copy the database ``src`` whole into the new file ``dest`` (SQLite's backup API)."""
    source = _read_connect(src)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _put_in_place(home: Path, chosen: Backup) -> None:
    """Copy the backup beside the database, sync it, and only then move the database aside
    and the copy in: renames within the folder, which need no free space."""
    db = home / DB_NAME
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".sqlite3", dir=home)
    os.close(fd)
    tmp = Path(name)
    try:
        _copy_database(chosen.path, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):  # read like the database it replaces
            os.chmod(tmp, db.stat().st_mode & 0o777)
        moved: list[tuple[Path, Path]] = []
        try:
            if db.is_file() and db.stat().st_size > 0:
                keep = backups_dir(home) / f"library-replaced-{_stamp()}.sqlite3"
                keep.parent.mkdir(parents=True, exist_ok=True)
                os.replace(db, keep)
                moved.append((db, keep))
                wal = home / f"{DB_NAME}-wal"
                if wal.exists():
                    os.replace(wal, keep.with_name(f"{keep.name}-wal"))
                    moved.append((wal, keep.with_name(f"{keep.name}-wal")))
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    (home / f"{DB_NAME}{suffix}").unlink()
            os.replace(tmp, db)
        except BaseException:
            for original, aside in reversed(moved):
                with contextlib.suppress(OSError):
                    os.replace(aside, original)
            raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _restore_error(e: BaseException, home: Path, chosen: Backup) -> Gen2ResError:
    if isinstance(e, PermissionError) and os.name == "nt":
        # Windows refuses to move a file another process has open
        return Gen2ResError(_in_use_message(home / "locks"))
    kept = "The current library was left as it was."
    if _disk_full(e, home, chosen.size * 2):
        return Gen2ResError(
            f"The disk is full: bringing back {chosen.name} needs about "
            f"{_size_text(chosen.size)} free in {home}. Free some space and try again. {kept}"
        )
    return Gen2ResError(
        f"Cannot write the restored database into {home} ({e}): the disk may be full, "
        f"read-only or failing. {kept}"
    )
