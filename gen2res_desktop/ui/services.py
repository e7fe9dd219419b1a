"""The library calls the window makes for one-click restore, face finding, the damage map
and photo models, in one place.

``restore_library_photo`` has the signature the lead planned for
``core/restore_service.restore_library_photo`` (plus ``crop`` for pets,
``single_photo`` once the user has agreed to the slow mode, and the whole-photo ``repair``
options and ``faces`` switch); it runs the library's ``restore_whole_photo``, which the
CLI's restore uses too. If a core restore service lands, only the body of this one
function changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.photo import models as photo_models
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.core.sampling import RestoreSettings
from gen2res_desktop.library.models import Restoration
from gen2res_desktop.library.store import Library

log = logging.getLogger(__name__)


def restore_library_photo(
    lib: Library,
    photo_id: int,
    *,
    subject: str | None = None,
    settings: RestoreSettings,
    device: str | None = None,
    runtime: str = "auto",
    crop: tuple[int, int, int] | None = None,
    single_photo: bool = False,
    repair: RepairSettings | None = None,
    faces: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Restoration:
    """Repair the whole photo, then restore every face (or the pet's crop box) and record
    the result (the colourised one, when the options ask for colour).

    ``repair`` None uses the library's saved restore options; ``faces`` False repairs the
    print only (no subject or prior needed). Faces whose subject has no ready adapter need
    ``single_photo`` (the window asks first).
    """
    # the first restore loads the engine (torch and the photo model readers): seconds on a
    # CPU, so say so rather than sit at "Starting…"
    progress(Progress("loading", 0, 1, "Getting the restoring tools ready"))
    from gen2res_desktop.core.pipeline import SingleOptions
    from gen2res_desktop.library.restore import restore_whole_photo

    result = restore_whole_photo(
        lib,
        photo_id,
        subject=subject,
        settings=settings,
        single=SingleOptions() if single_photo else None,
        crop=crop,
        device=device,
        runtime=runtime,
        repair=repair,
        faces=faces,
        progress=friendly_progress(progress),
        cancel=cancel,
    )
    if result.restoration is None:
        raise Gen2ResError("The restored photo was not recorded in the library.")
    # with colour asked for, the colourised restoration is the one to show; the
    # black-and-white one is kept beside it in the photo's restorations
    return result.colour_restoration or result.restoration


# What each repair stage is doing, for reports that only say how far along it is.
STAGE_MESSAGES = {
    "damage": "Finding scratches and dust",
    "inpaint": "Filling scratches and dust",
    "denoise": "Reducing grain and noise",
    "upscale": "Enlarging the photo",
    "colour": "Correcting fading and colour",
    "colourise": "Adding colour",
}
FACES_OPTION = "restore.faces"


def friendly_progress(progress: ProgressCallback) -> ProgressCallback:
    """Reports of the repair stages carry a sentence the jobs panel can show (the stages
    report tile counts, or "denoise: done"); the stage names stay as they are."""

    def report(p: Progress) -> None:
        words = STAGE_MESSAGES.get(p.stage)
        if words is not None:
            done = p.total > 0 and p.step >= p.total
            p = Progress(p.stage, p.step, p.total, f"{words}: done" if done else words, p.loss)
        progress(p)

    return report


def restore_faces_option(lib: Library) -> bool:
    """Whether Restore regenerates the faces after repairing the photo (kept per library)."""
    return bool(lib.get_setting(FACES_OPTION, True))


def set_restore_faces_option(lib: Library, on: bool) -> None:
    lib.set_setting(FACES_OPTION, bool(on))


def detect_photo_damage(
    lib: Library,
    photo_id: int,
    *,
    sensitivity: float = 0.5,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The automatic damage map of a library photo (uint8, 255 = damaged, photo-sized as
    displayed), for the damage map editor: the detector the restore options choose, kept
    off the faces' features as a restore keeps it; run it on a runner, a big scan takes
    seconds."""
    from gen2res_desktop.core.photo.damage_finding import find_damage
    from gen2res_desktop.library.faces import stored_detected_faces
    from gen2res_desktop.library.restore_engines import photo_models

    cancel = cancel or CancelToken()
    rgb = np.asarray(lib.load_photo_rgb(photo_id))
    stored = lib.list_faces(photo_id=photo_id)
    cancel.check()
    return find_damage(
        rgb,
        detector=lib.repair_settings().damage_detector,
        sensitivity=sensitivity,
        faces=stored_detected_faces(stored) if stored else None,
        models=photo_models(lib, None),
        progress=progress,
        cancel=cancel,
    ).mask


# -- photo models (the repair stages' learned models) ---------------------------------------


def installed_photo_models(home: Path) -> list[photo_models.PhotoModelInfo]:
    """The installed photo models; none if the list cannot be read (the reason is logged,
    and the built-in methods still work)."""
    try:
        return photo_models.PhotoModelRegistry(home).list()
    except (Gen2ResError, OSError) as e:
        log.warning("photo models: %s", e)
        return []


def import_photo_model(
    home: Path,
    path: Path,
    name: str | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> photo_models.PhotoModelInfo:
    """Install a photo model file (recognised, checked and converted by the core)."""
    return photo_models.PhotoModelRegistry(home).import_file(
        Path(path), name or None, progress=progress, cancel=cancel
    )


def download_photo_model(
    home: Path,
    name: str,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> photo_models.PhotoModelInfo:
    """Download and install a catalogue photo model (looked up when called, so tests can
    replace the core's function)."""
    return photo_models.download_photo_model(name, home=home, progress=progress, cancel=cancel)


@dataclass
class FaceScan:
    photos: int = 0
    faces: int = 0
    failed: list[str] = field(default_factory=list)


def find_faces(
    lib: Library,
    photo_ids: Sequence[int],
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FaceScan:
    """Detect and store the faces of each photo with a suggested subject for each face.

    A photo that cannot be read is noted and skipped; the others go on.
    """
    from gen2res_desktop.library.faces import detect_library_photo

    cancel = cancel or CancelToken()
    scan = FaceScan()
    for i, pid in enumerate(photo_ids):
        cancel.check()
        try:
            stored = detect_library_photo(lib, pid)[3]
        except Gen2ResError as e:
            log.warning("faces of photo %s: %s", pid, e)
            scan.failed.append(str(e))
        else:
            scan.photos += 1
            scan.faces += len(stored)
        progress(Progress("faces", i + 1, len(photo_ids), f"photo {i + 1} of {len(photo_ids)}"))
    return scan


# -- restoring an album in one job -----------------------------------------------------------


@dataclass(frozen=True)
class BatchPhoto:
    """One photo of an album restore: whose faces it restores and the crop box, if any."""

    photo_id: int
    name: str
    subject: str | None
    crop: tuple[int, int, int] | None = None
    faces: bool = True


@dataclass
class BatchResult:
    subject: str
    total: int
    restored: list[Restoration] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # photo name, why
    # repaired, but no face regenerated: photo name, why
    without_faces: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        done = len(self.restored)
        text = f"Restored {done} of {self.total} photo{'s' if self.total != 1 else ''} for {self.subject}."
        if self.without_faces:
            text += " Repaired, but no face regenerated:\n" + "\n".join(
                f"• {n}: {why}" for n, why in self.without_faces
            )
        if self.failed:
            text += ("\n" if self.without_faces else " ") + "Not restored:\n"
            text += "\n".join(f"• {n}: {why}" for n, why in self.failed)
        return text


def restore_batch(
    lib: Library,
    photos: Sequence[BatchPhoto],
    *,
    subject: str,
    settings: RestoreSettings,
    device: str | None = None,
    runtime: str = "auto",
    repair: RepairSettings | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BatchResult:
    """Restore photos one after another as one job; a photo that fails is noted and the
    others go on. A cancel stops the batch; the photos restored before it are kept."""
    cancel = cancel or CancelToken()
    result = BatchResult(subject=subject, total=len(photos))
    for i, photo in enumerate(photos):
        cancel.check()

        def report(p: Progress, i: int = i, name: str = photo.name) -> None:
            words = f": {p.message}" if p.message else ""
            progress(
                Progress("batch", i, len(photos), f"Photo {i + 1} of {len(photos)}, {name}{words}")
            )

        try:
            restored = restore_library_photo(
                lib,
                photo.photo_id,
                subject=photo.subject if photo.faces else None,
                settings=settings,
                device=device,
                runtime=runtime,
                crop=photo.crop,
                repair=repair,
                faces=photo.faces,
                progress=report,
                cancel=cancel,
            )
        except Cancelled:
            raise
        except Gen2ResError as e:
            log.warning("album restore, %s: %s", photo.name, e)
            result.failed.append((photo.name, str(e)))
        else:
            result.restored.append(restored)
            note = restored.settings.get("faces_note")
            if note:
                result.without_faces.append((photo.name, str(note)))
        progress(Progress("batch", i + 1, len(photos), f"Photo {i + 1} of {len(photos)} done"))
    return result
