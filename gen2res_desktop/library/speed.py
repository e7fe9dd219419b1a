"""This machine's measured step times, kept with the library per device, and the job
estimates made from them (see ``core.estimates``)."""

from __future__ import annotations

import logging

from gen2res_desktop.core.estimates import StepTimes, restore_seconds, train_seconds
from gen2res_desktop.core.progress import CancelToken, ProgressCallback, no_progress
from gen2res_desktop.library.store import Library

log = logging.getLogger(__name__)


def _key(device: str | None) -> str:
    return f"speed.{device or 'auto'}"


def step_times(lib: Library, device: str | None) -> StepTimes | None:
    """The step times measured on ``device`` (None: never measured)."""
    return StepTimes.from_json(lib.get_setting(_key(device)))


def save_step_times(lib: Library, device: str | None, times: StepTimes) -> None:
    lib.set_setting(_key(device), times.to_json())


def record_training_speed(lib: Library, device: str | None, seconds_per_step: float) -> None:
    """A finished training's real pace replaces the measured guess for later estimates."""
    known = step_times(lib, device)
    if known is None or not 0 < seconds_per_step < 3600:
        return
    save_step_times(lib, device, StepTimes(known.denoise_s, seconds_per_step))


def measure_library_speed(
    lib: Library,
    device: str | None,
    *,
    runtime: str = "auto",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> StepTimes:
    """Time the library's face prior on ``device`` (denoising on the CPU engine restores
    will use, converting the prior for it once) and keep the result."""
    from gen2res_desktop.core.estimates import measure_step_times
    from gen2res_desktop.core.paths import runtimes_dir
    from gen2res_desktop.core.priors import PriorRegistry, load_prior
    from gen2res_desktop.core.runtimes import FastCpu, accelerate

    prior = load_prior(PriorRegistry(lib.home).for_kind("face"), device)
    prior = accelerate(
        prior, FastCpu(runtimes_dir(lib.home), runtime), progress=progress, cancel=cancel
    )
    times = measure_step_times(prior, progress=progress, cancel=cancel)
    save_step_times(lib, device, times)
    log.info("step times on %s: %s", device or "auto", times)
    return times


def training_estimate(lib: Library, device: str | None, steps: int) -> float | None:
    times = step_times(lib, device)
    return None if times is None else train_seconds(times, steps)


def photo_estimate(
    lib: Library,
    device: str | None,
    photo_id: int,
    *,
    steps: int | None,
    strength: int,
    faces: bool = True,
    single_photo: bool = False,
) -> float | None:
    """Seconds to restore one library photo (None until this machine has been measured)."""
    times = step_times(lib, device)
    if times is None:
        return None
    photo = lib.get_photo(photo_id)
    megapixels = photo.width * photo.height / 1e6
    if not faces:
        return restore_seconds(times, faces=0, megapixels=megapixels)
    # a photo not yet scanned for faces, or a pet's crop box, restores one region
    count = max(1, len(lib.list_faces(photo_id=photo_id)))
    return restore_seconds(
        times,
        faces=count,
        steps=steps,
        strength=strength,
        megapixels=megapixels,
        single_photo=single_photo,
    )
