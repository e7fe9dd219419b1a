"""The paper's Table 2 on held-out identities, through the product's own engine.

Every arm runs the engine's code: :func:`train_adapter` for the personal albums' LoRA
adapters, :func:`fine_tune` for the paper's full fine-tune, :func:`restore_crop` in
single-photo mode (generative album, adapter, restore), and the steps of
:func:`restore_crop` (``with_adapter``, ``restore_tensor``) for the rest. All arms restore
a subject's photos as one batch with the same seed, so at one K they start from the same
noise and differ only in the model that denoises. Results are written after each subject,
so a run cut short still leaves its numbers.
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
from benchmarks.toyworld.identity import IdentityScorer, ensure_idnet, reference_photos, sanity
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
from gen2res_desktop.core.training import fine_tune, train_adapter

# Identity seeds: training uses 0..N-1; held-out subjects and the spectrum reference
# come from ranges far above any training set.
HELD_OUT = 1_000_000
SPECTRUM_REF = 2_000_000
TEST_PHOTO0 = 1000  # test photos are numbered apart from the album's 0..n-1

ARMS = {
    "input": "damaged input",
    "prior": "prior alone (unconstrained)",
    "single": "generative album (single-photo mode)",
    "personal_attn": "personal album, attention LoRA",
    "personal_conv": "personal album, attention + resnet LoRA",
    "personal": "personal album, default adapter",
    "full": "personal album, full fine-tune (paper recipe)",
    "default_allk": "personal album, default adapter, all K sampler steps",
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
    idnet: dict = field(default_factory=dict)
    sanity: dict = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    scores: dict[tuple[str, int | None, str], Scores] = field(default_factory=dict)
    images: dict[tuple[str, int | None, str], np.ndarray] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    threads: int = 1

    def add_time(self, name: str, wall: float, cpu: float) -> None:
        t = self.timings.setdefault(name, {"wall": 0.0, "cpu": 0.0})
        t["wall"] = round(t["wall"] + wall, 1)
        t["cpu"] = round(t["cpu"] + cpu, 1)


class Timer:
    """Wall and CPU seconds of a stage (CPU time shows how busy a shared machine was)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.monotonic(), time.process_time()

    def done(self) -> tuple[float, float]:
        return time.monotonic() - self.wall, time.process_time() - self.cpu


class Log:
    def __init__(self, sink: Callable[[str], None] = print) -> None:
        self.start = time.monotonic()
        self.sink = sink

    def __call__(self, msg: str) -> None:
        m, s = divmod(int(time.monotonic() - self.start), 60)
        self.sink(f"[{time.strftime('%H:%M:%S')} +{m:3d}:{s:02d}] {msg}")

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


@dataclass
class World:
    """What every arm and experiment shares: the prior, the scorers and the test photos."""

    scale: Scale
    prior: LoadedPrior
    scorer: IdentityScorer
    spectrum: np.ndarray
    refs: dict[int, np.ndarray]  # subject -> reference embeddings
    results: Results

    def record(self, arm: str, k: int | None, case: Case, image: np.ndarray, keep: bool) -> None:
        t = case.truth
        base = score(image, t.image, t.face_mask, t.detail_mask, self.spectrum)
        ident = float(self.scorer.score([image], self.refs[case.subject])[0])
        self.results.scores[(arm, k, case.key)] = Scores(**{**base.__dict__, "identity": ident})
        if keep:
            self.results.images[(arm, k, case.key)] = image


def setup(
    scale: Scale, cache: Path, device: str | None, log: Log, *, check_metric: bool = True
) -> World:
    """Load (or build) the prior and the identity net; render the test photos."""
    dev = resolve_device(device)
    log(f"toyworld scale '{scale.name}' on {dev} (torch threads: {torch.get_num_threads()})")
    t = Timer()
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
        threads=torch.get_num_threads(),
    )
    results.add_time("prior (load, or train)", *t.done())
    log(f"prior ready: {info.parameters / 1e6:.2f} M parameters")
    t = Timer()
    net, record = ensure_idnet(scale.idnet, cache, log)
    results.idnet = record
    scorer = IdentityScorer(net)
    results.add_time("identity net (load, or train)", *t.done())
    if check_metric:
        t = Timer()
        n = 100 if scale.name != "smoke" else 4
        results.sanity = sanity(scorer, scale.prior.resolution, identities=n)
        results.add_time("identity metric sanity check", *t.done())
        c = results.sanity["clean"]
        log(
            f"identity metric: same {c['same_mean']:.3f} vs other {c['other_mean']:.3f}, "
            f"retrieval {c['retrieval_top1']:.2f} (clean, {n} held-out identities)"
        )
    ref = [render_image(SPECTRUM_REF + i, 0, scale.prior.resolution) for i in range(64)]
    refs = {
        s: scorer.references(
            reference_photos(HELD_OUT + s, scale.reference_photos, scale.prior.resolution)
        )
        for s in range(scale.subjects)
    }
    results.cases = make_cases(scale)
    return World(scale, prior, scorer, mean_spectrum(ref), refs, results)


