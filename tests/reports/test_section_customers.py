"""The `customers` report section (levels, value, flows, survival, at-risk list) on a small
demo project, checked against the profile table it reads and against the step engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import allegiance.reports.sections.customers as section_mod
from allegiance.customers.engine import connect
from allegiance.customers.profile import level_flows
from allegiance.customers.steps import at_risk, parse_rules
from allegiance.generate import DemoConfig
from allegiance.methods.clv import kaplan_meier
from allegiance.project import open_project
from allegiance.reports import charts
from allegiance.reports.html import render_html
from allegiance.reports.registry import Report, build_report
from allegiance.reports.sections._common import code_label
from allegiance.reports.xlsx import write_xlsx
from allegiance.workflow import ProjectData, generate_project, profile_project

HOSTILE = "<script>alert('risk')</script>"
RULES = parse_rules(
    {
        "extends": "default",
        "rules": [
            {"name": "services_lost_half", "description": {"en": HOSTILE, "zh": HOSTILE}},
            {
                "name": "purchases_fall",
                "move": -2,
                "description": {"en": HOSTILE, "zh": HOSTILE},
            },
        ],
    }
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("customers") / "p"
    generate_project(folder, config=DemoConfig(customers=2500, months=5, seed=4))
    profile_project(folder, full=True, rules=RULES)
    return folder


@pytest.fixture(scope="module")
def profile(project: Path) -> pd.DataFrame:
    return pd.read_parquet(project / "data" / "customer_profile.parquet")


@pytest.fixture(scope="module")
def report(project: Path) -> Report:
    return build_report(ProjectData(open_project(project), lang="en"), sections=["customers"])


def test_figures_and_tables_equal_the_profile(report: Report, profile: pd.DataFrame) -> None:
    (result,) = report.sections
    assert result.error is None
    figures = report.figures()
    assert figures["customers.customers"] == len(profile) == 2500
    assert figures["customers.at_risk"] == int(profile["at_risk"].sum()) > 0
    assert figures["customers.total_clv"] == pytest.approx(profile["clv"].sum())
    assert figures["customers.mean_p_alive"] == pytest.approx(profile["p_alive"].mean())
    assert figures["customers.mean_score"] == pytest.approx(profile["loyalty_score"].mean())
    high = (profile["grade"] == "high").sum() / profile["grade"].notna().sum()
    assert figures["customers.high_share"] == pytest.approx(high)
    tables = report.tables()
    levels = tables["customers.levels"]["customers"]
    assert levels.to_dict() == profile["level"].value_counts().sort_index().to_dict()
    bands = tables["customers.clv_bands"]["customers"]
    assert bands.sum() == profile["clv"].notna().sum()


def test_flow_chart_is_a_sankey_of_the_step_engine(
    report: Report, project: Path, profile: pd.DataFrame
) -> None:
    (result,) = report.sections
    charts_by_id = {c.id: c for c in result.output.charts}
    sankey = charts_by_id["flows"].figure.data[0]
    assert sankey.type == "sankey"
    with connect() as engine:
        flows = level_flows(engine, project / "data" / "loyalty_steps", months=3)
    assert sorted(sankey.link.value) == sorted(flows["customers"].astype(float))
    # every transition carries every customer
    per_step = flows.groupby("month_to")["customers"].sum()
    assert (per_step == len(profile)).all()
    assert len(per_step) == 3
    # nodes of the last month add up to the levels now
    last = flows[flows["month_to"] == flows["month_to"].max()]
    assert last.groupby("level_to")["customers"].sum().to_dict() == (
        profile["level"].value_counts().sort_index().to_dict()
    )


def test_survival_curves_are_kaplan_meier_by_segment(report: Report, profile: pd.DataFrame) -> None:
    (result,) = report.sections
    survival = {c.id: c for c in result.output.charts}["survival"].figure
    names = [trace.name for trace in survival.data]
    segments = sorted(profile["segment"].dropna().unique())
    assert names == ["All customers", *[code_label("segment", s, "en") for s in segments]]
    km = kaplan_meier(
        profile.dropna(subset=["lifetime_months"]).assign(lost=lambda f: f["lost"].astype(int)),
        duration="lifetime_months",
        event="lost",
    )
    first = survival.data[0]
    np.testing.assert_allclose(first.y[1:], km.survival["survival"].to_numpy())
    table = report.tables()["customers.survival"]
    assert table["n"].iloc[0] == profile["lifetime_months"].notna().sum()


def test_at_risk_list_is_the_most_valuable_with_escaped_reasons(
    report: Report, project: Path, profile: pd.DataFrame
) -> None:
    shown = report.tables()["customers.at_risk"]
    risky = profile[profile["at_risk"]].sort_values("clv", ascending=False)
    assert shown["customer_id"].tolist() == risky["customer_id"].head(len(shown)).tolist()
    with connect() as engine:
        found = at_risk(engine, project / "data" / "loyalty_steps")
    reasons = found.customers.set_index("customer_id")["reasons"]
    assert shown["reasons"].tolist() == reasons[shown["customer_id"]].tolist()
    assert shown["reasons"].str.len().gt(0).all()
    assert any(HOSTILE in r for r in shown["reasons"])
    html = render_html(report)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#39;risk&#39;)&lt;/script&gt;" in html


def test_chinese_and_excel(project: Path, tmp_path: Path) -> None:
    report = build_report(ProjectData(open_project(project), lang="zh"), sections=["customers"])
    html = render_html(report)
    assert "客户：忠诚度等级、价值与流失风险" in html
    assert "有流失风险的客户" in html
    path = write_xlsx(report, tmp_path / "r.xlsx")
    book = load_workbook(path, read_only=True)
    assert len(book.sheetnames) >= 6


def test_demo_note_names_the_months_the_engine_read(project: Path, tmp_path: Path) -> None:
    meta = json.loads((project / "data" / "customer_profile.json").read_text(encoding="utf-8"))
    assert meta["settings"]["steps_since"] is None
    assert meta["n_customers"] == 2500


def test_without_a_profile_the_section_says_what_to_run(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    generate_project(folder, config=DemoConfig(customers=300, months=2, seed=1))
    report = build_report(ProjectData(open_project(folder), lang="en"), sections=["customers"])
    (result,) = report.sections
    assert result.error is not None
    assert "allegiance customers profile --project" in result.error.render("en")


def test_sankey_and_step_lines_check_their_input() -> None:
    from allegiance.errors import ValidationError

    fig = charts.sankey(["a", "b", "c"], [0, 0], [1, 2], [5, 3])
    assert list(fig.data[0].link.value) == [5, 3]
    assert fig.data[0].link.color[0].startswith("rgba(")
    with pytest.raises(ValidationError):
        charts.sankey(["a", "b"], [0], [2], [1])
    with pytest.raises(ValidationError):
        charts.sankey(["a", "b"], [0], [1], [-1])
    lines = charts.step_lines({"x": ([0, 1, 2], [1.0, 0.8, 0.5])})
    assert lines.data[0].line.shape == "hv"
    assert section_mod.level_colors([1, 3, 5], 1, 5) == ["#d73027", "#fee08b", "#1a9850"]


def test_the_demo_job_runs_in_another_process_and_reports_its_error(tmp_path: Path) -> None:
    from allegiance.errors import AllegianceError
    from allegiance.workflow import _profile_in_background

    with _profile_in_background() as job:
        assert job.process is not None  # a worker process, not run here
        job.submit(str(tmp_path / "nothing"), None, "en")
        with pytest.raises(AllegianceError) as info:
            job.wait()
    assert job.process.returncode == 0
    assert info.value.key == "engine.error.missing_file"
    assert str(tmp_path / "nothing") in info.value.render("en")
    assert job.seconds > 0
    assert not job.result.exists()
    # a worker never given a job ends when the demo does
    with _profile_in_background() as idle:
        pass
    assert idle.process is not None
    assert idle.process.returncode == 0
