"""Whole photos from the command line: train a person from the album, restore, record, export."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from gen2res_desktop.cli.main import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def family(tmp_path, astronaut, chelsea):
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(5):
        astronaut.crop((8 * i, 4 * i, 420 + 6 * i, 420 + 6 * i)).save(
            folder / f"eileen_good_{i}.png"
        )
    damaged = np.asarray(astronaut, dtype=np.float32)
    damaged = damaged + np.random.default_rng(0).normal(0, 25, damaged.shape)
    Image.fromarray(damaged.clip(0, 255).astype(np.uint8)).save(tmp_path / "eileen_damaged.png")
    chelsea.save(tmp_path / "nobi.png")
    return folder, tmp_path / "eileen_damaged.png", tmp_path / "nobi.png"


def test_train_subject_then_restore_whole_photo(capsys, tiny_registry, family, tmp_path, astronaut):
    folder, damaged, _ = family
    assert run(capsys, "subjects", "add", "Eileen", "--kind", "person", "--prior", "tiny")[0] == 0
    assert (
        run(capsys, "photos", "import", folder, "--subject", "Eileen", "--role", "reference")[0]
        == 0
    )
    code, out, err = run(
        capsys, "photos", "import", damaged, "--subject", "Eileen", "--role", "restore", "--json"
    )
    assert code == 0, err
    photo_id = json.loads(out)["imported"][0]["photo_id"]

    code, out, err = run(capsys, "train", "--subject", "Eileen", "--steps", "4", "--rank", "4")
    assert code == 0, err
    assert "Adapter for 'Eileen' ready" in out

    code, out, err = run(
        capsys,
        "restore",
        photo_id,
        "--subject",
        "Eileen",
        "--strength",
        "20",
        "--steps",
        "4",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["faces"][0]["mode"] == "adapter" and result["faces"][0]["subject"] == "Eileen"
    face = result["faces"][0]
    # Eileen's five reference photos (their faces found when training) are her references
    assert face["references"] == 5
    for key in ("identity", "identity_before", "faithfulness"):
        assert 0.0 <= face[key] <= 1.0, key
    rid = result["restoration_id"]

    code, out, _ = run(capsys, "restorations", "list", "--json")
    assert code == 0 and json.loads(out)[0]["id"] == rid
    exported = tmp_path / "eileen_restored.jpg"
    assert run(capsys, "export", rid, "--out", exported)[0] == 0
    before, after = Image.open(damaged), Image.open(exported)
    assert after.size == before.size  # full resolution
    # the restored face region changed; the whole photo was repaired too: far from the
    # face (the flag), the added grain is mostly gone
    a, b = np.asarray(before, float), np.asarray(after.convert("RGB"), float)
    clean = np.asarray(astronaut, float)
    assert np.abs(a[100:180, 180:260] - b[100:180, 180:260]).mean() > 3
    flag = np.s_[:150, :120]
    assert np.abs(b[flag] - clean[flag]).mean() < 0.7 * np.abs(a[flag] - clean[flag]).mean()
    stages = [s["stage"] for s in result["repair"]]
    assert stages[:1] == ["damage"] and "denoise" in stages


def test_restore_file_needs_adapter_or_single_and_pet_needs_crop(
    capsys, tiny_registry, family, tmp_path
):
    _, damaged, nobi = family
    run(capsys, "subjects", "add", "Eileen", "--kind", "person", "--prior", "tiny")
    run(capsys, "subjects", "add", "Nobi", "--kind", "cat", "--prior", "tiny")
    code, _, err = run(
        capsys, "restore", damaged, "--subject", "Eileen", "--out", tmp_path / "x.png"
    )
    assert code == 1 and "no trained adapter" in err
    # no face found: the print still comes back repaired, and says no face was regenerated
    code, out, err = run(
        capsys, "restore", nobi, "--subject", "Eileen", "--single", "--out", tmp_path / "nf.png"
    )
    assert code == 0 and (tmp_path / "nf.png").is_file()
    assert "No face found in nobi.png" in out and "no face was regenerated" in out
    assert "--crop" in out and "Repaired:" in out
    code, _, err = run(
        capsys, "restore", nobi, "--subject", "Nobi", "--single", "--out", tmp_path / "x.png"
    )
    assert code == 1 and "no cat detector" in err
    code, out, err = run(
        capsys,
        "restore",
        nobi,
        "--subject",
        "Nobi",
        "--single",
        "--crop",
        "100,20,180",
        "--album-count",
        "2",
        "--album-strength",
        "10",
        "--train-steps",
        "2",
        "--strength",
        "10",
        "--steps",
        "3",
        "--upscale",
        "2",
        "--out",
        tmp_path / "nobi_fixed.png",
    )
    assert code == 0, err
    w, h = Image.open(nobi).size
    fixed = np.asarray(Image.open(tmp_path / "nobi_fixed.png"), float)
    assert fixed.shape[:2] == (2 * h, 2 * w)  # enlarged, and the pet's square with it
    # a pet has no face descriptor: no likeness scores at all
    assert "single-photo (Nobi)\n" in out and "faithfulness" not in out
    code, _, err = run(
        capsys, "restore", nobi, "--faces", "off", "--upscale", "2", "--out", tmp_path / "rep.png"
    )
    assert code == 0, err
    diff = np.abs(fixed - np.asarray(Image.open(tmp_path / "rep.png"), float)).max(axis=2)
    # the regenerated square landed where the crop box is on the enlarged photo, only there
    assert diff[2 * 20 : 2 * 200, 2 * 100 : 2 * 280].mean() > 1
    outside = np.ones_like(diff, bool)
    outside[2 * 20 : 2 * 200, 2 * 100 : 2 * 280] = False
    assert diff[outside].max() == 0
    code, _, err = run(
        capsys, "restore", nobi, "--subject", "Nobi", "--crop", "1,2", "--out", tmp_path / "y.png"
    )
    assert code == 1 and "X,Y,SIZE" in err


def test_a_pets_crop_box_is_remembered_in_the_library(capsys, tiny_registry, family, tmp_path):
    from gen2res_desktop.library import Library

    _, _, nobi = family
    run(capsys, "subjects", "add", "Nobi", "--kind", "cat", "--prior", "tiny")
    code, out, _ = run(
        capsys, "photos", "import", nobi, "--subject", "Nobi", "--role", "restore", "--json"
    )
    photo_id = json.loads(out)["imported"][0]["photo_id"]
    fast = [
        "--single",
        "--album-count",
        "1",
        "--album-strength",
        "5",
        "--train-steps",
        "1",
        "--strength",
        "5",
        "--steps",
        "2",
    ]
    code, _, err = run(capsys, "restore", photo_id, "--subject", "Nobi", *fast)
    assert code == 1 and "--crop" in err
    code, _, err = run(
        capsys, "restore", photo_id, "--subject", "Nobi", "--crop", "100,20,180", *fast
    )
    assert code == 0, err
    code, _, err = run(capsys, "restore", photo_id, "--subject", "Nobi", *fast)  # reuses the square
    assert code == 0, err
    with Library.open() as lib:
        assert lib.photo_crop(photo_id) == (100, 20, 180)
        assert len(lib.list_restorations(photo_id)) == 2
        with pytest.raises(Exception, match="does not fit"):
            lib.set_photo_crop(photo_id, (400, 200, 200))


ASTRONAUT_BOX = (171, 79, 94, 94)  # what detect_faces finds on data.astronaut()
CAMERAMAN_BOX = (78, 72, 83, 83)  # the CNN detector's box on data.camera()[40:296, 100:356]


@pytest.fixture
def eileen(gen2res_home, tmp_path, astronaut, monkeypatch):
    """Eileen with three reference photos and a grainy print of her whose face the user
    confirmed (faces stored from known boxes, not detected). The prior and the face
    restorer are test doubles: ``swap["face"]`` is what the "restored" face becomes."""
    from skimage import data

    from gen2res_desktop.core.faces import align_face, describe_face
    from gen2res_desktop.library import Library
    from gen2res_desktop.library import restore as whole
    from gen2res_desktop.library.models import FaceData

    x, y, w, _ = ASTRONAUT_BOX
    photos = [
        (ImageOps.mirror(astronaut), (512 - x - w, y, w, w)),
        (astronaut.crop((60, 0, 460, 400)), (x - 60, y, w, w)),
        (astronaut.resize((384, 384), Image.Resampling.LANCZOS), (128, 59, 70, 70)),
    ]
    noisy = np.asarray(astronaut, float) + np.random.default_rng(0).normal(0, 40, (512, 512, 3))
    grainy = Image.fromarray(noisy.clip(0, 255).astype(np.uint8))
    paths = []
    for i, (img, _) in enumerate([*photos, (grainy, None)]):
        paths.append(tmp_path / f"eileen_{i}.png")
        img.save(paths[-1])

    def store_face(lib, photo_id, img, box):
        face = describe_face(img, box)
        landmarks = [(float(a), float(b)) for a, b in face.landmarks]
        return lib.replace_faces(photo_id, [FaceData(box, landmarks, face.descriptor)])[0]

    with Library.open() as lib:
        lib.add_subject("Eileen", "person")
        refs = lib.import_paths(paths[:3], subject="Eileen", role="reference").photo_ids
        for photo_id, (img, box) in zip(refs, photos, strict=True):
            store_face(lib, photo_id, img, box)
        (photo_id,) = lib.import_paths(paths[3:], subject="Eileen", role="restore").photo_ids
        # confirmed as Eileen, yet never a reference for its own restore
        lib.confirm_face(store_face(lib, photo_id, grainy, ASTRONAUT_BOX).id, "Eileen")

    gray = data.camera()[40:296, 100:356]
    camera = np.repeat(gray[:, :, None], 3, axis=2)
    cameraman = describe_face(camera, CAMERAMAN_BOX, with_descriptor=False)
    clean = describe_face(astronaut, ASTRONAUT_BOX, with_descriptor=False)
    swap = {
        "cameraman": lambda size: align_face(camera, cameraman, size).crop,
        "eileen": lambda size: align_face(np.asarray(astronaut), clean, size).crop,
    }
    swap["face"] = swap["cameraman"]
    prior = SimpleNamespace(
        resolution=128, info=SimpleNamespace(name="face"), device=SimpleNamespace(type="cpu")
    )
    monkeypatch.setattr(whole.PriorCache, "for_subject", lambda self, subject: prior)
    monkeypatch.setattr(whole.PriorCache, "for_plan", lambda self, plan, base: prior)
    monkeypatch.setattr(
        whole,
        "restore_crops",
        lambda prior, crops, *a, **k: [swap["face"](c.size[0]) for c in crops],
    )
    return photo_id, swap


QUICK = ["--single", "--scratches", "off", "--denoise", "off", "--colour", "off"]


def test_restore_scores_identity_against_the_subjects_reference_faces(capsys, eileen):
    from gen2res_desktop.cli.restore_photo import face_scores_text
    from gen2res_desktop.library import Library
    from gen2res_desktop.library.models import FaceScores

    photo_id, swap = eileen
    # the face comes back as another person: less like Eileen than the damaged one
    code, out, err = run(capsys, "restore", photo_id, *QUICK, "--json")
    assert code == 0, err
    result = json.loads(out)
    (face,) = result["faces"]
    assert (face["subject"], face["references"]) == ("Eileen", 3)  # its own face left out
    assert face["identity"] < 0.5 < face["identity_before"]
    assert face["faithfulness"] < 0.5
    with Library.open() as lib:
        r = lib.get_restoration(result["restoration_id"])
    assert r.identity_scores == [face["identity"]]
    (recorded,) = r.settings["faces"]
    assert {k: recorded[k] for k in ("subject", "identity", "identity_before", "faithfulness")} == {
        k: face[k] for k in ("subject", "identity", "identity_before", "faithfulness")
    }
    assert recorded["box"] == list(ASTRONAUT_BOX)
    (scores,) = r.face_scores
    assert scores.looks_less_alike and scores.under_same_person_line and not scores.legacy

    code, out, err = run(capsys, "restore", photo_id, *QUICK)
    assert code == 0, err
    line = next(s for s in out.splitlines() if s.startswith("face 1"))
    assert line.startswith("face 1 at (171, 79, 94, 94): single-photo (Eileen), looks like Eileen")
    assert "(damaged photo 0." in line and ", faithfulness 0." in line
    assert "looks less like Eileen than the damaged one: try more reference photos" in out
    assert "under the same-person line" in out

    # the same person, without the grain: above the line, more like her, no warning
    swap["face"] = swap["eileen"]
    code, out, err = run(capsys, "restore", photo_id, *QUICK)
    assert code == 0, err
    assert "warning" not in out
    code, out, err = run(capsys, "restore", photo_id, *QUICK, "--json")
    (face,) = json.loads(out)["faces"]
    assert face["identity"] > 0.5 and face["identity"] > face["identity_before"]

    no_refs = FaceScores(1, "Grandma", faithfulness=0.9, references=0)
    assert face_scores_text(no_refs) == ", no reference faces of Grandma yet, faithfulness 0.90"


SEPIA_SEED = 1  # a print the old monochrome test took for colour


def test_a_regenerated_face_in_a_sepia_print_stays_on_the_prints_tone_line(
    capsys, tiny_registry, astronaut, tmp_path
):
    """Whatever colours the prior returns (a tiny random one: noise), the face pasted into
    a grainy, scratched sepia print comes back sepia: its chroma follows the print's
    toning curve."""
    from benchmarks.oldphoto.degrade import age
    from benchmarks.oldphoto.photos import sepia
    from gen2res_desktop.core.photo import tone

    toned = age(sepia(np.asarray(astronaut)), SEPIA_SEED, monochrome=True, amount=0.3).image
    src = tmp_path / "sepia.png"
    Image.fromarray(toned).save(src)
    run(capsys, "subjects", "add", "Eileen", "--kind", "person", "--prior", "tiny")
    out_file = tmp_path / "sepia_fixed.png"
    code, out, err = run(
        capsys, "restore", src, "--subject", "Eileen", "--single", "--album-count", "2",
        "--album-strength", "10", "--train-steps", "2", "--strength", "10", "--steps", "3",
        "--out", out_file, "--json",
    )  # fmt: skip
    assert code == 0, err
    [face] = json.loads(out)["faces"]
    x, y, w, h = face["box"]
    result = np.asarray(Image.open(out_file).convert("RGB"))
    tint = tone.monochrome_tint(toned)
    assert tint is not None
    lab = tone._lab(result[y : y + h, x : x + w])
    curve_a = np.interp(lab[..., 0], tint.lightness, tint.a)
    curve_b = np.interp(lab[..., 0], tint.lightness, tint.b)
    off = np.hypot(lab[..., 1] - curve_a, lab[..., 2] - curve_b)
    assert np.percentile(off, 95) < 3.0, np.percentile(off, 95)


def test_the_repaired_line_says_when_doubtful_marks_were_filled_part_way():
    from gen2res_desktop.cli.restore_photo import _describe
    from gen2res_desktop.core.photo.repair import StageRecord

    partly = StageRecord("inpaint", "opencv", detail={"partly_filled_fraction": 0.0042})
    assert _describe(partly) == "scratches filled (opencv, doubtful dark marks part way (0.42%))"
    assert _describe(StageRecord("inpaint", "opencv")) == "scratches filled (opencv)"
