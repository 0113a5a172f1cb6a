"""Service quality operations (SPEC sections 3, 5 and 6): the reliability of a service
process (service blueprint), service compliance audits by branch, the improvement actions
with their measured effect, and the customer-care contacts due.

Reads from the project (each part is left out when its table is missing):

- ``service_process`` (step, name_zh, name_en, successes, attempts): the blueprint, with the
  steps' probabilities estimated and the step to fix first
  (:func:`allegiance.methods.blueprint.blueprint`);
- ``audit_visits`` with the checklist named in the demo truth (else the shipped
  ``telecom_store``): compliance by branch with intervals and the standards that fail most
  (:func:`allegiance.methods.audit.audit_scores`);
- the actions proposed (:func:`allegiance.methods.actions.propose_actions`) from the weakest
  links of the tracking wave before the main survey (the drivers section's computation on
  ``survey_waves``), the complaint causes, the audit and the blueprint; the weakest-link
  actions' effect is measured between that wave and the main survey;
- ``customers`` (with ``customer_branch``, ``activity``, ``price_changes``): the care contacts
  due in the last month of the data, per branch.

On demo data the estimates are shown beside the true values the data were generated with.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.errors import InputError
from allegiance.i18n import Message, t
from allegiance.methods import actions as act
from allegiance.methods.audit import audit_scores, checklist_names, load_checklist
from allegiance.methods.blueprint import blueprint, steps_from_frame
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

PERCENT = ColumnFormat(kind="percent")
PROCESS_TABLE = "service_process"
AUDIT_TABLE = "audit_visits"
WAVES_TABLE = "survey_waves"
DEFAULT_CHECKLIST = "telecom_store"
OWNERS: dict[str, str] = {
    "weakest_link": "cx_team",
    "complaint_class_1": "product_team",
    "complaint_class_2": "service_team",
    "complaint_class_3": "education_team",
    "audit_standard": "branch_network",
    "blueprint_step": "installation_team",
}
"""Who owns the demo's proposed actions (codes with labels ``actions.owner.*``)."""
DUE_DAYS = 90
TOP = 2
CARE_KINDS = ("callback", "anniversary", "price_notice")
"""The care contacts the demo's tables support (no birth dates, no product end of life)."""


def _name(frame: pd.DataFrame, lang: str) -> list[str]:
    column = f"name_{lang}"
    if column in frame.columns:
        return [
            str(v) if isinstance(v, str) and v else str(n)
            for n, v in zip(frame["name"], frame[column], strict=True)
        ]
    return [str(n) for n in frame["name"]]


# --------------------------------------------------------------------------- blueprint


