"""The written report in a real browser (Debian's chromium, headless, via Playwright).

It must open from disk with no network: no console errors, no page errors, no
request except the file itself, every Plotly chart drawn, and the figures the
page carries equal to the API's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allegiance.reports import build_report, write_html
from allegiance.reports.registry import Section

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_opens_offline_and_draws_its_charts(
    example_sections: tuple[Section[Any], ...],
    ctx: Any,
    tmp_path: Path,
    browser_page: Any,
    lang: str,
) -> None:
    report = build_report(ctx, lang=lang)
    path = write_html(report, tmp_path / "report.html")
    url = path.resolve().as_uri()
    page = browser_page.page

    page.goto(url, wait_until="load")
    n_charts = sum(len(s.output.charts) for s in report.sections)
    page.wait_for_function(
        f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {n_charts}",
        timeout=30_000,
    )

    assert browser_page.page_errors == []
    assert browser_page.console_errors == []
    assert browser_page.requests[0] == url
    assert [
        u for u in browser_page.requests if not u.startswith(("file://", "data:", "blob:"))
    ] == []
    assert {u for u in browser_page.requests if u.startswith("file://")} == {url}

    drawn = page.eval_on_selector_all(".plotly-graph-div", "els => els.map(e => e.id)")
    assert drawn == [f"chart-example-{c.id}" for c in report.sections[0].output.charts]
    assert page.locator(".plotly-graph-div .main-svg").count() >= n_charts
    # every data point of every chart is drawn (a bar or a marker), not just an empty frame
    for chart in report.sections[0].output.charts:
        expected = sum(len(trace.x) for trace in chart.figure.data)
        drawn_points = page.locator(f"#chart-example-{chart.id} .point").count()
        assert drawn_points == expected, chart.id

    from_json = page.evaluate(
        "JSON.parse(document.getElementById('allegiance-figures').textContent)"
    )
    assert from_json == report.figures()
    from_dom = page.eval_on_selector_all(
        "[data-figure]",
        "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.value]))",
    )
    assert set(from_dom) == set(report.figures())
    assert float(from_dom["example.mean"]) == report.figures()["example.mean"]
    assert page.title() == report.title
