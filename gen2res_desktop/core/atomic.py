"""Atomic file writes: write to a temporary sibling, fsync, then rename into place."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Read once at import (os.umask can only be read by setting it, which races with threads).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _file_mode(target: Path) -> int:
    """The mode a plainly created file would get: the old file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync(tmp)
        # mkstemp makes the file private (0600); the result should read like any other file
        os.chmod(tmp, _file_mode(target))
        if overwrite:
            os.replace(tmp, target)
        else:
            _place_new(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _place_new(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` only if ``target`` does not exist yet."""
    try:
        # link() fails if target exists, so two writers cannot clobber each other
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        # FAT/exFAT cards and some network shares have no hard links: check, then rename
        if target.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def atomic_write_bytes(
    target: str | os.PathLike[str], data: bytes, *, overwrite: bool = True
) -> Path:
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(target, text.encode("utf-8"))


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
