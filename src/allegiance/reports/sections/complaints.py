"""Complaints (SPEC sections 2 and 6): the cause Pareto with its vital few, the cause-class
shares, service levels (first response, resolution) and the distribution of resolution times,
service recovery, complaints per 1,000 customers and the iceberg estimate; on demo data, the
estimates beside the true values the data were generated with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allegiance.errors import InputError
from allegiance.i18n import Message, t
from allegiance.methods import complaints as mc
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
from allegiance.reports.sections.kano import module_truth

if TYPE_CHECKING:
    from allegiance.complaints.handling import Workflow
    from allegiance.workflow import ProjectData

PERCENT = ColumnFormat(kind="percent")
COUNT = ColumnFormat(kind="count", digits=0)
_JOINED = ("join_date", "joined_at")
_LEFT = ("churn_month", "churned_at", "left_at")
# Resolution-time bands of the distribution chart (upper bounds in hours).
BANDS: tuple[tuple[str, float], ...] = (
    ("4h", 4.0),
    ("24h", 24.0),
    ("3d", 72.0),
    ("5d", 120.0),
    ("10d", 240.0),
    ("more", float("inf")),
)


def _customers(data: ProjectData) -> tuple[pd.DataFrame | None, str | None, str | None]:
    if not data.has_table("customers"):
        return None, None, None
    customers = data.customers
    joined = next((c for c in _JOINED if c in customers.columns), None)
    left = next((c for c in _LEFT if c in customers.columns), None)
    return customers, joined, left


def _severity_names(wf: Workflow, lang: str) -> dict[str, str]:
    names = {s.code: s.name(lang) for s in wf.severities}
    names["all"] = t("complaints.group.all", lang)
    return names


def _band_counts(durations: pd.DataFrame, severities: list[str]) -> dict[str, np.ndarray]:
    """Resolved complaints per time band (upper bounds inclusive) and those still open."""
    hours = durations["resolution_hours"].to_numpy(dtype=float)
    uppers = np.array([b for _, b in BANDS[:-1]])
    sev = durations["severity"].to_numpy(dtype=object)
    out: dict[str, np.ndarray] = {}
    for code in severities:
        mask = sev == code
        done = hours[mask & np.isfinite(hours)]
        counts = np.bincount(np.searchsorted(uppers, done, side="left"), minlength=len(BANDS))
        still_open = int((mask & ~np.isfinite(hours)).sum())
        out[code] = np.append(counts, still_open).astype(float)
    return out


def _group_label(group: str, severities: dict[str, str], lang: str) -> str:
    if group in severities:
        return severities[group]
    key = {"-": "unknown"}.get(group, group)
    return t(f"section.complaints.group.{key}", lang)


def build(data: ProjectData) -> SectionOutput:
    from allegiance.complaints.handling import load_workflow
    from allegiance.complaints.taxonomy import load_taxonomy

    lang = data.lang
    complaints = data.complaints
    if len(complaints) == 0:
        raise InputError("section.complaints.none")
    tax = load_taxonomy()
    wf = load_workflow()
    customers, joined, left = _customers(data)
    summary = mc.summarize(
        complaints,
        taxonomy=tax,
        workflow=wf,
        customers=customers,
        joined=joined,
        left=left,
        period="month",
    )
    truth = module_truth(data, "complaints")
    names = _severity_names(wf, lang)
    notes: list[Message] = [Message("section.complaints.note_method")]
    tables: list[ReportTable] = []
    chart_list: list[Chart] = []

    # --- Pareto and classes -------------------------------------------------------------------
    par = summary.pareto
    name_col = "name_zh" if lang == "zh" else "name_en"
    pareto_table = pd.DataFrame(
        {
            "cause": par.table[name_col].to_numpy(),
            "cause_class": par.table["cause_class"].to_numpy(),
            "count": par.table["count"].to_numpy(),
            "share": par.table["share"].to_numpy(),
            "cumulative_share": par.table["cumulative_share"].to_numpy(),
            "vital_few": par.table["vital_few"].to_numpy(),
        }
    )
    formats = {"share": PERCENT, "cumulative_share": PERCENT}
    true_probs = truth.get("cause_probabilities") or {}
    if true_probs:
        pareto_table["true_share"] = [
            float(true_probs.get(str(c), np.nan)) for c in par.table["cause"]
        ]
        formats["true_share"] = PERCENT
    tables.append(
        ReportTable(
            "pareto",
            "section.complaints.pareto_table",
            pareto_table.set_index("cause"),
            formats=formats,
        )
    )
    classes = pd.DataFrame(
        {
            "cause_class": par.classes["cause_class"].to_numpy(),
            "name": par.classes[name_col].to_numpy(),
            "count": par.classes["count"].to_numpy(),
            "share": par.classes["share"].to_numpy(),
        }
    )
    class_formats = {"share": PERCENT}
    true_classes = truth.get("class_shares") or {}
    if true_classes:
        classes["true_share"] = [
            float(true_classes.get(str(k), np.nan)) for k in classes["cause_class"]
        ]
        class_formats["true_share"] = PERCENT
    tables.append(
        ReportTable(
            "classes",
            "section.complaints.classes_table",
            classes.set_index("cause_class"),
            formats=class_formats,
        )
    )
    chart_list.append(
        Chart(
            "pareto",
            "section.complaints.pareto_chart",
            charts.pareto(
                par.table[name_col].tolist(),
                par.table["count"].to_numpy(),
                threshold=par.threshold,
                y_title=t("col.count", lang),
                cumulative_title=t("col.cumulative_share", lang),
            ),
        )
    )
    chart_list.append(
        Chart(
            "classes",
            "section.complaints.classes_chart",
            charts.bar(
                [
                    f"{k} · {n}"
                    for k, n in zip(classes["cause_class"], classes["name"], strict=True)
                ],
                classes["share"].to_numpy(),
                percent=True,
                horizontal=True,
                height=260,
            ),
        )
    )
    figures: list[KeyFigure] = [
        KeyFigure("complaints", "section.complaints.count", summary.n, kind="count"),
        KeyFigure("vital_few", "section.complaints.vital_few", len(par.vital_few), kind="count"),
        KeyFigure(
            "vital_few_share",
            "section.complaints.vital_few_share",
            par.vital_few_share,
            kind="percent",
        ),
        KeyFigure(
            "class_1_share",
            "section.complaints.class_1",
            float(par.classes["share"].iloc[0]),
            kind="percent",
        ),
        KeyFigure(
            "class_2_share",
            "section.complaints.class_2",
            float(par.classes["share"].iloc[1]),
            kind="percent",
        ),
        KeyFigure(
            "class_3_4_share",
            "section.complaints.class_3_4",
            float(par.classes["share"].iloc[2:].sum()),
            kind="percent",
        ),
    ]

    # --- service levels -----------------------------------------------------------------------
    if summary.sla is not None:
        sla = summary.sla
        shown = sla.table.copy()
        shown.insert(
            0, "measure_name", [t(f"complaints.measure.{m}", lang) for m in shown["measure"]]
        )
        shown["severity"] = [names.get(str(s), s) for s in shown["severity"]]
        keep = [
            "measure_name",
            "severity",
            "target_hours",
            "n_due",
            "share_within",
            "ci_low",
            "ci_high",
            "p50_hours",
            "p90_hours",
        ]
        sla_formats = {"share_within": PERCENT, "ci_low": PERCENT, "ci_high": PERCENT}
        sla_table = shown[[c for c in keep if c in shown.columns]].rename(
            columns={"measure_name": "measure"}
        )
        true_fr = truth.get("first_response_within_sla") or {}
        true_res = truth.get("resolution_within_sla") or {}
        if true_fr and true_res:
            sla_table["true_share"] = [
                float((true_fr if m == "first_response" else true_res).get(str(s), np.nan))
                for m, s in zip(sla.table["measure"], sla.table["severity"], strict=True)
            ]
            sla_formats["true_share"] = PERCENT
        tables.append(
            ReportTable(
                "sla",
                "section.complaints.sla_table",
                sla_table.set_index(["measure", "severity"]),
                digits=1,
                formats=sla_formats,
            )
        )
        figures.append(
            KeyFigure(
                "first_response_within_sla",
                "section.complaints.first_within",
                sla.share_within("first_response"),
                kind="percent",
            )
        )
        figures.append(
            KeyFigure(
                "resolution_within_sla",
                "section.complaints.resolution_within",
                sla.share_within("resolution"),
                kind="percent",
            )
        )
        per_sev = sla.table[sla.table["severity"] != "all"]
        codes = [s.code for s in wf.severities]
        chart_list.append(
            Chart(
                "sla",
                "section.complaints.sla_chart",
                charts.grouped_bar(
                    [names[c] for c in codes],
                    {
                        t(f"complaints.measure.{m}", lang): per_sev[per_sev["measure"] == m]
                        .set_index("severity")["share_within"]
                        .reindex(codes)
                        .to_numpy()
                        for m in ("first_response", "resolution")
                        if (per_sev["measure"] == m).any()
                    },
                    percent=True,
                    y_title=t("col.share_within", lang),
                ),
            )
        )
        if "resolution_hours" in sla.durations.columns:
            bands = _band_counts(sla.durations, codes)
            labels = [t(f"section.complaints.band.{b}", lang) for b, _ in BANDS]
            labels.append(t("section.complaints.band.open", lang))
            chart_list.append(
                Chart(
                    "resolution_times",
                    "section.complaints.times_chart",
                    charts.grouped_bar(
                        labels,
                        {names[c]: bands[c] for c in codes},
                        digits=0,
                        y_title=t("col.count", lang),
                    ),
                )
            )
        notes.append(
            Message("section.complaints.note_sla", {"as_of": sla.as_of.strftime("%Y-%m-%d %H:%M")})
        )

    # --- recovery -----------------------------------------------------------------------------
    if summary.recovery is not None:
        rec = summary.recovery
        rates = rec.rates.copy()
        rates["group_by"] = [t(f"section.complaints.by.{g}", lang) for g in rates["group_by"]]
        rates["group"] = [_group_label(g, names, lang) for g in rec.rates["group"].astype(str)]
        rec_formats = {"recovery_rate": PERCENT, "ci_low": PERCENT, "ci_high": PERCENT}
        true_rec = truth.get("recovery_rate") or {}
        if true_rec:
            rates["true_rate"] = [
                float(true_rec.get(str(g), np.nan)) if by in ("all", "severity") else np.nan
                for by, g in zip(rec.rates["group_by"], rec.rates["group"], strict=True)
            ]
            rec_formats["true_rate"] = PERCENT
        tables.append(
            ReportTable(
                "recovery",
                "section.complaints.recovery_table",
                rates.set_index(["group_by", "group"]),
                formats=rec_formats,
            )
        )
        figures.append(
            KeyFigure(
                "recovery_rate",
                "section.complaints.recovery_rate",
                rec.recovery_rate,
                kind="percent",
            )
        )
        if rec.retention is not None:
            retention = rec.retention.copy()
            retention["group"] = [t(f"complaints.group.{g}", lang) for g in retention["group"]]
            tables.append(
                ReportTable(
                    "retention",
                    Message("section.complaints.retention_table", {"days": rec.horizon_days}),
                    retention.set_index("group"),
                    formats={"retention_rate": PERCENT, "ci_low": PERCENT, "ci_high": PERCENT},
                )
            )
            figures.append(
                KeyFigure(
                    "retention_rate",
                    "section.complaints.retention_rate",
                    rec.retention_rate,
                    kind="percent",
                )
            )
        if rec.escalation is not None:
            esc = rec.escalation.copy()
            esc["escalated_to"] = [
                t(f"complaints.escalation.{c}", lang) for c in esc["escalated_to"]
            ]
            tables.append(
                ReportTable(
                    "escalation",
                    "section.complaints.escalation_table",
                    esc.set_index("escalated_to"),
                    formats={
                        "share": PERCENT,
                        "share_recovered": PERCENT,
                        "share_not_recovered": PERCENT,
                    },
                )
            )
            figures.append(
                KeyFigure(
                    "escalation_rate",
                    "section.complaints.escalation_rate",
                    rec.escalation_rate,
                    kind="percent",
                )
            )

    # --- rate and iceberg ---------------------------------------------------------------------
    if summary.rate is not None:
        rate = summary.rate
        figures.append(
            KeyFigure("complaints_per_1000", "section.complaints.per_1000", rate.rate, digits=2)
        )
        chart_list.append(
            Chart(
                "rate",
                "section.complaints.rate_chart",
                charts.line(
                    rate.periods["period"].tolist(),
                    {t("section.complaints.per_1000", lang): rate.periods["rate"].to_numpy()},
                    digits=2,
                    x_title=t("col.period", lang),
                ),
            )
        )
        notes.append(
            Message(
                "section.complaints.note_rate_trend",
                {
                    "direction": t(f"complaints.direction.{rate.direction}", lang),
                    "slope": f"{rate.slope_per_period:+.3f}",
                },
            )
        )
    ice = summary.iceberg
    figures.append(
        KeyFigure(
            "complainants_per_month", "section.complaints.complainants", ice.complainants, digits=0
        )
    )
    figures.append(
        KeyFigure(
            "dissatisfied_estimate",
            "section.complaints.iceberg",
            ice.dissatisfied_estimate,
            digits=0,
            note_key=ice.assumption,
        )
    )
    if ice.share_of_customers is not None:
        figures.append(
            KeyFigure(
                "dissatisfied_share",
                "section.complaints.iceberg_share",
                ice.share_of_customers,
                kind="percent",
            )
        )
    ice_formats: dict[str, ColumnFormat] = {
        "dissatisfied_estimate": COUNT,
        "silent_estimate": COUNT,
    }
    if "share_of_customers" in summary.iceberg_periods.columns:
        ice_formats["share_of_customers"] = PERCENT
        ice_formats["customers"] = COUNT
    tables.append(
        ReportTable(
            "iceberg",
            "section.complaints.iceberg_table",
            summary.iceberg_periods.set_index("period"),
            formats=ice_formats,
            note_key=ice.assumption,
        )
    )
    notes.append(ice.assumption)
    if truth:
        notes.append(Message("section.complaints.note_truth"))
    return SectionOutput(
        figures=tuple(figures),
        tables=tuple(tables),
        charts=tuple(chart_list),
        notes=tuple(notes),
        warnings=summary.warnings,
    )


SECTION = register_section(Section("complaints", "section.complaints.title", 60, build))
