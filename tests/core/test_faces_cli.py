"""``gen2res faces detect`` on files and on library photos (faces stored, subjects suggested)."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from skimage import data

from gen2res_desktop.cli.main import main
from gen2res_desktop.library.store import Library


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    astro = Image.fromarray(data.astronaut())
    astro.save(folder / "eileen.png")
    astro.rotate(15, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 90)).save(
        folder / "eileen-again.png"
    )
    Image.fromarray(data.chelsea()).save(folder / "chelsea.png")
    return folder


def test_detect_file_as_text(photos, capsys):
    assert main(["faces", "detect", str(photos / "eileen.png")]) == 0
    out = capsys.readouterr().out
    assert "eileen.png (512 x 512): 1 face" in out
    assert "face 1: box" in out and "eyes (" in out and "mouth (" in out


def test_detect_file_as_json_has_all_landmarks(photos, capsys):
    assert main(["faces", "detect", str(photos / "eileen.png"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["width"] == 512 and report["photo_id"] is None
    (face,) = report["faces"]
    assert len(face["landmarks"]) == 68 and face["restorable"] and face["problem"] is None
    assert set(face["points"]) == {"eye_left", "eye_right", "nose", "mouth_left", "mouth_right"}


def test_detect_file_without_faces(photos, capsys):
    assert main(["faces", "detect", str(photos / "chelsea.png")]) == 0
    assert "0 faces" in capsys.readouterr().out


def test_bad_input_is_a_one_line_error(tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert main(["faces", "detect", str(broken)]) == 1
    assert "not an image" in capsys.readouterr().err
    assert main(["faces", "detect", str(tmp_path / "missing.jpg")]) == 1
    with pytest.raises(SystemExit) as e:
        main(["faces", "detect", str(broken), "--max-side", "10"])
    assert e.value.code == 2


def test_library_photo_faces_are_stored_and_suggested(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEN2RES_HOME", str(tmp_path / "library"))
    with Library.open() as lib:
        lib.add_subject("Eileen", "person")
        ref = lib.import_paths(
            [photos / "eileen.png"], subject="Eileen", role="reference"
        ).photo_ids[0]
        other = lib.import_paths([photos / "eileen-again.png"]).photo_ids[0]

    assert main(["faces", "detect", str(ref)]) == 0
    out = capsys.readouterr().out
    assert "1 face" in out and "suggested subject: Eileen" in out

    assert main(["faces", "detect", str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["photo_id"] == other
    (face,) = report["faces"]
    assert face["suggested_subject"] == "Eileen" and face["suggested_distance"] < 0.6

    with Library.open() as lib:
        (stored,) = lib.list_faces(photo_id=other)
        assert stored.suggested_subject == "Eileen" and stored.descriptor.shape == (128,)
        assert len(stored.landmarks) == 68

    assert main(["faces", "detect", "999"]) == 1
    assert "No photo with id 999" in capsys.readouterr().err
