"""Settings, subject, welcome and pet crop dialogs, and restoring a pet with its crop box."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QLineEdit

from gen2res_desktop import __version__
from gen2res_desktop.core import defaults
from gen2res_desktop.ui.crop_dialog import CropDialog
from gen2res_desktop.ui.dialogs import AboutDialog, SettingsDialog, SubjectDialog, WelcomeDialog
from gen2res_desktop.ui.settings import AppSettings, Crop, load_crop, save_crop
from gen2res_desktop.ui.sidebar import View
from gen2res_desktop.ui.workers import SyncJobRunner


def test_settings_dialog_saves_and_warns_about_the_cpu(qtbot):
    settings = AppSettings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.device_combo.setCurrentText("cpu")
    assert "No GPU" in dialog.device_label.text()
    dialog.device_combo.setCurrentText("cuda")
    assert "CUDA" in dialog.device_label.text()  # no CUDA here: says so instead of failing
    dialog.device_combo.setCurrentText("auto")
    dialog.strength_spin.setValue(300)
    dialog.steps_spin.setValue(50)
    dialog.faces_check.setChecked(False)
    dialog.accept()
    loaded = AppSettings.load()
    assert (loaded.strength, loaded.steps, loaded.find_faces) == (300, 50, False)
    assert loaded.restore_steps() == 50
    assert AppSettings().restore_steps() == defaults.RESTORE_STEPS


def test_settings_choose_the_cpu_engine_among_those_installed(qtbot, monkeypatch):
    from gen2res_desktop.core import runtimes

    monkeypatch.setattr(runtimes, "installed", lambda name: name in ("torch", "onnxruntime"))
    settings = AppSettings(cpu_engine="openvino")  # chosen once, since uninstalled
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    combo = dialog.engine_combo
    assert combo.currentData() == "auto"  # an engine that is gone is not offered as chosen
    items = {combo.itemData(i): combo.model().item(i) for i in range(combo.count())}
    assert not items["openvino"].isEnabled() and "not installed" in items["openvino"].text()
    assert items["onnxruntime"].isEnabled() and items["torch"].isEnabled()
    combo.setCurrentIndex(combo.findData("onnxruntime"))
    dialog.accept()
    assert AppSettings.load().cpu_engine == "onnxruntime"


def test_library_location_setting_yields_to_gen2res_home(monkeypatch, tmp_path):
    settings = AppSettings(library_path=str(tmp_path / "elsewhere"))
    assert settings.library_home() == tmp_path / "home"  # GEN2RES_HOME, set by conftest
    monkeypatch.delenv("GEN2RES_HOME")
    assert settings.library_home() == tmp_path / "elsewhere"


def test_subject_dialog_shows_the_prior_and_whether_it_is_installed(qtbot, tiny_registry):
    dialog = SubjectDialog(tiny_registry)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.Ok)
    assert not ok.isEnabled()  # no name yet
    dialog.name_edit.setText("Grandma Rose")
    assert ok.isEnabled()
    assert dialog.prior_label.text() == "tiny (installed)"  # the installed face prior
    dialog.kind_combo.setCurrentText("cat")
    assert dialog.prior_name() == "cat" and "not installed" in dialog.prior_label.text()
    dialog.kind_combo.setCurrentText("dog")
    assert "No dog prior" in dialog.prior_label.text()


def test_the_subject_dialog_prior_line_is_never_clipped(qtbot, tiny_registry):
    dialog = SubjectDialog(tiny_registry)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    label = dialog.prior_label
    cat_line = "cat — not installed; download it in Models."
    for kind in ("cat", "dog", "person", "cat"):
        dialog.kind_combo.setCurrentText(kind)
        QApplication.processEvents()
        assert label.wordWrap()
        # as tall as its text needs at its width, and inside the dialog
        assert label.height() >= label.heightForWidth(label.width()), kind
        assert label.sizeHint().width() <= label.width(), kind
        assert label.geometry().bottom() < dialog.height() and label.isVisible()
    assert label.text() == cat_line
    assert label.width() >= label.fontMetrics().horizontalAdvance(cat_line)  # one line


def test_settings_shows_the_whole_library_path(qtbot, tmp_path):
    path = "/home/rose/Pictures/Family photos from the attic/Gen2Res library"
    dialog = SettingsDialog(AppSettings(library_path=path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.library_edit
    assert edit.text() == path and edit.toolTip() == path
    assert edit.width() >= edit.fontMetrics().horizontalAdvance(path)  # not cut off
    assert dialog.width() <= dialog.screen().availableGeometry().width()
    edit.setText("/mnt/photos")
    assert edit.toolTip() == "/mnt/photos"

    # no folder chosen: the default one is shown whole, greyed, and in the tooltip
    dialog = SettingsDialog(AppSettings(library_path=""))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.library_edit
    default = str(tmp_path / "home")  # GEN2RES_HOME, set by conftest
    assert edit.placeholderText() == default and edit.toolTip() == default
    assert dialog.library_text() == default
    assert edit.width() >= edit.fontMetrics().horizontalAdvance(default)

    # longer than a window can be: as wide as the screen allows, the whole in the tooltip
    path = "/media/rose/Old backup drive/" + "Scans from the shoebox in the attic/" * 8
    dialog = SettingsDialog(AppSettings(library_path=path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry().width()
    assert dialog.library_edit.width() >= screen // 2 and dialog.width() <= screen
    assert dialog.library_edit.toolTip() == dialog.library_edit.text() == path


def _first_ink_row(widget) -> int:
    """The first row of ``widget``'s pixels that differs from its top-left pixel."""
    image = widget.grab().toImage()
    background = image.pixelColor(0, 0)
    for y in range(image.height()):
        if any(image.pixelColor(x, y) != background for x in range(0, image.width(), 2)):
            return y
    return image.height()


