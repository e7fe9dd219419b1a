"""The command line under unlucky and hostile conditions: outputs that already exist, a full
disk, damaged JSON in the database, odd names, a reader that goes away, a killed writer."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gen2res_desktop.cli.main import main
from gen2res_desktop.library import Library
from gen2res_desktop.library.models import FaceData

GEN2RES = [sys.executable, "-m", "gen2res_desktop.cli.main"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def scan(tmp_path, astronaut) -> Path:
    path = tmp_path / "user" / "scan.png"
    path.parent.mkdir()
    astronaut.resize((128, 128)).save(path)
    return path


@pytest.fixture
def crop(tmp_path, astronaut_face) -> Path:
    path = tmp_path / "user" / "face.png"
    path.parent.mkdir(exist_ok=True)
    astronaut_face.resize((32, 32)).save(path)
    return path


# -- 2: never over a file it did not create, never over its own input ---------------------


def test_restore_refuses_existing_outputs_unless_asked(capsys, gen2res_home, scan, tmp_path):
    out = tmp_path / "user" / "fixed.png"
    out.write_bytes(b"the user's own file")
    code, _, err = run(capsys, "restore", scan, "--faces", "off", "--out", out)
    assert code == 1 and "already exists" in err and out.read_bytes() == b"the user's own file"
    code, _, err = run(capsys, "restore", scan, "--faces", "off", "--out", out, "--overwrite")
    assert code == 0, err
    assert Image.open(out).size == (128, 128)


def test_the_crop_form_never_writes_over_its_input(capsys, tiny_registry, crop):
    before = crop.read_bytes()
    args = ["restore", crop, "--prior", "tiny", "--unconstrained", "--strength", "5"]
    code, _, err = run(capsys, *args, "--steps", "2", "--out", crop, "--overwrite")
    assert code == 1 and "names the photo being restored" in err
    assert crop.read_bytes() == before


@pytest.mark.parametrize("command", ["restore", "export"])
def test_a_dangling_link_at_the_output_is_not_replaced(
    capsys, gen2res_home, scan, tmp_path, command
):
    out = tmp_path / "user" / "link.png"
    out.symlink_to(tmp_path / "user" / "nowhere.png")
    if command == "restore":
        code, _, err = run(capsys, "restore", scan, "--faces", "off", "--out", out)
    else:
        code, o, err = run(capsys, "photos", "import", scan, "--json")
        pid = json.loads(o)["imported"][0]["photo_id"]
        assert run(capsys, "restore", pid, "--faces", "off")[0] == 0
        rid = json.loads(run(capsys, "restorations", "list", "--json")[1])[0]["id"]
        code, _, err = run(capsys, "export", rid, "--out", out)
    assert code == 1 and "already exists" in err
    assert out.is_symlink() and not out.exists()


# -- 8: a full disk ---------------------------------------------------------------------------


def _no_more_bytes() -> None:
    """In the child: every write that would grow a file fails, as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_on_a_full_disk_looking_works_and_changing_says_why(gen2res_home, scan):
    with Library.open(gen2res_home) as lib:
        lib.import_paths([scan])
        lib.add_subject("Rose", "person")
    env = {**os.environ, "GEN2RES_HOME": str(gen2res_home)}
    before = sorted(p.name for p in gen2res_home.iterdir())

    def gen2res(*argv):
        return subprocess.run(
            [*GEN2RES, *argv], env=env, preexec_fn=_no_more_bytes, capture_output=True, text=True
        )

    for argv in (
        ["photos", "list"],
        ["subjects", "list"],
        ["library", "jobs"],
        ["library", "check"],
    ):
        r = gen2res(*argv)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (argv, r.stderr)
    assert "scan.png" in gen2res("photos", "list").stdout
    r = gen2res("subjects", "add", "Nobi", "--kind", "cat")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "full" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in gen2res_home.iterdir() if "sqlite3-" not in p.name) == [
        n for n in before if "sqlite3-" not in n
    ]


def test_a_full_disk_while_saving_a_restoration_is_one_line(
    capsys, gen2res_home, scan, monkeypatch
):
    code, out, _ = run(capsys, "photos", "import", scan, "--json")
    pid = json.loads(out)["imported"][0]["photo_id"]

    def full(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(fp))

    monkeypatch.setattr(Image.Image, "save", full)
    code, _, err = run(capsys, "restore", pid, "--faces", "off")
    assert code == 1 and "the disk is full" in err and err.count("\n") == 1
    monkeypatch.undo()
    with Library.open(gen2res_home) as lib:
        assert lib.list_restorations() == [] and lib.check().ok


