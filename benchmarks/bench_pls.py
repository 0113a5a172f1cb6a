"""PLS path modelling: allegiance against the PyPI package ``plspm``, side by side, one run.

    python benchmarks/bench_pls.py                 # everything (about 4 minutes, most of it plspm)
    python benchmarks/bench_pls.py --plspm-boot 0  # skip plspm's slow bootstrap

Tasks, each timed in a fresh child process (so ``ru_maxrss`` is that task's peak memory):

1. ECSI on the mobile-phone survey (``mobi``, 250 x 24): one fit, median of several runs.
2. Bootstrap on ``mobi``: ours with 5,000 and 1,000 resamples; plspm with 1,000
   (``--plspm-boot``; plspm needs about 0.17 s per resample here, so 5,000 would take
   some 15 minutes: 1,000 is what we time, and the ratio is per resample count).
3. One fit at n = 100,000 and n = 1,000,000 respondents drawn from a known ECSI-like
   model (standardised paths near Tenenhaus et al. 2005, loadings 0.6-0.9, answers on
   1..10). Ours reduces the data to the item covariance matrix where they are
   (:func:`allegiance.pls.item_moments`, which reads a complete array in place) and
   fits that (median of 3 runs after a warm-up); we also time the plain
   ``estimate`` on the frame (which also computes the latent scores). plspm runs at
   n = 100,000 only (at 1,000,000 it needs several GB and minutes).

plspm (Python port of R plspm, GPL-3) needs pandas < 3, so the script keeps it in its own
virtual environment (default /tmp/allegiance-bench-plspm-venv, created on first use with
``python -m venv`` and ``pip install plspm "pandas<3"``; ``--venv`` picks another) and
runs it there in a subprocess, timing inside that process.

Correctness cross-check: our ECSI path coefficients on ``mobi`` equal plspm's to 1e-6
for the path, centroid and factorial schemes (both run with tight tolerances). plspm
0.5.7's ``Config(scaled=True)`` divides every item by one pooled standard deviation
instead of standardising each item, so it is given per-item z-scores; standardising
first is what "scaled" means in R plspm, SmartPLS and here.

Goals (issue 3): single fit >= 20x faster than plspm; 5,000-resample bootstrap on mobi
under 5 s; n = 1,000,000 under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

VENV = Path(os.environ.get("ALLEGIANCE_BENCH_PLSPM_VENV", "/tmp/allegiance-bench-plspm-venv"))

BLOCKS: dict[str, list[str]] = {
    "Image": [f"IMAG{i}" for i in range(1, 6)],
    "Expectation": [f"CUEX{i}" for i in range(1, 4)],
    "Perceived quality": [f"PERQ{i}" for i in range(1, 8)],
    "Perceived value": ["PERV1", "PERV2"],
    "Satisfaction": [f"CUSA{i}" for i in range(1, 4)],
    "Complaints": ["CUSCO"],
    "Loyalty": [f"CUSL{i}" for i in range(1, 4)],
}
PATHS: list[tuple[str, str, float]] = [
    ("Image", "Expectation", 0.50),
    ("Image", "Satisfaction", 0.18),
    ("Image", "Loyalty", 0.20),
    ("Expectation", "Perceived quality", 0.56),
    ("Expectation", "Perceived value", 0.05),
    ("Expectation", "Satisfaction", 0.06),
    ("Perceived quality", "Perceived value", 0.56),
    ("Perceived quality", "Satisfaction", 0.51),
    ("Perceived value", "Satisfaction", 0.20),
    ("Satisfaction", "Complaints", 0.53),
    ("Satisfaction", "Loyalty", 0.49),
    ("Complaints", "Loyalty", 0.07),
]
SCHEMES = ("path", "centroid", "factorial")


# --------------------------------------------------------------------------------------------
# Shared by both children (numpy and pandas only)
# --------------------------------------------------------------------------------------------


def generate(n: int, seed: int = 12345) -> Any:
    """``n`` answers to the 24 ECSI items from a known standardised ECSI-like model."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = list(BLOCKS)
    k = len(names)
    beta = np.zeros((k, k))
    for src, dst, value in PATHS:
        beta[names.index(src), names.index(dst)] = value
    # latent variables in causal order (BLOCKS is), each with variance 1 in the population
    cov = np.eye(k)
    eta = np.empty((n, k))
    for j in range(k):
        parents = np.flatnonzero(beta[:, j])
        b = beta[parents, j]
        explained = float(b @ cov[np.ix_(parents, parents)] @ b) if parents.size else 0.0
        for i in range(j):
            cov[i, j] = cov[j, i] = float(cov[i, parents] @ b) if parents.size else 0.0
        eta[:, j] = eta[:, parents] @ b + np.sqrt(1.0 - explained) * rng.standard_normal(n)
    columns: dict[str, Any] = {}
    loadings = np.linspace(0.6, 0.9, 24)
    position = 0
    for j, items in enumerate(BLOCKS.values()):
        for item in items:
            lam = loadings[position]
            position += 1
            y = lam * eta[:, j] + np.sqrt(1 - lam**2) * rng.standard_normal(n)
            columns[item] = np.clip(np.round(6.5 + 1.8 * y), 1, 10)
    return pd.DataFrame(columns)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_time(func: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------------------------
# The plspm child (runs in the plspm virtual environment)
# --------------------------------------------------------------------------------------------


def plspm_task(task: str, arg: str) -> dict[str, Any]:
    import pandas as pd
    import plspm.config as c
    from plspm.mode import Mode
    from plspm.plspm import Plspm
    from plspm.scheme import Scheme

    def config() -> Any:
        structure = c.Structure()
        for src, dst, _ in PATHS:
            structure.add_path([src], [dst])
        cfg = c.Config(structure.path(), scaled=True)
        for name, items in BLOCKS.items():
            cfg.add_lv(name, Mode.A, *[c.MV(i) for i in items])
        return cfg

    schemes = {"path": Scheme.PATH, "centroid": Scheme.CENTROID, "factorial": Scheme.FACTORIAL}

    def zscores(frame: pd.DataFrame) -> pd.DataFrame:
        return (frame - frame.mean()) / frame.std()

    if task == "mobi":
        data = zscores(pd.read_csv(arg))
        coefficients = {}
        for name, scheme in schemes.items():
            fit = Plspm(data, config(), scheme, iterations=1000, tolerance=1e-14)
            table = fit.path_coefficients()
            coefficients[name] = [float(table.loc[dst, src]) for src, dst, _ in PATHS]
        seconds = _median_time(lambda: Plspm(data, config(), Scheme.PATH), 7)
        return {"seconds": seconds, "coefficients": coefficients, "peak_mib": _peak_mib()}
    if task == "boot":
        path, count = arg.split("::")
        data = zscores(pd.read_csv(path))
        start = time.perf_counter()
        Plspm(
            data,
            config(),
            Scheme.PATH,
            bootstrap=True,
            bootstrap_iterations=int(count),
            processes=2,
        )
        return {"seconds": time.perf_counter() - start, "peak_mib": _peak_mib()}
    if task == "large":
        data = zscores(generate(int(arg)))
        start = time.perf_counter()
        Plspm(data, config(), Scheme.PATH)
        return {"seconds": time.perf_counter() - start, "peak_mib": _peak_mib()}
    raise SystemExit(f"unknown plspm task {task}")


# --------------------------------------------------------------------------------------------
# Our child
# --------------------------------------------------------------------------------------------


def ours_task(task: str, arg: str) -> dict[str, Any]:
    import numpy as np

    from allegiance.datasets import load_mobi
    from allegiance.pls import estimate, estimate_from_cov, item_moments
    from allegiance.pls.bootstrap import bootstrap
    from allegiance.pls.templates import load_model

    model = load_model("ecsi")
    order = [(src, dst) for src, dst, _ in PATHS]
    if task == "mobi":
        data = load_mobi()
        coefficients = {}
        for scheme in SCHEMES:
            fit = estimate(model, data, scheme=scheme, tol=1e-12, max_iter=1000)  # type: ignore[arg-type]
            table = fit.path_coefficients
            coefficients[scheme] = [float(table.loc[src, dst]) for src, dst in order]
        estimate(model, data)  # warm
        seconds = _median_time(lambda: estimate(model, data), 21)
        return {"seconds": seconds, "coefficients": coefficients, "peak_mib": _peak_mib()}
    if task == "boot":
        data = load_mobi()
        bootstrap(data, model=model, n_boot=50, seed=0)  # warm (imports, BLAS threads)
        start = time.perf_counter()
        result = bootstrap(data, model=model, n_boot=int(arg), seed=1)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "n_valid": result.n_valid, "peak_mib": _peak_mib()}
    if task == "large":
        n = int(arg)
        data = generate(n)
        x = data.to_numpy(dtype=np.float64)
        items = tuple(data.columns)
        estimate_from_cov(model, item_moments(x[:1000], items=items))  # warm (imports, BLAS)
        reduced = _median_time(lambda: estimate_from_cov(model, item_moments(x, items=items)), 3)
        fit = estimate_from_cov(model, item_moments(x, items=items))
        start = time.perf_counter()
        frame_fit = estimate(model, data)
        raw = time.perf_counter() - start
        gap = float(np.abs(fit.path_array - frame_fit.path_array).max())
        return {
            "seconds": reduced,
            "seconds_frame": raw,
            "paths_agree": gap,
            "peak_mib": _peak_mib(),
        }
    raise SystemExit(f"unknown task {task}")


