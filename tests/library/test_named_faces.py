"""Names from other photo managers: read on import, counted, suggested, given to faces."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from gen2res_desktop.core.metadata import picasa
from gen2res_desktop.library import name_suggestions, named_faces
from gen2res_desktop.library.models import FaceData

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from metadata_fixtures import digikam_packet, jpeg_with_xmp, packet  # noqa: E402

GREY = Image.new("RGB", (600, 400), (120, 120, 120))


@pytest.fixture(autouse=True)
def no_user_picasa(monkeypatch):
    """The tests never read this machine's own Picasa contacts."""
    monkeypatch.setattr(picasa, "user_contacts_files", lambda: [])


def _shoebox(tmp_path: Path) -> Path:
    """A folder as a family exports it: digiKam-tagged JPEGs, a Picasa folder, keywords."""
    box = tmp_path / "shoebox"
    (box / "picasa").mkdir(parents=True, exist_ok=True)
    two = [("Grandma Rose", 0.25, 0.5, 0.1, 0.15), ("Tom", 0.7, 0.4, 0.1, 0.15)]
    (box / "beach.jpg").write_bytes(jpeg_with_xmp(GREY, digikam_packet(two, dims=(600, 400))))
    one = [("Grandma Rose", 0.5, 0.5, 0.1, 0.15)]
    (box / "garden.jpg").write_bytes(
        jpeg_with_xmp(Image.new("RGB", (600, 400), (90, 140, 90)), digikam_packet(one))
    )
    (box / "picasa" / "xmas.jpg").write_bytes(
        jpeg_with_xmp(Image.new("RGB", (600, 400), (140, 90, 90)), None)
    )
    (box / "picasa" / ".picasa.ini").write_text(
        "[xmas.jpg]\nfaces=rect64(4000400080008000),abc123\n[Contacts2]\nabc123=grandma rose;;\n",
        encoding="utf-8",
    )
    keywords = packet(
        "<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>Uncle Bob</rdf:li></rdf:Bag>"
        "</Iptc4xmpExt:PersonInImage>"
    )
    (box / "bob.jpg").write_bytes(
        jpeg_with_xmp(Image.new("RGB", (600, 400), (60, 60, 140)), keywords)
    )
    return box


def test_import_reads_names_counts_them_and_suggests_subjects(lib, tmp_path):
    summary = lib.import_paths([_shoebox(tmp_path)])
    assert len(summary.imported) == 4
    assert summary.names_found == {"mwg": 3, "picasa": 1, "keywords": 1}
    assert "named in the files: 4 faces (XMP regions 3, Picasa 1) and 1 people keyword" in (
        summary.message()
    )
    suggestions = name_suggestions.name_suggestions(lib)
    assert [(s.name, s.photos, s.faces) for s in suggestions] == [
        ("Grandma Rose", 3, 3),
        ("Tom", 1, 1),
        ("Uncle Bob", 1, 0),
    ]
    assert suggestions[0].text() == "3 photos already name Grandma Rose — make them a person?"
    assert set(suggestions[0].sources) == {"digiKam", "Picasa"}
    # the same folder again: already known, nothing counted twice
    again = lib.import_paths([_shoebox(tmp_path)])
    assert again.names_found == {} and len(again.duplicates) == 4
    assert name_suggestions.name_suggestions(lib)[0].photos == 3


def test_names_stay_unread_when_the_setting_is_off(lib, tmp_path):
    lib.set_setting(named_faces.READ_SETTING, False)
    summary = lib.import_paths([_shoebox(tmp_path)])
    assert summary.names_found == {} and name_suggestions.name_suggestions(lib) == []


