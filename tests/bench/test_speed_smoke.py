"""The speed benchmark runs end to end at its smoke scale (no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_smoke(tmp_path, *extra):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "speed.py"),
            "--scale",
            "smoke",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_speed_benchmark_smoke(tmp_path):
    run_smoke(tmp_path)
    data = json.loads((tmp_path / "speed_smoke_cpu.json").read_text())
    stages = [row["stage"] for row in data["rows"]]
    assert any(s.startswith("forward, torch eager fp32, LoRA merged") for s in stages)
    assert any(s.startswith("restore one face, product") for s in stages)
    assert any(s.startswith("single-photo mode end to end (paper") for s in stages)
    assert sum(s.startswith("speed-up over the paper") for s in stages) == 3
    assert all(row["value"] > 0 for row in data["rows"])
    assert data["device_type"] == "cpu" and data["torch"]
    assert (tmp_path / "speed_smoke_cpu.md").read_text().startswith("# Speed benchmark")


def test_speed_benchmark_variants_smoke(tmp_path):
    run_smoke(tmp_path, "--variants")
    data = json.loads((tmp_path / "speed_variants_smoke_cpu.json").read_text())
    stages = [row["stage"] for row in data["rows"]]
    assert any("decoder only" in s for s in stages)
    assert all(row["value"] > 0 for row in data["rows"])
