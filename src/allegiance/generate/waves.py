"""Tracking waves, competitor ratings and the employee survey of the Huaxun demo company.

Two generator modules live here (each with its own random stream, so the
tables of the other modules stay identical):

``waves``
    - ``survey_waves``: the key measures of the tracking survey over four
      quarterly waves. The three earlier waves are drawn here (a simple random
      sample of the customers who had joined by the fieldwork month); the
      last wave is the main survey (``survey_responses``), copied. In the
      earlier waves perceived quality was lower by a TRUE shift (Huaxun's
      service-improvement programme raised it step by step), which passes
      through the ECSI paths to value, satisfaction, complaints and loyalty;
      the exact law of every answer in every wave is recorded in truth.
    - ``competitor_ratings``: respondents of the main wave also rate two
      fictional competitors, 联通通信 Liantong and 移动通信 Yidong, on the same
      calculation-standard factors (cs_*); each competitor differs from
      Huaxun by TRUE amounts per factor. A respondent's view of a competitor
      shares part of their own disposition (correlation ``RHO``), so the
      ratings are paired. The table also holds every respondent's rating of
      Huaxun itself (``competitor = "huaxun"``, copied from ``survey_responses``),
      so ``allegiance compare competitor_ratings --brand competitor --ours huaxun``
      works on it alone.
``employees``
    - ``branches``: four branches (营业部) per region, each with a TRUE
      service-climate score;
    - ``customer_branch``: the branch that serves each customer;
    - ``employee_survey``: one row per employee: job satisfaction and intent
      to stay (1-5), driven by the branch's climate.
    Customers of branches with a better climate are more satisfied: a
    customer with latent satisfaction s is served by branch b of their
    region with probability ∝ exp(``LINK`` · climate_b · s). The realised
    branch means and their correlation with the climate are in truth.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from allegiance.generate import latent, survey, vocab
from allegiance.generate.common import as_categorical, date32, keys, month_numbers
from allegiance.generate.latent import LatentModel, OrdinalItem
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register

__all__ = [
    "AWARENESS",
    "BRANCHES_PER_REGION",
    "COMPETITORS",
    "COMPETITOR_EFFECTS",
    "EMPLOYEES",
    "EMPLOYEE_ITEMS",
    "EMPLOYEE_MODULE",
    "KEY_MEASURES",
    "LINK",
    "MODULE",
    "OURS",
    "QUALITY_SHIFTS",
    "RHO",
    "WAVE_MODULE",
    "competitor_probs",
    "run_employees",
    "run_waves",
    "shifted_probs",
]

FloatArray = npt.NDArray[np.float64]

# ---- waves ---------------------------------------------------------------------------------
# (months before the main wave, shift of latent perceived quality in its standard deviations)
QUALITY_SHIFTS: tuple[tuple[int, float], ...] = ((-9, -0.60), (-6, -0.55), (-3, -0.25))
SHIFTED_CONSTRUCT = "quality"
KEY_MEASURES: tuple[str, ...] = ("nps", "csat", "ces", "repurchase", "recommend3")

# ---- competitors ---------------------------------------------------------------------------
COMPETITORS: tuple[str, ...] = ("liantong", "yidong")
OURS = "huaxun"
"""The own brand's value in ``competitor_ratings.competitor`` (its rows copy the main survey)."""
AWARENESS: dict[str, float] = {"liantong": 0.70, "yidong": 0.80}
RHO = 0.6  # correlation of a respondent's view of a competitor with their view of Huaxun
# Competitor minus Huaxun, in standard deviations of the continuous response, per factor.
COMPETITOR_EFFECTS: dict[str, dict[str, float]] = {
    "liantong": {
        "overall_image": -0.15,
        "credibility": 0.0,
        "brand_popularity": -0.30,
        "customer_care": 0.10,
        "service_attitude": 0.0,
        "service_procedures": 0.0,
        "service_use": 0.0,
        "reliability": -0.35,
        "security": 0.0,
        "transaction_speed": -0.20,
        "error_rate": 0.0,
        "profit_gained": 0.20,
        "cost_saved": 0.35,
        "other_benefit": 0.0,
    },
    "yidong": {
        "overall_image": 0.25,
        "credibility": 0.10,
        "brand_popularity": 0.45,
        "customer_care": -0.25,
        "service_attitude": -0.15,
        "service_procedures": 0.0,
        "service_use": 0.0,
        "reliability": 0.30,
        "security": 0.0,
        "transaction_speed": 0.0,
        "error_rate": 0.0,
        "profit_gained": 0.0,
        "cost_saved": -0.35,
        "other_benefit": 0.0,
    },
}

