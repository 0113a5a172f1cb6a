"""The calculation-standard CSI: hand-worked values, weights, groups, bootstrap, invariants.

Expected numbers are worked out by hand, in the comment beside them or in
tests/golden/csi/worked_examples.yaml (see the README there for why no
published example is used); none was printed by our own code.
"""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import has
from allegiance.methods import csi as csi_mod
from allegiance.methods import scales
from allegiance.methods.csi import CSIResult, csi, csi_weights
from allegiance.results import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "csi" / "worked_examples.yaml"
EXAMPLES = yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))
CODES = (5, 4, 3, 2, 1)


def answers_from_counts(counts: list[int]) -> list[float]:
    """Codes 5..1 repeated by their counts (very satisfied first)."""
    return [float(code) for code, n in zip(CODES, counts, strict=True) for _ in range(n)]


def example_frame(name: str) -> tuple[pd.DataFrame, dict[str, float], dict[str, str] | None]:
    spec = EXAMPLES[name]
    columns = {f"cs_{f}": answers_from_counts(v["counts"]) for f, v in spec["factors"].items()}
    weights = {f: float(v["weight"]) for f, v in spec["factors"].items()}
    crit = {f: v["criterion"] for f, v in spec["factors"].items() if "criterion" in v}
    return pd.DataFrame(columns), weights, crit or None


def factor_row(result: CSIResult, factor: str) -> pd.Series:
    table = result.overall_factors
    return table[table["factor"] == factor].iloc[0]


# ------------------------------------------------------------------------------ worked examples


@pytest.mark.parametrize("name", ["brief", "hundred"])
def test_dc_of_the_brief_example(name: str) -> None:
    data, weights, _ = example_frame(name)
    scores = EXAMPLES[name]["level_scores"]
    result = csi(data, weights=weights, level_scores=scores, n_boot=0)
    row = factor_row(result, "speed")
    assert row["n"] == 10
    assert row["dc"] == pytest.approx(EXAMPLES[name]["expected"]["dc"]["speed"], abs=1e-12)
    assert result.csi == pytest.approx(EXAMPLES[name]["expected"]["csi"], abs=1e-12)
    assert result.csi_100 == pytest.approx(78.0, abs=1e-10)
    # the result says which level scores were used
    assert result.level_scores == tuple(scores)
    assert result.to_dict()["level_scores"] == scores
    assert result.max_score == max(scores)


def test_level_scores_100_to_20_give_the_same_dc_as_5_to_1() -> None:
    data, weights, crit = example_frame("three_criteria")
    five = csi(data, weights=weights, criteria=crit, n_boot=0)
    hundred = csi(
        data, weights=weights, criteria=crit, level_scores=(100, 80, 60, 40, 20), n_boot=0
    )
    np.testing.assert_allclose(five.factors["dc"], hundred.factors["dc"], rtol=0, atol=1e-12)
    assert five.csi == pytest.approx(hundred.csi, abs=1e-12)
    assert hundred.to_dict()["level_scores"] == [100, 80, 60, 40, 20]
    assert hundred.to_dict()["dc_range"] == [0.2, 1.0]


def test_three_criteria_worked_example() -> None:
    data, weights, crit = example_frame("three_criteria")
    expected = EXAMPLES["three_criteria"]["expected"]
    result = csi(data, weights=weights, criteria=crit, n_boot=0)
    assert result.csi == pytest.approx(expected["csi"], abs=1e-12)
    for factor, dc in expected["dc"].items():
        row = factor_row(result, factor)
        assert row["dc"] == pytest.approx(dc, abs=1e-12)
        assert row["contribution"] == pytest.approx(expected["contribution"][factor], abs=1e-12)
        assert row["gap"] == pytest.approx(expected["gap"][factor], abs=1e-12)
        assert row["rank"] == expected["rank"][factor]
        assert row["criterion"] == crit[factor]  # type: ignore[index]
    sub = result.subindices.set_index("criterion")
    assert list(sub.index) == ["content", "quality", "benefit"]  # hierarchy order
    for criterion, value in expected["subindex"].items():
        assert sub.loc[criterion, "subindex"] == pytest.approx(value, abs=1e-12)
        assert sub.loc[criterion, "subindex_100"] == pytest.approx(100 * value, abs=1e-10)
    # criterion weights 0.6, 0.3, 0.1; the sub-indices weighted by them give the CSI back
    assert sub["weight"].tolist() == pytest.approx([0.6, 0.3, 0.1], abs=1e-12)
    assert float((sub["weight"] * sub["subindex"]).sum()) == pytest.approx(0.724, abs=1e-12)
    # contributions add up to the CSI; contributions and gaps to 1
    factors = result.factors
    assert factors["contribution"].sum() == pytest.approx(result.csi, abs=1e-12)
    assert (factors["contribution"] + factors["gap"]).sum() == pytest.approx(1.0, abs=1e-12)
    assert result.weakest()["factor"] == "a"


