"""The (frequency, recency, T, monetary_value) summary on DuckDB and Spark.

Reference: the Fader-Hardie CDNOW calibration summary (x, t_x, T, zbar; weeks 1-39 ending
1997-09-30, rounded to 2 decimals) shipped by lifetimes, computed by the authors from the same
1/10-cohort transaction log (see src/allegiance/datasets/data/README.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allegiance import datasets
from allegiance.customers.engine import Engine
from allegiance.customers.summary import rfm_summary, summarize_transactions
from allegiance.errors import InputError


def test_cdnow_summary_matches_fader_hardie(engine: Engine) -> None:
    log = datasets.load_cdnow_sample().rename(columns={"date": "timestamp"})
    log = log.loc[:, ["customer_index", "timestamp", "amount"]]
    table = engine.table(log)
    out = summarize_transactions(
        engine,
        table,
        customer_id="customer_index",
        amount="amount",
        observation_end="1997-09-30",
        unit_days=7,
    )
    ref = datasets.load_cdnow_summary(with_transactions=True).set_index("ID")
    out = out.set_index("customer_index").loc[ref.index]
    assert len(out) == 2357
    assert (out["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    np.testing.assert_allclose(out["recency"], ref["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(out["T"], ref["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(out["monetary_value"], ref["zbar"], atol=0.005 + 1e-9)


def test_same_day_purchases_count_once_and_late_ones_are_ignored(engine: Engine) -> None:
    log = pd.DataFrame(
        {
            "cust": ["a", "a", "a", "a", "b"],
            "ts": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:00",
                    "2024-01-03 00:00",
                    "2024-02-01 00:00",
                    "2024-01-02 00:00",
                ]
            ),
            "amount": [1.0, 2.0, 6.0, 100.0, 4.0],
        }
    )
    out = summarize_transactions(
        engine,
        engine.table(log),
        customer_id="cust",
        timestamp="ts",
        amount="amount",
        observation_end="2024-01-10",
    ).set_index("cust")
    assert out.loc["a", "frequency"] == 1
    assert out.loc["a", "recency"] == pytest.approx(2.0)
    assert out.loc["a", "T"] == pytest.approx(9.0)
    assert out.loc["a", "monetary_value"] == pytest.approx(6.0)
    assert out.loc["b", "frequency"] == 0
    assert out.loc["b", "monetary_value"] == 0.0
    # without an end date the last transaction day ends the observation
    full = summarize_transactions(engine, engine.table(log), customer_id="cust", timestamp="ts")
    assert full.set_index("cust").loc["a", "T"] == pytest.approx(31.0)


def test_missing_columns_are_named() -> None:
    import ibis

    table = ibis.memtable(pd.DataFrame({"id": [1], "when": pd.to_datetime(["2024-01-01"])}))
    with pytest.raises(InputError, match="customer_id"):
        rfm_summary(table, observation_end="2024-02-01", timestamp="when")
