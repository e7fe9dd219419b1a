"""Names other photo managers wrote into the photos: ``gen2res subjects from-names`` and
``gen2res faces names``.

``subjects from-names`` without a name lists the names the imported files give that are
not subjects yet ("12 photos already name Grandma Rose"); with names (or ``--all``) it
makes them subjects and confirms the faces the files give those names, finding the faces
of photos that have none yet.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gen2res_desktop.cli.output import TerminalProgress, print_json, shown
from gen2res_desktop.cli.repair_cmds import is_library_id
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.models import SUBJECT_KINDS


def register_subjects(ssub: argparse._SubParsersAction) -> None:
    p = ssub.add_parser(
        "from-names",
        help="make subjects of the people other photo managers named in the photos",
        description="Without NAME: list the names found in imported photo files (digiKam, "
        "Lightroom, Picasa, Windows Photo Gallery, Immich) that are not subjects yet. "
        "With NAME or --all: make them subjects and confirm the faces the files name.",
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="every name suggested (people only)")
    p.add_argument("--kind", choices=SUBJECT_KINDS, help="kind of a new subject (default person)")
    p.add_argument(
        "--no-detect",
        action="store_true",
        help="do not look for faces in photos that have none yet (they are named later)",
    )
    p.add_argument(
        "--dismiss", action="store_true", help="stop suggesting NAME instead of making it"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_subjects_from_names)


def register_faces(fsub: argparse._SubParsersAction) -> None:
    p = fsub.add_parser(
        "names",
        help="the people a photo's files name (XMP regions, keywords, Picasa), and their faces",
    )
    p.add_argument("target", metavar="PHOTO_ID|FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_faces_names)


def cmd_subjects_from_names(args: argparse.Namespace) -> int:
    from gen2res_desktop.library import name_suggestions
    from gen2res_desktop.library.store import Library

    if not args.names and not args.all:
        with Library.open(readonly=True) as lib:
            suggestions = name_suggestions.name_suggestions(lib)
        if args.json:
            print_json([{**s.__dict__, "photo_ids": list(s.photo_ids)} for s in suggestions])
            return 0
        if not suggestions:
            print("No names in the photo files wait to become subjects.")
        for s in suggestions:
            print(f"{shown(s.text())}  ({shown(', '.join(s.sources))})")
        if suggestions:
            print("Make one with: gen2res subjects from-names NAME  (or --all)")
        return 0
    with Library.open() as lib:
        if args.dismiss:
            for name in args.names:
                name_suggestions.dismiss_name(lib, name)
            print(f"No longer suggested: {shown(', '.join(args.names))}.")
            return 0
        names = list(args.names)
        if args.all:
            names += [s.name for s in name_suggestions.name_suggestions(lib) if s.kind == "face"]
        results = []
        bar = TerminalProgress()
        try:
            detect = None if args.no_detect else _detector(lib, bar)
            for name in dict.fromkeys(names):
                results.append(
                    name_suggestions.make_subject_from_name(lib, name, args.kind, detect=detect)
                )
        finally:
            bar.close()
    if args.json:
        print_json(results)
        return 0
    for r in results:
        found = f"; faces looked for in {r.detected}" if r.detected else ""
        print(
            f"{shown(r.subject)}: named in {len(r.photos)} photo(s), {r.confirmed} face(s) "
            f"confirmed{found}."
        )
    return 0


def _detector(lib, bar: TerminalProgress):
    from gen2res_desktop.library.faces import detect_library_photo

    count = 0

    def detect(photo_id: int) -> None:
        nonlocal count
        count += 1
        bar(Progress("faces", count, count, f"photo {photo_id}"))
        detect_library_photo(lib, photo_id)

    return detect


def cmd_faces_names(args: argparse.Namespace) -> int:
    target = str(args.target)
    if is_library_id(target):
        rows, notes = _library_names(int(target)), []
        source = f"photo {target}"
    else:
        rows, notes = _file_names(Path(target))
        source = shown(Path(target).name)  # a file's name may hold anything
    if args.json:
        print_json({"source": source, "names": rows, "notes": notes})
        return 0
    if not rows:
        print(f"{shown(source)}: no names in its files.")
    for r in rows:
        box = "no rectangle" if r["box"] is None else "box {},{} {}x{}".format(*r["box"])
        face = f", face id {r['face_id']}" if r.get("face_id") else ""
        print(f"{shown(source)}: named in the file: {shown(r['name'])} ({r['where']}), {box}{face}")
    for note in notes:
        print(f"  skipped: {shown(note)}")
    return 0


def _library_names(photo_id: int) -> list[dict]:
    from gen2res_desktop.library import named_faces
    from gen2res_desktop.library.store import Library

    with Library.open(readonly=True) as lib:
        lib.get_photo(photo_id)
        names = named_faces.photo_names(lib, photo_id)
        faces = {n.id: fid for fid, n in named_faces.face_names(lib, photo_id).items()}
    return [
        {
            "name": n.name,
            "where": n.where,
            "source": n.source,
            "kind": n.kind,
            "box": list(n.box) if n.box else None,
            "face_id": faces.get(n.id),
        }
        for n in names
    ]


def _file_names(path: Path) -> tuple[list[dict], list[str]]:
    """Names of a photo file not in the library, read now (sidecars and Picasa beside it)."""
    from PIL import ImageOps

    from gen2res_desktop.core.images import open_image
    from gen2res_desktop.core.metadata import read_photo_names
    from gen2res_desktop.core.metadata.picasa import PicasaLookup
    from gen2res_desktop.core.metadata.regions import SHORT_LABELS

    with open_image(path) as img:
        size, orientation = img.size, 1
        try:
            orientation = int(img.getexif().get(0x0112, 1) or 1)
            size = ImageOps.exif_transpose(img).size
        except Exception:  # noqa: BLE001 - a broken EXIF block: the photo as stored
            size, orientation = img.size, 1
    read = read_photo_names(
        path, upright=size, orientation=orientation, original=path, picasa=PicasaLookup()
    )
    rows = [
        {
            "name": r.name,
            "where": r.app or SHORT_LABELS.get(r.source, r.source),
            "source": r.source,
            "kind": r.kind,
            "box": list(r.box) if r.box else None,
        }
        for r in read.regions
    ]
    return rows, read.notes
