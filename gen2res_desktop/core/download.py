"""Downloading priors from the Hugging Face hub: progress, cancel, resume, checksums.

The file list (sizes, LFS sha256) comes from huggingface_hub's API; each file is streamed
to ``<library>/priors/.downloads/<name>/<file>.part`` and a later attempt continues the
part file with an HTTP range request (huggingface_hub itself no longer resumes across
calls). Once complete and verified, the folder is
installed through :meth:`PriorRegistry.import_folder` (which checks every config and
converts ``.bin`` weights to safetensors) and the download folder is removed.

Only the files a prior needs are fetched, under names checked first (a name from the hub
never leads outside the download folder). The download folder records the process using
it; one left by a process that is gone is kept for resuming, then removed by the registry
once stale (:data:`~gen2res_desktop.core.priors.DOWNLOAD_STALE_SECONDS`) and never listed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from gen2res_desktop.core.errors import Cancelled, Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.paths import priors_dir
from gen2res_desktop.core.priors import (
    DOWNLOADS,
    PriorInfo,
    PriorRegistry,
    check_prior_name,
    claim_download_folder,
)
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress


@dataclass(frozen=True)
class DefaultPrior:
    repo_id: str
    kind: str
    licence: str


DEFAULT_PRIORS: dict[str, DefaultPrior] = {
    "face": DefaultPrior("google/ddpm-ema-celebahq-256", "face", "Apache-2.0"),
    "cat": DefaultPrior("google/ddpm-ema-cat-256", "cat", "Apache-2.0"),
}

_WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
# The configs a prior is read from, at the top or in unet/ and scheduler/: nothing else, and
# no name that could lead out of the download folder.
_CONFIG_RE = re.compile(r"^(?:(?:unet|scheduler)/)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.json$")


def _select_files(names: list[str]) -> list[str]:
    """The configs plus one weights file for the UNet (safetensors preferred)."""
    chosen = [n for n in names if _CONFIG_RE.match(n) and ".." not in n]
    for weights in _WEIGHT_FILES:
        hits = [n for n in names if n in (weights, f"unet/{weights}")]
        if hits:
            return chosen + hits
    raise Gen2ResError(
        "The hub repository has no diffusers UNet weights (diffusion_pytorch_model.*)."
    )


def _hub_error(e: Exception, repo_id: str) -> Gen2ResError:
    import huggingface_hub.errors as herr

    if isinstance(e, herr.RepositoryNotFoundError):
        return Gen2ResError(f"No model '{repo_id}' on the hub (or it is private).")
    if isinstance(e, herr.RevisionNotFoundError):
        return Gen2ResError(f"The pinned revision of '{repo_id}' no longer exists on the hub.")
    return Gen2ResError(
        f"Cannot download '{repo_id}': the model hub is not reachable (are you offline?). "
        "Nothing was installed; run the same command again to resume."
    )


def download_prior(
    spec: str,
    *,
    name: str | None = None,
    home: Path | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> PriorInfo:
    """Download ``spec`` ('face', 'cat' or a hub id) and install it as prior ``name``."""
    from huggingface_hub import HfApi, constants

    cancel = cancel or CancelToken()
    default = DEFAULT_PRIORS.get(spec)
    repo_id = default.repo_id if default else spec
    kind = default.kind if default else "other"
    name = check_prior_name(name or (spec if default else repo_id.rsplit("/", 1)[-1]))
    registry = PriorRegistry(home)
    registry.list()  # clears what killed imports and stale downloads left
    if (registry.root / name).exists():
        raise Gen2ResError(
            f"A prior named '{name}' is already installed; remove it first or choose another name."
        )

    try:
        info = HfApi(endpoint=endpoint).model_info(repo_id, revision=revision, files_metadata=True)
    except Exception as e:  # noqa: BLE001 - network stacks raise many types
        raise _hub_error(e, repo_id) from e
    siblings = {s.rfilename: s for s in info.siblings or []}
    files = _select_files(sorted(siblings))
    sizes = {f: siblings[f].size or 0 for f in files}
    total = sum(sizes.values())
    commit = info.sha or revision or "main"
    base = (endpoint or constants.ENDPOINT).rstrip("/")
    staging = priors_dir(home) / DOWNLOADS / name
    staging.mkdir(parents=True, exist_ok=True)
    claim_download_folder(staging)

    done_bytes = 0
    for filename in files:
        cancel.check()
        url = f"{base}/{repo_id}/resolve/{quote(commit, safe='')}/{quote(filename)}"
        dest = staging / filename

        def report(got: int, filename: str = filename, before: int = done_bytes) -> None:
            progress(Progress("download", min(before + got, total), total, filename))

        _fetch(url, dest, sizes[filename], report, cancel, repo_id)
        _verify(dest, filename, sizes[filename], siblings[filename])
        done_bytes += sizes[filename]
        progress(Progress("download", done_bytes, total, filename))

    cancel.check()
    installed = registry.import_folder(
        staging, name, kind, origin=f"hub:{repo_id}", revision=commit
    )
    shutil.rmtree(staging, ignore_errors=True)
    return installed


def _fetch(
    url: str,
    dest: Path,
    size: int,
    report,
    cancel: CancelToken,
    repo_id: str,
) -> None:
    """Stream ``url`` to ``dest`` via ``dest.part``, continuing a part file left by an earlier try."""
    from huggingface_hub import get_session
    from huggingface_hub.utils import build_hf_headers

    if dest.is_file() and (not size or dest.stat().st_size == size):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if size and have > size:
        part.unlink()
        have = 0
    headers = build_hf_headers()
    if have and (not size or have < size):
        headers["Range"] = f"bytes={have}-"
    if not size or have < size:
        try:
            with get_session().stream(
                "GET", url, headers=headers, follow_redirects=True, timeout=30
            ) as r:
                if r.status_code == 200:
                    have = 0  # the server ignored the range: start over
                elif r.status_code != 206:
                    raise Gen2ResError(f"The hub answered {r.status_code} for {dest.name}.")
                with open(part, "ab" if have else "wb") as f:
                    for chunk in r.iter_bytes(1 << 16):
                        cancel.check()
                        f.write(chunk)
                        have += len(chunk)
                        report(have)
        except (Gen2ResError, Cancelled):
            raise
        except Exception as e:  # noqa: BLE001 - connection dropped, DNS failure, timeout...
            raise _hub_error(e, repo_id) from e
    if size and have != size:
        raise Gen2ResError(
            f"Download of {dest.name} is incomplete ({have} of {size} bytes); "
            "run the same command again to resume."
        )
    part.replace(dest)


def _verify(path: Path, filename: str, size: int, sibling: object) -> None:
    actual = path.stat().st_size
    if size and actual != size:
        raise Gen2ResError(
            f"Download of {filename} is incomplete ({actual} of {size} bytes); "
            "run the same command again to resume."
        )
    lfs = getattr(sibling, "lfs", None)
    expected = getattr(lfs, "sha256", None) if lfs is not None else None
    if expected:
        if sha256_file(path) != expected:
            path.unlink()
            raise Gen2ResError(
                f"{filename} failed its checksum after download; it was removed, run the "
                "command again to fetch it anew."
            )
