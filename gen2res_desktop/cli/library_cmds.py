"""Library commands: library, subjects, photos, tag, untag, restorations, export.

Names in text output (photos' file names, subjects, paths, messages holding them) go
through :func:`output.shown`: one entry per line, whatever characters the name holds.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from gen2res_desktop.cli import names_cmds
from gen2res_desktop.cli.output import TerminalProgress, print_json, shown
from gen2res_desktop.core.paths import library_home
from gen2res_desktop.core.progress import CancelToken
from gen2res_desktop.library.models import ROLES, SUBJECT_KINDS, ImportSummary
from gen2res_desktop.library.store import Library


def register(sub: argparse._SubParsersAction) -> None:
    library = sub.add_parser("library", help="where the library is, and whether it is intact")
    lsub = library.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    p = lsub.add_parser("path", help="print the library folder")
    p.set_defaults(func=cmd_library_path)
    p = lsub.add_parser("check", help="find missing files, orphan files and damaged photos")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="do not re-hash every photo")
    p.set_defaults(func=cmd_library_check)
    p = lsub.add_parser("jobs", help="recent imports and trainings, including interrupted ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_library_jobs)
    p = lsub.add_parser("backups", help="the copies of the library database, newest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_library_backups)
    p = lsub.add_parser(
        "restore-backup",
        help="bring back a copy of the library database (default: the newest)",
        description="Checks the backup, keeps the current database aside in backups/ "
        "(as library-replaced-...), then puts the backup in its place. Close Gen2Res first.",
    )
    p.add_argument("name", nargs="?", help="a name from 'gen2res library backups'")
    p.set_defaults(func=cmd_library_restore_backup)

    subjects = sub.add_parser("subjects", help="the people and pets of the library")
    ssub = subjects.add_subparsers(dest="subjects_command", metavar="ACTION", required=True)
    p = ssub.add_parser("add", help="make a subject")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=SUBJECT_KINDS)
    p.add_argument("--prior", help="prior name (default: face for people, cat, dog)")
    p.set_defaults(func=cmd_subjects_add)
    p = ssub.add_parser("list", help="subjects with their photo counts and adapter state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_subjects_list)
    p = ssub.add_parser("rename", help="rename a subject")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(func=cmd_subjects_rename)
    p = ssub.add_parser("remove", help="delete a subject (its photos stay in the library)")
    p.add_argument("name")
    p.set_defaults(func=cmd_subjects_remove)
    names_cmds.register_subjects(ssub)  # from-names: people other photo managers named

    photos = sub.add_parser("photos", help="import and list photos")
    psub = photos.add_subparsers(dest="photos_command", metavar="ACTION", required=True)
    p = psub.add_parser("import", help="copy photos and folders (recursively) into the library")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--subject", help="tag the photos to this subject")
    p.add_argument(
        "--role", choices=ROLES, help="with --subject: reference (good photo) or restore"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_photos_import)
    p = psub.add_parser("list", help="list photos")
    p.add_argument("--subject")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--unsorted", action="store_true", help="only photos not tagged to any subject")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_photos_list)

    p = sub.add_parser("tag", help="tag photos to a subject")
    p.add_argument("photo_ids", nargs="+", type=int, metavar="PHOTO_ID")
    p.add_argument("--subject", required=True)
    p.add_argument("--role", required=True, choices=ROLES)
    p.set_defaults(func=cmd_tag)
    p = sub.add_parser("untag", help="remove photos from a subject")
    p.add_argument("photo_ids", nargs="+", type=int, metavar="PHOTO_ID")
    p.add_argument("--subject", required=True)
    p.set_defaults(func=cmd_untag)

    restorations = sub.add_parser("restorations", help="restored images")
    rsub = restorations.add_subparsers(dest="restorations_command", metavar="ACTION", required=True)
    p = rsub.add_parser("list", help="list restorations, newest first")
    p.add_argument("--photo", type=int, metavar="PHOTO_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_restorations_list)

    p = sub.add_parser(
        "export", help="export a restoration with the original's EXIF and colour profile"
    )
    p.add_argument("restoration_id", type=int, metavar="RESTORATION_ID")
    p.add_argument("--out", required=True, type=Path, help="file to write (.jpg or .png)")
    p.add_argument(
        "--side-by-side", action="store_true", help="before and after next to each other"
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--xmp",
        choices=("embed", "sidecar", "both", "off"),
        default="embed",
        help="people's names, a description and the date taken: in the file (default), "
        "in a FILE.xmp sidecar beside it, both, or off",
    )
    p.set_defaults(func=cmd_export)


def _err(text: str) -> None:
    print(f"gen2res: {text}", file=sys.stderr)


def cmd_library_path(args: argparse.Namespace) -> int:
    print(library_home())
    return 0


def cmd_library_check(args: argparse.Namespace) -> int:
    bar = TerminalProgress()
    try:
        with Library.open(readonly=True) as lib:
            report = lib.check(verify_hashes=not args.quick, progress=bar)
    finally:
        bar.close()
    if args.json:
        print_json({**asdict(report), "ok": report.ok})
    else:
        sections = (
            ("Missing files", report.missing_files),
            ("Orphan files (no database entry)", report.orphan_files),
            ("Photos whose bytes changed", report.hash_mismatches),
            ("Damaged files (cannot be used)", report.damaged_files),
            ("Database problems", report.database_errors),
        )
        for title, items in sections:
            if items:
                print(f"{title}:")
                for item in items:
                    print(f"  {shown(item)}")
        if report.ok:
            print(f"Library OK: {report.photos_checked} photos checked.")
    if not report.ok:
        _err("the library check found problems (listed above).")
        return 1
    return 0


def cmd_library_jobs(args: argparse.Namespace) -> int:
    with Library.open(readonly=True) as lib:
        jobs = lib.list_jobs()
    if args.json:
        print_json(jobs)
        return 0
    for j in jobs:
        note = j.error or j.message
        print(
            f"{j.id:>5}  {shown(j.kind):<8} {j.state:<12} {j.progress}/{j.total}  {j.started}  "
            f"{shown(note)}"
        )
    return 0


def cmd_library_backups(args: argparse.Namespace) -> int:
    from gen2res_desktop.library.backups import list_backups

    found = list_backups(library_home())
    if args.json:
        print_json(
            [
                {
                    "name": b.name,
                    "kind": b.kind,
                    "created": b.created.isoformat(timespec="seconds"),
                    "from_version": b.from_version,
                    "size": b.size,
                }
                for b in found
            ]
        )
        return 0
    if not found:
        print("No backups yet: one is made each day the library is opened, and before upgrades.")
    for b in found:
        print(f"{shown(b.describe())}  {b.size / 1024:.0f} KB")
    return 0


def cmd_library_restore_backup(args: argparse.Namespace) -> int:
    from gen2res_desktop.library.backups import restore_backup

    chosen = restore_backup(library_home(), args.name)
    print(
        f"Restored the library database from {shown(chosen.describe())}; the database it "
        "replaced (if any) is kept in the backups folder."
    )
    return 0


def cmd_subjects_add(args: argparse.Namespace) -> int:
    with Library.open() as lib:
        s = lib.add_subject(args.name, args.kind, args.prior)
    print(f"Added {s.kind} '{shown(s.name)}' (prior '{shown(s.prior)}').")
    return 0


def cmd_subjects_list(args: argparse.Namespace) -> int:
    from gen2res_desktop.library.training import stopped_training

    with Library.open(readonly=True) as lib:
        subjects = lib.list_subjects()
        stopped = {s.name: stopped_training(lib, s) for s in subjects}
    if args.json:
        print_json(
            [
                {
                    **asdict(s),
                    "training_stopped": None
                    if stopped[s.name] is None
                    else {
                        "steps_done": stopped[s.name].steps_done,
                        "steps": stopped[s.name].steps,
                        "resumes_from": stopped[s.name].resumes_from,
                    },
                }
                for s in subjects
            ]
        )
        return 0
    if not subjects:
        print("No subjects yet; add one with 'gen2res subjects add NAME --kind person|cat|dog'.")
    for s in subjects:
        print(
            f"{shown(s.name)}  ({s.kind}, prior {shown(s.prior)}): {s.reference_count} "
            f"reference, {s.restore_count} to restore, adapter "
            f"{_adapter_words(s.adapter_state, stopped[s.name])}"
        )
    return 0


def _adapter_words(state: str, stopped) -> str:
    """The adapter's state, and a training that stopped with where it continues from."""
    if stopped is None:
        return state
    total = f" of {stopped.steps}" if stopped.steps else ""
    where = (
        f"continues from step {stopped.resumes_from}"
        if stopped.resumes_from
        else "starts from the beginning"
    )
    words = f"stopped at step {stopped.steps_done}{total} ({where})"
    # an adapter that is still usable comes first; the newer, stopped run after it
    return words if state == "none" else f"{state}; a newer training {words}"