# --------------------------------------------------------------------------------------------
# The parent
# --------------------------------------------------------------------------------------------


def _child(python: str, who: str, task: str, arg: str, timeout: float) -> dict[str, Any] | None:
    try:
        done = subprocess.run(
            [python, __file__, "--child", who, task, arg],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if done.returncode != 0:
        print(f"  [{who} {task} {arg} failed]\n{done.stderr[-2000:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _ensure_venv(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import plspm, pandas; assert pandas.__version__ < '3'"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return str(python)
    print(f"creating {venv} with plspm and pandas<3 ...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "plspm", "pandas<3"], check=True
    )
    return str(python)


def _row(
    label: str,
    ours: dict[str, Any] | None,
    theirs: dict[str, Any] | None,
    per: float = 1.0,
) -> None:
    """One line of the table; ``per`` scales plspm's time to the same amount of work
    (e.g. 1,000 / its number of resamples)."""

    def show(result: dict[str, Any] | None) -> str:
        if result is None:
            return "failed / not run".ljust(26)
        if "timeout" in result:
            return f"> {result['timeout']:.0f} s (stopped)".ljust(26)
        return f"{result['seconds']:9.4f} s {result['peak_mib']:7.0f} MiB".ljust(26)

    ratio = ""
    if ours and theirs and "seconds" in ours and "seconds" in theirs:
        ratio = f"{per * theirs['seconds'] / ours['seconds']:8.1f}x"
    print(f"{label:<44} {show(ours)} {show(theirs)} {ratio}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=VENV)
    parser.add_argument("--plspm-boot", type=int, default=1000, help="plspm resamples (0: skip)")
    parser.add_argument("--no-plspm", action="store_true", help="time allegiance only")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per plspm task")
    args = parser.parse_args()

    from allegiance.datasets import dataset_path

    mobi = str(dataset_path("mobi"))
    theirs_python = None if args.no_plspm else _ensure_venv(args.venv)
    me = sys.executable

    def theirs(task: str, arg: str) -> dict[str, Any] | None:
        if theirs_python is None:
            return None
        return _child(theirs_python, "plspm", task, arg, args.timeout)

    print(f"{'task':<44} {'allegiance (time, peak)':<26} {'plspm 0.5.7 (time, peak)':<26} ratio")
    ours_mobi = _child(me, "ours", "mobi", "", 600)
    theirs_mobi = theirs("mobi", mobi)
    _row("ECSI on mobi, one fit (median)", ours_mobi, theirs_mobi)
    boot5000 = _child(me, "ours", "boot", "5000", 600)
    _row("bootstrap on mobi, 5,000 resamples", boot5000, None)
    boot1000 = _child(me, "ours", "boot", "1000", 600)
    theirs_boot = theirs("boot", f"{mobi}::{args.plspm_boot}") if args.plspm_boot else None
    _row(
        f"bootstrap on mobi, 1,000 (plspm {args.plspm_boot:,}, ratio per resample)",
        boot1000,
        theirs_boot,
        per=1000 / args.plspm_boot if args.plspm_boot else 1.0,
    )
    large: dict[int, dict[str, Any] | None] = {}
    for n in (100_000, 1_000_000):
        ours_large = large[n] = _child(me, "ours", "large", str(n), 600)
        theirs_large = theirs("large", str(n)) if n <= 100_000 else None
        _row(f"one fit, n = {n:,} (covariance reduction)", ours_large, theirs_large)
        if ours_large:
            print(
                f"{'':<44} estimate() on the frame: {ours_large['seconds_frame']:.3f} s; "
                f"paths agree to {ours_large['paths_agree']:.1e}"
            )

    if ours_mobi and theirs_mobi:
        print("\ncross-check on mobi (path coefficients, ours vs plspm on z-scores):")
        for scheme in SCHEMES:
            a = ours_mobi["coefficients"][scheme]
            b = theirs_mobi["coefficients"][scheme]
            gap = max(abs(x - y) for x, y in zip(a, b, strict=True))
            verdict = "OK" if gap < 1e-6 else "DIFFERENT"
            print(f"  {scheme:<10} max |difference| = {gap:.2e}  ({verdict}, tolerance 1e-6)")
    print("\ngoals: single fit >= 20x plspm; 5,000 resamples < 5 s; n = 1,000,000 < 2 s")

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    if ours_mobi and theirs_mobi:
        ratio = theirs_mobi["seconds"] / ours_mobi["seconds"]
        print(f"  single fit ratio: {ratio:.0f}x ({met(ratio >= 20)})")
    else:
        print("  single fit ratio: not measured (plspm not run)")
    if boot5000:
        print(f"  5,000 resamples: {boot5000['seconds']:.2f} s ({met(boot5000['seconds'] < 5)})")
    million = large.get(1_000_000)
    if million and "seconds" in million:
        print(
            f"  n = 1,000,000: {million['seconds']:.2f} s ({met(million['seconds'] < 2)}; "
            f"covariance reduction and fit; estimate() on the frame "
            f"{million['seconds_frame']:.2f} s)"
        )
    else:
        print("  n = 1,000,000: not measured (the run failed or timed out)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        who, task, arg = sys.argv[2], sys.argv[3], sys.argv[4]
        out = plspm_task(task, arg) if who == "plspm" else ours_task(task, arg)
        print(json.dumps(out))
        raise SystemExit(0)
    raise SystemExit(main())
