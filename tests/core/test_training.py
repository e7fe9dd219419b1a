import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tiny_models import save_tiny_prior

from gen2res_desktop.core.adapters import read_adapter_meta, with_adapter
from gen2res_desktop.core.diffusion import AlbumSettings, RestoreSettings, restore_image
from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.pipeline import SingleOptions, restore_crop
from gen2res_desktop.core.priors import load_prior
from gen2res_desktop.core.progress import CancelToken
from gen2res_desktop.core.training import TrainOptions, patch_side, random_crops, train_adapter


@pytest.fixture
def album(astronaut):
    # Eight crops of one face, shifted a little: a small "personal album".
    return [astronaut.crop((140 + 4 * i, 25 + 2 * i, 270 + 4 * i, 155 + 2 * i)) for i in range(8)]


def test_training_lowers_loss_and_changes_output(tiny_prior, album, astronaut_face, tmp_path):
    out = tmp_path / "a.safetensors"
    result = train_adapter(
        tiny_prior, album, out, TrainOptions(steps=60, lr=2e-3, batch_size=4, seed=0)
    )
    first, last = np.mean(result.losses[:15]), np.mean(result.losses[-15:])
    assert last < first
    s = RestoreSettings(strength=60, seed=0)
    base = restore_image(tiny_prior, astronaut_face, s)
    adapted = restore_crop(tiny_prior, astronaut_face, s, adapter=out)
    assert np.abs(np.asarray(base, float) - np.asarray(adapted, float)).mean() > 1.0
    # the base prior is left untouched by training and by applying an adapter
    assert restore_image(tiny_prior, astronaut_face, s).tobytes() == base.tobytes()


def test_adapter_save_load_identical_outputs(
    tiny_prior, tiny_registry, album, astronaut_face, tmp_path
):
    out = tmp_path / "a.safetensors"
    train_adapter(tiny_prior, album, out, TrainOptions(steps=10, lr=1e-3))
    s = RestoreSettings(strength=30, seed=5)
    a = restore_crop(tiny_prior, astronaut_face, s, adapter=out)
    fresh = load_prior(tiny_registry.get("tiny"), "cpu")
    b = restore_crop(fresh, astronaut_face, s, adapter=out)
    assert a.tobytes() == b.tobytes()
    meta = read_adapter_meta(out)
    assert meta.prior_name == "tiny" and meta.prior_hash == tiny_prior.info.weights_hash
    assert meta.rank == 16 and meta.steps_done == 10 and len(meta.image_hashes) == len(album)
    assert all(k.startswith(("down_blocks", "up_blocks", "mid_block")) for k in load_file(str(out)))


def test_adapter_for_another_prior_is_refused(tiny_prior, tiny_registry, tmp_path, album):
    out = tmp_path / "a.safetensors"
    train_adapter(tiny_prior, album, out, TrainOptions(steps=2))
    tiny_registry.import_folder(save_tiny_prior(tmp_path / "other", seed=7), "other", "cat")
    other = load_prior(tiny_registry.get("other"), "cpu")
    with pytest.raises(Gen2ResError, match="trained for the prior 'tiny'"):
        with_adapter(other, out)


def test_cancel_leaves_no_partial_files(tiny_prior, album, tmp_path):
    token = CancelToken()

    def progress(p):
        if p.step == 3:
            token.cancel()

    work = tmp_path / "adapters"
    work.mkdir()
    with pytest.raises(Cancelled):
        train_adapter(
            tiny_prior,
            album,
            work / "a.safetensors",
            TrainOptions(steps=50, checkpoint_every=100),
            progress=progress,
            cancel=token,
        )
    assert list(work.iterdir()) == []


def test_interrupted_training_resumes_where_it_stopped(tiny_prior, album, tmp_path):
    opts = TrainOptions(steps=12, checkpoint_every=4, lr=1e-3, seed=2)
    full = tmp_path / "full.safetensors"
    train_adapter(tiny_prior, album, full, opts)

    out = tmp_path / "resumed.safetensors"
    token = CancelToken()

    def stop_after_six(p):
        if p.step == 6:
            token.cancel()

    with pytest.raises(Cancelled):
        train_adapter(tiny_prior, album, out, opts, progress=stop_after_six, cancel=token)
    ckpt = tmp_path / "resumed.safetensors.ckpt"
    assert ckpt.is_file() and not out.exists()

    steps_seen = []
    train_adapter(tiny_prior, album, out, opts, progress=lambda p: steps_seen.append(p.step))
    assert steps_seen[0] == 5  # resumed after the checkpoint at step 4
    assert not ckpt.exists()
    a, b = load_file(str(full)), load_file(str(out))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_single_photo_mode_runs_all_stages(tiny_prior, astronaut_face, tmp_path):
    stages = []
    single = SingleOptions(
        album=AlbumSettings(count=4, strength=20, batch_size=4),
        train=TrainOptions(steps=4),
        keep_dir=tmp_path / "work",
    )
    result = restore_crop(
        tiny_prior,
        astronaut_face,
        RestoreSettings(strength=20),
        single=single,
        progress=lambda p: stages.append(p.stage),
    )
    assert result.size == astronaut_face.size
    assert list(dict.fromkeys(stages)) == ["album", "train", "restore"]
    assert len(list((tmp_path / "work").glob("album_*.png"))) == 4


