"""Segments, waves and competitors (SPEC section 3, method 7: U&A and differentiated service).

Three parts, each shown when its data exists:

- by segment: NPS, CSAT and the satisfaction index per customer segment with intervals,
  the tests across segments and the factors that separate the segments most;
- by wave: the trend of NPS, CSAT and the index over the tracking waves
  (``survey_waves``) and whether each change is real;
- us against competitors: the same respondents' ratings of Huaxun and each competitor
  (``competitor_ratings``), factor by factor, with paired tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.i18n import Message, t
from allegiance.methods import compare
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
OURS = "huaxun"
PERCENT = ColumnFormat(kind="percent")
P_VALUE = ColumnFormat(kind="number", digits=4)


INDEX_BOOT = 1000
INDEX_SEED = 0


def _factor_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if str(c).startswith(PREFIX)]


def csi_index() -> compare.CSIIndex:
    """The calculation-standard CSI (AHP weights of the shipped hierarchy template), as the
    index compared across segments and waves, with its bootstrap interval per group."""
    from allegiance.reports.sections.csi import hierarchy_result

    return compare.CSIIndex(
        hierarchy=hierarchy_result(), name="index", n_boot=INDEX_BOOT, seed=INDEX_SEED
    )


def _measure_label(measure: str, statistic: str, lang: str) -> str:
    return t(f"section.compare.stat.{measure}.{statistic}", lang)


WIDE_COLUMNS: dict[tuple[str, str], str] = {
    ("nps", "nps"): "nps",
    ("csat", "mean"): "csat_mean",
    ("csat", "top2_box"): "top2_box",
    ("index", "csi"): "index",
}
"""(measure, statistic) of the summary → the column of the per-segment table."""


def wide_table(summary: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per group: n, then NPS, CSAT mean, top-2 box and the index, each with its
    interval (``<name>``, ``<name>_ci_low``, ``<name>_ci_high``)."""
    rows: dict[str, dict[str, Any]] = {}
    for r in summary.to_dict("records"):
        name = WIDE_COLUMNS.get((str(r["measure"]), str(r["statistic"])))
        group = str(r[key])
        row = rows.setdefault(group, {"n": 0})
        row["n"] = max(row["n"], int(r["n"]))
        if name is None:
            continue
        row[name] = float(r["estimate"])
        row[f"{name}_ci_low"] = float(r["ci_low"])
        row[f"{name}_ci_high"] = float(r["ci_high"])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    order = ["n"] + [
        f"{name}{suffix}"
        for name in WIDE_COLUMNS.values()
        for suffix in ("", "_ci_low", "_ci_high")
    ]
    return frame[[c for c in order if c in frame.columns]]