def test_distribution_holds_the_counts_n_ij() -> None:
    data, weights, crit = example_frame("three_criteria")
    result = csi(data, weights=weights, criteria=crit, n_boot=0)
    dist = result.distribution
    b = dist[dist["factor"] == "b"]
    assert b["count"].tolist() == [0, 2, 4, 3, 1]
    assert b["level"].tolist() == list(scales.FIVE_LEVEL_NAMES)
    assert b["label_zh"].tolist() == ["很满意", "满意", "一般", "不满意", "很不满意"]
    assert b["level_score"].tolist() == [5, 4, 3, 2, 1]
    assert b["share"].tolist() == pytest.approx([0.0, 0.2, 0.4, 0.3, 0.1])


def test_dc_agrees_with_the_five_level_scale() -> None:
    # scales.five_level computes DC = mean / best score on its own; the two must agree.
    data, weights, crit = example_frame("three_criteria")
    result = csi(data, weights=weights, criteria=crit, n_boot=0)
    for factor in weights:
        five = scales.five_level(data, score=f"cs_{factor}")
        assert factor_row(result, factor)["dc"] == pytest.approx(
            float(five.overall["dc"].iloc[0]), abs=1e-12
        )


def test_labels_in_chinese_and_english_are_answers_too() -> None:
    codes = [5, 5, 5, 4, 4, 4, 4, 3, 3, 2]
    zh = {5: "很满意", 4: "满意", 3: "一般", 2: "不满意", 1: "很不满意"}
    en = {
        5: "Very satisfied",
        4: "satisfied",
        3: "NEUTRAL",
        2: "dissatisfied",
        1: "very_dissatisfied",
    }
    for mapping in (zh, en):
        data = pd.DataFrame({"cs_speed": [mapping[c] for c in codes]})
        result = csi(data, weights={"speed": 1.0}, n_boot=0)
        assert result.csi == pytest.approx(0.78, abs=1e-12)  # counts 3, 4, 2, 1, 0 as above


def test_missing_answers_are_not_valid_answers() -> None:
    # counts 3, 4, 2, 1, 0 plus two missing answers: DC stays 39/50; n = 10, n_missing = 2.
    values = [*answers_from_counts([3, 4, 2, 1, 0]), None, float("nan")]
    data = pd.DataFrame({"cs_speed": pd.array(values, dtype="Float64")})
    result = csi(data, weights={"speed": 1.0}, n_boot=0)
    row = factor_row(result, "speed")
    assert (row["n"], row["n_missing"]) == (10, 2)
    assert row["dc"] == pytest.approx(0.78, abs=1e-12)
    assert int(result.overall["n"].iloc[0]) == 12


def test_other_codes() -> None:
    # a questionnaire coding very satisfied as 1 … very dissatisfied as 5
    reversed_codes = [6 - c for c in answers_from_counts([3, 4, 2, 1, 0])]
    data = pd.DataFrame({"q": reversed_codes})
    result = csi(
        data, weights={"speed": 1.0}, columns={"speed": "q"}, codes=(1, 2, 3, 4, 5), n_boot=0
    )
    assert result.csi == pytest.approx(0.78, abs=1e-12)
    assert factor_row(result, "speed")["column"] == "q"


# ------------------------------------------------------------------------------ weights


def test_weights_not_summing_to_one_are_rescaled_with_a_warning() -> None:
    data, _, crit = example_frame("three_criteria")
    result = csi(data, weights={"a": 4, "b": 2, "c": 3, "d": 1}, criteria=crit, n_boot=0)
    assert result.csi == pytest.approx(0.724, abs=1e-12)  # 4:2:3:1 is 0.4:0.2:0.3:0.1
    assert any(w.key == "csi.weights_rescaled" for w in result.warnings)
    assert "10" in str(next(w for w in result.warnings if w.key == "csi.weights_rescaled"))


