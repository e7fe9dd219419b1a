"""``gen2res restore PHOTO_ID|FILE --subject NAME``: whole photos, faces pasted back."""

from __future__ import annotations

import argparse
from pathlib import Path

from gen2res_desktop.cli.output import TerminalProgress, print_json, save_image
from gen2res_desktop.core.diffusion import RestoreSettings
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.pipeline import SingleOptions


def parse_crop(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        x, y, size = (int(v) for v in text.split(","))
    except ValueError:
        raise Gen2ResError(f"--crop wants X,Y,SIZE in pixels (got '{text}').") from None
    if size <= 0:
        raise Gen2ResError("--crop SIZE must be positive.")
    return x, y, size


def restore_whole_photo(
    args: argparse.Namespace, settings: RestoreSettings, single: SingleOptions | None
) -> int:
    from gen2res_desktop.library.restore import restore_whole_photo as restore
    from gen2res_desktop.library.store import Library

    target = str(args.input)
    as_file = Path(target).is_file() or not target.isdigit()
    if as_file and not args.out:
        raise Gen2ResError("Give --out FILE for the restored photo.")
    bar = TerminalProgress()
    try:
        with Library.open() as lib:
            result = restore(
                lib,
                Path(target) if as_file else int(target),
                subject=args.subject,
                settings=settings,
                single=single,
                force_single=bool(args.single),
                crop=parse_crop(args.crop),
                detector=args.detector,
                device=args.device,
                progress=bar,
            )
            if args.out:
                save_image(result.image, args.out)
    finally:
        bar.close()
    faces = [
        {
            "index": f.index + 1,
            "box": list(f.box),
            "subject": p.subject.name if p.subject else None,
            "mode": "adapter" if p.adapter else "single-photo",
            "identity_score": f.identity_score,
        }
        for f, p in zip(result.faces, result.plans, strict=True)
    ]
    rid = result.restoration.id if result.restoration else None
    if args.json:
        print_json(
            {"restoration_id": rid, "out": str(args.out) if args.out else None, "faces": faces}
        )
        return 0
    for f in faces:
        score = (
            "n/a (no face descriptor)"
            if f["identity_score"] is None
            else f"{f['identity_score']:.3f}"
        )
        print(
            f"face {f['index']} at {tuple(f['box'])}: {f['mode']}"
            f"{' (' + f['subject'] + ')' if f['subject'] else ''}, identity score {score}"
        )
    if rid is not None:
        print(f"Recorded restoration {rid}.")
    if args.out:
        print(f"Restored photo written to {args.out}.")
    return 0
