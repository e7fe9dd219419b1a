"""Database backups and a lost database: rotating daily copies, restore with a check, and a
missing, empty or damaged database next to photos never silently replaced."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import types

import pytest
from library_helpers import write_photos

from gen2res_desktop.cli.main import main
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import Library, backups, locks
from gen2res_desktop.library.backups import KEEP_DAILY, list_backups, restore_backup


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def album(gen2res_home, tmp_path):
    """A library with a photo, a subject and a tag, closed."""
    with Library.open(gen2res_home) as lib:
        (path,) = write_photos(tmp_path / "in", 1)
        pid = lib.import_paths([path]).imported[0].photo_id
        lib.add_subject("Rose", "person")
        lib.tag([pid], "Rose", "reference")
    return gen2res_home


def age_backups(home, days: float) -> None:
    """Pretend every backup was made ``days`` ago (the time is in the name)."""
    for b in list_backups(home):
        old = b.created - dt.timedelta(days=days)
        stem = b.name.rsplit("-", 1)[0]
        b.path.rename(b.path.with_name(f"{stem}-{old.strftime('%Y%m%dT%H%M%S%f')}.sqlite3"))


def test_a_daily_copy_is_made_and_only_the_last_five_kept(album):
    assert list_backups(album) == []  # a new library has nothing worth a copy yet
    with Library.open(album):
        pass
    (first,) = list_backups(album)
    assert first.kind == "daily"
    with Library.open(album):  # the same day: no second copy
        pass
    assert len(list_backups(album)) == 1
    for _ in range(KEEP_DAILY + 2):
        age_backups(album, 1.5)
        with Library.open(album):
            pass
    found = list_backups(album)
    assert len(found) == KEEP_DAILY and all(b.kind == "daily" for b in found)


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_a_lost_database_beside_photos_is_refused_not_replaced(album, state):
    with Library.open(album):
        pass  # leaves a daily copy
    db = album / "library.sqlite3"
    if state == "missing":
        db.unlink()
    else:
        db.write_bytes(b"")
    with pytest.raises(Gen2ResError) as info:
        Library.open(album)
    text = str(info.value)
    assert state in text and "holds photos" in text and "library-daily-" in text
    assert "restore-backup" in text and "\n" not in text
    assert db.exists() == (state == "empty") and (not db.exists() or db.stat().st_size == 0)


def test_a_new_library_without_photos_still_starts(gen2res_home):
    with Library.open(gen2res_home) as lib:
        assert lib.list_photos() == []


def test_restore_backup_brings_the_album_back_and_keeps_what_it_replaced(capsys, album):
    with Library.open(album):
        pass
    (album / "library.sqlite3").write_bytes(b"")  # the database is lost
    code, out, err = run(capsys, "library", "backups", "--json")
    assert code == 0 and json.loads(out)[0]["kind"] == "daily"
    code, _, err = run(capsys, "photos", "list")
    assert code == 1 and "holds photos" in err
    code, out, err = run(capsys, "library", "restore-backup")
    assert code == 0, err
    with Library.open(album) as lib:
        (photo,) = lib.list_photos(subject="Rose", role="reference")
        assert lib.check().ok
    code, out, _ = run(capsys, "photos", "list")
    assert code == 0 and photo.original_name in out


def test_restore_backup_keeps_the_current_database_aside(album):
    with Library.open(album):
        pass
    with Library.open(album) as lib:
        lib.add_subject("Added later", "cat")
    restore_backup(album)
    replaced = [b for b in list_backups(album) if b.kind == "replaced"]
    assert len(replaced) == 1
    with Library.open(album) as lib:
        assert [s.name for s in lib.list_subjects()] == ["Rose"]


def test_a_damaged_backup_is_refused_and_nothing_changes(album):
    with Library.open(album):
        pass
    (backup,) = list_backups(album)
    backup.path.write_bytes(b"SQLite format 3\x00" + b"garbage" * 500)
    before = (album / "library.sqlite3").read_bytes()
    with pytest.raises(Gen2ResError, match="not a usable library database|damaged"):
        restore_backup(album)
    assert (album / "library.sqlite3").read_bytes() == before


def test_restore_backup_waits_for_running_jobs(album):
    with Library.open(album):
        pass
    held = locks.OwnerLock(album / "locks", "a" * 32)
    try:
        with pytest.raises(Gen2ResError, match="is working on this library"):
            restore_backup(album)
    finally:
        held.release()
    restore_backup(album)


def test_a_damaged_database_names_the_newest_backup(album):
    with Library.open(album):
        pass
    db = album / "library.sqlite3"
    for extra in album.glob("library.sqlite3-*"):
        extra.unlink()
    db.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(Gen2ResError) as info:
        Library.open(album)
    assert "damaged" in str(info.value) and "library-daily-" in str(info.value)


# -- a backup restored while the library is open (issue 24, item 1) ----------------------

HOLD_OPEN = """
import sys
from gen2res_desktop.library import Library
lib = Library.open(sys.argv[1], readonly=sys.argv[2] == "ro")
print("open", flush=True)
sys.stdin.read()  # like the app, idle until it is closed
lib.close()
"""


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_restore_backup_is_refused_while_another_process_has_the_library_open(capsys, album, mode):
    with Library.open(album):
        pass  # leaves a daily copy
    db = album / "library.sqlite3"
    before = (db.stat().st_ino, db.read_bytes())
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(album), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open", holder.stderr.read()
        with pytest.raises(Gen2ResError, match="Close Gen2Res") as info:
            restore_backup(album)
        assert "\n" not in str(info.value)
        code, _, err = run(capsys, "library", "restore-backup")
        assert code == 1 and "Close Gen2Res" in err and "Traceback" not in err
        assert (db.stat().st_ino, db.read_bytes()) == before
        assert [b.kind for b in list_backups(album)] == ["daily"]
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0, holder.stderr
    restore_backup(album)  # closed: now it goes ahead
    assert sorted(b.kind for b in list_backups(album)) == ["daily", "replaced"]


def test_a_library_whose_database_was_replaced_under_it_stops_writing(album):
    with Library.open(album):
        pass
    (backup,) = list_backups(album)
    lib = Library.open(album)
    try:
        lib.add_subject("Before", "cat")
        # what an older Gen2Res (or a file manager) does: no lock asked, the file swapped
        db = album / "library.sqlite3"
        aside = album / "backups" / "moved-aside.sqlite3"
        os.replace(db, aside)
        for suffix in ("-wal", "-shm"):
            if (album / f"library.sqlite3{suffix}").exists():
                os.replace(
                    album / f"library.sqlite3{suffix}", album / f"moved-aside.sqlite3{suffix}"
                )
        shutil.copyfile(backup.path, db)
        with pytest.raises(Gen2ResError, match="replaced") as info:
            lib.add_subject("After", "dog")
        assert "nothing was written" in str(info.value) and "\n" not in str(info.value)
    finally:
        lib.close()
    # neither the copy it had open nor the new database got the subject
    for path in (aside, db):
        conn = sqlite3.connect(path)
        names = {r[0] for r in conn.execute("SELECT name FROM subjects")}
        conn.close()
        assert "After" not in names, path
    with Library.open(album) as again:
        assert [s.name for s in again.list_subjects()] == ["Rose"]
        again.add_subject("After", "dog")  # a fresh open writes where it should


# -- a full disk while restoring (issue 24, item 6) ----------------------------------------


def _sqlite_whose_copies_fail(error: BaseException):
    """The sqlite3 module as backups.py sees it, with every backup() copy failing."""

    class Conn:
        def __init__(self, conn):
            self._conn = conn

        def __getattr__(self, name):
            return getattr(self._conn, name)

        def backup(self, *args, **kwargs):
            raise error

    fake = types.SimpleNamespace(**{k: getattr(sqlite3, k) for k in dir(sqlite3) if k[0] != "_"})
    fake.connect = lambda *a, **k: Conn(sqlite3.connect(*a, **k))
    return fake


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database or disk is full"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
    ids=["sqlite", "oserror"],
)
def test_a_full_disk_while_restoring_says_so_and_keeps_the_library(
    capsys, album, monkeypatch, error
):
    with Library.open(album) as lib:
        lib.add_subject("Added later", "cat")
    before = {p.name: p.read_bytes() for p in album.iterdir() if p.is_file()}
    monkeypatch.setattr(backups, "sqlite3", _sqlite_whose_copies_fail(error))
    code, _, err = run(capsys, "library", "restore-backup")
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1, err
    assert "disk is full" in err and "not a usable" not in err
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in album.iterdir() if p.is_file()} == before
    assert [b.kind for b in list_backups(album)] == ["daily"]
    with Library.open(album) as lib:
        assert sorted(s.name for s in lib.list_subjects()) == ["Added later", "Rose"]


def _no_more_bytes() -> None:
    """In the child: every write that would grow a file fails (EFBIG), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_a_disk_that_takes_no_more_bytes_is_not_blamed_on_the_backup(album):
    with Library.open(album) as lib:
        lib.add_subject("Added later", "cat")
    db = album / "library.sqlite3"
    before = db.read_bytes()
    r = subprocess.run(
        [sys.executable, "-m", "gen2res_desktop.cli.main", "library", "restore-backup"],
        env={**os.environ, "GEN2RES_HOME": str(album)},
        preexec_fn=_no_more_bytes,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "not a usable" not in r.stderr and "damaged" not in r.stderr
    assert "disk" in r.stderr and "left as it was" in r.stderr
    assert db.read_bytes() == before
    assert [b.kind for b in list_backups(album)] == ["daily"]
    assert not [p for p in album.iterdir() if p.name.startswith(".tmp-")]


def test_no_library_opens_while_a_backup_is_being_put_in_place(album, monkeypatch):
    from gen2res_desktop.library import database

    monkeypatch.setattr(database, "OPEN_WAIT_S", 0.2)
    held = locks.OpenLock.exclusive(album / "locks")  # what restore_backup holds meanwhile
    try:
        for readonly in (False, True):
            with pytest.raises(Gen2ResError, match="being restored right now"):
                Library.open(album, readonly=readonly)
    finally:
        held.release()
    with Library.open(album, readonly=True) as lib:
        assert [s.name for s in lib.list_subjects()] == ["Rose"]
