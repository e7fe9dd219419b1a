"""The ``restorations`` table and its files: each restored image of a photo, with the
damage map its repair used, under ``restorations/<photo id>/``."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.models import Restoration
from gen2res_desktop.library.values import from_json, now, to_json

# the subject joined for its name only
_RESTORATION_SQL = (
    "SELECT r.*, s.name AS subject_name FROM restorations r "
    "LEFT JOIN subjects s ON s.id = r.subject"
)


def _scores(text: str, restoration_id: int) -> list[float] | None:
    values = from_json(text, None, list, f"restoration {restoration_id} identity scores")
    try:
        return None if values is None else [float(v) for v in values]
    except (TypeError, ValueError):
        return None


class Restorations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def path_for(self, photo_id: int, seed: int) -> Path:
        """A new, unused file name for a restoration of ``photo_id`` (folder created)."""
        folder = self.db.restorations_dir / str(int(photo_id))
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return folder / f"{int(photo_id)}-seed{int(seed)}-{stamp}-{uuid.uuid4().hex[:6]}.png"

    def _restoration(self, r: sqlite3.Row) -> Restoration:
        scores = r["identity_scores"]
        return Restoration(
            id=r["id"],
            photo_id=r["photo"],
            subject_id=r["subject"],
            subject=r["subject_name"],
            adapter_id=r["adapter"],
            settings=from_json(r["settings"], {}, dict, f"restoration {r['id']} settings"),
            seed=r["seed"],
            path=self.db.resolve(r["file"]),
            identity_scores=None if scores is None else _scores(scores, r["id"]),
            kept=None if r["kept"] is None else bool(r["kept"]),
            created=r["created"],
            damage_map=self.db.resolve(r["damage_map"]) if r["damage_map"] else None,
        )

    def add(
        self,
        photo_id: int,
        subject_id: int | None,
        adapter_id: int | None,
        settings: dict,
        seed: int,
        output_file: Path,
        identity_scores: Sequence[float] | None = None,
        damage_map: Path | None = None,
    ) -> Restoration:
        """Record a restored image already written (atomically) under ``restorations/``,
        with the damage map its repair used (a PNG written there too), if any."""
        rel = self._file(output_file, "restored image")
        map_rel = None if damage_map is None else self._file(damage_map, "damage map")
        scores = None if identity_scores is None else to_json([float(s) for s in identity_scores])
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO restorations (photo, subject, adapter, settings, seed, file, "
                "identity_scores, created, damage_map) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    photo_id,
                    subject_id,
                    adapter_id,
                    to_json(settings),
                    int(seed),
                    rel,
                    scores,
                    now(),
                    map_rel,
                ],
            )
            rid = int(cur.lastrowid)
        return self.get(rid)

    def _file(self, path: Path, what: str) -> str:
        rel = self.db.relative(path)
        if not rel.startswith("restorations/"):
            raise Gen2ResError(
                f"Restorations are stored under {self.db.restorations_dir}, not at {path}."
            )
        if not Path(path).is_file():
            raise Gen2ResError(f"{path}: the {what} was not written.")
        return rel

    def get(self, restoration_id: int) -> Restoration:
        row = self.db.row(_RESTORATION_SQL + " WHERE r.id = ?", [restoration_id])
        if row is None:
            raise Gen2ResError(f"No restoration with id {restoration_id}.")
        return self._restoration(row)

    def find(self, photo_id: int | None = None) -> list[Restoration]:
        """Newest first."""
        if photo_id is None:
            rows = self.db.rows(_RESTORATION_SQL + " ORDER BY r.id DESC")
        else:
            rows = self.db.rows(
                _RESTORATION_SQL + " WHERE r.photo = ? ORDER BY r.id DESC", [photo_id]
            )
        return [self._restoration(r) for r in rows]

    def set_kept(self, restoration_id: int, kept: bool | None) -> None:
        with self.db.write() as c:
            cur = c.execute(
                "UPDATE restorations SET kept = ? WHERE id = ?",
                [None if kept is None else int(kept), restoration_id],
            )
            if cur.rowcount == 0:
                raise Gen2ResError(f"No restoration with id {restoration_id}.")

    def update_settings(self, restoration_id: int, change: Callable[[dict], dict]) -> Restoration:
        """Replace a restoration's settings by ``change(settings)``, read and written in one
        write transaction (so two changes never lose one another)."""
        with self.db.write() as c:
            row = c.execute(
                "SELECT settings FROM restorations WHERE id = ?", [restoration_id]
            ).fetchone()
            if row is None:
                raise Gen2ResError(f"No restoration with id {restoration_id}.")
            settings = from_json(row[0], {}, dict, f"restoration {restoration_id} settings")
            c.execute(
                "UPDATE restorations SET settings = ? WHERE id = ?",
                [to_json(change(dict(settings))), restoration_id],
            )
        return self.get(restoration_id)

    def delete(self, restoration_id: int) -> None:
        restoration = self.get(restoration_id)
        with self.db.write() as c:
            c.execute("DELETE FROM restorations WHERE id = ?", [restoration_id])
        for path in (restoration.path, restoration.damage_map):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def files_of(self, photo_id: int) -> list[Path]:
        """Every file the photo's restorations recorded (images and damage maps)."""
        restored = self.find(photo_id)
        return [r.path for r in restored] + [r.damage_map for r in restored if r.damage_map]

    def remove_files(self, photo_id: int, files: Sequence[Path]) -> None:
        """The files of a deleted photo's restorations, and its folder with whatever else
        is left there."""
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        shutil.rmtree(self.db.restorations_dir / str(photo_id), ignore_errors=True)
