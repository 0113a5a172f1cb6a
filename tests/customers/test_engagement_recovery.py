"""The indicators and segments recover what the demo company's generators put in (truth.json)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import allegiance.generate.engagement  # noqa: F401  (registers the module)
from allegiance.customers.engine import Engine, connect
from allegiance.customers.indicators import indicators
from allegiance.customers.inputs import read_source
from allegiance.customers.segments import customer_types
from allegiance.generate import DemoConfig, GeneratedData, generate


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return generate(DemoConfig(customers=40000, months=24, seed=11, survey_size=8000))


@pytest.fixture(scope="module")
def eng() -> Iterator[Engine]:
    with connect() as e:
        yield e


@pytest.fixture(scope="module")
def result(data: GeneratedData, eng: Engine) -> object:
    t = data.tables
    return indicators(
        eng,
        read_source(eng, t["activity"], kind="activity"),
        customers=read_source(eng, t["customers"], kind="customers"),
        engagement=read_source(eng, t["engagement"], kind="engagement"),
        price_changes=read_source(eng, t["price_changes"], kind="price_changes"),
        brand=read_source(eng, t["brand_purchases"], kind="brand"),
        horizon=3,
    )


def test_lost_customers_are_the_churned_ones(data: GeneratedData, result: object) -> None:
    periods = result.periods  # type: ignore[attr-defined]
    churn = pd.to_datetime(data.tables["customers"]["churn_month"].astype("datetime64[s]"))
    per_month = churn.dt.date.value_counts()
    expected = [int(per_month.get(p, 0)) for p in periods["period"].iloc[1:]]
    assert periods["lost"].iloc[1:].tolist() == expected
    assert periods["customers_end"].iloc[0] == data.config.customers


def test_price_sensitivity_is_recovered(data: GeneratedData, result: object) -> None:
    price = result.price_sensitivity  # type: ignore[attr-defined]
    truth = data.truth["engagement"]["price_changes"]["campaigns"]
    assert len(price) == len(truth) == 2
    for row, camp in zip(price.itertuples(), truth, strict=True):
        assert str(row.period) == camp["effective_month"]
        assert row.mean_change == pytest.approx(camp["change_pct"])
        for got, want, n in (
            (row.retention_exposed, camp["expected_retention_exposed"], row.n_exposed),
            (row.retention_control, camp["expected_retention_control"], row.n_control),
        ):
            se = np.sqrt(want * (1 - want) / n)
            assert abs(got - want) < 4 * se, (camp["campaign"], got, want)
        assert row.difference < 0
    # the bigger rise with the bigger multiplier costs more retention
    assert price["difference"].iloc[1] < price["difference"].iloc[0]


def test_engagement_and_named_brand_are_recovered(data: GeneratedData, result: object) -> None:
    truth = data.truth["engagement"]
    engaged = float(result.periods["engaged"].sum())  # type: ignore[attr-defined]
    want = truth["engagement"]["expected_engaged_customer_months"]
    assert abs(engaged - want) < 4 * np.sqrt(want)
    rate = float(result.summary["named_brand_rate"].iloc[0])  # type: ignore[attr-defined]
    p = truth["brand"]["expected_named_brand_rate"]
    n = float(data.tables["brand_purchases"]["n_purchases"].sum())
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / n)
    # referrals rise with loyalty, so referrers are a minority but present
    assert 0.05 < float(result.summary["referral_rate"].iloc[0]) < 0.5  # type: ignore[attr-defined]


def test_customer_types_are_recovered(data: GeneratedData, eng: Engine) -> None:
    att = data.tables["attitudes"]
    typed = eng.to_pandas(customer_types(read_source(eng, att, kind="attitudes")))
    merged = att.merge(typed, left_on="customer_id", right_on="customer")
    accuracy = (merged["customer_type"] == merged["customer_type_true"].astype(str)).mean()
    assert accuracy > 0.6
    shares = merged["customer_type"].value_counts(normalize=True)
    true = data.truth["engagement"]["attitudes"]["realised_shares"]
    for kind, share in true.items():
        assert abs(shares.get(kind, 0.0) - share) < 0.1, kind
