"""Engine commands: train, album, restore (models: see models_cmds)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gen2res_desktop.cli.output import TerminalProgress, save_image
from gen2res_desktop.cli.repair_cmds import add_repair_arguments
from gen2res_desktop.core import defaults
from gen2res_desktop.core.atomic import refuse_existing
from gen2res_desktop.core.defaults import DEVICE_CHOICES, RUNTIME_CHOICES
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import list_images, load_rgb
from gen2res_desktop.core.paths import library_home

# torch, diffusers and peft load inside the commands that need them: listing photos
# or subjects should not pay seconds of start-up for the engine.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a subject's adapter")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", type=Path, help="folder of the subject's good photos (crops)")
    src.add_argument("--subject", help="a library subject: learns from its reference photos")
    p.add_argument("--prior", help="prior name (with --images)")
    p.add_argument("--out", type=Path, help="adapter file to write (with --images)")
    _add_train_options(p, steps=defaults.TRAIN_STEPS)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("album", help="generate a generative album from one photo")
    p.add_argument("input", type=Path)
    p.add_argument("--prior", required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the album images")
    p.add_argument("--count", type=int, default=defaults.ALBUM_COUNT)
    p.add_argument("--strength", type=int, default=defaults.ALBUM_STRENGTH)
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help=f"images sampled at once (default {defaults.ALBUM_BATCH} on a GPU, "
        f"{defaults.ALBUM_BATCH_CPU} on a CPU)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=defaults.ALBUM_STEPS,
        help=f"sampler steps, respaced from --strength (default {defaults.ALBUM_STEPS})",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=DEVICE_CHOICES)
    p.add_argument("--overwrite", action="store_true", help="replace album images already there")
    p.set_defaults(func=cmd_album)

    p = sub.add_parser(
        "restore",
        help="restore a photo",
        description=(
            "Restore INPUT. With --prior, INPUT is already a square crop of the subject. "
            "Otherwise INPUT is a whole photo (file or library photo id): the print is repaired "
            "(scratches, dust, grain, fading), then its faces are found, regenerated with the "
            "subject's adapter (--subject) and pasted back."
        ),
    )
    p.add_argument("input", metavar="PHOTO_ID|FILE")
    p.add_argument("--prior", help="restore a crop with this prior")
    p.add_argument("--subject", help="restore a whole photo with this subject's adapter")
    p.add_argument("--out", type=Path)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--adapter", type=Path, help="adapter file (crop form)")
    how.add_argument("--single", action="store_true", help="single-photo mode (generative album)")
    how.add_argument("--unconstrained", action="store_true", help="the prior alone (no adapter)")
    p.add_argument("--crop", help="X,Y,SIZE square around the subject (pets)")
    p.add_argument("--album-count", type=int, default=defaults.ALBUM_COUNT)
    p.add_argument("--album-strength", type=int, default=defaults.ALBUM_STRENGTH)
    p.add_argument("--train-steps", type=int, default=defaults.SINGLE_TRAIN_STEPS)
    p.add_argument(
        "--strength", type=int, default=defaults.STRENGTH, help="noise level K (1..1000)"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=defaults.RESTORE_STEPS,
        help=f"sampler steps, respaced from K (default {defaults.RESTORE_STEPS}; "
        "give K itself for all K ancestral steps, as in the paper)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--detector", choices=("hog", "cnn"), default="hog")
    p.add_argument("--device", choices=DEVICE_CHOICES)
    p.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        default="auto",
        help="what runs the denoising steps on a CPU (default auto: ONNX Runtime, else "
        "OpenVINO, when installed, else torch); the adapter is converted once and cached in "
        "the library",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--overwrite", action="store_true", help="replace --out / --mask-out if they exist"
    )
    add_repair_arguments(p)
    p.set_defaults(func=cmd_restore)


def _add_train_options(p: argparse.ArgumentParser, *, steps: int) -> None:
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--rank", type=int, default=defaults.LORA_RANK)
    p.add_argument("--alpha", type=float, help="LoRA alpha (default: the rank)")
    p.add_argument("--batch", type=int, default=defaults.TRAIN_BATCH)
    p.add_argument("--lr", type=float, default=defaults.TRAIN_LR)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto")
    p.add_argument("--checkpoint-every", type=int, default=defaults.CHECKPOINT_EVERY)
    p.add_argument(
        "--max-timestep",
        type=int,
        default=defaults.TRAIN_MAX_TIMESTEP,
        help=f"learn noise levels below this only (default {defaults.TRAIN_MAX_TIMESTEP}, "
        "the album's strength; 0 for all of them, as in the paper)",
    )
    p.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=defaults.TRAIN_FLIP,
        help="add mirrored copies of the photos while training (default: off; mirroring "
        "moves one-sided detail such as a mole to the wrong cheek)",
    )
    p.add_argument("--device", choices=DEVICE_CHOICES)


def train_options(args: argparse.Namespace):
    from gen2res_desktop.core.training import TrainOptions

    return TrainOptions(
        steps=args.steps,
        batch_size=args.batch,
        lr=args.lr,
        rank=args.rank,
        alpha=args.alpha if args.alpha is not None else float(args.rank),
        seed=args.seed,
        precision=args.precision,
        checkpoint_every=args.checkpoint_every,
        flip=args.flip,
        max_timestep=args.max_timestep or None,
    )


def _registry():
    from gen2res_desktop.core.priors import PriorRegistry

    return PriorRegistry(library_home())


def _load_prior(name: str, device: str | None):
    from gen2res_desktop.core.priors import load_prior

    return load_prior(_registry().get(name), device)


def cmd_train(args: argparse.Namespace) -> int:
    options = train_options(args)
    bar = TerminalProgress()
    try:
        if args.subject:
            from gen2res_desktop.library.store import Library
            from gen2res_desktop.library.training import train_subject

            with Library.open() as lib:
                record = train_subject(lib, args.subject, options, device=args.device, progress=bar)
            bar.close()
            print(f"Adapter for '{args.subject}' ready: {record.path} ({record.steps_done} steps).")
            return 0
        if not args.prior or not args.out:
            raise Gen2ResError("--images needs --prior NAME and --out ADAPTER.safetensors.")
        from gen2res_desktop.core.training import train_adapter

        images = list_images(args.images)
        if not images:
            raise Gen2ResError(f"{args.images}: no images found.")
        prior = _load_prior(args.prior, args.device)
        result = train_adapter(prior, images, args.out, options, progress=bar)
    finally:
        bar.close()
    loss = (
        f", final loss {result.meta.final_loss:.4f}" if result.meta.final_loss is not None else ""
    )
    print(
        f"Adapter written to {args.out} ({result.meta.steps_done} steps on {len(images)} images{loss})."
    )
    return 0


def square_crop_input(path: Path):
    """A crop of the subject for the crop forms (``--prior``, ``album``): it must be square,
    since the prior sees a square and a stretched face would be restored stretched."""
    image = load_rgb(Path(path))
    if image.width != image.height:
        raise Gen2ResError(
            f"{Path(path).name} is {image.width} x {image.height} pixels; a crop given with "
            "--prior (or to album) must be square. Crop it square around the face, or restore "
            "the whole photo with --subject (or --faces off)."
        )
    return image


def cmd_album(args: argparse.Namespace) -> int:
    from gen2res_desktop.core.atomic import atomic_path
    from gen2res_desktop.core.diffusion import AlbumSettings, generate_album

    image = square_crop_input(args.input)
    targets = [args.out / f"album_{i:02d}.png" for i in range(args.count)]
    for target in targets:
        refuse_existing(target, overwrite=args.overwrite)
    prior = _load_prior(args.prior, args.device)
    settings = AlbumSettings(
        count=args.count,
        strength=args.strength,
        batch_size=args.batch,
        steps=args.steps,
        seed=args.seed,
    )
    bar = TerminalProgress()
    try:
        album = generate_album(prior, image, settings, progress=bar)
    finally:
        bar.close()
    for target, img in zip(targets, album, strict=True):
        with atomic_path(target) as tmp:
            img.save(tmp, format="PNG")
    print(f"Wrote {len(album)} album images to {args.out}.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    # torch-free settings: `restore --faces off` must not load the engine (peft, diffusers)
    from gen2res_desktop.core.pipeline import SingleOptions
    from gen2res_desktop.core.sampling import AlbumSettings, RestoreSettings

    for option, path in (("--out", args.out), ("--mask-out", args.mask_out)):
        if path is None:
            continue
        if Path(args.input).is_file() and Path(path).resolve() == Path(args.input).resolve():
            raise Gen2ResError(f"{option} names the photo being restored; choose another file.")
        refuse_existing(path, overwrite=args.overwrite)  # before minutes of work, not after
    settings = RestoreSettings(strength=args.strength, steps=args.steps, seed=args.seed)
    single = None
    if args.single:
        from gen2res_desktop.core.training import TrainOptions

        single = SingleOptions(
            album=AlbumSettings(
                count=args.album_count, strength=args.album_strength, seed=args.seed
            ),
            train=TrainOptions(steps=args.train_steps, seed=args.seed),
        )
    if not args.prior:
        from gen2res_desktop.cli.restore_photo import restore_whole_photo

        return restore_whole_photo(args, settings, single)
    if args.mask or args.mask_out or args.faces == "off" or args.upscale != 1:
        raise Gen2ResError(
            "--mask, --mask-out, --faces and --upscale apply to whole photos, not to a crop "
            "restored with --prior."
        )
    if not args.out:
        raise Gen2ResError("Give --out FILE for the restored image.")
    if args.adapter is None and single is None and not args.unconstrained:
        raise Gen2ResError(
            "Choose how to constrain the prior: --adapter FILE, --single or --unconstrained."
        )
    if args.crop:
        raise Gen2ResError("--crop applies to whole photos (with --subject).")
    return _restore_crop_file(args, settings, single)


def _restore_crop_file(args: argparse.Namespace, settings, single) -> int:
    from gen2res_desktop.core.paths import runtimes_dir
    from gen2res_desktop.core.pipeline import restore_crop
    from gen2res_desktop.core.runtimes import FastCpu

    image = square_crop_input(args.input)
    prior = _load_prior(args.prior, args.device)
    bar = TerminalProgress()
    try:
        fast = FastCpu(runtimes_dir(), args.runtime)
        result = restore_crop(
            prior, image, settings, adapter=args.adapter, single=single, fast=fast, progress=bar
        )
    finally:
        bar.close()
    save_image(result, args.out, overwrite=args.overwrite)
    print(f"Restored image written to {args.out}.")
    return 0
