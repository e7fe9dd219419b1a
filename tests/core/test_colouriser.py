"""The DDColor colouriser: its network takes the released checkpoints' layout, runs the
authors' way with the photo's lightness kept, installs and loads through the photo model
registry, and refuses bad files in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_colouriser import TOY_SIZE, random_net, save_released
from tiny_photo_models import save

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo import colourise, ddcolor
from gen2res_desktop.core.photo.catalogue import CATALOGUE
from gen2res_desktop.core.photo.models import PhotoModelRegistry
from gen2res_desktop.core.photo.spandrel_models import PhotoModelCache
from gen2res_desktop.core.progress import CancelToken

# Names and shapes of the authors' DDColor(encoder_name="convnext-t", num_queries=100,
# num_output_channels=2, last_norm="Spectral", ...) as listed from their ddcolor/model.py
# (a sample of its 440 tensors).
RELEASED_TINY = {
    "encoder.arch.downsample_layers.0.0.weight": (96, 3, 4, 4),
    "encoder.arch.downsample_layers.3.1.weight": (768, 384, 2, 2),
    "encoder.arch.stages.2.8.gamma": (384,),
    "encoder.arch.stages.3.2.pwconv1.weight": (3072, 768),
    "encoder.arch.norm3.weight": (768,),
    "encoder.arch.norm.bias": (768,),
    "decoder.layers.0.shuf.conv.0.weight_orig": (2048, 768, 1, 1),
    "decoder.layers.0.shuf.conv.0.weight_u": (2048,),
    "decoder.layers.0.shuf.conv.0.weight_v": (768,),
    "decoder.layers.0.shuf.conv.1.running_var": (2048,),
    "decoder.layers.0.bn.num_batches_tracked": (),
    "decoder.layers.2.conv.0.weight_orig": (256, 352, 3, 3),
    "decoder.layers.2.conv.2.running_mean": (256,),
    "decoder.last_shuf.conv.0.weight_orig": (4096, 256, 1, 1),
    "decoder.last_shuf.conv.0.bias": (4096,),
    "decoder.color_decoder.query_feat.weight": (100, 256),
    "decoder.color_decoder.level_embed.weight": (3, 256),
    "decoder.color_decoder.input_proj.2.weight": (256, 256, 1, 1),
    "decoder.color_decoder.transformer_cross_attention_layers.8.multihead_attn.in_proj_weight": (
        768,
        256,
    ),
    "decoder.color_decoder.transformer_self_attention_layers.0.self_attn.out_proj.bias": (256,),
    "decoder.color_decoder.transformer_ffn_layers.4.linear1.weight": (2048, 256),
    "decoder.color_decoder.color_embed.layers.2.weight": (256, 256),
    "refine_net.0.0.weight_orig": (2, 103, 1, 1),
    "refine_net.0.0.bias": (2,),
    "mean": (1, 3, 1, 1),
    "std": (1, 3, 1, 1),
}


@pytest.fixture(scope="module")
def toy() -> ddcolor.DDColorNet:
    return random_net()


@pytest.fixture(scope="module")
def toy_file(toy, tmp_path_factory):
    return save_released(toy, tmp_path_factory.mktemp("ddcolor") / "ddcolor_paper_tiny.pth")


def _grey(h: int = 100, w: int = 90) -> np.ndarray:
    from skimage import data

    g = data.camera()[::4, ::4][:h, :w]
    return np.ascontiguousarray(np.repeat(g[..., None], 3, axis=2))


def test_tiny_network_has_the_released_layout_and_loads_it_strictly():
    with torch.device("meta"):  # the layout only: no 55 M random numbers drawn
        net = ddcolor.DDColorNet(ddcolor.TINY)
    sd = net.state_dict()
    assert len(sd) == 440
    for name, shape in RELEASED_TINY.items():
        assert tuple(sd[name].shape) == shape, name
    assert ddcolor.matches(sd) and ddcolor.shape_of(sd) == ddcolor.TINY
    assert ddcolor.parameters(net) == 55_006_640
    with torch.device("meta"):
        large = ddcolor.DDColorNet(ddcolor.LARGE).state_dict()
    assert ddcolor.shape_of(large) == ddcolor.LARGE


def test_tiny_random_weights_load_and_run():
    net = random_net(toy=False)
    built = ddcolor.build({k: v.clone() for k, v in net.state_dict().items()}, "tiny")
    x = torch.from_numpy(colourise.model_input(_grey(), 64))[None]
    with torch.inference_mode():
        a, b = net(x), built(x)
    assert a.shape == (1, 2, 64, 64) and torch.equal(a, b)


def test_output_keeps_the_prints_lightness(toy):
    model = colourise.DDColorModel(toy, input_size=TOY_SIZE)
    grey = _grey()
    seen = []
    out = model.run(grey, progress=seen.append, cancel=CancelToken())
    assert out.shape == grey.shape and out.dtype == np.uint8
    # colour was added...
    assert out.astype(float).std(axis=2).mean() > 5
    # ...and the lightness is the print's, to within 8-bit rounding
    diff = np.abs(colourise.lightness(out) - colourise.lightness(grey))
    assert diff.max() < 0.5
    assert seen[-1].stage == "colourise"
    # strength 0 gives the grey print back; half strength half the chroma
    assert np.abs(model.run(grey, strength=0).astype(int) - grey).max() <= 1
    half = model.run(grey, strength=0.5)
    assert half.astype(float).std(axis=2).mean() < out.astype(float).std(axis=2).mean()
    with pytest.raises(Gen2ResError, match="8-bit RGB"):
        model.run(grey[..., 0])


def test_a_sepia_print_loses_its_tone_but_keeps_its_lightness(toy):
    model = colourise.DDColorModel(toy, input_size=TOY_SIZE)
    grey = _grey().astype(float)
    sepia = np.clip(grey * np.array([1.0, 0.85, 0.65]) + np.array([20, 10, 0]), 0, 255)
    sepia = sepia.astype(np.uint8)
    out = model.run(sepia)
    assert np.abs(colourise.lightness(out) - colourise.lightness(sepia)).max() < 0.5


def test_out_of_gamut_colours_lose_chroma_not_lightness():
    lum = np.linspace(2, 98, 64, dtype=np.float32).reshape(8, 8)
    ab = np.full((8, 8, 2), 120.0, np.float32)  # far outside sRGB at every lightness
    out = colourise.join_lightness(lum, ab)
    assert np.abs(colourise.lightness(out) - lum).max() < 0.6
    assert out.astype(float).std(axis=2).mean() > 5  # still coloured, as far as fits


def test_import_load_and_run_through_the_registry(toy_file, tmp_path):
    registry = PhotoModelRegistry(tmp_path)
    info = registry.import_file(toy_file, "ddcolor", licence="Apache-2.0")
    assert (info.task, info.arch, info.scale) == ("colour", "DDColor", 1)
    cache = PhotoModelCache(tmp_path, device="cpu")
    assert cache.installed("colour") == ["ddcolor"]
    assert cache.installed("denoise") == []
    model = cache.load("ddcolor")
    assert isinstance(model, colourise.DDColorModel) and model.sha256 == info.sha256
    assert model.input_size == colourise.INPUT_SIZE == 512  # the authors' size by default


def _refusal(registry, path, **kw) -> str:
    with pytest.raises(Gen2ResError) as e:
        registry.import_file(path, **kw)
    text = str(e.value)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_damaged_or_wrong_files_are_refused_in_one_line(toy, toy_file, tmp_path):
    registry = PhotoModelRegistry(tmp_path / "library")
    folder = tmp_path / "bad"
    folder.mkdir()
    sd = toy.state_dict()
    wrong = dict(sd)
    wrong["decoder.layers.1.conv.0.weight_orig"] = torch.zeros(32, 5, 3, 3)
    torch.save({"params": wrong}, folder / "shape.pth")
    missing = dict(sd)
    del missing["decoder.color_decoder.decoder_norm.weight"]
    torch.save({"params": missing}, folder / "missing.pth")
    three = dict(sd)
    three["refine_net.0.0.weight_orig"] = torch.zeros(3, 11, 1, 1)
    torch.save({"params": three}, folder / "three.pth")
    data = toy_file.read_bytes()
    (folder / "truncated.pth").write_bytes(data[: len(data) // 2])
    compact = save("compact-x4", folder)

    text = _refusal(registry, folder / "shape.pth")
    assert "DDColor colouriser" in text and "do not fit" in text and "shape.pth" in text
    assert "decoder_norm" in _refusal(registry, folder / "missing.pth")
    assert "output channels" in _refusal(registry, folder / "three.pth")
    assert "truncated.pth" in _refusal(registry, folder / "truncated.pth")
    assert "cannot be used for colour" in _refusal(registry, compact, task="colour")
    assert "it is for colour" in _refusal(registry, toy_file, task="denoise")
    assert registry.list() == []


def test_catalogue_pins_every_colouriser():
    entries = [e for e in CATALOGUE.values() if e.task == "colour"]
    assert entries and all(e.sha256 and len(e.sha256) == 64 and e.size for e in entries)
    assert all(e.licence == "Apache-2.0" for e in entries)
