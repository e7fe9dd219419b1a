"""ADM (guided-diffusion) checkpoints converted to diffusers priors, proved numerically.

The reference forward pass is OpenAI's own ``guided_diffusion.unet.UNetModel`` as packaged
on PyPI (``guided-diffusion-sdk==1.0.0``, a test-only dependency installed by ``make
test``); the converter itself was written from the architecture description.
"""

from __future__ import annotations

import json

import pytest
import torch

from gen2res_desktop.core.adm import (
    build_unet,
    convert_adm_state_dict,
    import_adm_checkpoint,
    infer_adm_config,
    load_adm_state_dict,
)
from gen2res_desktop.core.errors import Gen2ResError

unet_module = pytest.importorskip("guided_diffusion.unet")

BASE = dict(
    image_size=32,
    in_channels=3,
    model_channels=32,
    num_res_blocks=1,
    dropout=0.0,
    conv_resample=True,
    dims=2,
    num_classes=None,
    use_checkpoint=False,
    use_fp16=False,
    num_heads=1,
    num_head_channels=-1,
    num_heads_upsample=-1,
    use_scale_shift_norm=True,
    resblock_updown=True,
    use_new_attention_order=False,
)

# (name, guided-diffusion arguments, what the converter must be told that shapes cannot say)
CASES = [
    (
        "paper-like: learned sigma, scale-shift, resblock up/down, 2 res blocks, 64-ch heads",
        dict(model_channels=64, num_res_blocks=2, channel_mult=(1, 2, 2),
             attention_resolutions=(4,), num_head_channels=64, out_channels=6),
        {"num_head_channels": 64},
    ),
    (
        "no learned sigma, plain time embedding, conv resampling, attention at two levels",
        dict(channel_mult=(1, 2, 2), attention_resolutions=(2, 4), num_head_channels=32,
             out_channels=3, use_scale_shift_norm=False, resblock_updown=False),
        {"num_head_channels": 32},
    ),
    (
        "a fixed number of heads (num_heads) at the deepest level, two res blocks",
        dict(channel_mult=(1, 1, 2), attention_resolutions=(4,), num_heads=4, out_channels=6,
             num_res_blocks=2),
        {"num_heads": 4},
    ),
    (
        "the new attention order, scale-shift with conv resampling",
        dict(channel_mult=(1, 2), attention_resolutions=(1, 2), num_head_channels=16,
             out_channels=6, resblock_updown=False, use_new_attention_order=True),
        {"num_head_channels": 16, "use_new_attention_order": True},
    ),
]  # fmt: skip


