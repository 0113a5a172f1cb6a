"""The ``servqual_extra`` module: what SERVQUAL needs beyond the 44 answers of the survey.

Table ``servqual_zot`` (one row per survey respondent, keyed by ``respondent_key``):

- ``sq_imp_<dimension>``: the 100 points the respondent spreads over the five
  dimensions by importance (Parasuraman, Berry & Zeithaml 1991). Each respondent's
  shares are drawn from a Dirichlet distribution with mean :data:`IMPORTANCE_SHARE`
  and concentration :data:`IMPORTANCE_CONCENTRATION`, and the 100 points from a
  multinomial on those shares, so the points are whole numbers that add up to
  exactly 100 and their expected share is :data:`IMPORTANCE_SHARE`.
- ``sq_a01`` … ``sq_a22``: the *adequate* (minimum acceptable) service level of each
  item and ``sq_d01`` … ``sq_d22`` the *desired* level, on the survey's 1-7 scale
  (the three-column format of Parasuraman, Zeithaml & Berry 1994). The adequate
  level is an ordinal item driven by the respondent's latent Expectation (loading
  :data:`ADEQUATE_LOADING`, continuous mean :data:`ADEQUATE` of the dimension plus
  the survey's item offset, sd :data:`ADEQUATE_SD`, rounded and clipped to 1-7); the
  desired level adds a tolerance width drawn from :data:`TOLERANCE_WIDTH`:
  ``desired = min(7, adequate + width)``, so desired is never below adequate.

The exact population law of every answer is known, so truth stores the expected
adequate, desired and perceived level of each dimension, the measures of service
adequacy (MSA = P − adequate) and superiority (MSS = P − desired), where
perception falls against the zone of tolerance, the expected importance shares
and the expected weighted SERVQUAL score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.generate import latent, vocab
from allegiance.generate.latent import OrdinalItem, rounding_cutpoints
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register
from allegiance.generate.survey import SQ_ITEM_OFFSETS

__all__ = [
    "ADEQUATE",
    "ADEQUATE_LOADING",
    "ADEQUATE_SD",
    "IMPORTANCE_CONCENTRATION",
    "IMPORTANCE_SHARE",
    "MODULE",
    "TABLE",
    "TOLERANCE_WIDTH",
    "adequate_item",
    "desired_probabilities",
    "run",
]

TABLE = "servqual_zot"
IMPORTANCE_PREFIX = "sq_imp_"
POINTS = 100

# Expected share of the 100 points: our choice, in the order customers ranked the
# dimensions in Parasuraman, Zeithaml & Berry's studies (reliability first, tangibles last).
IMPORTANCE_SHARE: dict[str, float] = {
    "tangibles": 0.11,
    "reliability": 0.32,
    "responsiveness": 0.22,
    "assurance": 0.19,
    "empathy": 0.16,
}
IMPORTANCE_CONCENTRATION = 12.0  # Dirichlet concentration: larger = respondents agree more

# Continuous mean of the adequate level per dimension (before item offsets and rounding).
# With the survey's perceptions (tangibles 5.3, reliability 5.2, responsiveness 5.1,
# assurance 5.6, empathy 5.0) reliability falls below the zone of tolerance; the other
# dimensions sit inside it.
ADEQUATE: dict[str, float] = {
    "tangibles": 4.5,
    "reliability": 5.9,
    "responsiveness": 4.6,
    "assurance": 4.9,
    "empathy": 4.4,
}
ADEQUATE_SD = 1.0
ADEQUATE_LOADING = 0.5  # on the latent Expectation
# Probability of a tolerance width of 0, 1, 2, 3 points (desired − adequate before clipping).
TOLERANCE_WIDTH: dict[str, tuple[float, float, float, float]] = {
    "tangibles": (0.10, 0.30, 0.40, 0.20),
    "reliability": (0.25, 0.45, 0.25, 0.05),
    "responsiveness": (0.20, 0.40, 0.30, 0.10),
    "assurance": (0.20, 0.40, 0.30, 0.10),
    "empathy": (0.15, 0.35, 0.35, 0.15),
}
LOW, HIGH = 1, 7


def adequate_item(number: int, /) -> OrdinalItem:
    """The ordinal item of the adequate service level of SERVQUAL item ``number`` (1-22)."""
    dim = vocab.SERVQUAL_ITEM_DIMENSION[number - 1]
    mean = ADEQUATE[dim] + SQ_ITEM_OFFSETS[(number - 1) % len(SQ_ITEM_OFFSETS)]
    return OrdinalItem(
        name=f"sq_a{number:02d}",
        weights=(("expectation", ADEQUATE_LOADING),),
        cutpoints=rounding_cutpoints(mean=mean, sd=ADEQUATE_SD, low=LOW, high=HIGH),
    )


def desired_probabilities(
    adequate: npt.ArrayLike, width: npt.ArrayLike, /
) -> npt.NDArray[np.float64]:
    """Exact law of ``min(7, adequate + width)`` for independent adequate (codes 1-7) and width."""
    pa = np.asarray(adequate, dtype=np.float64)
    pw = np.asarray(width, dtype=np.float64)
    out = np.zeros(HIGH - LOW + 1)
    for a in range(pa.size):  # 7 x 4 cells of a probability table, not data rows
        for w in range(pw.size):
            out[min(a + w, HIGH - LOW)] += pa[a] * pw[w]
    return out


def _respondent_latents(
    customers: pd.DataFrame, responses: pd.DataFrame, m: latent.LatentModel
) -> npt.NDArray[np.float64]:
    pos = pd.Index(customers["customer_id"].astype("str")).get_indexer(
        pd.Index(responses["customer_id"].astype("str"))
    )
    if (pos < 0).any():  # pragma: no cover - the survey samples customers
        raise RuntimeError("survey respondent not among the customers")
    cols = []
    for name in m.names:
        if name == "complaints":
            cols.append(-customers["complaints_propensity"].to_numpy(dtype=np.float64)[pos])
        else:
            cols.append(customers[name].to_numpy(dtype=np.float64)[pos])
    return np.column_stack(cols)


def run(ctx: GenContext) -> ModuleOutput:
    """Importance points and adequate/desired service levels of every survey respondent."""
    rng = ctx.rng
    responses = ctx.tables["survey_responses"]
    customers = ctx.tables["customers"]
    m = latent.model()
    n = len(responses)
    dims = vocab.SERVQUAL_DIMENSIONS
    codes = np.arange(LOW, HIGH + 1)

    mean_share = np.array([IMPORTANCE_SHARE[d] for d in dims])
    shares = rng.dirichlet(IMPORTANCE_CONCENTRATION * mean_share, size=n)
    points = rng.multinomial(POINTS, shares).astype(np.int16)

    eta = _respondent_latents(customers, responses, m)
    columns: dict[str, Any] = {
        "respondent_key": responses["respondent_key"].astype("str").to_numpy(),
        "customer_id": responses["customer_id"].astype("str").to_numpy(),
    }
    for j, dim in enumerate(dims):
        columns[f"{IMPORTANCE_PREFIX}{dim}"] = points[:, j]

    survey_items = ctx.truth.get("survey", {}).get("servqual", {}).get("items", {})
    items_truth: dict[str, Any] = {}
    desired_cols: dict[str, npt.NDArray[np.int8]] = {}
    per_dim: dict[str, dict[str, list[float]]] = {
        d: {"adequate": [], "desired": [], "perceived": []} for d in dims
    }
    for number, dim in enumerate(vocab.SERVQUAL_ITEM_DIMENSION, start=1):  # 22 items
        item = adequate_item(number)
        adequate = latent.ordinal_codes(item, eta, rng, m=m)
        width_probs = TOLERANCE_WIDTH[dim]
        width = rng.choice(len(width_probs), size=n, p=np.asarray(width_probs))
        desired = np.minimum(adequate.astype(np.int64) + width, HIGH).astype(np.int8)
        columns[item.name] = adequate
        desired_cols[f"sq_d{number:02d}"] = desired

        pa = latent.ordinal_probs(item, m=m)
        pd_ = desired_probabilities(pa, width_probs)
        e_a, e_d = float(pa @ codes), float(pd_ @ codes)
        perceived = survey_items.get(f"sq_p{number:02d}", {}).get("expected_mean")
        items_truth[item.name] = {
            **item.to_dict(),
            "dimension": dim,
            "noise_sd": item.noise_sd(m),
            "probabilities": dict(zip((str(c) for c in codes), pa.tolist(), strict=True)),
            "expected_mean": e_a,
        }
        items_truth[f"sq_d{number:02d}"] = {
            "dimension": dim,
            "model": f"min({HIGH}, sq_a{number:02d} + width)",
            "probabilities": dict(zip((str(c) for c in codes), pd_.tolist(), strict=True)),
            "expected_mean": e_d,
        }
        per_dim[dim]["adequate"].append(e_a)
        per_dim[dim]["desired"].append(e_d)
        if perceived is not None:
            per_dim[dim]["perceived"].append(float(perceived))
    columns.update(desired_cols)

    dimension_truth: dict[str, Any] = {}
    for dim in dims:
        a = float(np.mean(per_dim[dim]["adequate"]))
        d = float(np.mean(per_dim[dim]["desired"]))
        entry: dict[str, Any] = {"adequate": a, "desired": d, "tolerance": d - a}
        if len(per_dim[dim]["perceived"]) == len(per_dim[dim]["adequate"]):
            p = float(np.mean(per_dim[dim]["perceived"]))
            msa, mss = p - a, p - d
            entry.update(
                perceived=p,
                msa=msa,
                mss=mss,
                zone="below" if msa < 0 else ("above" if mss > 0 else "within"),
            )
        dimension_truth[dim] = entry

    gaps = ctx.truth.get("survey", {}).get("servqual", {}).get("dimension_mean_gap", {})
    truth: dict[str, Any] = {
        "table": TABLE,
        "n": n,
        "importance": {
            "columns": {d: f"{IMPORTANCE_PREFIX}{d}" for d in dims},
            "points": POINTS,
            "mean_share": dict(IMPORTANCE_SHARE),
            "mean_points": {d: POINTS * IMPORTANCE_SHARE[d] for d in dims},
            "concentration": IMPORTANCE_CONCENTRATION,
            "model": "shares ~ Dirichlet(concentration * mean_share); "
            "points ~ Multinomial(100, shares)",
        },
        "adequate": {
            "construct": "expectation",
            "loading": ADEQUATE_LOADING,
            "continuous_mean": dict(ADEQUATE),
            "sd": ADEQUATE_SD,
            "item_offsets": list(SQ_ITEM_OFFSETS),
            "model": "code = clip(round(mean + offset + sd * y), 1, 7), "
            "y = loading * Expectation + sqrt(1 - loading^2) * e",
        },
        "tolerance_width": {d: list(p) for d, p in TOLERANCE_WIDTH.items()},
        "items": items_truth,
        "dimension": dimension_truth,
    }
    if gaps:
        # Points are drawn independently of the answers, so the expected weighted score
        # is the share-weighted sum of the expected dimension gaps.
        truth["weighted_gap"] = float(sum(IMPORTANCE_SHARE[d] * float(gaps[d]) for d in dims))
        truth["unweighted_gap"] = float(np.mean([float(gaps[d]) for d in dims]))

    frame = pd.DataFrame(columns)
    frame["respondent_key"] = frame["respondent_key"].astype("str")
    frame["customer_id"] = frame["customer_id"].astype("str")
    return ModuleOutput(tables={TABLE: frame}, truth=truth)


MODULE = register(GeneratorModule(name="servqual_extra", requires=("customers", "survey"), run=run))
