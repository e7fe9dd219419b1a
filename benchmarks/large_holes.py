"""Large holes: torn corners, flaked emulsion and wide cracks filled by Telea (the old
built-in) and by patch copying (``inpaint.inpaint_builtin``), scored inside the hole.

PSNR and SSIM inside a hole favour a smooth fill (the mean of what could be there is the
least-squares guess), so each row also gives the fill's texture: the high-frequency energy
(the image minus its Gaussian blur) inside the hole over the clean photo's there. 1 is
right; near 0 is a smear; well above 1 is noise. OpenCV-contrib's xphoto fills
(frequency-selective reconstruction, shift-map) are added when ``cv2.xphoto`` exists; LaMa
is a download the user makes and is not run here.

    python -m benchmarks.large_holes [--out benchmarks/results/large_holes_cpu.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from skimage import data
from skimage.metrics import structural_similarity

from gen2res_desktop.core.photo import inpaint

PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "rocket", "brick", "grass")
KINDS = ("corner", "flakes", "cracks")
BAND = 6  # px of undamaged rim scored with the hole: a seam shows there


def photo(name: str, megapixels: float = 1.0) -> np.ndarray:
    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3])
    h, w = img.shape[:2]
    f = (megapixels * 1e6 / (h * w)) ** 0.5
    return cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_LANCZOS4)


def _ragged(rng: np.random.Generator, cx: float, cy: float, r: float, n: int = 40) -> np.ndarray:
    """A blob with a torn, irregular edge: a circle whose radius wanders."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    wobble = np.convolve(rng.normal(0, 0.35, n + 4), np.ones(5) / 5, "valid")[:n]
    rr = r * np.clip(1 + wobble + rng.normal(0, 0.08, n), 0.4, 1.6)
    return np.stack([cx + rr * np.cos(a), cy + rr * np.sin(a)], 1).astype(np.int32)


