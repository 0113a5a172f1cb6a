"""Satisfaction and loyalty (SPEC sections 3.8, 4 and 5): loyalty by satisfaction level, the
loyalty multiple of very satisfied over merely satisfied customers, actual retention from the
customers' churn flags, the three-indicator loyalty index by segment, and, where an employee
survey exists, employee against customer satisfaction per branch (the service-profit chain)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.i18n import Message, t
from allegiance.methods import loyalty_link as ll
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
SATISFACTION = "csat"
MEASURES = ("repurchase", "recommend3", "nps", "retained")


def _level_labels(lang: str) -> list[str]:
    scale = scales.SCALES["csat"]
    return [f"{c} {scale.label(c, lang)}" for c in scale.codes]


def _curve_part(answers: pd.DataFrame, lang: str) -> dict[str, Any]:
    measures = [m for m in MEASURES if m in answers.columns]
    result = ll.loyalty_curve(answers, satisfaction=SATISFACTION, loyalty=measures)
    labels = _level_labels(lang)
    curve = result.curve
    names = {m: t(f"section.loyalty_link.measure.{m}", lang) for m in measures}
    chart = charts.line(
        labels,
        {
            names[m]: curve.loc[curve["measure"] == m, "share"].to_numpy(dtype=np.float64)
            for m in measures
        },
        x_title=t("section.loyalty_link.level", lang),
        y_title=t("section.loyalty_link.share_loyal", lang),
        percent=True,
    )
    wide = curve.pivot(index="level", columns="measure", values="share")[measures]
    counts = curve.loc[curve["measure"] == measures[0]].set_index("level")["n"]
    wide.insert(0, "n", counts.astype("int64"))
    wide.index = labels
    wide.index.name = "level"
    wide = wide.rename(columns=names)
    multiple = result.multiple.copy()
    multiple["measure"] = [names[m] for m in multiple["measure"]]
    multiple = multiple[
        [
            "measure",
            "n_very",
            "n_merely",
            "share_very",
            "share_merely",
            "multiple",
            "ci_low",
            "ci_high",
            "p_value",
            "defection_ratio",
            "defection_ci_low",
            "defection_ci_high",
        ]
    ]
    shape = result.shape.copy()
    shape["measure"] = [names[m] for m in shape["measure"]]
    shape = shape[
        [
            "measure",
            "previous_step",
            "top_step",
            "acceleration",
            "ci_low",
            "ci_high",
            "p_value",
            "top_step_share",
        ]
    ]
    by_measure = result.multiple.set_index("measure")
    shape_by = result.shape.set_index("measure")
    figures: list[KeyFigure] = []
    for m in ("repurchase", "retained"):
        if m not in by_measure.index:
            continue
        row = by_measure.loc[m].to_dict()
        figures.append(
            KeyFigure(
                f"multiple_{m}",
                f"section.loyalty_link.multiple_{m}",
                float(row["multiple"]),
                digits=2,
            )
        )
        figures.append(
            KeyFigure(
                f"multiple_{m}_ci_low",
                f"section.loyalty_link.multiple_{m}_low",
                float(row["ci_low"]),
                digits=2,
            )
        )
        figures.append(
            KeyFigure(
                f"multiple_{m}_ci_high",
                f"section.loyalty_link.multiple_{m}_high",
                float(row["ci_high"]),
                digits=2,
            )
        )
    if "retained" in by_measure.index:
        figures.append(
            KeyFigure(
                "defection_ratio",
                "section.loyalty_link.defection_ratio",
                float(by_measure["defection_ratio"].to_dict()["retained"]),
                digits=2,
            )
        )
    if "repurchase" in shape_by.index:
        figures.append(
            KeyFigure(
                "top_step_share",
                "section.loyalty_link.top_step_share",
                float(shape_by["top_step_share"].to_dict()["repurchase"]),
                kind="percent",
            )
        )
    share_format = {names[m]: PERCENT for m in measures}
    return {
        "figures": figures,
        "tables": [
            ReportTable("curve", "section.loyalty_link.curve", wide, formats=share_format),
            ReportTable(
                "multiple",
                "section.loyalty_link.multiple",
                multiple.set_index("measure"),
                digits=2,
                formats={
                    "share_very": PERCENT,
                    "share_merely": PERCENT,
                    "p_value": ColumnFormat(digits=4),
                },
            ),
            ReportTable(
                "shape",
                "section.loyalty_link.shape",
                shape.set_index("measure"),
                digits=3,
                formats={
                    "previous_step": PERCENT,
                    "top_step": PERCENT,
                    "top_step_share": PERCENT,
                    "p_value": ColumnFormat(digits=4),
                },
            ),
        ],
        "charts": [Chart("curve", "section.loyalty_link.curve", chart)],
        "warnings": result.warnings,
    }


def _index_part(answers: pd.DataFrame, lang: str) -> dict[str, Any]:
    result = scales.loyalty_index_three(
        answers,
        satisfaction=SATISFACTION,
        repurchase="repurchase",
        recommend="recommend3",
        by="segment",
    )
    table = result.table[
        ["segment", "n", "satisfaction", "repurchase", "recommend", "index", "ci_low", "ci_high"]
    ].copy()
    table["segment"] = [code_label("segment", s, lang) for s in table["segment"]]
    return {
        "figures": [],
        "tables": [
            ReportTable(
                "loyalty_index",
                "section.loyalty_link.loyalty_index",
                table.set_index("segment"),
                digits=3,
            )
        ],
        "charts": [],
        "warnings": result.warnings,
    }


def _branch_label(branch: str, lang: str) -> str:
    region, _, number = branch.rpartition("-")
    return f"{code_label('region', region, lang)} {number}" if region else branch


def _employee_part(data: ProjectData, answers: pd.DataFrame, lang: str) -> dict[str, Any]:
    served = data.table("customer_branch")
    branch = pd.Series(
        served["branch_id"].astype("str").to_numpy(), index=served["customer_id"].astype("str")
    )
    customers = answers[["customer_id", SATISFACTION]].copy()
    customers["branch_id"] = customers["customer_id"].astype("str").map(branch).to_numpy()
    employees = data.table("employee_survey")
    result = ll.employee_link(
        customers,
        employees,
        branch="branch_id",
        customer_satisfaction=SATISFACTION,
        employee_satisfaction="esat",
    )
    used = result.branches.loc[result.branches["used"]]
    labels = [_branch_label(b, lang) for b in used["branch"]]
    scatter = charts.quadrant_scatter(
        used["employee_satisfaction"].to_numpy(dtype=np.float64),
        used["customer_satisfaction"].to_numpy(dtype=np.float64),
        labels,
        x_title=t("section.loyalty_link.employee_satisfaction", lang),
        y_title=t("section.loyalty_link.customer_satisfaction", lang),
        quadrants=charts.Quadrants(
            upper_right=t("section.loyalty_link.q_both_high", lang),
            lower_left=t("section.loyalty_link.q_both_low", lang),
        ),
    )
    pearson = result.correlation.iloc[0]
    branches = result.branches.copy()
    branches["branch"] = [_branch_label(b, lang) for b in branches["branch"]]
    correlation = result.correlation.copy()
    correlation["method"] = [
        t(f"section.loyalty_link.method.{m}", lang) for m in correlation["method"]
    ]
    return {
        "figures": [
            KeyFigure("branches", "section.loyalty_link.branches", len(used), kind="count"),
            KeyFigure(
                "employee_r", "section.loyalty_link.employee_r", float(pearson["r"]), digits=3
            ),
            KeyFigure(
                "employee_r_low",
                "section.loyalty_link.employee_r_low",
                float(pearson["ci_low"]),
                digits=3,
            ),
            KeyFigure(
                "employee_r_high",
                "section.loyalty_link.employee_r_high",
                float(pearson["ci_high"]),
                digits=3,
            ),
        ],
        "tables": [
            ReportTable(
                "employee_correlation",
                "section.loyalty_link.employee_correlation",
                correlation.set_index("method"),
                digits=3,
                formats={"p_value": ColumnFormat(digits=4)},
            ),
            ReportTable(
                "branches",
                "section.loyalty_link.branch_table",
                branches.drop(columns=["used"]).set_index("branch"),
                digits=2,
            ),
        ],
        "charts": [Chart("employees", "section.loyalty_link.employee_chart", scatter)],
        "warnings": result.warnings,
    }


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    customers = data.customers[["customer_id", "churned", "segment"]].copy()
    customers["segment"] = customers["segment"].astype("str")
    answers = ll.link_retention(data.responses, customers[["customer_id", "churned"]])
    answers = answers.merge(customers[["customer_id", "segment"]], on="customer_id", how="left")
    parts = [_curve_part(answers, lang), _index_part(answers, lang)]
    notes = [
        Message("section.loyalty_link.note_curve", {}),
        Message("section.loyalty_link.note_retention", {}),
    ]
    if data.has_table("employee_survey") and data.has_table("customer_branch"):
        parts.append(_employee_part(data, answers, lang))
        notes.append(Message("section.loyalty_link.note_employees", {}))
    return SectionOutput(
        figures=tuple(f for p in parts for f in p["figures"]),
        tables=tuple(x for p in parts for x in p["tables"]),
        charts=tuple(c for p in parts for c in p["charts"]),
        notes=tuple(notes),
        warnings=tuple(w for p in parts for w in p["warnings"]),
    )


SECTION = register_section(Section("loyalty_link", "section.loyalty_link.title", 70, build))
