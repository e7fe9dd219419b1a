"""The old-photo benchmark's second generator and its dev/test smoke run."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.oldphoto.__main__ import main
from benchmarks.oldphoto.degrade_real import FILL_KINDS, PROFILES, STAIN_KINDS, age_real
from benchmarks.oldphoto.photos import natural

# a profile that draws each local kind
_DRAWS = {
    "craquelure": "craquelure",
    "crack": "cracked",
    "fold": "creased",
    "tear": "torn",
    "flake": "flaking",
    "scratch": "scratched",
    "hair": "scratched",
    "dust": "scratched",
    "pen": "inked",
    "edge": "torn",
}


def _photo() -> np.ndarray:
    img = natural("coffee", 0.16).image  # about 490 x 327
    return img[:, :400] if img.shape[1] > 400 else img


def test_generator_2_is_deterministic_per_seed():
    img = _photo()
    a, b = age_real(img, 11, profile="mixed"), age_real(img, 11, profile="mixed")
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert np.array_equal(a.undamaged, b.undamaged)
    c = age_real(img, 12, profile="mixed")
    assert not np.array_equal(a.image, c.image)


def test_each_local_kind_is_drawn_and_stains_stay_out_of_the_fill_mask():
    img = _photo()
    assert set(_DRAWS) == set(FILL_KINDS)
    for kind, profile in _DRAWS.items():
        aged = age_real(img, 3, profile=profile)
        assert aged.kinds[kind].any(), kind
        assert not (aged.kinds[kind] & ~aged.mask).any()
    stained = age_real(img, 3, profile="stained")
    assert not stained.mask.any()  # stains only: nothing to fill
    assert set(stained.stains) <= set(STAIN_KINDS) and stained.stains
    assert any(m.any() for m in stained.stains.values())
    assert not np.array_equal(stained.image, img)
    for profile in PROFILES:
        aged = age_real(img, 5, profile=profile)
        for region in aged.stains.values():
            assert not (region & aged.mask).any()


def test_smoke_scale_runs_all_three_splits_end_to_end(tmp_path):
    assert main(["--scale", "smoke", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "oldphoto_smoke.json").read_text())
    assert {p["split"] for p in data["per_photo"]} == {"dev", "held", "test"}
    summary = data["summary"]
    assert "gap" in summary and "held_gap" in summary and len(data["checks"]) == 6
    # the gap goal is the one between the split the detector was chosen on and test
    gap = next(c for c in data["checks"] if "gap" in c["goal"])
    assert gap["goal"].startswith("held-test")
    assert any(p["features"] for p in data["per_photo"] if p["split"] == "test")
    assert any(p["features"] for p in data["per_photo"] if p["split"] == "held")
    table = (tmp_path / "oldphoto_smoke.md").read_text()
    assert "Held - test gap" in table and "Dev - test gap" in table
    assert "## held split" in table and "## test split" in table
    assert (tmp_path / "oldphoto_smoke.png").stat().st_size > 1000
