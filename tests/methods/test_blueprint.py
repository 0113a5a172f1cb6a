"""Service blueprint reliability: SPEC section 6's worked example (tests/golden/blueprint/),
intervals against their definitions, the product interval's coverage, errors and invariants."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from allegiance.errors import AllegianceError, ColumnNotFoundError, ValidationError
from allegiance.methods import blueprint as blueprint_module
from allegiance.methods.blueprint import (
    ProcessStep,
    blueprint,
    failure_shares,
    jeffreys_interval,
    steps_from_frame,
)
from allegiance.methods.intervals import wilson_interval
from allegiance.results import Result

GOLDEN = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "golden" / "blueprint" / "spec_example.yaml").read_text(
        encoding="utf-8"
    )
)


def test_doctests() -> None:
    assert doctest.testmod(blueprint_module, raise_on_error=False).failed == 0


# --------------------------------------------------------------------------- golden


def test_spec_example_overall_reliability() -> None:
    result = blueprint(GOLDEN["steps"])
    assert round(result.reliability, 3) == GOLDEN["overall"]
    assert result.reliability == pytest.approx(0.99**5 * 0.98**3 * 0.90 * 0.95, rel=1e-12)
    assert isinstance(result, Result)


def test_spec_example_improvement() -> None:
    change = GOLDEN["improve"]
    result = blueprint(GOLDEN["steps"], improve={change["step"]: change["p"]})
    assert round(result.improved, 3) == GOLDEN["improved"]
    assert round(result.gain, 3) == GOLDEN["gain"]
    assert round(100 * result.gain_relative, 2) == GOLDEN["gain_relative_pct"]
    d = result.to_dict()["whatif"]
    assert d["changes"] == [{"step": 3, "name": "3", "p_before": 0.9, "p_after": 0.96}]


def test_only_the_weakest_step_to_096_reproduces_the_relative_gain() -> None:
    """The README's argument, checked: p'/p = 16/15 is possible only for the 0.90 step."""
    steps = GOLDEN["steps"]
    possible = [i for i, p in enumerate(steps) if p * 16 / 15 <= 1.0]
    assert possible == [2]
    other = blueprint(steps, improve={7: 0.99})  # the 0.95 step to 0.99
    assert round(100 * other.gain_relative, 2) != GOLDEN["gain_relative_pct"]


def test_spec_example_ranks_the_weakest_step_first() -> None:
    steps = blueprint(GOLDEN["steps"]).steps
    assert steps.loc[steps["fix_rank"] == 1, "step"].item() == 3
    assert steps.loc[steps["fix_rank"] == 2, "step"].item() == 7  # the 0.95 step
    # to the best step's p (0.99): 0.765 x 0.99/0.90 - 0.765
    assert steps["gain_if_fixed"].iloc[2] == pytest.approx(0.7652799 * (0.99 / 0.90 - 1), rel=1e-6)
    assert (steps.loc[[0, 5, 7, 8, 9], "gain_if_fixed"] == 0.0).all()


# --------------------------------------------------------------------------- figures


def test_failure_shares_follow_the_first_failure() -> None:
    p = np.array([0.9, 0.8, 0.5])
    shares = failure_shares(p)
    r = p.prod()
    expected = np.array([0.1, 0.9 * 0.2, 0.9 * 0.8 * 0.5]) / (1 - r)
    assert shares == pytest.approx(expected)
    assert shares.sum() == pytest.approx(1.0)
    assert np.isnan(failure_shares([1.0, 1.0])).all()


def test_targets_delta_and_numbers() -> None:
    result = blueprint([0.9, 0.8, 0.95], target=0.99)
    steps = result.steps
    assert steps["target_p"].tolist() == [0.99, 0.99, 0.99]
    assert steps["overall_if_fixed"].iloc[1] == pytest.approx(0.9 * 0.99 * 0.95)
    assert steps["fix_rank"].tolist() == [2, 1, 3]
    delta = blueprint([0.9, 0.8, 0.995], delta=0.02).steps
    assert delta["target_p"].tolist() == pytest.approx([0.92, 0.82, 1.0])
    # the gain of +delta is R*delta/p: the lowest p gains most
    r = 0.9 * 0.8 * 0.995
    assert delta["gain_if_fixed"].iloc[1] == pytest.approx(r * 0.02 / 0.8)


def test_wilson_and_jeffreys_intervals_of_estimated_steps() -> None:
    data = [(95, 100), (490, 500), (20, 20)]
    wilson = blueprint(data).steps
    expected = wilson_interval(np.array([0.95, 0.98, 1.0]), np.array([100.0, 500.0, 20.0]))
    assert wilson["ci_low"].to_numpy() == pytest.approx(expected.low)
    assert wilson["ci_high"].to_numpy() == pytest.approx(expected.high)
    jeff = blueprint(data, interval="jeffreys").steps
    low = stats.beta.ppf(0.025, [95.5, 490.5, 20.5], [5.5, 10.5, 0.5])
    high = stats.beta.ppf(0.975, [95.5, 490.5, 20.5], [5.5, 10.5, 0.5])
    high[2] = 1.0  # no failure: the upper bound is 1 (Brown, Cai & DasGupta 2001)
    assert jeff["ci_low"].to_numpy() == pytest.approx(low)
    assert jeff["ci_high"].to_numpy() == pytest.approx(high)
    low0, _ = jeffreys_interval([0], [10])
    assert low0[0] == 0.0


def test_delta_interval_is_the_log_scale_formula() -> None:
    result = blueprint([(90, 100), (45, 50), 0.99])
    r = 0.9 * 0.9 * 0.99
    se = math.sqrt(0.1 / (100 * 0.9) + 0.1 / (50 * 0.9))
    z = stats.norm.ppf(0.975)
    assert result.overall["ci_low"].item() == pytest.approx(r * math.exp(-z * se))
    assert result.overall["ci_high"].item() == pytest.approx(r * math.exp(z * se))


@pytest.mark.parametrize("method", ["delta", "beta"])
def test_product_interval_covers_the_truth(method: str) -> None:
    """Simulation: the 95 % interval of R covers the true R about 95 % of the time."""
    rng = np.random.default_rng(11)
    p = np.array([0.97, 0.9, 0.95, 0.99, 0.93])
    n = np.array([200, 150, 300, 100, 250])
    truth = p.prod()
    reps = 300
    hits = 0
    for _ in range(reps):
        s = rng.binomial(n, p)
        result = blueprint(
            list(zip(s.tolist(), n.tolist(), strict=True)),
            product_interval=method,
            n_draws=2000,
            seed=int(rng.integers(1 << 30)),
        )
        row = result.overall.iloc[0]
        hits += int(row["ci_low"] <= truth <= row["ci_high"])
    assert 0.91 <= hits / reps <= 0.985


def test_beta_mode_is_seeded_and_says_how_sure_the_first_fix_is() -> None:
    data = [(99, 100), (420, 500), (46, 50)]
    a = blueprint(data, product_interval="beta", seed=3)
    b = blueprint(data, product_interval="beta", seed=3)
    pd.testing.assert_frame_equal(a.steps, b.steps)
    assert a.steps["p_first"].sum() == pytest.approx(1.0)
    assert a.steps["p_first"].iloc[1] > 0.9  # 0.84 is clearly the weakest step
    assert (a.steps["gain_ci_low"] <= a.steps["gain_ci_high"]).all()
    assert a.settings["seed"] == 3


def test_whatif_with_estimated_steps_keeps_the_interval_of_the_others() -> None:
    result = blueprint([(90, 100), (45, 50)], improve={"2": 0.99})
    w = result.whatif.iloc[0]
    assert w["overall_after"] == pytest.approx(0.9 * 0.99)
    se = math.sqrt(0.1 / (100 * 0.9))
    z = stats.norm.ppf(0.975)
    assert w["ci_low"] == pytest.approx(0.9 * 0.99 * math.exp(-z * se))


def test_steps_from_a_table_with_names_in_two_languages() -> None:
    frame = pd.DataFrame(
        {
            "step": ["order", "visit", "install"],
            "name_zh": ["受理", "上门", "安装"],
            "name_en": ["Order", "Visit", "Install"],
            "successes": [99, 88, None],
            "attempts": [100, 100, None],
            "p": [None, None, 0.97],
        }
    )
    result = blueprint(frame, improve={"上门": 0.95})
    assert result.steps["name"].tolist() == ["order", "visit", "install"]
    assert result.steps["estimated"].tolist() == [True, True, False]
    assert result.whatif_steps["name_zh"].tolist() == ["上门"]
    assert result.overall["fix_first"].item() == "visit"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("steps", "key"),
    [
        ([0.9, 1.2], "blueprint.bad_p"),
        ([0.9, "x"], "blueprint.bad_p"),
        ([(5, 4)], "blueprint.bad_counts"),
        ([{"name": "a", "p": 0.9, "successes": 9, "attempts": 10}], "blueprint.p_and_counts"),
        ([{"name": "a"}], "blueprint.no_value"),
        ([], "blueprint.no_steps"),
        ([{"name": "a", "p": 0.9}, {"name": "a", "p": 0.8}], "blueprint.duplicate_step"),
    ],
)
def test_bad_steps_say_which_step(steps: list[object], key: str) -> None:
    with pytest.raises(ValidationError) as info:
        blueprint(steps)
    assert info.value.key == key


def test_bad_table_cells_name_row_and_column() -> None:
    frame = pd.DataFrame({"step": ["a", "b"], "successes": [9, "lots"], "attempts": [10, 10]})
    with pytest.raises(ValidationError) as info:
        steps_from_frame(frame)
    assert info.value.params == {"row": 3, "column": "successes", "value": "lots"}
    frame = pd.DataFrame({"step": ["a", "b"], "p": [0.9, 1.5]})
    with pytest.raises(ValidationError) as info:
        steps_from_frame(frame, header_row=2)
    assert info.value.key == "blueprint.bad_p_row"
    assert info.value.params["row"] == 4
    assert "Row 4" in str(info.value)
    with pytest.raises(ColumnNotFoundError):
        steps_from_frame(pd.DataFrame({"step": ["a"], "successes": [1]}))


def test_unknown_step_and_bad_options() -> None:
    with pytest.raises(ValidationError, match="no step"):
        blueprint([0.9, 0.8], improve={"nope": 0.9})
    with pytest.raises(ValidationError):
        blueprint([0.9, 0.8], improve={1: 1.5})
    with pytest.raises(ValidationError):
        blueprint([0.9], interval="exact")
    with pytest.raises(ValidationError):
        blueprint([0.9], target=2)
    with pytest.raises(AllegianceError):
        blueprint([0.9], confidence=1.5)


def test_a_zero_step_falls_back_to_the_simulation_interval() -> None:
    result = blueprint([(0, 10), (9, 10)])
    assert result.reliability == 0.0
    assert result.settings["product_interval"] == "beta"
    assert [w.key for w in result.warnings] == [
        "blueprint.few_attempts",
        "blueprint.delta_fallback",
    ]


# --------------------------------------------------------------------------- invariants

probs = st.lists(st.floats(0.01, 1.0, allow_nan=False), min_size=1, max_size=12)


@given(probs)
def test_overall_reliability_is_at_most_the_weakest_step(p: list[float]) -> None:
    result = blueprint(p)
    assert 0.0 <= result.reliability <= min(p) + 1e-12
    steps = result.steps
    assert (steps["gain_if_fixed"] >= 0).all()
    assert (steps["overall_if_fixed"] >= result.reliability - 1e-12).all()
    assert (steps["overall_if_fixed"] <= 1.0 + 1e-12).all()
    assert sorted(steps["fix_rank"]) == list(range(1, len(p) + 1))
    if result.reliability < 1:
        assert steps["failure_share"].sum() == pytest.approx(1.0)


@given(probs, st.data())
def test_improving_a_step_never_lowers_the_reliability(p: list[float], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(p) - 1))
    new = data.draw(st.floats(p[i], 1.0))
    result = blueprint(p, improve={i + 1: new})
    assert result.improved is not None
    assert result.improved >= result.reliability - 1e-12
    assert 0.0 <= result.improved <= 1.0


@given(
    st.lists(
        st.tuples(st.integers(1, 500), st.floats(0.0, 1.0)).map(
            lambda t: (round(t[0] * t[1]), t[0])
        ),
        min_size=1,
        max_size=6,
    )
)
def test_estimated_intervals_stay_in_the_unit_interval(counts: list[tuple[int, int]]) -> None:
    result = blueprint(
        [ProcessStep(name=str(i), successes=s, attempts=n) for i, (s, n) in enumerate(counts)]
    )
    steps = result.steps
    assert ((steps["ci_low"] >= 0) & (steps["ci_low"] <= steps["p"] + 1e-12)).all()
    assert ((steps["ci_high"] <= 1) & (steps["ci_high"] >= steps["p"] - 1e-12)).all()
    low, high = result.overall["ci_low"].item(), result.overall["ci_high"].item()
    if not math.isnan(low):
        assert 0.0 <= low <= high <= 1.0
