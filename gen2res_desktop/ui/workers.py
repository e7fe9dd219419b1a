"""Running core functions off the GUI thread.

A :class:`Job` wraps a plain core function ``fn(progress=, cancel=)``. A :class:`JobRunner`
keeps a FIFO queue and runs one job at a time, each in its own ``QThread``: the GPU can hold
one training or restore at once, and later jobs wait visibly. Every signal is emitted from
the runner, which lives on the GUI thread, so slots connected to it may touch widgets.

:class:`SyncJobRunner` has the same interface but runs jobs inline on the calling thread;
tests inject it where the threading itself is not under test.

Thumbnails are loaded by :class:`ThumbnailLoader` on a ``QThreadPool`` (``QImage`` is safe
to build off the GUI thread, ``QPixmap`` is not) and kept in a small LRU cache.
"""

from __future__ import annotations

import enum
import itertools
import logging
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QCoreApplication,
    QEventLoop,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThread,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QImage, QImageReader

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.estimates import PlanClock, StageEstimate
from gen2res_desktop.core.progress import CancelToken, Progress

log = logging.getLogger(__name__)

# Training can report thousands of steps a second with small models; more than this many
# cross-thread signals a second would only flood the event loop.
PROGRESS_INTERVAL_S = 0.05

# No time-left estimate before this many steps after a stage's first report, and this much
# time between them: the first report of a training comes after loading the models, and a
# pace measured over one step is noise (it once promised "0 s left" at step 1 of 1000).
MIN_ETA_STEPS = 3
MIN_ETA_SECONDS = 3.0

# How often a GUI thread waiting for a job's thread paints the windows again.
WAIT_SLICE_MS = 50

# the clock behind every time a job records; tests replace it to make time stand still
clock = time.monotonic

_ids = itertools.count(1)


