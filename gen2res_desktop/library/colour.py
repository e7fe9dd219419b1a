"""Colour for a restored black-and-white print, on request: the last step of a restore.

The colouriser runs on the finished restoration (print repaired, faces regenerated and
kept on the print's tone line), so skin and eye colour come from the colouriser like
everything else, and the lightness of every pixel is the restored print's. For a library
photo the coloured image is recorded as a restoration of its own, its settings marked
``"colourised"`` (which model, which monochrome restoration it was made from), so the
monochrome restoration stays beside it. No database column is involved: the mark lives in
the restoration's settings JSON, and so does the colour strength chosen in Compare (0..1,
the chroma scaled in Lab over the monochrome restoration's lightness), which export uses.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import load_rgb
from gen2res_desktop.core.photo import tone
from gen2res_desktop.core.photo.learned import ModelSource
from gen2res_desktop.core.photo.settings import AUTO, OFF
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress
from gen2res_desktop.library.models import Restoration
from gen2res_desktop.library.store import Library

TASK = "colour"
MARK = "colourised"  # the key of a colourised restoration's settings
STRENGTH = "strength"  # in the mark: the colour strength chosen in Compare (absent: 1)


@dataclass
class Colourised:
    image: Image.Image
    model: str
    sha256: str
    seconds: float


def no_colouriser() -> Gen2ResError:
    return Gen2ResError(
        "No colouriser is installed, so the photo cannot be given colour.",
        app="Download the colouriser in Models (Photo models), then restore again.",
        cli="Run 'gen2res models download ddcolor', or give --colourise off.",
    )


def pick_colouriser(choice: str, models: ModelSource) -> str | None:
    """The installed colouriser ``choice`` names (``auto``: the first one), None for ``off``;
    Gen2ResError, before any long work starts, when it is not installed."""
    if choice == OFF:
        return None
    installed = models.installed(TASK)
    if choice == AUTO:
        if not installed:
            raise no_colouriser()
        return installed[0]
    if choice not in installed:
        raise Gen2ResError(
            f"No colouriser named '{choice}' is installed"
            f"{' (installed: ' + ', '.join(installed) + ')' if installed else ''}.",
            app="Choose another in Restore options, or download one in Models.",
            cli="Give --colourise auto, off, or the name of an installed colouriser.",
        )
    return choice


def colourise_image(
    image: Image.Image,
    name: str,
    models: ModelSource,
    *,
    original: Image.Image | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Colourised | None:
    """``image`` in colour by colouriser ``name``; None when the photo (``original``, the
    scan before any repair, else ``image``) is already in colour: the colouriser is for
    black-and-white and toned prints. Only the lightness of ``image`` is used, so whatever
    chroma it carries (a sepia tone) is replaced, never mixed in."""
    rgb = np.asarray(image.convert("RGB"))
    scan = rgb if original is None else np.asarray(original.convert("RGB"))
    if not tone.is_monochrome(scan):
        return None
    model = models.load(name)
    if model.task != TASK:
        raise Gen2ResError(f"The photo model '{name}' is not a colouriser.")
    t0 = time.perf_counter()
    out = model.run(rgb, progress=progress, cancel=cancel or CancelToken())
    return Colourised(
        Image.fromarray(out, "RGB"), model.name, model.sha256, time.perf_counter() - t0
    )


def already_in_colour() -> Gen2ResError:
    return Gen2ResError("The photo is already in colour, so it was not colourised.")


def record_colourised(lib: Library, monochrome: Restoration, colour: Colourised) -> Restoration:
    """Record ``colour`` as a restoration beside ``monochrome`` (which stays), with the
    same subject, adapter, seed and face scores (the faces are the same faces)."""
    out = lib.restoration_path_for(monochrome.photo_id, monochrome.seed)
    out = out.with_name(f"{out.stem}-colour{out.suffix}")
    with atomic_path(out) as tmp:
        colour.image.save(tmp, format="PNG")
    settings = dict(monochrome.settings)
    settings[MARK] = {
        "model": colour.model,
        "model_sha256": colour.sha256,
        "from_restoration": monochrome.id,
        "seconds": round(colour.seconds, 3),
    }
    return lib.add_restoration(
        monochrome.photo_id,
        monochrome.subject,
        monochrome.adapter_id,
        settings,
        monochrome.seed,
        out,
        monochrome.identity_scores,
    )


def is_colourised(restoration: Restoration) -> bool:
    return isinstance(restoration.settings.get(MARK), dict)


def colourised_from(restoration: Restoration) -> int | None:
    """The id of the monochrome restoration a colourised one was made from."""
    mark = restoration.settings.get(MARK)
    source = mark.get("from_restoration") if isinstance(mark, dict) else None
    return source if isinstance(source, int) else None


def colour_strength(restoration: Restoration) -> float:
    """The colour strength (0..1) chosen for a colourised restoration; 1 until one is."""
    mark = restoration.settings.get(MARK)
    value = mark.get(STRENGTH, 1.0) if isinstance(mark, dict) else 1.0
    try:
        return min(max(float(value), 0.0), 1.0)
    except (TypeError, ValueError):
        return 1.0


def set_colour_strength(lib: Library, restoration_id: int, strength: float) -> Restoration:
    """Keep ``strength`` (0..1) with a colourised restoration, for Compare and export."""
    strength = round(min(max(float(strength), 0.0), 1.0), 3)

    def change(settings: dict) -> dict:
        mark = settings.get(MARK)
        if not isinstance(mark, dict):
            raise Gen2ResError(f"Restoration {restoration_id} is not a colourised one.")
        settings[MARK] = {**mark, STRENGTH: strength}
        return settings

    return lib.update_restoration_settings(restoration_id, change)


@dataclass
class ColourPair:
    """A colourised restoration and the monochrome one it was made from (None: deleted)."""

    colour: Restoration
    monochrome: Restoration | None


def colour_pair(lib: Library, restoration: Restoration) -> ColourPair | None:
    """The colour pair ``restoration`` belongs to (as the colourised one or as the one it
    was made from, the newest colourised one then); None when it has no colour."""
    if is_colourised(restoration):
        mono = None
        source = colourised_from(restoration)
        if source is not None:
            with contextlib.suppress(Gen2ResError):
                mono = lib.get_restoration(source)
        return ColourPair(restoration, mono)
    for other in lib.list_restorations(restoration.photo_id):  # newest first
        if is_colourised(other) and colourised_from(other) == restoration.id:
            return ColourPair(other, restoration)
    return None


def restored_image(lib: Library, restoration: Restoration) -> Image.Image:
    """A restoration's image as it is exported: a colourised one at its colour strength."""
    image = load_rgb(restoration.path)
    strength = colour_strength(restoration)
    if not is_colourised(restoration) or strength >= 1.0:
        return image
    from gen2res_desktop.core.photo.colourise import with_strength  # torch: only when needed

    grey = None
    pair = colour_pair(lib, restoration)
    if pair is not None and pair.monochrome is not None:
        with contextlib.suppress(Gen2ResError, OSError):
            grey = np.asarray(load_rgb(pair.monochrome.path))
    return Image.fromarray(with_strength(np.asarray(image), grey, strength), "RGB")
