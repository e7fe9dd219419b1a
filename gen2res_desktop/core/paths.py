"""Where the library lives: ``GEN2RES_HOME`` or the platform's user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "GEN2RES_HOME"


def library_home() -> Path:
    env = os.environ.get(ENV_HOME)
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("gen2res"))
    return home


def priors_dir(home: Path | None = None) -> Path:
    return (home or library_home()) / "priors"


def adapters_dir(home: Path | None = None) -> Path:
    return (home or library_home()) / "adapters"


def runtimes_dir(home: Path | None = None) -> Path:
    """Priors converted for a faster CPU engine (core.runtimes); safe to delete."""
    return (home or library_home()) / "cache" / "runtimes"


def checkpoint_path(adapter_path: Path) -> Path:
    """Where a training of ``adapter_path`` keeps its checkpoint (resumed next time)."""
    return adapter_path.with_name(adapter_path.name + ".ckpt")
