"""The ``customers`` module: who Huaxun's customers are, their true latent scores, and churn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allegiance.generate import latent, vocab
from allegiance.generate.common import (
    as_categorical,
    date32,
    draw,
    draw_given,
    keys,
    month_index_dates,
    sigmoid,
)
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register

__all__ = ["CHURN", "EN_SHARE", "LATENT_COLUMNS", "MODULE", "TENURE", "run"]

# Customers who prefer English, by segment (expatriates, multinational accounts).
EN_SHARE: dict[str, float] = {"consumer": 0.06, "sme": 0.10, "enterprise": 0.25, "government": 0.02}

# Tenure at the start of the window: lognormal months, clipped.
TENURE: dict[str, float] = {"median_months": 42.0, "sigma": 0.9, "min": 1, "max": 360}

# Monthly churn hazard h = 1 / (1 + exp(-(intercept + slope * loyalty))), from the second month.
CHURN: dict[str, float] = {"intercept": -4.8, "slope_loyalty": -0.8}

LATENT_COLUMNS: tuple[str, ...] = (
    "image",
    "expectation",
    "quality",
    "value",
    "satisfaction",
    "complaints_propensity",
    "loyalty",
)


def _latent_truth(m: latent.LatentModel) -> dict[str, Any]:
    names = [latent.ECSI_NAMES[c] for c in m.names]
    paths = {
        f"{latent.ECSI_NAMES[a]}->{latent.ECSI_NAMES[b]}": v for (a, b), v in latent.PATHS.items()
    }
    return {
        "model": "ECSI (Tenenhaus et al. 2005), standardised",
        "constructs": names,
        "columns": dict(zip(names, LATENT_COLUMNS, strict=True)),
        "paths": paths,
        "complaints_column": "complaints_propensity = -Complaints (ECSI orientation in paths)",
        "disturbance_variance": dict(zip(names, m.psi.tolist(), strict=True)),
        "r_squared": {latent.ECSI_NAMES[k]: v for k, v in m.r_squared().items()},
        "covariance": {
            a: dict(zip(names, row, strict=True))
            for a, row in zip(names, m.cov.tolist(), strict=True)
        },
        "covariance_within_group": {
            a: dict(zip(names, row, strict=True))
            for a, row in zip(names, m.cov_within.tolist(), strict=True)
        },
    }


def _effects_truth(m: latent.LatentModel) -> dict[str, Any]:
    return {
        "construct": "Satisfaction",
        "segment_raw": dict(latent.SEGMENT_EFFECTS),
        "region_raw": dict(latent.REGION_EFFECTS),
        "segment": dict(zip(vocab.SEGMENTS, m.segment_shift.tolist(), strict=True)),
        "region": dict(zip(vocab.REGIONS, m.region_shift.tolist(), strict=True)),
        "between_group_variance": m.group_variance,
        "note": "centred so the population mean is 0; also reach Complaints and Loyalty "
        "through the paths (total effect factors in 'spread')",
        "spread": {
            latent.ECSI_NAMES[c]: v for c, v in zip(m.names, m.spread.tolist(), strict=True)
        },
    }


def expected_churn_share(months: int, /, *, m: latent.LatentModel) -> float:
    """The population share of customers who churn within ``months`` months (exact law)."""
    if months <= 1:
        return 0.0
    means, sd, weights = latent.construct_law("loyalty", m=m)

    def churn(x: np.ndarray) -> np.ndarray:
        h = sigmoid(CHURN["intercept"] + CHURN["slope_loyalty"] * x)
        return np.asarray(1.0 - (1.0 - h) ** (months - 1))

    return latent.mixture_mean(churn, means=means, sd=sd, weights=weights)


def run(ctx: GenContext) -> ModuleOutput:
    """Draw the customers: make-up, latent scores, tenure and churn."""
    cfg = ctx.config
    rng = ctx.rng
    n = cfg.customers
    m = latent.model()

    segment = draw(rng, vocab.SEGMENT_PROBS, n)
    nature = draw_given(rng, vocab.NATURE_GIVEN_SEGMENT, vocab.SEGMENTS, segment)
    tier = draw_given(rng, vocab.VALUE_TIER_GIVEN_SEGMENT, vocab.SEGMENTS, segment)
    region = draw(rng, vocab.REGION_PROBS, n)
    city_tier = draw_given(rng, vocab.TIER_GIVEN_REGION, vocab.REGIONS, region) + 1
    age = draw(rng, vocab.AGE_GROUP_PROBS, n)
    age[segment != vocab.SEGMENTS.index("consumer")] = -1
    product = draw_given(rng, vocab.PRODUCT_GIVEN_SEGMENT, vocab.SEGMENTS, segment)
    en_share = np.array([EN_SHARE[s] for s in vocab.SEGMENTS])
    lang = (rng.random(n) < en_share[segment]).astype(np.int8)  # 0 zh, 1 en

    tenure = np.exp(np.log(TENURE["median_months"]) + TENURE["sigma"] * rng.standard_normal(n))
    tenure_months = np.clip(np.round(tenure), TENURE["min"], TENURE["max"]).astype(np.int64)
    join_month = np.datetime64(cfg.start, "M") - tenure_months
    month_days = (join_month + 1).astype("datetime64[D]") - join_month.astype("datetime64[D]")
    join_day = np.floor(rng.random(n) * month_days.astype(np.int64)).astype(np.int64)
    join_date = join_month.astype("datetime64[D]") + join_day

    eta = m.simulate(rng, segment=segment, region=region)

    hazard = sigmoid(CHURN["intercept"] + CHURN["slope_loyalty"] * eta[:, m.index("loyalty")])
    first_absent = rng.geometric(hazard)  # month index of the first month without service
    churned = first_absent <= cfg.months - 1
    months = month_index_dates(cfg.start, cfg.months + 1)
    churn_month = months[np.minimum(first_absent, cfg.months)]

    frame = pd.DataFrame(
        {
            "customer_id": keys("C", n),
            "nature": as_categorical(nature, vocab.NATURES),
            "segment": as_categorical(segment, vocab.SEGMENTS),
            "value_tier": as_categorical(tier, vocab.VALUE_TIERS),
            "region": as_categorical(region, vocab.REGIONS),
            "city_tier": city_tier.astype(np.int8),
            "age_group": as_categorical(age, vocab.AGE_GROUPS),
            "main_product": as_categorical(product, vocab.PRODUCTS),
            "lang": as_categorical(lang, vocab.LANGS),
            "join_date": date32(join_date),
        }
    )
    for column, construct in zip(LATENT_COLUMNS, m.names, strict=True):
        values = eta[:, m.index(construct)]
        frame[column] = -values if column == "complaints_propensity" else values
    frame["churned"] = churned
    frame["churn_month"] = date32(churn_month, valid=churned)

    truth: dict[str, Any] = {
        "company": {"code": vocab.COMPANY, "zh": "华讯通信", "en": "Huaxun Telecom"},
        "composition": {
            "segment": dict(zip(vocab.SEGMENTS, vocab.SEGMENT_PROBS, strict=True)),
            "nature_given_segment": {
                s: dict(zip(vocab.NATURES, p, strict=True))
                for s, p in vocab.NATURE_GIVEN_SEGMENT.items()
            },
            "value_tier_given_segment": {
                s: dict(zip(vocab.VALUE_TIERS, p, strict=True))
                for s, p in vocab.VALUE_TIER_GIVEN_SEGMENT.items()
            },
            "region": dict(zip(vocab.REGIONS, vocab.REGION_PROBS, strict=True)),
            "city_tier_given_region": {
                r: dict(zip(("1", "2", "3", "4"), p, strict=True))
                for r, p in vocab.TIER_GIVEN_REGION.items()
            },
            "age_group_consumers": dict(zip(vocab.AGE_GROUPS, vocab.AGE_GROUP_PROBS, strict=True)),
            "main_product_given_segment": {
                s: dict(zip(vocab.PRODUCTS, p, strict=True))
                for s, p in vocab.PRODUCT_GIVEN_SEGMENT.items()
            },
            "en_share_given_segment": dict(EN_SHARE),
        },
        "tenure": dict(TENURE),
        "latent": _latent_truth(m),
        "satisfaction_effects": _effects_truth(m),
        "churn": {
            "model": "monthly hazard = 1/(1+exp(-(intercept + slope_loyalty*loyalty))), "
            "from the second month of the window on",
            **CHURN,
            "expected_share_churned": expected_churn_share(cfg.months, m=m),
        },
    }
    return ModuleOutput(tables={"customers": frame}, truth=truth)


MODULE = register(GeneratorModule(name="customers", requires=(), run=run))
