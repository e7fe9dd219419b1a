"""What a restore or a generative album asks of the sampler: plain settings, without torch.

They live apart from :mod:`.diffusion` (which re-exports them) so that a command or a
window can hold restore settings without loading the diffusion engine: a repair-only
restore never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gen2res_desktop.core import defaults


@dataclass(frozen=True)
class RestoreSettings:
    strength: int = defaults.STRENGTH
    steps: int | None = defaults.RESTORE_STEPS  # None: all K ancestral steps
    seed: int = 0


@dataclass(frozen=True)
class AlbumSettings:
    count: int = defaults.ALBUM_COUNT
    strength: int = defaults.ALBUM_STRENGTH
    guidance_every: int = defaults.GUIDANCE_EVERY
    guidance_scale: float = defaults.GUIDANCE_SCALE
    batch_size: int | None = None  # None: the device's (ALBUM_BATCH, ALBUM_BATCH_CPU)
    seed: int = 0
    steps: int | None = defaults.ALBUM_STEPS  # None: all ``strength`` ancestral steps
