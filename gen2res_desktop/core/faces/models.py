"""Offline dlib face models: where their files are, loaded lazily and once, used under a lock.

The model files ship in the ``face_recognition_models`` package, whose ``__init__`` imports
``pkg_resources`` (gone from recent setuptools), so its folder is found from the import
spec without executing the package.

dlib does not promise that one detector or predictor object may be called from several
threads at once, and the GUI runs detection in worker threads, so every call into a dlib
model goes through :data:`DLIB_LOCK`.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

from gen2res_desktop.core.errors import Gen2ResError

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"
RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"

# Reentrant so a helper holding it may call another helper that takes it too.
DLIB_LOCK = threading.RLock()
_cache: dict[str, Any] = {}

_APP_HINT = "Reinstall Gen2Res to bring the face models back."
_CLI_HINT = "Reinstall them with: pip install --force-reinstall face_recognition_models"


def _missing(message: str) -> Gen2ResError:
    return Gen2ResError(message, app=_APP_HINT, cli=_CLI_HINT)


def models_dir() -> Path:
    """Folder holding the dlib model files of ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        raise _missing("The face models package is not installed.")
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        folder = Path(root) / "models"
        if folder.is_dir():
            return folder
    raise _missing("The face models package has no models folder.")


def model_path(filename: str) -> Path:
    path = models_dir() / filename
    if not path.is_file() or path.stat().st_size == 0:
        raise _missing(f"Face model file missing: {path}.")
    return path


def _load(key: str, factory) -> Any:
    with DLIB_LOCK:
        if key not in _cache:
            try:
                _cache[key] = factory()
            except RuntimeError as e:  # dlib raises RuntimeError for unreadable model files
                raise _missing(f"Cannot load the face model {key}: {e}.") from e
        return _cache[key]


def hog_detector() -> Any:
    import dlib

    return _load("hog", dlib.get_frontal_face_detector)


def cnn_detector() -> Any:
    import dlib

    return _load(
        CNN_DETECTOR, lambda: dlib.cnn_face_detection_model_v1(str(model_path(CNN_DETECTOR)))
    )


def shape_predictor() -> Any:
    import dlib

    return _load(LANDMARKS_68, lambda: dlib.shape_predictor(str(model_path(LANDMARKS_68))))


def recognition_model() -> Any:
    import dlib

    return _load(RECOGNITION, lambda: dlib.face_recognition_model_v1(str(model_path(RECOGNITION))))
