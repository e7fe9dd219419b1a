"""Reading people from XMP: MWG regions, Microsoft Photo regions and people keywords.

An XMP packet is RDF, which every application spells a little differently: properties as
attributes or as elements, structures as ``rdf:parseType="Resource"``, as a nested
``rdf:Description`` or as attributes of the property element. :func:`rdf_properties`
folds all of these into plain dicts (keys are ``{namespace}name``, never prefixes), lists
(``rdf:Bag``/``Seq``/``Alt``) and strings, so the readers below look values up by meaning.

Frames: MWG region areas are centre x, y, width and height, normalised to the image *as
stored*, before the EXIF orientation turns it (MWG guidelines 2.0, "Regions");
``mwg-rs:AppliedToDimensions`` gives the stored size they were drawn on. Some writers drew
them on the turned image instead: when the dimensions given are the upright ones of a
turned (non-square) photo, the areas are taken as upright. Microsoft's ``MPReg:Rectangle``
is "left, top, width, height", normalised, and is read in the same stored frame.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from gen2res_desktop.core.metadata.regions import NamedRegion, clean_name, normalised_to_upright
from gen2res_desktop.core.metadata.safe_xml import parse_xml

log = logging.getLogger(__name__)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
MP = "http://ns.microsoft.com/photo/1.2/"
MP_RI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
MP_REG = "http://ns.microsoft.com/photo/1.2/t/Region#"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
LR = "http://ns.adobe.com/lightroom/1.0/"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
XMP = "http://ns.adobe.com/xap/1.0/"

# Roots of a keyword hierarchy under which the leaves are people's names.
PEOPLE_ROOTS = {"people", "persons", "person", "personen", "personnes", "persone"}
# digiKam's own bookkeeping tags under People/, not names.
_DIGIKAM_SPECIAL = {"unknown", "unconfirmed", "ignored"}
# What xmp:CreatorTool (or a namespace) says about the writer, for "named by digiKam".
_APPS = (
    ("digikam", "digiKam"),
    ("lightroom", "Lightroom"),
    ("picasa", "Picasa"),
    ("immich", "Immich"),
    ("darktable", "darktable"),
    ("windows", "Windows"),
    ("microsoft", "Windows"),
    ("gen2res", "Gen2Res"),
)
# Nesting deeper than this is not metadata any application writes.
_MAX_DEPTH = 24

Props = dict[str, object]


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _plain_attrs(el: ET.Element) -> dict[str, str]:
    return {
        k: v
        for k, v in el.attrib.items()
        if k.startswith("{") and not k.startswith(("{" + RDF, "{" + XML_NS))
    }


def _node(el: ET.Element, depth: int) -> Props:
    """A node element (rdf:Description, a typed node, or a parseType=Resource property)."""
    out: Props = dict(_plain_attrs(el))
    if depth > _MAX_DEPTH:
        return out
    for child in el:
        out[child.tag] = _value(child, depth + 1)
    return out


def _value(prop: ET.Element, depth: int) -> object:
    if depth > _MAX_DEPTH:
        return None
    if prop.get(_q(RDF, "parseType")) == "Resource":
        return _node(prop, depth)
    children = list(prop)
    if children:
        first = children[0]
        if first.tag in (_q(RDF, "Bag"), _q(RDF, "Seq"), _q(RDF, "Alt")):
            return [_value(li, depth + 1) for li in first if li.tag == _q(RDF, "li")]
        return _node(first, depth + 1)
    attrs = _plain_attrs(prop)
    if attrs:
        return attrs
    resource = prop.get(_q(RDF, "resource"))
    if resource is not None:
        return resource
    return (prop.text or "").strip()


def rdf_properties(root: ET.Element) -> Props:
    """Every property of every top-level rdf:Description in the packet, merged."""
    rdf = root if root.tag == _q(RDF, "RDF") else root.find(f".//{_q(RDF, 'RDF')}")
    props: Props = {}
    if rdf is None:
        return props
    for desc in rdf:
        props.update(_node(desc, 0))
    return props


def parse_packet(data: bytes) -> Props:
    """The properties of an XMP packet; raises safe_xml.UnsafeXML for a refused one."""
    return rdf_properties(parse_xml(data))


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _float(value: object) -> float | None:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def _dict(value: object) -> Props:
    return value if isinstance(value, dict) else {}


def writer_app(props: Props) -> str:
    """The application that wrote the packet, as far as the packet says ("" if unsure)."""
    tool = " ".join(_texts(props.get(_q(XMP, "CreatorTool")))).lower()
    for needle, app in _APPS:
        if needle in tool:
            return app
    if _q(DIGIKAM, "TagsList") in props:
        return "digiKam"
    if _q(LR, "hierarchicalSubject") in props:
        return "Lightroom"
    return ""


def _applied_upright(dims: Props, stored: tuple[int, int], orientation: int) -> bool:
    """Whether AppliedToDimensions say the areas were drawn on the turned photo."""
    if orientation not in (5, 6, 7, 8) or stored[0] == stored[1]:
        return False
    w, h = _float(dims.get(_q(ST_DIM, "w"))), _float(dims.get(_q(ST_DIM, "h")))
    if not w or not h:
        return False
    unit = dims.get(_q(ST_DIM, "unit"))
    if unit not in (None, "", "pixel"):
        return False
    # the same aspect as the upright photo (writers may have measured a resized copy)
    return abs(w / h - stored[1] / stored[0]) < 0.01


def mwg_regions(
    props: Props, upright: tuple[int, int], orientation: int, app: str = ""
) -> list[NamedRegion]:
    regions = _dict(props.get(_q(MWG_RS, "Regions")))
    stored = (upright[1], upright[0]) if orientation in (5, 6, 7, 8) else upright
    dims = _dict(regions.get(_q(MWG_RS, "AppliedToDimensions")))
    frame = 1 if _applied_upright(dims, stored, orientation) else orientation
    found: list[NamedRegion] = []
    for item in regions.get(_q(MWG_RS, "RegionList")) or []:
        r = _dict(item)
        name = clean_name(r.get(_q(MWG_RS, "Name")))
        kind = str(r.get(_q(MWG_RS, "Type")) or "Face").strip().lower()
        if name is None or kind not in ("face", "pet"):
            continue  # focus points, barcodes and unnamed faces say nobody's name
        area = _dict(r.get(_q(MWG_RS, "Area")))
        unit = area.get(_q(ST_AREA, "unit"))
        x, y = _float(area.get(_q(ST_AREA, "x"))), _float(area.get(_q(ST_AREA, "y")))
        w, h = _float(area.get(_q(ST_AREA, "w"))), _float(area.get(_q(ST_AREA, "h")))
        if unit not in (None, "", "normalized") or None in (x, y, w, h):
            log.info("an MWG region for %s has no usable area; kept as a name only", name)
            found.append(NamedRegion(name, None, "mwg", kind, app))
            continue
        rect = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        box = normalised_to_upright(rect, upright, frame)
        found.append(NamedRegion(name, box, "mwg", kind, app))
    return found


def mp_regions(
    props: Props, upright: tuple[int, int], orientation: int, app: str = ""
) -> list[NamedRegion]:
    info = _dict(props.get(_q(MP, "RegionInfo")))
    found: list[NamedRegion] = []
    for item in info.get(_q(MP_RI, "Regions")) or []:
        r = _dict(item)
        name = clean_name(r.get(_q(MP_REG, "PersonDisplayName")))
        if name is None:
            continue
        parts = [_float(p) for p in str(r.get(_q(MP_REG, "Rectangle")) or "").split(",")]
        box = None
        if len(parts) == 4 and None not in parts:
            x, y, w, h = parts
            box = normalised_to_upright((x, y, x + w, y + h), upright, orientation)
        found.append(NamedRegion(name, box, "mp", "face", app or "Windows"))
    return found


def _leaf(path: str, sep: str) -> str | None:
    parts = [p.strip() for p in path.split(sep)]
    if len(parts) < 2 or parts[0].casefold() not in PEOPLE_ROOTS:
        return None
    if len(parts) == 2 and parts[1].casefold() in _DIGIKAM_SPECIAL:
        return None
    return clean_name(parts[-1])


def keyword_names(props: Props, app: str = "") -> list[NamedRegion]:
    """People keywords: digiKam's "People/Name", Lightroom's "People|Name", IPTC's
    PersonInImage. Plain dc:subject keywords are not read: "Beach" is not a person."""
    names: list[str] = []
    for tag in _texts(props.get(_q(DIGIKAM, "TagsList"))):
        names.append(_leaf(tag, "/"))
    for tag in _texts(props.get(_q(LR, "hierarchicalSubject"))):
        names.append(_leaf(tag, "|"))
    for person in _texts(props.get(_q(IPTC_EXT, "PersonInImage"))):
        names.append(clean_name(person))
    seen: set[str] = set()
    out = []
    for n in names:
        if n is not None and n.casefold() not in seen:
            seen.add(n.casefold())
            out.append(NamedRegion(n, None, "keywords", "face", app))
    return out


def packet_names(
    data: bytes, upright: tuple[int, int], orientation: int = 1
) -> tuple[list[NamedRegion], list[NamedRegion]]:
    """(regions, keyword names) of one XMP packet; raises safe_xml.UnsafeXML."""
    props = parse_packet(data)
    app = writer_app(props)
    regions = mwg_regions(props, upright, orientation, app)
    regions += mp_regions(props, upright, orientation, app)
    return regions, keyword_names(props, app)
