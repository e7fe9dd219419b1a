"""Faces found on the prints that need restoring: faded, low in contrast, grainy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from gen2res_desktop.core.faces import detect_faces
from gen2res_desktop.core.faces.enhance import for_detection
from gen2res_desktop.library.models import SECOND_PASS_WORDS


def _faded(contrast: float, grain: float, seed: int = 0) -> np.ndarray:
    """The astronaut as a faded, yellowed, half-desaturated print with grain."""
    img = data.astronaut().astype(np.float32) / 255.0
    out = (img - 0.5) * contrast + 0.65
    out = 0.5 * out + 0.5 * out.mean(axis=2, keepdims=True)
    out = out * np.array([1.0, 0.9, 0.7], np.float32)
    out = out + np.random.default_rng(seed).normal(0, grain, out.shape[:2])[..., None]
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize(("contrast", "grain"), [(0.1, 0.0), (0.2, 0.03)])
def test_a_faded_print_s_face_is_found_by_the_second_pass(contrast, grain):
    print_ = _faded(contrast, grain)
    # measured: dlib's HOG finds nothing on the print as it is
    assert detect_faces(print_, with_descriptors=False, second_pass=False) == []
    [face] = detect_faces(print_, with_descriptors=True)
    assert face.found_by.endswith("enhanced") and face.descriptor is not None
    assert face.found_by in SECOND_PASS_WORDS  # the words the details and the CLI say it with
    [clean] = detect_faces(data.astronaut(), with_descriptors=False)
    assert clean.found_by == "hog"
    # the same face: the eyes within a tenth of the eye distance of the clean photo's
    for a, b in zip(face.eye_centres, clean.eye_centres, strict=True):
        assert np.hypot(*(a - b)) < 0.1 * clean.eye_distance


def test_the_working_copy_is_gray_stretched_and_the_photo_untouched():
    print_ = _faded(0.2, 0.0)
    before = print_.copy()
    work = for_detection(print_)
    assert np.array_equal(print_, before)
    assert work.shape == print_.shape and (work[..., 0] == work[..., 2]).all()
    assert np.ptp(work) > 3 * np.ptp(print_.mean(axis=2))


def test_a_library_photo_remembers_its_face_came_from_the_second_pass(
    gen2res_home, tmp_path, capsys
):
    from gen2res_desktop.cli.main import main
    from gen2res_desktop.library import Library

    path = tmp_path / "faded.png"
    Image.fromarray(_faded(0.1, 0.0)).save(path)
    with Library.open() as lib:
        (pid,) = lib.import_paths([path]).photo_ids
    assert main(["faces", "detect", str(pid)]) == 0
    out = capsys.readouterr().out
    with Library.open() as lib:
        (stored,) = lib.list_faces(photo_id=pid)
        assert stored.found_by.endswith("enhanced") and lib.get_photo(pid).faces_searched
    assert f"{stored.second_pass} (the first search found no face)" in out
    assert main(["faces", "detect", str(path), "--json"]) == 0
    (face,) = json.loads(capsys.readouterr().out)["faces"]
    assert face["found_by"] == stored.found_by
