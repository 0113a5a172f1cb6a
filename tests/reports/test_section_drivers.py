"""The `drivers` (weakest links) and `touchpoints` (moments of truth, delivered value) report
sections on a small demo project: their figures are the methods' own, the report shows them,
and a project without the journey table gets a note instead of an error."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import allegiance.generate.journey  # noqa: F401  (registers the journey table)
from allegiance.methods.drivers import ipa
from allegiance.project import open_project
from allegiance.reports.registry import build_report
from allegiance.reports.sections import drivers as drivers_section
from allegiance.reports.sections import touchpoints as touchpoints_section
from allegiance.workflow import DemoResult, ProjectData, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("drivers") / "d", customers=1500, months=3)


@pytest.fixture(scope="module")
def data(demo: DemoResult) -> ProjectData:
    return ProjectData(open_project(demo.generated.project), lang="en")


def test_sections_ran_without_error(demo: DemoResult) -> None:
    assert "drivers" not in demo.report.errors
    assert "touchpoints" not in demo.report.errors
    ids = [s.id for s in demo.report.report.sections]
    assert ids.index("drivers") < ids.index("touchpoints")


def test_drivers_figures_are_the_methods(demo: DemoResult, data: ProjectData) -> None:
    answers = data.responses
    items = [c for c in answers.columns if c.startswith("cs_")]
    assert len(items) == 14
    expected = ipa(answers, items=items, target="csat", split="medians", scale=(1, 5))
    figures = demo.report.figures
    assert figures["drivers.r2"] == pytest.approx(expected.r2)
    assert figures["drivers.n_weakest"] == len(expected.weakest)
    # the factor driven by satisfaction itself (service use) must dominate
    top = expected.table.sort_values("importance", ascending=False)["item"].iloc[0]
    assert top == "cs_service_use"
    assert figures["drivers.top_driver"] == "Satisfaction with service use"
    tables = demo.report.report.tables()
    weakest = tables["drivers.weakest_links"]
    assert len(weakest) == len(expected.weakest)
    np.testing.assert_allclose(weakest["pct_r2"].to_numpy(), expected.weakest["pct_r2"].to_numpy())


def test_touchpoint_figures_are_the_methods(demo: DemoResult, data: ProjectData) -> None:
    frame = touchpoints_section.journey_frame(data)
    journey, value = touchpoints_section.compute(frame)
    figures = demo.report.figures
    assert figures["touchpoints.weakest"] == "Billing and payment"
    assert journey.weakest == "tp_billing"
    assert figures["touchpoints.delivered_value"] == pytest.approx(value.delivered)
    assert figures["touchpoints.r2"] == pytest.approx(float(journey.overall_summary["r2"].iloc[0]))
    tables = demo.report.report.tables()
    assert len(tables["touchpoints.touchpoints"]) == 8
    assert len(tables["touchpoints.delivered_value"]) == 4  # four segments


def test_html_shows_both_sections(demo: DemoResult) -> None:
    html = Path(demo.report.html).read_text(encoding="utf-8")
    for text in (
        "Weakest links: importance and performance",
        "Importance-performance grid",
        "Moments of truth and delivered value",
        "Billing and payment",
        "Delivered value by segment",
    ):
        assert text in html, text


def test_sections_in_chinese(data: ProjectData) -> None:
    zh = ProjectData(data.project, lang="zh")
    report = build_report(zh, sections=["drivers", "touchpoints"], lang="zh")
    figures = report.figures()
    assert figures["touchpoints.weakest"] == "账单与缴费"
    assert report.sections[0].title == "短板分析：重要性与表现"
    zh.close()


def test_sections_are_quick(data: ProjectData) -> None:
    for section in (drivers_section, touchpoints_section):
        start = time.perf_counter()
        section.build(data)
        assert time.perf_counter() - start < 1.5


def test_project_without_journey_gets_a_note(data: ProjectData, tmp_path: Path) -> None:
    class NoJourney:
        lang = "en"

        def has_table(self, name: str) -> bool:
            return False

    output = touchpoints_section.build(NoJourney())  # type: ignore[arg-type]
    assert [n.key for n in output.notes] == ["section.touchpoints.no_data"]
    assert output.figures == ()


def test_ipma_of_the_ecsi_model(demo: DemoResult, data: ProjectData) -> None:
    from allegiance.methods.drivers import ipma
    from allegiance.pls import estimate
    from allegiance.pls.templates import load_model

    fit = estimate(load_model("ecsi"), data.responses, scheme="path")
    expected = ipma(fit, target="Satisfaction").table.set_index("construct")
    table = demo.report.report.tables()["drivers.ipma"]
    names = {
        "Image": "Image",
        "Expectation": "Expectation",
        "Perceived quality": "Perceived quality",
    }
    for construct, shown in names.items():
        assert table.loc[shown, "importance"] == pytest.approx(
            expected.loc[construct, "importance"]
        )
        # performance is the construct's 0-100 index, as in the PLS section
        assert table.loc[shown, "performance"] == pytest.approx(float(fit.index[construct]))
    assert set(table.index) == set(expected.index)
    top = expected["importance"].idxmax()
    assert demo.report.figures["drivers.ipma_top"] == top


def test_verbatims_under_the_weakest_links(demo: DemoResult, data: ProjectData) -> None:
    from allegiance.i18n import t
    from allegiance.reports.sections.comments import REASON_FACTORS, REASON_KEYWORDS

    result = drivers_section.compute(data.responses)
    found = drivers_section.factor_verbatims(data.responses, result.weakest)
    assert found is not None
    assert len(found) > 0
    weakest = [i.removeprefix("cs_") for i in result.weakest["item"]]
    assert set(found["factor"]) <= set(weakest)
    for row in found.itertuples():
        reasons = [r for r, f in REASON_FACTORS.items() if f == row.factor]
        words = [w.lower() for r in reasons for w in REASON_KEYWORDS[r]]
        assert any(w in str(row.comment).lower() for w in words), row.comment
    # every weakest factor some reason bears on gets its verbatims, in fix order
    tied = [f for f in weakest if f in REASON_FACTORS.values()]
    assert list(dict.fromkeys(found["factor"])) == [f for f in tied if f in set(found["factor"])]
    table = demo.report.report.tables()["drivers.weakest_verbatims"]
    labels = {t(f"generate.cs_factor.{f}", "en") for f in found["factor"]}
    assert set(table.index.get_level_values("factor")) == labels