def reference_model(args: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    model = unet_module.UNetModel(**{**BASE, **args}).eval()
    # the real initialisation zeroes every output conv: random weights test every path
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return model


@pytest.mark.parametrize(("what", "args", "told"), CASES, ids=[c[0][:24] for c in CASES])
def test_the_converted_unet_predicts_the_same_noise(what, args, told):
    ref = reference_model(args)
    state = ref.state_dict()
    cfg = infer_adm_config(state, {**told, "image_size": 32})
    assert cfg.num_res_blocks == args.get("num_res_blocks", 1)
    assert cfg.channel_mult == args["channel_mult"]
    assert cfg.learn_sigma == (args["out_channels"] == 6)
    unet = build_unet(state, cfg)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([10, 870])
    with torch.no_grad():
        expected = ref(x, t)[:, :3]  # the epsilon half
        got = unet(x, t).sample
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()
    # far tighter than the outputs' own size, so a wrong path could not hide under it
    assert (got - expected).abs().max() < 1e-3 * expected.abs().mean()


def test_a_wrong_head_split_is_caught_by_the_comparison():
    args = CASES[0][1]
    ref = reference_model(args)
    wrong = build_unet(
        ref.state_dict(), infer_adm_config(ref.state_dict(), {"num_head_channels": 32})
    )
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        gap = (wrong(x, torch.tensor([3])).sample - ref(x, torch.tensor([3]))[:, :3]).abs().max()
    assert gap > 1e-3


def test_every_key_is_used_once_and_a_stray_one_is_named():
    args = CASES[0][1]
    state = dict(reference_model(args).state_dict())
    cfg = infer_adm_config(state, CASES[0][2])
    state["input_blocks.1.0.extra.weight"] = torch.zeros(1)
    with pytest.raises(Gen2ResError, match=r"does not use: input_blocks\.1\.0\.extra\.weight"):
        convert_adm_state_dict(state, cfg)
    del state["input_blocks.1.0.extra.weight"]
    del state["middle_block.1.qkv.bias"]
    with pytest.raises(Gen2ResError, match=r"has no middle_block\.1\.qkv\.bias"):
        convert_adm_state_dict(state, cfg)


def test_class_conditional_and_foreign_files_are_refused(tmp_path):
    state = dict(reference_model(CASES[0][1]).state_dict())
    state["label_emb.weight"] = torch.zeros(10, 256)
    with pytest.raises(Gen2ResError, match="class-conditional"):
        infer_adm_config(state)
    with pytest.raises(Gen2ResError, match="Not an ADM"):
        infer_adm_config({"conv.weight": torch.zeros(1)})
    with pytest.raises(Gen2ResError, match="Unknown ADM config"):
        infer_adm_config(state, {"channels": 3})
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(Gen2ResError, match="damaged or not a model file"):
        load_adm_state_dict(bad)


def test_a_checkpoint_installs_as_a_prior_that_loads_and_denoises(tmp_path, gen2res_home):
    from gen2res_desktop.core.priors import PriorRegistry, load_prior

    args = CASES[0][1]
    ref = reference_model(args)
    path = tmp_path / "afhq_dog_tiny.pt"
    torch.save(ref.state_dict(), path)
    registry = PriorRegistry(gen2res_home)
    info = import_adm_checkpoint(
        registry, path, "dog-adm", "dog", config={"num_head_channels": 64, "image_size": 32}
    )
    assert info.kind == "dog" and info.resolution == 32
    prior = load_prior(registry.get("dog-adm"), "cpu")
    sched = json.loads((info.path / "scheduler" / "scheduler_config.json").read_text())
    assert sched["beta_schedule"] == "linear" and sched["num_train_timesteps"] == 1000
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(
            prior.unet(x, torch.tensor([5])).sample, ref(x, torch.tensor([5]))[:, :3], atol=1e-4
        )


def test_the_command_line_imports_a_checkpoint(tmp_path, gen2res_home, capsys):
    from gen2res_desktop.cli.main import main

    path = tmp_path / "ffhq_tiny.pt"
    torch.save(reference_model(CASES[0][1]).state_dict(), path)
    config = '{"num_head_channels": 64, "image_size": 32}'
    args = ["models", "import", str(path), "--format", "adm", "--name", "ffhq", "--kind", "face"]
    assert main([*args, "--config", config]) == 0
    assert "Installed prior 'ffhq' (face, 32px" in capsys.readouterr().out
    assert main([*args[:-4], "--name", "x", "--kind", "face", "--config", "[1]"]) == 1
    assert "--config must be a JSON object" in capsys.readouterr().err
    assert main(["models", "import", str(path), "--kind", "dog"]) == 1
    assert "--format adm" in capsys.readouterr().err


# -- hostile checkpoints (issue 24): one line naming the user's file, nothing installed --------


class _Payload:
    def __reduce__(self):
        return (print, ("owned",))


def _refused_import(gen2res_home, path, *needles) -> str:
    from gen2res_desktop.core.priors import PriorRegistry

    registry = PriorRegistry(gen2res_home)
    with pytest.raises(Gen2ResError) as e:
        import_adm_checkpoint(registry, path, "hostile", "face", config={"image_size": 32})
    text = str(e.value)
    assert "\n" not in text and str(path) in text, text
    for leak in ("weights_only", "Re-running", "Errno", "gen2res-adm-", "UNet2DModel prior"):
        assert leak not in text, text
    for needle in needles:
        assert needle in text, text
    assert registry.list() == []
    return text


def test_a_giant_model_in_a_tiny_file_is_refused_from_its_shapes(tmp_path, gen2res_home):
    args = {**BASE, **CASES[0][1], "model_channels": 4096, "image_size": 256}
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in unet_module.UNetModel(**args).state_dict().items()}
    # every tensor a view of one float: a file of kilobytes, a model of billions
    path = tmp_path / "giant.pt"
    torch.save({k: torch.zeros(()).expand(s) for k, s in shapes.items()}, path)
    assert path.stat().st_size < 200_000
    text = _refused_import(gen2res_home, path, "billion parameters", "2 billion")
    assert "31.3 billion" in text


def test_a_checkpoint_with_a_pickle_payload_is_refused_for_safety(tmp_path, gen2res_home):
    path = tmp_path / "payload.pt"
    state = dict(reference_model(CASES[0][1]).state_dict())
    torch.save({**state, "extra": _Payload()}, path)
    _refused_import(gen2res_home, path, "refused for safety", "not plain weights")


def test_nan_weights_name_the_users_file_and_the_tensor(tmp_path, gen2res_home):
    state = dict(reference_model(CASES[1][1]).state_dict())
    state["middle_block.0.in_layers.2.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save(state, path)
    _refused_import(
        gen2res_home, path, "middle_block.0.in_layers.2.weight", "NaN or infinity", "damaged"
    )


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty"])
def test_a_damaged_checkpoint_says_so(tmp_path, gen2res_home, how):
    path = tmp_path / f"{how}.pt"
    torch.save(reference_model(CASES[1][1]).state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": data[::-1], "empty": b""}[how]
    )
    _refused_import(gen2res_home, path, "damaged or not a model file")


def test_a_refusal_of_the_converted_copy_names_the_checkpoint(tmp_path, gen2res_home, monkeypatch):
    """Whatever the prior's own checks refuse in the converted copy is said of the user's
    file, without the temporary folder or the advice to import a diffusers prior."""
    from gen2res_desktop.core.priors import weights as prior_weights

    def refuse(state, weights):
        raise Gen2ResError(f"{weights}: tensor conv_in.weight holds values that are not finite.")

    monkeypatch.setattr(prior_weights, "_check_finite", refuse)
    path = tmp_path / "ok.pt"
    torch.save(reference_model(CASES[1][1]).state_dict(), path)
    _refused_import(gen2res_home, path, "the converted model failed", "conv_in.weight")
