"""End to end: `allegiance demo` at a small size, its report against the API, offline in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import allegiance as al
from allegiance.cli.app import app
from allegiance.security.accounts import create_user
from allegiance.store import repository
from allegiance.store.admin import audit_frame, list_users
from allegiance.store.db import make_engine, session_factory
from allegiance.workflow import DEMO_SURVEY

runner = CliRunner()
FIGURES = re.compile(
    r'<script type="application/json" id="allegiance-figures">(.*?)</script>', re.S
)


def _figures(html: str) -> dict[str, Any]:
    found = FIGURES.search(html)
    assert found is not None
    loaded: dict[str, Any] = json.loads(found.group(1))
    return loaded


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("e2e") / "demo"
    result = runner.invoke(
        app,
        ["demo", "--project", str(root), "--customers", "1500", "--seed", "7", "--format", "json"],
        env={"ALLEGIANCE_LANG": "en"},
    )
    assert result.exit_code == 0, result.output
    envelope: dict[str, Any] = json.loads(result.stdout)
    return root, envelope


def test_json_envelope(demo: tuple[Path, dict[str, Any]]) -> None:
    root, env = demo
    assert set(env) == {"command", "version", "inputs", "result", "warnings"}
    assert env["command"] == "demo"
    assert env["version"] == al.__version__
    assert env["inputs"]["customers"] == 1500
    assert env["result"]["rows"]["customers"] == 1500
    assert env["result"]["errors"] == {}
    assert Path(env["result"]["report_html"]) == root / "reports" / "report.html"
    assert env["result"]["seconds"]["sections"].keys() >= {"overview", "satisfaction", "factors"}


def test_report_figures_equal_the_api(demo: tuple[Path, dict[str, Any]]) -> None:
    root, env = demo
    html = (root / "reports" / "report.html").read_text(encoding="utf-8")
    figures = _figures(html)
    assert figures == env["result"]["headline"]

    engine = make_engine(al.open_project(root).database_url)
    try:
        answers = repository.responses_frame(engine, survey_code=DEMO_SURVEY)
        complaints = repository.complaints_frame(engine)
    finally:
        engine.dispose()
    customers = pd.read_parquet(root / "data" / "customers.parquet")

    # The API on the stored data gives the report's numbers ...
    assert figures["satisfaction.nps"] == pytest.approx(al.nps(answers, score="nps").nps)
    csat = al.csat(answers, score="csat", points=5).tables()["csat"]
    assert figures["satisfaction.csat_top2"] == pytest.approx(csat["top2_box"].iloc[0])
    assert figures["overview.customers"] == len(customers) == 1500
    assert figures["overview.complaints"] == len(complaints)
    assert figures["overview.respondents"] == len(answers)
    # ... and so does arithmetic done here by hand, independent of the library.
    score = answers["nps"].dropna().to_numpy()
    by_hand = 100 * (np.mean(score >= 9) - np.mean(score <= 6))
    assert figures["satisfaction.nps"] == pytest.approx(by_hand)
    # Each figure is rendered as an element carrying its exact value.
    value = re.search(r'data-figure="satisfaction\.nps"[^>]*data-value="([^"]+)"', html)
    assert value is not None
    assert float(value.group(1)) == pytest.approx(by_hand)


def test_report_lists_compute_time_and_is_offline(demo: tuple[Path, dict[str, Any]]) -> None:
    root, _ = demo
    html = (root / "reports" / "report.html").read_text(encoding="utf-8")
    for title in ("Overview", "Satisfaction and loyalty scores", "Satisfaction by factor"):
        assert title in html
    assert re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", html) is None


def test_workbook_has_the_figures(demo: tuple[Path, dict[str, Any]]) -> None:
    root, env = demo
    book = load_workbook(root / "reports" / "report.xlsx", read_only=True)
    values = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row]
    assert env["result"]["headline"]["satisfaction.nps"] in values
    assert len(book.sheetnames) >= 5


@pytest.mark.browser
def test_report_opens_offline_in_chromium(
    demo: tuple[Path, dict[str, Any]], browser_page: Any
) -> None:
    root, _ = demo
    url = (root / "reports" / "report.html").as_uri()
    browser_page.page.goto(url)
    browser_page.page.wait_for_selector(".main-svg")
    assert browser_page.console_errors == []
    assert browser_page.page_errors == []
    assert [u for u in browser_page.requests if not u.startswith(("file://", "data:"))] == []
    shown = browser_page.page.evaluate(
        "JSON.parse(document.getElementById('allegiance-figures').textContent)"
    )
    assert shown["overview.customers"] == 1500


def test_report_command_rebuilds_in_chinese(demo: tuple[Path, dict[str, Any]]) -> None:
    root, env = demo
    result = runner.invoke(app, ["report", "--project", str(root), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "主要指标" in result.output
    html = (root / "reports" / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html
    assert "满意度与忠诚度得分" in html
    numbers = {k: v for k, v in env["result"]["headline"].items() if not isinstance(v, str)}
    assert {k: v for k, v in _figures(html).items() if k in numbers} == numbers


def test_generate_refuses_to_overwrite_without_force(demo: tuple[Path, dict[str, Any]]) -> None:
    root, _ = demo
    result = runner.invoke(app, ["generate", "--project", str(root), "--customers", "300"])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert "Traceback" not in result.output


def test_generate_with_force_replaces(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    first = runner.invoke(
        app, ["generate", "--project", str(root), "--customers", "400", "--format", "json"]
    )
    assert first.exit_code == 0, first.output
    url = al.open_project(root).database_url
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            create_user(session, "keeper", role="analyst", password=None, actor="test")
            session.commit()
    finally:
        engine.dispose()
    again = runner.invoke(
        app,
        ["generate", "--project", str(root), "--customers", "300", "--force", "--format", "json"],
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["result"]["rows"]["customers"] == 300
    engine = make_engine(url)
    try:
        answers = repository.responses_frame(engine, survey_code=DEMO_SURVEY)
        with session_factory(engine)() as session:
            # accounts and the audit log outlive a replaced demo
            assert [u.username for u in list_users(session)] == ["keeper"]
            assert len(audit_frame(engine)) >= 1
    finally:
        engine.dispose()
    assert len(answers) == json.loads(again.stdout)["result"]["rows"]["survey_responses"]


def test_demo_will_not_overwrite_a_users_project(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    result = runner.invoke(app, ["demo", "--project", str(root), "--customers", "300"])
    assert result.exit_code == 2
    assert "not a demo project" in result.output


def test_demo_needs_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = runner.invoke(app, ["demo", "--project", str(tmp_path), "--lang", "zh"])
    assert result.exit_code == 2
    assert "不是空文件夹" in result.output
