"""The step loyalty engine (台阶分析法) against a pandas implementation of the same rules.

Run: ``python benchmarks/bench_steps.py [--customers 1000000] [--months 24] [--pandas-customers N]
[--engine duckdb|spark] [--method auto|batch|monthly] [--memory 6GB] [--folder DIR]``. Makes a
synthetic activity table (one row per customer and month, customer-major like the demo
company's), runs the shipped default rules with :func:`allegiance.customers.steps.run_steps`
(``--method``: all months in one pass, or one month at a time as before), runs a plain pandas
version of the same rules (vectorised over customers, a loop over months) on the largest size
pandas is given, checks both agree on every move, and prints the times, the ratio and the peak
memory of each. DuckDB runs with ``--memory`` as its memory limit (spilling to the folder).
Each time is also given as CPU seconds (user + system, every thread of the process), and the
load average is printed at the start and the end: on a shared machine the wall-clock ratio
moves with the other work running, the CPU seconds much less.

Peak memory is the process's maximum resident set (the pandas run is done in a child process
so the two peaks are measured apart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def make_data(n: int, months: int, folder: Path, *, seed: int = 7, chunk: int = 1_000_000) -> None:
    """activity.parquet and customers.parquet for ``n`` customers (written in chunks)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01", "M")
    month_days = (start + np.arange(months)).astype("datetime64[D]")
    writer: pq.ParquetWriter | None = None
    cust_parts = []
    for lo in range(0, n, chunk):
        k = min(chunk, n - lo)
        ids = np.char.add("C", np.char.zfill(np.arange(lo, lo + k).astype(str), 8))
        tenure = np.clip(np.round(np.exp(np.log(42) + 0.9 * rng.standard_normal(k))), 1, 360)
        join = (start - tenure.astype("timedelta64[M]")).astype("datetime64[D]")
        cust_parts.append(pa.table({"customer_id": ids, "join_date": pa.array(join)}))
        loyal = rng.standard_normal(k).astype(np.float32)
        step = (
            rng.random((k, months), dtype=np.float32) < 0.012 * np.exp(0.6 * loyal)[:, None]
        ).astype(np.int8)
        step -= (
            rng.random((k, months), dtype=np.float32) < 0.008 * np.exp(-0.6 * loyal)[:, None]
        ).astype(np.int8)
        step[:, 0] = 0
        held = np.clip(1 + rng.poisson(1.0, k)[:, None] + np.cumsum(step, axis=1), 0, 8).astype(
            np.int8
        )
        churn = rng.random(k) < 0.1
        churn_at = rng.integers(1, months, k)
        gone = churn[:, None] & (np.arange(months)[None, :] >= churn_at[:, None])
        held[gone] = 0
        prev = np.concatenate([held[:, :1], held[:, :-1]], axis=1)
        change = held.astype(np.int16) - prev
        spend = (60 * np.exp(0.35 * rng.standard_normal(k))).astype(np.float32)
        amount = (
            held
            * spend[:, None]
            * np.exp(0.08 * rng.standard_normal((k, months))).astype(np.float32)
        )
        purchases = rng.poisson(np.maximum(held, 0) * 1.3).astype(np.int16)
        comp = np.full((k, months), np.nan, dtype=np.float32)
        tracked = rng.random(k) < 0.1
        logit = (
            -1
            - 0.7 * loyal[tracked, None]
            + 0.3 * rng.standard_normal((int(tracked.sum()), months))
        )
        comp[tracked] = (1 / (1 + np.exp(-logit))).astype(np.float32)
        table = pa.table(
            {
                "customer_id": np.repeat(ids, months),
                "month": pa.array(np.tile(month_days, k)),
                "n_purchases": purchases.reshape(-1),
                "amount": amount.reshape(-1),
                "products_held": held.reshape(-1),
                "additions": np.maximum(change, 0).astype(np.int8).reshape(-1),
                "cancellations": np.maximum(-change, 0).astype(np.int8).reshape(-1),
                "competitor_share": pa.array(comp.reshape(-1), from_pandas=True),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(folder / "activity.parquet", table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
    assert writer is not None
    writer.close()
    pq.write_table(pa.concat_tables(cust_parts), folder / "customers.parquet")


# --------------------------------------------------------------------------------------------
# pandas baseline: the default rules, vectorised over customers, one month at a time
# --------------------------------------------------------------------------------------------


def pandas_steps(folder: Path, rules_dict: dict) -> pd.DataFrame:
    """Every move of the rules in ``rules_dict`` (StepRules.to_dict()) computed with pandas."""
    from allegiance.customers.steps import parse_rules

    rules = parse_rules(rules_dict)
    act = pd.read_parquet(folder / "activity.parquet")
    cust = pd.read_parquet(folder / "customers.parquet")
    act["month"] = pd.to_datetime(act["month"])
    ids = pd.Index(cust["customer_id"].astype(str))
    n = len(ids)
    join = pd.to_datetime(cust["join_date"]).to_numpy()
    jy, jm = pd.DatetimeIndex(join).year.to_numpy(), pd.DatetimeIndex(join).month.to_numpy()
    lv = rules.levels
    level = np.full(n, lv.start, dtype=np.int64)
    w = rules.window_months
    lags = np.full((2 * w, n), np.nan)
    p_purch = np.full(n, np.nan)
    p_prod = np.full(n, np.nan)
    p_comp = np.full(n, np.nan)
    out = []
    act = act.sort_values(["month"], kind="stable")
    for month, rows in act.groupby("month", sort=True):
        pos = ids.get_indexer(rows["customer_id"].astype(str))
        amount = np.zeros(n)
        amount[pos] = rows["amount"].to_numpy(float)
        purch = np.where(np.isnan(p_purch), np.nan, 0.0)
        purch[pos] = rows["n_purchases"].to_numpy(float)
        prod = np.where(np.isnan(p_prod), np.nan, 0.0)
        prod[pos] = rows["products_held"].to_numpy(float)
        adds = np.zeros(n)
        adds[pos] = rows["additions"].to_numpy(float)
        canc = np.zeros(n)
        canc[pos] = rows["cancellations"].to_numpy(float)
        comp = np.full(n, np.nan)
        comp[pos] = rows["competitor_share"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = np.vstack([amount[None, :], lags])

            def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                return np.where(b == 0, np.nan, a / np.where(b == 0, 1, b)) - 1

            tenure = (month.year - jy) * 12 + (month.month - jm)
            m = {
                "amount": amount,
                "amount_prev": lags[0],
                "amount_change": ratio(amount, lags[0]),
                "purchases": purch,
                "purchases_prev": p_purch,
                "purchases_change": ratio(purch, p_purch),
                "products_held": prod,
                "products_prev": p_prod,
                "services_lost_share": -ratio(prod, p_prod),
                "additions": adds,
                "cancellations": canc,
                "period_change": ratio(hist[0:w].sum(0), hist[w : 2 * w].sum(0)),
                "period_change_prev": ratio(hist[1 : w + 1].sum(0), hist[w + 1 : 2 * w + 1].sum(0)),
                "competitor_share": comp,
                "competitor_share_prev": p_comp,
                "tenure_months": tenure.astype(float),
                "tenure_months_prev": tenure - 1.0,
                "active": ((np.nan_to_num(prod) > 0) | (amount > 0)).astype(float),
            }
        crossing = {
            "amount": "amount_prev",
            "purchases": "purchases_prev",
            "products_held": "products_prev",
            "period_change": "period_change_prev",
            "competitor_share": "competitor_share_prev",
            "tenure_months": "tenure_months_prev",
        }
        group_seen: dict[str, np.ndarray] = {}
        for seq, rule in enumerate(rules.rules):
            ok = np.ones(n, dtype=bool)
            for c in rule.when:
                x = m[c.measure]
                with np.errstate(invalid="ignore"):
                    if c.op == "known":
                        hit = ~np.isnan(x)
                    elif c.op == "unknown":
                        hit = np.isnan(x)
                    elif c.op == "crosses":
                        prev = m[crossing[c.measure]]
                        hit = np.zeros(n, dtype=bool)
                        for v in c.value:
                            hit |= (x >= v) & ~(prev >= v)
                    else:
                        hit = {
                            "<": np.less,
                            "<=": np.less_equal,
                            ">": np.greater,
                            ">=": np.greater_equal,
                            "==": np.equal,
                            "!=": np.not_equal,
                        }[c.op](x, c.value)
                ok &= hit
            fired = ok
            if rule.group is not None:
                seen = group_seen.get(rule.group, np.zeros(n, dtype=bool))
                fired = ok & ~seen
                group_seen[rule.group] = seen | ok
            old = level.copy()
            if rule.set is not None:
                level = np.where(fired, rule.set, level)
            else:
                level = np.clip(level + fired * rule.move, lv.min, lv.max)
            idx = np.flatnonzero(fired)
            if idx.size:
                out.append(
                    pd.DataFrame(
                        {
                            "customer_id": ids[idx],
                            "month": month,
                            "seq": seq,
                            "rule": rule.name,
                            "old_level": old[idx],
                            "new_level": level[idx],
                        }
                    )
                )
        lags = np.vstack([amount[None, :], lags[:-1]])
        p_purch, p_prod, p_comp = purch, prod, comp
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _pandas_child(folder: str, rules_dict: dict, queue: mp.Queue) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    moves = pandas_steps(Path(folder), rules_dict)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    moves.to_parquet(Path(folder) / "pandas_moves.parquet")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "cpu": cpu, "peak_mib": peak, "n_moves": len(moves)})


def _ours_child(
    folder: str,
    engine: str,
    master: str | None,
    method: str,
    memory: str | None,
    queue: mp.Queue,
) -> None:
    from allegiance.customers import connect
    from allegiance.customers.steps import run_steps

    f = Path(folder)
    options = {"memory_limit": memory, "temp_dir": f / "spill"} if engine == "duckdb" else {}
    with connect(engine, master=master, **options) as eng:
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_steps(
            eng,
            f / "activity.parquet",
            customers=f / "customers.parquet",
            folder=f / "steps",
            full=True,
            method=method,
        )
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        {
            "seconds": seconds,
            "cpu": cpu,
            "peak_mib": peak,
            "n_moves": result.n_moves,
            "months": len(result.months),
        }
    )


def _guarded(target, *args) -> None:  # type: ignore[no-untyped-def]
    queue = args[-1]
    try:
        target(*args)
    except BaseException as exc:  # report instead of leaving the parent waiting
        queue.put({"error": repr(exc)})
        raise


def _run(target, *args) -> dict:  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_guarded, args=(target, *args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    if "error" in out:
        raise SystemExit(f"{target.__name__} failed: {out['error']}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument(
        "--pandas-customers",
        type=int,
        default=None,
        help="size of the pandas comparison (default: same as --customers)",
    )
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--method", default="auto", choices=["auto", "batch", "monthly"])
    ap.add_argument("--memory", default="6GB", help="DuckDB memory limit (spills beyond it)")
    ap.add_argument("--master", default=None)
    ap.add_argument("--folder", type=Path, default=None)
    ap.add_argument("--no-check", action="store_true", help="do not compare the moves")
    args = ap.parse_args(argv)

    from allegiance.customers.steps import load_rules

    rules_dict = load_rules().to_dict()
    root = args.folder or Path(tempfile.mkdtemp(prefix="bench-steps-"))
    report: dict[str, object] = {
        "customers": args.customers,
        "months": args.months,
        "engine": args.engine,
        "method": args.method,
        "load_start": _load(),
    }
    print(f"cpus: {os.cpu_count()}  load average: {report['load_start']}")
    try:
        n_pd = args.pandas_customers or args.customers
        sizes = sorted({args.customers, n_pd})
        for n in sizes:
            f = root / f"n{n}"
            f.mkdir(parents=True, exist_ok=True)
            if not (f / "activity.parquet").exists():
                t0 = time.perf_counter()
                make_data(n, args.months, f)
                print(
                    f"data {n:,} x {args.months}: {time.perf_counter() - t0:.1f} s", file=sys.stderr
                )
            ours = _run(_ours_child, str(f), args.engine, args.master, args.method, args.memory)
            print(
                f"allegiance ({args.engine}, {args.method}) {n:,} customers: "
                f"{ours['seconds']:.1f} s (cpu {ours['cpu']:.1f} s), "
                f"peak {ours['peak_mib']:.0f} MiB, {ours['n_moves']:,} moves"
            )
            report[f"ours_{n}"] = ours
            if n == n_pd:
                theirs = _run(_pandas_child, str(f), rules_dict)
                print(
                    f"pandas {n:,} customers: {theirs['seconds']:.1f} s "
                    f"(cpu {theirs['cpu']:.1f} s), "
                    f"peak {theirs['peak_mib']:.0f} MiB, {theirs['n_moves']:,} moves"
                )
                print(
                    f"ratio pandas / allegiance at {n:,}: {theirs['seconds'] / ours['seconds']:.2f}x"
                    f" (cpu: {theirs['cpu'] / ours['cpu']:.2f}x)"
                )
                report[f"pandas_{n}"] = theirs
                if not args.no_check:
                    a = pd.read_parquet(f / "pandas_moves.parquet")
                    b = pd.read_parquet(f / "steps" / "moves")
                    key = ["customer_id", "month", "seq", "old_level", "new_level"]
                    a["month"] = pd.to_datetime(a["month"]).dt.date
                    b["month"] = pd.to_datetime(b["month"]).dt.date
                    a = a[key].sort_values(key, ignore_index=True).astype(str)
                    b = b[key].sort_values(key, ignore_index=True).astype(str)
                    same = a.equals(b)
                    print(f"same moves: {same}")
                    report["same_moves"] = same
        report["load_end"] = _load()
        print(f"load average at the end: {report['load_end']}")
        print(json.dumps(report, default=str))
    finally:
        if args.folder is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    dt.date.today()
    raise SystemExit(main())
