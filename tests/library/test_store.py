"""Subjects, tags, faces, adapters, restorations, jobs, thumbnails and deletion."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from library_helpers import camera_jpeg, write_photos
from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library import FaceData, Library


def _import(lib, tmp_path, count: int) -> list[int]:
    return lib.import_paths(write_photos(tmp_path / "in", count)).photo_ids


def test_open_creates_the_layout_and_reopens(gen2res_home):
    with Library.open() as lib:  # GEN2RES_HOME decides where
        assert lib.home == gen2res_home and lib.name == "library"
        assert (gen2res_home / "library.sqlite3").is_file()
        assert lib.db.row("PRAGMA journal_mode")[0] == "wal"
        assert lib.db.row("PRAGMA foreign_keys")[0] == 1
        lib.add_subject("Rose", "person")
    with Library.open(gen2res_home) as lib:
        assert [s.name for s in lib.list_subjects()] == ["Rose"]
    with pytest.raises(Gen2ResError, match="closed"):
        lib.list_subjects()


def test_library_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(Gen2ResError, match="Cannot create the library folder"):
        Library.open(blocker / "library")


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("made_before", [False, True], ids=["new", "logs-first"])
def test_the_library_folder_is_for_its_owner_only(tmp_path, made_before):
    home = tmp_path / "library"
    old = os.umask(0o022)
    try:
        if made_before:  # the app writes its log into <library>/logs before it opens it
            (home / "logs").mkdir(parents=True)
        with Library.open(home) as lib:
            lib.add_subject("Rose", "person")
    finally:
        os.umask(old)
    # what is inside needs nothing: no other account can get past the folder
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_an_existing_library_folder_keeps_the_mode_its_owner_chose(tmp_path):
    home = tmp_path / "library"
    with Library.open(home):
        pass
    home.chmod(0o750)  # shared with the family's group on purpose
    with Library.open(home):
        pass
    assert stat.S_IMODE(home.stat().st_mode) == 0o750


def test_subjects(lib, tmp_path):
    ids = _import(lib, tmp_path, 3)
    rose = lib.add_subject("  Grandma Rose ", "person")
    assert (rose.name, rose.kind, rose.prior, rose.adapter_state) == (
        "Grandma Rose",
        "person",
        "face",
        "none",
    )
    assert lib.add_subject("Nobi", "cat").prior == "cat"
    assert lib.add_subject("Rex", "dog", prior="my-dog-prior").prior == "my-dog-prior"

    with pytest.raises(Gen2ResError, match="already a subject named"):
        lib.add_subject("grandma rose", "person")
    with pytest.raises(Gen2ResError, match="Unknown subject kind"):
        lib.add_subject("Tweety", "bird")
    with pytest.raises(Gen2ResError, match="needs a name"):
        lib.add_subject("   ", "cat")
    with pytest.raises(Gen2ResError, match="No subject named 'Bob'.*Grandma Rose, Nobi, Rex"):
        lib.get_subject("Bob")

    lib.tag(ids[:2], "Grandma Rose", "reference")
    lib.tag(ids[2:], "grandma rose", "restore")
    rose = lib.get_subject("GRANDMA ROSE")
    assert (rose.reference_count, rose.restore_count) == (2, 1)

    assert lib.rename_subject("Grandma Rose", "Rose").name == "Rose"
    assert lib.rename_subject("Rose", "ROSE").name == "ROSE"  # a change of case is no conflict
    with pytest.raises(Gen2ResError, match="already a subject named 'Nobi'"):
        lib.rename_subject("ROSE", "Nobi")

    adapter = lib.adapter_path_for("ROSE")
    adapter.write_bytes(b"weights")
    adapter.with_name(adapter.name + ".ckpt").write_bytes(b"checkpoint")
    lib.remove_subject("ROSE")
    assert [s.name for s in lib.list_subjects()] == ["Nobi", "Rex"]
    assert [p.id for p in lib.list_photos()] == ids  # photos stay
    assert list(lib.adapters_dir.iterdir()) == []
    assert lib.check().ok


def test_tags_and_photo_filters(lib, tmp_path):
    a, b, c = _import(lib, tmp_path, 3)
    lib.add_subject("Rose", "person")
    lib.add_subject("Nobi", "cat")
    lib.tag([a, b], "Rose", "reference")
    lib.tag([b], "Nobi", "restore")
    lib.tag([b], "Rose", "restore")  # retagging changes the role

    def ids(**kw):
        return [p.id for p in lib.list_photos(**kw)]

    assert ids() == [a, b, c]
    assert ids(subject="Rose") == [a, b]
    assert ids(subject="Rose", role="reference") == [a]
    assert ids(role="restore") == [b]
    assert ids(unsorted=True) == [c]
    assert [(x.subject, x.role) for x in lib.photo_subjects(b)] == [
        ("Nobi", "restore"),
        ("Rose", "restore"),
    ]

    lib.untag([a, b], "Rose")
    assert ids(subject="Rose") == [] and ids(unsorted=True) == [a, c]
    with pytest.raises(Gen2ResError, match="No photo with id 99"):
        lib.tag([a, 99], "Nobi", "reference")
    assert lib.photo_subjects(a) == []  # nothing was tagged by the refused call
    with pytest.raises(Gen2ResError, match="Unknown role"):
        lib.tag([a], "Nobi", "favourite")


def test_faces_are_stored_and_confirmations_survive_redetection(lib, tmp_path):
    (photo,) = _import(lib, tmp_path, 1)
    lib.add_subject("Rose", "person")
    rng = np.random.default_rng(0)
    d1, d2 = (
        rng.standard_normal(128).astype(np.float32),
        rng.standard_normal(128).astype(np.float32),
    )
    marks = [(1.5, 2.5), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0), (9.0, 10.0)]

    first, second = lib.replace_faces(
        photo, [FaceData((10, 10, 40, 40), marks, d1), FaceData((100, 10, 40, 40), [], d2)]
    )
    assert first.box == (10, 10, 40, 40) and first.landmarks == marks
    np.testing.assert_array_equal(first.descriptor, d1)
    assert first.descriptor.dtype == np.float32

    lib.set_face_suggestion(first.id, "Rose", 0.42)
    lib.confirm_face(first.id, "Rose")
    (face,) = lib.list_faces(subject="Rose")
    assert (face.id, face.suggested_subject, face.suggested_distance, face.confirmed_subject) == (
        first.id,
        "Rose",
        0.42,
        "Rose",
    )

    # A new detection finds the same face slightly moved, and no second face.
    (again,) = lib.replace_faces(photo, [FaceData((12, 11, 40, 40), marks, None)])
    assert again.confirmed_subject == "Rose" and again.descriptor is None
    lib.confirm_face(again.id, None)
    assert lib.list_faces(subject="Rose") == []

    with pytest.raises(ValueError, match="128 values"):
        lib.replace_faces(photo, [FaceData((0, 0, 5, 5), [], [0.0] * 3)])
    with pytest.raises(Gen2ResError, match="No face with id 999"):
        lib.confirm_face(999, "Rose")
    lib.remove_subject("Rose")
    assert lib.list_faces(photo_id=photo)[0].suggested_subject is None


def _write_adapter_file(path, prior_hash: str, rank: int = 4) -> None:
    """A small but well-formed adapter file: one LoRA pair and its metadata."""
    import json

    import torch
    from safetensors.torch import save_file

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
        "x.to_q.lora_A.weight": torch.zeros(rank, 8),
        "x.to_q.lora_B.weight": torch.zeros(8, rank),
    }
    save_file(weights, str(path), metadata={"gen2res_adapter": json.dumps(meta)})


def test_adapter_state_follows_training_and_reference_photos(lib, tmp_path):
    a, b, c = _import(lib, tmp_path, 3)
    rose = lib.add_subject("Rose", "person")
    lib.tag([a, b], "Rose", "reference")
    path = lib.adapter_path_for(rose)
    assert path.parent == lib.adapters_dir

    job = lib.start_job("train", total=10)
    run = lib.record_adapter(
        rose, path, "f" * 64, {"rank": 4}, 0, "training", lib.reference_hashes(rose), job_id=job
    )
    assert lib.get_subject("Rose").adapter_state == "training"
    _write_adapter_file(path, "f" * 64)  # `library check` reads a ready adapter's weights
    run = lib.set_adapter_status(run.id, "ready", steps_done=10)
    assert (run.status, run.steps_done, run.settings, run.prior_name) == (
        "ready",
        10,
        {"rank": 4},
        "face",
    )
    assert lib.get_subject("Rose").adapter_state == "ready"

    lib.tag([c], "Rose", "reference")
    assert lib.get_subject("Rose").adapter_state == "outdated"
    lib.tag([c], "Rose", "restore")
    assert lib.get_subject("Rose").adapter_state == "ready"

    newer = lib.record_adapter("Rose", path, "f" * 64, {}, 5, "ready", lib.reference_hashes("Rose"))
    assert lib.get_adapter(run.id).status == "superseded"
    assert lib.latest_adapter("Rose").id == lib.ready_adapter("Rose").id == newer.id
    assert lib.check().ok


def test_restorations(lib, tmp_path, chelsea):
    (photo,) = _import(lib, tmp_path, 1)
    lib.add_subject("Nobi", "cat")
    out = lib.restoration_path_for(photo, seed=7)
    assert out.parent.parent == lib.restorations_dir and out.suffix == ".png"
    assert out != lib.restoration_path_for(photo, seed=7)
    with pytest.raises(Gen2ResError, match="was not written"):
        lib.add_restoration(photo, "Nobi", None, {}, 7, out, None)
    chelsea.save(out)

    r = lib.add_restoration(photo, "Nobi", None, {"strength": 200}, 7, out, [0.31, 0.4])
    assert (r.photo_id, r.subject, r.seed, r.path, r.identity_scores, r.kept) == (
        photo,
        "Nobi",
        7,
        out,
        [0.31, 0.4],
        None,
    )
    lib.set_restoration_kept(r.id, True)
    assert lib.get_restoration(r.id).kept is True
    assert [x.id for x in lib.list_restorations(photo)] == [r.id]
    assert lib.list_restorations(photo + 1) == []

    outside = tmp_path / "elsewhere.png"
    chelsea.save(outside)
    with pytest.raises(Gen2ResError, match="not inside the library folder"):
        lib.add_restoration(photo, None, None, {}, 0, outside, None)
    with pytest.raises(Gen2ResError, match="No adapter with id 5"):
        lib.add_restoration(photo, None, 5, {}, 0, out, None)

    lib.remove_subject("Nobi")  # the restoration is the family's result: it stays
    assert lib.get_restoration(r.id).subject is None
    lib.delete_restoration(r.id)
    assert not out.exists() and lib.list_restorations() == []


def test_thumbnails_are_lazy_cached_and_upright(lib, tmp_path, astronaut):
    src = tmp_path / "sideways.jpg"
    wide = astronaut.crop((0, 0, 512, 300))
    src.write_bytes(camera_jpeg(wide, orientation=6))
    (photo,) = lib.import_paths([src]).photo_ids
    assert list(lib.thumbnails_dir.rglob("*.jpg")) == []

    thumb = lib.thumbnail_path(photo)
    with Image.open(thumb) as img:
        assert img.size == (150, 256)  # rotated to portrait, longest side 256
    stamp = thumb.stat().st_mtime_ns
    assert lib.thumbnail_path(photo) == thumb and thumb.stat().st_mtime_ns == stamp


def test_delete_photo_removes_derived_files_but_not_the_original(lib, tmp_path, chelsea):
    src = tmp_path / "cat.png"
    chelsea.save(src)
    original = src.read_bytes()
    (photo,) = lib.import_paths([src]).photo_ids
    stored = lib.photo_path(photo)
    thumb = lib.thumbnail_path(photo)
    out = lib.restoration_path_for(photo, 0)
    chelsea.save(out)
    lib.add_restoration(photo, None, None, {}, 0, out, None)
    lib.replace_faces(photo, [FaceData((1, 1, 10, 10))])

    lib.delete_photo(photo)

    assert not stored.exists() and not thumb.exists() and not out.exists()
    assert lib.list_photos() == [] and lib.list_restorations() == [] and lib.list_faces() == []
    assert src.read_bytes() == original
    assert lib.check().ok
    with pytest.raises(Gen2ResError, match="No photo with id"):
        lib.get_photo(photo)


def test_missing_stored_copy_is_explained(lib, tmp_path):
    (photo,) = _import(lib, tmp_path, 1)
    lib.photo_path(photo).unlink()
    with pytest.raises(Gen2ResError, match="copy of photo_000.png .* is missing"):
        lib.load_photo_rgb(photo)


def test_jobs(lib):
    job = lib.start_job("restore", total=4)
    lib.update_job(job, 2, message="face 2")
    j = lib.get_job(job)
    assert (j.kind, j.state, j.progress, j.total, j.message) == (
        "restore",
        "running",
        2,
        4,
        "face 2",
    )
    lib.finish_job(job, "failed", "out of memory")
    j = lib.list_jobs()[0]
    assert (j.state, j.error) == ("failed", "out of memory") and j.finished
    with pytest.raises(ValueError):
        lib.finish_job(job, "running")


def test_paths_from_the_database_never_leave_the_library(lib):
    for bad in ("../outside.png", "/etc/passwd", "photos/../../x", "C:/x", ""):
        with pytest.raises(Gen2ResError, match="outside the library folder"):
            lib.resolve(bad)
    assert lib.resolve("photos/ab/c.png") == lib.home / "photos" / "ab" / "c.png"


def test_a_live_second_library_keeps_its_jobs_running(lib, gen2res_home):
    job = lib.start_job("import")
    with Library.open(gen2res_home) as other:
        assert other.get_job(job).state == "running"


def test_library_never_imports_qt():
    code = (
        "import sys, gen2res_desktop.library, gen2res_desktop.library.importer, "
        "gen2res_desktop.library.export, gen2res_desktop.library.integrity, "
        "gen2res_desktop.library.training, gen2res_desktop.cli.library_cmds\n"
        "assert not [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_face_search_is_recorded_with_the_pass_that_found_each_face(lib, tmp_path):
    from gen2res_desktop.library.models import SECOND_PASS_WORDS

    photo, other = _import(lib, tmp_path, 2)
    assert lib.get_photo(photo).faces_searched is None  # imported, not searched yet
    # a search that found nothing is recorded too: "none found" is then known
    assert lib.replace_faces(photo, []) == []
    searched = lib.get_photo(photo).faces_searched
    assert searched is not None and searched.endswith("Z")
    assert lib.get_photo(other).faces_searched is None

    faded, named, first = lib.replace_faces(
        photo,
        [
            FaceData((10, 10, 40, 40), found_by="cnn, enhanced"),
            FaceData((60, 10, 40, 40), found_by="named in the file"),
            FaceData((110, 10, 40, 40)),
        ],
    )
    assert [f.found_by for f in lib.list_faces(photo_id=photo)] == [
        "cnn, enhanced",
        "named in the file",
        None,
    ]
    assert lib.get_face(faded.id).found_by == "cnn, enhanced"
    assert faded.second_pass == SECOND_PASS_WORDS["cnn, enhanced"]
    assert named.second_pass is None and first.second_pass is None
