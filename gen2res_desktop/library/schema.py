"""The library database's tables and the migrations between its versions.

``PRAGMA user_version`` holds the schema version. Each entry of ``MIGRATIONS`` takes the
database from version ``i`` to ``i + 1``; released steps are never edited, only appended,
so an old library always takes the same path forward. All pending steps run in one
``BEGIN EXCLUSIVE`` transaction. The copy of the database taken before (``backups``) is
the opener's to make (``opening.open_database``): the schema knows no other module.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError

# Version 1: the album itself (photos, subjects, their links, jobs).
_V1 = """
CREATE TABLE photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL,
    original_name TEXT NOT NULL,
    original_path TEXT NOT NULL,
    imported TEXT NOT NULL,
    size INTEGER NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    mode TEXT NOT NULL,
    taken TEXT,
    exif TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE subjects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'cat', 'dog')),
    prior TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE photo_links (
    photo INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    subject INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('reference', 'restore')),
    added TEXT NOT NULL,
    PRIMARY KEY (photo, subject)
);
CREATE INDEX photo_links_subject ON photo_links(subject, role);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled', 'interrupted')),
    progress INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    owner TEXT NOT NULL,
    pending_file TEXT,
    started TEXT NOT NULL,
    updated TEXT NOT NULL,
    finished TEXT
);
CREATE INDEX jobs_state ON jobs(state);
"""

# Version 2: what the engine produces (faces, adapters, restorations).
_V2 = """
CREATE TABLE faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    x INTEGER NOT NULL,
    y INTEGER NOT NULL,
    w INTEGER NOT NULL,
    h INTEGER NOT NULL,
    landmarks TEXT NOT NULL DEFAULT '[]',
    descriptor BLOB,
    suggested_subject INTEGER REFERENCES subjects(id) ON DELETE SET NULL,
    suggested_distance REAL,
    confirmed_subject INTEGER REFERENCES subjects(id) ON DELETE SET NULL
);
CREATE INDEX faces_photo ON faces(photo);
CREATE INDEX faces_confirmed ON faces(confirmed_subject);
CREATE TABLE adapters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    prior_name TEXT NOT NULL,
    prior_hash TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    steps_done INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN
        ('training', 'ready', 'cancelled', 'failed', 'interrupted', 'superseded')),
    image_hashes TEXT NOT NULL DEFAULT '[]',
    job INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX adapters_subject ON adapters(subject);
CREATE TABLE restorations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    subject INTEGER REFERENCES subjects(id) ON DELETE SET NULL,
    adapter INTEGER REFERENCES adapters(id) ON DELETE SET NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    seed INTEGER NOT NULL,
    file TEXT NOT NULL,
    identity_scores TEXT,
    kept INTEGER,
    created TEXT NOT NULL
);
CREATE INDEX restorations_photo ON restorations(photo);
"""

# A pet has no detector: the square the user drew around it, "x,y,size" in photo pixels.
_V3 = """
ALTER TABLE photos ADD COLUMN crop TEXT;
"""

# The whole-photo repair: the damage map the user painted for a photo (a PNG under
# masks/), the map a restoration used (beside its image), and per-library preferences
# such as the restore options, as JSON values by key.
_V4 = """
ALTER TABLE photos ADD COLUMN damage_map TEXT;
ALTER TABLE restorations ADD COLUMN damage_map TEXT;
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Names other photo managers wrote into the photo files (XMP regions, people keywords,
# Picasa's ini), read on import: one row per named face, x/y/w/h NULL for a keyword name;
# ``applied`` once the name was given to a face, so a face the user then said is someone
# else is not named again at the next detection (library/named_faces.py).
_V5 = """
CREATE TABLE named_regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    app TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'face',
    x INTEGER,
    y INTEGER,
    w INTEGER,
    h INTEGER,
    applied INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX named_regions_photo ON named_regions(photo);
CREATE INDEX named_regions_name ON named_regions(name COLLATE NOCASE);
"""

# How each face was found (core.faces.DetectedFace.found_by: the first search, or the
# second one that runs on a faded print's brightened copy only when the first found none)
# and when the photo's faces were last searched for, so "none found" is told from "not
# searched yet" (issue 23). Faces stored before say nothing of their pass (NULL). A photo
# is known to have been searched when it has faces, or when a restore recorded that none
# was found on it ("faces_note": restoring a person's photo searches it first); such
# photos count as searched at the upgrade, the time they were searched being unknown.
_V6 = """
ALTER TABLE faces ADD COLUMN found_by TEXT;
ALTER TABLE photos ADD COLUMN faces_searched TEXT;
UPDATE photos SET faces_searched = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    WHERE EXISTS (SELECT 1 FROM faces f WHERE f.photo = photos.id)
    OR EXISTS (SELECT 1 FROM restorations r
               WHERE r.photo = photos.id AND r.settings LIKE '%"faces_note"%');
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction, so statements run one by one.
    return [s.strip() for s in script.split(";") if s.strip()]


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def refuse_newer(version: int, db_path: Path) -> None:
    """A newer Gen2Res may store things this one does not know about: do not touch it."""
    if version > SCHEMA_VERSION:
        raise Gen2ResError(
            f"The library at {db_path.parent} was written by a newer version of Gen2Res "
            f"(database schema {version}; this version knows up to {SCHEMA_VERSION}). "
            "Update Gen2Res to open it; the library was not changed."
        )


def migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Bring the database to SCHEMA_VERSION.

    ``conn`` must be in autocommit mode (isolation_level=None). Several processes may
    open the same library at once: the version is read again inside the exclusive
    transaction, so only one of them runs the steps.
    """
    version = user_version(conn)
    refuse_newer(version, db_path)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN EXCLUSIVE")
    try:
        version = user_version(conn)
        refuse_newer(version, db_path)
        for step in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[step]):
                conn.execute(statement)
        # PRAGMA does not take parameters; the value is our own integer.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