def test_single_photo_mode_cancel_in_album_stage(tiny_prior, astronaut_face):
    token = CancelToken()

    def progress(p):
        if p.stage == "album":
            token.cancel()

    single = SingleOptions(
        album=AlbumSettings(count=2, strength=20, batch_size=2), train=TrainOptions(steps=2)
    )
    with pytest.raises(Cancelled):
        restore_crop(
            tiny_prior,
            astronaut_face,
            RestoreSettings(strength=20),
            single=single,
            progress=progress,
            cancel=token,
        )


def test_written_files_are_readable_like_any_other(tiny_prior, album, tmp_path):
    import os
    import stat

    out = tmp_path / "a.safetensors"
    train_adapter(tiny_prior, album, out, TrainOptions(steps=1))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_flip_augmentation_can_be_turned_off(tiny_prior, astronaut, tmp_path):
    # One asymmetric image: with flips off, training sees it only as it is.
    img = [astronaut.crop((100, 0, 356, 256))]
    a = train_adapter(
        tiny_prior, img, tmp_path / "a.safetensors", TrainOptions(steps=4, flip=False)
    )
    b = train_adapter(tiny_prior, img, tmp_path / "b.safetensors", TrainOptions(steps=4, flip=True))
    assert a.losses != b.losses


def test_full_fine_tune_trains_every_weight_and_leaves_the_prior(tiny_prior, album, astronaut_face):
    from gen2res_desktop.core.training import fine_tune

    before = {k: v.clone() for k, v in tiny_prior.unet.state_dict().items()}
    s = RestoreSettings(strength=60, seed=0)
    base = restore_image(tiny_prior, astronaut_face, s)
    result = fine_tune(tiny_prior, album, TrainOptions(steps=60, lr=2e-3, batch_size=4))
    assert np.mean(result.losses[-15:]) < np.mean(result.losses[:15])
    tuned = result.model.unet.state_dict()
    changed = [k for k, v in before.items() if not torch.equal(v, tuned[k])]
    assert len(changed) > 0.9 * len(before)  # every weight, not just a LoRA's
    assert not any("lora_" in k for k in tuned)
    assert all(torch.equal(v, tiny_prior.unet.state_dict()[k]) for k, v in before.items())
    adapted = restore_image(result.model, astronaut_face, s)
    assert np.abs(np.asarray(base, float) - np.asarray(adapted, float)).mean() > 1.0


def test_max_timestep_limits_the_training_timesteps(tiny_prior, album, tmp_path):
    seen: list[int] = []

    def record(module, args, kwargs):
        seen.extend(int(t) for t in args[1])

    handle = tiny_prior.unet.register_forward_pre_hook(record, with_kwargs=True)
    try:
        train_adapter(
            tiny_prior,
            album,
            tmp_path / "a.safetensors",
            TrainOptions(steps=20, batch_size=4, max_timestep=50),
        )
    finally:
        handle.remove()
    assert len(seen) == 80 and max(seen) < 50 and min(seen) >= 0
    with pytest.raises(Gen2ResError, match="largest training timestep"):
        train_adapter(
            tiny_prior, album, tmp_path / "b.safetensors", TrainOptions(steps=1, max_timestep=0)
        )


def test_crops_are_inside_the_image_of_the_asked_size_and_cover_every_position():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8).repeat(50, 1, 1, 1)
    crops, pos = random_crops(x, 4, torch.Generator().manual_seed(0))
    assert crops.shape == (100, 3, 4, 4)
    assert pos.min() >= 0 and pos.max() <= 4
    # every top and left from 0 to 4 is drawn, and each crop is the image's own pixels there
    assert set(pos[:, 0].tolist()) == set(range(5)) == set(pos[:, 1].tolist())
    for i in (0, 1, 57):
        top, left = pos[i].tolist()
        assert torch.equal(crops[i], x[i, :, top : top + 4, left : left + 4])
    assert patch_side(32, 0.5, 4) == 16 and patch_side(256, 0.5, 32) == 128
    assert patch_side(32, 0.1, 8) == 8 and patch_side(32, None, 4) == 32


def test_patch_training_feeds_the_unet_crops_and_noise_of_the_crop_size(
    tiny_prior, album, tmp_path
):
    shapes: list[tuple] = []

    def record(module, args, kwargs):
        shapes.append(tuple(args[0].shape))

    handle = tiny_prior.unet.register_forward_pre_hook(record, with_kwargs=True)
    try:
        result = train_adapter(
            tiny_prior, album, tmp_path / "p.safetensors", TrainOptions(steps=3, patch=0.5)
        )
    finally:
        handle.remove()
    side = tiny_prior.resolution // 2
    assert shapes == [(4, 3, side, side)] * 3  # the loss against noise of the same shape ran
    assert np.isfinite(result.losses).all()
    with pytest.raises(Gen2ResError, match="training crop"):
        train_adapter(tiny_prior, album, tmp_path / "q.safetensors", TrainOptions(steps=1, patch=0))
