"""Database backups and a lost database: rotating daily copies, restore with a check, and a
missing, empty or damaged database next to photos never silently replaced."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from library_helpers import write_photos

from gen2res_desktop.cli.main import main
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import Library, locks
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
