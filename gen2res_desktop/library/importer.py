"""Importing photos: copy in under the content hash, one bad file never stops the batch.

Per file: the original is read once while it is copied into a temporary file inside the
library and hashed; known bytes are a duplicate (linked, not stored twice); otherwise the
copy is fully decoded (so a corrupt, truncated or oversized file is refused with its
reason), renamed to ``photos/ab/<sha256>.<ext>`` and recorded. The original is only ever
opened for reading. A failure to write into the library (disk full, read-only) stops the
batch with a clear error: the photos recorded before it stay, the current one leaves no
trace.

Only regular files are read. A link to a regular file is followed; anything else found in
a folder (a named pipe, a device such as a link to ``/dev/zero``, a socket, a link to a
folder) is skipped with its reason, never opened for a blocking or endless read. The
size is checked before reading (:data:`MAX_PHOTO_BYTES`, 2 GiB: no scan or camera file
comes near it) and again on the opened file, which is opened non-blocking so a pipe
swapped in between the check and the open cannot hang the import. Cancel is honoured
between chunks of a file as well as between files.

A file name is whatever bytes the file system allows, UTF-8 or not (Python holds the
undecodable ones as surrogate escapes). The file is read under its very name, the summary
keeps it, and the database keeps its path byte for byte; the name shown everywhere is the
readable form, each undecodable byte written as ``\\xNN`` (:func:`readable`).

The import works on the album (``library/album.py``): each photo's row, its tag and the
job's pending mark are written in one transaction of the photos, tags and jobs
repositories; what a photo is (format, size, EXIF) is ``library/photo_info.py``'s.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.images import IMAGE_SUFFIXES, open_image
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.library.album import Album
from gen2res_desktop.library.models import ImportedFile, ImportSummary, SkippedFile
from gen2res_desktop.library.named_faces import ImportNames
from gen2res_desktop.library.photo_info import describe
from gen2res_desktop.library.tables.subjects import check_role
from gen2res_desktop.library.values import db_text

_CHUNK = 1 << 20
# Larger files are skipped unread: no photo comes near this, and it bounds what a file that
# keeps growing (or lies about its size) can write into the library.
MAX_PHOTO_BYTES = 2 * 1024**3
_OPEN_FLAGS = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
# Files operating systems drop into photo folders; not worth a line in the summary.
_SYSTEM_FILES = {"thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"}


def readable(name: str) -> str:
    """A file name as text that can be stored and shown: each byte that is not UTF-8 (a
    surrogate escape) becomes ``\\xNN``; everything else is kept as it is."""
    return db_text(name) or ""


def _exact_path(path: Path) -> str | bytes:
    """The absolute path to store: text when it is UTF-8, else its very bytes (stored as
    TEXT by the query, so the column stays TEXT and reads back as readable text)."""
    text = os.path.abspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


class _Skip(Exception):
    """This file cannot be imported; the batch goes on."""


def collect_files(
    paths: Sequence[Path], library_home: Path
) -> tuple[list[Path], list[SkippedFile], list[SkippedFile]]:
    """Expand folders recursively into candidate files, in a stable order.

    Files named explicitly are always tried, whatever their suffix. Inside folders only
    image suffixes are tried, other files are listed as ignored; hidden files, system
    files and the library folder itself are left out.
    Returns (candidates, names that cannot be imported, ignored files).
    """
    files: list[Path] = []
    missing: list[SkippedFile] = []  # not found, or inside the library
    ignored: list[SkippedFile] = []
    home = os.path.realpath(library_home)
    for raw in paths:
        path = Path(raw)
        real = os.path.realpath(path)
        if real == home or real.startswith(home + os.sep):
            # Its photos are already in; its thumbnails and results are not new photos.
            missing.append(SkippedFile(path, "this is inside the library folder"))
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                walked = []
                for d in sorted(dirnames):
                    sub = os.path.join(dirpath, d)
                    if d.startswith(".") or os.path.realpath(sub) == home:
                        continue
                    if os.path.islink(sub):
                        # Not followed (it could loop, or lead anywhere on the disk).
                        missing.append(SkippedFile(Path(sub), _LINKED_FOLDER))
                        continue
                    walked.append(d)
                dirnames[:] = walked
                for name in sorted(filenames):
                    if name.startswith(".") or name.lower() in _SYSTEM_FILES:
                        continue
                    suffix = Path(name).suffix.lower()
                    if suffix in IMAGE_SUFFIXES:
                        files.append(Path(dirpath) / name)
                    else:
                        reason = f"not a photo file type ({suffix or 'no extension'})"
                        ignored.append(SkippedFile(Path(dirpath) / name, reason))
        elif path.exists():
            files.append(path)  # not a regular file: reading it says why (and skips it)
        else:
            missing.append(SkippedFile(path, "not found (or not accessible)"))
    return files, missing, ignored


_LINKED_FOLDER = (
    "a link to a folder; links inside folders are not followed (import that folder itself)"
)


def _read_reason(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "cannot read the file (permission denied)"
    if isinstance(e, FileNotFoundError):
        return "the file disappeared before it could be read"
    return f"cannot read the file ({e.strerror or e})"


def _size_text(size: int) -> str:
    return f"{size / 1024**3:.1f} GB" if size >= 1024**3 else f"{size / 1024**2:.0f} MB"


def _too_large(size: int) -> _Skip:
    return _Skip(
        f"too large for a photo ({_size_text(size)}; files over "
        f"{_size_text(MAX_PHOTO_BYTES)} are not imported)"
    )


def _kind_reason(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _not_regular(src: Path, mode: int) -> _Skip:
    kind = _kind_reason(mode)
    if os.path.islink(src):
        try:
            target = os.readlink(src)
        except OSError:
            target = "?"
        return _Skip(
            f"a link to {target}, which is {kind}, not a photo file; only regular files are "
            "imported"
        )
    return _Skip(f"{kind}, not a photo file; only regular files are imported")


def _open_source(src: Path):
    """Open ``src`` for reading if it is a regular file of a sensible size; else _Skip.

    Checked before the open (so a pipe or a device is never opened) and again on the opened
    descriptor: the open is non-blocking, so a pipe swapped in meanwhile cannot hang it.
    """
    try:
        before = os.stat(src)  # follows links: a link to a regular file is fine
    except OSError as e:
        raise _Skip(_read_reason(e)) from e
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(src, before.st_mode)
    if before.st_size > MAX_PHOTO_BYTES:
        raise _too_large(before.st_size)
    try:
        f = open(src, "rb", opener=lambda p, flags: os.open(p, flags | _OPEN_FLAGS))
    except OSError as e:
        raise _Skip(_read_reason(e)) from e
    try:
        opened = os.fstat(f.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(src, opened.st_mode)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise _Skip("the file was replaced while it was being imported; import it again")
        if opened.st_size > MAX_PHOTO_BYTES:
            raise _too_large(opened.st_size)
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(f.fileno(), True)
    except BaseException:
        f.close()
        raise
    return f


def _copy_into(src: Path, dst: Path, cancel: CancelToken | None = None) -> tuple[str, int]:
    """Copy ``src`` to the new file ``dst``, returning (sha256, size).

    Problems reading ``src`` raise _Skip; problems writing ``dst`` raise OSError; a cancel
    (checked between chunks) raises Cancelled.
    """
    digest = hashlib.sha256()
    size = 0
    fin = _open_source(src)
    with fin, open(dst, "xb") as fout:
        while True:
            if cancel is not None:
                cancel.check()
            try:
                chunk = fin.read(_CHUNK)
            except OSError as e:
                raise _Skip(_read_reason(e)) from e
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_PHOTO_BYTES:  # it grew while being read
                raise _too_large(size)
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest(), size


def _library_error(home: Path, e: OSError, summary: ImportSummary) -> Gen2ResError:
    kept = len(summary.imported)
    tail = f" The {kept} photos imported before it were kept." if kept else " Nothing was imported."
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        head = f"The library disk is full ({home})."
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        head = f"The library folder {home} is read-only; Gen2Res cannot store photos there."
    else:
        head = f"Cannot write into the library folder {home} ({e.strerror or e})."
    return Gen2ResError(head + tail)


def _import_one(
    album: Album,
    src: Path,
    job_id: int,
    subject_id: int | None,
    role: str | None,
    cancel: CancelToken | None = None,
) -> tuple[bool, int]:
    """Returns (is_new, photo_id); raises _Skip, Cancelled or (for the library's disk) OSError."""
    tmp = album.photos_dir / f".import-{job_id}-{uuid.uuid4().hex}.part"
    try:
        digest, size = _copy_into(src, tmp, cancel)
        existing = album.photos.id_by_hash(digest)
        if existing is not None:
            if subject_id is not None:
                with album.db.write() as c:
                    album.tags.link(c, existing, subject_id, role)
            return False, existing
        try:
            with open_image(tmp) as img:
                info = describe(img)
        except Gen2ResError as e:
            # The messages name the file they read: ours is a temporary name.
            reason = str(e)
            raise _Skip(
                reason.split(": ", 1)[1] if reason.startswith(tmp.name + ": ") else reason
            ) from e
        except Exception as e:  # noqa: BLE001 - whatever a decoder throws, the batch goes on
            raise _Skip(f"the image could not be decoded ({type(e).__name__}: {e})") from e
        ext = info.suffix(src.suffix.lower()[:8] or ".img")
        final = album.photos_dir / digest[:2] / f"{digest}{ext}"
        rel = album.db.relative(final)
        final.parent.mkdir(exist_ok=True)
        album.jobs.set_pending(job_id, rel)
        os.replace(tmp, final)
        try:
            with album.db.write() as c:
                photo_id = album.photos.insert(
                    c,
                    digest=digest,
                    file=rel,
                    original_name=readable(src.name),
                    original_path=_exact_path(src),
                    size=size,
                    format=info.format,
                    width=info.width,
                    height=info.height,
                    mode=info.mode,
                    taken=info.taken,
                    exif=info.exif,
                )
                if subject_id is not None:
                    album.tags.link(c, photo_id, subject_id, role)
                album.jobs.pending_done(c, job_id)
        except sqlite3.IntegrityError as e:
            photo_id = album.photos.id_by_hash(digest)
            if photo_id is None:  # the subject was removed meanwhile
                final.unlink(missing_ok=True)
                raise Gen2ResError(f"The library changed during the import ({e}).") from e
            # Another process stored the same bytes a moment ago; the file is identical.
            if subject_id is not None:
                with album.db.write() as c:
                    album.tags.link(c, photo_id, subject_id, role)
            return False, photo_id
        except BaseException:
            # The row never came, so the file must not stay behind as an orphan.
            if album.photos.id_by_hash(digest) is None:
                final.unlink(missing_ok=True)
            raise
        return True, photo_id
    finally:
        tmp.unlink(missing_ok=True)


def import_paths(
    album: Album,
    paths: Sequence[Path],
    *,
    subject: str | None = None,
    role: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ImportSummary:
    """Import files and folders; returns what happened to each file.

    With ``subject`` (and ``role``), every imported or already-known photo is tagged.
    A cancel stops within the current file (between chunks of its copy) or between files,
    and keeps what was imported (``summary.cancelled``).
    """
    cancel = cancel or CancelToken()
    if (subject is None) != (role is None):
        raise Gen2ResError("Give both a subject and a role (reference or restore), or neither.")
    subject_id = album.subjects.get(subject).id if subject is not None else None
    if role is not None:
        check_role(role)
    files, missing, ignored = collect_files(paths, album.home)
    total = len(files) + len(missing)
    job_id = album.jobs.start("import", total=total)
    summary = ImportSummary(job_id=job_id, total=total, skipped=list(missing), ignored=ignored)
    names = ImportNames(album, summary)  # people named by other photo managers (issue 25)
    try:
        for i, src in enumerate(files):
            cancel.check()
            try:
                is_new, photo_id = _import_one(album, src, job_id, subject_id, role, cancel)
            except _Skip as e:
                summary.skipped.append(SkippedFile(src, str(e)))
            except OSError as e:
                raise _library_error(album.home, e, summary) from e
            else:
                (summary.imported if is_new else summary.duplicates).append(
                    ImportedFile(src, photo_id)
                )
                names.read(photo_id, src)
            done = i + 1 + len(missing)
            album.jobs.update(job_id, done, message=readable(src.name))
            progress(Progress("import", done, total, message=readable(src.name)))
    except Cancelled:
        summary.cancelled = True
        album.jobs.finish(job_id, "cancelled", message=summary.message())
        return summary
    except BaseException as e:
        # Finishing the job may fail too (a full disk); the next open marks it interrupted.
        try:
            if isinstance(e, KeyboardInterrupt):  # Ctrl+C or SIGTERM: stopped, not an error
                album.jobs.finish(job_id, "cancelled", message=f"Stopped: {summary.message()}")
            else:
                album.jobs.finish(job_id, "failed", str(e) or repr(e))
        except Gen2ResError:
            pass
        raise
    album.jobs.finish(job_id, "done", message=summary.message())
    return summary
