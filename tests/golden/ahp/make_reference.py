"""Regenerate reference_tools.json: the outputs of two independent AHP implementations.

Run with ahpy 2.1 and pyanp 0.3.1 importable (neither is a dependency of allegiance), e.g.::

    python -m venv --system-site-packages /tmp/ahp-ref
    /tmp/ahp-ref/bin/pip install ahpy==2.1 pyanp==0.3.1 --no-deps
    /tmp/ahp-ref/bin/python tests/golden/ahp/make_reference.py

It reads the example files beside it with plain PyYAML (not with allegiance), so the
reference values do not depend on our parser. ahpy is run at precision=12, so its
rounding does not matter; pyanp's power iterations stop at 1e-10 (its default).
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
from pathlib import Path
from typing import Any

import ahpy  # type: ignore[import-not-found]
import numpy as np
import yaml
from pyanp import pairwise, priority  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent


def number(value: Any) -> float:
    if isinstance(value, str):
        num, _, den = value.partition("/")
        return float(num) / float(den) if den else float(num)
    return float(value)


def pairs(spec: Any, labels: list[str]) -> dict[tuple[str, str], float]:
    """Our judgement forms used in the example files → ahpy's {(a, b): value}."""
    if isinstance(spec, dict) and set(spec) == {"upper"}:
        spec = spec["upper"]
    if isinstance(spec, dict) and set(spec) == {"pairs"}:
        spec = spec["pairs"]
    if isinstance(spec, dict):
        return {(a, b): number(v) for a, row in spec.items() for b, v in row.items()}
    flat = [x for row in spec for x in row] if isinstance(spec[0], list) else list(spec)
    out = {}
    for (a, b), v in zip(itertools.combinations(labels, 2), flat, strict=True):
        if v is not None:
            out[(a, b)] = number(v)
    return out


def ids(items: list[Any]) -> list[str]:
    return [i if isinstance(i, str) else i["id"] for i in items]


def hierarchy(name: str, ri: str) -> dict[str, Any]:
    data = yaml.safe_load((HERE / f"{name}.yaml").read_text(encoding="utf-8"))
    alternatives = ids(data.get("alternatives") or [])
    nodes: dict[str, Any] = {}

    def build(node: Any) -> Any:
        node = {"id": node} if isinstance(node, str) else node
        if "judgements" not in node:
            return None  # a leaf factor without alternatives: nothing to compare
        children = node.get("children") or []
        labels = ids(children) if children else alternatives
        compare = ahpy.Compare(
            node["id"], pairs(node["judgements"], labels), precision=12, random_index=ri
        )
        nodes[node["id"]] = compare
        below = [c for c in (build(c) for c in children) if c is not None]
        if below:
            compare.add_children(below)
        return compare

    root = build(data["goal"])
    return {
        "target_weights": dict(root.target_weights),
        "nodes": {
            k: {
                "local_weights": dict(c.local_weights),
                "global_weights": dict(c.global_weights),
                "consistency_ratio": float(c.consistency_ratio),
            }
            for k, c in nodes.items()
        },
    }


def matrix_with_zeros(labels: list[str], judgements: dict[tuple[str, str], float]) -> np.ndarray:
    n = len(labels)
    m = np.zeros((n, n))
    np.fill_diagonal(m, 1.0)
    index = {x: i for i, x in enumerate(labels)}
    for (a, b), v in judgements.items():
        m[index[a], index[b]] = v
        m[index[b], index[a]] = 1.0 / v
    return m


def harker(labels: list[str], judgements: dict[tuple[str, str], float]) -> dict[str, Any]:
    m = matrix_with_zeros(labels, judgements)
    w = priority.pri_eigen(m, use_harker=True)
    lam = priority.pri_eigen(m, use_harker=True, return_eigenval=True)
    completed = {
        f"{labels[i]}/{labels[j]}": float(w[i] / w[j])
        for i, j in itertools.combinations(range(len(labels)), 2)
        if m[i, j] == 0
    }
    return {
        "weights": dict(zip(labels, map(float, w), strict=True)),
        "lambda_max": float(lam),
        "completed": completed,
    }


def main() -> None:
    out: dict[str, Any] = {
        "tools": {
            "ahpy": importlib.metadata.version("ahpy"),
            "pyanp": importlib.metadata.version("pyanp"),
            "numpy": np.__version__,
        },
        "ahpy": {},
        "pyanp": {},
    }
    for name in ("drinks", "leader", "car", "cities"):
        out["ahpy"][name] = {ri: hierarchy(name, ri) for ri in ("saaty", "dd")}

    drinks = yaml.safe_load((HERE / "drinks.yaml").read_text(encoding="utf-8"))["goal"]
    labels = ids(drinks["children"])
    m = matrix_with_zeros(labels, pairs(drinks["judgements"], labels))
    out["pyanp"]["drinks"] = {
        "eigen": dict(zip(labels, map(float, priority.pri_eigen(m)), strict=True)),
        "geometric": dict(zip(labels, map(float, priority.pri_llsm(m)), strict=True)),
        "lambda_max": float(priority.pri_eigen(m, return_eigenval=True)),
    }

    incomplete = yaml.safe_load((HERE / "incomplete.yaml").read_text(encoding="utf-8"))
    out["pyanp"]["harker"] = {
        key: harker(spec["labels"], pairs(spec["judgements"], spec["labels"]))
        for key, spec in incomplete["matrices"].items()
    }

    group = yaml.safe_load((HERE / "group.yaml").read_text(encoding="utf-8"))
    labels = ids(group["goal"]["children"])
    mats = [
        matrix_with_zeros(labels, pairs(spec, labels))
        for spec in group["goal"]["judgements"].values()
    ]
    merged = pairwise.geom_avg_mats(mats)
    out["pyanp"]["group_aij"] = {
        "matrix": merged.tolist(),
        "weights": dict(
            zip(labels, map(float, priority.pri_eigen(merged, use_harker=True)), strict=True)
        ),
    }
    (HERE / "reference_tools.json").write_text(
        json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
