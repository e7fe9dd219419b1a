"""``library check``: does every row have its file, every file its row, every photo its bytes,
every ready adapter usable weights, every JSON column of every table a readable value?

The check is safe while other processes import, restore or train in the same library:

- the folders are listed *before* the rows are read, and the rows (with the file each
  running job is about to rename into place, ``jobs.pending_file``) are read in one
  snapshot, so a file an import renames in just after the listing is not seen, and one
  renamed in before it has its row or its pending mark in the snapshot;
- a file that vanishes between the listing and its look (a temporary file renamed, a
  photo deleted) is passed over, never an error;
- temporary names (``.tmp-*``, ``.import-*``, ``*.part``, ``.staging-*``) younger than
  :data:`STALE_TEMP_SECONDS` may be writes in progress, so they are not orphans;
- before a file is reported missing or an orphan, the database is asked again: a row
  deleted or committed since the snapshot is not a problem.

It reads every table through the database core (``database.Database``), as stored rather
than as the repositories read them: a damaged value is what it looks for.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.library.database import STALE_TEMP_SECONDS, Database, is_temp_name
from gen2res_desktop.library.models import DESCRIPTOR_SIZE, CheckReport
from gen2res_desktop.library.tables.photos import thumbnail_file

_CROP_RE = re.compile(r"^-?\d+,-?\d+,\d+$")


def _files(folder: Path) -> list[Path]:
    found = []
    for dirpath, _, filenames in os.walk(folder):  # a folder vanishing meanwhile is skipped
        found.extend(Path(dirpath) / n for n in filenames)
    return sorted(found)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:  # gone since the listing (renamed, deleted)
        return None


@contextlib.contextmanager
def _snapshot(db: Database) -> Iterator[None]:
    """Every read inside sees the database as it was at the first one (one read transaction)."""
    conn = db.connection()
    try:
        conn.execute("BEGIN")
    except sqlite3.Error as e:
        raise Gen2ResError(f"Cannot read the library database ({e}).") from e
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("COMMIT")


def _text(value: object) -> str:
    """A TEXT column read as bytes (a damaged byte must not stop the check)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------
# JSON columns: what every reader of the library parses


def _json_value(raw: bytes | None) -> tuple[object, str | None]:
    if raw is None:
        return None, None
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        return None, "is not valid text (a damaged byte)"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as e:
        return None, f"is not valid JSON ({e})"


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _object(v: object) -> str | None:
    return None if isinstance(v, dict) else "is not a JSON object"


def _strings(v: object) -> str | None:
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return None
    return "is not a list of strings"


def _points(v: object) -> str | None:
    if isinstance(v, list) and all(
        isinstance(p, list) and len(p) == 2 and all(_is_number(c) for c in p) for p in v
    ):
        return None
    return "is not a list of [x, y] points"


def _scores(v: object) -> str | None:
    if v is None or (isinstance(v, list) and all(_is_number(x) for x in v)):
        return None
    return "is not a list of numbers"


def _any(v: object) -> str | None:
    return None


# table, label, key column, JSON column, rule, NULL allowed
_JSON_COLUMNS = (
    ("photos", "photo", "id", "exif", _object, False),
    ("faces", "face", "id", "landmarks", _points, False),
    ("adapters", "adapter", "id", "settings", _object, False),
    ("adapters", "adapter", "id", "image_hashes", _strings, False),
    ("restorations", "restoration", "id", "settings", _object, False),
    ("restorations", "restoration", "id", "identity_scores", _scores, True),
    ("settings", "setting", "key", "value", _any, False),
)


def _check_columns(db: Database, report: CheckReport, cancel: CancelToken) -> None:
    errors = report.database_errors
    for table, label, key, column, rule, nullable in _JSON_COLUMNS:
        cancel.check()
        rows = db.rows(
            f"SELECT CAST({key} AS BLOB) AS k, CAST({column} AS BLOB) AS v FROM {table} "
            f"ORDER BY {key}"
        )
        for row in rows:
            name = _text(row["k"])
            where = f"{label} {name}" if key == "id" else f"{label} '{name}'"
            if row["v"] is None:
                if not nullable:
                    errors.append(f"{where}: {column} is empty (NULL)")
                continue
            value, problem = _json_value(row["v"])
            problem = problem or rule(value)
            if problem:
                errors.append(f"{where}: {column} {problem}")
    for row in db.rows(
        "SELECT id, CAST(crop AS BLOB) AS crop FROM photos WHERE crop IS NOT NULL ORDER BY id"
    ):
        if not _CROP_RE.match(_text(row["crop"])):
            errors.append(f"photo {row['id']}: crop is not 'x,y,size'")
    for row in db.rows("SELECT id, descriptor FROM faces WHERE descriptor IS NOT NULL ORDER BY id"):
        blob = row["descriptor"]
        if not isinstance(blob, bytes) or len(blob) != DESCRIPTOR_SIZE * 4:
            errors.append(f"face {row['id']}: descriptor is not {DESCRIPTOR_SIZE} numbers")
        elif not np.isfinite(np.frombuffer(blob, dtype="<f4")).all():
            errors.append(f"face {row['id']}: descriptor holds values that are not numbers")