class TimeLeft(NamedTuple):
    seconds: float
    whole_job: bool  # False: only the stage under way (a job with no plan of its stages)


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Job:
    """One unit of background work: ``fn(progress=..., cancel=...)`` returning a result."""

    title: str
    fn: Callable[..., Any]
    kind: str = "gpu"
    id: int = field(default_factory=lambda: next(_ids))
    cancel_token: CancelToken = field(default_factory=CancelToken)
    state: JobState = JobState.QUEUED
    last_progress: Progress | None = None
    started_at: float | None = None
    stage_started_at: float | None = None
    result: Any = None
    error: str | None = None
    # said after "cancelled." in the outcome (e.g. what a cancel threw away); set by whoever
    # submits the job, which knows what the work keeps and what it loses
    cancel_note: str = ""
    # an up-front guess of the whole job's duration in seconds, shown until a pace is measured
    estimate_s: float | None = None
    # the parts of the job and how long each should take (core.estimates.restore_plan):
    # with it, the time left covers the whole job and follows the job's own pace
    plan: tuple[StageEstimate, ...] = ()
    # what asks for this job again when it was cut short (quit, logout, crash): JSON, kept
    # in the library while the job waits or runs (see controllers.jobs)
    request: dict | None = None
    last_progress_at: float | None = None
    paused_at: float | None = None  # while paused
    paused_s: float = 0.0  # time spent paused before now
    stages_seen: int = 0  # how many stages the job has reported so far
    # (time, step) of the first report in the current stage and count: the pace is measured
    # from there, so time spent before it (loading models) does not count as a step
    _anchor: tuple[float, int] | None = field(default=None, init=False, repr=False)
    _clock: PlanClock | None = field(default=None, init=False, repr=False)

    @property
    def done(self) -> bool:
        return self.state in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)

    def note_progress(self, p: Progress, now: float | None = None) -> None:
        """Record a report; a new stage, a new total or a step going back restarts the pace."""
        now = clock() if now is None else now
        last = self.last_progress
        if last is None or last.stage != p.stage:
            self.stage_started_at = now
            self.stages_seen += 1
            self._anchor = (now, p.step)
        elif p.total != last.total or p.step < last.step or self._anchor is None:
            self._anchor = (now, p.step)
        self.last_progress = p
        self.last_progress_at = now
        if self.plan:
            if self._clock is None:
                self._clock = PlanClock(self.plan)
            self._clock.note(p.stage, p.step, p.total, now - self.paused_s)
            pace = self._pace()
            if pace is not None:
                self._clock.learn_pace(p.stage, pace, p.total)

    def _pace(self) -> float | None:
        """Seconds per step in the current stage, once measured over enough steps."""
        p, anchor, last_at = self.last_progress, self._anchor, self.last_progress_at
        if p is None or anchor is None or last_at is None:
            return None
        steps, elapsed = p.step - anchor[1], last_at - anchor[0]
        if steps < MIN_ETA_STEPS or elapsed < MIN_ETA_SECONDS:
            return None
        return elapsed / steps

    def seconds_left(self, now: float | None = None) -> float | None:
        """Time left in the current stage at its measured pace, or None without evidence.

        None when the stage has no known total, has ended, or has not yet gone
        ``MIN_ETA_STEPS`` steps over ``MIN_ETA_SECONDS`` since its first report. Never 0
        while steps remain: at least one second.
        """
        p, anchor, last_at = self.last_progress, self._anchor, self.last_progress_at
        if (
            self.paused_at is not None
            or p is None
            or anchor is None
            or last_at is None
            or p.total <= 0
            or p.step >= p.total
        ):
            return None
        pace = self._pace()
        if pace is None:
            return None
        now = clock() if now is None else now
        left = (p.total - p.step) * pace - max(now - last_at, 0.0)
        if left <= 0:
            return None  # slower than its pace said: no honest number to give
        return max(left, 1.0)

    def time_left(self, now: float | None = None) -> TimeLeft | None:
        """The time left to tell the user, or None when there is nothing honest to say.

        Queued: the up-front estimate. Running with a plan: the whole job, the part under
        way at its measured pace and the parts after it rescaled by the job's own pace.
        Without a plan: the stage's measured pace once there is one (the whole job when it
        has had one stage), else what is left of the up-front estimate. Recomputed at every
        report and as time passes; never 0 while work remains; None while paused.
        """
        if self.state is JobState.QUEUED:
            return None if self.estimate_s is None else TimeLeft(self.estimate_s, True)
        if self.paused_at is not None or self.done:
            return None
        now = clock() if now is None else now
        measured = self.seconds_left(now)
        p = self.last_progress
        if self._clock is not None and p is not None:
            left = self._clock.seconds_left(p.stage, p.step, p.total, measured, now - self.paused_s)
            return TimeLeft(max(left, 1.0), True) if left > 0 else None
        if measured is not None:
            return TimeLeft(measured, self.stages_seen <= 1)
        upfront = self.estimated_seconds_left(now)
        return None if upfront is None else TimeLeft(max(upfront, 1.0), True)

    def estimated_seconds_left(self, now: float | None = None) -> float | None:
        """What is left of the up-front ``estimate_s``: all of it while queued, None once
        the estimate has run out (or when there is none)."""
        if self.estimate_s is None:
            return None
        if self.state is JobState.QUEUED or self.started_at is None:
            return self.estimate_s
        now = clock() if now is None else now
        paused = self.paused_s + (now - self.paused_at if self.paused_at is not None else 0.0)
        left = self.estimate_s - (now - self.started_at - paused)
        return left if left > 0 else None

    def pause(self, now: float | None = None) -> None:
        if self.paused_at is None and not self.done:
            self.paused_at = clock() if now is None else now
            self.cancel_token.pause()

    def resume(self, now: float | None = None) -> None:
        if self.paused_at is not None:
            now = clock() if now is None else now
            self.paused_s += now - self.paused_at
            self.paused_at = None
            self._anchor = None  # the pace is measured again from the next step
        self.cancel_token.resume()


