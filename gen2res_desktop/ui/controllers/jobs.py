"""The GPU queue seen from the window: submitting, what a job's end means, the queue
label, what quitting with jobs running loses, and the restores kept for next time."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel

from gen2res_desktop.core import defaults
from gen2res_desktop.core.paths import checkpoint_path
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.controllers.base import Controller, plural
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.jobs_panel import outcome_text
from gen2res_desktop.ui.workers import BaseRunner

log = logging.getLogger(__name__)

NOT_STARTED = "It had not started; nothing was lost."
NO_CHECKPOINT = "It stopped before its first checkpoint, so it starts from the beginning next time."
# what quitting does to a restore, said before the user decides
RESTORE_LOST = "Its work so far is lost; Gen2Res offers to restore it again when it next starts."
WAITING_KEPT = "Gen2Res offers it again when it next starts."
STOPPING = "Stopping: {what} stops after its current step…"


def resumes_from(step: int) -> str:
    return f"It continues from step {step} next time."


class JobsController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self._on_finished: dict[int, Callable[[object], None]] = {}
        self._progress_seen: set[int] = set()
        self._checkpoint_every: dict[int, int] = {}
        # the restore jobs waiting or running, by job id: kept in the library as they
        # change, so a quit, a logout or a crash leaves them there to offer next time
        self._requests: dict[int, dict] = {}
        self.quitting = False  # the user said yes (or the session ends): jobs are stopping
        self.no_questions = False  # a quit that cannot ask (SIGTERM at logout)
        self.queue_label = QLabel()
        r = window.runner
        r.started.connect(self._on_started)
        r.progress.connect(self._on_progress)
        r.finished.connect(self._on_finished_job)
        r.failed.connect(self._on_failed)
        r.cancelled.connect(self._on_cancelled)
        for runner in (r, window.io_runner, window.download_runner):
            runner.queue_changed.connect(self.update_queue_label)
            runner.paused.connect(self._on_paused)
        window.download_runner.finished.connect(self._on_download_finished)

    def submit(
        self,
        job: Job,
        on_finished: Callable[[object], None] | None = None,
        *,
        checkpoint_every: int = defaults.CHECKPOINT_EVERY,
    ) -> int:
        """Queue ``job`` on the GPU runner; ``checkpoint_every`` says how often a training
        saves what a cancel keeps. A job with a ``request`` is kept in the library until it
        ends, to be offered again if the app stops first."""
        if on_finished is not None:
            self._on_finished[job.id] = on_finished
        if job.kind == "train":
            self._checkpoint_every[job.id] = max(1, checkpoint_every)
            job.cancel_note = job.cancel_note or self._training_note(job, None)
        if job.request is not None:
            self._requests[job.id] = job.request
            self._keep_requests()
        return self.window.runner.submit(job)

    def _keep_requests(self) -> None:
        from gen2res_desktop.library.restore_jobs import remember_unfinished_restores

        requests = list(self._requests.values())
        self.guard("Restore", lambda: remember_unfinished_restores(self.library, requests))

    def _job_ended(self, job_id: int) -> None:
        # a job cut short by quitting stays in the library's list: that is its point
        if job_id in self._requests and not self.quitting:
            del self._requests[job_id]
            self._keep_requests()

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
        self._job_ended(job_id)
        callback = self._on_finished.pop(job_id, None)
        job = self.window.runner.job(job_id)
        if job is not None and not self.quitting:
            self.status(outcome_text(job), 10_000)
        if callback is not None:
            try:
                callback(result)
            except Exception:  # noqa: BLE001 - a refresh failing must not lose the result
                log.exception("after job %d", job_id)
        self.window.views.refresh_subjects()

    def _on_failed(self, job_id: int, message: str) -> None:
        self._job_ended(job_id)
        self._on_finished.pop(job_id, None)
        job = self.window.runner.job(job_id)
        self.window.notify(f"{job.title if job else 'Job'} failed", message, error=True)
        self.window.views.refresh_subjects()

    def _on_cancelled(self, job_id: int) -> None:
        self._job_ended(job_id)
        self._on_finished.pop(job_id, None)
        job = self.window.runner.job(job_id)
        if job is not None and not self.quitting:
            self.status(outcome_text(job), 10_000)
        self.window.views.refresh_subjects()

    def _on_paused(self, job_id: int, paused: bool) -> None:
        self.update_queue_label()

    def _on_download_finished(self, job_id: int, result: object) -> None:
        """A prior installed after the first start: time this computer now, so the first
        training already says how long it takes."""
        if self.settings.measure_speed and not self.quitting:
            QTimer.singleShot(0, self.measure_speed)

    def measure_speed(self) -> int | None:
        """The speed check, unless one is waiting or running (see MainWindow.measure_speed,
        which skips it once measured or while no prior is installed)."""
        if any(j.kind == "measure" for j in self.window.runner.pending()):
            return None
        return self.window.measure_speed()

    def update_queue_label(self) -> None:
        """The status bar's permanent line: the job under way (the GPU's, else the one the
        jobs panel shows), "Paused" while it is, and how many wait."""
        running = self.window.runner.current() or self.window.jobs_panel.shown_job()
        waiting = len(self.window.runner.queued())
        text = ""
        if running is not None and not running.done:
            state = "Paused" if running.paused_at is not None else "Running"
            text = f"{state}: {running.title}"
        if waiting:
            text += f" · {waiting} waiting"
        self.queue_label.setText(text)

    # ---------------------------------------------------------------- quitting
    def _runners(self) -> tuple[BaseRunner, ...]:
        w = self.window
        return (w.runner, w.io_runner, w.download_runner)

    def _running_note(self, job: Job) -> str:
        if job.kind == "train":
            return job.cancel_note
        if job.request is None:
            return job.cancel_note
        total = len(job.request.get("photos", []))
        if job.request.get("album") is None or total <= 1:
            return RESTORE_LOST
        p = job.last_progress
        done = min(p.step, total) if p is not None and p.stage == "batch" else 0
        left = total - done
        kept = f"The {plural(done, 'photo')} restored so far {'is' if done == 1 else 'are'} kept; "
        return (kept if done else "") + (
            f"Gen2Res offers to restore the other {plural(left, 'photo')} when it next starts."
            if done
            else f"Gen2Res offers to restore its {plural(left, 'photo')} when it next starts."
        )

    def quit_question(self) -> str | None:
        """What quitting now would stop and lose, or None when nothing is running."""
        w = self.window
        lines = []
        for runner in (w.runner, w.download_runner):
            running = runner.current()
            # the speed check is the app's own errand: it is simply done next time
            if running is not None and running.kind != "measure":
                note = self._running_note(running)
                lines.append(f"• {running.title} (running).{' ' + note if note else ''}")
            for job in runner.queued():
                if job.kind == "measure":
                    continue
                kept = job.request is not None or job.kind == "train"
                lines.append(
                    f"• {job.title} (waiting): {WAITING_KEPT if kept else 'will not run.'}"
                )
        if not lines:
            return None
        return (
            "Quitting now stops these jobs:\n"
            + "\n".join(lines)
            + "\n\nQuit anyway? Restored photos and finished trainings are kept."
        )

    def confirm_quit(self) -> bool:
        """Whether the window may close: asks when jobs would be stopped (unless the
        session is ending, which cannot wait for an answer). Once yes, the jobs stopped
        from here on are kept for next time rather than forgotten."""
        if self.quitting:
            return True
        question = None if self.no_questions else self.quit_question()
        if question is not None and not self.window.ask("Jobs are running", question):
            return False
        if self.window.closing:
            return False  # the session ended while the question was open: it has quit
        self.quitting = True
        return True

    def stop_all(self, timeout_ms: int = 60_000) -> bool:
        """Stop every runner and wait for their jobs' current steps, saying so: the
        question has gone, the status bar says what the app waits for, the cursor is
        busy, and the window keeps painting (JobRunner.wait). True when all stopped."""
        busy = [r.current() for r in self._runners() if r.current() is not None]
        if busy:
            names = " and ".join(job.title for job in busy)
            log.info("stopping: %s", names)
            QApplication.setOverrideCursor(Qt.WaitCursor)
            self.window.statusBar().showMessage(STOPPING.format(what=names))
            # the question box closes and the message shows now, not after the wait
            QApplication.processEvents(QEventLoop.ExcludeUserInputEvents)
        try:
            return all([r.shutdown(timeout_ms) for r in self._runners()])
        finally:
            if busy:
                QApplication.restoreOverrideCursor()

    def quit_now(self) -> None:
        """Quit as the session ends (SIGTERM at logout or shutdown): no question, the
        same saving as Quit."""
        log.info("asked to quit by the system")
        self.no_questions = True
        self.window.close()
