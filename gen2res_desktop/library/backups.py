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
the database is missing or damaged and the library refuses to open.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import locks

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
    from gen2res_desktop.library.schema import SCHEMA_VERSION

    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True)
    except sqlite3.Error as e:
        raise Gen2ResError(f"{path.name}: cannot be opened ({e}).") from e
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise Gen2ResError(f"{path.name} is damaged ({result}); choose another backup.")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as e:
        raise Gen2ResError(f"{path.name} is not a usable library database ({e}).") from e
    finally:
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
    as a ``replaced`` copy. Refused while a Gen2Res job (import, training, restore) is
    running on this library.
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
    if lock_folder.is_dir() and any(
        locks.owner_alive(lock_folder, p.stem) for p in lock_folder.glob("*.lock")
    ):
        raise Gen2ResError(
            "Gen2Res is working on this library (an import, training or restore is running); "
            "wait for it to finish or cancel it, close Gen2Res and try again."
        )
    db = home / DB_NAME
    with atomic_path(db) as tmp:
        src = sqlite3.connect(readonly_uri(chosen.path), uri=True)
        dest = sqlite3.connect(tmp)
        try:
            src.backup(dest)
        finally:
            src.close()
            dest.close()
        # the copy is whole: only now does the current database step aside, with its WAL
        if db.is_file() and db.stat().st_size > 0:
            keep = backups_dir(home) / f"library-replaced-{_stamp()}.sqlite3"
            os.replace(db, keep)
            with contextlib.suppress(FileNotFoundError):
                os.replace(home / f"{DB_NAME}-wal", keep.with_name(f"{keep.name}-wal"))
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (home / f"{DB_NAME}{suffix}").unlink()
    return chosen
