"""The ``gen2res models`` commands: diffusion priors and photo models, listed, imported,
downloaded and removed.

Two kinds of model live in the library: *priors* (diffusers folders, one per subject kind,
see core.priors) and *photo models* (single weights files that repair the whole photo,
see core.photo.models). A folder imports as a prior, a weights file as a photo model;
``download`` takes a prior (face, cat, a hub id) or a photo model from the catalogue.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from gen2res_desktop.cli.output import TerminalProgress, print_json
from gen2res_desktop.core.adm import ADM_FORMAT
from gen2res_desktop.core.defaults import PRIOR_KINDS
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.paths import library_home
from gen2res_desktop.core.photo.learned import TASKS
from gen2res_desktop.core.photo.models import (
    CATALOGUE,
    SUFFIXES,
    CatalogueEntry,
    PhotoModelInfo,
    PhotoModelRegistry,
)

# torch, diffusers and spandrel load inside the commands that need them: `models list`
# must not pay seconds of start-up for the engine.


def register(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser(
        "models", help="list, import, download and remove priors and photo models"
    )
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    p = msub.add_parser(
        "list", help="installed priors and photo models, and what can be downloaded"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_list)

    p = msub.add_parser(
        "import",
        help="install a diffusers folder as a prior, or a weights file as a photo model",
        description=(
            "A folder (diffusers UNet2DModel) becomes a prior: give --name and --kind. A weights "
            f"file ({', '.join(SUFFIXES)}) becomes a photo model: its architecture is recognised "
            "and its task inferred; --name defaults to the file name."
        ),
    )
    p.add_argument("path", type=Path)
    p.add_argument("--name")
    p.add_argument("--kind", choices=PRIOR_KINDS, help="prior kind (folders)")
    p.add_argument("--task", choices=TASKS, help="what the photo model is for (files)")
    p.add_argument("--licence", default="unknown", help="the photo model's licence (files)")
    p.add_argument("--source-page", default="", help="where the photo model comes from (files)")
    p.add_argument("--replace", action="store_true", help="replace a photo model of that name")
    p.add_argument(
        "--format",
        choices=("diffusers", ADM_FORMAT),
        default="diffusers",
        help="adm: a guided-diffusion (ADM) .pt checkpoint, converted into a prior",
    )
    p.add_argument(
        "--config",
        help="ADM only: JSON (text or a file) with what the weights cannot say, e.g. "
        '\'{"num_head_channels": 64, "image_size": 256}\'',
    )
    p.set_defaults(func=cmd_models_import)

    p = msub.add_parser(
        "download",
        help="download a prior (face, cat, a hub id) or a photo model",
        description="Photo models: " + ", ".join(CATALOGUE) + ".",
    )
    p.add_argument("spec", metavar="face|cat|HUB_ID|PHOTO_MODEL")
    p.add_argument("--name", help="install a prior under this name")
    p.add_argument("--revision", help="hub revision (default: the pinned one for face/cat)")
    p.set_defaults(func=cmd_models_download)

    p = msub.add_parser("remove", help="remove an installed prior or photo model")
    p.add_argument("name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--prior", action="store_true", help="the prior of that name")
    which.add_argument("--photo-model", action="store_true", help="the photo model of that name")
    p.set_defaults(func=cmd_models_remove)


def _priors():
    # every gen2res command imports this module; only the prior commands need core.priors
    from gen2res_desktop.core.priors import PriorRegistry

    return PriorRegistry(library_home())


def _photo_models() -> PhotoModelRegistry:
    return PhotoModelRegistry(library_home())


def _megabytes(size: int | None) -> str:
    return f"{size / 1e6:.1f} MB" if size else "size unknown"


def _available(installed: list[PhotoModelInfo]) -> list[CatalogueEntry]:
    names = {i.name for i in installed}
    return [e for e in CATALOGUE.values() if e.name not in names]


def cmd_models_list(args: argparse.Namespace) -> int:
    registry = _priors()
    priors = registry.list()
    broken = registry.problems()
    photo = _photo_models().list()
    available = _available(photo)
    if args.json:
        print_json(
            {
                "priors": [i.to_json() for i in priors],
                "unusable_priors": [{"name": n, "problem": why} for n, why in broken],
                "photo_models": [i.to_json() for i in photo],
                "available": [asdict(e) for e in available],
            }
        )
        return 0
    print("Priors:")
    if not priors:
        print(
            "  No priors installed. Use 'gen2res models download face' or 'gen2res models import'."
        )
    for i in priors:
        print(
            f"  {i.name:<16} {i.kind:<6} {i.resolution}px  {i.parameters / 1e6:7.1f} M params  "
            f"{i.weights_hash[:12]}  {i.source}"
        )
    for name, why in broken:
        print(f"  {name:<16} cannot be used: {why}")
    print("Photo models:")
    if not photo:
        print("  No photo models installed; the built-in OpenCV methods are used.")
    for m in photo:
        print(
            f"  {m.name:<24} {m.task:<8} {m.arch:<8} x{m.scale}  {m.parameters / 1e6:6.1f} M params  "
            f"{m.sha256[:12]}  {m.licence}"
        )
    if available:
        print("Available to download ('gen2res models download NAME'):")
        for e in available:
            print(
                f"  {e.name:<24} {e.task:<8} x{e.scale}  {_megabytes(e.size):>12}  "
                f"{e.licence:<13} {e.title}"
            )
    return 0


def _adm_config(text: str | None) -> dict:
    if not text:
        return {}
    source = Path(text)
    try:
        value = json.loads(source.read_text() if source.is_file() else text)
    except (OSError, ValueError) as e:
        raise Gen2ResError(f"--config is neither JSON nor a readable JSON file ({e}).") from e
    if not isinstance(value, dict):
        raise Gen2ResError('--config must be a JSON object, e.g. {"num_head_channels": 64}.')
    return value


def cmd_models_import(args: argparse.Namespace) -> int:
    path: Path = args.path
    if args.format == ADM_FORMAT:
        from gen2res_desktop.core.adm import import_adm_checkpoint

        if not args.name or not args.kind:
            raise Gen2ResError(f"{path}: importing an ADM checkpoint needs --name and --kind.")
        bar = TerminalProgress()
        try:
            info = import_adm_checkpoint(
                _priors(), path, args.name, args.kind, config=_adm_config(args.config), progress=bar
            )
        finally:
            bar.close()
        print(
            f"Installed prior '{info.name}' ({info.kind}, {info.resolution}px, "
            f"{info.parameters / 1e6:.1f} M parameters) from the ADM checkpoint {path.name}."
        )
        return 0
    if args.config:
        raise Gen2ResError("--config is for ADM checkpoints (--format adm).")
    if path.is_dir():
        if args.task or args.replace:
            raise Gen2ResError("--task and --replace are for photo model files, not prior folders.")
        if not args.name or not args.kind:
            raise Gen2ResError(f"{path}: importing a prior folder needs --name and --kind.")
        info = _priors().import_folder(path, args.name, args.kind)
        print(
            f"Installed prior '{info.name}' ({info.kind}, {info.resolution}px, "
            f"{info.parameters / 1e6:.1f} M parameters)."
        )
        return 0
    if not path.exists():
        raise Gen2ResError(f"{path}: no such file or folder.")
    if path.suffix.lower() not in SUFFIXES:
        raise Gen2ResError(
            f"{path}: neither a prior folder nor a photo model file ({', '.join(SUFFIXES)})."
        )
    if args.kind:
        raise Gen2ResError(
            "--kind is for priors: a prior folder, or a guided-diffusion (ADM) checkpoint "
            "with --format adm. A photo model's use is given with --task."
        )
    bar = TerminalProgress()
    try:
        info = _photo_models().import_file(
            path,
            args.name,
            task=args.task,
            licence=args.licence,
            source_page=args.source_page,
            replace=args.replace,
            progress=bar,
        )
    finally:
        bar.close()
    print(_installed_line(info))
    return 0


def _installed_line(info: PhotoModelInfo) -> str:
    scale = f" x{info.scale}" if info.scale > 1 else ""
    return (
        f"Installed photo model '{info.name}' ({info.task}, {info.arch}{scale}, "
        f"{info.parameters / 1e6:.1f} M parameters, licence {info.licence})."
    )


def cmd_models_download(args: argparse.Namespace) -> int:
    bar = TerminalProgress()
    if args.spec in CATALOGUE:
        if args.name or args.revision:
            raise Gen2ResError(
                "--name and --revision are for priors; a photo model keeps its catalogue name."
            )
        from gen2res_desktop.core.photo.models import download_photo_model

        try:
            info = download_photo_model(args.spec, home=library_home(), progress=bar)
        finally:
            bar.close()
        print(_installed_line(info))
        return 0

    from gen2res_desktop.core.download import download_prior

    try:
        prior = download_prior(
            args.spec, name=args.name, home=library_home(), revision=args.revision, progress=bar
        )
    finally:
        bar.close()
    print(
        f"Installed prior '{prior.name}' ({prior.kind}, {prior.resolution}px) from {prior.source}."
    )
    return 0


def cmd_models_remove(args: argparse.Namespace) -> int:
    name = args.name
    photo = _photo_models()
    is_photo = (photo.root / f"{name}.json").is_file()
    if args.photo_model or (is_photo and not args.prior):
        if not args.photo_model and _prior_exists(name):
            raise Gen2ResError(
                f"Both a prior and a photo model are named '{name}'; say which with --prior "
                "or --photo-model."
            )
        photo.remove(name)
        print(f"Removed photo model '{name}'.")
        return 0
    if not args.prior and not _prior_exists(name):
        raise Gen2ResError(f"No prior or photo model named '{name}' is installed.")
    _priors().remove(name)
    print(f"Removed prior '{name}'.")
    return 0


def _prior_exists(name: str) -> bool:
    from gen2res_desktop.core.paths import priors_dir

    return (priors_dir(library_home()) / name / "prior.json").is_file()
