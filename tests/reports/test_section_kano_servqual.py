"""The Kano and SERVQUAL report sections on a small demo project: the estimates recover the
truths the demo data were generated with, in English and Chinese, and within time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from allegiance.reports.registry import Report, SectionResult
from allegiance.workflow import DemoResult, build_project_report, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoResult]:
    """A 1,500-customer demo (300 respondents) with the SERVQUAL extra table."""
    from allegiance.generate import registered, unregister
    from allegiance.generate.registry import register

    was = "servqual_extra" in registered()
    from allegiance.generate import servqual_extra

    register(servqual_extra.MODULE, replace=True)
    try:
        yield run_demo(tmp_path_factory.mktemp("kq") / "demo", customers=1500, seed=3, lang="en")
    finally:
        if not was:
            unregister("servqual_extra")


def section(report: Report, section_id: str) -> SectionResult:
    found = [s for s in report.sections if s.id == section_id]
    assert len(found) == 1, [s.id for s in report.sections]
    assert found[0].error is None, found[0].error
    return found[0]


def test_kano_categories_equal_the_true_ones(demo: DemoResult) -> None:
    part = section(demo.report.report, "kano")
    figures = {f.id: f.value for f in part.output.figures}
    assert figures["attributes"] == 8
    assert figures["respondents"] == 300
    assert figures["recovered"] == 1.0
    (table,) = [tb for tb in part.output.tables if tb.id == "categories"]
    frame = table.frame
    assert (frame["category"] == frame["true_category"]).all()
    assert frame["category_recovered"].all()
    assert "5G coverage" in frame.index
    # shares are fractions summing to 1 per feature
    shares = frame[[f"share_{c}" for c in "AOMIRQ"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert {c.id for c in part.output.charts} == {"better_worse"}
    assert demo.report.figures["kano.recovered"] == 1.0


def test_servqual_recovers_true_gaps_and_zone(demo: DemoResult) -> None:
    part = section(demo.report.report, "servqual")
    tables = {tb.id: tb.frame for tb in part.output.tables}
    dims = tables["dimensions"]
    assert list(dims.index) == [
        "Tangibles",
        "Reliability",
        "Responsiveness",
        "Assurance",
        "Empathy",
    ]
    # the estimate is within 4 standard errors (CI half-width / 1.97) of the true gap
    half = (dims["ci_high"] - dims["ci_low"]) / 2
    assert ((dims["gap_pe"] - dims["true_gap"]).abs() <= 4 * half / 1.97).all()
    assert (dims["gap_pe"] < 0).all()
    assert (dims["importance_share"] - dims["true_importance_share"]).abs().max() < 0.03
    zone = tables["zone"]
    assert (zone["zone"] == zone["true_zone"]).all()
    assert zone.loc["Reliability", "zone"].startswith("below")
    figures = {f.id: f.value for f in part.output.figures}
    assert figures["largest_gap"] == "Reliability"
    assert figures["below_zone"] == 1
    assert figures["respondents"] == 300
    assert isinstance(figures["weighted_score"], float)
    assert {c.id for c in part.output.charts} == {"radar", "zone"}


def test_sections_are_fast(demo: DemoResult) -> None:
    seconds = demo.report.seconds
    assert seconds["kano"] < 1.5
    assert seconds["servqual"] < 1.5


def test_html_has_both_sections(demo: DemoResult) -> None:
    html = Path(demo.report.html).read_text(encoding="utf-8")
    assert "Kano analysis of features" in html
    assert "Service quality (SERVQUAL)" in html


def test_chinese_report_and_no_extra_table(demo: DemoResult) -> None:
    root = Path(demo.generated.project)
    zh = build_project_report(root, lang="zh")
    kano_part = section(zh.report, "kano")
    assert kano_part.title == "功能属性的 Kano 分析"
    (table,) = [tb for tb in kano_part.output.tables if tb.id == "categories"]
    assert "必备属性（M）" in set(table.frame["category"])
    assert "5G 网络覆盖" in table.frame.index

    (root / "data" / "servqual_zot.parquet").unlink()
    without = build_project_report(root, lang="en")
    part = section(without.report, "servqual")
    assert {tb.id for tb in part.output.tables} == {"dimensions"}
    assert "weighted_score" not in {f.id for f in part.output.figures}
    assert [m.key for m in part.output.notes][-1] == "section.servqual.note_no_zone"
