"""The benchmark's outputs: a markdown table, JSON, and a PNG figure drawn with Pillow.

Besides the numbers, the report checks the issue's goals for the product defaults and the
paper's claims (Table 2, Fig. 8, Fig. 9) on paired photos, and says for each whether this
run meets or agrees with it.
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
    "identity": ("identity score", +1),
    "psnr": ("PSNR face (dB)", +1),
    "ssim": ("SSIM face", +1),
    "artefact": ("artefact score", -1),
}
EXTRA_METRICS = ("detail",)  # in the JSON only: the last run showed it is pixel-exact
PAPER_IMAGE_STEPS = 5000 * 4  # the paper's personal-album fine-tune
PAPER_RESTORE_EVALS = 200  # the paper's restore: all K = 200 steps
COLOURS = {
    "input": (120, 120, 120),
    "prior": (214, 39, 40),
    "single": (31, 119, 180),
    "personal_attn": (44, 160, 44),
    "personal_conv": (148, 103, 189),
    "personal": (23, 190, 207),
    "full": (255, 127, 14),
    "default_allk": (140, 86, 75),
}


@dataclass(frozen=True)
class Check:
    claim: str
    source: str
    verdict: str  # "met"/"not met" for goals; "agrees"/"disagrees"/"mixed" for claims
    evidence: str


def _arm_names() -> dict[str, str]:
    from benchmarks.toyworld.run import ARMS

    return ARMS


def arm_label(results: Results, arm: str) -> str:
    label = _arm_names()[arm]
    if arm == results.scale.default_arm():
        label += " (product default)"
    return label


def _values(results: Results, arm: str, k: int | None, metric: str, keys=None) -> np.ndarray:
    return np.array(
        [
            getattr(sc, metric)
            for (a, kk, key), sc in results.scores.items()
            if a == arm and kk == k and (keys is None or key in keys)
        ]
    )


def _arm_ks(results: Results) -> dict[str, list]:
    out: dict[str, list] = {}
    for arm, k, _ in results.scores:
        if k not in out.setdefault(arm, []):
            out[arm].append(k)
    return {a: sorted(ks, key=lambda k: -1 if k is None else k) for a, ks in out.items()}


def mean_sem(v: np.ndarray) -> tuple[float, float]:
    sem = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), sem


def summary(results: Results) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    out: dict = {}
    present = _arm_ks(results)
    for arm in _arm_names():
        for k in present.get(arm, []):
            cell = {}
            for metric in (*METRICS, *EXTRA_METRICS):
                v = _values(results, arm, k, metric)
                if v.size:
                    m, sem = mean_sem(v)
                    cell[metric] = {"mean": m, "sem": sem, "n": int(v.size)}
            if cell:
                out.setdefault(arm, {})[str(k) if k is not None else "-"] = cell
    return out


def paired(results: Results, a: str, ka, b: str, kb, metric: str) -> np.ndarray:
    """Per-photo difference a - b over the photos both arms restored."""
    sa = {
        key: getattr(s, metric)
        for (arm, k, key), s in results.scores.items()
        if (arm, k) == (a, ka)
    }
    sb = {
        key: getattr(s, metric)
        for (arm, k, key), s in results.scores.items()
        if (arm, k) == (b, kb)
    }
    common = sorted(set(sa) & set(sb))
    return np.array([sa[c] - sb[c] for c in common])


def _mean_at(results: Results, arm: str, k, metric: str) -> float | None:
    v = _values(results, arm, k, metric)
    return float(v.mean()) if v.size else None


def _rho(x: list[float], y: list[float]) -> float:
    """Spearman rank correlation (no ties expected in K)."""
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    if np.std(rx) == 0 or np.std(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _diff_text(d: np.ndarray, unit: str = "", digits: int = 3) -> str:
    m, sem = mean_sem(d)
    return f"{m:+.{digits}f}{unit} ± {sem:.{digits}f} ({d.size} photos)"


def goals(results: Results) -> list[Check]:
    """The issue's goals for the product defaults, each met or not, with its numbers."""
    s = results.scale
    default = s.default_arm()
    out: list[Check] = []
    goal_ks = [k for k in (200, 400) if k in s.ks]
    for other in ("prior", "single"):
        parts, ok = [], []
        for k in goal_ks:
            d = paired(results, default, k, other, k, "identity")
            if not d.size:
                continue
            m, sem = mean_sem(d)
            ok.append(m > sem)
            parts.append(f"K={k}: {_diff_text(d)}")
        if parts:
            out.append(
                Check(
                    f"Default personal adapter beats the {_arm_names()[other]} on identity "
                    "by more than the standard error (K = 200, 400)",
                    "issue 12 goal",
                    "met" if all(ok) and len(ok) == len(goal_ks) else "not met",
                    "paired difference, mean ± s.e.: " + "; ".join(parts),
                )
            )
    if s.full is not None:
        parts, ok = [], []
        for k in goal_ks:
            d = paired(results, default, k, "full", k, "identity")
            if d.size:
                ok.append(d.mean() >= -0.02)
                parts.append(f"K={k}: {_diff_text(d)}")
        if parts:
            out.append(
                Check(
                    "Default personal adapter is not worse than the full fine-tune on identity "
                    "by more than 0.02 (K = 200, 400)",
                    "issue 12 goal",
                    "met" if all(ok) else "not met",
                    "default - full fine-tune: " + "; ".join(parts),
                )
            )
        opts = s.personal
        cost = opts.steps * opts.batch_size
        full_cost = s.full.steps * s.full.batch_size
        parts, ok = [f"image-steps {cost} vs {full_cost} ({cost / full_cost:.3f} of it)"], []
        ok.append(cost * 10 <= PAPER_IMAGE_STEPS)
        for k in goal_ks:
            di = paired(results, default, k, "full", k, "identity")
            dp = paired(results, default, k, "full", k, "psnr")
            if di.size:
                ok += [di.mean() >= -0.01, dp.mean() >= -0.2]
                parts.append(f"K={k}: identity {_diff_text(di)}, PSNR {_diff_text(dp, ' dB', 2)}")
        out.append(
            Check(
                "Default adapter costs at most 1/10 of the paper recipe's 20,000 image-steps, "
                "with identity within 0.01 and PSNR within 0.2 dB of the full fine-tune "
                "(not worse by more)",
                "issue 12 goal",
                "met" if all(ok) else "not met",
                "; ".join(parts),
            )
        )
    steps = s.restore_steps
    parts, ok = [], []
    evals = steps if steps is not None else None
    ok.append(evals is not None and evals * 8 <= PAPER_RESTORE_EVALS)
    parts.append(
        f"{evals if evals is not None else 'all K'} UNet evaluations per restore "
        f"(paper: {PAPER_RESTORE_EVALS} at K = 200)"
    )
    for k in s.slow_ks:
        di = paired(results, default, k, "default_allk", k, "identity")
        dp = paired(results, default, k, "default_allk", k, "psnr")
        if di.size:
            ok += [di.mean() >= -0.01, dp.mean() >= -0.2]
            parts.append(f"K={k}: identity {_diff_text(di)}, PSNR {_diff_text(dp, ' dB', 2)}")
    out.append(
        Check(
            "Default restore uses at most 1/8 of the paper's 200 UNet evaluations, with "
            "identity within 0.01 and PSNR within 0.2 dB of all K steps (not worse by more)",
            "issue 12 goal",
            "met" if all(ok) else "not met",
            "; ".join(parts),
        )
    )
    return out


