"""The toy world's identity score: the analogue of the paper's ArcFace cosine (Table 2).

A small CNN embeds a photo into a 128-d unit vector. It is trained with a CosFace
(additive cosine margin) classification loss on clean photos of the world's *training*
identities (seeds 0..N-1, the prior's training identities), never on a held-out subject.
Each photo of an identity already differs in pose (shift, scale, rotation), lighting,
expression, clothes and background, and training adds random shifts of up to two pixels,
along with a random global contrast, lift and colour cast, so the embedding learns what
stays the same across a subject's photos: the moles' pattern, face shape, hair, skin and
eye colour (relative to each other: a faded or yellowed print is still the same person). Shifts and the max-pooling make it
tolerant to a pixel of misplacement (the pixel-exact mole metric of the last run was not).

The identity score of an image is its mean cosine similarity to the subject's clean
reference photos (photos nobody trains on: not the album, not the test photos). The
metric's own sanity numbers come from :func:`sanity`: same- vs other-identity similarity
and retrieval on held-out identities, clean and degraded, the effect of a one-pixel shift,
and how much the score drops when a single identity cue of a photo is swapped for another
identity's.

Like the prior it is cached by a hash of its config, and a copy is committed under
``assets/`` (see assets/README.md), so the benchmark's numbers reproduce exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from benchmarks.toyworld.degrade import degrade
from benchmarks.toyworld.world import (
    WORLD_VERSION,
    make_identity,
    render,
    render_training_photos,
)
from gen2res_desktop.core.atomic import atomic_path, atomic_write_text
from gen2res_desktop.core.hashing import sha256_file

TRAINER_VERSION = 1
ASSETS = Path(__file__).resolve().parent / "assets"
# Held-out identities for the metric's own sanity check (far from the training seeds and
# from the benchmark's subjects, which start at 1_000_000).
SANITY_IDS = 3_000_000
REF_PHOTO0 = 2000  # reference photos of a subject: numbered apart from album and test photos


@dataclass(frozen=True)
class IdNetConfig:
    """Everything that decides the identity embedding's weights (its cache key)."""

    resolution: int
    identities: int  # training identities 0..N-1 (never a held-out subject)
    photos_per_identity: int
    channels: tuple[int, ...]
    dim: int
    steps: int
    batch_size: int
    lr: float
    margin: float  # CosFace margin on the cosine of the true class
    scale: float  # logit scale
    max_shift: int  # random shift augmentation, pixels
    # random global contrast, brightness and colour cast (the range of a faded print), so
    # the embedding reads colours relative to each other, as a face recogniser does
    tone_jitter: bool = True
    seed: int = 0


