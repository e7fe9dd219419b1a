"""Names the files give that are not subjects yet: suggestions, and making them subjects.

"12 photos already name Grandma Rose — make them a person?": :func:`name_suggestions`
lists such names (not the ones the user dismissed), :func:`make_subject_from_name` makes
one a subject and confirms the faces the files give that name (the command line), and
:func:`plan_name` / :func:`apply_plan` do the same in two steps, so the app can put the
change on its undo stack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.named_faces import (
    DISMISSED_SETTING,
    match_names,
    name_faces,
    photo_names,
)
from gen2res_desktop.library.store import Library
from gen2res_desktop.library.tables.named_regions import StoredName

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NameSuggestion:
    name: str
    photos: int
    faces: int  # named rectangles; the rest are keywords
    sources: tuple[str, ...]  # "digiKam", "Picasa", "keywords"…
    kind: str = "face"  # "pet" when every region calls it a pet
    photo_ids: tuple[int, ...] = field(default=(), compare=False)

    def text(self) -> str:
        what = "a pet" if self.kind == "pet" else "a person"
        photos = (
            "1 photo already names" if self.photos == 1 else f"{self.photos} photos already name"
        )
        return f"{photos} {self.name} — make them {what}?"


def dismissed(lib: Library) -> set[str]:
    value = lib.get_setting(DISMISSED_SETTING, [])
    return {str(v).casefold() for v in value} if isinstance(value, list) else set()


def dismiss_name(lib: Library, name: str, undo: bool = False) -> None:
    """Stop suggesting ``name`` (``undo``: suggest it again)."""
    names = dismissed(lib)
    if undo:
        names.discard(name.casefold())
    else:
        names.add(name.casefold())
    lib.set_setting(DISMISSED_SETTING, sorted(names))


def name_suggestions(lib: Library, *, include_dismissed: bool = False) -> list[NameSuggestion]:
    """Names the files give that are not subjects yet, most photos first."""
    subjects = {s.name.casefold() for s in lib.list_subjects()}
    skip = subjects | (set() if include_dismissed else dismissed(lib))
    groups: dict[str, list[StoredName]] = {}
    for n in lib.named_regions.every():
        if n.name.casefold() not in skip:
            groups.setdefault(n.name.casefold(), []).append(n)
    out = []
    for rows in groups.values():
        spellings: dict[str, int] = {}
        for n in rows:
            spellings[n.name] = spellings.get(n.name, 0) + 1
        photo_ids = tuple(sorted({n.photo_id for n in rows}))
        out.append(
            NameSuggestion(
                name=max(spellings, key=lambda s: (spellings[s], s)),
                photos=len(photo_ids),
                faces=sum(1 for n in rows if n.box is not None),
                sources=tuple(sorted({n.where for n in rows})),
                kind="pet" if all(n.kind == "pet" for n in rows) else "face",
                photo_ids=photo_ids,
            )
        )
    return sorted(out, key=lambda s: (-s.photos, s.name.casefold()))


@dataclass
class FromName:
    subject: str
    photos: list[int]  # every photo that names them
    confirmed: int = 0  # faces confirmed as theirs
    detected: int = 0  # photos whose faces were found for this


def make_subject_from_name(
    lib: Library,
    name: str,
    kind: str | None = None,
    *,
    detect: Callable[[int], object] | None = None,
) -> FromName:
    """Make ``name`` a subject (or take the subject of that name) and confirm the faces the
    files give that name.

    ``detect(photo_id)`` finds the faces of a photo that has none yet (the hook in
    ``library.faces`` then names them); None leaves such photos until their faces are
    found. The subject takes the files' most common spelling of the name.
    """
    rows = lib.named_regions.called(name.strip())
    if not rows:
        raise Gen2ResError(f"No photo names '{name}'.")
    known = {s.name.casefold(): s for s in lib.list_subjects()}
    subject = known.get(name.strip().casefold())
    if subject is None:
        if kind is None and all(n.kind == "pet" for n in rows):
            raise Gen2ResError(
                f"The files call {name} a pet: say whether a cat or a dog.",
                cli="Give --kind cat or --kind dog.",
            )
        spellings = [n.name for n in rows]
        spelling = max(set(spellings), key=lambda s: (spellings.count(s), s))
        subject = lib.add_subject(spelling, kind or "person")
    result = FromName(subject.name, sorted({n.photo_id for n in rows}))
    before = {f.id for f in lib.list_faces(subject=subject.name)}
    for pid in result.photos:
        if detect is not None and not lib.list_faces(photo_id=pid):
            try:
                detect(pid)  # names the faces it finds (library.faces)
                result.detected += 1
            except Gen2ResError as e:
                log.warning("faces of photo %s: %s", pid, e)
        name_faces(lib, pid)
    result.confirmed = len({f.id for f in lib.list_faces(subject=subject.name)} - before)
    return result


@dataclass
class NamePlan:
    """What making ``subject`` of a name changes, worked out before it changes (so the app
    can put the change on its undo stack and redo it face by face)."""

    subject: str
    face_ids: list[int] = field(default_factory=list)  # faces to confirm as the subject
    row_ids: list[int] = field(default_factory=list)  # names given by it
    without_faces: list[int] = field(default_factory=list)  # photos whose faces are unknown
    pet_photos: list[int] = field(default_factory=list)  # photos whose square the name sets


def plan_name(lib: Library, subject: str) -> NamePlan:
    """The faces the files give ``subject``'s name, not yet given to anyone."""
    plan = NamePlan(subject)
    key = subject.casefold()
    for pid in lib.named_regions.photos_to_name(subject):
        every = photo_names(lib, pid)
        named = [n for n in every if not n.applied]
        faces = lib.list_faces(photo_id=pid)
        mine = [n for n in named if n.name.casefold() == key]
        if any(n.kind == "pet" for n in mine):
            plan.pet_photos.append(pid)
        if not faces:
            if any(n.kind == "face" for n in mine):  # a pet needs no face search
                plan.without_faces.append(pid)
            continue
        mine_ids = {n.id for n in mine}
        for nid, face in match_names(every, faces).items():
            if nid in mine_ids:
                plan.row_ids.append(nid)
                if face.confirmed_subject is None:
                    plan.face_ids.append(face.id)
    return plan


def apply_plan(lib: Library, plan: NamePlan) -> None:
    """Confirm the planned faces (again, for a redo) and mark their names given."""
    for face_id in plan.face_ids:
        lib.confirm_face(face_id, plan.subject)
    lib.named_regions.mark_applied(plan.row_ids)
    for pid in plan.pet_photos:
        name_faces(lib, pid)
