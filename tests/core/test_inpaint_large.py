"""The built-in inpainting for large damage: patch copying where the map is wide, Telea
(as before) where it is thin, a cancel between holes, and nothing changed outside."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gen2res_desktop.core.errors import Cancelled
from gen2res_desktop.core.photo import fill_large, inpaint
from gen2res_desktop.core.progress import CancelToken


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def torn_corner(shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    m = np.zeros((h, w), np.uint8)
    pts = np.array([[w - 150, h], [w, h], [w, h - 140], [w - 60, h - 90]], np.int32)
    cv2.fillPoly(m, [pts], 255)
    return m


def test_a_white_torn_corner_is_filled_with_texture_not_white(photo):
    m = torn_corner(photo.shape)
    bad = photo.copy()
    bad[m > 0] = 255
    out = inpaint.inpaint_builtin(bad, m)
    hole = m > 0
    # the corner is a dark helmet (mean 36); a few copied highlights are fine
    assert out[hole].mean() < 100
    assert (out[hole] >= 250).all(axis=1).mean() < 0.1
    # copied patches keep grain: Telea's fill is smooth inside a hole this big
    telea = inpaint.inpaint_opencv(bad, m)

    def detail(img: np.ndarray) -> float:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.5))[hole].mean())

    assert detail(out) > 1.5 * detail(telea)


def test_outside_the_grown_mask_nothing_changes(photo):
    m = torn_corner(photo.shape)
    cv2.circle(m, (150, 300), 25, 255, -1)  # a flake
    cv2.line(m, (20, 40), (300, 90), 255, 2)  # a scratch
    bad = photo.copy()
    bad[m > 0] = (255, 0, 255)
    out = inpaint.inpaint_builtin(bad, m, grow_pixels=1)
    outside = inpaint.grow(m, 1) == 0
    assert np.array_equal(out[outside], bad[outside])
    assert not (out[m > 0] == (255, 0, 255)).all(axis=1).any()


def test_thin_damage_goes_through_telea_unchanged(photo):
    m = np.zeros(photo.shape[:2], np.uint8)
    cv2.line(m, (40, 100), (470, 160), 255, 3)
    cv2.circle(m, (300, 400), 3, 255, -1)
    assert not inpaint.wide_parts(inpaint.grow(m)).any()
    for grow in (0, 1):
        assert np.array_equal(
            inpaint.inpaint_builtin(photo, m, grow_pixels=grow),
            inpaint.inpaint_opencv(photo, m, grow_pixels=grow),
        )


def test_wide_parts_keep_the_flake_and_leave_the_scratch():
    m = np.zeros((400, 400), np.uint8)
    cv2.circle(m, (200, 200), 30, 255, -1)
    cv2.line(m, (0, 50), (399, 50), 255, 3)
    wide = inpaint.wide_parts(m) > 0
    assert wide[200, 200] and not wide[50, 100]
    assert wide.sum() >= 0.95 * (np.pi * 30**2)


def test_a_cancel_stops_between_holes(photo):
    m = torn_corner(photo.shape)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        inpaint.inpaint_builtin(photo, m, cancel=token)


def test_a_cancel_during_the_fill_stops_it(photo):
    m = torn_corner(photo.shape)
    token = CancelToken()
    seen = []

    def progress(p) -> None:
        seen.append(p)
        token.cancel()  # after the first pyramid level

    with pytest.raises(Cancelled):
        fill_large.fill_hole(photo, m > 0, progress=progress, cancel=token)
    assert len(seen) == 1


def test_empty_and_whole_photo_masks(photo):
    small = np.ascontiguousarray(photo[::4, ::4])
    empty = inpaint.inpaint_builtin(small, np.zeros(small.shape[:2], np.uint8))
    assert np.array_equal(empty, small) and empty is not small
    # nothing to copy from: no error, and the photo comes back its own size
    whole = inpaint.inpaint_builtin(small, np.full(small.shape[:2], 255, np.uint8))
    assert whole.shape == small.shape and whole.dtype == np.uint8


def test_fill_hole_with_no_undamaged_patch_falls_back_to_telea():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (40, 40, 3), np.uint8)
    hole = np.zeros((40, 40), bool)
    hole[5:35, 5:35] = True
    forbidden = ~hole  # every other pixel is damage too
    out = fill_large.fill_hole(img, hole, forbidden=forbidden)
    assert np.array_equal(out[~hole], img[~hole])


def test_small_levels_compare_the_same_raw_patches_as_the_filters_would():
    # the exact levels take each pixel's patch as shifted views of the image: it must be
    # what correlating with the identity basis gives, border reflection included
    rng = np.random.default_rng(3)
    img = rng.random((41, 53, 3)).astype(np.float32)
    hole = np.zeros((41, 53), bool)
    hole[15:25, 20:32] = True
    level = fill_large._Level(img, hole, np.zeros_like(hole))
    level.fit_basis(rng)
    assert level.raw
    raw = level.features()
    size = fill_large.PATCH * fill_large.PATCH * 3
    level.raw, level.basis = False, np.eye(size, dtype=np.float32).reshape(size, 7, 7, 3)
    np.testing.assert_array_equal(raw, level.features())


def _flat_with_marks() -> tuple[np.ndarray, np.ndarray]:
    img = np.full((60, 80, 3), 140, np.uint8)
    marks = np.zeros((60, 80), np.uint8)
    cv2.line(marks, (5, 15), (75, 15), 255, 2)  # a dark line
    cv2.line(marks, (5, 40), (75, 40), 255, 2)  # a white one
    img[15 - 1 : 15 + 2, 5:76][marks[15 - 1 : 15 + 2, 5:76] > 0] = 40
    img[40 - 1 : 40 + 2, 5:76][marks[40 - 1 : 40 + 2, 5:76] > 0] = 250
    return img, marks


def test_an_unsure_dark_mark_is_filled_part_way_and_a_white_one_whole():
    img, marks = _flat_with_marks()
    filled = inpaint.inpaint_builtin(img, marks)
    assert abs(int(filled[15, 40, 0]) - 140) < 10 and abs(int(filled[40, 40, 0]) - 140) < 10
    doubt = np.where(marks > 0, 0.5, 1.0).astype(np.float32)
    out, weight = inpaint.soften_unsure(img, filled, marks, doubt)
    partly = (marks > 0) & (weight < 1.0)
    assert np.array_equal(partly, (marks > 0) & (np.arange(60) < 28)[:, None])  # the dark line
    # the dark line moves half way to its fill; the white one is filled whatever the doubt
    assert abs(int(out[15, 40, 0]) - (40 + 140) // 2) < 8
    assert np.array_equal(out[40], filled[40])
    # the map says so: the dark line at half strength, the white one whole, the rest off
    levels = inpaint.fill_levels(marks, weight)
    assert levels[15, 40] == 128 and levels[40, 40] == 255 and levels[30, 40] == 0
    # sure marks, or none: the fill as it was, and every mark on the map whole
    for sure, where in ((np.ones_like(doubt), marks), (doubt, np.zeros_like(marks))):
        out, weight = inpaint.soften_unsure(img, filled, where, sure)
        assert np.array_equal(out, filled) and weight is None
        assert np.array_equal(inpaint.fill_levels(where, weight), np.where(where > 0, 255, 0))
