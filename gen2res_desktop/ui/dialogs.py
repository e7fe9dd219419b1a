"""Small dialogs: subject, import summary, settings, first-run welcome, about."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
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
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gen2res_desktop import __version__
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PriorRegistry, prior_kind_for_subject
from gen2res_desktop.ui.settings import AppSettings

SUBJECT_KINDS = ("person", "cat", "dog")


def fit_to_content(dialog: QDialog, *, shrink: bool = True) -> None:
    """Size ``dialog`` to its content: as wide as its size hint (and minimum width), then
    just tall enough for every word-wrapped label at that width, so that no text is clipped
    and no empty band is left. ``shrink=False``: never smaller than it is now (the user may
    have made it larger)."""
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    width = max(dialog.sizeHint().width(), dialog.minimumWidth())
    height = dialog.minimumSizeHint().height()
    if not shrink:
        width, height = max(width, dialog.width()), max(height, dialog.height())
    dialog.resize(width, height)
    # the layouts' own height-for-width guesses run too tall in a form and too short in a
    # window: lay the labels out, add the height the most cramped one lacks, until none does
    for _ in range(8):
        layout.setGeometry(dialog.rect())
        lacking = max(
            (
                label.heightForWidth(label.width()) - label.height()
                for label in dialog.findChildren(QLabel)
                if label.wordWrap() and label.isVisibleTo(dialog)
            ),
            default=0,
        )
        if lacking <= 0:
            break
        dialog.resize(width, dialog.height() + lacking)


def heading_label(text: str) -> QLabel:
    """A bold label a little larger than the text under it, for a dialog's first line."""
    label = QLabel(text)
    font = label.font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * 1.4)
    font.setBold(True)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def fit_line_edit(edit: QLineEdit, text: str, max_width: int = 0) -> None:
    """Make ``edit`` wide enough to show ``text`` whole (up to ``max_width``; 0: two thirds
    of the screen's width), with the whole text in its tooltip."""
    if not max_width:
        screen = edit.screen() or QApplication.primaryScreen()
        max_width = screen.availableGeometry().width() * 2 // 3 if screen else 900
    metrics = edit.fontMetrics()
    # the frame, padding and text margins around the 17 characters of the size hint
    chrome = max(edit.sizeHint().width() - 17 * metrics.horizontalAdvance("x"), 12)
    edit.setMinimumWidth(min(metrics.horizontalAdvance(text) + chrome + 4, max_width))
    edit.setToolTip(text)


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
        self.prior_label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Minimum)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
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
        self.setMinimumWidth(420)  # the longest prior line fits on one or two lines
        self._update_prior()
        self._update_ok()
        fit_to_content(self)

    def prior_name(self) -> str:
        """The installed prior of the subject's kind that restores use, else the default name
        (to download)."""
        prior_kind = prior_kind_for_subject(self.kind())
        try:
            return self.registry.for_kind(prior_kind).name
        except Gen2ResError:
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
        if self.isVisible():
            fit_to_content(self, shrink=False)  # a longer line makes the dialog taller

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


ENGINE_NAMES = {
    "auto": "Automatic (the fastest installed)",
    "torch": "PyTorch",
    "onnxruntime": "ONNX Runtime",
    "openvino": "OpenVINO",
}


def engine_combo(current: str) -> QComboBox:
    """The CPU engines; one that is not installed is shown, greyed out, with what it needs."""
    from gen2res_desktop.core.runtimes import EXTRAS, RUNTIME_CHOICES, installed

    combo = QComboBox()
    combo.setToolTip(
        "What runs the restoring steps on a CPU. ONNX Runtime and OpenVINO restore faces "
        "faster than PyTorch; the first restore with a new adapter prepares them (under a "
        "minute)."
    )
    for name in RUNTIME_CHOICES:
        ok = name == "auto" or installed(name)
        label = ENGINE_NAMES[name] if ok else f"{ENGINE_NAMES[name]} (not installed)"
        combo.addItem(label, name)
        if not ok:
            combo.model().item(combo.count() - 1).setEnabled(False)
            combo.setItemData(
                combo.count() - 1,
                f"Install the '{EXTRAS[name]}' extra of gen2res-desktop to use it.",
                Qt.ToolTipRole,
            )
    index = combo.findData(current)
    usable = index >= 0 and combo.model().item(index).isEnabled()
    combo.setCurrentIndex(index if usable else 0)
    return combo


