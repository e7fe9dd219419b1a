"""`library check`, and a process killed mid-import leaving a consistent library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from library_helpers import write_photos

from gen2res_desktop.cli.main import main
from gen2res_desktop.library import Library, locks
from gen2res_desktop.library.database import STALE_TEMP_SECONDS

REPO = Path(__file__).resolve().parents[2]


def test_check_finds_missing_orphan_and_changed_files(lib, tmp_path):
    a, b, c = lib.import_paths(write_photos(tmp_path / "in", 3)).photo_ids
    assert lib.check().ok
    lib.photo_path(a).unlink()
    lib.photo_path(b).write_bytes(b"bit rot")
    stray = lib.photos_dir / "zz" / "stray.jpg"
    stray.parent.mkdir()
    stray.write_bytes(b"x")
    (lib.adapters_dir / "unknown.safetensors").write_bytes(b"x")
    fresh_tmp = lib.photos_dir / ".tmp-inflight.jpg"  # a write in progress elsewhere
    fresh_tmp.write_bytes(b"x")

    report = lib.check()

    assert not report.ok
    assert report.missing_files == [f"photo {a} (photo_000.png): {lib.get_photo(a).file}"]
    assert report.hash_mismatches == [f"photo {b} (photo_001.png): {lib.get_photo(b).file}"]
    assert sorted(report.orphan_files) == ["adapters/unknown.safetensors", "photos/zz/stray.jpg"]
    assert report.photos_checked == 3
    assert lib.check(verify_hashes=False).hash_mismatches == []

    old = time.time() - STALE_TEMP_SECONDS - 10
    os.utime(fresh_tmp, (old, old))
    assert "photos/.tmp-inflight.jpg" in lib.check().orphan_files
    lib.close()
    with Library.open(lib.home) as again:  # stale temporary files are cleared on open
        assert not fresh_tmp.exists()
        assert "photos/.tmp-inflight.jpg" not in again.check().orphan_files


def _run_until(script: str, args: list[str], marker: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in proc.stdout:
        if line.strip() == marker:
            return proc
    raise AssertionError(f"the child ended before {marker!r}: {proc.wait()} {proc.stderr.read()}")


SLOW_IMPORT = """
import sys, time
from pathlib import Path
from gen2res_desktop.library import Library

lib = Library.open(Path(sys.argv[1]))

def progress(p):
    print(p.step, flush=True)
    time.sleep(0.1)

lib.import_paths([Path(sys.argv[2])], progress=progress)
print("finished", flush=True)
"""


def test_killed_mid_import_then_check_is_clean(gen2res_home, tmp_path):
    write_photos(tmp_path / "in", 30)
    proc = _run_until(SLOW_IMPORT, [str(gen2res_home), str(tmp_path / "in")], "3")
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert main(["library", "check"]) == 0
    with Library.open(gen2res_home) as lib:
        (job,) = lib.list_jobs()
        assert job.kind == "import" and job.state == "interrupted" and "stopped" in job.error
        assert 3 <= len(lib.list_photos()) < 30
        assert lib.temp_files() == []
        # the dead process's lock file is gone (the open lock's file always stays)
        assert [p.name for p in lib.locks_dir.iterdir()] == [locks.OPEN_LOCK_NAME]
        # Importing again finishes the job: the kept photos are duplicates.
        summary = lib.import_paths([tmp_path / "in"])
        assert len(summary.imported) + len(summary.duplicates) == 30 and summary.skipped == []


DIE_BETWEEN_RENAME_AND_COMMIT = """
import os, signal, sys
from pathlib import Path
from gen2res_desktop.library import Library, importer

class DieAfterRename:
    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def replace(src, dst):
        os.replace(src, dst)
        print("renamed", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # the parent kills us here

importer.os = DieAfterRename()
Library.open(Path(sys.argv[1])).import_paths([Path(sys.argv[2])])
"""


def test_killed_between_rename_and_commit_leaves_no_orphan(gen2res_home, tmp_path):
    (photo,) = write_photos(tmp_path / "in", 1)
    proc = _run_until(DIE_BETWEEN_RENAME_AND_COMMIT, [str(gen2res_home), str(photo)], "renamed")
    stored = [p for p in (gen2res_home / "photos").rglob("*") if p.is_file()]
    assert len(stored) == 1 and not stored[0].name.startswith(".")  # in place, not yet recorded
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    with Library.open(gen2res_home) as lib:
        assert lib.list_jobs()[0].state == "interrupted"
        assert lib.list_photos() == []
        assert not stored[0].exists()
        assert lib.check().ok
