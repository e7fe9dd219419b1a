"""Photo models: the learned restoration models the user downloads or imports (LaMa
inpainting, SCUNet / DRUNet denoising, FBCNN JPEG clean-up, Real-ESRGAN enlarging).

Installed models live in ``<library>/photo-models/`` as ``<name>.safetensors`` (the
weights, converted from whatever format they came in, read as data only) beside
``<name>.json`` (what they are, where they came from, both files' sha256). A model is
installed only when its ``.json`` is there; the weights are written to a staging file
first, so a killed import leaves nothing listed, and stale staging files are swept away
the next time the registry is used. Downloads go to ``photo-models/.downloads/`` and
resume with an HTTP range request when a try is cut short.

This module stays light (no torch or spandrel at import) so the command line starts fast;
reading and running models is in :mod:`.spandrel_models`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import http.client
import json
import os
import re
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from gen2res_desktop import __version__
from gen2res_desktop.core.atomic import atomic_path, atomic_write_text
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.paths import library_home
from gen2res_desktop.core.photo.catalogue import CATALOGUE, CatalogueEntry
from gen2res_desktop.core.photo.learned import TASKS
from gen2res_desktop.core.processes import pid_alive
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress

FOLDER = "photo-models"
SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".safetensors")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_META_VERSION = 1
_STAGING = ".staging-"
# A staging file whose process is gone (or, where that cannot be asked, this old) is
# left over from a killed import; installed weights without metadata are as well.
_STALE_SECONDS = 3600
_ORPHAN_SECONDS = 600
_CHUNK = 1 << 16
_TIMEOUT = 30


def photo_models_dir(home: Path | None = None) -> Path:
    return (home or library_home()) / FOLDER


@dataclass(frozen=True)
class PhotoModelInfo:
    """An installed photo model."""

    name: str
    task: str
    arch: str  # spandrel's architecture id: LaMa, SCUNet, DRUNet, FBCNN, ESRGAN, Compact...
    scale: int
    path: Path  # the installed .safetensors
    sha256: str  # of the installed file
    source: str  # the URL or the file it was installed from
    source_sha256: str | None
    licence: str
    source_page: str
    parameters: int
    installed_at: str

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise Gen2ResError(
            f"'{name}' is not a valid photo model name (letters, digits, '-', '_' and '.', "
            "up to 64)."
        )
    return name


def name_from_stem(path: Path) -> str:
    """A valid model name made from a file's name (``RealESRGAN_x4plus.pth`` stays as is)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).lstrip("-_.")[:64].rstrip("-_.")
    if not stem:
        raise Gen2ResError(f"{path}: give the photo model a name.", cli="Give it with --name NAME.")
    return stem


