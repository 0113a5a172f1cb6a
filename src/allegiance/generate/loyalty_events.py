"""The ``loyalty_events`` module: per-customer facts the loyalty rules and score use.

Table ``loyalty_facts`` (one row per customer): ``product_types`` (product types used over the
window: 1 + Binomial(most products held - 1, p), p logistic in loyalty), ``sole_supplier`` (we are
the only supplier: logistic in loyalty; never for customers on whom market intelligence shows a
competitor), ``ever_switched`` (the customer switched supplier before: logistic in -loyalty).
Its own random stream; the other modules' tables are only read.

Truth: the model parameters, the realised counts, and per month the number of customers who
dropped half or more of all their services with no competitor known (``lost_half_by_month``),
which the step engine's ``services_lost_half`` rule must find.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allegiance.generate.common import sigmoid
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register

__all__ = ["BREADTH", "MODULE", "SOLE", "SWITCHED", "lost_half_by_month", "run"]

BREADTH: dict[str, float] = {"intercept": 0.0, "slope_loyalty": 0.8}
SOLE: dict[str, float] = {"intercept": 0.3, "slope_loyalty": 1.0}
SWITCHED: dict[str, float] = {"intercept": -1.2, "slope_loyalty": -0.8}


def lost_half_by_month(activity: pd.DataFrame, /) -> dict[str, int]:
    """Customers per month whose products held fell to half or less of the month before while
    no competitor share is known (the SPEC's "dropped 50% of all services, went nowhere known")."""
    a = activity.sort_values(["customer_id", "month"], kind="stable")
    held = a["products_held"].to_numpy(dtype=np.float64)
    same = a["customer_id"].to_numpy()[1:] == a["customer_id"].to_numpy()[:-1]
    prev = np.full(held.shape, np.nan)
    prev[1:] = np.where(same, held[:-1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        lost = 1.0 - held / np.where(prev > 0, prev, np.nan)
    hit = (lost >= 0.5) & a["competitor_share"].isna().to_numpy()
    months = pd.to_datetime(a["month"]).dt.strftime("%Y-%m").to_numpy()
    counts = pd.Series(hit).groupby(months).sum()
    return {str(k): int(v) for k, v in counts.items()}


def run(ctx: GenContext) -> ModuleOutput:
    rng = ctx.rng
    customers = ctx.tables["customers"]
    activity = ctx.tables["activity"]
    n = len(customers)
    loyalty = customers["loyalty"].to_numpy(dtype=np.float64)
    months = ctx.config.months
    held = activity["products_held"].to_numpy().reshape(n, months)
    most = np.maximum(held.max(axis=1), 1).astype(np.int64)
    p = sigmoid(BREADTH["intercept"] + BREADTH["slope_loyalty"] * loyalty)
    types = 1 + rng.binomial(most - 1, p)
    share = activity["competitor_share"].to_numpy().reshape(n, months)
    competitor_seen = np.nanmax(np.where(np.isnan(share), 0.0, share), axis=1) > 0
    sole = (
        rng.random(n) < sigmoid(SOLE["intercept"] + SOLE["slope_loyalty"] * loyalty)
    ) & ~competitor_seen
    switched = rng.random(n) < sigmoid(SWITCHED["intercept"] + SWITCHED["slope_loyalty"] * loyalty)
    frame = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].astype(str).to_numpy(),
            "product_types": types.astype(np.int8),
            "sole_supplier": sole,
            "ever_switched": switched,
        }
    )
    truth: dict[str, Any] = {
        "product_types": {
            **BREADTH,
            "model": "1 + Binomial(max products held - 1, logistic(intercept + slope*loyalty))",
        },
        "sole_supplier": {
            **SOLE,
            "model": "logistic(intercept + slope*loyalty), False where a competitor share was seen",
            "n_true": int(sole.sum()),
        },
        "ever_switched": {
            **SWITCHED,
            "model": "logistic(intercept + slope*loyalty)",
            "n_true": int(switched.sum()),
        },
        "lost_half_by_month": lost_half_by_month(activity),
    }
    return ModuleOutput(tables={"loyalty_facts": frame}, truth=truth)


MODULE = register(
    GeneratorModule(name="loyalty_events", requires=("customers", "activity"), run=run)
)
