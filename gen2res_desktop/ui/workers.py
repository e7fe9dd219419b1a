"""Running core functions off the GUI thread.

A :class:`~gen2res_desktop.ui.jobs.Job` wraps a plain core function
``fn(progress=, cancel=)``. A :class:`JobRunner` keeps a FIFO queue and runs one job at a
time, each in its own ``QThread``: the GPU can hold one training or restore at once, and
later jobs wait visibly. Every signal is emitted from the runner, which lives on the GUI
thread, so slots connected to it may touch widgets.

:class:`SyncJobRunner` has the same interface but runs jobs inline on the calling thread;
tests inject it where the threading itself is not under test.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal, Slot

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.jobs import Job, JobState

log = logging.getLogger(__name__)

# Training can report thousands of steps a second with small models; more than this many
# cross-thread signals a second would only flood the event loop.
PROGRESS_INTERVAL_S = 0.05

# How often a GUI thread waiting for a job's thread paints the windows again.
WAIT_SLICE_MS = 50


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
        job.begin()
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
