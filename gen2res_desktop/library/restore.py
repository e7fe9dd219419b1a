"""Restoring a whole photo from the library or a file: the print repaired (scratches, dust,
grain, fading), then every face regenerated with its subject's adapter and pasted back
into the repaired photo.

The CLI's ``gen2res restore`` and the GUI's one-click Restore both call
:func:`restore_whole_photo`. Who each face is restored as, with which adapter and in which
batch, is ``library.face_plans``'; the priors and photo models it loads, each once, are
``library.restore_engines``'. With ``faces=False`` only the print is repaired: no prior,
subject or face is needed.

Every restored face of a person with a subject is scored against that subject's reference
faces (``library.faces.subject_references``), restored and damaged, and against the
damaged face it came from (faithfulness): see ``core.photo_restore.FaceOutcome``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

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
from gen2res_desktop.library.colour import (
    already_in_colour,
    colourise_image,
    pick_colouriser,
    record_colourised,
)
from gen2res_desktop.library.face_plans import (
    FacePlan,
    face_batches,
    face_references,
    plan_faces,
    refuse_missing_adapter,
)
from gen2res_desktop.library.faces import photo_faces, stored_detected_faces
from gen2res_desktop.library.models import Face, FaceScores, Restoration, Subject
from gen2res_desktop.library.restore_engines import PriorCache, photo_models
from gen2res_desktop.library.store import Library
from gen2res_desktop.library.tables.photos import write_damage_levels

# torch, the priors and the faster CPU engines are imported where faces are regenerated:
# a repair-only restore (``faces=False``) never loads them.


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
    # colour, when asked for (``RepairSettings.colourise``): the coloured image, recorded as
    # a restoration of its own beside the monochrome ``restoration``
    colourised: Image.Image | None = None
    colour_restoration: Restoration | None = None
    colour_note: Gen2ResError | None = None

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
    # the colouriser is checked before the long work, so a missing one fails at once
    colouriser = pick_colouriser(repair.colourise, photo_models(lib, device))
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
                refuse_missing_adapter(
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
    if colouriser is not None:
        # last: on the finished print, faces included, so its lightness is the restoration's
        coloured = colourise_image(
            outcome.image,
            colouriser,
            photo_models(lib, device),
            original=image,
            progress=progress,
            cancel=cancel,
        )
        if coloured is None:
            outcome.colour_note = already_in_colour()
        else:
            outcome.colourised = coloured.image
            if outcome.restoration is not None:
                outcome.colour_restoration = record_colourised(lib, outcome.restoration, coloured)
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
    # the map with how far each mark was filled: the compare view shows part-filled ones fainter
    levels = outcome.repair.map_levels() if outcome.repair is not None else None
    map_file = None
    if levels is not None:
        map_file = write_damage_levels(levels, out.with_name(f"{out.stem}.damage.png"))
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
