"""One-off proof that our scratch detector computes what the authors' network computes.

The authors' code (microsoft/Bringing-Old-Photos-Back-to-Life, MIT) is not installable from
a package registry, hence this one-off script over a checkout of it rather than a test.
Their ``UNet`` from ``Global/detection_models/networks.py`` is built with the arguments of
``Global/detection.py`` (its only unavailable import, the synchronised-BatchNorm helper, is
stubbed: the detector itself uses plain BatchNorm2d), given random weights and random BN
running statistics, and the same state dict is loaded strictly into ours. Both run on random
and real photos prepared the authors' way (short side 256, sides multiples of 16): the
script reports the largest logit difference and how many mask pixels agree at 0.4.

    python benchmarks/scratch_detector_equivalence.py /tmp/bopbtl

where ``/tmp/bopbtl`` holds the repository's files (``git archive HEAD | tar -x``).
Results go to ``benchmarks/results/scratch_detector_equivalence.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch

from gen2res_desktop.core.photo import scratch_detector as sdet

RESULTS = Path(__file__).parent / "results"


def authors_unet(checkout: Path) -> torch.nn.Module:
    sys.path.insert(0, str(checkout / "Global"))
    stub = types.ModuleType("detection_models.sync_batchnorm")
    stub.DataParallelWithCallback = lambda module: module  # type: ignore[attr-defined]
    sys.modules["detection_models.sync_batchnorm"] = stub
    from detection_models import networks  # noqa: PLC0415 - their code, found at run time

    return networks.UNet(
        in_channels=1,
        out_channels=1,
        depth=4,
        conv_num=2,
        wf=6,
        padding=True,
        batch_norm=True,
        up_mode="upsample",
        with_tanh=False,
        sync_bn=True,
        antialiasing=True,
    )


def randomise(net: torch.nn.Module, seed: int) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.reset_parameters()
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.4, 2.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(1000)


def inputs() -> dict[str, np.ndarray]:
    from skimage import data

    rng = np.random.default_rng(0)
    gray = data.camera()
    return {
        "camera 512x512": np.repeat(gray[..., None], 3, axis=2),
        "astronaut 512x512": data.astronaut(),
        "chelsea 300x451": data.chelsea(),
        "coffee 400x600": data.coffee(),
        "noise 200x333": rng.integers(0, 256, (200, 333, 3), dtype=np.uint8),
        "noise 640x480": rng.integers(0, 256, (640, 480, 3), dtype=np.uint8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="the authors' repository files")
    args = parser.parse_args()
    theirs = authors_unet(args.checkout).eval()
    rows = []
    for seed in (0, 1):
        randomise(theirs, seed)
        sd = theirs.state_dict()
        ours = sdet.build({k: v.clone() for k, v in sd.items()}, "random weights")
        # spread the logits around the threshold, in both nets, so the masks are no triviality
        x0 = torch.from_numpy(sdet.prepare(inputs()["camera 512x512"]))[None, None]
        with torch.no_grad():
            s = 3.0 / theirs(x0).std()
            for net in (theirs, ours):
                net.last[1].weight.mul_(s)
                net.last[1].bias.mul_(s)
        for label, rgb in inputs().items():
            x = torch.from_numpy(sdet.prepare(rgb))[None, None]
            with torch.inference_mode():
                a, b = theirs(x), ours(x)
            diff = float((a - b).abs().max())
            agree = float(((torch.sigmoid(a) >= 0.4) == (torch.sigmoid(b) >= 0.4)).float().mean())
            rows.append(
                {
                    "seed": seed,
                    "input": label,
                    "working_size": list(x.shape[-2:]),
                    "logit_range": [float(a.min()), float(a.max())],
                    "damaged_fraction": float((torch.sigmoid(a) >= 0.4).float().mean()),
                    "max_abs_logit_diff": diff,
                    "mask_agreement": agree,
                }
            )
            print(f"seed {seed} {label}: max |logit diff| {diff:.3g}, mask agreement {agree:.6f}")
    keys_equal = list(theirs.state_dict()) == list(ours.state_dict())
    summary = {
        "authors_commit": (args.checkout / ".commit").read_text().strip()
        if (args.checkout / ".commit").is_file()
        else None,
        "state_dict_keys": len(sd),
        "same_keys_in_same_order": keys_equal,
        "parameters": sdet.parameters(ours),
        "torch": torch.__version__,
        "worst_max_abs_logit_diff": max(r["max_abs_logit_diff"] for r in rows),
        "worst_mask_agreement": min(r["mask_agreement"] for r in rows),
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scratch_detector_equivalence.json").write_text(json.dumps(summary, indent=2))
    lines = [
        "# Scratch detector: ours vs the authors' network",
        "",
        "`benchmarks/scratch_detector_equivalence.py` builds the authors' `UNet` "
        "(microsoft/Bringing-Old-Photos-Back-to-Life, `Global/detection_models/networks.py`, "
        f"commit {summary['authors_commit'] or 'HEAD'}) with `detection.py`'s arguments, "
        "gives it random weights and BN statistics, loads the same state dict strictly into "
        "ours, and runs both on inputs prepared the authors' way (short side 256).",
        "",
        f"- state dict: {len(sd)} tensors, same names in the same order: {keys_equal}; "
        f"{summary['parameters']:,} parameters",
        f"- worst max |logit difference|: {summary['worst_max_abs_logit_diff']:.3g}",
        f"- worst mask agreement at 0.4: {summary['worst_mask_agreement']:.6f}",
        f"- torch {torch.__version__}, CPU",
        "",
        "| seed | input | working size | logits | damaged | max abs logit diff | mask agreement |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["logit_range"]
        lines.append(
            f"| {r['seed']} | {r['input']} | {r['working_size'][0]}x{r['working_size'][1]} "
            f"| {lo:.1f}..{hi:.1f} | {r['damaged_fraction']:.1%} | "
            f"{r['max_abs_logit_diff']:.3g} | {r['mask_agreement']:.6f} |"
        )
    (RESULTS / "scratch_detector_equivalence.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
