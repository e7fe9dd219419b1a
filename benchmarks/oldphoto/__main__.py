"""``python -m benchmarks.oldphoto``: the whole-photo repair on synthetic old prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.oldphoto.run import SCALES, Log, run

    parser = argparse.ArgumentParser(prog="python -m benchmarks.oldphoto", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    log = Log(lambda m: print(m, flush=True))
    for path in run(SCALES[args.scale], args.out, log):
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
