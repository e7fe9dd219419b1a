"""Quality benchmark in a synthetic world: the paper's ablations, measured against ground truth.

    python -m benchmarks.toyworld [--scale smoke|cpu|gpu] [--out benchmarks/results]
                                  [--device cpu|cuda] [--threads N] [--prior-only]

Scales (``scales.py``): ``smoke`` runs in seconds and is what the test suite runs;
``cpu`` is the committed result (32 px, 4.6 M-parameter prior); ``gpu`` is the issue's
size (64 px, 5 subjects x 10 photos). The base prior is the slow part and is cached under
``benchmarks/cache/toyworld`` by a hash of its config: the cpu scale's prior takes about
5 minutes on an H100 and hours on a 2-core CPU, so it can be trained on a GPU with
``--prior-only --device cuda`` and the cache folder copied over. On a CPU other jobs are
using, ``--threads 1`` is many times faster than torch's default.

The world (``world.py``), its damage (``degrade.py``), the base prior (``prior.py``), the
arms (``run.py``), the scores (``metrics.py``) and the report (``report.py``) are separate
so each can be checked on its own. See ``issues show 6``.
"""
