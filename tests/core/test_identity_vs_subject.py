"""Identity against the subject: a restored face is scored against the subject's reference
faces (and so is the damaged face it came from), not against the damaged face itself.

Real faces from skimage.data: the astronaut (the subject, Eileen) and the cameraman (another
person). Boxes are given rather than detected, to keep the tests quick."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import data

from gen2res_desktop.core.faces import align_face, describe_face
from gen2res_desktop.core.faces.identity import (
    SAME_PERSON_SIMILARITY,
    identity_similarity,
    looks_less_alike,
    subject_identity,
    under_same_person_line,
)
from gen2res_desktop.core.photo_restore import restore_photo, scan_regions

R = 128
ASTRONAUT_BOX = (171, 79, 94, 94)  # what detect_faces finds on data.astronaut()
CAMERAMAN_BOX = (78, 72, 83, 83)  # the CNN detector's box on data.camera()[40:296, 100:356]


def cameraman_crop(size: int) -> Image.Image:
    """The cameraman's face, aligned like any face crop handed to a restorer."""
    gray = data.camera()[40:296, 100:356]
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    return align_face(rgb, describe_face(rgb, CAMERAMAN_BOX, with_descriptor=False), size).crop


@pytest.fixture(scope="module")
def eileen_references() -> list[np.ndarray]:
    """Three reference photos of the astronaut: mirrored, cropped, scaled down."""
    a = Image.fromarray(data.astronaut())
    x, y, w, _ = ASTRONAUT_BOX
    return [
        describe_face(ImageOps.mirror(a), (512 - x - w, y, w, w)).descriptor,
        describe_face(a.crop((60, 0, 460, 400)), (x - 60, y, w, w)).descriptor,
        describe_face(a.resize((384, 384), Image.Resampling.LANCZOS), (128, 59, 70, 70)).descriptor,
    ]


@pytest.fixture(scope="module")
def damaged():
    """The astronaut under heavy grain, its face region, and the clean face aligned alike."""
    clean = Image.fromarray(data.astronaut())
    noisy = np.asarray(clean, float) + np.random.default_rng(0).normal(0, 40, (512, 512, 3))
    photo = Image.fromarray(noisy.clip(0, 255).astype(np.uint8))
    face = describe_face(photo, ASTRONAUT_BOX, with_descriptor=False)
    regions = scan_regions(photo, kind="person", resolution=R, faces=[face]).regions
    clean_face = describe_face(clean, ASTRONAUT_BOX, with_descriptor=False)
    return photo, regions, align_face(np.asarray(clean), clean_face, R).crop


def test_subject_identity_is_the_mean_of_the_nearest_references():
    me = np.zeros(128)
    refs = [me + np.eye(128)[0] * d for d in (0.0, 0.3, 0.6, 1.2)]
    assert subject_identity(me, refs, k=1) == 1.0
    assert subject_identity(me, refs) == pytest.approx((1.0 + 0.75 + 0.5) / 3)
    assert subject_identity(me, refs[2:3]) == pytest.approx(SAME_PERSON_SIMILARITY)
    assert subject_identity(me, []) is None
    # compared at the two decimals shown: 0.781 against 0.779 reads "0.78 (damaged 0.78)"
    assert looks_less_alike(0.70, 0.75) and not looks_less_alike(0.779, 0.781)
    assert not looks_less_alike(None, 0.7) and not looks_less_alike(0.7, None)
    assert under_same_person_line(0.49) and not under_same_person_line(0.5)
    assert not under_same_person_line(None)


def test_a_face_restored_into_another_person_scores_lower_than_the_damaged_one(
    damaged, eileen_references
):
    photo, regions, _ = damaged
    result = restore_photo(
        photo,
        regions,
        lambda crop, i: cameraman_crop(crop.size[0]),
        references={0: eileen_references},
    )
    (face,) = result.faces
    # the damaged input is still Eileen; the "restored" face is the cameraman
    assert face.identity_before > SAME_PERSON_SIMILARITY
    assert face.identity < SAME_PERSON_SIMILARITY < face.identity_before
    assert face.looks_less_alike and face.under_same_person_line
    assert face.faithfulness < SAME_PERSON_SIMILARITY


def test_the_same_person_restored_scores_above_the_line_and_beats_the_damaged_face(
    damaged, eileen_references
):
    photo, regions, clean_crop = damaged
    result = restore_photo(
        photo, regions, lambda crop, i: clean_crop, references={0: eileen_references}
    )
    (face,) = result.faces
    assert face.identity > SAME_PERSON_SIMILARITY
    assert face.identity > face.identity_before  # the grain is gone: more like Eileen
    assert not face.looks_less_alike and not face.under_same_person_line
    # faithfulness is not identity: removing the grain changed the face the most
    assert face.faithfulness < face.identity

    # doing nothing keeps faithfulness at 1 and identity where the damaged face was
    kept = restore_photo(photo, regions, lambda crop, i: crop, references={0: eileen_references})
    assert kept.faces[0].faithfulness == pytest.approx(1.0)
    assert kept.faces[0].identity == pytest.approx(kept.faces[0].identity_before)


def test_no_reference_faces_gives_no_identity_but_still_faithfulness(damaged):
    photo, regions, clean_crop = damaged
    for references in (None, {}, {0: []}):
        (face,) = restore_photo(
            photo, regions, lambda c, i: clean_crop, references=references
        ).faces
        assert face.identity is None and face.identity_before is None
        assert 0.0 < face.faithfulness < 1.0
        assert not face.looks_less_alike and not face.under_same_person_line


def test_the_identity_scale_matches_dlib(eileen_references):
    # the references of one person are within dlib's same-person line of each other
    a, b, c = eileen_references
    assert min(identity_similarity(a, b), identity_similarity(b, c)) > SAME_PERSON_SIMILARITY
