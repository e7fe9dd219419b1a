"""Picasa's people: ``.picasa.ini`` beside the photos and the names in ``contacts.xml``.

Picasa (2002-2016) kept faces out of the photos, in a ``.picasa.ini`` (``Picasa.ini``
in its early versions) in each folder::

    [Contacts2]
    d10a8325c557b085=Grandma Rose;;
    [IMG_0001.jpg]
    faces=rect64(3f845bcb59418507),d10a8325c557b085;rect64(9eb15e89b6b58),ffffffffffffffff

``rect64`` holds 16 hex digits (leading zeros may be dropped): four 16-bit numbers, the
left, top, right and bottom edges as fractions of 65535, read in the photo's stored
frame like MWG regions. The contact id ``ffffffffffffffff`` is a face nobody named. Names
live in the ini's ``[Contacts2]`` section (``id=name;email;``) or in ``contacts.xml``:
the user's Picasa folder (``contacts/contacts.xml``) or one copied beside or above the
photos, as families do when they move a collection.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gen2res_desktop.core.metadata.regions import NamedRegion, clean_name, normalised_to_upright
from gen2res_desktop.core.metadata.safe_xml import UnsafeXML, parse_xml

log = logging.getLogger(__name__)

INI_NAMES = (".picasa.ini", "Picasa.ini", "picasa.ini")
NOBODY = "ffffffffffffffff"
# An ini for a folder of thousands of photos is a few hundred kB.
MAX_INI_BYTES = 8 * 1024 * 1024
MAX_CONTACTS_BYTES = 4 * 1024 * 1024
# How many folders above a photo are searched for a copied contacts.xml.
CONTACTS_LEVELS = 4
_RECT64 = re.compile(r"rect64\(\s*([0-9a-fA-F]{1,16})\s*\)\s*,\s*([0-9a-fA-F]+)")


def user_contacts_files() -> list[Path]:
    """Where Picasa kept the user's contacts on Windows, macOS and under Wine."""
    home = Path.home()
    local = os.environ.get("LOCALAPPDATA")
    places = [
        Path(local) / "Google" / "Picasa2" if local else None,
        home / "AppData" / "Local" / "Google" / "Picasa2",
        home / "Local Settings" / "Application Data" / "Google" / "Picasa2",
        home / "Library" / "Application Support" / "Google" / "Picasa3",
        home
        / ".picasa"
        / "drive_c"
        / "users"
        / home.name
        / "Local Settings"
        / "Application Data"
        / "Google"
        / "Picasa2",
    ]
    return [p / "contacts" / "contacts.xml" for p in places if p is not None]


def parse_rect64(text: str) -> tuple[float, float, float, float]:
    """'3f845bcb59418507' -> (left, top, right, bottom) as fractions of the photo."""
    digits = text.strip().zfill(16)
    if len(digits) != 16:
        raise ValueError(f"rect64 has 16 hex digits, not {len(text)}")
    return tuple(int(digits[i : i + 4], 16) / 65535.0 for i in range(0, 16, 4))  # type: ignore[return-value]


def _read_limited(path: Path, limit: int) -> bytes | None:
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
        if size > limit:
            log.warning("%s: %d bytes, too large to be Picasa's; skipped", path, size)
            return None
        with open(path, "rb") as f:
            return f.read(limit + 1)[:limit]
    except OSError as e:
        log.warning("%s: cannot be read (%s); skipped", path, e)
        return None


def _decode(data: bytes) -> str:
    # Picasa wrote UTF-8; some copies went through Windows tools as ANSI
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


@dataclass
class IniFile:
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    contacts: dict[str, str] | None = None  # [Contacts2], read when first needed

    def section(self, name: str) -> dict[str, str] | None:
        if name in self.sections:
            return self.sections[name]
        folded = name.casefold()  # Windows file names ignore case
        for key, values in self.sections.items():
            if key.casefold() == folded:
                return values
        return None


def parse_ini(text: str) -> IniFile:
    """Sections of a Picasa ini; hand-parsed, as configparser refuses repeated keys and
    treats % and : specially, both of which real files contain."""
    ini = IniFile()
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = ini.sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            # keys are "faces", "backuphash"… and hex contact ids: case does not matter
            current[key.strip().lower()] = value.strip()
    return ini


