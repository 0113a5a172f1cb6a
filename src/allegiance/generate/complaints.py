"""The ``complaints`` module: complaints received during the period, with their causes.

Each active customer complains at a monthly Poisson rate that rises with the
propensity to complain (so with low satisfaction). Causes follow the 148-complaint
example of SPEC section 6 exactly (probability = count / 148), with its classes 1-4.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.generate import latent, vocab
from allegiance.generate.common import (
    as_categorical,
    draw,
    keys,
    month_index_dates,
    month_numbers,
    timestamps,
)
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register
from allegiance.i18n import t

__all__ = [
    "CHANNEL_PROBS",
    "MODULE",
    "RATE",
    "RESOLUTION_MEAN_DAYS",
    "cause_probabilities",
    "expected_monthly_rate",
    "run",
]

# Complaints per active customer-month: exp(intercept + slope * complaints_propensity).
RATE: dict[str, float] = {"intercept": math.log(0.004), "slope_propensity": 0.8}
CHANNEL_PROBS: dict[str, float] = {
    "hotline": 0.45,
    "app": 0.25,
    "store": 0.15,
    "social_media": 0.10,
    "regulator": 0.05,
}
# Time to resolve (days): exponential with this mean, by channel.
RESOLUTION_MEAN_DAYS: dict[str, float] = {
    "hotline": 2.0,
    "app": 3.0,
    "store": 2.0,
    "social_media": 4.0,
    "regulator": 10.0,
}
_PREFIXED = ("social_media", "regulator")


def cause_probabilities() -> dict[str, float]:
    """P(cause) = published count / 148 (SPEC section 6)."""
    total = sum(c.count for c in vocab.CAUSES)
    return {c.code: c.count / total for c in vocab.CAUSES}


def expected_monthly_rate(*, m: latent.LatentModel) -> float:
    """Population mean of complaints per active customer-month (exact, lognormal mixture)."""
    means, sd, weights = latent.construct_law("complaints", m=m)
    b = RATE["slope_propensity"]
    # propensity = -Complaints ~ N(-mean_g, sd^2) within each group
    per_group = np.exp(RATE["intercept"] - b * means + 0.5 * b**2 * sd**2)
    return float(per_group @ weights)


def _texts(
    cause: npt.NDArray[np.int64],
    product: npt.NDArray[np.int64],
    channel: npt.NDArray[np.int64],
    lang: npt.NDArray[np.int64],
) -> npt.NDArray[np.object_]:
    """The complaint in the customer's words and language; social media and regulator prefixed."""
    out = np.empty(cause.shape[0], dtype=object)
    cause_keys = [f"generate.complaint.{c.code}" for c in vocab.CAUSES]
    for code, lang_name in enumerate(vocab.LANGS):  # zh, en
        rows = np.flatnonzero(lang == code)
        if rows.size == 0:
            continue
        table = vocab.filled_templates(cause_keys, lang_name)
        text = table[cause[rows], product[rows]]
        for name in _PREFIXED:
            sep = "" if lang_name == "zh" and name == "regulator" else " "
            prefix = t(f"generate.complaint.prefix.{name}", lang_name) + sep
            hit = channel[rows] == vocab.CHANNELS.index(name)
            text = np.where(hit, prefix + text, text)
        out[rows] = text
    return out


def run(ctx: GenContext) -> ModuleOutput:
    """Draw the complaints of the period."""
    cfg = ctx.config
    rng = ctx.rng
    customers = ctx.tables["customers"]
    m = latent.model()
    months = cfg.months

    exposure = month_numbers(customers["churn_month"], start=cfg.start, missing=months)
    propensity = customers["complaints_propensity"].to_numpy(dtype=np.float64)
    rate = np.exp(RATE["intercept"] + RATE["slope_propensity"] * propensity)
    count = rng.poisson(rate * exposure)
    who = np.repeat(np.arange(len(customers)), count)
    n = who.size

    month = np.floor(rng.random(n) * exposure[who]).astype(np.int64)
    received = timestamps(rng, month_index_dates(cfg.start, months)[month])
    cause = draw(rng, list(cause_probabilities().values()), n).astype(np.int64)
    channel = draw(rng, list(CHANNEL_PROBS.values()), n).astype(np.int64)
    mean_days = np.array([RESOLUTION_MEAN_DAYS[c] for c in vocab.CHANNELS])[channel]
    seconds = np.ceil(rng.exponential(mean_days) * 86400).astype(np.int64)
    resolved = received + seconds.astype("timedelta64[s]")
    period_end = (np.datetime64(cfg.start, "M") + months).astype("datetime64[s]")
    done = resolved < period_end

    order = np.argsort(received, kind="stable")
    who, received, cause, channel = who[order], received[order], cause[order], channel[order]
    resolved, done = resolved[order], done[order]
    product = customers["main_product"].cat.codes.to_numpy().astype(np.int64)[who]
    lang = customers["lang"].cat.codes.to_numpy().astype(np.int64)[who]
    klass = np.array([c.klass for c in vocab.CAUSES], dtype=np.int8)

    frame = pd.DataFrame(
        {
            "complaint_key": keys("K", n, width=8),
            "customer_id": pd.Series(customers["customer_id"].to_numpy()[who], dtype="str"),
            "received_at": received,
            "channel": as_categorical(channel, vocab.CHANNELS),
            "product": as_categorical(product, vocab.PRODUCTS),
            "cause_code": as_categorical(cause, [c.code for c in vocab.CAUSES]),
            "cause_class": klass[cause],
            "lang": as_categorical(lang, vocab.LANGS),
            "text": pd.array(_texts(cause, product, channel, lang), dtype="str"),
            "status": as_categorical(done.astype(np.int8), vocab.STATUSES),
            "resolved_at": np.where(done, resolved, np.datetime64("NaT", "s")),
        }
    )
    probs = cause_probabilities()
    class_share = {
        str(k): sum(p for c, p in zip(vocab.CAUSES, probs.values(), strict=True) if c.klass == k)
        for k in vocab.CAUSE_CLASSES
    }
    truth: dict[str, Any] = {
        "rate": {
            **RATE,
            "model": "complaints per active customer-month ~ Poisson(exp(intercept + "
            "slope_propensity * complaints_propensity))",
            "expected_per_customer_month": expected_monthly_rate(m=m),
        },
        "cause_probabilities": probs,
        "cause_counts": {c.code: c.count for c in vocab.CAUSES},
        "cause_class": {c.code: c.klass for c in vocab.CAUSES},
        "class_shares": class_share,
        "channel_probabilities": dict(CHANNEL_PROBS),
        "resolution_mean_days": dict(RESOLUTION_MEAN_DAYS),
        "status": "resolved when resolved_at falls before the end of the period, else open",
        "product": "the customer's main product",
        "lang": "the customer's language",
    }
    return ModuleOutput(tables={"complaints": frame}, truth=truth)


MODULE = register(GeneratorModule(name="complaints", requires=("customers",), run=run))
