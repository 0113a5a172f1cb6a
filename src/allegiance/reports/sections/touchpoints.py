"""Moments of truth (关键时刻, SPEC section 3 method 9) and customer delivered value
(顾客让渡价值, SPEC section 1).

Reads the ``journey`` table (touchpoint satisfaction, overall journey satisfaction and
the value and cost components, one row per respondent; see
docs/demo-company-journey.md), joined through ``data.responses`` (respondent → customer)
to the customers' segment. The figures are exactly those of
:func:`allegiance.methods.touchpoints.touchpoints` and
:func:`~allegiance.methods.touchpoints.delivered_value` with the settings below. A
project without a journey table gets a note instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.i18n import Message, t
from allegiance.methods.touchpoints import (
    DeliveredValueResult,
    TouchpointResult,
    delivered_value,
    touchpoints,
)
from allegiance.reports import charts
from allegiance.reports.registry import (
    Chart,
    ColumnFormat,
    KeyFigure,
    ReportTable,
    Section,
    SectionOutput,
    register_section,
)
from allegiance.reports.sections._common import code_label

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from allegiance.workflow import ProjectData

TABLE = "journey"
OVERALL = "tp_overall"
TOUCHPOINT_PREFIX = "tp_"
VALUE_PREFIX = "value_"
COST_PREFIX = "cost_"
SEGMENT = "segment"
SCALE = (1.0, 5.0)
METHOD = "shapley"


def journey_frame(data: ProjectData) -> pd.DataFrame:
    """The journey table with each respondent's customer segment."""
    journey = data.table(TABLE)
    keys = data.responses[["respondent_key", "customer_id"]]
    segments = data.customers[["customer_id", SEGMENT]].astype({SEGMENT: str})
    linked = keys.merge(segments, on="customer_id", how="left")[["respondent_key", SEGMENT]]
    return journey.merge(linked, on="respondent_key", how="left")


def touchpoint_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if isinstance(c, str) and c.startswith(TOUCHPOINT_PREFIX) and c != OVERALL
    ]


def compute(frame: pd.DataFrame) -> tuple[TouchpointResult, DeliveredValueResult]:
    """The section's computations, by segment (overall figures included)."""
    journey = touchpoints(
        frame,
        touchpoints=touchpoint_columns(frame),
        overall=OVERALL,
        by=SEGMENT,
        method=METHOD,
        performance="mean",
        scale=SCALE,
        missing="pairwise",
    )
    value = [c for c in frame.columns if isinstance(c, str) and c.startswith(VALUE_PREFIX)]
    cost = [c for c in frame.columns if isinstance(c, str) and c.startswith(COST_PREFIX)]
    return journey, delivered_value(frame, value=value, cost=cost, by=SEGMENT)


def _touchpoint(column: Any, lang: str) -> str:
    if not isinstance(column, str):
        return "-"
    return t(f"journey.touchpoint.{column.removeprefix(TOUCHPOINT_PREFIX)}", lang)


def _component(column: str, lang: str) -> str:
    code = column.removeprefix(VALUE_PREFIX).removeprefix(COST_PREFIX)
    return t(f"journey.component.{code}", lang)


