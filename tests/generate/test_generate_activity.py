"""The activity table: growth of loyal customers, decline before churn, nothing after."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allegiance.generate import GeneratedData
from allegiance.generate.common import month_numbers

COLUMNS = [
    "customer_id",
    "month",
    "n_purchases",
    "amount",
    "products_held",
    "additions",
    "cancellations",
    "competitor_share",
]


def _grid(data: GeneratedData, column: str) -> np.ndarray:
    n, months = data.config.customers, data.config.months
    return data.tables["activity"][column].to_numpy().reshape(n, months)


def _absent(data: GeneratedData) -> np.ndarray:
    customers = data.tables["customers"]
    return month_numbers(
        customers["churn_month"], start=data.config.start, missing=data.config.months
    )


def test_columns_types_and_order(small: GeneratedData) -> None:
    activity = small.tables["activity"]
    assert list(activity.columns) == COLUMNS
    assert str(activity["customer_id"].dtype) == "category"
    assert str(activity["month"].dtype) == "date32[day][pyarrow]"
    assert activity["amount"].dtype == np.float32
    assert activity["n_purchases"].dtype == np.int32
    assert activity["products_held"].dtype == np.int8
    ids = small.tables["customers"]["customer_id"].to_numpy()
    months = small.config.months
    assert (activity["customer_id"].to_numpy()[::months] == ids).all()
    first = activity["month"].astype("datetime64[s]").iloc[:months]
    assert list(first) == list(pd.date_range(small.config.start, periods=months, freq="MS"))


def test_product_counts_add_up(big: GeneratedData) -> None:
    held = _grid(big, "products_held").astype(int)
    adds = _grid(big, "additions").astype(int)
    cancels = _grid(big, "cancellations").astype(int)
    assert (held[:, 1:] == held[:, :-1] + adds[:, 1:] - cancels[:, 1:]).all()
    assert (adds[:, 0] == 0).all()
    assert (cancels[:, 0] == 0).all()
    assert held.max() <= 8


def test_nothing_after_churn_and_service_before(big: GeneratedData) -> None:
    absent = _absent(big)
    months = big.config.months
    after = np.arange(months)[None, :] >= absent[:, None]
    for column in ("amount", "n_purchases", "products_held"):
        values = _grid(big, column)
        assert (values[after] == 0).all(), column
    assert (_grid(big, "products_held")[~after] >= 1).all()
    assert (_grid(big, "amount")[~after] > 0).all()


def test_churners_decline_before_they_leave(big: GeneratedData) -> None:
    absent = _absent(big)
    churned = big.tables["customers"]["churned"].to_numpy()
    window = int(big.truth["activity"]["decline_before_churn"]["window_months"])
    drop = big.truth["activity"]["decline_before_churn"]["drop_per_month"]
    amount = _grid(big, "amount").astype(float)
    rows = np.flatnonzero(churned & (absent >= window + 2))
    last = amount[rows, absent[rows] - 1]
    before = amount[rows, absent[rows] - window - 1]
    ratio = np.median(last / before)
    # the last month keeps 1 - drop * window of the business, less any cancelled products
    assert ratio < 1 - drop * window + 0.1
    assert ratio < 0.5
    cancels = _grid(big, "cancellations")
    in_window = cancels[rows[:, None], absent[rows, None] - np.arange(1, window + 1)[None, :]]
    earlier = cancels[rows, 1 : window + 1]
    assert in_window.mean() > 3 * earlier.mean()


def test_growth_of_spend_per_product_is_recovered(big: GeneratedData) -> None:
    truth = big.truth["activity"]["growth"]
    churned = big.tables["customers"]["churned"].to_numpy()
    loyalty = big.tables["customers"]["loyalty"].to_numpy()[~churned]
    amount = _grid(big, "amount")[~churned].astype(float)
    held = _grid(big, "products_held")[~churned].astype(float)
    months = big.config.months
    per_product = np.log(amount / held)
    slope = (per_product[:, -1] - per_product[:, 0]) / (months - 1)
    x = np.column_stack([np.ones_like(loyalty), loyalty])
    coef = np.linalg.lstsq(x, slope, rcond=None)[0]
    assert coef[0] == pytest.approx(truth["intercept"], abs=3e-4)
    assert coef[1] == pytest.approx(truth["slope_loyalty"], abs=3e-4)


def test_loyal_customers_add_products(big: GeneratedData) -> None:
    loyalty = big.tables["customers"]["loyalty"].to_numpy()
    adds = _grid(big, "additions").sum(axis=1)
    top = loyalty > np.quantile(loyalty, 0.75)
    bottom = loyalty < np.quantile(loyalty, 0.25)
    assert adds[top].mean() > 2 * adds[bottom].mean()


def test_competitor_share_is_market_intelligence_on_business_customers(big: GeneratedData) -> None:
    customers = big.tables["customers"]
    share = _grid(big, "competitor_share")
    known = ~np.isnan(share).all(axis=1)
    business = (customers["segment"] != "consumer").to_numpy()
    assert not known[~business].any()
    tracked = big.truth["activity"]["competitor_share"]["tracked_share"]
    assert known[business].mean() == pytest.approx(tracked, abs=0.03)
    assert np.isnan(share[known]).sum() == 0
    assert ((share[known] >= 0) & (share[known] <= 1)).all()

    absent = _absent(big)
    churned = customers["churned"].to_numpy()
    rows = np.flatnonzero(known & churned & (absent >= 8))
    assert rows.size > 50
    rising = share[rows, absent[rows] - 1] - share[rows, absent[rows] - 7]
    assert np.median(rising) > 0.3
    loyalty = customers["loyalty"].to_numpy()
    first = share[known, 0]
    assert np.corrcoef(first, loyalty[known])[0, 1] < -0.3
