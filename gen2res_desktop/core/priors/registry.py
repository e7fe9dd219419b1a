"""The installed priors of one library, read, checked, imported and removed.

Every file a prior is loaded from is checked again whenever an installed prior is read
(``prior.json`` and both configs, and that the weights are there), since a file on disk
can be edited or damaged; a damaged prior is not listed, and reading it says which file
and field is wrong and how to get the prior back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.paths import priors_dir
from gen2res_desktop.core.priors.configs import (
    bad_value,
    read_json,
    read_prior_json,
    validate_scheduler_config,
    validate_unet_config,
)
from gen2res_desktop.core.priors.info import NAME_RE, WEIGHTS_NAME, PriorInfo, installed_advice
from gen2res_desktop.core.priors.install import install_folder
from gen2res_desktop.core.priors.staging import removal_folder, sweep_priors


class PriorRegistry:
    """The installed priors of one library: ``priors/NAME/prior.json`` with a valid NAME."""

    def __init__(self, home: Path | None = None) -> None:
        self.root = priors_dir(home)

    def _candidates(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.iterdir() if NAME_RE.match(p.name) and (p / "prior.json").is_file()
        )

    def list(self) -> list[PriorInfo]:
        sweep_priors(self.root)
        infos = []
        for folder in self._candidates():
            try:
                # prior.json only (a listing reads no more); `get` checks every file, and
                # `problems` says which listed priors cannot be used and why
                infos.append(self.read_folder(folder, files=False))
            except Gen2ResError:
                continue  # a damaged or half-removed prior is not listed; `get` explains it
        return infos

    def problems(self) -> list[tuple[str, str]]:
        """(name, one-line message) for each installed prior that cannot be used."""
        found = []
        for folder in self._candidates():
            try:
                self.read_folder(folder)
            except Gen2ResError as e:
                found.append((folder.name, str(e)))
        return found

    def get(self, name: str) -> PriorInfo:
        sweep_priors(self.root)
        folder = self.root / name if isinstance(name, str) else self.root
        if (
            not isinstance(name, str)
            or not NAME_RE.match(name)
            or not (folder / "prior.json").is_file()
        ):
            installed = ", ".join(p.name for p in self.list()) or "none"
            raise Gen2ResError(
                f"No prior named '{name}' is installed (installed: {installed}).",
                app="Download or import one in Models.",
                cli="Download or import one with 'gen2res models download' or "
                "'gen2res models import'.",
            )
        return self.read_folder(folder)

    def for_kind(self, kind: str, preferred: str | None = None) -> PriorInfo:
        """The prior a job of ``kind`` (face, cat, dog) uses: ``preferred`` (a subject's
        chosen prior) when it is installed, else an installed prior of that kind, the one
        named like the kind first.

        A ``preferred`` prior that is installed but damaged says so rather than being
        swapped for another: an adapter only fits the weights it was trained on.
        """
        if preferred and isinstance(preferred, str) and (self.root / preferred).is_dir():
            return self.get(preferred)
        usable = sorted(
            (p for p in self.list() if p.kind == kind), key=lambda p: (p.name != kind, p.name)
        )
        for info in usable:
            try:
                return self.get(info.name)
            except Gen2ResError:
                continue  # listed but damaged: another of its kind may still work
        raise Gen2ResError(
            f"The prior '{preferred}' is not installed, nor any other {kind} prior."
            if preferred
            else f"No {kind} prior is installed.",
            app=f"Download or import a {kind} prior in Models.",
            cli=f"Download or import a {kind} prior with 'gen2res models download' or "
            "'gen2res models import'.",
        )

    def read_folder(self, folder: Path, *, files: bool = True) -> PriorInfo:
        """An installed prior's description, checked; with ``files``, after checking every
        file a load reads (the configs, and that the weights are there)."""
        try:
            d = read_prior_json(folder)
            if not files:
                return PriorInfo(path=folder, **d)
            unet_dir = folder / "unet"
            resolution = validate_unet_config(
                read_json(unet_dir / "config.json"), unet_dir / "config.json"
            )
            sched = folder / "scheduler" / "scheduler_config.json"
            validate_scheduler_config(read_json(sched), sched)
            if resolution != d["resolution"]:
                raise bad_value(
                    folder / "prior.json",
                    "resolution",
                    f"the UNet config's sample_size, {resolution}",
                    d["resolution"],
                )
            if not (unet_dir / WEIGHTS_NAME).is_file():
                raise Gen2ResError(f"{unet_dir / WEIGHTS_NAME}: the weights file is missing.")
        except Gen2ResError as e:
            raise Gen2ResError(f"{e} {installed_advice(folder.name)}") from e
        return PriorInfo(path=folder, **d)

    def import_folder(
        self,
        source: Path,
        name: str,
        kind: str,
        *,
        origin: str | None = None,
        revision: str | None = None,
        replace: bool = False,
    ) -> PriorInfo:
        """Copy a local diffusers folder in as prior ``name``, converting weights to safetensors."""
        install_folder(
            self.root, source, name, kind, origin=origin, revision=revision, replace=replace
        )
        return self.get(name)

    def remove(self, name: str) -> None:
        """Remove an installed prior, a damaged one too."""
        sweep_priors(self.root)
        folder = self.root / name if isinstance(name, str) else self.root
        if not isinstance(name, str) or not NAME_RE.match(name) or not folder.is_dir():
            self.get(name)  # raises the usual "no prior named" message
        trash = removal_folder(self.root, name)
        folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
