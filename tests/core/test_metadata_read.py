"""Reading names from photo files: MWG, Microsoft, keywords, Picasa; orientation; hostile XMP."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageOps

from gen2res_desktop.core.metadata import read_photo_names
from gen2res_desktop.core.metadata.picasa import PicasaLookup, parse_rect64
from gen2res_desktop.core.metadata.regions import normalised_to_upright
from gen2res_desktop.core.metadata.safe_xml import UnsafeXML, parse_xml
from gen2res_desktop.core.metadata.xmp_read import packet_names
from tests.core.metadata_fixtures import (
    digikam_packet,
    jpeg_with_xmp,
    lightroom_packet,
    packet,
    png_with_xmp,
    windows_packet,
)

GREY = Image.new("RGB", (600, 400), (128, 128, 128))


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _names(read):
    return [(r.name, r.box, r.source) for r in read.regions]


def test_digikam_mwg_and_mp_regions_and_tags_are_one_face_each(tmp_path):
    xmp = digikam_packet([("Grandma Rose", 0.25, 0.5, 0.1, 0.15)], dims=(600, 400))
    photo = _write(tmp_path, "rose.jpg", jpeg_with_xmp(GREY, xmp))
    read = read_photo_names(photo, upright=(600, 400), original=photo)
    # MWG first; the MP copy of the same face and the People/ tag are merged into it;
    # People/Unknown (digiKam's own) and Places/ are not names
    assert _names(read) == [("Grandma Rose", (120, 170, 60, 60), "mwg")]
    assert read.regions[0].app == "digiKam"
    assert read.counts() == {"mwg": 1}
    assert read.notes == []


def test_lightroom_regions_with_element_values_and_hierarchical_keywords(tmp_path):
    xmp = lightroom_packet([("Eileen", 0.75, 0.25, 0.1, 0.2), ("Tom", 0.3, 0.3, 0.1, 0.1)])
    photo = _write(tmp_path, "pair.png", png_with_xmp(GREY, xmp))
    read = read_photo_names(photo, upright=(600, 400))
    assert _names(read) == [
        ("Eileen", (420, 60, 60, 80), "mwg"),
        ("Tom", (150, 100, 60, 40), "mwg"),
    ]
    assert {r.app for r in read.regions} == {"Lightroom"}


def test_windows_photo_gallery_rectangle_is_top_left_width_height(tmp_path):
    photo = _write(
        tmp_path, "w.jpg", jpeg_with_xmp(GREY, windows_packet("Aunt May", "0.5, 0.25, 0.2, 0.25"))
    )
    read = read_photo_names(photo, upright=(600, 400))
    assert _names(read) == [("Aunt May", (300, 100, 120, 100), "mp")]


def test_people_keywords_without_rectangles(tmp_path):
    body = (
        "<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>Uncle Bob</rdf:li></rdf:Bag>"
        "</Iptc4xmpExt:PersonInImage><lr:hierarchicalSubject><rdf:Bag>"
        "<rdf:li>People|Family|Cousin Ann</rdf:li><rdf:li>Events|Wedding</rdf:li>"
        "</rdf:Bag></lr:hierarchicalSubject>"
        "<dc:subject><rdf:Bag><rdf:li>Beach</rdf:li></rdf:Bag></dc:subject>"
    )
    photo = _write(tmp_path, "k.jpg", jpeg_with_xmp(GREY, packet(body)))
    read = read_photo_names(photo, upright=(600, 400))
    assert sorted(_names(read)) == [
        ("Cousin Ann", None, "keywords"),
        ("Uncle Bob", None, "keywords"),
    ]
    assert read.counts() == {}


def test_sidecar_beside_the_original_is_read(tmp_path):
    photo = _write(tmp_path, "side.jpg", jpeg_with_xmp(GREY, None))
    _write(tmp_path, "side.jpg.xmp", lightroom_packet([("Eileen", 0.5, 0.5, 0.2, 0.2)]))
    read = read_photo_names(photo, upright=(600, 400), original=photo)
    assert _names(read) == [("Eileen", (240, 160, 120, 80), "mwg")]


def _stored_marker() -> tuple[Image.Image, tuple[float, float, float, float]]:
    """A stored 90 x 60 image with a white square at a known place, as the camera wrote it."""
    img = Image.new("RGB", (90, 60), (0, 0, 0))
    left, top, right, bottom = 0.1, 0.2, 0.4, 0.6
    img.paste((255, 255, 255), (9, 12, 36, 36))
    return img, (left, top, right, bottom)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_mwg_region_follows_the_exif_orientation_onto_the_pixels(tmp_path, orientation):
    stored, (left, t, r, b) = _stored_marker()
    region = [("Rose", (left + r) / 2, (t + b) / 2, r - left, b - t)]
    data = jpeg_with_xmp(stored, digikam_packet(region, dims=(90, 60)), orientation)
    photo = _write(tmp_path, "turned.jpg", data)
    upright_img = ImageOps.exif_transpose(Image.open(photo))
    read = read_photo_names(photo, upright=upright_img.size, orientation=orientation)
    x, y, w, h = read.regions[0].box
    ys, xs = np.nonzero(np.asarray(upright_img.convert("L")) > 128)
    assert abs(xs.min() - x) <= 1 and abs(ys.min() - y) <= 1
    assert abs(xs.max() + 1 - (x + w)) <= 1 and abs(ys.max() + 1 - (y + h)) <= 1


def test_regions_drawn_on_the_turned_photo_are_recognised_by_their_dimensions():
    # a 90 x 60 sensor image shown 60 x 90 (orientation 6); the writer measured 60 x 90
    upright = (60, 90)
    xmp = digikam_packet([("Rose", 0.5, 0.25, 0.2, 0.1)], dims=(60, 90))
    regions, _ = packet_names(xmp, upright, 6)
    assert regions[0].box == (24, 18, 12, 9)  # taken as upright, not turned again
    regions, _ = packet_names(digikam_packet([("Rose", 0.5, 0.25, 0.2, 0.1)]), upright, 6)
    assert regions[0].box != (24, 18, 12, 9)  # no dimensions: the MWG rule, stored frame


def test_rect64_and_normalised_boxes():
    assert parse_rect64("0000000080008000") == (0.0, 0.0, 32768 / 65535, 32768 / 65535)
    assert parse_rect64("80008000") == parse_rect64("0000000080008000")  # zeros dropped
    assert normalised_to_upright((0.5, 0.5, 0.4, 0.9), (100, 100)) is None
    assert normalised_to_upright((-0.1, 0.0, 0.5, 0.5), (100, 100)) == (0, 0, 50, 50)
    assert normalised_to_upright((float("nan"), 0, 1, 1), (100, 100)) is None


def _picasa_folder(tmp_path, contacts_in: str):
    folder = tmp_path / "Pictures" / "1987 Brighton"
    folder.mkdir(parents=True)
    photo = _write(folder, "IMG_0001.JPG", jpeg_with_xmp(GREY, None))
    ini = (
        "[Picasa]\nname=1987 Brighton\n"
        "[img_0001.jpg]\n"
        # left 0.25, top 0.25, right 0.5, bottom 0.5; then a face nobody named
        "faces=rect64(4000400080008000),d10a8325c557b085;"
        "rect64(c000c000e000e000),ffffffffffffffff\nbackuphash=1234\n"
    )
    if contacts_in == "ini":
        ini += "[Contacts2]\nd10a8325c557b085=Grandma Rose;rose@example.org;\n"
    _write(folder, ".picasa.ini", ini.encode("utf-8"))
    if contacts_in == "above":
        _write(
            tmp_path / "Pictures",
            "contacts.xml",
            b'<?xml version="1.0" encoding="utf-8"?>\n<contacts>\n'
            b'<contact id="d10a8325c557b085" name="Grandma Rose" display="Rose"/>\n</contacts>',
        )
    return photo


@pytest.mark.parametrize("contacts_in", ["ini", "above"])
def test_picasa_ini_faces_with_names_from_contacts(tmp_path, contacts_in):
    photo = _picasa_folder(tmp_path, contacts_in)
    read = read_photo_names(
        photo, upright=(600, 400), original=photo, picasa=PicasaLookup(contacts_files=[])
    )
    # rect64 edges are fractions of 65535: 0x4000 -> 0.25, 0x8000 -> 0.5
    assert [(r.name, r.source, r.app) for r in read.regions] == [
        ("Grandma Rose", "picasa", "Picasa")
    ]
    assert read.regions[0].box == (150, 100, 150, 100)


def test_picasa_contact_without_a_name_is_a_note_not_a_failure(tmp_path):
    photo = _picasa_folder(tmp_path, "nowhere")
    lookup = PicasaLookup(contacts_files=[tmp_path / "missing.xml"])
    read = read_photo_names(photo, upright=(600, 400), original=photo, picasa=lookup)
    assert read.regions == []
    assert "contacts.xml" in read.notes[0]


def test_user_picasa_contacts_file_is_used_last(tmp_path):
    photo = _picasa_folder(tmp_path, "nowhere")
    user = _write(
        tmp_path,
        "user_contacts.xml",
        b'<contacts><contact id="d10a8325c557b085" name="Rose"/></contacts>',
    )
    read = read_photo_names(
        photo, upright=(600, 400), original=photo, picasa=PicasaLookup(contacts_files=[user])
    )
    assert [r.name for r in read.regions] == ["Rose"]


# ------------------------------------------------------------------ hostile metadata

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol3;</x:xmpmeta>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&xxe;</x:xmpmeta>'
)


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL, b"<x:xmpmeta \xff\xfe broken", b"<a><b></a>", b"", b"   "],
    ids=["billion-laughs", "external-entity", "invalid-utf8", "not-well-formed", "empty", "blank"],
)
def test_hostile_xmp_is_skipped_with_a_note_and_the_photo_still_reads(tmp_path, data):
    photo = _write(tmp_path, "bad.jpg", jpeg_with_xmp(GREY, data or None))
    _write(tmp_path, "bad.jpg.xmp", data)
    read = read_photo_names(photo, upright=(600, 400), original=photo)
    assert read.regions == []
    if data.strip():
        assert read.notes and all("XMP skipped" in n for n in read.notes)


def test_parser_refuses_entities_before_expanding_them():
    for data in (BILLION_LAUGHS, EXTERNAL):
        with pytest.raises(UnsafeXML, match="refused"):
            parse_xml(data)


def test_fifty_megabytes_of_xmp_is_skipped_unread(tmp_path):
    photo = _write(tmp_path, "huge.jpg", jpeg_with_xmp(GREY, None))
    with open(tmp_path / "huge.jpg.xmp", "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: no 50 MB written to the disk
    read = read_photo_names(photo, upright=(600, 400), original=photo)
    assert read.regions == [] and "bytes of XMP, skipped" in read.notes[0]


def test_deeply_nested_rdf_does_not_recurse_without_end(tmp_path):
    body = '<mwg-rs:Regions rdf:parseType="Resource">' * 5000 + "</mwg-rs:Regions>" * 5000
    photo = _write(tmp_path, "deep.png", png_with_xmp(GREY, packet(body)))
    read = read_photo_names(photo, upright=(600, 400))
    assert read.regions == []


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="ExifTool is not installed")
def test_regions_written_by_exiftool_on_a_turned_photo(tmp_path):
    """An independent writer: ExifTool's MWG regions on a sideways camera photo."""
    stored, (left, t, r, b) = _stored_marker()
    photo = _write(tmp_path, "cam.jpg", jpeg_with_xmp(stored, None, orientation=6))
    area = f"{{X={(left + r) / 2},Y={(t + b) / 2},W={r - left},H={b - t},Unit=normalized}}"
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-RegionInfo={AppliedToDimensions={W=90,H=60,Unit=pixel},"
            f"RegionList=[{{Area={area},Name=Grandma Rose,Type=Face}}]}}",
            "-HierarchicalSubject=People|Grandma Rose",
            str(photo),
        ],
        check=True,
        timeout=60,
    )
    upright_img = ImageOps.exif_transpose(Image.open(photo))
    assert upright_img.size == (60, 90)
    read = read_photo_names(photo, upright=upright_img.size, orientation=6)
    assert [(x.name, x.source) for x in read.regions] == [("Grandma Rose", "mwg")]
    x, y, w, h = read.regions[0].box
    ys, xs = np.nonzero(np.asarray(upright_img.convert("L")) > 128)
    assert abs(xs.min() - x) <= 1 and abs(ys.max() + 1 - (y + h)) <= 1
