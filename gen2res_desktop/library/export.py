"""Exporting a restoration at full resolution, with the original's EXIF and colour profile."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from gen2res_desktop.core.atomic import atomic_path, refuse_existing
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.colour import restored_image
from gen2res_desktop.library.export_xmp import XmpExport
from gen2res_desktop.library.store import Library

_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
_TAG_ORIENTATION = 0x0112
_TAG_EXIF_IFD = 0x8769
_TAG_GPS_IFD = 0x8825
# IFD0 tags that describe the photo rather than how the original file's pixels were laid
# out (a TIFF original's strip offsets and bit depths mean nothing in the exported file).
_DESCRIPTIVE_TAGS = {
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    0x011A,  # XResolution
    0x011B,  # YResolution
    0x0128,  # ResolutionUnit
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x8298,  # Copyright
}
# Exif IFD tags that would be wrong after a restoration: pixel dimensions, and the maker
# note, whose internal offsets break when it moves.
_DROPPED_EXIF_TAGS = {0xA002, 0xA003, 0x927C}


def _exif_for_export(original: Image.Image) -> Image.Exif | None:
    try:
        src = original.getexif()
        exif_ifd = dict(src.get_ifd(_TAG_EXIF_IFD))
        gps_ifd = dict(src.get_ifd(_TAG_GPS_IFD))
    except Exception:  # noqa: BLE001 - unreadable EXIF: export without it rather than fail
        return None
    out = Image.Exif()
    for tag, value in src.items():
        if tag in _DESCRIPTIVE_TAGS:
            out[tag] = value
    # The exported pixels are already upright.
    out[_TAG_ORIENTATION] = 1
    kept = {k: v for k, v in exif_ifd.items() if k not in _DROPPED_EXIF_TAGS}
    if kept:
        out.get_ifd(_TAG_EXIF_IFD).update(kept)
    if gps_ifd:
        out.get_ifd(_TAG_GPS_IFD).update(gps_ifd)
    return out


def _rgb_icc_profile(original: Image.Image) -> bytes | None:
    """The original's ICC profile, if it describes RGB (a CMYK profile would be wrong)."""
    icc = original.info.get("icc_profile")
    if isinstance(icc, bytes) and len(icc) >= 20 and icc[16:20] == b"RGB ":
        return icc
    return None


def make_side_by_side(before: Image.Image, after: Image.Image, gap: int = 16) -> Image.Image:
    """Before on the left, after on the right, at the restoration's height."""
    h = after.height
    if before.height != h:
        before = before.resize(
            (max(1, round(before.width * h / before.height)), h), Image.Resampling.LANCZOS
        )
    canvas = Image.new("RGB", (before.width + gap + after.width, h), (255, 255, 255))
    canvas.paste(before, (0, 0))
    canvas.paste(after, (before.width + gap, 0))
    return canvas


def export_restoration(
    lib: Library,
    restoration_id: int,
    out: Path,
    *,
    side_by_side: bool = False,
    overwrite: bool = False,
    xmp: str = "embed",
) -> Path:
    """Write a restoration to ``out`` (.jpg/.jpeg/.png); refuses to replace a file unless asked.

    ``xmp``: where the people, the description and the original's date go (``embed``,
    ``sidecar`` as ``out.xmp``, ``both`` or ``off``; see :mod:`library.export_xmp`).
    """
    out = Path(out)
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise Gen2ResError(f"{out.name}: export as .jpg or .png.")
    if out.is_dir():
        raise Gen2ResError(f"{out} is a folder; give a file name ending in .jpg or .png.")
    refuse_existing(out, overwrite=overwrite)
    xmp_out = XmpExport(out, xmp, overwrite=overwrite)
    restoration = lib.get_restoration(restoration_id)
    photo = lib.get_photo(restoration.photo_id)
    if not restoration.path.is_file():
        raise Gen2ResError(
            f"The restored image of restoration {restoration_id} is missing.",
            app="Restore the photo again.",
            cli="Run 'gen2res library check'.",
        )
    image = restored_image(lib, restoration)  # a colourised one at its colour strength
    if side_by_side:
        image = make_side_by_side(lib.load_photo_rgb(photo), image)
    try:
        with Image.open(lib.photo_path(photo)) as original:
            exif = _exif_for_export(original)
            icc = _rgb_icc_profile(original)
    except OSError as e:
        raise Gen2ResError(
            f"Cannot read the library's copy of {photo.original_name} for its EXIF data ({e}).",
            app="Delete it from the library and import the photo again.",
            cli="Run 'gen2res library check'.",
        ) from e
    options: dict = {}
    if exif is not None:
        options["exif"] = exif
    if icc is not None:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    options.update(xmp_out.options(lib, restoration, photo, fmt, image.size, side_by_side))
    try:
        # The existence check above stands in for atomic_path(overwrite=False), whose
        # hard link is not supported by FAT-formatted memory cards and USB sticks.
        with atomic_path(out) as tmp:
            image.save(tmp, fmt, **options)
    except OSError as e:
        raise Gen2ResError(f"Cannot write {out} ({e.strerror or e}).") from e
    xmp_out.finish(photo.taken)  # the sidecar, and the date taken as the file's date
    return out
