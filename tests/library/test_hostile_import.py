"""Import of folders holding things that are not photo files: pipes, devices, sockets, links,
files too large to be photos. Each is skipped with its reason, never read forever; the rest
of the batch goes on, and cancel works in the middle of a file."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from library_helpers import write_photos
from PIL import Image

from gen2res_desktop.core.progress import CancelToken
from gen2res_desktop.library import importer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")

# Whatever a wrong importer does, it may not write more than this into the test's disk.
_WRITE_LIMIT = 64 * 1024**2


@contextlib.contextmanager
def _bounded_writes():
    """Files this process writes stop at _WRITE_LIMIT (EFBIG, not a full disk or a kill)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (_WRITE_LIMIT, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def _import_or_fail(lib, paths, *, fifos=(), **kwargs):
    """Run the import in a thread; if it hangs on a pipe, unblock it and fail the test."""
    result: dict = {}

    def run():
        try:
            result["summary"] = lib.import_paths(paths, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            result["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    hung = worker.is_alive()
    while worker.is_alive():  # a reader blocked in open() or read() of a pipe: give it EOF
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(0.2)
    assert not hung, "the import hung on a named pipe"
    if "error" in result:
        raise result["error"]
    return result["summary"]


def _reasons(summary) -> dict[str, str]:
    return {f.path.name: f.reason for f in summary.skipped}


def _no_temp_files(lib) -> bool:
    return lib.temp_files() == []


def test_named_pipe_is_skipped_not_waited_on(lib, tmp_path):
    folder = tmp_path / "shoebox"
    good = write_photos(folder, 2)
    fifo = folder / "y.jpg"
    os.mkfifo(fifo)
    named = tmp_path / "named.png"
    os.mkfifo(named)

    summary = _import_or_fail(lib, [folder, named], fifos=[fifo, named])

    assert sorted(f.path for f in summary.imported) == sorted(good)
    reasons = _reasons(summary)
    assert set(reasons) == {"y.jpg", "named.png"}
    assert all("named pipe" in r and "only regular files" in r for r in reasons.values())
    assert lib.get_job(summary.job_id).state == "done"
    assert _no_temp_files(lib) and lib.check().ok


def test_pipe_swapped_in_after_the_check_is_not_waited_on(lib, tmp_path, monkeypatch):
    """The file is regular when looked at and a pipe when opened: the open must not block."""
    (src,) = write_photos(tmp_path / "in", 1)
    real_os = importer.os

    class SwapAfterStat:
        def __getattr__(self, name):
            return getattr(real_os, name)

        @staticmethod
        def stat(path, *args, **kwargs):
            result = real_os.stat(path, *args, **kwargs)
            if Path(path) == src and not src.is_fifo():
                src.unlink()
                real_os.mkfifo(src)
            return result

    monkeypatch.setattr(importer, "os", SwapAfterStat())

    summary = _import_or_fail(lib, [src], fifos=[src])

    assert summary.imported == []
    assert "named pipe" in _reasons(summary)[src.name]
    assert _no_temp_files(lib)


def test_links_to_devices_and_folders_are_skipped_and_the_batch_goes_on(lib, tmp_path):
    folder = tmp_path / "in"
    good = write_photos(folder, 2)
    (folder / "z.jpg").symlink_to("/dev/zero")
    (folder / "null.jpg").symlink_to("/dev/null")
    (folder / "linked.png").symlink_to(good[0])  # a link to a regular file is fine
    elsewhere = tmp_path / "elsewhere"
    write_photos(elsewhere, 1)
    (folder / "more").symlink_to(elsewhere, target_is_directory=True)
    sock = None
    with contextlib.suppress(OSError):  # a socket path longer than ~100 bytes cannot bind
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(folder / "s.jpg"))
    try:
        with _bounded_writes():
            summary = _import_or_fail(lib, [folder])
    finally:
        if sock is not None:
            sock.close()

    stored = sorted(f.path.name for f in summary.imported + summary.duplicates)
    assert stored == sorted(["linked.png", *(p.name for p in good)])
    assert len(summary.imported) == 2 and len(summary.duplicates) == 1
    reasons = _reasons(summary)
    assert "a link to /dev/zero, which is a device" in reasons["z.jpg"]
    assert "a link to /dev/null, which is a device" in reasons["null.jpg"]
    assert "link to a folder" in reasons["more"]
    if (folder / "s.jpg").exists():
        assert "a socket" in reasons["s.jpg"]
    assert lib.get_job(summary.job_id).state == "done"
    assert _no_temp_files(lib) and lib.check().ok


def test_file_over_the_size_limit_is_skipped_unread(lib, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    (good,) = write_photos(folder, 1)
    huge = folder / "huge.tif"
    with open(huge, "wb") as f:  # sparse: no disk space, but it says it holds over 2 GiB
        f.truncate(2 * 1024**3 + 1)

    with _bounded_writes():
        summary = _import_or_fail(lib, [folder])

    assert [f.path for f in summary.imported] == [good]
    reason = _reasons(summary)["huge.tif"]
    assert "too large for a photo (2.0 GB" in reason and "over 2.0 GB" in reason
    assert _no_temp_files(lib)
    # the limit is one documented constant: a smaller one applies to smaller files
    assert importer.MAX_PHOTO_BYTES == 2 * 1024**3
    monkeypatch.setattr(importer, "MAX_PHOTO_BYTES", good.stat().st_size - 1)
    (again,) = write_photos(tmp_path / "again", 1, size=30)
    assert "too large for a photo" in _reasons(lib.import_paths([again]))[again.name]


class _CancelOnCheck(CancelToken):
    """Cancels at the n-th time a worker asks, wherever that is."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.checks >= self.n:
            self.cancel()
        super().check()


def test_cancel_is_honoured_within_a_file(lib, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "_CHUNK", 4096)
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    big = tmp_path / "big_scan.png"
    Image.fromarray(noise).save(big)
    assert big.stat().st_size > 20 * 4096

    token = _CancelOnCheck(3)
    summary = lib.import_paths([big], cancel=token)

    assert summary.cancelled and summary.imported == [] and summary.skipped == []
    assert token.checks == 3  # stopped in the middle of the copy, not after it
    assert lib.get_job(summary.job_id).state == "cancelled"
    assert lib.list_photos() == [] and _no_temp_files(lib)
    assert [p for p in lib.photos_dir.rglob("*") if p.is_file()] == []
