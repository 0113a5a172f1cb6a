"""The ``complaints`` module: complaints received during the period, with their causes
and how they were handled.

Each active customer complains at a monthly Poisson rate that rises with the
propensity to complain (so with low satisfaction). Causes follow the 148-complaint
example of SPEC section 6 exactly (probability = count / 148), with its classes 1-4.

Handling (the complaint register, docs/demo-company-complaints.md): a severity; the time to
resolve (exponential, its mean by channel times a factor by severity) and to the first
response (exponential by severity, at the latest the resolution); an owner; for resolved
complaints a resolution, compensation, whether the customer was won back (a logistic model
of severity, resolution within the SLA and compensation) and, for 60 % of them, the answer
to the satisfaction-after-recovery question; where else the customer went (consumer
association, media, regulator, court), more often when not won back. ``truth`` keeps the
exact SLA compliance per severity (from the default workflow's SLA hours) and the true
recovery rates, so tests check the analysis recovers them.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.generate import latent, vocab
from allegiance.generate.common import (
    as_categorical,
    draw,
    draw_given,
    keys,
    month_index_dates,
    month_numbers,
    sigmoid,
    timestamps,
)
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register
from allegiance.i18n import t

__all__ = [
    "AGENTS",
    "ANSWER_RATE",
    "CHANNEL_PROBS",
    "COMPENSATION_MEDIAN",
    "COMPENSATION_PROB",
    "ESCALATION_GIVEN",
    "FIRST_RESPONSE_MEAN_HOURS",
    "MODULE",
    "RATE",
    "RECOVERY",
    "RESOLUTIONS",
    "RESOLUTION_FACTOR",
    "RESOLUTION_GIVEN_CLASS",
    "RESOLUTION_MEAN_DAYS",
    "SEVERITIES",
    "SEVERITY_PROBS",
    "cause_probabilities",
    "expected_monthly_rate",
    "run",
    "sla_hours",
    "true_handling",
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

# --- handling (the complaint register) ---------------------------------------------------------
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
SEVERITY_PROBS: dict[str, float] = {"critical": 0.05, "high": 0.20, "medium": 0.40, "low": 0.35}
# Time to resolve = Exponential(RESOLUTION_MEAN_DAYS[channel]) x RESOLUTION_FACTOR[severity].
RESOLUTION_FACTOR: dict[str, float] = {"critical": 0.25, "high": 0.5, "medium": 1.0, "low": 1.5}
# Time to first response = min(Exponential(mean by severity), time to resolve).
FIRST_RESPONSE_MEAN_HOURS: dict[str, float] = {
    "critical": 1.0,
    "high": 2.5,
    "medium": 10.0,
    "low": 20.0,
}
AGENTS: tuple[str, ...] = tuple(f"agent_{i:02d}" for i in range(1, 13))
RESOLUTIONS: tuple[str, ...] = (
    "explained",
    "repaired",
    "replaced",
    "refunded",
    "credited",
    "apologized",
    "declined",
)
# P(resolution | cause class), columns follow RESOLUTIONS.
RESOLUTION_GIVEN_CLASS: dict[str, tuple[float, ...]] = {
    "1": (0.10, 0.35, 0.20, 0.15, 0.15, 0.05, 0.0),
    "2": (0.25, 0.05, 0.0, 0.05, 0.20, 0.45, 0.0),
    "3": (0.85, 0.0, 0.0, 0.0, 0.0, 0.0, 0.15),
    "4": (0.60, 0.0, 0.0, 0.0, 0.10, 0.0, 0.30),
}
# Resolved complaints are compensated with this probability; amount lognormal (CNY, sigma 0.8).
COMPENSATION_PROB: dict[str, float] = {"critical": 0.70, "high": 0.45, "medium": 0.25, "low": 0.10}
COMPENSATION_MEDIAN: dict[str, float] = {
    "critical": 500.0,
    "high": 200.0,
    "medium": 80.0,
    "low": 30.0,
}
COMPENSATION_SIGMA = 0.8
# P(won back | resolved) = sigmoid(intercept[severity] + within_sla * resolved in SLA
#                                  + compensated * compensation paid).
RECOVERY: dict[str, Any] = {
    "intercept": {"critical": -0.6, "high": -0.1, "medium": 0.3, "low": 0.6},
    "within_sla": 1.0,
    "compensated": 0.8,
}
# Share of resolved complaints whose customer answers the satisfaction-after-recovery question.
ANSWER_RATE = 0.6
# The answer (1-5) of a customer won back, and of one not won back.
SCORE_RECOVERED: dict[int, float] = {4: 0.55, 5: 0.45}
SCORE_NOT_RECOVERED: dict[int, float] = {1: 0.20, 2: 0.35, 3: 0.45}
# Where else the customer went; unresolved complaints count as not won back.
ESCALATION_GIVEN: dict[str, dict[str, float]] = {
    "recovered": {
        "none": 0.98,
        "consumer_association": 0.008,
        "media": 0.005,
        "regulator": 0.007,
        "court": 0.0,
    },
    "not_recovered": {
        "none": 0.86,
        "consumer_association": 0.05,
        "media": 0.04,
        "regulator": 0.04,
        "court": 0.01,
    },
}


@cache
def sla_hours() -> dict[str, tuple[float, float]]:
    """``{severity: (first response hours, resolution hours)}`` of the default workflow."""
    from allegiance.complaints.handling import load_workflow

    wf = load_workflow()
    return {s.code: (s.first_response_hours, s.resolution_hours) for s in wf.severities}


def true_handling() -> dict[str, Any]:
    """The exact SLA compliance and recovery rates implied by the constants above.

    Resolution R = E x f with E ~ Exp(mean of the channel): P(R <= S) = sum over channels of
    p_ch (1 - exp(-S / (mean_ch f))). First response min(F, R) with F ~ Exp(m):
    P(<= S) = 1 - exp(-S/m) P(R > S). Recovery: the logistic model averaged over within-SLA
    (probability = the resolution compliance) and compensation.
    """
    sla = sla_hours()
    ch_p = np.array([CHANNEL_PROBS[c] for c in vocab.CHANNELS])
    ch_mean_h = np.array([RESOLUTION_MEAN_DAYS[c] * 24.0 for c in vocab.CHANNELS])
    first: dict[str, float] = {}
    resolution: dict[str, float] = {}
    recovered: dict[str, float] = {}
    recovered_within: dict[str, dict[str, float]] = {}
    for sev in SEVERITIES:
        fr_h, res_h = sla[sev]
        mean = ch_mean_h * RESOLUTION_FACTOR[sev]
        c_res = float(ch_p @ (1.0 - np.exp(-res_h / mean)))
        r_after_fr = float(ch_p @ np.exp(-fr_h / mean))
        c_fr = 1.0 - math.exp(-fr_h / FIRST_RESPONSE_MEAN_HOURS[sev]) * r_after_fr
        a = RECOVERY["intercept"][sev]
        comp = COMPENSATION_PROB[sev]

        def rate(w: float, a: float = a, comp: float = comp) -> float:
            b = RECOVERY["within_sla"] * w
            return float(
                comp * sigmoid(np.array(a + b + RECOVERY["compensated"]))
                + (1 - comp) * sigmoid(np.array(a + b))
            )

        first[sev] = c_fr
        resolution[sev] = c_res
        recovered_within[sev] = {"yes": rate(1.0), "no": rate(0.0)}
        recovered[sev] = c_res * rate(1.0) + (1 - c_res) * rate(0.0)
    weights = SEVERITY_PROBS
    return {
        "sla_hours": {k: {"first_response": v[0], "resolution": v[1]} for k, v in sla.items()},
        "first_response_within_sla": {
            **first,
            "all": sum(weights[s] * first[s] for s in SEVERITIES),
        },
        "resolution_within_sla": {
            **resolution,
            "all": sum(weights[s] * resolution[s] for s in SEVERITIES),
        },
        "recovery_rate": {
            **recovered,
            "all": sum(weights[s] * recovered[s] for s in SEVERITIES),
        },
        "recovery_rate_by_resolution_in_sla": recovered_within,
    }


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


def _handling(
    rng: np.random.Generator,
    severity: npt.NDArray[np.int64],
    resolve_seconds: npt.NDArray[np.int64],
    received: npt.NDArray[np.datetime64],
    done: npt.NDArray[np.bool_],
    klass: npt.NDArray[np.int8],
    period_end: np.datetime64,
) -> dict[str, Any]:
    """The register's handling columns, drawn after (and without changing) the complaints."""
    n = severity.shape[0]
    fr_mean = np.array([FIRST_RESPONSE_MEAN_HOURS[s] for s in SEVERITIES])[severity]
    fr_seconds = np.ceil(rng.exponential(fr_mean) * 3600).astype(np.int64)
    fr_seconds = np.minimum(fr_seconds, resolve_seconds)
    first = received + fr_seconds.astype("timedelta64[s]")
    responded = first < period_end
    owner = rng.integers(0, len(AGENTS), n)
    resolution = draw_given(
        rng, RESOLUTION_GIVEN_CLASS, ["1", "2", "3", "4"], klass.astype(np.int64) - 1
    )
    paid = rng.random(n) < np.array([COMPENSATION_PROB[s] for s in SEVERITIES])[severity]
    median = np.array([COMPENSATION_MEDIAN[s] for s in SEVERITIES])[severity]
    amount = np.round(median * np.exp(COMPENSATION_SIGMA * rng.standard_normal(n)), 2)
    compensation = np.where(done, np.where(paid, amount, 0.0), np.nan)
    res_sla_h = np.array([sla_hours()[s][1] for s in SEVERITIES])[severity]
    within = resolve_seconds <= res_sla_h * 3600
    logit = (
        np.array([RECOVERY["intercept"][s] for s in SEVERITIES])[severity]
        + RECOVERY["within_sla"] * within
        + RECOVERY["compensated"] * paid
    )
    won_back = done & (rng.random(n) < sigmoid(logit))
    answered = done & (rng.random(n) < ANSWER_RATE)
    high = 4 + draw(rng, list(SCORE_RECOVERED.values()), n)
    low = 1 + draw(rng, list(SCORE_NOT_RECOVERED.values()), n)
    score = np.where(answered, np.where(won_back, high, low), np.nan)
    codes = list(ESCALATION_GIVEN["recovered"])
    esc_won = draw(rng, list(ESCALATION_GIVEN["recovered"].values()), n)
    esc_lost = draw(rng, [ESCALATION_GIVEN["not_recovered"][c] for c in codes], n)
    escalation = np.where(won_back, esc_won, esc_lost)
    return {
        "severity": as_categorical(severity, SEVERITIES),
        "owner": as_categorical(np.where(responded, owner, -1), AGENTS),
        "first_response_at": np.where(responded, first, np.datetime64("NaT", "s")),
        "resolution": as_categorical(np.where(done, resolution, -1), RESOLUTIONS),
        "compensation": compensation,
        "satisfaction_after": score,
        "escalated_to": as_categorical(escalation, codes),
        "won_back": pd.array(
            [bool(w) if d else None for w, d in zip(won_back, done, strict=True)],
            dtype="boolean",
        ),
    }


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
    base_days = rng.exponential(mean_days)
    severity = draw(rng, [SEVERITY_PROBS[s] for s in SEVERITIES], n).astype(np.int64)
    factor = np.array([RESOLUTION_FACTOR[s] for s in SEVERITIES])[severity]
    seconds = np.ceil(base_days * factor * 86400).astype(np.int64)
    resolved = received + seconds.astype("timedelta64[s]")
    period_end = (np.datetime64(cfg.start, "M") + months).astype("datetime64[s]")
    done = resolved < period_end

    order = np.argsort(received, kind="stable")
    who, received, cause, channel = who[order], received[order], cause[order], channel[order]
    resolved, done, severity, seconds = (
        resolved[order],
        done[order],
        severity[order],
        seconds[order],
    )
    product = customers["main_product"].cat.codes.to_numpy().astype(np.int64)[who]
    lang = customers["lang"].cat.codes.to_numpy().astype(np.int64)[who]
    klass = np.array([c.klass for c in vocab.CAUSES], dtype=np.int8)
    handling = _handling(rng, severity, seconds, received, done, klass[cause], period_end)

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
            **handling,
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
        "severity_probabilities": dict(SEVERITY_PROBS),
        "resolution_factor": dict(RESOLUTION_FACTOR),
        "first_response_mean_hours": dict(FIRST_RESPONSE_MEAN_HOURS),
        "resolution_given_class": {
            k: dict(zip(RESOLUTIONS, v, strict=True)) for k, v in RESOLUTION_GIVEN_CLASS.items()
        },
        "compensation_probability": dict(COMPENSATION_PROB),
        "compensation_median": dict(COMPENSATION_MEDIAN),
        "compensation_sigma": COMPENSATION_SIGMA,
        "recovery_model": {
            **RECOVERY,
            "model": "P(won back | resolved) = sigmoid(intercept[severity] + within_sla * "
            "[resolved within the resolution SLA] + compensated * [compensation > 0])",
            "recovered": "satisfaction_after >= 4 (answers 4-5 when won back, 1-3 otherwise)",
        },
        "answer_rate": ANSWER_RATE,
        "escalation_given": {k: dict(v) for k, v in ESCALATION_GIVEN.items()},
        **true_handling(),
    }
    return ModuleOutput(tables={"complaints": frame}, truth=truth)


MODULE = register(GeneratorModule(name="complaints", requires=("customers",), run=run))
