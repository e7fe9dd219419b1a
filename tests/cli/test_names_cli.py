"""`gen2res subjects from-names`, `faces names`, `photos import` naming what it found and
`export --xmp`, from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from gen2res_desktop.cli.main import main
from gen2res_desktop.core.metadata import picasa
from gen2res_desktop.library import Library
from gen2res_desktop.library.models import FaceData

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from metadata_fixtures import digikam_packet, jpeg_with_xmp  # noqa: E402


@pytest.fixture(autouse=True)
def no_user_picasa(monkeypatch):
    monkeypatch.setattr(picasa, "user_contacts_files", lambda: [])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def family(tmp_path) -> Path:
    folder = tmp_path / "digikam export"
    folder.mkdir()
    for i, people in enumerate(
        [
            [("Grandma Rose", 0.25, 0.5, 0.2, 0.3), ("Tom", 0.75, 0.5, 0.2, 0.3)],
            [("Grandma Rose", 0.5, 0.5, 0.2, 0.3)],
        ]
    ):
        img = Image.new("RGB", (300, 200), (100 + 40 * i, 120, 110))
        (folder / f"photo{i}.jpg").write_bytes(jpeg_with_xmp(img, digikam_packet(people)))
    return folder


def test_import_suggest_make_and_export(capsys, gen2res_home, family, tmp_path):
    code, out, _ = run(capsys, "photos", "import", family)
    assert code == 0
    assert "named in the files: 3 faces (XMP regions 3)" in out

    code, out, _ = run(capsys, "subjects", "from-names")
    assert code == 0
    assert "2 photos already name Grandma Rose — make them a person?  (digiKam)" in out
    assert "1 photo already names Tom" in out

    code, out, _ = run(capsys, "faces", "names", "1")
    assert "photo 1: named in the file: Grandma Rose (digiKam), box 45,70 60x60" in out
    code, out, _ = run(capsys, "faces", "names", family / "photo0.jpg", "--json")
    assert [n["name"] for n in json.loads(out)["names"]] == ["Grandma Rose", "Tom"]

    with Library.open(gen2res_home) as lib:  # faces as the detector would have stored them
        lib.replace_faces(1, [FaceData((50, 75, 40, 50)), FaceData((200, 75, 40, 50))])
    code, out, _ = run(capsys, "subjects", "from-names", "grandma rose", "--no-detect")
    assert code == 0
    assert "Grandma Rose: named in 2 photo(s), 1 face(s) confirmed." in out
    code, out, _ = run(capsys, "subjects", "from-names", "Tom", "--dismiss")
    code, out, _ = run(capsys, "subjects", "from-names")
    assert "No names in the photo files wait to become subjects." in out

    with Library.open(gen2res_home) as lib:
        assert [f.confirmed_subject for f in lib.list_faces(photo_id=1)] == ["Grandma Rose", None]
        restored = lib.restoration_path_for(1, seed=0)
        Image.new("RGB", (300, 200)).save(restored)
        rid = lib.add_restoration(1, "Grandma Rose", None, {}, 0, restored, None).id
    out_file = tmp_path / "restored.jpg"
    code, out, _ = run(capsys, "export", rid, "--out", out_file, "--xmp", "sidecar")
    assert code == 0
    assert "Grandma Rose" in (tmp_path / "restored.jpg.xmp").read_text("utf-8")
    with pytest.raises(SystemExit) as usage:
        run(capsys, "export", rid, "--out", tmp_path / "x.jpg", "--xmp", "inline")
    assert usage.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_from_names_of_a_name_nobody_gave(capsys, gen2res_home):
    code, _, err = run(capsys, "subjects", "from-names", "Nobody")
    assert code == 1 and "No photo names 'Nobody'." in err


@pytest.mark.parametrize("text", ["a" * 300, "9" * 30, "\u00b9", "-1", "no such.jpg", "."])
def test_faces_names_of_anything_is_one_line_or_usage(capsys, gen2res_home, text):
    try:
        code, _, err = run(capsys, "faces", "names", text)
    except SystemExit as e:  # argparse: a usage error
        code, err = e.code, capsys.readouterr().err
    assert code in (1, 2) and "Traceback" not in err and err.strip()
