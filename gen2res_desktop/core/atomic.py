"""Atomic file writes: write to a temporary sibling, fsync, then rename into place.

Every file the app writes goes through :func:`atomic_path`, so a full or read-only disk
gives one sentence (a :class:`Gen2ResError`) wherever it happens, and a killed process
never leaves a half-written file under the real name. Its temporary files are named
``.tmp-gen2res-<pid>-*``; one left behind by a process that no longer runs is removed
the next time this process writes into that folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.processes import pid_alive

# Read once at import (os.umask can only be read by setting it, which races with threads).
_UMASK = os.umask(0o022)
os.umask(_UMASK)
TEMP_PREFIX = ".tmp-gen2res-"
_TEMP_RE = re.compile(r"^\.tmp-gen2res-(\d+)-")
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_swept: set[str] = set()


def _file_mode(target: Path) -> int:
    """The mode a plainly created file would get: the old file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def sweep_temp_files(folder: Path) -> None:
    """Remove temporary files of killed writers from ``folder`` (once per folder per run)."""
    key = os.path.abspath(folder)
    if key in _swept:
        return
    _swept.add(key)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = _TEMP_RE.match(name)
        if m and pid_alive(int(m.group(1))) is False:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def write_error(e: OSError, target: Path) -> Gen2ResError:
    """One sentence for a write that failed: a full disk, a read-only place, or the rest."""
    if e.errno in _FULL:
        return Gen2ResError(
            f"Cannot write {target}: the disk is full. Free some space and try again; "
            "nothing was changed."
        )
    if e.errno in _READ_ONLY:
        return Gen2ResError(
            f"Cannot write {target}: the folder is read-only or not yours to write to; "
            "nothing was changed."
        )
    return Gen2ResError(f"Cannot write {target} ({e.strerror or e}); nothing was changed.")


def refuse_non_file(target: str | os.PathLike[str]) -> None:
    """Refuse ``target`` when something other than a regular file is there (through a
    link too): a device, a pipe, a socket or a folder. Renaming a file over ``/dev/full``
    replaces the device itself, which as root breaks the system."""
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there, or a link to nothing: a file may go there
    except OSError:
        return  # unreadable: the write itself will say why
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a pipe"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    raise Gen2ResError(
        f"{target} is {kind}; only a file can be replaced. Choose a file name for the output."
    )


def refuse_existing(target: str | os.PathLike[str], *, overwrite: bool) -> None:
    """Refuse to write over anything already at ``target`` (a dangling link too) unless
    ``overwrite``: a command never writes over a file it did not create unless asked. A
    device, a pipe or a folder is never replaced (:func:`refuse_non_file`)."""
    refuse_non_file(target)
    if not overwrite and os.path.lexists(target):
        raise Gen2ResError(
            f"{target} already exists.",
            app="Choose another name, or confirm replacing it.",
            cli="Choose another name, or allow replacing it with --overwrite.",
        )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    On any exception the temporary file is removed and ``target`` is untouched; an
    OSError of a full or read-only disk becomes a one-line Gen2ResError.
    """
    target = Path(target)
    refuse_non_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_temp_files(target.parent)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=target.suffix, dir=target.parent
        )
    except OSError as e:
        raise write_error(e, target) from e
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
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(e, OSError) and not isinstance(e, FileExistsError):
            if e.errno in _FULL | _READ_ONLY:
                raise write_error(e, target) from e
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
        if os.path.lexists(target):
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
