"""The self-contained HTML report: exact figures, no external resources, escaping, languages."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance._version import __version__
from allegiance.i18n import t
from allegiance.reports import charts
from allegiance.reports.html import (
    figure_raw,
    format_seconds,
    format_value,
    render_html,
    write_html,
)
from allegiance.reports.registry import (
    Chart,
    ColumnFormat,
    KeyFigure,
    ReportTable,
    Section,
    SectionOutput,
    build_report,
)

URL_ATTRS = {
    "src",
    "href",
    "action",
    "formaction",
    "data",
    "poster",
    "srcset",
    "xlink:href",
    "background",
    "manifest",
    "ping",
    "cite",
    "longdesc",
    "codebase",
}


class _Page(HTMLParser):
    """Every start tag with its attributes, script bodies, and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.visible: list[str] = []
        self._in: str | None = None
        self._attrs: dict[str, str | None] = {}
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in {"script", "style"}:
            self._in, self._attrs, self._buf = tag, dict(attrs), []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            if tag == "script":
                self.scripts.append((self._attrs, "".join(self._buf)))
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buf.append(data)
        else:
            self.visible.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.visible).split())


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def figure_elements(page: _Page) -> dict[str, dict[str, str | None]]:
    return {a["data-figure"] or "": a for _, a in page.tags if "data-figure" in a}


def _read_value(attrs: dict[str, str | None], like: object) -> object:
    """The figure's value as written in the element, typed like the API's value."""
    raw = attrs["data-value"]
    assert raw is not None
    if "data-missing" in attrs:
        assert raw == ""
        return None
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    return raw


@pytest.fixture
def report(example_sections: tuple[Section[Any], ...], ctx: Any) -> Any:
    return build_report(ctx, lang="en")


@pytest.fixture
def html(report: Any) -> str:
    return render_html(report)


# --------------------------------------------------------------------------- figures


def test_every_figure_has_its_exact_raw_value(report: Any, html: str) -> None:
    page = parse(html)
    elements = figure_elements(page)
    expected = report.figures()
    assert set(elements) == set(expected)
    for key, value in expected.items():
        assert _read_value(elements[key], value) == value, key
        assert elements[key]["data-value"] == figure_raw(value)


def test_embedded_json_equals_the_api(report: Any, html: str) -> None:
    page = parse(html)
    blocks = [body for attrs, body in page.scripts if attrs.get("id") == "allegiance-figures"]
    assert len(blocks) == 1
    assert json.loads(blocks[0]) == report.figures()
    assert report.figures()["example.missing"] is None


