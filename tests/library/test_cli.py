"""The library commands end to end through `gen2res` (main), in a temporary GEN2RES_HOME."""

from __future__ import annotations

import json

import pytest
from library_helpers import TAG_DATETIME_ORIGINAL, TAG_EXIF_IFD, TAKEN, camera_jpeg, write_photos
from PIL import Image

from gen2res_desktop.cli.main import main
from gen2res_desktop.library import Library


def _json(capsys, argv: list[str]):
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_library_workflow(gen2res_home, tmp_path, capsys, astronaut):
    assert main(["library", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(gen2res_home)

    shoebox = tmp_path / "shoebox"
    write_photos(shoebox, 3)
    (shoebox / "rose.jpg").write_bytes(camera_jpeg(astronaut))
    (shoebox / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")

    assert main(["subjects", "add", "Grandma Rose", "--kind", "person"]) == 0
    assert "Added person 'Grandma Rose' (prior 'face')" in capsys.readouterr().out
    assert main(["subjects", "add", "Nobi", "--kind", "cat", "--prior", "my-cat"]) == 0
    assert main(["subjects", "add", "Nobi", "--kind", "cat"]) == 1
    assert "already a subject named 'Nobi'" in capsys.readouterr().err

    # A batch with a broken file: the good ones go in, the bad one is explained, exit 1.
    assert (
        main(["photos", "import", str(shoebox), "--subject", "Grandma Rose", "--role", "reference"])
        == 1
    )
    captured = capsys.readouterr()
    assert "skipped" in captured.out and "broken.jpg" in captured.out
    assert "4 imported, 0 already in the library, 1 skipped." in captured.out
    assert "1 of 5 files could not be imported" in captured.err
    assert "Traceback" not in captured.err

    summary = _json(capsys, ["photos", "import", str(shoebox / "rose.jpg")])
    assert summary["imported"] == [] and summary["duplicates"][0]["path"].endswith("rose.jpg")

    photos = _json(capsys, ["photos", "list", "--subject", "Grandma Rose"])
    assert len(photos) == 4
    rose = next(p for p in photos if p["original_name"] == "rose.jpg")
    assert rose["taken"] == TAKEN.replace(":", "-", 2).replace(" ", "T")
    assert rose["subjects"] == [
        {"photo_id": rose["id"], "subject_id": 1, "subject": "Grandma Rose", "role": "reference"}
    ]

    assert main(["tag", str(rose["id"]), "--subject", "Nobi", "--role", "restore"]) == 0
    assert main(["untag", str(rose["id"]), "--subject", "Grandma Rose"]) == 0
    capsys.readouterr()
    assert main(["photos", "list", "--role", "restore"]) == 0
    listing = capsys.readouterr().out.strip().splitlines()
    assert len(listing) == 1 and "rose.jpg" in listing[0] and "[Nobi (restore)]" in listing[0]
    subjects = {s["name"]: s for s in _json(capsys, ["subjects", "list"])}
    assert (subjects["Grandma Rose"]["reference_count"], subjects["Nobi"]["restore_count"]) == (
        3,
        1,
    )
    assert subjects["Grandma Rose"]["adapter_state"] == "none"

    assert main(["subjects", "rename", "Nobi", "Nobi the cat"]) == 0
    assert main(["subjects", "remove", "Nobi the cat"]) == 0
    assert "its 1 photos stay" in capsys.readouterr().out
    assert len(_json(capsys, ["photos", "list"])) == 4

    # A restoration made by the engine, then listed and exported.
    with Library.open() as lib:
        out = lib.restoration_path_for(rose["id"], seed=1)
        lib.load_photo_rgb(rose["id"]).save(out)
        restoration = lib.add_restoration(rose["id"], None, None, {"strength": 200}, 1, out, [0.3])
    listed = _json(capsys, ["restorations", "list"])
    assert [r["id"] for r in listed] == [restoration.id] and listed[0]["identity_scores"] == [0.3]

    target = tmp_path / "export" / "rose restored.jpg"
    assert main(["export", str(restoration.id), "--out", str(target)]) == 0
    with Image.open(target) as img:
        assert img.getexif().get_ifd(TAG_EXIF_IFD)[TAG_DATETIME_ORIGINAL] == TAKEN
    assert main(["export", str(restoration.id), "--out", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (
        main(["export", str(restoration.id), "--out", str(target), "--side-by-side", "--overwrite"])
        == 0
    )
    assert Image.open(target).width > 2 * astronaut.width

    report = _json(capsys, ["library", "check"])
    assert report["ok"] is True and report["photos_checked"] == 4
    jobs = _json(capsys, ["library", "jobs"])
    assert [j["state"] for j in jobs] == ["done", "done"]


def test_check_fails_with_a_list_of_problems(gen2res_home, tmp_path, capsys):
    write_photos(tmp_path, 2)
    assert main(["photos", "import", str(tmp_path)]) == 0
    with Library.open() as lib:
        lib.photo_path(lib.list_photos()[0]).unlink()
    capsys.readouterr()

    assert main(["library", "check"]) == 1
    captured = capsys.readouterr()
    assert "Missing files:" in captured.out and "photo_000.png" in captured.out
    assert "found problems" in captured.err
    assert main(["library", "check", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["missing_files"]


def test_usage_and_expected_errors(gen2res_home, capsys):
    assert main(["tag", "1", "--subject", "Nobody", "--role", "reference"]) == 1
    assert "No subject named 'Nobody'" in capsys.readouterr().err
    assert main(["export", "7", "--out", "x.png"]) == 1
    assert "No restoration with id 7" in capsys.readouterr().err
    assert main(["photos", "import", "x.jpg", "--subject", "Nobody"]) == 1
    assert "both a subject and a role" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse: a usage error
        main(["subjects", "add", "Rex", "--kind", "bird"])
    assert usage.value.code == 2
