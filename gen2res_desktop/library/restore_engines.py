"""The engines a restore loads, each once and only when it is needed: the priors (and
with them torch) where faces are regenerated, the photo models where a repair stage
finds one installed for its task. A repair-only restore loads neither."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gen2res_desktop.library.face_plans import FacePlan
from gen2res_desktop.library.models import Subject
from gen2res_desktop.library.store import Library

if TYPE_CHECKING:
    from gen2res_desktop.core.photo.learned import PhotoModel
    from gen2res_desktop.core.priors import LoadedPrior, PriorInfo


class PriorCache:
    """Loaded priors by name, so a photo with several faces loads each prior once."""

    def __init__(self, lib: Library, device: str | None) -> None:
        from gen2res_desktop.core.priors import PriorRegistry

        self.registry = PriorRegistry(lib.home)
        self.device = device
        self._loaded: dict[str, LoadedPrior] = {}

    def get(self, info: PriorInfo) -> LoadedPrior:
        from gen2res_desktop.core.priors import load_prior

        if info.name not in self._loaded:
            self._loaded[info.name] = load_prior(info, self.device)
        return self._loaded[info.name]

    def for_subject(self, subject: Subject | None) -> LoadedPrior:
        """The subject's prior (found by kind when its chosen one is not installed); a face
        prior for faces of no subject."""
        from gen2res_desktop.core.priors import prior_kind_for_subject

        if subject is None:
            return self.get(self.registry.for_kind("face"))
        kind = prior_kind_for_subject(subject.kind)
        return self.get(self.registry.for_kind(kind, subject.prior))

    def for_plan(self, plan: FacePlan, base: LoadedPrior) -> LoadedPrior:
        """An adapter's own prior (it fits no other weights), else the subject's."""
        if plan.adapter is not None and plan.adapter.prior_name:
            return self.get(self.registry.get(plan.adapter.prior_name))
        return self.for_subject(plan.subject) if plan.subject else base


_model_caches: dict[tuple[Path, str | None], LazyPhotoModels] = {}


class LazyPhotoModels:
    """The library's photo models as a repair stage asks for them (a
    :class:`~gen2res_desktop.core.photo.learned.ModelSource`): the loader, and with it torch,
    is imported only once a stage finds a model installed for its task, so a repair with the
    built-in methods stays light."""

    def __init__(self, home: Path, device: str | None) -> None:
        self.home, self.device = home, device
        self._cache = None

    def _loader(self):
        if self._cache is None:
            from gen2res_desktop.core.photo.spandrel_models import PhotoModelCache

            self._cache = PhotoModelCache(self.home, self.device)
        return self._cache

    def installed(self, task: str) -> list[str]:
        if self._cache is None:
            from gen2res_desktop.core.photo.models import PhotoModelRegistry

            if not any(i.task == task for i in PhotoModelRegistry(self.home).list()):
                return []
        return self._loader().installed(task)

    def load(self, name: str) -> PhotoModel:
        return self._loader().load(name)


def photo_models(lib: Library, device: str | None) -> LazyPhotoModels:
    """The library's installed photo models, loaded when a repair stage asks for one and
    kept for the next photo (restoring an album loads each model once)."""
    key = (lib.home.resolve(), device)
    if key not in _model_caches:
        _model_caches.clear()  # one library and device at a time: free the old models
        _model_caches[key] = LazyPhotoModels(lib.home, device)
    return _model_caches[key]