def _segments(data: ProjectData, answers: pd.DataFrame, lang: str) -> dict[str, Any]:
    factors = _factor_columns(answers)
    result = compare.compare_segments(
        answers, by="segment", measures=["nps", "csat"], factors=factors, index=csi_index()
    )
    wide = wide_table(result.summary, "group")
    wide.index = [code_label("segment", s, lang) for s in wide.index]
    wide.index.name = "segment"
    tests = result.tests.loc[
        :,
        [
            "measure",
            "test",
            "statistic",
            "df1",
            "df2",
            "p_value",
            "p_adjusted",
            "effect",
            "effect_size",
        ],
    ].copy()
    tests["measure"] = [t(f"section.compare.measure.{m}", lang) for m in tests["measure"]]
    tests["test"] = [t(f"section.compare.test.{x}", lang) for x in tests["test"]]
    tests["effect"] = [t(f"section.compare.effect.{x}", lang) for x in tests["effect"]]
    ranking = result.factors.copy()
    ranking["factor"] = [
        code_label("cs_factor", f.removeprefix(PREFIX), lang) for f in ranking["factor"]
    ]
    ranking["highest_group"] = [code_label("segment", g, lang) for g in ranking["highest_group"]]
    ranking["lowest_group"] = [code_label("segment", g, lang) for g in ranking["lowest_group"]]
    ranking = ranking[
        [
            "rank",
            "factor",
            "epsilon_squared",
            "p_value",
            "p_adjusted",
            "highest_group",
            "highest_mean",
            "lowest_group",
            "lowest_mean",
            "spread",
        ]
    ]
    pairs = result.pairwise.loc[
        result.pairwise["statistic"].isin(["nps", "mean"]),
        [
            "measure",
            "group_a",
            "group_b",
            "difference",
            "ci_low",
            "ci_high",
            "p_value",
            "p_adjusted",
        ],
    ].copy()
    pairs["measure"] = [t(f"section.compare.measure.{m}", lang) for m in pairs["measure"]]
    pairs["group_a"] = [code_label("segment", g, lang) for g in pairs["group_a"]]
    pairs["group_b"] = [code_label("segment", g, lang) for g in pairs["group_b"]]
    nps_rows = result.summary.loc[result.summary["measure"] == "nps"]
    names = [code_label("segment", g, lang) for g in nps_rows["group"]]
    nps_chart = charts.bar(
        names,
        nps_rows["estimate"].to_numpy(),
        ci_low=nps_rows["ci_low"].to_numpy(),
        ci_high=nps_rows["ci_high"].to_numpy(),
        y_title="NPS",
    )
    top = result.factors.head(len(result.factors))
    factor_chart = charts.bar(
        list(ranking["factor"]),
        top["epsilon_squared"].to_numpy(),
        horizontal=True,
        digits=4,
        x_title=t("section.compare.epsilon_squared", lang),
    )
    primary = result.tests.loc[result.tests["primary"]].set_index("measure")
    nps_values = nps_rows["estimate"].to_numpy(dtype=np.float64)
    figures = [
        KeyFigure("segments", "section.compare.segments", len(result.groups), kind="count"),
        KeyFigure(
            "nps_spread",
            "section.compare.nps_spread",
            float(np.nanmax(nps_values) - np.nanmin(nps_values)) if len(nps_values) else None,
            kind="score",
        ),
        KeyFigure(
            "nps_p_adjusted",
            "section.compare.nps_p",
            float(primary["p_adjusted"].to_dict()["nps"]) if "nps" in primary.index else None,
            digits=4,
        ),
        KeyFigure(
            "top_factor",
            "section.compare.top_factor",
            str(ranking["factor"].iloc[0]) if len(ranking) else None,
            kind="text",
        ),
        KeyFigure(
            "top_factor_effect",
            "section.compare.top_factor_effect",
            float(result.factors["epsilon_squared"].iloc[0]) if len(ranking) else None,
            digits=4,
        ),
    ]
    tables = [
        ReportTable(
            "by_segment",
            "section.compare.by_segment",
            wide,
            digits=2,
            formats={
                **dict.fromkeys(("top2_box", "top2_box_ci_low", "top2_box_ci_high"), PERCENT),
                **dict.fromkeys(
                    ("nps", "nps_ci_low", "nps_ci_high", "index", "index_ci_low", "index_ci_high"),
                    ColumnFormat(digits=1),
                ),
            },
            note_key="section.compare.by_segment_note",
        ),
        ReportTable(
            "segment_tests",
            "section.compare.segment_tests",
            tests.set_index("measure"),
            digits=3,
            formats={
                "p_value": P_VALUE,
                "p_adjusted": P_VALUE,
                "effect_size": ColumnFormat(digits=4),
            },
        ),
        ReportTable(
            "segment_pairs",
            "section.compare.segment_pairs",
            pairs.set_index("measure"),
            digits=2,
            formats={"p_value": P_VALUE, "p_adjusted": P_VALUE},
        ),
        ReportTable(
            "separating_factors",
            "section.compare.separating_factors",
            ranking.set_index("rank"),
            digits=3,
            formats={
                "epsilon_squared": ColumnFormat(digits=4),
                "p_value": P_VALUE,
                "p_adjusted": P_VALUE,
            },
        ),
    ]
    chart_list = [
        Chart("nps_by_segment", "section.compare.nps_by_segment", nps_chart),
        Chart("separating_factors", "section.compare.separating_factors", factor_chart),
    ]
    return {
        "figures": figures,
        "tables": tables,
        "charts": chart_list,
        "warnings": result.warnings,
    }


