"""Time the demo-company generator: generate + write Parquet for one size.

    python benchmarks/bench_generate.py                 # 1,000,000 customers x 24 months
    python benchmarks/bench_generate.py 200000 --months 12 --out /tmp/huaxun

Prints the wall time of every generator module and of every table written, the
total, the rows written and the peak resident memory (``ru_maxrss``; tracemalloc
is far too slow for numpy-heavy code). The target: 1,000,000 x 24 in under 60 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from allegiance.generate import DemoConfig, generate, write_parquet


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", type=Path, default=None, help="folder to keep the files in")
    args = parser.parse_args(argv)

    config = DemoConfig(customers=args.customers, months=args.months, seed=args.seed)
    print(f"customers={config.customers:,} months={config.months} survey={config.survey_n:,}")
    start = time.perf_counter()
    last = [start]

    def progress(name: str, done: int, total: int) -> None:
        now = time.perf_counter()
        print(f"  generate {name:<12} {now - last[0]:7.2f} s   ({done}/{total})", flush=True)
        last[0] = now

    data = generate(config, progress=progress)
    generated = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="huaxun-") as scratch:
        folder = args.out or Path(scratch)
        written = write_parquet(data, folder)
        done = time.perf_counter()
        rows = 0
        for name, path in written.items():
            if name == "truth":
                continue
            n = pq.read_metadata(path).num_rows
            rows += n
            size = path.stat().st_size / 1024 / 1024
            print(f"  wrote    {name:<17} {n:>12,} rows {size:9.1f} MiB")

    print(f"generate  {generated - start:7.2f} s")
    print(f"write     {done - generated:7.2f} s")
    print(f"total     {done - start:7.2f} s")
    print(f"rows      {rows:,}")
    print(f"peak RSS  {_peak_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