def run(
    scale: Scale,
    out_dir: Path,
    cache: Path,
    device: str | None = None,
    log: Log | None = None,
) -> list[Path]:
    """Run every arm of ``scale`` and write toyworld_<scale>.{md,json,png} to ``out_dir``."""
    log = log or Log()
    total = Timer()
    world = setup(scale, cache, device, log)
    results = world.results
    work = cache / f"run-{scale.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    figure_keys = {c.key for c in results.cases if c.single and c.subject < scale.figure_rows}
    paths: list[Path] = []
    for s in range(scale.subjects):
        cases = [c for c in results.cases if c.subject == s]
        log(f"subject {s + 1}/{scale.subjects}: {len(cases)} test photos")
        _subject(world, s, cases, figure_keys, work, log)
        paths = report.write_all(results, out_dir)
        log(f"subject {s + 1} done; results so far in {out_dir}")
    results.add_time("total", *total.done())
    paths = report.write_all(results, out_dir)
    log(f"finished in {total.done()[0]:.0f} s")
    return paths


def restore_batch(
    model: LoadedPrior, cases: list[Case], k: int, steps: int | None, seed: int
) -> list[np.ndarray]:
    """restore_crop's own steps (pil_to_tensor, restore_tensor, tensor_to_pil) on a batch.

    A subject's photos go through as one batch; a batch of one gives exactly
    restore_crop's result for the same seed.
    """
    y0 = torch.stack([pil_to_tensor(to_pil(c.degraded), model.resolution) for c in cases])
    settings = RestoreSettings(strength=k, steps=steps, seed=seed)
    return [np.asarray(tensor_to_pil(x)) for x in restore_tensor(model, y0, settings)]


def _subject(
    world: World,
    s: int,
    cases: list[Case],
    figure_keys: set[str],
    work: Path,
    log: Log,
) -> None:
    scale, results, prior = world.scale, world.results, world.prior

    def record(arm: str, k: int | None, case: Case, image: np.ndarray) -> None:
        world.record(arm, k, case, image, keep=case.key in figure_keys)

    def restore_all(arm: str, model: LoadedPrior, ks=None, steps="default") -> None:
        t = Timer()
        n_steps = scale.restore_steps if steps == "default" else steps
        for k in ks or scale.ks:
            for case, image in zip(
                cases, restore_batch(model, cases, k, n_steps, seed=s), strict=True
            ):
                record(arm, k, case, image)
        results.add_time(f"{arm}: restore", *t.done())

    for case in cases:
        record("input", None, case, case.degraded)
        if case.key in figure_keys:
            results.images[("truth", None, case.key)] = case.truth.image

    t = Timer()
    restore_all("prior", prior)
    log(f"  prior alone: {len(cases)} photos x {len(scale.ks)} K in {t.done()[0]:.0f} s")

    photos = album(scale, s)
    default = scale.default_arm()
    for arm, options in scale.personal_arms().items():
        t = Timer()
        path = work / f"{arm}-s{s}.safetensors"
        trained = train_adapter(prior, photos, path, options, progress=log.progress(arm))
        results.add_time(f"{arm}: train", *t.done())
        log(
            f"  {arm}: adapter on {len(photos)} clean photos, {options.steps} steps in "
            f"{t.done()[0]:.0f} s (final loss {trained.meta.final_loss:.4f})"
        )
        t = Timer()
        model = with_adapter(prior, path)
        restore_all(arm, model)
        if arm == default:
            restore_all("default_allk", model, ks=scale.slow_ks, steps=None)
        log(f"  {arm}: restored in {t.done()[0]:.0f} s")

    if scale.full is not None:
        t = Timer()
        tuned = fine_tune(prior, photos, scale.full, progress=log.progress("full"))
        results.add_time("full: train", *t.done())
        log(
            f"  full fine-tune: {scale.full.steps} iterations in {t.done()[0]:.0f} s "
            f"(final loss {np.mean(tuned.losses[-50:]):.4f})"
        )
        restore_all("full", tuned.model)
        del tuned

    for case in (c for c in cases if c.single):
        t = Timer()
        keep = work / f"single-{case.key}"
        single = SingleOptions(album=scale.album, train=scale.single_train, keep_dir=keep)
        k0 = scale.table_k
        out = restore_crop(
            prior,
            to_pil(case.degraded),
            RestoreSettings(strength=k0, steps=scale.restore_steps, seed=s),
            single=single,
            progress=log.progress(f"single {case.key}"),
        )
        # restore_crop's batch of one gets the same noise as the batch's first photo only;
        # every K (this one included) is restored below with the batch's noise instead
        del out
        results.add_time("single: album + train + restore", *t.done())
        log(f"  single-photo mode on {case.key}: {t.done()[0]:.0f} s")
        model = with_adapter(prior, keep / "single_photo_adapter.safetensors")
        t = Timer()
        # the same noise as the other arms: the subject's batch, this photo's row
        for k in scale.ks:
            images = restore_batch(model, cases, k, scale.restore_steps, seed=s)
            record("single", k, case, images[cases.index(case)])
        results.add_time("single: restore", *t.done())
