"""Customer indicators, the step loyalty engine and RFM at scale: DuckDB against pandas, and
Spark against DuckDB.

    python benchmarks/bench_customers.py                  # 10M customers x 24 months + pandas at 1M
    python benchmarks/bench_customers.py --customers 1000000 --pandas 1000000
    python benchmarks/bench_customers.py --spark-check 100000 --no-scale   # Spark = DuckDB?

A monthly panel (``activity.parquet``: customer_id, month, amount, n_purchases,
products_held, additions, cancellations, competitor_share; ``customers.parquet``:
customer_id, join_date) is written once by a numpy writer to
/tmp/allegiance-bench-customers/panel_<n>_<months>/ (not timed; reused when present).

Each stage runs end to end (read Parquet -> result) in a process of its own, so its peak
memory (max RSS) is its own: ``validate`` (read and check every value), ``indicators``
(``allegiance.customers.indicators``), ``steps`` (the step loyalty engine with the shipped
rules, ``run_steps``) and ``rfm`` (per-customer values, RFM scores, the cell summary). The
pandas versions of indicators, steps (``bench_steps.pandas_steps``) and RFM run on the pandas
size in their own processes too.

Printed: at the pandas size, our time and pandas' with the ratio and both peaks; at the large
size, our time and peak, pandas' time scaled per row from its size (an estimate, marked so:
pandas is not run there) and that ratio. Goals: indicators + steps + RFM under 120 s and
8 GiB at 10M x 24; at least 5x pandas on indicators and RFM, 10x on the step engine.

``--spark-check N`` runs every stage on DuckDB and on Spark local mode at N customers and
compares what they return (the indicator tables, the RFM cells, the step moves, levels and
rule counts) value by value.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CACHE = Path("/tmp/allegiance-bench-customers")
SPARK_MEMORY = "4g"  # driver memory of the local Spark (--spark-check)
MONTHS = 24
CHUNK = 500_000
START = "2024-01"


# --------------------------------------------------------------------------- data


def write_panel(n: int, months: int = MONTHS, *, seed: int = 7) -> Path:
    """Write (once) the panel of ``n`` customers x ``months`` months; returns its folder.

    Customers churn at a random month (geometric), hold 1-8 products that now and then go
    up or down by one (additions, cancellations), spend a lognormal amount per product, and
    one in ten is tracked by market intelligence (competitor_share, else missing).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = CACHE / f"panel_{n}_{months}"
    if (folder / "activity.parquet").exists() and (folder / "customers.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "activity.parquet.tmp"
    rng = np.random.default_rng(seed)
    first = np.datetime64(START, "M")
    month_days = (first + np.arange(months)).astype("datetime64[D]").astype(np.int32)
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("month", pa.date32()),
            ("amount", pa.float32()),
            ("n_purchases", pa.int32()),
            ("products_held", pa.int8()),
            ("additions", pa.int8()),
            ("cancellations", pa.int8()),
            ("competitor_share", pa.float32()),
        ]
    )
    joins = []
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for lo in range(0, n, CHUNK):
            k = min(CHUNK, n - lo)
            tenure = np.clip(np.round(np.exp(np.log(42) + 0.9 * rng.standard_normal(k))), 1, 360)
            joins.append((first - tenure.astype("timedelta64[M]")).astype("datetime64[D]"))
            hazard = rng.uniform(0.002, 0.03, k)
            absent = np.minimum(rng.geometric(hazard), months)  # first month without service
            active = np.arange(months)[None, :] < absent[:, None]
            step = (rng.random((k, months), dtype=np.float32) < 0.012).astype(np.int8)
            step -= (rng.random((k, months), dtype=np.float32) < 0.008).astype(np.int8)
            step[:, 0] = 0
            base = np.minimum(1 + rng.poisson(0.8, k), 8)[:, None]
            held = (np.clip(base + np.cumsum(step, axis=1), 0, 8) * active).astype(np.int8)
            prev = np.concatenate([held[:, :1], held[:, :-1]], axis=1).astype(np.int16)
            change = held.astype(np.int16) - prev
            spend = rng.lognormal(4.0, 1.0, k).astype(np.float32)
            noise = rng.lognormal(0.0, 0.1, (k, months)).astype(np.float32)
            amount = spend[:, None] * noise * held
            purchases = rng.poisson(1.3 * held).astype(np.int32)
            share = np.full((k, months), np.nan, dtype=np.float32)
            tracked = rng.random(k) < 0.1
            logit = -1 + 0.5 * rng.standard_normal((int(tracked.sum()), months))
            share[tracked] = (1 / (1 + np.exp(-logit))).astype(np.float32)
            table = pa.table(
                {
                    "customer_id": np.repeat(np.arange(lo, lo + k, dtype=np.int64), months),
                    "month": pa.array(np.tile(month_days, k), type=pa.int32()).view(pa.date32()),
                    "amount": amount.reshape(-1),
                    "n_purchases": purchases.reshape(-1),
                    "products_held": held.reshape(-1),
                    "additions": np.maximum(change, 0).astype(np.int8).reshape(-1),
                    "cancellations": np.maximum(-change, 0).astype(np.int8).reshape(-1),
                    "competitor_share": pa.array(share.reshape(-1), from_pandas=True),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=1_000_000)
    customers = pa.table(
        {
            "customer_id": np.arange(n, dtype=np.int64),
            "join_date": pa.array(np.concatenate(joins)),
        }
    )
    pq.write_table(customers, folder / "customers.parquet")
    tmp.replace(folder / "activity.parquet")
    return folder


# --------------------------------------------------------------------------- allegiance stages


def _activity(engine: Any, folder: Path) -> Any:
    from allegiance.customers.inputs import read_source

    return read_source(engine, folder / "activity.parquet", kind="activity", validate=False)


def stage_validate(engine: Any, folder: Path) -> Any:
    from allegiance.customers.inputs import read_source

    return read_source(engine, folder / "activity.parquet", kind="activity", validate=True)


def stage_indicators(engine: Any, folder: Path) -> Any:
    from allegiance.customers.indicators import indicators

    return indicators(engine, _activity(engine, folder))


def stage_steps(engine: Any, folder: Path) -> Any:
    from allegiance.customers.steps import run_steps

    out = CACHE / "work" / f"steps-{engine.name}-{folder.name}"
    shutil.rmtree(out, ignore_errors=True)
    return run_steps(
        engine,
        folder / "activity.parquet",
        folder=out,
        customers=folder / "customers.parquet",
        full=True,
    )


def stage_rfm(engine: Any, folder: Path) -> Any:
    from allegiance.customers.segments import customer_values_for, rfm_scores, summarise_rfm

    values = customer_values_for(engine, _activity(engine, folder))
    # only what RFM reads (the other per-customer values are not computed)
    values = values.select("customer", "recency_days", "frequency", "monetary")
    return summarise_rfm(engine, rfm_scores(values, q=5))


# (name, function(engine, panel folder) -> result); timed in this order
STAGES: list[tuple[str, Callable[[Any, Path], Any]]] = [
    ("validate", stage_validate),
    ("indicators", stage_indicators),
    ("steps", stage_steps),
    ("rfm", stage_rfm),
]
COUNTED = ("indicators", "steps", "rfm")  # the goal's stages (validate is shown apart)


def outputs(engine: Any, stage: str, result: Any) -> dict[str, pd.DataFrame]:
    """What a stage returned, as frames to compare between engines (not timed)."""
    if stage == "validate":
        return {"rows": pd.DataFrame({"rows": [int(engine.to_pandas(result.count()))]})}
    if stage == "indicators":
        return {"periods": result.periods, "summary": result.summary}
    if stage == "rfm":
        return {"cells": result}
    if stage == "steps":
        moves = pd.read_parquet(result.folder / "moves")
        keep = ["customer_id", "month", "seq", "rule", "old_level", "new_level"]
        moves = moves[[c for c in keep if c in moves.columns]]
        return {
            "levels": result.levels,
            "rules": result.rule_counts,
            "moves": moves.sort_values(list(moves.columns)[:3], ignore_index=True),
        }
    raise KeyError(stage)


# --------------------------------------------------------------------------- pandas stages


def pandas_indicators(folder: Path) -> Any:
    columns = ["customer_id", "month", "amount", "n_purchases", "products_held"]
    t = pd.read_parquet(folder / "activity.parquet", columns=columns)
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


def pandas_rfm(folder: Path) -> Any:
    columns = ["customer_id", "month", "amount", "n_purchases"]
    t = pd.read_parquet(folder / "activity.parquet", columns=columns)
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


def pandas_steps(folder: Path) -> Any:
    """The shipped rules in plain pandas: bench_steps' implementation, on this panel."""
    from allegiance.customers.steps import load_rules
    from bench_steps import pandas_steps as steps

    return steps(folder, load_rules().to_dict())


PANDAS: dict[str, Callable[[Path], Any]] = {
    "indicators": pandas_indicators,
    "steps": pandas_steps,
    "rfm": pandas_rfm,
}


# --------------------------------------------------------------------------- runner


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _connect(kind: str, memory: str, threads: int | None, master: str | None) -> Any:
    from allegiance.customers.engine import connect

    if kind == "spark":
        # Java's own size words: 4g, not 4GB
        return connect("spark", master=master or "local[2]", memory_limit=SPARK_MEMORY)
    return connect("duckdb", memory_limit=memory, temp_dir=CACHE / "spill", threads=threads)


def _imports() -> None:
    """Load the libraries before the clock starts: a stage's time is its work, not Python
    importing ibis, DuckDB, pandas or the rules (the same for every side)."""
    import ibis.backends.duckdb  # noqa: F401

    import allegiance.customers.engine
    import allegiance.customers.indicators
    import allegiance.customers.inputs
    import allegiance.customers.segments
    import allegiance.customers.steps  # noqa: F401
    import bench_steps  # noqa: F401


def child(kind: str, stage: str, folder: Path, memory: str, threads: int | None) -> None:
    """Run one stage in this (fresh) process and print one JSON line."""
    _imports()
    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "pandas":
        PANDAS[stage](folder)
    else:
        with _connect(kind, memory, threads, None) as eng:
            dict(STAGES)[stage](eng, folder)
    seconds, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu_s, "peak_gib": _peak_gib()}))


