"""``gen2res faces``: detect faces in a file or a library photo, with subject suggestions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gen2res_desktop.cli import names_cmds
from gen2res_desktop.cli.output import print_json, shown
from gen2res_desktop.cli.repair_cmds import is_library_id
from gen2res_desktop.core.faces import (
    DEFAULT_MAX_SIDE,
    DETECTORS,
    DetectedFace,
    detect_faces,
)
from gen2res_desktop.core.images import load_rgb
from gen2res_desktop.core.photo_restore import face_problem
from gen2res_desktop.library.models import second_pass_words


def register(sub: argparse._SubParsersAction) -> None:
    faces = sub.add_parser("faces", help="find faces in photos")
    fsub = faces.add_subparsers(dest="faces_command", metavar="ACTION", required=True)
    p = fsub.add_parser(
        "detect",
        help="boxes and landmarks of the faces in a photo; for a library photo, also store "
        "them and suggest whose they are",
    )
    p.add_argument("target", metavar="PHOTO_ID|FILE")
    p.add_argument("--json", action="store_true", help="print JSON, with all 68 landmarks")
    p.add_argument(
        "--detector",
        choices=DETECTORS,
        default="hog",
        help="hog (fast, default) or cnn (slower, finds more)",
    )
    p.add_argument(
        "--max-side",
        type=_max_side,
        default=DEFAULT_MAX_SIDE,
        metavar="PX",
        help=f"detect on a copy at most this long (default {DEFAULT_MAX_SIDE}); raise it for small faces in big scans",
    )
    p.set_defaults(func=cmd_faces_detect)
    names_cmds.register_faces(fsub)  # names: who the photo's files say is there


def _max_side(text: str) -> int:
    value = int(text)
    if value < 64:
        raise argparse.ArgumentTypeError(f"must be at least 64 pixels, not {value}")
    return value


@dataclass
class FaceReport:
    index: int  # 1-based, left to right
    face: DetectedFace
    problem: str | None
    face_id: int | None = None
    suggested_subject: str | None = None
    suggested_distance: float | None = None
    confirmed_subject: str | None = None


def cmd_faces_detect(args: argparse.Namespace) -> int:
    target = str(args.target)
    path = Path(target)
    reports: list[FaceReport]
    if not is_library_id(target):
        image = load_rgb(path)
        faces = detect_faces(
            image, detector=args.detector, with_descriptors=False, max_side=args.max_side
        )
        reports = [FaceReport(i + 1, f, face_problem(f, image.size)) for i, f in enumerate(faces)]
        source, photo_id = path.name, None
    else:
        from gen2res_desktop.library.faces import detect_library_photo
        from gen2res_desktop.library.store import Library

        with Library.open() as lib:
            photo, image, faces, stored = detect_library_photo(
                lib, int(target), detector=args.detector, max_side=args.max_side
            )
        reports = [
            FaceReport(
                i + 1,
                f,
                face_problem(f, image.size),
                face_id=s.id,
                suggested_subject=s.suggested_subject,
                suggested_distance=s.suggested_distance,
                confirmed_subject=s.confirmed_subject,
            )
            for i, (f, s) in enumerate(zip(faces, stored, strict=True))
        ]
        source, photo_id = photo.original_name, photo.id
    if args.json:
        print_json(
            {
                "source": source,
                "photo_id": photo_id,
                "width": image.width,
                "height": image.height,
                "faces": [_face_json(r) for r in reports],
            }
        )
    else:
        _print_text(source, image.size, reports)
    return 0


def _face_json(r: FaceReport) -> dict:
    return {
        "index": r.index,
        "face_id": r.face_id,
        "box": list(r.face.box),
        "score": round(r.face.score, 4),
        "points": {k: [round(v, 2) for v in p] for k, p in r.face.five_points().items()},
        "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in r.face.landmarks],
        "found_by": r.face.found_by,
        "restorable": r.problem is None,
        "problem": r.problem,
        "suggested_subject": r.suggested_subject,
        "suggested_distance": None
        if r.suggested_distance is None
        else round(r.suggested_distance, 4),
        "confirmed_subject": r.confirmed_subject,
    }


def _print_text(source: str, size: tuple[int, int], reports: Sequence[FaceReport]) -> None:
    n = len(reports)
    print(f"{shown(source)} ({size[0]} x {size[1]}): {n} face{'' if n == 1 else 's'}")
    if not reports:
        print(
            "  No face found. For a pet, or a face the detector misses, restore with --crop X,Y,SIZE."
        )
    for r in reports:
        x, y, w, h = r.face.box
        ident = f" (face id {r.face_id})" if r.face_id is not None else ""
        print(f"  face {r.index}{ident}: box {x},{y} {w}x{h}, score {r.face.score:.2f}")
        pts = r.face.five_points()
        print(
            "    eyes {} {}, nose {}, mouth {} {}".format(
                *(f"({p[0]:.1f}, {p[1]:.1f})" for p in pts.values())
            )
        )
        if r.confirmed_subject:
            print(f"    subject: {shown(r.confirmed_subject)} (confirmed)")
        elif r.suggested_subject:
            print(
                f"    suggested subject: {shown(r.suggested_subject)} "
                f"(distance {r.suggested_distance:.2f})"
            )
        second = second_pass_words(r.face.found_by)
        if second:
            print(f"    {second} (the first search found no face)")
        if r.problem:
            print(f"    not restorable: {r.problem}.")