def test_weights_summing_to_one_within_tolerance_are_used_as_given() -> None:
    data, _, _ = example_frame("three_criteria")
    result = csi(data, weights={"a": 0.4, "b": 0.2, "c": 0.3, "d": 0.1 + 1e-9}, n_boot=0)
    assert not any(w.key == "csi.weights_rescaled" for w in result.warnings)
    assert result.subindices.empty  # no criteria given: no sub-indices


@pytest.mark.parametrize(
    ("weights", "key"),
    [
        ({"a": -0.1, "b": 1.1}, "csi.bad_weight_value"),
        ({"a": float("nan"), "b": 1.0}, "csi.bad_weight_value"),
        ({"a": "x"}, "csi.bad_weight_value"),
        ({"a": True}, "csi.bad_weight_value"),
        ({"a": 0.0, "b": 0.0}, "csi.zero_weights"),
        ({}, "csi.no_weights"),
    ],
)
def test_bad_weights_are_refused(weights: dict, key: str) -> None:
    with pytest.raises(ValidationError) as info:
        csi_weights(weights=weights)
    assert info.value.key == key


def test_weights_or_hierarchy_exactly_one() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        csi_weights()
    with pytest.raises(ValidationError) as info:
        csi_weights(weights={"a": 0.5, "b": 0.5}, criteria={"a": "x"})
    assert info.value.key == "csi.criteria_mismatch"
    assert "b" in str(info.value)


def test_weights_from_a_global_weights_frame() -> None:
    data, weights, crit = example_frame("three_criteria")
    frame = pd.DataFrame(
        {
            "factor": list(weights),
            "criterion": [crit[f] for f in weights],  # type: ignore[index]
            "global_weight": list(weights.values()),
        }
    )
    result = csi(data, hierarchy=frame, n_boot=0)
    assert result.csi == pytest.approx(0.724, abs=1e-12)
    assert result.weights_source == "hierarchy"
    assert result.subindices["criterion"].tolist() == ["content", "quality", "benefit"]


def test_a_factor_missing_from_the_data_is_warned_and_the_rest_reweighted() -> None:
    data, weights, crit = example_frame("three_criteria")
    result = csi(data.drop(columns=["cs_d"]), weights=weights, criteria=crit, n_boot=0)
    assert any(w.key == "csi.factors_missing" and "d" in str(w) for w in result.warnings)
    # over a, b, c (weights 0.4, 0.2, 0.3 → /0.9): (0.304 + 0.108 + 0.258) / 0.9 = 0.67/0.9
    assert result.csi == pytest.approx(0.67 / 0.9, abs=1e-12)
    assert float(result.overall["weight_covered"].iloc[0]) == pytest.approx(0.9, abs=1e-12)
    assert math.isnan(factor_row(result, "d")["dc"])
    assert pd.isna(factor_row(result, "d")["rank"])
    assert factor_row(result, "a")["weight"] == pytest.approx(0.4 / 0.9, abs=1e-12)
    sub = result.subindices.set_index("criterion")
    assert math.isnan(sub.loc["benefit", "subindex"])


def test_a_factor_without_any_answer_is_warned() -> None:
    data, weights, _ = example_frame("three_criteria")
    data["cs_d"] = np.nan
    result = csi(data, weights=weights, n_boot=0)
    assert any(w.key == "csi.factor_no_answers" for w in result.warnings)
    assert result.csi == pytest.approx(0.67 / 0.9, abs=1e-12)


def test_columns_with_the_prefix_but_no_weight_are_named() -> None:
    data, weights, _ = example_frame("three_criteria")
    data["cs_extra"] = 5
    result = csi(data, weights=weights, n_boot=0)
    warning = next(w for w in result.warnings if w.key == "csi.columns_without_weight")
    assert "cs_extra" in str(warning)


def test_no_factor_column_at_all_is_an_error() -> None:
    with pytest.raises(ColumnNotFoundError):
        csi(pd.DataFrame({"x": [1]}), weights={"a": 1.0}, n_boot=0)


