"""Weakest links (SPEC section 3, method 5: 满意度+短板改进): the importance of each
calculation-standard factor for overall satisfaction, its performance, its quadrant,
and the factors to fix first.

Reads ``data.responses``: the target is ``csat`` (overall satisfaction, 1-5; ``CUSA1``
when there is no ``csat``), the items the ``cs_<factor>`` columns (five levels). The
figures are exactly :func:`allegiance.methods.drivers.ipa`'s with the settings below.

Under the weakest links it lists a few verbatims per factor: the comments tied to the
factor through the dissatisfaction reasons that bear on it (the comments section's
reason → factor map and each reason's keywords; :func:`allegiance.methods.comments.verbatims`
with ``factors=``), respondents who coded one of those reasons first.

When the survey has the 24 ECSI items, it adds the importance-performance map of the
ECSI model (:func:`allegiance.methods.drivers.ipma`, the model the PLS section fits):
per construct with an effect on Satisfaction, its importance (the total effect on
Satisfaction, unstandardised on the 0-100 scores) and its performance (0-100 index).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from allegiance.errors import ProjectError
from allegiance.i18n import Message, t
from allegiance.methods.drivers import IPAResult, IPMAResult, ipa, ipma
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
    from allegiance.pls import PathModel
    from allegiance.workflow import ProjectData

PREFIX = "cs_"
TARGETS = ("csat", "CUSA1")
METHOD = "shapley"
SCALE = (1.0, 5.0)
SPLIT: Final = "medians"  # one dominant factor (service use) would pull the mean importance up
IPMA_MODEL = "ecsi"
IPMA_TARGET = "Satisfaction"
VERBATIMS_PER_FACTOR = 2


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


def compute_ipma(answers: pd.DataFrame) -> tuple[PathModel, IPMAResult] | None:
    """The ECSI model estimated on the answers and its importance-performance map for
    Satisfaction; None when the survey lacks the model's items."""
    from allegiance.pls import estimate
    from allegiance.pls.templates import load_model

    model = load_model(IPMA_MODEL)
    if not all(item in answers.columns for item in model.items):
        return None
    fit = estimate(model, answers, scheme="path")
    return model, ipma(fit, target=IPMA_TARGET, split="means")


def factor_verbatims(answers: pd.DataFrame, weakest: pd.DataFrame) -> pd.DataFrame | None:
    """Up to :data:`VERBATIMS_PER_FACTOR` comments under each weakest-link factor (in fix
    order), tied to it through the reasons that bear on it; None without comments."""
    from allegiance.methods.comments import verbatims
    from allegiance.reports.sections.comments import REASON_FACTORS, REASON_KEYWORDS

    if "comment" not in answers.columns or weakest.empty:
        return None
    factors = [str(i).removeprefix(PREFIX) for i in weakest["item"]]
    found = verbatims(
        answers,
        keywords=REASON_KEYWORDS,
        column="comment",
        reasons_column="reasons" if "reasons" in answers.columns else None,
        factors=REASON_FACTORS,
        only=factors,
        per_reason=VERBATIMS_PER_FACTOR,
        keep=[c for c in ("csat",) if c in answers.columns],
    )
    return found.table


def _ipma_parts(
    answers: pd.DataFrame, lang: str
) -> tuple[list[KeyFigure], list[ReportTable], list[Chart], list[Message]]:
    found = compute_ipma(answers)
    if found is None:
        return [], [], [], []
    model, result = found
    grid = result.table
    names = [model.label(c, lang) for c in grid["construct"]]
    shown = pd.DataFrame(
        {
            "construct": names,
            "total_effect": grid["total_effect"].to_numpy(),
            "importance": grid["importance"].to_numpy(),
            "performance": grid["performance"].to_numpy(),
            "quadrant": [t(f"drivers.quadrant.{q}", lang) for q in grid["quadrant"]],
            "fix_rank": grid["fix_rank"].to_numpy(),
        }
    ).set_index("construct")
    chart = charts.quadrant_scatter(
        grid["importance"].to_numpy(dtype=np.float64),
        grid["performance"].to_numpy(dtype=np.float64),
        names,
        x_line=result.importance_line,
        y_line=result.performance_line,
        quadrants=charts.Quadrants(
            upper_right=t("drivers.quadrant.keep_up", lang),
            upper_left=t("drivers.quadrant.possible_overkill", lang),
            lower_left=t("drivers.quadrant.low_priority", lang),
            lower_right=t("drivers.quadrant.concentrate_here", lang),
        ),
        x_title=t("section.drivers.ipma_x", lang),
        y_title=t("section.drivers.ipma_y", lang),
        digits=2,
    )
    top = grid.sort_values("importance", ascending=False, kind="stable")["construct"]
    first = result.weakest["construct"]
    figures = [
        KeyFigure(
            "ipma_top",
            "section.drivers.ipma_top",
            model.label(str(top.iloc[0]), lang) if len(top) else None,
            kind="text",
        ),
        KeyFigure(
            "ipma_first_fix",
            "section.drivers.ipma_first_fix",
            model.label(str(first.iloc[0]), lang)
            if len(first)
            else t("section.drivers.none_weak", lang),
            kind="text",
        ),
    ]
    table = ReportTable(
        "ipma",
        "section.drivers.ipma",
        shown,
        digits=3,
        formats={"performance": ColumnFormat(digits=1)},
        note_key=Message("section.drivers.ipma_note", {"target": model.label(IPMA_TARGET, lang)}),
    )
    return figures, [table], [Chart("ipma", "section.drivers.ipma_chart", chart)], []


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
    tables = [
        ReportTable(
            "weakest_links",
            "section.drivers.table",
            weak_table.set_index("fix_rank"),
            digits=3,
            formats={"pct_r2": ColumnFormat(kind="percent", digits=1)},
        ),
    ]
    said = factor_verbatims(data.responses, result.weakest)
    notes: list[Message] = []
    if said is not None and not said.empty:
        shown_said = pd.DataFrame(
            {
                "factor": [code_label("cs_factor", f, lang) for f in said["factor"]],
                "rank": said["rank"].to_numpy(),
                **({"csat": said["csat"].to_numpy()} if "csat" in said.columns else {}),
                "comment": said["comment"].to_numpy(),
            }
        )
        tables.append(
            ReportTable(
                "weakest_verbatims",
                "section.drivers.verbatims",
                shown_said.set_index(["factor", "rank"]),
                note_key="section.drivers.verbatims_note",
            )
        )
    elif said is not None:
        notes.append(Message("section.drivers.no_verbatims"))
    tables.append(
        ReportTable(
            "grid",
            "section.drivers.grid",
            shown.set_index("item"),
            digits=3,
            formats={"pct_r2": ColumnFormat(kind="percent", digits=1)},
        )
    )
    ipma_figures, ipma_tables, ipma_charts, ipma_notes = _ipma_parts(data.responses, lang)
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
            *ipma_figures,
        ),
        tables=(*tables, *ipma_tables),
        charts=(Chart("ipa", "section.drivers.chart", chart), *ipma_charts),
        notes=(
            Message(
                "section.drivers.note",
                {
                    "target": target,
                    "method": t(f"drivers.method.{result.method}", lang),
                    "n": result.importance.n,
                },
            ),
            *notes,
            *ipma_notes,
        ),
        warnings=tuple(w for w in result.warnings if w.key not in ("drivers.listwise_dropped",)),
    )


SECTION = register_section(Section("drivers", "section.drivers.title", 35, build))
