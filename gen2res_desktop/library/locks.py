"""Telling a live job from one whose process died, without trusting process ids.

Every Library instance that runs jobs holds an exclusive OS lock on its own file in
``locks/``. The kernel drops that lock when the process ends, however it ends (SIGKILL,
power cut, reboot), so a job whose owner's lock can be taken belongs to a dead process.
Process ids would be reused after a reboot; locks are not.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import BinaryIO

if os.name == "nt":
    import msvcrt

    def _lock(f: BinaryIO) -> bool:
        f.seek(0)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(f: BinaryIO) -> None:
        f.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    # flock, not lockf: flock belongs to the open file, so a second Library in the same
    # process also sees the first one's lock as held.
    def _lock(f: BinaryIO) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(f: BinaryIO) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


_OWNER_RE = re.compile(r"^[0-9a-f]{32}$")


class OwnerLock:
    """The lock a Library holds while it may have running jobs."""

    def __init__(self, folder: Path, owner: str) -> None:
        self.path = folder / f"{owner}.lock"
        folder.mkdir(parents=True, exist_ok=True)
        if os.name == "nt":
            # Windows refuses to delete an open file, so nobody can remove this one under us.
            self._file: BinaryIO | None = open(self.path, "a+b")
            locked = _lock(self._file)
        else:
            # Lock under a private name, then rename: a file under the public name is
            # always locked already, so remove_stale() can never take it for a dead one.
            tmp = folder / f".{owner}.new"
            self._file = open(tmp, "a+b")
            locked = _lock(self._file)
            if locked:
                os.replace(tmp, self.path)
        if not locked:
            self._file.close()
            raise RuntimeError(f"{self.path} is already locked")

    def release(self) -> None:
        if self._file is None:
            return
        _unlock(self._file)
        self._file.close()
        self._file = None
        with contextlib.suppress(OSError):
            self.path.unlink()


def owner_alive(folder: Path, owner: str) -> bool:
    """True while the process that holds ``owner``'s lock is still running."""
    if not _OWNER_RE.match(owner):
        return False
    try:
        f = open(folder / f"{owner}.lock", "r+b")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell; never declare a job dead on a guess
    with f:
        if not _lock(f):
            return True
        _unlock(f)
    return False


def remove_stale(folder: Path, keep: str) -> None:
    """Delete lock files left by processes that ended without releasing them."""
    if not folder.is_dir():
        return
    for path in folder.glob("*.lock"):
        owner = path.stem
        if owner != keep and not owner_alive(folder, owner):
            with contextlib.suppress(OSError):
                path.unlink()
