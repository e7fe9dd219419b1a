"""Restore jobs as the app queues them: each one kept as a request that can be asked for
again, so what quitting, a logout or a crash cut short is offered at the next start, and
how long restoring a photo should take on this machine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.sampling import RestoreSettings
from gen2res_desktop.library.store import Library

if TYPE_CHECKING:
    from gen2res_desktop.core.estimates import StageEstimate

# The restore jobs queued or running in the app, kept while they wait or run: what is
# still here at the next start was cut short by quitting, a logout or a crash.
UNFINISHED_KEY = "restore.unfinished"


def restore_request(
    lib: Library,
    *,
    title: str,
    photos: Sequence[dict],
    settings: RestoreSettings,
    album: str | None = None,
) -> dict:
    """A restore job as it can be asked for again (JSON): ``photos`` are dicts with
    ``photo_id``, ``name``, ``subject``, ``crop``, ``faces`` and ``single_photo``; ``album``
    names the subject of a Restore all. Each photo notes its newest restoration, so the
    photos finished before a cut are not restored twice."""
    out = []
    for p in photos:
        newest = lib.list_restorations(int(p["photo_id"]))
        out.append({**p, "before": newest[0].id if newest else 0})
    return {"title": title, "album": album, "settings": asdict(settings), "photos": out}


def remember_unfinished_restores(lib: Library, requests: Sequence[dict]) -> None:
    lib.set_setting(UNFINISHED_KEY, list(requests))


def _still_to_do(lib: Library, photo: object, seed: int, album: bool) -> bool:
    if not isinstance(photo, dict) or not isinstance(photo.get("photo_id"), int):
        return False
    try:
        lib.get_photo(photo["photo_id"])
    except Gen2ResError:
        return False  # removed from the library since
    before = photo.get("before", 0)
    # an album restore makes one restoration per photo; a photo job one with its seed
    return not any(
        r.id > before and (album or r.seed == seed)
        for r in lib.list_restorations(photo["photo_id"])
    )


def unfinished_restores(lib: Library) -> list[dict]:
    """The restore requests cut short last time, less the photos restored since or
    removed (requests with none left are dropped); the kept list is cleared, so each is
    offered once."""
    kept = lib.get_setting(UNFINISHED_KEY, [])
    lib.set_setting(UNFINISHED_KEY, [])
    found = []
    for request in kept if isinstance(kept, list) else []:
        try:
            settings = RestoreSettings(**request["settings"])
            album = request.get("album")
            photos = [
                p
                for p in request["photos"]
                if _still_to_do(lib, p, settings.seed, album is not None)
            ]
            title = str(request["title"])
        except (KeyError, TypeError, ValueError):
            continue  # a damaged entry is as good as none
        if photos:
            found.append({**request, "title": title, "photos": photos})
    return found


def photo_plan(
    lib: Library,
    device: str | None,
    photo_id: int,
    *,
    steps: int | None,
    strength: int,
    faces: bool = True,
    single_photo: bool = False,
) -> tuple[StageEstimate, ...] | None:
    """The parts of restoring one library photo and how long each should take on this
    machine (None until its speed has been measured): see ``core.estimates.restore_plan``.
    A photo not yet scanned for faces, or a pet's crop box, restores one region."""
    from gen2res_desktop.core import defaults
    from gen2res_desktop.core.estimates import restore_plan
    from gen2res_desktop.library.speed import step_times

    times = step_times(lib, device)
    if times is None:
        return None
    photo = lib.get_photo(photo_id)
    count = max(1, len(lib.list_faces(photo_id=photo_id))) if faces else 0
    # the faces restore in the device's batches; an unnamed device is taken for the CPU
    # (asking torch would load it on the GUI thread for an estimate)
    gpu = device is not None and device != "cpu"
    return restore_plan(
        times,
        faces=count,
        steps=steps,
        strength=strength,
        megapixels=photo.width * photo.height / 1e6,
        single_photo=single_photo,
        batch=defaults.FACE_BATCH_GPU if gpu else defaults.FACE_BATCH_CPU,
    )