def cmd_subjects_rename(args: argparse.Namespace) -> int:
    with Library.open() as lib:
        s = lib.rename_subject(args.old, args.new)
    print(f"Renamed '{shown(args.old)}' to '{shown(s.name)}'.")
    return 0


def cmd_subjects_remove(args: argparse.Namespace) -> int:
    with Library.open() as lib:
        s = lib.get_subject(args.name)
        lib.remove_subject(s.name)
    print(
        f"Removed '{shown(s.name)}'; its {s.reference_count + s.restore_count} photos stay in "
        "the library."
    )
    return 0


@contextlib.contextmanager
def _ctrl_c_cancels(token: CancelToken) -> Iterator[None]:
    """Ctrl-C stops the import between two files instead of in the middle of one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: token.cancel())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_summary(summary: ImportSummary) -> None:
    for f in summary.skipped:
        print(f"  skipped  {shown(f.path)}: {shown(f.reason)}")
    for f in summary.ignored:
        print(f"  ignored  {shown(f.path)}: {shown(f.reason)}")
    print(summary.message()[0].upper() + summary.message()[1:])


def cmd_photos_import(args: argparse.Namespace) -> int:
    token = CancelToken()
    bar = TerminalProgress()
    try:
        with Library.open() as lib, _ctrl_c_cancels(token):
            summary = lib.import_paths(
                args.paths, subject=args.subject, role=args.role, progress=bar, cancel=token
            )
    finally:
        bar.close()
    if args.json:
        print_json({**asdict(summary), "message": summary.message()})
    else:
        _print_summary(summary)
    if summary.cancelled:
        return 130
    if summary.skipped:
        _err(
            f"{len(summary.skipped)} of {summary.total} files could not be imported (reasons above)."
        )
        return 1
    return 0


def cmd_photos_list(args: argparse.Namespace) -> int:
    with Library.open(readonly=True) as lib:
        photos = lib.list_photos(subject=args.subject, role=args.role, unsorted=args.unsorted)
        links = {p.id: lib.photo_subjects(p.id) for p in photos}
    if args.json:
        print_json([{**asdict(p), "subjects": links[p.id]} for p in photos])
        return 0
    for p in photos:
        tags = ", ".join(f"{shown(link.subject)} ({link.role})" for link in links[p.id])
        taken = f"  taken {shown(p.taken)}" if p.taken else ""
        print(
            f"{p.id:>5}  {shown(p.original_name)}  {p.width}x{p.height} {shown(p.format)}{taken}"
            + (f"  [{tags}]" if tags else "")
        )
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    with Library.open() as lib:
        lib.tag(args.photo_ids, args.subject, args.role)
        name = lib.get_subject(args.subject).name
    print(f"Tagged {len(set(args.photo_ids))} photo(s) to '{shown(name)}' as {args.role}.")
    return 0


def cmd_untag(args: argparse.Namespace) -> int:
    with Library.open() as lib:
        lib.untag(args.photo_ids, args.subject)
        name = lib.get_subject(args.subject).name
    print(f"Removed {len(set(args.photo_ids))} photo(s) from '{shown(name)}'.")
    return 0


def cmd_restorations_list(args: argparse.Namespace) -> int:
    with Library.open(readonly=True) as lib:
        items = lib.list_restorations(photo_id=args.photo)
    if args.json:
        print_json(items)
        return 0
    if not items:
        print("No restorations yet.")
    for r in items:
        kept = {None: "undecided", True: "kept", False: "discarded"}[r.kept]
        likeness = "".join(
            f"  looks like {f.subject} {f.identity:.2f} (damaged {f.identity_before:.2f})"
            for f in r.face_scores
            if f.identity is not None and f.identity_before is not None
        )
        print(
            f"{r.id:>5}  photo {r.photo_id}  {shown(r.subject or '-')}  seed {r.seed}  {kept}  "
            f"{r.created}{shown(likeness)}  {shown(r.path)}"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gen2res_desktop.library.export import export_restoration

    with Library.open(readonly=True) as lib:
        out = export_restoration(
            lib,
            args.restoration_id,
            args.out,
            side_by_side=args.side_by_side,
            overwrite=args.overwrite,
            xmp=args.xmp,
        )
    print(f"Exported to {shown(out)}.")
    return 0
