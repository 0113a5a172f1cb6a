"""Report-engine fixtures: a fake context, a tiny example section, and a headless browser.

The example section exists only for these tests; real sections are registered by
the capabilities themselves. Its texts are added to the catalogue for the test's
duration only, so the product catalogue holds no test strings.

``browser_page`` (Debian's chromium through Playwright) lives in tests/conftest.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allegiance.errors import InputError
from allegiance.i18n import Message, catalog
from allegiance.reports import charts
from allegiance.reports.registry import (
    Chart,
    ColumnFormat,
    KeyFigure,
    ReportTable,
    Section,
    SectionOutput,
    isolated_registry,
)

EXAMPLE_TEXTS: dict[str, dict[str, str]] = {
    "report.example.title": {"en": "Example section", "zh": "示例章节"},
    "report.example.other_title": {"en": "Second example", "zh": "第二个示例"},
    "report.example.failing_title": {"en": "Failing example", "zh": "出错的示例"},
    "report.example.n": {"en": "Respondents", "zh": "受访人数"},
    "report.example.mean": {"en": "Mean score", "zh": "平均得分"},
    "report.example.top_share": {"en": "Top-box share", "zh": "最高档占比"},
    "report.example.nps": {"en": "Net promoter score", "zh": "净推荐值"},
    "report.example.best": {"en": "Best segment", "zh": "最佳细分"},
    "report.example.missing": {"en": "Not measured", "zh": "未测量"},
    "report.example.by_segment": {"en": "Scores by segment", "zh": "各细分得分"},
    "report.example.shares": {
        "en": "Promoters, passives, detractors",
        "zh": "推荐者、中立者、贬损者",
    },
    "report.example.trend": {"en": "Mean score by month", "zh": "各月平均得分"},
    "report.example.note": {"en": "Scores are on a 0-10 scale.", "zh": "得分采用 0-10 分制。"},
    "report.example.warning": {
        "en": "Segment {segment} has only {n} answers.",
        "zh": "细分 {segment} 只有 {n} 份答卷。",
    },
    "col.example_segment": {"en": "Segment", "zh": "细分"},
    "col.example_n": {"en": "Answers", "zh": "答卷数"},
    "col.example_mean": {"en": "Mean", "zh": "平均值"},
    "col.example_share": {"en": "Share", "zh": "占比"},
    "col.example_comment": {"en": "Comment", "zh": "评论"},
}

HOSTILE = "<script>alert('x')</script>"


@dataclass
class FakeContext:
    """What the example section reads: a language and a frame of 0-10 scores."""

    lang: str = "en"
    scores: pd.DataFrame = field(default_factory=lambda: make_scores(seed=7))
    calls: list[str] = field(default_factory=list)


def make_scores(*, seed: int, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    segments = np.array(["Retail", "VIP", "Corporate", HOSTILE])
    return pd.DataFrame(
        {
            "segment": rng.choice(segments, size=n, p=[0.5, 0.25, 0.2, 0.05]),
            "month": rng.choice(["2024-01", "2024-02", "2024-03"], size=n),
            "score": rng.integers(0, 11, size=n),
        }
    )


def example_build(ctx: FakeContext) -> SectionOutput:
    """A tiny section: counts, a mean, shares, a table with hostile text, three charts."""
    ctx.calls.append("example")
    frame = ctx.scores
    score = frame["score"]
    promoters = float((score >= 9).mean())
    detractors = float((score <= 6).mean())
    by = frame.groupby("segment", sort=True)["score"]
    table = pd.DataFrame(
        {
            "example_segment": by.size().index.astype(str),
            "example_n": by.size().to_numpy(),
            "example_mean": by.mean().to_numpy(),
            "example_share": (by.size() / len(frame)).to_numpy(),
        }
    )
    table["example_comment"] = [HOSTILE if s == HOSTILE else "ok" for s in table["example_segment"]]
    best = str(table.loc[table["example_mean"].idxmax(), "example_segment"])
    groups = (
        frame.assign(promoter=score >= 9, passive=(score >= 7) & (score <= 8), detractor=score <= 6)
        .groupby("segment", sort=True)[["promoter", "passive", "detractor"]]
        .mean()
    )
    trend = frame.groupby("month", sort=True)["score"].mean()
    small = table.loc[table["example_n"] < 20]
    return SectionOutput(
        figures=(
            KeyFigure("n", "report.example.n", len(frame), kind="count"),
            KeyFigure("mean", "report.example.mean", float(score.mean()), digits=2),
            KeyFigure(
                "top_share", "report.example.top_share", float((score == 10).mean()), kind="percent"
            ),
            KeyFigure(
                "nps",
                "report.example.nps",
                (promoters - detractors) * 100,
                kind="score",
                note_key="report.example.note",
            ),
            KeyFigure("best", "report.example.best", best, kind="text"),
            KeyFigure("missing", "report.example.missing", None),
        ),
        tables=(
            ReportTable(
                "by_segment",
                "report.example.by_segment",
                table,
                formats={"example_share": ColumnFormat(kind="percent", digits=1)},
            ),
        ),
        charts=(
            Chart(
                "mean_by_segment",
                "report.example.by_segment",
                charts.bar(table["example_segment"], table["example_mean"], digits=2),
            ),
            Chart(
                "shares",
                "report.example.shares",
                charts.stacked_share_bar(
                    list(groups.index),
                    {
                        "Promoters": groups["promoter"],
                        "Passives": groups["passive"],
                        "Detractors": groups["detractor"],
                    },
                ),
            ),
            Chart("trend", "report.example.trend", charts.line(list(trend.index), {"Mean": trend})),
        ),
        notes=(Message("report.example.note"),),
        warnings=tuple(
            Message(
                "report.example.warning", {"segment": str(r.example_segment), "n": int(r.example_n)}
            )
            for r in small.itertuples()
        ),
    )


def other_build(ctx: FakeContext) -> SectionOutput:
    ctx.calls.append("other")
    time.sleep(0.02)
    return SectionOutput(
        figures=(KeyFigure("ratio", "report.example.mean", 1 / 3, digits=3),),
    )


def failing_build(ctx: FakeContext) -> SectionOutput:
    ctx.calls.append("failing")
    raise InputError("error.input", detail="the column 'score' is empty <b>")


EXAMPLE = Section(id="example", title_key="report.example.title", order=10, build=example_build)
OTHER = Section(id="other", title_key="report.example.other_title", order=30, build=other_build)
FAILING = Section(
    id="failing", title_key="report.example.failing_title", order=20, build=failing_build
)


@pytest.fixture
def example_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example section's texts, in the catalogue for this test only."""
    cat = catalog()
    for key, texts in EXAMPLE_TEXTS.items():
        monkeypatch.setitem(cat, key, texts)


@pytest.fixture
def example_sections(example_texts: None) -> Iterator[tuple[Section[Any], ...]]:
    """A registry holding only the example, failing and other sections."""
    with isolated_registry(EXAMPLE, FAILING, OTHER):
        yield (EXAMPLE, FAILING, OTHER)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext()


@pytest.fixture
def make_ctx() -> type[FakeContext]:
    """The fake context class (tests import nothing from conftest)."""
    return FakeContext


@pytest.fixture
def hostile() -> str:
    """The markup the example section puts in a table cell and a segment name."""
    return HOSTILE
