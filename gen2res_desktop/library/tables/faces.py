"""The ``faces`` table: the faces found on each photo (box, landmarks, descriptor), whose
the detector suggests each one is, and whose the user said it is."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.metadata.regions import iou
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.models import DESCRIPTOR_SIZE, Face, FaceData
from gen2res_desktop.library.values import from_json, now, to_json

log = logging.getLogger(__name__)

# A face keeps its confirmed subject across re-detection when the boxes overlap this much.
_SAME_FACE_IOU = 0.5
# the subjects joined for their names only
_FACE_SQL = (
    "SELECT f.*, ss.name AS suggested_name, cs.name AS confirmed_name FROM faces f "
    "LEFT JOIN subjects ss ON ss.id = f.suggested_subject "
    "LEFT JOIN subjects cs ON cs.id = f.confirmed_subject"
)


def _landmarks(r: sqlite3.Row) -> list[tuple[float, float]]:
    points = from_json(r["landmarks"], [], list, f"face {r['id']} landmarks")
    try:
        return [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        log.warning("face %s landmarks: unexpected value in the library database", r["id"])
        return []


def _face(r: sqlite3.Row) -> Face:
    blob = r["descriptor"]
    return Face(
        id=r["id"],
        photo_id=r["photo"],
        box=(r["x"], r["y"], r["w"], r["h"]),
        landmarks=_landmarks(r),
        descriptor=None if blob is None else np.frombuffer(blob, dtype="<f4").copy(),
        suggested_subject=r["suggested_name"],
        suggested_distance=r["suggested_distance"],
        confirmed_subject=r["confirmed_name"],
        found_by=r["found_by"],
    )


class Faces:
    def __init__(self, db: Database) -> None:
        self.db = db

    def replace(self, photo_id: int, faces: Sequence[FaceData]) -> list[Face]:
        """Store a fresh detection for a photo (no face at all included: the photo is then
        known to show none); a face the user had confirmed keeps its subject."""
        old = self.db.rows(
            "SELECT x, y, w, h, confirmed_subject FROM faces WHERE photo = ?", [photo_id]
        )
        confirmed = [
            ((r["x"], r["y"], r["w"], r["h"]), r["confirmed_subject"])
            for r in old
            if r["confirmed_subject"]
        ]
        rows = []
        for face in faces:
            box = tuple(int(v) for v in face.box)
            if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
                raise ValueError(f"a face box is x, y, w, h with a positive size, not {face.box!r}")
            descriptor = None
            if face.descriptor is not None:
                d = np.asarray(face.descriptor, dtype=np.float32).reshape(-1)
                if d.size != DESCRIPTOR_SIZE:
                    raise ValueError(
                        f"a face descriptor has {DESCRIPTOR_SIZE} values, not {d.size}"
                    )
                descriptor = d.astype("<f4").tobytes()
            keep = max(confirmed, key=lambda c, b=box: iou(b, c[0]), default=None)
            subject = keep[1] if keep is not None and iou(box, keep[0]) >= _SAME_FACE_IOU else None
            landmarks = to_json([[float(x), float(y)] for x, y in face.landmarks])
            rows.append([photo_id, *box, landmarks, descriptor, subject, face.found_by])
        with self.db.write() as c:
            c.execute("DELETE FROM faces WHERE photo = ?", [photo_id])
            c.executemany(
                "INSERT INTO faces (photo, x, y, w, h, landmarks, descriptor, confirmed_subject, "
                "found_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            # in the same transaction: the faces stored are those of the search made now
            c.execute("UPDATE photos SET faces_searched = ? WHERE id = ?", [now(), photo_id])
        return self.find(photo_id=photo_id)

    def find(self, photo_id: int | None = None, subject_id: int | None = None) -> list[Face]:
        """Faces of one photo and/or faces confirmed as the subject ``subject_id``."""
        where: list[str] = []
        params: list[object] = []
        if photo_id is not None:
            where.append("f.photo = ?")
            params.append(photo_id)
        if subject_id is not None:
            where.append("f.confirmed_subject = ?")
            params.append(subject_id)
        sql = _FACE_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY f.id"
        return [_face(r) for r in self.db.rows(sql, params)]

    def get(self, face_id: int) -> Face:
        row = self.db.row(_FACE_SQL + " WHERE f.id = ?", [face_id])
        if row is None:
            raise Gen2ResError(f"No face with id {face_id}.")
        return _face(row)

    def _update(self, face_id: int, sql: str, params: list[object]) -> None:
        with self.db.write() as c:
            if c.execute(sql, [*params, face_id]).rowcount == 0:
                raise Gen2ResError(f"No face with id {face_id}.")

    def suggest(self, face_id: int, subject_id: int | None, distance: float | None) -> None:
        self._update(
            face_id,
            "UPDATE faces SET suggested_subject = ?, suggested_distance = ? WHERE id = ?",
            [subject_id, None if subject_id is None else distance],
        )

    def confirm(self, face_id: int, subject_id: int | None) -> None:
        """Say whose face it is (None: not known / undo)."""
        self._update(face_id, "UPDATE faces SET confirmed_subject = ? WHERE id = ?", [subject_id])
