"""Importing a local diffusers folder as an installed prior.

Whatever layout it arrives in (a pipeline with ``unet/`` and ``scheduler/``, or a bare
UNet folder), a prior is kept in one: ``unet/`` with safetensors weights, ``scheduler/``
and ``prior.json`` describing it. It is built in a staging folder and renamed into place
only once complete and loadable: a killed import never leaves a half-installed prior.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

from gen2res_desktop.core.atomic import atomic_write_text
from gen2res_desktop.core.defaults import PRIOR_KINDS
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.hashing import sha256_file
from gen2res_desktop.core.priors.configs import (
    read_json,
    validate_scheduler_config,
    validate_unet_config,
)
from gen2res_desktop.core.priors.info import (
    IMPORT_ADVICE,
    WEIGHTS_NAME,
    PriorInfo,
    check_prior_name,
)
from gen2res_desktop.core.priors.staging import new_import_folder, removal_folder, sweep_priors
from gen2res_desktop.core.priors.weights import build_unet, count_parameters, load_state_dict


def _locate_parts(folder: Path) -> tuple[Path, dict, int, dict | None]:
    """Find the UNet folder and the scheduler config in a pipeline, flat or bare layout, and
    check both configs: (UNet folder, UNet config, its resolution, scheduler config)."""
    if not folder.is_dir():
        raise Gen2ResError(f"{folder}: not a folder.")
    if (folder / "unet" / "config.json").is_file():
        unet_dir = folder / "unet"
        sched = folder / "scheduler" / "scheduler_config.json"
    elif (folder / "config.json").is_file():
        unet_dir = folder
        sched = folder / "scheduler_config.json"
    else:
        raise Gen2ResError(
            f"{folder}: not a diffusers model folder (expected unet/config.json or config.json)."
        )
    config = read_json(unet_dir / "config.json")
    resolution = validate_unet_config(config, unet_dir / "config.json")
    sched_config = None
    if sched.is_file():
        sched_config = read_json(sched)
        validate_scheduler_config(sched_config, sched)
    return unet_dir, config, resolution, sched_config


def install_folder(
    root: Path,
    source: Path,
    name: str,
    kind: str,
    *,
    origin: str | None = None,
    revision: str | None = None,
    replace: bool = False,
) -> None:
    """Copy the diffusers folder ``source`` into ``root`` as prior ``name``, converting its
    weights to safetensors (see :meth:`PriorRegistry.import_folder`)."""
    source = Path(source)
    check_prior_name(name)
    if kind not in PRIOR_KINDS:
        raise Gen2ResError(f"Unknown prior kind '{kind}'; use one of {', '.join(PRIOR_KINDS)}.")
    sweep_priors(root)
    target = root / name
    if target.exists() and not replace:
        raise Gen2ResError(
            f"A prior named '{name}' is already installed; remove it first or choose another name."
        )
    try:
        unet_dir, config, resolution, sched_config = _locate_parts(source)
        state = load_state_dict(unet_dir, config)
    except Gen2ResError as e:
        raise Gen2ResError(f"{e} {IMPORT_ADVICE}") from e
    root.mkdir(parents=True, exist_ok=True)
    staging = new_import_folder(root, name)
    try:
        (staging / "unet").mkdir()
        (staging / "scheduler").mkdir()
        # Written from the checked values, not copied: what was checked is what is kept.
        atomic_write_text(staging / "unet" / "config.json", json.dumps(config, indent=2))
        weights = staging / "unet" / WEIGHTS_NAME
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(weights))
        del state
        if sched_config is not None:
            atomic_write_text(
                staging / "scheduler" / "scheduler_config.json",
                json.dumps(sched_config, indent=2),
            )
        else:
            from diffusers import DDPMScheduler

            DDPMScheduler(num_train_timesteps=1000).save_config(staging / "scheduler")
        info = PriorInfo(
            name=name,
            kind=kind,
            path=target,
            resolution=resolution,
            parameters=count_parameters(weights),
            weights_hash=sha256_file(weights),
            source=origin or str(source.resolve()),
            revision=revision,
            installed_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        )
        meta = info.to_json()
        del meta["path"]  # the folder is the path; keep the library relocatable
        atomic_write_text(staging / "prior.json", json.dumps(meta, indent=2))
        # Load once now so a broken checkpoint fails at install, not at first restore.
        build_unet(staging / "unet")
        if target.exists():
            trash = removal_folder(root, name)
            target.rename(trash)
            staging.rename(target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
