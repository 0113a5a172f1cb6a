"""The engine fixture: every engine test runs on DuckDB and on Spark local mode.

Spark starts once per test session (about 10-30 s); under ``CI=true`` a missing PySpark or
Java fails the Spark half instead of skipping it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from tests.conftest import need

from allegiance.customers.engine import Engine, connect

_SPARK: list[Engine] = []


def _spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


@pytest.fixture(scope="session")
def _spark_engine() -> Iterator[Engine | None]:
    if not _spark_available():
        yield None
        return
    engine = connect("spark", master="local[2]")
    yield engine
    engine.close()


@pytest.fixture(params=["duckdb", "spark"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine: the same test body runs once on DuckDB and once on Spark."""
    if request.param == "duckdb":
        with connect("duckdb") as eng:
            yield eng
        return
    need(_spark_available(), "PySpark with Java (Spark local mode)")
    eng = request.getfixturevalue("_spark_engine")
    assert eng is not None
    yield eng
