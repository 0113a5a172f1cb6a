"""`allegiance complaints ...`: JSON envelopes, bilingual tables, the project's register."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from allegiance.cli.app import app
from allegiance.generate import DemoConfig
from allegiance.store import repository as repo
from allegiance.store.db import make_engine
from allegiance.workflow import generate_project

runner = CliRunner()
GOLDEN = (
    Path(__file__).resolve().parents[1] / "golden" / "complaints" / "spec_section6_complaints.csv"
)


def _json(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    envelope: dict[str, Any] = json.loads(result.stdout)
    assert set(envelope) == {"command", "version", "inputs", "result", "warnings"}
    return envelope


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("complaints") / "demo"
    generate_project(folder, config=DemoConfig(customers=3000, months=12, seed=11, survey_size=200))
    return folder


def test_pareto_of_the_spec_file_json() -> None:
    env = _json(["complaints", "pareto", str(GOLDEN)])
    assert env["command"] == "complaints pareto"
    assert env["inputs"]["class_from"] == "data"
    result = env["result"]
    assert result["n"] == 148
    causes = result["causes"]
    assert [c["count"] for c in causes[:3]] == [38, 17, 14]
    assert causes[0]["cause"] == "poor_quality"
    assert causes[0]["share"] == pytest.approx(38 / 148)
    assert causes[-1]["cumulative_share"] == pytest.approx(1.0)
    assert len(result["vital_few"]) == 11
    classes = {c["cause_class"]: c["share"] for c in result["classes"]}
    assert classes == pytest.approx({1: 75 / 148, 2: 63 / 148, 3: 5 / 148, 4: 5 / 148})


def test_pareto_without_a_class_column_uses_the_taxonomy(tmp_path: Path) -> None:
    frame = pd.read_csv(GOLDEN, dtype=str)[["cause_en"]].rename(columns={"cause_en": "reason"})
    path = tmp_path / "causes.csv"
    frame.to_csv(path, index=False)
    env = _json(["complaints", "pareto", str(path), "--cause", "reason"])
    assert env["inputs"]["class_from"] == "taxonomy"
    assert [c["share"] for c in env["result"]["classes"]] == pytest.approx(
        [75 / 148, 63 / 148, 5 / 148, 5 / 148]
    )


def test_pareto_table_in_chinese() -> None:
    result = runner.invoke(
        app, ["complaints", "pareto", str(GOLDEN), "--lang", "zh"], env={"COLUMNS": "120"}
    )
    assert result.exit_code == 0, result.output
    assert "产品品质不良" in result.output
    assert "累计占比" in result.output
    assert "关键少数" in result.output
    assert "148 条投诉" in result.output


def test_pareto_of_an_unknown_cause_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("cause\n服务态度\n下雨\n", encoding="utf-8")
    result = runner.invoke(app, ["complaints", "pareto", str(path)])
    assert result.exit_code == 2
    assert 'Row 3, column "cause": found "下雨"' in " ".join(result.output.split())


def test_pareto_of_the_project(project: Path) -> None:
    env = _json(["complaints", "pareto", "--project", str(project)])
    engine = make_engine(f"sqlite:///{project / 'allegiance.db'}")
    try:
        stored = repo.complaints_frame(engine)
    finally:
        engine.dispose()
    assert env["result"]["n"] == len(stored) > 100
    assert env["inputs"]["rows"] == len(stored)


def test_sla_json_and_override(project: Path) -> None:
    env = _json(["complaints", "sla", "--project", str(project)])
    rows = env["result"]["sla"]
    assert {r["measure"] for r in rows} == {"first_response", "resolution"}
    critical = next(r for r in rows if r["measure"] == "resolution" and r["severity"] == "critical")
    assert critical["target_hours"] == 24.0
    assert 0.0 <= critical["share_within"] <= 1.0
    stricter = _json(["complaints", "sla", "--project", str(project), "--sla", "critical=1/1"])
    strict = next(
        r
        for r in stricter["result"]["sla"]
        if r["measure"] == "resolution" and r["severity"] == "critical"
    )
    assert strict["target_hours"] == 1.0
    assert strict["share_within"] < critical["share_within"]
    bad = runner.invoke(
        app, ["complaints", "sla", "--project", str(project), "--sla", "critical=fast"]
    )
    assert bad.exit_code == 2


def test_summary_of_the_project(project: Path) -> None:
    env = _json(["complaints", "summary", "--project", str(project)])
    result = env["result"]
    assert env["inputs"]["left"] == "churn_month"
    headline = result["headline"]
    assert headline["complaints"] == result["n"]
    assert 0 < headline["recovery_rate"] < 1
    assert headline["complaints_per_1000"] > 0
    iceberg = result["iceberg"]
    assert iceberg["dissatisfied_estimate"] == pytest.approx(iceberg["complainants"] / 0.05)
    assert "5%" in iceberg["assumption"]["message"]
    assert len(iceberg["periods"]) == 12
    assert result["rate"]["period"] == "month"
    other = _json(["complaints", "summary", "--project", str(project), "--complain-share", "0.1"])
    assert other["result"]["iceberg"]["dissatisfied_estimate"] == pytest.approx(
        iceberg["complainants"] / 0.1
    )


def test_summary_table_speaks_chinese(project: Path) -> None:
    result = runner.invoke(
        app,
        ["complaints", "summary", "--project", str(project), "--lang", "zh"],
        env={"COLUMNS": "140"},
    )
    assert result.exit_code == 0, result.output
    assert "挽回率" in result.output
    assert "规范第 2 节" in result.output  # the iceberg assumption, stated


def test_move_a_complaint(project: Path) -> None:
    engine = make_engine(f"sqlite:///{project / 'allegiance.db'}")
    try:
        stored = repo.complaints_frame(engine)
    finally:
        engine.dispose()
    key = str(stored.loc[stored["status"] == "resolved", "complaint_key"].iloc[0])
    env = _json(
        [
            "complaints",
            "move",
            key,
            "closed",
            "--role",
            "supervisor",
            "--actor",
            "lead",
            "--project",
            str(project),
        ]
    )
    assert env["result"]["status"] == "closed"
    assert env["result"]["history"][-1]["to_status"] == "closed"
    refused = runner.invoke(
        app, ["complaints", "move", key, "in_progress", "--project", str(project), "--lang", "zh"]
    )
    assert refused.exit_code == 2
    assert "不能转为" in refused.output


def test_taxonomy_and_workflow_commands() -> None:
    env = _json(["complaints", "taxonomy"])
    assert len(env["result"]["causes"]) == 30
    zh = runner.invoke(app, ["complaints", "taxonomy", "--lang", "zh"])
    assert "产品品质不良" in zh.output
    wf = _json(["complaints", "workflow", "--sla", "low=/100"])
    low = next(s for s in wf["result"]["severities"] if s["code"] == "low")
    assert low["resolution_hours"] == 100.0