def test_the_welcome_dialog_starts_with_its_title_no_empty_band(qtbot):
    dialog = WelcomeDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    layout = dialog.layout()
    first = layout.itemAt(0).widget()
    assert isinstance(first, QLabel) and first.text().strip()
    assert first.y() <= layout.contentsMargins().top()
    line = QLabel().fontMetrics().height()  # one line of body text

    def band() -> int:
        """Empty rows between the dialog's margin and its first drawn pixels."""
        return _first_ink_row(dialog) - layout.contentsMargins().top()

    assert band() <= line  # the first pixels drawn are the first line's, under the margin
    dialog.resize(dialog.width(), dialog.height() + 200)  # a taller window: still no band
    QApplication.processEvents()
    assert band() <= line
    for label in dialog.findChildren(QLabel):
        assert not label.isVisible() or label.text().strip(), "an empty label takes room"
    # the title is its own label: a rich-text <h2> puts a margin above itself
    assert first is dialog.title and first.text() == "Welcome to Gen2Res"
    assert "<h2>" not in dialog.text.text()
    assert dialog.text.height() >= dialog.text.heightForWidth(dialog.text.width())


def test_about_says_the_version_licences_log_file_and_library(qtbot, tmp_path):
    from gen2res_desktop.ui.app import log_path, setup_logging

    home = tmp_path / "library"
    logger = logging.getLogger("gen2res_desktop")
    try:
        written = setup_logging(home)
    finally:
        for handler in [h for h in logger.handlers if getattr(h, "_gen2res", False)]:
            logger.removeHandler(handler)
            handler.close()
    assert written == log_path(home) == home / "logs" / "gen2res.log"

    dialog = AboutDialog(home)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.windowTitle() == "About Gen2Res"
    assert __version__ in dialog.title.text() and "Gen2Res" in dialog.title.text()
    assert "MIT licence" in dialog.licence_label.text()
    models = dialog.models_label.text()
    assert "own licences" in models and "Models" in models and "non-commercial" in models
    for edit, path in ((dialog.library_edit, home), (dialog.log_edit, written)):
        assert isinstance(edit, QLineEdit) and edit.isReadOnly()  # selectable, copyable
        assert edit.text() == str(path) and edit.toolTip() == str(path)
    assert dialog.open_library_button.isEnabled() and dialog.open_log_button.isEnabled()
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert not any("--" in text for text in texts)  # no command-line flags

    # a library with no log folder yet: nothing to open; the whole paths still show
    home = Path("/home/rose/Pictures/Family photos/Gen2Res library")
    dialog = AboutDialog(home)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert not dialog.open_log_button.isEnabled()
    for edit, path in ((dialog.library_edit, home), (dialog.log_edit, log_path(home))):
        assert edit.text() == str(path)
        assert edit.width() >= edit.fontMetrics().horizontalAdvance(str(path))


def test_crop_dialog_square_moves_and_resizes_inside_the_photo(qtbot):
    image = QImage(400, 300, QImage.Format_RGB32)
    image.fill(QColor(90, 120, 60))
    dialog = CropDialog(image, Crop(10, 10, 100))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    view, square = dialog.view, dialog.square

    def drag(scene_from: QPointF, scene_to: QPointF) -> None:
        a, b = view.mapFromScene(scene_from), view.mapFromScene(scene_to)
        qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=a)
        qtbot.mouseMove(view.viewport(), b)
        qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=b)

    drag(QPointF(60, 60), QPointF(160, 110))  # the inside moves
    c = dialog.crop()
    assert abs(c.x - 110) <= 3 and abs(c.y - 60) <= 3 and c.size == 100
    corner = square.rect().bottomRight() - QPointF(2, 2)
    drag(corner, corner + QPointF(60, 40))  # the corner grip resizes, keeping it square
    c = dialog.crop()
    assert 150 <= c.size <= 170 and c.x + c.size <= 400 and c.y + c.size <= 300
    drag(QPointF(c.x + 20, c.y + 20), QPointF(c.x + 900, c.y + 900))  # never leaves the photo
    c = dialog.crop()
    assert c.x + c.size == 400 and c.y + c.size == 300
    assert c == Crop(c.x, c.y, c.size)


def test_welcome_dialog_can_lead_to_the_models(qtbot, make_window):
    window = make_window(
        settings=AppSettings(welcome_done=False, find_faces=False, measure_speed=False)
    )

    def click_models() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, WelcomeDialog)
        assert "Make a subject" in dialog.text.text() and "Downloads" in dialog.text.text()
        dialog.models_button.click()

    QTimer.singleShot(100, click_models)
    window.windows.show_welcome()
    assert AppSettings.load().welcome_done
    assert window.windows.models_dialog is not None and window.windows.models_dialog.isVisible()


def test_a_pet_needs_its_crop_box_before_restoring(qtbot, make_window, photo_files):
    window = make_window(runner=SyncJobRunner(autostart=False))
    window.subjects.create_subject("Nobi", "cat", "tiny")
    window.imports.import_paths([photo_files["chelsea"]], subject="Nobi", role="restore")
    window.sidebar.select_view(View("subject", "Nobi"))
    window.views.select_rows([0])
    pid = window.views.selected_photo_ids()[0]
    assert window.restore.restore_selected() == []
    assert "crop box" in window.last_message.text()
    save_crop(window.library, pid, Crop(120, 20, 200))
    assert load_crop(window.library, pid) == Crop(120, 20, 200)
    [job_id] = window.restore.restore_selected()
    job = window.runner.job(job_id)
    assert job.fn.keywords["crop"] == (120, 20, 200)
    assert job.fn.keywords["single_photo"] is True  # Nobi has no adapter; the user agreed
