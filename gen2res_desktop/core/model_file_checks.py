"""Model files from outside, checked before they are trusted with memory or with words.

Every weights file the user brings (an ADM checkpoint, a prior's ``.bin``, a photo model)
passes the same doors:

- :func:`load_torch_weights` reads a PyTorch file as data only (``weights_only``), after the
  zip's own index has been read: a member that says it unpacks to far more than it packs
  (a zip bomb) is refused before a byte of it is inflated. PyTorch's errors are many lines
  long and advise loading the file with ``weights_only`` off, that is, running its code;
  they become one line: the file is damaged, or it is refused for safety.
- :func:`check_zip_members` is that index check, for any zip of weights (TorchScript too).
- :func:`check_parameters` weighs a model from its tensor shapes alone, before anything of
  that size is built: stride-0 tensors let a file of kilobytes describe billions of
  parameters, and building them fills the memory.
"""

from __future__ import annotations

import math
import pickle
import re
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError

# The largest model Gen2Res takes: its priors have ~114 M parameters (the paper's ADM ones
# ~550 M) and its photo models ~50 M at most; 2 billion is 8 GB of fp32 weights.
MAX_PARAMETERS = 2_000_000_000
# Copies of the weights any load holds at once (those read and the model built from them),
# in fp32: a model whose copies exceed the free memory cannot load, so it is refused
# rather than left to fill the memory. A conversion holds more; this refuses only the sure.
PEAK_COPIES = 2
_FP32 = 4
# Deflate packs zeros at most ~1030:1; real weights (noise-like floats) barely pack. A
# member past both limits unpacks to far more than its file holds: a zip bomb.
_BOMB_RATIO = 100
_BOMB_FLOOR = 16 << 20
# Pickle opcodes that build objects by calling a class (INST, OBJ, EXT1/2/4): a payload,
# where other unknown opcodes only mean garbage.
_OBJECT_OPCODES = {ord("i"), ord("o"), 0x82, 0x83, 0x84}


def damaged(path: str | Path) -> Gen2ResError:
    return Gen2ResError(f"{path}: the file is damaged or not a model file.")


def unsafe(path: str | Path, what: str = "") -> Gen2ResError:
    found = f" ({what})" if what else ""
    return Gen2ResError(
        f"{path}: refused for safety: the file contains code or objects that are not plain "
        f"weights{found}."
    )


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.0f} {unit}" if n / scale >= 10 else f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation now; None where that cannot be told."""
    try:
        import psutil  # not a dependency: used where installed

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def parameter_count(shapes: Iterable[Sequence[int]]) -> int:
    return sum(math.prod(shape) for shape in shapes)


def check_parameters(parameters: int, label: str | Path, *, copies: int = PEAK_COPIES) -> None:
    """Refuse a model of ``parameters`` past :data:`MAX_PARAMETERS`, or one whose
    ``copies`` fp32 copies would not fit in the memory free now."""
    if parameters > MAX_PARAMETERS:
        raise Gen2ResError(
            f"{label}: refused: it describes a model of {parameters / 1e9:.1f} billion "
            f"parameters ({_size(parameters * _FP32)} of weights); Gen2Res takes models of up "
            f"to {MAX_PARAMETERS / 1e9:.0f} billion parameters."
        )
    need = parameters * _FP32 * copies
    free = available_memory()
    if free is not None and need > free:
        raise Gen2ResError(
            f"{label}: a model of {parameters / 1e6:.0f} million parameters needs about "
            f"{_size(need)} of memory to load, and {_size(free)} is free; close other "
            "programs and try again."
        )


def check_zip_members(zf: zipfile.ZipFile, label: str | Path) -> None:
    """Refuse a zip whose index says it unpacks to far more than it packs (one member or
    all together), or to more than the memory free now; read before anything is inflated.
    Python's and PyTorch's readers both stop at the size the index gives, so the index
    bounds what they allocate."""
    unpacked = packed = 0
    for info in zf.infolist():
        if info.file_size > _BOMB_FLOOR and info.file_size > _BOMB_RATIO * info.compress_size:
            raise Gen2ResError(
                f"{label}: refused: {info.filename} inside it unpacks to "
                f"{_size(info.file_size)} from {_size(info.compress_size)} (a zip bomb); the "
                "file is damaged or not a model file."
            )
        unpacked += info.file_size
        packed += info.compress_size
    if unpacked > _BOMB_FLOOR and unpacked > _BOMB_RATIO * packed:
        raise Gen2ResError(
            f"{label}: refused: it unpacks to {_size(unpacked)} from {_size(packed)} (a zip "
            "bomb); the file is damaged or not a model file."
        )
    free = available_memory()
    if free is not None and unpacked > free:
        raise Gen2ResError(
            f"{label}: it unpacks to {_size(unpacked)}, more than the {_size(free)} of memory "
            "free; close other programs and try again."
        )


def _payload(e: pickle.UnpicklingError) -> str | None:
    """What in a pickle ``weights_only`` refused, if it is code or an object (a name, or
    ''); None when the refusal only means the bytes are not a pickle."""
    text = str(e)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return found.group(1)
    if re.search(r"global|Unsupported class", text, re.IGNORECASE):
        return ""
    operand = re.search(r"Unsupported operand (\d+)", text)
    if operand and int(operand.group(1)) in _OBJECT_OPCODES:
        return ""
    return None


def load_torch_weights(path: str | Path) -> object:
    """What a PyTorch file (``.pt``, ``.pth``, ``.ckpt``, ``.bin``) holds, read as data only;
    one line naming the file when it is damaged, a zip bomb or more than plain weights."""
    import torch

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise damaged(path)
        if zipfile.is_zipfile(path):  # torch.save's format; older files are a bare pickle
            with zipfile.ZipFile(path) as zf:
                check_zip_members(zf, path)
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as e:
        raise damaged(path) from e
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        what = _payload(e)
        raise (damaged(path) if what is None else unsafe(path, what)) from e
    except Exception as e:  # noqa: BLE001 - a damaged file fails in many ways ([Errno 22]...)
        if isinstance(e, MemoryError) or "allocate memory" in str(e):
            raise Gen2ResError(
                f"{path}: not enough memory to read this model file; close other programs "
                "and try again."
            ) from e
        raise damaged(path) from e
