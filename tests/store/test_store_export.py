"""Exporting a Parquet table into a database: batches, one transaction, replace on request.

Runs on SQLite and PostgreSQL (the ``db_url`` fixture of this folder: PostgreSQL is skipped
when it cannot be reached, and fails the run under CI=true).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from allegiance.errors import InputError, StoreError
from allegiance.store.db import make_engine
from allegiance.store.export import export_parquet


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "level": pd.array([1 + i % 5 for i in range(n)], dtype="int32"),
            "clv": [None if i % 7 == 0 else 10.5 * i for i in range(n)],
            "at_risk": [i % 3 == 0 for i in range(n)],
            "first_month": [dt.date(2024, 1 + i % 12, 1) for i in range(n)],
            "grade": ["high" if i % 2 else "低" for i in range(n)],
        }
    )


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "profile.parquet"
    table = pa.Table.from_pandas(_frame(20), preserve_index=False)
    pq.write_table(table, path, row_group_size=6)
    return path


def _read(url: str, table: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql_table(table, conn).sort_values("customer_id", ignore_index=True)
    finally:
        engine.dispose()


def _exists(url: str, table: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).has_table(table)
    finally:
        engine.dispose()


def test_rows_types_and_batches(db_url: str, parquet: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = export_parquet(
        parquet, db_url, "customer_profile", batch_size=4, progress=lambda d, t: seen.append((d, t))
    )
    assert result.n_rows == 20
    assert result.n_batches == len(seen) == 5  # 4 rows per INSERT, whatever the row groups
    assert seen[-1] == (20, 20)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    got = _read(db_url, "customer_profile")
    want = _frame(20)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["level"].tolist() == want["level"].tolist()
    assert got["at_risk"].astype(bool).tolist() == want["at_risk"].tolist()
    assert got["grade"].tolist() == want["grade"].tolist()
    assert [pd.Timestamp(v).date() for v in got["first_month"]] == want["first_month"].tolist()
    assert got["clv"].isna().tolist() == want["clv"].isna().tolist()
    assert got["clv"].dropna().tolist() == pytest.approx(want["clv"].dropna().tolist())


def test_an_existing_table_is_replaced_only_on_request(db_url: str, parquet: Path) -> None:
    export_parquet(parquet, db_url, "profile_copy")
    small = parquet.with_name("small.parquet")
    pq.write_table(pa.Table.from_pandas(_frame(3), preserve_index=False), small)
    with pytest.raises(StoreError, match="already exists"):
        export_parquet(small, db_url, "profile_copy")
    assert len(_read(db_url, "profile_copy")) == 20
    result = export_parquet(small, db_url, "profile_copy", replace=True)
    assert result.replaced
    assert len(_read(db_url, "profile_copy")) == 3


class Stop(Exception):
    pass


def test_a_failure_mid_way_leaves_the_old_table(db_url: str, parquet: Path) -> None:
    export_parquet(parquet, db_url, "kept")
    before = _read(db_url, "kept")
    newer = parquet.with_name("newer.parquet")
    pq.write_table(pa.Table.from_pandas(_frame(12), preserve_index=False), newer)

    def fail_after_two(done: int, total: int) -> None:
        if done >= 8:
            raise Stop

    with pytest.raises(Stop):
        export_parquet(newer, db_url, "kept", batch_size=4, replace=True, progress=fail_after_two)
    pd.testing.assert_frame_equal(_read(db_url, "kept"), before)
    # and a table that did not exist before is not left half-written
    with pytest.raises(Stop):
        export_parquet(newer, db_url, "fresh", batch_size=4, progress=fail_after_two)
    assert not _exists(db_url, "fresh")


def test_a_database_error_mid_way_keeps_nothing(
    db_url: str, parquet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_parquet(parquet, db_url, "kept2")
    calls = {"n": 0}
    real = sa.engine.Connection.execute

    def flaky(self: sa.engine.Connection, statement: object, *args: object, **kw: object) -> object:
        if isinstance(statement, sa.sql.dml.Insert):
            calls["n"] += 1
            if calls["n"] == 3:
                raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))
        return real(self, statement, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sa.engine.Connection, "execute", flaky)
    with pytest.raises(StoreError, match="nothing was kept") as info:
        export_parquet(parquet, db_url, "kept2", batch_size=5, replace=True)
    monkeypatch.undo()
    assert info.value.params["rows"] == 10
    assert len(_read(db_url, "kept2")) == 20


@pytest.mark.parametrize("name", ["1abc", "a-b", "x; drop table y", ""])
def test_bad_table_names_are_refused(tmp_path: Path, parquet: Path, name: str) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(InputError):
        export_parquet(parquet, url, name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        export_parquet(tmp_path / "none.parquet", f"sqlite:///{tmp_path / 'x.db'}", "t")
