"""The ``settings`` table: preferences kept with the library (JSON values by key), such as
the restore options last chosen."""

from __future__ import annotations

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.library.database import Database
from gen2res_desktop.library.values import from_json, to_json

_REPAIR_KEY = "restore.repair"


class Settings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str, default: object = None) -> object:
        """A preference kept with this library (JSON value), or ``default``."""
        row = self.db.row("SELECT value FROM settings WHERE key = ?", [key])
        if row is None:
            return default
        # a damaged value is as good as none; the next save replaces it
        return from_json(row["value"], default, object, f"setting {key}")

    def set(self, key: str, value: object) -> None:
        with self.db.write() as c:
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, to_json(value)],
            )

    def repair(self) -> RepairSettings:
        """The restore options last chosen in this library (the defaults at first)."""
        try:
            return RepairSettings.from_json(self.get(_REPAIR_KEY))
        except Gen2ResError:
            return RepairSettings()

    def set_repair(self, settings: RepairSettings) -> None:
        self.set(_REPAIR_KEY, settings.to_json())
