"""Time allegiance's AHP against the PyPI package ahpy on the same inputs, in the same run.

    python benchmarks/bench_ahp.py [--matrices 10000] [--repeat 20]

Workloads (seeded, identical for both):

1. ``--matrices`` random 7×7 reciprocal matrices on Saaty's scale: priorities and CR
   (Donegan-Dodd RI, ahpy's default). Ours twice: ``ahp_many`` (one vectorised call) and
   ``ahp`` one matrix at a time; ahpy: one ``Compare`` per matrix (it has no batch call).
2. A 3-level hierarchy: goal → 5 criteria → 6 sub-criteria each → 7 alternatives compared
   under each of the 30 leaves (36 matrices), built from its description and synthesised,
   ``--repeat`` times. Ours: ``parse_hierarchy`` + ``analyze``; ahpy: ``Compare`` objects
   linked with ``add_children``.

ahpy (not a dependency of allegiance) is imported if installed; otherwise the script makes
a virtual environment under /tmp (with the system's numpy and scipy visible) and installs
ahpy there from PyPI. ahpy runs in a child process of its own, on data written by this one.
Printed: CPU time of each side (process time, steadier than wall time when other work
shares the machine; it counts every thread), the ratio (ahpy / ours), and the
peak memory of each workload measured by tracemalloc in a separate pass (Python-level
allocations, numpy arrays included).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

VENV = Path(tempfile.gettempdir()) / "allegiance-bench-ahpy"
SCALE = np.array(
    [1 / 9, 1 / 8, 1 / 7, 1 / 6, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 6, 7, 8, 9]
)


# ------------------------------------------------------------------------------------ inputs


def random_matrices(k: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n, 1)
    upper = SCALE[rng.integers(0, len(SCALE), size=(k, len(iu[0])))]
    m = np.ones((k, n, n))
    m[:, iu[0], iu[1]] = upper
    m[:, iu[1], iu[0]] = 1 / upper
    return m


def hierarchy_spec(seed: int) -> dict[str, Any]:
    """A 3-level hierarchy as plain data: node → children and upper-triangle judgements."""
    rng = np.random.default_rng(seed)

    def upper(n: int) -> list[float]:
        # mildly inconsistent judgements around a random priority vector
        w = rng.uniform(1, 9, n)
        noise = rng.lognormal(0, 0.15, n * (n - 1) // 2)
        return [
            float(w[i] / w[j] * e)
            for (i, j), e in zip(itertools.combinations(range(n), 2), noise, strict=True)
        ]

    alternatives = [f"alt{i}" for i in range(7)]
    criteria = []
    for c in range(5):
        leaves = [{"id": f"c{c}s{s}", "upper": upper(len(alternatives))} for s in range(6)]
        criteria.append({"id": f"c{c}", "children": leaves, "upper": upper(len(leaves))})
    return {
        "alternatives": alternatives,
        "goal": {"id": "goal", "children": criteria, "upper": upper(len(criteria))},
    }


def ours_mapping(spec: dict[str, Any]) -> dict[str, Any]:
    def node(n: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": n["id"], "judgements": {"upper": n["upper"]}}
        if "children" in n:
            out["children"] = [node(c) for c in n["children"]]
        return out

    return {"alternatives": spec["alternatives"], "goal": node(spec["goal"])}


# ------------------------------------------------------------------------------------ timing


def timed(fn: Callable[[], Any], repeat: int = 1) -> float:
    """CPU seconds of this process (steadier than wall time on a shared machine)."""
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return time.process_time() - start


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------------------ ahpy side


def ahpy_worker(matrices_file: str, spec_file: str, repeat: int) -> None:
    """Runs in the child process: ahpy on the same inputs, prints JSON timings."""
    import ahpy  # type: ignore[import-not-found]

    mats = np.load(matrices_file)
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    n = mats.shape[1]
    labels = [f"e{i}" for i in range(n)]
    pairs = list(itertools.combinations(range(n), 2))
    dicts = [{(labels[i], labels[j]): float(m[i, j]) for i, j in pairs} for m in mats]

    def many() -> list[float]:
        return [ahpy.Compare("m", d).consistency_ratio for d in dicts]

    def build() -> Any:
        alts = spec["alternatives"]

        def node(n: dict[str, Any]) -> Any:
            kids = [c["id"] for c in n.get("children", [])] or alts
            comps = dict(zip(itertools.combinations(kids, 2), n["upper"], strict=True))
            compare = ahpy.Compare(n["id"], comps)
            if "children" in n:
                compare.add_children([node(c) for c in n["children"]])
            return compare

        return node(spec["goal"]).target_weights

    out = {
        "version": ahpy.__version__ if hasattr(ahpy, "__version__") else "?",
        "matrices_s": timed(many),
        "hierarchy_s": timed(build, repeat),
        "matrices_peak_mib": peak_mib(many),
        "hierarchy_peak_mib": peak_mib(build),
        "cr_first": float(many()[0]),
        "target": build(),
    }
    print(json.dumps(out))


def ahpy_python() -> str:
    """An interpreter that can import ahpy: this one, else a venv under /tmp (made once)."""
    try:
        import ahpy  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        return sys.executable
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"installing ahpy into {VENV} …", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True
        )
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "ahpy"], check=True)
    return str(python)


# ------------------------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--ahpy-worker", nargs=3, metavar=("MATRICES", "SPEC", "REPEAT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.ahpy_worker:
        ahpy_worker(args.ahpy_worker[0], args.ahpy_worker[1], int(args.ahpy_worker[2]))
        return 0

    from allegiance.methods import ahp

    mats = random_matrices(args.matrices, 7, args.seed)
    spec = hierarchy_spec(args.seed)
    mapping = ours_mapping(spec)

    def ours_many() -> Any:
        return ahp.ahp_many(mats, ri="donegan-dodd")

    def ours_loop() -> list[float]:
        return [ahp.ahp(m, ri="donegan-dodd").cr for m in mats]

    def ours_hierarchy() -> Any:
        return ahp.analyze(ahp.parse_hierarchy(mapping), ri="donegan-dodd").alternatives

    ours_many()  # warm up imports and LAPACK
    ours = {
        "matrices_many_s": timed(ours_many),
        "matrices_loop_s": timed(ours_loop),
        "hierarchy_s": timed(ours_hierarchy, args.repeat),
        "matrices_many_peak_mib": peak_mib(ours_many),
        "matrices_loop_peak_mib": peak_mib(ours_loop),
        "hierarchy_peak_mib": peak_mib(ours_hierarchy),
    }

    with tempfile.TemporaryDirectory() as tmp:
        mfile, sfile = Path(tmp) / "m.npy", Path(tmp) / "spec.json"
        np.save(mfile, mats)
        sfile.write_text(json.dumps(spec), encoding="utf-8")
        done = subprocess.run(
            [ahpy_python(), __file__, "--ahpy-worker", str(mfile), str(sfile), str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
    theirs = json.loads(done.stdout.strip().splitlines()[-1])

    # The same answers? (ahpy rounds to 4 decimals by default.)
    cr0 = float(ahp.ahp_many(mats[:1], ri="donegan-dodd").cr[0])
    target = dict(zip(*ours_hierarchy()[["alternative", "weight"]].to_numpy().T, strict=True))
    agree = max(abs(float(target[k]) - v) for k, v in theirs["target"].items())

    k = args.matrices
    print(f"AHP benchmark: allegiance vs ahpy {theirs['version']} (numpy {np.__version__})")
    print(f"1. {k:,} random 7x7 matrices, priorities + CR (Donegan-Dodd)")
    print(
        f"   ahpy, Compare per matrix      {theirs['matrices_s']:8.3f} s   peak {theirs['matrices_peak_mib']:7.1f} MiB"
    )
    print(
        f"   ours, ahp() per matrix        {ours['matrices_loop_s']:8.3f} s   peak {ours['matrices_loop_peak_mib']:7.1f} MiB"
        f"   ratio {theirs['matrices_s'] / ours['matrices_loop_s']:6.1f}x"
    )
    print(
        f"   ours, ahp_many() vectorised   {ours['matrices_many_s']:8.3f} s   peak {ours['matrices_many_peak_mib']:7.1f} MiB"
        f"   ratio {theirs['matrices_s'] / ours['matrices_many_s']:6.1f}x"
    )
    print(f"   first matrix CR: ours {cr0:.6f}, ahpy {theirs['cr_first']:.6f} (4 decimals)")
    print(f"2. 3-level hierarchy (36 matrices, 7 alternatives), x{args.repeat}")
    print(
        f"   ahpy                          {theirs['hierarchy_s']:8.3f} s   peak {theirs['hierarchy_peak_mib']:7.1f} MiB"
    )
    print(
        f"   ours, parse + analyze         {ours['hierarchy_s']:8.3f} s   peak {ours['hierarchy_peak_mib']:7.1f} MiB"
        f"   ratio {theirs['hierarchy_s'] / ours['hierarchy_s']:6.1f}x"
    )
    print(
        f"   largest difference in the alternatives' weights: {agree:.1e} (ahpy rounds to 4 decimals)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
