"""Reading the weights out of a TorchScript archive as plain data, never as code.

A TorchScript file (``torch.jit.save``) is a zip holding the module's code
(``<archive>/code/``), its object tree pickled in ``<archive>/data.pkl`` and the tensor
bytes in ``<archive>/data/<key>``. ``torch.jit.load`` compiles and runs that code; this
reader does not. It unpickles ``data.pkl`` with an unpickler that knows only how to
rebuild tensors: every ``__torch__.*`` class becomes an inert attribute holder, tensors are
rebuilt from the raw bytes by our own function, and any other global in the pickle is
refused. The object tree is then flattened to a ``{dotted.name: tensor}`` state dict. The
archive's code files are only *read as text* to learn which attributes of each class are
parameters and buffers (the ``__parameters__`` / ``__buffers__`` lists the TorchScript
serializer writes); they are never executed.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.model_file_checks import check_parameters, check_zip_members, unsafe

# Tensor storages the serializer names as ``torch.<Name>Storage`` -> torch dtype name.
_STORAGE_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_MAX_DEPTH = 256
# Members read whole besides the tensors: the object tree (LaMa's is ~100 KB) and the code
# files, read as text for names only.
_MAX_PICKLE_BYTES = 64 << 20
_MAX_CODE_BYTES = 8 << 20
_CLASS_RE = re.compile(r"^class\s+(\w+)\s*\(", re.MULTILINE)
_LIST_RE = r"^\s+{}\s*=\s*\[([^\]]*)\]"
_QUOTED_RE = re.compile(r"[\"']([^\"']*)[\"']")


def is_torchscript(path: str | Path) -> bool:
    """True for a TorchScript archive (a zip with ``constants.pkl`` and ``code/``)."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as z:
            return any(_inner(n) == "constants.pkl" for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _inner(name: str) -> str:
    """``name`` without the archive's top folder (``lama/data.pkl`` -> ``data.pkl``)."""
    return name.split("/", 1)[1] if "/" in name else name


class ScriptObject:
    """What a ``__torch__.*`` object becomes: a holder of the state it was pickled with."""

    _qualname = "?"
    _state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._state: Any = None

    def __setstate__(self, state: Any) -> None:
        self._state = state

    @property
    def attributes(self) -> dict:
        return self._state if isinstance(self._state, dict) else {}


class _StorageType:
    def __init__(self, dtype_name: str) -> None:
        self.dtype_name = dtype_name


def _identity(value: Any, *_: Any) -> Any:
    return value


class _Reader(pickle.Unpickler):
    """Unpickles ``data.pkl`` of one archive, reading storages from the same zip."""

    def __init__(self, data: bytes, zf: zipfile.ZipFile, root: str, swap: bool, label: str):
        super().__init__(io.BytesIO(data))
        self.zf, self.root, self.swap, self.label = zf, root, swap, label
        self.storages: dict[str, Any] = {}
        self.classes: dict[str, type] = {}
        self.numel = 0  # of every storage read so far

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            qualname = f"{module}.{name}"
            cls = self.classes.get(qualname)
            if cls is None:
                cls = type(name, (ScriptObject,), {"_qualname": qualname})
                self.classes[qualname] = cls
            return cls
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _identity
        if module in ("collections", "typing") and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch.jit._pickle" and (
            name == "restore_type_tag" or (name.startswith("build_") and name.endswith("list"))
        ):
            return _identity
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected persistent id")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType) or not isinstance(numel, int):
            raise pickle.UnpicklingError("unexpected storage record")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = self._read_storage(key, storage_type.dtype_name, numel)
        return self.storages[key]

    def _read_storage(self, key: str, dtype_name: str, numel: int) -> Any:
        import numpy as np
        import torch

        dtype = getattr(torch, dtype_name)
        name = f"{self.root}/data/{key}"
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise pickle.UnpicklingError(f"missing tensor data {key}") from None
        itemsize = torch.empty((), dtype=dtype).element_size()
        need = numel * itemsize
        if numel < 0 or info.file_size < need:
            raise pickle.UnpicklingError(f"tensor data {key} is shorter than its tensor")
        # the serializer writes exactly what a tensor needs: more is padding at best, a
        # bomb at worst, and is refused before it is unpacked
        if info.file_size > need:
            raise Gen2ResError(
                f"{self.label}: refused: {name} inside it holds {info.file_size} bytes, larger "
                f"than its tensor's {need}; the file is damaged or not a model file."
            )
        self.numel += numel
        check_parameters(self.numel, self.label)
        raw = self.zf.read(info)
        if self.swap and itemsize > 1:
            unit = itemsize // 2 if dtype.is_complex else itemsize
            raw = np.frombuffer(raw, dtype=f"u{unit}").byteswap().tobytes()
        if numel == 0:
            return torch.empty(0, dtype=dtype)
        return torch.frombuffer(bytearray(raw), dtype=dtype)

    @staticmethod
    def _rebuild_tensor(storage, offset, size, stride, *_rest) -> Any:
        import torch

        if not isinstance(storage, torch.Tensor):
            raise pickle.UnpicklingError("tensor without storage")
        size, stride = tuple(size), tuple(stride)
        ints = (offset, *size, *stride)
        if len(size) != len(stride) or not all(isinstance(i, int) and i >= 0 for i in ints):
            raise pickle.UnpicklingError("bad tensor shape")
        if all(size):
            last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
            if last >= storage.numel():
                raise pickle.UnpicklingError("tensor reaches past its data")
        return torch.as_strided(storage, size, stride, offset)