class SettingsDialog(QDialog):
    """Library location, compute device and restore defaults."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.library_edit = QLineEdit(settings.library_path)
        self.library_edit.setPlaceholderText(str(AppSettings(library_path="").library_home()))
        self.library_edit.textChanged.connect(self._library_tooltip)
        self._fit_library_edit()
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
        self.engine_combo = engine_combo(settings.cpu_engine)
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
        form.addRow("CPU engine:", self.engine_combo)
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
        fit_to_content(self)

    def library_text(self) -> str:
        """The library folder as shown: the one typed or chosen, else the default."""
        return self.library_edit.text() or self.library_edit.placeholderText()

    def _library_tooltip(self) -> None:
        self.library_edit.setToolTip(self.library_text())

    def _fit_library_edit(self) -> None:
        fit_line_edit(self.library_edit, self.library_text())
        self.library_edit.setCursorPosition(0)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder", self.library_text())
        if folder:
            self.library_edit.setText(folder)
            self._fit_library_edit()
            fit_to_content(self, shrink=False)

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
        self.settings.cpu_engine = self.engine_combo.currentData()
        self.settings.strength = self.strength_spin.value()
        self.settings.steps = self.steps_spin.value()
        self.settings.find_faces = self.faces_check.isChecked()
        self.settings.save()
        super().accept()


WELCOME_TITLE = "Welcome to Gen2Res"

WELCOME_TEXT = """<p style="margin-top: 0">Gen2Res restores old photos of people and pets by regenerating them with a diffusion
model that has learned what <i>this</i> person or pet looks like.</p>
<ol>
<li><b>Import</b> your scanned photos (File → Import photos…, or drop files and folders on the
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
        self.setWindowTitle(WELCOME_TITLE)
        # the heading is its own label: a rich-text <h2> adds a margin above itself, and a
        # label taller than its text centres it, which left an empty band at the top
        self.title = heading_label(WELCOME_TITLE)
        self.text = QLabel(WELCOME_TEXT)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.text.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.open_models = False
        buttons = QDialogButtonBox()
        self.models_button = buttons.addButton("Open Models…", QDialogButtonBox.ActionRole)
        buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.models_button.clicked.connect(self._models)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addStretch(1)  # a taller window puts its room under the text, not above
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        fit_to_content(self)

    def _models(self) -> None:
        self.open_models = True
        self.accept()


def app_licence() -> str:
    """The app's licence as its installed package declares it (pyproject's ``license``)."""
    from importlib import metadata

    try:
        meta = metadata.metadata("gen2res-desktop")
    except metadata.PackageNotFoundError:
        return "MIT"
    return meta.get("License-Expression") or meta.get("License") or "MIT"


MODEL_LICENCES = (
    "The models are not part of Gen2Res and keep their own licences, shown for each model "
    "in Models with where it comes from. The face and cat models are free to use "
    "(Apache-2.0), but the photos they learned from are for non-commercial research only. "
    "The optional photo models are under Apache-2.0, MIT or BSD licences. The face-finding "
    "models that come with Gen2Res are dlib's and public domain, except that one of them "
    "learned from photos for non-commercial research only. Check these before any "
    "commercial use."
)


class AboutDialog(QDialog):
    """Help → About: the version, the licences, and where the library and the log file are."""

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        import PySide6

        from gen2res_desktop.ui.app import log_path

        super().__init__(parent)
        self.setWindowTitle("About Gen2Res")
        self.home = Path(home)
        self.log_file = log_path(self.home)
        self.title = heading_label(f"Gen2Res {__version__}")
        self.summary = QLabel(
            "Restores old family photos of people and pets, on your own computer."
        )
        self.licence_label = QLabel(
            f"Gen2Res is free software under the {app_licence()} licence. It is made with Qt "
            f"for Python (PySide6 {PySide6.__version__}), under the LGPL licence."
        )
        self.models_label = QLabel(MODEL_LICENCES)
        for label in (self.summary, self.licence_label, self.models_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.library_edit = self._path_field(self.home)
        self.log_edit = self._path_field(self.log_file)
        self.open_library_button = self._open_button("Open", self.home)
        self.open_log_button = self._open_button("Open folder", self.log_file.parent)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.addRow("Photo library:", self._row(self.library_edit, self.open_library_button))
        form.addRow("Log file:", self._row(self.log_edit, self.open_log_button))
        note = QLabel("If something goes wrong, the log file helps whoever looks into it.")
        note.setWordWrap(True)
        form.addRow("", note)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.Close)
        self.close_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.licence_label)
        layout.addWidget(self.models_label)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        fit_to_content(self)
        self.close_button.setFocus()

    @staticmethod
    def _path_field(path: Path) -> QLineEdit:
        """A read-only field with the whole path: it can be selected and copied."""
        edit = QLineEdit(str(path))
        edit.setReadOnly(True)
        edit.setCursorPosition(0)
        fit_line_edit(edit, str(path))
        return edit

    @staticmethod
    def _open_button(text: str, folder: Path) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)  # Enter closes the dialog, it opens no folder
        button.setToolTip(f"Show {folder} in the file manager")
        button.setEnabled(folder.is_dir())
        button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        return button

    @staticmethod
    def _row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        return row
