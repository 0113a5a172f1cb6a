"""The calculation-standard satisfaction index CSI (SPEC section 4): the index with its
bootstrap interval, the three sub-indices, each factor's weight, DC, contribution and gap
(largest gap = fix first), the AHP consistency of the hierarchy, and the index by segment.

Reads ``data.responses`` (columns ``cs_<factor>``) and the shipped hierarchy template
``calculation_standard``; the figures are exactly :func:`allegiance.methods.csi.csi`'s.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.i18n import Message, t
from allegiance.methods import ahp
from allegiance.methods.csi import CSIResult, csi
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
from allegiance.templates import template_path

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from allegiance.workflow import ProjectData

TEMPLATE = "calculation_standard"
LEVEL_SCORES = (5, 4, 3, 2, 1)
N_BOOT = 2000
SEED = 0
CONFIDENCE = 0.95
SEGMENT = "segment"


@cache
def hierarchy_result() -> ahp.HierarchyResult:
    """The shipped calculation-standard hierarchy, analysed by AHP (read once)."""
    return ahp.analyze(ahp.load_hierarchy(template_path("hierarchies", TEMPLATE)))


def compute(answers: pd.DataFrame, *, by: str | None = None) -> CSIResult:
    """The section's computation: :func:`csi` with the template's weights and its settings."""
    return csi(
        answers,
        hierarchy=hierarchy_result(),
        level_scores=LEVEL_SCORES,
        by=by,
        n_boot=N_BOOT,
        confidence=CONFIDENCE,
        seed=SEED,
    )


def _names(ids: Any, lang: str, kind: str) -> list[str]:
    """Node names in ``lang`` from the hierarchy (Chinese or English), else the catalogue."""
    analysed = hierarchy_result()
    weights = analysed.weights
    column = "name_zh" if lang == "zh" else "name"
    lookup = {
        str(node): str(name)
        for node, name in zip(weights["node"], weights[column], strict=True)
        if isinstance(name, str) and name
    }
    goal = analysed.hierarchy.goal
    lookup[goal.id] = (goal.name_zh if lang == "zh" else None) or goal.name
    return [lookup.get(str(i)) or code_label(kind, i, lang) for i in ids]


def _contribution_chart(factors: pd.DataFrame, lang: str) -> go.Figure:
    """One horizontal bar per factor: contribution C·DC, then the gap C·(1−DC) stacked on it,
    so each bar's length is the factor's weight; largest gap first."""
    import plotly.graph_objects as go

    names = factors["name"].tolist()
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=factors["contribution"].to_numpy(),
                orientation="h",
                name=t("section.csi.contribution", lang),
                marker={"color": charts.SHARE_COLORS[0]},
                hovertemplate="%{y}: %{x:.4f}<extra></extra>",
            ),
            go.Bar(
                y=names,
                x=factors["gap"].to_numpy(),
                orientation="h",
                name=t("section.csi.gap", lang),
                marker={"color": charts.SHARE_COLORS[2]},
                hovertemplate="%{y}: %{x:.4f}<extra></extra>",
            ),
        ]
    )
    fig.update_layout(barmode="stack")
    charts.style(
        fig,
        x_title=t("section.csi.weight_axis", lang),
        height=max(240, 70 + 30 * len(names)),
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def _consistency(result: CSIResult, lang: str) -> pd.DataFrame | None:
    """The AHP consistency check of each judgement matrix, and of the whole hierarchy."""
    table = result.consistency
    if table.empty:
        return None
    shown = table[["node", "n_elements", "lambda_max", "ci", "ri", "cr", "consistent"]].copy()
    shown["node"] = _names(table["node"], lang, "cs_criterion")
    shown["consistent"] = [t("ahp.yes" if c else "ahp.no", lang) for c in table["consistent"]]
    if result.hierarchy_cr is not None:
        whole = {
            "node": t("section.csi.whole_hierarchy", lang),
            "cr": result.hierarchy_cr,
            "consistent": t("ahp.yes" if hierarchy_result().consistent else "ahp.no", lang),
        }
        shown = pd.concat([shown, pd.DataFrame([whole])], ignore_index=True)
    return shown.set_index("node")


def build(data: ProjectData) -> SectionOutput:
    from allegiance.reports.sections.satisfaction import survey_with_segments

    lang = data.lang
    answers = survey_with_segments(data)
    # one call: the overall tables are the same as without ``by`` (intervals included)
    result = compute(answers, by=SEGMENT)

    factors = result.overall_factors.copy()
    factors["name"] = _names(factors["factor"], lang, "cs_factor")
    factors["criterion_name"] = _names(factors["criterion"], lang, "cs_criterion")
    ranked = factors.sort_values("rank", kind="stable", na_position="last")
    subs = result.overall_subindices.copy()
    subs["name"] = _names(subs["criterion"], lang, "cs_criterion")

    figures: list[KeyFigure] = [
        KeyFigure("csi", "section.csi.csi", result.csi_100, kind="score", digits=1),
        KeyFigure("csi_ci_low", "section.csi.ci_low", 100 * result.ci_low, kind="score"),
        KeyFigure("csi_ci_high", "section.csi.ci_high", 100 * result.ci_high, kind="score"),
    ]
    sub_values = subs["subindex"].to_numpy(dtype=np.float64)
    for criterion, name, value in zip(subs["criterion"], subs["name"], sub_values, strict=True):
        figures.append(
            KeyFigure(
                f"sub_{criterion}",
                Message("section.csi.subindex", {"criterion": name}),
                100 * float(value),
                kind="score",
                digits=1,
            )
        )
    # ranked is sorted by rank: its first row is the factor with the largest gap
    weakest_name = str(ranked["name"].iloc[0])
    weakest_gap = float(ranked["gap"].to_numpy(dtype=np.float64)[0])
    figures.append(KeyFigure("weakest", "section.csi.weakest", weakest_name, kind="text"))
    figures.append(KeyFigure("weakest_gap", "section.csi.weakest_gap", weakest_gap, digits=4))
    if result.hierarchy_cr is not None:
        figures.append(
            KeyFigure("hierarchy_cr", "section.csi.hierarchy_cr", result.hierarchy_cr, digits=3)
        )

    factor_table = ranked[
        ["name", "criterion_name", "weight", "n", "dc", "contribution", "gap", "rank"]
    ].rename(columns={"name": "factor", "criterion_name": "criterion"})
    sub_table = subs[["name", "weight", "subindex_100", "ci_low", "ci_high"]].rename(
        columns={"name": "criterion"}
    )
    sub_table["ci_low"] = 100 * sub_table["ci_low"]
    sub_table["ci_high"] = 100 * sub_table["ci_high"]

    index = result.index
    seg_names = [code_label("segment", s, lang) for s in index[SEGMENT]]
    seg_table = pd.DataFrame(
        {
            "segment": seg_names,
            "n": index["n"].to_numpy(),
            "csi_100": index["csi_100"].to_numpy(),
            "ci_low": 100 * index["ci_low"].to_numpy(),
            "ci_high": 100 * index["ci_high"].to_numpy(),
        }
    )
    seg_subs = result.subindices
    for criterion, name in zip(subs["criterion"], subs["name"], strict=True):
        part = seg_subs[seg_subs["criterion"] == criterion]
        seg_table[name] = part["subindex_100"].to_numpy()

    tables = [
        ReportTable(
            "factors",
            "section.csi.factors_table",
            factor_table.set_index("factor"),
            digits=3,
            formats={"contribution": ColumnFormat(digits=4), "gap": ColumnFormat(digits=4)},
        ),
        ReportTable(
            "subindices",
            "section.csi.subindices_table",
            sub_table.set_index("criterion"),
            digits=1,
            formats={"weight": ColumnFormat(digits=3)},
        ),
    ]
    consistency = _consistency(result, lang)
    if consistency is not None:
        tables.append(
            ReportTable(
                "consistency",
                "section.csi.consistency_table",
                consistency,
                digits=3,
                formats={"n_elements": ColumnFormat(kind="count", digits=0)},
            )
        )
    tables.append(
        ReportTable(
            "by_segment", "section.csi.by_segment", seg_table.set_index("segment"), digits=1
        )
    )

    sub_chart = charts.bar(
        subs["name"].tolist(),
        100 * subs["subindex"].to_numpy(),
        ci_low=100 * subs["ci_low"].to_numpy(),
        ci_high=100 * subs["ci_high"].to_numpy(),
        y_title=t("section.csi.score_axis", lang),
    )
    seg_chart = charts.bar(
        seg_names,
        index["csi_100"].to_numpy(),
        ci_low=100 * index["ci_low"].to_numpy(),
        ci_high=100 * index["ci_high"].to_numpy(),
        y_title=t("section.csi.score_axis", lang),
    )
    notes = [
        Message(
            "section.csi.scores_used",
            {"scores": ", ".join(str(s) for s in result.level_scores)},
        ),
        Message(
            "section.csi.interval_note",
            {"n_boot": result.n_boot, "level": f"{100 * result.confidence:g}", "seed": SEED},
        ),
    ]
    return SectionOutput(
        figures=tuple(figures),
        tables=tuple(tables),
        charts=(
            Chart(
                "contribution_gap",
                "section.csi.contribution_chart",
                _contribution_chart(ranked, lang),
            ),
            Chart("subindices", "section.csi.subindices_chart", sub_chart),
            Chart("by_segment", "section.csi.by_segment_chart", seg_chart),
        ),
        notes=tuple(notes),
        warnings=result.warnings,
    )


SECTION = register_section(Section("csi", "section.csi.title", 25, build))
