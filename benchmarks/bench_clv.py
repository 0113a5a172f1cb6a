"""CLV models: allegiance against the PyPI package ``lifetimes``, side by side, one run.

    python benchmarks/bench_clv.py                # everything (a few minutes, most of it lifetimes)
    python benchmarks/bench_clv.py --no-lifetimes # time allegiance only

Tasks, each timed in a fresh child process (so ``ru_maxrss`` is that task's peak memory):

1. BG/NBD, Pareto/NBD and Gamma-Gamma on the CDNOW calibration summary (2,357 customers):
   one fit each, median of several runs, parameters printed for both.
2. BG/NBD on 1,000,000 customers drawn from the CDNOW BG/NBD population (r 0.243, α 4.414,
   a 0.793, b 2.426), ages T uniform on 1-78 weeks; the parent draws the data once
   (:func:`allegiance.methods.clv.simulate_bgnbd`) and both children read the same arrays.
   Ours includes the standard errors (finite-difference Hessian of the analytic gradient);
   lifetimes' ``fit`` computes its Hessian too.

lifetimes 0.11.3 (MIT, no longer maintained) needs pandas < 3 and an older scipy, so it runs
in its own virtual environment (default /tmp/allegiance-bench-lifetimes-venv, created on first
use with ``python -m venv`` and ``pip install lifetimes "pandas<3" "scipy<1.13" "numpy<2"``;
``--venv`` picks another).

Goal (issue 5): BG/NBD on 1,000,000 customers under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VENV = Path(
    os.environ.get("ALLEGIANCE_BENCH_LIFETIMES_VENV", "/tmp/allegiance-bench-lifetimes-venv")
)
TRUTH = (0.243, 4.414, 0.793, 2.426)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_time(func: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cdnow(path: str) -> Any:
    import pandas as pd

    frame = pd.read_csv(path)
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


# --------------------------------------------------------------------------------------------
# The lifetimes child (runs in the lifetimes virtual environment)
# --------------------------------------------------------------------------------------------


def lifetimes_task(task: str, arg: str) -> dict[str, Any]:
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    if task == "cdnow":
        data = _cdnow(arg)
        f, r, t = data["frequency"], data["recency"], data["T"]
        repeat = data[data["frequency"] > 0]
        out: dict[str, Any] = {}
        bgf = BetaGeoFitter()
        out["bgnbd"] = _median_time(lambda: bgf.fit(f, r, t), 5)
        out["bgnbd_params"] = [float(bgf.params_[k]) for k in ("r", "alpha", "a", "b")]
        pnf = ParetoNBDFitter()
        out["paretonbd"] = _median_time(lambda: pnf.fit(f, r, t), 3)
        out["paretonbd_params"] = [float(pnf.params_[k]) for k in ("r", "alpha", "s", "beta")]
        ggf = GammaGammaFitter()
        out["gammagamma"] = _median_time(
            lambda: ggf.fit(repeat["frequency"], repeat["monetary_value"]), 5
        )
        out["gammagamma_params"] = [float(ggf.params_[k]) for k in ("p", "q", "v")]
        out["peak_mib"] = _peak_mib()
        return out
    if task == "large":
        arrays = np.load(arg)
        x, tx, t = arrays["frequency"], arrays["recency"], arrays["T"]
        bgf = BetaGeoFitter()
        start = time.perf_counter()
        bgf.fit(x, tx, t)
        seconds = time.perf_counter() - start
        params = [float(bgf.params_[k]) for k in ("r", "alpha", "a", "b")]
        return {"seconds": seconds, "params": params, "peak_mib": _peak_mib()}
    raise SystemExit(f"unknown lifetimes task {task}")


# --------------------------------------------------------------------------------------------
# Our child
# --------------------------------------------------------------------------------------------


def ours_task(task: str, arg: str) -> dict[str, Any]:
    import numpy as np

    from allegiance.methods import clv

    if task == "cdnow":
        data = _cdnow(arg)
        f, r, t = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        repeat = data[data["frequency"] > 0]
        out: dict[str, Any] = {}
        clv.fit_bgnbd(f, r, t)  # warm (imports)
        out["bgnbd"] = _median_time(lambda: clv.fit_bgnbd(f, r, t), 5)
        out["bgnbd_params"] = list(clv.fit_bgnbd(f, r, t).params.values())
        out["paretonbd"] = _median_time(lambda: clv.fit_paretonbd(f, r, t), 3)
        out["paretonbd_params"] = list(clv.fit_paretonbd(f, r, t).params.values())
        m, x = repeat["monetary_value"].to_numpy(float), repeat["frequency"].to_numpy(float)
        out["gammagamma"] = _median_time(lambda: clv.fit_gammagamma(x, m), 5)
        out["gammagamma_params"] = list(clv.fit_gammagamma(x, m).params.values())
        out["peak_mib"] = _peak_mib()
        return out
    if task == "large":
        arrays = np.load(arg)
        x, tx, t = arrays["frequency"], arrays["recency"], arrays["T"]
        clv.fit_bgnbd(x[:2000], tx[:2000], t[:2000])  # warm (imports)
        start = time.perf_counter()
        fit = clv.fit_bgnbd(x, tx, t)
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "params": list(fit.params.values()),
            "se": list(fit.se.values()),
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
        print(f"  [{who} {task} failed]\n{done.stderr[-2000:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _ensure_venv(venv: Path) -> str:
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import lifetimes, pandas; assert pandas.__version__ < '3'"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return str(python)
    print(f"creating {venv} with lifetimes and pandas<3 ...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "lifetimes",
            "pandas<3",
            "scipy<1.13",
            "numpy<2",
        ],
        check=True,
    )
    return str(python)


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:9.4f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--venv", type=Path, default=VENV)
    parser.add_argument("--no-lifetimes", action="store_true", help="time allegiance only")
    parser.add_argument("--n", type=int, default=1_000_000, help="simulated customers")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per task")
    args = parser.parse_args()

    import numpy as np

    from allegiance.datasets import dataset_path
    from allegiance.methods.clv import simulate_bgnbd

    cdnow = str(dataset_path("cdnow_summary_with_transactions"))
    theirs_python = None if args.no_lifetimes else _ensure_venv(args.venv)
    me = sys.executable

    def theirs(task: str, arg: str) -> dict[str, Any] | None:
        if theirs_python is None:
            return None
        return _child(theirs_python, "lifetimes", task, arg, args.timeout)

    print(f"{'task':<40} {'allegiance':>12} {'lifetimes':>12} {'ratio':>8}")
    ours_c = _child(me, "ours", "cdnow", cdnow, args.timeout)
    theirs_c = theirs("cdnow", cdnow)
    for model in ("bgnbd", "paretonbd", "gammagamma"):
        a = ours_c.get(model) if ours_c else None
        b = theirs_c.get(model) if theirs_c else None
        ratio = f"{b / a:7.1f}x" if a and b else ""
        print(f"{'CDNOW ' + model + ' fit (median)':<40} {_fmt(a):>12} {_fmt(b):>12} {ratio:>8}")
    if ours_c:
        for model in ("bgnbd", "paretonbd", "gammagamma"):
            mine = ", ".join(f"{v:.4f}" for v in ours_c[f"{model}_params"])
            line = f"  {model:<11} allegiance: {mine}"
            if theirs_c:
                other = ", ".join(f"{v:.4f}" for v in theirs_c[f"{model}_params"])
                line += f" | lifetimes: {other}"
            print(line)
        peak = f"{ours_c['peak_mib']:.0f} MiB"
        other_peak = f"{theirs_c['peak_mib']:.0f} MiB" if theirs_c else "-"
        print(f"  peak memory (CDNOW task): allegiance {peak}, lifetimes {other_peak}")

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(20051)
        ages = rng.uniform(1.0, 78.0, args.n)
        data = simulate_bgnbd(TRUTH, ages, seed=20052)
        path = str(Path(tmp) / "bgnbd.npz")
        np.savez(
            path,
            frequency=data["frequency"].to_numpy(float),
            recency=data["recency"].to_numpy(float),
            T=data["T"].to_numpy(float),
        )
        ours_l = _child(me, "ours", "large", path, args.timeout)
        theirs_l = theirs("large", path)
    a = ours_l.get("seconds") if ours_l else None
    b = theirs_l.get("seconds") if theirs_l else None
    ratio = f"{b / a:7.1f}x" if a and b else ""
    print(f"{f'BG/NBD, n = {args.n:,} (simulated)':<40} {_fmt(a):>12} {_fmt(b):>12} {ratio:>8}")
    if ours_l:
        print(
            f"  allegiance: params {', '.join(f'{v:.4f}' for v in ours_l['params'])} "
            f"(se {', '.join(f'{v:.4f}' for v in ours_l['se'])}); truth {TRUTH}; "
            f"peak {ours_l['peak_mib']:.0f} MiB"
        )
    if theirs_l and "params" in theirs_l:
        print(
            f"  lifetimes:  params {', '.join(f'{v:.4f}' for v in theirs_l['params'])}; "
            f"peak {theirs_l['peak_mib']:.0f} MiB"
        )
    print(f"\ngoal: BG/NBD on {args.n:,} customers < 2 s: {_fmt(a).strip()}")
    print(f"machine load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        who, task, arg = sys.argv[2], sys.argv[3], sys.argv[4]
        out = lifetimes_task(task, arg) if who == "lifetimes" else ours_task(task, arg)
        print(json.dumps(out))
        raise SystemExit(0)
    raise SystemExit(main())