def _blueprint(data: ProjectData, out: dict[str, list[Any]]) -> pd.DataFrame | None:
    if not data.has_table(PROCESS_TABLE):
        return None
    lang = data.lang
    result = blueprint(steps_from_frame(data.table(PROCESS_TABLE)))
    steps = result.steps
    names = _name(steps, lang)
    truth = module_truth(data, "audits").get("process", {})
    true_p = truth.get("p", {})
    table = pd.DataFrame(
        {
            "step": names,
            "p": steps["p"].to_numpy(),
            "ci_low": steps["ci_low"].to_numpy(),
            "ci_high": steps["ci_high"].to_numpy(),
            "failure_share": steps["failure_share"].to_numpy(),
            "gain_if_fixed": steps["gain_if_fixed"].to_numpy(),
            "fix_rank": steps["fix_rank"].to_numpy(),
        }
    )
    formats = dict.fromkeys(("p", "ci_low", "ci_high", "failure_share"), PERCENT)
    if true_p:
        truths = np.array([float(true_p.get(str(n), np.nan)) for n in steps["name"]])
        table["truth"] = truths
        formats["truth"] = PERCENT
        inside = (truths >= table["ci_low"].to_numpy()) & (truths <= table["ci_high"].to_numpy())
        out["notes"].append(
            Message(
                "section.service_quality.note_process_truth",
                {
                    "covered": int(inside.sum()),
                    "total": len(truths),
                    "reliability": f"{100 * float(truth.get('reliability', np.nan)):.1f}%",
                },
            )
        )
    first = int(np.argmin(steps["fix_rank"].to_numpy()))
    out["figures"] += [
        KeyFigure(
            "reliability", "section.service_quality.reliability", result.reliability, "percent"
        ),
        KeyFigure("fix_first", "section.service_quality.fix_first", names[first], kind="text"),
        KeyFigure(
            "gain_if_fixed",
            "section.service_quality.gain_if_fixed",
            float(steps["gain_if_fixed"].iloc[first]),
            kind="percent",
        ),
    ]
    out["tables"].append(
        ReportTable(
            "blueprint",
            "section.service_quality.blueprint_table",
            table.set_index("step"),
            digits=3,
            formats=formats,
        )
    )
    out["charts"].append(
        Chart(
            "blueprint",
            "section.service_quality.blueprint_chart",
            charts.bar(
                names,
                steps["p"].to_numpy(),
                ci_low=steps["ci_low"].to_numpy(),
                ci_high=steps["ci_high"].to_numpy(),
                percent=True,
                digits=2,
                y_title=t("col.p", lang),
            ),
        )
    )
    order = np.argsort(steps["fix_rank"].to_numpy())
    out["charts"].append(
        Chart(
            "gain",
            "section.service_quality.gain_chart",
            charts.bar(
                [names[i] for i in order],
                steps["gain_if_fixed"].to_numpy()[order],
                horizontal=True,
                percent=True,
                digits=2,
                x_title=t("col.gain_if_fixed", lang),
            ),
        )
    )
    out["notes"].append(
        Message(
            "section.service_quality.note_blueprint",
            {"target": f"{100 * float(steps['target_p'].max()):.1f}%"},
        )
    )
    return steps


# --------------------------------------------------------------------------- audits


