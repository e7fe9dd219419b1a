"""``python -m benchmarks.oldphoto``: the whole-photo repair on synthetic old prints.

``--split dev|held|test|all`` picks the split (dev: generator 1, what the built-in
network learned from; held: generator 4, which no training saw, where the network and its
cut are chosen; test: generator 2 on other photos, reported); ``--detector-only`` runs
just the damage map (with the face protection inside ``repair_photo``), prints its scores
and writes nothing: the fast loop for choosing, on held only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.oldphoto import report
    from benchmarks.oldphoto.run import SCALES, Log, run

    parser = argparse.ArgumentParser(prog="python -m benchmarks.oldphoto", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--split", choices=("dev", "held", "test", "all"), default="all")
    parser.add_argument("--detector-only", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    log = Log(lambda m: print(m, flush=True))
    names = ("dev", "held", "test") if args.split == "all" else (args.split,)
    out = None if args.detector_only else args.out
    results, paths = run(SCALES[args.scale], out, log, names, args.detector_only)
    if args.detector_only:
        print(report.markdown(results), flush=True)
    for path in paths:
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
