"""Training a subject's adapter on its reference photos, recorded as a job and an adapter row."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.paths import checkpoint_path
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.library.models import AdapterRecord, Subject
from gen2res_desktop.library.store import Library

if TYPE_CHECKING:
    from gen2res_desktop.core.training import TrainOptions

MIN_REFERENCE_PHOTOS = 5
# Training images are shrunk to the prior's resolution anyway (256); keeping 20 full
# scans in memory until then would cost gigabytes.
_MAX_SIDE = 1024
_JOB_UPDATE_SECONDS = 1.0
# Fewer steps than this say more about start-up than about the pace of training.
_PACE_MIN_STEPS = 20


def training_crop(img: Image.Image) -> Image.Image:
    """The centred square of a photo, at most 1024 pixels a side."""
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    crop = img.crop((left, top, left + side, top + side))
    if side > _MAX_SIDE:
        crop = crop.resize((_MAX_SIDE, _MAX_SIDE), Image.Resampling.LANCZOS)
    return crop


def subject_training_images(
    lib: Library, subject: Subject | str, resolution: int | None = None
) -> list[Image.Image]:
    """One training image per usable reference photo.

    A person learns from the aligned face crop (at the prior's ``resolution``) of its face
    in each reference photo: the face confirmed as the subject, else the one suggested for
    it, else the photo's only face. A photo where no such face can be aligned is left out.
    A pet learns from the centre square of each reference photo, which the user frames.
    """
    subj = subject if isinstance(subject, Subject) else lib.get_subject(subject)
    images = []
    for photo in lib.list_photos(subject=subj.name, role="reference"):
        try:
            if subj.kind == "person":
                crop = _subject_face_crop(lib, photo.id, subj.name, resolution)
                if crop is not None:
                    images.append(crop)
            else:
                images.append(training_crop(lib.load_photo_rgb(photo)))
        except Gen2ResError:
            continue  # a missing or damaged copy is reported by `library check`
    return images


def _subject_face_crop(
    lib: Library, photo_id: int, subject: str, resolution: int | None
) -> Image.Image | None:
    from gen2res_desktop.core.faces import DetectedFace, align_face
    from gen2res_desktop.core.photo_restore import face_problem
    from gen2res_desktop.library.faces import photo_faces

    image, faces = photo_faces(lib, photo_id)
    chosen = (
        [f for f in faces if f.confirmed_subject == subject]
        or [f for f in faces if f.confirmed_subject is None and f.suggested_subject == subject]
        or (faces if len(faces) == 1 and faces[0].confirmed_subject is None else [])
    )
    if not chosen:
        return None
    f = chosen[0]
    face = DetectedFace(f.box, np.asarray(f.landmarks, dtype=float), 0.0, f.descriptor)
    if face_problem(face, image.size) is not None:
        return None
    return align_face(image, face, resolution or _MAX_SIDE).crop


def train_subject(
    lib: Library,
    subject: Subject | str,
    options: TrainOptions,
    *,
    device: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> AdapterRecord:
    """Train (or resume training) the subject's adapter on its reference photos.

    The adapter row is "training" while this runs, "ready" when done, "cancelled" when
    cancelled, "interrupted" when stopped by Ctrl+C or SIGTERM (KeyboardInterrupt; or, after
    a crash, see Library.open) and "failed" otherwise; the engine's checkpoint beside the
    adapter file lets the next call resume. A stopped run's ``steps_done`` never counts a
    step whose checkpoint was due but not written, so where it continues can be told from
    it (:func:`stopped_training`). Raises Cancelled.
    """
    # The engine pulls in torch and diffusers; commands that only list photos should not.
    from gen2res_desktop.core import priors, training

    cancel = cancel or CancelToken()
    subj = lib.get_subject(subject.name if isinstance(subject, Subject) else subject)
    if subj.adapter_state == "training":
        raise Gen2ResError(f"'{subj.name}' is already being trained.")
    hashes = lib.reference_hashes(subj)
    info = priors.PriorRegistry(lib.home).for_kind(
        priors.prior_kind_for_subject(subj.kind), subj.prior
    )
    images = subject_training_images(lib, subj, info.resolution)
    if len(images) < MIN_REFERENCE_PHOTOS:
        what = "face crops" if subj.kind == "person" else "reference photo(s)"
        raise Gen2ResError(
            f"'{subj.name}' has {len(images)} usable {what} ({len(hashes)} reference photos "
            f"tagged); at least {MIN_REFERENCE_PHOTOS} are needed. Tag more good photos of "
            f"{subj.name} with the role 'reference'"
            + (
                ", each showing the face clearly (or confirm the right face)."
                if subj.kind == "person"
                else "."
            )
        )
    path = lib.adapter_path_for(subj)
    job_id = lib.start_job("train", total=options.steps)
    record = lib.record_adapter(
        subj,
        path,
        info.weights_hash,
        dataclasses.asdict(options),
        steps_done=0,
        status="training",
        image_hashes=hashes,
        prior_name=info.name,
        job_id=job_id,
    )
    steps_done = 0
    last_update = 0.0
    first: tuple[int, float] | None = None  # (step, time) of the first step of this run
    every = max(1, options.checkpoint_every)
    ckpt = checkpoint_path(path)
    ckpt_then: tuple[int, int] | None = None  # the checkpoint file as the last step found it

    def report(p: Progress) -> None:
        nonlocal steps_done, last_update, first, ckpt_then
        if p.stage == "train":
            steps_done = p.step
            ckpt_then = _file_id(ckpt)
            if first is None:
                first = (p.step, time.monotonic())
            # A database write per step would slow a GPU run; once a second is plenty. The
            # adapter row follows too, so a killed run still says how far it got.
            if time.monotonic() - last_update >= _JOB_UPDATE_SECONDS or p.step == p.total:
                last_update = time.monotonic()
                lib.update_job(job_id, p.step, p.total)
                lib.set_adapter_status(record.id, "training", _kept_step(p.step, every, False))
        progress(p)

    def kept() -> int:
        """The step to record for a stopped run: the engine saves step N's checkpoint
        right after reporting step N, so a stop in between keeps only the one before."""
        return _kept_step(steps_done, every, _file_id(ckpt) != ckpt_then)

    try:
        from gen2res_desktop.core.devices import in_background, resolve_device

        with in_background(resolve_device(device)):
            prior = priors.load_prior(info, device)
            result = training.train_adapter(
                prior, images, path, options, image_hashes=hashes, progress=report, cancel=cancel
            )
    except Cancelled:
        lib.set_adapter_status(record.id, "cancelled", kept())
        lib.finish_job(job_id, "cancelled")
        raise
    except KeyboardInterrupt:
        # Ctrl+C, or SIGTERM (the command line turns it into this): stopped, not failed.
        # Recording may fail too (a full disk); the next open marks the run interrupted.
        step = kept()
        with contextlib.suppress(Gen2ResError):
            lib.set_adapter_status(record.id, "interrupted", step)
            lib.finish_job(job_id, "interrupted", _stopped_text(step, options.steps, path, every))
        raise
    except BaseException as e:
        lib.set_adapter_status(record.id, "failed", steps_done)
        lib.finish_job(job_id, "failed", str(e) or repr(e))
        raise
    record = lib.set_adapter_status(record.id, "ready", result.meta.steps_done)
    lib.finish_job(job_id, "done")
    if first is not None and steps_done - first[0] >= _PACE_MIN_STEPS:
        from gen2res_desktop.library.speed import record_training_speed

        pace = (time.monotonic() - first[1]) / (steps_done - first[0])
        record_training_speed(lib, device, pace)
    return record


# Subjects whose training was running or waiting when the app last quit.
UNFINISHED_KEY = "training.unfinished"


@dataclass(frozen=True)
class Unfinished:
    """A training to offer again: where it stopped and the options it ran with."""

    subject: str
    steps_done: int
    steps: int
    resumes_from: int  # the step of its last checkpoint (0: it starts over)
    options: dict


def remember_unfinished(lib: Library, subjects: Sequence[str]) -> None:
    lib.set_setting(UNFINISHED_KEY, sorted(set(subjects)))


def _file_id(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` now (the engine writes each checkpoint as a new file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _kept_step(step: int, every: int, saved_since: bool) -> int:
    """The step to record so that ``_resume_step`` names a checkpoint on disk: a multiple
    of ``every`` counts only once its checkpoint was seen written after it was reported."""
    return step if step % every or saved_since else max(0, step - 1)


def _resume_step(steps_done: int, every: int, adapter_path: Path) -> int:
    saved = every > 0 and checkpoint_path(adapter_path).is_file()
    return steps_done - steps_done % every if saved else 0


def _stopped_text(step: int, steps: int, adapter_path: Path, every: int) -> str:
    where = _resume_step(step, every, adapter_path)
    go_on = f"it continues from step {where}" if where else "it starts from the beginning"
    return f"Stopped at step {step} of {steps}; {go_on} next time."


def _unfinished(subject: str, latest: AdapterRecord) -> Unfinished:
    every = int(latest.settings.get("checkpoint_every") or 0)
    return Unfinished(
        subject=subject,
        steps_done=latest.steps_done,
        steps=int(latest.settings.get("steps") or 0),
        resumes_from=_resume_step(latest.steps_done, every, latest.path),
        options=dict(latest.settings),
    )


def stopped_training(lib: Library, subject: Subject | str) -> Unfinished | None:
    """The subject's latest training if it stopped before finishing (cancelled, stopped by
    Ctrl+C or SIGTERM, or its process killed) and was not started again: where it stopped
    and where it continues. Works on a read-only Library: a killed run reads as stopped at
    once, before any open marks it."""
    name = subject.name if isinstance(subject, Subject) else subject
    latest = lib.latest_adapter(name)
    if latest is None or latest.status not in ("interrupted", "cancelled", "training"):
        return None
    if latest.status == "training" and lib.training_alive(name):
        return None
    return _unfinished(latest.subject, latest)


def unfinished_trainings(lib: Library) -> list[Unfinished]:
    """Trainings cut short by quitting or by a crash (its row says "interrupted") whose
    subject has no finished adapter since; the remembered list is cleared."""
    remembered = lib.get_setting(UNFINISHED_KEY, [])
    names = {n for n in remembered if isinstance(n, str)} if isinstance(remembered, list) else set()
    lib.set_setting(UNFINISHED_KEY, [])
    found = []
    for subject in lib.list_subjects():
        latest = lib.latest_adapter(subject)
        if latest is None or latest.status == "ready":
            continue
        if subject.name not in names and latest.status != "interrupted":
            continue
        found.append(_unfinished(subject.name, latest))
    return found
