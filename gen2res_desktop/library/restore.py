"""Restoring a whole photo from the library or a file: the print repaired (scratches, dust,
grain, fading), then every face regenerated with its subject's adapter and pasted back
into the repaired photo.

The CLI's ``gen2res restore`` and the GUI's one-click Restore both call
:func:`restore_whole_photo`. Faces are matched to subjects by what the user confirmed,
else (when ``subject`` is given and the photo shows one face) that subject, else by the
suggested subject: an explicit choice wins over a suggestion. A face with a subject that has a ready adapter is restored with it;
any other face runs in single-photo mode, which is much slower. With ``faces=False`` only
the print is repaired: no prior, subject or face is needed.

Every restored face of a person with a subject is scored against that subject's reference
faces (``library.faces.subject_references``), restored and damaged, and against the
damaged face it came from (faithfulness): see ``core.photo_restore.FaceOutcome``. The
faces of the photo being restored are never references for it: a confirmed face on this
very print would reward leaving the damage as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import DetectedFace, detect_faces
from gen2res_desktop.core.images import load_rgb
from gen2res_desktop.core.paths import runtimes_dir
from gen2res_desktop.core.photo.repair import RepairResult, repair_photo
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.core.photo_restore import FaceOutcome, Region, find_regions, restore_photo
from gen2res_desktop.core.pipeline import SingleOptions, face_batch, restore_crops
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.core.sampling import RestoreSettings
from gen2res_desktop.library.faces import photo_faces, subject_references
from gen2res_desktop.library.models import AdapterRecord, Face, FaceScores, Restoration, Subject
from gen2res_desktop.library.store import Library
from gen2res_desktop.library.tables.photos import write_damage_map

if TYPE_CHECKING:
    from gen2res_desktop.core.estimates import StageEstimate
    from gen2res_desktop.core.photo.learned import PhotoModel
    from gen2res_desktop.core.priors import LoadedPrior, PriorInfo

# torch, the priors and the faster CPU engines are imported where faces are regenerated:
# a repair-only restore (``faces=False``) never loads them.


@dataclass
class FacePlan:
    """How one region is restored: with ``adapter``, or in single-photo mode when None."""

    region: Region
    subject: Subject | None
    adapter: AdapterRecord | None


@dataclass
class WholePhotoResult:
    image: Image.Image
    faces: list[FaceOutcome]
    plans: list[FacePlan] = field(default_factory=list)
    restoration: Restoration | None = None
    repair: RepairResult | None = None
    # how many reference faces each region (by index) was scored against
    reference_counts: dict[int, int] = field(default_factory=dict)
    # why faces were asked for but none was regenerated (the print was repaired all the same)
    note: Gen2ResError | None = None

    def face_scores(self) -> list[FaceScores]:
        """Each restored face's subject and scores, in the order of ``faces``."""
        plans = {p.region.index: p for p in self.plans}
        out = []
        for f in self.faces:
            plan = plans.get(f.index)
            out.append(
                FaceScores(
                    number=f.index + 1,
                    subject=plan.subject.name if plan and plan.subject else None,
                    identity=f.identity,
                    identity_before=f.identity_before,
                    faithfulness=f.faithfulness,
                    references=self.reference_counts.get(f.index),
                )
            )
        return out


class PriorCache:
    """Loaded priors by name, so a photo with several faces loads each prior once."""

    def __init__(self, lib: Library, device: str | None) -> None:
        from gen2res_desktop.core.priors import PriorRegistry

        self.registry = PriorRegistry(lib.home)
        self.device = device
        self._loaded: dict[str, LoadedPrior] = {}

    def get(self, info: PriorInfo) -> LoadedPrior:
        from gen2res_desktop.core.priors import load_prior

        if info.name not in self._loaded:
            self._loaded[info.name] = load_prior(info, self.device)
        return self._loaded[info.name]

    def for_subject(self, subject: Subject | None) -> LoadedPrior:
        """The subject's prior (found by kind when its chosen one is not installed); a face
        prior for faces of no subject."""
        from gen2res_desktop.core.priors import prior_kind_for_subject

        if subject is None:
            return self.get(self.registry.for_kind("face"))
        kind = prior_kind_for_subject(subject.kind)
        return self.get(self.registry.for_kind(kind, subject.prior))

    def for_plan(self, plan: FacePlan, base: LoadedPrior) -> LoadedPrior:
        """An adapter's own prior (it fits no other weights), else the subject's."""
        if plan.adapter is not None and plan.adapter.prior_name:
            return self.get(self.registry.get(plan.adapter.prior_name))
        return self.for_subject(plan.subject) if plan.subject else base