def test_few_answers_are_warned() -> None:
    data, weights, _ = example_frame("three_criteria")
    # every factor has 10 answers, fewer than 30: one short warning
    result = csi(data, weights=weights, n_boot=0, min_answers=30)
    warning = next(w for w in result.warnings if w.key == "csi.few_answers_all")
    assert warning.params["n"] == 10
    # only d short of 10 answers (4 removed → 6): named with its count
    data.loc[:3, "cs_d"] = np.nan
    result = csi(data, weights=weights, n_boot=0, min_answers=10)
    warning = next(w for w in result.warnings if w.key == "csi.few_answers")
    assert warning.params["factors"] == "d (6)"
    assert not any(
        w.key.startswith("csi.few_answers")
        for w in csi(data, weights=weights, n_boot=0, min_answers=6).warnings
    )


# ------------------------------------------------------------------------------ bad input


def test_an_answer_off_the_scale_names_the_column_and_value() -> None:
    data = pd.DataFrame({"cs_speed": [5, 4, 7, 3]})
    with pytest.raises(ValidationError) as info:
        csi(data, weights={"speed": 1.0}, n_boot=0)
    assert "cs_speed" in str(info.value)
    assert "7" in str(info.value)
    with pytest.raises(ValidationError, match="'cs_speed' holds great"):
        csi(pd.DataFrame({"cs_speed": ["很满意", "great"]}), weights={"speed": 1.0}, n_boot=0)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"level_scores": (5, 4, 3)}, "csi.bad_five"),
        ({"level_scores": (0, 0, 0, 0, 0)}, "csi.bad_level_scores"),
        ({"level_scores": (5, 4, 3, 2, -1)}, "csi.bad_level_scores"),
        ({"codes": (5, 5, 3, 2, 1)}, "csi.bad_five"),
        ({"n_boot": -1}, "csi.bad_n_boot"),
        ({"n_boot": 1.5}, "csi.bad_n_boot"),
        ({"confidence": 1.0}, "csi.bad_confidence"),
        ({"seed": -3}, "csi.bad_seed"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, key: str) -> None:
    with pytest.raises(ValidationError) as info:
        csi(pd.DataFrame({"cs_a": [5]}), weights={"a": 1.0}, **kwargs)
    assert info.value.key == key


def test_bad_survey_weights_and_unknown_columns() -> None:
    data = pd.DataFrame({"cs_a": [5, 4], "w": [1.0, -1.0]})
    with pytest.raises(ValidationError, match="'w'"):
        csi(data, weights={"a": 1.0}, weight="w", n_boot=0)
    with pytest.raises(ColumnNotFoundError):
        csi(data, weights={"a": 1.0}, by="region", n_boot=0)


# ------------------------------------------------------------------------------ groups, weights


def segment_frame() -> pd.DataFrame:
    # segment x: a counts 3, 2, 0, 0, 0 (DC (15 + 8)/25 = 0.92); b 1, 4, 0, 0, 0 (21/25 = 0.84)
    # segment y: a counts 0, 2, 2, 1, 0 (16/25 = 0.64);          b 0, 0, 5, 0, 0 (15/25 = 0.60)
    return pd.DataFrame(
        {
            "cs_a": [5, 5, 5, 4, 4, 4, 4, 3, 3, 2],
            "cs_b": [5, 4, 4, 4, 4, 3, 3, 3, 3, 3],
            "seg": ["x"] * 5 + ["y"] * 5,
        }
    )


def test_by_segment_hand_worked() -> None:
    result = csi(segment_frame(), weights={"a": 0.75, "b": 0.25}, by="seg", n_boot=0)
    index = result.index.set_index("seg")
    # x: 0.75·0.92 + 0.25·0.84 = 0.9; y: 0.75·0.64 + 0.25·0.60 = 0.63
    assert index.loc["x", "csi"] == pytest.approx(0.90, abs=1e-12)
    assert index.loc["y", "csi"] == pytest.approx(0.63, abs=1e-12)
    assert index["n"].tolist() == [5, 5]
    # all rows: 0.75·0.78 + 0.25·0.72 = 0.765 (the module's doctest example)
    assert result.csi == pytest.approx(0.765, abs=1e-12)
    assert set(result.tables()) >= {"index", "overall", "overall_factors", "overall_subindices"}
    y = result.factors[result.factors["seg"] == "y"].set_index("factor")
    assert y.loc["a", "dc"] == pytest.approx(0.64, abs=1e-12)
    assert y.loc["b", "dc"] == pytest.approx(0.60, abs=1e-12)
    no_by = csi(segment_frame(), weights={"a": 0.75, "b": 0.25}, n_boot=0)
    pd.testing.assert_frame_equal(no_by.index, result.overall)
    assert "overall" not in no_by.tables()


