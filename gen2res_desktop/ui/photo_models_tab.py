"""The Models dialog's photo models tab: the installed photo models the repair stages can
use (Remove), the catalogue's others (Download) and Import file…; with the table helpers
both of the dialog's tabs use."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo import models as photo_models
from gen2res_desktop.ui import services
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.settings import remember_folder

if TYPE_CHECKING:
    from gen2res_desktop.ui.models_dialog import ModelsDialog


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# What each kind of photo model is for, in the words the restore options use.
TASK_WORDS = {
    "inpaint": "Filling scratches",
    "denoise": "Grain and noise",
    "jpeg": "JPEG blocks",
    "upscale": "Enlarging",
    "damage": "Finding scratches",
    "colour": "Adding colour",
}
MODEL_FILES = "Model files (*.pth *.pt *.ckpt *.bin *.safetensors);;All files (*)"


def make_table(headers: list[str], stretch: int) -> QTableWidget:
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


def fill_row(table: QTableWidget, row: int, cells: list[str], key: str, tip: str) -> None:
    for col, text in enumerate(cells):
        item = QTableWidgetItem(text)
        item.setData(Qt.UserRole, key)
        item.setToolTip(tip)
        table.setItem(row, col, item)


def remembered(chosen: str) -> Path | None:
    """The file or folder chosen in a Models file dialog, its folder kept for the next."""
    if not chosen:
        return None
    remember_folder("models", chosen)
    return Path(chosen)


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
        self.installed = make_table(["Name", "Used for", "Licence", "Size"], 0)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected photo model from this computer")
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button = QPushButton("Import file…")
        self.import_button.setToolTip(
            "Add a photo model file you already have (.pth, .pt, .ckpt, .bin or .safetensors)"
        )
        self.import_button.clicked.connect(self._import_clicked)
        self.catalogue = make_table(["Name", "Used for", "Download size", "Licence"], 0)
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
            ]
            tip = f"{info.arch}, {info.parameters / 1e6:.1f} M parameters"
            if info.source_page:
                tip += f"\n{info.source_page}"
            fill_row(self.installed, row, cells, info.name, tip)
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
            fill_row(self.catalogue, row, cells, e.name, e.notes or e.title or e.name)
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
