"""Face detection, FFHQ alignment, paste-back and identity on real photos (skimage.data)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage import data

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import (
    SAME_PERSON_DISTANCE,
    align_face,
    alignment_matrix,
    crop_mask,
    describe_face,
    descriptor_distance,
    detect_faces,
    face_descriptor,
    ffhq_quad,
    geometry,
    identity_similarity,
    models,
    paste_back,
    photo_mask,
    square_crop_region,
    suggest_subject,
)

R = 256


def eye_angle(left, right) -> float:
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def astro_face(astronaut):
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    return faces[0]


@pytest.fixture(scope="module")
def aligned(astronaut, astro_face):
    return align_face(astronaut, astro_face, R)


@pytest.fixture(scope="module")
def tilted():
    """The astronaut turned 20 degrees counter-clockwise, with its detection."""
    img = Image.fromarray(data.astronaut()).rotate(
        20, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128)
    )
    return img, detect_faces(img)


@pytest.fixture(scope="module")
def cameraman():
    """A second real person: the cameraman's head, found by the CNN detector."""
    gray = data.camera()[40:296, 100:356]
    img = np.repeat(gray[:, :, None], 3, axis=2)
    return img, detect_faces(img, detector="cnn")


def test_model_files_are_found_without_importing_the_package():
    folder = models.models_dir()
    for name in (models.LANDMARKS_68, models.CNN_DETECTOR, models.RECOGNITION):
        assert (folder / name).is_file()
    with pytest.raises(Gen2ResError, match="Face model file missing"):
        models.model_path("no_such_model.dat")


def test_one_face_on_astronaut(astronaut, astro_face):
    x, y, w, h = astro_face.box
    # the astronaut's face is around x 175..265, y 76..166
    assert 150 < x < 200 and 55 < y < 100 and 70 < w < 120 and w == h
    assert astro_face.landmarks.shape == (68, 2)
    assert astro_face.score > 0.5
    assert astro_face.descriptor.shape == (128,) and astro_face.descriptor.dtype == np.float32
    # landmarks inside the box region, eyes above the mouth
    lm = astro_face.landmarks
    assert lm[:, 0].min() > x - 0.3 * w and lm[:, 0].max() < x + 1.3 * w
    left, right = astro_face.eye_centres
    assert left[0] < right[0] and max(left[1], right[1]) < lm[48:68, 1].min()


def test_alignment_matrix_maps_the_ffhq_square_onto_the_crop(astro_face):
    c, x, y = ffhq_quad(astro_face.landmarks)
    assert abs(float(x @ y)) < 1e-9 and math.isclose(np.hypot(*x), np.hypot(*y))
    m = alignment_matrix(astro_face.landmarks, R)
    corners = geometry.apply(m, np.array([c - x - y, c + x - y, c + x + y, c - x + y]))
    np.testing.assert_allclose(
        corners, [[-0.5, -0.5], [R - 0.5, -0.5], [R - 0.5, R - 0.5], [-0.5, R - 0.5]], atol=1e-9
    )


def test_aligned_crop_puts_the_eyes_at_the_template(astro_face, aligned):
    assert aligned.crop.size == (R, R)
    left, right = np.array(aligned.eye_left), np.array(aligned.eye_right)
    # template from the FFHQ construction: eye line level, centred, R/4 apart when the eye
    # distance term wins (as it does on this face), a little above the centre
    lm = astro_face.landmarks
    eye_to_eye = np.hypot(*np.subtract(*astro_face.eye_centres[::-1]))
    eye_to_mouth = np.hypot(*((lm[48] + lm[54]) / 2 - np.mean(astro_face.eye_centres, axis=0)))
    assert 2.0 * eye_to_eye > 1.8 * eye_to_mouth
    assert abs(eye_angle(left, right)) < 3
    assert abs((left[0] + right[0]) / 2 - (R - 1) / 2) < 0.04 * R
    assert abs(np.hypot(*(right - left)) - R / 4) < 0.02 * R
    assert (R - 1) / 2 - 0.1 * R < (left[1] + right[1]) / 2 < (R - 1) / 2
    # and the crop really shows them there: landmarks found afresh on the crop agree
    again = detect_faces(aligned.crop, with_descriptors=False)
    assert len(again) == 1
    found_left, found_right = again[0].eye_centres
    assert np.hypot(*(found_left - left)) < 3 and np.hypot(*(found_right - right)) < 3


