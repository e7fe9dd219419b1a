"""The Colour switch in Restore options: off by default, greyed out with the download
offered until a colouriser is installed, then saved with the library like the rest."""

from __future__ import annotations

from tiny_colouriser import random_net, save_released

from gen2res_desktop.core.photo.models import PhotoModelRegistry
from gen2res_desktop.ui.restore_options import RestoreOptionsDialog


def test_colour_switch_needs_a_colouriser_then_saves(qtbot, library, tmp_path):
    dialog = RestoreOptionsDialog(library)
    qtbot.addWidget(dialog)
    assert not dialog.colourise_check.isEnabled() and not dialog.colourise_check.isChecked()
    assert not dialog.download_colouriser.isHidden()
    assert "colouriser" in dialog.colouriser_note.text()
    assert dialog.settings().colourise == "off"
    with qtbot.waitSignal(dialog.download_requested) as asked:
        dialog.download_colouriser.click()
    assert asked.args == ["ddcolor"]
    for text in (dialog.colouriser_note.text(), dialog.colourise_check.toolTip()):
        assert "--" not in text  # family words, no command-line flags

    path = save_released(random_net(), tmp_path / "ddcolor_paper_tiny.pth")
    PhotoModelRegistry(library.home).import_file(path, "ddcolor-tiny", licence="Apache-2.0")
    dialog.refresh_models()
    assert dialog.colourise_check.isEnabled() and not dialog.colourise_check.isChecked()
    assert dialog.download_colouriser.isHidden()
    assert "ddcolor-tiny" in dialog.colouriser_note.text()
    dialog.colourise_check.setChecked(True)
    assert dialog.save()
    assert library.repair_settings().colourise == "auto"

    again = RestoreOptionsDialog(library)
    qtbot.addWidget(again)
    assert again.colourise_check.isChecked() and again.settings().colourise == "auto"
    again.reset_button.click()
    assert not again.colourise_check.isChecked() and again.settings().colourise == "off"
