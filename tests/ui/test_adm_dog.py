"""A dog subject end to end with an imported guided-diffusion (ADM) prior: the Models
dialog converts the checkpoint, the dog trains on it and a photo of it restores."""

from __future__ import annotations

import pytest
import torch

from gen2res_desktop.core.training import TrainOptions
from gen2res_desktop.ui.jobs import JobState
from gen2res_desktop.ui.settings import Crop, save_crop

unet_module = pytest.importorskip("guided_diffusion.unet")

TINY_TRAIN = TrainOptions(steps=3, batch_size=1, rank=2, alpha=2.0, checkpoint_every=2)


@pytest.fixture
def adm_dog_checkpoint(tmp_path):
    """A tiny AFHQ-dog-shaped ADM model: learned sigma, scale-shift, ResNet up/down-sampling
    and 32-channel heads, saved the way guided-diffusion saves its checkpoints."""
    torch.manual_seed(0)
    model = unet_module.UNetModel(
        image_size=32, in_channels=3, model_channels=32, out_channels=6, num_res_blocks=1,
        attention_resolutions=(2,), channel_mult=(1, 2), num_head_channels=32,
        use_scale_shift_norm=True, resblock_updown=True,
    )  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    path = tmp_path / "afhq_dog_tiny.pt"
    torch.save(model.state_dict(), path)
    return path


def test_a_dog_trains_and_restores_with_an_imported_adm_prior(
    qtbot, make_window, adm_dog_checkpoint, reference_files, photo_files
):
    from gen2res_desktop.ui.models_dialog import ImportPriorDialog

    window = make_window()
    dialog = window.windows.open_models()
    suggested = ImportPriorDialog(adm_dog_checkpoint, dialog)
    assert suggested.kind_combo.currentText() == "dog"  # from the file's name
    job_id = dialog.import_checkpoint(adm_dog_checkpoint, "dog-adm", "dog")
    assert window.download_runner.job(job_id).state is JobState.FINISHED, (
        window.download_runner.job(job_id).error
    )
    assert "dog-adm" in dialog.installed_names()
    # the weights cannot say the image size: the public ADM models' 256 px is assumed
    assert window.registry.get("dog-adm").resolution == 256
    dialog.close()

    rex = window.subjects.create_subject("Rex", "dog", "dog-adm")
    assert rex is not None and rex.prior == "dog-adm"
    window.imports.import_paths(list(reference_files), subject="Rex", role="reference")
    job = window.runner.job(window.subjects.start_training("Rex", TINY_TRAIN))
    assert job.state is JobState.FINISHED, job.error
    assert window.library.ready_adapter("Rex").prior_name == "dog-adm"

    window.imports.import_paths([photo_files["chelsea"]], subject="Rex", role="restore")
    pid = next(p.id for p in window.library.list_photos() if p.original_name == "chelsea.jpg")
    save_crop(window.library, pid, Crop(100, 20, 200))
    [restore_id] = window.restore.restore_photos([pid])
    restored = window.runner.job(restore_id)
    assert restored.state is JobState.FINISHED, restored.error
    assert window.library.list_restorations(pid)[0].adapter_id is not None
