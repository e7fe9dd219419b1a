"""Face finding on faded prints: recall at each fading level, false faces, and the time.

A real face photo nobody here made (scikit-image's astronaut, at 0.26 and 1 MP, and a
mirrored copy) is faded as prints fade: contrast lost around a lifted mid-grey, colour half
gone, a yellow (colour print) or sepia (toned print) cast, and film grain. Each print is
searched three ways, each adding to the last only where nothing was found: dlib's HOG on
the print (with its tilted retries), HOG on the enhanced working copy
(``core.faces.enhance``), and dlib's CNN on a denoised working copy. Photos without a
face (coffee, chelsea the cat, the rocket)
count the false faces and what the extra passes cost where they find nothing.

    python -m benchmarks.faces_faded [--out benchmarks/results/faces_faded_cpu.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from benchmarks.oldphoto.run import _cpu_name
from gen2res_desktop.core.faces import detect_faces

CONTRASTS = (0.5, 0.3, 0.2, 0.15, 0.1)
GRAINS = (0.0, 0.02, 0.04)
TONES = ("faded colour", "sepia")
NO_FACE = ("coffee", "chelsea", "rocket")


def faded(img: np.ndarray, contrast: float, grain: float, tone: str, seed: int) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    x = (x - 0.5) * contrast + 0.6
    y = x.mean(axis=2, keepdims=True)
    if tone == "sepia":
        x = np.concatenate([y**0.9, y, y**1.25], axis=2)
    else:
        x = (0.5 * x + 0.5 * y) * np.array([1.0, 0.92, 0.72], np.float32)
    x = x + np.random.default_rng(seed).normal(0, grain, x.shape[:2])[..., None]
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def _sizes(img: np.ndarray) -> list[tuple[str, np.ndarray]]:
    big = cv2.resize(img, (1000, 1000), interpolation=cv2.INTER_LANCZOS4)
    return [("512 px", img), ("1000 px", big), ("512 px, mirrored", img[:, ::-1].copy())]


def _search(img: np.ndarray) -> tuple[str | None, float]:
    """Which pass found a face (None: none did) and the seconds the search took."""
    t = time.perf_counter()
    faces = detect_faces(img, with_descriptors=False)
    return (faces[0].found_by if faces else None), time.perf_counter() - t


def run() -> str:
    cv2.setNumThreads(2)
    face = data.astronaut()
    rows = []
    total: dict[str, int] = {}
    times: list[float] = []
    for contrast in CONTRASTS:
        for grain in GRAINS:
            found = {"hog": 0, "enhanced": 0, "cnn": 0, "cases": 0}
            for tone in TONES:
                for k, (_, img) in enumerate(_sizes(face)):
                    how, seconds = _search(faded(img, contrast, grain, tone, k))
                    times.append(seconds)
                    found["cases"] += 1
                    if how == "hog":
                        found["hog"] += 1
                    elif how == "hog, enhanced":
                        found["enhanced"] += 1
                    elif how == "cnn, enhanced":
                        found["cnn"] += 1
            n = found["cases"]
            hog, enh, cnn = found["hog"], found["enhanced"], found["cnn"]
            rows.append(
                f"| {contrast:g} | {grain:g} | {hog}/{n} | {hog + enh}/{n} | {hog + enh + cnn}/{n} |"
            )
            for key in ("hog", "enhanced", "cnn", "cases"):
                total[key] = total.get(key, 0) + found[key]
            print(rows[-1], flush=True)
    false_rows = []
    for name in NO_FACE:
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        for label, x in (("as is", img), ("faded", faded(img, 0.2, 0.02, "sepia", 0))):
            t = time.perf_counter()
            first = detect_faces(x, with_descriptors=False, second_pass=False)
            t_first = time.perf_counter() - t
            how, seconds = _search(x)
            false_rows.append(
                f"| {name} ({label}) | {len(first)} | {0 if how is None else 1} | "
                f"{t_first:.1f} | {seconds:.1f} |"
            )
            print(false_rows[-1], flush=True)
    n = total["cases"]
    lines = [
        "# Faces on faded prints (cpu)",
        "",
        f"Machine: {_cpu_name()}, 2 threads. Made by `python -m benchmarks.faces_faded`. "
        "The astronaut (the one real face photo in scikit-image) at 512 px, enlarged to "
        "1000 px and mirrored, faded to each contrast (1 = the photo's own) with grain of "
        "each sigma (0..1 of the range), as a faded colour print and as a sepia print: "
        "6 prints per row. Each pass is tried only where the ones before found nothing.",
        "",
        "| contrast | grain | HOG | + HOG on the enhanced copy | + CNN on the denoised copy |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        f"| **all** | | {total['hog']}/{n} | {total['hog'] + total['enhanced']}/{n} | "
        f"{total['hog'] + total['enhanced'] + total['cnn']}/{n} |",
        "",
        f"Seconds per print (all passes it needed): median {np.median(times):.1f}, "
        f"worst {max(times):.1f}.",
        "",
        "Photos without a face: faces found by the first pass alone and by all passes, and "
        "the seconds each search took (where nothing is found, all passes run).",
        "",
        "| photo | faces, first pass | faces, all passes | s, first pass | s, all passes |",
        "| --- | --- | --- | --- | --- |",
        *false_rows,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faces_faded")
    default = Path(__file__).resolve().parent / "results" / "faces_faded_cpu.md"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args(argv)
    text = run()
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