def _check_adapter_files(
    adapters: list[tuple[int, Path, str]], report: CheckReport, cancel: CancelToken
) -> None:
    """Every ready adapter's file: readable, its metadata sound, its weights finite."""
    if not adapters:
        return
    from gen2res_desktop.core.adapters import check_adapter_file  # torch: only when needed

    for adapter_id, path, prior_hash in adapters:
        cancel.check()
        if not path.is_file():
            continue  # reported as missing (or deleted since)
        try:
            meta, _ = check_adapter_file(path)
        except Gen2ResError as e:
            if path.is_file():
                report.damaged_files.append(f"face model {adapter_id}: {e}")
            continue
        if meta.prior_hash != prior_hash:
            report.damaged_files.append(
                f"face model {adapter_id}: {path} was trained for other prior weights "
                f"({meta.prior_hash[:12]}) than the library records ({prior_hash[:12]}). "
                "Train the subject's face model again (Train in the app, or gen2res train)."
            )


# ---------------------------------------------------------------------------------------


def check_library(
    db: Database,
    *,
    verify_hashes: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> CheckReport:
    cancel = cancel or CancelToken()
    report = CheckReport()
    for (result,) in db.rows("PRAGMA quick_check"):
        if result != "ok":
            report.database_errors.append(result)
    for r in db.rows("PRAGMA foreign_key_check"):
        report.database_errors.append(f"{r[0]} row {r[1]} points to a missing row of {r[2]}")

    # 1. The folders, listed before the rows are read (see the module's notes).
    folders = (db.photos_dir, db.restorations_dir, db.masks_dir)
    listed = {folder: _files(folder) for folder in folders}
    thumbnails = _files(db.thumbnails_dir)
    adapter_files = _files(db.adapters_dir)

    # 2. One snapshot of the rows.
    with _snapshot(db):
        photos = db.rows(
            "SELECT id, CAST(hash AS BLOB) AS hash, CAST(file AS BLOB) AS file, "
            "CAST(original_name AS BLOB) AS name, "
            "CAST(damage_map AS BLOB) AS damage_map FROM photos ORDER BY id"
        )
        restorations = db.rows(
            "SELECT id, CAST(file AS BLOB) AS file, CAST(damage_map AS BLOB) AS damage_map "
            "FROM restorations ORDER BY id"
        )
        adapters = db.rows(
            "SELECT id, CAST(file AS BLOB) AS file, status, "
            "CAST(prior_hash AS BLOB) AS prior_hash FROM adapters ORDER BY id"
        )
        subjects = {int(r["id"]) for r in db.rows("SELECT id FROM subjects")}
        pending = {
            _text(r["f"])
            for r in db.rows(
                "SELECT CAST(pending_file AS BLOB) AS f FROM jobs "
                "WHERE state = 'running' AND pending_file IS NOT NULL"
            )
        }

    referenced: set[Path] = set(_resolved(db, pending))

    def known_file(label: str, relative: str, still_there) -> Path | None:
        """The file of a row; reported missing only if the row still wants it."""
        try:
            path = db.resolve(relative)
        except Gen2ResError as e:
            report.database_errors.append(f"{label}: {e}")
            return None
        referenced.add(path)
        if not path.is_file():
            if still_there() and not path.is_file():
                report.missing_files.append(f"{label}: {relative}")
            return None
        return path

    def row_still(sql: str, *params) -> Callable[[], bool]:
        return lambda: db.row(sql, list(params)) is not None

    for i, row in enumerate(photos):
        cancel.check()
        name, rel = _text(row["name"]), _text(row["file"])
        label = f"photo {row['id']} ({name})"
        still = row_still("SELECT 1 FROM photos WHERE id = ? AND file = ?", row["id"], rel)
        path = known_file(label, rel, still)
        if path is not None and verify_hashes:
            try:
                digest = sha256_file(path)
            except OSError as e:
                if still() and path.exists():
                    report.missing_files.append(f"{label}: {rel} (cannot be read: {e.strerror})")
                elif still():
                    report.missing_files.append(f"{label}: {rel}")
            else:
                if digest != _text(row["hash"]):
                    report.hash_mismatches.append(f"{label}: {rel}")
        if row["damage_map"]:
            dm = _text(row["damage_map"])
            known_file(
                f"damage map of photo {row['id']}",
                dm,
                row_still("SELECT 1 FROM photos WHERE id = ? AND damage_map = ?", row["id"], dm),
            )
        report.photos_checked = i + 1
        progress(Progress("check", i + 1, len(photos), message=name))
    for row in restorations:
        cancel.check()
        rel = _text(row["file"])
        known_file(
            f"restoration {row['id']}",
            rel,
            row_still("SELECT 1 FROM restorations WHERE id = ? AND file = ?", row["id"], rel),
        )
        if row["damage_map"]:
            dm = _text(row["damage_map"])
            known_file(
                f"damage map of restoration {row['id']}",
                dm,
                row_still(
                    "SELECT 1 FROM restorations WHERE id = ? AND damage_map = ?", row["id"], dm
                ),
            )
    # Only a finished adapter promises a file; a cancelled one may not have written it yet.
    ready: list[tuple[int, Path, str]] = []
    for row in adapters:
        rel = _text(row["file"])
        still = row_still(
            "SELECT 1 FROM adapters WHERE id = ? AND file = ? AND status = 'ready'", row["id"], rel
        )
        if row["status"] == "ready":
            path = known_file(f"adapter {row['id']}", rel, still)
            if path is not None:
                ready.append((int(row["id"]), path, _text(row["prior_hash"])))
        else:
            with contextlib.suppress(Gen2ResError):
                referenced.add(db.resolve(rel))

    _check_columns(db, report, cancel)
    _check_adapter_files(ready, report, cancel)

    # 3. Orphans: listed files no row (nor a write in progress) wants, asked again first.
    cutoff = time.time() - STALE_TEMP_SECONDS

    def orphan(path: Path, wanted_now) -> None:
        mtime = _mtime(path)
        if mtime is None:
            return  # gone since the listing
        if is_temp_name(path.name):
            if mtime >= cutoff:
                return  # a write in progress, maybe in another process
        elif wanted_now():
            return  # its row was committed after the snapshot
        if _mtime(path) is None:
            return
        report.orphan_files.append(db.relative(path))

    def file_wanted(path: Path):
        rel = db.relative(path)
        return lambda: (
            db.row(
                "SELECT 1 FROM photos WHERE file = ? OR damage_map = ? "
                "UNION ALL SELECT 1 FROM restorations WHERE file = ? OR damage_map = ? "
                "UNION ALL SELECT 1 FROM adapters WHERE file = ? "
                "UNION ALL SELECT 1 FROM jobs WHERE state = 'running' AND pending_file = ?",
                [rel, rel, rel, rel, rel, rel],
            )
            is not None
        )

    for folder in folders:
        for path in listed[folder]:
            if path not in referenced:
                orphan(path, file_wanted(path))
    thumbs = {thumbnail_file(db.thumbnails_dir, _text(row["hash"])) for row in photos}
    for path in thumbnails:
        if path not in thumbs:
            digest = path.stem
            orphan(
                path,
                lambda digest=digest: (
                    db.row("SELECT 1 FROM photos WHERE hash = ?", [digest]) is not None
                ),
            )
    # An adapter's checkpoints and the like share its name: subject-<id>.safetensors*
    for path in adapter_files:
        if path in referenced:
            continue
        m = re.match(r"^subject-(\d+)\.", path.name)
        if path.parent == db.adapters_dir and m and int(m.group(1)) in subjects:
            continue
        subject_id = int(m.group(1)) if m and path.parent == db.adapters_dir else None
        orphan(
            path,
            lambda s=subject_id: (
                s is not None and db.row("SELECT 1 FROM subjects WHERE id = ?", [s]) is not None
            ),
        )
    return report


def _resolved(db: Database, relatives) -> Iterator[Path]:
    for rel in relatives:
        with contextlib.suppress(Gen2ResError):
            yield db.resolve(rel)
