"""The model manager, two tabs: the diffusion priors that regenerate faces, and the photo
models that repair the whole photo (scratches, grain, enlarging). Downloads and imports
run one at a time on the download runner, with progress and cancel. The photo models tab
lives in photo_models_tab."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.defaults import PRIOR_KINDS
from gen2res_desktop.core.download import DEFAULT_PRIORS, download_prior
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PriorInfo, PriorRegistry
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.photo_models_tab import (  # noqa: F401 - format_bytes re-exported
    MODEL_FILES,
    PhotoModelsTab,
    fill_row,
    folder_size,
    format_bytes,
    make_table,
    remembered,
)
from gen2res_desktop.ui.settings import last_folder
from gen2res_desktop.ui.workers import BaseRunner

log = logging.getLogger(__name__)

DownloadFn = Callable[..., PriorInfo]


def in_app_words(message: str) -> str:
    """The core's advice is written for the command line; in this dialog the user clicks."""
    return re.sub(r"run the (same )?command again", "click Download again", message)


NO_PRIORS = (
    "No prior is installed yet, so faces cannot be redrawn (repairing scratches, grain and "
    "fading works without one). Choose 'face' for people or 'cat' for cats under Download "
    "below and click Download; or Import folder… or Import checkpoint… for a model you have."
)
PRIORS_INTRO = "Priors are the models that redraw faces; each subject uses the prior of its kind."


def guess_kind(path: Path) -> str:
    """A prior kind from a file name (afhq_dog_256.pt, ffhq_10m.pt), face when unsure."""
    name = path.name.lower()
    for kind, words in (("dog", ("dog",)), ("cat", ("cat",)), ("face", ("ffhq", "celeb", "face"))):
        if any(w in name for w in words):
            return kind
    return "face"


