"""Service quality by SERVQUAL (SPEC section 6): expectation, perception and gap per dimension
with the radar chart, the importance-weighted score and the zone of tolerance; on demo data, the
estimates beside the true values the data were generated with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allegiance.errors import InputError
from allegiance.i18n import Message, t
from allegiance.methods import servqual
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
from allegiance.reports.sections.kano import module_truth

if TYPE_CHECKING:
    from allegiance.workflow import ProjectData

EXTRA_TABLE = "servqual_zot"
EXTRA_MODULE = "servqual_extra"
KEY = "respondent_key"
PERCENT = ColumnFormat(kind="percent")


def dimension_label(code: object, lang: str) -> str:
    return code_label("servqual.dimension", code, lang)


def _answers(data: ProjectData) -> tuple[pd.DataFrame, bool]:
    """Survey answers, joined to the importance points and service levels when the project has them."""
    answers = data.responses
    if not data.has_table(EXTRA_TABLE):
        return answers, False
    extra = data.table(EXTRA_TABLE)
    keep = [c for c in extra.columns if c == KEY or c not in answers.columns]
    merged = answers.merge(extra[keep], on=KEY, how="left", validate="many_to_one", sort=False)
    return merged, True


def _present(frame: pd.DataFrame, columns: list[str]) -> bool:
    return all(c in frame.columns for c in columns)


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    answers, has_extra = _answers(data)
    perception = list(servqual.item_columns("sq_p", columns=answers.columns))
    expectation = list(servqual.item_columns("sq_e", columns=answers.columns))
    if not _present(answers, perception + expectation):
        raise InputError("section.servqual.no_items")
    importance = {d: f"sq_imp_{d}" for d in servqual.DIMENSIONS}
    adequate = list(servqual.item_columns("sq_a", columns=answers.columns))
    desired = list(servqual.item_columns("sq_d", columns=answers.columns))
    with_zone = _present(answers, adequate + desired)
    result = servqual.servqual(
        answers,
        expectation=expectation,
        perception=perception,
        importance=importance if _present(answers, list(importance.values())) else None,
        adequate=adequate if with_zone else None,
        desired=desired if with_zone else None,
    )
    dims = result.dimensions
    codes = [str(d) for d in dims["dimension"]]
    names = [dimension_label(d, lang) for d in codes]
    survey_truth = module_truth(data, "survey").get("servqual", {})
    extra_truth = module_truth(data, EXTRA_MODULE)
    true_gap: dict[str, float] = {
        str(k): float(v) for k, v in survey_truth.get("dimension_mean_gap", {}).items()
    }

    table = pd.DataFrame(
        {
            "dimension": names,
            "expectation": dims["expectation"].to_numpy(),
            "perception": dims["perception"].to_numpy(),
            "gap_pe": dims["gap_pe"].to_numpy(),
            "ci_low": dims["ci_low"].to_numpy(),
            "ci_high": dims["ci_high"].to_numpy(),
        }
    )
    notes: list[Message] = [Message("section.servqual.note_method")]
    if true_gap:
        truths = np.array([true_gap.get(c, np.nan) for c in codes])
        inside = (truths >= table["ci_low"].to_numpy()) & (truths <= table["ci_high"].to_numpy())
        table["true_gap"] = truths
        table["gap_in_ci"] = inside
        notes.append(
            Message(
                "section.servqual.note_truth",
                {"covered": int(inside.sum()), "total": int(np.isfinite(truths).sum())},
            )
        )
    formats: dict[str, ColumnFormat] = {}
    if "importance_share" in dims:
        table["importance_share"] = dims["importance_share"].to_numpy()
        formats["importance_share"] = PERCENT
        shares = extra_truth.get("importance", {}).get("mean_share", {})
        if shares:
            table["true_importance_share"] = [float(shares.get(c, np.nan)) for c in codes]
            formats["true_importance_share"] = PERCENT
    table["n"] = dims["n"].to_numpy()

    worst = int(np.nanargmin(dims["gap_pe"].to_numpy(dtype=float)))
    figures = [
        KeyFigure("score", "section.servqual.score", result.score, digits=2),
    ]
    if result.weighted_score is not None:
        figures.append(
            KeyFigure(
                "weighted_score", "section.servqual.weighted", result.weighted_score, digits=2
            )
        )
    figures += [
        KeyFigure("largest_gap", "section.servqual.largest_gap", names[worst], kind="text"),
        KeyFigure(
            "largest_gap_value",
            "section.servqual.largest_gap_value",
            float(dims["gap_pe"].iloc[worst]),
            digits=2,
        ),
        KeyFigure(
            "respondents",
            "section.servqual.respondents",
            int(result.overall["n"].iloc[0]),
            kind="count",
        ),
    ]

    radar = charts.radar(
        names,
        {
            t("section.servqual.expectation", lang): dims["expectation"].to_numpy(),
            t("section.servqual.perception", lang): dims["perception"].to_numpy(),
        },
        value_range=(1.0, 7.0),
    )
    tables = [
        ReportTable(
            "dimensions",
            "section.servqual.table",
            table.set_index("dimension"),
            digits=2,
            formats=formats,
        )
    ]
    chart_list = [Chart("radar", "section.servqual.radar", radar)]

    if result.zone is not None:
        zone = result.zone
        zone_table = pd.DataFrame(
            {
                "dimension": names,
                "adequate": zone["adequate"].to_numpy(),
                "desired": zone["desired"].to_numpy(),
                "perception": zone["perception"].to_numpy(),
                "msa": zone["msa"].to_numpy(),
                "msa_ci_low": zone["msa_ci_low"].to_numpy(),
                "msa_ci_high": zone["msa_ci_high"].to_numpy(),
                "mss": zone["mss"].to_numpy(),
                "zone": [t(f"servqual.zone.{z}", lang) for z in zone["zone"]],
            }
        )
        true_dims = extra_truth.get("dimension", {})
        if true_dims and all("msa" in true_dims.get(c, {}) for c in codes):
            zone_table["true_msa"] = [float(true_dims[c]["msa"]) for c in codes]
            zone_table["true_mss"] = [float(true_dims[c]["mss"]) for c in codes]
            zone_table["true_zone"] = [
                t(f"servqual.zone.{true_dims[c]['zone']}", lang) for c in codes
            ]
        figures.append(
            KeyFigure(
                "below_zone",
                "section.servqual.below_zone",
                int((zone["zone"] == "below").sum()),
                kind="count",
            )
        )
        tables.append(
            ReportTable(
                "zone", "section.servqual.zone_table", zone_table.set_index("dimension"), digits=2
            )
        )
        chart_list.append(
            Chart(
                "zone",
                "section.servqual.zone_chart",
                charts.grouped_bar(
                    names,
                    {
                        t("col.msa", lang): zone["msa"].to_numpy(),
                        t("col.mss", lang): zone["mss"].to_numpy(),
                    },
                    digits=2,
                ),
            )
        )
        notes.append(Message("section.servqual.note_zone"))
    elif not has_extra:
        notes.append(Message("section.servqual.note_no_zone"))

    return SectionOutput(
        figures=tuple(figures),
        tables=tuple(tables),
        charts=tuple(chart_list),
        notes=tuple(notes),
        warnings=result.warnings,
    )


SECTION = register_section(Section("servqual", "section.servqual.title", 45, build))
