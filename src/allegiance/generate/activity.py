"""The ``activity`` module: one row per customer and month (revenue, products, purchases).

Loyal customers grow and add products; in the months before a customer churns
the business declines, products are cancelled and (where market intelligence
exists) the competitor's share rises; from the churn month on everything is 0.
All customers x months at once, as (customers, months) numpy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allegiance.generate import vocab
from allegiance.generate.common import (
    date32,
    month_index_dates,
    month_numbers,
    poisson,
    sigmoid,
)
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register

__all__ = [
    "ADD",
    "CANCEL",
    "COMPETITOR",
    "DECLINE",
    "GROWTH",
    "MAX_PRODUCTS",
    "MODULE",
    "NOISE_SD",
    "PURCHASES_PER_PRODUCT",
    "SPEND_PER_PRODUCT",
    "SPREAD_SD",
    "START_EXTRA_PRODUCTS",
    "TIER_MULTIPLIER",
    "run",
]

MAX_PRODUCTS = 8
# Mean monthly revenue per product held (CNY) by segment, times the value-tier multiplier.
SPEND_PER_PRODUCT: dict[str, float] = {
    "consumer": 58.0,
    "sme": 260.0,
    "enterprise": 2400.0,
    "government": 1800.0,
}
TIER_MULTIPLIER: dict[str, float] = {"vip": 2.5, "gold": 1.5, "standard": 1.0}
SPREAD_SD = 0.35  # customer-level lognormal spread of spend (mean-preserving)
NOISE_SD = 0.08  # month-level lognormal noise of spend (mean-preserving)
# Products held in the first month: 1 + Poisson(mean), at most MAX_PRODUCTS.
START_EXTRA_PRODUCTS: dict[str, float] = {
    "consumer": 0.6,
    "sme": 1.2,
    "enterprise": 2.5,
    "government": 2.2,
}
# Purchases (billable transactions) per product held per month: Poisson mean.
PURCHASES_PER_PRODUCT: dict[str, float] = {
    "consumer": 1.2,
    "sme": 1.5,
    "enterprise": 2.0,
    "government": 1.6,
}
# Monthly log growth of spend per product: intercept + slope_loyalty * loyalty.
GROWTH: dict[str, float] = {"intercept": 0.002, "slope_loyalty": 0.006}
# P(add a product in a month) = base * exp(loyalty_coef * loyalty); same form for cancelling.
ADD: dict[str, float] = {"base": 0.012, "loyalty_coef": 0.6}
CANCEL: dict[str, float] = {"base": 0.008, "loyalty_coef": -0.6}
# The last `window_months` months before churn: spend and purchases are multiplied by
# 1 - drop_per_month * k (k = 1..window, k = window in the last month of service),
# no product is added and each month a product is cancelled with `cancel_probability`.
DECLINE: dict[str, float] = {"window_months": 6, "drop_per_month": 0.12, "cancel_probability": 0.15}
# Market intelligence for `tracked_share` of business customers: the share of their main
# product's volume served by a competitor, logistic in loyalty, rising before churn, 1 after.
COMPETITOR: dict[str, float] = {
    "tracked_share": 0.30,
    "intercept": -1.0,
    "slope_loyalty": -0.7,
    "customer_sd": 0.5,
    "monthly_sd": 0.15,
    "rise_per_month": 0.5,
    "after_churn": 1.0,
}


def _codes(column: pd.Series) -> np.ndarray:
    return np.asarray(column.cat.codes.to_numpy(), dtype=np.int64)


def run(ctx: GenContext) -> ModuleOutput:
    """Draw the monthly activity of every customer."""
    cfg = ctx.config
    rng = ctx.rng
    customers = ctx.tables["customers"]
    n, months = len(customers), cfg.months
    seg = _codes(customers["segment"])
    tier = _codes(customers["value_tier"])
    loyalty = customers["loyalty"].to_numpy(dtype=np.float64)
    churned = customers["churned"].to_numpy(dtype=bool)
    absent = month_numbers(customers["churn_month"], start=cfg.start, missing=months)

    t = np.arange(months, dtype=np.int16)
    to_churn = (absent[:, None] - t[None, :]).astype(np.int16)  # months left before churn
    active = to_churn > 0
    window = int(DECLINE["window_months"])
    pre = np.where(churned[:, None] & active & (to_churn <= window), window + 1 - to_churn, 0)
    pre = pre.astype(np.int8)  # 0 outside the decline window, 1..window inside it
    declining = pre > 0

    # products held
    extra = np.array([START_EXTRA_PRODUCTS[s] for s in vocab.SEGMENTS])[seg]
    start_products = np.minimum(1 + rng.poisson(extra), MAX_PRODUCTS).astype(np.int16)
    p_add = np.minimum(ADD["base"] * np.exp(ADD["loyalty_coef"] * loyalty), 0.45)
    p_cancel = np.minimum(CANCEL["base"] * np.exp(CANCEL["loyalty_coef"] * loyalty), 0.45)
    u = rng.random((n, months), dtype=np.float32)
    add = u < p_add.astype(np.float32)[:, None]
    add &= ~declining
    keep_below = (1.0 - p_cancel).astype(np.float32)[:, None]
    cancel = np.where(
        declining, u > np.float32(1.0 - DECLINE["cancel_probability"]), u > keep_below
    )
    del u
    step = add.astype(np.int8) - cancel.astype(np.int8)
    del add, cancel
    step[:, 0] = 0
    held = start_products[:, None] + np.cumsum(step, axis=1, dtype=np.int16)
    del step
    np.clip(held, 1, MAX_PRODUCTS, out=held)
    held[~active] = 0
    previous = np.empty_like(held)
    previous[:, 0] = start_products
    previous[:, 1:] = held[:, :-1]
    change = held - previous
    del previous
    additions = np.maximum(change, 0).astype(np.int8)
    cancellations = np.maximum(-change, 0).astype(np.int8)
    del change

    # revenue
    per_product = np.array([SPEND_PER_PRODUCT[s] for s in vocab.SEGMENTS])[seg]
    per_product *= np.array([TIER_MULTIPLIER[v] for v in vocab.VALUE_TIERS])[tier]
    per_product *= np.exp(SPREAD_SD * rng.standard_normal(n) - SPREAD_SD**2 / 2)
    growth = GROWTH["intercept"] + GROWTH["slope_loyalty"] * loyalty
    decline = (1.0 - np.float32(DECLINE["drop_per_month"]) * pre).astype(np.float32)
    noise = rng.standard_normal((n, months), dtype=np.float32)
    noise *= np.float32(NOISE_SD)
    noise += np.float32(-(NOISE_SD**2) / 2)
    noise += growth.astype(np.float32)[:, None] * t.astype(np.float32)[None, :]
    amount = np.exp(noise, out=noise)
    amount *= decline
    amount *= held
    amount *= per_product[:, None].astype(np.float32)

    # Poisson(rate[segment] * held * decline): the mean takes few values, so draw by table
    rate = np.array([PURCHASES_PER_PRODUCT[s] for s in vocab.SEGMENTS])
    levels = (1.0 - DECLINE["drop_per_month"] * np.arange(window + 1))[None, None, :]
    means = rate[:, None, None] * np.arange(MAX_PRODUCTS + 1)[None, :, None] * levels
    combo = seg.astype(np.int16)[:, None] * np.int16((MAX_PRODUCTS + 1) * (window + 1))
    combo = combo + held * np.int16(window + 1) + pre
    purchases = poisson(rng, combo, means.reshape(-1))
    del combo, decline

    # market intelligence on competitors
    business = seg != vocab.SEGMENTS.index("consumer")
    tracked = business & (rng.random(n) < COMPETITOR["tracked_share"])
    rows = np.flatnonzero(tracked)
    competitor = np.full((n, months), np.nan, dtype=np.float32)
    if rows.size:
        level = (
            COMPETITOR["intercept"]
            + COMPETITOR["slope_loyalty"] * loyalty[rows]
            + COMPETITOR["customer_sd"] * rng.standard_normal(rows.size)
        )
        logit = (
            level[:, None]
            + COMPETITOR["monthly_sd"] * rng.standard_normal((rows.size, months))
            + COMPETITOR["rise_per_month"] * pre[rows]
        )
        share = np.where(active[rows], sigmoid(logit), COMPETITOR["after_churn"])
        competitor[rows] = share.astype(np.float32)

    ids = pd.CategoricalDtype(pd.Index(customers["customer_id"], dtype="str"))
    month_days = month_index_dates(cfg.start, months)
    frame = pd.DataFrame(
        {
            "customer_id": pd.Categorical.from_codes(
                np.repeat(np.arange(n, dtype=np.int32), months), dtype=ids, validate=False
            ),
            "month": date32(np.tile(month_days, n)),
            "n_purchases": purchases.reshape(-1),
            "amount": amount.reshape(-1),
            "products_held": held.astype(np.int8).reshape(-1),
            "additions": additions.reshape(-1),
            "cancellations": cancellations.reshape(-1),
            "competitor_share": competitor.reshape(-1),
        },
        copy=False,
    )
    truth: dict[str, Any] = {
        "amount_model": "amount = spend_per_product[segment] * tier_multiplier[value_tier] "
        "* customer_lognormal(spread_sd) * products_held * exp(growth * month_index) "
        "* (1 - drop_per_month * k in the decline window) * monthly_lognormal(noise_sd)",
        "spend_per_product": dict(SPEND_PER_PRODUCT),
        "tier_multiplier": dict(TIER_MULTIPLIER),
        "spread_sd": SPREAD_SD,
        "noise_sd": NOISE_SD,
        "growth": {**GROWTH, "meaning": "monthly log growth of spend per product"},
        "start_products": {
            "model": "1 + Poisson(mean), capped at max_products",
            "mean_extra": dict(START_EXTRA_PRODUCTS),
            "max_products": MAX_PRODUCTS,
        },
        "add_product": {**ADD, "model": "P(add in a month) = base * exp(loyalty_coef * loyalty)"},
        "cancel_product": {
            **CANCEL,
            "model": "P(cancel in a month) = base * exp(loyalty_coef * loyalty)",
        },
        "purchases_per_product": dict(PURCHASES_PER_PRODUCT),
        "decline_before_churn": dict(DECLINE),
        "competitor_share": {
            **COMPETITOR,
            "model": "logistic(intercept + slope_loyalty*loyalty + customer noise + monthly "
            "noise + rise_per_month*k); NaN for customers without market intelligence",
            "tracked_customers": int(rows.size),
        },
    }
    return ModuleOutput(tables={"activity": frame}, truth=truth)


MODULE = register(GeneratorModule(name="activity", requires=("customers",), run=run))
