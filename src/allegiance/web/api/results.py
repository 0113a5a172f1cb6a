"""``/v1/surveys/{slug}/results``: the NPS, CSAT and CSI figures of the survey's dashboard
(the sections of :func:`allegiance.web.dashboards.dashboard_sections`), with their confidence intervals.

Aggregates only (no customer, no answer of a person), so ``analyses.view`` is enough.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from fastapi import APIRouter

from allegiance.reports.registry import Report, build_report
from allegiance.store import surveys as store
from allegiance.web.api.auth import needs
from allegiance.web.api.common import survey_or_404
from allegiance.web.api.schemas import (
    CsatResult,
    CsiFactor,
    CsiResult,
    NpsResult,
    ResultsPublic,
)
from allegiance.web.dashboards import DashboardContext, dashboard_sections, result_questions
from allegiance.web.deps import StateDep

__all__ = ["router"]

router = APIRouter(prefix="/v1/surveys/{slug}/results", tags=["results"])

#: The dashboard sections whose figures the results give.
SECTIONS = frozenset({"responses", "nps", "csat", "csi"})


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _records(report: Report, section: str, table: str) -> list[dict[str, Any]]:
    for result in report.sections:
        if result.id == section and result.ok:
            for tb in result.output.tables:
                if tb.id == table:
                    frame: pd.DataFrame = tb.frame
                    return [
                        {str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")
                    ]
    return []


def _figure(report: Report, section: str, figure: str) -> float | None:
    for result in report.sections:
        if result.id == section and result.ok:
            for f in result.output.figures:
                if f.id == figure and isinstance(f.value, (int, float)):
                    return _num(f.value)
    return None


@router.get("", response_model=ResultsPublic, **needs("analyses.view", 404))
def survey_results(slug: str, state: StateDep) -> ResultsPublic:
    """The survey's results so far; empty lists while it has no responses."""
    with state.sessions() as session:
        survey_or_404(session, slug)
        definition = store.survey_definition(session, slug)
    frame = store.survey_analysis_frame(state.engine, slug)
    if frame.empty:
        return ResultsPublic(survey=slug, n_responses=0, nps=[], csat=[], csi=None, warnings=[])
    # the dashboard's own sections, less the trends (charts over time, no figure of their own)
    report = build_report(
        DashboardContext(lang="en", slug=slug, definition=definition, frame=frame),
        lang="en",
        sections=[s for s in dashboard_sections(definition) if s.id in SECTIONS],
        title=definition.title.en,
    )
    nps_ids, csat_ids = result_questions(definition)
    texts = {q.id: q.text.en for q in definition.questions()}
    nps = [
        NpsResult(
            question=qid,
            text=texts.get(qid, qid),
            n=int(row["n"]),
            **{k: _num(row[k]) for k in ("pct_promoters", "pct_passives", "pct_detractors")},
            **{k: _num(row[k]) for k in ("nps", "ci_low", "ci_high")},
        )
        for qid, row in zip(nps_ids, _records(report, "nps", "nps"), strict=False)
    ]
    csat_keys = (
        "mean",
        "mean_ci_low",
        "mean_ci_high",
        "top2_box",
        "top2_box_ci_low",
        "top2_box_ci_high",
    )
    csat = [
        CsatResult(
            question=qid,
            text=texts.get(qid, qid),
            points=int(row["web_points"]),
            n=int(row["n"]),
            **{k: _num(row[k]) for k in csat_keys},
        )
        for qid, row in zip(csat_ids, _records(report, "csat", "csat"), strict=False)
    ]
    csi = None
    if any(r.id == "csi" and r.ok for r in report.sections):
        factors = [
            CsiFactor(
                factor=str(row["factor"]),
                criterion=row["criterion"] if isinstance(row["criterion"], str) else None,
                n=None if _num(row["n"]) is None else int(row["n"]),
                **{k: _num(row[k]) for k in ("weight", "dc", "dc_ci_low", "dc_ci_high", "rank")},
            )
            for row in _records(report, "csi", "csi_factors")
        ]
        csi = CsiResult(
            csi=_figure(report, "csi", "csi"),
            ci_low=_figure(report, "csi", "csi_ci_low"),
            ci_high=_figure(report, "csi", "csi_ci_high"),
            factors=factors,
        )
    warnings = [
        f"{r.id}: {r.error.render('en')}" for r in report.sections if r.error is not None
    ] + [f"{r.id}: {w.render('en')}" for r in report.sections for w in r.output.warnings]
    n = _figure(report, "responses", "responses")
    return ResultsPublic(
        survey=slug,
        n_responses=int(n or 0),
        nps=nps,
        csat=csat,
        csi=csi,
        warnings=warnings,
    )
