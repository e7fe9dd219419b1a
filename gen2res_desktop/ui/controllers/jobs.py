"""The GPU queue seen from the window: submitting, what a job's end means, the queue
label, and what quitting with jobs running loses."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QLabel

from gen2res_desktop.core import defaults
from gen2res_desktop.core.paths import checkpoint_path
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.controllers.base import Controller
from gen2res_desktop.ui.jobs_panel import outcome_text
from gen2res_desktop.ui.workers import Job

log = logging.getLogger(__name__)

NOT_STARTED = "It had not started; nothing was lost."
NO_CHECKPOINT = "It stopped before its first checkpoint, so it starts from the beginning next time."


def resumes_from(step: int) -> str:
    return f"It continues from step {step} next time."


class JobsController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self._on_finished: dict[int, Callable[[object], None]] = {}
        self._progress_seen: set[int] = set()
        self._checkpoint_every: dict[int, int] = {}
        self.queue_label = QLabel()
        r = window.runner
        r.started.connect(self._on_started)
        r.progress.connect(self._on_progress)
        r.finished.connect(self._on_finished_job)
        r.failed.connect(self._on_failed)
        r.cancelled.connect(self._on_cancelled)
        r.queue_changed.connect(self.update_queue_label)

    def submit(
        self,
        job: Job,
        on_finished: Callable[[object], None] | None = None,
        *,
        checkpoint_every: int = defaults.CHECKPOINT_EVERY,
    ) -> int:
        """Queue ``job`` on the GPU runner; ``checkpoint_every`` says how often a training
        saves what a cancel keeps."""
        if on_finished is not None:
            self._on_finished[job.id] = on_finished
        if job.kind == "train":
            self._checkpoint_every[job.id] = max(1, checkpoint_every)
            job.cancel_note = job.cancel_note or self._training_note(job, None)
        return self.window.runner.submit(job)

    def _training_note(self, job: Job, step: int | None) -> str:
        """What a cancel of this training keeps: set as it runs, so the jobs panel and the
        quit dialog say it before the user decides."""
        if step is None or step <= 0:
            subject = job.title.removeprefix("Train ")
            path = self.guard("", lambda: self.library.adapter_path_for(subject))
            if path is not None and checkpoint_path(path).is_file():
                return "It continues from its last checkpoint next time."
            return NOT_STARTED
        saved = step - step % self._checkpoint_every.get(job.id, defaults.CHECKPOINT_EVERY)
        return resumes_from(saved) if saved > 0 else NO_CHECKPOINT

    # ---------------------------------------------------------------- runner signals
    def _on_started(self, job_id: int) -> None:
        self.window.views.refresh_subjects()  # a training shows as "training" while it runs

    def _on_progress(self, job_id: int, p: Progress) -> None:
        job = self.window.runner.job(job_id)
        if job is not None and job.kind == "train" and p.stage == "train":
            job.cancel_note = self._training_note(job, p.step)
        # a training marks its subject "training" once it has begun: show that once
        if job_id not in self._progress_seen:
            self._progress_seen.add(job_id)
            self.window.views.refresh_subjects()

    def _on_finished_job(self, job_id: int, result: object) -> None:
        # runner signals arrive on the GUI thread: widgets may be touched here
        callback = self._on_finished.pop(job_id, None)
        job = self.window.runner.job(job_id)
        if job is not None:
            self.status(outcome_text(job), 10_000)
        if callback is not None:
            try:
                callback(result)
            except Exception:  # noqa: BLE001 - a refresh failing must not lose the result
                log.exception("after job %d", job_id)
        self.window.views.refresh_subjects()

    def _on_failed(self, job_id: int, message: str) -> None:
        self._on_finished.pop(job_id, None)
        job = self.window.runner.job(job_id)
        self.window.notify(f"{job.title if job else 'Job'} failed", message, error=True)
        self.window.views.refresh_subjects()

    def _on_cancelled(self, job_id: int) -> None:
        self._on_finished.pop(job_id, None)
        job = self.window.runner.job(job_id)
        if job is not None:
            self.status(outcome_text(job), 10_000)
        self.window.views.refresh_subjects()

    def update_queue_label(self) -> None:
        running = self.window.runner.current()
        waiting = len(self.window.runner.queued())
        text = f"Running: {running.title}" if running else ""
        if waiting:
            text += f" · {waiting} waiting"
        self.queue_label.setText(text)

    # ---------------------------------------------------------------- quitting
    def quit_question(self) -> str | None:
        """What quitting now would stop and lose, or None when nothing is running."""
        w = self.window
        lines = []
        for runner in (w.runner, w.download_runner):
            running = runner.current()
            # the speed check is the app's own errand: it is simply done next time
            if running is not None and running.kind != "measure":
                note = f" {running.cancel_note}" if running.cancel_note else ""
                lines.append(f"• {running.title} (running).{note}")
            for job in runner.queued():
                if job.kind != "measure":
                    lines.append(f"• {job.title} (waiting): will not run.")
        if not lines:
            return None
        return (
            "Quitting now stops these jobs:\n"
            + "\n".join(lines)
            + "\n\nQuit anyway? Restored photos and finished trainings are kept."
        )