def test_identity_paste_back_reproduces_the_photo(astronaut, aligned):
    out = paste_back(astronaut, aligned.crop, aligned)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - astronaut).max(axis=2)
    mask = photo_mask(aligned, astronaut.shape)
    assert (mask > 0).sum() > 5000  # the face is covered
    assert diff.mean() < 1.5
    assert np.all(diff[mask == 0] == 0)
    # no seam: along the feathered rim the result matches the photo as well as inside
    rim = (mask > 0.05) & (mask < 0.95)
    assert rim.sum() > 500 and diff[rim].mean() < 1.5 and np.percentile(diff[rim], 99) < 8
    assert np.percentile(diff[mask > 0], 99) < 12  # resampling of fine highlights only


def test_restored_face_replaces_the_face_and_nothing_else(astronaut, aligned):
    inverted = Image.fromarray(255 - np.asarray(aligned.crop))
    out = paste_back(astronaut, inverted, aligned)
    mask = photo_mask(aligned, astronaut.shape)
    assert np.array_equal(out[mask == 0], astronaut[mask == 0])
    core = mask > 0.95
    assert np.abs(out[core].astype(np.int16) - astronaut[core]).mean() > 30
    assert np.array_equal(astronaut, data.astronaut())  # the input was not written to


def test_colour_cast_of_a_restoration_is_matched_to_the_photo(astronaut, aligned):
    crop = np.asarray(aligned.crop).astype(np.int16)
    cast = np.clip(crop + [70, 0, -40], 0, 255).astype(np.uint8)
    out = paste_back(astronaut, cast, aligned)
    core = photo_mask(aligned, astronaut.shape) > 0.95
    shift = out[core].astype(np.float64).mean(axis=0) - astronaut[core].mean(axis=0)
    assert np.all(np.abs(shift) < 4), shift


def test_crop_mask_fades_to_zero_before_the_crop_border():
    for kind in ("face", "crop"):
        m = crop_mask(R, kind)
        assert m.max() == 1.0 and m[R // 2, R // 2] == 1.0
        border = np.concatenate(
            [m[:5].ravel(), m[-5:].ravel(), m[:, :5].ravel(), m[:, -5:].ravel()]
        )
        assert np.all(border == 0)


def test_tilted_face_is_found_and_aligned_upright(tilted):
    img, faces = tilted
    assert len(faces) == 1
    face = faces[0]
    # turned 20 degrees counter-clockwise: the eye line rises to the right
    assert -25 < face.roll_degrees < -12
    a = align_face(img, face, R)
    assert abs(eye_angle(a.eye_left, a.eye_right)) < 2
    again = detect_faces(a.crop, with_descriptors=False)
    assert len(again) == 1 and abs(again[0].roll_degrees) < 3


def test_steep_tilt_is_found_by_the_turned_passes():
    img = Image.fromarray(data.astronaut()).rotate(
        -65, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128)
    )
    faces = detect_faces(img, with_descriptors=False)
    assert len(faces) == 1
    assert 60 < faces[0].roll_degrees < 75
    a = align_face(img, faces[0], R)
    assert abs(eye_angle(a.eye_left, a.eye_right)) < 3


def test_cnn_detector_finds_the_cameraman(cameraman):
    _, faces = cameraman
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 60 < x < 100 and 50 < y < 100 and 60 < w < 110


def test_unknown_detector_is_an_error(astronaut):
    with pytest.raises(Gen2ResError, match="Unknown face detector"):
        detect_faces(astronaut, detector="yolo")


def test_describe_face_on_a_known_box_matches_detection(astronaut, astro_face):
    again = describe_face(astronaut, astro_face.box)
    assert np.abs(again.landmarks - astro_face.landmarks).max() < 2
    assert descriptor_distance(again.descriptor, astro_face.descriptor) < 0.05
    assert descriptor_distance(face_descriptor(astronaut, astro_face), astro_face.descriptor) < 0.05


