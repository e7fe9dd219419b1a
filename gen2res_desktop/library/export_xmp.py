"""What an exported restoration says about itself: people, what was done, where from.

:func:`export_metadata` gathers, for one restoration, the named faces in the exported
image's pixels (faces confirmed as a subject, faces the original's files named, a pet's
square), the people keywords, a plain description of the restoration, the original's
document id and its date taken. :func:`embed_options` and :func:`finish_export` put it in
the file, a ``.xmp`` sidecar beside it, or both; the exported file's modification time is
set to the date taken so it sorts beside the original in a timeline.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from PIL import Image

from gen2res_desktop import __version__
from gen2res_desktop.core.atomic import atomic_write_bytes, refuse_existing
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.metadata.reader import embedded_xmp
from gen2res_desktop.core.metadata.regions import same_face
from gen2res_desktop.core.metadata.safe_xml import UnsafeXML
from gen2res_desktop.core.metadata.xmp_read import parse_packet
from gen2res_desktop.core.metadata.xmp_write import (
    ExportMetadata,
    ExportRegion,
    build_packet,
    save_options,
)
from gen2res_desktop.library import named_faces
from gen2res_desktop.library.models import Photo, Restoration
from gen2res_desktop.library.store import Library

log = logging.getLogger(__name__)

XMP_MODES = ("embed", "sidecar", "both", "off")
_XMP_MM = "{http://ns.adobe.com/xap/1.0/mm/}"
_STAGE_WORDS = {
    "inpaint": "scratches filled",
    "denoise": "grain reduced",
    "colour": "fading and colour corrected",
}


def sidecar_path(out: Path) -> Path:
    """``photo.jpg`` -> ``photo.jpg.xmp``, as digiKam and darktable name sidecars."""
    return out.with_name(out.name + ".xmp")


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s'") else f"{name}'s"


def describe_restoration(settings: dict, side_by_side: bool = False) -> str:
    """'Restored with Gen2Res: scratches filled, faces regenerated with Grandma Rose's face
    model.' from what the library recorded with the restoration."""
    done: list[str] = []
    repair = settings.get("repair") if isinstance(settings.get("repair"), dict) else {}
    for stage in repair.get("stages") or []:
        if not isinstance(stage, dict):
            continue
        name = stage.get("stage")
        if name == "upscale":
            factor = (stage.get("detail") or {}).get("factor")
            done.append(f"enlarged {factor} times" if factor else "enlarged")
        elif name in _STAGE_WORDS and _STAGE_WORDS[name] not in done:
            done.append(_STAGE_WORDS[name])
    faces = [f for f in settings.get("faces") or [] if isinstance(f, dict)]
    models = sorted(
        {str(f["subject"]) for f in faces if f.get("mode") == "adapter" and f.get("subject")}
    )
    plural = "faces" if len(faces) > 1 else "face"
    if models:
        whose = " and ".join(_possessive(m) for m in models)
        done.append(f"{plural} regenerated with {whose} face model{'s' if len(models) > 1 else ''}")
    elif faces:
        done.append(f"{plural} regenerated (single-photo mode)")
    text = "Restored with Gen2Res" + (": " + ", ".join(done) if done else "") + "."
    return ("Before and after, side by side. " if side_by_side else "") + text


def _original_id(lib: Library, photo: Photo) -> str:
    """The original's own xmpMM:DocumentID when it has one, else its content hash."""
    try:
        data = embedded_xmp(lib.photo_path(photo))
        if data is not None:
            doc = parse_packet(data).get(_XMP_MM + "DocumentID")
            if isinstance(doc, str) and doc.strip():
                return doc.strip()
    except (OSError, ValueError, UnsafeXML, RecursionError):
        pass
    return f"sha256:{photo.hash}"


def _photo_regions(lib: Library, photo: Photo, with_names: bool) -> list[ExportRegion]:
    """Named regions in pixels of the upright original."""
    if not with_names:
        return []
    regions: list[ExportRegion] = []
    faces = lib.list_faces(photo_id=photo.id)
    file_names = named_faces.face_names(lib, photo.id)
    for face in faces:
        named = file_names.get(face.id)
        same = named is not None and named.box is not None
        if face.confirmed_subject and not (
            same and named.name.casefold() == face.confirmed_subject.casefold()
        ):
            regions.append(ExportRegion(face.confirmed_subject, face.box))
        elif same:
            # the family's photo manager named it: its rectangle goes back as it framed it
            regions.append(ExportRegion(face.confirmed_subject or named.name, named.box))
    # names the files gave to faces that were never found here are kept as they were
    for named in named_faces.photo_names(lib, photo.id):
        if named.box is None or any(same_face(named.box, f.box) for f in faces):
            continue
        regions.append(ExportRegion(named.name, named.box, named.kind))
    crop = lib.photo_crop(photo.id)
    if crop is not None:
        pets = [lk.subject for lk in lib.photo_subjects(photo.id)]
        kinds = {s.name: s.kind for s in lib.list_subjects()}
        pets = [p for p in pets if kinds.get(p) in ("cat", "dog")]
        if len(pets) == 1:
            x, y, side = crop
            square = (x, y, side, side)
            # the square made from the file's own region is that region: named once
            if not any(
                r.name.casefold() == pets[0].casefold() and same_face(r.box, square)
                for r in regions
            ):
                regions.append(ExportRegion(pets[0], square, "pet"))
    return regions


