"""SERVQUAL: the published item structure, a hand-checked example (tests/golden/servqual/),
intervals against scipy's Student t, the zone of tolerance, SERVPERF, errors and invariants."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.methods import servqual as servqual_module
from allegiance.methods.servqual import (
    DIMENSIONS,
    ITEM_DIMENSIONS,
    dimension_items,
    item_columns,
    servqual,
)
from allegiance.results import Result

GOLDEN = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "golden" / "servqual" / "hand_checked.yaml").read_text(
        encoding="utf-8"
    )
)
EXPECTED = GOLDEN["expected"]


def golden_frame() -> pd.DataFrame:
    return pd.DataFrame(GOLDEN["data"])


def golden_result(**extra: Any) -> servqual_module.ServqualResult:
    kwargs: dict[str, Any] = {
        "expectation": ["e1", "e2", "e3"],
        "perception": ["p1", "p2", "p3"],
        "dimensions": GOLDEN["dimensions"],
        "importance": {"reliability": "pts_reliability", "empathy": "pts_empathy"},
        "adequate": ["a1", "a2", "a3"],
        "desired": ["d1", "d2", "d3"],
    }
    kwargs.update(extra)
    return servqual(golden_frame(), **kwargs)


def t_interval(mean: float, sd: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Reference interval from scipy.stats.t (Student's t, n - 1 df)."""
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# Published structure
# --------------------------------------------------------------------------------------------


def test_the_22_items_follow_parasuraman_zeithaml_berry_1988() -> None:
    # PZB (1988), appendix: tangibles 1-4, reliability 5-9, responsiveness 10-13,
    # assurance 14-17, empathy 18-22.
    assert dimension_items(ITEM_DIMENSIONS) == {
        "tangibles": (1, 2, 3, 4),
        "reliability": (5, 6, 7, 8, 9),
        "responsiveness": (10, 11, 12, 13),
        "assurance": (14, 15, 16, 17),
        "empathy": (18, 19, 20, 21, 22),
    }
    assert tuple(dimension_items(ITEM_DIMENSIONS)) == DIMENSIONS
    assert item_columns("sq_e")[0] == "sq_e01"
    assert item_columns("sq_e")[-1] == "sq_e22"


# --------------------------------------------------------------------------------------------
# Hand-checked example
# --------------------------------------------------------------------------------------------


def test_items_hand_checked() -> None:
    result = golden_result()
    items = result.items
    assert items["item"].tolist() == [1, 2, 3]
    assert items["dimension"].tolist() == GOLDEN["dimensions"]
    assert items["n"].tolist() == [4, 4, 4]
    exp = EXPECTED["items"]
    assert items["gap_pe"].tolist() == pytest.approx(exp["gap"])
    assert items["expectation"].tolist() == pytest.approx(exp["expectation"])
    assert items["perception"].tolist() == pytest.approx(exp["perception"])
    assert items["sd"].tolist() == pytest.approx(exp["sd"])
    for i in range(3):
        low, high = t_interval(exp["gap"][i], exp["sd"][i], 4)
        assert items["ci_low"].iloc[i] == pytest.approx(low)
        assert items["ci_high"].iloc[i] == pytest.approx(high)
        se = exp["sd"][i] / 2.0
        assert items["se"].iloc[i] == pytest.approx(se)
        assert items["t_stat"].iloc[i] == pytest.approx(exp["gap"][i] / se)
        assert items["p_value"].iloc[i] == pytest.approx(2 * stats.t.sf(abs(exp["gap"][i] / se), 3))


def test_dimensions_and_scores_hand_checked() -> None:
    result = golden_result()
    dims = result.dimensions
    exp = EXPECTED["dimensions"]
    assert dims["dimension"].tolist() == exp["names"]
    assert dims["n_items"].tolist() == [2, 1]
    assert dims["gap_pe"].tolist() == pytest.approx(exp["gap"])
    assert dims["expectation"].tolist() == pytest.approx(exp["expectation"])
    assert dims["perception"].tolist() == pytest.approx(exp["perception"])
    assert dims["sd"].tolist() == pytest.approx(exp["sd"])
    assert dims["importance_points"].tolist() == pytest.approx(exp["importance_points"])
    assert dims["importance_share"].tolist() == pytest.approx(exp["importance_share"])
    assert result.gaps == pytest.approx(dict(zip(exp["names"], exp["gap"], strict=True)))

    overall = result.overall.set_index("measure")
    ov = EXPECTED["overall"]
    assert result.score == pytest.approx(ov["servqual"])
    assert result.weighted_score == pytest.approx(ov["servqual_weighted"])
    assert overall.loc["servqual", "sd"] ** 2 == pytest.approx(ov["servqual_variance"])
    weighted = np.array(ov["respondent_weighted"])
    low, high = t_interval(weighted.mean(), weighted.std(ddof=1), 4)
    assert overall.loc["servqual_weighted", "ci_low"] == pytest.approx(low)
    assert overall.loc["servqual_weighted", "ci_high"] == pytest.approx(high)
    assert result.warnings == ()


