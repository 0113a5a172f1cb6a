"""RFM, the value pyramid, grading and customer types on hand-made tables (DuckDB and Spark)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.customers import _frames as F

from allegiance.customers.engine import Engine
from allegiance.customers.inputs import read_source
from allegiance.customers.segments import (
    customer_types,
    customer_values,
    grade_scores,
    pyramid_tiers,
    rfm_scores,
    segments,
    summarise_pyramid,
)
from allegiance.errors import ValidationError

D = dt.date


def _by_customer(engine: Engine, expr: object) -> dict[str, dict[str, object]]:
    frame = engine.to_pandas(expr)  # type: ignore[arg-type]
    return frame.set_index("customer").to_dict(orient="index")  # type: ignore[no-any-return]


def test_rfm_pyramid_and_grades_by_hand(engine: Engine) -> None:
    act = read_source(engine, F.RFM, kind="activity")
    values = customer_values(act)
    got = _by_customer(engine, rfm_scores(values, q=4))
    # as of 2024-06-30: c1 last bought Jan 1 (181 days), c2 Mar 15 (107), c3 Jun 30 (0),
    # c4 Jun 1 (29)
    assert {k: v["recency_days"] for k, v in got.items()} == {
        "c1": 181,
        "c2": 107,
        "c3": 0,
        "c4": 29,
    }
    assert {k: v["frequency"] for k, v in got.items()} == {"c1": 1, "c2": 2, "c3": 3, "c4": 1}
    # R: longest ago worst; F: c1 and c4 tie at cume_dist 2/4 -> 2; M: 10 < 15 < 40 < 100
    assert {k: v["rfm"] for k, v in got.items()} == {
        "c1": "1-2-1",
        "c2": "2-3-3",
        "c3": "4-4-2",
        "c4": "3-2-4",
    }
    assert got["c4"]["rfm_score"] == 9
    tiers = (("top", 0.25), ("rest", 0.75))
    tiered = pyramid_tiers(values, tiers=tiers)
    assert {k: v["tier"] for k, v in _by_customer(engine, tiered).items()} == {
        "c1": "rest",
        "c2": "rest",
        "c3": "rest",
        "c4": "top",
    }
    pyr = summarise_pyramid(engine, tiered, tiers=tiers)
    assert pyr["customers"].tolist() == [1, 3]
    assert pyr["share_value"].tolist() == pytest.approx([100 / 165, 65 / 165])
    # rank scaling of monetary alone: 1/4, 3/4, 2/4, 1 -> low, high, medium, high
    graded = _by_customer(engine, grade_scores(values, weights={"monetary": 1}))
    assert {k: v["grade"] for k, v in graded.items()} == {
        "c1": "low",
        "c2": "high",
        "c3": "medium",
        "c4": "high",
    }
    # max scaling, recency reversed: c1 .5*.1 + .5*0 = .05; c2 .5*.4 + .5*74/181;
    # c3 .5*.15 + .5*1 = .575; c4 .5*1 + .5*152/181
    graded = _by_customer(
        engine,
        grade_scores(values, weights={"monetary": 0.5, "recency_days": -0.5}, scaling="max"),
    )
    scores = {k: v["grade_score"] for k, v in graded.items()}
    assert scores == pytest.approx(
        {"c1": 0.05, "c2": 0.2 + 37 / 181, "c3": 0.575, "c4": 0.5 + 76 / 181}
    )
    assert {k: v["grade"] for k, v in graded.items()} == {
        "c1": "low",
        "c2": "medium",
        "c3": "medium",
        "c4": "high",
    }


def test_customer_types_by_hand(engine: Engine) -> None:
    att = read_source(engine, F.ATTITUDES, kind="attitudes")
    got = _by_customer(engine, customer_types(att))
    # each column has mean 5 and the same spread; u4 rates all alike: a tie goes to price
    assert {k: v["customer_type"] for k, v in got.items()} == {
        "u1": "price_sensitive",
        "u2": "service_led",
        "u3": "product_led",
        "u4": "price_sensitive",
    }


def test_segments_summaries(engine: Engine) -> None:
    act = read_source(engine, F.RFM, kind="activity")
    att = read_source(engine, F.ATTITUDES, kind="attitudes")
    r = segments(engine, act, attitudes=att, q=4)
    assert r.rfm["customers"].sum() == 4
    assert r.rfm["share"].sum() == pytest.approx(1.0)
    # with 4 customers the default tiers (1 %, 4 %, 15 %) are empty: everyone is small
    assert r.pyramid["customers"].tolist() == [0, 0, 0, 4]
    assert r.grades["customers"].sum() == 4
    assert r.types is not None
    assert r.types["customers"].tolist() == [2, 1, 1]
    assert set(r.tables()) == {"rfm", "pyramid", "grades", "types"}
    assert r.to_dict()["settings"]["weights"] == {
        "monetary": 0.5,
        "frequency": 0.3,
        "periods_active": 0.2,
    }


def test_settings_are_checked() -> None:
    from allegiance.customers.engine import connect

    with connect() as eng:
        act = read_source(eng, F.RFM, kind="activity")
        values = customer_values(act)
        with pytest.raises(ValidationError, match="2 to 10"):
            rfm_scores(values, q=1)
        with pytest.raises(ValidationError, match="adding up to 1"):
            pyramid_tiers(values, tiers=(("a", 0.5), ("b", 0.4)))
        with pytest.raises(ValidationError, match="nope"):
            grade_scores(values, weights={"nope": 1})
        with pytest.raises(ValidationError, match="cut-offs"):
            grade_scores(values, weights={"monetary": 1}, cuts=(0.2, 0.5))
        with pytest.raises(ValidationError, match="scaling"):
            grade_scores(values, weights={"monetary": 1}, scaling="log")
