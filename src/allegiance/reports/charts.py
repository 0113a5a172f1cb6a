"""Plotly figures with one look for every report chart.

Every helper takes data first (positional) and labels as keywords, already
translated by the caller (``t(key, lang)``); nothing here picks a language.
Figures use the reader's system fonts (no web fonts) and a colour-blind-safe
palette, and carry no JavaScript or URLs of their own: the HTML report inlines
Plotly's JavaScript once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from allegiance.errors import ValidationError

__all__ = [
    "FONT_FAMILY",
    "PALETTE",
    "SHARE_COLORS",
    "Quadrants",
    "bar",
    "grouped_bar",
    "line",
    "pareto",
    "quadrant_scatter",
    "radar",
    "sankey",
    "stacked_share_bar",
    "step_lines",
    "style",
]

FONT_FAMILY = (
    "-apple-system, BlinkMacSystemFont, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', "
    "'Microsoft YaHei', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', "
    "Roboto, 'Helvetica Neue', Arial, sans-serif"
)
"""System font stack with Chinese fallbacks; nothing is downloaded."""

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # purple
    "#56B4E9",  # sky
    "#D55E00",  # vermilion
    "#F0E442",  # yellow
    "#7F7F7F",  # grey
)
"""Okabe-Ito colours, distinguishable with the common colour-vision deficiencies."""

SHARE_COLORS: tuple[str, ...] = ("#1a9850", "#bdbdbd", "#d73027")
"""Good / neutral / bad, e.g. promoters / passives / detractors."""

_TEXT = "#222222"
_GRID = "#e5e5e5"
_HEIGHT = 420

_TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT_FAMILY, "size": 13, "color": _TEXT},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 60, "r": 30, "t": 50, "b": 60},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        xaxis={"gridcolor": _GRID, "zerolinecolor": "#bbbbbb", "automargin": True},
        yaxis={"gridcolor": _GRID, "zerolinecolor": "#bbbbbb", "automargin": True},
        polar={
            "bgcolor": "white",
            "radialaxis": {"gridcolor": _GRID},
            "angularaxis": {"gridcolor": _GRID},
        },
    )
)


def style(
    figure: go.Figure,
    /,
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Give ``figure`` the report's look (fonts, colours, margins) and optional titles."""
    figure.update_layout(template=_TEMPLATE, height=height or _HEIGHT)
    if title:
        figure.update_layout(title={"text": title, "x": 0, "xanchor": "left"})
    else:
        figure.update_layout(margin={"t": 36})
    if x_title is not None:
        figure.update_xaxes(title_text=x_title)
    if y_title is not None:
        figure.update_yaxes(title_text=y_title)
    return figure


# --------------------------------------------------------------------------- input helpers


def _labels(values: Sequence[Any], /, *, what: str) -> list[str]:
    out = [str(v) for v in values]
    if not out:
        raise ValidationError("report.error.chart_empty", what=what)
    return out


