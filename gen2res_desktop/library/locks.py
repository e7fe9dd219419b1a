"""OS locks in ``locks/``: telling a live job from a dead one, and who has the library open.

Every Library instance that runs jobs holds an exclusive OS lock on its own file in
``locks/``. The kernel drops that lock when the process ends, however it ends (SIGKILL,
power cut, reboot), so a job whose owner's lock can be taken belongs to a dead process.
Process ids would be reused after a reboot; locks are not.

Every open Library also holds a shared lock on ``locks/library.open`` for its whole life
(:class:`OpenLock`); restoring a backup takes it exclusively, so it is refused while any
process (the app, a command, an older window) has the library open, and no process opens
the library while the database is being swapped. That file is never deleted: a process
holding a lock on a deleted file would protect nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import BinaryIO

OPEN_LOCK_NAME = "library.open"  # not "*.lock": remove_stale() is for owner locks only

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

    # msvcrt has no shared locks. Windows itself refuses to rename a database file another
    # process has open, which restore_backup() reports as "the library is open".
    def _lock_shared(f: BinaryIO) -> bool:
        return True

    def _lock_exclusive(f: BinaryIO) -> bool:
        return True

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

    def _lock_shared(f: BinaryIO) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _lock_exclusive(f: BinaryIO) -> bool:
        return _lock(f)


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


class LockBusy(RuntimeError):
    """The lock is held the other way (shared against exclusive) by another holder."""


class OpenLock:
    """The lock on ``locks/library.open``: shared while a Library is open, exclusive while a
    backup is put in place. Use :meth:`shared` or :meth:`exclusive`."""

    def __init__(self, f: BinaryIO) -> None:
        self._file: BinaryIO | None = f

    @classmethod
    def shared(cls, folder: Path, *, create: bool, wait_s: float) -> OpenLock | None:
        """Hold the library open. ``create``: make the folder and file if missing (else None
        when they are missing: a read-only look writes nothing). Waits up to ``wait_s`` for
        a restore in progress; LockBusy after that."""
        path = Path(folder) / OPEN_LOCK_NAME
        if create:
            Path(folder).mkdir(parents=True, exist_ok=True)
            f = open(path, "a+b")
        else:
            try:
                f = open(path, "rb")
            except FileNotFoundError:
                return None
        deadline = time.monotonic() + wait_s
        while not _lock_shared(f):
            if time.monotonic() >= deadline:
                f.close()
                raise LockBusy(f"{path} is held by a restore")
            time.sleep(0.05)
        return cls(f)

    @classmethod
    def exclusive(cls, folder: Path) -> OpenLock | None:
        """Hold the library alone; None while anything else holds it (open or restoring)."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        f = open(Path(folder) / OPEN_LOCK_NAME, "a+b")
        if not _lock_exclusive(f):
            f.close()
            return None
        return cls(f)

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            _unlock(self._file)
        self._file.close()
        self._file = None
