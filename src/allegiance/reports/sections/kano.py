"""Kano analysis of the survey's features (SPEC section 3, method 6): each feature's category,
Better/Worse coefficients and the Better-Worse diagram; on demo data, the estimated categories
side by side with the true ones the data were generated with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.errors import InputError
from allegiance.i18n import Message, t
from allegiance.methods import kano
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
QUADRANT_LINE = 0.5  # Better and |Worse| split the diagram at 0.5


def module_truth(data: ProjectData, module: str) -> dict[str, Any]:
    """The true parameters a generator module recorded (``{}`` when there are none)."""
    truth = data.truth or {}
    found = truth.get(module) or truth.get(f"generate.{module}") or {}
    return dict(found) if isinstance(found, dict) else {}


def true_categories(data: ProjectData) -> dict[str, str]:
    """Feature → true Kano category of the demo survey (empty for real data)."""
    features = module_truth(data, "survey").get("kano", {}).get("features", {})
    return {str(f): str(v["category"]) for f, v in features.items() if "category" in v}


def category_label(code: object, lang: str) -> str:
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return t("report.not_available", lang)
    return t(f"kano.category.{code}", lang)


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    answers = data.responses
    pairs = kano.find_pairs(answers.columns)
    if not pairs:
        raise InputError("section.kano.no_pairs")
    result = kano.kano_pairs(answers, pairs=pairs)
    summary = result.summary
    truth = true_categories(data)
    names = [code_label("kano_feature", a, lang) for a in summary["attribute"]]

    shown = pd.DataFrame(
        {
            "attribute": names,
            "category": [category_label(c, lang) for c in summary["category"]],
        }
    )
    notes: list[Message] = [Message("section.kano.note_rule")]
    figures: list[KeyFigure] = [
        KeyFigure("attributes", "section.kano.attributes", len(summary), kind="count"),
        KeyFigure("respondents", "section.kano.respondents", int(summary["n"].max()), kind="count"),
    ]
    if truth:
        true = [truth.get(str(a)) for a in summary["attribute"]]
        matched = [
            t_ is not None and t_ == c for t_, c in zip(true, summary["category"], strict=True)
        ]
        shown["true_category"] = [category_label(c, lang) for c in true]
        shown["category_recovered"] = matched
        known = sum(1 for t_ in true if t_ is not None)
        figures.append(
            KeyFigure(
                "recovered",
                "section.kano.recovered",
                sum(matched) / known if known else None,
                kind="percent",
            )
        )
        notes.append(Message("section.kano.note_truth", {"matched": sum(matched), "total": known}))
    for column in ("share_A", "share_O", "share_M", "share_I", "share_R", "share_Q"):
        shown[column] = summary[column].to_numpy()
    for column in ("strength", "fong_significant", "better", "worse", "n"):
        shown[column] = summary[column].to_numpy()
    figures.append(
        KeyFigure(
            "must_be", "section.kano.must_be", int((summary["category"] == "M").sum()), kind="count"
        )
    )
    if summary["better"].notna().any():
        best = int(np.nanargmax(summary["better"].to_numpy(dtype=float)))
        figures.append(KeyFigure("top_better", "section.kano.top_better", names[best], kind="text"))

    continuous = result.continuous[
        ["functional_mean", "functional_sd", "dysfunctional_mean", "dysfunctional_sd", "n"]
    ].copy()
    continuous.insert(0, "attribute", names)

    chart = charts.quadrant_scatter(
        (-summary["worse"]).to_numpy(),
        summary["better"].to_numpy(),
        names,
        x_line=QUADRANT_LINE,
        y_line=QUADRANT_LINE,
        quadrants=charts.Quadrants(
            upper_right=t("kano.category.O", lang),
            upper_left=t("kano.category.A", lang),
            lower_left=t("kano.category.I", lang),
            lower_right=t("kano.category.M", lang),
        ),
        x_title=t("section.kano.x_title", lang),
        y_title=t("section.kano.y_title", lang),
    )
    chart.update_xaxes(range=[0, 1])
    chart.update_yaxes(range=[0, 1])
    return SectionOutput(
        figures=tuple(figures),
        tables=(
            ReportTable(
                "categories",
                "section.kano.table",
                shown.set_index("attribute"),
                digits=2,
                formats={f"share_{c}": PERCENT for c in kano.CATEGORIES},
            ),
            ReportTable(
                "continuous",
                "section.kano.continuous_table",
                continuous.set_index("attribute"),
                digits=2,
            ),
        ),
        charts=(Chart("better_worse", "section.kano.chart", chart),),
        notes=tuple(notes),
        warnings=result.warnings,
    )


SECTION = register_section(Section("kano", "section.kano.title", 40, build))