def checks(results: Results) -> list[Check]:
    """The paper's claims, on this world's photos."""
    s = results.scale
    names = _arm_names()
    out: list[Check] = []
    k0 = s.table_k
    constrained = ["single", *s.personal_arms(), "full"]
    for arm in constrained:
        di = paired(results, arm, k0, "prior", k0, "identity")
        if not di.size:
            continue
        dp = paired(results, arm, k0, "prior", k0, "psnr")
        wins = [
            paired(results, arm, k, "prior", k, "identity").mean() > 0
            for k in s.ks
            if paired(results, arm, k, "prior", k, "identity").size
        ]
        good = [di.mean() > 0, dp.mean() > 0]
        verdict = "agrees" if all(good) else ("disagrees" if not any(good) else "mixed")
        out.append(
            Check(
                f"Constraining beats the unconstrained prior at the same K: {names[arm]}",
                "Fig. 8, Fig. 9",
                verdict,
                f"at K={k0}: identity {_diff_text(di)}, PSNR {_diff_text(dp, ' dB', 2)}; "
                f"higher identity than the prior at {sum(wins)}/{len(wins)} K",
            )
        )
    for arm in s.personal_arms():
        vs_single = paired(results, arm, k0, "single", k0, "identity")
        vs_input = paired(results, arm, k0, "input", None, "identity")
        if not vs_input.size:
            continue
        good = [vs_input.mean() > 0] + ([vs_single.mean() > 0] if vs_single.size else [])
        verdict = "agrees" if all(good) else ("disagrees" if not any(good) else "mixed")
        out.append(
            Check(
                "The personal album preserves identity better than the input and the "
                f"generative album: {names[arm]}",
                "Table 2, Sec. 5",
                verdict,
                f"at K={k0}: vs input {_diff_text(vs_input)}"
                + (f"; vs generative album {_diff_text(vs_single)}" if vs_single.size else ""),
            )
        )
    ks = list(s.ks)
    for arm in ("prior", *constrained):
        art = [_mean_at(results, arm, k, "artefact") for k in ks]
        psnr = [_mean_at(results, arm, k, "psnr") for k in ks]
        if None in art or None in psnr or len(ks) < 3:
            continue
        rq = _rho(ks, [-a for a in art])
        rf = _rho(ks, psnr)
        good = [rq > 0, rf < 0]
        verdict = "agrees" if all(good) else ("disagrees" if not any(good) else "mixed")
        out.append(
            Check(
                f"Quality rises and fidelity falls as K grows: {names[arm]}",
                "Fig. 8",
                verdict,
                f"artefact score {art[0]:.2f} at K={ks[0]} -> {art[-1]:.2f} at K={ks[-1]} "
                f"(rank corr. of quality with K {rq:+.2f}); PSNR "
                + ", ".join(f"{p:.2f}" for p in psnr)
                + f" dB (rank corr. with K {rf:+.2f})",
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


def setup_notes(results: Results) -> list[str]:
    s = results.scale
    p = s.personal
    n = [
        f"{s.subjects} held-out subjects x {s.test_photos} damaged photos = "
        f"{s.subjects * s.test_photos} photos, {s.prior.resolution} x {s.prior.resolution} px; "
        "every arm restores a subject's photos as one batch with the same seed (the same "
        "noise at one K).",
        "Scores are means ± standard error over photos. Identity: mean cosine similarity of "
        f"the restoration to the subject's {s.reference_photos} clean reference photos "
        "(photos in no album and no test) in the identity net's embedding (identity.py; its "
        "sanity numbers are below). PSNR/SSIM: on the face, after matching each result's "
        "per-channel mean and contrast to the ground truth there, so a global tone or colour "
        "shift is not scored as restoration. Artefact score: no-reference distance of the "
        "image's high-frequency spectrum to clean photos of the world (quality, whoever the "
        "face shows; clean photos score about 0.6).",
        "Restores: "
        + (
            f"the engine's respaced sampler, {s.restore_steps} steps starting exactly at K"
            if s.restore_steps is not None
            else "all K ancestral steps (the paper)"
        )
        + "; the default adapter's photos are also restored with all K steps at K = "
        + ", ".join(str(k) for k in s.slow_ks)
        + " (the paper's sampler, for the speed goal).",
        f"Personal album: {s.album_photos} clean photos per subject (the paper: about 20). "
        f"LoRA adapters: {p.steps} steps x batch {p.batch_size} = {p.steps * p.batch_size} "
        f"image-steps, lr {p.lr:g}, rank {p.rank}, flips {'on' if p.flip else 'off'}"
        + (f", timesteps < {p.max_timestep}" if p.max_timestep else "")
        + "; attention targets to_q/to_k/to_v/to_out.0, resnet targets add conv1/conv2.",
    ]
    if s.full is not None:
        f = s.full
        n.append(
            f"Full fine-tune (the paper's recipe): every weight, {f.steps} iterations x batch "
            f"{f.batch_size} = {f.steps * f.batch_size} image-steps at lr {f.lr:g}, flips "
            f"{'on' if f.flip else 'off'}."
        )
    a, t = s.album, s.single_train
    n.append(
        f"Generative album (single-photo mode, on {s.single_photos} of each subject's "
        f"{s.test_photos} photos; comparisons with it are paired on those photos): "
        f"{a.count} images from K_album = {a.strength} with "
        + (f"{a.steps} respaced steps" if a.steps else "all K_album steps")
        + f", skip guidance every {a.guidance_every} timesteps (lambda {a.guidance_scale}); "
        f"adapter {t.steps} steps x batch {t.batch_size} (lr {t.lr:g}, rank {t.rank}) "
        "(the paper: 16 images, 3000 iterations of a full fine-tune)."
    )
    return n + results.notes


def _sanity_lines(results: Results) -> list[str]:
    san, rec = results.sanity, results.idnet
    if not san:
        return []
    lines = [
        "## The identity metric's own numbers",
        "",
        f"Identity net: {rec.get('identities')} training identities x "
        f"{rec.get('photos_per_identity')} clean photos, {rec.get('steps')} steps "
        f"(CosFace loss, shifts of up to {rec.get('max_shift')} px); weights sha256 "
        f"`{str(rec.get('sha256', ''))[:16]}...`. Checked on {san['identities']} held-out "
        f"identities (not the benchmark's subjects), {san['photos_per_identity']} photos "
        f"each, against {san['references']} reference photos each:",
        "",
        "| photos scored | same subject | other subjects | nearest other subject | "
        "top-1 retrieval |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label in (
        ("clean", "clean"),
        ("shifted_1px", "clean, shifted by 1 px"),
        ("degraded", "damaged (this benchmark's damage)"),
    ):
        c = san[key]
        lines.append(
            f"| {label} | {c['same_mean']:.3f} ± {c['same_sd']:.3f} sd | "
            f"{c['other_mean']:.3f} ± {c['other_sd']:.3f} sd | {c['nearest_other_mean']:.3f} | "
            f"{c['retrieval_top1']:.2f} (chance {c['chance']:.2f}) |"
        )
    lines += [
        "",
        f"Cosine between a photo and itself shifted by one pixel: "
        f"{san['shift_1px_self_cosine']:.3f}. Score drop when one identity cue of a clean "
        "photo is swapped for another identity's (the rest of the photo unchanged):",
        "",
        "| cue swapped | identity score drop |",
        "| --- | --- |",
    ]
    for cue, d in san["cue_swaps"].items():
        lines.append(f"| {cue} | {d['score_drop_mean']:.3f} ± {d['score_drop_sd']:.3f} sd |")
    return lines + [""]


def markdown(results: Results) -> str:
    s = results.scale
    summ = summary(results)
    lines = [
        f"# Toy-world benchmark: scale `{s.name}`",
        "",
        f"Written {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} by "
        f"`python -m benchmarks.toyworld --scale {s.name}` on {results.device} "
        f"({platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{results.threads} thread(s)).",
        "",
        "## Identity score (the paper's Table 2 in this world), mean ± s.e.",
        "",
        "| method | " + " | ".join(f"K = {k}" for k in s.ks) + " |",
        "| --- | " + " | ".join("---" for _ in s.ks) + " |",
    ]
    for arm in _arm_names():
        if arm not in summ:
            continue
        if arm == "input":
            cell = _fmt(summ[arm].get("-"), "identity")
            lines.append(f"| {arm_label(results, arm)} | " + " | ".join(cell for _ in s.ks) + " |")
            continue
        cells = [_fmt(summ[arm].get(str(k)), "identity") for k in s.ks]
        lines.append(f"| {arm_label(results, arm)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## All scores",
        "",
        "| method | K | identity ↑ | PSNR face ↑ | SSIM face ↑ | artefact ↓ | photos |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for arm in _arm_names():
        for k, cell in summ.get(arm, {}).items():
            n = max((v["n"] for v in cell.values()), default=0)
            lines.append(
                f"| {arm_label(results, arm)} | {k} | {_fmt(cell, 'identity')} | "
                f"{_fmt(cell, 'psnr')} | {_fmt(cell, 'ssim')} | {_fmt(cell, 'artefact')} | {n} |"
            )
    lines += ["", "## Goals for the product defaults (issue 12)", ""]
    lines += ["| goal | verdict | evidence |", "| --- | --- | --- |"]
    for c in goals(results):
        lines.append(f"| {c.claim} | **{c.verdict}** | {c.evidence} |")
    lines += ["", "## The paper's claims, checked", ""]
    lines += ["| claim | source | verdict | evidence |", "| --- | --- | --- | --- |"]
    for c in checks(results):
        lines.append(f"| {c.claim} | {c.source} | **{c.verdict}** | {c.evidence} |")
    lines += [""] + _sanity_lines(results)
    lines += ["## Setup", ""]
    lines += [f"- {n}" for n in setup_notes(results)]
    tr = results.prior.get("training", {})
    lines.append(
        f"- Prior: {results.prior['parameters'] / 1e6:.2f} M-parameter UNet2DModel, "
        f"{s.prior.steps} steps at batch {s.prior.batch_size} on "
        f"{s.prior.identities * s.prior.photos_per_identity} photos of "
        f"{s.prior.identities} identities"
        + (f"; trained on {tr['device']} in {tr['seconds'] / 60:.0f} min" if tr else "")
        + " (committed in benchmarks/toyworld/assets/, see its README)."
    )
    lines += [
        "",
        "## Time",
        "",
        "CPU seconds are this process's; wall well above CPU means other jobs were using the "
        "machine.",
        "",
        "| stage | wall s | CPU s |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {k} | {v['wall']:.0f} | {v['cpu']:.0f} |" for k, v in results.timings.items()]
    lines += ["", f"Figure: `toyworld_{s.name}.png`; all numbers: `toyworld_{s.name}.json`.", ""]
    return "\n".join(lines)


def as_json(results: Results) -> dict:
    return {
        "scale": asdict(results.scale),
        "default_arm": results.scale.default_arm(),
        "device": results.device,
        "threads": results.threads,
        "torch": torch.__version__,
        "prior": results.prior,
        "idnet": results.idnet,
        "identity_metric_sanity": results.sanity,
        "timings": results.timings,
        "summary": summary(results),
        "goals": [asdict(c) for c in goals(results)],
        "checks": [asdict(c) for c in checks(results)],
        "notes": setup_notes(results),
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
    k0, k1 = s.table_k, max(s.ks)
    columns = [("input", None, "input")]
    columns += [("prior", k0, f"prior K={k0}"), ("single", k0, f"gen. album K={k0}")]
    short = {"personal_attn": "attn LoRA", "personal_conv": "attn+res LoRA", "personal": "default"}
    columns += [(a, k0, f"{short[a]} K={k0}") for a in s.personal_arms()]
    if s.full is not None:
        columns += [("full", k0, f"full FT K={k0}")]
    columns += [("prior", k1, f"prior K={k1}"), (s.default_arm(), k1, f"default K={k1}")]
    columns += [("truth", None, "ground truth")]
    head, font = 18, _font(10)
    grid = Image.new("RGB", (cell * len(columns), head + cell * len(keys)), "white")
    draw = ImageDraw.Draw(grid)
    for ci, (arm, k, label) in enumerate(columns):
        draw.text((ci * cell + 2, 3), label, fill="black", font=font)
        for ri, key in enumerate(keys):
            arr = results.images.get((arm, k, key))
            if arr is None:
                continue
            tile = Image.fromarray(arr).resize((cell, cell), Image.Resampling.NEAREST)
            grid.paste(tile, (ci * cell, head + ri * cell))
            sc = results.scores.get((arm, k, key))
            if sc is not None and np.isfinite(sc.identity):
                draw.text(
                    (ci * cell + 2, head + (ri + 1) * cell - 13),
                    f"id {sc.identity:.2f}",
                    fill="white",
                    font=font,
                    stroke_width=1,
                    stroke_fill="black",
                )
    return grid


def _curve_arms(results: Results) -> list[str]:
    return [a for a in ("prior", "single", *results.scale.personal_arms(), "full")]


def _plot(results: Results, metric: str, w: int, h: int) -> Image.Image:
    """One metric-vs-K panel: a line per arm, the input as a dashed level."""
    s = results.scale
    title, _ = METRICS[metric]
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    font = _font(11)
    left, right, top, bottom = 46, 16, 20, 22
    series = {a: [_mean_at(results, a, k, metric) for k in s.ks] for a in _curve_arms(results)}
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
    font = _font(11)
    entries = [("input", "damaged input (dashed)")]
    entries += [(a, arm_label(results, a)) for a in _curve_arms(results)]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [22 + int(probe.textlength(label, font=font)) for _, label in entries]
    rows, row, x = [], [], 8
    for entry, wdt in zip(entries, widths, strict=True):
        if row and x + wdt > 880:
            rows.append(row)
            row, x = [], 8
        row.append((entry, x))
        x += wdt
    rows.append(row)
    img = Image.new("RGB", (880, 20 * len(rows)), "white")
    d = ImageDraw.Draw(img)
    for r, items in enumerate(rows):
        for (arm, label), x0 in items:
            d.rectangle([x0, 5 + 20 * r, x0 + 10, 15 + 20 * r], fill=COLOURS[arm])
            d.text((x0 + 14, 4 + 20 * r), label, fill="black", font=font)
    return img


def figure(results: Results) -> Image.Image:
    """Rows of input / results / ground truth, then metric-vs-K panels and their legend."""
    cell = max(80, results.scale.prior.resolution * 2)
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
