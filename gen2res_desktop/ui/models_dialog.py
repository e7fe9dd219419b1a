"""The model manager, two tabs: the diffusion priors that regenerate faces, and the photo
models that repair the whole photo (scratches, grain, enlarging). Downloads and imports
run one at a time on the download runner, with progress and cancel."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.download import DEFAULT_PRIORS, download_prior
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo import models as photo_models
from gen2res_desktop.core.priors import PRIOR_KINDS, PriorInfo, PriorRegistry
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.ui import services
from gen2res_desktop.ui.workers import BaseRunner, Job

log = logging.getLogger(__name__)

DownloadFn = Callable[..., PriorInfo]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# What each kind of photo model is for, in the words the restore options use.
TASK_WORDS = {
    "inpaint": "Filling scratches",
    "denoise": "Grain and noise",
    "jpeg": "JPEG blocks",
    "upscale": "Enlarging",
    "damage": "Finding scratches",
}
MODEL_FILES = "Model files (*.pth *.pt *.ckpt *.bin *.safetensors);;All files (*)"


def _table(headers: list[str], stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(QAbstractItemView.SingleSelection)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    header = table.horizontalHeader()
    for col in range(len(headers)):
        mode = QHeaderView.Stretch if col == stretch else QHeaderView.ResizeToContents
        header.setSectionResizeMode(col, mode)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    return table


def _fill_row(table: QTableWidget, row: int, cells: list[str], key: str, tip: str) -> None:
    for col, text in enumerate(cells):
        item = QTableWidgetItem(text)
        item.setData(Qt.UserRole, key)
        item.setToolTip(tip)
        table.setItem(row, col, item)


def _path_size(path: Path) -> int:
    path = Path(path)
    if path.is_dir():
        return folder_size(path)
    return path.stat().st_size if path.is_file() else 0


def format_bytes(n: float) -> str:
    """Decimal units, as the README and the model pages state sizes (1 MB = 10^6 bytes)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


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

        self.table = _table(["Name", "Kind", "Resolution", "Size", "Source"], 4)

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
        priors_intro = QLabel(
            "Priors are the models that regenerate faces; each subject uses the prior of its kind."
        )
        priors_intro.setWordWrap(True)
        priors = QWidget()
        priors_layout = QVBoxLayout(priors)
        priors_layout.addWidget(priors_intro)
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
        self._busy(False, message)
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
        path, _ = QFileDialog.getOpenFileName(self, "Import a photo model file", "", MODEL_FILES)
        return Path(path) if path else None

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
        folder = QFileDialog.getExistingDirectory(self, "Import a diffusers model folder")
        return Path(folder) if folder else None

    def choose_checkpoint(self) -> Path | None:
        """Ask for an ADM .pt file; tests replace this method."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import a guided-diffusion checkpoint",
            "",
            "Checkpoints (*.pt *.pth);;All files (*)",
        )
        return Path(path) if path else None

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


class PhotoModelsTab(QWidget):
    """Installed photo models (Remove), the catalogue's others (Download), and Import file….

    Photo models are the learned methods the repair stages can use instead of the built-in
    ones; the dialog's shared progress bar and Cancel follow the running job.
    """

    def __init__(self, dialog: ModelsDialog) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        intro = QLabel(
            "Photo models repair the whole photo before the faces are regenerated: filling "
            "scratches, removing grain, enlarging. Without them the built-in methods are used. "
            "Choose which one each stage uses in Photos → Restore options…"
        )
        intro.setWordWrap(True)
        self.installed = _table(["Name", "Used for", "Licence", "Size", "Source"], 4)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected photo model from this computer")
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button = QPushButton("Import file…")
        self.import_button.setToolTip(
            "Add a photo model file you already have (.pth, .pt, .ckpt, .bin or .safetensors)"
        )
        self.import_button.clicked.connect(self._import_clicked)
        self.catalogue = _table(["Name", "Used for", "Download size", "Licence"], 0)
        self.catalogue.itemSelectionChanged.connect(self._show_entry)
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download the selected photo model (needs the internet)")
        self.download_button.clicked.connect(self.start_download)
        self.entry_label = QLabel()
        self.entry_label.setWordWrap(True)
        self.entry_label.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.entry_label.setOpenExternalLinks(False)
        self.installed.itemSelectionChanged.connect(self.update_buttons)

        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.import_button)
        top.addWidget(self.remove_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.entry_label, 1)
        bottom.addWidget(self.download_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Installed:"))
        layout.addWidget(self.installed, 2)
        layout.addLayout(top)
        layout.addWidget(QLabel("Available to download:"))
        layout.addWidget(self.catalogue, 3)
        layout.addLayout(bottom)

    # -- listing ----------------------------------------------------------------------------
    def installed_names(self) -> list[str]:
        return [info.name for info in services.installed_photo_models(self.dialog.home)]

    def catalogue_names(self) -> list[str]:
        """Names listed for download (the catalogue's models not installed yet)."""
        return [
            self.catalogue.item(r, 0).data(Qt.UserRole) for r in range(self.catalogue.rowCount())
        ]

    def refresh(self) -> None:
        models = services.installed_photo_models(self.dialog.home)
        self.installed.setRowCount(len(models))
        for row, info in enumerate(models):
            try:
                size = format_bytes(_path_size(info.path))
            except OSError:
                size = "?"
            cells = [
                info.name,
                TASK_WORDS.get(info.task, info.task),
                info.licence or "unknown",
                size,
                info.source or "",
            ]
            tip = f"{info.arch}, {info.parameters / 1e6:.1f} M parameters\n{info.path}"
            if info.source_page:
                tip += f"\n{info.source_page}"
            _fill_row(self.installed, row, cells, info.name, tip)
        have = {info.name for info in models}
        entries = [e for name, e in photo_models.CATALOGUE.items() if name not in have]
        selected = self.selected_entry()
        self.catalogue.setRowCount(len(entries))
        for row, e in enumerate(entries):
            cells = [
                e.title or e.name,
                TASK_WORDS.get(e.task, e.task) + (f" ({e.scale}×)" if e.task == "upscale" else ""),
                format_bytes(e.size) if e.size else "unknown",
                e.licence,
            ]
            _fill_row(self.catalogue, row, cells, e.name, e.notes or e.title or e.name)
            if e.name == selected:
                self.catalogue.selectRow(row)
        self._show_entry()

    def selected_entry(self) -> str | None:
        row = self.catalogue.currentRow()
        items = self.catalogue.selectedItems()
        if row < 0 or not items:
            return None
        return self.catalogue.item(row, 0).data(Qt.UserRole)

    def select_entry(self, name: str) -> bool:
        for row in range(self.catalogue.rowCount()):
            if self.catalogue.item(row, 0).data(Qt.UserRole) == name:
                self.catalogue.selectRow(row)
                return True
        return False

    def _show_entry(self) -> None:
        name = self.selected_entry()
        if name is None:
            self.entry_label.setText("Select a model to see its size and licence.")
        else:
            e = photo_models.CATALOGUE[name]
            size = format_bytes(e.size) if e.size else "size unknown"
            text = f"{e.title or e.name}: {size}, licence {e.licence}."
            if e.notes:
                text += f" {e.notes}"
            if e.source_page:
                text += f" From {e.source_page}"
            self.entry_label.setText(text)
        self.update_buttons()

    def update_buttons(self) -> None:
        free = not self.dialog.busy()
        self.download_button.setEnabled(free and self.selected_entry() is not None)
        self.import_button.setEnabled(free)
        self.remove_button.setEnabled(free and self.installed.currentRow() >= 0)

    # -- work -------------------------------------------------------------------------------
    def start_download(self, name: str | None = None) -> int | None:
        name = name or self.selected_entry()
        if name is None or self.dialog.busy():
            return None
        fn = functools.partial(services.download_photo_model, self.dialog.home, name)
        return self.dialog._submit(
            Job(f"Download photo model {name}", fn, kind="download"),
            f"Downloading {name}…",
            photo=True,
        )

    def import_file(self, path: Path, name: str | None = None) -> int | None:
        if self.dialog.busy():
            return None
        fn = functools.partial(services.import_photo_model, self.dialog.home, Path(path), name)
        return self.dialog._submit(
            Job(f"Add photo model {Path(path).name}", fn, kind="download"),
            f"Adding {Path(path).name}…",
            photo=True,
            download=False,
        )

    def _import_clicked(self) -> None:
        path = self.dialog.choose_model_file()
        if path is None:
            return
        name = self.dialog.choose_model_name(path)
        if name is not None:
            self.import_file(path, name or None)

    def remove_selected(self) -> bool:
        row = self.installed.currentRow()
        if row < 0:
            return False
        name = self.installed.item(row, 0).data(Qt.UserRole)
        if not self.dialog.ask(
            "Remove photo model",
            f"Remove the photo model '{name}'? If your restore options use it, choose another "
            "method in Photos → Restore options… before restoring.",
        ):
            return False
        try:
            photo_models.PhotoModelRegistry(self.dialog.home).remove(name)
        except (Gen2ResError, OSError) as e:
            self.dialog.message.setText(str(e))
            return False
        self.dialog.message.setText(f"Removed {name}.")
        self.refresh()
        self.dialog.photo_models_changed.emit()
        return True
