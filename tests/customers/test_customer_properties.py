"""Invariants on random activity: retention + churn = 1, the bucket balances, shares sum to 1,
and nothing depends on the order of the rows (DuckDB; the engine tests cover Spark)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.customers.engine import connect
from allegiance.customers.indicators import indicators
from allegiance.customers.segments import segments


@st.composite
def activity(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    months = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    active = rng.random((n, months)) < draw(st.floats(0.2, 0.95))
    active[rng.integers(0, n), 0] = True  # at least one row with business in the first month
    rows = np.argwhere(active)
    return pd.DataFrame(
        {
            "customer": [f"c{i}" for i in rows[:, 0]],
            "date": [
                dt.date(2024, 1 + int(m), 1 + int(d))
                for m, d in zip(rows[:, 1], rng.integers(0, 28, len(rows)), strict=True)
            ],
            "amount": np.round(rng.gamma(2.0, 10.0, len(rows)), 2),
            "n_purchases": rng.integers(1, 4, len(rows)),
        }
    )


@settings(max_examples=20)
@given(activity(), st.integers(0, 2**31 - 1))
def test_bucket_balances_and_rates_add_up(frame: pd.DataFrame, seed: int) -> None:
    with connect() as eng:
        r = indicators(eng, eng.table(frame))
        shuffled = frame.sample(frac=1.0, random_state=seed % 2**32).reset_index(drop=True)
        again = indicators(eng, eng.table(shuffled))
    p = r.periods.iloc[1:]
    has_start = p["customers_start"].astype(float) > 0
    total = (p["retention_rate"] + p["churn_rate"])[has_start]
    assert np.allclose(total, 1.0)
    end = p["customers_start"] - p["lost"] + p["new"] + p["reactivated"]
    assert (end == p["customers_end"]).all()
    assert (p["retained"] == p["customers_start"] - p["lost"]).all()
    pd.testing.assert_frame_equal(r.periods, again.periods)
    pd.testing.assert_frame_equal(r.summary, again.summary)


@settings(max_examples=20)
@given(activity(), st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_segment_shares_sum_to_one_and_ignore_row_order(
    frame: pd.DataFrame, q: int, seed: int
) -> None:
    with connect() as eng:
        r = segments(eng, eng.table(frame), q=q)
        shuffled = frame.sample(frac=1.0, random_state=seed % 2**32).reset_index(drop=True)
        again = segments(eng, eng.table(shuffled), q=q)
        per = eng.to_pandas(r.customers)
    n = frame["customer"].nunique()
    for table in (r.rfm, r.pyramid, r.grades):
        assert table["customers"].sum() == n
        assert table["share"].sum() == pytest.approx(1.0)
    assert r.pyramid["share_value"].sum() == pytest.approx(1.0)
    assert per[["r", "f", "m"]].min().min() >= 1
    assert per[["r", "f", "m"]].max().max() <= q
    assert ((per["grade_score"] >= 0) & (per["grade_score"] <= 1 + 1e-12)).all()
    for a, b in zip(r.tables().values(), again.tables().values(), strict=True):
        pd.testing.assert_frame_equal(a, b)
