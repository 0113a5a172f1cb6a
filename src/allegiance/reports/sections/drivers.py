"""Weakest links (SPEC section 3, method 5: 满意度+短板改进): the importance of each
calculation-standard factor for overall satisfaction, its performance, its quadrant,
and the factors to fix first.

Reads ``data.responses``: the target is ``csat`` (overall satisfaction, 1-5; ``CUSA1``
when there is no ``csat``), the items the ``cs_<factor>`` columns (five levels). The
figures are exactly :func:`allegiance.methods.drivers.ipa`'s with the settings below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from allegiance.errors import ProjectError
from allegiance.i18n import Message, t
from allegiance.methods.drivers import IPAResult, ipa
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
TARGETS = ("csat", "CUSA1")
METHOD = "shapley"
SCALE = (1.0, 5.0)
SPLIT: Final = "medians"  # one dominant factor (service use) would pull the mean importance up


def target_column(answers: pd.DataFrame) -> str:
    """The overall satisfaction column the factors are related to."""
    for name in TARGETS:
        if name in answers.columns:
            return name
    raise ProjectError("section.drivers.no_target", columns=", ".join(TARGETS))


def compute(answers: pd.DataFrame) -> IPAResult:
    """The section's computation: Shapley importance of the ``cs_*`` factors for overall
    satisfaction, mean performance on 1-5, the grid split at the medians."""
    items = [c for c in answers.columns if isinstance(c, str) and c.startswith(PREFIX)]
    return ipa(
        answers,
        items=items,
        target=target_column(answers),
        method=METHOD,
        performance="mean",
        split=SPLIT,
        scale=SCALE,
        missing="listwise",
    )


def _factor(item: str, lang: str) -> str:
    return code_label("cs_factor", item.removeprefix(PREFIX), lang)


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    result = compute(data.responses)
    grid = result.table
    names = [_factor(i, lang) for i in grid["item"]]
    quadrant_names = [t(f"drivers.quadrant.{q}", lang) for q in grid["quadrant"]]
    shown = pd.DataFrame(
        {
            "item": names,
            "importance": grid["importance"].to_numpy(),
            "pct_r2": grid["pct_r2"].to_numpy(),
            "importance_rank": grid["importance_rank"].to_numpy(dtype=np.int64),
            "performance": grid["performance"].to_numpy(),
            "performance_ci_low": grid["performance_ci_low"].to_numpy(),
            "performance_ci_high": grid["performance_ci_high"].to_numpy(),
            "quadrant": quadrant_names,
        }
    ).sort_values("importance_rank", kind="stable")
    weakest = result.weakest
    weak_table = pd.DataFrame(
        {
            "fix_rank": weakest["fix_rank"].to_numpy(dtype=np.int64),
            "item": [_factor(i, lang) for i in weakest["item"]],
            "pct_r2": weakest["pct_r2"].to_numpy(),
            "performance": weakest["performance"].to_numpy(),
            "performance_ci_low": weakest["performance_ci_low"].to_numpy(),
            "performance_ci_high": weakest["performance_ci_high"].to_numpy(),
        }
    )
    share = grid["pct_r2"].to_numpy(dtype=np.float64)
    chart = charts.quadrant_scatter(
        share,
        grid["performance"].to_numpy(dtype=np.float64),
        names,
        x_line=float(np.nanmedian(share)),
        y_line=result.performance_line,
        quadrants=charts.Quadrants(
            upper_right=t("drivers.quadrant.keep_up", lang),
            upper_left=t("drivers.quadrant.possible_overkill", lang),
            lower_left=t("drivers.quadrant.low_priority", lang),
            lower_right=t("drivers.quadrant.concentrate_here", lang),
        ),
        x_title=t("section.drivers.x", lang),
        y_title=t("section.drivers.y", lang),
        digits=3,
    )
    chart.update_xaxes(tickformat=".0%")
    # labels of points near the right edge go to their left, so they stay inside the chart
    right = float(np.nanmax(share)) * 0.75 if np.isfinite(share).any() else np.inf
    chart.update_traces(textposition=["top left" if v > right else "top center" for v in share])
    top = grid.loc[grid["importance_rank"] == 1, "item"]
    first_fix = (
        weak_table["item"].iloc[0] if len(weak_table) else t("section.drivers.none_weak", lang)
    )
    target = result.importance.target or "-"
    return SectionOutput(
        figures=(
            KeyFigure("r2", "section.drivers.r2", result.r2, digits=3),
            KeyFigure(
                "top_driver",
                "section.drivers.top_driver",
                _factor(str(top.iloc[0]), lang) if len(top) else None,
                kind="text",
            ),
            KeyFigure("first_fix", "section.drivers.first_fix", first_fix, kind="text"),
            KeyFigure("n_weakest", "section.drivers.n_weakest", len(weak_table), kind="count"),
        ),
        tables=(
            ReportTable(
                "weakest_links",
                "section.drivers.table",
                weak_table.set_index("fix_rank"),
                digits=3,
                formats={"pct_r2": ColumnFormat(kind="percent", digits=1)},
            ),
            ReportTable(
                "grid",
                "section.drivers.grid",
                shown.set_index("item"),
                digits=3,
                formats={"pct_r2": ColumnFormat(kind="percent", digits=1)},
            ),
        ),
        charts=(Chart("ipa", "section.drivers.chart", chart),),
        notes=(
            Message(
                "section.drivers.note",
                {
                    "target": target,
                    "method": t(f"drivers.method.{result.method}", lang),
                    "n": result.importance.n,
                },
            ),
        ),
        warnings=tuple(w for w in result.warnings if w.key not in ("drivers.listwise_dropped",)),
    )


SECTION = register_section(Section("drivers", "section.drivers.title", 35, build))