def _scaled(regions: list[ExportRegion], sx: float, sy: float, dx: int = 0) -> list[ExportRegion]:
    return [
        ExportRegion(
            r.name,
            (
                round(r.box[0] * sx) + dx,
                round(r.box[1] * sy),
                max(1, round(r.box[2] * sx)),
                max(1, round(r.box[3] * sy)),
            ),
            r.kind,
        )
        for r in regions
    ]


def export_metadata(
    lib: Library,
    restoration: Restoration,
    photo: Photo,
    size: tuple[int, int],
    *,
    side_by_side: bool = False,
) -> ExportMetadata:
    """The metadata of an export of ``size`` pixels: the restoration alone, or before and
    after side by side as ``library.export.make_side_by_side`` lays them out."""
    with_names = named_faces.writes_names(lib)
    base = _photo_regions(lib, photo, with_names)
    w, h = size
    if not side_by_side:
        regions = _scaled(base, w / photo.width, h / photo.height)
    else:
        # the original at the restoration's height on the left, the restoration on the
        # right after a gap: both widths are known, the gap is what is left
        with Image.open(restoration.path) as after:
            after_w = after.width
        before_w = max(1, round(photo.width * h / photo.height))
        regions = _scaled(base, before_w / photo.width, h / photo.height)
        regions += _scaled(base, after_w / photo.width, h / photo.height, w - after_w)
    people: list[str] = []
    if with_names:
        people = [n.name for n in named_faces.photo_names(lib, photo.id) if n.box is None]
        people += [lk.subject for lk in lib.photo_subjects(photo.id)]
    return ExportMetadata(
        size=size,
        regions=regions,
        people=people,
        description=describe_restoration(restoration.settings, side_by_side),
        original_id=_original_id(lib, photo),
        original_name=photo.original_name,
        taken=photo.taken,
        creator_tool=f"Gen2Res Desktop {__version__}",
    )


def embed_options(fmt: str, packet: bytes, mode: str) -> dict:
    """``Image.save`` arguments that embed the packet (nothing for sidecar-only or off)."""
    if mode not in ("embed", "both"):
        return {}
    try:
        return save_options(fmt, packet)
    except ValueError as e:
        log.warning("XMP not embedded (%s); it goes in a sidecar instead", e)
        return {}


def check_sidecar(out: Path, mode: str, *, overwrite: bool) -> None:
    """Refuse before any work when the sidecar would replace a file not asked to."""
    if mode in ("sidecar", "both"):
        refuse_existing(sidecar_path(out), overwrite=overwrite)


def taken_timestamp(taken: str | None) -> float | None:
    """Seconds since the epoch of a date taken (local time, as cameras write it)."""
    if not taken:
        return None
    try:
        return datetime.fromisoformat(taken.strip().replace(" ", "T", 1)).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def finish_export(
    out: Path,
    *,
    taken: str | None,
    packet: bytes | None,
    mode: str,
    embedded: bool,
    overwrite: bool,
) -> Path | None:
    """Write the sidecar when asked (or when the packet did not fit in the file), then
    date the files as the original was taken; returns the sidecar written, if any."""
    sidecar = None
    if packet is not None and (mode in ("sidecar", "both") or (mode == "embed" and not embedded)):
        sidecar = sidecar_path(out)
        if mode == "embed" and not overwrite and os.path.lexists(sidecar):
            log.warning("%s exists: the names were not written anywhere", sidecar)
            sidecar = None
        else:
            atomic_write_bytes(sidecar, packet)
    stamp = taken_timestamp(taken)
    if stamp is not None:
        for path in (out, sidecar):
            if path is None:
                continue
            try:
                os.utime(path, (stamp, stamp))
            except (OSError, OverflowError, ValueError) as e:
                # a date before 1970 on some file systems: the file keeps today's date
                log.info("%s keeps its own modification time (%s)", path, e)
    return sidecar


class XmpExport:
    """The XMP side of one export, in three steps around the image's save: checks before
    any work, the ``Image.save`` arguments, then the sidecar and the file dates."""

    def __init__(self, out: Path, mode: str = "embed", *, overwrite: bool = False) -> None:
        if mode not in XMP_MODES:
            raise Gen2ResError(f"Unknown XMP choice '{mode}'; use {', '.join(XMP_MODES)}.")
        self.out, self.mode, self.overwrite = Path(out), mode, overwrite
        check_sidecar(self.out, mode, overwrite=overwrite)
        self.packet: bytes | None = None
        self.embedded = False

    def options(
        self,
        lib: Library,
        restoration: Restoration,
        photo: Photo,
        fmt: str,
        size: tuple[int, int],
        side_by_side: bool = False,
    ) -> dict:
        if self.mode == "off":
            return {}
        meta = export_metadata(lib, restoration, photo, size, side_by_side=side_by_side)
        self.packet = build_packet(meta)
        options = embed_options(fmt, self.packet, self.mode)
        self.embedded = bool(options)
        return options

    def finish(self, taken: str | None) -> Path | None:
        return finish_export(
            self.out,
            taken=taken,
            packet=self.packet,
            mode=self.mode,
            embedded=self.embedded,
            overwrite=self.overwrite,
        )
