"""``library check``: does every row have its file, every file its row, every photo its bytes?"""

from __future__ import annotations

import os
import time
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.library.models import CheckReport
from gen2res_desktop.library.store import STALE_TEMP_SECONDS, Library, is_temp_name


def _files(folder: Path) -> list[Path]:
    found = []
    for dirpath, _, filenames in os.walk(folder):
        found.extend(Path(dirpath) / n for n in filenames)
    return sorted(found)


def check_library(
    lib: Library,
    *,
    verify_hashes: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> CheckReport:
    cancel = cancel or CancelToken()
    report = CheckReport()
    for (result,) in lib._rows("PRAGMA quick_check"):
        if result != "ok":
            report.database_errors.append(result)
    for r in lib._rows("PRAGMA foreign_key_check"):
        report.database_errors.append(f"{r[0]} row {r[1]} points to a missing row of {r[2]}")

    referenced: set[Path] = set()

    def known_file(label: str, relative: str) -> Path | None:
        try:
            path = lib.resolve(relative)
        except Gen2ResError as e:
            report.database_errors.append(f"{label}: {e}")
            return None
        referenced.add(path)
        if not path.is_file():
            report.missing_files.append(f"{label}: {relative}")
            return None
        return path

    photos = lib._rows("SELECT id, hash, file, original_name FROM photos ORDER BY id")
    for i, row in enumerate(photos):
        cancel.check()
        path = known_file(f"photo {row['id']} ({row['original_name']})", row["file"])
        if path is not None and verify_hashes and sha256_file(path) != row["hash"]:
            report.hash_mismatches.append(
                f"photo {row['id']} ({row['original_name']}): {row['file']}"
            )
        report.photos_checked = i + 1
        progress(Progress("check", i + 1, len(photos), message=row["original_name"]))
    for row in lib._rows("SELECT id, file, damage_map FROM restorations"):
        known_file(f"restoration {row['id']}", row["file"])
        if row["damage_map"]:
            known_file(f"damage map of restoration {row['id']}", row["damage_map"])
    for row in lib._rows("SELECT id, damage_map FROM photos WHERE damage_map IS NOT NULL"):
        known_file(f"damage map of photo {row['id']}", row["damage_map"])
    # Only a finished adapter promises a file; a cancelled one may not have written it yet.
    for row in lib._rows("SELECT id, file, status FROM adapters"):
        if row["status"] == "ready":
            known_file(f"adapter {row['id']}", row["file"])

    cutoff = time.time() - STALE_TEMP_SECONDS

    def orphan(path: Path) -> None:
        # A young temporary file may be a write in progress in another process.
        if is_temp_name(path.name) and path.stat().st_mtime >= cutoff:
            return
        report.orphan_files.append(lib.relative(path))

    for folder in (lib.photos_dir, lib.restorations_dir, lib.masks_dir):
        for path in _files(folder):
            if path not in referenced:
                orphan(path)
    thumbs = {lib._thumbnail_file(row["hash"]) for row in photos}
    for path in _files(lib.thumbnails_dir):
        if path not in thumbs:
            orphan(path)
    # An adapter's checkpoints and the like share its name: subject-<id>.safetensors*
    prefixes = tuple(f"subject-{r['id']}." for r in lib._rows("SELECT id FROM subjects"))
    for path in _files(lib.adapters_dir):
        if path.parent != lib.adapters_dir or not path.name.startswith(prefixes):
            orphan(path)
    return report
