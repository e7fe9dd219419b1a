"""Colour on request at the end of a restore: the monochrome restoration stays, the
colourised one is recorded beside it with the print's lightness, a colour photo is left
alone, and a missing colouriser is said before any work starts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from tiny_colouriser import TOY_SIZE, random_net, save_released

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo import colourise
from gen2res_desktop.core.photo.models import PhotoModelRegistry
from gen2res_desktop.core.photo.settings import NO_REPAIR
from gen2res_desktop.library import restore_engines
from gen2res_desktop.library.colour import colourised_from, is_colourised
from gen2res_desktop.library.restore import restore_whole_photo


@pytest.fixture(scope="module")
def colouriser_file(tmp_path_factory):
    return save_released(random_net(), tmp_path_factory.mktemp("ddcolor") / "ddcolor.pth")


@pytest.fixture
def installed(lib, colouriser_file, monkeypatch):
    PhotoModelRegistry(lib.home).import_file(colouriser_file, "ddcolor", licence="Apache-2.0")
    # the toy runs at its own small size; the installed model defaults to the authors' 512
    real = colourise.DDColorModel.__init__

    def small(self, *a, **kw):
        kw["input_size"] = TOY_SIZE
        real(self, *a, **kw)

    monkeypatch.setattr(colourise.DDColorModel, "__init__", small)
    restore_engines._model_caches.clear()
    yield
    restore_engines._model_caches.clear()


def _import(lib, tmp_path, rgb: np.ndarray, name: str) -> int:
    path = tmp_path / name
    Image.fromarray(rgb).save(path)
    (photo_id,) = lib.import_paths([path]).photo_ids
    return photo_id


def _grey_print() -> np.ndarray:
    from skimage import data

    g = data.camera()[::4, ::4][:96, :112]
    return np.ascontiguousarray(np.repeat(g[..., None], 3, axis=2))


def test_a_colourised_restoration_is_kept_beside_the_monochrome_one(lib, installed, tmp_path):
    photo_id = _import(lib, tmp_path, _grey_print(), "grandma.png")
    result = restore_whole_photo(
        lib, photo_id, faces=False, repair=NO_REPAIR.with_changes(colourise="auto")
    )
    mono, colour = result.restoration, result.colour_restoration
    assert mono is not None and colour is not None and result.colour_note is None
    newest_first = lib.list_restorations(photo_id)
    assert [r.id for r in newest_first] == [colour.id, mono.id]
    assert not is_colourised(mono) and is_colourised(colour)
    assert colourised_from(colour) == mono.id
    assert colour.settings["colourised"]["model"] == "ddcolor"
    assert colour.settings["repair"]["colourise"] == "auto"
    assert colour.path != mono.path and colour.damage_map is None
    grey = np.asarray(Image.open(mono.path).convert("RGB"))
    coloured = np.asarray(Image.open(colour.path).convert("RGB"))
    assert grey.std(axis=2).max() == 0  # the monochrome restoration stays monochrome
    assert coloured.astype(float).std(axis=2).mean() > 3
    # the colour result's lightness is the monochrome restoration's
    diff = np.abs(colourise.lightness(coloured) - colourise.lightness(grey))
    assert diff.max() < 0.5
    # deleting the colour one leaves the monochrome one whole
    lib.delete_restoration(colour.id)
    assert [r.id for r in lib.list_restorations(photo_id)] == [mono.id]
    assert mono.path.is_file()


def test_a_colour_photo_is_not_colourised(lib, installed, tmp_path):
    from skimage import data

    photo_id = _import(lib, tmp_path, data.coffee()[::4, ::4].copy(), "coffee.png")
    result = restore_whole_photo(
        lib, photo_id, faces=False, repair=NO_REPAIR.with_changes(colourise="auto")
    )
    assert result.colourised is None and result.colour_restoration is None
    assert "already in colour" in str(result.colour_note)
    assert len(lib.list_restorations(photo_id)) == 1


def test_off_by_default_and_a_missing_colouriser_fails_before_the_work(lib, tmp_path):
    photo_id = _import(lib, tmp_path, _grey_print(), "grandpa.png")
    assert lib.repair_settings().colourise == "off"
    restore_engines._model_caches.clear()
    with pytest.raises(Gen2ResError) as e:
        restore_whole_photo(
            lib, photo_id, faces=False, repair=NO_REPAIR.with_changes(colourise="auto")
        )
    assert "No colouriser is installed" in str(e.value)
    assert "--" not in str(e.value) and "Models" in str(e.value)  # the app's words
    with pytest.raises(Gen2ResError, match="No colouriser named 'ddcolor-x'"):
        restore_whole_photo(
            lib, photo_id, faces=False, repair=NO_REPAIR.with_changes(colourise="ddcolor-x")
        )
    assert lib.list_restorations(photo_id) == []  # nothing was restored
    result = restore_whole_photo(lib, photo_id, faces=False, repair=NO_REPAIR)
    assert result.colour_restoration is None and result.colour_note is None


def test_export_uses_the_colour_strength_chosen_in_compare(lib, colouriser_file, tmp_path):
    import torch

    from gen2res_desktop.library.colour import (
        Colourised,
        colour_pair,
        colour_strength,
        record_colourised,
        set_colour_strength,
    )
    from gen2res_desktop.library.export import export_restoration

    grey = _grey_print()
    photo_id = _import(lib, tmp_path, grey, "grandma.png")
    out = lib.restoration_path_for(photo_id, 0)
    Image.fromarray(grey).save(out)
    mono = lib.add_restoration(photo_id, None, None, {"restore_faces": False}, 0, out)
    net = random_net()
    net.load_state_dict(torch.load(colouriser_file)["params"])
    model = colourise.DDColorModel(net, input_size=TOY_SIZE)
    coloured = Colourised(Image.fromarray(model.run(grey)), "ddcolor", "", 0.1)
    colour = record_colourised(lib, mono, coloured)
    assert colour_strength(colour) == 1.0  # until one is chosen
    pair = colour_pair(lib, mono)
    assert pair is not None and (pair.colour.id, pair.monochrome.id) == (colour.id, mono.id)
    assert colour_pair(lib, colour).monochrome.id == mono.id

    def chroma(rgb: np.ndarray) -> float:
        return float(rgb.astype(float).std(axis=2).mean())

    full = np.asarray(Image.open(export_restoration(lib, colour.id, tmp_path / "full.png")))
    assert np.array_equal(full, np.asarray(Image.open(colour.path)))
    kept = set_colour_strength(lib, colour.id, 0.25)
    assert colour_strength(kept) == 0.25 and kept.settings["colourised"]["model"] == "ddcolor"
    pale = np.asarray(Image.open(export_restoration(lib, colour.id, tmp_path / "pale.png")))
    assert 0.15 * chroma(full) < chroma(pale) < 0.35 * chroma(full)
    diff = np.abs(colourise.lightness(pale) - colourise.lightness(grey))
    assert diff.max() < 1.0  # lightness kept
    # the black-and-white restoration exports as it is, and cannot be given a strength
    mono_out = np.asarray(Image.open(export_restoration(lib, mono.id, tmp_path / "bw.png")))
    assert np.array_equal(mono_out, grey)
    with pytest.raises(Gen2ResError, match="not a colourised one"):
        set_colour_strength(lib, mono.id, 0.5)
    assert "strength" not in str(lib.get_restoration(mono.id).settings)
