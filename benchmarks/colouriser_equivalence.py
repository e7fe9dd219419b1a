"""One-off proof that our DDColor colouriser computes what the authors' network computes.

The authors' code (piddnad/DDColor, Apache-2.0) is not installable from a package registry,
hence this one-off script over a checkout of it rather than a test. Their ``DDColor`` from
``ddcolor/model.py`` (what ``scripts/infer.py`` runs) is built with the arguments of
``ddcolor/pipeline.py``'s ``build_ddcolor_model`` (tiny: ConvNeXt-T; large: ConvNeXt-L, the
"paper" / "modelscope" / "artistic" checkpoints), given random weights, random BatchNorm
statistics and random spectral-norm vectors, and the same state dict is loaded strictly
into ours. Both run on the same 512 x 512 inputs prepared the authors' way (L of Lab
replicated to RGB); the script reports the largest difference in the predicted ab.

    python benchmarks/colouriser_equivalence.py /tmp/ddcolor_ref [--no-large]

where ``/tmp/ddcolor_ref`` holds the repository's ``ddcolor/`` and ``basicsr/archs/``
(``git archive HEAD ddcolor basicsr/archs | tar -x``). Only those files are imported:
``basicsr/__init__.py`` (which pulls in the training stack) is bypassed with an empty
package. Results go to ``benchmarks/results/colouriser_equivalence.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from gen2res_desktop.core.photo import colourise
from gen2res_desktop.core.photo import ddcolor as ours_mod

RESULTS = Path(__file__).parent / "results"


def authors_class(checkout: Path) -> type:
    # empty packages, so their heavy __init__ files (the training stack) are not run
    for name, sub in (("basicsr", "basicsr"), ("basicsr.archs", "basicsr/archs")):
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(checkout / sub)]  # type: ignore[attr-defined]
        sys.modules[name] = pkg
    sys.path.insert(0, str(checkout))
    from ddcolor.model import DDColor  # noqa: PLC0415 - their code, found at run time

    return DDColor


def authors_net(cls: type, size: str, input_size: int) -> torch.nn.Module:
    # as ddcolor/pipeline.py's build_ddcolor_model for the MultiScaleColorDecoder
    return cls(
        encoder_name="convnext-t" if size == "tiny" else "convnext-l",
        decoder_name="MultiScaleColorDecoder",
        input_size=[input_size, input_size],
        num_output_channels=2,
        last_norm="Spectral",
        do_normalize=False,
        num_queries=100,
        num_scales=3,
        dec_layers=9,
    )


def randomise(net: torch.nn.Module, seed: int) -> None:
    """Random weights of a trained network's scale: every tensor drawn anew, BatchNorm
    statistics and ConvNeXt's layer scales included (at their initial 1e-6 the blocks would
    do nothing), and each spectral-norm conv's stored vectors set to its weight's top
    singular pair, as training leaves them (so sigma is the true spectral norm)."""
    g = torch.Generator().manual_seed(seed)

    def randn(shape: torch.Size) -> torch.Tensor:
        return torch.randn(shape, generator=g)

    with torch.no_grad():
        for name, t in [*net.named_parameters(), *net.named_buffers()]:
            if name in ("mean", "std") or name.endswith(("num_batches_tracked", "_u", "_v")):
                continue
            if name.endswith("running_mean"):
                t.copy_(torch.rand(t.shape, generator=g) * 0.6 - 0.3)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) * 2.1 + 0.4)
            elif name.endswith("gamma"):
                t.copy_(torch.rand(t.shape, generator=g) * 0.4 + 0.1)
            elif t.ndim <= 1 and name.endswith("bias"):
                t.copy_(randn(t.shape) * 0.05)
            elif t.ndim <= 1:
                t.copy_(1 + randn(t.shape) * 0.1)
            else:
                t.copy_(randn(t.shape) / max(1, t[0].numel()) ** 0.5)
        for m in net.modules():
            w = getattr(m, "weight_orig", None)
            if isinstance(w, torch.Tensor):
                u, _, vh = torch.linalg.svd(w.reshape(w.shape[0], -1), full_matrices=False)
                m.weight_u.copy_(u[:, 0])
                m.weight_v.copy_(vh[0])


def inputs(size: int) -> dict[str, np.ndarray]:
    from skimage import data

    rng = np.random.default_rng(0)
    return {
        "astronaut 512x512": data.astronaut(),
        "coffee 400x600": data.coffee(),
        "camera 512x512 (grey)": np.repeat(data.camera()[..., None], 3, axis=2),
        "noise 300x451": rng.integers(0, 256, (300, 451, 3), dtype=np.uint8),
    }


def compare(cls: type, size: str, seed: int, input_size: int) -> tuple[list[dict], dict]:
    theirs = authors_net(cls, size, input_size).eval()
    randomise(theirs, seed)
    # spread ab over the range of real colours (|a|, |b| up to ~100), in both nets alike:
    # a smaller u raises sigma's reciprocal, so the last conv's output, and nothing else
    x0 = torch.from_numpy(colourise.model_input(inputs(input_size)["astronaut 512x512"]))
    with torch.no_grad():
        spread = float(theirs(x0[None]).std())
        theirs.refine_net[0][0].weight_u.mul_(spread / 40.0)
    sd = {k: v.clone() for k, v in theirs.state_dict().items()}
    ours = ours_mod.build(sd, "random weights")
    same_names = set(theirs.state_dict()) == set(ours.state_dict())
    same_keys = list(theirs.state_dict()) == list(ours.state_dict())
    shapes = all(theirs.state_dict()[k].shape == v.shape for k, v in ours.state_dict().items())
    rows = []
    for label, rgb in inputs(input_size).items():
        x = torch.from_numpy(colourise.model_input(rgb, input_size))[None]
        with torch.inference_mode():
            t0 = time.perf_counter()
            a = theirs(x)
            t1 = time.perf_counter()
            b = ours(x)
            t2 = time.perf_counter()
        diff = float((a - b).abs().max())
        rel = diff / max(float(a.abs().max()), 1e-12)
        rows.append(
            {
                "config": size,
                "seed": seed,
                "input": label,
                "ab_range": [float(a.min()), float(a.max())],
                "max_abs_ab_diff": diff,
                "max_rel_diff": rel,
                "seconds_theirs": t1 - t0,
                "seconds_ours": t2 - t1,
            }
        )
        print(f"{size} seed {seed} {label}: max |ab diff| {diff:.3g} (relative {rel:.3g})")
    facts = {
        "config": size,
        "tensors": len(sd),
        "parameters": ours_mod.parameters(ours),
        "same_names": same_names,
        "same_names_same_order": same_keys,
        "same_shapes": shapes,
        "shape": ours.shape.__dict__,
    }
    return rows, facts


def write(rows: list[dict], facts: list[dict], commit: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    worst = max(r["max_abs_ab_diff"] for r in rows)
    worst_rel = max(r["max_rel_diff"] for r in rows)
    out = {
        "reference": "piddnad/DDColor ddcolor/model.py",
        "commit": commit,
        "torch": torch.__version__,
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "configs": facts,
        "worst_max_abs_ab_diff": worst,
        "worst_max_rel_diff": worst_rel,
        "rows": rows,
    }
    (RESULTS / "colouriser_equivalence.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# DDColor colouriser: ours vs the authors' network",
        "",
        "`benchmarks/colouriser_equivalence.py` builds the authors' `DDColor` "
        f"(piddnad/DDColor, `ddcolor/model.py`, commit {commit}) with "
        "`build_ddcolor_model`'s arguments (tiny = ConvNeXt-T encoder, large = ConvNeXt-L, "
        "the paper/modelscope/artistic config; 100 colour queries, 9 decoder layers, "
        "spectral norm, 2 outputs), gives it random weights, BatchNorm statistics and "
        "spectral-norm vectors, loads the same state dict strictly into ours "
        "(`gen2res_desktop/core/photo/ddcolor.py`), and runs both on 512 x 512 inputs "
        "prepared the authors' way (Lab L replicated to RGB).",
        "",
    ]
    for f in facts:
        lines.append(
            f"- {f['config']}: {f['tensors']} tensors, same names: {f['same_names']}, in the "
            f"same order: {f['same_names_same_order']}, same shapes: {f['same_shapes']}; "
            f"{f['parameters']:,} parameters"
        )
    lines += [
        f"- worst max |ab difference|: {worst:.3g} (relative to the largest |ab|: "
        f"{worst_rel:.3g}); float32 summation order in attention and convolutions",
        f"- torch {torch.__version__}, CPU (2-core AMD EPYC), {torch.get_num_threads()} threads",
        "",
        "| config | seed | input | ab range | max abs ab diff | relative | s theirs | s ours |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["ab_range"]
        lines.append(
            f"| {r['config']} | {r['seed']} | {r['input']} | {lo:.1f}..{hi:.1f} | "
            f"{r['max_abs_ab_diff']:.3g} | {r['max_rel_diff']:.2g} | "
            f"{r['seconds_theirs']:.2f} | {r['seconds_ours']:.2f} |"
        )
    (RESULTS / "colouriser_equivalence.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="the authors' repository files")
    parser.add_argument("--no-large", action="store_true", help="only the tiny config")
    parser.add_argument("--commit", default="unknown", help="the checkout's commit")
    args = parser.parse_args()
    torch.manual_seed(0)
    cls = authors_class(args.checkout)
    rows, facts = [], []
    for size in ("tiny",) if args.no_large else ("tiny", "large"):
        for seed in (0, 1) if size == "tiny" else (0,):
            r, f = compare(cls, size, seed, colourise.INPUT_SIZE)
            rows += r
            if seed == 0:
                facts.append(f)
    write(rows, facts, args.commit)


if __name__ == "__main__":
    main()