# ---- employees -----------------------------------------------------------------------------
BRANCHES_PER_REGION = 4
LINK = 0.4  # P(branch | satisfaction s) ∝ exp(LINK · climate · s)
EMPLOYEES: dict[str, int] = {"min": 15, "max": 60}  # employees surveyed per branch (uniform)
# employee answer: (loading on the branch climate, cutpoints of 1..5)
EMPLOYEE_ITEMS: dict[str, tuple[float, tuple[float, ...]]] = {
    "esat": (0.55, (-1.8, -1.0, -0.1, 1.0)),
    "stay_intention": (0.45, (-1.6, -0.8, 0.1, 1.1)),
}


def _cs_item(factor: str) -> OrdinalItem:
    driver, loading, offset = survey.CS_ITEMS[factor]
    return OrdinalItem(
        name=f"cs_{factor}",
        weights=((driver, loading),),
        cutpoints=survey.CS_CUTPOINTS,
        offset=offset,
    )


def _cs_factors() -> list[str]:
    return [f for factors in vocab.CS_FACTORS.values() for f in factors]


def _cell_probs(cut: FloatArray, means: FloatArray, sd: float, weights: FloatArray) -> FloatArray:
    """Mixture over groups of N(means_g, sd²) cut at ``cut``: the probability of each code."""
    upper = ndtr((cut[None, :] - means.reshape(-1, 1)) / sd)
    cdf = np.concatenate([np.zeros((upper.shape[0], 1)), upper, np.ones((upper.shape[0], 1))], 1)
    cell = np.diff(cdf, axis=1)
    return np.asarray(weights.reshape(-1) @ cell, dtype=np.float64)


def shifted_probs(item: OrdinalItem, shift: FloatArray, /, *, m: LatentModel) -> FloatArray:
    """Exact population probability of each code when every customer's latent scores move
    by ``shift`` (one value per construct), as :func:`latent.ordinal_probs` with no shift."""
    w = item.weight_vector(m)
    sd = float(np.sqrt(float(w @ m.cov_within @ w) + item.noise_sd(m) ** 2))
    means = item.offset + float(w @ m.spread) * m.group_shift() + float(w @ shift)
    return _cell_probs(np.asarray(item.cutpoints), means, sd, m.group_prob)


def competitor_probs(factor: str, competitor: str, /, *, m: LatentModel) -> FloatArray:
    """Exact population probability of each code 1..5 of a competitor's rating on ``factor``."""
    driver, loading, offset = survey.CS_ITEMS[factor]
    item = _cs_item(factor)
    d = m.index(driver)
    nu2 = item.noise_sd(m) ** 2
    var = loading**2 * (RHO**2 * float(m.cov_within[d, d]) + 1 - RHO**2) + nu2
    means = (
        offset
        + COMPETITOR_EFFECTS[competitor][factor]
        + loading * RHO * float(m.spread[d]) * m.group_shift()
    )
    return _cell_probs(np.asarray(survey.CS_CUTPOINTS), means, float(np.sqrt(var)), m.group_prob)


def _expected(probs: FloatArray, item: OrdinalItem) -> float:
    return float(probs @ item.levels)


def _nps(probs: FloatArray) -> float:
    return float(100.0 * (probs[9:].sum() - probs[:7].sum()))


def _latent_eta(sample: pd.DataFrame, m: LatentModel) -> FloatArray:
    return np.column_stack(
        [
            -sample["complaints_propensity"].to_numpy(dtype=np.float64)
            if c == "complaints"
            else sample[c].to_numpy(dtype=np.float64)
            for c in m.names
        ]
    )


