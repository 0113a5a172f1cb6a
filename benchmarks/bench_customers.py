"""Customer indicators and RFM at scale: DuckDB (allegiance.customers) against pandas.

    python benchmarks/bench_customers.py                  # 10M customers x 24 months + pandas at 1M
    python benchmarks/bench_customers.py --customers 2000000 --pandas 1000000

A monthly activity panel (customer, month, amount, n_purchases, products_held; the demo
company's layout, zeros after churn) is written once by a fast numpy writer to
/tmp/allegiance-bench-customers/<n>.parquet (not timed; reused when present). Each stage
then runs end to end (read Parquet → result) in its own process, so peak memory (max RSS)
is the stage's own. Goals: indicators + step engine + RFM under 120 s and 8 GiB at 10M;
at least 5x faster than pandas on indicators and RFM at the pandas size.

The step loyalty engine is added by appending ``(name, function)`` to :data:`STAGES`
(``function(engine, path) -> object``); it is timed like the others.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path("/tmp/allegiance-bench-customers")
MONTHS = 24
CHUNK = 500_000


# --------------------------------------------------------------------------- data


def write_panel(n: int, months: int = MONTHS, *, seed: int = 7) -> Path:
    """Write (once) a monthly panel of ``n`` customers x ``months`` months as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = CACHE / f"activity_{n}_{months}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    rng = np.random.default_rng(seed)
    first = np.datetime64("2024-01", "M")
    month_days = (first + np.arange(months)).astype("datetime64[D]").astype(np.int32)
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("month", pa.date32()),
            ("amount", pa.float32()),
            ("n_purchases", pa.int32()),
            ("products_held", pa.int8()),
        ]
    )
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for lo in range(0, n, CHUNK):
            k = min(CHUNK, n - lo)
            hazard = rng.uniform(0.002, 0.03, k)
            absent = np.minimum(rng.geometric(hazard), months)  # first month without service
            active = np.arange(months)[None, :] < absent[:, None]
            held = np.minimum(1 + rng.poisson(0.8, k), 8).astype(np.int8)
            spend = rng.lognormal(4.0, 1.0, k).astype(np.float32)
            amount = spend[:, None] * rng.lognormal(0.0, 0.1, (k, months)).astype(np.float32)
            amount *= active
            purchases = rng.poisson(1.3 * held[:, None], (k, months)).astype(np.int32) * active
            table = pa.table(
                {
                    "customer_id": np.repeat(np.arange(lo, lo + k, dtype=np.int64), months),
                    "month": pa.array(np.tile(month_days, k), type=pa.int32()).view(pa.date32()),
                    "amount": amount.reshape(-1),
                    "n_purchases": purchases.reshape(-1),
                    "products_held": (held[:, None] * active).astype(np.int8).reshape(-1),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=1_000_000)
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- allegiance stages


def _activity(engine: Any, path: Path) -> Any:
    from allegiance.customers.inputs import read_source

    return read_source(engine, path, kind="activity", validate=False)


def stage_indicators(engine: Any, path: Path) -> Any:
    from allegiance.customers.indicators import indicators

    return indicators(engine, _activity(engine, path)).summary


def stage_rfm(engine: Any, path: Path) -> Any:
    from allegiance.customers.segments import customer_values_for, rfm_scores, summarise_rfm

    values = customer_values_for(engine, _activity(engine, path))
    return summarise_rfm(engine, rfm_scores(values, q=5))


def stage_validate(engine: Any, path: Path) -> Any:
    from allegiance.customers.inputs import read_source

    return read_source(engine, path, kind="activity", validate=True)


# (name, function(engine, path)); the step engine adds its own entry here.
STAGES: list[tuple[str, Callable[[Any, Path], Any]]] = [
    ("validate", stage_validate),
    ("indicators", stage_indicators),
    ("rfm", stage_rfm),
]


# --------------------------------------------------------------------------- pandas stages


def pandas_indicators(path: Path) -> Any:
    import pandas as pd

    t = pd.read_parquet(path)
    t["p"] = (
        t["month"].astype("datetime64[s]").dt.year * 12
        + t["month"].astype("datetime64[s]").dt.month
    )
    cp = t.groupby(["customer_id", "p"], sort=False).agg(
        amount=("amount", "sum"), n_purchases=("n_purchases", "sum"), held=("products_held", "max")
    )
    cp = cp.reset_index()
    active = cp[(cp["n_purchases"] > 0) | (cp["held"] > 0) | (cp["amount"] > 0)]
    active = active.sort_values(["customer_id", "p"])
    g = active.groupby("customer_id", sort=False)["p"]
    prev, nxt = g.shift(1), g.shift(-1)
    p = active["p"]
    frame = pd.DataFrame(
        {
            "p": p,
            "retained": prev == p - 1,
            "reactivated": prev < p - 1,
            "first": prev.isna(),
            "leaving": nxt.isna() | (nxt > p + 1),
            "amount": active["amount"],
            "n_purchases": active["n_purchases"],
        }
    )
    by_p = frame.groupby("p").agg(
        active=("p", "size"),
        retained=("retained", "sum"),
        reactivated=("reactivated", "sum"),
        first=("first", "sum"),
        leaving=("leaving", "sum"),
        amount=("amount", "sum"),
        n_purchases=("n_purchases", "sum"),
    )
    per = cp.groupby("customer_id", sort=False).agg(
        purchases=("n_purchases", "sum"), amount=("amount", "sum")
    )
    return by_p, (per["purchases"] >= 2).sum() / (per["purchases"] > 0).sum()


def pandas_rfm(path: Path) -> Any:
    import pandas as pd

    t = pd.read_parquet(path)
    bought = (t["n_purchases"] > 0) | (t["amount"] > 0)
    day = t["month"].astype("datetime64[s]").astype("int64") // 86400
    end = int(day.max())
    b = t[bought]
    per = pd.DataFrame(
        {
            "last": day[bought].groupby(b["customer_id"]).max(),
            "frequency": b.groupby("customer_id")["n_purchases"].sum(),
            "monetary": t.groupby("customer_id")["amount"].sum(),
        }
    ).dropna(subset=["last"])
    per["recency"] = end - per["last"]
    q = 5
    per["r"] = np.ceil(q * (-per["recency"]).rank(pct=True, method="max") - 1e-9).astype(int)
    per["f"] = np.ceil(q * per["frequency"].rank(pct=True, method="max") - 1e-9).astype(int)
    per["m"] = np.ceil(q * per["monetary"].rank(pct=True, method="max") - 1e-9).astype(int)
    return per.groupby(["r", "f", "m"]).agg(
        customers=("frequency", "size"), monetary=("monetary", "sum")
    )


PANDAS: dict[str, Callable[[Path], Any]] = {"indicators": pandas_indicators, "rfm": pandas_rfm}


# --------------------------------------------------------------------------- runner


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def child(kind: str, stage: str, path: Path, memory: str, threads: int | None) -> None:
    """Run one stage in this (fresh) process and print one JSON line."""
    start = time.perf_counter()
    if kind == "duckdb":
        from allegiance.customers.engine import connect

        funcs = dict(STAGES)
        with connect(
            "duckdb", memory_limit=memory, temp_dir=CACHE / "spill", threads=threads
        ) as eng:
            funcs[stage](eng, path)
    else:
        PANDAS[stage](path)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_gib": _peak_gib()}))


def run_stage(
    kind: str, stage: str, path: Path, memory: str, threads: int | None
) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", kind, stage, str(path), "--memory", memory]
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        return {"seconds": math.nan, "peak_gib": math.nan}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--pandas", type=int, default=1_000_000, help="size for the pandas comparison")
    ap.add_argument("--memory", default="6GB", help="DuckDB memory limit")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--child", nargs=3, metavar=("KIND", "STAGE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, stage, path = args.child
        child(kind, stage, Path(path), args.memory, args.threads)
        return

    print(f"cpus: {os.cpu_count()}  duckdb memory limit: {args.memory}")
    small = write_panel(args.pandas)
    print(
        f"\n== same size: {args.pandas:,} customers x {MONTHS} months ({args.pandas * MONTHS:,} rows)"
    )
    print(
        f"{'stage':<12}{'duckdb s':>10}{'pandas s':>10}{'ratio':>8}{'duck GiB':>10}{'pandas GiB':>11}"
    )
    for stage in PANDAS:
        ours = run_stage("duckdb", stage, small, args.memory, args.threads)
        theirs = run_stage("pandas", stage, small, args.memory, args.threads)
        ratio = theirs["seconds"] / ours["seconds"]
        print(
            f"{stage:<12}{ours['seconds']:>10.2f}{theirs['seconds']:>10.2f}{ratio:>7.1f}x"
            f"{ours['peak_gib']:>10.2f}{theirs['peak_gib']:>11.2f}"
        )
    t0 = time.perf_counter()
    big = write_panel(args.customers)
    print(
        f"\n(data: {big}, {big.stat().st_size / 1024**3:.2f} GiB, ready in {time.perf_counter() - t0:.0f} s)"
    )
    print(
        f"== scale: {args.customers:,} customers x {MONTHS} months ({args.customers * MONTHS:,} rows), DuckDB"
    )
    print(f"{'stage':<12}{'seconds':>10}{'peak GiB':>10}")
    total = 0.0
    peak = 0.0
    for stage, _ in STAGES:
        got = run_stage("duckdb", stage, big, args.memory, args.threads)
        if stage != "validate":
            total += got["seconds"]
        peak = max(peak, got["peak_gib"])
        print(f"{stage:<12}{got['seconds']:>10.2f}{got['peak_gib']:>10.2f}")
    print(
        f"{'total':<12}{total:>10.2f}{peak:>10.2f}   (goal: < 120 s and < 8 GiB; validate not counted)"
    )


if __name__ == "__main__":
    main()
