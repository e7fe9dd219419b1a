"""Migrations from older databases keep the data; newer or damaged databases are refused."""

from __future__ import annotations

import sqlite3

import pytest

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import Library
from gen2res_desktop.library.schema import SCHEMA_VERSION

# Version 1 as it was released, written out here so a later edit of the migration code
# cannot quietly change what "an old library" means.
V1 = """
CREATE TABLE photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE, file TEXT NOT NULL,
    original_name TEXT NOT NULL, original_path TEXT NOT NULL, imported TEXT NOT NULL,
    size INTEGER NOT NULL, format TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    mode TEXT NOT NULL, taken TEXT, exif TEXT NOT NULL DEFAULT '{}');
CREATE TABLE subjects (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'cat', 'dog')), prior TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE photo_links (
    photo INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    subject INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('reference', 'restore')), added TEXT NOT NULL,
    PRIMARY KEY (photo, subject));
CREATE INDEX photo_links_subject ON photo_links(subject, role);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled', 'interrupted')),
    progress INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '',
    error TEXT, owner TEXT NOT NULL, pending_file TEXT, started TEXT NOT NULL, updated TEXT NOT NULL,
    finished TEXT);
CREATE INDEX jobs_state ON jobs(state);
INSERT INTO photos VALUES (1, 'abc', 'photos/ab/abc.jpg', 'rose.jpg', '/scans/rose.jpg', '2024-01-01T00:00:00Z',
    3, 'JPEG', 640, 480, 'RGB', '1987-06-05T14:30:00', '{"make": "Kodak"}');
INSERT INTO subjects VALUES (1, 'Rose', 'person', 'face', '2024-01-01T00:00:00Z');
INSERT INTO photo_links VALUES (1, 1, 'reference', '2024-01-01T00:00:00Z');
INSERT INTO jobs VALUES (1, 'import', 'done', 1, 1, '', NULL, '0123', NULL, '2024', '2024', '2024');
PRAGMA user_version = 1;
"""


