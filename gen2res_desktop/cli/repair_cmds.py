"""The photo-repair options of ``gen2res restore`` and the ``gen2res damage`` command."""

from __future__ import annotations

import argparse
from pathlib import Path

from gen2res_desktop.cli.output import print_json
from gen2res_desktop.core.atomic import refuse_existing
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo.settings import (
    AUTO,
    MONOCHROME_CHOICES,
    OFF,
    OPENCV,
    UPSCALE_FACTORS,
    RepairSettings,
)

_ON_OFF = ("on", "off")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def add_repair_arguments(p: argparse.ArgumentParser) -> None:
    """Options for the whole-photo repair that runs before the faces are restored."""
    d = RepairSettings()
    g = p.add_argument_group(
        "whole-photo repair",
        "Before its faces are regenerated, the photo itself is repaired: scratches and dust "
        "found and filled, grain and blur reduced, fading and colour cast corrected.",
    )
    g.add_argument("--scratches", choices=_ON_OFF, default="on", help="find and fill damage")
    g.add_argument(
        "--scratch-sensitivity", type=_fraction, default=d.scratch_sensitivity, metavar="0..1"
    )
    g.add_argument(
        "--damage-detector",
        default=AUTO,
        metavar="auto|opencv|MODEL",
        help="what finds the damage (auto: an installed damage-detection model, else the "
        "built-in OpenCV detector); either way faces' eyes, noses and mouths are left alone",
    )
    g.add_argument(
        "--inpaint",
        default=AUTO,
        metavar="auto|opencv|MODEL",
        help="how damage is filled (auto: an installed inpainting model, else OpenCV)",
    )
    g.add_argument("--denoise", default=OPENCV, metavar="opencv|MODEL|off")
    g.add_argument("--denoise-strength", type=_fraction, default=d.denoise_strength, metavar="0..1")
    g.add_argument("--sharpen", type=_fraction, default=d.sharpen, metavar="0..1")
    g.add_argument("--upscale", type=int, choices=UPSCALE_FACTORS, default=1)
    g.add_argument("--upscale-model", metavar="MODEL", help="(default: OpenCV Lanczos)")
    g.add_argument("--colour", choices=("auto", "off"), default="auto", help="fading and cast")
    g.add_argument("--colour-strength", type=_fraction, default=d.colour_strength, metavar="0..1")
    g.add_argument(
        "--monochrome",
        choices=MONOCHROME_CHOICES,
        default=d.monochrome,
        help="a black-and-white or sepia photo: keep its tint, make it neutral, or treat as colour",
    )
    g.add_argument(
        "--mask", type=Path, metavar="FILE", help="a damage map you painted (white = damaged)"
    )
    g.add_argument("--mask-out", type=Path, metavar="FILE", help="write the damage map used")
    g.add_argument("--faces", choices=_ON_OFF, default="on", help="off: repair the photo only")
    g.add_argument(
        "--colourise",
        default=OFF,
        metavar="MODEL|auto|off",
        help="add colour to a black-and-white photo with a colouriser, after the faces; the "
        "colour result is kept beside the black-and-white one (a file: OUT-colour.png)",
    )


def repair_settings(args: argparse.Namespace) -> RepairSettings:
    if args.upscale_model and args.upscale == 1:
        raise Gen2ResError("--upscale-model needs --upscale 2 or 4.")
    if args.mask is not None and args.scratches == "off":
        raise Gen2ResError("--mask gives a damage map to fill; it cannot go with --scratches off.")
    return RepairSettings(
        scratches=args.scratches == "on",
        scratch_sensitivity=args.scratch_sensitivity,
        damage_detector=args.damage_detector,
        inpaint=args.inpaint,
        denoise=args.denoise,
        denoise_strength=args.denoise_strength,
        sharpen=args.sharpen,
        upscale=args.upscale,
        upscale_model=args.upscale_model,
        colour=args.colour == "auto",
        colour_strength=args.colour_strength,
        monochrome=args.monochrome,
        colourise=args.colourise,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "damage",
        help="write the damage map (scratches, dust, cracks) of a photo",
        description="Find the scratches, dust and cracks in a photo (file or library photo id) "
        "and write them as a black-and-white map: white where the print is damaged. Edit it "
        "in any paint program and give it back with 'gen2res restore --mask'.",
    )
    p.add_argument("input", metavar="PHOTO_ID|FILE")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--sensitivity", type=_fraction, default=RepairSettings().scratch_sensitivity)
    p.add_argument(
        "--damage-detector",
        default=AUTO,
        metavar="auto|opencv|MODEL",
        help="auto: an installed damage-detection model, else the built-in OpenCV detector",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_damage)


def is_library_id(target: str) -> bool:
    """A photo's number in the library (ASCII digits, not a file of that name)."""
    return target.isascii() and target.isdigit() and not Path(target).is_file()


def cmd_damage(args: argparse.Namespace) -> int:
    import numpy as np

    from gen2res_desktop.cli.output import TerminalProgress
    from gen2res_desktop.core.images import load_rgb
    from gen2res_desktop.core.photo.damage_finding import find_damage
    from gen2res_desktop.core.photo.repair import check_photo
    from gen2res_desktop.core.photo.spandrel_models import PhotoModelCache
    from gen2res_desktop.library.tables.photos import write_damage_map

    target = str(args.input)
    faces = None
    if is_library_id(target):
        from gen2res_desktop.library.faces import stored_detected_faces
        from gen2res_desktop.library.store import Library

        with Library.open() as lib:
            image = lib.load_photo_rgb(int(target))
            stored = lib.list_faces(photo_id=int(target))
            faces = stored_detected_faces(stored) if stored else None
            home = lib.home
    else:
        from gen2res_desktop.core.paths import library_home

        image = load_rgb(target)
        home = library_home()
    out: Path = args.out
    refuse_existing(out, overwrite=args.overwrite)
    if not is_library_id(target) and out.resolve() == Path(target).resolve():
        raise Gen2ResError("--out names the photo itself; choose another file for the map.")
    rgb = np.asarray(image)
    check_photo(rgb)
    bar = TerminalProgress()
    try:
        finding = find_damage(
            rgb,
            detector=args.damage_detector,
            sensitivity=args.sensitivity,
            faces=faces,
            models=PhotoModelCache(home, None),
            progress=bar,
        )
    finally:
        bar.close()
    mask = finding.mask
    write_damage_map(mask, out)
    fraction = float((mask > 0).mean())
    if args.json:
        print_json(
            {
                "out": str(out),
                "damaged_fraction": fraction,
                "size": list(image.size),
                "detector": finding.method,
                "faces_protected": finding.faces,
                "protected_pixels": finding.protected_pixels,
                "torn_fraction": finding.torn_pixels / mask.size,
            }
        )
    else:
        print(
            f"Damage map written to {out} ({fraction:.2%} of the photo marked as damaged, "
            f"found by the {_detector_words(finding.method)})."
        )
        if finding.torn_pixels:
            print(
                f"Torn corners where the paper is gone: {finding.torn_pixels / mask.size:.2%} "
                "of the photo, in the map."
            )
        if finding.faces:
            print(
                f"The eyes, noses and mouths of {finding.faces} face(s) were left out of the "
                "map; paint over them yourself if they are damaged."
            )
    return 0


def _detector_words(method: str) -> str:
    return "built-in detector" if method == OPENCV else f"photo model '{method}'"


def read_mask(path: Path):
    from gen2res_desktop.library.tables.photos import read_damage_map

    return read_damage_map(path)
