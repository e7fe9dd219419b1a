"""Before/after comparison: side by side with synchronised zoom and pan, or a split view
(the views are in compare_views).

Both views show the images in the result's coordinates (the original is scaled up onto a
result the repair enlarged 2x or 4x), so the same zoom and scroll position mean the same
pixels and 100% shows the result pixel for pixel. The damage map the repair used can be
laid over the Before image in red, with the facial features the repair left alone
outlined (see compare_overlays, which also writes the lines under the images). A photo
with a colourised restoration gets colour controls (compare_colour): Colour, Black and
white or the Original on the After side, and the Colour strength.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.ui.compare_colour import ColourControls, ColourImages

# the text helpers lived here first: details.py and older callers import them from here
from gen2res_desktop.ui.compare_overlays import (  # noqa: F401 - re-exported
    WARNING_COLOUR,
    CompareInfo,
    DamageMapToggle,
    DamageOverlay,
    Polygons,
    face_scores_parts,
    face_scores_warnings,
    repair_summary,
)

# the views lived here first
from gen2res_desktop.ui.compare_views import (  # noqa: F401 - re-exported
    BACKGROUND,
    MAX_ZOOM,
    MIN_ZOOM,
    ZOOM_STEP,
    SideBySideView,
    SplitView,
)
from gen2res_desktop.ui.settings import last_folder, remember_folder

log = logging.getLogger(__name__)

IMAGE_FILES = "PNG or JPEG (*.png *.jpg *.jpeg)"


# -- window ---------------------------------------------------------------------------------

ExportFn = Callable[[Path, bool], Path]


class CompareWindow(QMainWindow):
    """Before and after of one restoration, with a toolbar to switch views and export."""

    SIDE_BY_SIDE, SPLIT = 0, 1

    def __init__(
        self,
        before: QImage,
        after: QImage,
        info: CompareInfo,
        *,
        export: ExportFn | None = None,
        suggested_name: str = "restored.png",
        damage_overlay: QImage | None = None,
        damage_partly: bool = False,
        protected: Polygons = (),
        colour: ColourImages | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_DeleteOnClose)
        self.setWindowTitle(f"Compare — {info.title}" if info.title else "Compare")
        self.before, self.after, self.info = before, after, info
        self.damage = DamageMapToggle(
            self, damage_overlay, protected, self._apply_overlays, partly=damage_partly
        )
        self.damage_overlay = self.damage.image  # None: no map recorded
        self.protected_outline = self.damage.outline  # None: no feature protected
        self.flipped = False
        self._export = export
        self._suggested_name = suggested_name
        self.last_exported: Path | None = None
        self.last_message: QMessageBox | None = None

        self.side_by_side = SideBySideView()
        self.split = SplitView()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.side_by_side)
        self.stack.addWidget(self.split)
        self.info_label = QLabel(info.line())
        self.info_label.setObjectName("compareInfo")
        self.info_label.setToolTip(info.explanation())
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.info_label.setVisible(bool(info.line()))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack, 1)
        # None: the photo has no colourised restoration
        self.colour_controls = None if colour is None else ColourControls(colour, before)
        if self.colour_controls is not None:
            self.after = self.colour_controls.image()
            self.colour_controls.changed.connect(self._colour_changed)
            layout.addWidget(self.colour_controls)
        layout.addWidget(self.info_label)
        warnings = info.warnings()
        self.warning_label = QLabel(" ".join(warnings))
        self.warning_label.setObjectName("compareWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.warning_label.setStyleSheet(f"color: {WARNING_COLOUR.name()};")
        self.warning_label.setVisible(bool(warnings))
        layout.addWidget(self.warning_label)
        self.repair_label = QLabel(info.repair)
        self.repair_label.setObjectName("compareRepair")
        self.repair_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.repair_label.setWordWrap(True)
        self.repair_label.setVisible(bool(info.repair))
        layout.addWidget(self.repair_label)
        self.legend_label = self.damage.legend
        layout.addWidget(self.legend_label)
        self.setCentralWidget(central)
        self._build_toolbar()
        self._apply_images()
        self.resize(1100, 700)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Compare")
        tb.setObjectName("compareToolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        group = QActionGroup(self)
        self.action_side = QAction("Side by side", self, checkable=True)
        self.action_split = QAction("Split", self, checkable=True)
        for a in (self.action_side, self.action_split):
            group.addAction(a)
            tb.addAction(a)
        self.action_side.setChecked(True)
        self.action_side.triggered.connect(lambda: self.set_mode(self.SIDE_BY_SIDE))
        self.action_split.triggered.connect(lambda: self.set_mode(self.SPLIT))
        tb.addSeparator()
        self.action_fit = tb.addAction("Fit", self.fit)
        self.action_fit.setShortcut(QKeySequence("Ctrl+0"))
        self.action_actual = tb.addAction("100%", self.actual_size)
        self.action_actual.setShortcut(QKeySequence("Ctrl+1"))
        self.action_flip = tb.addAction("Flip before/after", self.flip)
        self.action_flip.setShortcut(QKeySequence(Qt.Key_Space))
        self.action_flip.setToolTip("Swap the before and after images (Space)")
        self.action_damage = self.damage.action
        tb.addAction(self.action_damage)
        tb.addSeparator()
        self.action_export = tb.addAction("Export…", lambda: self.export(side_by_side=False))
        self.action_export.setShortcut(QKeySequence.Save)
        self.action_export_sbs = tb.addAction(
            "Export side by side…", lambda: self.export(side_by_side=True)
        )
        for a in (self.action_export, self.action_export_sbs):
            a.setEnabled(self._export is not None)
        spacer = QWidget()  # pushes Close to the right end of the toolbar
        spacer.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        tb.addWidget(spacer)
        self.action_close = tb.addAction("Close", self.close)
        self.action_close.setShortcuts(
            [*QKeySequence.keyBindings(QKeySequence.Close), QKeySequence(Qt.Key_Escape)]
        )
        self.action_close.setToolTip("Close this window (Esc or Ctrl+W)")
        self.close_button = tb.widgetForAction(self.action_close)

    # -- view state -----------------------------------------------------------------------
    def mode(self) -> int:
        return self.stack.currentIndex()

    def set_mode(self, mode: int) -> None:
        self.stack.setCurrentIndex(mode)
        (self.action_side if mode == self.SIDE_BY_SIDE else self.action_split).setChecked(True)

    def scene_size(self) -> QSize:
        """The result's size: an enlarged result is shown pixel for pixel at 100%."""
        return self.after.size() if not self.after.isNull() else self.before.size()

    def _apply_images(self) -> None:
        size = self.scene_size()
        left, right = (self.after, self.before) if self.flipped else (self.before, self.after)
        labels = ("After", "Before") if self.flipped else ("Before", "After")
        for view in (self.side_by_side, self.split):
            view.set_images(left, right, size)
            view.set_labels(*labels)
        self._apply_overlays()

    def _colour_changed(self) -> None:
        self.after = self.colour_controls.image()
        self._apply_images()

    def _apply_overlays(self) -> None:
        size = self.scene_size()
        overlay = self.damage.shown()
        overlays = (None, overlay) if self.flipped else (overlay, None)
        for view in (self.side_by_side, self.split):
            view.set_overlays(*overlays, size)

    def showing_damage(self) -> bool:
        return self.damage.shown() is not None

    def show_damage(self, on: bool) -> None:
        if self.action_damage.isEnabled():
            self.action_damage.setChecked(on)
            self._apply_overlays()

    def flip(self) -> None:
        self.flipped = not self.flipped
        self._apply_images()

    def fit(self) -> None:
        self.side_by_side.fit()
        self.split.fit()

    def actual_size(self) -> None:
        self.side_by_side.actual_size()
        self.split.actual_size()

    def zoom_to(self, zoom: float, x: float, y: float) -> None:
        """Both views: result pixel (x, y) at the centre, ``zoom`` screen pixels per pixel."""
        self.side_by_side.zoom_to(zoom, x, y)
        self.split.zoom_to(zoom, x, y)

    # -- export ---------------------------------------------------------------------------
    def choose_export_path(self, side_by_side: bool) -> Path | None:
        """Ask where to save; tests replace this method."""
        name = self._suggested_name
        if side_by_side:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}-side-by-side.{ext}" if dot else f"{name}-side-by-side"
        where = str(Path(last_folder("export")) / name)
        path, _ = QFileDialog.getSaveFileName(self, "Export", where, IMAGE_FILES)
        if path:
            remember_folder("export", path)
        return Path(path) if path else None

    def export(self, *, side_by_side: bool) -> Path | None:
        if self._export is None:
            return None
        path = self.choose_export_path(side_by_side)
        if path is None:
            return None
        try:
            out = self._export(path, side_by_side)
        except Exception as exc:  # noqa: BLE001 - a failed export must not close the window
            from gen2res_desktop.ui.workers import describe_error

            log.warning("export to %s failed", path, exc_info=True)
            self._message(QMessageBox.Warning, "Export failed", describe_error(exc))
            return None
        self.last_exported = Path(out)
        self._message(QMessageBox.Information, "Exported", f"Saved {out}")
        return self.last_exported

    def _message(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.last_message = box
