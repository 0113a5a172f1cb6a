"""The intake benchmark (benchmarks/bench_intake.py) runs, on a tiny load, so it cannot rot:
a real server with two worker processes (``allegiance serve --workers 2``), the load
generator in its own process, and the check that the stored responses are exactly the
acknowledged ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_intake.py"


def test_the_intake_benchmark_runs_on_a_tiny_load(tmp_path: Path) -> None:
    out = tmp_path / "intake.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--workers", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(out.read_text())
    assert result["database"] == "sqlite"
    assert result["server_workers"] == 2
    assert result["acknowledged"] > 0
    assert result["stored"] == result["acknowledged"]
    assert result["stored_equals_acknowledged"] is True
    assert result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["server_cpu_s"] > 0
    assert result["server_peak_rss_mb"] > 10
    assert "responses/s" in done.stdout
