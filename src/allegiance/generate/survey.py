"""The ``survey`` module: one wave of the Huaxun customer survey (``survey_responses``).

Respondents are a simple random sample (without replacement) of all customers,
surveyed in the first month of the period, when every customer is still active.
Their answers are driven by their true latent scores (see ``latent.py``); the
exact population law of every answer is recorded in truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.generate import latent, vocab
from allegiance.generate.common import as_categorical, draw, keys, timestamps
from allegiance.generate.latent import OrdinalItem, rounding_cutpoints
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register
from allegiance.i18n import t

__all__ = [
    "CS_CUTPOINTS",
    "CS_ITEMS",
    "ECSI_MEASUREMENT",
    "KANO_CELLS",
    "KANO_DISTRIBUTION",
    "KANO_TABLE",
    "MODULE",
    "OTHER_ITEMS",
    "REASON_PRIMARY",
    "REASON_SECONDARY",
    "SERVQUAL",
    "kano_category",
    "run",
    "wave_label",
]

# ---- calculation-standard factors (SPEC section 4), five levels: 5 very satisfied ... 1 --------
CS_CUTPOINTS: tuple[float, ...] = (-2.0, -1.2, -0.2, 1.0)
# factor: (driving construct, loading, offset)
CS_ITEMS: dict[str, tuple[str, float, float]] = {
    "overall_image": ("image", 0.75, 0.20),
    "credibility": ("image", 0.70, 0.10),
    "brand_popularity": ("image", 0.65, 0.35),
    "customer_care": ("quality", 0.65, -0.10),
    "service_attitude": ("quality", 0.70, 0.0),
    "service_procedures": ("quality", 0.65, -0.25),
    "service_use": ("satisfaction", 0.80, 0.0),
    "reliability": ("quality", 0.75, 0.05),
    "security": ("quality", 0.60, 0.20),
    "transaction_speed": ("quality", 0.70, -0.15),
    "error_rate": ("quality", 0.65, -0.05),
    "profit_gained": ("value", 0.70, -0.30),
    "cost_saved": ("value", 0.75, -0.20),
    "other_benefit": ("value", 0.60, -0.10),
}
CS_MISSING = 0.02  # each factor answer is missing completely at random with this probability

# ---- the 24 ECSI items on 1..10: loading, and mean / sd of the continuous response ----------
# Loadings and marginal means/sds chosen near the mobi data (Tenenhaus et al. 2005);
# CUSL2 is deliberately weak, as in mobi. CUSCO measures ECSI Complaints (high = well handled).
ECSI_MEASUREMENT: dict[str, tuple[float, float, float]] = {
    "IMAG1": (0.75, 7.6, 1.7),
    "IMAG2": (0.60, 7.8, 1.7),
    "IMAG3": (0.58, 6.7, 2.1),
    "IMAG4": (0.77, 7.6, 1.8),
    "IMAG5": (0.74, 7.9, 1.6),
    "CUEX1": (0.77, 7.6, 1.6),
    "CUEX2": (0.69, 7.5, 1.8),
    "CUEX3": (0.61, 7.4, 2.1),
    "PERQ1": (0.80, 7.9, 1.4),
    "PERQ2": (0.64, 7.2, 1.9),
    "PERQ3": (0.78, 7.7, 1.8),
    "PERQ4": (0.77, 7.9, 1.7),
    "PERQ5": (0.76, 7.9, 1.5),
    "PERQ6": (0.78, 7.8, 1.6),
    "PERQ7": (0.78, 7.6, 1.8),
    "PERV1": (0.90, 6.2, 2.2),
    "PERV2": (0.94, 6.9, 1.8),
    "CUSA1": (0.79, 8.0, 1.2),
    "CUSA2": (0.85, 7.1, 1.8),
    "CUSA3": (0.86, 7.3, 1.8),
    "CUSCO": (0.90, 7.1, 2.3),
    "CUSL1": (0.82, 7.5, 2.7),
    "CUSL2": (0.20, 5.0, 2.8),
    "CUSL3": (0.92, 7.7, 2.2),
}

# ---- overall measures --------------------------------------------------------------------
OTHER_ITEMS: dict[str, OrdinalItem] = {
    "nps": OrdinalItem(
        name="nps",
        weights=(("loyalty", 0.55), ("satisfaction", 0.30)),
        cutpoints=(-2.6, -2.2, -1.9, -1.6, -1.3, -0.9, -0.4, 0.15, 0.58, 1.2),
        first=0,
    ),
    "csat": OrdinalItem(
        name="csat", weights=(("satisfaction", 0.85),), cutpoints=(-1.9, -1.1, -0.2, 1.0)
    ),
    # CES 2.0 style: "Huaxun made it easy to get things done", 1 strongly disagree .. 7 agree.
    "ces": OrdinalItem(
        name="ces",
        weights=(("quality", 0.45), ("satisfaction", 0.25)),
        cutpoints=(-2.0, -1.4, -0.8, -0.2, 0.5, 1.2),
    ),
    # 3 = more than 70 %, 2 = 30-70 %, 1 = below 30 %
    "repurchase": OrdinalItem(
        name="repurchase", weights=(("loyalty", 0.80),), cutpoints=(-1.2, -0.1)
    ),
    # 3 = very likely, 2 = possible, 1 = not at all
    "recommend3": OrdinalItem(
        name="recommend3",
        weights=(("loyalty", 0.60), ("satisfaction", 0.25)),
        cutpoints=(-1.2, 0.4),
    ),
}

# ---- Kano ----------------------------------------------------------------------------------
# Answers: 1 like, 2 must-be, 3 neutral, 4 live-with, 5 dislike. The evaluation table of
# Berger et al. (1993), rows = functional answer, columns = dysfunctional answer.
KANO_TABLE: tuple[tuple[str, ...], ...] = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)
KANO_CATEGORIES: tuple[str, ...] = ("A", "O", "M", "I", "R", "Q")
# Which (functional, dysfunctional) answer pair a respondent of each category gives.
KANO_CELLS: dict[str, dict[tuple[int, int], float]] = {
    "A": {(1, 2): 0.15, (1, 3): 0.55, (1, 4): 0.30},
    "O": {(1, 5): 1.0},
    "M": {(2, 5): 0.25, (3, 5): 0.45, (4, 5): 0.30},
    "I": {
        (3, 3): 0.40,
        (3, 4): 0.15,
        (4, 3): 0.10,
        (2, 3): 0.10,
        (3, 2): 0.05,
        (4, 4): 0.10,
        (2, 2): 0.03,
        (2, 4): 0.04,
        (4, 2): 0.03,
    },
    "R": {(5, 1): 0.40, (5, 3): 0.20, (3, 1): 0.20, (4, 1): 0.10, (5, 2): 0.05, (2, 1): 0.05},
    "Q": {(1, 1): 0.5, (5, 5): 0.5},
}
# Population share of each category per feature (A, O, M, I, R, Q); the largest is the truth.
KANO_DISTRIBUTION: dict[str, tuple[float, ...]] = {
    "coverage_5g": (0.05, 0.25, 0.50, 0.15, 0.02, 0.03),
    "bill_explain": (0.45, 0.15, 0.05, 0.30, 0.02, 0.03),
    "free_roaming": (0.25, 0.45, 0.10, 0.15, 0.02, 0.03),
    "family_sharing": (0.20, 0.40, 0.10, 0.25, 0.02, 0.03),
    "app_self_service": (0.10, 0.20, 0.45, 0.20, 0.02, 0.03),
    "priority_hotline": (0.15, 0.10, 0.15, 0.50, 0.05, 0.05),
    "data_rollover": (0.50, 0.20, 0.05, 0.20, 0.02, 0.03),
    "smart_home_bundle": (0.25, 0.05, 0.05, 0.55, 0.07, 0.03),
}

# ---- SERVQUAL (Parasuraman et al. 1988): 22 items, expectation and perception on 1..7 ---------
# dimension: (mean expectation, gap perception - expectation) of the continuous responses
SERVQUAL: dict[str, tuple[float, float]] = {
    "tangibles": (5.6, -0.3),
    "reliability": (6.3, -1.1),
    "responsiveness": (6.0, -0.9),
    "assurance": (6.1, -0.5),
    "empathy": (5.7, -0.7),
}
SQ_ITEM_OFFSETS: tuple[float, ...] = (0.10, -0.10, 0.0, 0.15, -0.15)  # cycled over items
SQ_SD = {"e": 1.1, "p": 1.2}
SQ_LOADING = {"e": ("expectation", 0.60), "p": ("quality", 0.70)}

# ---- dissatisfaction reasons (asked when csat <= 3) -----------------------------------------
REASON_PRIMARY: dict[str, float] = {
    "network_quality": 0.28,
    "billing": 0.15,
    "price": 0.22,
    "service_attitude": 0.12,
    "waiting_time": 0.11,
    "app_issues": 0.08,
    "other": 0.04,
}
REASON_SECONDARY: dict[str, float] = {
    "network_quality": 0.15,
    "billing": 0.12,
    "price": 0.15,
    "service_attitude": 0.08,
    "waiting_time": 0.10,
    "app_issues": 0.08,
    "other": 0.0,
}
REASONS_ASKED_BELOW = 3  # reasons are asked when csat <= this

# ---- free-text comments ---------------------------------------------------------------------
COMMENT_RATE: dict[int, float] = {1: 0.80, 2: 0.75, 3: 0.55, 4: 0.45, 5: 0.50}
PRAISE_RATE = 0.7  # satisfied commenters (csat >= 4) who also praise something
CLOSE_RATE = 0.4  # commenters who add a closing sentence


def wave_label(config_year: int, number: int = 1, /) -> str:
    """The wave code, e.g. ``2024-W1``."""
    return f"{config_year}-W{number}"


def kano_category(functional: npt.ArrayLike, dysfunctional: npt.ArrayLike, /) -> np.ndarray:
    """The Kano category (A, O, M, I, R, Q) of answer pairs, by the evaluation table."""
    table = np.array(KANO_TABLE)
    f = np.asarray(functional, dtype=np.int64) - 1
    d = np.asarray(dysfunctional, dtype=np.int64) - 1
    return np.asarray(table[f, d])


def _cs_item(factor: str) -> OrdinalItem:
    driver, loading, offset = CS_ITEMS[factor]
    return OrdinalItem(
        name=f"cs_{factor}", weights=((driver, loading),), cutpoints=CS_CUTPOINTS, offset=offset
    )


def _ecsi_item(item: str) -> OrdinalItem:
    loading, mean, sd = ECSI_MEASUREMENT[item]
    return OrdinalItem(
        name=item,
        weights=((vocab.ECSI_ITEMS[item], loading),),
        cutpoints=rounding_cutpoints(mean=mean, sd=sd, low=1, high=10),
    )


def _sq_items() -> list[tuple[str, str, str, OrdinalItem]]:
    """(column, side, dimension, item) for the 44 SERVQUAL answers."""
    out = []
    for side in ("e", "p"):
        construct, loading = SQ_LOADING[side]
        for number, dim in enumerate(vocab.SERVQUAL_ITEM_DIMENSION, start=1):
            expect, gap = SERVQUAL[dim]
            mean = expect + SQ_ITEM_OFFSETS[(number - 1) % len(SQ_ITEM_OFFSETS)]
            if side == "p":
                mean += gap
            column = f"sq_{side}{number:02d}"
            cut = rounding_cutpoints(mean=mean, sd=SQ_SD[side], low=1, high=7)
            item = OrdinalItem(name=column, weights=((construct, loading),), cutpoints=cut)
            out.append((column, side, dim, item))
    return out


def _ordinal_truth(item: OrdinalItem, m: latent.LatentModel) -> dict[str, Any]:
    probs = latent.ordinal_probs(item, m=m)
    return {
        **item.to_dict(),
        "noise_sd": item.noise_sd(m),
        "probabilities": dict(zip((str(c) for c in item.levels), probs.tolist(), strict=True)),
        "expected_mean": float(probs @ item.levels),
    }


def _nps_shares(item: OrdinalItem, m: latent.LatentModel, segment: str | None) -> dict[str, float]:
    probs = latent.ordinal_probs(item, m=m, segment=segment)  # codes 0..10
    promoters = float(probs[9:].sum())
    detractors = float(probs[:7].sum())
    return {
        "promoters": promoters,
        "passives": float(probs[7:9].sum()),
        "detractors": detractors,
        "nps": 100.0 * (promoters - detractors),
    }


def _reasons(
    rng: np.random.Generator, n: int
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.object_]]:
    """Primary reason codes and the ';'-joined reason lists of ``n`` dissatisfied respondents."""
    primary = draw(rng, list(REASON_PRIMARY.values()), n)
    extra = rng.random((n, len(vocab.REASONS))) < np.array(
        [REASON_SECONDARY[r] for r in vocab.REASONS]
    )
    joined = np.array(vocab.REASONS, dtype=object)[primary]
    for k, code in enumerate(vocab.REASONS):  # a loop over reasons, not respondents
        add = extra[:, k] & (primary != k)
        joined[add] = joined[add] + (";" + code)
    return primary, joined


def _comments(
    rng: np.random.Generator,
    *,
    csat: npt.NDArray[np.int8],
    lang: npt.NDArray[np.int8],
    product: npt.NDArray[np.int64],
    primary: npt.NDArray[np.int64],
) -> npt.NDArray[np.object_]:
    """Free-text comments built from templates that match satisfaction and reasons.

    ``primary`` is the primary reason code, -1 for respondents not asked.
    """
    n = int(csat.shape[0])
    level = csat.astype(np.int64)
    writes = rng.random(size=n) < np.array([COMMENT_RATE[k] for k in range(1, 6)])[level - 1]
    opening_variant = rng.integers(0, 3, size=n)
    reason_variant = rng.integers(0, 2, size=n)
    praise_variant = rng.integers(0, 3, size=n)
    close_variant = rng.integers(0, 3, size=n)
    praises = (rng.random(size=n) < PRAISE_RATE) & (level >= 4)
    closes = rng.random(size=n) < CLOSE_RATE
    out = np.full(n, None, dtype=object)
    for code, lang_name in enumerate(vocab.LANGS):  # zh, en
        rows = np.flatnonzero(writes & (lang == code))
        if rows.size == 0:
            continue
        sep = "" if lang_name == "zh" else " "
        openings = np.array(
            [
                [t(f"generate.comment.open.c{c}.{v}", lang_name) for v in (1, 2, 3)]
                for c in (1, 2, 3, 4, 5)
            ],
            dtype=object,
        )
        text = openings[level[rows] - 1, opening_variant[rows]]
        reason_keys = [f"generate.comment.reason.{r}.{v}" for r in vocab.REASONS for v in (1, 2)]
        reason_table = vocab.filled_templates(reason_keys, lang_name)
        has_reason = primary[rows] >= 0
        pick = primary[rows] * 2 + reason_variant[rows]
        sentence = reason_table[np.where(has_reason, pick, 0), product[rows]]
        text = np.where(has_reason, text + sep + sentence, text)
        praise_table = vocab.filled_templates(
            [f"generate.comment.praise.{v}" for v in (1, 2, 3)], lang_name
        )
        sentence = praise_table[praise_variant[rows], product[rows]]
        text = np.where(praises[rows], text + sep + sentence, text)
        closing = np.array(
            [t(f"generate.comment.close.{v}", lang_name) for v in (1, 2, 3)], dtype=object
        )
        text = np.where(closes[rows], text + sep + closing[close_variant[rows]], text)
        out[rows] = text
    return out


def _kano(
    rng: np.random.Generator, n: int
) -> tuple[dict[str, npt.NDArray[np.int8]], dict[str, Any]]:
    columns: dict[str, npt.NDArray[np.int8]] = {}
    truth: dict[str, Any] = {}
    for feature in vocab.KANO_FEATURES:  # a loop over features, not respondents
        dist = KANO_DISTRIBUTION[feature]
        category = draw(rng, dist, n)
        func = np.zeros(n, dtype=np.int8)
        dysf = np.zeros(n, dtype=np.int8)
        for c, name in enumerate(KANO_CATEGORIES):
            rows = np.flatnonzero(category == c)
            cells = list(KANO_CELLS[name])
            pick = draw(rng, list(KANO_CELLS[name].values()), rows.size)
            pairs = np.array(cells, dtype=np.int8)[pick]
            func[rows] = pairs[:, 0]
            dysf[rows] = pairs[:, 1]
        columns[f"kano_{feature}_func"] = func
        columns[f"kano_{feature}_dysf"] = dysf
        truth[feature] = {
            "category": KANO_CATEGORIES[int(np.argmax(dist))],
            "distribution": dict(zip(KANO_CATEGORIES, dist, strict=True)),
        }
    return columns, truth


def run(ctx: GenContext) -> ModuleOutput:
    """Draw one survey wave from the customers' latent scores."""
    cfg = ctx.config
    rng = ctx.rng
    customers = ctx.tables["customers"]
    m = latent.model()
    n = cfg.survey_n

    chosen = np.sort(rng.choice(len(customers), size=n, replace=False))
    sample = customers.iloc[chosen]
    eta = np.column_stack(
        [
            -sample["complaints_propensity"].to_numpy(dtype=np.float64)
            if c == "complaints"
            else sample[c].to_numpy(dtype=np.float64)
            for c in m.names
        ]
    )
    month = np.datetime64(cfg.start, "M")
    submitted = timestamps(rng, np.full(n, month))
    order = np.argsort(submitted, kind="stable")
    sample = sample.iloc[order]
    eta = eta[order]
    submitted = submitted[order]
    lang = sample["lang"].cat.codes.to_numpy().astype(np.int8)
    product = sample["main_product"].cat.codes.to_numpy().astype(np.int64)
    wave = wave_label(cfg.start.year)

    columns: dict[str, Any] = {
        "respondent_key": keys(f"{wave}-R", n, width=6).to_numpy(),
        "customer_id": sample["customer_id"].to_numpy(),
        "wave": np.full(n, wave, dtype=object),
        "submitted_at": submitted,
        "lang": as_categorical(lang, vocab.LANGS),
    }
    truth: dict[str, Any] = {
        "wave": wave,
        "fieldwork_month": str(month),
        "sampling": "simple random sample without replacement of all customers",
        "n": n,
    }

    cs_truth: dict[str, Any] = {}
    for criterion, factors in vocab.CS_FACTORS.items():
        for factor in factors:
            item = _cs_item(factor)
            codes = ordinal_codes_masked(item, eta, rng, m=m)
            columns[item.name] = codes
            info = _ordinal_truth(item, m)
            info.update(
                criterion=criterion,
                construct=CS_ITEMS[factor][0],
                dc_with_scores_5_to_1=info["expected_mean"] / 5.0,
            )
            cs_truth[factor] = info
    truth["cs"] = {"missing_rate": CS_MISSING, "factors": cs_truth}

    ecsi_truth: dict[str, Any] = {}
    for name in vocab.ECSI_ITEMS:
        item = _ecsi_item(name)
        columns[name] = latent.ordinal_codes(item, eta, rng, m=m)
        loading, mean, sd = ECSI_MEASUREMENT[name]
        info = _ordinal_truth(item, m)
        info.update(
            construct=latent.ECSI_NAMES[vocab.ECSI_ITEMS[name]],
            loading=loading,
            response_mean=mean,
            response_sd=sd,
        )
        ecsi_truth[name] = info
    truth["ecsi"] = {
        "model": "code = clip(round(response_mean + response_sd * y), 1, 10), "
        "y = loading * construct + sqrt(1 - loading^2) * e",
        "items": ecsi_truth,
    }

    for name, item in OTHER_ITEMS.items():
        columns[name] = latent.ordinal_codes(item, eta, rng, m=m)
        truth[name] = _ordinal_truth(item, m)
    truth["nps"]["shares"] = {
        "all": _nps_shares(OTHER_ITEMS["nps"], m, None),
        **{s: _nps_shares(OTHER_ITEMS["nps"], m, s) for s in vocab.SEGMENTS},
    }

    kano_columns, kano_truth = _kano(rng, n)
    columns.update(kano_columns)
    truth["kano"] = {
        "answers": {"1": "like", "2": "must-be", "3": "neutral", "4": "live-with", "5": "dislike"},
        "evaluation_table": [list(row) for row in KANO_TABLE],
        "cells": {k: {f"{f},{d}": p for (f, d), p in v.items()} for k, v in KANO_CELLS.items()},
        "features": kano_truth,
    }

    sq_truth: dict[str, Any] = {}
    expected: dict[tuple[str, str], list[float]] = {}
    for column, side, dim, item in _sq_items():
        columns[column] = latent.ordinal_codes(item, eta, rng, m=m)
        info = _ordinal_truth(item, m)
        info["dimension"] = dim
        sq_truth[column] = info
        expected.setdefault((side, dim), []).append(info["expected_mean"])
    truth["servqual"] = {
        "items": sq_truth,
        "continuous": {d: {"expectation": e, "gap": g} for d, (e, g) in SERVQUAL.items()},
        "dimension_mean_gap": {
            d: float(np.mean(expected[("p", d)]) - np.mean(expected[("e", d)]))
            for d in vocab.SERVQUAL_DIMENSIONS
        },
    }

    csat = columns["csat"]
    asked = np.flatnonzero(csat <= REASONS_ASKED_BELOW)
    primary_codes, joined = _reasons(rng, asked.size)
    reasons = np.full(n, None, dtype=object)
    reasons[asked] = joined
    primary = np.full(n, -1, dtype=np.int64)
    primary[asked] = primary_codes
    columns["reasons"] = pd.array(reasons, dtype="str")
    share_citing = {
        r: REASON_PRIMARY[r] + (1 - REASON_PRIMARY[r]) * REASON_SECONDARY[r] for r in vocab.REASONS
    }
    csat_probs = latent.ordinal_probs(OTHER_ITEMS["csat"], m=m)
    truth["reasons"] = {
        "asked_when": f"csat <= {REASONS_ASKED_BELOW}",
        "share_asked": float(csat_probs[:REASONS_ASKED_BELOW].sum()),
        "primary": dict(REASON_PRIMARY),
        "secondary": dict(REASON_SECONDARY),
        "share_citing": share_citing,
    }
    comments = _comments(rng, csat=csat, lang=lang, product=product, primary=primary)
    columns["comment"] = pd.array(comments, dtype="str")
    truth["comments"] = {
        "rate_by_csat": {str(k): v for k, v in COMMENT_RATE.items()},
        "praise_rate": PRAISE_RATE,
        "close_rate": CLOSE_RATE,
    }

    frame = pd.DataFrame(columns)
    frame["wave"] = frame["wave"].astype("str")
    frame["respondent_key"] = frame["respondent_key"].astype("str")
    frame["customer_id"] = frame["customer_id"].astype("str")
    return ModuleOutput(tables={"survey_responses": frame}, truth=truth)


def ordinal_codes_masked(
    item: OrdinalItem,
    eta: npt.NDArray[np.float64],
    rng: np.random.Generator,
    /,
    *,
    m: latent.LatentModel,
) -> pd.api.extensions.ExtensionArray:
    """Answers with a few missing completely at random (nullable Int8)."""
    codes = latent.ordinal_codes(item, eta, rng, m=m)
    missing = rng.random(size=int(codes.shape[0])) < CS_MISSING
    return pd.arrays.IntegerArray(codes, missing)


MODULE = register(GeneratorModule(name="survey", requires=("customers",), run=run))