class PhotoModelRegistry:
    """The installed photo models of one library: ``photo-models/<name>.json`` + weights."""

    def __init__(self, home: Path | None = None) -> None:
        self.root = photo_models_dir(home)

    # -- housekeeping -------------------------------------------------------------------

    def _sweep(self) -> None:
        """Remove what killed imports left behind: staging files whose process is gone
        (or that are old), stray temporary files, and weights without metadata."""
        if not self.root.is_dir():
            return
        now = time.time()
        for p in self.root.iterdir():
            try:
                if not p.is_file():
                    continue
                age = now - p.stat().st_mtime
                stale = False
                if p.name.startswith(_STAGING):
                    pid = p.name[len(_STAGING) :].split("-", 1)[0]
                    alive = pid_alive(int(pid)) if pid.isdigit() else None
                    stale = alive is False or age > _STALE_SECONDS
                elif p.name.startswith(".tmp-"):
                    stale = age > _STALE_SECONDS
                elif p.suffix == ".safetensors" and not p.with_suffix(".json").exists():
                    stale = age > _ORPHAN_SECONDS
                if stale:
                    p.unlink()
            except (OSError, ValueError):
                continue

    # -- reading --------------------------------------------------------------------------

    def list(self) -> list[PhotoModelInfo]:
        self._sweep()
        if not self.root.is_dir():
            return []
        infos = []
        for meta in sorted(self.root.glob("*.json")):
            try:
                infos.append(self._read(meta.stem))
            except Gen2ResError:
                continue  # a damaged or half-removed model is not listed; `get` explains it
        return infos

    def get(self, name: str) -> PhotoModelInfo:
        self._sweep()
        if not isinstance(name, str) or not _NAME_RE.match(name) or not self._meta(name).is_file():
            installed = ", ".join(i.name for i in self.list()) or "none"
            raise Gen2ResError(
                f"No photo model named '{name}' is installed (installed: {installed}).",
                app=f"Download {'it' if name in CATALOGUE else 'or import one'} in Models.",
                cli=f"Run 'gen2res models download {name}'."
                if name in CATALOGUE
                else "Run 'gen2res models download' or 'gen2res models import'.",
            )
        return self._read(name)

    def _meta(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def _weights(self, name: str) -> Path:
        return self.root / f"{name}.safetensors"

    def _read(self, name: str) -> PhotoModelInfo:
        meta = self._meta(name)
        try:
            d = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise Gen2ResError(f"{meta}: cannot read ({e}).") from e
        known = {f.name for f in fields(PhotoModelInfo)}
        if not isinstance(d, dict):
            raise Gen2ResError(f"{meta}: the photo model's metadata is damaged.")
        d = {k: v for k, v in d.items() if k in known}
        d["path"] = self._weights(name)
        try:
            info = PhotoModelInfo(**d)
        except TypeError as e:
            raise Gen2ResError(f"{meta}: the photo model's metadata is damaged ({e}).") from e
        if info.name != name or info.task not in TASKS or not isinstance(info.scale, int):
            raise Gen2ResError(f"{meta}: the photo model's metadata is damaged.")
        if not info.path.is_file():
            raise Gen2ResError(
                f"The photo model '{name}' has lost its weights file; remove it and install "
                "it again."
            )
        return info

    # -- installing -------------------------------------------------------------------------

    def import_file(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        task: str | None = None,
        licence: str = "unknown",
        source_page: str = "",
        replace: bool = False,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        origin: str | None = None,
    ) -> PhotoModelInfo:
        """Install a weights file (``.pth``, ``.pt``, ``.ckpt``, ``.bin``, ``.safetensors``)
        as photo model ``name`` (default: from the file name). Its architecture is
        recognised (and its task inferred unless given); ``origin`` is recorded as the
        source (default: the file's path)."""
        cancel = cancel or CancelToken()
        path = Path(path)
        if task is not None and task not in TASKS:
            raise Gen2ResError(f"Unknown photo model task '{task}'; use one of {', '.join(TASKS)}.")
        if not path.is_file():
            raise Gen2ResError(f"{path}: no such file.")
        if path.suffix.lower() not in SUFFIXES:
            raise Gen2ResError(f"{path}: not a photo model file (use {', '.join(SUFFIXES)}).")
        name = check_name(name) if name is not None else check_name(name_from_stem(path))
        self._sweep()
        if self._meta(name).exists() and not replace:
            raise Gen2ResError(f"A photo model named '{name}' is already installed.")

        def step(i: int, message: str) -> None:
            cancel.check()
            progress(Progress("import", i, 4, message))

        from safetensors import safe_open
        from safetensors.torch import save_file

        from gen2res_desktop.core.photo import spandrel_models as sm

        step(0, f"Reading {path.name}")
        source_sha = sha256_file(path)
        sd, found, task = sm.inspect_file(path, task)
        step(1, f"Recognised a {found.arch} model")
        found.descriptor = None  # only its facts are needed now; free the model
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _cannot_write(self.root, e) from e
        staging = self.root / f"{_STAGING}{os.getpid()}-{secrets.token_hex(4)}.safetensors"
        try:
            tensors = sm.tensors_for_saving(sd)
            del sd
            save_file(tensors, str(staging), metadata={"format": "pt", "arch": found.arch})
            with safe_open(str(staging), framework="pt") as f:  # written whole?
                if set(f.keys()) != set(tensors):
                    raise Gen2ResError(f"{path}: the converted weights did not write back whole.")
            del tensors
            step(2, "Converted to safetensors")
            info = PhotoModelInfo(
                name=name,
                task=task,
                arch=found.arch,
                scale=found.scale,
                path=self._weights(name),
                sha256=sha256_file(staging),
                source=origin or str(path.resolve()),
                source_sha256=source_sha,
                licence=licence,
                source_page=source_page,
                parameters=found.parameters,
                installed_at=_now(),
            )
            meta = {"format": _META_VERSION, **info.to_json()}
            del meta["path"]  # the file sits beside its metadata; keep the library movable
            cancel.check()
            # unlist first, then swap the weights in, then list it again
            with contextlib.suppress(FileNotFoundError):
                self._meta(name).unlink()
            with atomic_path(info.path) as tmp:  # fsync, the usual file mode, rename
                os.replace(staging, tmp)
            atomic_write_text(self._meta(name), json.dumps(meta, indent=2))
        except BaseException as e:
            with contextlib.suppress(OSError):
                staging.unlink()
            if isinstance(e, OSError):
                raise _cannot_write(self.root, e) from e
            raise
        progress(Progress("import", 4, 4, f"Installed {name}"))
        return self.get(name)

    def remove(self, name: str) -> None:
        info = self.get(name)
        self._meta(name).unlink()
        with contextlib.suppress(FileNotFoundError):
            info.path.unlink()


# ---------------------------------------------------------------------------------------
# downloading


def catalogue_entry(name: str) -> CatalogueEntry:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise Gen2ResError(
            f"No photo model named '{name}' to download (choose from {', '.join(CATALOGUE)})."
        ) from None


def _url_for(entry: CatalogueEntry, base_url: str | None) -> str:
    if not base_url:
        return entry.url
    return base_url.rstrip("/") + urlsplit(entry.url).path


def _offline(entry: CatalogueEntry, url: str) -> Gen2ResError:
    host = urlsplit(url).netloc or url
    return Gen2ResError(
        f"Cannot download the photo model '{entry.name}': {host} is not reachable (are you "
        "offline?). Nothing was installed; start the download again to resume."
    )


def _incomplete(entry: CatalogueEntry, have: int, total: int | None) -> Gen2ResError:
    of = f" of {total}" if total else ""
    return Gen2ResError(
        f"Download of {entry.filename} is incomplete ({have}{of} bytes, the connection "
        "dropped); start the download again to resume."
    )


def _cannot_write(path: Path, e: OSError) -> Gen2ResError:
    return Gen2ResError(f"Cannot write {path} ({e.strerror or e}); is the disk full or read-only?")


def _fetch(
    entry: CatalogueEntry,
    url: str,
    part: Path,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> None:
    """Stream ``url`` into ``part``, continuing what an earlier try left there. Returns
    when the server has sent the whole file; raises on anything else."""
    have = part.stat().st_size if part.is_file() else 0
    if entry.size and have > entry.size:
        part.unlink()
        have = 0
    if entry.size and have == entry.size:
        return
    headers = {"User-Agent": f"gen2res/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT)  # noqa: S310 - https URL
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the part file is whole
            return
        if e.code == 404:
            raise Gen2ResError(
                f"The photo model file {entry.filename} is no longer at {url} (HTTP 404)."
            ) from e
        raise Gen2ResError(
            f"The server answered HTTP {e.code} for {entry.filename}; try again later."
        ) from e
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        raise _offline(entry, url) from e
    with response:
        status = response.status
        total = entry.size
        if status == 200:
            have = 0  # the server ignored the range: start over
        elif status == 206:
            sent = re.match(r"bytes (\d+)-\d+/(\d+)", response.headers.get("Content-Range", ""))
            if sent and int(sent.group(1)) != have:
                part.unlink()
                raise Gen2ResError(
                    f"The server sent the wrong part of {entry.filename}; start the download "
                    "again to download it from the start."
                )
            if sent:
                total = total or int(sent.group(2))
        else:
            raise Gen2ResError(f"The server answered HTTP {status} for {entry.filename}.")
        length = response.headers.get("Content-Length")
        if length and length.isdigit():
            total = total or have + int(length)
        report_total = total or 0
        try:
            f = open(part, "ab" if have else "wb")  # closed by the with below
        except OSError as e:
            raise _cannot_write(part, e) from e
        with f:
            while True:
                cancel.check()
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException, ValueError) as e:
                    raise _incomplete(entry, have, total) from e
                if not chunk:
                    break
                try:
                    f.write(chunk)
                except OSError as e:
                    raise _cannot_write(part, e) from e
                have += len(chunk)
                progress(Progress("download", have, max(report_total, have), entry.filename))
    if total and have < total:
        raise _incomplete(entry, have, total)


def _fetch_member(
    entry: CatalogueEntry,
    url: str,
    folder: Path,
    dest: Path,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> None:
    """Fetch only ``entry.archive_member`` out of the zip archive at ``url`` into ``dest``
    (its compressed bytes resume like a plain download), checked by the archive's CRC32."""
    from gen2res_desktop.core.photo import zip_member as zm

    def fail(message: str) -> Gen2ResError:
        return Gen2ResError(f"Cannot download the photo model '{entry.name}': {message}.")

    headers = {"User-Agent": f"gen2res/{__version__}", "Accept-Encoding": "identity"}
    remote = zm.RemoteZip(url, headers, fail, lambda _e: _offline(entry, url), _TIMEOUT)
    assert entry.archive_member
    member = remote.find(entry.archive_member)
    # named by the member's CRC: a part left from an archive that changed since is not reused
    part = folder / f"{entry.filename}.{member.crc32:08x}.zpart"
    for old in folder.glob(f"{entry.filename}.*.zpart"):
        if old != part:
            old.unlink(missing_ok=True)
    try:
        remote.fetch(member, part, progress, cancel, entry.filename)
    except OSError as e:
        raise _cannot_write(part, e) from e
    cancel.check()
    staging = folder / f"{entry.filename}.inflating"
    try:
        zm.inflate(member, part, staging, fail)
        staging.replace(dest)
    except OSError as e:
        raise _cannot_write(dest, e) from e
    part.unlink(missing_ok=True)


def _verify(entry: CatalogueEntry, path: Path) -> None:
    size = path.stat().st_size
    if entry.size and size != entry.size:
        path.unlink()
        raise Gen2ResError(
            f"{entry.filename} has the wrong size after download ({size} bytes, expected "
            f"{entry.size}); it was removed, run the command again to fetch it anew."
        )
    if entry.sha256:
        ok = sha256_file(path) == entry.sha256
    elif entry.md5:
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        ok = digest.hexdigest() == entry.md5
    else:  # pragma: no cover - every catalogue entry has a checksum
        ok = False
    if not ok:
        path.unlink()
        raise Gen2ResError(
            f"{entry.filename} failed its checksum after download; it was removed, run the "
            "command again to fetch it anew."
        )


def download_photo_model(
    name: str,
    *,
    home: Path | None = None,
    base_url: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> PhotoModelInfo:
    """Download catalogue model ``name``, check it, and install it. ``base_url`` replaces
    the scheme and host of the release URL (a mirror; the tests' local server)."""
    cancel = cancel or CancelToken()
    entry = catalogue_entry(name)
    registry = PhotoModelRegistry(home)
    try:
        registry.get(name)
    except Gen2ResError:
        pass
    else:
        raise Gen2ResError(f"A photo model named '{name}' is already installed.")
    url = _url_for(entry, base_url)
    folder = registry.root / ".downloads"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _cannot_write(folder, e) from e
    dest = folder / entry.filename
    part = folder / f"{entry.filename}.part"
    if not dest.is_file():
        cancel.check()
        if entry.archive_member:
            _fetch_member(entry, url, folder, dest, progress, cancel)
        else:
            _fetch(entry, url, part, progress, cancel)
            part.replace(dest)
    cancel.check()
    progress(Progress("verify", 0, 1, f"Checking {entry.filename}"))
    _verify(entry, dest)
    progress(Progress("verify", 1, 1, f"Checked {entry.filename}"))
    info = registry.import_file(
        dest,
        name,
        task=entry.task,
        licence=entry.licence,
        source_page=entry.source_page,
        progress=progress,
        cancel=cancel,
        origin=entry.url,
    )
    with contextlib.suppress(OSError):
        dest.unlink()
    return info
