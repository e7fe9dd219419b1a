"""``python -m benchmarks.toyworld``: run one scale of the toy-world benchmark."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.toyworld.scales import SCALES

    parser = argparse.ArgumentParser(prog="python -m benchmarks.toyworld", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "benchmarks" / "cache" / "toyworld",
        help="where the trained prior, identity net and the run's adapters are kept",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best one)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch; 1 is far faster than 2 on a CPU other jobs are using",
    )
    parser.add_argument(
        "--prior-only",
        action="store_true",
        help="train (or load) and cache the scale's prior and identity net, then stop",
    )
    parser.add_argument(
        "--export-assets",
        action="store_true",
        help="with --prior-only: copy the trained prior and identity net into "
        "benchmarks/toyworld/assets/ (what a committed run loads instead of training)",
    )
    args = parser.parse_args(argv)
    # The benchmark never downloads: its prior is trained here.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from benchmarks.toyworld.identity import ensure_idnet
    from benchmarks.toyworld.identity import export_asset as export_idnet
    from benchmarks.toyworld.prior import ensure_prior, export_asset
    from benchmarks.toyworld.run import Log, run
    from gen2res_desktop.core.devices import resolve_device
    from gen2res_desktop.core.errors import Gen2ResError

    scale = SCALES[args.scale]
    log = Log(lambda m: print(m, flush=True))
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.prior_only:
            info = ensure_prior(scale.prior, args.cache, resolve_device(args.device), log)
            log(f"prior cached at {info.path}")
            ensure_idnet(scale.idnet, args.cache, log)
            if args.export_assets:
                log(f"prior exported to {export_asset(scale.prior, args.cache)}")
                log(f"identity net exported to {export_idnet(scale.idnet, args.cache)}")
            return 0
        paths = run(scale, args.out, args.cache, args.device, log)
    except Gen2ResError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        torch.set_num_threads(threads)  # a caller in the same process keeps its setting
    for p in paths:
        log(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
