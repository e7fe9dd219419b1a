"""Writing people into an exported photo: an XMP packet that digiKam, Lightroom, Immich,
Windows and ExifTool read.

The packet carries MWG face regions (``mwg-rs:Regions``, one ``rdf:li`` per face with
Name, Type and a normalised Area; the exported pixels are upright, so the stored frame is
the shown one), the same faces as Microsoft regions for Windows, the people as keywords
(digiKam's ``TagsList`` "People/Name", Lightroom's ``hierarchicalSubject`` "People|Name",
``dc:subject`` and IPTC's ``PersonInImage``), a plain description of the restoration,
``xmpMM:DerivedFrom`` naming the original, and the original's date taken.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from gen2res_desktop.core.metadata.regions import Box

NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stRef": "http://ns.adobe.com/xap/1.0/sType/ResourceRef#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
# JPEG holds one XMP packet of at most 65502 bytes in its APP1 segment (less the header).
MAX_JPEG_PACKET = 65000
_PADDING = 1024  # room for another tool to edit in place, as Adobe recommends
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?)?)?$")


@dataclass(frozen=True)
class ExportRegion:
    name: str
    box: Box  # pixels of the exported image
    kind: str = "face"  # "face" or "pet"


@dataclass
class ExportMetadata:
    """What the exported file says about itself; ``size`` is the exported image's."""

    size: tuple[int, int]
    regions: list[ExportRegion] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # keyword names, in order
    description: str = ""
    original_id: str = ""  # the original's xmpMM:DocumentID, or a content hash
    original_name: str = ""
    taken: str | None = None  # ISO 8601, as the library stores it
    creator_tool: str = "Gen2Res Desktop"

    def all_people(self) -> list[str]:
        """Keyword names: those given, then each region's, once each (case-insensitive)."""
        seen: set[str] = set()
        out = []
        for name in [*self.people, *(r.name for r in self.regions)]:
            if name.casefold() not in seen:
                seen.add(name.casefold())
                out.append(name)
        return out


def xmp_date(value: str | None) -> str | None:
    """An ISO date the XMP date type accepts, or None (the library keeps odd EXIF dates as
    written, which XMP readers would reject)."""
    if not value:
        return None
    value = value.strip().replace(" ", "T", 1)
    return value if _DATE.match(value) else None


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") or "0"


def _bag(tag: str, items: list[str], kind: str = "Bag") -> str:
    lis = "".join(f"<rdf:li>{escape(i)}</rdf:li>" for i in items)
    return f"<{tag}><rdf:{kind}>{lis}</rdf:{kind}></{tag}>"


def _mwg_regions(meta: ExportMetadata) -> str:
    w, h = meta.size
    items = []
    for r in meta.regions:
        x, y, bw, bh = r.box
        area = (
            f"<stArea:x>{_num((x + bw / 2) / w)}</stArea:x>"
            f"<stArea:y>{_num((y + bh / 2) / h)}</stArea:y>"
            f"<stArea:w>{_num(bw / w)}</stArea:w><stArea:h>{_num(bh / h)}</stArea:h>"
            "<stArea:unit>normalized</stArea:unit>"
        )
        items.append(
            '<rdf:li rdf:parseType="Resource">'
            f"<mwg-rs:Name>{escape(r.name)}</mwg-rs:Name>"
            f"<mwg-rs:Type>{'Pet' if r.kind == 'pet' else 'Face'}</mwg-rs:Type>"
            f'<mwg-rs:Area rdf:parseType="Resource">{area}</mwg-rs:Area>'
            "</rdf:li>"
        )
    return (
        '<mwg-rs:Regions rdf:parseType="Resource">'
        '<mwg-rs:AppliedToDimensions rdf:parseType="Resource">'
        f"<stDim:w>{w}</stDim:w><stDim:h>{h}</stDim:h><stDim:unit>pixel</stDim:unit>"
        "</mwg-rs:AppliedToDimensions>"
        f"<mwg-rs:RegionList><rdf:Bag>{''.join(items)}</rdf:Bag></mwg-rs:RegionList>"
        "</mwg-rs:Regions>"
    )


