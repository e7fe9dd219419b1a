"""The ``photos`` table and its files: the originals (``photos/ab/<sha256>.<ext>``, byte
for byte, named by content), their cached previews (``thumbnails/``) and the damage maps
the user painted (``masks/<sha256>.png``).

An import adds its rows through :meth:`Photos.insert`, in the importer's own transaction
(which also tags the photo and clears the job's pending file: ``library/importer.py``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from gen2res_desktop.core.atomic import atomic_path
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import load_rgb, open_image
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.models import Photo
from gen2res_desktop.library.values import db_text, from_json, now

THUMBNAIL_SIDE = 256


def read_damage_map(path: Path) -> np.ndarray:
    """A damage map image (any mode) as uint8 0/255; Gen2ResError if it cannot be read."""
    img = open_image(path)
    gray = np.asarray(img.convert("L"))
    return np.where(gray > 127, 255, 0).astype(np.uint8)


def write_damage_map(mask: np.ndarray, target: Path) -> Path:
    """Save ``mask`` (nonzero = damaged) as a black-and-white PNG, atomically."""
    img = Image.fromarray(np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8), "L")
    with atomic_path(target) as tmp:
        img.convert("1").save(tmp, format="PNG")
    return target


def write_damage_levels(levels: np.ndarray, target: Path) -> Path:
    """Save a repair's map with how far each mark was filled (uint8: 0 unmarked, 255
    filled whole, lower part way) as a grey PNG, atomically."""
    img = Image.fromarray(np.asarray(levels, dtype=np.uint8), "L")
    with atomic_path(target) as tmp:
        img.save(tmp, format="PNG")
    return target


def read_damage_levels(path: Path) -> np.ndarray:
    """A repair's map as :func:`write_damage_levels` saved it (uint8; a black-and-white map
    from before reads as 0 / 255, all filled whole); Gen2ResError if it cannot be read."""
    return np.asarray(open_image(path).convert("L"), dtype=np.uint8)


def thumbnail_file(thumbnails_dir: Path, digest: str) -> Path:
    """Where the preview of the photo with content hash ``digest`` is cached."""
    return thumbnails_dir / digest[:2] / f"{digest}.jpg"


class Photos:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _photo(r: sqlite3.Row) -> Photo:
        return Photo(
            id=r["id"],
            hash=r["hash"],
            file=r["file"],
            original_name=r["original_name"],
            original_path=r["original_path"],
            imported=r["imported"],
            size=r["size"],
            format=r["format"],
            width=r["width"],
            height=r["height"],
            mode=r["mode"],
            taken=r["taken"],
            exif=from_json(r["exif"], {}, dict, f"photo {r['id']} exif"),
            faces_searched=r["faces_searched"],
        )

    def get(self, photo_id: int) -> Photo:
        row = self.db.row("SELECT * FROM photos WHERE id = ?", [photo_id])
        if row is None:
            raise Gen2ResError(f"No photo with id {photo_id}.")
        return self._photo(row)

    def find(
        self, subject_id: int | None = None, role: str | None = None, unsorted: bool = False
    ) -> list[Photo]:
        """Photos in import order, tagged to ``subject_id`` and/or as ``role``;
        ``unsorted``: only those not tagged to any subject."""
        where: list[str] = []
        params: list[object] = []
        if subject_id is not None:
            where.append(
                "EXISTS (SELECT 1 FROM photo_links l WHERE l.photo = p.id AND l.subject = ?"
                + (" AND l.role = ?)" if role else ")")
            )
            params += [subject_id] + ([role] if role else [])
        elif role is not None:
            where.append("EXISTS (SELECT 1 FROM photo_links l WHERE l.photo = p.id AND l.role = ?)")
            params.append(role)
        if unsorted:
            where.append("NOT EXISTS (SELECT 1 FROM photo_links l WHERE l.photo = p.id)")
        sql = (
            "SELECT * FROM photos p"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY p.id"
        )
        return [self._photo(r) for r in self.db.rows(sql, params)]

    def check_ids(self, photo_ids: Sequence[int]) -> list[int]:
        """``photo_ids`` sorted, once each; Gen2ResError naming those not in the library."""
        ids = sorted({int(i) for i in photo_ids})
        if not ids:
            raise Gen2ResError("No photos given.")
        found = {
            r["id"]
            for r in self.db.rows(
                f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids
            )
        }
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise Gen2ResError(f"No photo with id {', '.join(missing)}.")
        return ids

    def id_by_hash(self, digest: str) -> int | None:
        row = self.db.row("SELECT id FROM photos WHERE hash = ?", [digest])
        return None if row is None else int(row["id"])

    def holds_file(self, relative: str) -> bool:
        return self.db.row("SELECT 1 FROM photos WHERE file = ?", [relative]) is not None

    @staticmethod
    def insert(
        c: sqlite3.Connection,
        *,
        digest: str,
        file: str,
        original_name: str,
        original_path: str | bytes,
        size: int,
        format: str,
        width: int,
        height: int,
        mode: str,
        taken: str | None,
        exif: dict,
    ) -> int:
        """Add an imported photo's row in the transaction ``c``; its new id."""
        cur = c.execute(
            "INSERT INTO photos (hash, file, original_name, original_path, imported, size, format, "
            "width, height, mode, taken, exif) "
            "VALUES (?, ?, ?, CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                digest,
                file,
                original_name,
                original_path,
                now(),
                size,
                format,
                width,
                height,
                mode,
                taken,
                db_text(json.dumps(exif, ensure_ascii=False, sort_keys=True)),
            ],
        )
        return int(cur.lastrowid)

    def delete(self, photo: Photo) -> None:
        """The photo's row (its faces, tags and restorations' rows go with it) and then its
        files: a crash in between leaves orphans, never rows without their files."""
        with self.db.write() as c:
            c.execute("DELETE FROM photos WHERE id = ?", [photo.id])
        for path in (self.path(photo), self._thumbnail(photo), self._damage_map_file(photo)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # ------------------------------------------------------------------ the square of a pet

    def crop(self, photo_id: int) -> tuple[int, int, int] | None:
        """The square (x, y, size) the user drew around a pet in this photo, if any."""
        self.get(photo_id)
        row = self.db.row("SELECT crop FROM photos WHERE id = ?", [photo_id])
        if row is None or not row["crop"]:
            return None
        x, y, size = (int(v) for v in row["crop"].split(","))
        return x, y, size

    def set_crop(self, photo_id: int, crop: tuple[int, int, int] | None) -> None:
        photo = self.get(photo_id)
        value = None
        if crop is not None:
            x, y, size = (int(v) for v in crop)
            if size <= 0 or x < 0 or y < 0 or x + size > photo.width or y + size > photo.height:
                raise Gen2ResError(
                    f"The square ({x}, {y}, {size}) does not fit in the photo "
                    f"({photo.width} x {photo.height})."
                )
            value = f"{x},{y},{size}"
        with self.db.write() as c:
            c.execute("UPDATE photos SET crop = ? WHERE id = ?", [value, photo_id])

    # ------------------------------------------------------------------ damage maps

    def _damage_map_file(self, photo: Photo) -> Path:
        return self.db.masks_dir / f"{photo.hash}.png"

    def damage_map(self, photo_id: int) -> np.ndarray | None:
        """The damage map the user painted for this photo (uint8, 255 = damaged), if any.

        A map whose file has gone missing counts as none (``library check`` reports it).
        """
        self.get(photo_id)
        row = self.db.row("SELECT damage_map FROM photos WHERE id = ?", [photo_id])
        if row is None or not row["damage_map"]:
            return None
        path = self.db.resolve(row["damage_map"])
        if not path.is_file():
            return None
        return read_damage_map(path)

    def set_damage_map(self, photo_id: int, mask: np.ndarray | None) -> None:
        """Keep ``mask`` (photo-sized, nonzero = damaged) as this photo's damage map, used by
        every later restore instead of the detector; None goes back to detecting."""
        photo = self.get(photo_id)
        target = self._damage_map_file(photo)
        if mask is None:
            with self.db.write() as c:
                c.execute("UPDATE photos SET damage_map = NULL WHERE id = ?", [photo_id])
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return
        mask = np.asarray(mask)
        if mask.ndim != 2 or mask.shape != (photo.height, photo.width):
            got = " x ".join(str(v) for v in mask.shape[1::-1]) if mask.ndim >= 2 else "not 2-D"
            raise Gen2ResError(
                f"The damage map is {got} pixels but {photo.original_name} is "
                f"{photo.width} x {photo.height}; it must be painted on this photo."
            )
        write_damage_map(mask, target)
        with self.db.write() as c:
            c.execute(
                "UPDATE photos SET damage_map = ? WHERE id = ?",
                [self.db.relative(target), photo_id],
            )

    # ------------------------------------------------------------------ pixels

    def path(self, photo: Photo | int) -> Path:
        """The stored original (never write to it)."""
        if not isinstance(photo, Photo):
            photo = self.get(photo)
        return self.db.resolve(photo.file)

    def load_rgb(self, photo: Photo | int) -> Image.Image:
        """The photo's pixels, EXIF orientation applied, as 8-bit RGB."""
        if not isinstance(photo, Photo):
            photo = self.get(photo)
        path = self.path(photo)
        if not path.is_file():
            raise Gen2ResError(
                f"The library's copy of {photo.original_name} (photo {photo.id}) is missing.",
                app="Delete it from the library and import the photo again.",
                cli="Run 'gen2res library check'.",
            )
        return load_rgb(path)

    def _thumbnail(self, photo: Photo) -> Path:
        return thumbnail_file(self.db.thumbnails_dir, photo.hash)

    def thumbnail(self, photo_id: int) -> Path:
        """A JPEG preview (longest side 256), made on first use and cached."""
        photo = self.get(photo_id)
        target = self._thumbnail(photo)
        if target.is_file():
            return target
        img = self.load_rgb(photo)
        img.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
        try:
            with atomic_path(target) as tmp:
                img.save(tmp, "JPEG", quality=85)
        except OSError as e:
            raise Gen2ResError(
                f"Cannot write the thumbnail into {self.db.thumbnails_dir} ({e.strerror or e})."
            ) from e
        return target