def test_survey_weights_equal_duplicated_rows() -> None:
    data = segment_frame()
    w = np.array([1, 2, 1, 3, 1, 1, 2, 1, 1, 2], dtype=float)
    weighted = csi(data.assign(w=w), weights={"a": 0.75, "b": 0.25}, weight="w", n_boot=0)
    repeated = data.loc[data.index.repeat(w.astype(int))].reset_index(drop=True)
    plain = csi(repeated, weights={"a": 0.75, "b": 0.25}, n_boot=0)
    assert weighted.csi == pytest.approx(plain.csi, abs=1e-12)
    # a with weights: 5×(1+2+1) = 20, 4×(3+1+1+2) = 28, 3×(1+1) = 6, 2×2 = 4 → 4, 7, 2, 2 of 15
    # DC = (5·4 + 4·7 + 3·2 + 2·2)/(5·15) = 58/75
    assert factor_row(weighted, "a")["dc"] == pytest.approx(58 / 75, abs=1e-12)
    a = weighted.overall_distribution[weighted.overall_distribution["factor"] == "a"]
    assert a["count"].tolist() == pytest.approx([4, 7, 2, 2, 0])


# ------------------------------------------------------------------------------ bootstrap


def random_answers(n: int, seed: int, *, k: int = 4, missing: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(k):
        values = rng.integers(1, 6, n).astype(float)
        values[rng.random(n) < missing] = np.nan
        data[f"cs_f{i}"] = values
    return pd.DataFrame(data)


WEIGHTS4 = {"f0": 0.4, "f1": 0.3, "f2": 0.2, "f3": 0.1}
CRIT4 = {"f0": "p", "f1": "p", "f2": "q", "f3": "q"}


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    data = random_answers(300, 1)
    one = csi(data, weights=WEIGHTS4, criteria=CRIT4, n_boot=500, seed=7)
    two = csi(data, weights=WEIGHTS4, criteria=CRIT4, n_boot=500, seed=7)
    other = csi(data, weights=WEIGHTS4, criteria=CRIT4, n_boot=500, seed=8)
    pd.testing.assert_frame_equal(one.index, two.index)
    assert one.ci_low != other.ci_low
    assert one.ci_low < one.csi < one.ci_high
    sub = one.subindices
    assert ((sub["ci_low"] < sub["subindex"]) & (sub["subindex"] < sub["ci_high"])).all()
    f = one.factors
    assert ((f["dc_ci_low"] <= f["dc"]) & (f["dc"] <= f["dc_ci_high"])).all()
    # The interval's width is about 2·1.96·se, se of a weighted mean of 300 answers on 0.2..1:
    # each DC has sd ≈ 0.2828/… so the CSI interval is a few hundredths wide, not 0 and not 1.
    assert 0.01 < one.ci_high - one.ci_low < 0.15


def test_bootstrap_interval_matches_the_normal_approximation() -> None:
    # One factor, unweighted: DC is a mean of x/5 over n answers, so the bootstrap interval
    # is close to DC ± 1.96·sd/√n. Answers 1..5 equally often: sd of x/5 = √2/5 = 0.28284.
    n = 2000
    data = pd.DataFrame({"cs_a": np.tile([1.0, 2.0, 3.0, 4.0, 5.0], n // 5)})
    result = csi(data, weights={"a": 1.0}, n_boot=4000, seed=3)
    half = 1.959963984540054 * (math.sqrt(2) / 5) / math.sqrt(n)  # 0.012397
    assert result.csi == pytest.approx(0.6, abs=1e-12)
    assert result.ci_low == pytest.approx(0.6 - half, abs=0.0015)
    assert result.ci_high == pytest.approx(0.6 + half, abs=0.0015)


def test_overall_interval_is_the_same_with_or_without_groups() -> None:
    data = random_answers(300, 5).assign(seg=np.tile(["x", "y", "z"], 100))
    grouped = csi(data, weights=WEIGHTS4, criteria=CRIT4, by="seg", n_boot=200, seed=4)
    alone = csi(data, weights=WEIGHTS4, criteria=CRIT4, n_boot=200, seed=4)
    pd.testing.assert_frame_equal(grouped.overall, alone.index)
    pd.testing.assert_frame_equal(grouped.overall_subindices, alone.subindices)
    # and the groups' streams differ from each other
    assert grouped.index["ci_low"].nunique() == 3


def test_no_bootstrap_gives_empty_intervals() -> None:
    result = csi(random_answers(50, 2), weights=WEIGHTS4, n_boot=0)
    assert math.isnan(result.ci_low)
    assert result.to_dict()["interval"] is None


def test_bootstrap_by_segment_gives_each_group_its_interval() -> None:
    data = random_answers(400, 4).assign(seg=np.repeat(["x", "y"], 200))
    result = csi(data, weights=WEIGHTS4, by="seg", n_boot=300)
    index = result.index
    assert ((index["ci_low"] < index["csi"]) & (index["csi"] < index["ci_high"])).all()
    # each group has half the respondents, so its interval is wider than the overall one
    overall_width = result.ci_high - result.ci_low
    assert ((index["ci_high"] - index["ci_low"]) > overall_width).all()


# ------------------------------------------------------------------------------ invariants

counts_strategy = st.lists(st.integers(0, 6), min_size=5, max_size=5).filter(lambda c: sum(c) > 0)


@given(
    st.lists(counts_strategy, min_size=1, max_size=5),
    st.lists(st.floats(0.01, 10), min_size=5, max_size=5),
)
def test_csi_lies_between_the_smallest_and_largest_dc(counts: list, raw: list) -> None:
    k = len(counts)
    columns = {}
    size = max(sum(c) for c in counts)
    for i, c in enumerate(counts):
        values = answers_from_counts(c)
        columns[f"cs_f{i}"] = values + [np.nan] * (size - len(values))
    weights = {f"f{i}": raw[i] for i in range(k)}
    result = csi(pd.DataFrame(columns), weights=weights, n_boot=0)
    dc = result.factors["dc"]
    assert dc.min() - 1e-12 <= result.csi <= dc.max() + 1e-12
    # weights summing to 1 and scores 5..1: CSI in [0.2, 1]
    assert 0.2 - 1e-12 <= result.csi <= 1.0 + 1e-12
    assert result.factors["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert result.factors["contribution"].sum() == pytest.approx(result.csi, abs=1e-12)


@given(st.integers(0, 10_000))
def test_invariant_under_row_shuffles(seed: int) -> None:
    data = random_answers(60, 11)
    shuffled = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    a = csi(data, weights=WEIGHTS4, criteria=CRIT4, n_boot=50, seed=5)
    b = csi(shuffled, weights=WEIGHTS4, criteria=CRIT4, n_boot=50, seed=5)
    assert a.csi == pytest.approx(b.csi, abs=1e-12)
    # even the bootstrap: resamples are drawn over sorted answer patterns
    assert a.ci_low == pytest.approx(b.ci_low, abs=1e-12)
    assert a.ci_high == pytest.approx(b.ci_high, abs=1e-12)
    pd.testing.assert_frame_equal(a.factors, b.factors, check_exact=False, atol=1e-12)


# ------------------------------------------------------------------------------ the result


def test_result_contract_and_json() -> None:
    data, weights, crit = example_frame("three_criteria")
    result = csi(data, weights=weights, criteria=crit, n_boot=100)
    assert isinstance(result, Result)
    out = result.to_dict()
    json.dumps(out)
    assert out["method"] == "csi"
    assert out["csi"] == pytest.approx(0.724, abs=1e-12)
    assert set(out["tables"]) == {"index", "subindices", "factors", "distribution"}
    assert list(result.index.columns) == [
        "n",
        "csi",
        "csi_100",
        "ci_low",
        "ci_high",
        "weight_covered",
    ]
    for w in result.warnings:
        assert has(w.key)


def test_every_message_key_is_in_the_catalogue() -> None:
    source = Path(csi_mod.__file__).read_text(encoding="utf-8")
    import re

    keys = set(re.findall(r'"(csi\.[a-z_]+)"', source))
    keys |= {
        f"{k}_group"
        for k in (
            "csi.no_answers",
            "csi.factor_no_answers",
            "csi.few_answers",
            "csi.few_answers_all",
        )
    }
    assert keys
    missing = sorted(k for k in keys if not has(k))
    assert not missing


def test_docstring_examples_run() -> None:
    failures, tried = doctest.testmod(csi_mod, verbose=False)
    assert tried > 0
    assert failures == 0


def test_the_bootstrap_is_vectorised_fast_enough() -> None:
    # 2,000 respondents × 14 factors × 2,000 resamples: one batch of matrix products.
    import time

    rng = np.random.default_rng(0)
    data = pd.DataFrame({f"cs_f{i}": rng.integers(1, 6, 2000) for i in range(14)})
    weights = {f"f{i}": 1 / 14 for i in range(14)}
    start = time.perf_counter()
    csi(data, weights=weights, n_boot=2000)
    assert time.perf_counter() - start < 5.0


# ------------------------------------------------------------------------------ the template


def test_the_shipped_hierarchy_is_consistent_and_matches_the_demo_survey() -> None:
    from allegiance.generate import vocab
    from allegiance.methods import ahp
    from allegiance.templates import template_path

    path = template_path("hierarchies", "calculation_standard")
    hierarchy = ahp.load_hierarchy(path)
    result = ahp.analyze(hierarchy)
    table = result.node_table
    assert set(table["node"]) == {"csi", "service_content", "service_quality", "benefit"}
    assert (table["cr"] < 0.1).all(), table[["node", "cr"]]
    assert table["consistent"].all()
    assert result.cr < 0.1
    # SPEC section 4: three criteria and fourteen factors, the ids of the demo survey's columns
    weights = result.global_weights
    expected = [f for group in vocab.CS_FACTORS.values() for f in group]
    assert weights["factor"].tolist() == expected
    for criterion, factors in vocab.CS_FACTORS.items():
        assert weights.loc[weights["criterion"] == criterion, "factor"].tolist() == list(factors)
    assert weights["global_weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (weights["global_weight"] > 0).all()
    for node in hierarchy.nodes():
        assert node.name, node.id
        assert node.name_zh, node.id
    # the analysed hierarchy feeds csi() directly, with its consistency summary
    answers = pd.DataFrame({f"cs_{f}": [5, 4, 3] for f in expected})
    out = csi(answers, hierarchy=result, n_boot=0, min_answers=0)
    assert out.hierarchy_cr == pytest.approx(result.cr)
    assert out.consistency["node"].tolist() == table["node"].tolist()
    assert out.csi == pytest.approx(0.8, abs=1e-12)  # every factor DC = (5+4+3)/15
    assert not out.warnings
    # a parsed hierarchy is analysed with the defaults
    assert csi(answers, hierarchy=hierarchy, n_boot=0).csi == pytest.approx(0.8, abs=1e-12)


def test_a_hierarchy_leaf_may_name_its_answer_column() -> None:
    from allegiance.methods import ahp

    hierarchy = ahp.parse_hierarchy(
        {
            "goal": {
                "id": "g",
                "children": [
                    {"id": "speed", "column": "q7"},
                    {"id": "price"},  # no column: cs_price
                ],
                "judgements": {"upper": [[3]]},  # speed 0.75, price 0.25
            }
        }
    )
    answers = pd.DataFrame(
        {
            "q7": [5, 5, 5, 4, 4, 4, 4, 3, 3, 2],  # DC 0.78
            "cs_price": [5, 4, 4, 4, 4, 3, 3, 3, 3, 3],  # DC 0.72
        }
    )
    result = csi(answers, hierarchy=ahp.analyze(hierarchy), n_boot=0)
    assert result.csi == pytest.approx(0.765, abs=1e-12)  # 0.75·0.78 + 0.25·0.72
    assert factor_row(result, "speed")["column"] == "q7"
    # columns= still wins over the hierarchy's column
    renamed = answers.rename(columns={"q7": "other"})
    again = csi(renamed, hierarchy=ahp.analyze(hierarchy), columns={"speed": "other"}, n_boot=0)
    assert again.csi == pytest.approx(0.765, abs=1e-12)