def _class_members(zf: zipfile.ZipFile, root: str) -> dict[str, tuple[list[str], list[str]]]:
    """``qualified class name -> (parameter names, buffer names)`` read from the archive's
    code files as text (``code/__torch__/a/b.py`` defines ``__torch__.a.b.<Class>``)."""
    members: dict[str, tuple[list[str], list[str]]] = {}
    prefix = f"{root}/code/"
    for name in zf.namelist():
        if not (name.startswith(prefix) and name.endswith(".py")):
            continue
        module = name[len(prefix) : -3].replace("/", ".")
        if zf.getinfo(name).file_size > _MAX_CODE_BYTES:
            continue  # read only for names; a file this large is not the serializer's
        try:
            text = zf.read(name).decode("utf-8", errors="replace")
        except (OSError, zipfile.BadZipFile, KeyError):
            continue
        starts = [(m.start(), m.group(1)) for m in _CLASS_RE.finditer(text)]
        for i, (start, cls) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
            body = text[start:end]
            lists = []
            for attr in ("__parameters__", "__buffers__"):
                m = re.search(_LIST_RE.format(attr), body, re.MULTILINE)
                lists.append(_QUOTED_RE.findall(m.group(1)) if m else None)
            if lists[0] is not None and lists[1] is not None:
                members[f"{module}.{cls}"] = (lists[0], lists[1])
    return members


def _flatten(root_obj: Any, members: dict[str, tuple[list[str], list[str]]]) -> dict[str, Any]:
    """The parameters and buffers under ``root_obj`` in ``nn.Module.state_dict`` order."""
    import torch

    out: dict[str, Any] = {}
    seen: set[int] = set()

    def visit(obj: ScriptObject, prefix: str, depth: int) -> None:
        if id(obj) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(obj))
        attrs = obj.attributes
        known = members.get(obj._qualname)
        if known is not None:
            names = [n for n in known[0] + known[1] if isinstance(attrs.get(n), torch.Tensor)]
        else:  # no code record for this class: every tensor attribute counts
            names = [n for n, v in attrs.items() if isinstance(v, torch.Tensor)]
        for n in names:
            out[prefix + n] = attrs[n]
        for n, v in attrs.items():
            if isinstance(v, ScriptObject):
                visit(v, f"{prefix}{n}.", depth + 1)

    if isinstance(root_obj, ScriptObject):
        visit(root_obj, "", 0)
    elif isinstance(root_obj, dict):
        out = {str(k): v for k, v in root_obj.items() if isinstance(v, torch.Tensor)}
    return out


def _read_small(zf: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """A member that is small in every real archive, refused unread when it says it is not."""
    size = zf.getinfo(name).file_size
    if size > limit:
        raise Gen2ResError(
            f"{path}: refused: {name} inside it unpacks to {size} bytes, far more than a "
            "TorchScript model's; the file is damaged or not a model file."
        )
    return zf.read(name)


def read_torchscript_state_dict(path: str | Path) -> dict[str, Any]:
    """The parameters and buffers of the TorchScript module in ``path`` as a flat
    ``{dotted.name: tensor}`` dict, the same as ``torch.jit.load(path).state_dict()`` but
    without loading (or running) any of the archive's code. Raises Gen2ResError naming the
    file if it is damaged or holds anything but data."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            roots = [n[: -len("/data.pkl")] for n in zf.namelist() if n.endswith("/data.pkl")]
            roots = [r for r in roots if "/" not in r]
            if len(roots) != 1:
                raise Gen2ResError(f"{path}: not a TorchScript model (no single data.pkl).")
            root = roots[0]
            check_zip_members(zf, path)  # before any member is unpacked
            order = b"little"
            if f"{root}/byteorder" in zf.namelist():
                order = _read_small(zf, f"{root}/byteorder", 16, path).strip()
            if order not in (b"little", b"big"):
                raise Gen2ResError(f"{path}: damaged TorchScript model (unknown byte order).")
            swap = order.decode() != sys.byteorder
            pkl = _read_small(zf, f"{root}/data.pkl", _MAX_PICKLE_BYTES, path)
            reader = _Reader(pkl, zf, root, swap, str(path))
            obj = reader.load()
            state = _flatten(obj, _class_members(zf, root))
    except Gen2ResError:
        raise
    except pickle.UnpicklingError as e:
        if str(e).startswith("forbidden global"):
            raise unsafe(path, str(e).removeprefix("forbidden global ")) from e
        raise Gen2ResError(f"{path}: damaged TorchScript model ({e}).") from e
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, TypeError, RuntimeError) as e:
        raise Gen2ResError(f"{path}: damaged or incomplete TorchScript model ({e}).") from e
    except Exception as e:  # noqa: BLE001 - a crafted pickle can raise almost anything
        raise Gen2ResError(f"{path}: unreadable TorchScript model ({type(e).__name__}).") from e
    if not state:
        raise Gen2ResError(f"{path}: the TorchScript model holds no weights.")
    return state
