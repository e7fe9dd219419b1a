"""Diffusion priors: unconditional pixel-space ``UNet2DModel`` + DDPM scheduler.

Installed priors live in ``<library>/priors/<name>/`` in one normalised layout
(``unet/`` with safetensors weights, ``scheduler/``, and ``prior.json`` describing it),
whatever layout they were imported or downloaded from (core.download fetches them).

- ``info``: a prior's name and kind, :class:`PriorInfo` and :class:`LoadedPrior`.
- ``configs``: every JSON file the app reads for a prior, checked at the door with types
  and ranges before any tensor is built; a bad value gives one line naming file and field.
- ``weights``: the weights hold exactly the tensors the config describes, all finite;
  ``.bin`` weights are read with ``weights_only=True`` and converted to safetensors once.
- ``staging``: the folders of imports, removals and downloads, never priors, and the
  sweep of those a killed process left.
- ``install``: a local diffusers folder imported into the normalised layout.
- ``registry``: :class:`PriorRegistry`, the installed priors of one library.
- ``loading``: :func:`load_prior`, an installed prior checked again and built to run.

torch and diffusers are imported only where a prior is imported, built or loaded: the app
and the commands that list or check priors stay light.
"""

from gen2res_desktop.core.priors.configs import validate_unet_config
from gen2res_desktop.core.priors.info import (
    IMPORT_ADVICE,
    WEIGHTS_NAME,
    LoadedPrior,
    PriorInfo,
    check_prior_name,
    prior_kind_for_subject,
)
from gen2res_desktop.core.priors.loading import load_prior
from gen2res_desktop.core.priors.registry import PriorRegistry
from gen2res_desktop.core.priors.staging import (
    DOWNLOAD_STALE_SECONDS,
    DOWNLOADS,
    OWNER_FILE,
    STALE_SECONDS,
    claim_download_folder,
)
from gen2res_desktop.core.priors.weights import all_finite

__all__ = [
    "DOWNLOADS",
    "DOWNLOAD_STALE_SECONDS",
    "IMPORT_ADVICE",
    "OWNER_FILE",
    "STALE_SECONDS",
    "WEIGHTS_NAME",
    "LoadedPrior",
    "PriorInfo",
    "PriorRegistry",
    "all_finite",
    "check_prior_name",
    "claim_download_folder",
    "load_prior",
    "prior_kind_for_subject",
    "validate_unet_config",
]
