"""Shared output helpers for commands: JSON printing and a terminal progress bar."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TextIO

from gen2res_desktop.core.atomic import atomic_path, refuse_existing
from gen2res_desktop.core.progress import Progress


def _default(o: Any) -> Any:
    if is_dataclass(o):
        return asdict(o)
    return str(o)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_default, ensure_ascii=False))


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