def contacts_from_xml(data: bytes) -> dict[str, str]:
    """contacts.xml: ``<contact id="…" name="…" display="…"/>`` -> id to name."""
    root = parse_xml(data, max_bytes=MAX_CONTACTS_BYTES)
    out: dict[str, str] = {}
    for contact in root.iter("contact"):
        cid = (contact.get("id") or "").strip().lower()
        name = clean_name(contact.get("name") or contact.get("display"))
        if cid and name:
            out[cid] = name
    return out


def contacts_from_ini(ini: IniFile) -> dict[str, str]:
    out: dict[str, str] = {}
    for section in ("Contacts2", "Contacts"):
        for cid, value in (ini.section(section) or {}).items():
            name = clean_name(value.split(";", 1)[0])
            if name:
                out.setdefault(cid.strip().lower(), name)
    return out


class PicasaLookup:
    """Reads each folder's ini and each contacts.xml once for a whole import.

    ``contacts_files``: the user's Picasa contacts to try after the ones found beside the
    photos; None means :func:`user_contacts_files`, [] none (tests).
    """

    def __init__(self, contacts_files: list[Path] | None = None) -> None:
        self._user = user_contacts_files() if contacts_files is None else list(contacts_files)
        self._inis: dict[Path, IniFile | None] = {}
        self._contacts: dict[Path, dict[str, str]] = {}
        self.notes: list[str] = []

    def _ini(self, folder: Path) -> IniFile | None:
        if folder not in self._inis:
            ini = None
            for name in INI_NAMES:
                data = _read_limited(folder / name, MAX_INI_BYTES)
                if data is not None:
                    ini = parse_ini(_decode(data))
                    break
            self._inis[folder] = ini
        return self._inis[folder]

    def _contacts_file(self, path: Path) -> dict[str, str]:
        if path not in self._contacts:
            names: dict[str, str] = {}
            data = _read_limited(path, MAX_CONTACTS_BYTES)
            if data is not None:
                try:
                    names = contacts_from_xml(data)
                except UnsafeXML as e:
                    note = f"{path}: {e}; its names were not read"
                    log.warning(note)
                    self.notes.append(note)
            self._contacts[path] = names
        return self._contacts[path]

    def _name(self, cid: str, folder: Path, ini: IniFile) -> str | None:
        if ini.contacts is None:
            ini.contacts = contacts_from_ini(ini)
        name = ini.contacts.get(cid)
        if name:
            return name
        place = folder
        for _ in range(CONTACTS_LEVELS + 1):
            for candidate in (place / "contacts.xml", place / "contacts" / "contacts.xml"):
                name = self._contacts_file(candidate).get(cid)
                if name:
                    return name
            if place.parent == place:
                break
            place = place.parent
        for candidate in self._user:
            name = self._contacts_file(candidate).get(cid)
            if name:
                return name
        return None

    def regions(
        self, photo: Path, upright: tuple[int, int], orientation: int = 1
    ) -> list[NamedRegion]:
        """The named faces Picasa recorded for ``photo`` (the original's path)."""
        folder = photo.parent
        ini = self._ini(folder)
        section = ini.section(photo.name) if ini is not None else None
        if not section:
            return []
        found: list[NamedRegion] = []
        unnamed = 0
        for m in _RECT64.finditer(section.get("faces", "")):
            cid = m.group(2).lower()
            if cid == NOBODY:
                continue
            name = self._name(cid, folder, ini)
            if name is None:
                unnamed += 1
                continue
            box = normalised_to_upright(parse_rect64(m.group(1)), upright, orientation)
            found.append(NamedRegion(name, box, "picasa", "face", "Picasa"))
        if unnamed:
            note = (
                f"{photo.name}: Picasa names {unnamed} face(s) whose contact is in no "
                "contacts.xml found; copy Picasa's contacts.xml beside the photos to read them"
            )
            log.info(note)
            self.notes.append(note)
        return found
