"""``gen2res restore --colourise``: after the faces, a sepia print is given colour whose
lightness is the restored print's (the regenerated face included), written beside the
monochrome result."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from tiny_colouriser import TOY_SIZE, random_net, save_released

from gen2res_desktop.cli.main import main
from gen2res_desktop.core.photo import colourise
from gen2res_desktop.core.photo.models import PhotoModelRegistry
from gen2res_desktop.library import restore_engines


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def colouriser(gen2res_home, tmp_path, monkeypatch):
    path = save_released(random_net(), tmp_path / "ddcolor_paper_tiny.pth")
    PhotoModelRegistry(gen2res_home).import_file(path, "ddcolor", licence="Apache-2.0")
    real = colourise.DDColorModel.__init__

    def small(self, *a, **kw):  # the toy runs at its own size, not the authors' 512
        kw["input_size"] = TOY_SIZE
        real(self, *a, **kw)

    monkeypatch.setattr(colourise.DDColorModel, "__init__", small)
    restore_engines._model_caches.clear()
    yield
    restore_engines._model_caches.clear()


def test_colourise_after_the_faces_keeps_the_restored_prints_lightness(
    capsys, tiny_registry, colouriser, astronaut, tmp_path
):
    from benchmarks.oldphoto.degrade import age
    from benchmarks.oldphoto.photos import sepia

    toned = age(sepia(np.asarray(astronaut)), 1, monochrome=True, amount=0.3).image
    src = tmp_path / "sepia.png"
    Image.fromarray(toned).save(src)
    run(capsys, "subjects", "add", "Eileen", "--kind", "person", "--prior", "tiny")
    out_file = tmp_path / "fixed.png"
    code, out, err = run(
        capsys, "restore", src, "--subject", "Eileen", "--single", "--album-count", "2",
        "--album-strength", "10", "--train-steps", "2", "--strength", "10", "--steps", "3",
        "--colourise", "ddcolor", "--out", out_file, "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    [face] = report["faces"]
    colour_file = tmp_path / "fixed-colour.png"
    assert report["colourised"]["out"] == str(colour_file) and report["colour_note"] is None
    mono = np.asarray(Image.open(out_file).convert("RGB"))
    colour = np.asarray(Image.open(colour_file).convert("RGB"))
    # the face was pasted on the print's tone line first; the colour keeps its lightness
    diff = np.abs(colourise.lightness(colour) - colourise.lightness(mono))
    assert diff.max() < 0.5
    x, y, w, h = face["box"]
    region = colour[y : y + h, x : x + w].astype(float)
    assert region.std(axis=2).mean() > 3  # the face got its colour from the colouriser

    code, out, err = run(capsys, "restore", src, "--colourise", "nope", "--faces", "off",
                         "--out", tmp_path / "x.png")  # fmt: skip
    assert code != 0 and "No colouriser named 'nope'" in err and "--colourise" in err
    assert not (tmp_path / "x.png").exists()