def describe_error(exc: BaseException) -> str:
    """A sentence for the user; unexpected errors keep their type so the log can be found."""
    if isinstance(exc, Gen2ResError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory. Close other programs or use smaller images."
    name = type(exc).__name__
    if "OutOfMemory" in name:
        return "The GPU ran out of memory. Close other programs using it, or use the CPU."
    return f"Unexpected error ({name}: {exc}). Details are in the log file."


def _execute(job: Job, report: Callable[[Progress], None]) -> tuple[str, Any]:
    """Run ``job.fn`` and classify the outcome as ("finished"|"cancelled"|"failed", value)."""
    try:
        result = job.fn(progress=report, cancel=job.cancel_token)
    except Cancelled:
        log.info("job %d (%s) cancelled", job.id, job.title)
        return "cancelled", None
    except Exception as exc:  # noqa: BLE001 - every worker error must reach the user
        if isinstance(exc, Gen2ResError):
            log.warning("job %d (%s) failed: %s", job.id, job.title, exc)
        else:
            log.error("job %d (%s) crashed:\n%s", job.id, job.title, traceback.format_exc())
        return "failed", describe_error(exc)
    if job.cancel_token.cancelled:
        # the function finished its last step before it saw the cancel; its result stands
        log.info("job %d (%s) finished despite a late cancel", job.id, job.title)
    log.info("job %d (%s) finished", job.id, job.title)
    return "finished", result


class _ThrottledReporter:
    """Forward progress at most every PROGRESS_INTERVAL_S, always the first/last of a stage."""

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self._emit = emit
        self._last = 0.0
        self._stage: str | None = None

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.stage != self._stage or p.step >= p.total or now - self._last >= PROGRESS_INTERVAL_S:
            self._stage = p.stage
            self._last = now
            self._emit(p)


class BaseRunner(QObject):
    """Queue bookkeeping shared by the threaded and the synchronous runner."""

    progress = Signal(int, object)  # job id, Progress
    started = Signal(int)
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, str)  # job id, message for the user
    cancelled = Signal(int)
    paused = Signal(int, bool)  # job id, paused (True) or resumed (False)
    queue_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: list[Job] = []
        self._current: Job | None = None
        self._history: list[Job] = []

    # -- queries --------------------------------------------------------------------------
    def submit(self, job: Job) -> int:
        log.info("job %d queued: %s", job.id, job.title)
        self._queue.append(job)
        self.queue_changed.emit()
        self._start_next()
        return job.id

    def current(self) -> Job | None:
        return self._current

    def queued(self) -> list[Job]:
        return list(self._queue)

    def pending(self) -> list[Job]:
        """The running job, if any, then the queued ones: what quitting now would stop."""
        return ([self._current] if self._current is not None else []) + list(self._queue)

    def history(self) -> list[Job]:
        return list(self._history)

    def job(self, job_id: int) -> Job | None:
        for j in itertools.chain(
            [self._current] if self._current else [], self._queue, self._history
        ):
            if j.id == job_id:
                return j
        return None

    def is_busy(self) -> bool:
        return self._current is not None or bool(self._queue)

    # -- control --------------------------------------------------------------------------
    def cancel(self, job_id: int) -> None:
        """Cancel a queued job at once, or ask the running one to stop at its next step."""
        for j in self._queue:
            if j.id == job_id:
                self._queue.remove(j)
                j.cancel_token.cancel()
                self._settle(j, "cancelled", None)
                return
        if self._current is not None and self._current.id == job_id:
            self._current.cancel_token.cancel()

    def set_paused(self, job_id: int, paused: bool) -> None:
        """Pause the running job at its next step (it keeps its place, memory and files),
        or let it go on."""
        job = self._current
        if job is None or job.id != job_id:
            return
        job.pause() if paused else job.resume()
        self.paused.emit(job_id, paused)

    def cancel_all(self) -> None:
        """Stop everything: each queued job is settled as cancelled at once (it emits
        ``cancelled`` and goes to the history, it never just vanishes); the running one is
        asked to stop at its next step and emits ``cancelled`` when it has."""
        if self._current is not None:
            self._current.cancel_token.cancel()
        for j in list(self._queue):
            self.cancel(j.id)

    # -- internals ------------------------------------------------------------------------
    def _on_progress(self, job: Job, p: Progress) -> None:
        job.note_progress(p)
        self.progress.emit(job.id, p)

    def _settle(self, job: Job, outcome: str, value: Any) -> None:
        if self._current is job:
            self._current = None
        self._history.append(job)
        if outcome == "finished":
            job.state, job.result = JobState.FINISHED, value
            self.finished.emit(job.id, value)
        elif outcome == "cancelled":
            job.state = JobState.CANCELLED
            self.cancelled.emit(job.id)
        else:
            job.state, job.error = JobState.FAILED, value
            self.failed.emit(job.id, value)
        self.queue_changed.emit()

    def _begin(self, job: Job) -> None:
        self._current = job
        job.state = JobState.RUNNING
        job.started_at = job.stage_started_at = clock()
        log.info("job %d started: %s", job.id, job.title)
        self.started.emit(job.id)
        self.queue_changed.emit()

    def _start_next(self) -> None:
        raise NotImplementedError

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until no job is running; True if that happened within the timeout."""
        raise NotImplementedError

    def thread_running(self) -> bool:
        """True while a worker thread of this runner is alive."""
        return False

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything and wait for the running job's thread to end."""
        self.cancel_all()
        return self.wait(timeout_ms)


class _Worker(QObject):
    """Lives on the job's QThread; its signals reach the runner queued on the GUI thread."""

    progressed = Signal(object, object)  # job, Progress
    done = Signal(object, str, object)  # job, outcome, value

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    @Slot()
    def run(self) -> None:
        report = _ThrottledReporter(lambda p: self.progressed.emit(self.job, p))
        outcome, value = _execute(self.job, report)
        self.done.emit(self.job, outcome, value)
        # end the thread from inside, so a GUI thread blocked in wait() is not deadlocked
        self.thread().quit()


