"""Colourising black-and-white prints: is the lightness kept, how colourful, how close to
the true colours, and how long per megapixel on this machine.

Colour photos nobody here made (scikit-image's astronaut, coffee, chelsea, rocket) are
turned grey (Lab lightness only) and colourised the way the app does it
(``core.photo.colourise.DDColorModel``: the authors' 512 x 512 input, ab scaled back and
joined with the photo's own lightness). Reported per photo:

- lightness kept: PSNR of L* (0..100 peak) between the colourised photo and the grey input;
- colourfulness (Hasler and Suesstrunk 2003) of the result, beside the true photo's;
- CIEDE2000 to the true colours (``skimage.color.deltaE_ciede2000``), mean over pixels,
  beside the grey input's (what leaving the photo grey scores);
- seconds per megapixel of the photo.

No weights can be downloaded on the machine this was written on, so by default the tiny
config runs with **random weights** (a real architecture, meaningless colours): the
lightness and speed numbers hold for the real model, the colour numbers do not. Give
``--weights FILE`` (a released ``.pth``) to measure the real thing.

    python -m benchmarks.colour [--weights ddcolor_paper_tiny.pth] [--out ...md]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import color, data

from benchmarks.oldphoto.run import _cpu_name
from gen2res_desktop.core.photo import colourise, ddcolor
from gen2res_desktop.core.photo.spandrel_models import canonical_state_dict, read_weights

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
RESULTS = Path(__file__).parent / "results"


def grey_print(rgb: np.ndarray) -> np.ndarray:
    """The photo's lightness only, as a neutral grey uint8 RGB image."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab[..., 1:] = 0
    grey = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(grey * 255), 0, 255).astype(np.uint8)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's M: spread and mean of the rg and yb opponent channels."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def lightness_psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((colourise.lightness(a) - colourise.lightness(b)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(100.0**2 / mse)


def ciede2000(a: np.ndarray, b: np.ndarray) -> float:
    return float(color.deltaE_ciede2000(color.rgb2lab(a), color.rgb2lab(b)).mean())


def random_tiny(seed: int = 0, spread: float = 30.0) -> ddcolor.DDColorNet:
    """The tiny config with random weights of a trained network's scale: spectral-norm
    vectors set to the weights' top singular pair, and ab spread over tens of Lab units."""
    torch.manual_seed(seed)
    net = ddcolor.DDColorNet(ddcolor.TINY).eval()
    with torch.no_grad():
        for m in net.modules():
            w = getattr(m, "weight_orig", None)
            if isinstance(w, torch.Tensor):
                u, _, vh = torch.linalg.svd(w.reshape(w.shape[0], -1), full_matrices=False)
                m.weight_u.copy_(u[:, 0])
                m.weight_v.copy_(vh[0])
        x = torch.from_numpy(colourise.model_input(grey_print(data.astronaut()), 128))[None]
        net.refine_net[0][0].weight_u.mul_(float(net(x).std()) / spread)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="a released DDColor .pth (default: random)")
    parser.add_argument("--out", type=Path, default=RESULTS / "colour_cpu.md")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.weights:
        sd = canonical_state_dict(read_weights(args.weights), str(args.weights))
        net, what = ddcolor.build(sd, str(args.weights)), f"weights {args.weights.name}"
    else:
        net, what = random_tiny(), "RANDOM weights (tiny config): colour numbers meaningless"
    model = colourise.DDColorModel(net, name="ddcolor")
    model.run(grey_print(data.astronaut()[:64, :64]))  # warm-up: first-call allocations
    rows = []
    for name in PHOTOS:
        truth = getattr(data, name)()[..., :3]
        grey = grey_print(truth)
        t0 = time.perf_counter()
        out = model.run(grey)
        seconds = time.perf_counter() - t0
        mp = truth.shape[0] * truth.shape[1] / 1e6
        rows.append(
            {
                "photo": f"{name} {truth.shape[1]}x{truth.shape[0]}",
                "lightness_psnr_db": lightness_psnr(out, grey),
                "lightness_max_diff": float(
                    np.abs(colourise.lightness(out) - colourise.lightness(grey)).max()
                ),
                "colourfulness": colourfulness(out),
                "colourfulness_true": colourfulness(truth),
                "ciede2000": ciede2000(out, truth),
                "ciede2000_grey": ciede2000(grey, truth),
                "seconds": seconds,
                "seconds_per_mp": seconds / mp,
            }
        )
        print(rows[-1])
    cpu = _cpu_name()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps({"model": what, "cpu": cpu, "torch": torch.__version__, "rows": rows}, indent=2)
        + "\n"
    )
    lines = [
        "# Colourising black-and-white prints (CPU)",
        "",
        f"`python -m benchmarks.colour`; {what}; {cpu}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; the authors' 512 x 512 input.",
        "",
        "Colour photos turned grey (Lab lightness only), then colourised. With random weights "
        "the colourfulness and CIEDE2000 columns say nothing about DDColor's colours (the "
        "colours are noise); they show the measurement runs. The lightness columns and the "
        "time hold for the real model: the network only predicts chroma, the lightness is "
        "the print's by construction, and the time depends on the architecture, not the "
        "weights.",
        "",
        "| photo | L* PSNR dB | max L* diff | colourfulness (true) | CIEDE2000 (grey) | s | s/MP |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['photo']} | {r['lightness_psnr_db']:.1f} | {r['lightness_max_diff']:.2f} | "
            f"{r['colourfulness']:.1f} ({r['colourfulness_true']:.1f}) | "
            f"{r['ciede2000']:.1f} ({r['ciede2000_grey']:.1f}) | {r['seconds']:.2f} | "
            f"{r['seconds_per_mp']:.1f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
