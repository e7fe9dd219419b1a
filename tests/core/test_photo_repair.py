"""The whole-photo repair pipeline: stage order and switches, tiling, settings, bad inputs.

The stages' own quality (what the detector finds, how much noise goes) is tested in
test_damage.py and test_photo_stages.py; here it is the pipeline around them.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.photo.repair import check_damage_map, repair_photo
from gen2res_desktop.core.photo.settings import NO_REPAIR, RepairSettings
from gen2res_desktop.core.photo.tiles import process_tiled, tile_grid
from gen2res_desktop.core.photo.tone import is_monochrome
from gen2res_desktop.core.progress import CancelToken


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.coffee()[::2, ::2])  # 300 x 200


def scratched(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = img.copy()
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.line(mask, (10, 20), (280, 170), 255, 2)
    out[mask > 0] = 250
    return out, mask


class FakeModel:
    """A stand-in learned model: says what it was given and returns a known image."""

    def __init__(self, name: str, task: str, scale: int = 1) -> None:
        self.name, self.task, self.scale, self.sha256 = name, task, scale, "ab" * 32
        self.calls: list[dict] = []

    def run(self, rgb, *, mask=None, strength=None, progress, cancel):
        self.calls.append({"shape": rgb.shape, "mask": mask, "strength": strength})
        out = cv2.resize(rgb, (rgb.shape[1] * self.scale, rgb.shape[0] * self.scale))
        if mask is not None:
            out = out.copy()
            out[mask > 0] = 7
        return out


class FakeSource:
    def __init__(self, *models: FakeModel) -> None:
        self.models = {m.name: m for m in models}

    def installed(self, task):
        return [m.name for m in self.models.values() if m.task == task]

    def load(self, name):
        if name not in self.models:
            raise Gen2ResError(f"No photo model named '{name}' is installed.")
        return self.models[name]


def test_tile_grid_covers_with_overlap():
    assert tile_grid(100, 512, 32) == [(0, 100)]
    grid = tile_grid(1000, 256, 32)
    assert grid[0][0] == 0 and grid[-1][1] == 1000
    for (a0, a1), (b0, _) in zip(grid, grid[1:], strict=False):
        assert a1 - b0 >= 32 and a1 - a0 == 256


def test_tiled_equals_whole_for_a_local_filter(coffee):
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    whole = blur(coffee.astype(np.float32))
    tiled = process_tiled(coffee.astype(np.float32), blur, tile=96, overlap=24)
    # the blur reaches ~6 px: away from the photo's edge the tiles agree exactly with one run
    assert np.abs(tiled - whole)[8:-8, 8:-8].max() < 0.05


def test_tiled_enlargement_matches_scale(coffee):
    up = lambda x: np.repeat(np.repeat(x, 2, axis=0), 2, axis=1)  # noqa: E731
    out = process_tiled(coffee, up, tile=64, overlap=8, scale=2)
    assert out.shape == (400, 600, 3)
    assert np.array_equal(np.rint(out).astype(np.uint8), up(coffee))


def test_tiles_report_progress_and_cancel(coffee):
    seen = []
    process_tiled(coffee, lambda x: x, tile=64, overlap=8, progress=seen.append)
    assert seen[-1].step == seen[-1].total > 1
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        process_tiled(coffee, lambda x: x, tile=64, overlap=8, cancel=token)


def test_all_stages_run_in_order_and_repair_a_scratch(coffee):
    damaged, mask = scratched(coffee)
    seen = []
    result = repair_photo(damaged, RepairSettings(), progress=lambda p: seen.append(p.stage))
    assert [s.stage for s in result.stages] == ["damage", "inpaint", "denoise", "colour"]
    assert list(dict.fromkeys(s for s in seen if s in ("damage", "inpaint", "denoise", "colour")))
    assert result.image.shape == coffee.shape and result.image.dtype == np.uint8
    assert result.damage_map is not None and result.damage_map.shape == mask.shape
    # the scratch is gone: where it was, the result is near the clean photo repaired alike
    clean = repair_photo(coffee, RepairSettings()).image.astype(int)
    err_before = np.abs(damaged.astype(int) - clean)[mask > 0].mean()
    err_after = np.abs(result.image.astype(int) - clean)[mask > 0].mean()
    assert err_after < err_before / 2
    assert damaged[mask > 0].min() == 250  # the input was not modified


def test_everything_off_returns_the_photo_unchanged(coffee):
    result = repair_photo(coffee, NO_REPAIR)
    assert result.stages == [] and result.damage_map is None
    assert np.array_equal(result.image, coffee)


def test_a_given_damage_map_replaces_the_detector(coffee):
    damaged, mask = scratched(coffee)
    result = repair_photo(
        damaged, RepairSettings(denoise="off", sharpen=0.0, colour=False), damage_map=mask
    )
    assert result.stages[0].method == "your map"
    assert np.array_equal(result.damage_map, mask)
    assert np.abs(result.image.astype(int) - coffee)[mask > 0].mean() < 30


def test_a_doubtful_dark_mark_is_filled_part_way_but_a_painted_one_whole(coffee, monkeypatch):
    from gen2res_desktop.core.photo import repair
    from gen2res_desktop.core.photo.damage_finding import DamageFinding

    damaged, mask = scratched(coffee)
    damaged[mask > 0] = 10  # a dark line: a texture's gap or crevice looks like this
    doubt = np.where(mask > 0, 0.5, 1.0).astype(np.float32)
    monkeypatch.setattr(
        repair,
        "find_damage",
        lambda rgb, **kw: DamageFinding(mask.copy(), "opencv", certainty=doubt),
    )
    only_fill = RepairSettings(denoise="off", sharpen=0.0, colour=False)
    found = repair_photo(damaged, only_fill)
    auto = found.image.astype(int)
    painted_result = repair_photo(damaged, only_fill, damage_map=mask)
    painted = painted_result.image.astype(int)
    # the record says how much was filled part way, for the compare view's line
    assert found.stages[1].detail["partly_filled_fraction"] == round(
        np.count_nonzero(mask) / mask.size, 5
    )
    assert "partly_filled_fraction" not in painted_result.stages[1].detail
    # the map the compare view shows has the doubted line at half strength, a painted one whole
    assert np.array_equal(found.map_levels() > 0, mask > 0)
    assert set(np.unique(found.map_levels()[mask > 0])) == {128}
    assert set(np.unique(painted_result.map_levels()[mask > 0])) == {255}
    line = mask > 0
    # painted: filled whole; found but doubted: half way between the line and the fill
    assert np.abs(painted - coffee)[line].mean() < 30
    assert np.allclose(auto[line], (damaged[line].astype(int) + painted[line]) / 2, atol=2)


def test_a_damage_map_of_the_wrong_size_is_refused(coffee):
    with pytest.raises(
        Gen2ResError, match=r"damage map is 10 x 20 pixels but the photo is 300 x 200"
    ):
        repair_photo(coffee, RepairSettings(), damage_map=np.zeros((20, 10), np.uint8))
    assert check_damage_map(np.full((200, 300, 3), 200, np.uint8), coffee).max() == 255


@pytest.mark.parametrize(("h", "w", "words"), [(1, 1, "only 1 x 1"), (100, 20000, "long and thin")])
def test_photos_that_cannot_be_repaired_get_one_line(h, w, words):
    with pytest.raises(Gen2ResError, match=words) as info:
        repair_photo(np.zeros((h, w, 3), np.uint8), RepairSettings())
    assert "\n" not in str(info.value)


def test_enlarging_doubles_the_size_and_refuses_past_the_pixel_limit(coffee, monkeypatch):
    result = repair_photo(coffee, RepairSettings(upscale=2, colour=False))
    assert result.image.shape == (400, 600, 3) and result.scale == 2
    assert result.damage_map.shape == coffee.shape[:2]  # the map stays on the original
    from gen2res_desktop.core import images

    monkeypatch.setattr(images, "MAX_PIXELS", 200_000)
    monkeypatch.setattr("gen2res_desktop.core.photo.upscale.MAX_PIXELS", 200_000)
    with pytest.raises(Gen2ResError, match="over the 0 MP limit|choose a smaller enlargement"):
        repair_photo(coffee, RepairSettings(upscale=4))


def test_learned_models_are_used_when_named_and_recorded(coffee):
    damaged, mask = scratched(coffee)
    lama, scunet, esrgan = (
        FakeModel("lama", "inpaint"),
        FakeModel("scunet", "denoise"),
        FakeModel("x2", "upscale", 2),
    )
    source = FakeSource(lama, scunet, esrgan)
    settings = RepairSettings(
        denoise="scunet",
        denoise_strength=0.3,
        sharpen=0.0,
        upscale=2,
        upscale_model="x2",
        colour=False,
    )
    result = repair_photo(damaged, settings, damage_map=mask, models=source)
    # "auto" picked the installed inpainting model, and got the (grown) map
    assert result.stages[1].method == "lama" and result.stages[1].model_sha256 == "ab" * 32
    assert lama.calls[0]["mask"] is not None and (lama.calls[0]["mask"] >= mask).all()
    assert scunet.calls[0]["strength"] == 0.3
    assert [s.method for s in result.stages] == ["your map", "lama", "scunet", "x2"]
    assert result.image.shape == (400, 600, 3)
    record = result.record()
    assert record["stages"][2]["model_sha256"] == "ab" * 32


def test_an_enlarging_model_used_for_clean_up_keeps_the_size(coffee):
    source = FakeSource(FakeModel("x4", "upscale", 4))
    result = repair_photo(
        coffee, RepairSettings(scratches=False, denoise="x4", colour=False), models=source
    )
    assert result.image.shape == coffee.shape


def test_a_model_for_another_task_or_missing_is_refused(coffee):
    source = FakeSource(FakeModel("lama", "inpaint"))
    with pytest.raises(Gen2ResError, match="'lama' is for inpaint, not for noise"):
        repair_photo(coffee, RepairSettings(denoise="lama"), models=source)
    with pytest.raises(Gen2ResError, match="No photo model named 'nope'"):
        repair_photo(coffee, RepairSettings(denoise="nope"), models=source)
    with pytest.raises(Gen2ResError, match="No photo model named 'nope'"):
        repair_photo(coffee, RepairSettings(denoise="nope"))


def test_a_black_and_white_photo_stays_monochrome_after_the_faces(coffee):
    gray = cv2.cvtColor(cv2.cvtColor(coffee, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    result = repair_photo(gray, RepairSettings())
    assert result.tint is not None and is_monochrome(result.image)
    coloured = result.image.copy()
    coloured[50:100, 50:100] = (200, 40, 40)  # a generated face that came back in colour
    assert is_monochrome(result.finish(coloured))
    colour = repair_photo(coffee, RepairSettings())
    assert colour.tint is None and colour.finish(coloured) is coloured


def test_cancel_stops_between_stages(coffee):
    token = CancelToken()

    def progress(p):
        if p.stage == "denoise":
            token.cancel()

    with pytest.raises(Cancelled):
        repair_photo(coffee, RepairSettings(), progress=progress, cancel=token)


def test_settings_validate_and_survive_json():
    s = RepairSettings(denoise="scunet", upscale=2, colour_strength=0.2)
    assert RepairSettings.from_json(s.to_json()) == s
    assert RepairSettings.from_json({"upscale": 4, "unknown": 1}).upscale == 4
    assert RepairSettings.from_json(None) == RepairSettings()
    with pytest.raises(Gen2ResError, match="between 0 and 1"):
        RepairSettings(denoise_strength=3)
    with pytest.raises(Gen2ResError, match="1, 2 or 4"):
        RepairSettings(upscale=3)
    assert s.models_named == ["scunet"]
