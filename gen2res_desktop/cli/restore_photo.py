"""``gen2res restore PHOTO_ID|FILE [--subject NAME]``: whole photos repaired, faces pasted back."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gen2res_desktop.cli.output import TerminalProgress, print_json, save_image
from gen2res_desktop.cli.repair_cmds import is_library_id, read_mask, repair_settings
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.library.models import SAME_PERSON_SIMILARITY, FaceScores

if TYPE_CHECKING:
    # the engine loads only when a face is regenerated: `--faces off` never needs it
    from gen2res_desktop.core.pipeline import SingleOptions
    from gen2res_desktop.core.sampling import RestoreSettings


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
    as_file = not is_library_id(target)
    if as_file and not args.out:
        raise Gen2ResError("Give --out FILE for the restored photo.")
    for option, path in (("--out", args.out), ("--mask-out", args.mask_out)):
        if as_file and path is not None and Path(path).resolve() == Path(target).resolve():
            raise Gen2ResError(f"{option} names the photo being restored; choose another file.")
    repair = repair_settings(args)
    if args.mask_out is not None and not repair.scratches:
        raise Gen2ResError("--mask-out writes the damage map, which --scratches off does not make.")
    restore_faces = args.faces == "on"
    mask = read_mask(args.mask) if args.mask is not None else None
    bar = TerminalProgress()
    try:
        with Library.open() as lib:
            source = Path(target) if as_file else int(target)
            if mask is not None and not as_file:
                # the map painted for a library photo stays with it, like a pet's crop box
                lib.set_photo_damage_map(int(target), mask)
            result = restore(
                lib,
                source,
                subject=args.subject,
                settings=settings,
                single=single,
                force_single=bool(args.single),
                crop=parse_crop(args.crop),
                detector=args.detector,
                device=args.device,
                runtime=args.runtime,
                repair=repair,
                faces=restore_faces,
                damage_map=mask,
                progress=bar,
            )
            colour_out = None
            if args.out:
                save_image(result.image, args.out, overwrite=args.overwrite)
                if result.colourised is not None:
                    colour_out = colour_file(Path(args.out))
                    save_image(result.colourised, colour_out, overwrite=args.overwrite)
            used_map = result.repair.damage_map if result.repair is not None else None
            if args.mask_out is not None and used_map is not None:
                from gen2res_desktop.library.tables.photos import write_damage_map

                write_damage_map(used_map, args.mask_out)
    finally:
        bar.close()
    scored = result.face_scores()
    face_rows = [
        {
            "index": sc.number,
            "box": list(f.box),
            "subject": sc.subject,
            "mode": "adapter" if p.adapter else "single-photo",
            "identity": sc.identity,
            "identity_before": sc.identity_before,
            "faithfulness": sc.faithfulness,
            "references": sc.references,
        }
        for f, p, sc in zip(result.faces, result.plans, scored, strict=True)
    ]
    rid = result.restoration.id if result.restoration else None
    colour_rid = result.colour_restoration.id if result.colour_restoration else None
    stages = result.repair.stages if result.repair is not None else []
    if args.json:
        print_json(
            {
                "restoration_id": rid,
                "out": str(args.out) if args.out else None,
                "faces": face_rows,
                "repair": [
                    {"stage": st.stage, "method": st.method, "seconds": st.seconds, **st.detail}
                    for st in stages
                ],
                "mask_out": str(args.mask_out) if args.mask_out else None,
                "note": result.note.cli_text() if result.note is not None else None,
                "colourised": None
                if result.colourised is None
                else {
                    "restoration_id": colour_rid,
                    "out": str(colour_out) if colour_out else None,
                },
                "colour_note": result.colour_note.cli_text() if result.colour_note else None,
            }
        )
        return 0
    if stages:
        print("Repaired: " + ", ".join(_describe(st) for st in stages) + ".")
    if result.note is not None:
        print(result.note.cli_text())
    for f, sc in zip(face_rows, scored, strict=True):
        print(
            f"face {f['index']} at {tuple(f['box'])}: {f['mode']}"
            f"{' (' + f['subject'] + ')' if f['subject'] else ''}{face_scores_text(sc)}"
        )
        for warning in face_warnings(sc):
            print(f"  warning: {warning}")
    if rid is not None:
        print(f"Recorded restoration {rid}.")
    if args.out:
        print(f"Restored photo written to {args.out}.")
    if result.colour_note is not None:
        print(result.colour_note.cli_text())
    if colour_rid is not None:
        print(f"Recorded the colourised restoration {colour_rid} beside it.")
    if colour_out is not None:
        print(f"Colourised photo written to {colour_out}.")
    return 0


def colour_file(out: Path) -> Path:
    """Where the colourised photo of ``--out`` goes: beside it, ``-colour`` added."""
    return out.with_name(f"{out.stem}-colour{out.suffix}")


def face_scores_text(sc: FaceScores) -> str:
    """The scores after a face's line, e.g. ', looks like Grandma 0.78 (damaged photo 0.55),
    faithfulness 0.91', or what is missing; empty for a pet or a plain square."""
    parts = []
    if sc.identity is not None:
        before = "" if sc.identity_before is None else f" (damaged photo {sc.identity_before:.2f})"
        parts.append(f"looks like {sc.subject or 'the subject'} {sc.identity:.2f}{before}")
    elif sc.references == 0:
        parts.append(f"no reference faces of {sc.subject} yet")
    if sc.faithfulness is not None:
        parts.append(f"faithfulness {sc.faithfulness:.2f}")
    return "".join(", " + p for p in parts)


def face_warnings(sc: FaceScores) -> list[str]:
    who = sc.subject or "the subject"
    out = []
    if sc.looks_less_alike:
        out.append(
            f"the restored face looks less like {who} than the damaged one: try more reference "
            "photos, a stronger adapter or a lower strength"
        )
    if sc.under_same_person_line:
        out.append(
            f"the restored face looks like {who} only {sc.identity:.2f}, under the same-person "
            f"line ({SAME_PERSON_SIMILARITY:.1f}): a face recogniser would not call it {who}"
        )
    return out


_STAGE_NAMES = {
    "damage": "damage map",
    "inpaint": "scratches filled",
    "denoise": "grain and noise",
    "upscale": "enlarged",
    "colour": "fading and colour",
}


def _describe(stage) -> str:
    text = f"{_STAGE_NAMES.get(stage.stage, stage.stage)} ({stage.method}"
    if stage.stage == "damage" and "damaged_fraction" in stage.detail:
        text += f", {stage.detail['damaged_fraction']:.2%} of the photo"
    if stage.stage == "damage" and stage.detail.get("torn_fraction"):
        text += f", torn corners {stage.detail['torn_fraction']:.2%}"
    if stage.stage == "damage" and stage.detail.get("protected_pixels"):
        text += ", faces' eyes, noses and mouths left alone"
    if stage.stage == "inpaint" and stage.detail.get("partly_filled_fraction"):
        text += f", doubtful dark marks part way ({stage.detail['partly_filled_fraction']:.2%})"
    return text + ")"
