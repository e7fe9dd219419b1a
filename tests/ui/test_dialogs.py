"""Settings, subject, welcome and pet crop dialogs, and restoring a pet with its crop box."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from gen2res_desktop.core import defaults
from gen2res_desktop.ui.crop_dialog import CropDialog
from gen2res_desktop.ui.dialogs import SettingsDialog, SubjectDialog, WelcomeDialog
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
    window = make_window(settings=AppSettings(welcome_done=False, find_faces=False))

    def click_models() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, WelcomeDialog)
        assert "Make a subject" in dialog.text.text() and "Downloads" in dialog.text.text()
        dialog.models_button.click()

    QTimer.singleShot(100, click_models)
    window.show_welcome()
    assert AppSettings.load().welcome_done
    assert window._models_dialog is not None and window._models_dialog.isVisible()


def test_a_pet_needs_its_crop_box_before_restoring(qtbot, make_window, photo_files):
    window = make_window(runner=SyncJobRunner(autostart=False))
    window.create_subject("Nobi", "cat", "tiny")
    window.import_paths([photo_files["chelsea"]], subject="Nobi", role="restore")
    window.sidebar.select_view(View("subject", "Nobi"))
    window.select_rows([0])
    pid = window.selected_photo_ids()[0]
    assert window.restore_selected() == []
    assert "crop box" in window.last_message.text()
    save_crop(window.library, pid, Crop(120, 20, 200))
    assert load_crop(window.library, pid) == Crop(120, 20, 200)
    [job_id] = window.restore_selected()
    job = window.runner.job(job_id)
    assert job.fn.keywords["crop"] == (120, 20, 200)
    assert job.fn.keywords["single_photo"] is True  # Nobi has no adapter; the user agreed
