"""The ``engagement`` module: price changes, engagement events, named-brand purchases, attitudes.

Four tables for the customer indicators and segments (docs/demo-company-customers.md):

- ``price_changes``: two price-rise campaigns; who received a rise is drawn so that the
  customers who got one leave ``churn_multiplier`` times as often in the ``horizon``
  months after it as the base rate (the activity table is not changed: the association
  is put into who was chosen, which is what a retention comparison sees);
- ``engagement``: members' club events, care calls, referrals and app feedback while a
  customer, Poisson in each active month with a rate rising with loyalty;
- ``brand_purchases``: per customer, the purchases of the window and how many were asked
  for by brand name (指名购买), binomial with a logistic probability in loyalty;
- ``attitudes``: for survey respondents, how much price, service and product matter
  (1-7), with the TRUE customer type (price-sensitive, service-led, product-led).

Everything is vectorised over customers (and months); this module draws from its own
random stream, so the other modules' tables are the same with or without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allegiance.generate.common import date32, month_index_dates, month_numbers, sigmoid
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register

__all__ = [
    "ATTITUDES",
    "BRAND",
    "ENGAGEMENT",
    "KINDS",
    "MODULE",
    "PRICE_CAMPAIGNS",
    "PRICE_HORIZON",
    "run",
]

# Price-rise campaigns: month index in the window, the rise, the share of active customers
# who get it, and how many times more often they leave within PRICE_HORIZON months.
PRICE_CAMPAIGNS: tuple[dict[str, Any], ...] = (
    {"campaign": "P1", "month": 6, "change_pct": 0.05, "share": 0.30, "churn_multiplier": 1.8},
    {"campaign": "P2", "month": 15, "change_pct": 0.12, "share": 0.25, "churn_multiplier": 3.0},
)
PRICE_HORIZON = 3

# Engagement events per active customer-month: Poisson(base * exp(loyalty_coef * loyalty)).
KINDS: tuple[str, ...] = ("club_event", "care_call", "referral", "app_feedback")
ENGAGEMENT: dict[str, dict[str, float]] = {
    "club_event": {"base": 0.030, "loyalty_coef": 0.50},
    "care_call": {"base": 0.040, "loyalty_coef": 0.00},
    "referral": {"base": 0.008, "loyalty_coef": 0.90},
    "app_feedback": {"base": 0.025, "loyalty_coef": 0.20},
}

# P(a purchase is asked for by brand name) = sigmoid(intercept + slope_loyalty * loyalty).
BRAND: dict[str, float] = {"intercept": -0.9, "slope_loyalty": 0.8}

# Attitudes of survey respondents: the true type by segment; importance ratings 1-7 are
# round(base + lift on the true type's dimension + noise), clipped to 1..7.
ATTITUDES: dict[str, Any] = {
    "types": ("price_sensitive", "service_led", "product_led"),
    "type_given_segment": {
        "consumer": (0.50, 0.25, 0.25),
        "sme": (0.35, 0.35, 0.30),
        "enterprise": (0.15, 0.50, 0.35),
        "government": (0.15, 0.55, 0.30),
    },
    "base": 4.0,
    "lift": 2.0,
    "noise_sd": 1.0,
}


def _price_changes(
    ctx: GenContext, absent: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    cfg = ctx.config
    customers = ctx.tables["customers"]
    months = month_index_dates(cfg.start, cfg.months)
    frames, truth = [], []
    for camp in PRICE_CAMPAIGNS:
        m = int(camp["month"])
        if m + PRICE_HORIZON > cfg.months - 1:
            continue  # not enough months after it to see retention
        active = absent > m
        leaves = active & (absent <= m + PRICE_HORIZON)
        n_active = int(active.sum())
        if n_active == 0:
            continue
        c = float(leaves.sum()) / n_active
        f, r = float(camp["share"]), float(camp["churn_multiplier"])
        p_leave = min(1.0, f * r)
        p_stay = f * (1 - r * c) / (1 - c) if c < 1 else 0.0
        u = rng.random(len(absent))
        exposed = active & np.where(leaves, u < p_leave, u < p_stay)
        rows = np.flatnonzero(exposed)
        day = rng.integers(0, 28, rows.size)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": customers["customer_id"].to_numpy()[rows],
                    "effective_date": date32(months[m] + day.astype("timedelta64[D]")),
                    "product": customers["main_product"].to_numpy()[rows],
                    "change_pct": np.full(rows.size, camp["change_pct"], dtype=np.float64),
                    "campaign": np.full(rows.size, camp["campaign"], dtype=object),
                }
            )
        )
        truth.append(
            {
                **camp,
                "effective_month": str(months[m]),
                "active_customers": n_active,
                "base_churn_within_horizon": c,
                "expected_retention_exposed": 1 - r * c,
                "expected_retention_control": 1 - c * (1 - f * r) / (1 - f),
                "exposed": int(rows.size),
            }
        )
    cols = ["customer_id", "effective_date", "product", "change_pct", "campaign"]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    table["product"] = table["product"].astype(customers["main_product"].dtype)
    table["campaign"] = table["campaign"].astype("str")
    return table, truth


def _engagement(
    ctx: GenContext, absent: np.ndarray, loyalty: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, float]:
    cfg = ctx.config
    n, months = len(absent), cfg.months
    active = np.arange(months)[None, :] < absent[:, None]
    month_days = month_index_dates(cfg.start, months)
    ids, days, kinds = [], [], []
    expected_engaged = 0.0
    total = np.zeros(n)
    for k, kind in enumerate(KINDS):
        spec = ENGAGEMENT[kind]
        lam = spec["base"] * np.exp(spec["loyalty_coef"] * loyalty)
        total += lam
        counts = rng.poisson(np.broadcast_to(lam[:, None], (n, months)) * active)
        cell = np.flatnonzero(counts)
        reps = counts.reshape(-1)[cell]
        cell = np.repeat(cell, reps)
        ids.append(cell // months)
        day = rng.integers(0, 28, cell.size).astype("timedelta64[D]")
        days.append(month_days[cell % months] + day)
        kinds.append(np.full(cell.size, k, dtype=np.int8))
    expected_engaged = float(((1 - np.exp(-total))[:, None] * active).sum())
    row = np.concatenate(ids)
    order = np.lexsort((np.concatenate(days), row))
    customers = ctx.tables["customers"]["customer_id"].to_numpy()
    table = pd.DataFrame(
        {
            "customer_id": pd.Series(customers[row[order]], dtype="str"),
            "occurred_at": date32(np.concatenate(days)[order]),
            "kind": pd.Categorical.from_codes(
                np.concatenate(kinds)[order], dtype=pd.CategoricalDtype(list(KINDS))
            ),
        }
    )
    return table, expected_engaged


def _brand(
    ctx: GenContext, loyalty: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, float]:
    customers = ctx.tables["customers"]
    months = ctx.config.months
    purchases = ctx.tables["activity"]["n_purchases"].to_numpy().reshape(len(customers), months)
    n_purchases = purchases.sum(axis=1, dtype=np.int64)
    p = sigmoid(BRAND["intercept"] + BRAND["slope_loyalty"] * loyalty)
    named = rng.binomial(n_purchases, p)
    table = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].astype("str"),
            "n_purchases": n_purchases,
            "n_named": named.astype(np.int64),
        }
    )
    expected = float((n_purchases * p).sum() / max(int(n_purchases.sum()), 1))
    return table, expected


def _attitudes(ctx: GenContext, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    customers = ctx.tables["customers"]
    survey = ctx.tables["survey_responses"]
    index = pd.Index(customers["customer_id"]).get_indexer(survey["customer_id"])
    segment = customers["segment"].astype("str").to_numpy()[index]
    types = ATTITUDES["types"]
    probs = np.array([ATTITUDES["type_given_segment"][s] for s in segment])
    u = rng.random(len(index))
    true = (u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, len(types) - 1)
    noise = ATTITUDES["noise_sd"] * rng.standard_normal((len(index), 3))
    lift = ATTITUDES["lift"] * (np.arange(3)[None, :] == true[:, None])
    ratings = np.clip(np.round(ATTITUDES["base"] + lift + noise), 1, 7).astype(np.int8)
    table = pd.DataFrame(
        {
            "customer_id": survey["customer_id"].astype("str").to_numpy(),
            "imp_price": ratings[:, 0],
            "imp_service": ratings[:, 1],
            "imp_product": ratings[:, 2],
            "customer_type_true": pd.Categorical.from_codes(
                true, dtype=pd.CategoricalDtype(list(types))
            ),
        }
    )
    shares = {t: float((true == i).mean()) if len(true) else 0.0 for i, t in enumerate(types)}
    return table, {**ATTITUDES, "types": list(types), "realised_shares": shares}


def run(ctx: GenContext) -> ModuleOutput:
    """Draw price changes, engagement events, named-brand purchases and attitudes."""
    cfg = ctx.config
    customers = ctx.tables["customers"]
    absent = month_numbers(customers["churn_month"], start=cfg.start, missing=cfg.months)
    loyalty = customers["loyalty"].to_numpy(dtype=np.float64)
    rng = ctx.rng
    price, price_truth = _price_changes(ctx, absent, rng)
    events, expected_engaged = _engagement(ctx, absent, loyalty, rng)
    brand, expected_named = _brand(ctx, loyalty, rng)
    attitudes, attitude_truth = _attitudes(ctx, rng)
    truth: dict[str, Any] = {
        "price_changes": {
            "model": "who gets a rise: P(rise | leaves within horizon) = share * multiplier, "
            "P(rise | stays) = share * (1 - multiplier * c) / (1 - c), c = base churn within "
            "the horizon among customers active in the campaign month; so churn among those "
            "with a rise is multiplier * c",
            "horizon_months": PRICE_HORIZON,
            "campaigns": price_truth,
        },
        "engagement": {
            "model": "events per active customer-month ~ Poisson(base * exp(loyalty_coef * loyalty))",
            "kinds": {k: dict(v) for k, v in ENGAGEMENT.items()},
            "expected_engaged_customer_months": expected_engaged,
        },
        "brand": {
            **BRAND,
            "model": "n_named ~ Binomial(n_purchases, sigmoid(intercept + slope_loyalty * loyalty))",
            "expected_named_brand_rate": expected_named,
        },
        "attitudes": attitude_truth,
    }
    return ModuleOutput(
        tables={
            "price_changes": price,
            "engagement": events,
            "brand_purchases": brand,
            "attitudes": attitudes,
        },
        truth=truth,
    )


MODULE = register(
    GeneratorModule(name="engagement", requires=("customers", "activity", "survey"), run=run)
)
