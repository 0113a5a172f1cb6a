"""The ``journey`` module: touchpoint ratings and delivered-value components recover their truth.

Uses the session's big company (tests/generate/conftest.py: 20,000 respondents).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allegiance.generate.journey as journey  # registers the module
from allegiance.generate import DemoConfig, GeneratedData, generate, registered, unregister
from allegiance.generate import register as register_module
from allegiance.methods.drivers import importance
from allegiance.methods.touchpoints import delivered_value, touchpoints

TOUCHPOINTS = [f"tp_{c}" for c in journey.TOUCHPOINTS]


@pytest.fixture(scope="module")
def table(big: GeneratedData) -> pd.DataFrame:
    survey = big.tables["survey_responses"][["respondent_key", "customer_id"]]
    segments = big.tables["customers"][["customer_id", "segment"]].astype({"segment": str})
    linked = survey.merge(segments, on="customer_id", how="left", validate="one_to_one")
    return big.tables["journey"].merge(linked, on="respondent_key", validate="one_to_one")


@pytest.fixture(scope="module")
def truth(big: GeneratedData) -> dict:
    return big.truth["journey"]


def _tol(sd: float, n: int) -> float:
    return 4.0 * sd / np.sqrt(n) + 1e-3


def test_one_row_per_respondent(small: GeneratedData) -> None:
    frame = small.tables["journey"]
    survey = small.tables["survey_responses"]
    assert frame["respondent_key"].tolist() == survey["respondent_key"].tolist()
    # the customer id links to the customers table (segment ...) without a hand join
    assert frame["customer_id"].tolist() == survey["customer_id"].tolist()
    expected = [
        "respondent_key",
        "customer_id",
        *TOUCHPOINTS,
        "tp_overall",
        *journey.COMPONENTS["value"],
        *journey.COMPONENTS["cost"],
    ]
    assert list(frame.columns) == expected
    for column in TOUCHPOINTS:
        values = frame[column].dropna()
        assert values.between(1, 5).all()
    assert frame["tp_overall"].between(1, 10).all()
    for column in (*journey.COMPONENTS["value"], *journey.COMPONENTS["cost"]):
        assert frame[column].between(0, 10).all()
        assert frame[column].notna().all()


def test_adding_the_module_leaves_other_tables_alone() -> None:
    config = DemoConfig(customers=900, months=3, seed=5)
    with_journey = generate(config)
    module = registered()["journey"]
    unregister("journey")
    try:
        without = generate(config)
    finally:
        register_module(module, replace=True)
    assert "journey" in with_journey.tables
    assert "journey" not in without.tables
    for name, frame in without.tables.items():
        pd.testing.assert_frame_equal(with_journey.tables[name], frame)


def test_who_rated_each_touchpoint(table: pd.DataFrame, truth: dict) -> None:
    n = len(table)
    for code, share in truth["rated"].items():
        rated = table[f"tp_{code}"].notna().mean()
        assert rated == pytest.approx(share, abs=_tol(np.sqrt(share * (1 - share)), n)), code
    complaint = table["tp_complaint"].notna()
    assert not (complaint & table["tp_hotline"].isna()).any()  # only hotline users rate it


def test_touchpoint_means_and_top2_match_truth(table: pd.DataFrame, truth: dict) -> None:
    for code, info in truth["touchpoints"].items():
        answers = table[f"tp_{code}"].dropna().astype(float)
        assert answers.mean() == pytest.approx(
            info["expected_mean"], abs=_tol(answers.std(), len(answers))
        ), code
        top2 = (answers >= 4).mean()
        p = info["expected_top2"]
        assert top2 == pytest.approx(p, abs=_tol(np.sqrt(p * (1 - p)), len(answers))), code
        consumer = table.loc[table["segment"] == "consumer", f"tp_{code}"].dropna()
        expected = info["by_segment"]["consumer"]["expected_mean"]
        assert consumer.mean() == pytest.approx(expected, abs=_tol(1.2, len(consumer))), code


def test_importance_is_recovered(table: pd.DataFrame, truth: dict) -> None:
    result = importance(
        table, items=TOUCHPOINTS, target="tp_overall", method="shapley", missing="pairwise"
    )
    true_share = np.array([truth["touchpoints"][c]["share"] for c in journey.TOUCHPOINTS])
    # Cutting the experiences into five levels attenuates every correlation a little; the
    # shares of R² are nearly unaffected (checked at n = 20,000).
    np.testing.assert_allclose(result.table["pct_r2"].to_numpy(), true_share, atol=0.03)
    order = result.table.sort_values("importance", ascending=False)["item"].tolist()
    assert [o.removeprefix("tp_") for o in order[:2]] == truth["by_importance"][:2]
    assert result.r2 == pytest.approx(truth["r2"], abs=0.06)
    assert result.r2 < truth["r2"]  # attenuated, never inflated


def test_weakest_touchpoint_is_recovered(table: pd.DataFrame, truth: dict) -> None:
    result = touchpoints(
        table, touchpoints=TOUCHPOINTS, overall="tp_overall", scale=(1, 5), missing="pairwise"
    )
    assert result.weakest == f"tp_{truth['weakest']}" == "tp_billing"
    impact = result.table.set_index("touchpoint")["impact"]
    for code, info in truth["touchpoints"].items():
        assert impact[f"tp_{code}"] == pytest.approx(info["impact"], abs=0.015), code


def test_delivered_value_by_segment_is_recovered(table: pd.DataFrame, truth: dict) -> None:
    result = delivered_value(
        table,
        value=list(journey.COMPONENTS["value"]),
        cost=list(journey.COMPONENTS["cost"]),
        by="segment",
    )
    dv = truth["delivered_value"]
    rows = result.table.set_index("segment")
    for segment, expected in dv["by_segment"].items():
        row = rows.loc[segment]
        tol = 4.0 * row["delivered_value_se"] + 1e-3
        assert row["delivered_value"] == pytest.approx(expected["delivered_value"], abs=tol)
        assert row["total_value"] == pytest.approx(
            expected["total_value"], abs=4 * (row["total_value_ci_high"] - row["total_value"])
        )
    overall = result.overall.iloc[0]
    assert overall["delivered_value"] == pytest.approx(
        dv["overall"]["delivered_value"], abs=4.0 * overall["delivered_value_se"]
    )
    # the segments differ as designed: government and enterprise receive the most value
    assert rows.loc["sme", "delivered_value"] < rows.loc["consumer", "delivered_value"]
    assert rows.loc["government", "delivered_value"] > rows.loc["consumer", "delivered_value"]
