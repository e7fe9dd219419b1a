"""Who each face of a photo is restored as, with which face model, in which batch.

Faces are matched to subjects by what the user confirmed, else (when a subject is given
and the photo shows one face, or the region is a crop box) that subject, else by the
suggested subject: an explicit choice wins over a suggestion. A face with a subject that
has a ready adapter is restored with it; any other face runs in single-photo mode, which
is much slower. Every restored face of a person with a subject is scored against that
subject's reference faces, less the faces of the photo being restored: a confirmed face
on this very print would reward leaving the damage as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo_restore import Region
from gen2res_desktop.core.pipeline import SingleOptions
from gen2res_desktop.library.faces import subject_references
from gen2res_desktop.library.models import AdapterRecord, Face, Subject
from gen2res_desktop.library.store import Library


@dataclass
class FacePlan:
    """How one region is restored: with ``adapter``, or in single-photo mode when None."""

    region: Region
    subject: Subject | None
    adapter: AdapterRecord | None


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


def refuse_missing_adapter(
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
