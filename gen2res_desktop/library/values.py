"""How values are kept in the library database's columns: times, text and JSON."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


def now() -> str:
    """The current time as every table stores it (UTC, to the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def db_text(text: str | None) -> str | None:
    """``text`` as SQLite can store it: a file name's undecodable bytes (surrogate escapes)
    become readable \\xNN instead of stopping the write with a UnicodeEncodeError."""
    if text is None:
        return None
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def to_json(value: object) -> str:
    """A JSON column's text; sorted keys, so equal values store equal text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def from_json(text: str | None, default: Any, kind: type, where: str) -> Any:
    """A JSON column's value, or ``default`` when it is damaged or of the wrong type: one bad
    byte must not stop a listing or the app's start (``library check`` reports it)."""
    if text is None:
        return default
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        log.warning("%s: damaged JSON in the library database, ignored", where)
        return default
    if not isinstance(value, kind):
        log.warning("%s: unexpected value in the library database, ignored", where)
        return default
    return value
