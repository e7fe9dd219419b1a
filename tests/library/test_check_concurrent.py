"""``library check`` beside other processes (an import running in another process), and
reading everything the library's readers parse: JSON columns and ready adapter files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from library_helpers import write_photos
from safetensors.torch import save_file

from gen2res_desktop.library import FaceData, Library, integrity

REPO = Path(__file__).resolve().parents[2]
IMPORT_CLI = "import sys; from gen2res_desktop.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _problems(report) -> list[str]:
    return (
        report.missing_files
        + report.orphan_files
        + report.hash_mismatches
        + report.database_errors
        + report.damaged_files
    )


def test_check_while_another_process_imports(gen2res_home, tmp_path):
    folder = tmp_path / "shoebox"
    count = 80
    write_photos(folder, count, size=16)
    Library.open(gen2res_home).close()  # created before both processes use it
    env = {**os.environ, "GEN2RES_HOME": str(gen2res_home), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORT_CLI, "photos", "import", str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    checks, seen, problems = 0, set(), []
    try:
        # as the app looks, and as `gen2res library check` does (a read-only open)
        with Library.open(gen2res_home) as lib, Library.open(gen2res_home, readonly=True) as ro:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                # hashes too: each photo file is read while others arrive
                report = (ro if checks % 2 else lib).check()
                checks += 1
                seen.add(report.photos_checked)
                problems += _problems(report)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            final = lib.check()
            assert final.ok, _problems(final)
            assert final.photos_checked == count
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert problems == []
    # it really ran beside the import: it saw the library at several sizes
    assert checks >= 3 and len(seen - {0, count}) >= 1, (checks, sorted(seen))


def _temp_paths_vanish(monkeypatch, lib):
    """Listings that hold a temporary file and a photo file that are gone when looked at."""
    real = integrity._files

    def listing(folder):
        found = real(folder)
        if folder == lib.photos_dir:
            found += [folder / ".import-7-0123.part", folder / "ab" / ("ab" + "0" * 62 + ".jpg")]
        return sorted(found)

    monkeypatch.setattr(integrity, "_files", listing)


def test_files_that_vanish_after_the_listing_are_passed_over(lib, tmp_path, monkeypatch):
    lib.import_paths(write_photos(tmp_path / "in", 2))
    _temp_paths_vanish(monkeypatch, lib)
    report = lib.check()
    assert report.ok, _problems(report)


def test_a_photo_committed_before_the_rows_are_read_is_no_orphan(lib, tmp_path, monkeypatch):
    """An import finishing between the folder listing and the reading of the rows."""
    first, later = write_photos(tmp_path / "in", 2)
    lib.import_paths([first])
    real = integrity._files
    calls = []

    def listing_then_import(folder):
        found = real(folder)
        if folder == lib.photos_dir and not calls:
            calls.append(folder)
            lib.import_paths([later])  # its file and row land around the listing
            found = real(folder)
        return found

    monkeypatch.setattr(integrity, "_files", listing_then_import)
    report = lib.check()
    assert calls and report.ok, _problems(report)
    assert report.photos_checked == 2


def test_a_photo_deleted_during_the_check_is_not_missing(lib, tmp_path, monkeypatch):
    a, b = lib.import_paths(write_photos(tmp_path / "in", 2)).photo_ids
    real_hash = integrity.sha256_file
    deleted = []

    def hash_then_delete(path):
        if not deleted:  # while photo a is hashed, another process deletes photo b
            lib.delete_photo(b)
            deleted.append(b)
        return real_hash(path)

    monkeypatch.setattr(integrity, "sha256_file", hash_then_delete)
    report = lib.check()
    assert deleted and report.ok, _problems(report)


def test_young_temporary_names_are_writes_in_progress(lib, tmp_path):
    lib.import_paths(write_photos(tmp_path / "in", 1))
    names = [".tmp-gen2res-1-x.jpg", ".import-3-abc.part", "scan.jpg.part", ".staging-9-x"]
    for name in names:
        (lib.photos_dir / name).write_bytes(b"x")
    assert lib.check().ok
    old = time.time() - integrity.STALE_TEMP_SECONDS - 10
    for name in names:
        os.utime(lib.photos_dir / name, (old, old))
    assert sorted(lib.check().orphan_files) == sorted(f"photos/{n}" for n in names)


# ---------------------------------------------------------------------- JSON columns


def _library_with_every_json_column(lib, tmp_path):
    (photo,) = lib.import_paths(write_photos(tmp_path / "in", 1)).photo_ids
    rose = lib.add_subject("Rose", "person")
    lib.replace_faces(
        photo,
        [FaceData((1, 1, 8, 8), [(2.0, 3.0)] * 5, np.zeros(128, dtype=np.float32))],
    )
    adapter_file = lib.adapter_path_for(rose)
    _write_adapter(adapter_file, "f" * 64)
    adapter = lib.record_adapter(rose, adapter_file, "f" * 64, {"rank": 4}, 10, "ready", ["a"])
    out = lib.restoration_path_for(photo, seed=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"png")
    lib.add_restoration(photo, "Rose", adapter.id, {"strength": 200}, 1, out, [0.9])
    lib.set_setting("restore.repair", {"scratches": True})
    report = lib.check()
    assert report.ok, _problems(report)
    return photo


DAMAGE = {
    "photos.exif": ("UPDATE photos SET exif = ?", "photo 1: exif"),
    "faces.landmarks": ("UPDATE faces SET landmarks = ?", "face 1: landmarks"),
    "adapters.settings": ("UPDATE adapters SET settings = ?", "adapter 1: settings"),
    "adapters.image_hashes": ("UPDATE adapters SET image_hashes = ?", "adapter 1: image_hashes"),
    "restorations.settings": ("UPDATE restorations SET settings = ?", "restoration 1: settings"),
    "restorations.identity_scores": (
        "UPDATE restorations SET identity_scores = ?",
        "restoration 1: identity_scores",
    ),
    "settings.value": ("UPDATE settings SET value = ?", "setting 'restore.repair': value"),
}


@pytest.mark.parametrize("column", DAMAGE)
@pytest.mark.parametrize(
    "bad",
    [b'{"make": "Kodak"', b"\xff\xfe{}", b"[1, 2"],
    ids=["cut short", "a damaged byte", "unclosed list"],
)
def test_a_damaged_json_column_is_reported_with_its_row(lib, tmp_path, column, bad):
    _library_with_every_json_column(lib, tmp_path)
    sql, where = DAMAGE[column]
    with lib.db.write() as c:
        c.execute(sql, [bad.decode("latin-1") if bad.startswith(b"\xff") else bad.decode()])
        if bad.startswith(b"\xff"):  # stored as it came off a bad disk: not UTF-8 at all
            c.execute(sql.replace("= ?", "= CAST(? AS TEXT)"), [bad])
    report = lib.check()
    assert len(report.database_errors) == 1, report.database_errors
    (error,) = report.database_errors
    assert error.startswith(where + " is not valid"), error


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("UPDATE photos SET exif = '[1]'", "photo 1: exif is not a JSON object"),
        ("UPDATE faces SET landmarks = '[[1]]'", "face 1: landmarks is not a list of [x, y]"),
        ("UPDATE adapters SET image_hashes = '[1]'", "adapter 1: image_hashes is not a list"),
        ("UPDATE restorations SET identity_scores = '\"x\"'", "restoration 1: identity_scores"),
        ("UPDATE photos SET crop = '1,2'", "photo 1: crop is not 'x,y,size'"),
        ("UPDATE faces SET descriptor = X'00'", "face 1: descriptor is not 128 numbers"),
    ],
)
def test_a_json_column_of_the_wrong_shape_is_reported(lib, tmp_path, sql, expected):
    _library_with_every_json_column(lib, tmp_path)
    with lib.db.write() as c:
        c.execute(sql)
    assert [e[: len(expected)] for e in lib.check().database_errors] == [expected]


# ---------------------------------------------------------------------- adapter files


def _write_adapter(path: Path, prior_hash: str, *, rank: int = 4, value: float = 0.0) -> None:
    meta = {
        "prior_name": "face",
        "prior_hash": prior_hash,
        "rank": rank,
        "alpha": float(rank),
        "targets": ["to_q"],
        "steps_done": 10,
        "steps_total": 10,
        "seed": 0,
        "batch_size": 4,
        "lr": 1e-4,
    }
    weights = {
        "mid_block.attentions.0.to_q.lora_A.weight": torch.full((rank, 8), value),
        "mid_block.attentions.0.to_q.lora_B.weight": torch.zeros(8, rank),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path), metadata={"gen2res_adapter": json.dumps(meta)})


def _damaged(report) -> list[str]:
    return report.damaged_files


@pytest.mark.parametrize("problem", ["truncated", "nan", "other prior", "not an adapter"])
def test_check_reads_every_ready_adapter_file(lib, tmp_path, problem):
    _library_with_every_json_column(lib, tmp_path)
    path = lib.ready_adapter("Rose").path
    if problem == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 7])
        needle = "cut short"
    elif problem == "nan":
        _write_adapter(path, "f" * 64, value=float("nan"))
        needle = "not finite"
    elif problem == "other prior":
        _write_adapter(path, "e" * 64)
        needle = "other prior weights"
    else:
        save_file({"x": torch.zeros(2)}, str(path))
        needle = "no face-model metadata"
    report = lib.check()
    assert not report.ok
    (entry,) = _damaged(report)
    assert entry.startswith("face model 1: ") and needle in entry and "\n" not in entry, entry
    assert report.missing_files == report.orphan_files == report.database_errors == []