def _waves(data: ProjectData, lang: str) -> dict[str, Any]:
    frame = data.table("survey_waves")
    order = (
        frame[["wave", "wave_index"]].drop_duplicates().sort_values("wave_index")["wave"].tolist()
        if "wave_index" in frame.columns
        else None
    )
    result = compare.compare_waves(
        frame, wave="wave", measures=["nps", "csat"], order=order, index=csi_index()
    )
    summary = result.summary
    labels = list(result.order)

    def series(measure: str, statistic: str) -> np.ndarray:
        rows = summary.loc[(summary["measure"] == measure) & (summary["statistic"] == statistic)]
        return rows.set_index("wave").reindex(labels)["estimate"].to_numpy(dtype=np.float64)

    trend = charts.line(
        labels,
        {
            t("section.compare.measure.nps", lang): series("nps", "nps"),
            t("section.compare.measure.index", lang): series("index", "csi"),
        },
        x_title=t("section.compare.wave", lang),
        y_title=t("section.compare.score_0_100", lang),
    )
    csat_trend = charts.line(
        labels,
        {t("section.compare.stat.csat.top2_box", lang): series("csat", "top2_box")},
        x_title=t("section.compare.wave", lang),
        percent=True,
    )
    changes = result.changes[
        [
            "measure",
            "statistic",
            "from_wave",
            "to_wave",
            "estimate_from",
            "estimate_to",
            "change",
            "ci_low",
            "ci_high",
            "p_value",
            "p_adjusted",
            "significant",
        ]
    ].copy()
    changes.insert(
        0,
        "measure_label",
        [
            _measure_label(m, s, lang)
            for m, s in zip(changes["measure"], changes["statistic"], strict=True)
        ],
    )
    changes["significant"] = [
        t("common.yes" if v else "common.no", lang) for v in changes["significant"]
    ]
    changes = changes.drop(columns=["measure", "statistic"]).rename(
        columns={"measure_label": "measure"}
    )
    last = result.changes.loc[result.changes["to_wave"] == labels[-1]] if labels else result.changes
    nps_last = last.loc[last["measure"] == "nps"]
    csat_last = last.loc[(last["measure"] == "csat") & (last["statistic"] == "mean")]
    figures = [
        KeyFigure("waves", "section.compare.waves", len(labels), kind="count"),
        KeyFigure(
            "nps_change",
            "section.compare.nps_change",
            float(nps_last["change"].iloc[0]) if len(nps_last) else None,
            kind="score",
        ),
        KeyFigure(
            "nps_change_p",
            "section.compare.nps_change_p",
            float(nps_last["p_adjusted"].iloc[0]) if len(nps_last) else None,
            digits=4,
        ),
        KeyFigure(
            "csat_change",
            "section.compare.csat_change",
            float(csat_last["change"].iloc[0]) if len(csat_last) else None,
            digits=3,
        ),
        KeyFigure(
            "csat_change_p",
            "section.compare.csat_change_p",
            float(csat_last["p_adjusted"].iloc[0]) if len(csat_last) else None,
            digits=4,
        ),
    ]
    return {
        "figures": figures,
        "tables": [
            ReportTable(
                "wave_changes",
                "section.compare.wave_changes",
                changes.set_index("measure"),
                digits=3,
                formats={"p_value": P_VALUE, "p_adjusted": P_VALUE},
            )
        ],
        "charts": [
            Chart("wave_trend", "section.compare.wave_trend", trend),
            Chart("wave_csat", "section.compare.wave_csat", csat_trend),
        ],
        "warnings": result.warnings,
    }