class JobRunner(BaseRunner):
    """Runs queued jobs one at a time, each in a fresh QThread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None

    def _start_next(self) -> None:
        if self._current is not None or self._thread is not None or not self._queue:
            return
        job = self._queue.pop(0)
        self._begin(job)
        thread = QThread()
        thread.setObjectName(f"gen2res-job-{job.id}")
        worker = _Worker(job)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # bound slots of the runner, which lives on the GUI thread: queued connections
        # (a lambda would have no receiver thread and could run on the worker's thread)
        worker.progressed.connect(self._on_worker_progress)
        worker.done.connect(self._on_done)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()

    @Slot(object, object)
    def _on_worker_progress(self, job: Job, p: Progress) -> None:
        self._on_progress(job, p)

    @Slot(object, str, object)
    def _on_done(self, job: Job, outcome: str, value: Any) -> None:
        self._settle(job, outcome, value)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self._start_next()

    def thread_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the running job's thread ends. Meanwhile the windows keep painting
        (what the user types or clicks waits): a quit that waits for a job's current step
        shows that the app is stopping instead of a frozen window with the question still
        on it."""
        thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout_ms / 1000
        while self._thread is thread:  # else it ended and was settled meanwhile
            if thread.wait(WAIT_SLICE_MS):
                break
            if time.monotonic() >= deadline:
                return False
            QCoreApplication.processEvents(QEventLoop.ExcludeUserInputEvents)
        # deliver the worker's last queued signals so the job is settled, not lost
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()
        return True


class SyncJobRunner(BaseRunner):
    """Same interface as JobRunner, but each job runs inline when it reaches the queue head.

    With ``autostart=False`` jobs wait until :meth:`run_pending`, which lets tests look at
    a queue with several jobs in it.
    """

    def __init__(self, parent: QObject | None = None, *, autostart: bool = True) -> None:
        super().__init__(parent)
        self.autostart = autostart
        self._running_inline = False

    def _start_next(self) -> None:
        if self.autostart:
            self.run_pending()

    def run_pending(self) -> None:
        # a job submitted from a finished-slot runs after the current one, not inside it
        if self._running_inline:
            return
        self._running_inline = True
        try:
            while self._queue:
                job = self._queue.pop(0)
                self._begin(job)
                outcome, value = _execute(job, lambda p, j=job: self._on_progress(j, p))
                self._settle(job, outcome, value)
        finally:
            self._running_inline = False

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return True


# -- thumbnails -----------------------------------------------------------------------------


class _ThumbSignals(QObject):
    loaded = Signal(object, QImage)  # key, image (null QImage on failure)


ThumbSource = Path | Callable[[], Path]


class _ThumbTask(QRunnable):
    def __init__(self, key: object, source: ThumbSource, size: int, signals: _ThumbSignals) -> None:
        super().__init__()
        self.key, self.source, self.size, self.signals = key, source, size, signals

    def run(self) -> None:
        image = QImage()
        try:
            # a callable source may render the file first (the library's cached thumbnail)
            path = self.source() if callable(self.source) else self.source
            reader = QImageReader(str(path))
            reader.setAutoTransform(True)  # EXIF orientation, as the photo will be shown
            src = reader.size()
            if src.isValid() and (src.width() > self.size or src.height() > self.size):
                # decode at reduced size: a 40 MP scan must not be decoded in full for an icon
                reader.setScaledSize(src.scaled(QSize(self.size, self.size), Qt.KeepAspectRatio))
            image = reader.read()
            if image.isNull():
                log.info("no thumbnail for %s: %s", path, reader.errorString())
        except Exception:  # noqa: BLE001 - a broken file must only give a broken icon
            log.warning("no thumbnail for %s", self.key, exc_info=True)
        self.signals.loaded.emit(self.key, image)


class ThumbnailLoader(QObject):
    """Loads images scaled to ``size`` on a thread pool; an LRU cache of QImages."""

    loaded = Signal(object)  # key; the image is then in the cache

    def __init__(self, size: int = 160, cache_size: int = 2000, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self._cache: OrderedDict[object, QImage] = OrderedDict()
        self._cache_size = cache_size
        self._pending: set[object] = set()
        self._failed: set[object] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, min(4, QThread.idealThreadCount())))
        self._signals = _ThumbSignals()
        self._signals.loaded.connect(self._on_loaded, Qt.QueuedConnection)

    def get(self, key: object, source: ThumbSource | None) -> QImage | None:
        """The cached image, or None after queueing a load (once per key)."""
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
            return image
        if source is not None and key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self._pool.start(_ThumbTask(key, source, self.size, self._signals))
        return None

    def failed(self, key: object) -> bool:
        return key in self._failed

    def invalidate(self, key: object) -> None:
        self._cache.pop(key, None)
        self._failed.discard(key)

    @Slot(object, QImage)
    def _on_loaded(self, key: object, image: QImage) -> None:
        self._pending.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self._cache[key] = image
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self.loaded.emit(key)

    def pending(self) -> int:
        return len(self._pending)

    def cached(self) -> int:
        return len(self._cache)

    def active_threads(self) -> int:
        return self._pool.activeThreadCount()

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
