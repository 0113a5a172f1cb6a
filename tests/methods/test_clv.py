"""CLV models against published results (tests/golden/clv/README.md) and their invariants."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance import datasets
from allegiance.errors import ValidationError
from allegiance.methods import clv

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[1] / "golden" / "clv" / "published.json").read_text()
)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return datasets.load_cdnow_summary(with_transactions=True)


@pytest.fixture(scope="module")
def bgnbd(cdnow: pd.DataFrame) -> clv.ClvFit:
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    return datasets.load_donations()


@pytest.fixture(scope="module")
def bgbb(donations: pd.DataFrame) -> clv.ClvFit:
    d = donations
    return clv.fit_bgbb(d["frequency"], d["recency"], d["periods"], weights=d["weights"])


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


def test_bgnbd_cdnow_matches_fader_hardie_lee_2005(bgnbd: clv.ClvFit) -> None:
    gold = GOLDEN["bgnbd_cdnow"]
    for name, value in gold["params"].items():
        assert bgnbd.params[name] == pytest.approx(value, abs=5e-4)
    for name, value in gold["params_full"].items():  # CLVTools (BFGS stops a little early)
        assert bgnbd.params[name] == pytest.approx(value, rel=1e-4)
    for name, value in gold["lifetimes_coef"].items():  # lifetimes, 6 decimals
        assert bgnbd.params[name] == pytest.approx(value, abs=2e-6)
    # the summary rounds t_x and T to 2 decimals; CLVTools works from the raw log
    assert bgnbd.log_likelihood == pytest.approx(gold["log_likelihood_full"], abs=0.01)
    assert round(bgnbd.log_likelihood, 1) == gold["log_likelihood"]
    for name, value in gold["se"].items():
        assert bgnbd.se[name] == pytest.approx(value, rel=2e-4)
    assert bgnbd.converged
    assert bgnbd.warnings == ()


def test_bgnbd_predictions_match_the_excel_implementation(bgnbd: clv.ClvFit) -> None:
    gold = GOLDEN["bgnbd_cdnow"]
    c = gold["conditional_expected"]
    value = clv.bgnbd_conditional_expected(bgnbd.param_array(), c["t"], c["x"], c["t_x"], c["T"])
    assert value[0] == pytest.approx(c["value"], abs=5e-4)
    e = gold["expected"]
    np.testing.assert_allclose(
        clv.bgnbd_expected(bgnbd.param_array(), e["t"]), e["value"], atol=1e-3
    )


def test_bgnbd_likelihood_is_a_sum_over_customers_and_weights_are_counts() -> None:
    p = [0.5, 3.0, 0.8, 2.0]
    x, tx, T = np.array([0, 2, 5]), np.array([0.0, 3.0, 10.0]), np.array([12.0, 12.0, 12.0])
    one = sum(float(clv.bgnbd_log_likelihood(p, x[i], tx[i], T[i])[0]) for i in range(3))
    assert float(clv.bgnbd_log_likelihood(p, x, tx, T).sum()) == pytest.approx(one, rel=1e-12)
    rep = np.repeat(np.arange(3), [3, 1, 2])
    theta = np.asarray(p)
    repeated = clv._bgnbd_value_and_grad(x[rep], tx[rep], T[rep], np.ones(6))(theta)
    weighted = clv._bgnbd_value_and_grad(x, tx, T, np.array([3.0, 1.0, 2.0]))(theta)
    assert repeated[0] == pytest.approx(weighted[0], rel=1e-12)
    np.testing.assert_allclose(repeated[1], weighted[1], rtol=1e-12)


def test_bgnbd_analytic_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    x, tx, T = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
    vg = clv._bgnbd_value_and_grad(x, tx, T, np.ones(x.size))
    theta = np.array([0.3, 5.0, 0.9, 2.0])
    value, grad = vg(theta)
    assert value == pytest.approx(float(clv.bgnbd_log_likelihood(theta, x, tx, T).sum()))
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * theta[i]
        fd = (vg(theta + e)[0] - vg(theta - e)[0]) / (2 * e[i])
        assert grad[i] == pytest.approx(fd, rel=1e-5)


def test_bgnbd_recovers_simulated_parameters_on_a_large_sample() -> None:
    truth = [0.243, 4.414, 0.793, 2.426]
    rng = np.random.default_rng(5)
    data = clv.simulate_bgnbd(truth, rng.uniform(10, 78, 300_000), seed=6)
    fit = clv.fit_bgnbd(data["frequency"], data["recency"], data["T"])
    for (name, value), true in zip(fit.params.items(), truth, strict=True):
        assert abs(value - true) < 4 * fit.se[name], name
    assert fit.converged


# --------------------------------------------------------------------------------------------
# Pareto/NBD
# --------------------------------------------------------------------------------------------


def test_paretonbd_cdnow_matches_published(cdnow: pd.DataFrame) -> None:
    gold = GOLDEN["paretonbd_cdnow"]
    fit = clv.fit_paretonbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    for name, value in gold["params"].items():
        assert fit.params[name] == pytest.approx(value, abs=2e-3 * max(1, value))
    assert round(fit.log_likelihood, 1) == gold["log_likelihood"]
    assert all(math.isfinite(v) and v > 0 for v in fit.se.values())


def test_paretonbd_predictions_match_btyd() -> None:
    gold = GOLDEN["paretonbd_cdnow"]
    p = list(gold["btyd_params"].values())
    a = gold["p_alive"]
    assert clv.paretonbd_p_alive(p, a["x"], a["t_x"], a["T"])[0] == pytest.approx(
        a["value"], abs=5e-4
    )
    c = gold["conditional_expected"]
    value = clv.paretonbd_conditional_expected(p, c["t"], c["x"], c["t_x"], c["T"])[0]
    assert value == pytest.approx(c["value"], abs=0.01)
    e = gold["expected"]
    at = list(gold["expected_params"].values())
    np.testing.assert_allclose(clv.paretonbd_expected(at, e["t"]), e["value"], atol=1e-7)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


def test_gammagamma_cdnow_matches_fader_hardie_2013(cdnow: pd.DataFrame) -> None:
    gold = GOLDEN["gammagamma_cdnow"]
    repeat = cdnow[cdnow["x"] > 0]
    fit = clv.fit_gammagamma(repeat["x"], repeat["zbar"])
    for name, value in gold["params"].items():
        assert fit.params[name] == pytest.approx(value, abs=0.015)
    first = cdnow.head(10)
    spend = clv.gammagamma_expected_spend(fit.param_array(), first["x"], first["zbar"])
    np.testing.assert_allclose(spend, gold["expected_spend_first10"], atol=0.011)


# --------------------------------------------------------------------------------------------
# BG/BB
# --------------------------------------------------------------------------------------------


def test_bgbb_donations_matches_fader_hardie_shang_2010(
    bgbb: clv.ClvFit, donations: pd.DataFrame
) -> None:
    gold = GOLDEN["bgbb_donations"]
    for name, value in gold["params"].items():
        assert bgbb.params[name] == pytest.approx(value, abs=5e-4)
    assert round(bgbb.log_likelihood, 1) == gold["log_likelihood"]
    p = bgbb.param_array()
    for row in gold["p_alive_2002"]:
        value = clv.bgbb_p_alive(p, row["frequency"], row["recency"], 6)[0]
        assert value == pytest.approx(row["value"], abs=0.005)
    d = donations
    expected = clv.bgbb_conditional_expected(p, 5, d["frequency"], d["recency"], d["periods"])
    assert float(expected @ d["weights"]) == pytest.approx(
        gold["conditional_expected_total_5"], abs=0.5
    )
    table = clv.bgbb_expected_in_first_periods(p, 6)
    assert table["probability"].sum() == pytest.approx(1.0, abs=1e-12)
    n = float(d["weights"].sum())
    assert table["probability"].iloc[0] * n == pytest.approx(
        gold["expected_count_first_6"]["x0"], abs=0.1
    )
    assert table["probability"].iloc[6] * n == pytest.approx(
        gold["expected_count_first_6"]["x6"], abs=0.1
    )


# --------------------------------------------------------------------------------------------
# sBG
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["high_end", "regular"])
def test_sbg_matches_fader_hardie_2007(segment: str) -> None:
    gold = GOLDEN["sbg_fader_hardie_2007"][segment]
    fit = clv.fit_sbg(gold["survivors"])
    for name, value in gold["params"].items():
        assert fit.params[name] == pytest.approx(value, abs=5e-4)
    if "log_likelihood" in gold:
        assert round(fit.log_likelihood, 1) == gold["log_likelihood"]


def test_sbg_survival_retention_and_lifetimes_agree_with_each_other() -> None:
    p = [0.668, 3.806]
    t = np.arange(1, 30)
    surv = clv.sbg_survival(p, t)
    np.testing.assert_allclose(surv[1:] / surv[:-1], clv.sbg_retention(p, t[1:]), rtol=1e-12)
    assert surv[0] == pytest.approx(1 - 0.668 / (0.668 + 3.806))
    d = 0.1
    # DEL = sum_{t>=0} S(t) / (1+d)^t; DERL after n-1 renewals = sum_{t>=n} S(t)/S(n-1)/(1+d)^(t-n)
    tt = np.arange(0, 4000)
    s_all = clv.sbg_survival(p, tt)
    assert clv.sbg_del(p, d) == pytest.approx(float((s_all / (1 + d) ** tt).sum()), rel=1e-6)
    n = 5
    tail = s_all[n:] / s_all[n - 1] / (1 + d) ** (tt[n:] - n)
    assert clv.sbg_derl(p, d, renewals=n - 1) == pytest.approx(float(tail.sum()), rel=1e-6)


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------


def test_kaplan_meier_matches_the_6mp_textbook_table() -> None:
    gold = GOLDEN["kaplan_meier_6mp"]
    frame = pd.DataFrame({"weeks": gold["times"], "relapse": gold["events"]})
    result = clv.kaplan_meier(frame, duration="weeks", event="relapse")
    for time, value in gold["survival"].items():
        assert result.at(float(time)) == pytest.approx(value, abs=5e-5)
    assert result.summary["median"].iloc[0] == gold["median"]
    first = result.survival.iloc[0]
    assert (first["n_risk"], first["n_events"], first["n_censored"]) == (21, 3, 1)
    # Greenwood at t = 6: S^2 * 3 / (21 * 18)
    assert first["se"] == pytest.approx(math.sqrt(0.8571428**2 * 3 / (21 * 18)), rel=1e-5)
    assert 0 <= first["ci_low"] <= first["survival"] <= first["ci_high"] <= 1


def test_kaplan_meier_by_segment_keeps_each_curve_to_its_rows() -> None:
    gold = GOLDEN["kaplan_meier_6mp"]
    frame = pd.DataFrame({"weeks": gold["times"], "relapse": gold["events"], "group": "6-MP"})
    other = pd.DataFrame({"weeks": [1, 2, 3], "relapse": [1, 1, 0], "group": "placebo"})
    result = clv.kaplan_meier(
        pd.concat([frame, other]), duration="weeks", event="relapse", by="group"
    )
    assert set(result.summary["segment"]) == {"all", "6-MP", "placebo"}
    assert result.at(23, "6-MP") == pytest.approx(0.4482, abs=5e-5)
    assert result.at(2, "placebo") == pytest.approx(1 / 3)
    with pytest.raises(ValidationError):
        clv.kaplan_meier(frame.assign(relapse=2), duration="weeks", event="relapse")


# --------------------------------------------------------------------------------------------
# SPEC formulas
# --------------------------------------------------------------------------------------------


def test_lost_customer_reproduces_the_spec_reading() -> None:
    gold = GOLDEN["spec_mrs_smith"]
    ten = clv.lost_customer_value(told=10)
    assert ten.customer_value == gold["customer_value"]
    assert ten.total == gold["total_n10"]
    assert clv.lost_customer_value(told=20).total == gold["total_n20"]
    # every number is a parameter: no influence at all leaves her own value only
    assert clv.lost_customer_value(told=0).total == gold["customer_value"]
    assert (
        clv.lost_customer_value(spend_per_period=100, defect_share=0.5, told=10).total
        == (1 + 30 * 0.5) * 100 * 52 * 10
    )
    with pytest.raises(ValidationError):
        clv.lost_customer_value(defect_share=1.5)


def test_simple_clv_is_the_spec_product() -> None:
    result = clv.simple_clv(average_transaction=50, transactions_per_year=52, years_retained=10)
    assert result.value == 26_000
    assert result.tables()["clv_simple"]["clv"].iloc[0] == 26_000


# --------------------------------------------------------------------------------------------
# Discounted CLV, persistence, dispatch, the report entry point
# --------------------------------------------------------------------------------------------


def test_customer_value_is_discounted_increments_of_expected_transactions(
    bgnbd: clv.ClvFit,
) -> None:
    x, tx, T = 2, 30.43, 38.86
    value = clv.customer_value(
        bgnbd, x, tx, T, spend=[10.0], horizon=3, period=4.0, discount_rate=0.1, margin=0.5
    )[0]
    e = [
        float(clv.bgnbd_conditional_expected(bgnbd.param_array(), k * 4.0, x, tx, T)[0])
        for k in range(4)
    ]
    e[0] = 0.0
    by_hand = 0.5 * 10 * sum((e[k] - e[k - 1]) / 1.1**k for k in (1, 2, 3))
    assert value == pytest.approx(by_hand, rel=1e-12)
    undiscounted = clv.customer_value(
        bgnbd, x, tx, T, spend=[1.0], horizon=3, period=4.0, discount_rate=0.0
    )
    assert undiscounted[0] == pytest.approx(e[3], rel=1e-12)


def test_fit_round_trips_through_json_and_dispatch(cdnow: pd.DataFrame, bgnbd: clv.ClvFit) -> None:
    back = clv.ClvFit.from_dict(json.loads(json.dumps(bgnbd.to_dict())))
    assert back.params == bgnbd.params
    assert back.model == "bgnbd"
    frame = cdnow.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    again = clv.fit_model("bgnbd", frame)
    assert again.params == pytest.approx(bgnbd.params)
    with pytest.raises(ValidationError):
        clv.fit_model("nbd", frame)
    with pytest.raises(ValidationError):
        clv.fit_model("bgbb", frame)


def test_value_customers_for_the_report(cdnow: pd.DataFrame) -> None:
    frame = cdnow.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    result = clv.value_customers(frame)
    assert result.spend is not None
    tables = result.tables()
    assert {"clv_overview", "clv_parameters", "clv_customers"} <= set(tables)
    customers = tables["clv_customers"]
    assert (customers["clv"] >= 0).all()
    assert len(customers) == 2357
    assert result.overview["n_repeat"].iloc[0] == 946
    assert json.dumps(result.to_dict())


def test_bad_inputs_are_refused_with_a_message() -> None:
    with pytest.raises(ValidationError, match="recency"):
        clv.fit_bgnbd([1], [5.0], [3.0])
    with pytest.raises(ValidationError, match="survivors"):
        clv.fit_sbg([100, 120])
    with pytest.raises(ValidationError):
        clv.fit_bgbb([3], [2], [6])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

params_st = st.tuples(
    st.floats(0.05, 5), st.floats(0.5, 50), st.floats(0.05, 5), st.floats(0.05, 10)
)


@settings(max_examples=60, deadline=None)
@given(params=params_st, x=st.integers(0, 60), T=st.floats(1, 200), share=st.floats(0.01, 1))
def test_p_alive_is_a_probability_and_rises_with_recency(
    params: tuple[float, float, float, float], x: int, T: float, share: float
) -> None:
    tx = share * T if x > 0 else 0.0
    for alive in (clv.bgnbd_p_alive, clv.paretonbd_p_alive):
        value = float(alive(params, x, tx, T)[0])
        assert 0.0 <= value <= 1.0
        if x > 0:
            later = float(alive(params, x, min(T, tx + 0.25 * (T - tx)), T)[0])
            assert later >= value - 1e-12


@settings(max_examples=40, deadline=None)
@given(params=params_st, scale=st.floats(0.1, 10))
def test_bgnbd_likelihood_changes_only_by_a_constant_when_time_is_rescaled(
    params: tuple[float, float, float, float], scale: float
) -> None:
    # measuring time in other units: alpha scales with time, LL shifts by -x * log(scale)
    r, alpha, a, b = params
    x, tx, T = np.array([0, 1, 4]), np.array([0.0, 2.0, 9.0]), np.array([10.0, 10.0, 12.0])
    base = clv.bgnbd_log_likelihood(params, x, tx, T)
    scaled = clv.bgnbd_log_likelihood((r, alpha * scale, a, b), x, tx * scale, T * scale)
    np.testing.assert_allclose(scaled, base - x * np.log(scale), rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_likelihood_is_invariant_under_row_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = clv.simulate_bgnbd([0.3, 4.0, 0.8, 2.5], rng.uniform(5, 40, 50), seed=seed)
    order = rng.permutation(50)
    p = [0.3, 4.0, 0.8, 2.5]
    cols = [data[c].to_numpy() for c in ("frequency", "recency", "T")]
    a = clv.bgnbd_log_likelihood(p, *cols).sum()
    b = clv.bgnbd_log_likelihood(p, *(c[order] for c in cols)).sum()
    assert a == pytest.approx(b, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(0.05, 20), beta=st.floats(0.05, 20))
def test_sbg_survival_falls_and_retention_rises(alpha: float, beta: float) -> None:
    t = np.arange(1, 40)
    surv = clv.sbg_survival((alpha, beta), t)
    assert np.all(np.diff(surv) <= 1e-15)
    assert np.all((surv > 0) & (surv < 1))
    assert np.all(np.diff(clv.sbg_retention((alpha, beta), t)) >= 0)


def test_paretonbd_dert_is_the_discounted_sum_of_expected_transactions() -> None:
    # The closed form (Tricomi U) against an independent route: the expected transactions
    # E[Y(t) | x, t_x, T] (Fader & Hardie's eq. 21), differenced on a fine grid and each
    # increment discounted by exp(-delta t), summed far into the future.
    params = (0.553, 10.578, 0.606, 11.669)  # Pareto/NBD on CDNOW (Fader, Hardie & Lee 2005)
    delta = math.log(1.15) / 52  # 15 % a year, weekly time
    x, tx, T = np.array([0.0, 2.0, 10.0]), np.array([0.0, 30.43, 35.0]), np.full(3, 38.86)
    closed = clv.paretonbd_dert(params, delta, x, tx, T)
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 40_000, 20_000)])
    cum = np.array([clv.paretonbd_conditional_expected(params, t, x, tx, T) for t in grid[1:]])
    cum = np.vstack([np.zeros(3), cum])
    mid = (grid[1:] + grid[:-1]) / 2
    numeric = (np.exp(-delta * mid)[:, None] * np.diff(cum, axis=0)).sum(axis=0)
    assert closed == pytest.approx(numeric, rel=1e-4)
    # more history, more recent: worth more; a higher rate: worth less
    assert closed[0] < closed[1] < closed[2]
    assert np.all(clv.paretonbd_dert(params, 2 * delta, x, tx, T) < closed)


def test_continuous_clv_is_margin_times_spend_times_dert(cdnow: pd.DataFrame) -> None:
    data = cdnow.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    fit = clv.fit_paretonbd(data["frequency"], data["recency"], data["T"])
    buyers = data[data["frequency"] > 0]
    spend_fit = clv.fit_gammagamma(buyers["frequency"], buyers["monetary_value"])
    out = clv.predict(fit, buyers, spend_fit=spend_fit, continuous_rate=0.0027, margin=0.3)
    assert np.allclose(out["clv_continuous"], 0.3 * out["expected_spend"] * out["dert"])
    bg = clv.fit_bgnbd(data["frequency"], data["recency"], data["T"])
    with pytest.raises(ValidationError) as info:
        clv.predict(bg, buyers, continuous_rate=0.0027)
    assert info.value.key == "clv.error.continuous_model"
    with pytest.raises(ValidationError):
        clv.paretonbd_dert(fit.param_array(), 0.0, [1], [1], [2])
