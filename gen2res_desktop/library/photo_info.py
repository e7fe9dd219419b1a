"""What an imported photo is, read from its decoded image: its format, its size as shown
(EXIF orientation applied), and a summary of its EXIF (when it was taken, the camera),
kept in the ``photos`` table."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

# The suffix a stored original gets, by the format its bytes decoded as.
_EXTENSIONS = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "DIB": ".bmp",
    "WEBP": ".webp",
    "GIF": ".gif",
    "HEIF": ".heic",
    "AVIF": ".avif",
}
_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME = 0x0132
_TAG_SOFTWARE = 0x0131
_TAG_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003


@dataclass(frozen=True)
class Described:
    format: str
    mode: str
    width: int
    height: int
    taken: str | None
    exif: dict

    def suffix(self, fallback: str) -> str:
        """The stored file's suffix: the format's own, else ``fallback`` (the original's)."""
        return _EXTENSIONS.get(self.format, fallback)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _iso_date(exif_date: str | None) -> str | None:
    """'1987:06:05 14:30:00' -> '1987-06-05T14:30:00'; anything else is kept as written."""
    if not exif_date:
        return None
    parts = exif_date.split(" ", 1)
    if len(parts) == 2 and len(parts[0]) == 10 and parts[0][4] == ":" and parts[0][7] == ":":
        return parts[0].replace(":", "-") + "T" + parts[1]
    return exif_date


def describe(img: Image.Image) -> Described:
    """Format, mode, displayed size and an EXIF summary of a decoded image."""
    summary: dict[str, object] = {}
    orientation = 1
    taken = None
    try:
        exif = img.getexif()
        orientation = int(exif.get(_TAG_ORIENTATION, 1) or 1)
        sub = exif.get_ifd(_TAG_EXIF_IFD)
        taken = _iso_date(_text(sub.get(_TAG_DATETIME_ORIGINAL)) or _text(exif.get(_TAG_DATETIME)))
        for key, tag in (("make", _TAG_MAKE), ("model", _TAG_MODEL), ("software", _TAG_SOFTWARE)):
            value = _text(exif.get(tag))
            if value:
                summary[key] = value[:200]
    except Exception:  # noqa: BLE001 - a damaged EXIF block loses the summary, not the photo
        orientation = 1
    if orientation != 1:
        summary["orientation"] = orientation
    if taken:
        summary["taken"] = taken
    w, h = img.size
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return Described(img.format or "unknown", img.mode, w, h, taken, summary)