# -- 9: one damaged byte in a JSON column -------------------------------------------------------


def test_damaged_json_in_the_database_does_not_stop_listing(capsys, gen2res_home, scan):
    code, out, _ = run(capsys, "photos", "import", scan, "--json")
    pid = json.loads(out)["imported"][0]["photo_id"]
    assert run(capsys, "restore", pid, "--faces", "off")[0] == 0
    with Library.open(gen2res_home) as lib:
        lib.replace_faces(pid, [FaceData((10, 10, 40, 40), [(1.0, 2.0)] * 68)])
    conn = sqlite3.connect(gen2res_home / "library.sqlite3")
    conn.execute("UPDATE photos SET exif = '{\"make\": \"Kod' || char(0) || 'ak' ")
    conn.execute("UPDATE restorations SET settings = '{broken', identity_scores = '[1,'")
    conn.execute("UPDATE faces SET landmarks = '[[1, 2], [3'")
    conn.commit()
    conn.close()
    for argv in (["photos", "list", "--json"], ["restorations", "list"], ["faces", "detect", pid]):
        code, _, err = run(capsys, *argv)
        assert "Traceback" not in err and code in (0, 1), (argv, err)
    code, out, _ = run(capsys, "photos", "list", "--json")
    assert code == 0 and json.loads(out)[0]["exif"] == {}


# -- 10: a face already suggested as the subject, no adapter yet ----------------------------


def test_a_suggested_face_without_adapter_gets_the_message(
    capsys, tiny_registry, tmp_path, astronaut
):
    path = tmp_path / "eileen.png"
    astronaut.save(path)
    with Library.open() as lib:
        pid = lib.import_paths([path]).imported[0].photo_id
        lib.add_subject("Eileen", "person", "tiny")
        from gen2res_desktop.library.faces import detect_library_photo

        detect_library_photo(lib, pid)
        (face,) = lib.list_faces(photo_id=pid)
        lib.set_face_suggestion(face.id, "Eileen", 0.1)
    code, _, err = run(capsys, "restore", pid, "--subject", "Eileen", "--scratches", "off")
    assert code == 1 and "no trained adapter yet" in err


# -- 11: the small ones ---------------------------------------------------------------------


def test_temporary_files_of_a_killed_writer_are_removed(gen2res_home, scan, tmp_path):
    from gen2res_desktop.core import atomic

    out_dir = tmp_path / "user"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    left = out_dir / f".tmp-gen2res-{dead.stdout.strip()}-abcd.png"
    left.write_bytes(b"half a photo")
    mine = out_dir / f".tmp-gen2res-{os.getpid()}-efgh.png"
    mine.write_bytes(b"a write in progress")
    atomic._swept.discard(os.path.abspath(out_dir))
    with atomic.atomic_path(out_dir / "new.png") as tmp:
        tmp.write_bytes(b"x")
    assert not left.exists() and mine.exists()


@pytest.mark.parametrize(
    "name", ["Ro\u202ese", "Ro\u200bse", "Ro\x07se", "Ro\u2028se", "\ufeffRose", "Ro\u0000se"]
)
def test_names_with_invisible_or_control_characters_are_refused(capsys, gen2res_home, name):
    code, _, err = run(capsys, "subjects", "add", name, "--kind", "person")
    assert code == 1 and ("invisible" in err or "NUL character" in err)


def test_a_non_square_crop_is_refused_not_squashed(capsys, tiny_registry, tmp_path, astronaut):
    wide = tmp_path / "wide.png"
    astronaut.crop((0, 0, 300, 200)).save(wide)
    code, _, err = run(
        capsys, "restore", wide, "--prior", "tiny", "--unconstrained", "--out", tmp_path / "o.png"
    )
    assert code == 1 and "300 x 200" in err and "must be square" in err
    assert not (tmp_path / "o.png").exists()


