"""`allegiance audit score|checklist`: the JSON envelope on generated visits, groupings,
Chinese output, and errors that name the file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import audit as audit_cli
from allegiance.cli.app import AllegianceGroup
from allegiance.generate import DemoConfig, generate

# A test app of its own, so the real app's command tree (and docs/cli.md) is not changed here.
APP = typer.Typer(cls=AllegianceGroup, add_completion=False)


@APP.callback()
def _root() -> None:
    """Test root."""


audit_cli.register(APP)


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, ["audit", *[str(a) for a in args]])


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    data = generate(DemoConfig(customers=600, months=12, seed=9))
    path = tmp_path_factory.mktemp("audit") / "visits.csv"
    data.tables["audit_visits"].to_csv(path, index=False)
    return path, data.truth["audits"]


def test_score_json(visits: tuple[Path, dict]) -> None:
    path, truth = visits
    result = run(
        "score",
        path,
        "--checklist",
        "telecom_store",
        "--by",
        "branch",
        "--by",
        "period",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    env = json.loads(result.stdout)
    assert env["command"] == "audit score"
    res = env["result"]
    assert res["checklist"]["id"] == "telecom_store"
    assert set(res["tables"]) >= {
        "summary",
        "by_branch",
        "by_period",
        "items",
        "sections",
        "visits",
    }
    assert res["mean"] == pytest.approx(truth["expected_mean"], abs=0.02)
    branches = pd.DataFrame(res["tables"]["by_branch"])
    assert len(branches) == 36
    assert branches["rank"].min() == 1
    assert res["tables"]["items"][0]["pareto_rank"] == 1


def test_table_output_in_chinese(visits: tuple[Path, dict]) -> None:
    path, _ = visits
    result = run("score", path, "--checklist", "telecom_store", "--by", "method", "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "神秘顾客暗访" in result.output
    assert "服务落实度" in result.output
    assert (
        "客户进门 10 秒内有员工主动问候" in " ".join(result.output.split())
        or "客户进门" in result.output
    )


def test_critical_cap_lowers_scores(visits: tuple[Path, dict]) -> None:
    path, _ = visits
    plain = json.loads(run("score", path, "-c", "telecom_store", "--format", "json").stdout)
    capped = json.loads(
        run("score", path, "-c", "telecom_store", "--critical-cap", "0", "--format", "json").stdout
    )
    assert capped["result"]["mean"] < plain["result"]["mean"]


def test_checklists() -> None:
    listed = run("checklist", "--format", "json")
    assert listed.exit_code == 0, listed.output
    names = [r["checklist"] for r in json.loads(listed.stdout)["result"]["tables"]["checklists"]]
    assert {"bank_branch", "hotel", "telecom_store"} <= set(names)
    hotel = run("checklist", "hotel")
    assert hotel.exit_code == 0, hotel.output
    assert "room_clean" in hotel.output


def test_bad_visit_values_name_file_row_and_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "visit_id": ["v1", "v2"],
            "date": ["2024-01-02", "2024-01-09"],
            "branch": ["A", "B"],
            "method": ["mystery", "onsite"],
            "greet": [1, 7],
        }
    )
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    result = run("score", path)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "visits.csv" in text
    assert "row 3" in text
    assert '"greet"' in text
    assert '"7"' in text
    frame.loc[1, "method"] = "phone call"
    frame.loc[1, "greet"] = 1
    frame.to_csv(path, index=False)
    result = run("score", path)
    assert result.exit_code == 2
    assert "phone call" in result.output
    missing = run("score", path, "--checklist", "bank_branch")
    assert missing.exit_code == 2
    assert "env_clean" in missing.output  # the checklist's first standard is not a column
