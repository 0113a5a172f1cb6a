"""The shortcuts taken for speed give the numbers of the plain computation: the per-customer
bit masks (DuckDB, up to 62 periods) against one flag column per period (Spark, or more
periods), and the period sums by date first against a grouping by period."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.customers.engine import connect
from allegiance.customers.indicators import (
    _bucket,
    _customer_bits,
    _period_sums,
    customer_periods,
    indicators,
    period_index,
)
from allegiance.customers.inputs import read_source


@st.composite
def activity(draw: st.DrawFn) -> pd.DataFrame:
    """Monthly or events rows, several per customer and month, some without business."""
    n = draw(st.integers(1, 15))
    months = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = int(rng.integers(1, 4 * n * months + 1))
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in rng.integers(0, n, rows)],
            "date": [
                dt.date(2023, 11, 1) + dt.timedelta(days=int(d))
                for d in rng.integers(0, 30 * months, rows)
            ],
            "amount": np.where(rng.random(rows) < 0.3, 0.0, np.round(rng.gamma(2, 10, rows), 2)),
        }
    )
    if draw(st.booleans()):
        frame["event"] = rng.choice(["purchase", "holding", "addition", "cancellation"], rows)
    else:
        frame["n_purchases"] = rng.integers(0, 3, rows)
        frame["products_held"] = rng.integers(0, 2, rows)
    return frame


@settings(max_examples=25)
@given(activity(), st.sampled_from(["month", "quarter"]))
def test_bit_masks_and_flag_columns_give_the_same_bucket(frame: pd.DataFrame, period: str) -> None:
    with connect() as eng:
        act = read_source(eng, frame, kind="activity")
        p = eng.to_pandas(act.aggregate(lo=period_index(act.date, period).min()))
        hi = eng.to_pandas(act.aggregate(hi=period_index(act.date, period).max()))
        first, last = int(p["lo"].iloc[0]), int(hi["hi"].iloc[0])
        wide = customer_periods(act, period=period, first=first, last=last, engine_name="spark")
        bits = _customer_bits(act, period=period, first=first)
        a_flags, a_totals = _bucket(eng, wide, first=first, last=last)
        b_flags, b_totals = _bucket(eng, bits, first=first, last=last)
        pd.testing.assert_frame_equal(a_flags, b_flags)
        assert a_totals == pytest.approx(b_totals)
        # the period sums: by date then by period, against by period directly
        got = _period_sums(eng, act, period=period, market=None)
        t = act.mutate(p=period_index(act.date, period))
        direct = eng.to_pandas(t.group_by("p").aggregate(amount=t.amount.sum()))
        direct = direct.set_index("p").sort_index()
        assert got["amount"].to_numpy() == pytest.approx(direct["amount"].to_numpy())


def test_more_periods_than_a_mask_holds() -> None:
    # 70 months: more than the 62 bits of a mask, so the flag columns are used on DuckDB
    months = [dt.date(2018 + m // 12, 1 + m % 12, 1) for m in range(70)]
    frame = pd.DataFrame(
        {
            "customer": ["a", "a"] + ["b"] * 70,
            "date": [months[0], months[69], *months],
            "amount": 1.0,
        }
    )
    with connect() as eng:
        r = indicators(eng, eng.table(frame))
    p = r.periods
    assert len(p) == 70
    # a is there in the first and the last month only: lost in month 2, back in month 70
    assert p["customers_end"].tolist() == [2] + [1] * 68 + [2]
    assert p["lost"].iloc[1] == 1
    assert p["reactivated"].iloc[69] == 1
    assert r.summary.iloc[0]["customers"] == 2
