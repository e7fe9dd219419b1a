"""The three sizes of the benchmark: smoke (the test suite), cpu (committed here), gpu."""

from __future__ import annotations

from dataclasses import dataclass, replace

from benchmarks.toyworld.identity import IdNetConfig
from gen2res_desktop.core import defaults
from gen2res_desktop.core.diffusion import AlbumSettings
from gen2res_desktop.core.training import TrainOptions

ATTN_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
# Resnet convolutions as extra LoRA targets: the option DESIGN.md asks to benchmark.
CONV_TARGETS = (*ATTN_TARGETS, "conv1", "conv2")
# The paper's recipe: every weight, batch 4, lr 1e-5, 5000 iterations (20,000 image-steps);
# flips as the product's adapter, so the two differ only in what is trained and how long.
# The paper trains on every timestep (max_timestep=None).
PAPER_RECIPE = TrainOptions(
    steps=5000, batch_size=4, lr=1e-5, flip=defaults.TRAIN_FLIP, max_timestep=None
)


@dataclass(frozen=True)
class PriorConfig:
    """Everything that decides the base prior's weights (its cache key)."""

    resolution: int
    block_out_channels: tuple[int, ...]
    layers_per_block: int
    attention: tuple[bool, ...]  # per resolution level, an attention block or not
    identities: int  # training identities (held-out subjects never appear among them)
    photos_per_identity: int
    steps: int
    batch_size: int
    lr: float
    ema_decay: float
    seed: int = 0
    norm_groups: int = 16  # GroupNorm groups (at most the first level's channels)


@dataclass(frozen=True)
class Scale:
    name: str
    prior: PriorConfig
    idnet: IdNetConfig
    subjects: int  # held-out identities
    test_photos: int  # degraded photos per subject
    album_photos: int  # clean photos per subject for the personal album
    reference_photos: int  # clean photos per subject the identity score compares against
    single_photos: int  # test photos per subject that also run single-photo mode (the slow arm)
    ks: tuple[int, ...]
    restore_steps: int | None  # respaced sampler steps; None runs all K steps as the paper
    slow_ks: tuple[int, ...]  # K where the default adapter also restores with all K steps
    table_k: int  # the K the figure shows (the paper's 200)
    personal: TrainOptions  # the personal album's adapter settings (targets set per arm)
    full: TrainOptions | None  # every weight fine-tuned (the paper's recipe), or skipped
    album: AlbumSettings
    single_train: TrainOptions
    figure_rows: int

    def personal_arms(self) -> dict[str, TrainOptions]:
        """The personal-album arms: attention LoRA, attention + resnet LoRA, and the
        product's default adapter when its targets are neither."""
        arms = {
            "personal_attn": replace(self.personal, targets=ATTN_TARGETS),
            "personal_conv": replace(self.personal, targets=CONV_TARGETS),
        }
        if tuple(self.personal.targets) not in (ATTN_TARGETS, CONV_TARGETS):
            arms["personal"] = self.personal
        return arms

    def default_arm(self) -> str:
        """The arm trained with ``self.personal`` exactly (the product default at cpu scale)."""
        for arm, options in self.personal_arms().items():
            if options == self.personal:
                return arm
        raise AssertionError("unreachable")


# The toy world's identity embedding (identity.py): trained on clean photos of the prior's
# first 2000 training identities; the held-out subjects are never among them.
IDNET_32 = IdNetConfig(
    resolution=32,
    identities=2000,
    photos_per_identity=10,
    channels=(16, 32, 64),
    dim=128,
    steps=4000,
    batch_size=64,
    lr=2e-3,
    margin=0.2,
    scale=16.0,
    max_shift=2,
)

SMOKE = Scale(
    name="smoke",
    prior=PriorConfig(
        resolution=32,
        block_out_channels=(16, 32),
        layers_per_block=1,
        attention=(False, True),
        identities=16,
        photos_per_identity=2,
        steps=20,
        batch_size=8,
        lr=1e-3,
        ema_decay=0.9,
    ),
    idnet=IdNetConfig(
        resolution=32,
        identities=8,
        photos_per_identity=2,
        channels=(8, 16),
        dim=16,
        steps=10,
        batch_size=8,
        lr=1e-3,
        margin=0.2,
        scale=16.0,
        max_shift=1,
    ),
    subjects=1,
    test_photos=1,
    album_photos=2,
    reference_photos=2,
    single_photos=1,
    ks=(50, 100),
    restore_steps=3,
    slow_ks=(50,),
    table_k=50,
    personal=TrainOptions(steps=3, batch_size=2, lr=1e-3, rank=4, alpha=4, checkpoint_every=1000),
    full=TrainOptions(steps=3, batch_size=2, lr=1e-5),
    album=AlbumSettings(count=2, strength=20, guidance_every=5, batch_size=2, steps=5),
    single_train=TrainOptions(steps=3, batch_size=2, lr=1e-3, rank=4, alpha=4),
    figure_rows=1,
)

# The committed result. The personal album, the generative album and the restores use the
# product's defaults (core/defaults.py), so the table measures what the product ships.
CPU = Scale(
    name="cpu",
    # 0.69 M parameters: small enough that the paper's full fine-tune (5000 iterations at
    # batch 4) costs about 0.1 s an iteration on one CPU thread, and that the prior itself
    # trains on the 2-core CPU (committed under assets/, see assets/README.md).
    prior=PriorConfig(
        resolution=32,
        block_out_channels=(16, 32, 64),
        layers_per_block=1,
        attention=(False, False, True),
        identities=5000,
        photos_per_identity=4,
        steps=8000,
        batch_size=32,
        lr=5e-4,
        ema_decay=0.999,
        norm_groups=8,
    ),
    idnet=IDNET_32,
    subjects=4,
    test_photos=6,
    album_photos=20,
    reference_photos=8,
    single_photos=2,
    ks=(100, 200, 300, 400),
    restore_steps=defaults.RESTORE_STEPS,
    slow_ks=(200, 400),
    table_k=200,
    personal=TrainOptions(),
    full=PAPER_RECIPE,
    # Single-photo mode as the committed table ran it: 50 album steps and a 300-step
    # adapter, chosen before the album sweep (toyworld_album_cpu.md) moved the product's
    # defaults to 100 and 600. Kept so the table reproduces; a rerun with the new ones is
    # the next step (see toyworld_cpu_notes.md).
    album=AlbumSettings(steps=50),
    single_train=TrainOptions(steps=300),
    figure_rows=4,
)

# The size at 64 px. Not run: it needs a GPU (budget the prior as its own
# ``--prior-only`` call, then the arms with the cache folder carried over).
GPU = Scale(
    name="gpu",
    prior=PriorConfig(
        resolution=64,
        block_out_channels=(64, 128, 192, 256),
        layers_per_block=1,
        attention=(False, False, True, True),
        identities=3000,
        photos_per_identity=4,
        steps=5000,
        batch_size=48,
        lr=2e-4,
        ema_decay=0.999,
    ),
    idnet=replace(IDNET_32, resolution=64, channels=(16, 32, 64, 128)),
    subjects=5,
    test_photos=10,
    album_photos=20,
    reference_photos=8,
    single_photos=2,
    ks=(100, 200, 300, 400),
    restore_steps=defaults.RESTORE_STEPS,
    slow_ks=(200, 400),
    table_k=200,
    personal=TrainOptions(),
    full=PAPER_RECIPE,
    album=AlbumSettings(),
    single_train=TrainOptions(steps=defaults.SINGLE_TRAIN_STEPS),
    figure_rows=5,
)

SCALES = {s.name: s for s in (SMOKE, CPU, GPU)}