def _corr(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r, or None when fewer than three branches have customers (tiny demos)."""
    if x.size < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _wave_labels(start: date, main: str) -> list[tuple[str, np.datetime64]]:
    """(label, fieldwork month) of each earlier wave, oldest first."""
    base = np.datetime64(start, "M")
    out: list[tuple[str, np.datetime64]] = []
    for months, _ in QUALITY_SHIFTS:
        month = base + months
        year = int(str(month)[:4])
        number = int(str(month)[5:7])
        label = survey.wave_label(year, (number - 1) // 3 + 1)
        if label == main or any(label == seen for seen, _ in out):
            label = f"{year}-{number:02d}"
        out.append((label, month))
    return out


def _wave_truth(shift: FloatArray, m: LatentModel, n: int, label: str) -> dict[str, Any]:
    info: dict[str, Any] = {"wave": label, "n": n}
    for name in KEY_MEASURES:
        item = survey.OTHER_ITEMS[name]
        probs = shifted_probs(item, shift, m=m)
        info[name] = {
            "probabilities": dict(zip((str(c) for c in item.levels), probs.tolist(), strict=True)),
            "expected_mean": _expected(probs, item),
        }
    info["nps"]["expected_nps"] = _nps(np.asarray(list(info["nps"]["probabilities"].values())))
    csat = np.asarray(list(info["csat"]["probabilities"].values()))
    info["csat"]["expected_top2_box"] = float(csat[3:].sum())
    info["cs"] = {
        f: _expected(shifted_probs(_cs_item(f), shift, m=m), _cs_item(f)) for f in _cs_factors()
    }
    return info


def run_waves(ctx: GenContext) -> ModuleOutput:
    """Draw the earlier tracking waves and the competitor ratings."""
    cfg = ctx.config
    rng = ctx.rng
    customers = ctx.tables["customers"]
    responses = ctx.tables["survey_responses"]
    m = latent.model()
    q = m.index(SHIFTED_CONSTRUCT)
    main_label = (
        str(responses["wave"].iloc[0]) if len(responses) else survey.wave_label(cfg.start.year)
    )
    # months from the start to each customer's joining month (arrow, no per-row Python)
    joined = month_numbers(customers["join_date"], start=cfg.start, missing=0)
    factors = _cs_factors()

    months_before = [months for months, _ in QUALITY_SHIFTS]
    frames: list[pd.DataFrame] = []
    waves_truth: list[dict[str, Any]] = []
    for index, ((label, month), (_, delta)) in enumerate(
        zip(_wave_labels(cfg.start, main_label), QUALITY_SHIFTS, strict=True)
    ):
        eligible = np.flatnonzero(joined < int(months_before[index]))
        n = min(cfg.survey_n, int(eligible.size))
        chosen = np.sort(rng.choice(eligible, size=n, replace=False))
        sample = customers.iloc[chosen]
        shift = delta * m.total[:, q]
        eta = _latent_eta(sample, m) + shift[None, :]
        columns: dict[str, Any] = {
            "respondent_key": keys(f"{label}-R", n, width=6).to_numpy(),
            "customer_id": sample["customer_id"].to_numpy(),
            "wave": np.full(n, label, dtype=object),
            "wave_index": np.full(n, index, dtype=np.int8),
            "fieldwork_month": date32(np.full(n, month).astype("datetime64[D]")),
        }
        for name in KEY_MEASURES:
            columns[name] = latent.ordinal_codes(survey.OTHER_ITEMS[name], eta, rng, m=m)
        for factor in factors:
            columns[f"cs_{factor}"] = survey.ordinal_codes_masked(_cs_item(factor), eta, rng, m=m)
        frames.append(pd.DataFrame(columns))
        info = _wave_truth(shift, m, n, label)
        info.update(
            wave_index=index,
            fieldwork_month=str(month),
            quality_shift=delta,
            construct_shift={
                latent.ECSI_NAMES[c]: float(v) for c, v in zip(m.names, shift, strict=True)
            },
            satisfaction_shift=float(shift[m.index("satisfaction")]),
        )
        waves_truth.append(info)

    main_index = len(QUALITY_SHIFTS)
    n_main = len(responses)
    main = pd.DataFrame(
        {
            "respondent_key": responses["respondent_key"].to_numpy(),
            "customer_id": responses["customer_id"].to_numpy(),
            "wave": responses["wave"].astype(object).to_numpy(),
            "wave_index": np.full(n_main, main_index, dtype=np.int8),
            "fieldwork_month": date32(
                np.full(n_main, np.datetime64(cfg.start, "M")).astype("datetime64[D]")
            ),
            **{name: responses[name].to_numpy() for name in KEY_MEASURES},
            **{f"cs_{f}": responses[f"cs_{f}"].array for f in factors},
        }
    )
    frames.append(main)
    zero = np.zeros(len(m.names))
    main_truth = _wave_truth(zero, m, n_main, main_label)
    main_truth.update(
        wave_index=main_index,
        fieldwork_month=str(np.datetime64(cfg.start, "M")),
        quality_shift=0.0,
        construct_shift={latent.ECSI_NAMES[c]: 0.0 for c in m.names},
        satisfaction_shift=0.0,
        source="survey_responses (the main wave, copied)",
    )
    waves_truth.append(main_truth)
    waves = pd.concat(frames, ignore_index=True)
    for column in ("respondent_key", "customer_id", "wave"):
        waves[column] = waves[column].astype("str")
    for name in KEY_MEASURES:
        waves[name] = waves[name].astype(np.int8)

    changes = []
    for before, after in itertools.pairwise(waves_truth):
        changes.append(
            {
                "from_wave": before["wave"],
                "to_wave": after["wave"],
                "nps": after["nps"]["expected_nps"] - before["nps"]["expected_nps"],
                "csat_mean": after["csat"]["expected_mean"] - before["csat"]["expected_mean"],
                "csat_top2_box": after["csat"]["expected_top2_box"]
                - before["csat"]["expected_top2_box"],
                "satisfaction_shift": after["satisfaction_shift"] - before["satisfaction_shift"],
            }
        )

    ratings, comp_truth = _competitors(rng, customers, responses, m)
    truth: dict[str, Any] = {
        "model": "earlier waves: latent scores + shift · (total effects of perceived quality); "
        "answers drawn with the survey module's items",
        "shifted_construct": latent.ECSI_NAMES[SHIFTED_CONSTRUCT],
        "sampling": "simple random sample without replacement of customers who joined before "
        "the fieldwork month; samples of different waves are independent",
        "order": [w["wave"] for w in waves_truth],
        "waves": waves_truth,
        "changes": changes,
        "competitors": comp_truth,
    }
    return ModuleOutput(tables={"survey_waves": waves, "competitor_ratings": ratings}, truth=truth)


def _positions(ids: pd.Series, wanted: pd.Series) -> npt.NDArray[np.int64]:
    """Row of each ``wanted`` customer id in ``ids``.

    Customer ids are ``C`` + the running row number (``customers`` module), so the
    position is read off the id and checked; anything else falls back to a lookup.
    """
    digits = pd.to_numeric(wanted.str.slice(1), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    ok = np.isfinite(digits) & (digits >= 1) & (digits <= len(ids))
    if ok.all():
        position = digits.astype(np.int64) - 1
        if (ids.iloc[position].to_numpy() == wanted.to_numpy()).all():
            return position
    return np.asarray(pd.Index(ids).get_indexer(wanted), dtype=np.int64)


def _competitors(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    responses: pd.DataFrame,
    m: LatentModel,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    factors = _cs_factors()
    position = _positions(customers["customer_id"], responses["customer_id"])
    eta = _latent_eta(customers.iloc[position], m)
    n = len(responses)
    frames = []
    truth: dict[str, Any] = {
        "model": "y = offset + effect + loading·(rho·eta_driver + sqrt(1 - rho²)·zeta) + noise; "
        "zeta is the respondent's own view of the competitor (one per driving construct)",
        "rho": RHO,
        "awareness": dict(AWARENESS),
        "missing_rate": survey.CS_MISSING,
        "names": {
            "liantong": {"zh": "联通通信", "en": "Liantong Telecom"},
            "yidong": {"zh": "移动通信", "en": "Yidong Mobile"},
        },
        "effects": {c: dict(v) for c, v in COMPETITOR_EFFECTS.items()},
        "factors": {},
    }
    drivers = sorted({survey.CS_ITEMS[f][0] for f in factors})
    for c_index, competitor in enumerate(COMPETITORS):
        rated = np.flatnonzero(rng.random(n) < AWARENESS[competitor])
        k = rated.size
        zeta = {d: rng.standard_normal(k) for d in drivers}
        columns: dict[str, Any] = {
            "respondent_key": responses["respondent_key"].to_numpy()[rated],
            "customer_id": responses["customer_id"].to_numpy()[rated],
            "competitor": as_categorical(np.full(k, c_index, dtype=np.int64), COMPETITORS),
        }
        for factor in factors:
            driver, loading, offset = survey.CS_ITEMS[factor]
            item = _cs_item(factor)
            view = RHO * eta[rated, m.index(driver)] + np.sqrt(1 - RHO**2) * zeta[driver]
            y = (
                offset
                + COMPETITOR_EFFECTS[competitor][factor]
                + loading * view
                + item.noise_sd(m) * rng.standard_normal(k)
            )
            codes = (1 + np.searchsorted(np.asarray(survey.CS_CUTPOINTS), y)).astype(np.int8)
            missing = rng.random(k) < survey.CS_MISSING
            columns[f"cs_{factor}"] = pd.arrays.IntegerArray(codes, missing)
        frames.append(pd.DataFrame(columns))
    for factor in factors:
        ours_item = _cs_item(factor)
        ours = latent.expected_code(ours_item, m=m)
        entry: dict[str, Any] = {"huaxun_expected_mean": ours}
        for competitor in COMPETITORS:
            theirs = _expected(competitor_probs(factor, competitor, m=m), ours_item)
            entry[competitor] = {
                "expected_mean": theirs,
                "expected_difference_ours_minus_theirs": ours - theirs,
                "effect": COMPETITOR_EFFECTS[competitor][factor],
            }
        truth["factors"][factor] = entry
    own = {
        "respondent_key": responses["respondent_key"].to_numpy(),
        "customer_id": responses["customer_id"].to_numpy(),
        "competitor": np.full(n, OURS, dtype=object),
    }
    own.update({f"cs_{f}": responses[f"cs_{f}"].to_numpy() for f in factors})
    for frame in frames:
        frame["competitor"] = frame["competitor"].astype(object)
    ratings = pd.concat([pd.DataFrame(own), *frames], ignore_index=True)
    ratings["competitor"] = pd.Categorical(ratings["competitor"], categories=[OURS, *COMPETITORS])
    for f in factors:
        ratings[f"cs_{f}"] = ratings[f"cs_{f}"].astype("Int8")
    ratings["respondent_key"] = ratings["respondent_key"].astype("str")
    ratings["customer_id"] = ratings["customer_id"].astype("str")
    truth["own_rows"] = (
        f"rows with competitor = {OURS!r} are the respondents' ratings of Huaxun itself, "
        "copied from survey_responses (every main-wave respondent)"
    )
    return ratings, truth


# --------------------------------------------------------------------------------------------
# Employees
# --------------------------------------------------------------------------------------------


def _employee_probs(loading: float, cut: tuple[float, ...], climate: float) -> FloatArray:
    sd = float(np.sqrt(1 - loading**2))
    return _cell_probs(np.asarray(cut), np.asarray([loading * climate]), sd, np.asarray([1.0]))


def run_employees(ctx: GenContext) -> ModuleOutput:
    """Branches, the branch of every customer, and the employee survey."""
    rng = ctx.rng
    customers = ctx.tables["customers"]
    m = latent.model()
    regions = vocab.REGIONS
    k = BRANCHES_PER_REGION
    branch_ids = [f"{r}-{i}" for r in regions for i in range(1, k + 1)]
    climate = rng.standard_normal(len(branch_ids))

    region = customers["region"].cat.codes.to_numpy().astype(np.int64)
    sat = customers["satisfaction"].to_numpy(dtype=np.float64)
    n = len(customers)
    gumbel = rng.gumbel(size=(n, k))
    local = climate.reshape(len(regions), k)[region]  # (n, k): climate of the region's branches
    pick = np.argmax(LINK * local * sat[:, None] + gumbel, axis=1)
    branch_code = region * k + pick
    customer_branch = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "branch_id": as_categorical(branch_code, branch_ids),
        }
    )
    served = np.bincount(branch_code, minlength=len(branch_ids))
    sat_sum = np.bincount(branch_code, weights=sat, minlength=len(branch_ids))
    with np.errstate(divide="ignore", invalid="ignore"):
        branch_sat = np.where(served > 0, sat_sum / np.maximum(served, 1), np.nan)

    sizes = rng.integers(EMPLOYEES["min"], EMPLOYEES["max"] + 1, size=len(branch_ids))
    owner = np.repeat(np.arange(len(branch_ids)), sizes)
    total = int(sizes.sum())
    columns: dict[str, Any] = {
        "employee_key": keys("E", total, width=5).to_numpy(),
        "branch_id": as_categorical(owner, branch_ids),
    }
    item_truth: dict[str, Any] = {}
    for name, (loading, cut) in EMPLOYEE_ITEMS.items():
        y = loading * climate[owner] + np.sqrt(1 - loading**2) * rng.standard_normal(total)
        columns[name] = (1 + np.searchsorted(np.asarray(cut), y)).astype(np.int8)
        expected = [
            float(_employee_probs(loading, cut, float(c)) @ np.arange(1, 6)) for c in climate
        ]
        item_truth[name] = {
            "loading": loading,
            "cutpoints": list(cut),
            "expected_mean_by_branch": dict(zip(branch_ids, expected, strict=True)),
        }
    employees = pd.DataFrame(columns)
    employees["employee_key"] = employees["employee_key"].astype("str")

    branches = pd.DataFrame(
        {
            "branch_id": pd.Series(branch_ids, dtype="str"),
            "region": as_categorical(np.repeat(np.arange(len(regions)), k), regions),
            "n_employees": sizes.astype(np.int16),
        }
    )
    ok = np.isfinite(branch_sat)
    expected_esat = np.asarray(list(item_truth["esat"]["expected_mean_by_branch"].values()))
    truth: dict[str, Any] = {
        "model": "P(branch b of the customer's region | latent satisfaction s) "
        "∝ exp(link · climate_b · s); employee answer y = loading·climate_b + "
        "sqrt(1 - loading²)·e cut into 1..5",
        "link": LINK,
        "branches_per_region": k,
        "employees_per_branch": dict(EMPLOYEES),
        "climate": dict(zip(branch_ids, climate.tolist(), strict=True)),
        "customers_by_branch": dict(zip(branch_ids, served.tolist(), strict=True)),
        "mean_latent_satisfaction_by_branch": dict(
            zip(branch_ids, [float(v) for v in branch_sat], strict=True)
        ),
        "correlation_climate_vs_branch_satisfaction": _corr(climate[ok], branch_sat[ok]),
        "correlation_expected_esat_vs_branch_satisfaction": _corr(
            expected_esat[ok], branch_sat[ok]
        ),
        "items": item_truth,
        "note": "m is the ECSI model of the customers module; satisfaction is its latent score",
        "constructs": list(m.names),
    }
    return ModuleOutput(
        tables={
            "branches": branches,
            "customer_branch": customer_branch,
            "employee_survey": employees,
        },
        truth=truth,
    )


WAVE_MODULE = register(
    GeneratorModule(name="waves", requires=("customers", "survey"), run=run_waves)
)
EMPLOYEE_MODULE = register(
    GeneratorModule(name="employees", requires=("customers",), run=run_employees)
)
MODULE = WAVE_MODULE
