"""The ablations of the paper on held-out identities, through the product's own engine.

Every arm runs the engine's code: :func:`train_adapter` for the personal albums,
:func:`restore_crop` in single-photo mode (generative album, adapter, restore), and the
steps of :func:`restore_crop` (``with_adapter``, ``restore_tensor``) for the rest. The
prior alone and the personal adapters restore a subject's photos as one batch with the
same seed, so at one K they start from the same noise and differ only in the model that
denoises. Results are written after each subject, so a run cut short still leaves its
numbers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmarks.toyworld import report
from benchmarks.toyworld.degrade import degrade
from benchmarks.toyworld.metrics import Scores, mean_spectrum, score
from benchmarks.toyworld.prior import ensure_prior, training_record
from benchmarks.toyworld.scales import Scale
from benchmarks.toyworld.world import Photo, make_identity, render, render_image, to_pil
from gen2res_desktop.core.adapters import with_adapter
from gen2res_desktop.core.devices import resolve_device
from gen2res_desktop.core.diffusion import RestoreSettings, restore_tensor
from gen2res_desktop.core.images import pil_to_tensor, tensor_to_pil
from gen2res_desktop.core.pipeline import SingleOptions, restore_crop
from gen2res_desktop.core.priors import LoadedPrior, load_prior
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.core.training import train_adapter

# Identity seeds: training uses 0..N-1; held-out subjects and the spectrum reference
# come from ranges far above any training set.
HELD_OUT = 1_000_000
SPECTRUM_REF = 2_000_000
TEST_PHOTO0 = 1000  # test photos are numbered apart from the album's 0..n-1

ARMS = {
    "input": "degraded input",
    "prior": "prior alone (unconstrained)",
    "single": "generative album (single-photo mode)",
    "personal": "personal album, attention LoRA",
    "personal_conv": "personal album, attention + resnet LoRA",
}


@dataclass(frozen=True)
class Case:
    """One degraded test photo of a held-out subject."""

    key: str
    subject: int
    truth: Photo
    degraded: np.ndarray
    defects: tuple[str, ...]
    seed: int
    single: bool  # also restored in single-photo mode


@dataclass
class Results:
    scale: Scale
    device: str
    prior: dict
    cases: list[Case] = field(default_factory=list)
    scores: dict[tuple[str, int | None, str], Scores] = field(default_factory=dict)
    images: dict[tuple[str, int | None, str], np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_time(self, name: str, seconds: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 1)


class Log:
    def __init__(self, sink: Callable[[str], None] = print) -> None:
        self.start = time.monotonic()
        self.sink = sink

    def __call__(self, msg: str) -> None:
        m, s = divmod(int(time.monotonic() - self.start), 60)
        self.sink(f"[{m:3d}:{s:02d}] {msg}")

    def progress(self, label: str) -> Callable[[Progress], None]:
        """A progress callback logging each quarter of a long stage."""
        last = {"q": -1}

        def report_(p: Progress) -> None:
            q = int(4 * p.step / max(p.total, 1))
            if q != last["q"] and p.total >= 8:
                last["q"] = q
                loss = f"  loss {p.loss:.4f}" if p.loss is not None else ""
                self(f"  {label}: {p.stage} {p.step}/{p.total}{loss}")

        return report_


def make_cases(scale: Scale) -> list[Case]:
    res = scale.prior.resolution
    cases = []
    for s in range(scale.subjects):
        ident = make_identity(HELD_OUT + s)
        for j in range(scale.test_photos):
            truth = render(ident, TEST_PHOTO0 + j, res)
            damaged, defects = degrade(truth.image, (HELD_OUT + s) * 1000 + j)
            cases.append(
                Case(
                    key=f"s{s}p{j}",
                    subject=s,
                    truth=truth,
                    degraded=damaged,
                    defects=tuple(defects),
                    seed=s * 1000 + j,
                    single=j < scale.single_photos,
                )
            )
    return cases


def album(scale: Scale, subject: int) -> list:
    ident = make_identity(HELD_OUT + subject)
    return [to_pil(render(ident, p, scale.prior.resolution)) for p in range(scale.album_photos)]


def run(
    scale: Scale,
    out_dir: Path,
    cache: Path,
    device: str | None = None,
    log: Log | None = None,
) -> list[Path]:
    """Run every arm of ``scale`` and write toyworld_<scale>.{md,json,png} to ``out_dir``."""
    log = log or Log()
    dev = resolve_device(device)
    log(f"toyworld scale '{scale.name}' on {dev} (torch threads: {torch.get_num_threads()})")
    t0 = time.monotonic()
    info = ensure_prior(scale.prior, cache, dev, log)
    prior = load_prior(info, dev)
    results = Results(
        scale=scale,
        device=str(dev),
        prior={
            "name": info.name,
            "parameters": info.parameters,
            "weights_hash": info.weights_hash,
            "training": training_record(info),
        },
    )
    results.add_time("prior (train or load)", time.monotonic() - t0)
    log(f"prior ready: {info.parameters / 1e6:.2f} M parameters")

    ref = [render_image(SPECTRUM_REF + i, 0, scale.prior.resolution) for i in range(64)]
    spectrum = mean_spectrum(ref)
    results.cases = make_cases(scale)
    work = cache / f"run-{scale.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    figure_keys = {c.key for c in results.cases if c.single and c.subject < scale.figure_rows}
    paths: list[Path] = []
    for s in range(scale.subjects):
        cases = [c for c in results.cases if c.subject == s]
        log(f"subject {s + 1}/{scale.subjects}: {len(cases)} test photos")
        _subject(prior, scale, s, cases, results, spectrum, figure_keys, work, log)
        paths = report.write_all(results, out_dir)
        log(f"subject {s + 1} done; results so far in {out_dir}")
    results.add_time("total", time.monotonic() - t0)
    paths = report.write_all(results, out_dir)
    log(f"finished in {time.monotonic() - t0:.0f} s")
    return paths


def _subject(
    prior: LoadedPrior,
    scale: Scale,
    s: int,
    cases: list[Case],
    results: Results,
    spectrum: np.ndarray,
    figure_keys: set[str],
    work: Path,
    log: Log,
) -> None:
    def record(arm: str, k: int | None, case: Case, image: np.ndarray) -> None:
        t = case.truth
        results.scores[(arm, k, case.key)] = score(
            image, t.image, t.face_mask, t.detail_mask, spectrum
        )
        if case.key in figure_keys:
            results.images[(arm, k, case.key)] = image

    def restore_all(arm: str, model: LoadedPrior, case_list: list[Case], seed: int) -> None:
        start = time.monotonic()
        for k in scale.ks:
            for case, image in zip(
                case_list, _restore(model, scale, case_list, k, seed), strict=True
            ):
                record(arm, k, case, image)
        results.add_time(f"{arm}: restore", time.monotonic() - start)

    for case in cases:
        record("input", None, case, case.degraded)
        if case.key in figure_keys:
            results.images[("truth", None, case.key)] = case.truth.image

    start = time.monotonic()
    restore_all("prior", prior, cases, seed=s)
    log(
        f"  prior alone: {len(cases)} photos x {len(scale.ks)} K in {time.monotonic() - start:.0f} s"
    )

    photos = album(scale, s)
    for arm, options in (("personal", scale.personal), ("personal_conv", scale.personal_conv)):
        if options is None:
            continue
        start = time.monotonic()
        path = work / f"{arm}-s{s}.safetensors"
        trained = train_adapter(prior, photos, path, options, progress=log.progress(arm))
        results.add_time(f"{arm}: train", time.monotonic() - start)
        log(
            f"  {arm}: adapter on {len(photos)} clean photos, {options.steps} steps in "
            f"{time.monotonic() - start:.0f} s (final loss {trained.meta.final_loss:.4f})"
        )
        start = time.monotonic()
        restore_all(arm, with_adapter(prior, path), cases, seed=s)
        log(f"  {arm}: restored in {time.monotonic() - start:.0f} s")

    for case in (c for c in cases if c.single):
        start = time.monotonic()
        keep = work / f"single-{case.key}"
        single = SingleOptions(album=scale.album, train=scale.single_train, keep_dir=keep)
        k0 = scale.table_k
        out = restore_crop(
            prior,
            to_pil(case.degraded),
            RestoreSettings(strength=k0, steps=scale.restore_steps, seed=case.seed),
            single=single,
            progress=log.progress(f"single {case.key}"),
        )
        record("single", k0, case, np.asarray(out))
        results.add_time("single: album + train + restore", time.monotonic() - start)
        log(f"  single-photo mode on {case.key}: {time.monotonic() - start:.0f} s")
        # the other K reuse the adapter single-photo mode kept, instead of redoing its album
        model = with_adapter(prior, keep / "single_photo_adapter.safetensors")
        start = time.monotonic()
        for k in scale.ks:
            if k != k0:
                record("single", k, case, _restore(model, scale, [case], k, case.seed)[0])
        results.add_time("single: restore", time.monotonic() - start)


def _restore(
    model: LoadedPrior, scale: Scale, cases: list[Case], k: int, seed: int
) -> list[np.ndarray]:
    """restore_crop's own steps (pil_to_tensor, restore_tensor, tensor_to_pil) on a batch.

    A subject's photos go through as one batch, which is what makes the GPU scale fit
    its time; a batch of one gives exactly restore_crop's result for the same seed.
    """
    y0 = torch.stack([pil_to_tensor(to_pil(c.degraded), model.resolution) for c in cases])
    settings = RestoreSettings(strength=k, steps=scale.restore_steps, seed=seed)
    return [np.asarray(tensor_to_pil(x)) for x in restore_tensor(model, y0, settings)]
