"""What the photo repair does, as one plain record the CLI, the GUI and the library share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from gen2res_desktop.core.errors import Gen2ResError

OPENCV = "opencv"
OFF = "off"
AUTO = "auto"
UPSCALE_FACTORS = (1, 2, 4)
MONOCHROME_CHOICES = ("keep", "neutral", "colour")


@dataclass(frozen=True)
class RepairSettings:
    """Each stage can be switched off; strengths run from 0 (nothing) to 1 (strongest).

    ``damage_detector`` names what finds the damage: ``auto`` (an installed damage-detection
    model when there is one, else the built-in detector), ``opencv`` (built in) or the name
    of an installed photo model of task ``damage``.
    ``inpaint`` / ``denoise`` name the method: ``opencv`` (built in), ``off``, or the name of
    an installed photo model; ``inpaint="auto"`` uses an installed inpainting model when
    there is one, else OpenCV. ``upscale_model`` None enlarges with OpenCV (Lanczos).
    ``monochrome`` says what happens to a black-and-white or sepia photo: ``keep`` (stays
    monochrome with its tint), ``neutral`` (stays monochrome, tint removed), ``colour``
    (treated as a colour photo).
    ``colourise`` asks for colour on a black-and-white print: ``off``, ``auto`` (the first
    installed colouriser) or the name of an installed photo model of task ``colour``. It is
    not a repair stage: it runs after the faces, and its result is kept as a separate
    restoration beside the monochrome one.
    """

    scratches: bool = True
    scratch_sensitivity: float = 0.5
    damage_detector: str = AUTO
    inpaint: str = AUTO
    denoise: str = OPENCV
    denoise_strength: float = 0.5
    sharpen: float = 0.3
    upscale: int = 1
    upscale_model: str | None = None
    colour: bool = True
    colour_strength: float = 0.7
    monochrome: str = "keep"
    colourise: str = OFF

    def __post_init__(self) -> None:
        for name in ("scratch_sensitivity", "denoise_strength", "sharpen", "colour_strength"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
                label = name.replace("_", " ")
                raise Gen2ResError(f"The {label} must be between 0 and 1 (got {value!r}).")
        if self.upscale not in UPSCALE_FACTORS:
            raise Gen2ResError(f"Photos can be enlarged 1, 2 or 4 times (got {self.upscale!r}).")
        if self.monochrome not in MONOCHROME_CHOICES:
            raise Gen2ResError(
                f"Unknown choice for black-and-white photos '{self.monochrome}' "
                f"(use {', '.join(MONOCHROME_CHOICES)})."
            )
        for name in ("inpaint", "denoise", "damage_detector", "colourise"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise Gen2ResError(f"The {name} method needs a name.")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> RepairSettings:
        """Settings saved by any version: unknown keys are ignored, bad values refused."""
        if not isinstance(data, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_changes(self, **changes: Any) -> RepairSettings:
        return replace(self, **changes)

    @property
    def models_named(self) -> list[str]:
        """The photo models these settings ask for by name (not the built-in methods)."""
        names = [
            m
            for m in (self.damage_detector, self.inpaint, self.denoise)
            if m not in (OPENCV, OFF, AUTO)
        ]
        if self.upscale > 1 and self.upscale_model:
            names.append(self.upscale_model)
        if self.colourise not in (OFF, AUTO):
            names.append(self.colourise)
        return names


# Everything off: the photo passes through unchanged (the faces alone are restored).
NO_REPAIR = RepairSettings(
    scratches=False, inpaint=OFF, denoise=OFF, sharpen=0.0, upscale=1, colour=False
)
