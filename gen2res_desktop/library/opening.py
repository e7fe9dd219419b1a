"""Opening a library folder: a lost album is never replaced by an empty database, a new
folder is made private, an older schema is copied and then upgraded, and an up-to-date
one gets its daily copy. A look (``readonly``) writes nothing at all where it can."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import backups, schema
from gen2res_desktop.library.database import DB_NAME, Database, readonly_connect, sqlite_error

log = logging.getLogger(__name__)

# Group and others get nothing: the folder holds a family's photos (see _make_private).
_PRIVATE = 0o700


def open_database(home: Path, *, readonly: bool = False) -> Database:
    """Open (creating if needed) the database in ``home``; ``readonly``: see
    ``Library.open``."""
    home = Path(home)
    db_path = home / DB_NAME
    _refuse_lost_database(home, db_path)
    if readonly and _current_schema(home, db_path):
        db = Database(home, readonly=True)
        try:
            db.hold_open_lock(create=False)
            schema.refuse_newer(schema.user_version(db.connection()), db_path)
        except sqlite3.Error as e:
            db.close()
            raise sqlite_error(e, home) from e
        except BaseException:
            db.close()
            raise
        return db
    db = Database(home)
    new = not db_path.exists()
    try:
        home.mkdir(mode=_PRIVATE, parents=True, exist_ok=True)
        if new:
            _make_private(home)
        for folder in (*db.writes_into, db.locks_dir):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Gen2ResError(f"Cannot create the library folder {home} ({e.strerror or e}).") from e
    try:
        db.hold_open_lock(create=True)
        _upgrade(db)
        db.pin_file()
    except sqlite3.Error as e:
        db.close()
        raise sqlite_error(e, home) from e
    except BaseException:
        db.close()
        raise
    return db


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


def _refuse_lost_database(home: Path, db_path: Path) -> None:
    """A missing or empty database beside photos is a lost album, not a new library:
    never replace it with an empty one."""
    try:
        size = db_path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        size = None
    except OSError as e:
        raise Gen2ResError(
            f"Cannot read the library database in {home} ({e.strerror or e})."
        ) from e
    if size and size > 0:
        return
    if not backups.has_content(home):
        return
    state = "missing" if size is None else "empty (0 bytes)"
    raise Gen2ResError(
        f"The library database in {home} is {state}, but the library holds photos; "
        "Gen2Res did not start a new empty one, which would lose your subjects, tags and "
        f"restorations. {backups.newest_hint(home)}"
    )


def _current_schema(home: Path, db_path: Path) -> bool:
    """True when the database exists and needs no upgrade (so it can be read as it is)."""
    if not db_path.is_file():
        return False
    try:
        conn = readonly_connect(db_path)
        try:
            return schema.user_version(conn) >= schema.SCHEMA_VERSION
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise sqlite_error(e, home) from e


def _upgrade(db: Database) -> None:
    """Bring the schema up to date, after a copy of an older one; a library already up to
    date gets its daily copy instead."""
    conn = db.connection()
    version = schema.user_version(conn)
    schema.refuse_newer(version, db.db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    if version == schema.SCHEMA_VERSION:
        _daily_backup(db.home, conn)
        return
    if version > 0:  # a new, empty database has nothing worth a copy
        backups.make_backup(conn, db.home, "upgrade", version)
    schema.migrate(conn, db.db_path)


def _daily_backup(home: Path, conn: sqlite3.Connection) -> None:
    try:
        backups.daily_backup(conn, home)
    except (OSError, sqlite3.Error, Gen2ResError) as e:
        # a backup that cannot be written (full disk) must not keep the library shut
        log.warning("daily backup of %s skipped: %s", home, e)
