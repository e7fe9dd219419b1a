"""Every name a photo's files carry: its embedded XMP, an XMP sidecar, Picasa's ini.

Unknown or malformed metadata never fails an import: the source is skipped and a note
says why (the log has it too). Only the photo and the files beside the *original* are
read, never written.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from gen2res_desktop.core.metadata.picasa import PicasaLookup
from gen2res_desktop.core.metadata.regions import NamedRegion, merge_regions
from gen2res_desktop.core.metadata.safe_xml import MAX_XML_BYTES, UnsafeXML
from gen2res_desktop.core.metadata.xmp_read import packet_names

log = logging.getLogger(__name__)


@dataclass
class NamesRead:
    regions: list[NamedRegion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sources skipped, and why

    def counts(self) -> dict[str, int]:
        """Named faces (rectangles) per source."""
        out: dict[str, int] = {}
        for r in self.regions:
            if r.box is not None:
                out[r.source] = out.get(r.source, 0) + 1
        return out


def sidecars(original: Path) -> list[Path]:
    """XMP sidecars of a photo: digiKam and darktable write ``photo.jpg.xmp``, Lightroom
    and others ``photo.xmp``; either case of the suffix."""
    out = []
    for name in (original.name, original.stem):
        for suffix in (".xmp", ".XMP"):
            candidate = original.with_name(name + suffix)
            if candidate not in out and candidate.is_file():
                out.append(candidate)
    return out


def embedded_xmp(path: Path) -> bytes | None:
    """The XMP packet inside an image file (JPEG APP1, PNG iTXt, TIFF, WebP), unread pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as img:
            data = img.info.get("xmp")
    if isinstance(data, str):
        data = data.encode("utf-8")
    return data if isinstance(data, bytes) and data.strip() else None


def _packet(
    data: bytes, where: str, upright: tuple[int, int], orientation: int, notes: list[str]
) -> tuple[list[NamedRegion], list[NamedRegion]]:
    try:
        return packet_names(data, upright, orientation)
    except (UnsafeXML, RecursionError, ValueError) as e:
        note = f"{where}: XMP skipped ({e})"
        log.warning(note)
        notes.append(note)
        return [], []


def read_photo_names(
    image_file: Path,
    *,
    upright: tuple[int, int],
    orientation: int = 1,
    original: Path | None = None,
    picasa: PicasaLookup | None = None,
) -> NamesRead:
    """Named faces and people keywords of one photo.

    ``image_file`` is the file whose embedded XMP is read (the library's copy: the same
    bytes as the original); ``original`` the path it was imported from, beside which
    sidecars and Picasa's ini are looked for; ``upright`` the photo's size as shown and
    ``orientation`` its EXIF orientation. Regions come most precise first (MWG, then
    Microsoft's, then Picasa's), one per person and face.
    """
    read = NamesRead()
    regions: list[NamedRegion] = []
    keywords: list[NamedRegion] = []
    packets: list[tuple[str, bytes]] = []
    name = (original or image_file).name
    try:
        data = embedded_xmp(image_file)
        if data is not None:
            packets.append((name, data))
    except (OSError, ValueError, SyntaxError) as e:
        read.notes.append(f"{name}: its XMP could not be read ({e})")
    if original is not None:
        for sidecar in sidecars(original):
            try:
                size = sidecar.stat().st_size
                if size > MAX_XML_BYTES:
                    read.notes.append(f"{sidecar.name}: {size} bytes of XMP, skipped")
                    continue
                packets.append((sidecar.name, sidecar.read_bytes()))
            except OSError as e:
                read.notes.append(f"{sidecar.name}: cannot be read ({e.strerror or e})")
    for where, data in packets:
        r, k = _packet(data, where, upright, orientation, read.notes)
        regions += r
        keywords += k
    if original is not None and picasa is not None:
        before = len(picasa.notes)
        try:
            regions += picasa.regions(original, upright, orientation)
        except (OSError, ValueError) as e:
            read.notes.append(f"{name}: Picasa's ini skipped ({e})")
        read.notes += picasa.notes[before:]
    # MWG before Microsoft's before Picasa's: the same face named twice keeps the first
    order = {"mwg": 0, "mp": 1, "picasa": 2}
    regions.sort(key=lambda r: order.get(r.source, 3))
    read.regions = merge_regions(regions + keywords)
    for note in read.notes:
        log.info("names in %s: %s", name, note)
    return read
