"""The ``servqual_extra`` generator: importance points and adequate/desired service levels
(table ``servqual_zot``), its independence from the other tables, and recovery of its truths."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from allegiance.generate import DemoConfig, GeneratedData, generate, registered, unregister, vocab
from allegiance.methods.servqual import DIMENSIONS, item_columns, servqual

DOC = Path(__file__).resolve().parents[2] / "docs" / "demo-company-servqual.md"
CJK = re.compile(r"[\u4e00-\u9fff]")
CONFIG = DemoConfig(customers=20000, months=3, seed=11, survey_size=5000)


@pytest.fixture(scope="module")
def module() -> Iterator[ModuleType]:
    """The generator module, registered for these tests (and left as it was found)."""
    was = "servqual_extra" in registered()
    from allegiance.generate import servqual_extra
    from allegiance.generate.registry import register

    register(servqual_extra.MODULE, replace=True)
    yield servqual_extra
    if not was:
        unregister("servqual_extra")


@pytest.fixture(scope="module")
def data(module: ModuleType) -> GeneratedData:
    return generate(CONFIG)


def test_table_shape_keys_and_ranges(data: GeneratedData) -> None:
    zot = data.tables["servqual_zot"]
    survey = data.tables["survey_responses"]
    assert data.sources["servqual_zot"] == "servqual_extra"
    assert len(zot) == len(survey) == CONFIG.survey_n
    assert zot["respondent_key"].tolist() == survey["respondent_key"].tolist()
    assert zot["customer_id"].tolist() == survey["customer_id"].tolist()
    assert zot["respondent_key"].is_unique
    points = zot[[f"sq_imp_{d}" for d in DIMENSIONS]].to_numpy()
    assert (points.sum(axis=1) == 100).all()
    assert (points >= 0).all()
    adequate = zot[list(item_columns("sq_a"))].to_numpy()
    desired = zot[list(item_columns("sq_d"))].to_numpy()
    assert adequate.min() >= 1
    assert adequate.max() <= 7
    assert desired.min() >= 1
    assert desired.max() <= 7
    assert (desired >= adequate).all()
    assert zot.isna().sum().sum() == 0
    assert str(zot["sq_a01"].dtype) == "int8"
    assert str(zot["sq_imp_reliability"].dtype) == "int16"


def test_other_tables_do_not_change(module: ModuleType) -> None:
    small = DemoConfig(customers=2000, months=2, seed=5)
    with_module = generate(small)
    unregister("servqual_extra")
    try:
        without = generate(small)
    finally:
        from allegiance.generate.registry import register

        register(module.MODULE, replace=True)
    assert set(with_module.tables) == set(without.tables) | {"servqual_zot"}
    for name, frame in without.tables.items():
        pd.testing.assert_frame_equal(frame, with_module.tables[name])
    assert generate(small).tables["servqual_zot"].equals(with_module.tables["servqual_zot"])


def test_desired_law_hand_checked(module: ModuleType) -> None:
    # adequate uniform on 5, 6, 7 (1/3 each), width 0 or 1 (1/2 each):
    # desired 5: 1/6; 6: 1/6 + 1/6 = 1/3; 7: 1/6 + 1/6 + 1/6 = 1/2 (7 + 1 is clipped to 7).
    law = module.desired_probabilities([0, 0, 0, 0, 1 / 3, 1 / 3, 1 / 3], [0.5, 0.5])
    assert law.tolist() == pytest.approx([0, 0, 0, 0, 1 / 6, 1 / 3, 1 / 2])


def _within(estimate: float, truth: float, se: float, k: float = 4.0) -> bool:
    return abs(estimate - truth) <= k * se


def test_importance_shares_are_recovered(data: GeneratedData) -> None:
    zot = data.tables["servqual_zot"]
    truth = data.truth["servqual_extra"]["importance"]["mean_share"]
    for dim in DIMENSIONS:
        share = zot[f"sq_imp_{dim}"] / 100.0
        se = float(share.std(ddof=1)) / np.sqrt(len(share))
        assert _within(float(share.mean()), truth[dim], se), dim


def test_item_laws_are_recovered(data: GeneratedData) -> None:
    zot = data.tables["servqual_zot"]
    items = data.truth["servqual_extra"]["items"]
    for column in (*item_columns("sq_a"), *item_columns("sq_d")):
        probs = items[column]["probabilities"]
        observed = zot[column].value_counts(normalize=True)
        for code, p in probs.items():
            share = float(observed.get(int(code), 0.0))
            se = np.sqrt(max(p * (1 - p), 1e-6) / len(zot))
            assert _within(share, p, se, 4.5), (column, code)
        assert sum(probs.values()) == pytest.approx(1.0)


def test_servqual_recovers_the_true_zone_and_weighted_gap(data: GeneratedData) -> None:
    answers = data.tables["survey_responses"].merge(
        data.tables["servqual_zot"].drop(columns="customer_id"), on="respondent_key"
    )
    result = servqual(
        answers,
        importance={d: f"sq_imp_{d}" for d in DIMENSIONS},
        adequate=list(item_columns("sq_a")),
        desired=list(item_columns("sq_d")),
    )
    truth = data.truth["servqual_extra"]
    assert result.zone is not None
    zone = result.zone.set_index("dimension")
    for dim in DIMENSIONS:
        true = truth["dimension"][dim]
        half = (zone.loc[dim, "msa_ci_high"] - zone.loc[dim, "msa_ci_low"]) / 2
        assert _within(zone.loc[dim, "msa"], true["msa"], half / 1.96), dim
        half = (zone.loc[dim, "mss_ci_high"] - zone.loc[dim, "mss_ci_low"]) / 2
        assert _within(zone.loc[dim, "mss"], true["mss"], half / 1.96), dim
        assert zone.loc[dim, "zone"] == true["zone"], dim
        assert zone.loc[dim, "adequate"] == pytest.approx(true["adequate"], abs=0.06)
        assert zone.loc[dim, "desired"] == pytest.approx(true["desired"], abs=0.06)
    assert truth["dimension"]["reliability"]["zone"] == "below"
    overall = result.overall.set_index("measure")
    assert _within(
        overall.loc["servqual_weighted", "mean"],
        truth["weighted_gap"],
        overall.loc["servqual_weighted", "se"],
    )
    assert _within(
        overall.loc["servqual", "mean"], truth["unweighted_gap"], overall.loc["servqual", "se"]
    )
    shares = result.dimensions.set_index("dimension")["importance_share"]
    for dim in DIMENSIONS:
        assert shares[dim] == pytest.approx(truth["importance"]["mean_share"][dim], abs=0.01)


def test_every_column_is_documented_and_labelled(data: GeneratedData) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "### `servqual_zot`" in text
    missing, unlabelled = [], []
    for column in data.tables["servqual_zot"].columns:
        ranged = re.fullmatch(r"(sq_[ad])\d\d", column)
        documented = f"`{column}`" in text or (
            ranged is not None and f"`{ranged[1]}01`" in text and f"`{ranged[1]}22`" in text
        )
        if not documented:
            missing.append(column)
        en, zh = vocab.column_label(column, "en"), vocab.column_label(column, "zh")
        if en == column or not CJK.search(zh):
            unlabelled.append(column)
    assert missing == []
    assert unlabelled == []


@pytest.mark.slow
def test_module_is_fast_at_a_million_customers(module: ModuleType) -> None:
    from allegiance.generate.latent import model
    from allegiance.generate.registry import GenContext, module_rng

    n_customers, n_resp = 1_000_000, 20_000
    rng = np.random.default_rng(0)
    names = model().names
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i:07d}" for i in range(n_customers)], dtype="str"),
            **{
                ("complaints_propensity" if c == "complaints" else c): rng.standard_normal(
                    n_customers
                )
                for c in names
            },
        }
    )
    chosen = np.sort(rng.choice(n_customers, n_resp, replace=False))
    survey = pd.DataFrame(
        {
            "respondent_key": pd.Series([f"R{i:06d}" for i in range(n_resp)], dtype="str"),
            "customer_id": customers["customer_id"].iloc[chosen].reset_index(drop=True),
        }
    )
    ctx = GenContext(
        config=DemoConfig(customers=n_customers, months=1),
        rng=module_rng(1, "servqual_extra"),
        tables={"customers": customers, "survey_responses": survey},
        truth={},
    )
    start = time.perf_counter()
    out = module.run(ctx)
    seconds = time.perf_counter() - start
    assert len(out.tables["servqual_zot"]) == n_resp
    assert seconds < 2.0, seconds
