"""The `pls` report section on a small demo project: ECSI indices, the path diagram, the
reliability tables, and the honesty check against the generator's true paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allegiance.datasets import load_mobi
from allegiance.pls import estimate
from allegiance.pls.templates import load_model
from allegiance.project import open_project
from allegiance.reports.sections import pls as pls_section
from allegiance.workflow import DemoResult, ProjectData, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("pls") / "d", customers=1500, months=3)


@pytest.fixture(scope="module")
def data(demo: DemoResult) -> ProjectData:
    return ProjectData(open_project(demo.generated.project), lang="en")


def test_section_ran_and_is_quick(demo: DemoResult) -> None:
    assert "pls" not in demo.report.errors
    part = next(s for s in demo.report.report.sections if s.id == "pls")
    assert part.ok
    assert part.seconds < 10  # about 0.3 s on an idle machine at this size
    assert [c.id for c in part.output.charts] == ["path_diagram"]
    ids = {tb.id for tb in part.output.tables}
    assert ids == {"paths", "constructs", "reliability", "htmt", "truth"}


def test_key_figures_are_the_fit(demo: DemoResult, data: ProjectData) -> None:
    fit = estimate(load_model("ecsi"), data.responses)
    figures = demo.report.figures
    assert figures["pls.satisfaction_index"] == pytest.approx(fit.index["Satisfaction"])
    assert figures["pls.loyalty_index"] == pytest.approx(fit.index["Loyalty"])
    assert figures["pls.satisfaction_r2"] == pytest.approx(fit.r2["Satisfaction"])
    assert figures["pls.loyalty_r2"] == pytest.approx(fit.r2["Loyalty"])
    assert figures["pls.gof"] == pytest.approx(fit.gof)
    assert figures["pls.n"] == len(data.responses)
    assert 0 < figures["pls.satisfaction_index"] < 100


def test_recovers_the_generators_satisfaction_to_loyalty_path(demo: DemoResult) -> None:
    truth = demo.report.report.tables()["pls.truth"]
    row = truth.loc[(truth["source"] == "Satisfaction") & (truth["target"] == "Loyalty")].iloc[0]
    assert row["truth"] == 0.49  # generate/latent.py PATHS
    # PLS composites of error-laden items attenuate paths: 0.42 is the large-sample value
    assert 0.38 < row["pls_population"] < 0.46
    assert abs(row["estimate"] - row["truth"]) < 0.15
    assert abs(row["estimate"] - row["pls_population"]) < 0.12  # about 2 SE at 300 answers
    assert row["ci_low"] < row["pls_population"] < row["ci_high"]
    # every path's estimate sits near what PLS converges to (within 3 SE at n = 300)
    paths = demo.report.report.tables()["pls.paths"]
    gap = np.abs(truth["estimate"].to_numpy() - truth["pls_population"].to_numpy())
    assert (gap < 3 * paths["se"].to_numpy()).all()


def test_html_shows_the_section(demo: DemoResult) -> None:
    html = Path(demo.report.html).read_text(encoding="utf-8")
    for text in (
        "Satisfaction index model (ECSI, PLS path modelling)",
        "Path coefficients with bootstrap intervals",
        "Honesty check",
        "Discriminant validity: HTMT",
        "Perceived quality",
    ):
        assert text in html, text


def test_chinese_names_in_chinese(data: ProjectData) -> None:
    zh = ProjectData(data.project, lang="zh")
    out = pls_section.build(zh)
    tables = {tb.id: tb.frame for tb in out.tables}
    assert "满意度" in "".join(tables["constructs"]["construct"])
    assert "企业形象" in set(tables["paths"]["source"])


@dataclass
class _Survey:
    """A project without generated truth: only answers (here the mobi survey)."""

    responses: pd.DataFrame
    lang: str = "en"
    truth: dict[str, Any] = field(default_factory=dict)


def test_without_truth_there_is_no_honesty_table() -> None:
    out = pls_section.build(_Survey(load_mobi()))
    assert {tb.id for tb in out.tables} == {"paths", "constructs", "reliability", "htmt"}
    figures = {f.id: f.value for f in out.figures}
    assert figures["n"] == 250
    assert figures["satisfaction_r2"] == pytest.approx(0.68, abs=0.01)


def test_diagram_places_every_construct_and_path() -> None:
    model = load_model("ecsi")
    fit = estimate(model, load_mobi())
    table = fit.paths_table().rename(columns={"coefficient": "estimate"})
    figure = pls_section.path_diagram(model, table, dict(fit.r2.items()), lang="en")
    layout = figure.layout
    assert len(layout.shapes) == 7
    arrows = [a for a in layout.annotations if a.showarrow]
    assert len(arrows) == 12
    labels = [a.text for a in layout.annotations if not a.showarrow]
    assert any("Satisfaction" in text and "R² = 0.68" in text for text in labels)
    # a generic model gets a layered layout
    acsi = load_model("acsi")
    positions = pls_section.positions(acsi)
    assert len(set(positions.values())) == 6
