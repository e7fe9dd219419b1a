"""Small dialogs: subject, import summary, settings, first-run welcome."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PriorRegistry, prior_kind_for_subject
from gen2res_desktop.ui.settings import AppSettings

SUBJECT_KINDS = ("person", "cat", "dog")


class SubjectDialog(QDialog):
    """Name and kind of a new subject; shows which prior it will use and if it is installed."""

    def __init__(
        self,
        registry: PriorRegistry,
        parent: QWidget | None = None,
        *,
        name: str = "",
        kind: str = "person",
        rename_only: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rename subject" if rename_only else "New subject")
        self.registry = registry
        self.name_edit = QLineEdit(name)
        self.name_edit.setPlaceholderText("Grandma Rose")
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(SUBJECT_KINDS)
        self.kind_combo.setCurrentText(kind)
        self.kind_combo.setEnabled(not rename_only)
        self.prior_label = QLabel()
        self.prior_label.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Kind:", self.kind_combo)
        form.addRow("Prior:", self.prior_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.kind_combo.currentTextChanged.connect(self._update_prior)
        self.name_edit.textChanged.connect(self._update_ok)
        self._update_prior()
        self._update_ok()

    def prior_name(self) -> str:
        """Subjects use the installed prior of their kind: the first one found, else the default name."""
        prior_kind = prior_kind_for_subject(self.kind())
        for info in self.registry.list():
            if info.kind == prior_kind:
                return info.name
        return prior_kind

    def prior_installed(self) -> bool:
        try:
            self.registry.get(self.prior_name())
        except Gen2ResError:
            return False
        return True

    def _update_prior(self) -> None:
        name = self.prior_name()
        if self.prior_installed():
            self.prior_label.setText(f"{name} (installed)")
        elif self.kind() == "dog":
            self.prior_label.setText(
                f"{name} — not installed. No dog prior can be downloaded yet: import one in Models."
            )
        else:
            self.prior_label.setText(f"{name} — not installed; download it in Models.")

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(bool(self.name()))

    def name(self) -> str:
        return self.name_edit.text().strip()

    def kind(self) -> str:
        return self.kind_combo.currentText()


class ImportSummaryDialog(QDialog):
    """What an import did: how many came in, and each skipped file with the reason."""

    def __init__(
        self,
        headline: str,
        skipped: Sequence[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import finished")
        self.headline = QLabel(headline)
        self.headline.setWordWrap(True)
        self.skipped = QListWidget()
        for path, reason in skipped:
            self.skipped.addItem(f"{Path(path).name}: {reason}")
            self.skipped.item(self.skipped.count() - 1).setToolTip(str(path))
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        if skipped:
            layout.addWidget(QLabel("Skipped:"))
            layout.addWidget(self.skipped, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.resize(520, 320 if skipped else 120)


class SettingsDialog(QDialog):
    """Library location, compute device and restore defaults."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.library_edit = QLineEdit(settings.library_path)
        self.library_edit.setPlaceholderText(str(AppSettings(library_path="").library_home()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        lib_row = QHBoxLayout()
        lib_row.addWidget(self.library_edit, 1)
        lib_row.addWidget(browse)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cuda", "mps", "cpu"])
        self.device_combo.setCurrentText(settings.device)
        self.device_label = QLabel()
        self.device_label.setWordWrap(True)
        self.strength_spin = QSpinBox()
        self.strength_spin.setRange(1, 999)
        self.strength_spin.setValue(settings.strength)
        self.strength_spin.setToolTip(
            "How far the photo is pushed into noise before it is regenerated: higher "
            "repairs more damage, lower keeps closer to the original."
        )
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(0, 1000)
        self.steps_spin.setSpecialValueText("Automatic")
        self.steps_spin.setValue(settings.steps)
        self.faces_check = QCheckBox("Find faces after each import")
        self.faces_check.setChecked(settings.find_faces)
        form = QFormLayout()
        form.addRow("Library folder:", lib_row)
        note = QLabel("A new library folder is used after restarting the app.")
        note.setWordWrap(True)
        form.addRow("", note)
        form.addRow("Device:", self.device_combo)
        form.addRow("", self.device_label)
        form.addRow("Default strength:", self.strength_spin)
        form.addRow("Default steps:", self.steps_spin)
        form.addRow("", self.faces_check)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.device_combo.currentTextChanged.connect(self._describe_device)
        self._describe_device()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder", self.library_edit.text())
        if folder:
            self.library_edit.setText(folder)

    def _describe_device(self) -> None:
        from gen2res_desktop.core.devices import describe_device

        name = self.device_combo.currentText()
        try:
            report = describe_device(None if name == "auto" else name)
        except Gen2ResError as e:
            self.device_label.setText(str(e))
            return
        text = report.name
        if report.memory_gib is not None:
            text += f", {report.memory_gib:.1f} GiB"
        if report.warning:
            text += f"\n{report.warning}"
        self.device_label.setText(text)

    def accept(self) -> None:
        self.settings.library_path = self.library_edit.text().strip()
        self.settings.device = self.device_combo.currentText()
        self.settings.strength = self.strength_spin.value()
        self.settings.steps = self.steps_spin.value()
        self.settings.find_faces = self.faces_check.isChecked()
        self.settings.save()
        super().accept()


WELCOME_TEXT = """<h2>Welcome to Gen2Res</h2>
<p>Gen2Res restores old photos of people and pets by regenerating them with a diffusion
model that has learned what <i>this</i> person or pet looks like.</p>
<ol>
<li><b>Import</b> your scanned photos (File → Import, or drop files and folders on the
window). Originals are copied into the library and never changed.</li>
<li><b>Make a subject</b> — "Grandma Rose" or "Nobi the cat" — and tag photos to it: good
photos as <i>reference</i>, damaged ones <i>to restore</i>. Then click <b>Train</b>.</li>
<li>Select photos and click <b>Restore</b>: the whole print is repaired (scratches, dust,
grain, fading), then the faces are regenerated. Compare before and after, keep the best
and export.</li>
</ol>
<p><b>Downloads:</b> repairing the print needs nothing. Regenerating faces needs a prior
model for the kind of subject — about 450 MB for faces (CelebA-HQ) and 450 MB for cats,
fetched once in <b>Models</b>; no dog model is published yet, you can import one. Optional
photo models (LaMa, SCUNet, Real-ESRGAN...) can replace the built-in repair methods.
Nothing else is ever sent or downloaded.</p>"""


class WelcomeDialog(QDialog):
    """First run: the three steps, and what needs downloading."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Gen2Res")
        self.text = QLabel(WELCOME_TEXT)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.open_models = False
        buttons = QDialogButtonBox()
        self.models_button = buttons.addButton("Open Models…", QDialogButtonBox.ActionRole)
        buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.models_button.clicked.connect(self._models)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(560, 380)

    def _models(self) -> None:
        self.open_models = True
        self.accept()
