"""`allegiance customers indicators|segments`: help, JSON envelope, --out, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from tests.customers import _frames as F
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import customers

APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


customers.register(APP)


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {
        "activity": tmp_path / "sales.csv",
        "customers": tmp_path / "customers.parquet",
        "attitudes": tmp_path / "attitudes.csv",
        "mapping": tmp_path / "columns.yaml",
    }
    F.EVENTS.to_csv(out["activity"], index=False)
    F.CUSTOMERS.to_parquet(out["customers"])
    F.ATTITUDES.assign(customer=["a", "b", "c", "d"]).to_csv(out["attitudes"], index=False)
    out["mapping"].write_text(
        "activity:\n  customer: cust_no\n  date: txn_date\n  event: event_type\n"
        "  amount: value_cny\n",
        encoding="utf-8",
    )
    return out


def test_help_has_examples() -> None:
    for command in ("indicators", "segments"):
        got = run("customers", command, "--help")
        assert got.exit_code == 0, got.output
        text = got.output.replace("\n", " ")
        assert f"allegiance customers {command}" in text
        for option in ("--engine", "--master", "--mapping", "--format"):
            assert option in got.output


def test_indicators_json(files: dict[str, Path]) -> None:
    got = run(
        "customers", "indicators", files["activity"], "--customers", files["customers"],
        "--mapping", files["mapping"], "--period", "month", "--format", "json",
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    env = json.loads(got.stdout)
    assert env["command"] == "customers indicators"
    result = env["result"]
    assert result["summary"]["customers"] == 4
    assert result["summary"]["retention_rate"] == pytest.approx(5 / 7)
    assert [p["customers_end"] for p in result["periods"]] == [3, 2, 2, 3]
    assert result["summary"]["tenure_months"] == pytest.approx(65 / 3)
    assert any(w["code"] == "customers.warn.no_lost" for w in env["warnings"])
    assert "growth_rate_material" in result["definitions"]


def test_segments_table_json_and_out(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "seg"
    got = run(
        "customers", "segments", files["activity"], "--mapping", files["mapping"],
        "--customers", files["customers"], "--attitudes", files["attitudes"], "--q", "4",
        "--tiers", "top:0.25,rest:0.75", "--weights", "monetary:1", "--format", "json",
        "--out", out,
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    env = json.loads(got.stdout)
    assert [t["customers"] for t in env["result"]["pyramid"]] == [1, 3]
    assert env["result"]["settings"]["weights"] == {"monetary": 1.0}
    per = pd.read_parquet(out / "customer_segments.parquet")
    assert sorted(per["customer"]) == ["a", "b", "c", "d"]
    assert {"r", "f", "m", "tier", "grade", "customer_type", "tenure_months"} <= set(per.columns)
    assert (out / "pyramid.csv").exists()
    table = run("customers", "segments", files["activity"], "--mapping", files["mapping"])
    assert table.exit_code == 0, table.output
    assert "Value pyramid" in table.output


def test_errors_are_clear(files: dict[str, Path]) -> None:
    got = run("customers", "indicators", files["activity"])
    assert got.exit_code != 0
    assert "needs a column for 'customer'" in got.output.replace("\n", " ")
    got = run("customers", "segments", files["activity"], "--mapping", files["mapping"],
              "--tiers", "top=1")  # fmt: skip
    assert got.exit_code != 0
    assert "--tiers" in got.output
