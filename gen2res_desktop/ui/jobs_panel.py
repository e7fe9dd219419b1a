"""The jobs panel: the job under way with progress, Pause, Cancel, time left and, for a
training, a loss curve; the queue, with any other running job; and what happened to
finished jobs of every runner, in plain words."""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.jobs import Job, JobState
from gen2res_desktop.ui.workers import BaseRunner

MAX_POINTS = 2000
# How often the running job's time left is said again between its reports.
TICK_MS = 1000


def format_loss(value: float) -> str:
    """A loss for an axis label: three significant digits, plain or scientific."""
    return f"{value:.3g}"


class LossCurve(QWidget):
    """Training loss against step, with labelled axes (log scale when it spans decades)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[int, float]] = []
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)

    def clear(self) -> None:
        self.points.clear()
        self.update()

    def add_point(self, step: int, loss: float) -> None:
        if not math.isfinite(loss):
            return
        if self.points and step <= self.points[-1][0]:
            return  # a resumed run repeats no steps, but a throttled report may
        self.points.append((step, loss))
        if len(self.points) > MAX_POINTS:
            # halve the resolution of the history, keep the newest point exact
            self.points = self.points[:-1:2] + [self.points[-1]]
        self.update()

    def _y_values(self) -> tuple[list[float], bool]:
        losses = [v for _, v in self.points]
        positive = all(v > 0 for v in losses)
        if positive and max(losses) / min(losses) > 20:
            return [math.log10(v) for v in losses], True
        return losses, False

    def axis_labels(self) -> tuple[tuple[str, str], tuple[str, str]] | None:
        """((first step, last step), (lowest loss, highest loss)) as drawn; None if no line."""
        if len(self.points) < 2:
            return None
        losses = [v for _, v in self.points]
        steps = (str(self.points[0][0]), str(self.points[-1][0]))
        return steps, (format_loss(min(losses)), format_loss(max(losses)))

    def caption(self) -> str:
        """The line above the plot: the last loss, and whether the scale is logarithmic."""
        if not self.points:
            return ""
        scale = " (log scale)" if len(self.points) >= 2 and self._y_values()[1] else ""
        return f"Loss {format_loss(self.points[-1][1])}{scale}"

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        palette = self.palette()
        text = palette.text().color()
        p.fillRect(self.rect(), palette.base())
        fm = p.fontMetrics()
        line = fm.height()
        labels = self.axis_labels()
        if labels is None:
            rect = QRectF(self.rect()).adjusted(4, 4, -4, -4)
            p.setPen(QPen(palette.mid().color(), 1))
            p.drawRect(rect)
            p.setPen(palette.placeholderText().color())
            p.drawText(rect, Qt.AlignCenter, "Loss curve: waiting for the first steps")
            p.end()
            return
        (x_first, x_last), (y_low, y_high) = labels
        margin = max(fm.horizontalAdvance(y_low), fm.horizontalAdvance(y_high)) + 6
        plot = QRectF(
            4 + margin, 4 + line, self.width() - 12 - margin, self.height() - 8 - 2 * line
        )
        p.setPen(text)
        p.drawText(
            QRectF(plot.left(), 2, plot.width(), line),
            Qt.AlignLeft | Qt.AlignVCenter,
            self.caption(),
        )
        # y axis: highest loss at the top, lowest at the bottom, right-aligned beside it
        p.drawText(
            QRectF(2, plot.top() - line / 2, margin, line), Qt.AlignRight | Qt.AlignVCenter, y_high
        )
        p.drawText(
            QRectF(2, plot.bottom() - line / 2, margin, line),
            Qt.AlignRight | Qt.AlignVCenter,
            y_low,
        )
        # x axis: first and last step at the ends, what it counts in between
        below = QRectF(plot.left(), plot.bottom() + 1, plot.width(), line)
        p.drawText(below, Qt.AlignLeft | Qt.AlignVCenter, x_first)
        p.drawText(below, Qt.AlignRight | Qt.AlignVCenter, x_last)
        p.drawText(below, Qt.AlignHCenter | Qt.AlignVCenter, "training step")
        p.setPen(QPen(text, 1))
        p.setRenderHint(QPainter.Antialiasing, False)  # crisp one-pixel axes
        p.drawLine(plot.bottomLeft(), plot.topLeft())
        p.drawLine(plot.bottomLeft(), plot.bottomRight())
        p.setRenderHint(QPainter.Antialiasing)

        ys, _ = self._y_values()
        x0, x1 = self.points[0][0], self.points[-1][0]
        lo, hi = min(ys), max(ys)
        span_x = max(x1 - x0, 1)
        span_y = hi - lo or 1.0
        inner = plot.adjusted(2, 1, 0, -2)  # keep the line off the axes
        poly = QPolygonF(
            [
                QPointF(
                    inner.left() + (s - x0) / span_x * inner.width(),
                    inner.bottom() - (y - lo) / span_y * inner.height(),
                )
                for (s, _), y in zip(self.points, ys, strict=True)
            ]
        )
        p.setPen(QPen(QColor(52, 120, 220), 1.5))
        p.drawPolyline(poly)
        p.end()


def format_duration(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def _minutes(seconds: float) -> str:
    minutes = max(int(round(seconds / 60)), 1)
    if minutes < 60:
        return f"{minutes} min"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def format_time_left(seconds: float) -> str:
    """Time left in a running job, to the second under an hour: it is recomputed at every
    step and every second, so it moves as the job does; never "0 s" while work remains."""
    seconds = max(math.ceil(seconds), 1)
    if seconds < 60:
        return f"{seconds} s left"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s left"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min left"


def format_estimate(seconds: float) -> str:
    """How long a job that has not started is expected to take."""
    if seconds < 60:
        return "under a minute"
    return f"about {_minutes(seconds)}"


def time_left_text(job: Job, now: float | None = None) -> str:
    """The time-left wording for a job (see :meth:`Job.time_left`), or "" when there is
    nothing honest to say."""
    left = job.time_left(now)
    if left is None:
        return ""
    if job.state is JobState.QUEUED:
        return format_estimate(left.seconds)
    text = format_time_left(left.seconds)
    return text if left.whole_job else f"{text} in this stage"


def outcome_text(job: Job) -> str:
    """What happened to a job, in plain words."""
    if job.state is JobState.FINISHED:
        return f"{job.title}: finished."
    if job.state is JobState.CANCELLED:
        note = f" {job.cancel_note}" if job.cancel_note else ""
        return f"{job.title}: cancelled.{note}"
    if job.state is JobState.FAILED:
        return f"{job.title}: failed. {job.error}"
    if job.state is JobState.RUNNING:
        return f"{job.title}: running."
    return f"{job.title}: waiting."


def _progress_words(p: Progress | None) -> str:
    if p is None or p.total <= 0:
        return ""
    return f"{min(p.step, p.total)} / {p.total}"


class _RunnerWatch(QObject):
    """Forwards one runner's signals to the panel, tagged with the runner.

    A child of the panel, so the connections end with it (a lambda would outlive it).
    """

    def __init__(self, panel: JobsPanel, runner: BaseRunner, kinds: set[str] | None) -> None:
        super().__init__(panel)
        self.panel, self.runner, self.kinds = panel, runner, kinds
        runner.started.connect(self._started)
        runner.progress.connect(self._progress)
        runner.finished.connect(self._finished)
        runner.failed.connect(self._failed)
        runner.cancelled.connect(self._cancelled)
        runner.paused.connect(self._paused)
        runner.queue_changed.connect(self._queue_changed)

    def follows(self, job: Job | None) -> bool:
        return job is not None and (self.kinds is None or job.kind in self.kinds)

    @Slot(int)
    def _started(self, job_id: int) -> None:
        self.panel._on_started(self, job_id)

    @Slot(int, object)
    def _progress(self, job_id: int, p: Progress) -> None:
        self.panel._on_progress(self, job_id, p)

    @Slot(int, object)
    def _finished(self, job_id: int, _result: object) -> None:
        self.panel._on_done(self, job_id)

    @Slot(int, str)
    def _failed(self, job_id: int, _message: str) -> None:
        self.panel._on_done(self, job_id)

    @Slot(int)
    def _cancelled(self, job_id: int) -> None:
        self.panel._on_done(self, job_id)

    @Slot(int, bool)
    def _paused(self, job_id: int, paused: bool) -> None:
        self.panel._on_paused(self, job_id, paused)

    @Slot()
    def _queue_changed(self) -> None:
        self.panel._refresh_queue()


class JobsPanel(QWidget):
    """Follows the runners' signals; everything here runs on the GUI thread.

    One job has the big line: title, progress bar, Pause and Cancel, time left and, for a
    training, the loss curve. It is the GPU runner's running job, or while the GPU is idle
    the running job of another runner (added with :meth:`add_runner`: finding faces, a
    download), so the work under way is never "No job running" with nothing to cancel.
    Any other running job is a line in the queue list, cancellable there, and every
    finished job goes under Done. Each job shows in one place only.
    """

    def __init__(self, runner: BaseRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.title = QLabel("No job running.")
        self.title.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setFormat("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.curve = LossCurve()
        self.curve.hide()  # only a job that reports a loss (a training) shows it
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_current)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setEnabled(False)
        self.pause_button.setToolTip(
            "Free the computer for a while; the job goes on where it stopped when you click Resume."
        )
        self.pause_button.clicked.connect(self.toggle_pause)
        self.queue_list = QListWidget()
        self.queue_list.setMaximumHeight(64)
        self.queue_list.setSelectionMode(QListWidget.ExtendedSelection)
        self.queue_list.itemSelectionChanged.connect(self._update_remove_button)
        self.remove_button = QPushButton("Remove from queue")
        self.remove_button.clicked.connect(self.remove_selected)
        self.history_list = QListWidget()
        self.history_list.setWordWrap(True)

        # side by side, so the dock stays low and the grid keeps the window's height
        left = QVBoxLayout()
        left.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        left.addLayout(row)
        left.addWidget(self.status)
        left.addWidget(self.curve, 1)
        left.addStretch(0)  # keeps the lines at the top while the curve is hidden
        right = QVBoxLayout()
        queue_row = QHBoxLayout()
        queue_row.addWidget(QLabel("Waiting:"))
        queue_row.addStretch(1)
        queue_row.addWidget(self.remove_button)
        right.addLayout(queue_row)
        right.addWidget(self.queue_list)
        right.addWidget(QLabel("Done:"))
        right.addWidget(self.history_list, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        self._curve_job: int | None = None
        self._watches: list[_RunnerWatch] = []
        self._shown: tuple[_RunnerWatch, Job] | None = None
        # the time left moves between reports too (a step can take a minute)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._update_status)
        self.add_runner(runner)

    def add_runner(self, runner: BaseRunner, *, kinds: set[str] | None = None) -> None:
        """Follow another runner too: its running job takes the big line while the first
        runner is idle (else a line in the queue list, cancellable there), its finished
        jobs go under Done. With ``kinds``, only jobs of those kinds are shown (the others
        have a window of their own). Adding a runner again only changes its kinds."""
        for watch in self._watches:
            if watch.runner is runner:
                watch.kinds = set(kinds) if kinds is not None else None
                self._sync()
                return
        self._watches.append(_RunnerWatch(self, runner, set(kinds) if kinds is not None else None))
        self._sync()

    def runners(self) -> list[BaseRunner]:
        return [w.runner for w in self._watches]

    def shown_job(self) -> Job | None:
        """The job on the big line (with Pause and Cancel), if any."""
        return self._shown[1] if self._shown is not None else None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(900, 190)

    def cancel_current(self) -> None:
        """Cancel the job on the big line, through the runner it belongs to."""
        if self._shown is None:
            return
        watch, job = self._shown
        watch.runner.cancel(job.id)
        if not job.done:
            self.status.setText("Cancelling after the current step…")
        self.cancel_button.setEnabled(False)
        self.pause_button.setEnabled(False)

    def toggle_pause(self) -> None:
        if self._shown is None:
            return
        watch, job = self._shown
        if job.done or job.cancel_token.cancelled:
            return
        watch.runner.set_paused(job.id, job.paused_at is None)

    def _on_paused(self, watch: _RunnerWatch, job_id: int, paused: bool) -> None:
        if self._shown is None or self._shown[1].id != job_id:
            self._refresh_queue()
            return
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.status.setText(
                "Paused after the current step. It goes on where it stopped when you click Resume."
            )
        else:
            self.status.setText("Going on…")

    def remove_selected(self) -> None:
        """Remove the selected queued jobs, and cancel selected running ones, each through
        the runner it belongs to."""
        for item in self.queue_list.selectedItems():
            watch = self._watch_of(item.data(Qt.UserRole))
            if watch is not None:
                watch.runner.cancel(item.data(Qt.UserRole))

    # -- helpers ------------------------------------------------------------------------------
    def _watch_of(self, job_id: int) -> _RunnerWatch | None:
        for watch in self._watches:
            if watch.runner.job(job_id) is not None:
                return watch
        return None

    def _is_shown(self, job_id: int) -> bool:
        return self._shown is not None and self._shown[1].id == job_id

    def _candidate(self) -> tuple[_RunnerWatch, Job] | None:
        """The job the big line belongs to: the first runner's running job, else the first
        other runner's (in the order they were added)."""
        for watch in self._watches:
            job = watch.runner.current()
            if job is not None and not job.done and watch.follows(job):
                return watch, job
        return None

    def _running_line(self, job: Job) -> str:
        parts = [job.title, "paused" if job.paused_at is not None else "running"]
        progress = _progress_words(job.last_progress)
        if progress:
            parts.append(progress)
        left = time_left_text(job)
        if left:
            parts.append(left)
        return " · ".join(parts)

    def _queued_line(self, job: Job) -> str:
        left = time_left_text(job)
        return f"{job.title} · {left}" if left else job.title

    def _show_curve(self, visible: bool) -> None:
        self.curve.setVisible(visible)

    def _status_text(self, job: Job) -> str:
        p = job.last_progress
        parts = [p.stage.capitalize()] if p is not None else ["Starting…"]
        if p is not None and p.message:
            parts.append(p.message)
        left = time_left_text(job)
        if left:
            parts.append(left)
        if p is not None and p.loss is not None:
            parts.append(f"loss {format_loss(p.loss)}")
        return " · ".join(parts)

    def _update_status(self) -> None:
        """The big line's status again, with the time left as of now; a paused or
        cancelling job keeps saying so."""
        if self._shown is None:
            self._tick.stop()
            return
        job = self._shown[1]
        if job.done or job.paused_at is not None or job.cancel_token.cancelled:
            return
        self.status.setText(self._status_text(job))

    def _show(self, watch: _RunnerWatch, job: Job) -> None:
        """Give the big line to ``job``, as far as it has got."""
        self._shown = (watch, job)
        self.title.setText(job.title)
        p = job.last_progress
        if p is not None and p.total > 0:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.step, p.total))
            self.bar.setFormat(f"{p.step} / {p.total}")
        else:
            self.bar.setRange(0, 0)  # busy until a report says how far
            self.bar.setFormat("")
        cancelling = job.cancel_token.cancelled
        self.cancel_button.setEnabled(not cancelling)
        self.pause_button.setEnabled(not cancelling)
        paused = job.paused_at is not None
        self.pause_button.setText("Resume" if paused else "Pause")
        if cancelling:
            self.status.setText("Cancelling after the current step…")
        elif paused:
            self._on_paused(watch, job.id, True)
        else:
            self.status.setText(self._status_text(job))
        if job.kind == "train":
            if self._curve_job != job.id:
                self._curve_job = job.id
                self.curve.clear()
            self._show_curve(True)
        else:
            self._show_curve(False)
        self._tick.start()

    def _show_idle(self, job: Job | None) -> None:
        self._shown = None
        self._tick.stop()
        if job is not None:
            self.title.setText(outcome_text(job))
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if job is not None and job.state is JobState.FINISHED else 0)
        self.bar.setFormat("")
        self.status.setText("")
        self.cancel_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        self._show_curve(False)  # idle: the points stay for the next look, not on screen

    def _sync(self) -> None:
        """The big line follows the job it belongs to; the queue list shows the rest."""
        want = self._candidate()
        if want is not None and not self._is_shown(want[1].id):
            self._show(*want)
        elif want is None and self._shown is not None:
            self._show_idle(None)
        self._refresh_queue()

    # -- slots ----------------------------------------------------------------------------
    def _on_started(self, watch: _RunnerWatch, job_id: int) -> None:
        self._sync()

    def _on_progress(self, watch: _RunnerWatch, job_id: int, p: Progress) -> None:
        job = watch.runner.job(job_id)
        if job is None:
            return
        if not self._is_shown(job_id):
            if watch.follows(job):
                self._update_running_line(job)
            return
        if p.total > 0:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.step, p.total))
            self.bar.setFormat(f"{p.step} / {p.total}")
        if p.loss is not None:
            if job_id != self._curve_job:
                self._curve_job = job_id
                self.curve.clear()
            self._show_curve(True)
            self.curve.add_point(p.step, p.loss)
        self._update_status()

    def _on_done(self, watch: _RunnerWatch, job_id: int) -> None:
        job = watch.runner.job(job_id)
        if job is None:
            return
        if watch.follows(job):
            item = QListWidgetItem(outcome_text(job))
            if job.state is JobState.FAILED:
                item.setForeground(QColor(190, 30, 30))
            self.history_list.insertItem(0, item)
        if self._is_shown(job_id):
            self._show_idle(job)  # the outcome stays on the big line until the next job
        self._sync()

    def _update_running_line(self, job: Job) -> None:
        for i in range(self.queue_list.count()):
            item = self.queue_list.item(i)
            if item.data(Qt.UserRole) == job.id:
                item.setText(self._running_line(job))
                return
        self._refresh_queue()

    def _refresh_queue(self) -> None:
        selected = {item.data(Qt.UserRole) for item in self.queue_list.selectedItems()}
        self.queue_list.clear()
        lines: list[tuple[int, str, bool]] = []
        # running jobs not on the big line first (one place each), then those waiting
        for watch in self._watches:
            job = watch.runner.current()
            if watch.follows(job) and not job.done and not self._is_shown(job.id):
                lines.append((job.id, self._running_line(job), True))
        for watch in self._watches:
            for job in watch.runner.queued():
                if watch.follows(job):
                    lines.append((job.id, self._queued_line(job), False))
        for job_id, text, running in lines:
            item = QListWidgetItem(text)
            item.setData(Qt.UserRole, job_id)
            item.setData(Qt.UserRole + 1, running)
            self.queue_list.addItem(item)
            item.setSelected(job_id in selected)
        self._update_remove_button()

    def _update_remove_button(self) -> None:
        selected = self.queue_list.selectedItems()
        running = any(item.data(Qt.UserRole + 1) for item in selected)
        self.remove_button.setText("Cancel selected" if running else "Remove from queue")
        self.remove_button.setEnabled(self.queue_list.count() > 0)