def stored_detected_faces(faces: list[Face]) -> list[DetectedFace]:
    """The library's stored faces as the detector gives them (box, landmarks, descriptor)."""
    return [
        DetectedFace(f.box, np.asarray(f.landmarks, dtype=float), 0.0, f.descriptor) for f in faces
    ]


def _enlarged(faces: list[DetectedFace], scale: int) -> list[DetectedFace]:
    """Faces found on the original photo, in the coordinates of a copy ``scale`` times larger."""
    if scale == 1:
        return faces
    # pixel centres move with the enlargement: (x + 0.5) * s - 0.5
    return [
        DetectedFace(
            tuple(int(v) * scale for v in f.box),
            (np.asarray(f.landmarks, dtype=float) + 0.5) * scale - 0.5,
            f.score,
            f.descriptor,
        )
        for f in faces
    ]


_model_caches: dict[tuple[Path, str | None], LazyPhotoModels] = {}


class LazyPhotoModels:
    """The library's photo models as a repair stage asks for them (a
    :class:`~gen2res_desktop.core.photo.learned.ModelSource`): the loader, and with it torch,
    is imported only once a stage finds a model installed for its task, so a repair with the
    built-in methods stays light."""

    def __init__(self, home: Path, device: str | None) -> None:
        self.home, self.device = home, device
        self._cache = None

    def _loader(self):
        if self._cache is None:
            from gen2res_desktop.core.photo.spandrel_models import PhotoModelCache

            self._cache = PhotoModelCache(self.home, self.device)
        return self._cache

    def installed(self, task: str) -> list[str]:
        if self._cache is None:
            from gen2res_desktop.core.photo.models import PhotoModelRegistry

            if not any(i.task == task for i in PhotoModelRegistry(self.home).list()):
                return []
        return self._loader().installed(task)

    def load(self, name: str) -> PhotoModel:
        return self._loader().load(name)


def photo_models(lib: Library, device: str | None) -> LazyPhotoModels:
    """The library's installed photo models, loaded when a repair stage asks for one and
    kept for the next photo (restoring an album loads each model once)."""
    key = (lib.home.resolve(), device)
    if key not in _model_caches:
        _model_caches.clear()  # one library and device at a time: free the old models
        _model_caches[key] = LazyPhotoModels(lib.home, device)
    return _model_caches[key]


def plan_faces(
    lib: Library,
    regions: list[Region],
    stored: list[Face] | None,
    subject: Subject | None,
    *,
    force_single: bool,
) -> list[FacePlan]:
    """Pick a subject and adapter for every region (see the module docstring): a face
    confirmed as someone's keeps that subject; otherwise the subject asked for (the CLI's
    ``--subject``, the photo's subject in the app) wins over a suggestion when the photo
    has one face or the region is a crop box; the other faces follow their suggestion."""
    by_index = {i: f for i, f in enumerate(stored or [])}
    plans = []
    for region in regions:
        face = by_index.get(region.index)
        who: Subject | None = None
        only = len(regions) == 1 or region.face is None
        if face is not None and face.confirmed_subject:
            who = lib.get_subject(face.confirmed_subject)
        elif subject is not None and only:
            who = subject
        elif face is not None and face.suggested_subject:
            who = lib.get_subject(face.suggested_subject)
        adapter = None if force_single or who is None else lib.ready_adapter(who)
        plans.append(FacePlan(region, who, adapter))
    return plans


def face_references(
    lib: Library, plans: list[FacePlan], stored: list[Face] | None
) -> dict[int, list[np.ndarray]]:
    """The reference descriptors to score each region against, by region index: its
    subject's (a person's) reference faces, less the faces of the photo being restored."""
    people = {p.subject.name for p in plans if p.subject is not None and p.subject.kind == "person"}
    if not people:
        return {}
    own = [f.descriptor for f in stored or [] if f.descriptor is not None]
    by_subject = subject_references(lib)
    refs: dict[int, list[np.ndarray]] = {}
    for p in plans:
        if p.subject is None or p.subject.name not in people or p.region.face is None:
            continue
        refs[p.region.index] = [
            d
            for d in by_subject.get(p.subject.name, [])
            if not any(np.array_equal(d, o) for o in own)
        ]
    return refs


