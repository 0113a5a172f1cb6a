"""Overview: the customer base, its activity over time, and the data behind the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from allegiance.i18n import t
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
    from allegiance.workflow import ProjectData


def customers_by_segment(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment: count, share and the share that churned."""
    grouped = customers.groupby("segment", observed=True)
    frame = pd.DataFrame(
        {
            "n_customers": grouped.size(),
            "churn_rate": grouped["churned"].mean(),
        }
    )
    frame.insert(1, "share", frame["n_customers"] / frame["n_customers"].sum())
    frame.index = frame.index.astype(str)
    frame.index.name = "segment"
    return frame


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    customers = data.customers
    monthly = data.activity_monthly
    responses = data.responses
    complaints = data.complaints
    last12 = monthly.tail(12)
    by_segment = customers_by_segment(customers)
    shown = by_segment.copy()
    shown.index = [code_label("segment", s, lang) for s in shown.index]
    shown.index.name = "segment"
    months = pd.to_datetime(monthly["month"]).dt.strftime("%Y-%m").tolist()
    figures = (
        KeyFigure("customers", "section.overview.customers", len(customers), kind="count"),
        KeyFigure(
            "active_customers",
            "section.overview.active",
            int(monthly["active_customers"].iloc[-1]),
            kind="count",
        ),
        KeyFigure(
            "churn_rate",
            "section.overview.churn_rate",
            float(customers["churned"].mean()),
            kind="percent",
        ),
        KeyFigure(
            "revenue_12m",
            "section.overview.revenue_12m",
            float(last12["revenue"].sum()),
            kind="currency",
            digits=0,
        ),
        KeyFigure("respondents", "section.overview.respondents", len(responses), kind="count"),
        KeyFigure("complaints", "section.overview.complaints", len(complaints), kind="count"),
    )
    trend = charts.line(
        months,
        {t("section.overview.revenue", lang): monthly["revenue"].to_numpy()},
        x_title=t("section.overview.month", lang),
        y_title=t("section.overview.revenue", lang),
        digits=0,
    )
    active = charts.line(
        months,
        {t("section.overview.active", lang): monthly["active_customers"].to_numpy()},
        x_title=t("section.overview.month", lang),
        digits=0,
    )
    return SectionOutput(
        figures=figures,
        tables=(
            ReportTable(
                "by_segment",
                "section.overview.by_segment",
                shown,
                formats={
                    "share": ColumnFormat(kind="percent"),
                    "churn_rate": ColumnFormat(kind="percent"),
                },
            ),
        ),
        charts=(
            Chart("revenue", "section.overview.revenue_trend", trend),
            Chart("active", "section.overview.active_trend", active),
        ),
    )


SECTION = register_section(Section("overview", "section.overview.title", 10, build))
