"""DemoConfig validation, sizes, and the shape of what tiny configs produce (property tests)."""

from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ValidationError
from allegiance.generate import DemoConfig, generate
from allegiance.generate.config import MAX_CUSTOMERS, MAX_MONTHS

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_defaults() -> None:
    config = DemoConfig()
    assert (config.customers, config.months, config.seed) == (20000, 24, 20240601)
    assert config.start == date(2024, 1, 1)
    assert config.survey_size is None
    assert config.survey_n == 2000  # min(20000, max(300, 20000 // 10), 20000)


@pytest.mark.parametrize(
    ("customers", "expected"),
    [(1, 1), (250, 250), (300, 300), (2999, 300), (3001, 300), (50000, 5000), (500000, 20000)],
)
def test_default_survey_size(customers: int, expected: int) -> None:
    assert DemoConfig(customers=customers).survey_n == expected


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"customers": 0}, "generate.error.out_of_range"),
        ({"customers": MAX_CUSTOMERS + 1}, "generate.error.out_of_range"),
        ({"customers": 2.5}, "generate.error.not_integer"),
        ({"customers": True}, "generate.error.not_integer"),
        ({"customers": "100"}, "generate.error.not_integer"),
        ({"months": 0}, "generate.error.out_of_range"),
        ({"months": MAX_MONTHS + 1}, "generate.error.out_of_range"),
        ({"seed": -1}, "generate.error.too_small"),
        ({"survey_size": 0}, "generate.error.too_small"),
        ({"customers": 10, "survey_size": 11}, "generate.error.survey_too_big"),
        ({"start": date(2024, 1, 15)}, "generate.error.start_not_first"),
        ({"start": "2024-13-01"}, "generate.error.bad_start"),
        ({"start": 20240101}, "generate.error.bad_start"),
    ],
)
def test_invalid_values_raise_bilingual_validation_errors(kwargs: dict, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DemoConfig(**kwargs)
    error = caught.value
    assert error.key == key
    assert CJK.search(error.render("zh"))
    assert not CJK.search(error.render("en"))
    assert str(error) == error.render("en")


def test_start_accepts_iso_text_and_datetimes() -> None:
    assert DemoConfig(start="2023-07-01").start == date(2023, 7, 1)
    assert DemoConfig(start=datetime(2023, 7, 1, 0, 0)).start == date(2023, 7, 1)


def test_generate_needs_a_config() -> None:
    with pytest.raises(ValidationError):
        generate({"customers": 10})  # type: ignore[arg-type]


configs = st.builds(
    lambda customers, months, seed, start_month, pick: DemoConfig(
        customers=customers,
        months=months,
        seed=seed,
        start=date(2020 + start_month // 12, start_month % 12 + 1, 1),
        survey_size=None if pick is None else 1 + pick % customers,
    ),
    customers=st.integers(1, 40),
    months=st.integers(1, 6),
    seed=st.integers(0, 2**63),
    start_month=st.integers(0, 60),
    pick=st.none() | st.integers(0, 1000),
)


@settings(max_examples=25, deadline=None)
@given(config=configs)
def test_tiny_configs_give_consistent_tables(config: DemoConfig) -> None:
    data = generate(config)
    customers = data.tables["customers"]
    activity = data.tables["activity"]
    survey = data.tables["survey_responses"]
    complaints = data.tables["complaints"]
    n, months = config.customers, config.months

    assert len(customers) == n
    assert customers["customer_id"].is_unique
    assert len(activity) == n * months
    assert len(survey) == config.survey_n
    assert survey["customer_id"].is_unique
    assert set(survey["customer_id"]) <= set(customers["customer_id"])
    assert set(complaints["customer_id"]) <= set(customers["customer_id"])

    first = pd.Timestamp(config.start)
    end = first + pd.DateOffset(months=months)
    months_seen = pd.to_datetime(activity["month"].astype("datetime64[s]"))
    assert months_seen.min() == first
    assert months_seen.nunique() == months
    if len(complaints):
        assert complaints["received_at"].min() >= first
        assert complaints["received_at"].max() < end
    churn = customers["churn_month"].astype("datetime64[s]")
    assert customers["churned"].equals(churn.notna())
    if months == 1:
        assert not customers["churned"].any()
    for column in ("csat", "nps", "ces"):
        assert survey[column].between(0, 10).all()
    assert np.isfinite(activity["amount"].to_numpy()).all()
    assert (activity["amount"] >= 0).all()


@settings(max_examples=60, deadline=None)
@given(
    customers=st.integers(-(10**9), 10**9),
    months=st.integers(-500, 500),
    survey_size=st.none() | st.integers(-(10**9), 10**9),
)
def test_validation_accepts_exactly_the_allowed_sizes(
    customers: int, months: int, survey_size: int | None
) -> None:
    valid = 1 <= customers <= MAX_CUSTOMERS and 1 <= months <= MAX_MONTHS
    if survey_size is not None:
        valid = valid and 1 <= survey_size <= customers
    if valid:
        config = DemoConfig(customers=customers, months=months, survey_size=survey_size)
        assert 1 <= config.survey_n <= config.customers
        assert config.survey_n <= max(20000, survey_size or 0)
    else:
        with pytest.raises(ValidationError):
            DemoConfig(customers=customers, months=months, survey_size=survey_size)