def _numbers(values: Any, /, *, what: str, n: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValidationError("report.error.chart_not_numbers", what=what) from exc
    if n is not None and arr.size != n:
        raise ValidationError("report.error.chart_length", what=what, n=arr.size, expected=n)
    return arr


def _series(series: Mapping[str, Any], /, *, n: int, what: str) -> dict[str, np.ndarray]:
    if not series:
        raise ValidationError("report.error.chart_empty", what=what)
    return {str(k): _numbers(v, what=f"{what} {k!r}", n=n) for k, v in series.items()}


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _none_if_nan(arr: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in arr]


def _number_format(digits: int, percent: bool) -> str:
    return f",.{digits}%" if percent else f",.{digits}f"


# --------------------------------------------------------------------------- charts


def bar(
    categories: Sequence[Any],
    values: Any,
    /,
    *,
    errors: Any = None,
    ci_low: Any = None,
    ci_high: Any = None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    name: str | None = None,
    horizontal: bool = False,
    percent: bool = False,
    digits: int = 1,
    color: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """One bar per category, with optional error bars.

    Error bars are either symmetric half-widths (``errors``) or the bounds of an
    interval (``ci_low`` and ``ci_high``, e.g. a confidence interval). With
    ``percent=True`` values are fractions and the value axis shows percents.
    """
    cats = _labels(categories, what="categories")
    vals = _numbers(values, what="values", n=len(cats))
    error: dict[str, Any] | None = None
    if errors is not None:
        half = _numbers(errors, what="errors", n=len(cats))
        error = {"type": "data", "array": _none_if_nan(half), "visible": True}
    elif ci_low is not None or ci_high is not None:
        if ci_low is None or ci_high is None:
            raise ValidationError("report.error.chart_ci_pair")
        low = _numbers(ci_low, what="ci_low", n=len(cats))
        high = _numbers(ci_high, what="ci_high", n=len(cats))
        error = {
            "type": "data",
            "symmetric": False,
            "array": _none_if_nan(high - vals),
            "arrayminus": _none_if_nan(vals - low),
            "visible": True,
        }
    fmt = _number_format(digits, percent)
    axis_value, axis_cat = ("x", "y") if horizontal else ("y", "x")
    trace: dict[str, Any] = {
        axis_cat: cats,
        axis_value: _none_if_nan(vals),
        "orientation": "h" if horizontal else "v",
        "name": name or "",
        "marker": {"color": color or PALETTE[0]},
        "texttemplate": f"%{{{axis_value}:{fmt}}}",
        "textposition": "outside" if error is None else "inside",
        "hovertemplate": f"%{{{axis_cat}}}: %{{{axis_value}:{fmt}}}<extra></extra>",
        "cliponaxis": False,
    }
    if error is not None:
        trace[f"error_{axis_value}"] = error
    fig = go.Figure(go.Bar(**trace))
    fig.update_layout(showlegend=bool(name))
    style(fig, title=title, x_title=x_title, y_title=y_title, height=height)
    if percent:
        fig.update_layout({f"{axis_value}axis": {"tickformat": f".{max(digits - 1, 0)}%"}})
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    return fig


def grouped_bar(
    categories: Sequence[Any],
    series: Mapping[str, Any],
    /,
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    percent: bool = False,
    digits: int = 1,
    height: int | None = None,
) -> go.Figure:
    """Bars side by side, one colour per series (e.g. segments compared item by item)."""
    cats = _labels(categories, what="categories")
    data = _series(series, n=len(cats), what="series")
    fmt = _number_format(digits, percent)
    fig = go.Figure(
        [
            go.Bar(
                x=cats,
                y=_none_if_nan(vals),
                name=name,
                marker={"color": _color(i)},
                hovertemplate=f"{name}<br>%{{x}}: %{{y:{fmt}}}<extra></extra>",
            )
            for i, (name, vals) in enumerate(data.items())
        ]
    )
    fig.update_layout(barmode="group")
    style(fig, title=title, x_title=x_title, y_title=y_title, height=height)
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def stacked_share_bar(
    categories: Sequence[Any],
    shares: Mapping[str, Any],
    /,
    *,
    colors: Sequence[str] | None = None,
    title: str | None = None,
    axis_title: str | None = None,
    horizontal: bool = True,
    digits: int = 0,
    height: int | None = None,
) -> go.Figure:
    """Each category one bar split into shares (fractions summing to 1).

    ``shares`` maps part name → one fraction per category, in stacking order,
    e.g. ``{"Promoters": [...], "Passives": [...], "Detractors": [...]}``. With
    three parts the colours default to good / neutral / bad.
    """
    cats = _labels(categories, what="categories")
    data = _series(shares, n=len(cats), what="shares")
    if colors is None:
        colors = SHARE_COLORS if len(data) == len(SHARE_COLORS) else PALETTE
    fmt = f".{digits}%"
    traces = []
    for i, (name, vals) in enumerate(data.items()):
        value_axis, cat_axis = ("x", "y") if horizontal else ("y", "x")
        traces.append(
            go.Bar(
                **{cat_axis: cats, value_axis: _none_if_nan(vals)},
                orientation="h" if horizontal else "v",
                name=name,
                marker={"color": colors[i % len(colors)]},
                texttemplate=f"%{{{value_axis}:{fmt}}}",
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"{name}<br>%{{{cat_axis}}}: %{{{value_axis}:.1%}}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        barmode="stack",
        uniformtext={"minsize": 10, "mode": "hide"},
        legend={"traceorder": "normal"},
    )
    if horizontal:
        style(fig, title=title, x_title=axis_title, height=height or max(160, 60 + 48 * len(cats)))
        fig.update_xaxes(tickformat=".0%", range=[0, 1])
        fig.update_yaxes(autorange="reversed")
    else:
        style(fig, title=title, y_title=axis_title, height=height)
        fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return fig


def line(
    x: Sequence[Any],
    series: Mapping[str, Any],
    /,
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    percent: bool = False,
    digits: int = 1,
    markers: bool = True,
    height: int | None = None,
) -> go.Figure:
    """One line per series over ``x`` (periods, dates); gaps where values are missing."""
    xs = list(x)
    if not xs:
        raise ValidationError("report.error.chart_empty", what="x")
    data = _series(series, n=len(xs), what="series")
    fmt = _number_format(digits, percent)
    fig = go.Figure(
        [
            go.Scatter(
                x=xs,
                y=_none_if_nan(vals),
                name=name,
                mode="lines+markers" if markers else "lines",
                line={"color": _color(i), "width": 2},
                hovertemplate=f"{name}<br>%{{x}}: %{{y:{fmt}}}<extra></extra>",
            )
            for i, (name, vals) in enumerate(data.items())
        ]
    )
    style(fig, title=title, x_title=x_title, y_title=y_title, height=height)
    fig.update_layout(showlegend=len(data) > 1)
    if all(isinstance(v, str) for v in xs):
        # Period labels such as "2024-01" or "2024 Q1" stay labels, not parsed dates.
        fig.update_xaxes(type="category")
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


@dataclass(frozen=True)
class Quadrants:
    """Labels written in the four corners of a quadrant chart (already translated)."""

    upper_right: str = ""
    upper_left: str = ""
    lower_left: str = ""
    lower_right: str = ""


def quadrant_scatter(
    x: Any,
    y: Any,
    labels: Sequence[Any],
    /,
    *,
    x_line: float | None = None,
    y_line: float | None = None,
    quadrants: Quadrants | None = None,
    sizes: Any = None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    digits: int = 2,
    height: int | None = None,
) -> go.Figure:
    """Points with a text label, split into four quadrants by a vertical and a horizontal line.

    For importance-performance or Kano (better/worse) charts. The lines default
    to the means of ``x`` and ``y``; ``sizes`` (optional) scales the markers.
    """
    names = _labels(labels, what="labels")
    xs = _numbers(x, what="x", n=len(names))
    ys = _numbers(y, what="y", n=len(names))
    xl = float(np.nanmean(xs)) if x_line is None else float(x_line)
    yl = float(np.nanmean(ys)) if y_line is None else float(y_line)
    marker: dict[str, Any] = {
        "color": PALETTE[0],
        "size": 11,
        "line": {"width": 1, "color": "white"},
    }
    if sizes is not None:
        sz = _numbers(sizes, what="sizes", n=len(names))
        top = np.nanmax(sz) if np.isfinite(sz).any() else 1.0
        marker["size"] = list(np.where(np.isfinite(sz), 8 + 22 * sz / (top or 1.0), 8))
    fmt = f",.{digits}f"
    fig = go.Figure(
        go.Scatter(
            x=_none_if_nan(xs),
            y=_none_if_nan(ys),
            text=names,
            mode="markers+text",
            textposition="top center",
            marker=marker,
            hovertemplate=f"%{{text}}<br>%{{x:{fmt}}}, %{{y:{fmt}}}<extra></extra>",
            showlegend=False,
        )
    )
    dash = {"color": "#888888", "width": 1, "dash": "dash"}
    fig.add_vline(x=xl, line=dash)
    fig.add_hline(y=yl, line=dash)
    q = quadrants or Quadrants()
    corners = (
        (q.upper_right, 0.99, 0.99, "right", "top"),
        (q.upper_left, 0.01, 0.99, "left", "top"),
        (q.lower_left, 0.01, 0.01, "left", "bottom"),
        (q.lower_right, 0.99, 0.01, "right", "bottom"),
    )
    for label, px, py, xa, ya in corners:
        if label:
            fig.add_annotation(
                text=label,
                x=px,
                y=py,
                xref="paper",
                yref="paper",
                xanchor=xa,
                yanchor=ya,
                showarrow=False,
                font={"color": "#666666", "size": 12},
            )
    style(fig, title=title, x_title=x_title, y_title=y_title, height=height or 480)
    return fig


def radar(
    axes: Sequence[Any],
    series: Mapping[str, Any],
    /,
    *,
    value_range: tuple[float, float] | None = None,
    title: str | None = None,
    fill: bool = True,
    digits: int = 2,
    height: int | None = None,
) -> go.Figure:
    """A radar (spider) chart: one closed polygon per series over the ``axes`` (≥ 3)."""
    names = _labels(axes, what="axes")
    if len(names) < 3:
        raise ValidationError("report.error.chart_radar_axes", n=len(names))
    data = _series(series, n=len(names), what="series")
    fmt = f",.{digits}f"
    fig = go.Figure(
        [
            go.Scatterpolar(
                r=[*_none_if_nan(vals), _none_if_nan(vals[:1])[0]],
                theta=[*names, names[0]],
                name=name,
                fill="toself" if fill else "none",
                opacity=0.75 if fill else 1.0,
                line={"color": _color(i), "width": 2},
                hovertemplate=f"{name}<br>%{{theta}}: %{{r:{fmt}}}<extra></extra>",
            )
            for i, (name, vals) in enumerate(data.items())
        ]
    )
    style(fig, title=title, height=height or 460)
    if value_range is not None:
        fig.update_layout(polar={"radialaxis": {"range": list(value_range)}})
    fig.update_layout(showlegend=len(data) > 1)
    return fig


def pareto(
    categories: Sequence[Any],
    counts: Any,
    /,
    *,
    sort: bool = True,
    threshold: float | None = 0.8,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    cumulative_title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Bars of counts (largest first when ``sort``) and the cumulative share as a line.

    The cumulative share uses a right-hand percent axis; ``threshold`` (default
    80%) draws a dotted reference line, ``None`` leaves it out.
    """
    cats = _labels(categories, what="categories")
    vals = _numbers(counts, what="counts", n=len(cats))
    if np.isnan(vals).any() or (vals < 0).any():
        raise ValidationError("report.error.chart_counts")
    if sort:
        order = np.argsort(-vals, kind="stable")
        cats = [cats[i] for i in order]
        vals = vals[order]
    total = vals.sum()
    cum = np.cumsum(vals) / total if total > 0 else np.zeros_like(vals)
    fig = go.Figure(
        [
            go.Bar(
                x=cats,
                y=vals.tolist(),
                name=y_title or "",
                marker={"color": PALETTE[0]},
                hovertemplate="%{x}: %{y:,}<extra></extra>",
            ),
            go.Scatter(
                x=cats,
                y=cum.tolist(),
                name=cumulative_title or "",
                yaxis="y2",
                mode="lines+markers",
                line={"color": PALETTE[5], "width": 2},
                hovertemplate="%{x}: %{y:.1%}<extra></extra>",
            ),
        ]
    )
    style(fig, title=title, x_title=x_title, height=height or 460)
    fig.update_layout(
        yaxis={"title": {"text": y_title or ""}},
        yaxis2={
            "title": {"text": cumulative_title or ""},
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "tickformat": ".0%",
            "showgrid": False,
        },
        showlegend=bool(y_title or cumulative_title),
        margin={"r": 70},
    )
    if threshold is not None:
        fig.add_shape(
            type="line",
            xref="paper",
            x0=0,
            x1=1,
            yref="y2",
            y0=float(threshold),
            y1=float(threshold),
            line={"color": "#888888", "width": 1, "dash": "dot"},
        )
    return fig


def sankey(
    labels: Sequence[Any],
    sources: Any,
    targets: Any,
    values: Any,
    /,
    *,
    colors: Sequence[str] | None = None,
    title: str | None = None,
    value_title: str | None = None,
    digits: int = 0,
    height: int | None = None,
) -> go.Figure:
    """Flows between nodes (e.g. customers moving between levels from one month to the next).

    ``labels`` name the nodes; link ``i`` carries ``values[i]`` from node ``sources[i]`` to
    node ``targets[i]`` (indices into ``labels``). ``colors`` gives one colour per node
    (default: the palette); each link takes its source node's colour, lighter.
    """
    names = _labels(labels, what="labels")
    src = _numbers(sources, what="sources")
    dst = _numbers(targets, what="targets", n=src.size)
    vals = _numbers(values, what="values", n=src.size)
    if src.size == 0:
        raise ValidationError("report.error.chart_empty", what="links")
    for what, idx in (("sources", src), ("targets", dst)):
        if np.isnan(idx).any() or (idx < 0).any() or (idx >= len(names)).any():
            raise ValidationError("report.error.chart_nodes", what=what, n=len(names) - 1)
    if np.isnan(vals).any() or (vals < 0).any():
        raise ValidationError("report.error.chart_counts")
    node_colors = list(colors) if colors is not None else [_color(i) for i in range(len(names))]
    if len(node_colors) != len(names):
        raise ValidationError(
            "report.error.chart_length", what="colors", n=len(node_colors), expected=len(names)
        )
    fmt = f",.{digits}f"
    unit = f" {value_title}" if value_title else ""
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=fmt,
            node={
                "label": names,
                "color": node_colors,
                "pad": 12,
                "thickness": 16,
                "line": {"color": "white", "width": 0.5},
                "hovertemplate": f"%{{label}}: %{{value:{fmt}}}{unit}<extra></extra>",
            },
            link={
                "source": src.astype(int).tolist(),
                "target": dst.astype(int).tolist(),
                "value": vals.tolist(),
                "color": [_lighter(node_colors[int(i)]) for i in src],
                "hovertemplate": (
                    f"%{{source.label}} → %{{target.label}}: %{{value:{fmt}}}{unit}<extra></extra>"
                ),
            },
        )
    )
    style(fig, title=title, height=height or 460)
    return fig


def _lighter(color: str, alpha: float = 0.35) -> str:
    """``#rrggbb`` as an ``rgba`` colour with ``alpha`` (links under their nodes)."""
    text = color.lstrip("#")
    if len(text) != 6:
        return color
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def step_lines(
    series: Mapping[str, tuple[Any, Any]],
    /,
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    percent: bool = True,
    digits: int = 1,
    height: int | None = None,
) -> go.Figure:
    """Step functions, one per series (name → (x, y)), e.g. Kaplan-Meier survival curves:
    each value holds until the next x. With ``percent`` the values are fractions."""
    if not series:
        raise ValidationError("report.error.chart_empty", what="series")
    fmt = _number_format(digits, percent)
    traces = []
    for i, (name, (xs, ys)) in enumerate(series.items()):
        x = _numbers(xs, what=f"x {name!r}")
        y = _numbers(ys, what=f"y {name!r}", n=x.size)
        traces.append(
            go.Scatter(
                x=_none_if_nan(x),
                y=_none_if_nan(y),
                name=str(name),
                mode="lines",
                line={"color": _color(i), "width": 2, "shape": "hv"},
                hovertemplate=f"{name}<br>%{{x}}: %{{y:{fmt}}}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    style(fig, title=title, x_title=x_title, y_title=y_title, height=height)
    fig.update_layout(showlegend=len(traces) > 1)
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return fig
