"""The ``audits`` generator: audit visits and the service process, their design, the exact
expected scores kept in truth, and the blueprint's recovery of the true step probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allegiance.generate import DemoConfig, GeneratedData, audits, generate
from allegiance.methods.audit import load_checklist
from allegiance.methods.blueprint import blueprint, steps_from_frame


def test_visit_design(small: GeneratedData) -> None:
    visits = small.tables["audit_visits"]
    branches = small.tables["branches"]["branch_id"].astype(str)
    checklist = load_checklist(audits.CHECKLIST)
    assert list(visits.columns) == [
        "visit_id",
        "date",
        "branch",
        "employee",
        "method",
        *checklist.item_ids,
    ]
    per_branch = visits.groupby("branch").size()
    assert set(per_branch.index) == set(branches)
    assert (per_branch == 12 + 4).all()  # 12 audit months: monthly mystery, quarterly on-site
    assert (visits.groupby("branch")["method"].apply(lambda m: (m == "onsite").sum()) == 4).all()
    staff = small.tables["employee_survey"]
    home = dict(zip(staff["employee_key"].astype(str), staff["branch_id"].astype(str), strict=True))
    assert (visits["employee"].map(home) == visits["branch"]).all()
    assert visits["visit_id"].is_unique
    assert visits["svc_courtesy"].dropna().between(0, 4).all()
    binary = [i.id for i in checklist.items if i.max == 1]
    assert visits[binary].stack().dropna().isin([0, 1]).all()
    na = visits[["sales_contract", "complaint_handling"]].isna().mean()
    assert na["sales_contract"] == pytest.approx(audits.NA_RATE["sales_contract"], abs=0.06)
    assert visits.drop(columns=["sales_contract", "complaint_handling"]).notna().all().all()


def test_same_seed_same_tables() -> None:
    config = DemoConfig(customers=800, months=6, seed=3)
    a, b = generate(config), generate(config)
    for name in ("audit_visits", "service_process"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.truth["audits"] == b.truth["audits"]
    assert len(a.tables["audit_visits"]) == 36 * (6 + 2)  # 6 months: 6 mystery + 2 on-site


def test_expected_scores_are_exact() -> None:
    """The NA-pattern enumeration against a brute-force simulation of the same law."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 0.99, size=(3, 5))
    weights = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    na = np.array([0.0, 0.6, 0.0, 0.3, 0.0])
    expected, seen = audits.expected_scores(p, weights, na)
    assert seen == pytest.approx(1 - na)
    draws = 200_000
    for v in range(3):
        x = rng.random((draws, 5)) < p[v]
        obs = rng.random((draws, 5)) >= na
        score = (x * obs) @ weights / (obs @ weights)
        assert score.mean() == pytest.approx(expected[v], abs=0.002)


def test_truth_is_complete(small: GeneratedData) -> None:
    truth = small.truth["audits"]
    branches = set(small.tables["branches"]["branch_id"].astype(str))
    assert set(truth["branch_expected_score"]) == branches
    assert set(truth["item_expected_compliance"]) == set(audits.ITEM_RATE)
    assert 0 < truth["expected_mean"] < 1
    assert truth["method_expected_mean"]["onsite"] > truth["method_expected_mean"]["mystery"]
    process = truth["process"]
    assert process["reliability"] == pytest.approx(np.prod([s[3] for s in audits.PROCESS_STEPS]))


def test_blueprint_recovers_the_process(big: GeneratedData) -> None:
    process = big.tables["service_process"]
    truth = big.truth["audits"]["process"]
    assert process["attempts"].iloc[0] == 5000
    result = blueprint(steps_from_frame(process))
    steps = result.steps
    true_p = steps["name"].map(truth["p"]).to_numpy(dtype=float)
    inside = (true_p >= steps["ci_low"]) & (true_p <= steps["ci_high"])
    assert inside.sum() >= 8  # of 10 steps at 95 %
    row = result.overall.iloc[0]
    assert row["ci_low"] <= truth["reliability"] <= row["ci_high"]
    assert row["fix_first"] == "on_time"  # the true weakest step (0.88)
    # independent steps: the share of flawless installations is close to the product
    flawless = truth["flawless_installations"] / truth["installations"]
    assert flawless == pytest.approx(truth["reliability"], abs=0.03)
