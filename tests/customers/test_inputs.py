"""Reading customer tables: column mapping, types, and errors naming file, column, row, value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from tests.customers import _frames as F

from allegiance.customers.engine import Engine, connect
from allegiance.customers.inputs import (
    DatabaseSource,
    activity_layout,
    load_mapping,
    read_source,
    resolve_columns,
)
from allegiance.errors import ConfigError, InputError


def test_mapping_renames_and_types(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    F.EVENTS.to_csv(path, index=False)
    t = read_source(engine, path, kind="activity", mapping=F.MAPPING)
    assert activity_layout(t) == "events"
    assert set(t.columns) == {"customer", "date", "event", "amount", "product"}
    schema = t.schema()
    assert schema["date"].is_date()
    assert schema["amount"].is_floating()
    got = engine.to_pandas(t.order_by(["customer", "date", "event"]))
    assert pd.Timestamp(got["date"].iloc[0]).date() == dt.date(2024, 1, 5)
    assert got["amount"].sum() == pytest.approx(194.0)


def test_usual_names_are_found_without_a_mapping() -> None:
    found = resolve_columns("activity", ["Customer_ID", "month", "amount", "n_purchases"])
    assert found == {
        "customer": "Customer_ID",
        "date": "month",
        "amount": "amount",
        "n_purchases": "n_purchases",
    }


def test_bad_values_name_file_column_row_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    frame = pd.DataFrame(
        {
            "customer": ["a", "b", "c", "d"],
            "date": ["2024-01-01", "2024-01-02", "soon", "2024-02-01"],
            "amount": ["1.5", "2", "3", "x9"],
            "event": ["purchase", "purchase", "refund", "purchase"],
        }
    )
    frame.to_csv(path, index=False)
    with connect() as eng:
        with pytest.raises(InputError) as err:
            read_source(eng, path, kind="activity")
        text = str(err.value)
        assert "bad.csv" in text
        assert "'date'" in text
        assert "row 3" in text
        assert "'soon'" in text
        assert "a date" in text
        good_dates = frame.assign(date=["2024-01-01"] * 4)
        with pytest.raises(InputError, match=r"'amount'.*row 4.*'x9'.*a number"):
            read_source(eng, good_dates, kind="activity")
        with pytest.raises(InputError, match=r"'event'.*row 3.*'refund'.*purchase, holding"):
            read_source(eng, good_dates.assign(amount=1.0), kind="activity")
        missing = frame.drop(columns="amount")
        with pytest.raises(
            InputError, match=r"needs a column for 'amount'.*tried: amount, revenue"
        ):
            read_source(eng, missing, kind="activity")
        with pytest.raises(InputError, match="'spend'"):
            read_source(eng, frame, kind="activity", mapping={"amount": "spend"})
        null_id = frame.assign(customer=["a", None, "c", "d"], date="2024-01-01", amount=1.0)
        with pytest.raises(InputError, match=r"'customer'.*row 2"):
            read_source(eng, null_id.assign(event="purchase"), kind="activity")


def test_typed_parquet_checks_count_missing_and_infinite_values(
    engine: Engine, tmp_path: Path
) -> None:
    """Typed columns are settled by counts and the smallest and largest values (DuckDB
    reads them from the Parquet statistics); the error still gives the first bad row and
    how many there are in all, and NaN (a missing number) is not taken for infinity."""
    import numpy as np

    n = 5000
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n, dtype="int64"),
            "month": [dt.date(2024, 1 + i % 12, 1) for i in range(n)],
            "amount": np.linspace(1.0, 2.0, n).astype("float32"),
            "n_purchases": np.ones(n, dtype="int32"),
        }
    )
    frame.loc[[10, 20], "amount"] = np.nan

    def write(data: pd.DataFrame, name: str) -> Path:
        # NaN kept as NaN (pandas would write it as a missing value)
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: pa.array(data[c], from_pandas=c != "amount") for c in data})
        pq.write_table(table, tmp_path / name, row_group_size=1000)
        return tmp_path / name

    clean = write(frame, "clean.parquet")
    typed = read_source(engine, clean, kind="activity")
    assert engine.to_pandas(typed.count()) == n
    assert engine.to_pandas(typed.amount.isnull().sum()) == 2  # NaN read as missing
    inf = frame.copy()
    inf.loc[[4321, 4500], "amount"] = [np.inf, -np.inf]
    with pytest.raises(InputError, match=r"'amount'.*row 4322.*inf.*2 bad value"):
        read_source(engine, write(inf, "inf.parquet"), kind="activity")
    no_date = frame.astype({"month": "object"})
    no_date.loc[[3000, 3001, 4999], "month"] = None
    no_date.to_parquet(tmp_path / "no_date.parquet", row_group_size=1000)
    with pytest.raises(InputError, match=r"'month'.*row 3001.*3 bad value"):
        read_source(engine, tmp_path / "no_date.parquet", kind="activity")


def test_mapping_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text("activity:\n  customer: cust_no\n  date: txn_date\n", encoding="utf-8")
    assert load_mapping(path) == {"activity": {"customer": "cust_no", "date": "txn_date"}}
    assert load_mapping({"customers": {"join_date": "opened"}}) == {
        "customers": {"join_date": "opened"}
    }
    with pytest.raises(ConfigError, match="unknown table 'sales'"):
        load_mapping({"sales": {"customer": "x"}})
    with pytest.raises(ConfigError, match="no column role 'price'"):
        load_mapping({"activity": {"price": "x"}})
    path.write_text("activity: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(path)


def test_database_table_through_sqlalchemy(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'crm.db'}"
    db = sa.create_engine(url)
    with db.begin() as conn:
        F.CUSTOMERS.assign(join_date=F.CUSTOMERS["join_date"].astype(str)).to_sql(
            "clients", conn, index=False
        )
    db.dispose()
    with connect() as eng:
        t = read_source(eng, f"{url}#clients", kind="customers")
        got = eng.to_pandas(t.order_by("customer"))
        assert got["customer"].tolist() == ["a", "b", "c", "d"]
        assert pd.Timestamp(got["join_date"].iloc[0]).date() == dt.date(2020, 1, 15)
        with pytest.raises(InputError, match="nothere"):
            read_source(eng, DatabaseSource(url, "nothere"), kind="customers")
    with pytest.raises(InputError, match="URL#table"):
        DatabaseSource.parse("sqlite:///x.db")
