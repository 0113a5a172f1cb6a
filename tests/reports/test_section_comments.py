"""The `comments` report section (dissatisfaction reasons and comments) on a small demo project:
its figures are the methods' own, the sentiment follows satisfaction, and a hostile comment
reaches the HTML report escaped."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allegiance.methods import comments as text_methods
from allegiance.methods import reasons as reason_methods
from allegiance.project import open_project
from allegiance.reports.html import render_html
from allegiance.reports.registry import build_report
from allegiance.reports.sections import comments as section
from allegiance.workflow import DemoResult, ProjectData, run_demo

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)> 网络经常断线 & 信号差"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("comments") / "d", customers=3000, months=3, lang="en")


@pytest.fixture(scope="module")
def data(demo: DemoResult) -> ProjectData:
    return ProjectData(open_project(demo.generated.project), lang="en")


def test_section_ran_without_error(demo: DemoResult) -> None:
    assert "comments" not in demo.report.errors
    ids = [s.id for s in demo.report.report.sections]
    assert "comments" in ids


def test_figures_are_the_methods(demo: DemoResult, data: ProjectData) -> None:
    answers = data.responses
    expected = reason_methods.reasons(answers, column="reasons")
    figures = demo.report.figures
    assert figures["comments.n_reasons"] == expected.n_respondents
    assert figures["comments.n_reasons"] == int((answers["csat"] <= 3).sum())
    top = expected.table.iloc[0]
    assert figures["comments.top_reason_share"] == pytest.approx(top["share_of_respondents"])
    assert figures["comments.mean_reasons"] == pytest.approx(expected.mean_reasons)
    assert figures["comments.n_comments"] == int(answers["comment"].notna().sum())
    tables = demo.report.report.tables()
    pareto = tables["comments.reasons"]
    assert pareto["count"].tolist() == expected.table["count"].tolist()
    assert pareto["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_sentiment_follows_satisfaction(demo: DemoResult) -> None:
    figures = demo.report.figures
    gap = figures["comments.sentiment_gap"]
    assert isinstance(gap, float)
    assert gap > 1.0
    by_level = demo.report.report.tables()["comments.sentiment_by_csat"]
    means = by_level["mean"].to_numpy()
    assert means[0] < 0 < means[-1]
    assert np.all(np.diff(means[[0, 2, 4]]) > 0)


def test_keywords_and_verbatims_present(demo: DemoResult) -> None:
    tables = demo.report.report.tables()
    keywords = tables["comments.keywords"].reset_index()
    assert set(keywords["lang"]) == {"zh", "en"}
    verbatims = tables["comments.verbatims"].reset_index()
    assert verbatims["reason"].nunique() >= 3
    assert (verbatims.groupby("reason").size() <= section.VERBATIMS_PER_REASON).all()
    html = Path(demo.report.html).read_text(encoding="utf-8")
    for title in (
        "Dissatisfaction reasons and comments",
        "Dissatisfaction reasons: counts and cumulative share",
        "Mean comment sentiment by overall satisfaction",
        "What customers say under each top reason",
    ):
        assert title in html, title


def test_section_time_at_demo_size(data: ProjectData) -> None:
    data.responses, data.customers  # noqa: B018  (loaded before timing, as in a report)
    text_methods.keywords(pd.DataFrame({"comment": ["网络", "network"]}))  # libraries loaded
    start = time.perf_counter()
    build_report(data, sections=["comments"])
    assert time.perf_counter() - start < 5.0  # about 0.5 s once jieba is loaded


@dataclass
class _Tiny:
    """What the section reads, with a hostile comment under a top reason."""

    lang: str = "zh"
    responses: pd.DataFrame = field(default_factory=pd.DataFrame)
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)


def test_hostile_comment_is_escaped_in_html() -> None:
    n = 12
    responses = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "csat": [1, 2, 3, 2, 1, 3, 4, 5, 4, 5, 2, 3],
            "reasons": [
                "network_quality",
                "network_quality;price",
                "price",
                "billing",
                "network_quality",
                "waiting_time",
                None,
                None,
                None,
                None,
                "app_issues",
                "service_attitude",
            ],
            "comment": [
                HOSTILE,
                "网络很不稳定。",
                "资费太贵。",
                "账单看不明白。",
                "The connection drops far too often.",
                "等很久。",
                "很满意。",
                "Excellent service.",
                None,
                "非常满意！",
                "App 经常闪退。",
                "客服态度冷淡。",
            ],
            "lang": ["zh", "zh", "zh", "zh", "en", "zh", "zh", "en", "zh", "zh", "zh", "zh"],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": responses["customer_id"], "segment": ["consumer", "sme"] * (n // 2)}
    )
    ctx = _Tiny(responses=responses, customers=customers)
    report = build_report(ctx, sections=[section.SECTION])
    assert report.sections[0].error is None
    verbatims = report.tables()["comments.verbatims"]
    assert HOSTILE in verbatims["comment"].tolist()
    html = render_html(report)
    assert "<script>alert('x')</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "网络经常断线 &amp; 信号差" in html
