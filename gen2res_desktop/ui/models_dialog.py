"""The model manager: installed priors, download with progress and cancel, local import."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.download import DEFAULT_PRIORS, download_prior
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PRIOR_KINDS, PriorInfo, PriorRegistry
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.workers import BaseRunner, Job

log = logging.getLogger(__name__)

DownloadFn = Callable[..., PriorInfo]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class ImportPriorDialog(QDialog):
    """Name and kind for a local diffusers folder being imported."""

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import prior")
        self.name_edit = QLineEdit(folder.name)
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(PRIOR_KINDS)
        form = QFormLayout(self)
        form.addRow("Folder:", QLabel(str(folder)))
        form.addRow("Name:", self.name_edit)
        form.addRow("Kind:", self.kind_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class ModelsDialog(QDialog):
    """Installed priors; downloads and imports run on ``runner`` so the dialog stays live.

    The main window keeps one instance: closing it hides it, a download goes on, and
    reopening shows where it is.
    """

    def __init__(
        self,
        home: Path,
        runner: BaseRunner,
        parent: QWidget | None = None,
        *,
        download_fn: DownloadFn = download_prior,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.home = home
        self.registry = PriorRegistry(home)
        self.runner = runner
        self.download_fn = download_fn
        self._job_id: int | None = None

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Name", "Kind", "Resolution", "Size", "Source"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)

        self.spec_combo = QComboBox()
        self.spec_combo.setEditable(True)
        for alias, d in DEFAULT_PRIORS.items():
            self.spec_combo.addItem(f"{alias}", alias)
            self.spec_combo.setItemData(
                self.spec_combo.count() - 1, f"{d.repo_id} ({d.licence})", Qt.ToolTipRole
            )
        self.spec_combo.setToolTip("'face', 'cat', or a Hugging Face model id")
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.start_download)
        self.import_button = QPushButton("Import folder…")
        self.import_button.clicked.connect(self._import_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_clicked)
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)

        row = QHBoxLayout()
        row.addWidget(QLabel("Download:"))
        row.addWidget(self.spec_combo, 1)
        row.addWidget(self.download_button)
        row.addWidget(self.import_button)
        row.addWidget(self.remove_button)
        prog = QHBoxLayout()
        prog.addWidget(self.progress_bar, 1)
        prog.addWidget(self.cancel_button)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addLayout(prog)
        layout.addWidget(self.message)
        layout.addWidget(close)

        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)
        self.resize(720, 360)
        self.refresh()

    # -- listing --------------------------------------------------------------------------
    def refresh(self) -> None:
        priors = self.registry.list()
        self.table.setRowCount(len(priors))
        for row, info in enumerate(priors):
            cells = [
                info.name,
                info.kind,
                f"{info.resolution} px",
                format_bytes(folder_size(info.path)),
                info.source,
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{info.parameters / 1e6:.1f} M parameters\n{info.path}")
                self.table.setItem(row, col, item)
        self.remove_button.setEnabled(bool(priors))

    def installed_names(self) -> list[str]:
        return [info.name for info in self.registry.list()]

    # -- work -----------------------------------------------------------------------------
    def _busy(self, busy: bool, text: str = "") -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.download_button.setEnabled(not busy)
        self.import_button.setEnabled(not busy)
        if busy:
            self.progress_bar.setRange(0, 0)
        self.message.setText(text)

    def start_download(self) -> int | None:
        spec = (self.spec_combo.currentData() or self.spec_combo.currentText()).strip()
        if not spec:
            return None
        fn = functools.partial(self.download_fn, spec, home=self.home)
        return self._submit(
            Job(f"Download prior {spec}", fn, kind="download"), f"Downloading {spec}…"
        )

    def import_folder(self, folder: Path, name: str, kind: str) -> int:
        fn = functools.partial(self._import, Path(folder), name, kind)
        return self._submit(Job(f"Import prior {name}", fn, kind="download"), f"Importing {name}…")

    def _import(self, folder: Path, name: str, kind: str, *, progress, cancel) -> PriorInfo:
        cancel.check()
        return self.registry.import_folder(folder, name, kind)

    def _submit(self, job: Job, text: str) -> int:
        self._busy(True, text)
        self._job_id = job.id
        return self.runner.submit(job)

    def cancel(self) -> None:
        if self._job_id is not None:
            self.runner.cancel(self._job_id)
            self.message.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _on_progress(self, job_id: int, p: Progress) -> None:
        if job_id != self._job_id or p.total <= 0:
            return
        # byte counts overflow a QProgressBar's int past 2 GB: show per-mille instead
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * p.step / p.total))
        self.progress_bar.setFormat(f"{format_bytes(p.step)} of {format_bytes(p.total)}")

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        name = getattr(result, "name", "")
        self._busy(False, f"Installed {name}.")
        self.refresh()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False, message)
        self.refresh()

    def _on_cancelled(self, job_id: int) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False, "Cancelled. Downloading again resumes where it stopped.")

    # -- buttons --------------------------------------------------------------------------
    def choose_folder(self) -> Path | None:
        """Ask for a diffusers folder; tests replace this method."""
        folder = QFileDialog.getExistingDirectory(self, "Import a diffusers model folder")
        return Path(folder) if folder else None

    def _import_clicked(self) -> None:
        folder = self.choose_folder()
        if folder is None:
            return
        dialog = ImportPriorDialog(folder, self)
        if dialog.exec() == QDialog.Accepted:
            self.import_folder(
                folder, dialog.name_edit.text().strip(), dialog.kind_combo.currentText()
            )

    def _remove_clicked(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        name = self.table.item(row, 0).text()
        answer = QMessageBox.question(
            self,
            "Remove prior",
            f"Remove the prior '{name}'? Subjects using it cannot restore until it is installed again.",
        )
        if answer != QMessageBox.Yes:
            return
        try:
            self.registry.remove(name)
        except (Gen2ResError, OSError) as e:
            self.message.setText(str(e))
        self.refresh()
