"""What every learned photo model does around its network: check the photo it is given, run
it in tiles, and when memory runs out try again with smaller tiles before giving up in one
sentence. Shared by the spandrel-loaded models and the scratch detector."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from gen2res_desktop.core.errors import Gen2ResError, OutOfMemory


def check_rgb8(rgb: np.ndarray, name: str) -> np.ndarray:
    """``rgb`` as an array, or a Gen2ResError when it is not 8-bit RGB."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise Gen2ResError(
            f"The photo model '{name}' needs an 8-bit RGB image (got {rgb.dtype} "
            f"{'x'.join(map(str, rgb.shape))})."
        )
    return rgb


def is_oom(e: BaseException) -> bool:
    if isinstance(e, torch.OutOfMemoryError):
        return True
    return isinstance(e, RuntimeError) and "can't allocate memory" in str(e)


def brief(e: BaseException, limit: int = 200) -> str:
    """An exception's message on one short line."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_shrinking(
    run: Callable[[int], np.ndarray],
    tile: int,
    *,
    name: str,
    device: torch.device,
    smallest: int,
    retry: Callable[[BaseException], bool] = lambda e: False,
) -> np.ndarray:
    """``run(tile)``; out of memory, again with half the tile while it stays at least
    ``smallest``. Any other failure is tried again only if ``retry(error)`` says so (after
    changing what made it fail), else it is one Gen2ResError naming the model."""
    while True:
        try:
            with torch.inference_mode():
                return run(tile)
        except (RuntimeError, torch.OutOfMemoryError) as e:
            if is_oom(e):
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                if tile // 2 >= smallest:
                    tile //= 2  # smaller tiles need less memory: try again
                    continue
                raise OutOfMemory(
                    f"The {'GPU' if device.type != 'cpu' else 'computer'} ran out of memory "
                    f"running the photo model '{name}': close other programs, try a smaller "
                    "photo, or run on the CPU (Settings → Device)."
                ) from e
            if retry(e):
                continue
            raise Gen2ResError(f"The photo model '{name}' failed on this photo: {brief(e)}") from e