def _make_db(home, script: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(home / "library.sqlite3")
    conn.executescript(script)
    conn.close()


def test_migration_from_version_1_keeps_data_and_backs_up(gen2res_home):
    _make_db(gen2res_home, V1)
    (gen2res_home / "photos" / "ab").mkdir(parents=True)
    (gen2res_home / "photos" / "ab" / "abc.jpg").write_bytes(b"abc")

    with Library.open(gen2res_home) as lib:
        assert lib.db.row("PRAGMA user_version")[0] == SCHEMA_VERSION
        (photo,) = lib.list_photos(subject="Rose", role="reference")
        assert (photo.original_name, photo.taken, photo.exif) == (
            "rose.jpg",
            "1987-06-05T14:30:00",
            {"make": "Kodak"},
        )
        assert lib.get_subject("Rose").reference_count == 1
        assert lib.get_job(1).state == "done"
        # The new tables work with the old rows.
        assert lib.latest_adapter("Rose") is None and lib.list_faces(photo_id=1) == []
        lib.record_adapter("Rose", lib.adapter_path_for("Rose"), "h", {}, 0, "cancelled", [])

    (backup,) = (gen2res_home / "backups").iterdir()
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("SELECT original_name FROM photos").fetchall() == [("rose.jpg",)]
    old.close()

    with Library.open(gen2res_home):  # already current: no second backup
        pass
    assert len(list((gen2res_home / "backups").iterdir())) == 1


def test_a_failed_migration_changes_nothing(gen2res_home, monkeypatch):
    from gen2res_desktop.library import schema

    _make_db(gen2res_home, V1)
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        (*schema.MIGRATIONS[:1], schema.MIGRATIONS[1] + ";\nCREATE TABLE photos (x)"),
    )
    with pytest.raises(Gen2ResError, match="Library database error"):
        Library.open(gen2res_home)
    conn = sqlite3.connect(gen2res_home / "library.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "faces" not in tables and "photos" in tables
    conn.close()


def test_newer_schema_is_refused_untouched(gen2res_home):
    _make_db(gen2res_home, "CREATE TABLE future (x); PRAGMA user_version = 99;")
    before = (gen2res_home / "library.sqlite3").read_bytes()
    with pytest.raises(Gen2ResError, match=r"newer version of Gen2Res \(database schema 99"):
        Library.open(gen2res_home)
    assert (gen2res_home / "library.sqlite3").read_bytes() == before


def test_damaged_database_is_explained(gen2res_home):
    gen2res_home.mkdir(parents=True)
    (gen2res_home / "library.sqlite3").write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(Gen2ResError, match="damaged"):
        Library.open(gen2res_home)


# Rows of a version 5 library: a photo with a confirmed face, a photo a restore found no
# face on (its note), a photo restored with faces off, and one never looked at.
V5_ROWS = """
INSERT INTO photos (id, hash, file, original_name, original_path, imported, size, format,
    width, height, mode) VALUES
    (1, 'a1', 'photos/a1/a1.png', 'rose.png', '/scans/rose.png', '2024-01-01T00:00:00Z', 3, 'PNG', 64, 48, 'RGB'),
    (2, 'b2', 'photos/b2/b2.png', 'cups.png', '/scans/cups.png', '2024-01-01T00:00:00Z', 3, 'PNG', 64, 48, 'RGB'),
    (3, 'c3', 'photos/c3/c3.png', 'fold.png', '/scans/fold.png', '2024-01-01T00:00:00Z', 3, 'PNG', 64, 48, 'RGB'),
    (4, 'd4', 'photos/d4/d4.png', 'dog.png', '/scans/dog.png', '2024-01-01T00:00:00Z', 3, 'PNG', 64, 48, 'RGB');
INSERT INTO subjects VALUES (1, 'Rose', 'person', 'face', '2024-01-01T00:00:00Z');
INSERT INTO faces (id, photo, x, y, w, h, landmarks, confirmed_subject)
    VALUES (7, 1, 5, 6, 20, 20, '[[1.5, 2.5]]', 1);
INSERT INTO restorations (photo, settings, seed, file, created) VALUES
    (2, '{"faces_note": "No face found in cups.png.", "restore_faces": true}', 0,
     'restorations/2/0.png', '2024-01-02T00:00:00Z'),
    (3, '{"restore_faces": false}', 0, 'restorations/3/0.png', '2024-01-02T00:00:00Z');
PRAGMA user_version = 5;
"""


def test_version_5_libraries_keep_their_faces_and_learn_which_photos_were_searched(
    gen2res_home,
):
    from gen2res_desktop.library import FaceData, schema

    assert SCHEMA_VERSION == 6
    _make_db(gen2res_home, "".join(schema.MIGRATIONS[:5]) + V5_ROWS)
    with Library.open(gen2res_home) as lib:
        assert lib.db.row("PRAGMA user_version")[0] == 6
        (face,) = lib.list_faces(photo_id=1)
        assert (face.id, face.box, face.landmarks, face.confirmed_subject) == (
            7,
            (5, 6, 20, 20),
            [(1.5, 2.5)],
            "Rose",
        )
        assert face.found_by is None and face.second_pass is None  # not known: stored before
        searched = {p.id: p.faces_searched for p in lib.list_photos()}
        # a photo with a face, or one a restore found none on, was searched; the others not
        assert searched[1] is not None and searched[2] is not None
        assert searched[3] is None and searched[4] is None
        assert len(lib.list_restorations(2)) == 1 and lib.get_photo(4).original_name == "dog.png"
        (new,) = lib.replace_faces(4, [FaceData((1, 1, 30, 30), found_by="hog, enhanced")])
        assert new.found_by == "hog, enhanced" and lib.get_photo(4).faces_searched is not None
    assert any(p.name.startswith("library-v5-") for p in (gen2res_home / "backups").iterdir())
