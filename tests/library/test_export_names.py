"""Exports carry the people: MWG regions, keywords, a description, the original and its date;
what Gen2Res writes, Gen2Res reads back, and so does ExifTool."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.metadata import picasa, read_photo_names
from gen2res_desktop.core.metadata.reader import embedded_xmp
from gen2res_desktop.library import named_faces
from gen2res_desktop.library.export import export_restoration
from gen2res_desktop.library.export_xmp import describe_restoration, sidecar_path
from gen2res_desktop.library.models import FaceData

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from metadata_fixtures import digikam_packet, jpeg_with_xmp  # noqa: E402

TAKEN = "1987:06:05 14:30:00"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
MWG = "{http://www.metadataworkinggroup.com/schemas/regions/}"
AREA = "{http://ns.adobe.com/xmp/sType/Area#}"
SETTINGS = {
    "repair": {
        "stages": [
            {"stage": "damage", "method": "opencv"},
            {"stage": "inpaint", "method": "opencv"},
            {"stage": "upscale", "method": "opencv", "detail": {"factor": 2}},
        ]
    },
    "faces": [{"index": 1, "subject": "Grandma Rose", "mode": "adapter"}],
}


@pytest.fixture(autouse=True)
def no_user_picasa(monkeypatch):
    monkeypatch.setattr(picasa, "user_contacts_files", lambda: [])


@pytest.fixture
def named(lib, tmp_path):
    """A 300 x 200 photo whose digiKam names two faces; Grandma Rose is a subject with her
    face confirmed, Tom is only named in the file; a restoration enlarged twice."""
    src = tmp_path / "originals" / "beach.jpg"
    src.parent.mkdir()
    regions = [("Grandma Rose", 0.25, 0.5, 0.2, 0.3), ("Tom", 0.75, 0.5, 0.2, 0.3)]
    src.write_bytes(
        jpeg_with_xmp(
            Image.new("RGB", (300, 200), (120, 110, 100)), digikam_packet(regions), 1, TAKEN
        )
    )
    before = src.read_bytes()
    (photo_id,) = lib.import_paths([src]).photo_ids
    lib.add_subject("Grandma Rose", "person")
    lib.replace_faces(photo_id, [FaceData((50, 75, 40, 50)), FaceData((200, 75, 40, 50))])
    named_faces.name_faces(lib, photo_id)
    out = lib.restoration_path_for(photo_id, seed=1)
    Image.new("RGB", (600, 400), (200, 190, 180)).save(out)
    restoration = lib.add_restoration(photo_id, "Grandma Rose", None, SETTINGS, 1, out, None)
    return restoration, src, before


def _names(path: Path, size=(600, 400)):
    read = read_photo_names(path, upright=size, original=path)
    return sorted((r.name, r.box) for r in read.regions if r.box is not None), read


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_export_round_trip_names_rectangles_keywords_and_date(lib, named, tmp_path, suffix):
    restoration, src, before = named
    out = export_restoration(lib, restoration.id, tmp_path / f"restored{suffix}")
    regions, read = _names(out)
    # the rectangles digiKam drew, twice as large; Tom kept as the file named him
    assert regions == [("Grandma Rose", (90, 140, 120, 120)), ("Tom", (390, 140, 120, 120))]
    assert read.regions[0].app == "Gen2Res" and read.notes == []
    packet = embedded_xmp(out).decode("utf-8")
    assert "People/Grandma Rose" in packet and "People|Tom" in packet
    assert (
        "Restored with Gen2Res: scratches filled, enlarged 2 times, face regenerated with "
        "Grandma Rose's face model." in packet
    )
    photo = lib.get_photo(restoration.photo_id)
    assert f"sha256:{photo.hash}" in packet and "beach.jpg" in packet
    assert 'photoshop:DateCreated="1987-06-05T14:30:00"' in packet
    assert os.stat(out).st_mtime == datetime(1987, 6, 5, 14, 30).timestamp()
    assert src.read_bytes() == before  # the original is never written to
    assert not sidecar_path(out).exists()


def test_packet_follows_the_mwg_structure(lib, named, tmp_path):
    restoration, *_ = named
    out = export_restoration(lib, restoration.id, tmp_path / "restored.jpg")
    root = ET.fromstring(embedded_xmp(out))  # our own packet: no DTD, safe to parse
    regions = root.find(f".//{MWG}Regions")
    dims = regions.find(f"{MWG}AppliedToDimensions")
    assert dims.findtext("{http://ns.adobe.com/xap/1.0/sType/Dimensions#}w") == "600"
    items = regions.findall(f"{MWG}RegionList/{RDF}Bag/{RDF}li")
    assert len(items) == 2  # one region per face
    for li in items:
        assert li.findtext(f"{MWG}Name") in ("Grandma Rose", "Tom")
        assert li.findtext(f"{MWG}Type") == "Face"
        area = li.find(f"{MWG}Area")
        assert area.findtext(f"{AREA}unit") == "normalized"
        assert all(0 < float(area.findtext(f"{AREA}{k}")) < 1 for k in "xywh")


def test_sidecar_only_both_and_off(lib, named, tmp_path):
    restoration, *_ = named
    out = export_restoration(lib, restoration.id, tmp_path / "side.jpg", xmp="sidecar")
    assert embedded_xmp(out) is None
    sidecar = sidecar_path(out)
    assert sidecar.name == "side.jpg.xmp" and "Grandma Rose" in sidecar.read_text("utf-8")
    assert os.stat(sidecar).st_mtime == os.stat(out).st_mtime
    # the sidecar read back beside the export gives the same names
    assert _names(out)[0] == _names(export_restoration(lib, restoration.id, tmp_path / "e.png"))[0]
    # an existing sidecar is refused before anything is written
    with pytest.raises(Gen2ResError, match="already exists"):
        (tmp_path / "other.jpg.xmp").write_text("mine")
        export_restoration(lib, restoration.id, tmp_path / "other.jpg", xmp="both")
    assert not (tmp_path / "other.jpg").exists()
    assert (tmp_path / "other.jpg.xmp").read_text() == "mine"
    off = export_restoration(lib, restoration.id, tmp_path / "off.jpg", xmp="off")
    assert embedded_xmp(off) is None and not sidecar_path(off).exists()
    assert os.stat(off).st_mtime == datetime(1987, 6, 5, 14, 30).timestamp()
    with pytest.raises(Gen2ResError, match="Unknown XMP choice"):
        export_restoration(lib, restoration.id, tmp_path / "x.jpg", xmp="inline")


def test_side_by_side_names_both_halves(lib, named, tmp_path):
    restoration, *_ = named
    out = export_restoration(lib, restoration.id, tmp_path / "sbs.jpg", side_by_side=True)
    assert Image.open(out).size == (600 + 16 + 600, 400)
    regions, _ = _names(out, (1216, 400))
    assert regions == [
        ("Grandma Rose", (90, 140, 120, 120)),
        ("Grandma Rose", (706, 140, 120, 120)),
        ("Tom", (390, 140, 120, 120)),
        ("Tom", (1006, 140, 120, 120)),
    ]


def test_names_left_out_when_the_setting_is_off(lib, named, tmp_path):
    restoration, *_ = named
    lib.set_setting(named_faces.WRITE_SETTING, False)
    out = export_restoration(lib, restoration.id, tmp_path / "plain.jpg")
    packet = embedded_xmp(out).decode("utf-8")
    assert "Grandma Rose" not in packet.replace("Grandma Rose's face model", "")
    assert "Tom" not in packet and "Restored with Gen2Res" in packet


def test_description_words():
    assert describe_restoration({}) == "Restored with Gen2Res."
    two = {"faces": [{"subject": "Tom", "mode": "adapter"}, {"subject": "Ann", "mode": "adapter"}]}
    assert describe_restoration(two) == (
        "Restored with Gen2Res: faces regenerated with Ann's and Tom's face models."
    )
    single = {"faces": [{"subject": None, "mode": "single-photo"}]}
    assert describe_restoration(single, side_by_side=True) == (
        "Before and after, side by side. Restored with Gen2Res: face regenerated "
        "(single-photo mode)."
    )


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="ExifTool is not installed")
@pytest.mark.parametrize("xmp", ["embed", "sidecar"])
def test_exiftool_reads_the_same_names_and_rectangles(lib, named, tmp_path, xmp):
    restoration, *_ = named
    out = export_restoration(lib, restoration.id, tmp_path / "restored.jpg", xmp=xmp)
    target = out if xmp == "embed" else sidecar_path(out)
    result = subprocess.run(
        ["exiftool", "-j", "-struct", "-XMP:all", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    tags = json.loads(result.stdout)[0]
    regions = tags["RegionInfo"]
    assert regions["AppliedToDimensions"] == {"H": 400, "Unit": "pixel", "W": 600}
    got = sorted(
        (
            r["Name"],
            r["Type"],
            r["Area"]["Unit"],
            round(r["Area"]["X"] * 600),
            round(r["Area"]["W"] * 600),
        )
        for r in regions["RegionList"]
    )
    assert got == [
        ("Grandma Rose", "Face", "normalized", 150, 120),
        ("Tom", "Face", "normalized", 450, 120),
    ]
    assert sorted(tags["TagsList"]) == ["People/Grandma Rose", "People/Tom"]
    assert sorted(tags["HierarchicalSubject"]) == ["People|Grandma Rose", "People|Tom"]
    assert sorted(tags["Subject"]) == ["Grandma Rose", "Tom"]
    assert sorted(r["PersonDisplayName"] for r in tags["RegionInfoMP"]["Regions"]) == [
        "Grandma Rose",
        "Tom",
    ]
    assert tags["DerivedFrom"]["FilePath"] == "beach.jpg"
    assert tags["DateCreated"].startswith("1987:06:05 14:30:00")
    assert tags["Description"].startswith("Restored with Gen2Res")
