"""The calculation-standard factors (SPEC section 4) on the five-level scale: each factor's
standardised score DC_i, satisfaction rate and very-satisfied share, weakest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from allegiance.i18n import Message, t
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

PREFIX = "cs_"
LEVEL_SCORES = (5, 4, 3, 2, 1)


def factor_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per ``cs_*`` factor: n, mean, DC (mean / best score), satisfaction rate,
    very-satisfied share, each as :func:`allegiance.methods.scales.five_level` computes it."""
    rows = []
    for column in [c for c in answers.columns if c.startswith(PREFIX)]:
        summary = scales.five_level(answers, score=column, level_scores=LEVEL_SCORES)
        row = summary.tables()["summary"].iloc[0]
        rows.append(
            {
                "factor": column.removeprefix(PREFIX),
                "n": int(row["n"]),
                "mean": float(row["mean"]),
                "dc": float(row["dc"]),
                "satisfaction_rate": float(row["satisfaction_rate"]),
                "very_satisfied": float(row["very_satisfied"]),
            }
        )
    return pd.DataFrame(rows).sort_values("dc", kind="stable").reset_index(drop=True)


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    scores = factor_scores(data.responses)
    shown = scores.copy()
    shown["factor"] = [code_label("cs_factor", f, lang) for f in shown["factor"]]
    chart = charts.bar(
        shown["factor"].tolist(),
        shown["dc"].to_numpy(),
        horizontal=True,
        digits=3,
        x_title=t("section.factors.dc", lang),
    )
    weakest = scores.iloc[0]
    return SectionOutput(
        figures=(
            KeyFigure("factors", "section.factors.count", len(scores), kind="count"),
            KeyFigure("weakest", "section.factors.weakest", shown["factor"].iloc[0], kind="text"),
            KeyFigure("weakest_dc", "section.factors.weakest_dc", float(weakest["dc"]), digits=3),
            KeyFigure("mean_dc", "section.factors.mean_dc", float(scores["dc"].mean()), digits=3),
        ),
        tables=(
            ReportTable(
                "factor_scores",
                "section.factors.table",
                shown.set_index("factor"),
                digits=3,
                formats={
                    "satisfaction_rate": ColumnFormat(kind="percent"),
                    "very_satisfied": ColumnFormat(kind="percent"),
                },
            ),
        ),
        charts=(Chart("dc", "section.factors.chart", chart),),
        notes=(Message("section.factors.scores_used", {"scores": "5, 4, 3, 2, 1"}),),
    )


SECTION = register_section(Section("factors", "section.factors.title", 30, build))
