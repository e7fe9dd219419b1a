"""Torn corners and bites out of a print's edge, where the scan shows the scanner's lid: found
on real photos, and what only looks like a lid (a border, a clipped shadow, a toned flat
corner, a clean photo) left alone. The tears are cut here by a process of their own (a
jittered chord, the lid with the scanner's noise, JPEG), not the benchmark's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from gen2res_desktop.core.photo.damage_finding import find_damage
from gen2res_desktop.core.photo.missing_paper import missing_paper
from gen2res_desktop.core.photo.repair import repair_photo
from gen2res_desktop.core.photo.settings import OFF, RepairSettings


def tear_corner(
    img: np.ndarray, lid: float, *, noise: float, jpeg: int | None, seed: int = 0, size=0.25
) -> tuple[np.ndarray, np.ndarray]:
    """``img`` with its top-right corner torn away along a ragged line, the lid showing."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    a, b = size * w, size * h
    t = np.linspace(0, 1, 48)
    edge = np.stack([a * (1 - t), b * t], 1) + rng.normal(0, 0.01 * min(h, w), (48, 2))
    poly = np.concatenate([[[0, 0]], [[a, 0]], edge, [[0, b]]])
    poly[:, 0] = w - 1 - poly[:, 0]
    gone = np.zeros((h, w), np.uint8)
    cv2.fillPoly(gone, [np.round(poly).astype(np.int32)], 1)
    out = img.astype(np.float32)
    out[gone > 0] = lid
    out = np.clip(out + rng.normal(0, noise, out.shape) + 0.5, 0, 255).astype(np.uint8)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        assert ok
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out, gone > 0


def overlap(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hit = (found & truth).sum()
    return hit / truth.sum(), hit / max(1, found.sum())


def sepia(img: np.ndarray) -> np.ndarray:
    grey = img.astype(np.float32).mean(axis=2, keepdims=True) if img.ndim == 3 else img[..., None]
    brown = np.array([1.0, 0.82, 0.62], np.float32)
    return np.clip(18 * brown + grey * 0.93 * brown, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("lid", "noise", "jpeg"),
    [(245, 0.5, 85), (245, 1.5, None), (25, 1.0, 85), (140, 1.0, 90)],
    ids=["white lid, jpeg", "white lid, noisy png", "black lid", "grey lid"],
)
def test_a_torn_corner_is_found_on_a_real_photo(lid, noise, jpeg):
    torn, gone = tear_corner(data.coffee(), lid, noise=noise, jpeg=jpeg)
    recall, precision = overlap(missing_paper(torn), gone)
    # measured: recall 0.97-0.99, precision 0.98-0.99
    assert recall > 0.7 and precision > 0.95


def test_a_grey_scan_and_a_sepia_print_with_a_neutral_lid():
    torn, gone = tear_corner(data.camera(), 240, noise=1.0, jpeg=90, seed=1)
    assert torn.ndim == 2
    recall, precision = overlap(missing_paper(torn), gone)
    assert recall > 0.7 and precision > 0.95
    torn, gone = tear_corner(sepia(data.astronaut()), 242, noise=0.8, jpeg=85, seed=2)
    recall, precision = overlap(missing_paper(torn), gone)
    assert recall > 0.7 and precision > 0.95


@pytest.mark.parametrize("name", ["astronaut", "camera", "coffee", "chelsea", "rocket", "moon"])
def test_a_whole_photo_has_no_lid(name):
    assert not missing_paper(getattr(data, name)()).any()


def test_a_white_border_all_round_is_not_a_tear():
    # a photo-booth print: the paper's white border runs along every side
    img = cv2.copyMakeBorder(data.coffee(), 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(236,) * 3)
    assert not missing_paper(img).any()


def test_a_clipped_shadow_and_a_toned_flat_corner_are_not_tears():
    torn, _ = tear_corner(data.coffee(), 0, noise=0.0, jpeg=None)
    assert not missing_paper(torn).any()  # black at 0: a shadow as much as a lid
    toned = sepia(data.coffee())
    flat, _ = tear_corner(toned, 0, noise=0.0, jpeg=None)
    flat_tone = toned[0, -1].astype(np.float32)
    corner = np.all(flat == np.array([20, 20, 20], np.uint8), axis=2)
    flat[corner] = flat_tone  # the corner flat, but the print's own sepia
    assert not missing_paper(flat).any()


def test_a_lid_clipped_white_is_found_unless_the_picture_is_that_white_too():
    # a scanner that clips its white lid: 255, the noise only dipping below it
    torn, gone = tear_corner(data.coffee(), 258, noise=1.0, jpeg=90, seed=3)
    recall, precision = overlap(missing_paper(torn), gone)
    assert recall > 0.7 and precision > 0.95
    # the same corner on a photo whose own highlights are burnt out: a sky, not a lid
    burnt = torn.copy()
    cv2.circle(burnt, (150, 250), 20, (255, 255, 255), -1)  # 0.5% of the photo at 255
    assert not missing_paper(burnt).any()


def test_the_repair_fills_a_torn_corner_from_the_print():
    clean = data.coffee()
    torn, gone = tear_corner(clean, 245, noise=0.5, jpeg=85)
    finding = find_damage(torn, faces=[])
    recall, _ = overlap(finding.mask > 0, gone)
    assert recall > 0.7 and finding.torn_pixels >= 0.7 * gone.sum()
    only_fill = RepairSettings(denoise=OFF, sharpen=0.0, colour=False)
    result = repair_photo(torn, only_fill, faces=[])
    fixed = result.image
    assert result.stages[0].detail["torn_fraction"] > 0.7 * gone.mean()
    inside = gone & (finding.mask > 0)
    before = np.abs(torn[inside].astype(int) - clean[inside]).mean()
    after = np.abs(fixed[inside].astype(int) - clean[inside]).mean()
    # the lid is about 150 levels off the print there; the fill brings it within ~40
    assert after < 0.5 * before


class _BlindDetector:
    """A learned damage model that finds nothing: what it misses, the lid test still adds."""

    name, task, scale, sha256 = "blind", "damage", 1, "0" * 64

    def run(self, rgb, **_):
        return np.zeros(rgb.shape[:2], np.uint8)


class _Models:
    def installed(self, task: str) -> list[str]:
        return ["blind"] if task == "damage" else []

    def load(self, name: str) -> _BlindDetector:
        return _BlindDetector()


def test_a_learned_detector_gets_the_torn_corner_too():
    torn, gone = tear_corner(data.coffee(), 245, noise=0.5, jpeg=85)
    finding = find_damage(torn, faces=[], models=_Models())
    assert finding.method == "blind"
    recall, precision = overlap(finding.mask > 0, gone)
    assert recall > 0.7 and precision > 0.95


def test_the_detector_is_sure_of_a_torn_corner():
    # the repair fills a doubtful dark mark only part way; where the paper is gone there is
    # no doubt, even where the network's own mark of the tear's rim is a doubtful one
    torn, gone = tear_corner(data.coffee(), 25, noise=1.0, jpeg=85)
    finding = find_damage(torn, faces=[])
    assert finding.torn_pixels and finding.certainty is not None
    found = missing_paper(torn)
    assert (finding.certainty[found] == 1.0).all()
