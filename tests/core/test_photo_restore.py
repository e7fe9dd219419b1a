"""Whole-photo restore: regions, clear refusals, every face restored and pasted back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.faces import detect_faces, photo_mask
from gen2res_desktop.core.photo_restore import (
    MIN_FACE_PIXELS,
    face_problem,
    find_regions,
    restore_photo,
    scan_regions,
)
from gen2res_desktop.core.progress import CancelToken

R = 128


def invert(crop: Image.Image, index: int) -> Image.Image:
    return Image.fromarray(255 - np.asarray(crop))


def unchanged(crop: Image.Image, index: int) -> Image.Image:
    return crop


@pytest.fixture(scope="module")
def pair() -> Image.Image:
    """Two people: the astronaut beside her mirror image."""
    one = Image.fromarray(data.astronaut())
    both = Image.new("RGB", (1024, 512))
    both.paste(one, (0, 0))
    both.paste(one.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (512, 0))
    return both


@pytest.fixture(scope="module")
def pair_regions(pair):
    return find_regions(pair, kind="person", resolution=R)


def test_two_faces_are_found_and_both_restored(pair, pair_regions):
    assert [r.index for r in pair_regions] == [0, 1]
    assert pair_regions[0].box[0] < 512 <= pair_regions[1].box[0]
    calls = []

    def restore(crop, index):
        calls.append((index, crop.size))
        return invert(crop, index)

    result = restore_photo(pair, pair_regions, restore)
    assert calls == [(0, (R, R)), (1, (R, R))]
    src = np.asarray(pair)
    out = np.asarray(result.image)
    assert out.shape == src.shape
    masks = [photo_mask(r.aligned, src.shape) for r in pair_regions]
    for m in masks:
        assert np.abs(out[m > 0.95].astype(np.int16) - src[m > 0.95]).mean() > 30
    outside = (masks[0] == 0) & (masks[1] == 0)
    assert np.array_equal(out[outside], src[outside])
    # an inverted face is far from the face it came from; with no references given there
    # is no identity against a subject
    assert [f.index for f in result.faces] == [0, 1]
    assert all(f.faithfulness is not None and f.faithfulness < 0.5 for f in result.faces)
    assert all(f.identity is None and f.identity_before is None for f in result.faces)


def test_identity_restore_keeps_photo_and_faithfulness(pair, pair_regions):
    result = restore_photo(pair, pair_regions, unchanged)
    diff = np.abs(np.asarray(result.image).astype(np.int16) - np.asarray(pair))
    assert diff.mean() < 1.5
    assert all(f.faithfulness > 0.95 for f in result.faces)


def test_progress_and_cancel(pair, pair_regions):
    seen = []
    restore_photo(pair, pair_regions, unchanged, progress=seen.append)
    assert [(p.step, p.total) for p in seen] == [(0, 2), (1, 2), (2, 2)]
    token = CancelToken()

    def cancel_during_first(crop, index):
        token.cancel()
        return crop

    with pytest.raises(Cancelled):
        restore_photo(pair, pair_regions, cancel_during_first, cancel=token)


def test_restorer_returning_a_wrong_size_is_a_bug_not_a_result(pair, pair_regions):
    with pytest.raises(ValueError, match="expected"):
        restore_photo(pair, pair_regions[:1], lambda crop, i: crop.resize((R // 2, R // 2)))


def test_cat_as_a_person_says_no_face_and_what_to_do():
    with pytest.raises(Gen2ResError, match=r"No face found in chelsea\.png.*crop box") as e:
        find_regions(
            Image.fromarray(data.chelsea()), kind="person", resolution=R, name="chelsea.png"
        )
    assert "Set crop box" in str(e.value) and "--" not in str(e.value)
    assert "--crop X,Y,SIZE" in e.value.cli_text()


def test_cat_without_a_crop_asks_for_one():
    with pytest.raises(Gen2ResError, match="crop box around the cat's head") as e:
        find_regions(Image.fromarray(data.chelsea()), kind="cat", resolution=R)
    assert "--crop" in e.value.cli_text()


def test_cat_with_a_crop_is_restored_in_place():
    cat = Image.fromarray(data.chelsea())
    regions = find_regions(cat, kind="cat", resolution=R, crop=(90, 10, 260))
    assert len(regions) == 1 and regions[0].face is None and regions[0].box == (90, 10, 260, 260)
    result = restore_photo(cat, regions, invert)
    src, out = np.asarray(cat), np.asarray(result.image)
    m = photo_mask(regions[0].aligned, src.shape)
    assert np.array_equal(out[m == 0], src[m == 0])
    assert np.abs(out[m > 0.95].astype(np.int16) - src[m > 0.95]).mean() > 30
    face = result.faces[0]
    assert (face.identity, face.identity_before, face.faithfulness) == (None, None, None)
    with pytest.raises(Gen2ResError, match="goes past the photo"):
        find_regions(cat, kind="cat", resolution=R, crop=(300, 10, 260))


def test_too_small_face_gives_its_size_and_the_minimum():
    tiny = Image.fromarray(data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS)
    with pytest.raises(
        Gen2ResError, match=rf"\d+ px wide; faces under {MIN_FACE_PIXELS} px are too small"
    ):
        find_regions(tiny, kind="person", resolution=R)


def test_face_cut_by_the_border_is_refused():
    astronaut = data.astronaut()
    face = detect_faces(astronaut, with_descriptors=False)[0]
    # the same photo with the left part of the face cut away
    cut_at = int(face.landmarks[:, 0].min()) + 15
    cut = astronaut[:, cut_at:]
    shifted = type(face)(
        box=(face.box[0] - cut_at, *face.box[1:]),
        landmarks=face.landmarks - [cut_at, 0],
        score=face.score,
    )
    assert "cut by the photo's border" in face_problem(shifted, (cut.shape[1], cut.shape[0]))
    with pytest.raises(Gen2ResError, match="cut by the photo's border.*crop box") as e:
        find_regions(Image.fromarray(cut), kind="person", resolution=R, faces=[shifted])
    assert "--" not in str(e.value) and "--crop X,Y,SIZE" in e.value.cli_text()
    assert face_problem(face, (512, 512)) is None


def test_skipped_faces_are_reported_beside_restorable_ones(pair, pair_regions):
    faces = [r.face for r in pair_regions]
    small = type(faces[1])(box=(600, 100, 20, 20), landmarks=faces[1].landmarks, score=1.0)
    scan = scan_regions(pair, kind="person", resolution=R, faces=[faces[0], small])
    assert [r.index for r in scan.regions] == [0]
    assert [s.index for s in scan.skipped] == [1] and "too small" in scan.skipped[0].reason


def test_nothing_to_restore_is_an_error():
    with pytest.raises(Gen2ResError, match="Nothing to restore"):
        restore_photo(Image.new("RGB", (64, 64)), [], unchanged)