def test_a_reader_that_goes_away_is_not_a_traceback(gen2res_home):
    with Library.open(gen2res_home) as lib:
        for i in range(400):
            lib.add_subject(f"Person {i}", "person")
    env = {**os.environ, "GEN2RES_HOME": str(gen2res_home)}
    p = subprocess.Popen(
        [*GEN2RES, "subjects", "list"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdout.read(10)
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert p.returncode in (0, 1)


def test_damage_map_of_a_damaged_file_is_one_line(capsys, gen2res_home, tmp_path):
    bad = tmp_path / "truncated.jpg"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(bad, "JPEG")
    bad.write_bytes(bad.read_bytes()[:100])
    code, _, err = run(capsys, "damage", bad, "--out", tmp_path / "m.png")
    assert code == 1 and err.count("\n") == 1 and not (tmp_path / "m.png").exists()


def test_outputs_never_replace_a_device_a_pipe_or_a_folder(capsys, gen2res_home, scan, tmp_path):
    """``--overwrite`` replaces files (and links to them), never what is not a file: as
    root, renaming a PNG over ``/dev/full`` would replace the device itself."""
    from gen2res_desktop.core.atomic import atomic_path

    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    folder = tmp_path / "folder.png"
    folder.mkdir()
    link = tmp_path / "link.png"
    link.symlink_to(pipe)
    for target in (pipe, folder, link):
        code, _, err = run(capsys, "damage", scan, "--out", target, "--overwrite")
        assert code != 0 and "only a file can be replaced" in err
        assert len(err.strip().splitlines()) == 1
        code, _, err = run(
            capsys, "restore", scan, "--faces", "off", "--out", target, "--overwrite"
        )
        assert code != 0 and "only a file can be replaced" in err
    assert stat_kind(pipe) == "fifo" and folder.is_dir() and link.is_symlink()
    with pytest.raises(Exception, match="only a file can be replaced"):
        with atomic_path(pipe):
            pass
    assert stat_kind(pipe) == "fifo"
    # a file, and a link to one, are still replaced when asked
    plain = tmp_path / "plain.png"
    plain.write_bytes(b"old")
    assert run(capsys, "damage", scan, "--out", plain, "--overwrite")[0] == 0
    assert plain.read_bytes()[:4] == b"\x89PNG"


def stat_kind(path: Path) -> str:
    import stat

    mode = os.lstat(path).st_mode
    return "fifo" if stat.S_ISFIFO(mode) else "dir" if stat.S_ISDIR(mode) else "other"


# -- issue 24, items 5 and 11: names as the file system allows them, printed one per line ------

ODD_NAMES = {
    "new\nline.png": "new\\nline.png",
    "carriage\rreturn.png": "carriage\\rreturn.png",
    "tab\there.png": "tab\\there.png",
    "evil\u202egnp.exe.png": "evil\\u202egnp.exe.png",
    "isolate\u2067x\u2069.png": "isolate\\u2067x\\u2069.png",
    "bell\x07\x1b[2J.png": "bell\\x07\\x1b[2J.png",
}


def test_listings_print_each_name_on_one_line_as_written(capsys, gen2res_home, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    for i, name in enumerate(ODD_NAMES):
        Image.new("RGB", (16, 16), (i * 30, 90, 60)).save(folder / name)
    (folder / "broken\n\u202e.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    if os.name != "nt":
        Image.new("RGB", (16, 16), (1, 2, 3)).save(folder / os.fsdecode(b"bytes-\xe9\xff.png"))
    code, out, err = run(capsys, "photos", "import", folder)
    assert code == 1 and "Traceback" not in err
    (skipped,) = [line for line in out.splitlines() if line.startswith("  skipped ")]
    assert "broken\\n\\u202e.jpg" in skipped
    code, out, err = run(capsys, "photos", "list")
    assert code == 0 and "Traceback" not in err, err
    lines = out.splitlines()
    assert len(lines) == len(ODD_NAMES) + (os.name != "nt")
    for shown in ODD_NAMES.values():
        assert sum(shown in line for line in lines) == 1, (shown, out)
    assert not any(c in out for c in "\r\t\u202e\u2067\x07\x1b")
    if os.name != "nt":
        assert sum("bytes-\\xe9\\xff.png" in line for line in lines) == 1
    for argv in (["library", "jobs"], ["library", "check"], ["restorations", "list"]):
        code, out, err = run(capsys, *argv)
        assert "Traceback" not in err and not any(c in out for c in "\r\t\u202e\x1b"), argv
        assert all(line.strip() for line in out.splitlines()), argv
    code, out, _ = run(capsys, "photos", "list", "--json")
    names = {p["original_name"] for p in json.loads(out)}
    assert set(ODD_NAMES) <= names  # JSON keeps the text; its own escapes are for machines
