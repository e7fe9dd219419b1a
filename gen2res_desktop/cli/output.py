"""Shared output helpers for commands: names printed safely, JSON, a terminal progress bar."""

from __future__ import annotations

import json
import os
import sys
import time
import unicodedata
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TextIO

from gen2res_desktop.core.atomic import atomic_path, refuse_existing
from gen2res_desktop.core.progress import Progress

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that change the direction of the text after them (embeddings, overrides,
# isolates, marks): a name holding one can make a line read backwards.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters, line and paragraph separators, surrogates.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a file name's byte that is not UTF-8 (surrogate escape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def shown(value: object) -> str:
    """``value`` (a name, a path, a message holding one) as one line of plain text: line
    breaks, tabs, other control characters and text-direction marks are written as
    escapes (``\\n``, ``\\x1b``, ``\\u202e``), and a byte that is not UTF-8 as ``\\xNN``,
    so an entry never spans two lines, moves the cursor or reads backwards. Every listing
    of the command line prints names through this."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if text.isprintable():
        return text  # the common case, and no bidi control is printable
    return "".join(
        _ESCAPES.get(ch)
        or (_escape(ch) if ch in _BIDI or unicodedata.category(ch) in _ESCAPED_CATEGORIES else ch)
        for ch in text
    )


def _default(o: Any) -> Any:
    if is_dataclass(o):
        return asdict(o)
    return os.fspath(o) if isinstance(o, os.PathLike) else str(o)


def print_json(data: Any) -> None:
    # A name's undecodable bytes (surrogate escapes) go out as JSON's own \udcNN escapes:
    # valid JSON, and a reader gets back the very bytes (os.fsencode).
    text = json.dumps(data, indent=2, default=_default, ensure_ascii=False)
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"))


class TerminalProgress:
    """Progress callback drawing one updating bar per stage on a TTY; silent otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._stage: str | None = None
        self._start = time.monotonic()
        self._last_draw = 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if p.stage != self._stage:
            if self._stage is not None:
                self.stream.write("\n")
            self._stage, self._start = p.stage, now
        elif now - self._last_draw < 0.1 and p.step < p.total:
            return
        self._last_draw = now
        width = 30
        filled = int(width * p.fraction)
        elapsed = now - self._start
        eta = elapsed / p.step * (p.total - p.step) if p.step else 0.0
        loss = f" loss {p.loss:.4f}" if p.loss is not None else ""
        self.stream.write(
            f"\r{p.stage:<10} [{'#' * filled}{'.' * (width - filled)}] "
            f"{p.step}/{p.total} {elapsed:5.0f}s elapsed, {eta:5.0f}s left{loss} "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._stage is not None:
            self.stream.write("\n")
            self.stream.flush()


def save_image(image, path: Path, *, overwrite: bool = False) -> None:
    """Write ``image`` atomically: JPEG for .jpg/.jpeg (quality 95), PNG otherwise; an
    existing file (or link) is replaced only with ``overwrite``."""
    path = Path(path)
    refuse_existing(path, overwrite=overwrite)
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    with atomic_path(path) as tmp:
        image.save(tmp, format="JPEG" if jpeg else "PNG", **({"quality": 95} if jpeg else {}))
