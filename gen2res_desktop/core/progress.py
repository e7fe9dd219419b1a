"""Progress reports and cancellation shared by every long-running core function.

Long work is a plain function taking ``progress`` (a callable receiving :class:`Progress`)
and ``cancel`` (a :class:`CancelToken`). It calls ``cancel.check()`` once per step, so a
cancel takes effect within one step, from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from gen2res_desktop.core.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    stage: str
    step: int
    total: int
    message: str = ""
    loss: float | None = None

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    pass


class CancelToken:
    """Thread-safe flags checked by workers between steps: cancel, and pause / resume
    (a paused worker waits inside :meth:`check`, holding its place; a cancel wakes it)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._going = threading.Event()
        self._going.set()

    def cancel(self) -> None:
        self._event.set()
        self._going.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def pause(self) -> None:
        if not self.cancelled:
            self._going.clear()

    def resume(self) -> None:
        self._going.set()

    @property
    def paused(self) -> bool:
        return not self._going.is_set()

    def check(self) -> None:
        self._going.wait()
        if self._event.is_set():
            raise Cancelled()


def stage_progress(progress: ProgressCallback, stage: str) -> ProgressCallback:
    """Relabel reports from a sub-step so the caller sees which stage they belong to."""

    def report(p: Progress) -> None:
        progress(Progress(stage, p.step, p.total, p.message, p.loss))

    return report