def test_zone_of_tolerance_hand_checked() -> None:
    result = golden_result()
    assert result.zone is not None
    assert result.zone_items is not None
    zi = result.zone_items
    exp = EXPECTED["zone_items"]
    assert zi["msa"].tolist() == pytest.approx(exp["msa"])
    assert zi["mss"].tolist() == pytest.approx(exp["mss"])
    assert zi["adequate"].tolist() == pytest.approx(exp["adequate"])
    assert zi["desired"].tolist() == pytest.approx(exp["desired"])
    assert zi["tolerance"].tolist() == pytest.approx(
        [d - a for a, d in zip(exp["adequate"], exp["desired"], strict=True)]
    )
    assert zi["zone"].tolist() == exp["zone"]
    zd = result.zone
    assert zd["msa"].tolist() == pytest.approx(EXPECTED["zone_dimensions"]["msa"])
    assert zd["mss"].tolist() == pytest.approx(EXPECTED["zone_dimensions"]["mss"])
    # reliability MSA per respondent 0.5, -0.5, 0.5, 1 (hand_checked.yaml)
    msa = np.array([0.5, -0.5, 0.5, 1.0])
    low, high = t_interval(msa.mean(), msa.std(ddof=1), 4)
    assert zd["msa_ci_low"].iloc[0] == pytest.approx(low)
    assert zd["msa_ci_high"].iloc[0] == pytest.approx(high)


def test_zone_below_and_above() -> None:
    # One item each: perception 4 and 5 against adequate 5 and 6 -> MSA -1 (below);
    # perception 6 and 6 against desired 4 and 5 -> MSS 1.5 (above).
    data = pd.DataFrame(
        {
            "e1": [6, 6],
            "p1": [4, 5],
            "a1": [5, 6],
            "d1": [7, 7],
            "e2": [5, 5],
            "p2": [6, 6],
            "a2": [3, 3],
            "d2": [4, 5],
        }
    )
    result = servqual(
        data,
        expectation=["e1", "e2"],
        perception=["p1", "p2"],
        dimensions=["x", "y"],
        adequate=["a1", "a2"],
        desired=["d1", "d2"],
    )
    assert result.zone is not None
    assert result.zone["zone"].tolist() == ["below", "above"]
    assert result.zone["msa"].tolist() == pytest.approx([-1.0, 3.0])
    assert result.zone["mss"].tolist() == pytest.approx([-2.5, 1.5])


def test_servperf_hand_checked() -> None:
    result = golden_result(servperf=True, expectation=None)
    exp = EXPECTED["servperf"]
    assert "gap_pe" not in result.items
    assert result.items["perception"].tolist() == pytest.approx(exp["items"])
    assert result.dimensions["perception"].tolist() == pytest.approx(exp["dimensions"])
    assert result.score == pytest.approx(exp["score"])
    assert result.weighted_score == pytest.approx(exp["weighted"])
    assert result.gaps == {}
    assert set(result.overall["measure"]) == {"servperf", "servperf_weighted"}
    assert "t_stat" not in result.overall
    # CI of the mean perception of item 1: 5, 6, 4, 7 -> mean 5.5, sd sqrt(5/3)
    low, high = t_interval(5.5, math.sqrt(5 / 3), 4)
    assert result.items["ci_low"].iloc[0] == pytest.approx(low)
    assert result.items["ci_high"].iloc[0] == pytest.approx(high)
    assert result.to_dict()["method"] == "servperf"


# --------------------------------------------------------------------------------------------
# Defaults, missing answers, warnings, errors
# --------------------------------------------------------------------------------------------


