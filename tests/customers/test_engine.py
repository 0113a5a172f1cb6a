"""The engine layer reads Parquet, CSV and frames and runs one expression on both backends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from allegiance.customers.engine import Engine, connect
from allegiance.errors import InputError

FRAME = pd.DataFrame({"cust_id": [1, 1, 2, 3], "amount": [5.0, 7.0, 1.0, 2.5]})


def _totals(engine: Engine, table: object) -> pd.DataFrame:
    t = engine.table(table, columns={"customer": "cust_id"})  # type: ignore[arg-type]
    out = engine.to_pandas(t.group_by("customer").agg(total=t.amount.sum()).order_by("customer"))
    return out.reset_index(drop=True)


def test_same_answer_from_frame_parquet_and_csv(engine: Engine, tmp_path: Path) -> None:
    FRAME.to_parquet(tmp_path / "a.parquet")
    FRAME.to_csv(tmp_path / "a.csv", index=False)
    for source in (FRAME, tmp_path / "a.parquet", tmp_path / "a.csv"):
        got = _totals(engine, source)
        assert got["customer"].tolist() == [1, 2, 3]
        assert got["total"].tolist() == pytest.approx([12.0, 1.0, 2.5])


def test_parquet_written_whole(engine: Engine, tmp_path: Path) -> None:
    t = engine.table(FRAME)
    path = engine.to_parquet(t.filter(t.amount > 2), tmp_path / "out" / "big.parquet")
    assert sorted(pd.read_parquet(path)["amount"]) == [2.5, 5.0, 7.0]
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    with connect() as eng:
        with pytest.raises(InputError, match="cust"):
            eng.table(FRAME, columns={"customer": "cust"})
        with pytest.raises(InputError, match=r"nope\.parquet"):
            eng.table(tmp_path / "nope.parquet")
        (tmp_path / "x.json").write_text("{}")
        with pytest.raises(InputError, match=r"x\.json"):
            eng.table(tmp_path / "x.json")
    with pytest.raises(InputError, match="hadoop"):
        connect("hadoop")


def test_duckdb_settings_apply(tmp_path: Path) -> None:
    with connect(memory_limit="1GB", temp_dir=tmp_path, threads=1) as eng:
        assert eng.to_pandas(eng.table(FRAME).count()) == 4
        limit = eng.con.raw_sql("select current_setting('threads')").fetchall()[0][0]
        assert int(limit) == 1


def test_frames_with_arrow_types_and_missing_values(engine: Engine) -> None:
    frame = pd.DataFrame(
        {
            "customer": [1, 2, 3],
            "joined": pd.to_datetime(["2024-01-01", None, "2024-02-01"]).astype(
                "timestamp[us][pyarrow]"
            ),
            "segment": pd.array(["a", None, "b"], dtype="string[pyarrow]"),
        }
    )
    t = engine.table(frame)
    got = engine.to_pandas(t.order_by("customer"))
    assert got["segment"].isna().tolist() == [False, True, False]
    assert got["joined"].isna().tolist() == [False, True, False]
    assert engine.to_pandas(t.segment.count()) == 2
