"""Import: every good photo stored byte for byte, every bad file skipped with its reason."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from library_helpers import TAKEN, camera_jpeg, small_photo, write_photos
from PIL import Image

from gen2res_desktop.core import images
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import CancelToken
from gen2res_desktop.library import importer


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reasons(summary) -> dict[str, str]:
    return {f.path.name: f.reason for f in summary.skipped}


def _db_rows(lib, table: str) -> list[tuple]:
    return [tuple(r) for r in lib.db.rows(f"SELECT * FROM {table} ORDER BY 1")]


@pytest.fixture
def scans(tmp_path, astronaut, chelsea) -> Path:
    """A shoebox folder: good photos in every mode the issue names, and broken files."""
    folder = tmp_path / "shoebox"
    sub = folder / "1987" / "summer"
    sub.mkdir(parents=True)
    (folder / "astronaut.jpg").write_bytes(camera_jpeg(astronaut, orientation=6))
    chelsea.save(folder / "chelsea.png")
    small_photo(1, 64).convert("CMYK").save(sub / "cmyk.jpg")
    arr16 = (np.asarray(small_photo(2, 64).convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(arr16).save(sub / "sixteen.png")
    assert Image.open(sub / "sixteen.png").mode.startswith("I")
    small_photo(3, 64).convert("P").save(sub / "palette.png")
    rgba = small_photo(4, 64).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(sub / "alpha.png")
    small_photo(5, 64).convert("L").save(sub / "gray.jpg")
    small_photo(6, 64).save(sub / "scan.tif")
    small_photo(7, 64).save(sub / "scan.bmp")
    small_photo(8, 64).save(sub / "scan.webp")
    frames = [small_photo(9, 64), small_photo(10, 64)]
    frames[0].save(sub / "anim.gif", save_all=True, append_images=frames[1:])
    # Broken files.
    good = io.BytesIO()
    astronaut.save(good, "JPEG")
    (folder / "truncated.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    png = io.BytesIO()
    small_photo(11, 64).save(png, "PNG")
    damaged = bytearray(png.getvalue())
    damaged[60:90] = bytes(range(30))
    (folder / "corrupt.png").write_bytes(bytes(damaged))
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("Grandma's birthday, 1987")
    # Not photos at all: listed as ignored, not as failures; hidden files are left out.
    (folder / "letter.txt").write_text("Dear Rose")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    return folder


GOOD = {
    "astronaut.jpg": ("JPEG", "RGB"),
    "chelsea.png": ("PNG", "RGB"),
    "cmyk.jpg": ("JPEG", "CMYK"),
    "sixteen.png": ("PNG", None),
    "palette.png": ("PNG", "P"),
    "alpha.png": ("PNG", "RGBA"),
    "gray.jpg": ("JPEG", "L"),
    "scan.tif": ("TIFF", "RGB"),
    "scan.bmp": ("BMP", "RGB"),
    "scan.webp": ("WEBP", "RGB"),
    "anim.gif": ("GIF", "P"),
}


def test_shoebox_import_keeps_every_good_photo_and_explains_every_bad_one(lib, scans):
    before = {p: _sha(p) for p in scans.rglob("*") if p.is_file()}
    steps = []
    summary = lib.import_paths([scans], progress=steps.append)

    assert {f.path.name for f in summary.imported} == set(GOOD)
    reasons = _reasons(summary)
    assert set(reasons) == {"truncated.jpg", "corrupt.png", "empty.jpg", "notes.jpg"}
    assert "truncated" in reasons["truncated.jpg"]
    assert "damaged" in reasons["corrupt.png"]
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert [f.path.name for f in summary.ignored] == ["letter.txt"]
    assert steps[-1].step == steps[-1].total == 15
    assert summary.message().startswith("11 imported, 0 already in the library, 4 skipped")

    # Originals untouched, stored copies byte-identical, named by their hash.
    assert {p: _sha(p) for p in scans.rglob("*") if p.is_file()} == before
    photos = {p.original_name: p for p in lib.list_photos()}
    assert set(photos) == set(GOOD)
    for name, (fmt, mode) in GOOD.items():
        photo = photos[name]
        original = next(scans.rglob(name))
        assert photo.format == fmt
        assert mode is None or photo.mode == mode
        assert lib.photo_path(photo).read_bytes() == original.read_bytes()
        assert photo.hash == _sha(original) and photo.hash in lib.photo_path(photo).name
        assert photo.original_path == os.path.abspath(original)
        rgb = lib.load_photo_rgb(photo)
        assert rgb.mode == "RGB" and rgb.size == (photo.width, photo.height)

    # EXIF: orientation 6 is applied to the pixels (and the size) but not to the stored bytes.
    astro = photos["astronaut.jpg"]
    assert astro.taken == TAKEN.replace(":", "-", 2).replace(" ", "T")
    assert astro.exif["make"] == "Kodak" and astro.exif["orientation"] == 6
    assert (astro.width, astro.height) == (512, 512)
    with Image.open(lib.photo_path(astro)) as stored:
        assert stored.getexif()[0x0112] == 6
    # Transparency is flattened onto white, not black.
    alpha = np.asarray(lib.load_photo_rgb(photos["alpha.png"]), dtype=np.int16)
    assert alpha.mean() > np.asarray(small_photo(4, 64), dtype=np.int16).mean()

    job = lib.get_job(summary.job_id)
    assert (job.kind, job.state, job.progress, job.total) == ("import", "done", 15, 15)
    assert lib.check().ok


def test_orientation_swaps_width_and_height(lib, tmp_path, chelsea):
    path = tmp_path / "sideways.jpg"
    path.write_bytes(camera_jpeg(chelsea, orientation=6))
    summary = lib.import_paths([path])
    photo = lib.get_photo(summary.imported[0].photo_id)
    assert (photo.width, photo.height) == (chelsea.height, chelsea.width)
    assert lib.load_photo_rgb(photo).size == (chelsea.height, chelsea.width)


def test_duplicates_link_to_the_existing_photo(lib, tmp_path):
    (a,) = write_photos(tmp_path / "a", 1)
    copy = tmp_path / "b" / "same bytes, other name.png"
    copy.parent.mkdir()
    copy.write_bytes(a.read_bytes())
    lib.add_subject("Rose", "person")

    first = lib.import_paths([a])
    second = lib.import_paths([copy, a], subject="Rose", role="restore")

    (photo_id,) = [f.photo_id for f in first.imported]
    assert second.imported == []
    assert [f.photo_id for f in second.duplicates] == [photo_id, photo_id]
    assert second.photo_ids == [photo_id, photo_id]
    assert len(lib.list_photos()) == 1
    assert [(link.subject, link.role) for link in lib.photo_subjects(photo_id)] == [
        ("Rose", "restore")
    ]
    assert len([p for p in lib.photos_dir.rglob("*") if p.is_file()]) == 1


def test_unicode_and_very_long_names(lib, tmp_path):
    deep = tmp_path
    for i in range(12):  # a path far beyond Windows' classic 260 characters
        deep = deep / f"Фотографии бабушки Розы {i:02d} – été 1987"
    deep.mkdir(parents=True)
    long_name = "é" * 120 + ".png"  # 244 bytes, near the 255-byte file name limit
    small_photo(1).save(deep / long_name)
    small_photo(2).save(deep / "奶奶的照片 🎂.png")
    assert len(str(deep / long_name)) > 600

    summary = lib.import_paths([tmp_path])

    assert sorted(f.path.name for f in summary.imported) == sorted([long_name, "奶奶的照片 🎂.png"])
    assert {p.original_name for p in lib.list_photos()} == {long_name, "奶奶的照片 🎂.png"}
    assert lib.check().ok


@pytest.mark.skipif(os.name == "nt", reason="Windows names are UTF-16, never raw bytes")
def test_a_name_that_is_not_utf8_never_stops_the_import(lib, tmp_path):
    folder = tmp_path / "shoebox"
    folder.mkdir()
    raw = [b"a first.png", b"oma-\xe9t\xe9 1987.png", b"\xff\xfe\x1b[31m.png", b"z last.png"]
    for i, name in enumerate(raw):
        small_photo(i).save(folder / os.fsdecode(name))

    summary = lib.import_paths([folder])

    assert not summary.skipped and len(summary.imported) == 4
    # the summary keeps the very bytes, so the file can be found again
    assert sorted(os.fsencode(f.path.name) for f in summary.imported) == sorted(raw)
    assert lib.get_job(summary.job_id).state == "done"
    names = sorted(p.original_name for p in lib.list_photos())
    assert names == [
        "\\xff\\xfe\x1b[31m.png",
        "a first.png",
        "oma-\\xe9t\\xe9 1987.png",
        "z last.png",
    ]
    for photo in lib.list_photos():
        photo.original_name.encode("utf-8")  # readable text, whatever the bytes were
        photo.original_path.encode("utf-8")
    # the database holds the original path byte for byte
    stored = {bytes(r[0]) for r in lib.db.rows("SELECT CAST(original_path AS BLOB) FROM photos")}
    assert os.fsencode(folder / os.fsdecode(raw[1])) in stored
    assert lib.check().ok
    again = lib.import_paths([folder])  # and a retry is four duplicates, not a failure
    assert len(again.duplicates) == 4 and lib.get_job(again.job_id).state == "done"


def test_an_import_stopped_by_ctrl_c_or_sigterm_reads_as_stopped(lib, tmp_path):
    def ctrl_c(p):
        if p.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lib.import_paths(write_photos(tmp_path / "in", 3), progress=ctrl_c)
    (job,) = lib.list_jobs()
    assert (job.state, job.error) == ("cancelled", None)
    assert job.message == "Stopped: 2 imported, 0 already in the library, 0 skipped."


def test_decompression_bomb_is_refused_with_the_limit(lib, tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    small_photo(1, 100).save(tmp_path / "huge.png")
    small_photo(2, 20).save(tmp_path / "fine.png")

    summary = lib.import_paths([tmp_path])

    assert [f.path.name for f in summary.imported] == ["fine.png"]
    reason = _reasons(summary)["huge.png"]
    assert "too large" in reason and "decompression bomb" in reason
    assert lib.check().ok  # the refused copy left nothing behind


def test_unreadable_file_is_skipped(lib, tmp_path, monkeypatch):
    secret, readable = write_photos(tmp_path, 2)
    if os.geteuid() != 0:
        secret.chmod(0)
    else:  # root reads anything; make the OS answer as it would for anyone else
        real_open = builtins.open

        def guarded_open(file, *args, **kwargs):
            if isinstance(file, str | os.PathLike) and Path(file) == secret:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", guarded_open)

    summary = lib.import_paths([secret, readable])

    assert _reasons(summary) == {secret.name: "cannot read the file (permission denied)"}
    assert [f.path for f in summary.imported] == [readable]


def test_missing_path_and_explicit_odd_suffix(lib, tmp_path):
    odd = tmp_path / "scan_without_suffix"
    small_photo(1).save(odd, "PNG")
    summary = lib.import_paths([tmp_path / "nope", odd])
    assert [f.path for f in summary.imported] == [odd]
    assert lib.photo_path(summary.imported[0].photo_id).suffix == ".png"
    assert "not found" in _reasons(summary)["nope"]


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_full_or_read_only_library_disk_stops_cleanly(lib, tmp_path, monkeypatch, err):
    paths = write_photos(tmp_path / "in", 3)
    lib.add_subject("Rose", "person")
    photos_before, links_before = _db_rows(lib, "photos"), _db_rows(lib, "photo_links")
    calls = []
    real_copy = importer._copy_into

    def failing_copy(src, dst, *args):
        calls.append(src)
        if len(calls) == 2:  # the first photo goes in, then the disk gives out
            dst.write_bytes(b"partial")
            raise OSError(err, os.strerror(err), str(dst))
        return real_copy(src, dst, *args)

    monkeypatch.setattr(importer, "_copy_into", failing_copy)
    with pytest.raises(Gen2ResError) as info:
        lib.import_paths(paths, subject="Rose", role="reference")

    message = str(info.value)
    assert ("full" in message) if err == errno.ENOSPC else ("read-only" in message)
    assert "The 1 photos imported before it were kept" in message
    (kept,) = lib.list_photos()
    assert kept.original_name == paths[0].name
    assert photos_before == [] and links_before == []
    assert len(_db_rows(lib, "photo_links")) == 1
    assert lib.list_jobs()[0].state == "failed"
    assert lib.check().ok  # no half-written copy left


def test_full_database_leaves_no_trace(lib, tmp_path):
    (path,) = write_photos(tmp_path, 1)
    with (
        lib.db.write() as c
    ):  # a photo row that fills the table's page, so the next needs a new one
        c.execute(
            "INSERT INTO photos (hash, file, original_name, original_path, imported, size, format, "
            "width, height, mode, exif) VALUES ('0', 'photos/00/0.png', 'a', 'a', '', 0, 'PNG', 1, 1, 'RGB', ?)",
            ["x" * 3800],
        )
    conn = lib.db.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's own "database or disk is full", exactly as on a full disk.
    conn.execute(f"PRAGMA max_page_count = {pages}")
    tables = {t: _db_rows(lib, t) for t in ("photos", "photo_links")}

    with pytest.raises(Gen2ResError, match="disk is full"):
        lib.import_paths([path])

    assert {t: _db_rows(lib, t) for t in tables} == tables
    assert [p for p in lib.photos_dir.rglob("*") if p.is_file()] == []
    assert lib.list_jobs()[0].state == "failed"


def test_cancel_keeps_what_was_imported_and_says_so(lib, tmp_path):
    paths = write_photos(tmp_path, 5)
    token = CancelToken()

    def progress(p):
        if p.step == 2:
            token.cancel()

    summary = lib.import_paths(paths, progress=progress, cancel=token)

    assert summary.cancelled
    assert len(summary.imported) == 2 and len(lib.list_photos()) == 2
    assert "Cancelled after 2 of 5 files" in summary.message()
    assert "kept" in summary.message()
    job = lib.get_job(summary.job_id)
    assert job.state == "cancelled" and job.message == summary.message() and job.error is None
    assert lib.check().ok


def test_subject_needs_a_role_and_must_exist(lib, tmp_path):
    paths = write_photos(tmp_path, 1)
    with pytest.raises(Gen2ResError, match="both a subject and a role"):
        lib.import_paths(paths, subject="Rose")
    with pytest.raises(Gen2ResError, match="No subject named 'Rose'"):
        lib.import_paths(paths, subject="Rose", role="reference")
    assert lib.list_jobs() == []


def test_library_folder_inside_the_imported_folder_is_not_reimported(tmp_path, monkeypatch):
    from gen2res_desktop.library import Library

    home = tmp_path / "library"
    write_photos(tmp_path, 2)
    with Library.open(home) as lib:
        first = lib.import_paths([tmp_path])
        again = lib.import_paths([tmp_path])
        inside = lib.import_paths([home, lib.photos_dir])
    assert len(first.imported) == 2
    assert len(again.duplicates) == 2 and again.skipped == [] and again.ignored == []
    assert inside.imported == inside.duplicates == []
    assert {f.reason for f in inside.skipped} == {"this is inside the library folder"}


def test_reader_thread_while_a_writer_imports(lib, tmp_path):
    paths = write_photos(tmp_path, 20)
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()

    def writer():
        try:
            lib.import_paths(paths)
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        counts.append(len(lib.list_photos()))
        lib.list_subjects()
        lib.list_jobs()
    thread.join()

    assert errors == []
    assert counts == sorted(counts)  # a reader never sees a photo disappear
    assert len(lib.list_photos()) == 20
    assert lib.check().ok


def test_a_second_process_view_sees_committed_photos(lib, gen2res_home, tmp_path):
    from gen2res_desktop.library import Library

    write_photos(tmp_path / "in", 2)
    with Library.open(gen2res_home) as other:
        lib.import_paths([tmp_path / "in"])
        assert len(other.list_photos()) == 2


def test_concurrent_import_of_the_same_bytes_is_a_duplicate(lib, gen2res_home, tmp_path):
    from gen2res_desktop.library import Library

    (path,) = write_photos(tmp_path, 1)
    with Library.open(gen2res_home) as other:
        # `other` stores the photo while `lib` is between its hash lookup and its insert.
        real_lookup = lib.photos.id_by_hash
        calls = []

        def lookup_then_race(digest):
            found = real_lookup(digest)
            if not calls:
                calls.append(digest)
                other.import_paths([path])
            return found

        lib.photos.id_by_hash = lookup_then_race
        summary = lib.import_paths([path])
    assert summary.imported == [] and len(summary.duplicates) == 1
    assert len(lib.list_photos()) == 1
    assert lib.check().ok


def test_sqlite_errors_become_clear_messages(tmp_path):
    from gen2res_desktop.library.database import sqlite_error

    home = tmp_path
    assert "disk is full" in str(
        sqlite_error(sqlite3.OperationalError("database or disk is full"), home)
    )
    assert "read-only" in str(
        sqlite_error(sqlite3.OperationalError("attempt to write a readonly database"), home)
    )
    assert "busy" in str(sqlite_error(sqlite3.OperationalError("database is locked"), home))
