"""The whole-photo repair from the command line: damage maps, repair without faces,
painted maps, and bad inputs that must give one line and write nothing."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from gen2res_desktop.cli.main import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def scan(tmp_path, astronaut):
    """The astronaut printed long ago: a bright scratch across it, faded and yellowed."""
    img = np.asarray(astronaut.resize((256, 256)), np.float32)
    img = (img - 128) * 0.6 + 140
    img *= np.array([1.05, 1.0, 0.8], np.float32)
    img = img.clip(0, 255).astype(np.uint8)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.line(mask, (20, 230), (240, 30), 255, 2)
    img[mask > 0] = 245
    path = tmp_path / "scan.png"
    Image.fromarray(img).save(path)
    return path, mask


def test_damage_writes_the_map_and_never_over_a_file(capsys, gen2res_home, scan, tmp_path):
    path, truth = scan
    out = tmp_path / "map.png"
    code, stdout, err = run(capsys, "damage", path, "--out", out)
    assert code == 0, err
    assert "of the photo marked as damaged" in stdout
    found = np.asarray(Image.open(out).convert("L")) > 0
    assert found[truth > 0].mean() > 0.5  # most of the scratch is in the map
    code, _, err = run(capsys, "damage", path, "--out", out)
    assert code == 1 and "already exists" in err and "--overwrite" in err
    code, _, err = run(capsys, "damage", path, "--out", path, "--overwrite")
    assert code == 1 and "the photo itself" in err


def test_damage_reports_a_torn_corner(capsys, gen2res_home, tmp_path):
    from skimage import data

    torn = data.coffee().copy()
    h, w = torn.shape[:2]
    corner = np.array([[w - 1, 0], [w - 1 - w // 4, 0], [w - 1, h // 4]], np.int32)
    cv2.fillPoly(torn, [corner], (244, 244, 244))  # the scanner's white lid shows
    noise = np.random.default_rng(0).normal(0, 1.0, torn.shape)  # and the scanner's noise
    torn = np.clip(torn + noise + 0.5, 0, 255).astype(np.uint8)
    path, out = tmp_path / "torn.png", tmp_path / "map.png"
    Image.fromarray(torn).save(path)
    code, stdout, err = run(capsys, "damage", path, "--out", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["torn_fraction"] > 0.02  # the corner is 3% of the photo
    gone = np.zeros((h, w), np.uint8)
    cv2.fillPoly(gone, [corner], 1)
    found = np.asarray(Image.open(out).convert("L")) > 0
    assert found[gone > 0].mean() > 0.9


def test_repair_only_needs_no_subject_or_prior(capsys, gen2res_home, scan, tmp_path):
    path, truth = scan
    out, used = tmp_path / "fixed.png", tmp_path / "used.png"
    code, stdout, err = run(
        capsys, "restore", path, "--faces", "off", "--out", out, "--mask-out", used, "--json"
    )
    assert code == 0, err
    data = json.loads(stdout)
    assert [s["stage"] for s in data["repair"]] == ["damage", "inpaint", "denoise", "colour"]
    assert data["faces"] == [] and data["restoration_id"] is None
    fixed = np.asarray(Image.open(out))
    before = np.asarray(Image.open(path))
    assert fixed.shape == before.shape
    assert fixed[truth > 0].mean() < before[truth > 0].mean() - 20  # the white line is gone
    assert Image.open(used).size == (256, 256)


def test_a_painted_map_is_used_and_kept_with_a_library_photo(capsys, gen2res_home, scan, tmp_path):
    path, truth = scan
    code, out, err = run(capsys, "photos", "import", path, "--json")
    assert code == 0, err
    pid = json.loads(out)["imported"][0]["photo_id"]
    painted = tmp_path / "painted.png"
    Image.fromarray(truth).save(painted)
    code, out, err = run(capsys, "restore", pid, "--faces", "off", "--mask", painted, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["repair"][0]["method"] == "your map" and data["restoration_id"] is not None
    from gen2res_desktop.library import Library

    with Library.open(gen2res_home) as lib:
        assert np.array_equal(lib.photo_damage_map(pid) > 0, truth > 0)
        r = lib.get_restoration(data["restoration_id"])
        assert r.damage_map is not None and r.damage_map.is_file()
        assert r.settings["repair"]["stages"][0]["method"] == "your map"
        assert r.settings["restore_faces"] is False
        assert lib.check().ok


@pytest.mark.parametrize(
    ("size", "words"), [((1, 1), "only 1 x 1 pixels"), ((20000, 100), "too long and thin")]
)
def test_photos_too_small_or_thin_get_one_line_and_nothing_written(
    capsys, gen2res_home, tmp_path, size, words
):
    src = tmp_path / "odd.png"
    Image.new("RGB", size, (90, 80, 70)).save(src)
    out = tmp_path / "out.png"
    code, stdout, err = run(capsys, "restore", src, "--faces", "off", "--out", out)
    assert code == 1 and words in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["library", "odd.png"]


def test_a_map_of_the_wrong_size_gets_one_line_and_nothing_written(
    capsys, gen2res_home, scan, tmp_path
):
    path, _ = scan
    bad = tmp_path / "bad.png"
    Image.new("L", (100, 50)).save(bad)
    out = tmp_path / "out.png"
    code, _, err = run(capsys, "restore", path, "--faces", "off", "--mask", bad, "--out", out)
    assert code == 1 and "damage map is 100 x 50 pixels but the photo is 256 x 256" in err
    assert not out.exists()


def test_restore_never_writes_over_its_own_input(capsys, gen2res_home, scan):
    path, _ = scan
    before = path.read_bytes()
    code, _, err = run(capsys, "restore", path, "--faces", "off", "--out", path)
    assert code == 1 and "names the photo being restored" in err
    assert path.read_bytes() == before


def test_contradictory_options_are_refused(capsys, gen2res_home, scan, tmp_path):
    path, _ = scan
    code, _, err = run(
        capsys,
        "restore",
        path,
        "--faces",
        "off",
        "--out",
        tmp_path / "o.png",
        "--upscale-model",
        "x",
    )
    assert code == 1 and "--upscale 2 or 4" in err
    code, _, err = run(
        capsys, "restore", path, "--faces", "off", "--out", tmp_path / "o.png", "--denoise", "nope"
    )
    assert code == 1 and "nope" in err and "\n" == err[-1] and err.count("\n") == 1
