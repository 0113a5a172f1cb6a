"""Satisfaction and loyalty: the loyalty curve, the very-satisfied multiple, retention and the
employee link. Published reference outputs (tests/golden/compare, README.md there names each
source) and hand-checked values, errors and invariants."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import has
from allegiance.methods.loyalty_link import (
    DEFAULT_RULES,
    LoyalRule,
    LoyaltyLinkResult,
    employee_link,
    link_retention,
    loyalty_curve,
    ratio_of_proportions,
)
from allegiance.results import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "compare"
REF = json.loads((GOLDEN / "reference.json").read_text(encoding="utf-8"))
Z95 = 1.959963984540054


def test_ratio_of_proportions_matches_scipy_documentation() -> None:
    ref = REF["relative_risk_scipy"]
    r = ratio_of_proportions(
        ref["exposed_cases"], ref["exposed_total"], ref["control_cases"], ref["control_total"]
    )
    assert r["ratio"] == pytest.approx(ref["ratio"])
    assert r["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-12)
    assert r["ci_high"] == pytest.approx(ref["ci_high"], rel=1e-12)
    # se of ln RR = √(1/10 − 1/75 + 1/12 − 1/225) = 0.406885 (Katz et al. 1978)
    assert r["log_se"] == pytest.approx(math.sqrt(1 / 10 - 1 / 75 + 1 / 12 - 1 / 225))
    assert 0 < r["p_value"] < 0.05


def test_ratio_with_a_zero_share_has_no_interval() -> None:
    r = ratio_of_proportions(0, 10, 3, 10)
    assert r["ratio"] == 0
    assert math.isnan(r["ci_low"])
    assert math.isnan(ratio_of_proportions(3, 10, 0, 10)["ratio"])


def curve_data() -> pd.DataFrame:
    # level 5: 10 answers, 8 loyal; level 4: 20, 6 loyal; level 3: 10, 2 loyal;
    # level 2: 5, 1; level 1: 5, 0. Retention flag: yes/no text.
    levels = [5] * 10 + [4] * 20 + [3] * 10 + [2] * 5 + [1] * 5
    loyal = [1] * 8 + [0] * 2 + [1] * 6 + [0] * 14 + [1] * 2 + [0] * 8 + [1] + [0] * 4 + [0] * 5
    repurchase = [3 if v else 2 for v in loyal]
    return pd.DataFrame({"sat": levels, "repurchase": repurchase, "kept": loyal})


def test_curve_multiple_and_shape_hand_checked() -> None:
    r = loyalty_curve(curve_data(), satisfaction="sat", loyalty=["repurchase", "kept"])
    curve = r.curve.loc[r.curve["measure"] == "repurchase"].set_index("level")
    assert curve["n"].tolist() == [5, 5, 10, 20, 10]
    assert curve["share"].tolist() == pytest.approx([0.0, 0.2, 0.2, 0.3, 0.8])
    # steps: +0.2, 0, +0.1, +0.5
    assert curve["step"].iloc[1:].tolist() == pytest.approx([0.2, 0.0, 0.1, 0.5])
    # repurchase is 3 when loyal: mean at level 5 = (8·3 + 2·2)/10 = 2.8
    assert curve.loc[5.0, "mean"] == pytest.approx(2.8)
    m = r.multiple.set_index("measure").loc["repurchase"]
    # M = 0.8 / 0.3; se(ln M) = √(1/8 − 1/10 + 1/6 − 1/20) = √0.141667
    se = math.sqrt(1 / 8 - 1 / 10 + 1 / 6 - 1 / 20)
    assert m["multiple"] == pytest.approx(0.8 / 0.3)
    assert m["ci_low"] == pytest.approx((0.8 / 0.3) * math.exp(-Z95 * se))
    assert m["ci_high"] == pytest.approx((0.8 / 0.3) * math.exp(Z95 * se))
    # defection ratio (1 − 0.3)/(1 − 0.8) = 3.5
    assert m["defection_ratio"] == pytest.approx(3.5)
    shape = r.shape.set_index("measure").loc["repurchase"]
    # acceleration (0.8 − 0.3) − (0.3 − 0.2) = 0.4; var = 0.16/10 + 4·0.21/20 + 0.16/10 = 0.074
    assert shape["acceleration"] == pytest.approx(0.4)
    assert shape["se"] == pytest.approx(math.sqrt(0.016 + 4 * 0.0105 + 0.016))
    # top step share 0.5 / (0.8 − 0) = 0.625
    assert shape["top_step_share"] == pytest.approx(0.625)
    # the 0/1 column needs no rule and gives the same curve
    kept = r.curve.loc[r.curve["measure"] == "kept", "share"].to_numpy()
    assert kept.tolist() == pytest.approx(curve["share"].tolist())
    assert r.rules["repurchase"] == DEFAULT_RULES["repurchase"]
    assert r.rules["kept"].codes == (1.0,)


def test_rules_threshold_codes_and_errors() -> None:
    d = pd.DataFrame({"sat": [5, 5, 4, 4], "score": [9, 7, 10, 3], "other": [4, 5, 1, 2]})
    r = loyalty_curve(
        d, satisfaction="sat", loyalty="score", rules={"score": LoyalRule(threshold=9)}
    )
    assert r.multiple.iloc[0]["share_very"] == pytest.approx(0.5)
    assert r.multiple.iloc[0]["share_merely"] == pytest.approx(0.5)
    r2 = loyalty_curve(
        d, satisfaction="sat", loyalty="other", rules={"other": LoyalRule(codes=(4, 5))}
    )
    assert r2.multiple.iloc[0]["share_very"] == pytest.approx(1.0)
    with pytest.raises(ValidationError) as err:
        loyalty_curve(d, satisfaction="sat", loyalty="other")
    assert err.value.key == "loyalty_link.rule_needed"
    with pytest.raises(ValidationError):
        LoyalRule()
    with pytest.raises(ValidationError):
        LoyalRule(codes=(3,), threshold=2)
    with pytest.raises(ValidationError) as err:
        loyalty_curve(pd.DataFrame({"sat": [6], "score": [9]}), satisfaction="sat", loyalty="score")
    assert err.value.key == "loyalty_link.bad_level"
    with pytest.raises(ValidationError):
        loyalty_curve(d, satisfaction="sat", loyalty="score", very=4, merely=5)
    with pytest.raises(ColumnNotFoundError):
        loyalty_curve(d, satisfaction="sat", loyalty="nope")


def test_empty_levels_warn() -> None:
    d = pd.DataFrame({"sat": [5, 5, 4], "kept": [True, True, False]})
    r = loyalty_curve(d, satisfaction="sat", loyalty="kept")
    keys = [w.key for w in r.warnings]
    assert keys.count("loyalty_link.empty_level") == 3  # levels 1, 2, 3
    assert "loyalty_link.no_multiple" in keys  # share 0 among the satisfied
    for key in keys:
        assert has(key)


def test_link_retention() -> None:
    answers = pd.DataFrame({"customer_id": ["a", "b", "x"], "sat": [5, 4, 3]})
    customers = pd.DataFrame({"customer_id": ["b", "a"], "churned": ["是", "否"]})
    out = link_retention(answers, customers)
    assert out["retained"].tolist()[:2] == [1.0, 0.0]
    assert math.isnan(out["retained"].iloc[2])
    assert "retained" not in answers.columns
    with pytest.raises(ValidationError):
        link_retention(out, customers)
    with pytest.raises(ValidationError):
        link_retention(answers, pd.concat([customers, customers]))
    with pytest.raises(ValidationError):
        link_retention(answers, customers.assign(churned=[2, 0]))


def test_employee_link_matches_r_cor_test() -> None:
    # R's cor.test example (Hollander & Wolfe 1973, p. 187): r = 0.5711816, t = 1.8411 on 7 df,
    # p = 0.1082, 95% CI -0.1497426 .. 0.8955795. One branch per pair, x the employee mean.
    ref = REF["cor_test_hunter"]
    pairs = pd.read_csv(GOLDEN / "hunter_panel.csv")
    branches = [f"b{i}" for i in range(len(pairs))]
    customers = pd.DataFrame({"branch": branches, "cs": pairs["panel_score"]})
    employees = pd.DataFrame({"branch": branches, "es": pairs["hunter_l"]})
    r = employee_link(
        customers,
        employees,
        branch="branch",
        customer_satisfaction="cs",
        employee_satisfaction="es",
        min_customers=1,
        min_employees=1,
    )
    p = r.correlation.set_index("method").loc["pearson"]
    assert r.r == pytest.approx(ref["r"], abs=5e-8)
    assert p["statistic"] == pytest.approx(ref["t"], abs=5e-5)
    assert p["p_value"] == pytest.approx(ref["p_value"], abs=5e-5)
    assert p["ci_low"] == pytest.approx(ref["ci_low"], abs=5e-8)
    assert p["ci_high"] == pytest.approx(ref["ci_high"], abs=5e-8)
    assert p["n_branches"] == ref["df"] + 2


def test_employee_link_aggregates_and_leaves_small_branches_out() -> None:
    customers = pd.DataFrame(
        {
            "br": ["a"] * 6 + ["b"] * 6 + ["c"] * 6 + ["d"] * 2,
            "cs": [5] * 6 + [4] * 6 + [2] * 6 + [1, 1],
        }
    )
    employees = pd.DataFrame(
        {
            "br": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3,
            "es": [5, 4, 5, 4, 4, 3, 2, 1, 2, 1, 1, 1],
        }
    )
    r = employee_link(
        customers, employees, branch="br", customer_satisfaction="cs", employee_satisfaction="es"
    )
    b = r.branches.set_index("branch")
    assert b.loc["a", "employee_satisfaction"] == pytest.approx(14 / 3)
    assert not bool(b.loc["d", "used"])
    assert r.correlation.loc[0, "n_branches"] == 3
    assert any(w.key == "loyalty_link.branches_left_out" for w in r.warnings)
    assert r.r > 0.9
    link = LoyaltyLinkResult(
        curve=loyalty_curve(curve_data(), satisfaction="sat", loyalty="kept"), employees=r
    )
    assert isinstance(link, Result)
    assert set(link.tables()) == {"curve", "multiple", "shape", "branches", "correlation"}
    json.dumps(link.to_dict(), allow_nan=False)


def test_too_few_branches_warn() -> None:
    c = pd.DataFrame({"br": ["a"] * 5, "cs": [5] * 5})
    e = pd.DataFrame({"br": ["a"] * 3, "es": [4] * 3})
    r = employee_link(c, e, branch="br", customer_satisfaction="cs", employee_satisfaction="es")
    assert math.isnan(r.r)
    assert any(w.key == "loyalty_link.too_few_branches" for w in r.warnings)


# --------------------------------------------------------------------------- properties

rows = st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=4, max_size=80)


@settings(max_examples=25)
@given(rows, st.randoms(use_true_random=False))
def test_curve_is_shuffle_invariant(data: list[tuple[int, bool]], rnd: object) -> None:
    frame = pd.DataFrame(data, columns=["sat", "kept"])
    order = list(range(len(frame)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    a = loyalty_curve(frame, satisfaction="sat", loyalty="kept")
    b = loyalty_curve(frame.iloc[order].reset_index(drop=True), satisfaction="sat", loyalty="kept")
    for name, table in a.tables().items():
        pd.testing.assert_frame_equal(table, b.tables()[name], rtol=1e-12)


@settings(max_examples=40)
@given(st.integers(1, 50), st.integers(1, 50), st.integers(1, 50), st.integers(1, 50))
def test_multiple_interval_contains_the_estimate(
    h1: int, extra1: int, h2: int, extra2: int
) -> None:
    r = ratio_of_proportions(h1, h1 + extra1, h2, h2 + extra2)
    assert r["ci_low"] <= r["ratio"] <= r["ci_high"]
    assert 0 <= r["p_value"] <= 1 or math.isnan(r["p_value"])
    flipped = ratio_of_proportions(h2, h2 + extra2, h1, h1 + extra1)
    assert flipped["ratio"] == pytest.approx(1 / r["ratio"])
    assert flipped["ci_low"] == pytest.approx(1 / r["ci_high"])


def test_default_rules_cover_the_demo_measures() -> None:
    assert set(DEFAULT_RULES) == {"repurchase", "recommend3", "nps", "retained"}
    assert np.array_equal(
        DEFAULT_RULES["nps"].flag(np.array([8.0, 9.0, np.nan])),
        np.array([0.0, 1.0, np.nan]),
        equal_nan=True,
    )
