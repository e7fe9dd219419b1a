"""The dev and test splits: which photos, aged by which generator, at which size.

Dev (where constants are tuned): the original set, generator 1 (:mod:`.degrade`), the
scikit-image photos astronaut, coffee, chelsea, camera and rocket and toy portraits from
``TOY_SEED``. Test (what is reported): generator 2 (:mod:`.degrade_real`) on other photos:
scikit-image's other bundled photos, toy portraits from another seed range with
catchlights in their eyes, and the astronaut, the one real face photo scikit-image
ships, at another size and aged by generator 2 (it is also a dev photo: its face is the
only real one to test the facial-feature rule on). Each aged print is made once per
process and kept in memory; the same seed gives the same print on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from benchmarks.oldphoto import faces
from benchmarks.oldphoto.degrade import Aged, age
from benchmarks.oldphoto.degrade_held import age_held
from benchmarks.oldphoto.degrade_real import age_real
from benchmarks.oldphoto.photos import TOY_SEED, Clean, natural, photo_set
from benchmarks.oldphoto.textures import texture

TEST_TOY_SEED = TOY_SEED + 500_000  # far from the dev portraits and the toy-world's training
HELD_TOY_SEED = TOY_SEED + 700_000  # the held split's portraits: seen by no split and no training
# dev: the generator the built-in detector learned from; held: one it never saw, to choose
# between networks on; test: another it never saw, to report
GENERATOR_OF = {"dev": 1, "held": 4, "test": 2}


@dataclass(frozen=True)
class Case:
    name: str
    split: str  # dev or test
    photo: str  # natural photo name, "toy", or "texture KIND" (procedural, held only)
    megapixels: float  # natural photos; toy portraits use ``size``
    seed: int
    profile: str = "mixed"  # generator 2's profile; generator 1 has none ("dev")
    size: int = 0  # toy portrait side
    toy: int = -1  # toy portrait index
    large: bool = False  # a speed case: fewer runs
    portrait: bool = False  # facial features are scored

    @property
    def generator(self) -> int:
        return GENERATOR_OF[self.split]


@dataclass(frozen=True)
class Scale:
    name: str
    dev: tuple[Case, ...]
    test: tuple[Case, ...]
    figure_rows: int
    held: tuple[Case, ...] = ()


@lru_cache(maxsize=64)
def clean_photo(case: Case) -> Clean:
    if case.photo.startswith("texture "):
        side = int(round((case.megapixels * 1e6) ** 0.5))
        kind = case.photo.split(" ", 1)[1]
        return Clean(case.name, texture(kind, case.seed, side), False, "a texture: all of it")
    if case.photo != "toy":
        return natural(case.photo, case.megapixels)
    if case.split == "dev":
        return photo_set((), 0, case.toy + 1, case.size)[case.toy]
    img = faces.catchlight_portrait(_toy_seed(case), case.toy, case.size)
    mono = case.profile == "torn"  # one toned portrait
    if mono:
        from benchmarks.oldphoto.photos import sepia

        img = sepia(img)
    return Clean(case.name, img, mono, "catchlights, eyelids, brows")


@lru_cache(maxsize=64)
def aged(case: Case) -> Aged:
    clean = clean_photo(case)
    if case.generator == 1:
        return age(clean.image, case.seed, monochrome=clean.monochrome)
    if case.generator == 4:
        return age_held(clean.image, case.seed, monochrome=clean.monochrome, profile=case.profile)
    return age_real(clean.image, case.seed, monochrome=clean.monochrome, profile=case.profile)


def known_faces(case: Case) -> list | None:
    """The renderer's own landmarks for a toy portrait (None for a natural photo)."""
    if case.photo != "toy":
        return None
    return [faces.toy_face(_toy_seed(case), case.toy, case.size)]


def _toy_seed(case: Case) -> int:
    return {"dev": TOY_SEED, "held": HELD_TOY_SEED, "test": TEST_TOY_SEED}[case.split] + case.toy


def _toy(name: str, split: str, seed: int, profile: str, size: int, toy: int) -> Case:
    """A toy portrait case: its facial features are scored."""
    return Case(name, split, "toy", 0, seed, profile, size=size, toy=toy, portrait=True)


def _dev(natural_names: tuple[str, ...], mp: float, seeds: int, toys: int, size: int) -> list:
    cases = [
        Case(
            n if k == 0 else f"{n} #{k + 1}",
            "dev",
            n,
            mp,
            1000 + 10 * i + k,
            "dev",
            portrait=n == "astronaut",
        )  # fmt: skip
        for i, n in enumerate(natural_names)
        for k in range(seeds)
    ]
    cases += [
        _toy(f"toy portrait {t}", "dev", 1000 + 10 * (len(natural_names) + t), "dev", size, t)
        for t in range(toys)
    ]
    return cases


