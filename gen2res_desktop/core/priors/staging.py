"""The staging folders beside the installed priors, and the leftovers of killed processes.

Only ``priors/NAME/prior.json`` with a valid NAME is a prior. The staging folders of an
import (``.import-*``), a removal (``.removing-*``) or a download (``.downloads/NAME``)
never are: those left by a killed process are removed the next time the registry is used
(an import's when its process is gone, or after :data:`STALE_SECONDS` where that cannot
be asked; a download's, kept for resuming, after :data:`DOWNLOAD_STALE_SECONDS`).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from gen2res_desktop.core.atomic import atomic_write_text
from gen2res_desktop.core.priors.info import NAME_RE
from gen2res_desktop.core.processes import pid_alive

# Staging folders: an import's and a removal's carry the pid of their process.
IMPORT_PREFIX = ".import-"
REMOVING_PREFIX = ".removing-"
DOWNLOADS = ".downloads"
OWNER_FILE = ".owner"  # in a download folder: the pid of the process downloading into it
_PID_RE = re.compile(r"\.pid(\d+)$")
# A staging folder untouched this long, whose process cannot be asked about, is left over.
STALE_SECONDS = 3600
# ...even when its pid runs again (pids are reused).
_OWNED_STALE_SECONDS = 24 * 3600
# A partial download is kept this long for resuming, when its process is gone.
DOWNLOAD_STALE_SECONDS = 7 * 24 * 3600


def new_import_folder(root: Path, name: str) -> Path:
    """A fresh folder in ``root`` to build prior ``name`` in; the pid in its name tells a
    later sweep whether its import still runs."""
    return Path(
        tempfile.mkdtemp(prefix=f"{IMPORT_PREFIX}{name}-", suffix=f".pid{os.getpid()}", dir=root)
    )


def removal_folder(root: Path, name: str) -> Path:
    """Where prior ``name`` goes to be deleted: renamed there first, a removal cut short
    leaves no half-deleted prior, only a folder the next sweep deletes."""
    return root / f"{REMOVING_PREFIX}{name}-{secrets.token_hex(4)}.pid{os.getpid()}"


def _newest_mtime(folder: Path) -> float:
    """When anything in ``folder`` last changed (a live download keeps appending to a file)."""
    newest = folder.lstat().st_mtime
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            try:
                newest = max(newest, os.lstat(os.path.join(dirpath, n)).st_mtime)
            except OSError:
                continue
    return newest


def _owner_of(folder: Path) -> int | None:
    m = _PID_RE.search(folder.name)
    if m:
        return int(m.group(1))
    try:
        text = (folder / OWNER_FILE).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def _stale(path: Path, now: float, limit: float, *, owner_gone_is_enough: bool) -> bool:
    """Left over by a killed process. ``owner_gone_is_enough``: as soon as its process is
    gone (an import); else only once it has also been untouched for ``limit`` seconds (a
    download, kept to resume). Where the owner cannot be asked, ``limit`` decides; a live
    owner's is kept, unless untouched for a day and ``limit`` (its pid may be reused)."""
    age = now - _newest_mtime(path)
    pid = _owner_of(path)
    alive = pid_alive(pid) if pid is not None else None
    if alive is True:
        return age > max(limit, _OWNED_STALE_SECONDS)
    if alive is False and owner_gone_is_enough:
        return True
    return age > limit


def sweep_priors(root: Path) -> None:
    """Remove what killed imports, removals and downloads left in ``root`` (never raises)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    now = time.time()
    for path in entries:
        name = path.name
        try:
            if name.startswith(REMOVING_PREFIX):
                _remove(path)  # garbage whoever owns it; a live remover ignores errors too
            elif name.startswith(IMPORT_PREFIX):
                if _stale(path, now, STALE_SECONDS, owner_gone_is_enough=True):
                    _remove(path)
            elif name == DOWNLOADS and path.is_dir() and not path.is_symlink():
                for part in list(path.iterdir()):
                    if not part.is_dir() or not NAME_RE.match(part.name):
                        if now - part.lstat().st_mtime > STALE_SECONDS:
                            _remove(part)
                    elif (root / part.name / "prior.json").is_file():
                        # installed: only the removal of the download was missed
                        if _stale(part, now, STALE_SECONDS, owner_gone_is_enough=True):
                            _remove(part)
                    elif _stale(part, now, DOWNLOAD_STALE_SECONDS, owner_gone_is_enough=False):
                        _remove(part)
        except OSError:
            continue


def claim_download_folder(folder: Path) -> None:
    """Mark ``folder`` (``.downloads/NAME``) as used by this process."""
    atomic_write_text(folder / OWNER_FILE, str(os.getpid()))
