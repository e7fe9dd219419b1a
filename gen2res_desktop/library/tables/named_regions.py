"""The ``named_regions`` table: the names other photo managers gave the people in a photo
(XMP regions, people keywords, Picasa's ini), read on import. One row per named face (its
box in pixels of the upright photo) or per people keyword (no box); ``applied`` once the
name was given to a face (see ``library/named_faces.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from gen2res_desktop.core.metadata import NamedRegion
from gen2res_desktop.core.metadata.regions import SHORT_LABELS, same_face
from gen2res_desktop.library.database import Database


@dataclass(frozen=True)
class StoredName:
    id: int
    photo_id: int
    name: str
    source: str
    app: str
    kind: str
    box: tuple[int, int, int, int] | None
    applied: bool

    @property
    def where(self) -> str:
        """'digiKam', 'Picasa', 'keywords': what the app shows after the name."""
        return self.app or SHORT_LABELS.get(self.source, self.source)


def stored_name(r: sqlite3.Row) -> StoredName:
    box = None if r["x"] is None else (r["x"], r["y"], r["w"], r["h"])
    return StoredName(
        r["id"], r["photo"], r["name"], r["source"], r["app"], r["kind"], box, bool(r["applied"])
    )


class NamedRegions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def of_photo(self, photo_id: int) -> list[StoredName]:
        """The names the photo's files gave, as stored on import."""
        rows = self.db.rows("SELECT * FROM named_regions WHERE photo = ? ORDER BY id", [photo_id])
        return [stored_name(r) for r in rows]

    def every(self) -> list[StoredName]:
        return [stored_name(r) for r in self.db.rows("SELECT * FROM named_regions ORDER BY id")]

    def called(self, name: str) -> list[StoredName]:
        """Every row naming ``name`` (whatever its case)."""
        rows = self.db.rows(
            "SELECT * FROM named_regions WHERE name = ? COLLATE NOCASE ORDER BY id", [name]
        )
        return [stored_name(r) for r in rows]

    def photos_to_name(self, name: str) -> list[int]:
        """The photos where ``name`` was not given to a face yet."""
        rows = self.db.rows(
            "SELECT DISTINCT photo FROM named_regions WHERE name = ? COLLATE NOCASE AND "
            "applied = 0 ORDER BY photo",
            [name],
        )
        return [r["photo"] for r in rows]

    def add(self, photo_id: int, regions: Sequence[NamedRegion]) -> int:
        """Keep the names read for a photo; a name already kept (same person, same place, as
        when a photo is imported again) is not added twice. Returns how many were added."""
        known = self.of_photo(photo_id)
        rows = []
        for r in regions:
            key = r.name.casefold()
            if any(
                k.name.casefold() == key
                and (k.box == r.box or (k.box and r.box and same_face(k.box, r.box)))
                for k in known
            ):
                continue
            x, y, w, h = r.box if r.box is not None else (None, None, None, None)
            rows.append([photo_id, r.name, r.source, r.app, r.kind, x, y, w, h])
            known.append(StoredName(0, photo_id, r.name, r.source, r.app, r.kind, r.box, False))
        if rows:
            with self.db.write() as c:
                c.executemany(
                    "INSERT INTO named_regions (photo, name, source, app, kind, x, y, w, h) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        return len(rows)

    def mark_applied(self, row_ids: Sequence[int]) -> None:
        """These names were given to their faces: never again (see the module's notes)."""
        if not row_ids:
            return
        with self.db.write() as c:
            c.executemany(
                "UPDATE named_regions SET applied = 1 WHERE id = ?", [(i,) for i in row_ids]
            )
