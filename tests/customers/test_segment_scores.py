"""RFM scores and pyramid tiers from cut points give exactly the numbers of their definition
(``ceil(q × cume_dist)`` over all customers, unknown values worst), on DuckDB and Spark; the
scores keep their invariants (1..q, monotone in the value, ties together, near-equal groups)
and agree with pandas' ``qcut`` where both are defined the same way (no ties, q dividing n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.customers.engine import Engine, connect
from allegiance.customers.segments import (
    _score,
    grade_scores,
    pyramid_tiers,
    rfm_scores,
)

TIERS = (("top", 0.1), ("large", 0.2), ("medium", 0.3), ("small", 0.4))
_DUCK: list[Engine] = []


def _duckdb() -> Engine:
    """One DuckDB connection for the hypothesis examples (opened once)."""
    if not _DUCK:
        _DUCK.append(connect())
    return _DUCK[0]


def _values(rng: np.random.Generator, n: int, *, nulls: bool) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(n)],
            "recency_days": pd.array(rng.integers(0, int(rng.integers(1, 40)), n), dtype="Int64"),
            "frequency": pd.array(rng.integers(0, int(rng.integers(1, 12)), n), dtype="Int64"),
            "monetary": np.round(rng.gamma(1.0, 50.0, n), int(rng.integers(0, 3))),
        }
    )
    if nulls:
        frame.loc[rng.random(n) < 0.15, "frequency"] = pd.NA
        frame.loc[rng.random(n) < 0.15, "monetary"] = None
    return frame


def _by_definition(engine: Engine, frame: pd.DataFrame, q: int) -> pd.DataFrame:
    """The scores by their definition: one window over all customers per measure."""
    t = engine.table(frame)
    scored = t.select(
        "customer",
        r=_score(t.recency_days, q, descending=True),
        f=_score(t.frequency, q, descending=False),
        m=_score(t.monetary, q, descending=False),
    )
    out = engine.to_pandas(scored).sort_values("customer", ignore_index=True)
    return out.astype({"r": "int64", "f": "int64", "m": "int64"})


def _ours(engine: Engine, frame: pd.DataFrame, q: int) -> pd.DataFrame:
    got = engine.to_pandas(rfm_scores(engine.table(frame), q=q))
    got = got.sort_values("customer", ignore_index=True)
    return got.astype({"r": "int64", "f": "int64", "m": "int64"})


def _tiers_by_definition(engine: Engine, frame: pd.DataFrame) -> pd.Series:
    import ibis

    t = engine.table(frame)
    cd = ibis.cume_dist().over(ibis.window(order_by=ibis.desc(t.monetary, nulls_first=False)))
    cases, acc = [], 0.0
    for name, share in TIERS[:-1]:
        acc += share
        cases.append((cd <= acc + 1e-9, name))
    got = engine.to_pandas(t.select("customer", tier=ibis.cases(*cases, else_=TIERS[-1][0])))
    return got.sort_values("customer", ignore_index=True)["tier"]


def test_cut_points_give_the_definition_on_both_engines(engine: Engine) -> None:
    rng = np.random.default_rng(11)
    for n, q, nulls in ((1, 5, False), (7, 3, True), (240, 7, True), (300, 10, False)):
        frame = _values(rng, n, nulls=nulls)
        ours, ref = _ours(engine, frame, q), _by_definition(engine, frame, q)
        for c in "rfm":
            assert ours[c].tolist() == ref[c].tolist(), (n, q, c)
        # unknown values are the worst: they score no better than any known value
        values = frame.sort_values("customer", ignore_index=True)
        for c, col in (("f", "frequency"), ("m", "monetary")):
            missing = values[col].isna().to_numpy()
            if missing.any() and not missing.all():
                assert ours.loc[missing, c].max() <= ours.loc[~missing, c].min()
        tiers = engine.to_pandas(pyramid_tiers(engine.table(frame), tiers=TIERS))
        tiers = tiers.sort_values("customer", ignore_index=True)["tier"]
        assert tiers.tolist() == _tiers_by_definition(engine, frame).tolist(), (n, "tiers")


def test_unknown_criterion_grades_zero_on_both_engines(engine: Engine) -> None:
    frame = pd.DataFrame({"customer": ["a", "b", "c", "d"], "x": [3.0, None, 1.0, 2.0]})
    got = engine.to_pandas(grade_scores(engine.table(frame), weights={"x": 1.0}))
    score = dict(zip(got["customer"], got["grade_score"], strict=True))
    # the unknown value ranks lowest: c 2/4, d 3/4, a 4/4; b scores 0
    assert score == pytest.approx({"a": 1.0, "b": 0.0, "c": 0.5, "d": 0.75})


@settings(max_examples=15)
@given(
    st.integers(1, 80),
    st.integers(2, 10),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_scores_are_the_definition_and_keep_their_invariants(
    n: int, q: int, nulls: bool, seed: int
) -> None:
    frame = _values(np.random.default_rng(seed), n, nulls=nulls)
    eng = _duckdb()
    ours, ref = _ours(eng, frame, q), _by_definition(eng, frame, q)
    values = frame.sort_values("customer", ignore_index=True)
    for c, col, sign in (("r", "recency_days", -1), ("f", "frequency", 1), ("m", "monetary", 1)):
        assert ours[c].tolist() == ref[c].tolist()
        assert ours[c].between(1, q).all()
        known = values[col].notna().to_numpy()
        x = sign * values.loc[known, col].astype("float64").to_numpy()
        s = ours.loc[known, c].to_numpy()
        order = np.argsort(x, kind="stable")
        # monotone: a better value never scores lower; equal values score the same
        assert (np.diff(s[order]) >= 0).all()
        for v in np.unique(x):
            assert len(set(s[x == v])) == 1
    assert (ours["rfm_score"] == ours["r"] + ours["f"] + ours["m"]).all()


@settings(max_examples=12)
@given(st.integers(1, 25), st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_without_ties_groups_are_near_equal_and_match_pandas_qcut(
    groups: int, q: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = groups * q
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(n)],
            "recency_days": rng.permutation(n).astype("int64"),
            "frequency": rng.permutation(n).astype("int64"),
            "monetary": rng.permutation(n) + rng.random(n) / 2,
        }
    )
    ours = _ours(_duckdb(), frame, q)
    values = frame.sort_values("customer", ignore_index=True)
    for c, col, sign in (("r", "recency_days", -1), ("f", "frequency", 1), ("m", "monetary", 1)):
        sizes = ours[c].value_counts().reindex(range(1, q + 1), fill_value=0)
        assert (sizes == groups).all()  # q divides n: equal groups
        expected = pd.qcut(sign * values[col].astype("float64"), q, labels=False) + 1
        assert ours[c].tolist() == expected.astype("int64").tolist()


@settings(max_examples=12)
@given(st.integers(1, 60), st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_without_ties_group_sizes_differ_by_at_most_one(n: int, q: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(n)],
            "recency_days": rng.permutation(n).astype("int64"),
            "frequency": rng.permutation(n).astype("int64"),
            "monetary": rng.permutation(n) + 0.5,
        }
    )
    ours = _ours(_duckdb(), frame, q)
    for c in "rfm":
        sizes = ours[c].value_counts().reindex(range(1, q + 1), fill_value=0)
        # ceil(q·i/n) puts floor(n/q) or ceil(n/q) customers in each score
        assert sizes.max() - sizes.min() <= 1
        assert sizes.sum() == n
