"""Names other photo managers gave the people in a photo, kept and put to use.

On import, :class:`ImportNames` reads each photo's names (``core.metadata``) and keeps
them in the ``named_regions`` table (``tables/named_regions.py``): one row per named face
(its box in pixels of the upright photo) or per people keyword (no box). When faces are found on a photo
(``library.faces.detect_library_photo``), :func:`missed_faces` adds a face for each named
rectangle the detector did not find, and :func:`name_faces` gives each named face its
subject, confirmed, when a subject of that name exists. A name that is not a subject yet
is a suggestion (``library.name_suggestions``).

A name is given to a face once (``applied``): a face the user then says is someone else
(or nobody) is not named again when the photo's faces are found again.

These functions take the album (``library/album.py``; a ``Library`` is one), not the
``Library`` facade: the importer, which the facade calls, reads names as it imports.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.metadata import read_photo_names
from gen2res_desktop.core.metadata.picasa import PicasaLookup
from gen2res_desktop.core.metadata.regions import iou, same_face
from gen2res_desktop.library.album import Album
from gen2res_desktop.library.models import Face, ImportSummary
from gen2res_desktop.library.tables.named_regions import StoredName

log = logging.getLogger(__name__)

READ_SETTING = "names.read_from_files"  # default on
WRITE_SETTING = "names.write_into_exports"  # default on
DISMISSED_SETTING = "names.dismissed"  # names the user said not to make subjects of
FOUND_BY = "named in the file"


def reads_names(lib: Album) -> bool:
    return bool(lib.settings.get(READ_SETTING, True))


def writes_names(lib: Album) -> bool:
    return bool(lib.settings.get(WRITE_SETTING, True))


def photo_names(lib: Album, photo_id: int) -> list[StoredName]:
    """The names the photo's files gave, as stored on import."""
    return lib.named_regions.of_photo(photo_id)


class ImportNames:
    """Reads the names of each photo of one import (the ini and contacts files of a folder
    once) and counts them into the summary. Never fails the import: a problem is logged."""

    def __init__(
        self, lib: Album, summary: ImportSummary, contacts_files: list[Path] | None = None
    ) -> None:
        self.lib, self.summary = lib, summary
        self.enabled = reads_names(lib)
        self.picasa = PicasaLookup(contacts_files)

    def read(self, photo_id: int, src: Path) -> None:
        if not self.enabled:
            return
        try:
            self._read(photo_id, Path(src))
        except Exception as e:  # noqa: BLE001 - metadata is a bonus, never a failed import
            log.warning("names in %s were not read: %s", src, e, exc_info=True)

    def _read(self, photo_id: int, src: Path) -> None:
        photo = self.lib.photos.get(photo_id)
        orientation = int(photo.exif.get("orientation", 1) or 1)
        read = read_photo_names(
            self.lib.photos.path(photo),
            upright=(photo.width, photo.height),
            orientation=orientation,
            original=src,
            picasa=self.picasa,
        )
        if not read.regions:
            return
        if self.lib.named_regions.add(photo_id, read.regions) == 0:
            return  # known from an earlier import: counted then
        counts = self.summary.names_found
        for r in read.regions:
            key = r.source if r.box is not None else "keywords"
            counts[key] = counts.get(key, 0) + 1
        if self.lib.faces.find(photo_id=photo_id):
            name_faces(self.lib, photo_id)  # faces were found before (a photo imported again)


def missed_faces(lib: Album, photo_id: int, image: Image.Image, found: Sequence) -> list:
    """Faces (``core.faces.DetectedFace``) for the named rectangles of the photo that no
    detected face in ``found`` matches: the landmarks are fitted inside the rectangle."""
    from gen2res_desktop.core.faces import describe_face

    extra = []
    boxes = [tuple(int(v) for v in f.box) for f in found]
    for named in photo_names(lib, photo_id):
        if named.box is None or named.kind != "face":
            continue
        if any(same_face(named.box, b) for b in boxes):
            continue
        try:
            face = describe_face(image, named.box)
        except (Gen2ResError, RuntimeError, ValueError) as e:
            log.warning("the face named %s could not be fitted: %s", named.name, e)
            continue
        face.found_by = FOUND_BY
        extra.append(face)
        boxes.append(tuple(int(v) for v in face.box))
    return extra


def match_names(named: Sequence[StoredName], faces: Sequence[Face]) -> dict[int, Face]:
    """Named row id -> the face it names: best overlap first, each face at most once."""
    pairs = sorted(
        (
            (-iou(n.box, f.box), i, j)
            for i, n in enumerate(named)
            for j, f in enumerate(faces)
            if n.box is not None and n.kind == "face" and same_face(n.box, f.box)
        ),
    )
    out: dict[int, Face] = {}
    used: set[int] = set()
    for _, i, j in pairs:
        if named[i].id not in out and j not in used:
            out[named[i].id] = faces[j]
            used.add(j)
    # one face and one person named by keyword only: that is their face (unless the user
    # already said it is someone else's)
    keywords = {n.name.casefold() for n in named if n.box is None and n.kind == "face"}
    if len(faces) == 1 and len(keywords) == 1 and not any(n.box for n in named):
        (name,) = keywords
        who = faces[0].confirmed_subject
        if who is None or who.casefold() == name:
            for n in named:
                if n.box is None:
                    out[n.id] = faces[0]
    return out


def _pet_crop(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int]:
    x, y, w, h = box
    side = min(max(w, h), size[0], size[1])
    cx, cy = x + w / 2, y + h / 2
    left = int(min(max(0, round(cx - side / 2)), size[0] - side))
    top = int(min(max(0, round(cy - side / 2)), size[1] - side))
    return left, top, int(side)


def name_faces(lib: Album, photo_id: int) -> int:
    """Give the photo's named faces their subjects where a subject has that name; returns
    how many faces were confirmed. A face already confirmed is never changed."""
    every = photo_names(lib, photo_id)
    named = [n for n in every if not n.applied]
    if not named:
        return 0
    subjects = {s.name.casefold(): s for s in lib.subjects.find()}
    faces = lib.faces.find(photo_id=photo_id)
    # matched among all the photo's names: one given earlier still holds its face
    matches = match_names(every, faces)
    confirmed, applied = 0, []
    for n in named:
        subject = subjects.get(n.name.casefold())
        if subject is None:
            continue
        if n.kind == "pet" and subject.kind != "person" and n.box is not None:
            if lib.photos.crop(photo_id) is None:  # the pet's square, as if drawn by hand
                photo = lib.photos.get(photo_id)
                lib.photos.set_crop(photo_id, _pet_crop(n.box, (photo.width, photo.height)))
            applied.append(n.id)
            continue
        face = matches.get(n.id)
        if face is None or subject.kind != "person":
            continue
        if face.confirmed_subject is None:
            lib.faces.confirm(face.id, subject.id)
            confirmed += 1
        applied.append(n.id)
    lib.named_regions.mark_applied(applied)
    return confirmed


def face_names(lib: Album, photo_id: int) -> dict[int, StoredName]:
    """Face id -> the name the photo's files give it (for "named in the file: …")."""
    named = photo_names(lib, photo_id)
    matches = match_names(named, lib.faces.find(photo_id=photo_id))
    by_id = {n.id: n for n in named}
    return {face.id: by_id[nid] for nid, face in matches.items()}
