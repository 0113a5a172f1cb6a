"""The complaints report section on a demo project: figures equal the API, charts and tables in
both languages, true values beside the estimates."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from allegiance.generate import DemoConfig
from allegiance.methods import complaints as mc
from allegiance.project import open_project
from allegiance.reports.registry import SectionOutput
from allegiance.reports.sections import complaints as section
from allegiance.workflow import ProjectData, generate_project


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProjectData]:
    folder = tmp_path_factory.mktemp("sec") / "demo"
    generate_project(folder, config=DemoConfig(customers=8000, months=12, seed=5, survey_size=200))
    loaded = ProjectData(open_project(folder), lang="en")
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def output(data: ProjectData) -> SectionOutput:
    return section.build(data)


def test_figures_equal_the_api(data: ProjectData, output: SectionOutput) -> None:
    figures = {f.id: f.value for f in output.figures}
    customers = data.customers
    summary = mc.summarize(
        data.complaints, customers=customers, joined="join_date", left="churn_month"
    )
    assert figures["complaints"] == len(data.complaints)
    assert figures["vital_few"] == len(summary.pareto.vital_few)
    assert figures["class_1_share"] == pytest.approx(summary.pareto.classes["share"].iloc[0])
    assert figures["resolution_within_sla"] == pytest.approx(summary.sla.share_within("resolution"))  # type: ignore[union-attr]
    assert figures["recovery_rate"] == pytest.approx(summary.recovery.recovery_rate)  # type: ignore[union-attr]
    assert figures["complaints_per_1000"] == pytest.approx(summary.rate.rate)  # type: ignore[union-attr]
    assert figures["dissatisfied_estimate"] == pytest.approx(
        figures["complainants_per_month"] / 0.05
    )


def test_charts_tables_and_the_stated_assumption(output: SectionOutput) -> None:
    assert {c.id for c in output.charts} == {"pareto", "classes", "sla", "resolution_times", "rate"}
    tables = {tb.id: tb.frame for tb in output.tables}
    assert set(tables) >= {
        "pareto",
        "classes",
        "sla",
        "recovery",
        "retention",
        "escalation",
        "iceberg",
    }
    pareto = tables["pareto"]
    assert pareto["cumulative_share"].is_monotonic_increasing
    assert pareto["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    # the iceberg's assumption is stated as a note and on the figure
    assert any(n.key == "complaints.iceberg.assumption" for n in output.notes)
    (iceberg,) = [f for f in output.figures if f.id == "dissatisfied_estimate"]
    assert iceberg.note_key is not None


def test_estimates_sit_near_the_truth(output: SectionOutput) -> None:
    tables = {tb.id: tb.frame for tb in output.tables}
    pareto = tables["pareto"]
    assert np.allclose(pareto["share"], pareto["true_share"], atol=0.05)
    sla = tables["sla"]
    assert np.nanmax(np.abs(sla["share_within"] - sla["true_share"])) < 0.2
    assert (
        np.abs(
            sla.xs("All", level="severity")["share_within"]
            - sla.xs("All", level="severity")["true_share"]
        )
        < 0.05
    ).all()
    recovery = tables["recovery"]
    overall = recovery.iloc[0]
    assert abs(overall["recovery_rate"] - overall["true_rate"]) < 0.06


def test_chinese(data: ProjectData) -> None:
    zh = ProjectData(data.project, lang="zh")
    try:
        start = time.perf_counter()
        out = section.build(zh)
        seconds = time.perf_counter() - start
    finally:
        zh.close()
    tables = {tb.id: tb.frame for tb in out.tables}
    assert "产品品质不良" in tables["pareto"].index
    assert "首次响应" in tables["sla"].index.get_level_values("measure")
    assert any(i == "消费者协会" for i in tables["escalation"].index)
    assert seconds < 20
