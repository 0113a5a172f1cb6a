"""The ``audits`` module: service compliance audits of the branches and a service process.

Two tables for the service-quality work of SPEC sections 3 (method 1) and 6
(docs/demo-company-audits.md):

- ``audit_visits``: mystery-shopper (神秘顾客暗访) and on-site supervision (明查) visits to
  every branch of the ``employees`` module, scored on the shipped ``telecom_store``
  checklist (``templates/audits/telecom_store.yaml``). Over the last :data:`AUDIT_MONTHS`
  months of the window each branch gets one mystery visit a month and one on-site visit a
  quarter; the visit meets a standard with probability

      p = logistic(logit(ITEM_RATE[item]) + branch effect + employee effect
                   + ONSITE_LIFT·[on-site] + TREND·month)

  (a met / not-met answer is Bernoulli(p); the 0-4 courtesy score is Binomial(4, p)). The
  branch effect is ``BRANCH_CLIMATE``·climate + N(0, ``BRANCH_SD``²), with the branch's TRUE
  service climate of the ``employees`` module; the employee effect is N(0, ``EMPLOYEE_SD``²).
  Two standards apply only sometimes and are NA otherwise (:data:`NA_RATE`).
- ``service_process``: a broadband installation (宽带装机) of ten steps, each with a TRUE
  success probability :data:`PROCESS_STEPS`; every installation passes every step (a failed
  step is reworked), so each step's successes out of the installations estimate its p.

The law of every answer is known, so truth keeps each visit's expected score (computed
exactly: the score is linear in the answers given which items are NA, and the NA patterns
are enumerated) averaged per branch, per method and per standard, which the audit scores
must recover, and the process's TRUE reliability (the product of the steps' p).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.generate.common import date32, month_index_dates, sigmoid
from allegiance.generate.registry import GenContext, GeneratorModule, ModuleOutput, register
from allegiance.methods.audit import Checklist, load_checklist

__all__ = [
    "AUDIT_MONTHS",
    "BRANCH_CLIMATE",
    "BRANCH_SD",
    "CHECKLIST",
    "EMPLOYEE_SD",
    "ITEM_RATE",
    "MODULE",
    "NA_RATE",
    "ONSITE_EVERY",
    "ONSITE_LIFT",
    "PROCESS_STEPS",
    "TREND",
    "expected_scores",
    "run",
]

FloatArray = npt.NDArray[np.float64]

CHECKLIST = "telecom_store"
AUDIT_MONTHS = 12
ONSITE_EVERY = 3  # one on-site visit every 3 months (a quarter), from the first audit month
# Share of standards met on a mystery visit by an average employee of an average branch in
# the first audit month: our choice for the demo (greeting and complaint handling weakest).
ITEM_RATE: dict[str, float] = {
    "env_clean": 0.93,
    "env_prices": 0.86,
    "greet_prompt": 0.66,
    "greet_needs": 0.88,
    "wait_time": 0.72,
    "svc_identity": 0.96,
    "svc_explain": 0.80,
    "svc_accuracy": 0.90,
    "svc_courtesy": 0.78,
    "sales_contract": 0.84,
    "sales_no_push": 0.85,
    "complaint_handling": 0.62,
    "farewell_thanks": 0.82,
    "farewell_receipt": 0.94,
}
NA_RATE: dict[str, float] = {"sales_contract": 0.6, "complaint_handling": 0.75}
BRANCH_CLIMATE = 0.3  # logit per standard deviation of the branch's service climate
BRANCH_SD = 0.45
EMPLOYEE_SD = 0.3
ONSITE_LIFT = 0.7  # staff who know they are observed meet more standards (logit)
TREND = 0.03  # logit per month: the service programme improves compliance

# (step code, 中文, English, TRUE success probability)
PROCESS_STEPS: tuple[tuple[str, str, str, float], ...] = (
    ("order", "受理登记", "Order taken", 0.99),
    ("resource_check", "资源核查", "Line resource checked", 0.97),
    ("appointment", "预约上门", "Appointment booked", 0.96),
    ("on_time", "按时上门", "Technician on time", 0.88),
    ("cabling", "布线施工", "Cabling", 0.97),
    ("modem", "设备安装", "Modem installed", 0.98),
    ("activation", "开通测试", "Activation test", 0.95),
    ("explanation", "讲解使用", "Use explained", 0.93),
    ("billing", "费用结算", "Billing right", 0.985),
    ("follow_up", "回访确认", "Follow-up call", 0.97),
)


def _design(
    branches: list[str], months: int, first: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Branch index, month index and on-site flag of every visit, in visit order."""
    audit = np.arange(first, months)
    per_branch_m = audit
    per_branch_o = audit[(audit - first) % ONSITE_EVERY == 0]
    b = len(branches)
    branch = np.concatenate(
        [np.repeat(np.arange(b), per_branch_m.size), np.repeat(np.arange(b), per_branch_o.size)]
    )
    month = np.concatenate([np.tile(per_branch_m, b), np.tile(per_branch_o, b)])
    onsite = np.concatenate(
        [np.zeros(b * per_branch_m.size, dtype=bool), np.ones(b * per_branch_o.size, dtype=bool)]
    )
    order = np.lexsort((rng.random(month.size), month))
    return branch[order], month[order], onsite[order]


