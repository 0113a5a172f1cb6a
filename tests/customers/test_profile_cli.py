"""`allegiance customers profile`: help, JSON envelope, --project defaults, --to-db, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import Result
from tests.customers._profile_data import make_data
from typer.testing import CliRunner

from allegiance.cli.app import app
from allegiance.project import init_project

RULES = """
levels: {min: 1, max: 5, start: 3}
rules:
  - {name: collapse, when: ["amount_change < -0.6"], move: -2,
     description: {en: "Business collapsed", zh: "业务骤降"}}
  - {name: grow, when: ["amount_change > 0.5"], move: 1}
"""


def run(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"ALLEGIANCE_LANG": "en"})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    activity, customers = make_data(n=60, months=6, seed=4)
    out = {
        "activity": tmp_path / "activity.parquet",
        "customers": tmp_path / "customers.csv",
        "rules": tmp_path / "rules.yaml",
    }
    activity.to_parquet(out["activity"])
    customers.to_csv(out["customers"], index=False)
    out["rules"].write_text(RULES, encoding="utf-8")
    return out


def _rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_help_has_examples() -> None:
    got = run("customers", "profile", "--help")
    assert got.exit_code == 0, got.output
    text = got.output.replace("\n", " ")
    assert "allegiance customers profile --project" in text
    for option in ("--horizon", "--discount", "--to-db", "--replace", "--engine", "--state"):
        assert option in got.output


def test_json_parquet_and_database(files: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "out" / "profile.parquet"
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    got = run(
        "customers", "profile", files["activity"], "--customers", files["customers"],
        "--rules", files["rules"], "--state", tmp_path / "steps", "--parquet", target,
        "--horizon", 6, "--discount", 0.02, "--to-db", "customer_profile", "--db", url,
        "--batch-size", 25, "--format", "json",
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    env = json.loads(got.stdout)
    assert env["command"] == "customers profile"
    result = env["result"]
    table = pd.read_parquet(target)
    assert result["path"] == str(target)
    assert result["n_customers"] == len(table) == 60
    assert result["n_at_risk"] == int(table["at_risk"].sum())
    assert sum(r["customers"] for r in result["levels"]) == 60
    assert result["settings"]["horizon_months"] == 6
    assert result["value"][0]["total_clv"] == pytest.approx(table["clv"].sum())
    assert len(result["head"]) == 10
    assert result["export"] == {
        "table": "customer_profile",
        "database": url,
        "n_rows": 60,
        "n_batches": 3,
        "replaced": False,
    }
    assert _rows(url, "customer_profile") == 60
    # again: the table exists, so nothing happens without --replace
    again = run(
        "customers", "profile", files["activity"], "--customers", files["customers"],
        "--rules", files["rules"], "--state", tmp_path / "steps", "--parquet", target,
        "--to-db", "customer_profile", "--db", url,
    )  # fmt: skip
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert "Traceback" not in again.output


def test_project_defaults(files: dict[str, Path], tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj")
    pd.read_parquet(files["activity"]).to_parquet(project.data_dir / "activity.parquet")
    pd.read_csv(files["customers"]).to_parquet(project.data_dir / "customers.parquet")
    got = run(
        "customers", "profile", "--project", project.root, "--rules", files["rules"],
        "--to-db", "profile_export",
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "60 customers written" in got.output.replace(",", "")
    written = project.data_dir / "customer_profile.parquet"
    assert written.is_file()
    assert (project.data_dir / "loyalty_steps" / "state.parquet").is_file()
    assert (project.data_dir / "customer_profile.json").is_file()
    assert _rows(project.database_url, "profile_export") == 60
    # `loyalty at-risk` reads the same state
    risk = run("loyalty", "at-risk", "--project", project.root, "--format", "json")
    assert risk.exit_code == 0, risk.output
    flagged = set(pd.read_parquet(written).query("at_risk")["customer_id"])
    shown = {c["customer_id"] for c in json.loads(risk.stdout)["result"]["customers"]}
    assert flagged == shown


def test_no_activity_is_an_error(tmp_path: Path) -> None:
    got = run("customers", "profile")
    assert got.exit_code != 0
    assert "ACTIVITY" in got.output
    assert "Traceback" not in got.output
