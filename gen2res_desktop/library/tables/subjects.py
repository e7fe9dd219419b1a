"""Subjects (the people and pets of the album: ``subjects``) and the tags that link photos
to them as a reference or a photo to restore (``photo_links``)."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable, Sequence

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.models import DEFAULT_PRIOR, ROLES, SUBJECT_KINDS, PhotoLink, Subject
from gen2res_desktop.library.values import now

MAX_NAME_LENGTH = 100
# Unicode categories a name may not hold: control and format characters (bidi overrides,
# zero-width joiners and spaces that make two names look alike or text run backwards),
# private-use and unpaired surrogates, line and paragraph separators.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def check_name(name: str) -> str:
    """A subject's name as it is kept (trimmed, NFC); Gen2ResError if it cannot be one."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise Gen2ResError("A subject needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise Gen2ResError(f"Subject names are limited to {MAX_NAME_LENGTH} characters.")
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name):
        raise Gen2ResError(
            "Subject names cannot contain control or invisible characters (such as "
            "zero-width spaces or text-direction marks)."
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Gen2ResError(f"Unknown role '{role}'; use reference or restore.")
    return role


class Subjects:
    """The ``subjects`` table. ``adapter_state(subject_id)`` says how the subject's face
    model stands ("none", "training", "ready", "outdated"): the adapters family knows,
    and the album (``library/album.py``) tells it here, for each Subject record."""

    def __init__(self, db: Database, adapter_state: Callable[[int], str]) -> None:
        self.db = db
        self._adapter_state = adapter_state

    def id_of(self, subject: Subject | str) -> int:
        return subject.id if isinstance(subject, Subject) else self.get(subject).id

    def optional_id(self, subject: Subject | str | None) -> int | None:
        return None if subject is None else self.id_of(subject)

    def add(self, name: str, kind: str, prior: str | None = None) -> Subject:
        name = check_name(name)
        if kind not in SUBJECT_KINDS:
            raise Gen2ResError(f"Unknown subject kind '{kind}'; use person, cat or dog.")
        prior = (prior or "").strip() or DEFAULT_PRIOR[kind]
        try:
            with self.db.write() as c:
                c.execute(
                    "INSERT INTO subjects (name, kind, prior, created) VALUES (?, ?, ?, ?)",
                    [name, kind, prior, now()],
                )
        except sqlite3.IntegrityError:
            raise Gen2ResError(f"There is already a subject named '{name}'.") from None
        return self.get(name)

    def get(self, name: str) -> Subject:
        row = self.db.row("SELECT * FROM subjects WHERE name = ?", [(name or "").strip()])
        if row is None:
            known = ", ".join(s.name for s in self.find()) or "none yet"
            raise Gen2ResError(f"No subject named '{name}' (subjects: {known}).")
        return self._subject(row)

    def find(self) -> list[Subject]:
        """Every subject, by name."""
        rows = self.db.rows("SELECT * FROM subjects ORDER BY name COLLATE NOCASE")
        return [self._subject(r) for r in rows]

    def rename(self, old: str, new: str) -> Subject:
        subject = self.get(old)
        new = check_name(new)
        try:
            with self.db.write() as c:
                c.execute("UPDATE subjects SET name = ? WHERE id = ?", [new, subject.id])
        except sqlite3.IntegrityError:
            raise Gen2ResError(f"There is already a subject named '{new}'.") from None
        return self.get(new)

    def delete(self, subject_id: int) -> None:
        """The row; its tags and adapters' rows go with it, faces forget it (foreign keys)."""
        with self.db.write() as c:
            c.execute("DELETE FROM subjects WHERE id = ?", [subject_id])

    def _subject(self, r: sqlite3.Row) -> Subject:
        counts = dict.fromkeys(ROLES, 0)
        for c in self.db.rows(
            "SELECT role, COUNT(*) AS n FROM photo_links WHERE subject = ? GROUP BY role", [r["id"]]
        ):
            counts[c["role"]] = c["n"]
        return Subject(
            id=r["id"],
            name=r["name"],
            kind=r["kind"],
            prior=r["prior"],
            created=r["created"],
            reference_count=counts["reference"],
            restore_count=counts["restore"],
            adapter_state=self._adapter_state(r["id"]),
        )


class Tags:
    """The ``photo_links`` table: which photos show a subject, and in which role."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def tag(self, photo_ids: Sequence[int], subject_id: int, role: str) -> None:
        """Tag photos to a subject (as ``reference`` or ``restore``); retagging changes the role."""
        check_role(role)
        with self.db.write() as c:
            for photo_id in photo_ids:
                self.link(c, photo_id, subject_id, role)

    @staticmethod
    def link(c: sqlite3.Connection, photo_id: int, subject_id: int, role: str) -> None:
        """Tag one photo in the transaction ``c`` (an import tags as it adds the photo)."""
        c.execute(
            "INSERT INTO photo_links (photo, subject, role, added) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (photo, subject) DO UPDATE SET role = excluded.role",
            [photo_id, subject_id, role, now()],
        )

    def untag(self, photo_ids: Sequence[int], subject_id: int) -> None:
        with self.db.write() as c:
            c.executemany(
                "DELETE FROM photo_links WHERE photo = ? AND subject = ?",
                [(i, subject_id) for i in photo_ids],
            )

    def of_photo(self, photo_id: int) -> list[PhotoLink]:
        rows = self.db.rows(
            "SELECT l.photo, l.subject, s.name, l.role FROM photo_links l JOIN subjects s ON s.id = l.subject "
            "WHERE l.photo = ? ORDER BY s.name COLLATE NOCASE",
            [photo_id],
        )
        return [PhotoLink(r["photo"], r["subject"], r["name"], r["role"]) for r in rows]

    def by_photo(self) -> dict[int, list[PhotoLink]]:
        """Every photo's subject links, by photo id (one query, for the grid's badges)."""
        rows = self.db.rows(
            "SELECT l.photo, l.subject, s.name, l.role FROM photo_links l JOIN subjects s "
            "ON s.id = l.subject ORDER BY s.name COLLATE NOCASE"
        )
        links: dict[int, list[PhotoLink]] = {}
        for r in rows:
            links.setdefault(r["photo"], []).append(
                PhotoLink(r["photo"], r["subject"], r["name"], r["role"])
            )
        return links

    def reference_hashes(self, subject_id: int) -> list[str]:
        """Content hashes of the subject's reference photos, in photo id order."""
        rows = self.db.rows(
            "SELECT p.hash FROM photos p JOIN photo_links l ON l.photo = p.id "
            "WHERE l.subject = ? AND l.role = 'reference' ORDER BY p.id",
            [subject_id],
        )
        return [r["hash"] for r in rows]