def test_identity_similarity_scale():
    a = np.zeros(128, np.float32)
    b = a.copy()
    b[0] = SAME_PERSON_DISTANCE
    assert identity_similarity(a, a) == 1.0
    assert identity_similarity(a, b) == pytest.approx(0.5)
    b[0] = 3.0
    assert identity_similarity(a, b) == 0.0


def test_suggest_subject_picks_the_right_person(astro_face, tilted, cameraman):
    _, cam_faces = cameraman
    # the cameraman in another framing and size (his face is half hidden by the camera,
    # so a mirrored copy is not a fair test of the descriptor)
    other = np.asarray(
        Image.fromarray(data.camera()[20:340, 70:390])
        .convert("RGB")
        .resize((240, 240), Image.Resampling.LANCZOS)
    )
    cam_again = detect_faces(other, detector="cnn")
    assert len(cam_again) == 1
    refs = {"Eileen": [astro_face.descriptor], "Cameraman": [cam_faces[0].descriptor]}
    # the astronaut again, in another photo (tilted, resampled): same person
    hit = suggest_subject(tilted[1][0].descriptor, refs)
    assert hit is not None and hit[0] == "Eileen" and hit[1] < SAME_PERSON_DISTANCE
    hit = suggest_subject(cam_again[0].descriptor, refs)
    assert hit is not None and hit[0] == "Cameraman"
    # a stranger to every subject with references gets no suggestion
    assert (
        suggest_subject(cam_again[0].descriptor, {"Eileen": refs["Eileen"], "Nobody yet": []})
        is None
    )
    assert identity_similarity(astro_face.descriptor, cam_faces[0].descriptor) < 0.5


def test_square_crop_region_for_pets():
    cat = data.chelsea()  # 451 x 300
    a = square_crop_region(cat, 100, 20, 240, R)
    assert a.crop.size == (R, R) and a.eye_left is None and a.kind == "crop"
    np.testing.assert_allclose(
        geometry.apply(a.matrix, np.array([[99.5, 19.5], [339.5, 259.5]])),
        [[-0.5, -0.5], [R - 0.5, R - 0.5]],
    )
    expected = np.asarray(
        Image.fromarray(cat).crop((100, 20, 340, 260)).resize((R, R), Image.Resampling.BICUBIC)
    )
    assert np.abs(np.asarray(a.crop).astype(np.int16) - expected).mean() < 3
    out = paste_back(cat, a.crop, a)
    assert np.abs(out.astype(np.int16) - cat).mean() < 1.0
    with pytest.raises(Gen2ResError, match="goes past the photo"):
        square_crop_region(cat, 300, 0, 200, R)
    with pytest.raises(Gen2ResError, match="must be positive"):
        square_crop_region(cat, 0, 0, 0, R)


def test_strong_reduction_averages_instead_of_aliasing():
    """Bringing a big face down to the crop must low-pass: warping fine noise down 8x gives
    its local average (flat grey), where plain point sampling would keep the full noise."""
    noise = np.random.default_rng(0).integers(0, 256, (2048, 2048, 3), dtype=np.uint8)
    m = geometry.similarity(np.array([1024.0, 1024.0]), 0.3, 1 / 8, np.array([100.0, 100.0]))
    out = geometry.warp(noise, m, (200, 200))
    assert out.std() < 15 and abs(out.mean() - 127.5) < 3


def test_large_face_aligns_and_pastes_back(astronaut, astro_face):
    """A face far bigger than the crop (a high-resolution scan) still aligns and pastes back."""
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048), Image.Resampling.BICUBIC))
    face = describe_face(big, tuple(4 * v for v in astro_face.box), with_descriptor=False)
    a = align_face(big, face, 128)  # about 6x reduction
    ref = align_face(astronaut, astro_face, 128)
    assert np.abs(np.asarray(a.crop).astype(np.int16) - np.asarray(ref.crop)).mean() < 6
    out = paste_back(big, a.crop, a)
    mask = photo_mask(a, big.shape)
    assert np.array_equal(out[mask == 0], big[mask == 0])
