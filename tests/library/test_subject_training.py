"""Training a subject from its reference photos, with a tiny prior on the CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from library_helpers import write_photos

from gen2res_desktop.cli.main import main
from gen2res_desktop.core.adapters import read_adapter_meta
from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.progress import CancelToken, Progress
from gen2res_desktop.core.training import TrainOptions
from gen2res_desktop.library import Library
from gen2res_desktop.library import training as library_training
from gen2res_desktop.library.training import subject_training_images, train_subject

REPO = Path(__file__).resolve().parents[2]
OPTIONS = TrainOptions(steps=3, batch_size=1, rank=2, alpha=2.0, checkpoint_every=1)


@pytest.fixture
def rose(lib, tiny_registry, tmp_path):
    """A dog whose prior is the tiny test prior, with five reference photos."""
    lib.add_subject("Rex", "dog", prior="tiny")
    ids = lib.import_paths(write_photos(tmp_path / "refs", 6, size=40)).photo_ids
    lib.tag(ids[:5], "Rex", "reference")
    lib.tag(ids[5:], "Rex", "restore")
    return lib.get_subject("Rex")


def test_training_images_are_upright_centre_squares(lib, rose, tmp_path, astronaut):
    images = subject_training_images(lib, rose)
    assert len(images) == 5 and all(img.size == (40, 40) and img.mode == "RGB" for img in images)
    wide = tmp_path / "wide.png"
    astronaut.crop((0, 0, 300, 120)).save(wide)
    lib.import_paths([wide], subject="Rex", role="reference")
    assert sorted(img.size for img in subject_training_images(lib, "Rex"))[-1] == (120, 120)


def test_too_few_reference_photos(lib, rose):
    lib.untag([p.id for p in lib.list_photos(subject="Rex", role="reference")][:2], "Rex")
    with pytest.raises(Gen2ResError, match="has 3 usable reference photo.*at least 5"):
        train_subject(lib, rose, OPTIONS, device="cpu")
    assert [j.kind for j in lib.list_jobs()] == ["import"]


def test_unknown_prior_is_explained(lib, rose):
    lib.add_subject("Nobi", "cat")
    lib.tag([p.id for p in lib.list_photos(subject="Rex", role="reference")], "Nobi", "reference")
    with pytest.raises(Gen2ResError, match="The prior 'cat' is not installed, nor any other cat"):
        train_subject(lib, "Nobi", OPTIONS, device="cpu")


def test_cancelled_training_resumes_and_records_a_ready_adapter(lib, rose):
    token = CancelToken()

    def cancel_at_2(p):
        if p.step == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        train_subject(lib, rose, OPTIONS, device="cpu", progress=cancel_at_2, cancel=token)
    run = lib.latest_adapter(rose)
    assert (run.status, run.steps_done) == ("cancelled", 2)
    assert lib.get_job(run.job_id).state == "cancelled"
    assert lib.get_subject("Rex").adapter_state == "none"
    assert lib.check().ok  # the checkpoint beside the adapter is no orphan

    steps = []
    record = train_subject(lib, rose, OPTIONS, device="cpu", progress=steps.append)

    assert [p.step for p in steps if p.stage == "train"] == [3]  # from the step-2 checkpoint
    assert (record.status, record.steps_done, record.subject, record.prior_name) == (
        "ready",
        3,
        "Rex",
        "tiny",
    )
    assert record.path == lib.adapter_path_for(rose) and record.path.is_file()
    meta = read_adapter_meta(record.path)
    assert meta.prior_hash == record.prior_hash and meta.prior_name == "tiny"
    assert meta.image_hashes == record.image_hashes == lib.reference_hashes("Rex")
    assert record.settings["rank"] == 2
    assert lib.get_subject("Rex").adapter_state == "ready"
    job = lib.get_job(record.job_id)
    assert (job.kind, job.state, job.progress, job.total) == ("train", "done", 3, 3)
    assert lib.check().ok


TRAIN_UNTIL_STOPPED = """
import os, signal, sys
from pathlib import Path
from gen2res_desktop.core.training import TrainOptions
from gen2res_desktop.library import Library
from gen2res_desktop.library.training import train_subject