class ImportPriorDialog(QDialog):
    """Name and kind for a local diffusers folder or ADM checkpoint being imported."""

    def __init__(self, source: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import prior")
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.stem if source.is_file() else source.name)
        self.name_edit = QLineEdit(stem.strip("-_.")[:64] or "prior")
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(PRIOR_KINDS)
        self.kind_combo.setCurrentText(guess_kind(source))
        form = QFormLayout(self)
        form.addRow("File:" if source.is_file() else "Folder:", QLabel(str(source)))
        form.addRow("Name:", self.name_edit)
        form.addRow("Kind:", self.kind_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class ModelsDialog(QDialog):
    """Installed priors and photo models; downloads and imports run on ``runner`` so the
    dialog stays live.

    The main window keeps one instance: closing it hides it, a download goes on, and
    reopening shows where it is. Questions and file choices go through methods that tests
    replace.
    """

    photo_models_changed = Signal()  # a photo model was installed or removed

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
        self._job_photo = False
        self._job_download = True

        self.table = make_table(["Name", "Kind", "Resolution", "Size"], 0)

        self.spec_combo = QComboBox()
        self.spec_combo.setEditable(True)
        for alias, d in DEFAULT_PRIORS.items():
            self.spec_combo.addItem(f"{alias}", alias)
            self.spec_combo.setItemData(
                self.spec_combo.count() - 1, f"Licence: {d.licence}", Qt.ToolTipRole
            )
        self.spec_combo.setToolTip("'face' for people, 'cat' for cats")
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.start_download)
        self.import_button = QPushButton("Import folder…")
        self.import_button.clicked.connect(self._import_clicked)
        self.checkpoint_button = QPushButton("Import checkpoint…")
        self.checkpoint_button.setToolTip(
            "A guided-diffusion (ADM) .pt file, such as the paper's FFHQ or AFHQ models"
        )
        self.checkpoint_button.clicked.connect(self._checkpoint_clicked)
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
        row.addWidget(self.checkpoint_button)
        row.addWidget(self.remove_button)
        self.priors_intro = QLabel(PRIORS_INTRO)
        self.priors_intro.setWordWrap(True)
        priors = QWidget()
        priors_layout = QVBoxLayout(priors)
        priors_layout.addWidget(self.priors_intro)
        priors_layout.addWidget(self.table, 1)
        priors_layout.addLayout(row)

        self.photo_tab = PhotoModelsTab(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(priors, "Face and pet priors")
        self.tabs.addTab(self.photo_tab, "Photo models")

        prog = QHBoxLayout()
        prog.addWidget(self.progress_bar, 1)
        prog.addWidget(self.cancel_button)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(prog)
        layout.addWidget(self.message)
        layout.addWidget(close)

        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)
        self.resize(900, 640)
        self.refresh()

    # -- listing --------------------------------------------------------------------------
    def refresh(self) -> None:
        self.photo_tab.refresh()
        priors = self.registry.list()
        self.table.setRowCount(len(priors))
        for row, info in enumerate(priors):
            size = format_bytes(folder_size(info.path))
            cells = [info.name, info.kind, f"{info.resolution} px", size]
            fill_row(self.table, row, cells, info.name, f"{info.parameters / 1e6:.1f} M parameters")
        self.remove_button.setEnabled(bool(priors))
        # opened from the welcome with nothing installed: say what to do, not an empty table
        self.priors_intro.setText(PRIORS_INTRO if priors else NO_PRIORS)

    def installed_names(self) -> list[str]:
        return [info.name for info in self.registry.list()]

    # -- work -----------------------------------------------------------------------------
    def busy(self) -> bool:
        return self._job_id is not None

    def _busy(self, busy: bool, text: str = "") -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.download_button.setEnabled(not busy)
        self.import_button.setEnabled(not busy)
        self.checkpoint_button.setEnabled(not busy)
        self.photo_tab.update_buttons()
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
        return self._submit(
            Job(f"Import prior {name}", fn, kind="download"), f"Importing {name}…", download=False
        )

    def _import(self, folder: Path, name: str, kind: str, *, progress, cancel) -> PriorInfo:
        cancel.check()
        return self.registry.import_folder(folder, name, kind)

    def import_checkpoint(self, path: Path, name: str, kind: str) -> int:
        """Convert a guided-diffusion (ADM) checkpoint into prior ``name`` on the runner."""
        from gen2res_desktop.core.adm import import_adm_checkpoint

        fn = functools.partial(import_adm_checkpoint, self.registry, Path(path), name, kind)
        return self._submit(
            Job(f"Import prior {name}", fn, kind="download"), f"Converting {name}…", download=False
        )

    def _submit(self, job: Job, text: str, *, photo: bool = False, download: bool = True) -> int:
        """Run ``job`` on the runner (one at a time): ``photo`` jobs change the photo
        models; a cancelled ``download`` resumes next time."""
        self._job_id = job.id
        self._job_photo = photo
        self._job_download = download
        self._busy(True, text)
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
        self.progress_bar.setValue(int(1000 * min(p.step, p.total) / p.total))
        if p.stage == "download":
            self.progress_bar.setFormat(f"{format_bytes(p.step)} of {format_bytes(p.total)}")
        else:  # checking and converting a model file
            self.progress_bar.setFormat(p.message or "%p%")

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        name = getattr(result, "name", "")
        self._busy(False, f"Installed {name}.")
        self.refresh()
        if self._job_photo:
            self.photo_models_changed.emit()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        self._busy(False, in_app_words(message))
        self.refresh()

    def _on_cancelled(self, job_id: int) -> None:
        if job_id != self._job_id:
            return
        self._job_id = None
        text = "Cancelled."
        if self._job_download:
            text += " Downloading again resumes where it stopped."
        self._busy(False, text)

    # -- questions (tests replace) -------------------------------------------------------
    def ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(
            self, title, question, QMessageBox.Yes | QMessageBox.No, QMessageBox.No
        )
        return answer == QMessageBox.Yes

    def choose_model_file(self) -> Path | None:
        """Ask for a photo model file; tests replace this method."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a photo model file", last_folder("models"), MODEL_FILES
        )
        return remembered(path)

    def choose_model_name(self, path: Path) -> str | None:
        """A name for the imported model ("" = from the file); None cancels. Tests replace."""
        name, ok = QInputDialog.getText(
            self,
            "Import a photo model",
            f"Name for {path.name} (leave empty to name it after the file):",
        )
        return name.strip() if ok else None

    # -- buttons --------------------------------------------------------------------------
    def choose_folder(self) -> Path | None:
        """Ask for a diffusers folder; tests replace this method."""
        return remembered(
            QFileDialog.getExistingDirectory(
                self, "Import a diffusers model folder", last_folder("models")
            )
        )

    def choose_checkpoint(self) -> Path | None:
        """Ask for an ADM .pt file; tests replace this method."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import a guided-diffusion checkpoint",
            last_folder("models"),
            "Checkpoints (*.pt *.pth);;All files (*)",
        )
        return remembered(path)

    def _checkpoint_clicked(self) -> None:
        path = self.choose_checkpoint()
        if path is None:
            return
        dialog = ImportPriorDialog(path, self)
        if dialog.exec() == QDialog.Accepted:
            self.import_checkpoint(
                path, dialog.name_edit.text().strip(), dialog.kind_combo.currentText()
            )

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
        if not self.ask(
            "Remove prior",
            f"Remove the prior '{name}'? Subjects using it cannot restore until it is installed again.",
        ):
            return
        try:
            self.registry.remove(name)
        except (Gen2ResError, OSError) as e:
            self.message.setText(str(e))
        self.refresh()
