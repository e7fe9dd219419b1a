"""The benchmark's outputs: a markdown table, JSON, and a PNG figure drawn with Pillow.

Besides the numbers, the report checks the paper's claims (Fig. 8, Fig. 9, Table 2) on
paired photos and says for each whether this run agrees.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gen2res_desktop.core.atomic import atomic_path, atomic_write_text

if TYPE_CHECKING:
    from benchmarks.toyworld.run import Results

METRICS = {
    "psnr": ("PSNR face (dB)", +1),
    "ssim": ("SSIM face", +1),
    "detail": ("detail error", -1),
    "artefact": ("artefact score", -1),
}
CONSTRAINED = ("single", "personal", "personal_conv")
CURVE_ARMS = ("prior", *CONSTRAINED)
COLOURS = {
    "input": (120, 120, 120),
    "prior": (214, 39, 40),
    "single": (31, 119, 180),
    "personal": (44, 160, 44),
    "personal_conv": (148, 103, 189),
}


@dataclass(frozen=True)
class Check:
    claim: str
    source: str
    verdict: str  # "agrees", "disagrees", "mixed" or "not measured"
    evidence: str


def _arm_names():
    from benchmarks.toyworld.run import ARMS

    return ARMS


def _ks(results: Results, arm: str) -> list[int | None]:
    return [None] if arm == "input" else list(results.scale.ks)


def _values(results: Results, arm: str, k: int | None, metric: str, keys=None) -> np.ndarray:
    return np.array(
        [
            getattr(sc, metric)
            for (a, kk, key), sc in results.scores.items()
            if a == arm and kk == k and (keys is None or key in keys)
        ]
    )


def summary(results: Results) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    out: dict = {}
    for arm in _arm_names():
        for k in _ks(results, arm):
            cell = {}
            for metric in METRICS:
                v = _values(results, arm, k, metric)
                if v.size:
                    sem = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
                    cell[metric] = {"mean": float(v.mean()), "sem": sem, "n": int(v.size)}
            if cell:
                out.setdefault(arm, {})[str(k) if k is not None else "-"] = cell
    return out


def _paired(results: Results, a: str, ka, b: str, kb, metric: str) -> np.ndarray:
    """Per-photo difference a - b over the photos both arms restored."""
    sa = {
        key: getattr(s, metric)
        for (arm, k, key), s in results.scores.items()
        if arm == a and k == ka
    }
    sb = {
        key: getattr(s, metric)
        for (arm, k, key), s in results.scores.items()
        if arm == b and k == kb
    }
    common = sorted(set(sa) & set(sb))
    return np.array([sa[c] - sb[c] for c in common])


def _rho(x: list[float], y: list[float]) -> float:
    """Spearman rank correlation (no ties expected in K)."""
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    if np.std(rx) == 0 or np.std(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _mean_at(results: Results, arm: str, k, metric: str) -> float | None:
    v = _values(results, arm, k, metric)
    return float(v.mean()) if v.size else None


def checks(results: Results) -> list[Check]:
    scale = results.scale
    k0, ks = scale.table_k, list(scale.ks)
    out: list[Check] = []
    names = _arm_names()

    for arm in CONSTRAINED:
        d_psnr = _paired(results, arm, k0, "prior", k0, "psnr")
        if not d_psnr.size:
            continue
        d_ssim = _paired(results, arm, k0, "prior", k0, "ssim")
        d_det = _paired(results, arm, k0, "prior", k0, "detail")
        wins = sum(
            _paired(results, arm, k, "prior", k, "psnr").mean() > 0
            for k in ks
            if _paired(results, arm, k, "prior", k, "psnr").size
        )
        good = [d_psnr.mean() > 0, d_ssim.mean() > 0, d_det.mean() < 0]
        verdict = "agrees" if all(good) else ("disagrees" if not any(good) else "mixed")
        out.append(
            Check(
                claim=f"Constraining beats the unconstrained prior at the same K: {names[arm]}",
                source="Fig. 8, Fig. 9",
                verdict=verdict,
                evidence=(
                    f"at K={k0} on {d_psnr.size} paired photos: PSNR {d_psnr.mean():+.2f} dB, "
                    f"SSIM {d_ssim.mean():+.3f}, detail error {d_det.mean():+.3f}; "
                    f"higher PSNR than the prior at {wins}/{len(ks)} K"
                ),
            )
        )

    for arm in ("personal", "personal_conv"):
        vs_single = _paired(results, arm, k0, "single", k0, "detail")
        vs_input = _paired(results, arm, k0, "input", None, "detail")
        if not vs_input.size:
            continue
        parts = [f"detail error vs input {vs_input.mean():+.3f} ({vs_input.size} photos)"]
        good = [vs_input.mean() < 0]
        if vs_single.size:
            parts.append(f"vs generative album {vs_single.mean():+.3f} ({vs_single.size} photos)")
            good.append(vs_single.mean() < 0)
        verdict = "agrees" if all(good) else ("disagrees" if not any(good) else "mixed")
        out.append(
            Check(
                claim=(
                    f"The personal album recovers the personal detail lost in the input, "
                    f"better than the generative album: {names[arm]}"
                ),
                source="Sec. 5, Fig. 9, Table 2",
                verdict=verdict,
                evidence=f"at K={k0}: " + "; ".join(parts) + " (negative is better)",
            )
        )

    for arm in CURVE_ARMS:
        art = [_mean_at(results, arm, k, "artefact") for k in ks]
        psnr = [_mean_at(results, arm, k, "psnr") for k in ks]
        if None in art or None in psnr or len(ks) < 3:
            continue
        rq = _rho(ks, [-a for a in art])
        upper = [i for i, k in enumerate(ks) if k >= k0]
        rf = _rho([ks[i] for i in upper], [psnr[i] for i in upper])
        good = [rq > 0, rf < 0]
        verdict = "agrees" if all(good) else ("disagrees" if not any(good) else "mixed")
        out.append(
            Check(
                claim=f"Quality rises and fidelity falls as K grows: {names[arm]}",
                source="Fig. 8",
                verdict=verdict,
                evidence=(
                    f"artefact score {art[0]:.2f} at K={ks[0]} -> {art[-1]:.2f} at K={ks[-1]} "
                    f"(rank corr. of quality with K {rq:+.2f}); PSNR "
                    + ", ".join(f"{p:.2f}" for p in psnr)
                    + f" dB (rank corr. with K for K>={k0}: {rf:+.2f})"
                ),
            )
        )

    drop = {}
    for arm in ("prior", "single"):
        a, b = _mean_at(results, arm, k0, "psnr"), _mean_at(results, arm, ks[-1], "psnr")
        if a is not None and b is not None:
            drop[arm] = a - b
    if len(drop) == 2:
        out.append(
            Check(
                claim="Constraining with a generative album keeps the output faithful at large K",
                source="Sec. 5, Fig. 8",
                verdict="agrees" if drop["single"] < drop["prior"] else "disagrees",
                evidence=(
                    f"PSNR lost from K={k0} to K={ks[-1]}: prior {drop['prior']:.2f} dB, "
                    f"generative album {drop['single']:.2f} dB"
                ),
            )
        )
    if not out:
        out.append(Check("All", "-", "not measured", "no arm finished"))
    return out


def _fmt(cell: dict | None, metric: str) -> str:
    if not cell or metric not in cell:
        return "-"
    m = cell[metric]
    digits = 2 if metric == "psnr" else 3
    return f"{m['mean']:.{digits}f} ± {m['sem']:.{digits}f}"


def notes(results: Results) -> list[str]:
    s = results.scale
    n = [
        f"{s.subjects} held-out subjects x {s.test_photos} degraded photos, "
        f"{s.prior.resolution} x {s.prior.resolution} px.",
        "Scores are means ± standard error over photos, all computed after matching each "
        "result's per-channel mean and contrast to the ground truth on the face, so a global "
        "tone or colour shift is not scored as restoration.",
        "PSNR/SSIM: on the face region. Detail error: relative error of fine luminance "
        "detail on the cheeks that hold the subject's moles (0 = exact, about 1 = no detail "
        "there, above 1 = wrong detail). Artefact score: no-reference distance of the "
        "image's high-frequency spectrum to clean photos of the world (quality, whoever "
        "the face shows).",
    ]
    if s.restore_steps is not None:
        n.append(
            f"Restoration uses the engine's respaced sampler with {s.restore_steps} steps "
            "starting exactly at K (the paper runs all K steps)."
        )
    if s.album_photos != 20:
        n.append(f"The personal album has {s.album_photos} clean photos (the paper: about 20).")
    if s.album.count != 16:
        n.append(f"The generative album has {s.album.count} images (the paper: 16).")
    if s.single_photos < s.test_photos:
        n.append(
            f"Single-photo mode (the slow arm) ran on {s.single_photos} of each subject's "
            f"{s.test_photos} photos; checks compare arms on the same photos only."
        )
    n.append(
        f"Adapters: personal {s.personal.steps} steps (lr {s.personal.lr}, rank "
        f"{s.personal.rank}), generative album {s.single_train.steps} steps (the paper "
        "fine-tunes every weight: 5000 and 3000 iterations at lr 1e-5)."
    )
    return n + results.notes


def markdown(results: Results) -> str:
    s = results.scale
    summ = summary(results)
    names = _arm_names()
    lines = [
        f"# Toy-world quality benchmark: scale `{s.name}`",
        "",
        f"Written {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} by "
        f"`python -m benchmarks.toyworld --scale {s.name}` on {results.device} "
        f"({platform.processor() or platform.machine()}, torch {torch.__version__}).",
        "",
        "| method | K | PSNR face ↑ | SSIM face ↑ | detail error ↓ | artefact ↓ | photos |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for arm, label in names.items():
        for k, cell in summ.get(arm, {}).items():
            n = max((v["n"] for v in cell.values()), default=0)
            lines.append(
                f"| {label} | {k} | {_fmt(cell, 'psnr')} | {_fmt(cell, 'ssim')} | "
                f"{_fmt(cell, 'detail')} | {_fmt(cell, 'artefact')} | {n} |"
            )
    lines += ["", "## The paper's claims, checked", ""]
    lines += ["| claim | source | verdict | evidence |", "| --- | --- | --- | --- |"]
    for c in checks(results):
        lines.append(f"| {c.claim} | {c.source} | **{c.verdict}** | {c.evidence} |")
    lines += ["", "## Setup", ""]
    lines += [f"- {n}" for n in notes(results)]
    tr = results.prior.get("training", {})
    lines.append(
        f"- Prior: {results.prior['parameters'] / 1e6:.2f} M-parameter UNet2DModel, "
        f"{s.prior.steps} steps at batch {s.prior.batch_size} on "
        f"{s.prior.identities * s.prior.photos_per_identity} photos of "
        f"{s.prior.identities} identities"
        + (f"; trained on {tr['device']} in {tr['seconds'] / 60:.1f} min" if tr else "")
        + "."
    )
    lines += ["", "## Time", "", "| stage | seconds |", "| --- | --- |"]
    lines += [f"| {k} | {v:.0f} |" for k, v in results.timings.items()]
    lines += ["", f"Figure: `toyworld_{s.name}.png`; all numbers: `toyworld_{s.name}.json`.", ""]
    return "\n".join(lines)


def as_json(results: Results) -> dict:
    return {
        "scale": asdict(results.scale),
        "device": results.device,
        "torch": torch.__version__,
        "prior": results.prior,
        "timings": results.timings,
        "summary": summary(results),
        "checks": [asdict(c) for c in checks(results)],
        "notes": notes(results),
        "cases": [
            {"key": c.key, "subject": c.subject, "defects": list(c.defects), "single": c.single}
            for c in results.cases
        ],
        "per_photo": [
            {"arm": arm, "k": k, "case": key, **asdict(sc)}
            for (arm, k, key), sc in results.scores.items()
        ],
    }


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _image_grid(results: Results, cell: int) -> Image.Image | None:
    s = results.scale
    keys = sorted({key for (_, _, key) in results.images}, key=lambda k: (len(k), k))
    if not keys:
        return None
    columns = [("input", None, "input")]
    columns += [("prior", k, f"prior K={k}") for k in s.ks]
    columns += [("single", s.table_k, f"gen. album K={s.table_k}")]
    columns += [("personal", s.table_k, f"personal K={s.table_k}")]
    if s.personal_conv is not None:
        columns += [("personal_conv", s.table_k, f"pers.+conv K={s.table_k}")]
    columns += [("truth", None, "ground truth")]
    head, font = 18, _font(11)
    grid = Image.new("RGB", (cell * len(columns), head + cell * len(keys)), "white")
    draw = ImageDraw.Draw(grid)
    for ci, (arm, k, label) in enumerate(columns):
        draw.text((ci * cell + 3, 3), label, fill="black", font=font)
        for ri, key in enumerate(keys):
            arr = results.images.get((arm, k, key))
            if arr is None:
                continue
            tile = Image.fromarray(arr).resize((cell, cell), Image.Resampling.NEAREST)
            grid.paste(tile, (ci * cell, head + ri * cell))
    return grid


def _plot(results: Results, metric: str, w: int, h: int) -> Image.Image:
    """One metric-vs-K panel: a line per arm, the input as a dashed level."""
    s = results.scale
    title, _ = METRICS[metric]
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    font = _font(11)
    left, right, top, bottom = 46, 16, 20, 22
    series = {a: [_mean_at(results, a, k, metric) for k in s.ks] for a in CURVE_ARMS}
    series = {a: v for a, v in series.items() if any(x is not None for x in v)}
    level = _mean_at(results, "input", None, metric)
    vals = [x for v in series.values() for x in v if x is not None]
    vals += [level] if level is not None else []
    d.text((left, 3), title, fill="black", font=font)
    if not vals:
        return img
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    ks = list(s.ks)

    def xy(k: float, v: float) -> tuple[float, float]:
        x = left + (k - ks[0]) / max(ks[-1] - ks[0], 1) * (w - left - right)
        return x, top + (hi - v) / (hi - lo) * (h - top - bottom)

    d.rectangle([left, top, w - right, h - bottom], outline=(160, 160, 160))
    for k in ks:
        x, _ = xy(k, lo)
        d.text((x - 9, h - bottom + 4), str(k), fill="black", font=font)
    for frac in (0.0, 0.5, 1.0):
        v = lo + pad + frac * (hi - lo - 2 * pad)
        _, y = xy(ks[0], v)
        d.text((2, y - 6), f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}", fill="black", font=font)
    if level is not None:
        _, y = xy(ks[0], level)
        for x in range(left, w - right, 8):
            d.line([x, y, min(x + 4, w - right), y], fill=COLOURS["input"], width=1)
    for arm, v in series.items():
        pts = [xy(k, x) for k, x in zip(ks, v, strict=True) if x is not None]
        if len(pts) > 1:
            d.line(pts, fill=COLOURS[arm], width=2)
        for x, y in pts:
            d.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], fill=COLOURS[arm])
    return img


def _legend(results: Results) -> Image.Image:
    names, font = _arm_names(), _font(11)
    entries = [
        (arm, names[arm] + (" (dashed)" if arm == "input" else ""))
        for arm in ("input", *CURVE_ARMS)
    ]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = sum(22 + int(probe.textlength(label, font=font)) for _, label in entries) + 8
    img = Image.new("RGB", (width, 20), "white")
    d, x = ImageDraw.Draw(img), 8
    for arm, label in entries:
        d.rectangle([x, 5, x + 10, 15], fill=COLOURS[arm])
        d.text((x + 14, 4), label, fill="black", font=font)
        x += 22 + int(d.textlength(label, font=font))
    return img


def figure(results: Results) -> Image.Image:
    """Rows of input / results / ground truth, then metric-vs-K panels and their legend."""
    cell = max(96, results.scale.prior.resolution * 2)
    grid = _image_grid(results, cell)
    legend = _legend(results)
    width = max(grid.width if grid is not None else 0, legend.width, 4 * 220)
    pw = width // 4
    top = grid.height + 6 if grid is not None else 0
    fig = Image.new("RGB", (width, top + 180 + legend.height + 4), "white")
    if grid is not None:
        fig.paste(grid, (0, 0))
    for i, metric in enumerate(METRICS):
        fig.paste(_plot(results, metric, pw, 180), (i * pw, top))
    fig.paste(legend, (0, top + 182))
    return fig


def write_all(results: Results, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"toyworld_{results.scale.name}"
    md, js, png = stem.with_suffix(".md"), stem.with_suffix(".json"), stem.with_suffix(".png")
    atomic_write_text(md, markdown(results))
    atomic_write_text(js, json.dumps(as_json(results), indent=1))
    with atomic_path(png) as tmp:
        figure(results).save(tmp, format="PNG")
    return [md, js, png]
