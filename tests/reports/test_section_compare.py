"""The `compare` report section (segments, waves, competitors) on a small demo project.

Figures are checked against hand computations on the demo tables (NPS and CSAT per
segment), against the calculation-standard CSI computed directly with the shipped
hierarchy (the index must carry the AHP weights, not an equal-weight mean), and against
the generator's truth (the wave changes and the competitor differences).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allegiance.generate.journey
import allegiance.generate.servqual_extra
import allegiance.generate.waves
import allegiance.reports.sections.compare  # noqa: F401  (registers the section)
from allegiance.generate import DemoConfig
from allegiance.methods import ahp
from allegiance.methods.csi import csi
from allegiance.project import open_project
from allegiance.reports.registry import Report, build_report
from allegiance.templates import template_path
from allegiance.workflow import ProjectData, generate_project


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ProjectData:
    folder = tmp_path_factory.mktemp("compare") / "p"
    generate_project(folder, config=DemoConfig(customers=4000, months=3, seed=21))
    return ProjectData(open_project(folder), lang="en")


@pytest.fixture(scope="module")
def report(data: ProjectData) -> Report:
    return build_report(data, sections=["compare"], lang="en")


def _truth(data: ProjectData) -> dict:
    truth = data.truth
    return truth.get("waves") or truth["generate.waves"]


def _answers(data: ProjectData) -> pd.DataFrame:
    segments = data.customers[["customer_id", "segment"]].astype({"segment": "str"})
    return data.responses.merge(segments, on="customer_id", how="left")


def test_segment_table_has_every_figure_with_its_interval(
    data: ProjectData, report: Report
) -> None:
    table = report.tables()["compare.by_segment"]
    big = table.loc[["Consumer", "Small business"]]  # the two segments with many answers
    for name in ("nps", "csat_mean", "top2_box", "index"):
        low, high = big[f"{name}_ci_low"], big[f"{name}_ci_high"]
        assert ((low < big[name]) & (big[name] < high)).all(), name
    answers = _answers(data)
    for segment, rows in answers.groupby("segment"):
        label = {"consumer": "Consumer", "sme": "Small business"}.get(str(segment))
        if label is None:
            continue
        row = table.loc[label]
        nps = rows["nps"].dropna()
        hand = 100 * ((nps >= 9).mean() - (nps <= 6).mean())
        assert row["nps"] == pytest.approx(hand)
        assert row["csat_mean"] == pytest.approx(rows["csat"].mean())
        assert row["top2_box"] == pytest.approx((rows["csat"].dropna() >= 4).mean())


def test_segment_index_is_the_ahp_weighted_csi(data: ProjectData, report: Report) -> None:
    table = report.tables()["compare.by_segment"]
    answers = _answers(data)
    hierarchy = ahp.analyze(
        ahp.load_hierarchy(template_path("hierarchies", "calculation_standard"))
    )
    direct = csi(answers, hierarchy=hierarchy, by="segment", n_boot=0).index.set_index("segment")
    assert table.loc["Consumer", "index"] == pytest.approx(direct.loc["consumer", "csi_100"])
    assert table.loc["Small business", "index"] == pytest.approx(direct.loc["sme", "csi_100"])
    # not the equal-weight mean of the factors (what the section used to show)
    factors = [c for c in answers.columns if c.startswith("cs_")]
    consumer = answers.loc[answers["segment"] == "consumer", factors]
    equal = 20 * consumer.mean().mean()
    assert abs(table.loc["Consumer", "index"] - equal) > 0.05


def test_wave_changes_cover_the_true_change(data: ProjectData, report: Report) -> None:
    truth = _truth(data)["changes"]
    changes = report.tables()["compare.wave_changes"].reset_index()
    nps = changes.loc[changes["measure"] == "NPS"]
    assert len(nps) == len(truth) == 3
    covered = 0
    for (_, row), true in zip(nps.iterrows(), truth, strict=True):
        assert (row["from_wave"], row["to_wave"]) == (true["from_wave"], true["to_wave"])
        covered += row["ci_low"] <= true["nps"] <= row["ci_high"]
    assert covered >= 2  # three 95% intervals
    # the service-improvement programme raised satisfaction: the last steps are upward
    assert (nps["change"].iloc[1:] > 0).all()


def test_competitors_follow_the_true_effects(data: ProjectData, report: Report) -> None:
    effects = _truth(data)["competitors"]["effects"]
    table = report.tables()["compare.competitors"]
    # Yidong's brand is much better known (+0.45 sd): Huaxun is behind; its cost saved is
    # worse (-0.35 sd): Huaxun is ahead there
    assert effects["yidong"]["brand_popularity"] == 0.45
    assert table.loc[("Yidong Mobile", "Brand popularity"), "verdict"] == "we trail"
    assert table.loc[("Yidong Mobile", "Cost saved"), "verdict"] == "we lead"
    assert table.loc[("Liantong Telecom", "Reliability"), "verdict"] == "we lead"
    # the own-brand rows of competitor_ratings are the main survey's answers
    ratings = data.table("competitor_ratings")
    own = ratings.loc[ratings["competitor"].astype(str) == "huaxun"]
    assert len(own) == len(data.responses)
    ours = table.loc[("Yidong Mobile", "Brand popularity")]
    rated = ratings.loc[ratings["competitor"].astype(str) == "yidong", "respondent_key"]
    both = data.responses.set_index("respondent_key").loc[rated, "cs_brand_popularity"]
    theirs = ratings.loc[ratings["competitor"].astype(str) == "yidong"].set_index("respondent_key")[
        "cs_brand_popularity"
    ]
    pairs = pd.concat([both, theirs], axis=1, keys=["ours", "theirs"]).dropna()
    assert ours["n_pairs"] == len(pairs)
    assert ours["ours_mean"] == pytest.approx(pairs["ours"].astype(float).mean())


def test_headers_in_both_languages(data: ProjectData, report: Report, tmp_path: Path) -> None:
    from allegiance.reports.html import render_html

    html = render_html(report)
    for text in ("NPS CI low", "CSAT mean CI high", "Index CI low", "Top 2 box CI high"):
        assert text in html, text
    assert "nps_ci_low" not in html
    zh_data = ProjectData(data.project, lang="zh")
    zh = build_report(zh_data, sections=["compare"], lang="zh")
    zh_html = render_html(zh)
    for text in ("净推荐值置信下限", "CSAT 平均分", "指数置信上限", "满意度指数"):
        assert text in zh_html, text
    assert "csat_mean" not in zh_html
    zh_data.close()
    assert np.isfinite(report.figures()["compare.nps_spread"])
