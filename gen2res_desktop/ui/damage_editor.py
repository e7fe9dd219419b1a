"""The damage map editor: the photo with its scratches and dust shown in red, to correct by
hand before restoring.

The map being edited is a :class:`~gen2res_desktop.ui.damage_map.DamageMap` (painted in
place, with its undo history) shown in a :class:`~gen2res_desktop.ui.damage_view.DamageView`.
Detection runs as a job on a runner (seconds for a big scan), never on the GUI thread;
painting is paused while it runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.damage_map import DamageMap
from gen2res_desktop.ui.damage_view import DamageView
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.workers import BaseRunner

log = logging.getLogger(__name__)

MAX_BRUSH = 400
BRUSH, ERASER = "brush", "eraser"


DetectFn = Callable[..., np.ndarray]  # (sensitivity=, progress=, cancel=) -> uint8 map


class DamageMapEditor(QDialog):
    """Edit one library photo's damage map: its painted map if it has one, else the map the
    detector finds (shown once detection has run on ``runner``).

    Save stores the map with the photo, used by every later restore instead of the
    detector; "Use automatic detection" drops it again. Questions go through :meth:`ask`,
    which tests replace.
    """

    def __init__(
        self,
        library: Library,
        photo_id: int,
        photo: QImage,
        runner: BaseRunner,
        detect: DetectFn,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.photo_id = photo_id
        self.runner = runner
        self.detect = detect
        self.photo_name = library.get_photo(photo_id).original_name
        self.setWindowTitle(f"Damage map — {self.photo_name}")
        self.damage = DamageMap(photo.width(), photo.height())
        self._job_id: int | None = None
        self._automatic_job = False
        self._closed = False
        self.source = "automatic"  # "painted": the map stored with the photo
        self.dirty = False  # changes not saved yet
        self.saved_sensitivity = library.repair_settings().scratch_sensitivity

        self.view = DamageView(self)
        self._build_controls()
        self.view.set_photo(photo, self.damage.image)
        self._connect_runner(True)
        self.resize(1000, 760)

        painted = self._load_painted()
        if painted is not None:
            self._set_mask(painted)
            self.source = "painted"
            self._update_status()
        else:
            self.detect_again(self.saved_sensitivity, automatic=True)

    # -- construction -----------------------------------------------------------------------
    def _build_controls(self) -> None:
        tb = QToolBar("Damage map")
        group = QActionGroup(self)
        self.action_brush = QAction("Brush", self, checkable=True)
        self.action_brush.setShortcut(QKeySequence("B"))
        self.action_brush.setToolTip("Paint over scratches and dust the detector missed (B)")
        self.action_eraser = QAction("Eraser", self, checkable=True)
        self.action_eraser.setShortcut(QKeySequence("E"))
        self.action_eraser.setToolTip("Remove red from places that are not damage (E)")
        for a in (self.action_brush, self.action_eraser):
            group.addAction(a)
            tb.addAction(a)
        self.action_brush.setChecked(True)
        tb.addSeparator()
        tb.addWidget(QLabel(" Brush size "))
        self.size_slider = QSlider(Qt.Horizontal)
        self.size_slider.setRange(1, MAX_BRUSH)
        w, h = self.damage.image.width(), self.damage.image.height()
        self.size_slider.setValue(max(4, min(w, h) // 100))
        self.size_slider.setFixedWidth(140)
        self.size_slider.setToolTip("Brush size in photo pixels; [ and ] make it smaller or larger")
        self.size_label = QLabel()
        self.size_slider.valueChanged.connect(self._size_changed)
        tb.addWidget(self.size_slider)
        tb.addWidget(self.size_label)
        self._size_changed(self.size_slider.value())
        smaller = QAction("Smaller brush", self)
        smaller.setShortcut(QKeySequence("["))
        smaller.triggered.connect(lambda: self.set_brush_size(round(self.brush_size() / 1.25)))
        larger = QAction("Larger brush", self)
        larger.setShortcut(QKeySequence("]"))
        larger.triggered.connect(lambda: self.set_brush_size(round(self.brush_size() * 1.25) + 1))
        self.addAction(smaller)
        self.addAction(larger)
        tb.addSeparator()
        self.action_undo = tb.addAction("Undo", self.undo)
        self.action_undo.setShortcut(QKeySequence.Undo)
        self.action_undo.setToolTip("Take back the last change (Ctrl+Z)")
        self.action_clear = tb.addAction("Clear all", self.clear_all)
        self.action_clear.setToolTip("Remove all red: nothing on this photo will be filled in")
        tb.addSeparator()
        self.action_fit = tb.addAction("Fit", self.view.fit)
        self.action_fit.setShortcut(QKeySequence("Ctrl+0"))
        self.action_fit.setToolTip("Show the whole photo (Ctrl+0)")
        self.action_actual = tb.addAction("100%", self.view.actual_size)
        self.action_actual.setShortcut(QKeySequence("Ctrl+1"))
        self.action_actual.setToolTip("One photo pixel per screen pixel (Ctrl+1)")

        detect_row = QHBoxLayout()
        detect_row.addWidget(QLabel("Sensitivity:"))
        self.sensitivity = QSlider(Qt.Horizontal)
        self.sensitivity.setRange(0, 100)
        self.sensitivity.setValue(round(self.saved_sensitivity * 100))
        self.sensitivity.setToolTip(
            "How faint a scratch or speck is still marked. Higher finds more, but may mark "
            "fine detail too. Click Detect again to use it."
        )
        detect_row.addWidget(self.sensitivity, 1)
        self.detect_button = QPushButton("Detect again")
        self.detect_button.setToolTip(
            "Find the scratches and dust again at this sensitivity (replaces the red marks)"
        )
        self.detect_button.clicked.connect(lambda: self.detect_again())
        self.automatic_button = QPushButton("Use automatic detection")
        self.automatic_button.setToolTip(
            "Forget the painted map: each restore finds the scratches and dust by itself"
        )
        self.automatic_button.clicked.connect(self.use_automatic)
        detect_row.addWidget(self.detect_button)
        detect_row.addWidget(self.automatic_button)

        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(220)
        self.cancel_detect_button = QPushButton("Stop")
        self.cancel_detect_button.setVisible(False)
        self.cancel_detect_button.clicked.connect(self.cancel_detection)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Keep this map for the photo; every restore will use it")
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_detect_button)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.cancel_button)

        hint = QLabel(
            "Red shows the scratches, dust and cracks that will be filled in. Paint with the "
            "brush where some were missed, wipe with the eraser where red covers real detail."
        )
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setMenuBar(tb)
        layout.addWidget(hint)
        layout.addWidget(self.view, 1)
        layout.addLayout(detect_row)
        layout.addLayout(bottom)

    def _connect_runner(self, on: bool) -> None:
        r = self.runner
        pairs = (
            (r.progress, self._on_progress),
            (r.finished, self._on_finished),
            (r.failed, self._on_failed),
            (r.cancelled, self._on_cancelled),
        )
        for signal, slot in pairs:
            signal.connect(slot) if on else signal.disconnect(slot)

    # -- questions (tests replace) -----------------------------------------------------------
    def ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(
            self, title, question, QMessageBox.Yes | QMessageBox.No, QMessageBox.No
        )
        return answer == QMessageBox.Yes

    # -- the map ----------------------------------------------------------------------------
    def mask(self) -> np.ndarray:
        """The map as shown: uint8, photo-sized, 255 = damaged."""
        return self.damage.mask()

    def coverage(self) -> float:
        """Fraction of the photo marked as damaged."""
        return self.damage.coverage()

    def _load_painted(self) -> np.ndarray | None:
        try:
            return self.library.photo_damage_map(self.photo_id)
        except Gen2ResError as e:
            log.warning("painted damage map of photo %s: %s", self.photo_id, e)
            self.status.setText(f"Your painted map could not be read ({e}); detecting instead.")
            return None

    def _set_mask(self, mask: np.ndarray) -> None:
        self.damage.set_mask(mask)
        self.view.mask_item.update()
        self._update_status()

    def _update_status(self) -> None:
        if self._job_id is not None:
            return
        if self.source == "painted":
            where = "your painted map"
        else:
            where = "found automatically" + (", then edited" if self.dirty else "")
        text = f"Damage marked: {self.damage.coverage():.2%} of the photo ({where})"
        if self.dirty:
            text += " · not saved yet"
        self.status.setText(text)

    def _push_undo(self, rect: QRect, before: QImage | None = None) -> None:
        """Remember ``rect`` of the map as it was (``before``: a copy of the whole map)."""
        if self.damage.remember(rect, before):
            self.action_undo.setEnabled(True)

    def _changed(self) -> None:
        self.dirty = True
        self.damage.recount()
        self._update_status()

    def undo(self) -> bool:
        if not self.damage.can_undo() or self._job_id is not None:
            return False
        self.view.mask_item.update(QRectF(self.damage.undo()))
        self.action_undo.setEnabled(self.damage.can_undo())
        self._changed()
        return True

    def clear_all(self) -> None:
        if self._job_id is not None or not self.damage.coverage():
            return
        self._push_undo(self.damage.image.rect())
        self.damage.clear()
        self.view.mask_item.update()
        self._changed()

    # -- painting ---------------------------------------------------------------------------
    def tool(self) -> str:
        return ERASER if self.action_eraser.isChecked() else BRUSH

    def brush_size(self) -> int:
        return self.size_slider.value()

    def set_brush_size(self, size: int) -> None:
        self.size_slider.setValue(min(max(int(size), 1), MAX_BRUSH))

    def _size_changed(self, value: int) -> None:
        self.size_label.setText(f"{value} px ")

    def can_paint(self) -> bool:
        return self._job_id is None

    def begin_stroke(self, point: QPointF) -> None:
        dirty = self.damage.begin_stroke(point, self.brush_size(), self.tool() == ERASER)
        self.view.mask_item.update(QRectF(dirty))

    def stroke_to(self, point: QPointF) -> None:
        dirty = self.damage.stroke_to(point, self.brush_size(), self.tool() == ERASER)
        if dirty is not None:
            self.view.mask_item.update(QRectF(dirty))

    def end_stroke(self) -> None:
        stroke = self.damage.end_stroke()
        if stroke is None:
            return
        self._push_undo(*stroke)
        self._changed()

    # -- detection --------------------------------------------------------------------------
    def detect_again(
        self, sensitivity: float | None = None, *, automatic: bool = False
    ) -> int | None:
        """Run the detector in the background; its map replaces the marks when it is done.

        ``automatic``: the map every restore finds by itself (at the saved sensitivity),
        shown as it is, not a change to save; otherwise the result is a change (Undo, Save).
        """
        if self._job_id is not None:
            return None
        if sensitivity is not None:
            self.sensitivity.setValue(round(sensitivity * 100))
        value = self.sensitivity.value() / 100
        fn = functools.partial(self.detect, sensitivity=value)
        job = Job(f"Find damage in {self.photo_name}", fn, kind="detect")
        self._job_id = job.id
        self._automatic_job = automatic
        self._busy(True)
        self.runner.submit(job)
        return job.id

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_detect_button.setVisible(busy)
        for w in (self.detect_button, self.automatic_button, self.save_button):
            w.setEnabled(not busy)
        for a in (self.action_undo, self.action_clear):
            a.setEnabled(not busy)
        if busy:
            self.progress.setRange(0, 0)
            self.status.setText("Finding scratches and dust…")
        else:
            self.action_undo.setEnabled(self.damage.can_undo())

    def detecting(self) -> bool:
        return self._job_id is not None

    def cancel_detection(self) -> None:
        if self._job_id is not None:
            self.runner.cancel(self._job_id)
            self.status.setText("Stopping…")

    def _on_progress(self, job_id: int, p: Progress) -> None:
        if job_id != self._job_id:
            return
        if p.total > 0:
            self.progress.setRange(0, p.total)
            self.progress.setValue(min(p.step, p.total))

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False)
        if not isinstance(result, np.ndarray):
            return
        if self._automatic_job:
            # what a restore would find by itself: nothing to undo, nothing to save
            self._set_mask(result)
            return
        self._push_undo(self.damage.image.rect())
        self._set_mask(result)
        self._changed()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False)
        self._update_status()
        self.status.setText(f"Finding the damage failed: {message}")

    def _on_cancelled(self, job_id: int) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False)
        self._update_status()

    # -- saving -----------------------------------------------------------------------------
    def use_automatic(self) -> bool:
        """Drop the painted map (restores detect the damage again) and show what they find."""
        if (self.source == "painted" or self.dirty) and not self.ask(
            "Use automatic detection",
            "Forget the damage map you painted for this photo? Each restore will find the "
            "scratches and dust by itself again.",
        ):
            return False
        try:
            self.library.set_photo_damage_map(self.photo_id, None)
        except (Gen2ResError, OSError) as e:
            self.status.setText(f"Could not change the map: {e}")
            return False
        self.source = "automatic"
        self.dirty = False
        self.damage.forget_history()
        self.action_undo.setEnabled(False)
        self.detect_again(self.saved_sensitivity, automatic=True)
        return True

    def save(self) -> bool:
        """Keep the map with the photo and close; an untouched automatic map stays automatic."""
        if self._job_id is not None:
            return False
        if self.source == "automatic" and not self.dirty:
            self.accept_without_question()
            return True
        try:
            self.library.set_photo_damage_map(self.photo_id, self.mask())
        except (Gen2ResError, OSError) as e:
            self.status.setText(f"The map could not be saved: {e}")
            return False
        self.source = "painted"
        self.dirty = False
        self.accept_without_question()
        return True

    def accept_without_question(self) -> None:
        self._finish()
        super().accept()

    def reject(self) -> None:
        """Cancel, Escape and the window's close button: asks first if there are changes."""
        if self.dirty and not self.ask(
            "Unsaved changes",
            "You changed the damage map. Close without saving? Click No, then Save, to keep it.",
        ):
            return
        self._finish()
        super().reject()

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._job_id is not None:
            self.runner.cancel(self._job_id)
            self._job_id = None
        self._connect_runner(False)
