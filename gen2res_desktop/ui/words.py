"""The words the window uses for things the code calls otherwise.

A subject's trained LoRA adapter is "Eileen's face model" wherever the user reads about it
(a family does not know what an adapter is); library timestamps are shown as local,
readable dates; a restore's seed is its "variation".
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDate, QLocale, QTime

# the library's Subject.adapter_state, as the sidebar and tooltips say it
STATE_WORDS = {
    "none": "not trained yet",
    "training": "training…",
    "ready": "ready to restore",
    "outdated": "new photos: train again",
}


def possessive(name: str) -> str:
    """ "Eileen's", "James's"."""
    return f"{name}'s"


def face_model(subject: str | None) -> str:
    """ "Eileen's face model" (a pet's too: "Rex's face model")."""
    return f"{possessive(subject)} face model" if subject else "the face model"


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, state)


def variation(seed: int) -> str:
    """Restores of one photo get seeds 0, 1, 2… ("More variations" adds the next ones)."""
    return f"variation {seed + 1}"


def readable_date(text: str | None, *, time: bool = True) -> str:
    """ "1968-07-04T12:00:00" -> "4 July 1968, 12:00" in the user's language; a library
    timestamp ending in Z (UTC) is shown in local time. Text that is not an ISO date (an
    odd camera's) is shown as it is."""
    if not text:
        return ""
    raw = text.strip()
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw
    if when.tzinfo is not None:
        when = when.astimezone()  # local time, as the user's clock shows it
    locale = QLocale()
    words = locale.toString(QDate(when.year, when.month, when.day), "d MMMM yyyy")
    if time and (when.hour, when.minute, when.second) != (0, 0, 0) and "T" in raw:
        clock = locale.toString(QTime(when.hour, when.minute), QLocale.ShortFormat)
        words += f", {clock}"
    return words
