"""The ``journey`` module: touchpoints along the Huaxun customer journey and delivered value.

One row per survey respondent (table ``journey``, keyed by ``respondent_key``, with the
respondent's ``customer_id`` so the customers' segment can be joined in):

- satisfaction with eight touchpoints of the telecom journey, in order: store or
  website visit, purchase and sign-up, installation and activation, billing and
  payment, network use, the customer-service hotline, complaint handling and
  renewal (five levels, 5 = very satisfied; empty when the respondent did not
  go through that touchpoint), and the overall satisfaction with the journey
  (1..10);
- the components of customer delivered value (顾客让渡价值, SPEC section 1) on
  0..10: product, service, personnel and image value; money, time, energy
  (physical) and psychological cost.

The model. Each touchpoint k has a continuous experience
``x_k = offset_k + a_k·Satisfaction + e_k`` with ``var(x_k - offset_k) = 1``
(Satisfaction is the customer's latent score, so touchpoints correlate through
it: corr(x_j, x_k) = a_j·a_k), cut into five levels at the cutpoints of the
calculation-standard factors. The overall journey satisfaction is
``y = Σ_k β_k·(x_k - offset_k) + u`` with var(y) = 1, coded
``clip(round(7.2 + 1.8·y), 1, 10)``. Every respondent has an experience of every
touchpoint; whether they rated it (went through it) is drawn independently of
everything else (missing completely at random), so the importance of a
touchpoint is the same among those who rated it.

The truth holds β, the correlation matrix, R², the LMG (Shapley) share of R² of
each touchpoint, its exact expected mean and top-2-box share (overall and per
segment), its headroom ``(5 - mean) / 4`` and its impact ``share × headroom``:
the touchpoint with the largest impact is the one that pulls overall
satisfaction down most. Value and cost components are ordinal items driven by
the latent constructs plus a shift per segment; their exact expected means per
segment give the true total value, total cost and delivered value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allegiance.generate import latent, vocab
from allegiance.generate.latent import OrdinalItem, rounding_cutpoints
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register
from allegiance.generate.survey import CS_CUTPOINTS

__all__ = [
    "COMPONENTS",
    "COST_ITEMS",
    "MODULE",
    "OVERALL",
    "TOUCHPOINTS",
    "VALUE_ITEMS",
    "run",
    "truth_impacts",
]

FloatArray = npt.NDArray[np.float64]

# code: (loading on Satisfaction a_k, effect on the overall β_k, offset, share who rate it)
TOUCHPOINTS: dict[str, tuple[float, float, float, float]] = {
    "store": (0.45, 0.05, 0.35, 0.85),
    "signup": (0.50, 0.07, 0.25, 1.00),
    "activation": (0.45, 0.10, 0.00, 0.90),
    "billing": (0.55, 0.24, -0.55, 1.00),
    "network": (0.60, 0.30, 0.40, 1.00),
    "hotline": (0.50, 0.12, -0.30, 0.55),
    "complaint": (0.50, 0.12, -0.70, 0.22),
    "renewal": (0.55, 0.06, -0.10, 0.60),
}
# Complaint handling is rated only by hotline users: 0.22 / 0.55 = 40 % of them.
COMPLAINT_AMONG_HOTLINE = TOUCHPOINTS["complaint"][3] / TOUCHPOINTS["hotline"][3]
OVERALL = "tp_overall"
OVERALL_MEAN, OVERALL_SD, OVERALL_LOW, OVERALL_HIGH = 7.2, 1.8, 1, 10

# component: (weights on constructs, response mean, response sd, shift per segment)
VALUE_ITEMS: dict[str, tuple[tuple[tuple[str, float], ...], float, float, dict[str, float]]] = {
    "product": ((("quality", 0.55),), 7.4, 1.7, {"enterprise": 0.10, "government": 0.10}),
    "service": (
        (("quality", 0.45), ("satisfaction", 0.20)),
        7.0,
        1.8,
        {"enterprise": 0.25, "government": 0.30},
    ),
    "personnel": (
        (("quality", 0.50),),
        6.8,
        1.9,
        {"sme": -0.10, "enterprise": 0.45, "government": 0.50},
    ),
    "image": ((("image", 0.65),), 7.2, 1.7, {"government": 0.20}),
}
COST_ITEMS: dict[str, tuple[tuple[tuple[str, float], ...], float, float, dict[str, float]]] = {
    "money": (
        (("value", -0.60),),
        5.6,
        2.0,
        {"sme": 0.30, "enterprise": 0.10, "government": -0.20},
    ),
    "time": ((("quality", -0.40),), 4.6, 2.0, {"sme": 0.25, "enterprise": -0.10}),
    "energy": ((("quality", -0.35),), 4.0, 1.9, {"sme": 0.20}),
    "psychological": (
        (("satisfaction", -0.45),),
        3.8,
        2.0,
        {"sme": 0.15, "enterprise": -0.10, "government": -0.15},
    ),
}
COMPONENTS: dict[str, tuple[str, ...]] = {
    "value": tuple(f"value_{c}" for c in VALUE_ITEMS),
    "cost": tuple(f"cost_{c}" for c in COST_ITEMS),
}
"""The delivered-value columns: total value from the first, total cost from the second."""

LEVELS = np.arange(1, 6, dtype=np.float64)


def _tp_item(code: str) -> OrdinalItem:
    loading, _beta, offset, _rate = TOUCHPOINTS[code]
    return OrdinalItem(
        name=f"tp_{code}",
        weights=(("satisfaction", loading),),
        cutpoints=CS_CUTPOINTS,
        offset=offset,
    )


def _component_item(side: str, code: str, segment: str | None = None) -> OrdinalItem:
    weights, mean, sd, shifts = (VALUE_ITEMS if side == "value" else COST_ITEMS)[code]
    return OrdinalItem(
        name=f"{side}_{code}",
        weights=weights,
        cutpoints=rounding_cutpoints(mean=mean, sd=sd, low=0, high=10),
        offset=0.0 if segment is None else shifts.get(segment, 0.0),
        first=0,
    )


def _correlation() -> FloatArray:
    a = np.array([v[0] for v in TOUCHPOINTS.values()])
    r = np.outer(a, a)
    np.fill_diagonal(r, 1.0)
    return r


def truth_impacts() -> dict[str, Any]:
    """The true importance (β, correlations, LMG shares), performance and impact per touchpoint."""
    from allegiance.methods.drivers import shapley_r2

    m = latent.model()
    codes = list(TOUCHPOINTS)
    beta = np.array([TOUCHPOINTS[c][1] for c in codes])
    rxx = _correlation()
    rxy = rxx @ beta
    dec = shapley_r2(rxx, rxy)
    shares = dec.values / dec.r2
    out: dict[str, Any] = {}
    for k, code in enumerate(codes):
        item = _tp_item(code)
        probs = latent.ordinal_probs(item, m=m)
        mean = float(probs @ LEVELS)
        gap = (5.0 - mean) / 4.0
        by_segment = {}
        for segment in vocab.SEGMENTS:
            sp = latent.ordinal_probs(item, m=m, segment=segment)
            by_segment[segment] = {
                "expected_mean": float(sp @ LEVELS),
                "expected_top2": float(sp[3:].sum()),
            }
        out[code] = {
            "column": f"tp_{code}",
            "loading": TOUCHPOINTS[code][0],
            "beta": float(beta[k]),
            "offset": TOUCHPOINTS[code][2],
            "rated_share": TOUCHPOINTS[code][3],
            "r_with_overall": float(rxy[k]),
            "lmg": float(dec.values[k]),
            "share": float(shares[k]),
            "probabilities": dict(zip(("1", "2", "3", "4", "5"), probs.tolist(), strict=True)),
            "expected_mean": mean,
            "expected_top2": float(probs[3:].sum()),
            "gap": gap,
            "impact": float(shares[k] * gap),
            "by_segment": by_segment,
        }
    return {
        "touchpoints": out,
        "r2": dec.r2,
        "correlation": rxx.tolist(),
        "order": codes,
        "by_importance": [codes[i] for i in np.argsort(-shares, kind="stable")],
        "weakest": max(codes, key=lambda c: out[c]["impact"]),
    }


def _component_truth() -> dict[str, Any]:
    m = latent.model()
    seg_p = dict(zip(vocab.SEGMENTS, vocab.SEGMENT_PROBS, strict=True))
    items: dict[str, Any] = {}
    totals: dict[str, dict[str, float]] = {s: {} for s in vocab.SEGMENTS}
    for side, table in (("value", VALUE_ITEMS), ("cost", COST_ITEMS)):
        for code, (weights, mean, sd, shifts) in table.items():
            column = f"{side}_{code}"
            by_segment = {}
            for segment in vocab.SEGMENTS:
                item = _component_item(side, code, segment)
                probs = latent.ordinal_probs(item, m=m, segment=segment)
                by_segment[segment] = float(probs @ item.levels)
            overall = float(sum(seg_p[s] * by_segment[s] for s in vocab.SEGMENTS))
            items[column] = {
                "side": side,
                "weights": dict(weights),
                "response_mean": mean,
                "response_sd": sd,
                "segment_shift": {s: shifts.get(s, 0.0) for s in vocab.SEGMENTS},
                "expected_mean": overall,
                "expected_mean_by_segment": by_segment,
            }
    for segment in vocab.SEGMENTS:
        value = float(
            np.mean([items[c]["expected_mean_by_segment"][segment] for c in COMPONENTS["value"]])
        )
        cost = float(
            np.mean([items[c]["expected_mean_by_segment"][segment] for c in COMPONENTS["cost"]])
        )
        totals[segment] = {
            "total_value": value,
            "total_cost": cost,
            "delivered_value": value - cost,
        }
    overall_totals = {
        key: float(sum(seg_p[s] * totals[s][key] for s in vocab.SEGMENTS))
        for key in ("total_value", "total_cost", "delivered_value")
    }
    return {
        "definition": "total value = mean of the value components, total cost = mean of the cost "
        "components (0..10, equal weights); delivered value = total value - total cost",
        "items": items,
        "by_segment": totals,
        "overall": overall_totals,
    }


def _positions(everyone: pd.Series, wanted: pd.Series) -> npt.NDArray[np.int64]:
    """Row of each ``wanted`` id in ``everyone``: hash only the few wanted ids (fast at 10^6)."""
    big = pa.array(everyone.to_numpy(dtype=object), type=pa.string())
    small = pa.array(wanted.to_numpy(dtype=object), type=pa.string())
    hit = np.flatnonzero(pc.is_in(big, value_set=small).to_numpy(zero_copy_only=False))
    where = pc.index_in(small, value_set=big.take(pa.array(hit)))
    if where.null_count:
        raise RuntimeError("journey: a respondent's customer is not in the customers table")
    return np.asarray(hit[where.to_numpy(zero_copy_only=False)], dtype=np.int64)


def _code(y: FloatArray, cutpoints: tuple[float, ...], first: int) -> npt.NDArray[np.int8]:
    return (first + np.searchsorted(np.asarray(cutpoints), y, side="left")).astype(np.int8)


def run(ctx: GenContext) -> ModuleOutput:
    """Touchpoint ratings, overall journey satisfaction and delivered-value components."""
    rng = ctx.rng
    m = latent.model()
    responses = ctx.tables["survey_responses"]
    customers = ctx.tables["customers"]
    sample = customers.iloc[_positions(customers["customer_id"], responses["customer_id"])]
    n = len(responses)
    eta = np.column_stack(
        [
            -sample["complaints_propensity"].to_numpy(dtype=np.float64)
            if c == "complaints"
            else sample[c].to_numpy(dtype=np.float64)
            for c in m.names
        ]
    )
    seg_codes = sample["segment"].cat.codes.to_numpy()
    seg_names = [str(c) for c in sample["segment"].cat.categories]

    columns: dict[str, Any] = {
        "respondent_key": responses["respondent_key"].to_numpy(),
        "customer_id": responses["customer_id"].to_numpy(),
    }
    codes = list(TOUCHPOINTS)
    beta = np.array([TOUCHPOINTS[c][1] for c in codes])
    centred = np.empty((n, len(codes)))
    used_hotline = np.ones(n, dtype=np.bool_)
    for k, code in enumerate(codes):  # a loop over touchpoints, not respondents
        item = _tp_item(code)
        x = eta @ item.weight_vector(m) + item.noise_sd(m) * rng.standard_normal(n)
        centred[:, k] = x
        rated = rng.random(n) < TOUCHPOINTS[code][3]
        if code == "hotline":
            used_hotline = rated
        if code == "complaint":
            rated = used_hotline & (rng.random(n) < COMPLAINT_AMONG_HOTLINE)
        answer = _code(item.offset + x, item.cutpoints, 1)
        columns[item.name] = pd.arrays.IntegerArray(answer, ~rated)
    r2 = float(beta @ _correlation() @ beta)
    y = centred @ beta + np.sqrt(1.0 - r2) * rng.standard_normal(n)
    overall_cut = rounding_cutpoints(
        mean=OVERALL_MEAN, sd=OVERALL_SD, low=OVERALL_LOW, high=OVERALL_HIGH
    )
    columns[OVERALL] = _code(y, overall_cut, 1)

    for side, table in (("value", VALUE_ITEMS), ("cost", COST_ITEMS)):
        for code, (_weights, _mean, _sd, shifts) in table.items():  # over components
            item = _component_item(side, code)
            shift = np.array([shifts.get(s, 0.0) for s in seg_names])[seg_codes]
            x = shift + eta @ item.weight_vector(m) + item.noise_sd(m) * rng.standard_normal(n)
            columns[item.name] = _code(x, item.cutpoints, 0)

    frame = pd.DataFrame(columns)
    frame["respondent_key"] = frame["respondent_key"].astype("str")
    frame["customer_id"] = frame["customer_id"].astype("str")
    truth = truth_impacts()
    truth.update(
        {
            "rated": {c: TOUCHPOINTS[c][3] for c in codes},
            "complaint_rated_by": "hotline users only",
            "overall": {
                "column": OVERALL,
                "mean": OVERALL_MEAN,
                "sd": OVERALL_SD,
                "low": OVERALL_LOW,
                "high": OVERALL_HIGH,
                "model": "y = sum_k beta_k (x_k - offset_k) + u, var(y) = 1; "
                "code = clip(round(mean + sd*y), low, high)",
            },
            "impact_definition": "impact = LMG share of R^2 x (5 - expected mean) / 4",
            "cutpoints": list(CS_CUTPOINTS),
            "delivered_value": _component_truth(),
        }
    )
    return ModuleOutput(tables={"journey": frame}, truth=truth)


MODULE = register(GeneratorModule(name="journey", requires=("customers", "survey"), run=run))
