"""Whole photos from the command line: train a person from the album, restore, record, export."""

import json

import numpy as np
import pytest
from PIL import Image

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
    assert 0.0 <= result["faces"][0]["identity_score"] <= 1.0
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
    code, _, err = run(
        capsys, "restore", nobi, "--subject", "Eileen", "--single", "--out", tmp_path / "x.png"
    )
    assert code == 1 and "No face found in nobi.png" in err and "--crop" in err
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
    assert "identity score n/a" in out
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