def _audit(data: ProjectData, out: dict[str, list[Any]]) -> pd.DataFrame | None:
    if not data.has_table(AUDIT_TABLE):
        return None
    lang = data.lang
    truth = module_truth(data, "audits")
    name = str(truth.get("checklist") or DEFAULT_CHECKLIST)
    checklist = load_checklist(name if name in checklist_names() else DEFAULT_CHECKLIST)
    result = audit_scores(data.table(AUDIT_TABLE), checklist=checklist, by=("branch", "method"))
    branches = result.group("branch").sort_values("mean", kind="stable")
    table = branches[["branch", "n_visits", "mean", "ci_low", "ci_high", "rank"]].copy()
    table["signal"] = [t(f"audit.signal.{s}", lang) for s in branches["signal"]]
    formats = dict.fromkeys(("mean", "ci_low", "ci_high"), PERCENT)
    expected = truth.get("branch_expected_score", {})
    if expected:
        truths = np.array([float(expected.get(b, np.nan)) for b in branches["branch"]])
        inside = (truths >= branches["ci_low"].to_numpy()) & (
            truths <= branches["ci_high"].to_numpy()
        )
        table["truth"] = truths
        table["covered"] = inside
        formats["truth"] = PERCENT
        out["notes"].append(
            Message(
                "section.service_quality.note_audit_truth",
                {"covered": int(inside.sum()), "total": len(truths)},
            )
        )
    items = result.items
    standards = [
        (row["standard_zh"] if lang == "zh" else row["standard_en"]) or row["item"]
        for _, row in items.iterrows()
    ]
    item_table = pd.DataFrame(
        {
            "standard": standards,
            "compliance": items["compliance"].to_numpy(),
            "ci_low": items["ci_low"].to_numpy(),
            "ci_high": items["ci_high"].to_numpy(),
            "failures": items["failures"].to_numpy(),
            "failure_share": items["failure_share"].to_numpy(),
            "cumulative_share": items["cumulative_share"].to_numpy(),
            "vital_few": items["vital_few"].to_numpy(),
        }
    )
    item_formats = dict.fromkeys(
        ("compliance", "ci_low", "ci_high", "failure_share", "cumulative_share"), PERCENT
    )
    true_items = truth.get("item_expected_compliance", {})
    if true_items:
        item_table["truth"] = [float(true_items.get(i, np.nan)) for i in items["item"]]
        item_formats["truth"] = PERCENT
    diff = result.method_difference
    within = diff[diff["comparison"] == "within_branch"]
    out["figures"] += [
        KeyFigure("compliance", "section.service_quality.compliance", result.mean, "percent"),
        KeyFigure(
            "branches_below",
            "section.service_quality.branches_below",
            int((branches["signal"] == "below").sum()),
            kind="count",
        ),
        KeyFigure("most_failed", "section.service_quality.most_failed", standards[0], kind="text"),
    ]
    if len(within):
        out["figures"].append(
            KeyFigure(
                "onsite_minus_mystery",
                "section.service_quality.onsite_minus_mystery",
                float(within["difference"].iloc[0]),
                kind="percent",
            )
        )
        row = within.iloc[0]
        true_diff = truth.get("expected_difference_within_branch")
        out["notes"].append(
            Message(
                "section.service_quality.note_method",
                {
                    "difference": f"{100 * float(row['difference']):.1f}",
                    "low": f"{100 * float(row['ci_low']):.1f}",
                    "high": f"{100 * float(row['ci_high']):.1f}",
                    "truth": "-" if true_diff is None else f"{100 * float(true_diff):.1f}",
                },
            )
        )
    out["tables"] += [
        ReportTable(
            "audit_branches",
            "section.service_quality.audit_table",
            table.set_index("branch"),
            digits=3,
            formats=formats,
        ),
        ReportTable(
            "audit_standards",
            "section.service_quality.standards_table",
            item_table.set_index("standard"),
            digits=2,
            formats=item_formats,
        ),
    ]
    out["charts"] += [
        Chart(
            "audit_branches",
            "section.service_quality.audit_chart",
            charts.bar(
                list(branches["branch"]),
                branches["mean"].to_numpy(),
                ci_low=branches["ci_low"].to_numpy(),
                ci_high=branches["ci_high"].to_numpy(),
                horizontal=True,
                percent=True,
                digits=1,
                height=max(420, 18 * len(branches)),
            ),
        ),
        Chart(
            "standards_pareto",
            "section.service_quality.pareto_chart",
            charts.pareto(
                standards,
                items["failures"].to_numpy(),
                y_title=t("col.failures", lang),
                cumulative_title=t("col.cumulative_share", lang),
            ),
        ),
    ]
    return items


# --------------------------------------------------------------------------- actions


def _wave_dates(data: ProjectData) -> tuple[str, str, date] | None:
    """(baseline wave, follow-up wave, fieldwork day of the baseline) of the tracking survey."""
    if not data.has_table(WAVES_TABLE):
        return None
    waves = data.table(WAVES_TABLE)
    if "wave" not in waves.columns or waves["wave"].nunique() < 2:
        return None
    order = (
        waves.groupby("wave")["wave_index"].first().sort_values().index.tolist()
        if "wave_index" in waves.columns
        else sorted(waves["wave"].astype(str).unique())
    )
    base, follow = str(order[-2]), str(order[-1])
    day = date(2000, 1, 1)
    if "fieldwork_month" in waves.columns:
        month = waves.loc[waves["wave"] == base, "fieldwork_month"].iloc[0]
        day = pd.Timestamp(month).date()
    return base, follow, day