def _competitors(data: ProjectData, lang: str) -> dict[str, Any]:
    theirs = data.table("competitor_ratings")
    brands = theirs["competitor"].astype("str")
    if (brands == OURS).any():  # the table holds our own ratings too (the demo does)
        factors = _factor_columns(theirs)
        long = theirs[["respondent_key", *factors]].assign(brand=brands.to_numpy())
    else:
        factors = [c for c in _factor_columns(theirs) if c in data.responses.columns]
        ours = data.responses[["respondent_key", *factors]].copy()
        ours["brand"] = OURS
        other = theirs[["respondent_key", *factors]].copy()
        other["brand"] = brands.to_numpy()
        long = pd.concat([ours, other], ignore_index=True)
    result = compare.compare_competitors(
        long, brand="brand", respondent="respondent_key", items=factors, ours=OURS
    )
    names = {b: code_label("competitor", b, lang) for b in result.competitors}
    names[OURS] = code_label("company", OURS, lang)
    factor_names = [code_label("cs_factor", f.removeprefix(PREFIX), lang) for f in factors]
    summary = result.summary
    bars = charts.grouped_bar(
        factor_names,
        {
            names[b]: summary.loc[summary["brand"] == b].set_index("item").reindex(factors)["mean"]
            for b in [OURS, *result.competitors]
        },
        y_title=t("section.compare.mean_rating", lang),
        digits=2,
    )
    paired = result.paired.copy()
    paired["competitor"] = [names[c] for c in paired["competitor"]]
    paired["item"] = [code_label("cs_factor", f.removeprefix(PREFIX), lang) for f in paired["item"]]
    paired["verdict"] = [t(f"section.compare.verdict.{v}", lang) for v in result.paired["verdict"]]
    paired = paired[
        [
            "competitor",
            "item",
            "n_pairs",
            "ours_mean",
            "theirs_mean",
            "difference",
            "ci_low",
            "ci_high",
            "p_adjusted",
            "effect_size",
            "verdict",
        ]
    ]
    figures: list[KeyFigure] = []
    for rival in result.competitors:
        rows = result.paired.loc[result.paired["competitor"] == rival]
        figures.append(
            KeyFigure(
                f"ahead_{rival}",
                Message("section.compare.ahead_of", {"competitor": names[rival]}),
                int((rows["verdict"] == "ahead").sum()),
                kind="count",
            )
        )
        figures.append(
            KeyFigure(
                f"behind_{rival}",
                Message("section.compare.behind", {"competitor": names[rival]}),
                int((rows["verdict"] == "behind").sum()),
                kind="count",
            )
        )
    return {
        "figures": figures,
        "tables": [
            ReportTable(
                "competitors",
                "section.compare.competitors",
                paired.set_index(["competitor", "item"]),
                digits=3,
                formats={"p_adjusted": P_VALUE},
            )
        ],
        "charts": [Chart("competitor_means", "section.compare.competitor_means", bars)],
        "warnings": result.warnings,
    }


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    segments = data.customers[["customer_id", "segment"]].astype({"segment": "str"})
    answers = data.responses.merge(segments, on="customer_id", how="left")
    parts = [_segments(data, answers, lang)]
    notes = [
        Message("section.compare.note_tests", {}),
        Message("section.compare.note_index", {"n": len(_factor_columns(answers))}),
    ]
    if data.has_table("survey_waves"):
        parts.append(_waves(data, lang))
        notes.append(Message("section.compare.note_waves", {}))
    if data.has_table("competitor_ratings"):
        parts.append(_competitors(data, lang))
        notes.append(Message("section.compare.note_competitors", {}))
    return SectionOutput(
        figures=tuple(f for p in parts for f in p["figures"]),
        tables=tuple(x for p in parts for x in p["tables"]),
        charts=tuple(c for p in parts for c in p["charts"]),
        notes=tuple(notes),
        warnings=tuple(w for p in parts for w in p["warnings"]),
    )


SECTION = register_section(Section("compare", "section.compare.title", 55, build))
