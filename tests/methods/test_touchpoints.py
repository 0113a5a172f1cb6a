"""Touchpoints (moments of truth) and customer delivered value: hand-checked figures,
invariants and errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ValidationError
from allegiance.methods import drivers
from allegiance.methods.touchpoints import delivered_value, touchpoints

T975 = {3: 3.182446305284263, 4: 2.7764451051977987}


def _journey(seed: int = 0, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(n)
    lat = np.column_stack([0.5 * base + rng.standard_normal(n) for _ in range(3)])
    overall = lat @ np.array([0.2, 0.8, 0.4]) + rng.standard_normal(n)
    codes = np.clip(np.round(3 + lat + np.array([0.8, -0.6, 0.0])), 1, 5)
    frame = pd.DataFrame(codes, columns=["tp_a", "tp_b", "tp_c"])
    frame.loc[rng.random(n) < 0.4, "tp_c"] = np.nan  # not everyone goes through c
    frame["overall"] = np.clip(np.round(6 + 1.5 * overall), 1, 10)
    frame["segment"] = np.where(rng.random(n) < 0.7, "consumer", "business")
    return frame


def test_touchpoint_figures_follow_their_definitions() -> None:
    frame = _journey()
    result = touchpoints(
        frame, touchpoints=["tp_a", "tp_b", "tp_c"], overall="overall", scale=(1, 5)
    )
    table = result.table
    assert table["touchpoint"].tolist() == ["tp_a", "tp_b", "tp_c"]
    means = frame[["tp_a", "tp_b", "tp_c"]].mean().to_numpy()
    np.testing.assert_allclose(table["mean"], means)
    np.testing.assert_allclose(
        table["top2_box"], (frame[["tp_a", "tp_b", "tp_c"]] >= 4).sum() / frame.notna().sum()[:3]
    )
    assert table["n"].tolist() == frame[["tp_a", "tp_b", "tp_c"]].notna().sum().tolist()
    # importance: the Shapley values of drivers.importance with pairwise correlations
    imp = drivers.importance(
        frame, items=["tp_a", "tp_b", "tp_c"], target="overall", missing="pairwise"
    )
    np.testing.assert_allclose(table["importance"], imp.table["importance"])
    share = imp.table["importance"] / imp.table["importance"].sum()
    np.testing.assert_allclose(table["share"], share)
    headroom = (5 - means) / 4
    np.testing.assert_allclose(table["headroom"], headroom)
    impact = share.to_numpy() * headroom
    np.testing.assert_allclose(table["impact"], impact)
    np.testing.assert_allclose(table["impact_share"].sum(), 1.0)
    weakest = ["tp_a", "tp_b", "tp_c"][int(np.argmax(impact))]
    assert result.weakest == weakest == "tp_b"  # most important and lowest scoring
    assert table.loc[table["touchpoint"] == "tp_b", "impact_rank"].iloc[0] == 1
    assert result.summary["r2"].iloc[0] == pytest.approx(imp.r2)


def test_top2_headroom_and_groups() -> None:
    frame = _journey(1)
    result = touchpoints(
        frame,
        touchpoints=["tp_a", "tp_b", "tp_c"],
        overall="overall",
        by="segment",
        performance="top2",
        scale=(1, 5),
    )
    table = result.table
    assert table["segment"].tolist() == ["business"] * 3 + ["consumer"] * 3
    business = frame[frame["segment"] == "business"]
    np.testing.assert_allclose(
        table.loc[table["segment"] == "business", "mean"], business[["tp_a", "tp_b", "tp_c"]].mean()
    )
    np.testing.assert_allclose(table["headroom"], 1 - table["top2_box"])
    np.testing.assert_allclose(table["performance"], table["top2_box"])
    assert set(result.tables()) == {
        "touchpoints",
        "touchpoint_summary",
        "touchpoints_overall",
        "touchpoint_summary_overall",
    }
    assert result.summary["segment"].tolist() == ["business", "consumer"]
    assert result.to_dict()["weakest"] == result.weakest


def test_small_group_keeps_performance_and_warns() -> None:
    frame = _journey(2, n=300)
    frame.loc[:5, "segment"] = "tiny"
    result = touchpoints(
        frame, touchpoints=["tp_a", "tp_b", "tp_c"], overall="overall", by="segment", scale=(1, 5)
    )
    tiny = result.table[result.table["segment"] == "tiny"]
    assert tiny["mean"].notna().all()
    assert tiny["importance"].isna().all()
    assert any(
        w.key == "touchpoints.no_importance" and "tiny" in w.params["group"]
        for w in result.warnings
    )


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 5000), shuffle=st.integers(0, 5000))
def test_touchpoints_do_not_depend_on_row_order(seed: int, shuffle: int) -> None:
    frame = _journey(seed, n=200)
    order = np.random.default_rng(shuffle).permutation(len(frame))
    a = touchpoints(frame, touchpoints=["tp_a", "tp_b", "tp_c"], overall="overall", scale=(1, 5))
    b = touchpoints(
        frame.iloc[order].reset_index(drop=True),
        touchpoints=["tp_a", "tp_b", "tp_c"],
        overall="overall",
        scale=(1, 5),
    )
    for column in ("mean", "top2_box", "importance", "impact"):
        np.testing.assert_allclose(a.table[column], b.table[column], atol=1e-10)
    assert math.isclose(float(a.table["impact_share"].sum()), 1.0)


# ----------------------------------------------------------------------------- delivered value


def test_delivered_value_hand_checked() -> None:
    frame = pd.DataFrame(
        {
            "v_product": [8, 6, 9, 7, 5],
            "v_service": [6, 6, 7, 5, np.nan],
            "c_money": [4, 5, 2, 6, 3],
            "c_time": [2, 3, 2, 4, 1],
            "seg": ["a", "a", "b", "b", "b"],
        }
    )
    result = delivered_value(frame, value=["v_product", "v_service"], cost=["c_money", "c_time"])
    # Complete rows 0-3: total value 7, 6, 8, 6; total cost 3, 4, 2, 5; delivered 4, 2, 6, 1.
    row = result.table.iloc[0]
    assert row["n"] == 4
    assert row["n_missing"] == 1
    assert row["total_value"] == pytest.approx(6.75)
    assert row["total_cost"] == pytest.approx(3.5)
    assert row["delivered_value"] == pytest.approx(3.25)
    # sd of (4, 2, 6, 1) = sqrt(((.75)²+(1.25)²+(2.75)²+(2.25)²)/3) = sqrt(14.75/3)
    se = math.sqrt(14.75 / 3) / 2
    assert row["delivered_value_se"] == pytest.approx(se)
    assert row["delivered_value_ci_low"] == pytest.approx(3.25 - T975[3] * se)
    assert row["positive_share"] == 1.0
    components = result.components
    assert components["component"].tolist() == ["v_product", "v_service", "c_money", "c_time"]
    assert components["side"].tolist() == ["value", "value", "cost", "cost"]
    np.testing.assert_allclose(components["mean"], [7.5, 6.0, 4.25, 2.75])
    assert result.delivered == pytest.approx(3.25)


def test_delivered_value_weights_and_groups() -> None:
    frame = pd.DataFrame(
        {
            "v1": [8, 6, 9, 7, 5, 7],
            "v2": [6, 6, 7, 5, 4, 9],
            "c1": [4, 5, 2, 6, 3, 1],
            "seg": ["a", "a", "b", "b", "b", "b"],
        }
    )
    result = delivered_value(frame, value={"v1": 3, "v2": 1}, cost=["c1"], by="seg")
    assert result.value_weights == (0.75, 0.25)
    a = result.table.iloc[0]
    # a: values 0.75·8+0.25·6 = 7.5 and 6; costs 4, 5 → delivered 3.5, 1 → mean 2.25
    assert a["seg"] == "a"
    assert a["delivered_value"] == pytest.approx(2.25)
    b = result.table.iloc[1]
    # b: values 8.5, 6.5, 4.75, 7.5; costs 2, 6, 3, 1 → delivered 6.5, 0.5, 1.75, 6.5
    assert b["delivered_value"] == pytest.approx((6.5 + 0.5 + 1.75 + 6.5) / 4)
    assert b["positive_share"] == 1.0
    assert result.overall["n"].iloc[0] == 6
    np.testing.assert_allclose(
        result.table["delivered_value"], result.table["total_value"] - result.table["total_cost"]
    )
    assert set(result.tables()) == {
        "delivered_value",
        "value_components",
        "delivered_value_overall",
        "value_components_overall",
    }


def test_delivered_value_errors() -> None:
    frame = pd.DataFrame({"v": [1, 2], "c": [2, 1]})
    with pytest.raises(ValidationError) as twice:
        delivered_value(frame, value=["v", "c"], cost=["c"])
    assert twice.value.key == "touchpoints.component_twice"
    with pytest.raises(ValidationError) as weights:
        delivered_value(frame, value={"v": -1}, cost=["c"])
    assert weights.value.key == "touchpoints.bad_weights"
    with pytest.raises(ValidationError) as empty:
        delivered_value(frame, value=[], cost=["c"])
    assert empty.value.key in ("touchpoints.no_components", "drivers.no_items")
    with pytest.raises(ValidationError) as method:
        touchpoints(frame, touchpoints=["v"], overall="c", method="stated")
    assert method.value.key == "drivers.bad_option"
