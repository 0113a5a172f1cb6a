"""`allegiance actions ...` and `allegiance care calendar`: the register file through the
command line, proposals, effects, notices and the care calendar, with their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import actions as actions_cli
from allegiance.cli.app import AllegianceGroup

# A test app of its own, so the real app's command tree (and docs/cli.md) is not changed here.
APP = typer.Typer(cls=AllegianceGroup, add_completion=False)


@APP.callback()
def _root() -> None:
    """Test root."""


actions_cli.register(APP)


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def ok(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    pd.DataFrame(
        {
            "fix_rank": [1, 2],
            "item": ["cs_transaction_speed", "cs_customer_care"],
            "priority": [0.3, 0.2],
        }
    ).to_csv(tmp_path / "weakest.csv", index=False)
    pd.DataFrame(
        {
            "cause": ["poor_quality", "service_attitude", "natural_causes"],
            "count": [38, 17, 1],
            "class": [1, 2, 4],
        }
    ).to_csv(tmp_path / "causes.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
            "lang": ["zh", "en", "zh", "zh", "en", "zh"],
            "wave": ["W1", "W1", "W1", "W2", "W2", "W2"],
            "cs_transaction_speed": [2, 3, 4, 4, 5, 4],
        }
    ).to_csv(tmp_path / "waves.csv", index=False)
    return tmp_path


def test_propose_add_update_list_effect_notices(files: Path) -> None:
    reg = files / "actions.yaml"
    env = ok(
        run(
            "actions",
            "propose",
            "--weakest",
            files / "weakest.csv",
            "--causes",
            files / "causes.csv",
            "--owner",
            "weakest_link=CX team",
            "--baseline-wave",
            "W1",
            "--followup-wave",
            "W2",
            "--add",
            "--register",
            reg,
            "--format",
            "json",
        )
    )
    proposals = env["result"]["tables"]["proposals"]
    assert [p["source_ref"] for p in proposals] == [
        "cs_transaction_speed",
        "cs_customer_care",
        "poor_quality",
        "service_attitude",
    ]
    assert proposals[0]["title_zh"] == "改进办理速度"  # the factor's label, not its code
    assert "产品品质不良" in proposals[2]["title_zh"]
    saved = yaml.safe_load(reg.read_text(encoding="utf-8"))["actions"]
    assert [a["id"] for a in saved] == ["A001", "A002", "A003", "A004"]
    ok(
        run(
            "actions",
            "update",
            "A001",
            "--status",
            "done",
            "--we-did-en",
            "opened more counters",
            "--register",
            reg,
            "--format",
            "json",
        )
    )
    listed = ok(run("actions", "list", "--register", reg, "--status", "done", "--format", "json"))
    assert [a["id"] for a in listed["result"]["tables"]["actions"]] == ["A001"]
    effect = ok(
        run("actions", "effect", files / "waves.csv", "--register", reg, "--format", "json")
    )
    rows = effect["result"]["tables"]["effects"]
    assert rows[0]["id"] == "A001"
    assert rows[0]["difference"] == pytest.approx(4.333333 - 3.0, abs=1e-5)
    notices = ok(
        run(
            "actions",
            "notices",
            "--register",
            reg,
            "--respondents",
            files / "waves.csv",
            "--threshold",
            "3",
            "--format",
            "json",
        )
    )
    recipients = notices["result"]["tables"]["recipients"]
    assert [r["customer_id"] for r in recipients] == ["C1", "C2"]
    assert "opened more counters" in recipients[1]["text"]  # C2 reads English
    assert "办理速度" in recipients[0]["text"]


def test_add_and_table_output(tmp_path: Path) -> None:
    reg = tmp_path / "actions.yaml"
    result = run(
        "actions",
        "add",
        "--title-zh",
        "缩短等候",
        "--owner",
        "营业厅",
        "--due",
        "2030-01-31",
        "--register",
        reg,
        "--lang",
        "zh",
    )
    assert result.exit_code == 0, result.output
    assert "缩短等候" in result.output
    assert "未开始" in result.output
    assert run("actions", "add", "--owner", "x", "--register", reg).exit_code == 2  # no title


def test_errors_name_the_file(tmp_path: Path) -> None:
    reg = tmp_path / "actions.yaml"
    reg.write_text(
        "actions:\n  - {id: A1, title: {zh: 甲, en: A}, owner: x, due: 2024-01-01, status: later}\n",
        encoding="utf-8",
    )
    result = run("actions", "list", "--register", reg)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "actions.yaml" in text
    assert "later" in text
    assert "status" in text
    assert run("actions", "update", "A1", "--register", tmp_path / "none.yaml").exit_code == 2
    assert (
        run("actions", "list", "--as-of", "tomorrow", "--register", tmp_path / "n.yaml").exit_code
        == 2
    )
    assert run("actions", "propose").exit_code == 2


def test_care_calendar(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "join_date": ["2020-03-15", "2021-07-01"],
            "main_product": ["fixed_line", "mobile"],
            "lang": ["zh", "en"],
        }
    ).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({"customer_id": ["A", "B"], "branch_id": ["north", "south"]}).to_csv(
        tmp_path / "branch.csv", index=False
    )
    env = ok(
        run(
            "care",
            "calendar",
            tmp_path / "customers.csv",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--join",
            tmp_path / "branch.csv",
            "--owner-column",
            "branch_id",
            "--eol",
            "fixed_line=2025-05-01",
            "--format",
            "json",
        )
    )
    due = env["result"]["tables"]["due_contacts"]
    assert {(d["owner"], d["kind"], d["due_date"]) for d in due} == {
        ("north", "anniversary", "2025-03-15"),
        ("north", "end_of_life", "2025-03-02"),
    }
    zh = run(
        "care",
        "calendar",
        tmp_path / "customers.csv",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--lang",
        "zh",
    )
    assert zh.exit_code == 0, zh.output
    assert "入网周年关怀" in zh.output
    assert run("care", "calendar", tmp_path / "customers.csv", "--eol", "fixed_line").exit_code == 2
    assert (
        run(
            "care",
            "calendar",
            tmp_path / "customers.csv",
            "--from",
            "2025-03-05",
            "--to",
            "2025-03-01",
        ).exit_code
        == 2
    )