def _mp_regions(meta: ExportMetadata) -> str:
    w, h = meta.size
    items = []
    for r in meta.regions:
        if r.kind != "face":
            continue  # Microsoft's regions are people only
        x, y, bw, bh = r.box
        rect = ", ".join(_num(v) for v in (x / w, y / h, bw / w, bh / h))
        items.append(
            '<rdf:li rdf:parseType="Resource">'
            f"<MPReg:PersonDisplayName>{escape(r.name)}</MPReg:PersonDisplayName>"
            f"<MPReg:Rectangle>{rect}</MPReg:Rectangle></rdf:li>"
        )
    if not items:
        return ""
    return (
        '<MP:RegionInfo rdf:parseType="Resource">'
        f"<MPRI:Regions><rdf:Bag>{''.join(items)}</rdf:Bag></MPRI:Regions></MP:RegionInfo>"
    )


def build_packet(meta: ExportMetadata, *, padding: int = _PADDING) -> bytes:
    """The XMP packet for ``meta`` (UTF-8, with the xpacket wrapper)."""
    attrs = {
        "xmp:CreatorTool": meta.creator_tool,
        "xmp:MetadataDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "xmpMM:DocumentID": f"xmp.did:{uuid.uuid4()}",
        "xmpMM:InstanceID": f"xmp.iid:{uuid.uuid4()}",
    }
    taken = xmp_date(meta.taken)
    if taken:
        attrs["photoshop:DateCreated"] = taken
        attrs["exif:DateTimeOriginal"] = taken
    body: list[str] = []
    if meta.original_id or meta.original_name:
        ref = ""
        if meta.original_id:
            ref += f"<stRef:documentID>{escape(meta.original_id)}</stRef:documentID>"
        if meta.original_name:
            ref += f"<stRef:filePath>{escape(meta.original_name)}</stRef:filePath>"
        body.append(f'<xmpMM:DerivedFrom rdf:parseType="Resource">{ref}</xmpMM:DerivedFrom>')
    if meta.description:
        body.append(
            "<dc:description><rdf:Alt>"
            f'<rdf:li xml:lang="x-default">{escape(meta.description)}</rdf:li>'
            "</rdf:Alt></dc:description>"
        )
    people = meta.all_people()
    if people:
        body.append(_bag("dc:subject", people))
        body.append(_bag("digiKam:TagsList", [f"People/{p}" for p in people], "Seq"))
        body.append(_bag("lr:hierarchicalSubject", [f"People|{p}" for p in people]))
        body.append(_bag("Iptc4xmpExt:PersonInImage", people))
    if meta.regions:
        body.append(_mwg_regions(meta))
        body.append(_mp_regions(meta))
    xmlns = " ".join(f"xmlns:{k}={quoteattr(v)}" for k, v in NAMESPACES.items() if k != "x")
    props = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk={quoteattr(meta.creator_tool)}>\n'
        f'<rdf:RDF xmlns:rdf="{NAMESPACES["rdf"]}">\n'
        f'<rdf:Description rdf:about="" {xmlns} {props}>\n'
        + "\n".join(b for b in body if b)
        + "\n</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
        + (" " * 99 + "\n") * (padding // 100)
        + '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def save_options(fmt: str, packet: bytes) -> dict:
    """Keyword arguments for ``Image.save`` that embed ``packet`` (JPEG and PNG)."""
    if fmt == "JPEG":
        if len(packet) > MAX_JPEG_PACKET:
            raise ValueError(f"an XMP packet of {len(packet)} bytes does not fit in a JPEG")
        return {"xmp": packet}
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        # Pillow 13's PNG writer takes no xmp= argument: the iTXt chunk XMP readers look for
        info.add_itxt("XML:com.adobe.xmp", packet.decode("utf-8"), zip=False)
        return {"pnginfo": info}
    raise ValueError(f"XMP cannot be embedded in {fmt}")
