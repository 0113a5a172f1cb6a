"""Monthly activity for the customer-profile tests (customers who buy as BG/NBD assumes)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

START = dt.date(2024, 1, 1)


def make_data(n: int = 80, months: int = 8, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly activity of ``n`` customers who buy in a month with their own probability and
    stop for good with their own probability after each purchase month (as BG/NBD assumes),
    and their customer table."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"k{i:03d}" for i in range(n)])
    rate = rng.gamma(2.0, 0.3, n).clip(0.05, 0.95)
    churn = rng.beta(1.0, 6.0, n)
    spend = rng.gamma(3.0, 40.0, n)
    buys = rng.random((n, months)) < rate[:, None]
    alive = np.ones((n, months), dtype=bool)
    for m in range(1, months):  # a loop over months
        stop = buys[:, m - 1] & (rng.random(n) < churn)
        alive[:, m] = alive[:, m - 1] & ~stop
    buys &= alive
    buys[:, 0] |= rng.random(n) < 0.5  # half of them start with a purchase
    amount = np.where(buys, spend[:, None] * rng.gamma(5.0, 0.2, (n, months)), 0.0)
    held = np.where(alive, 1 + (rng.random((n, months)) < 0.3), 0)
    month = pd.date_range(START, periods=months, freq="MS").date
    activity = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, months),
            "month": np.tile(month, n),
            "amount": amount.reshape(-1),
            "n_purchases": buys.reshape(-1).astype("int64"),
            "products_held": held.reshape(-1).astype("int64"),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "join_date": [START - dt.timedelta(days=int(d)) for d in rng.integers(10, 2000, n)],
            "segment": rng.choice(["consumer", "sme"], n),
            "region": rng.choice(["north", "south"], n),
            "nature": rng.choice(["retail", "wholesale", "other_large"], n),
        }
    )
    return activity, customers