def standard_frame(n: int = 30, seed: int = 1, pad: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for side in ("e", "p"):
        for i in range(1, 23):
            name = f"sq_{side}{i:02d}" if pad else f"sq_{side}{i}"
            cols[name] = rng.integers(1, 8, n)
    return pd.DataFrame(cols)


@pytest.mark.parametrize("pad", [True, False])
def test_default_columns_and_dimensions(pad: bool) -> None:
    data = standard_frame(pad=pad)
    result = servqual(data)
    assert result.dimensions["dimension"].tolist() == list(DIMENSIONS)
    assert result.dimensions["n_items"].tolist() == [4, 5, 4, 4, 5]
    # Reliability = items 5-9: the mean over respondents of each one's mean item gap.
    rel = [f"sq_p{i:02d}" if pad else f"sq_p{i}" for i in range(5, 10)]
    rel_e = [c.replace("sq_p", "sq_e") for c in rel]
    by_hand = (data[rel].to_numpy() - data[rel_e].to_numpy()).mean(axis=1).mean()
    assert result.gaps["reliability"] == pytest.approx(by_hand)


def test_missing_answers_are_left_out_item_by_item() -> None:
    data = pd.DataFrame({"e1": [7, 6, None], "p1": [5, 6, 6], "e2": [6, 6, 5], "p2": [6, None, 5]})
    result = servqual(
        data, expectation=["e1", "e2"], perception=["p1", "p2"], dimensions=["d", "d"]
    )
    items = result.items
    # item 1 pairs: (7,5), (6,6) -> gaps -2, 0; item 2 pairs: (6,6), (5,5) -> 0, 0
    assert items["n"].tolist() == [2, 2]
    assert items["gap_pe"].tolist() == pytest.approx([-1.0, 0.0])
    assert items["expectation"].tolist() == pytest.approx([6.5, 5.5])
    # respondents: (-2 + 0)/2 = -1, (0)/1 = 0, (0)/1 = 0 -> dimension mean -1/3
    assert result.gaps["d"] == pytest.approx(-1 / 3)
    assert result.dimensions["n"].tolist() == [3]


def test_points_not_100_are_rescaled_with_a_warning() -> None:
    data = golden_frame()
    data["pts_reliability"] = [6, 50, 80, 30]  # first respondent: 6 + 40 = 46 points
    result = servqual(
        data,
        expectation=["e1", "e2", "e3"],
        perception=["p1", "p2", "p3"],
        dimensions=GOLDEN["dimensions"],
        importance={"reliability": "pts_reliability", "empathy": "pts_empathy"},
    )
    assert [w.key for w in result.warnings] == ["servqual.points_rescaled"]
    # first respondent weights 6/46 and 40/46 on gaps -1 and 1 -> 34/46
    scores = np.array([34 / 46, -1.25, -0.4, 1.4])
    assert result.weighted_score == pytest.approx(scores.mean())


def test_respondent_without_points_is_left_out_of_the_weighted_score() -> None:
    data = golden_frame()
    data["pts_reliability"] = [None, 50, 80, 30]
    data["pts_empathy"] = [None, 50, 20, 70]
    result = servqual(
        data,
        expectation=["e1", "e2", "e3"],
        perception=["p1", "p2", "p3"],
        dimensions=GOLDEN["dimensions"],
        importance={"reliability": "pts_reliability", "empathy": "pts_empathy"},
    )
    overall = result.overall.set_index("measure")
    assert overall.loc["servqual_weighted", "n"] == 3
    assert result.weighted_score == pytest.approx((-1.25 - 0.4 + 1.4) / 3)
    assert [w.key for w in result.warnings] == ["servqual.no_points"]


def test_errors() -> None:
    data = golden_frame()
    base: dict[str, Any] = {
        "expectation": ["e1", "e2", "e3"],
        "perception": ["p1", "p2", "p3"],
        "dimensions": GOLDEN["dimensions"],
    }
    bad = data.copy()
    bad["p2"] = bad["p2"].astype(object)
    bad.loc[2, "p2"] = 9
    with pytest.raises(ValidationError) as info:
        servqual(bad, **base)
    assert info.value.key == "servqual.bad_answer"
    assert (info.value.params["column"], info.value.params["row"]) == ("p2", 3)
    bad.loc[2, "p2"] = "good"
    with pytest.raises(ValidationError):
        servqual(bad, **base)
    assert servqual(bad.assign(p2=[1, 2, 3, 4]), **base, scale=None).score is not None
    with pytest.raises(ColumnNotFoundError):
        servqual(data, **{**base, "perception": ["p1", "p2", "nope"]})
    with pytest.raises(ValidationError):
        servqual(data, expectation=["e1"], perception=["p1", "p2"], dimensions=["a", "a"])
    with pytest.raises(ValidationError):
        servqual(data, expectation=["e1", "e2"], perception=["p1", "p2"])  # 2 items, no dims
    with pytest.raises(ValidationError):
        servqual(data, **base, confidence=1.5)
    with pytest.raises(ValidationError):
        servqual(data, **base, scale=(7, 1))
    with pytest.raises(ValidationError):
        servqual(data, **base, adequate=["a1", "a2", "a3"])  # desired missing
    with pytest.raises(ValidationError):
        servqual(data, **base, importance={"reliability": "pts_reliability"})
    with pytest.raises(ValidationError):
        servqual(data, **base, importance={"speed": "pts_reliability", "empathy": "pts_empathy"})
    negative = data.assign(pts_empathy=[40, -50, 20, 70])
    with pytest.raises(ValidationError) as info:
        servqual(
            negative,
            **base,
            importance={"reliability": "pts_reliability", "empathy": "pts_empathy"},
        )
    assert info.value.key == "servqual.bad_points"
    with pytest.raises(ValidationError):
        servqual(data, **{**base, "perception": "p1"})
    with pytest.raises(ValidationError):
        servqual("not a frame", **base)  # type: ignore[arg-type]


def test_adequate_above_desired_warns() -> None:
    data = golden_frame()
    data["a1"] = [7, 6, 4, 5]
    data["d1"] = [6, 7, 6, 7]  # the first respondent puts adequate 7 above desired 6
    result = servqual(
        data,
        expectation=["e1", "e2", "e3"],
        perception=["p1", "p2", "p3"],
        dimensions=GOLDEN["dimensions"],
        adequate=["a1", "a2", "a3"],
        desired=["d1", "d2", "d3"],
    )
    assert [w.key for w in result.warnings] == ["servqual.adequate_above_desired"]
    assert result.warnings[0].params == {"n": 1}


def test_result_contract() -> None:
    result = golden_result()
    assert isinstance(result, Result)
    assert set(result.tables()) == {"items", "dimensions", "overall", "zone", "zone_items"}
    payload = result.to_dict()
    json.dumps(payload)
    assert payload["method"] == "servqual"
    assert payload["score"] == pytest.approx(EXPECTED["overall"]["servqual"])
    assert set(golden_result(adequate=None, desired=None).tables()) == {
        "items",
        "dimensions",
        "overall",
    }


def test_docstring_examples_run() -> None:
    assert doctest.testmod(servqual_module).failed == 0


# --------------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------------

answers = st.lists(
    st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=7)), min_size=4, max_size=4),
    min_size=2,
    max_size=25,
)