def _causes(data: ProjectData) -> pd.DataFrame | None:
    if not data.has_table("complaints"):
        return None
    complaints = data.table("complaints")
    if "cause_code" not in complaints.columns:
        return None
    codes = complaints["cause_code"].astype(str)
    counts = codes.value_counts(sort=False)
    classes = (
        pd.to_numeric(complaints["cause_class"], errors="coerce").groupby(codes).first()
        if "cause_class" in complaints.columns
        else pd.Series(np.nan, index=counts.index)
    )
    frame = pd.DataFrame(
        {
            "cause": [str(c) for c in counts.index],
            "count": counts.to_numpy(),
            "class": classes.reindex(counts.index).to_numpy(dtype=np.float64),
        }
    )
    frame["label_zh"] = [code_label("cause", c, "zh") for c in frame["cause"]]
    frame["label_en"] = [code_label("cause", c, "en") for c in frame["cause"]]
    return frame


def _factor_labels(items: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for item in items:
        if item.startswith("cs_"):
            out[item] = {lang: code_label("cs_factor", item[3:], lang) for lang in ("zh", "en")}
    return out


def _actions(
    data: ProjectData,
    out: dict[str, list[Any]],
    steps: pd.DataFrame | None,
    audit_items: pd.DataFrame | None,
) -> None:
    lang = data.lang
    waves = _wave_dates(data)
    weakest = None
    effects = None
    raised = date.today()
    if waves is not None:
        from allegiance.reports.sections.drivers import compute

        base, _follow, raised = waves
        answers = data.table(WAVES_TABLE)
        weakest = compute(answers[answers["wave"].astype(str) == base]).weakest
    proposals = act.propose_actions(
        weakest=weakest,
        causes=_causes(data),
        audit_items=audit_items,
        blueprint_steps=steps,
        labels=_factor_labels([] if weakest is None else [str(i) for i in weakest["item"]]),
        owners=OWNERS,
        raised=raised,
        due_days=DUE_DAYS,
        top=TOP,
        baseline_wave=None if waves is None else waves[0],
        followup_wave=None if waves is None else waves[1],
    ).actions
    if not len(proposals):
        return
    register = proposals[list(act.REGISTER_COLUMNS)].copy()
    register["id"] = [f"A{i + 1:03d}" for i in range(len(register))]
    # the demo's story: the weakest-link actions were carried out before the main survey
    register["status"] = np.where(register["source"] == "weakest_link", "done", "open")
    listed = act.action_list(register, as_of=raised + timedelta(days=DUE_DAYS)).actions
    table = pd.DataFrame(
        {
            "id": listed["id"].to_numpy(),
            "title": listed[f"title_{lang}"].to_numpy(),
            "source": [t(f"actions.source.{s}", lang) for s in listed["source"]],
            "owner": [code_label("actions.owner", o, lang) for o in listed["owner"]],
            "due": listed["due"].to_numpy(),
            "status": [t(f"actions.status.{s}", lang) for s in listed["status"]],
        }
    )
    formats: dict[str, ColumnFormat] = {}
    if waves is not None:
        effects = act.measure_effects(register, data.table(WAVES_TABLE)).effects
        merged = table.merge(
            effects[["id", "before", "after", "difference", "ci_low", "ci_high"]],
            on="id",
            how="left",
        )
        table = merged
        true_cs = _true_changes(data, waves[0], waves[1])
        if true_cs:
            measures = dict(zip(register["id"], register["measure"], strict=True))
            table["truth"] = [
                true_cs.get(str(measures.get(i) or "")[3:], np.nan) for i in table["id"]
            ]
            done = effects["id"].tolist()
            if done:
                sub = table[table["id"].isin(done)]
                inside = (sub["truth"] >= sub["ci_low"]) & (sub["truth"] <= sub["ci_high"])
                out["notes"].append(
                    Message(
                        "section.service_quality.note_effect_truth",
                        {"covered": int(inside.sum()), "total": len(sub)},
                    )
                )
        if len(effects):
            labels = _factor_labels([str(m) for m in register["measure"].dropna()])
            notice = act.notices(register, effects=effects, labels=labels).notices
            if len(notice):
                out["notes"].append(
                    Message(
                        "section.service_quality.notice_example",
                        {"text": str(notice[f"text_{lang}"].iloc[0])},
                    )
                )
            out["figures"].append(
                KeyFigure(
                    "effect",
                    "section.service_quality.effect",
                    float(effects["difference"].iloc[0]),
                    digits=2,
                )
            )
    out["figures"].insert(
        0, KeyFigure("actions", "section.service_quality.actions", len(register), kind="count")
    )
    out["tables"].append(
        ReportTable(
            "actions",
            "section.service_quality.actions_table",
            table.set_index("id"),
            digits=2,
            formats=formats,
        )
    )
    if waves is not None:
        out["notes"].append(
            Message(
                "section.service_quality.note_actions",
                {"baseline": waves[0], "followup": waves[1]},
            )
        )


def _true_changes(data: ProjectData, base: str, follow: str) -> dict[str, float]:
    """True change of each cs factor's expected mean between two waves (demo truth)."""
    waves = module_truth(data, "waves").get("waves", [])
    by_wave = {str(w.get("wave")): w.get("cs") or {} for w in waves if isinstance(w, dict)}
    a, b = by_wave.get(base, {}), by_wave.get(follow, {})
    return {k: float(b[k]) - float(a[k]) for k in a if k in b}


# --------------------------------------------------------------------------- care


def _care(data: ProjectData, out: dict[str, list[Any]]) -> None:
    if not data.has_table("customers"):
        return
    customers = data.customers
    if data.has_table("customer_branch"):
        customers = customers.merge(
            data.table("customer_branch").rename(columns={"branch_id": "owner"}),
            on="customer_id",
            how="left",
        )
    months = data.activity_monthly["month"] if data.has_table("activity") else None
    if months is None or not len(months):
        return
    last = pd.Timestamp(months.max()).date()
    end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    purchases = None
    if data.has_table("activity"):
        activity = pd.read_parquet(
            data.parquet("activity"),
            columns=["customer_id", "month", "additions"],
            filters=[("month", ">=", last - timedelta(days=31)), ("additions", ">", 0)],
        )
        purchases = activity
    result = act.care_calendar(
        customers,
        start=last,
        end=end,
        purchases=purchases,
        price_changes=data.table("price_changes") if data.has_table("price_changes") else None,
        rules=act.CareRules(kinds=CARE_KINDS),
    )
    counts = result.due["kind"].value_counts()
    table = pd.DataFrame(
        {
            "kind": [t(f"actions.care.{k}", data.lang) for k in result.rules.kinds],
            "n_contacts": [int(counts.get(k, 0)) for k in result.rules.kinds],
        }
    )
    out["figures"].append(
        KeyFigure("care_due", "section.service_quality.care_due", len(result.due), kind="count")
    )
    out["tables"].append(
        ReportTable(
            "care",
            "section.service_quality.care_table",
            table.set_index("kind"),
            digits=0,
        )
    )
    out["notes"].append(
        Message(
            "section.service_quality.note_care",
            {
                "start": last.isoformat(),
                "end": end.isoformat(),
                "owners": int(result.by_owner["owner"].nunique()),
            },
        )
    )


def build(data: ProjectData) -> SectionOutput:
    out: dict[str, list[Any]] = {"figures": [], "tables": [], "charts": [], "notes": []}
    steps = _blueprint(data, out)
    items = _audit(data, out)
    _actions(data, out, steps, items)
    _care(data, out)
    if not (out["figures"] or out["tables"]):
        raise InputError("section.service_quality.no_data")
    return SectionOutput(
        figures=tuple(out["figures"]),
        tables=tuple(out["tables"]),
        charts=tuple(out["charts"]),
        notes=tuple(out["notes"]),
    )


SECTION = register_section(Section("service_quality", "section.service_quality.title", 75, build))