def restore_whole_photo(
    lib: Library,
    source: int | Path,
    *,
    subject: str | None = None,
    settings: RestoreSettings | None = None,
    single: SingleOptions | None = None,
    force_single: bool = False,
    crop: tuple[int, int, int] | None = None,
    detector: str = "hog",
    device: str | None = None,
    repair: RepairSettings | None = None,
    faces: bool = True,
    damage_map: np.ndarray | None = None,
    runtime: str = "auto",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> WholePhotoResult:
    """Restore a library photo (``source`` an id: the result is recorded as a restoration)
    or an image file (nothing recorded; the caller saves ``result.image``).

    ``repair`` defaults to the library's saved restore options. The damage map is
    ``damage_map`` if given, else the one the user painted for a library photo, else the
    detector's.
    """
    cancel = cancel or CancelToken()
    settings = settings or RestoreSettings()
    repair = repair if repair is not None else lib.repair_settings()
    subj = lib.get_subject(subject) if subject else None
    photo_id = source if isinstance(source, int) else None
    stored: list[Face] | None = None
    if photo_id is not None:
        photo = lib.get_photo(photo_id)
        name = photo.original_name
        if subj is None and faces:
            subj = _only_subject(lib, photo_id)
        if crop is not None:
            lib.set_photo_crop(photo_id, crop)  # remembered for the next restore of this pet
        elif faces and subj is not None and subj.kind != "person":
            crop = lib.photo_crop(photo_id)
        person = subj is None or subj.kind == "person"
        # the faces are wanted for the repair too: their features are kept out of the
        # automatic damage map, also when only the print is repaired
        guard = not faces and repair.scratches and damage_map is None and person
        if (faces and crop is None and person) or guard:
            image, stored = photo_faces(lib, photo_id, detector=detector)
        else:
            image = lib.load_photo_rgb(photo)
        if damage_map is None and repair.scratches:
            damage_map = lib.photo_damage_map(photo_id)
    else:
        image, name = load_rgb(source), Path(source).name
    if faces and subj is None and crop is None and stored is None:
        raise Gen2ResError(
            "Say whose photo this is.",
            app="Tag it to a subject (Photos → Tag selected…).",
            cli="Give the subject with --subject NAME.",
        )

    # made only where faces are regenerated: building it loads torch
    priors = PriorCache(lib, device) if faces else None
    base = None
    found: list[DetectedFace] | None = None
    early: list[Region] = []
    no_face: Gen2ResError | None = None
    if faces:
        # the prior, the faces and whether any can be restored are known before the repair,
        # so a missing prior or a photo with no usable face fails at once, not minutes later
        assert priors is not None
        base = priors.for_subject(subj)
        kind = subj.kind if subj else "person"
        if stored is not None:
            found = stored_detected_faces(stored)
        elif crop is None and kind == "person":
            # a file: detected on the original, like a library photo's stored faces
            found = detect_faces(np.asarray(image), detector=detector, with_descriptors=False)
        try:
            early = find_regions(
                image, kind=kind, resolution=base.resolution, crop=crop, faces=found, name=name
            )
        except Gen2ResError as e:
            if crop is not None or kind != "person":
                raise
            # the print is repaired all the same: only the faces cannot be regenerated
            no_face = Gen2ResError(
                f"{e.message} The print was repaired; no face was regenerated.",
                app=e.app_hint,
                cli=e.cli_hint,
            )
        else:
            if not force_single:
                _refuse_missing_adapter(
                    plan_faces(lib, early, stored, subj, force_single=False), subj, single
                )
    fixed = repair_photo(
        np.asarray(image),
        repair,
        damage_map=damage_map,
        models=photo_models(lib, device),
        faces=_guard_faces(found, stored, faces),
        regenerate=[r.index for r in early] if faces and found is not None else (),
        progress=progress,
        cancel=cancel,
    )
    repaired = Image.fromarray(fixed.image, "RGB")
    outcome = WholePhotoResult(repaired, [], [], repair=fixed, note=no_face)
    if faces and no_face is None:
        assert base is not None and priors is not None
        s = fixed.scale
        # the same regions, cut from the repaired (and maybe enlarged) photo
        regions = find_regions(
            repaired,
            kind=kind,
            resolution=base.resolution,
            crop=None if crop is None else tuple(v * s for v in crop),
            faces=None if found is None else _enlarged(found, s),
            name=name,
        )
        plans = plan_faces(lib, regions, stored, subj, force_single=force_single)
        by_index = {p.region.index: p for p in plans}
        crops = {r.index: r.aligned.crop for r in regions}
        from gen2res_desktop.core.runtimes import FastCpu

        fast = FastCpu(runtimes_dir(lib.home), runtime)
        batches = face_batches(plans, face_batch(base.device))
        restored: dict[int, Image.Image] = {}

        def restore_fn(crop_img: Image.Image, index: int) -> Image.Image:
            # restore_photo asks face by face; the first face of a batch restores them all
            if index not in restored:
                batch = batches[index]
                plan = by_index[index]
                prior = priors.for_plan(plan, base)
                out = restore_crops(
                    prior,
                    [crops[i] for i in batch],
                    settings,
                    adapter=plan.adapter.path if plan.adapter else None,
                    single=None if plan.adapter else (single or SingleOptions()),
                    fast=fast,
                    batch_size=len(batch),
                    progress=progress,
                    cancel=cancel,
                )
                restored.update(zip(batch, out, strict=True))
            return restored.pop(index)

        refs = face_references(lib, plans, stored)
        result = restore_photo(
            repaired, regions, restore_fn, references=refs, progress=progress, cancel=cancel
        )
        finished = Image.fromarray(fixed.finish(np.asarray(result.image)), "RGB")
        counts = {i: len(r) for i, r in refs.items()}
        outcome = WholePhotoResult(
            finished, result.faces, plans, repair=fixed, reference_counts=counts
        )
    if photo_id is not None:
        outcome.restoration = _record(lib, photo_id, outcome, settings, subj, repair, faces)
    progress(Progress("done", 1, 1, "Restored"))
    return outcome


def _guard_faces(
    found: list[DetectedFace] | None, stored: list[Face] | None, restoring: bool
) -> list[DetectedFace] | None:
    """The faces whose features the repair keeps out of the automatic damage map: those
    the face stage uses, else the library's stored ones; None lets the repair find them."""
    if found is not None:
        return found
    if stored is not None:
        return stored_detected_faces(stored)
    # a pet's square or a file with faces off: the repair looks for faces itself
    return [] if restoring else None


def face_batches(plans: list[FacePlan], size: int) -> dict[int, tuple[int, ...]]:
    """Region index -> the regions restored with it in one batch: faces with the same
    adapter, ``size`` at most; a face in single-photo mode alone."""
    groups: dict[object, list[int]] = {}
    for plan in plans:
        i = plan.region.index
        key = ("adapter", str(plan.adapter.path)) if plan.adapter else ("single", i)
        groups.setdefault(key, []).append(i)
    out: dict[int, tuple[int, ...]] = {}
    for members in groups.values():
        for first in range(0, len(members), size):
            batch = tuple(members[first : first + size])
            out.update(dict.fromkeys(batch, batch))
    return out


def _refuse_missing_adapter(
    plans: list[FacePlan], subject: Subject | None, single: SingleOptions | None
) -> None:
    """The photo's own subject has no adapter and single-photo mode was not asked for."""
    if subject is None or single is not None:
        return
    if any(p.subject == subject and p.adapter is None for p in plans):
        raise Gen2ResError(
            f"'{subject.name}' has no trained adapter yet.",
            app=f"Select {subject.name} in the sidebar and click Train, then restore again.",
            cli=f"Train it first ('gen2res train --subject {subject.name}'), or use "
            "single-photo mode (much slower: --single).",
        )


def _only_subject(lib: Library, photo_id: int) -> Subject | None:
    links = lib.photo_subjects(photo_id)
    names = {link.subject for link in links}
    return lib.get_subject(names.pop()) if len(names) == 1 else None


def _record(
    lib: Library,
    photo_id: int,
    outcome: WholePhotoResult,
    settings: RestoreSettings,
    subject: Subject | None,
    repair: RepairSettings,
    faces: bool,
) -> Restoration:
    out = lib.restoration_path_for(photo_id, settings.seed)
    with atomic_path(out) as tmp:
        outcome.image.save(tmp, format="PNG")
    used_map = outcome.repair.damage_map if outcome.repair is not None else None
    map_file = None
    if used_map is not None:
        map_file = write_damage_map(used_map, out.with_name(f"{out.stem}.damage.png"))
    adapters = [p.adapter for p in outcome.plans if p.adapter is not None]
    info = asdict(settings)
    info["repair"] = repair.to_json()
    if outcome.repair is not None:
        info["repair"].update(outcome.repair.record())
    info["restore_faces"] = faces
    if outcome.note is not None:
        info["faces_note"] = str(outcome.note)
    # per face: who, how, and its scores (see models.FaceScores); a record with the
    # "faithfulness" key is how a reader tells it from one made before identity existed
    plans = {p.region.index: p for p in outcome.plans}
    info["faces"] = []
    for f, scored in zip(outcome.faces, outcome.face_scores(), strict=True):
        p = plans[f.index]
        info["faces"].append(
            {
                "index": scored.number,
                "box": list(p.region.box),
                "subject": scored.subject,
                "adapter": p.adapter.id if p.adapter else None,
                "mode": "adapter" if p.adapter else "single-photo",
                "identity": scored.identity,
                "identity_before": scored.identity_before,
                "faithfulness": scored.faithfulness,
                "references": scored.references,
            }
        )
    # the identity_scores column: identity against the subject, of the faces that have one
    scores = [f.identity for f in outcome.faces if f.identity is not None]
    return lib.add_restoration(
        photo_id,
        subject.name if subject else None,
        adapters[0].id if adapters else None,
        info,
        settings.seed,
        out,
        scores or None,
        damage_map=map_file,
    )


# -- restores cut short ----------------------------------------------------------------------

# The restore jobs queued or running in the app, kept while they wait or run: what is
# still here at the next start was cut short by quitting, a logout or a crash.
UNFINISHED_KEY = "restore.unfinished"


def restore_request(
    lib: Library,
    *,
    title: str,
    photos: Sequence[dict],
    settings: RestoreSettings,
    album: str | None = None,
) -> dict:
    """A restore job as it can be asked for again (JSON): ``photos`` are dicts with
    ``photo_id``, ``name``, ``subject``, ``crop``, ``faces`` and ``single_photo``; ``album``
    names the subject of a Restore all. Each photo notes its newest restoration, so the
    photos finished before a cut are not restored twice."""
    out = []
    for p in photos:
        newest = lib.list_restorations(int(p["photo_id"]))
        out.append({**p, "before": newest[0].id if newest else 0})
    return {"title": title, "album": album, "settings": asdict(settings), "photos": out}


def remember_unfinished_restores(lib: Library, requests: Sequence[dict]) -> None:
    lib.set_setting(UNFINISHED_KEY, list(requests))


def _still_to_do(lib: Library, photo: object, seed: int, album: bool) -> bool:
    if not isinstance(photo, dict) or not isinstance(photo.get("photo_id"), int):
        return False
    try:
        lib.get_photo(photo["photo_id"])
    except Gen2ResError:
        return False  # removed from the library since
    before = photo.get("before", 0)
    # an album restore makes one restoration per photo; a photo job one with its seed
    return not any(
        r.id > before and (album or r.seed == seed)
        for r in lib.list_restorations(photo["photo_id"])
    )


def unfinished_restores(lib: Library) -> list[dict]:
    """The restore requests cut short last time, less the photos restored since or
    removed (requests with none left are dropped); the kept list is cleared, so each is
    offered once."""
    kept = lib.get_setting(UNFINISHED_KEY, [])
    lib.set_setting(UNFINISHED_KEY, [])
    found = []
    for request in kept if isinstance(kept, list) else []:
        try:
            settings = RestoreSettings(**request["settings"])
            album = request.get("album")
            photos = [
                p
                for p in request["photos"]
                if _still_to_do(lib, p, settings.seed, album is not None)
            ]
            title = str(request["title"])
        except (KeyError, TypeError, ValueError):
            continue  # a damaged entry is as good as none
        if photos:
            found.append({**request, "title": title, "photos": photos})
    return found


def photo_plan(
    lib: Library,
    device: str | None,
    photo_id: int,
    *,
    steps: int | None,
    strength: int,
    faces: bool = True,
    single_photo: bool = False,
) -> tuple[StageEstimate, ...] | None:
    """The parts of restoring one library photo and how long each should take on this
    machine (None until its speed has been measured): see ``core.estimates.restore_plan``.
    A photo not yet scanned for faces, or a pet's crop box, restores one region."""
    from gen2res_desktop.core import defaults
    from gen2res_desktop.core.estimates import restore_plan
    from gen2res_desktop.library.speed import step_times

    times = step_times(lib, device)
    if times is None:
        return None
    photo = lib.get_photo(photo_id)
    count = max(1, len(lib.list_faces(photo_id=photo_id))) if faces else 0
    # the faces restore in the device's batches; an unnamed device is taken for the CPU
    # (asking torch would load it on the GUI thread for an estimate)
    gpu = device is not None and device != "cpu"
    return restore_plan(
        times,
        faces=count,
        steps=steps,
        strength=strength,
        megapixels=photo.width * photo.height / 1e6,
        single_photo=single_photo,
        batch=defaults.FACE_BATCH_GPU if gpu else defaults.FACE_BATCH_CPU,
    )
