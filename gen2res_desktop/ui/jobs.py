"""A job for the runners (see :mod:`.workers`): one unit of background work, its state,
and the time left it tells the user.

Qt-free: the runners move jobs between threads and the jobs panel shows them, but a job's
bookkeeping is plain Python that tests drive with a clock of their own.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gen2res_desktop.core.estimates import PlanClock, StageEstimate
from gen2res_desktop.core.progress import CancelToken, Progress

# No time-left estimate before this many steps after a stage's first report, and this much
# time between them: the first report of a training comes after loading the models, and a
# pace measured over one step is noise (it once promised "0 s left" at step 1 of 1000).
MIN_ETA_STEPS = 3
MIN_ETA_SECONDS = 3.0

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

    def begin(self) -> None:
        """The runner starts the job now."""
        self.state = JobState.RUNNING
        self.started_at = self.stage_started_at = clock()

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
