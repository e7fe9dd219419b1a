"""Export: full resolution, EXIF date kept with orientation reset, ICC profile kept, no overwrite."""

from __future__ import annotations

import numpy as np
import pytest
from library_helpers import (
    TAG_DATETIME_ORIGINAL,
    TAG_EXIF_IFD,
    TAG_MAKE,
    TAG_ORIENTATION,
    TAKEN,
    camera_jpeg,
    srgb_profile,
)
from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.export import export_restoration


@pytest.fixture
def restored(lib, tmp_path, astronaut):
    """A sideways camera JPEG in the library and a 'restoration' of it (upright, full size)."""
    src = tmp_path / "rose.jpg"
    src.write_bytes(camera_jpeg(astronaut.crop((0, 0, 400, 300)), orientation=6))
    (photo_id,) = lib.import_paths([src]).photo_ids
    upright = lib.load_photo_rgb(photo_id)
    assert upright.size == (300, 400)
    out = lib.restoration_path_for(photo_id, seed=3)
    Image.eval(upright, lambda v: 255 - v).save(out)  # any image of the right size will do
    return lib.add_restoration(photo_id, None, None, {"strength": 200}, 3, out, None)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_export_keeps_date_taken_and_icc_profile(lib, restored, tmp_path, suffix):
    out = export_restoration(lib, restored.id, tmp_path / f"export{suffix}")

    with Image.open(out) as img:
        assert img.format == ("JPEG" if suffix == ".jpg" else "PNG")
        assert img.size == (300, 400)
        exif = img.getexif()
        assert exif[TAG_ORIENTATION] == 1  # the pixels are already upright
        assert exif[TAG_MAKE] == "Kodak"
        assert exif.get_ifd(TAG_EXIF_IFD)[TAG_DATETIME_ORIGINAL] == TAKEN
        assert img.info["icc_profile"] == srgb_profile()
        pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
    expected = np.asarray(Image.open(restored.path).convert("RGB"), dtype=np.int16)
    assert np.abs(pixels - expected).mean() < 3  # the restoration itself, not the original


def test_export_never_overwrites_unless_asked(lib, restored, tmp_path):
    out = tmp_path / "export.png"
    out.write_bytes(b"the user's own file")
    with pytest.raises(Gen2ResError, match="already exists"):
        export_restoration(lib, restored.id, out)
    assert out.read_bytes() == b"the user's own file"
    export_restoration(lib, restored.id, out, overwrite=True)
    assert Image.open(out).size == (300, 400)


def test_side_by_side(lib, restored, tmp_path):
    out = export_restoration(lib, restored.id, tmp_path / "compare.jpg", side_by_side=True)
    with Image.open(out) as img:
        assert img.size == (300 + 16 + 300, 400)
        arr = np.asarray(img.convert("RGB"), dtype=np.int16)
    before = np.asarray(lib.load_photo_rgb(restored.photo_id), dtype=np.int16)
    after = np.asarray(Image.open(restored.path).convert("RGB"), dtype=np.int16)
    assert np.abs(arr[:, :300] - before).mean() < 3
    assert np.abs(arr[:, 316:] - after).mean() < 3


def test_bad_export_requests(lib, restored, tmp_path):
    with pytest.raises(Gen2ResError, match=r"\.jpg or \.png"):
        export_restoration(lib, restored.id, tmp_path / "export.gif")
    with pytest.raises(Gen2ResError, match="No restoration with id 42"):
        export_restoration(lib, 42, tmp_path / "export.png")
    stored = lib.photo_path(restored.photo_id)
    stored.unlink()
    with pytest.raises(Gen2ResError, match="Cannot read the library's copy of rose.jpg"):
        export_restoration(lib, restored.id, tmp_path / "export.png")
    restored.path.unlink()
    with pytest.raises(Gen2ResError, match="missing"):
        export_restoration(lib, restored.id, tmp_path / "export.png")
    assert not (tmp_path / "export.png").exists()


def test_a_cmyk_profile_is_not_attached_to_rgb_pixels(lib, tmp_path, chelsea):
    fake_cmyk_icc = bytes(16) + b"CMYK" + bytes(108)
    src = tmp_path / "print.jpg"
    chelsea.convert("CMYK").save(src, icc_profile=fake_cmyk_icc)
    (photo_id,) = lib.import_paths([src]).photo_ids
    out = lib.restoration_path_for(photo_id, 0)
    lib.load_photo_rgb(photo_id).save(out)
    r = lib.add_restoration(photo_id, None, None, {}, 0, out, None)
    with Image.open(export_restoration(lib, r.id, tmp_path / "export.jpg")) as img:
        assert "icc_profile" not in img.info