class IdNet(nn.Module):
    """Conv-BN-ReLU pairs with max-pooling, then a linear embedding (no global pooling:
    where a cue is, e.g. which cheek holds a mole, is part of the identity)."""

    def __init__(self, config: IdNetConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for c in config.channels:
            for a, b in ((cin, c), (c, c)):
                layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            cin = c
        side = config.resolution // 2 ** len(config.channels)
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.embed = nn.Sequential(
            nn.Linear(cin * side * side, config.dim), nn.BatchNorm1d(config.dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(self.features(x)), dim=1)


def cache_key(config: IdNetConfig) -> str:
    d = asdict(config) | {"world": WORLD_VERSION, "trainer": TRAINER_VERSION}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def asset_name(config: IdNetConfig) -> str:
    return f"idnet-{config.resolution}px-{cache_key(config)}"


def to_tensor(images: np.ndarray | list[np.ndarray]) -> torch.Tensor:
    """(N, R, R, 3) uint8 (or floats in [0, 1]) -> (N, 3, R, R) in [-1, 1]."""
    arr = np.stack(images) if isinstance(images, list) else images
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
    if arr.dtype == np.uint8:
        x = x / 255.0
    return x * 2 - 1


def _training_photos(config: IdNetConfig, log: Callable[[str], None]) -> np.ndarray:
    start = time.monotonic()
    images = render_training_photos(
        config.identities, config.photos_per_identity, config.resolution
    )
    log(f"identity net: rendered {len(images)} training photos in {time.monotonic() - start:.0f} s")
    return images


def _shift(x: torch.Tensor, gen: torch.Generator, max_shift: int) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels in x and y (edge pixels repeat)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (max_shift,) * 4, mode="replicate")
    d = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    return torch.stack(
        [pad[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(d.tolist())]
    )


def _tone(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per image: contrast 0.55-1.1 about the mean, a lift of -0.05..0.12 and a per-channel
    gain of 0.85-1.15 (in [0, 1] units; the input and output are in [-1, 1])."""
    n = x.shape[0]

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, generator=gen)

    y = (x + 1) / 2
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    y = (y - mean) * u(0.55, 1.1, n, 1, 1, 1) + mean + u(-0.05, 0.12, n, 1, 1, 1)
    y = (y * u(0.85, 1.15, n, 3, 1, 1)).clamp(0, 1)
    return y * 2 - 1


def train_idnet(config: IdNetConfig, log: Callable[[str], None]) -> IdNet:
    photos = to_tensor(_training_photos(config, log))
    labels = torch.arange(config.identities).repeat_interleave(config.photos_per_identity)
    torch.manual_seed(config.seed)
    net = IdNet(config).train()
    classes = nn.Parameter(torch.randn(config.identities, config.dim) * 0.01)
    optim = torch.optim.AdamW([*net.parameters(), classes], lr=config.lr, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(config.seed)
    start, loss_sum, hits = time.monotonic(), 0.0, 0
    for step in range(config.steps):
        lr = config.lr * 0.5 * (1 + np.cos(np.pi * step / config.steps))  # cosine decay
        for group in optim.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, photos.shape[0], (config.batch_size,), generator=gen)
        x = _shift(photos[idx], gen, config.max_shift)
        if config.tone_jitter:
            x = _tone(x, gen)
        y = labels[idx]
        cos = net(x) @ F.normalize(classes, dim=1).T
        logits = config.scale * (cos - config.margin * F.one_hot(y, config.identities))
        loss = F.cross_entropy(logits, y)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        loss_sum += float(loss.detach())
        hits += int((cos.argmax(1) == y).sum())
        if (step + 1) % 250 == 0 or step + 1 == config.steps:
            n = (step % 250) + 1
            log(
                f"identity net step {step + 1}/{config.steps}  loss {loss_sum / n:.3f}  "
                f"train acc {hits / (n * config.batch_size):.2f}  "
                f"{(time.monotonic() - start) / (step + 1) * 1000:.0f} ms/step"
            )
            loss_sum, hits = 0.0, 0
    return net.eval()


def ensure_idnet(
    config: IdNetConfig, cache: Path, log: Callable[[str], None] = print
) -> tuple[IdNet, dict]:
    """The identity net for ``config``: the committed asset, else the cache, else trained.

    Returns the net (eval mode, CPU) and a record of where it came from.
    """
    name = asset_name(config)
    for folder in (ASSETS / name, cache / name):
        weights = folder / "idnet.safetensors"
        if weights.is_file():
            net = IdNet(config)
            net.load_state_dict(load_file(str(weights)))
            record = json.loads((folder / "idnet.json").read_text())
            record["sha256"] = sha256_file(weights)
            record["loaded_from"] = str(folder)
            return net.eval(), record
    folder = cache / name
    folder.mkdir(parents=True, exist_ok=True)
    start, cpu = time.monotonic(), time.process_time()
    net = train_idnet(config, log)
    weights = folder / "idnet.safetensors"
    with atomic_path(weights) as tmp:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
    record = asdict(config) | {
        "key": cache_key(config),
        "seconds": round(time.monotonic() - start, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "torch_threads": torch.get_num_threads(),
    }
    atomic_write_text(folder / "idnet.json", json.dumps(record, indent=2))
    log(f"identity net trained in {record['seconds']:.0f} s")
    record["sha256"] = sha256_file(weights)
    record["loaded_from"] = str(folder)
    return net.eval(), record


def export_asset(config: IdNetConfig, cache: Path) -> Path:
    """Copy the cached identity net of ``config`` into ``assets/``."""
    import shutil

    src = cache / asset_name(config)
    if not (src / "idnet.safetensors").is_file():
        raise FileNotFoundError(f"{src}: no trained identity net to export (train it first)")
    dest = ASSETS / asset_name(config)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
    return dest


class IdentityScorer:
    """Embeds images and scores them against a subject's clean reference photos."""

    def __init__(self, net: IdNet) -> None:
        self.net = net.eval()

    @torch.no_grad()
    def embed(self, images: np.ndarray | list[np.ndarray]) -> np.ndarray:
        out = [self.net(to_tensor(images[i : i + 256])) for i in range(0, len(images), 256)]
        return torch.cat(out).numpy().astype(np.float64)

    def references(self, images: list[np.ndarray]) -> np.ndarray:
        """(n_ref, dim) embeddings of a subject's reference photos."""
        return self.embed(images)

    def score(self, images: np.ndarray | list[np.ndarray], refs: np.ndarray) -> np.ndarray:
        """Mean cosine similarity of each image to the references (one number per image)."""
        return (self.embed(images) @ refs.T).mean(axis=1)


def reference_photos(identity_seed: int, count: int, resolution: int) -> list[np.ndarray]:
    ident = make_identity(identity_seed)
    return [render(ident, REF_PHOTO0 + j, resolution).image for j in range(count)]


def _shift_px(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.roll(img, (dy, dx), axis=(0, 1))
    # repeat the edge instead of wrapping around
    if dy > 0:
        out[:dy] = out[dy : dy + 1]
    if dx > 0:
        out[:, :dx] = out[:, dx : dx + 1]
    return out


# Single identity cues swapped in from another identity (the rest of the photo unchanged).
CUES = {
    "moles": ("moles",),
    "face shape": ("face_ratio", "jaw"),
    "hair colour": ("hair",),
    "skin colour": ("skin", "lips"),
    "eye colour": ("iris",),
    "eyes (spacing, height, size)": ("eye_spacing", "eye_height", "eye_size"),
}


def sanity(
    scorer: IdentityScorer,
    resolution: int,
    identities: int = 100,
    photos: int = 4,
    refs: int = 8,
) -> dict:
    """How far the identity score can be trusted, on identities nobody trained on.

    For ``identities`` held-out identities: each one's ``photos`` clean test photos and
    their degraded versions are scored against its own ``refs`` reference photos and
    against every other identity's; retrieval is top-1 among all of them.
    """
    seeds = [SANITY_IDS + i for i in range(identities)]
    ref_emb = np.stack(
        [scorer.references(reference_photos(s, refs, resolution)) for s in seeds]
    )  # (I, refs, dim)
    out: dict = {"identities": identities, "photos_per_identity": photos, "references": refs}

    def stats(images: list[np.ndarray], owner: np.ndarray) -> dict:
        emb = scorer.embed(images)
        sims = np.einsum("nd,ird->nir", emb, ref_emb).mean(axis=2)  # (n, I)
        same = sims[np.arange(len(owner)), owner]
        mask = np.ones_like(sims, bool)
        mask[np.arange(len(owner)), owner] = False
        other = sims[mask]
        best_other = np.where(mask, sims, -np.inf).max(axis=1)
        return {
            "same_mean": float(same.mean()),
            "same_sd": float(same.std()),
            "other_mean": float(other.mean()),
            "other_sd": float(other.std()),
            "nearest_other_mean": float(best_other.mean()),
            "retrieval_top1": float((sims.argmax(axis=1) == owner).mean()),
            "chance": 1.0 / identities,
        }

    clean, damaged, shifted, owner = [], [], [], []
    for i, s in enumerate(seeds):
        ident = make_identity(s)
        for p in range(photos):
            img = render(ident, 1000 + p, resolution).image
            clean.append(img)
            damaged.append(degrade(img, s * 1000 + p)[0])
            shifted.append(_shift_px(img, 1, 1))
            owner.append(i)
    owner_arr = np.array(owner)
    out["clean"] = stats(clean, owner_arr)
    out["degraded"] = stats(damaged, owner_arr)
    out["shifted_1px"] = stats(shifted, owner_arr)
    e_clean, e_shift = scorer.embed(clean), scorer.embed(shifted)
    out["shift_1px_self_cosine"] = float((e_clean * e_shift).sum(axis=1).mean())

    # Cue sensitivity: the same photo with one cue of identity i replaced by identity i+1's.
    cues: dict = {}
    n_cue = min(identities, 40)
    for cue, fields in CUES.items():
        drops = []
        for i in range(n_cue):
            ident, donor = make_identity(seeds[i]), make_identity(seeds[(i + 1) % identities])
            changed = dataclasses.replace(ident, **{f: getattr(donor, f) for f in fields})
            a = render(ident, 1000, resolution).image
            b = render(changed, 1000, resolution).image
            sa, sb = scorer.score([a, b], ref_emb[i])
            drops.append(sa - sb)
        cues[cue] = {
            "score_drop_mean": float(np.mean(drops)),
            "score_drop_sd": float(np.std(drops)),
        }
    out["cue_swaps"] = cues
    return out
