"""Chart helpers: one look, the right traces, checked inputs."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.errors import ValidationError
from allegiance.reports import charts

# The complaint-cause statistics of the source training material (SPEC.md §6,
# 顾客抱怨原因统计表): 30 causes, 148 complaints in all, the largest "poor product
# quality" with 38. Only the published counts are used here.
COMPLAINT_COUNTS = [
    38,
    17,
    14,
    10,
    10,
    9,
    5,
    5,
    5,
    4,
    3,
    3,
    3,
    2,
    2,
    2,
    2,
    2,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
]
COMPLAINT_TOTAL = 148


def _font(fig: go.Figure) -> str:
    return str(fig.layout.template.layout.font.family)


def test_every_helper_uses_the_system_font_stack_and_no_urls() -> None:
    figs = [
        charts.bar(["a", "b"], [1, 2]),
        charts.grouped_bar(["a", "b"], {"x": [1, 2], "y": [2, 3]}),
        charts.stacked_share_bar(["a"], {"p": [0.5], "q": [0.3], "r": [0.2]}),
        charts.line(["2024-01", "2024-02"], {"m": [1.0, 2.0]}),
        charts.quadrant_scatter([1, 2, 3], [3, 2, 1], ["a", "b", "c"]),
        charts.radar(["a", "b", "c"], {"s": [1, 2, 3]}),
        charts.pareto(["a", "b"], [3, 1]),
    ]
    for fig in figs:
        assert _font(fig) == charts.FONT_FAMILY
        assert "PingFang SC" in _font(fig)
        assert "Microsoft YaHei" in _font(fig)
        dumped = fig.to_json()
        assert "http://" not in dumped
        assert "https://" not in dumped


def test_bar_with_interval_error_bars() -> None:
    fig = charts.bar(["a", "b"], [0.4, 0.6], ci_low=[0.3, 0.45], ci_high=[0.55, 0.7], percent=True)
    err = fig.data[0].error_y
    assert err.symmetric is False
    np.testing.assert_allclose(err.array, [0.15, 0.1])
    np.testing.assert_allclose(err.arrayminus, [0.1, 0.15])
    assert fig.layout.yaxis.tickformat.endswith("%")


def test_bar_with_symmetric_errors_and_horizontal() -> None:
    fig = charts.bar(["a", "b"], [1, 2], errors=[0.5, 0.25], horizontal=True, title="T")
    assert fig.data[0].orientation == "h"
    assert list(fig.data[0].error_x.array) == [0.5, 0.25]
    assert fig.layout.title.text == "T"


def test_bar_needs_both_interval_bounds() -> None:
    with pytest.raises(ValidationError, match="ci_low and ci_high"):
        charts.bar(["a"], [1], ci_low=[0.5])


def test_lengths_must_match() -> None:
    with pytest.raises(ValidationError, match="has 3 values but 2 were expected"):
        charts.bar(["a", "b"], [1, 2, 3])
    with pytest.raises(ValidationError, match="not numbers"):
        charts.bar(["a"], ["x"])
    with pytest.raises(ValidationError, match="no categories"):
        charts.bar([], [])


def test_stacked_share_bar_uses_good_neutral_bad_colours_for_three_parts() -> None:
    fig = charts.stacked_share_bar(
        ["East", "West"],
        {"Promoters": [0.5, 0.2], "Passives": [0.3, 0.3], "Detractors": [0.2, 0.5]},
    )
    assert fig.layout.barmode == "stack"
    assert [tr.marker.color for tr in fig.data] == list(charts.SHARE_COLORS)
    assert [tr.name for tr in fig.data] == ["Promoters", "Passives", "Detractors"]
    totals = np.sum([tr.x for tr in fig.data], axis=0)
    np.testing.assert_allclose(totals, [1.0, 1.0])


def test_line_keeps_period_labels_as_categories_and_gaps() -> None:
    fig = charts.line(["2024-01", "2024-02", "2024-03"], {"A": [1.0, float("nan"), 3.0]})
    assert fig.layout.xaxis.type == "category"
    assert list(fig.data[0].y) == [1.0, None, 3.0]


def test_quadrant_lines_default_to_the_means() -> None:
    fig = charts.quadrant_scatter(
        [1.0, 2.0, 6.0],
        [4.0, 5.0, 9.0],
        ["a", "b", "c"],
        quadrants=charts.Quadrants(upper_right="keep up", lower_left="low priority"),
    )
    shapes = fig.layout.shapes
    vertical = next(s for s in shapes if s.x0 == s.x1)
    horizontal = next(s for s in shapes if s.y0 == s.y1)
    assert vertical.x0 == pytest.approx(3.0)
    assert horizontal.y0 == pytest.approx(6.0)
    assert {a.text for a in fig.layout.annotations} == {"keep up", "low priority"}


def test_radar_closes_each_polygon_and_needs_three_axes() -> None:
    fig = charts.radar(["R", "A", "T", "E"], {"Perception": [4, 3, 5, 2]}, value_range=(0, 5))
    trace = fig.data[0]
    assert list(trace.theta) == ["R", "A", "T", "E", "R"]
    assert list(trace.r) == [4, 3, 5, 2, 4]
    with pytest.raises(ValidationError, match="at least 3 axes"):
        charts.radar(["a", "b"], {"s": [1, 2]})


def test_pareto_of_the_published_complaint_table() -> None:
    assert sum(COMPLAINT_COUNTS) == COMPLAINT_TOTAL
    rng = np.random.default_rng(3)
    order = rng.permutation(len(COMPLAINT_COUNTS))
    names = [f"cause {i}" for i in order]
    fig = charts.pareto(names, [COMPLAINT_COUNTS[i] for i in order])
    bars, cumulative = fig.data
    assert list(bars.y) == sorted(COMPLAINT_COUNTS, reverse=True)
    assert bars.x[0] == "cause 0"
    assert cumulative.y[0] == pytest.approx(38 / 148)
    assert cumulative.y[-1] == pytest.approx(1.0)
    assert cumulative.yaxis == "y2"
    assert fig.layout.yaxis2.tickformat == ".0%"
    with pytest.raises(ValidationError, match="not negative"):
        charts.pareto(["a"], [-1])


@given(counts=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30))
def test_pareto_cumulative_share_is_monotone_and_ends_at_one(counts: list[int]) -> None:
    fig = charts.pareto([f"c{i}" for i in range(len(counts))], counts)
    cum = np.asarray(fig.data[1].y, dtype=float)
    assert np.all(np.diff(cum) >= -1e-12)
    assert np.all(np.diff(np.asarray(fig.data[0].y)) <= 0)
    if sum(counts) > 0:
        assert cum[-1] == pytest.approx(1.0)


def test_figures_serialise_to_plain_json() -> None:
    fig = charts.grouped_bar(["a", "b"], {"x": np.array([1.0, np.nan]), "y": [2, 3]})
    data = json.loads(fig.to_json())
    assert data["data"][0]["y"] == [1.0, None]
