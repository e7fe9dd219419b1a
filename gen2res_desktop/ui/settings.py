"""Preferences kept in QSettings (library location, device, restore defaults), and the pet
crop boxes, which live in the library.

Tests point QSettings at a temporary folder (``QSettings.setPath`` + INI format) before
creating any window, so nothing here touches the user's real settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from gen2res_desktop.core import defaults
from gen2res_desktop.core.paths import ENV_HOME, library_home

if TYPE_CHECKING:
    from gen2res_desktop.library.store import Library

ORGANIZATION = "Gen2Res"
APPLICATION = "Gen2Res Desktop"


def qsettings() -> QSettings:
    # INI on every platform, so QSettings.setPath (tests, portable installs) covers it
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _choice(value: object, default: str) -> str:
    from gen2res_desktop.core.defaults import RUNTIME_CHOICES

    return str(value) if value in RUNTIME_CHOICES else default


def _bool(value: object, default: bool) -> bool:
    # INI files hand booleans back as the strings "true"/"false"
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


@dataclass
class AppSettings:
    library_path: str = ""  # empty: GEN2RES_HOME or the platform default
    device: str = "auto"
    cpu_engine: str = "auto"  # core.runtimes: auto, torch, openvino or onnxruntime
    strength: int = 200
    steps: int = 0  # 0: the engine's default for the device
    find_faces: bool = True  # look for faces (and whose they are) after each import
    welcome_done: bool = False
    # time this computer's steps once at start, for the estimates before long jobs (not
    # saved: tests and scripted runs turn it off)
    measure_speed: bool = True

    @classmethod
    def load(cls) -> AppSettings:
        s = qsettings()
        d = cls()
        return cls(
            library_path=str(s.value("library/path", d.library_path) or ""),
            device=str(s.value("engine/device", d.device) or "auto"),
            cpu_engine=_choice(s.value("engine/cpu"), d.cpu_engine),
            strength=_int(s.value("restore/strength", d.strength), d.strength),
            steps=_int(s.value("restore/steps", d.steps), d.steps),
            find_faces=_bool(s.value("faces/findAfterImport"), d.find_faces),
            welcome_done=_bool(s.value("app/welcomeDone"), d.welcome_done),
        )

    def save(self) -> None:
        s = qsettings()
        s.setValue("library/path", self.library_path)
        s.setValue("engine/device", self.device)
        s.setValue("engine/cpu", self.cpu_engine)
        s.setValue("restore/strength", self.strength)
        s.setValue("restore/steps", self.steps)
        s.setValue("faces/findAfterImport", self.find_faces)
        s.setValue("app/welcomeDone", self.welcome_done)
        s.sync()

    def library_home(self) -> Path:
        """GEN2RES_HOME wins (scripts and tests set it), then this setting, then the default."""
        if os.environ.get(ENV_HOME) or not self.library_path:
            return library_home()
        return Path(self.library_path).expanduser()

    def device_name(self) -> str | None:
        return None if self.device == "auto" else self.device

    def restore_steps(self) -> int | None:
        return self.steps or defaults.RESTORE_STEPS


def last_folder(kind: str) -> str:
    """The folder the ``kind`` file dialog ("import", "export", "models"...) opened last,
    so a family importing a shoebox folder by folder is not sent back home each time."""
    saved = str(qsettings().value(f"folders/{kind}", "") or "")
    return saved if saved and Path(saved).is_dir() else str(Path.home())


def remember_folder(kind: str, chosen: Path | str) -> None:
    """Keep the folder of ``chosen`` (a file, or a folder itself) for the next ``kind`` dialog."""
    path = Path(chosen)
    folder = path if path.is_dir() else path.parent
    s = qsettings()
    s.setValue(f"folders/{kind}", str(folder))
    s.sync()


CONFIRM_ROLE_KEY = "tagging/confirmedFaceRole"


def confirmed_face_role() -> str | None:
    """The role a confirmed face's photo gets, as the user answered once ("reference" or
    "restore"); None until asked."""
    value = qsettings().value(CONFIRM_ROLE_KEY)
    return value if value in ("reference", "restore") else None


def set_confirmed_face_role(role: str | None) -> None:
    s = qsettings()
    if role is None:
        s.remove(CONFIRM_ROLE_KEY)
    else:
        s.setValue(CONFIRM_ROLE_KEY, role)
    s.sync()


@dataclass(frozen=True)
class Crop:
    """A square in original-photo pixels."""

    x: int
    y: int
    size: int

    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.size, self.y + self.size)


def load_crop(library: Library, photo_id: int) -> Crop | None:
    """The pet crop box kept in the library for this photo (so the CLI uses it too)."""
    stored = library.photo_crop(photo_id)
    return Crop(*stored) if stored else None


def save_crop(library: Library, photo_id: int, crop: Crop | None) -> None:
    library.set_photo_crop(photo_id, None if crop is None else (crop.x, crop.y, crop.size))