def test_hostile_xmp_never_fails_the_import(lib, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(
        jpeg_with_xmp(GREY, b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    )
    (tmp_path / "bad.jpg.xmp").write_bytes(b"\xff\xfe not xml at all")
    summary = lib.import_paths([bad])
    assert len(summary.imported) == 1 and summary.skipped == []
    assert summary.names_found == {}


def _photo_with_faces(lib, tmp_path, regions) -> int:
    src = tmp_path / "group.jpg"
    src.write_bytes(jpeg_with_xmp(GREY, digikam_packet(regions, dims=(600, 400))))
    (photo_id,) = lib.import_paths([src]).photo_ids
    # faces as the detector would store them: tighter than digiKam's rectangles
    lib.replace_faces(photo_id, [FaceData((130, 180, 40, 40)), FaceData((400, 130, 40, 40))])
    return photo_id


def test_a_name_that_is_a_subject_confirms_its_face_once(lib, tmp_path):
    lib.add_subject("Grandma Rose", "person")
    photo_id = _photo_with_faces(
        lib, tmp_path, [("grandma rose", 0.25, 0.5, 0.1, 0.15), ("Tom", 0.7, 0.4, 0.1, 0.15)]
    )
    assert named_faces.name_faces(lib, photo_id) == 1
    faces = lib.list_faces(photo_id=photo_id)
    assert [f.confirmed_subject for f in faces] == ["Grandma Rose", None]
    names = named_faces.face_names(lib, photo_id)
    assert names[faces[0].id].name == "grandma rose" and names[faces[0].id].where == "digiKam"
    assert names[faces[1].id].name == "Tom"
    # the user says it is not her: the file's name is not given to it again
    lib.confirm_face(faces[0].id, None)
    assert named_faces.name_faces(lib, photo_id) == 0
    assert lib.list_faces(photo_id=photo_id)[0].confirmed_subject is None


def test_make_subject_from_name_confirms_the_faces_the_files_name(lib, tmp_path):
    photo_id = _photo_with_faces(
        lib, tmp_path, [("Grandma Rose", 0.25, 0.5, 0.1, 0.15), ("Tom", 0.7, 0.4, 0.1, 0.15)]
    )
    result = name_suggestions.make_subject_from_name(lib, "TOM")
    assert (result.subject, result.photos, result.confirmed) == ("Tom", [photo_id], 1)
    assert lib.get_subject("Tom").kind == "person"
    assert [f.confirmed_subject for f in lib.list_faces(photo_id=photo_id)] == [None, "Tom"]
    assert [s.name for s in name_suggestions.name_suggestions(lib)] == ["Grandma Rose"]
    name_suggestions.dismiss_name(lib, "grandma rose")
    assert name_suggestions.name_suggestions(lib) == []
    assert len(name_suggestions.name_suggestions(lib, include_dismissed=True)) == 1


def test_one_face_and_one_keyword_name_are_the_same_person(lib, tmp_path):
    src = tmp_path / "bob.jpg"
    src.write_bytes(
        jpeg_with_xmp(
            GREY,
            packet(
                "<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>Uncle Bob</rdf:li></rdf:Bag>"
                "</Iptc4xmpExt:PersonInImage>"
            ),
        )
    )
    (photo_id,) = lib.import_paths([src]).photo_ids
    lib.replace_faces(photo_id, [FaceData((100, 100, 50, 50))])
    result = name_suggestions.make_subject_from_name(lib, "Uncle Bob")
    assert result.confirmed == 1


def test_detection_confirms_named_faces_and_adds_the_ones_it_missed(
    lib, tmp_path, astronaut, monkeypatch
):
    from gen2res_desktop.core.faces import describe_face
    from gen2res_desktop.library import faces as library_faces

    w, h = astronaut.size  # 512 x 512; the astronaut's face is near (171, 79, 94, 94)
    regions = [
        ("Eileen", (171 + 47) / w, (79 + 47) / h, 110 / w, 120 / h),
        ("Tom", 390 / w, 400 / h, 90 / w, 90 / h),  # a "face" the detector does not find
    ]
    src = tmp_path / "astronaut.jpg"
    buf = io.BytesIO()
    astronaut.save(buf, "JPEG", quality=92, xmp=digikam_packet(regions, dims=(w, h)))
    src.write_bytes(buf.getvalue())
    (photo_id,) = lib.import_paths([src]).photo_ids
    lib.add_subject("Eileen", "person")
    lib.add_subject("Tom", "person")
    monkeypatch.setattr(
        library_faces, "detect_faces", lambda image, **_: [describe_face(image, (171, 79, 94, 94))]
    )
    _, _, found, stored = library_faces.detect_library_photo(lib, photo_id)
    assert [f.found_by for f in found] == ["hog", named_faces.FOUND_BY]
    assert [f.confirmed_subject for f in stored] == ["Eileen", "Tom"]
    assert all(len(f.landmarks) == 68 and f.descriptor is not None for f in stored)


def test_plan_then_apply_is_redoable_and_photos_without_faces_wait(lib, tmp_path):
    photo_id = _photo_with_faces(
        lib, tmp_path, [("Grandma Rose", 0.25, 0.5, 0.1, 0.15), ("Tom", 0.7, 0.4, 0.1, 0.15)]
    )
    other = tmp_path / "other.jpg"
    other.write_bytes(
        jpeg_with_xmp(
            Image.new("RGB", (600, 400), (10, 20, 30)),
            digikam_packet([("Tom", 0.5, 0.5, 0.1, 0.1)]),
        )
    )
    (other_id,) = lib.import_paths([other]).photo_ids
    lib.add_subject("Tom", "person")
    plan = name_suggestions.plan_name(lib, "Tom")
    tom_face = lib.list_faces(photo_id=photo_id)[1].id
    assert (plan.face_ids, plan.without_faces) == ([tom_face], [other_id])
    name_suggestions.apply_plan(lib, plan)
    assert lib.get_face(tom_face).confirmed_subject == "Tom"
    lib.confirm_face(tom_face, None)  # undo
    name_suggestions.apply_plan(lib, plan)  # redo: the same faces again
    assert lib.get_face(tom_face).confirmed_subject == "Tom"
    assert name_suggestions.plan_name(lib, "Tom").face_ids == []  # given once


def test_a_named_pet_becomes_a_cat_with_its_square(lib, tmp_path):
    body = (
        '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>'
        '<rdf:li rdf:parseType="Resource"><mwg-rs:Name>Nobi</mwg-rs:Name>'
        "<mwg-rs:Type>Pet</mwg-rs:Type>"
        '<mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.2" stArea:h="0.3" '
        'stArea:unit="normalized"/></rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>'
    )
    src = tmp_path / "nobi.jpg"
    src.write_bytes(jpeg_with_xmp(GREY, packet(body)))
    (photo_id,) = lib.import_paths([src]).photo_ids
    (suggestion,) = name_suggestions.name_suggestions(lib)
    assert suggestion.kind == "pet" and suggestion.text().endswith("make them a pet?")
    with pytest.raises(Exception, match="cat or a dog"):
        name_suggestions.make_subject_from_name(lib, "Nobi")
    name_suggestions.make_subject_from_name(lib, "Nobi", "cat")
    # the region (240, 140, 120, 120) as the square a user would have drawn
    assert lib.photo_crop(photo_id) == (240, 140, 120)
    lib.tag([photo_id], "Nobi", "restore")
    out = lib.restoration_path_for(photo_id, seed=0)
    GREY.save(out)
    r = lib.add_restoration(photo_id, "Nobi", None, {}, 0, out, None)
    from gen2res_desktop.core.metadata import read_photo_names
    from gen2res_desktop.library.export import export_restoration

    exported = export_restoration(lib, r.id, tmp_path / "nobi_restored.jpg")
    regions = read_photo_names(exported, upright=(600, 400)).regions
    assert [(x.name, x.kind, x.box) for x in regions] == [("Nobi", "pet", (240, 140, 120, 120))]
