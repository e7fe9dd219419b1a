"""The library calls the window makes for one-click restore and face finding, in one place.

``restore_library_photo`` has the signature the lead planned for
``core/restore_service.restore_library_photo`` (plus ``crop`` for pets and
``single_photo`` once the user has agreed to the slow mode); it runs the library's
``restore_whole_photo``, which the CLI's restore uses too. If a core restore service
lands, only the body of this one function changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from gen2res_desktop.core.diffusion import RestoreSettings
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
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
    crop: tuple[int, int, int] | None = None,
    single_photo: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Restoration:
    """Restore every face (or the pet's crop box) of a library photo and record the result.

    Faces whose subject has no ready adapter need ``single_photo`` (the window asks first).
    """
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
        progress=progress,
        cancel=cancel,
    )
    if result.restoration is None:
        raise Gen2ResError("The restored photo was not recorded in the library.")
    return result.restoration


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