# The held split (generator 4): the dev photos (their clean selves were in training) with
# test's profiles, and portraits no split or training saw
_CPU_HELD = [
    ("astronaut", 0.8, "mixed"),
    ("astronaut", 0.8, "scratched"),
    ("coffee", 0.8, "torn"),
    ("coffee", 0.8, "cracked"),
    ("chelsea", 0.8, "flaking"),
    ("chelsea", 0.8, "craquelure"),
    ("camera", 0.8, "creased"),
    ("camera", 0.8, "inked"),
    ("rocket", 0.8, "stained"),
    ("rocket", 0.8, "mixed"),
]
_CPU_HELD_TOYS = [(400, "scratched"), (700, "torn"), (960, "flaking"), (600, "craquelure"), (820, "mixed")]  # fmt: skip
# and procedural texture photos, aged like the rest: the test split's gravel, grass and
# brick are the only real ones, and the network takes parts of such textures for damage
_CPU_HELD_TEXTURES = [
    ("pebbles", "stained"),
    ("shingle", "flaking"),
    ("sand", "mixed"),
    ("grass", "cracked"),
    ("bark", "creased"),
    ("soil", "craquelure"),
    ("foliage", "inked"),
    ("knit", "scratched"),
]


def _held(photos: list, toys: list, textures: list | tuple = ()) -> tuple[Case, ...]:
    cases = [
        Case(f"{n} ({prof}, {mp:g} MP)", "held", n, mp, 7000 + i, prof, portrait=n == "astronaut")
        for i, (n, mp, prof) in enumerate(photos)
    ]
    cases += [
        _toy(f"toy portrait H{t} ({prof}, {size} px)", "held", 7100 + t, prof, size, t)
        for t, (size, prof) in enumerate(toys)
    ]
    # texture seeds 7200 on: train_detector's textures are seeds 1000 on
    cases += [
        Case(f"{kind} ({prof}, {mp:g} MP)", "held", f"texture {kind}", mp, 7200 + i, prof)
        for i, (kind, mp, prof) in enumerate(textures)
    ]
    return tuple(cases)


SMOKE = Scale(
    "smoke",
    dev=tuple(_dev(("astronaut", "camera"), 0.05, 1, 1, 192)),
    test=(
        Case("coins (scratched)", "test", "coins", 0.06, 5001, "scratched"),
        _toy("toy portrait T0 (craquelure)", "test", 5002, "craquelure", 300, 0),
    ),
    figure_rows=2,
    held=_held([("camera", 0.05, "mixed")], [(256, "torn")], [("knit", 0.05, "scratched")]),
)

_CPU_TEST = [
    ("motorcycle", 1.0, "mixed"),
    ("motorcycle", 1.0, "scratched"),
    ("clock", 0.5, "craquelure"),
    ("clock", 0.5, "torn"),
    ("coins", 0.5, "scratched"),
    ("coins", 0.5, "cracked"),
    ("moon", 0.36, "flaking"),
    ("brick", 0.8, "creased"),
    ("gravel", 0.4, "stained"),
    ("grass", 0.6, "cracked"),
    ("grass", 0.6, "inked"),
    ("astronaut", 2.0, "mixed"),
]
_CPU_TOYS = [
    (300, "scratched"),
    (640, "craquelure"),
    (1024, "torn"),
    (800, "inked"),
    (900, "flaking"),
    (720, "creased"),
]
CPU = Scale(
    "cpu",
    dev=(
        *_dev(("astronaut", "coffee", "chelsea", "camera", "rocket"), 0.8, 2, 3, 896),
        Case("coffee (3 MP)", "dev", "coffee", 3.0, 2000, "dev", large=False),
    ),
    test=(
        *(
            Case(
                f"{n} ({prof}, {mp:g} MP)", "test", n, mp, 5000 + i, prof, portrait=n == "astronaut"
            )  # fmt: skip
            for i, (n, mp, prof) in enumerate(_CPU_TEST)
        ),
        *(
            _toy(f"toy portrait T{t} ({prof}, {size} px)", "test", 5100 + t, prof, size, t)
            for t, (size, prof) in enumerate(_CPU_TOYS)
        ),
        Case(
            "motorcycle (mixed, 10.7 MP)", "test", "motorcycle", 10.7, 5200, "mixed", large=True
        ),  # fmt: skip
        Case("moon (torn, 5.8 MP)", "test", "moon", 5.8, 5201, "torn", large=True),
    ),
    figure_rows=6,
    held=_held(_CPU_HELD, _CPU_HELD_TOYS, [(k, 0.45, prof) for k, prof in _CPU_HELD_TEXTURES]),
)
SCALES = {s.name: s for s in (SMOKE, CPU)}


def feature_mask(case: Case, clean: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The facial features of a portrait case, from landmarks found on the CLEAN photo:
    dlib's for a natural photo, the renderer's for a toy portrait (dlib misses most)."""
    if not case.portrait:
        return None, ""
    known = known_faces(case)
    if known is not None:
        return faces.feature_mask(clean.shape[:2], [f.landmarks for f in known]), "renderer"
    from gen2res_desktop.core.faces import detect_faces

    found = detect_faces(clean, with_descriptors=False)
    if not found:
        return None, "no face found"
    return faces.feature_mask(clean.shape[:2], [f.landmarks for f in found]), "dlib"
