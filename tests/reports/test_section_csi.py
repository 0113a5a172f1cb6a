"""The report section `csi` on a small demo project: its figures are the API's.

The section must show exactly what :func:`allegiance.methods.csi.csi` computes on
the same survey answers with the shipped hierarchy, so each figure is checked
against a fresh call of the public API (and the hierarchy CR against the AHP API).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allegiance.methods import ahp
from allegiance.methods.csi import csi
from allegiance.project import open_project
from allegiance.reports.registry import get_section, load_sections, sections
from allegiance.templates import template_path
from allegiance.workflow import ProjectData, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run_demo(tmp_path_factory.mktemp("csi") / "demo", customers=1500, lang="en")


@pytest.fixture(scope="module")
def answers(demo: Any) -> Any:
    from allegiance.reports.sections.satisfaction import survey_with_segments

    data = ProjectData(open_project(demo.report.html.parent.parent), lang="en")
    try:
        return survey_with_segments(data)
    finally:
        data.close()


@pytest.fixture(scope="module")
def analysed() -> ahp.HierarchyResult:
    return ahp.analyze(ahp.load_hierarchy(template_path("hierarchies", "calculation_standard")))


def test_section_sits_between_satisfaction_and_factors() -> None:
    load_sections()
    section = get_section("csi")
    assert section.order == 25
    order = [s.id for s in sections()]
    assert order.index("satisfaction") < order.index("csi") < order.index("factors")


def test_figures_equal_the_api(demo: Any, answers: Any, analysed: ahp.HierarchyResult) -> None:
    figures = demo.report.figures
    assert "csi" not in demo.report.errors
    api = csi(answers, hierarchy=analysed, level_scores=(5, 4, 3, 2, 1), n_boot=2000, seed=0)
    assert figures["csi.csi"] == pytest.approx(api.csi_100, abs=1e-12)
    assert figures["csi.csi_ci_low"] == pytest.approx(100 * api.ci_low, abs=1e-12)
    assert figures["csi.csi_ci_high"] == pytest.approx(100 * api.ci_high, abs=1e-12)
    assert figures["csi.csi_ci_low"] < figures["csi.csi"] < figures["csi.csi_ci_high"]
    subs = api.overall_subindices.set_index("criterion")["subindex"]
    for criterion in ("service_content", "service_quality", "benefit"):
        assert figures[f"csi.sub_{criterion}"] == pytest.approx(100 * subs[criterion], abs=1e-12)
    weakest = api.weakest()
    names = analysed.global_weights.set_index("factor")["name"]
    assert figures["csi.weakest"] == names[weakest["factor"]]
    assert figures["csi.weakest_gap"] == pytest.approx(float(weakest["gap"]), abs=1e-15)
    assert figures["csi.hierarchy_cr"] == pytest.approx(analysed.cr, abs=1e-15)
    assert figures["csi.hierarchy_cr"] < 0.1
    # a plausible index for the demo company: between the worst and best factor DC, ×100
    dc = api.overall_factors["dc"]
    assert 100 * dc.min() <= figures["csi.csi"] <= 100 * dc.max()


def test_tables_charts_and_segments(demo: Any, answers: Any, analysed: ahp.HierarchyResult) -> None:
    load_sections()
    data = ProjectData(open_project(demo.report.html.parent.parent), lang="zh")
    try:
        out = get_section("csi").build(data)
    finally:
        data.close()
    tables = {t.id: t.frame for t in out.tables}
    assert set(tables) == {"factors", "subindices", "consistency", "by_segment"}
    factors = tables["factors"]
    assert len(factors) == 14
    assert factors["rank"].tolist() == list(range(1, 15))  # largest gap first
    assert "可靠性" in factors.index  # Chinese names from the hierarchy
    assert factors["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    consistency = tables["consistency"]
    assert len(consistency) == 5  # four judgement matrices and the whole hierarchy
    assert (consistency["cr"] < 0.1).all()
    by_segment = tables["by_segment"]
    api = csi(answers, hierarchy=analysed, by="segment", n_boot=2000, seed=0)
    assert by_segment["csi_100"].tolist() == pytest.approx(api.index["csi_100"].tolist(), abs=1e-12)
    assert by_segment["n"].sum() == len(answers)
    assert {c.id for c in out.charts} == {"contribution_gap", "subindices", "by_segment"}
    chart = next(c for c in out.charts if c.id == "contribution_gap").figure
    contribution, gap = (trace.x for trace in chart.data)
    # each bar (contribution + gap) is as long as the factor's weight
    assert [a + b for a, b in zip(contribution, gap, strict=True)] == pytest.approx(
        factors["weight"].tolist(), abs=1e-12
    )
    assert any(n.key == "section.csi.scores_used" for n in out.notes)


def test_html_shows_the_section(demo: Any) -> None:
    html = Path(demo.report.html).read_text(encoding="utf-8")
    assert "Satisfaction index CSI (calculation standard, AHP weights)" in html
    assert "Contribution and gap by factor" in html


def test_section_is_quick(demo: Any) -> None:
    # 300 respondents here; the demo's 2,000 are timed in the report notes
    assert demo.report.seconds["csi"] < 3.0