@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(min_value=-(2**62), max_value=2**62),
            st.text(max_size=12),
            st.none(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_figure_value_round_trips_through_the_html(values: list[Any]) -> None:
    figures = tuple(KeyFigure(f"f{i}", "x", v) for i, v in enumerate(values))
    section = Section(
        id="s", title_key="x", order=1, build=lambda _c: SectionOutput(figures=figures)
    )
    report = build_report(object(), lang="en", sections=[section])
    page = parse(render_html(report))
    elements = figure_elements(page)
    blocks = [body for attrs, body in page.scripts if attrs.get("id") == "allegiance-figures"]
    assert json.loads(blocks[0]) == report.figures()
    for i, v in enumerate(values):
        assert _read_value(elements[f"s.f{i}"], v) == v


# --------------------------------------------------------------------------- offline


def test_no_resource_is_fetched_from_anywhere(html: str) -> None:
    page = parse(html)
    offending = []
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name in URL_ATTRS and value is not None:
                v = value.strip().lower()
                if not (v.startswith(("#", "data:"))):
                    offending.append((tag, name, value))
        if tag == "link" or (tag == "script" and "src" in attrs):
            offending.append((tag, "tag", str(attrs)))
    assert offending == []
    styles = [a for t_, a in page.tags if t_ == "style"]
    assert len(styles) == 1
    lowered = html.lower()
    assert "@font-face" not in lowered
    assert "@import" not in lowered


def test_content_security_policy_forbids_fetching(html: str) -> None:
    page = parse(html)
    csp = [
        a["content"]
        for t_, a in page.tags
        if t_ == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(csp) == 1
    assert csp[0] is not None
    assert "default-src 'none'" in csp[0]


def test_plotly_is_inlined_once_and_each_chart_rendered(report: Any, html: str) -> None:
    page = parse(html)
    big = [body for _attrs, body in page.scripts if len(body) > 1_000_000]
    assert len(big) == 1
    n_charts = sum(len(s.output.charts) for s in report.sections)
    assert n_charts == 3
    divs = [
        a for t_, a in page.tags if t_ == "div" and "plotly-graph-div" in (a.get("class") or "")
    ]
    assert [a["id"] for a in divs] == [
        "chart-example-mean_by_segment",
        "chart-example-shares",
        "chart-example-trend",
    ]


def test_without_charts_no_plotly_is_included(example_texts: None) -> None:
    section = Section(
        id="plain",
        title_key="report.example.title",
        order=1,
        build=lambda _c: SectionOutput(
            figures=(KeyFigure("a", "report.example.n", 3, kind="count"),)
        ),
    )
    html = render_html(build_report(object(), lang="en", sections=[section]))
    assert len(html) < 50_000
    assert "Plotly.newPlot" not in html


# --------------------------------------------------------------------------- escaping


def test_markup_in_data_is_escaped(report: Any, html: str, hostile: str) -> None:
    assert hostile not in html
    page = parse(html)
    # The parser decodes entities: the hostile text is visible as text, not as a script.
    assert hostile in page.text
    # Scripts: Plotly's config and bundle, one per chart (3), the figures JSON; no other.
    assert len(page.scripts) == 6
    assert not any(hostile in body for _attrs, body in page.scripts)
    # The error message's "<b>" is text too.
    assert "the column 'score' is empty <b>" in page.text
    assert not any(tag == "b" for tag, _ in page.tags)


def test_hostile_text_in_a_figure_and_a_chart(example_texts: None, hostile: str) -> None:
    fig = charts.bar([hostile, "b"], [1.0, 2.0])
    section = Section(
        id="h",
        title_key="report.example.title",
        order=1,
        build=lambda _c: SectionOutput(
            figures=(KeyFigure("txt", "report.example.best", hostile, kind="text"),),
            charts=(Chart("c", "report.example.trend", fig),),
        ),
    )
    report = build_report(object(), lang="en", sections=[section])
    html = render_html(report)
    assert hostile not in html
    page = parse(html)
    assert figure_elements(page)["h.txt"]["data-value"] == hostile
    blocks = [body for attrs, body in page.scripts if attrs.get("id") == "allegiance-figures"]
    assert json.loads(blocks[0]) == {"h.txt": hostile}


# --------------------------------------------------------------------------- content


def test_failing_section_shows_its_error_and_others_render(report: Any, html: str) -> None:
    page = parse(html)
    text = page.text
    assert "This section could not be built." in text
    assert "The input is not usable: the column 'score' is empty <b>" in text
    sections = [a["id"] for t_, a in page.tags if t_ == "section"]
    assert sections == ["section-example", "section-failing", "section-other"]
    assert "other.ratio" in figure_elements(page)


def test_table_of_contents_links_every_section(html: str) -> None:
    page = parse(html)
    links = [a["href"] for t_, a in page.tags if t_ == "a"]
    assert links == ["#section-example", "#section-failing", "#section-other"]


def test_formatting_for_people(report: Any, html: str) -> None:
    text = parse(html).text
    figs = report.figures()
    assert f"{figs['example.n']:,}" in text
    assert f"{figs['example.top_share'] * 100:.1f}%" in text
    assert f"{figs['example.mean']:.2f}" in text
    assert "Respondents" in text
    assert "Scores are on a 0-10 scale." in text  # note and figure note
    # table headers use the column labels, shares shown as percents
    assert "Segment Answers Mean Share Comment" in text
    table = report.tables()["example.by_segment"]
    first_share = table["example_share"].iloc[0]
    assert f"{first_share * 100:.1f}%" in text
    assert "n/a" in text  # the missing figure


def test_compute_time_shown_per_section(report: Any, html: str) -> None:
    page = parse(html)
    shown = [a["data-seconds"] for t_, a in page.tags if "compute-time" in (a.get("class") or "")]
    assert shown == [repr(s.seconds) for s in report.sections]
    assert "Computed in" in page.text


def test_footer_names_the_version(html: str) -> None:
    assert f"Generated by allegiance {__version__}" in parse(html).text


def test_rendering_is_deterministic(report: Any) -> None:
    assert render_html(report) == render_html(report)


def test_long_tables_are_cut_with_a_note(example_texts: None) -> None:
    frame = pd.DataFrame({"x": range(30)})
    section = Section(
        id="long",
        title_key="report.example.title",
        order=1,
        build=lambda _c: SectionOutput(tables=(ReportTable("t", "report.example.trend", frame),)),
    )
    report = build_report(object(), lang="en", sections=[section])
    text = parse(render_html(report, max_rows=10)).text
    assert "Showing the first 10 of 30 rows" in text
    assert " 9 " in text
    assert " 29 " not in text
    full = parse(render_html(report, max_rows=None)).text
    assert " 29 " in full


def test_chinese_report_is_chinese_throughout(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    report = build_report(ctx, lang="zh")
    page = parse(render_html(report))
    text = page.text
    html_tag = next(a for t_, a in page.tags if t_ == "html")
    assert html_tag["lang"] == "zh-CN"
    for key in (
        "report.title",
        "report.contents",
        "report.notes",
        "report.warnings",
        "report.section_error",
        "report.failed",
    ):
        assert t(key, "zh") in text, key
        assert t(key, "en") not in text, key
    for fixed in ("Computed in", "Generated", "Total compute time", "n/a"):
        assert fixed not in text
    assert "示例章节" in text
    assert "各细分得分" in text
    assert "细分 答卷数 平均值 占比 评论" in text
    assert f"由 allegiance {__version__} 生成" in text
    assert "计算用时" in text
    assert "输入数据不可用" in text  # the error, in Chinese


def test_write_html_writes_utf8(report: Any, tmp_path: Path) -> None:
    path = write_html(report, tmp_path / "out" / "report.html")
    assert path.read_text(encoding="utf-8") == render_html(report)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "kind", "digits", "expected"),
    [
        (0.4567, "percent", 1, "45.7%"),
        (1.0, "percent", 0, "100%"),
        (1234567.891, "number", 2, "1,234,567.89"),
        (1234567, "count", 1, "1,234,567"),
        (2.5, "count", 0, "2"),  # round half to even, as Python's format does
        (-0.04, "number", 1, "0.0"),
        (-37.9166, "score", 1, "-37.9"),
        (12.0, "currency", 2, "12.00"),
        ("VIP", "text", 1, "VIP"),
        (None, "number", 1, "n/a"),
        (math.nan, "number", 1, "n/a"),
    ],
)
def test_format_value(value: Any, kind: Any, digits: int, expected: str) -> None:
    assert format_value(value, kind=kind, digits=digits, lang="en") == expected


def test_format_value_chinese_missing() -> None:
    assert format_value(None, lang="zh") == "无"


def test_format_seconds() -> None:
    assert format_seconds(0.0000123) == "<0.001"
    assert format_seconds(0.1234) == "0.123"
    assert format_seconds(12.345) == "12.35"
    assert format_seconds(1234.5) == "1,234"


def test_column_formats_override_dtypes(example_texts: None) -> None:
    frame = pd.DataFrame({"a": [0.123456], "b": [1000], "c": [0.5]})
    table = ReportTable(
        "t",
        "x",
        frame,
        digits=3,
        formats={"c": ColumnFormat(kind="percent"), "b": ColumnFormat(kind="number", digits=1)},
    )
    section = Section(
        id="f", title_key="x", order=1, build=lambda _c: SectionOutput(tables=(table,))
    )
    text = parse(render_html(build_report(object(), lang="en", sections=[section]))).text
    assert "0.123 1,000.0 50.000%" in text
