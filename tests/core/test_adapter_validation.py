"""An adapter file is checked when it is read: metadata types and ranges, the LoRA tensors the
prior's layers need (no more, no fewer, right shapes), floating point, finite values. Every
problem is one line naming the file, never a traceback or a black image."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from gen2res_desktop.core.adapters import (
    AdapterMeta,
    attach_lora,
    check_adapter_file,
    read_adapter_meta,
    save_adapter,
    with_adapter,
)
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PriorRegistry, load_prior

RANK = 4
META_KEY = "gen2res_adapter"


@pytest.fixture(scope="module")
def tiny_prior(tiny_prior_dir, tmp_path_factory):
    """One tiny prior for the module: adapters are applied to copies, never to it."""
    registry = PriorRegistry(tmp_path_factory.mktemp("library"))
    return load_prior(registry.import_folder(tiny_prior_dir, "tiny", "face"), "cpu")


@pytest.fixture(scope="module")
def sound_adapter(tiny_prior, tmp_path_factory):
    """A small adapter for the tiny prior, with non-zero weights so it changes the output."""
    unet = copy.deepcopy(tiny_prior.unet)
    torch.manual_seed(0)
    attach_lora(unet, RANK, RANK, ["to_q", "to_k", "to_v", "to_out.0"])
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    meta = AdapterMeta(
        prior_name="tiny",
        prior_hash=tiny_prior.info.weights_hash,
        rank=RANK,
        alpha=float(RANK),
        targets=["to_q", "to_k", "to_v", "to_out.0"],
        steps_done=1,
        steps_total=1,
        seed=0,
        batch_size=1,
        lr=1e-4,
    )
    return save_adapter(unet, tmp_path_factory.mktemp("adapters") / "sound.safetensors", meta)


@pytest.fixture
def adapter(sound_adapter, tmp_path):
    return Path(shutil.copyfile(sound_adapter, tmp_path / "grandma.safetensors"))


def _rewrite(path, *, meta=None, state=None):
    """Rewrite ``path`` with changed metadata (a dict, or raw text) and/or tensors."""
    with safe_open(str(path), framework="pt") as f:
        raw = f.metadata()[META_KEY]
    tensors = load_file(str(path))
    if meta is not None:
        raw = meta if isinstance(meta, str) else json.dumps(meta(json.loads(raw)))
    if state is not None:
        tensors = state(tensors)
    save_file(tensors, str(path), metadata={META_KEY: raw})


def _refused(tiny_prior, path, *needles) -> str:
    with pytest.raises(Gen2ResError) as info:
        with_adapter(tiny_prior, path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for needle in needles:
        assert needle in message, message
    return message


def test_a_sound_adapter_loads_and_changes_the_output(tiny_prior, adapter):
    adapted = with_adapter(tiny_prior, adapter)
    x, t = torch.randn(1, 3, 32, 32), torch.tensor([10])
    with torch.no_grad():
        assert not torch.allclose(adapted.unet(x, t).sample, tiny_prior.unet(x, t).sample)
    meta, state = check_adapter_file(adapter)
    assert meta.rank == RANK and len(state) == 32


def _set(key, value):
    def change(d):
        d[key] = value
        return d

    return change


def _drop(key):
    def change(d):
        del d[key]
        return d

    return change


META_CASES = {
    "rank text": (_set("rank", "4"), "'rank'"),
    "rank zero": (_set("rank", 0), "'rank'"),
    "rank bool": (_set("rank", True), "'rank'"),
    "rank huge": (_set("rank", 10**6), "'rank'"),
    "alpha zero": (_set("alpha", 0), "'alpha'"),
    "alpha text": (_set("alpha", "4"), "'alpha'"),
    "targets a string": (_set("targets", "to_q"), "'targets'"),
    "targets of numbers": (_set("targets", [1, 2]), "'targets'"),
    "targets empty": (_set("targets", []), "'targets'"),
    "prior hash a number": (_set("prior_hash", 5), "'prior_hash'"),
    "batch size zero": (_set("batch_size", 0), "'batch_size'"),
    "image hashes not a list": (_set("image_hashes", "abc"), "'image_hashes'"),
    "rank missing": (_drop("rank"), "no 'rank'"),
    "metadata a list": (lambda d: [d], "not a JSON object"),
}


@pytest.mark.parametrize("case", META_CASES)
def test_bad_metadata_is_one_line_naming_the_field(tiny_prior, adapter, case):
    change, needle = META_CASES[case]
    _rewrite(adapter, meta=change)
    _refused(tiny_prior, adapter, needle, "Train the subject's face model again")
    with pytest.raises(Gen2ResError, match=needle.replace("'", ".")):
        read_adapter_meta(adapter)


def test_metadata_that_is_not_json(tiny_prior, adapter):
    _rewrite(adapter, meta='{"rank": 4,')
    _refused(tiny_prior, adapter, "not valid JSON")


def _first(state, half="A"):
    return sorted(k for k in state if f"lora_{half}" in k)[0]


def _drop_tensor(state):
    del state[_first(state, "B")]
    return state


def _extra_pair(state):
    state["down_blocks.9.attentions.0.to_q.lora_A.weight"] = torch.zeros(RANK, 64)
    state["down_blocks.9.attentions.0.to_q.lora_B.weight"] = torch.zeros(64, RANK)
    return state


def _other_layer_width(state):
    state[_first(state, "A")] = torch.zeros(RANK, 65)
    return state


def _other_rank(state):
    for key in [k for k in state if k.startswith(_first(state)[: -len("lora_A.weight")])]:
        state[key] = torch.zeros(8, 64) if "lora_A" in key else torch.zeros(64, 8)
    return state


def _nan(state):
    key = _first(state, "B")
    state[key] = torch.full_like(state[key], float("nan"))
    return state


def _inf(state):
    key = _first(state, "A")
    state[key][0, 0] = float("inf")
    return state


def _integers(state):
    key = _first(state, "A")
    state[key] = state[key].to(torch.int32)
    return state


def _not_lora(state):
    state["conv_in.weight"] = torch.zeros(32, 3, 3, 3)
    return state


TENSOR_CASES = {
    "a weight missing": (_drop_tensor, "lora_B.weight is missing"),
    "weights for layers the prior lacks": (_extra_pair, "does not have"),
    "a layer of another width": (_other_layer_width, "has shape [4, 65]"),
    "a rank the metadata does not say": (_other_rank, "do not fit rank 4"),
    "NaN weights": (_nan, "not finite"),
    "an infinite weight": (_inf, "not finite"),
    "integer weights": (_integers, "not floating point"),
    "not a LoRA weight": (_not_lora, "conv_in.weight is not a LoRA weight"),
}


@pytest.mark.parametrize("case", TENSOR_CASES)
def test_bad_tensors_are_one_line_not_garbage(tiny_prior, adapter, case):
    change, needle = TENSOR_CASES[case]
    _rewrite(adapter, state=change)
    _refused(tiny_prior, adapter, needle)


def test_missing_lora_pairs_of_the_prior_are_refused(tiny_prior, adapter):
    """Both halves of one layer gone: the file is sound alone, but not for this prior."""

    def drop_layer(state):
        base = _first(state)[: -len("lora_A.weight")]
        return {k: v for k, v in state.items() if not k.startswith(base)}

    _rewrite(adapter, state=drop_layer)
    check_adapter_file(adapter)  # no prior needed: nothing wrong on its own
    _refused(tiny_prior, adapter, "missing")


def test_targets_that_are_not_layers_of_the_prior(tiny_prior, adapter):
    _rewrite(adapter, meta=_set("targets", ["no_such_layer"]))
    _refused(tiny_prior, adapter, "no_such_layer", "not layers of this prior")


@pytest.mark.parametrize("keep", [0.5, 0.999, 10])
def test_a_truncated_adapter_is_refused(tiny_prior, adapter, keep):
    data = adapter.read_bytes()
    adapter.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:keep])
    _refused(tiny_prior, adapter, "damaged or cut short")