def progress(p):
    if p.step == 2:
        print("step 2", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # the parent kills us here

options = TrainOptions(steps=3, batch_size=1, rank=2, alpha=2.0, checkpoint_every=1)
train_subject(Library.open(Path(sys.argv[1])), "Rex", options, device="cpu", progress=progress)
"""


def test_killed_training_is_interrupted_and_resumable(lib, rose, gen2res_home):
    lib.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(TRAIN_UNTIL_STOPPED), str(gen2res_home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout.readline().strip() == "step 2", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    with Library.open(gen2res_home) as again:
        run = again.latest_adapter("Rex")
        assert run.status == "interrupted"
        assert again.get_job(run.job_id).state == "interrupted"
        assert again.get_subject("Rex").adapter_state == "none"
        assert again.check().ok
        steps = []
        assert (
            train_subject(again, "Rex", OPTIONS, device="cpu", progress=steps.append).status
            == "ready"
        )
        # The checkpoint of step 1 (step 2's was not written before the kill) is where it goes on.
        assert [p.step for p in steps if p.stage == "train"] == [2, 3]


def test_a_person_learns_from_aligned_face_crops(lib, tiny_registry, tmp_path, astronaut, chelsea):
    from gen2res_desktop.core.faces import detect_faces

    lib.add_subject("Eileen", "person", prior="tiny")
    folder = tmp_path / "eileen"
    folder.mkdir()
    paths = []
    for i in range(5):  # five framings of one portrait, as an album of good photos would vary
        path = folder / f"eileen_{i}.png"
        astronaut.crop((10 * i, 5 * i, 400 + 8 * i, 400 + 6 * i)).save(path)
        paths.append(path)
    chelsea.save(folder / "no_face.png")
    ids = lib.import_paths(
        [*paths, folder / "no_face.png"], subject="Eileen", role="reference"
    ).photo_ids
    crops = subject_training_images(lib, "Eileen", 64)
    assert len(crops) == 5 and all(c.size == (64, 64) for c in crops)
    # aligned: the face fills the crop, eyes level in its upper half
    face = detect_faces(crops[0].resize((256, 256)), with_descriptors=False)[0]
    (lx, ly), (rx, ry) = face.eye_centres
    assert abs(ly - ry) < 6 and 80 < (ly + ry) / 2 < 150

    lib.untag(ids[:1], "Eileen")
    with pytest.raises(Gen2ResError, match="has 4 usable face crops .*5 reference photos tagged"):
        train_subject(lib, "Eileen", OPTIONS, device="cpu")


# -- a training stopped by Ctrl+C, SIGTERM or a kill (issue 24, item 13) ---------------------


def _fake_engine(monkeypatch, stop) -> None:
    """The engine without the torch work: each step reports its progress and then saves a
    checkpoint (atomically, as the real one does); ``stop(step, "before"|"after")`` runs on
    each side of that save."""
    from gen2res_desktop.core import priors, training
    from gen2res_desktop.core.atomic import atomic_write_bytes
    from gen2res_desktop.core.paths import checkpoint_path

    def train_adapter(prior, images, path, options, *, image_hashes, progress, cancel):
        for step in range(1, options.steps + 1):
            cancel.check()
            progress(Progress("train", step, options.steps))
            stop(step, "before")
            if step % options.checkpoint_every == 0 and step < options.steps:
                atomic_write_bytes(checkpoint_path(path), f"step {step}".encode())
            stop(step, "after")
        raise AssertionError("the training was not stopped")

    monkeypatch.setattr(priors, "load_prior", lambda info, device: None)
    monkeypatch.setattr(training, "train_adapter", train_adapter)


@pytest.mark.parametrize(("moment", "resumes"), [("after", 2), ("before", 1)])
def test_ctrl_c_reads_as_stopped_with_the_step_it_continues_from(
    lib, rose, monkeypatch, moment, resumes
):
    def ctrl_c(step, when):
        if (step, when) == (2, moment):
            raise KeyboardInterrupt

    _fake_engine(monkeypatch, ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        train_subject(lib, rose, OPTIONS, device="cpu")
    run = lib.latest_adapter(rose)
    job = lib.get_job(run.job_id)
    assert run.status == "interrupted" and job.state == "interrupted"
    assert "KeyboardInterrupt" not in f"{job.error} {job.message}"
    assert f"continues from step {resumes}" in job.error
    stopped = library_training.stopped_training(lib, "Rex")
    assert (stopped.steps_done, stopped.steps, stopped.resumes_from) == (resumes, 3, resumes)
    assert lib.get_subject("Rex").adapter_state != "training"


def test_sigterm_during_train_reads_as_stopped_at_once(capsys, lib, rose, monkeypatch):
    lib.close()

    def sigterm(step, when):
        if (step, when) == (2, "after"):
            # what the interpreter does when SIGTERM arrives, without a real signal: in a
            # process full of torch and Qt threads a real one crashed the test run
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
            time.sleep(10)  # never reached: the handler raises

    def not_handled(signum, frame):
        raise RuntimeError("SIGTERM reached the test: gen2res did not handle it")

    _fake_engine(monkeypatch, sigterm)
    previous = signal.signal(signal.SIGTERM, not_handled)
    try:
        code = main(["train", "--subject", "Rex", "--steps", "3", "--checkpoint-every", "1"])
        code = (code, *[main(argv) for argv in (["subjects", "list"], ["library", "jobs"])])
    finally:
        signal.signal(signal.SIGTERM, previous)
    out, err = capsys.readouterr()
    assert code == (143, 0, 0) and "Traceback" not in err, err
    assert "adapter training" not in out and "KeyboardInterrupt" not in out
    assert "adapter stopped at step 2 of 3 (continues from step 2)" in out
    (job,) = [line for line in out.splitlines() if " train " in line]
    assert " interrupted " in job and "continues from step 2 next time" in job


def test_a_killed_training_reads_as_stopped_before_anything_is_written(capsys, lib, rose):
    job = lib.start_job("train", total=3)
    settings = {"steps": 3, "checkpoint_every": 1}
    path = lib.adapter_path_for(rose)
    lib.record_adapter(rose, path, "f" * 64, settings, 0, "training", [], job_id=job)
    lib.db.owner_lock.release()  # the process dies, and its lock with it
    lib.db.owner_lock = None
    with Library.open(readonly=True) as view:  # a look writes nothing, so nothing is marked
        assert view.get_subject("Rex").adapter_state == "none"
        assert library_training.stopped_training(view, "Rex").resumes_from == 0
    assert main(["subjects", "list"]) == 0
    out = capsys.readouterr().out
    assert "adapter stopped at step 0 of 3 (starts from the beginning)" in out
