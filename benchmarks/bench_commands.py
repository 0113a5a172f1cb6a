"""Time the foundation's two promises, each as a whole command in a fresh process.

    python benchmarks/bench_commands.py

1. ``allegiance generate --customers 1000000 --months 24``: target under 60 s.
2. ``allegiance demo`` at its default size (20,000 customers): target under 30 s.

Each runs as a separate process (so start-up and imports count, as a user sees them);
the script prints the wall time, the command's own step timings and the child's peak
resident memory. There is no peer library doing the same job to compare with.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(args: list[str]) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "allegiance", *args, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    result: dict[str, object] = json.loads(done.stdout)["result"]
    return wall, result


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        wall, result = _run(["generate", "--project", str(big), "--customers", "1000000"])
        print("generate 1,000,000 customers x 24 months")
        print(f"  wall {wall:.1f} s (target < 60 s); steps {result['seconds']}")
        print(f"  rows {result['rows']}")
        print(f"  peak memory so far {_peak_mib():,.0f} MiB")
        demo = Path(tmp) / "demo"
        wall, result = _run(["demo", "--project", str(demo)])
        seconds = result["seconds"]
        assert isinstance(seconds, dict)
        print("demo at the default size (20,000 customers)")
        print(f"  wall {wall:.1f} s (target < 30 s); in-process {seconds['total']:.1f} s")
        print(f"  report sections {seconds['sections']}")
        print(f"  peak memory of the largest child {_peak_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
