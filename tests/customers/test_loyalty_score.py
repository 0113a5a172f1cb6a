"""The AHP loyalty score: factors, DC_i normalisations and the weighted 0-100 score by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from allegiance.customers.engine import Engine
from allegiance.customers.loyalty_score import factor_table, loyalty_score, weights_from_hierarchy
from allegiance.errors import InputError
from allegiance.methods import ahp
from allegiance.templates import template_path

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b"],
        "nature": ["key_government", "retail"],
        "join_date": [dt.date(2020, 1, 1), dt.date(2023, 1, 1)],
    }
)
ACTIVITY = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "b"],
        "month": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)] * 2,
        "products_held": [4, 2, 1, 1],
    }
)
FACTS = pd.DataFrame(
    {
        "customer_id": ["a", "b"],
        "product_types": [3, 1],
        "sole_supplier": [True, False],
        "ever_switched": [False, True],
    }
)


def test_factors_and_max_normalisation_by_hand(engine: Engine) -> None:
    table = factor_table(engine, CUSTOMERS, ACTIVITY, facts=FACTS)
    got = engine.to_pandas(table).sort_values("customer_id", ignore_index=True)
    # a: nature 6, 2 products in 2024-02, tenure 49 months, 3 types, sole, never switched
    assert got.iloc[0][
        ["nature", "products_held", "tenure", "product_breadth", "sole_supplier", "never_switched"]
    ].tolist() == [6, 2, 49, 3, 1, 0 + 1]
    assert got.iloc[1][
        ["nature", "products_held", "tenure", "product_breadth", "sole_supplier", "never_switched"]
    ].tolist() == [1, 1, 13, 1, 0, 0]
    weights = {"nature": 0.5, "tenure": 0.5}
    res = loyalty_score(engine, table, weights=weights)
    scores = dict(zip(res.scores["customer_id"], res.scores["score"], strict=False))
    # DC = X / X_max: a = 100 (max of both), b = 100 * (0.5 * 1/6 + 0.5 * 13/49)
    assert scores["a"] == pytest.approx(100.0)
    assert scores["b"] == pytest.approx(100 * (0.5 / 6 + 0.5 * 13 / 49))
    minmax = loyalty_score(engine, table, weights=weights, normalisation="minmax")
    assert dict(zip(minmax.scores["customer_id"], minmax.scores["score"], strict=False))[
        "b"
    ] == pytest.approx(0)
    capped = loyalty_score(
        engine, table, weights=weights, normalisation="cap", caps={"nature": 6, "tenure": 24}
    )
    assert dict(zip(capped.scores["customer_id"], capped.scores["score"], strict=False))[
        "b"
    ] == pytest.approx(100 * (0.5 / 6 + 0.5 * 13 / 24))


def test_shipped_hierarchy_weights_and_missing_facts(engine: Engine) -> None:
    analysed = ahp.analyze(ahp.load_hierarchy(template_path("hierarchies", "loyalty_standard")))
    w = weights_from_hierarchy(analysed)
    assert set(w) == {
        "nature",
        "products_held",
        "tenure",
        "product_breadth",
        "sole_supplier",
        "never_switched",
    }
    assert sum(w.values()) == pytest.approx(1.0)
    assert analysed.consistent
    table = factor_table(engine, CUSTOMERS, ACTIVITY)  # no facts: two factors unknown
    res = loyalty_score(engine, table)
    assert {m.params["factor"] for m in res.warnings} == {"sole_supplier", "never_switched"}
    assert res.weights["weight"].sum() == pytest.approx(1.0)
    assert res.scores["score"].between(0, 100).all()
    with pytest.raises(InputError, match="cap"):
        loyalty_score(engine, table, normalisation="cap")
