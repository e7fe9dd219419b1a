"""The jobs panel: the running GPU job with progress, time left and a loss curve; the queue;
and what happened to finished jobs, in plain words."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
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
from gen2res_desktop.ui.workers import BaseRunner, Job, JobState

MAX_POINTS = 2000


class LossCurve(QWidget):
    """A small polyline of training loss against step (log scale when it spans decades)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[int, float]] = []
        self.setMinimumSize(160, 70)
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

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(self.rect()).adjusted(4, 4, -4, -16)
        p.fillRect(self.rect(), self.palette().base())
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(rect)
        if len(self.points) < 2:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(rect, Qt.AlignCenter, "loss curve")
            p.end()
            return
        ys, logscale = self._y_values()
        x0, x1 = self.points[0][0], self.points[-1][0]
        lo, hi = min(ys), max(ys)
        span_x = max(x1 - x0, 1)
        span_y = hi - lo or 1.0
        poly = QPolygonF(
            [
                QPointF(
                    rect.left() + (s - x0) / span_x * rect.width(),
                    rect.bottom() - (y - lo) / span_y * rect.height(),
                )
                for (s, _), y in zip(self.points, ys, strict=True)
            ]
        )
        p.setPen(QPen(QColor(52, 120, 220), 1.5))
        p.drawPolyline(poly)
        p.setPen(self.palette().text().color())
        last = self.points[-1][1]
        scale = " (log)" if logscale else ""
        p.drawText(
            QRectF(4, rect.bottom() + 1, self.width() - 8, 14),
            Qt.AlignLeft | Qt.AlignVCenter,
            f"loss {last:.4f}{scale}",
        )
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


def outcome_text(job: Job) -> str:
    """What happened to a job, in plain words."""
    if job.state is JobState.FINISHED:
        return f"{job.title}: finished."
    if job.state is JobState.CANCELLED:
        return f"{job.title}: cancelled."
    if job.state is JobState.FAILED:
        return f"{job.title}: failed. {job.error}"
    if job.state is JobState.RUNNING:
        return f"{job.title}: running."
    return f"{job.title}: waiting."


class JobsPanel(QWidget):
    """Follows one runner's signals; everything here runs on the GUI thread."""

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
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_current)
        self.queue_list = QListWidget()
        self.queue_list.setMaximumHeight(64)
        self.remove_button = QPushButton("Remove from queue")
        self.remove_button.clicked.connect(self.remove_selected)
        self.history_list = QListWidget()
        self.history_list.setWordWrap(True)

        # side by side, so the dock stays low and the grid keeps the window's height
        left = QVBoxLayout()
        left.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        left.addLayout(row)
        left.addWidget(self.status)
        left.addWidget(self.curve, 1)
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

        runner.started.connect(self._on_started)
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_done)
        runner.failed.connect(self._on_done)
        runner.cancelled.connect(self._on_done)
        runner.queue_changed.connect(self._refresh_queue)
        self._refresh_queue()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(900, 190)

    def cancel_current(self) -> None:
        job = self.runner.current()
        if job is not None:
            self.runner.cancel(job.id)
            self.status.setText("Cancelling after the current step…")
            self.cancel_button.setEnabled(False)

    def remove_selected(self) -> None:
        for item in self.queue_list.selectedItems():
            self.runner.cancel(item.data(Qt.UserRole))

    def _on_started(self, job_id: int) -> None:
        job = self.runner.job(job_id)
        self.title.setText(job.title if job else "Working…")
        self.bar.setRange(0, 0)  # busy until the first report says how far
        self.bar.setFormat("")
        self.status.setText("Starting…")
        self.cancel_button.setEnabled(True)

    def _on_progress(self, job_id: int, p: Progress) -> None:
        job = self.runner.job(job_id)
        if p.total > 0:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.step, p.total))
            self.bar.setFormat(f"{p.step} / {p.total}")
        parts = [p.stage.capitalize()]
        if p.message:
            parts.append(p.message)
        left = job.seconds_left() if job else None
        if left is not None:
            parts.append(f"about {format_duration(left)} left")
        if p.loss is not None:
            parts.append(f"loss {p.loss:.4f}")
            # the last training's curve stays up while restores (which have no loss) run
            if job_id != self._curve_job:
                self._curve_job = job_id
                self.curve.clear()
            self.curve.add_point(p.step, p.loss)
        self.status.setText(" · ".join(parts))

    def _on_done(self, job_id: int, *_: object) -> None:
        job = self.runner.job(job_id)
        if job is None:
            return
        item = QListWidgetItem(outcome_text(job))
        if job.state is JobState.FAILED:
            item.setForeground(QColor(190, 30, 30))
        self.history_list.insertItem(0, item)
        if self.runner.current() is None:
            self.title.setText(outcome_text(job))
            self.bar.setRange(0, 1)
            self.bar.setValue(1 if job.state is JobState.FINISHED else 0)
            self.bar.setFormat("")
            self.status.setText("")
            self.cancel_button.setEnabled(False)

    def _refresh_queue(self) -> None:
        self.queue_list.clear()
        for job in self.runner.queued():
            item = QListWidgetItem(job.title)
            item.setData(Qt.UserRole, job.id)
            self.queue_list.addItem(item)
        self.remove_button.setEnabled(bool(self.runner.queued()))