def _moments_chart(table: pd.DataFrame, names: list[str], lang: str) -> go.Figure:
    """Bars: mean satisfaction per touchpoint (journey order) with its interval; diamonds on a
    second axis: the touchpoint's importance (share of R²)."""
    import plotly.graph_objects as go

    fig = charts.bar(
        names,
        table["mean"].to_numpy(dtype=np.float64),
        ci_low=table["mean_ci_low"].to_numpy(dtype=np.float64),
        ci_high=table["mean_ci_high"].to_numpy(dtype=np.float64),
        name=t("section.touchpoints.performance", lang),
        y_title=t("section.touchpoints.performance_axis", lang),
        digits=2,
    )
    share = table["share"].to_numpy(dtype=np.float64)
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[None if not np.isfinite(v) else float(v) for v in share],
            mode="markers",
            name=t("section.touchpoints.importance", lang),
            yaxis="y2",
            marker={"symbol": "diamond", "size": 13, "color": charts.PALETTE[5]},
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    top = float(np.nanmax(share)) if np.isfinite(share).any() else 1.0
    fig.update_layout(
        showlegend=True,
        yaxis={"range": [0, 5]},
        yaxis2={
            "title": {"text": t("section.touchpoints.importance_axis", lang)},
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "range": [0, top * 1.15],
            "showgrid": False,
        },
    )
    return fig


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    if not data.has_table(TABLE):
        return SectionOutput(notes=(Message("section.touchpoints.no_data"),))
    journey, value = compute(journey_frame(data))
    overall = journey.overall
    names = [_touchpoint(c, lang) for c in overall["touchpoint"]]
    tp_table = pd.DataFrame(
        {
            "touchpoint": names,
            "n": overall["n"].to_numpy(dtype=np.int64),
            "mean": overall["mean"].to_numpy(),
            "mean_ci_low": overall["mean_ci_low"].to_numpy(),
            "mean_ci_high": overall["mean_ci_high"].to_numpy(),
            "top2_box": overall["top2_box"].to_numpy(),
            "share": overall["share"].to_numpy(),
            "headroom": overall["headroom"].to_numpy(),
            "impact": overall["impact"].to_numpy(),
            "impact_rank": overall["impact_rank"].to_numpy(),
        }
    )
    summary = journey.summary
    seg_table = pd.DataFrame(
        {
            SEGMENT: [code_label("segment", s, lang) for s in summary[SEGMENT]],
            "n": summary["n"].to_numpy(dtype=np.int64),
            "n_importance": summary["n_importance"].to_numpy(dtype=np.int64),
            "r2": summary["r2"].to_numpy(),
            "weakest": [_touchpoint(w, lang) for w in summary["weakest"]],
            "weakest_impact": summary["weakest_impact"].to_numpy(),
        }
    )
    dv = value.table
    dv_table = pd.DataFrame(
        {
            SEGMENT: [code_label("segment", s, lang) for s in dv[SEGMENT]],
            "n": dv["n"].to_numpy(dtype=np.int64),
            "total_value": dv["total_value"].to_numpy(),
            "total_cost": dv["total_cost"].to_numpy(),
            "delivered_value": dv["delivered_value"].to_numpy(),
            "delivered_value_ci_low": dv["delivered_value_ci_low"].to_numpy(),
            "delivered_value_ci_high": dv["delivered_value_ci_high"].to_numpy(),
            "positive_share": dv["positive_share"].to_numpy(),
        }
    )
    comp = value.overall_components
    comp_table = pd.DataFrame(
        {
            "component": [_component(c, lang) for c in comp["component"]],
            "side": [t(f"journey.side.{s}", lang) for s in comp["side"]],
            "mean": comp["mean"].to_numpy(),
            "ci_low": comp["ci_low"].to_numpy(),
            "ci_high": comp["ci_high"].to_numpy(),
        }
    )
    value_chart = charts.bar(
        dv_table[SEGMENT].tolist(),
        dv_table["delivered_value"].to_numpy(dtype=np.float64),
        ci_low=dv_table["delivered_value_ci_low"].to_numpy(dtype=np.float64),
        ci_high=dv_table["delivered_value_ci_high"].to_numpy(dtype=np.float64),
        y_title=t("section.touchpoints.value_axis", lang),
        digits=2,
        color=charts.PALETTE[2],
    )
    weakest = journey.weakest
    weakest_mean = (
        float(overall.loc[overall["touchpoint"] == weakest, "mean"].iloc[0])
        if weakest is not None
        else None
    )
    r2 = float(journey.overall_summary["r2"].iloc[0])
    return SectionOutput(
        figures=(
            KeyFigure(
                "weakest",
                "section.touchpoints.weakest",
                _touchpoint(weakest, lang) if weakest else None,
                kind="text",
            ),
            KeyFigure("weakest_mean", "section.touchpoints.weakest_mean", weakest_mean, digits=2),
            KeyFigure("r2", "section.touchpoints.r2", r2, digits=3),
            KeyFigure(
                "delivered_value", "section.touchpoints.delivered", value.delivered, digits=2
            ),
        ),
        tables=(
            ReportTable(
                "touchpoints",
                "section.touchpoints.table",
                tp_table.set_index("touchpoint"),
                digits=3,
                formats={
                    "top2_box": ColumnFormat(kind="percent", digits=1),
                    "share": ColumnFormat(kind="percent", digits=1),
                    "headroom": ColumnFormat(kind="percent", digits=1),
                    "impact_rank": ColumnFormat(kind="count", digits=0),
                },
            ),
            ReportTable(
                "by_segment",
                "section.touchpoints.segments",
                seg_table.set_index(SEGMENT),
                digits=3,
            ),
            ReportTable(
                "delivered_value",
                "section.touchpoints.value_table",
                dv_table.set_index(SEGMENT),
                digits=2,
                formats={"positive_share": ColumnFormat(kind="percent", digits=1)},
            ),
            ReportTable(
                "components",
                "section.touchpoints.components_table",
                comp_table.set_index("component"),
                digits=2,
            ),
        ),
        charts=(
            Chart("moments", "section.touchpoints.chart", _moments_chart(overall, names, lang)),
            Chart("delivered_value", "section.touchpoints.value_chart", value_chart),
        ),
        notes=(Message("section.touchpoints.note"), Message("section.touchpoints.value_note")),
        warnings=(*journey.warnings, *value.warnings),
    )


SECTION = register_section(Section("touchpoints", "section.touchpoints.title", 65, build))