def expected_scores(
    p: FloatArray, weights: FloatArray, na_rate: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Exact expected visit score (no critical rule) and per-item P(observed).

    ``p`` is (visits, items): the probability (mean of x) of each answer; items with
    ``na_rate > 0`` are observed independently with probability ``1 − na_rate``. Given the
    pattern of observed items the score is linear in the answers, so its expectation is
    Σ over patterns of P(pattern) · Σ_obs w·p / Σ_obs w.
    """
    optional = np.flatnonzero(na_rate > 0)
    out = np.zeros(p.shape[0])
    for pattern in itertools.product((False, True), repeat=optional.size):
        seen = np.ones(p.shape[1], dtype=bool)
        prob = 1.0
        for j, present in zip(optional, pattern, strict=True):
            seen[j] = present
            prob *= (1.0 - na_rate[j]) if present else na_rate[j]
        w = np.where(seen, weights, 0.0)
        out += prob * (p @ w) / w.sum()
    return out, 1.0 - na_rate


def _visits(ctx: GenContext, checklist: Checklist) -> tuple[pd.DataFrame, dict[str, Any]]:
    rng = ctx.rng
    branches_frame = ctx.tables["branches"]
    employees = ctx.tables["employee_survey"]
    branches = [str(b) for b in branches_frame["branch_id"]]
    climate_truth = ctx.truth.get("employees", {}).get("climate", {})
    climate = np.array([float(climate_truth.get(b, 0.0)) for b in branches])
    months = ctx.config.months
    first = max(0, months - AUDIT_MONTHS)
    branch, month, onsite = _design(branches, months, first, rng)
    v = branch.size

    b_eff = BRANCH_CLIMATE * climate + BRANCH_SD * rng.standard_normal(len(branches))
    emp_keys = employees["employee_key"].astype(str).to_numpy()
    emp_branch = pd.Index(branches).get_indexer(pd.Index(employees["branch_id"].astype(str)))
    e_eff = EMPLOYEE_SD * rng.standard_normal(emp_keys.size)
    # one employee of the visited branch, uniformly (positions of each branch's employees)
    order = np.argsort(emp_branch, kind="stable")
    counts = np.bincount(emp_branch, minlength=len(branches))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pick = order[starts[branch] + np.floor(rng.random(v) * counts[branch]).astype(np.int64)]

    items = checklist.items
    ids = [i.id for i in items]
    base = np.log(
        np.array([ITEM_RATE[i] for i in ids]) / (1 - np.array([ITEM_RATE[i] for i in ids]))
    )
    eta = (
        base[None, :]
        + b_eff[branch][:, None]
        + e_eff[pick][:, None]
        + ONSITE_LIFT * onsite[:, None]
        + TREND * (month - first)[:, None]
    )
    p = sigmoid(eta)
    maxes = np.array([i.max for i in items])
    answers = rng.binomial(maxes.astype(np.int64)[None, :], p).astype(np.float64)
    na_rate = np.array([NA_RATE.get(i, 0.0) for i in ids])
    missing = rng.random(p.shape) < na_rate[None, :]
    answers[missing] = np.nan

    month_start = month_index_dates(ctx.config.start, months)[month]
    day = np.floor(rng.random(v) * 28).astype("timedelta64[D]")
    visit_date = month_start + day
    columns: dict[str, Any] = {
        "visit_id": pd.Series([f"AV{i + 1:05d}" for i in range(v)], dtype="str"),
        "date": date32(visit_date.astype("datetime64[D]")),
        "branch": pd.Series(np.asarray(branches, dtype=object)[branch], dtype="str"),
        "employee": pd.Series(emp_keys[pick], dtype="str"),
        "method": pd.Series(np.where(onsite, "onsite", "mystery"), dtype="str"),
    }
    for j, item_id in enumerate(ids):  # a loop over checklist items, not visits
        columns[item_id] = pd.array(np.nan_to_num(answers[:, j]).astype(np.int8), dtype="Int8")
        columns[item_id][np.isnan(answers[:, j])] = pd.NA
    frame = pd.DataFrame(columns)

    weights = np.array([i.weight for i in items])
    expected, seen_rate = expected_scores(p, weights, na_rate)
    exp_frame = pd.DataFrame(
        {"branch": np.asarray(branches)[branch], "onsite": onsite, "e": expected}
    )
    by_branch = exp_frame.groupby("branch")["e"].mean()
    by_method = exp_frame.groupby("onsite")["e"].mean()
    per_bm = exp_frame.groupby(["branch", "onsite"])["e"].mean().unstack()
    within = float((per_bm[True] - per_bm[False]).mean()) if True in per_bm else math.nan
    truth: dict[str, Any] = {
        "checklist": CHECKLIST,
        "model": "P(standard met) = logistic(logit(item_rate) + branch + employee "
        "+ onsite_lift*onsite + trend*months since the first audit month); scored items "
        "Binomial(max, p)/max; NA independently with na_rate",
        "item_rate": dict(ITEM_RATE),
        "na_rate": dict(NA_RATE),
        "branch_climate": BRANCH_CLIMATE,
        "branch_sd": BRANCH_SD,
        "employee_sd": EMPLOYEE_SD,
        "onsite_lift_logit": ONSITE_LIFT,
        "trend_logit_per_month": TREND,
        "audit_months": int(months - first),
        "visits": int(v),
        "branch_effect_logit": dict(zip(branches, b_eff.tolist(), strict=True)),
        "expected_mean": float(expected.mean()),
        "branch_expected_score": {str(k): float(val) for k, val in by_branch.items()},
        "method_expected_mean": {
            "mystery": float(by_method.get(False, math.nan)),
            "onsite": float(by_method.get(True, math.nan)),
        },
        "expected_difference_all_visits": float(
            by_method.get(True, math.nan) - by_method.get(False, math.nan)
        ),
        "expected_difference_within_branch": within,
        "item_expected_compliance": dict(zip(ids, p.mean(axis=0).tolist(), strict=True)),
        "item_expected_failures": dict(
            zip(ids, ((1.0 - p).sum(axis=0) * seen_rate).tolist(), strict=True)
        ),
        "note": "branch_expected_score and method_expected_mean average each visit's exact "
        "expected score (no critical rule) over the visits made: what the mean visit score "
        "per branch and per method estimates",
    }
    return frame, truth


def _process(ctx: GenContext) -> tuple[pd.DataFrame, dict[str, Any]]:
    rng = ctx.rng
    n = int(min(5000, max(200, ctx.config.customers // 10)))
    p = np.array([s[3] for s in PROCESS_STEPS])
    ok = rng.random((n, p.size)) < p[None, :]
    frame = pd.DataFrame(
        {
            "step": pd.Series([s[0] for s in PROCESS_STEPS], dtype="str"),
            "name_zh": pd.Series([s[1] for s in PROCESS_STEPS], dtype="str"),
            "name_en": pd.Series([s[2] for s in PROCESS_STEPS], dtype="str"),
            "successes": ok.sum(axis=0).astype(np.int64),
            "attempts": np.full(p.size, n, dtype=np.int64),
        }
    )
    truth = {
        "process": "broadband installation",
        "p": {s[0]: s[3] for s in PROCESS_STEPS},
        "reliability": float(np.prod(p)),
        "installations": n,
        "flawless_installations": int(ok.all(axis=1).sum()),
        "model": "every installation passes every step; step i succeeds with p_i, independently",
    }
    return frame, truth


def run(ctx: GenContext) -> ModuleOutput:
    """Audit visits of every branch and the broadband installation process."""
    checklist = load_checklist(CHECKLIST)
    visits, visit_truth = _visits(ctx, checklist)
    process, process_truth = _process(ctx)
    return ModuleOutput(
        tables={"audit_visits": visits, "service_process": process},
        truth={**visit_truth, "process": process_truth},
    )


MODULE = register(GeneratorModule(name="audits", requires=("employees",), run=run))