def check_child(kind: str, folder: Path, out: Path, memory: str, master: str | None) -> None:
    """Run every stage on one engine and keep what each returned (for --spark-check)."""
    times = {}
    with _connect(kind, memory, None, master) as eng:
        for stage, run in STAGES:
            start = time.perf_counter()
            result = run(eng, folder)
            times[stage] = time.perf_counter() - start
            for name, frame in outputs(eng, stage, result).items():
                frame.to_pickle(out / f"{stage}.{name}.pkl")
    (out / "times.json").write_text(json.dumps(times))


def run_stage(
    kind: str, stage: str, folder: Path, memory: str, threads: int | None
) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", kind, stage, str(folder), "--memory", memory]
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        return {"seconds": math.nan, "cpu": math.nan, "peak_gib": math.nan}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _differences(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """How frames ``a`` and ``b`` differ: columns, rows, values (numbers to 1e-9 relative)."""
    if list(a.columns) != list(b.columns):
        return [f"columns {list(a.columns)} != {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{len(a)} rows != {len(b)} rows"]
    out = []
    for col in a.columns:
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xf, yf = x.astype("float64").to_numpy(), y.astype("float64").to_numpy()
            same = np.isclose(xf, yf, rtol=1e-9, atol=1e-9, equal_nan=True)
        else:
            same = (x.astype(str) == y.astype(str)).to_numpy()
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            out.append(f"{col}: {int((~same).sum())} differ, e.g. row {i}: {x[i]!r} vs {y[i]!r}")
    return out


def spark_check(n: int, memory: str, master: str) -> bool:
    folder = write_panel(n)
    print(f"\n== Spark ({master}) against DuckDB: {n:,} customers x {MONTHS} months")
    results = {}
    for kind in ("duckdb", "spark"):
        out = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=CACHE))
        cmd = [sys.executable, __file__, "--check-child", kind, str(folder), str(out)]
        cmd += ["--memory", memory, "--master", master]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-3000:])
            print(f"{kind} failed")
            return False
        results[kind] = out
    times = {k: json.loads((v / "times.json").read_text()) for k, v in results.items()}
    print(f"{'stage':<12}{'duckdb s':>10}{'spark s':>10}  same numbers")
    all_same = True
    for stage, _ in STAGES:
        notes, tables, cells = [], 0, 0
        for f in sorted(results["duckdb"].glob(f"{stage}.*.pkl")):
            a = pd.read_pickle(f)
            b = pd.read_pickle(results["spark"] / f.name)
            notes += [f"{f.name.split('.')[1]}: {d}" for d in _differences(a, b)]
            tables, cells = tables + 1, cells + a.size
        if not tables:
            notes.append("nothing to compare")
        all_same &= not notes
        seen = f"({tables} tables, {cells:,} values)"
        verdict = f"yes {seen}" if not notes else "NO: " + "; ".join(notes[:3])
        print(
            f"{stage:<12}{times['duckdb'][stage]:>10.2f}{times['spark'][stage]:>10.2f}  {verdict}"
        )
    for out in results.values():
        shutil.rmtree(out, ignore_errors=True)
    return all_same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--pandas", type=int, default=1_000_000, help="size for the pandas comparison")
    ap.add_argument("--memory", default="6GB", help="DuckDB memory limit")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stages", default=None, help="comma-separated subset of the stages")
    ap.add_argument("--repeat", type=int, default=1, help="runs per stage (the best is kept)")
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas comparison")
    ap.add_argument("--no-scale", action="store_true", help="skip the large run")
    ap.add_argument("--spark-check", type=int, default=None, metavar="N")
    ap.add_argument("--master", default="local[2]", help="Spark master for --spark-check")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "STAGE", "FOLDER"), help=argparse.SUPPRESS)
    ap.add_argument("--check-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, stage, folder = args.child
        child(kind, stage, Path(folder), args.memory, args.threads)
        return
    if args.check_child:
        kind, folder, out = args.check_child
        check_child(kind, Path(folder), Path(out), args.memory, args.master)
        return

    names = [s for s, _ in STAGES]
    chosen = args.stages.split(",") if args.stages else names
    unknown = set(chosen) - set(names)
    if unknown:
        ap.error(f"unknown stages: {', '.join(sorted(unknown))} (choose from {', '.join(names)})")
    print(
        f"cpus: {os.cpu_count()}  duckdb memory limit: {args.memory}  "
        f"load average: {_load()}  (times: best of {args.repeat}; cpu = user + system seconds)"
    )

    def timed(kind: str, stage: str, folder: Path) -> dict[str, float]:
        runs = [
            run_stage(kind, stage, folder, args.memory, args.threads) for _ in range(args.repeat)
        ]
        best = min(runs, key=lambda r: r["seconds"] if r["seconds"] == r["seconds"] else math.inf)
        return {**best, "peak_gib": max(r["peak_gib"] for r in runs)}

    ok = True
    pandas_s: dict[str, float] = {}
    if not args.no_pandas:
        small = write_panel(args.pandas)
        n_rows = args.pandas * MONTHS
        print(f"\n== same size: {args.pandas:,} customers x {MONTHS} months ({n_rows:,} rows)")
        print(
            f"{'stage':<12}{'ours s':>9}{'(cpu)':>8}{'pandas s':>10}{'(cpu)':>8}{'ratio':>8}"
            f"{'ours GiB':>10}{'pandas GiB':>12}"
        )
        for stage in chosen:
            ours = timed("duckdb", stage, small)
            if stage not in PANDAS:
                print(
                    f"{stage:<12}{ours['seconds']:>9.2f}{ours['cpu']:>8.1f}{'-':>10}{'-':>8}"
                    f"{'-':>8}{ours['peak_gib']:>10.2f}"
                )
                continue
            theirs = timed("pandas", stage, small)
            pandas_s[stage] = theirs["seconds"]
            ratio = theirs["seconds"] / ours["seconds"]
            print(
                f"{stage:<12}{ours['seconds']:>9.2f}{ours['cpu']:>8.1f}{theirs['seconds']:>10.2f}"
                f"{theirs['cpu']:>8.1f}{ratio:>7.1f}x{ours['peak_gib']:>10.2f}"
                f"{theirs['peak_gib']:>12.2f}"
            )
    if args.spark_check:
        ok &= spark_check(args.spark_check, args.memory, args.master)
    if args.no_scale:
        print(f"(load average at the end: {_load()})")
        raise SystemExit(0 if ok else 1)
    t0 = time.perf_counter()
    big = write_panel(args.customers)
    size = sum(f.stat().st_size for f in big.iterdir() if f.is_file()) / 1024**3
    print(f"\n(data: {big}, {size:.2f} GiB, ready in {time.perf_counter() - t0:.0f} s)")
    scale = args.customers / args.pandas
    print(
        f"== scale: {args.customers:,} customers x {MONTHS} months "
        f"({args.customers * MONTHS:,} rows), DuckDB"
    )
    if scale != 1:
        print(
            f"   pandas is not run at this size: its time at {args.pandas:,} customers is "
            f"scaled per row (x{scale:g}), an estimate"
        )
    est = "pandas est. s" if scale != 1 else "pandas s"
    print(f"{'stage':<12}{'ours s':>9}{'(cpu)':>8}{'ours GiB':>10}{est:>15}{'ratio':>8}")
    total, peak = 0.0, 0.0
    for stage in chosen:
        got = timed("duckdb", stage, big)
        if stage in COUNTED:
            total += got["seconds"]
            peak = max(peak, got["peak_gib"])
        if stage in pandas_s:
            guess = pandas_s[stage] * scale
            theirs, ratio = f"{guess:.1f}", f"{guess / got['seconds']:.1f}x"
        else:
            theirs, ratio = "-", "-"
        print(
            f"{stage:<12}{got['seconds']:>9.2f}{got['cpu']:>8.1f}{got['peak_gib']:>10.2f}"
            f"{theirs:>15}{ratio:>8}"
        )
    print(
        f"{'total':<12}{total:>9.2f}{'':>8}{peak:>10.2f}   "
        f"({' + '.join(s for s in COUNTED if s in chosen)}; goal: < 120 s and < 8 GiB)"
    )
    print(f"(load average at the end: {_load()})")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
