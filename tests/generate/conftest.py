"""One big generated company shared by the generate tests (built once per session)."""

from __future__ import annotations

import pytest

from allegiance.generate import DemoConfig, GeneratedData, generate

BIG = DemoConfig(customers=60000, months=24, seed=20240601, survey_size=20000)


@pytest.fixture(scope="session")
def big() -> GeneratedData:
    """60,000 customers, 24 months, 20,000 survey respondents: enough to check the truths."""
    return generate(BIG)


@pytest.fixture(scope="session")
def small() -> GeneratedData:
    """A quick company for shape and determinism checks."""
    return generate(DemoConfig(customers=1500, months=12, seed=7))
