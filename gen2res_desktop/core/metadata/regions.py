"""Named regions: a person's (or pet's) name with where they are in the upright photo.

Every reader turns what it found into :class:`NamedRegion` records in one frame: pixels of
the photo as it is shown (EXIF orientation applied), ``box`` = (x, y, w, h). The files
store normalised rectangles in other frames; the conversions live here so that each
reader and the writer agree on them.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

Box = tuple[int, int, int, int]

# Where a name came from; the labels are what the app and the command line show.
SOURCE_LABELS: dict[str, str] = {
    "mwg": "XMP face regions (digiKam, Lightroom, Immich…)",
    "mp": "Windows Photo Gallery regions",
    "keywords": "people keywords",
    "picasa": "Picasa",
}
SHORT_LABELS: dict[str, str] = {
    "mwg": "XMP regions",
    "mp": "Windows Photo Gallery",
    "keywords": "keywords",
    "picasa": "Picasa",
}

# Longest name kept (the library's own limit for subject names).
MAX_NAME = 100
# Smaller rectangles (in pixels of the upright photo) are not faces anyone could restore.
MIN_REGION_PIXELS = 8
_FORBIDDEN = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


@dataclass(frozen=True)
class NamedRegion:
    """``box`` is None for a name without a rectangle (a people keyword)."""

    name: str
    box: Box | None
    source: str  # a key of SOURCE_LABELS
    kind: str = "face"  # "face" or "pet" (MWG's Type=Pet)
    # the application that wrote it, when the file says (digiKam, Lightroom…), else ""
    app: str = ""


def clean_name(raw: object) -> str | None:
    """A name fit to become a subject's, or None: the rules the library applies to subject
    names (no control or invisible characters, at most 100 characters), whitespace folded."""
    if not isinstance(raw, str):
        return None
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name or len(name) > MAX_NAME:
        return None
    if any(unicodedata.category(c) in _FORBIDDEN for c in name):
        return None
    return name


def stored_size(upright: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size of the pixels as stored in the file, from the size as shown."""
    w, h = upright
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _point_upright(u: float, v: float, orientation: int) -> tuple[float, float]:
    # (u, v) normalised in the stored frame -> normalised in the shown frame, the way
    # ImageOps.exif_transpose turns the pixels (TIFF/EXIF orientation values 1..8)
    return {
        2: (1 - u, v),
        3: (1 - u, 1 - v),
        4: (u, 1 - v),
        5: (v, u),
        6: (1 - v, u),
        7: (1 - v, 1 - u),
        8: (v, 1 - u),
    }.get(orientation, (u, v))


def _point_stored(x: float, y: float, orientation: int) -> tuple[float, float]:
    inverse = {6: 8, 8: 6}.get(orientation, orientation)  # the others undo themselves
    return _point_upright(x, y, inverse)


def normalised_to_upright(
    rect: tuple[float, float, float, float],
    upright: tuple[int, int],
    orientation: int = 1,
) -> Box | None:
    """(left, top, right, bottom) normalised to the stored frame -> a pixel box of the
    upright photo, clipped to it; None when nothing of it is left or it is too small."""
    if not all(math.isfinite(v) for v in rect):
        return None
    # partly off the photo is clipped (applications let a box overhang the edge)
    left, top = max(0.0, rect[0]), max(0.0, rect[1])
    right, bottom = min(1.0, rect[2]), min(1.0, rect[3])
    if right <= left or bottom <= top:
        return None
    a = _point_upright(left, top, orientation)
    b = _point_upright(right, bottom, orientation)
    w, h = upright
    x0, x1 = sorted((a[0], b[0]))
    y0, y1 = sorted((a[1], b[1]))
    px0, py0 = round(x0 * w), round(y0 * h)
    px1, py1 = round(x1 * w), round(y1 * h)
    if px1 - px0 < MIN_REGION_PIXELS or py1 - py0 < MIN_REGION_PIXELS:
        return None
    return (px0, py0, px1 - px0, py1 - py0)


def upright_to_normalised(
    box: Box, upright: tuple[int, int], orientation: int = 1
) -> tuple[float, float, float, float]:
    """A pixel box of the upright photo -> (left, top, right, bottom) normalised to the
    stored frame: the inverse of :func:`normalised_to_upright`."""
    x, y, bw, bh = box
    w, h = upright
    a = _point_stored(x / w, y / h, orientation)
    b = _point_stored((x + bw) / w, (y + bh) / h, orientation)
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def centre_inside(inner: Box, outer: Box) -> bool:
    cx, cy = inner[0] + inner[2] / 2, inner[1] + inner[3] / 2
    return outer[0] <= cx <= outer[0] + outer[2] and outer[1] <= cy <= outer[1] + outer[3]


def same_face(a: Box, b: Box) -> bool:
    """Whether two rectangles frame the same face. Applications frame faces differently
    (dlib tightly around eyes and mouth, digiKam and Picasa with hair and chin), so a
    rectangle whose centre lies inside the other and of a comparable size counts too."""
    if iou(a, b) >= 0.3:
        return True
    ratio = (a[2] * a[3]) / max(1, b[2] * b[3])
    return 1 / 6 <= ratio <= 6 and (centre_inside(a, b) or centre_inside(b, a))


def merge_regions(found: list[NamedRegion]) -> list[NamedRegion]:
    """One region per person and place: the first source wins (the callers list the most
    precise first), a keyword name is dropped when a rectangle already names that person."""
    kept: list[NamedRegion] = []
    for r in found:
        key = r.name.casefold()
        if r.box is None:
            if any(k.name.casefold() == key for k in kept):
                continue
        elif any(
            k.name.casefold() == key and k.box is not None and same_face(k.box, r.box) for k in kept
        ):
            continue
        kept.append(r)
    # a keyword listed before the rectangle that names the same person goes too
    boxed = {k.name.casefold() for k in kept if k.box is not None}
    return [k for k in kept if k.box is not None or k.name.casefold() not in boxed]


def found_text(counts: dict[str, int]) -> str:
    """'3 faces (XMP regions 2, Picasa 1) and 1 people keyword': an import's names in words."""
    faces = {k: v for k, v in counts.items() if k != "keywords" and v}
    parts = []
    if faces:
        total = sum(faces.values())
        where = ", ".join(
            f"{SHORT_LABELS.get(k, k)} {v}" for k, v in sorted(faces.items(), key=lambda kv: -kv[1])
        )
        parts.append(f"{total} face{'' if total == 1 else 's'} ({where})")
    if counts.get("keywords"):
        n = counts["keywords"]
        parts.append(f"{n} people keyword{'' if n == 1 else 's'}")
    return " and ".join(parts)