@given(answers)
def test_identical_expectation_and_perception_give_zero_gaps(rows: list[list[int | None]]) -> None:
    frame = pd.DataFrame(rows, columns=["q1", "q2", "q3", "q4"], dtype="Float64")
    data = pd.concat([frame.add_prefix("e_"), frame.add_prefix("p_")], axis=1)
    result = servqual(
        data,
        expectation=[f"e_q{i}" for i in range(1, 5)],
        perception=[f"p_q{i}" for i in range(1, 5)],
        dimensions=["x", "x", "y", "y"],
    )
    values = pd.concat([result.items["gap_pe"], result.dimensions["gap_pe"]]).dropna()
    assert (values == 0).all()
    assert result.score is not None
    assert math.isnan(result.score) or result.score == 0.0


@given(answers, answers)
def test_gap_is_perception_minus_expectation_and_shuffle_invariant(
    e_rows: list[list[int | None]], p_rows: list[list[int | None]]
) -> None:
    n = min(len(e_rows), len(p_rows))
    e = pd.DataFrame(e_rows[:n], columns=["e1", "e2", "e3", "e4"], dtype="Float64")
    p = pd.DataFrame(p_rows[:n], columns=["p1", "p2", "p3", "p4"], dtype="Float64")
    data = pd.concat([e, p], axis=1)
    kwargs: dict[str, Any] = {
        "expectation": list(e.columns),
        "perception": list(p.columns),
        "dimensions": ["x", "y", "y", "x"],
    }
    result = servqual(data, **kwargs)
    items = result.items
    ok = items["n"] > 0
    assert np.allclose(
        items.loc[ok, "gap_pe"], items.loc[ok, "perception"] - items.loc[ok, "expectation"]
    )
    dims = result.dimensions
    okd = dims["n"] > 0
    assert np.allclose(
        dims.loc[okd, "gap_pe"], dims.loc[okd, "perception"] - dims.loc[okd, "expectation"]
    )
    # Gaps lie within the scale's range of differences.
    assert ((items.loc[ok, "gap_pe"] >= -6) & (items.loc[ok, "gap_pe"] <= 6)).all()
    shuffled = servqual(data.sample(frac=1.0, random_state=np.random.RandomState(3)), **kwargs)
    for name, frame in result.tables().items():
        pd.testing.assert_frame_equal(frame, shuffled.tables()[name], check_exact=False)
