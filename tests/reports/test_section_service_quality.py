"""The service-quality report section on a small demo project: blueprint, audits, actions and
care, in English and Chinese, recovering the truths the demo data were generated with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from allegiance.generate import DemoConfig
from allegiance.project import open_project
from allegiance.reports import build_report, load_sections, write_html, write_xlsx
from allegiance.reports.registry import Report, SectionResult
from allegiance.workflow import ProjectData, generate_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sq") / "demo"
    generate_project(root, config=DemoConfig(customers=1500, months=24, seed=3))
    load_sections()
    return root


def build(project: Path, lang: str) -> Iterator[Report]:
    data = ProjectData(open_project(project), lang=lang)  # type: ignore[arg-type]
    try:
        yield build_report(data, lang=lang, sections=["service_quality"])
    finally:
        data.close()


@pytest.fixture(scope="module")
def english(project: Path) -> Iterator[Report]:
    yield from build(project, "en")


def section(report: Report) -> SectionResult:
    (found,) = report.sections
    assert found.error is None, found.error
    return found


def test_figures_tables_and_charts(english: Report) -> None:
    part = section(english)
    figures = {f.id: f.value for f in part.output.figures}
    assert figures["fix_first"] == "Technician on time"  # the true weakest step (p = 0.88)
    assert 0.55 < figures["reliability"] < 0.75  # true reliability 0.651
    assert 0.0 < figures["compliance"] < 1.0
    assert figures["onsite_minus_mystery"] > 0
    assert figures["actions"] >= 5
    assert figures["care_due"] > 0
    tables = {t.id for t in part.output.tables}
    assert tables == {"blueprint", "audit_branches", "audit_standards", "actions", "care"}
    assert {c.id for c in part.output.charts} == {
        "blueprint",
        "gain",
        "audit_branches",
        "standards_pareto",
    }
    assert part.seconds < 20


def test_truths_are_recovered(english: Report) -> None:
    part = section(english)
    tables = {t.id: t.frame for t in part.output.tables}
    steps = tables["blueprint"]
    inside = (steps["truth"] >= steps["ci_low"]) & (steps["truth"] <= steps["ci_high"])
    assert inside.sum() >= 8
    branches = tables["audit_branches"]
    assert branches["covered"].mean() >= 0.85
    assert np.corrcoef(branches["truth"], branches["mean"])[0, 1] > 0.8
    actions = tables["actions"]
    done = actions.dropna(subset=["difference"])
    assert len(done) == 2  # the two weakest links, measured between the last two waves
    assert ((done["truth"] >= done["ci_low"]) & (done["truth"] <= done["ci_high"])).all()
    assert (done["difference"] > 0).all()  # the demo's service programme raised quality


def test_chinese_and_written_files(project: Path, tmp_path: Path) -> None:
    (report,) = list(build(project, "zh"))
    part = section(report)
    figures = {f.id: f.value for f in part.output.figures}
    assert figures["fix_first"] == "按时上门"
    actions = {t.id: t.frame for t in part.output.tables}["actions"]
    assert actions["owner"].iloc[0] == "客户体验部"
    assert any("您说了，我们做了" in n.render("zh") for n in part.output.notes)
    html = write_html(report, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "服务质量" in html
    assert "客户进门 10 秒内有员工主动问候" in html
    write_xlsx(report, tmp_path / "report.xlsx")
    assert (tmp_path / "report.xlsx").stat().st_size > 0
