"""Satisfaction and loyalty scores from the survey: NPS, CSAT, CES, satisfaction and loyalty
rates, the very-satisfied share, by segment (SPEC sections 1-4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from allegiance.i18n import t
from allegiance.methods import scales
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

PERCENT = ColumnFormat(kind="percent")


def survey_with_segments(data: ProjectData) -> pd.DataFrame:
    """Survey answers joined to the respondent's customer segment."""
    segments = data.customers[["customer_id", "segment"]].astype({"segment": str})
    return data.responses.merge(segments, on="customer_id", how="left")


def _first(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].iloc[0])


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    answers = survey_with_segments(data)
    nps_all = scales.nps(answers, score="nps")
    nps_seg = scales.nps(answers, score="nps", by="segment").tables()["nps"]
    csat = scales.csat(answers, score="csat", points=5).tables()["csat"]
    ces = scales.ces(answers, score="ces", points=7).tables()["ces"]
    overall = scales.five_level(answers, score="csat")
    level = overall.tables()["summary"]
    loyal = scales.loyalty_rate(answers, score="repurchase", threshold=3).tables()["loyalty_rate"]
    index = scales.loyalty_index_three(
        answers, satisfaction="csat", repurchase="repurchase", recommend="recommend3"
    ).tables()["loyalty_index"]
    nps_table = nps_all.tables()["nps"]

    figures = (
        KeyFigure("nps", "section.sat.nps", nps_all.nps, kind="score"),
        KeyFigure(
            "nps_ci_low", "section.sat.nps_ci_low", _first(nps_table, "ci_low"), kind="score"
        ),
        KeyFigure(
            "nps_ci_high", "section.sat.nps_ci_high", _first(nps_table, "ci_high"), kind="score"
        ),
        KeyFigure("csat_top2", "section.sat.csat_top2", _first(csat, "top2_box"), kind="percent"),
        KeyFigure("csat_mean", "section.sat.csat_mean", _first(csat, "mean"), digits=2),
        KeyFigure(
            "satisfaction_rate",
            "section.sat.satisfaction_rate",
            _first(level, "satisfaction_rate"),
            kind="percent",
        ),
        KeyFigure(
            "very_satisfied",
            "section.sat.very_satisfied",
            _first(level, "very_satisfied"),
            kind="percent",
        ),
        KeyFigure("ces_easy", "section.sat.ces_easy", _first(ces, "easy"), kind="percent"),
        KeyFigure("ces_mean", "section.sat.ces_mean", _first(ces, "mean"), digits=2),
        KeyFigure(
            "loyalty_rate", "section.sat.loyalty_rate", _first(loyal, "rate"), kind="percent"
        ),
        KeyFigure("loyalty_index", "section.sat.loyalty_index", _first(index, "index"), digits=3),
    )

    seg_names = [code_label("segment", s, lang) for s in nps_seg["segment"]]
    by_segment = nps_seg[
        [
            "segment",
            "n",
            "pct_promoters",
            "pct_passives",
            "pct_detractors",
            "nps",
            "ci_low",
            "ci_high",
        ]
    ].copy()
    by_segment["segment"] = seg_names
    by_segment = by_segment.set_index("segment")
    shares = charts.stacked_share_bar(
        seg_names,
        {
            t("section.sat.promoters", lang): nps_seg["pct_promoters"].to_numpy(),
            t("section.sat.passives", lang): nps_seg["pct_passives"].to_numpy(),
            t("section.sat.detractors", lang): nps_seg["pct_detractors"].to_numpy(),
        },
    )
    nps_bars = charts.bar(
        seg_names,
        nps_seg["nps"].to_numpy(),
        ci_low=nps_seg["ci_low"].to_numpy(),
        ci_high=nps_seg["ci_high"].to_numpy(),
        y_title="NPS",
    )
    distribution = overall.tables()["distribution"]
    labels = distribution[f"label_{lang}"].tolist()
    dist_chart = charts.bar(labels, distribution["share"].to_numpy(), percent=True)
    dist_table = distribution[["level", f"label_{lang}", "count", "share"]].rename(
        columns={f"label_{lang}": "label"}
    )
    return SectionOutput(
        figures=figures,
        tables=(
            ReportTable(
                "nps_by_segment",
                "section.sat.nps_by_segment",
                by_segment,
                digits=1,
                formats={
                    "pct_promoters": PERCENT,
                    "pct_passives": PERCENT,
                    "pct_detractors": PERCENT,
                },
            ),
            ReportTable(
                "overall_distribution",
                "section.sat.distribution",
                dist_table.set_index("level"),
                formats={"share": PERCENT},
            ),
        ),
        charts=(
            Chart("nps_shares", "section.sat.nps_shares", shares),
            Chart("nps_by_segment", "section.sat.nps_by_segment", nps_bars),
            Chart("distribution", "section.sat.distribution", dist_chart),
        ),
        notes=(),
        warnings=nps_all.warnings,
    )


SECTION = register_section(Section("satisfaction", "section.sat.title", 20, build))