def damage(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A uint8 0/255 map of one kind of large damage at about 1 MP."""
    m = np.zeros((h, w), np.uint8)
    if kind == "corner":
        # a torn-off corner: a ragged diagonal edge 200-320 px from the corner
        size = rng.uniform(200, 320)
        t = np.linspace(0, 1, 24)
        edge = np.stack([size * t, size * (1 - t)], 1) + rng.normal(0, 9, (24, 2))
        pts = np.concatenate([[[0, 0]], edge, [[0, 0]]])
        corner = int(rng.integers(4))
        if corner & 1:
            pts[:, 0] = w - 1 - pts[:, 0]
        if corner & 2:
            pts[:, 1] = h - 1 - pts[:, 1]
        cv2.fillPoly(m, [pts.astype(np.int32)], 255)
    elif kind == "flakes":
        # flaked emulsion: 4-7 ragged patches 20-150 px across
        for _ in range(int(rng.integers(4, 8))):
            d = rng.uniform(20, 150)
            cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
            cv2.fillPoly(m, [_ragged(rng, cx, cy, d / 2)], 255)
    else:
        # wide cracks: 2-3 wandering lines 8-15 px wide across the print
        for _ in range(int(rng.integers(2, 4))):
            width = int(rng.integers(8, 16))
            x, y = rng.uniform(0, w), 0.0
            heading = np.pi / 2 + rng.normal(0, 0.4)
            pts = []
            while 0 <= y < h and -50 < x < w + 50:
                pts.append((x, y))
                heading += rng.normal(0, 0.15)
                x, y = x + 25 * np.cos(heading), y + 25 * np.sin(heading)
            cv2.polylines(m, [np.array(pts, np.int32)], False, 255, width)
    return m


def highpass_energy(gray: np.ndarray, region: np.ndarray) -> float:
    g = gray.astype(np.float32)
    hp = g - cv2.GaussianBlur(g, (0, 0), 1.5)
    return float(np.mean(hp[region] ** 2))


def score(out: np.ndarray, clean: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    region = cv2.dilate(hole.astype(np.uint8), np.ones((2 * BAND + 1,) * 2, np.uint8)) > 0
    a, b = out.astype(np.float64) / 255, clean.astype(np.float64) / 255
    mse = float(np.mean((a[region] - b[region]) ** 2))
    ga = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)
    _, smap = structural_similarity(ga, gb, data_range=255, full=True)
    texture = highpass_energy(ga, hole) / max(highpass_energy(gb, hole), 1e-6)
    return {
        "psnr": 10 * np.log10(1 / max(mse, 1e-10)),
        "ssim": float(smap[region].mean()),
        "texture": texture,
    }


def methods() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    found: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "telea": lambda img, m: inpaint.inpaint_opencv(img, m, grow_pixels=0),
        "patch (builtin)": lambda img, m: inpaint.inpaint_builtin(img, m, grow_pixels=0),
    }
    xphoto = getattr(cv2, "xphoto", None)
    if xphoto is not None:  # only in opencv-contrib-python, which the app does not ship

        def fsr(img: np.ndarray, m: np.ndarray) -> np.ndarray:
            dst = np.zeros_like(img)
            # xphoto's mask is the other way round: nonzero marks pixels to keep
            xphoto.inpaint(img, (m == 0).astype(np.uint8), dst, xphoto.INPAINT_FSR_FAST)
            return dst

        def shiftmap(img: np.ndarray, m: np.ndarray) -> np.ndarray:
            lab = cv2.cvtColor(img, cv2.COLOR_RGB2Lab)  # shift-map wants CIE Lab
            dst = np.zeros_like(lab)
            xphoto.inpaint(lab, (m == 0).astype(np.uint8), dst, xphoto.INPAINT_SHIFTMAP)
            return cv2.cvtColor(dst, cv2.COLOR_Lab2RGB)

        found["xphoto FSR_FAST"] = fsr
        found["xphoto shift-map"] = shiftmap
    return found


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/large_holes_cpu.md"))
    ap.add_argument("--photos", nargs="*", default=list(PHOTOS))
    ap.add_argument("--crops", type=Path, help="save side-by-side crops (PNG) here")
    ap.add_argument("--skip", nargs="*", default=[], help="methods to leave out (slow ones)")
    args = ap.parse_args()
    fns = {k: f for k, f in methods().items() if k not in args.skip}
    rows: list[tuple[str, str, str, dict[str, float], float]] = []
    for p, name in enumerate(args.photos):
        clean = photo(name)
        h, w = clean.shape[:2]
        for k, kind in enumerate(KINDS):
            rng = np.random.default_rng(1000 * p + k)
            m = damage(kind, h, w, rng)
            hole = m > 0
            bad = clean.copy()
            bad[hole] = 250 if kind != "cracks" else 20  # paper base / dark crack
            shots = []
            for label, fn in fns.items():
                t = time.perf_counter()
                out = fn(bad, m)
                secs = time.perf_counter() - t
                s = score(out, clean, hole)
                rows.append((name, kind, label, s, secs))
                print(
                    f"{name:10s} {kind:7s} {label:18s} psnr {s['psnr']:6.2f} "
                    f"ssim {s['ssim']:.3f} texture {s['texture']:.2f} {secs:6.2f}s",
                    flush=True,
                )
                shots.append(out)
            if args.crops:
                args.crops.mkdir(parents=True, exist_ok=True)
                ys, xs = np.nonzero(hole)
                cy, cx = int(np.median(ys)), int(np.median(xs))
                y0, x0 = max(0, cy - 160), max(0, cx - 160)
                tiles = [s[y0 : y0 + 320, x0 : x0 + 320] for s in [clean, bad, *shots]]
                strip = np.concatenate(tiles, 1)
                cv2.imwrite(str(args.crops / f"{name}_{kind}.png"), strip[..., ::-1])
    write(args.out, rows, list(fns))


def write(path: Path, rows: list, labels: list[str]) -> None:
    lines = [
        "# Large holes on CPU: Telea vs patch copying",
        "",
        f"Machine: {cpu_name()}, {len(__import__('os').sched_getaffinity(0))} cores usable; "
        f"OpenCV {cv2.__version__}, numpy {np.__version__}. Photos at 1 MP "
        f"(scikit-image's {', '.join(sorted({r[0] for r in rows}))}); one damage map "
        "per photo and kind (seeded). Scores inside the hole plus a "
        f"{BAND} px rim; texture = high-pass energy of the fill / of the clean photo there "
        "(1 is right, near 0 a smear). LaMa (a download) was not available and is not run.",
        "",
        "Made by `python -m benchmarks.large_holes`.",
        "",
        "## Mean per kind of damage",
        "",
        "| damage | method | PSNR dB | SSIM | texture | s / case |",
        "|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        for label in labels:
            sel = [r for r in rows if r[1] == kind and r[2] == label]
            if not sel:
                continue
            mean = {k: np.mean([r[3][k] for r in sel]) for k in ("psnr", "ssim", "texture")}
            secs = np.mean([r[4] for r in sel])
            lines.append(
                f"| {kind} | {label} | {mean['psnr']:.2f} | {mean['ssim']:.3f} | "
                f"{mean['texture']:.2f} | {secs:.2f} |"
            )
    lines += ["", "## Every case", "", "| photo | damage | method | PSNR dB | SSIM | texture | s |"]
    lines.append("|---|---|---|---|---|---|---|")
    for name, kind, label, s, secs in rows:
        lines.append(
            f"| {name} | {kind} | {label} | {s['psnr']:.2f} | {s['ssim']:.3f} | "
            f"{s['texture']:.2f} | {secs:.2f} |"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
