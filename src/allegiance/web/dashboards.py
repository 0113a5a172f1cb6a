"""Dashboards: the report's kind of sections, built live from a survey's stored responses.

:func:`build_dashboard` reads the survey's analysis table
(:func:`allegiance.store.surveys.survey_analysis_frame`) and builds, with the report's
machinery (:func:`allegiance.reports.registry.build_report`, the charts of
:mod:`allegiance.reports.charts`):

- **responses**: how many, per wave;
- **NPS** of every 0-10 recommend question, with its confidence interval and the shares of
  promoters, passives and detractors (:func:`allegiance.methods.scales.nps`);
- **CSAT** of every satisfaction question on a 1-k scale (five-level, stars, Likert, emoji):
  mean and top-2-box with their intervals (:func:`allegiance.methods.scales.csat`);
- **CSI** by the calculation standard (SPEC section 4) when the survey is tagged for it (its
  five-level questions carry ``factor`` tags of the hierarchy, as the template
  ``calculation_standard`` does): the index with its bootstrap interval and each factor's
  standardised value and weight (:func:`allegiance.methods.csi.csi`);
- **trends**: NPS and CSAT by wave and by month.

Only aggregates are shown (no customer ids, no free text), so a viewer may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from allegiance.errors import AllegianceError
from allegiance.i18n import Message, t
from allegiance.methods import scales
from allegiance.reports import charts
from allegiance.reports.registry import (
    Chart,
    ColumnFormat,
    KeyFigure,
    Report,
    ReportTable,
    Section,
    SectionOutput,
    build_report,
)
from allegiance.store import surveys as store
from allegiance.survey.analysis import csi_columns
from allegiance.survey.definition import SurveyDefinition, analysis_columns

__all__ = [
    "CSI_BOOTSTRAP",
    "DashboardContext",
    "build_dashboard",
    "dashboard_sections",
    "result_questions",
]

#: Bootstrap resamples for the CSI interval on a dashboard (seeded, so a page is stable).
CSI_BOOTSTRAP = 500
PERCENT = ColumnFormat(kind="percent")
SCORE = ColumnFormat(kind="score", digits=1)


@dataclass(frozen=True)
class DashboardContext:
    """What the dashboard sections read."""

    lang: str
    slug: str
    definition: SurveyDefinition
    frame: pd.DataFrame

    def text(self, label: Any) -> str:
        return str(label.get(self.lang))


def _m(key: str, **params: Any) -> Message:
    return Message(key, params)


def _nps_questions(d: SurveyDefinition) -> list[Any]:
    return [q for q in d.questions() if q.type == "nps"]


def _csat_questions(d: SurveyDefinition) -> list[tuple[Any, int]]:
    out: list[tuple[Any, int]] = []
    for q in d.questions():
        if q.measures not in (None, "satisfaction") or getattr(q, "reverse", False):
            continue
        if q.type == "five_level":
            out.append((q, 5))
        elif q.type == "stars":
            out.append((q, int(q.points)))
        elif q.type == "emoji":
            out.append((q, int(q.faces)))
        elif (
            q.type == "likert"
            and q.measures == "satisfaction"
            and q.scale is None
            and q.start == 1
            and q.points
            and q.points >= 3
        ):
            out.append((q, int(q.points)))
    return out


def _hierarchy_name(d: SurveyDefinition) -> str | None:
    """The AHP hierarchy the survey is tagged with for the CSI, if any."""
    if not csi_columns(d):
        return None
    analyses = d.template.analyses if d.template is not None else []
    for entry in analyses:
        words = str(entry).split()
        if words and words[0] == "csi":
            if "--hierarchy" in words and words.index("--hierarchy") + 1 < len(words):
                return words[words.index("--hierarchy") + 1]
            return "calculation_standard"
    return None


def _month(frame: pd.DataFrame) -> pd.Series:
    stamps = pd.to_datetime(frame["submitted_at"], utc=True)
    return stamps.dt.strftime("%Y-%m")


# ----------------------------------------------------------------------------- sections


def _overview(ctx: DashboardContext) -> SectionOutput:
    frame = ctx.frame
    lang = ctx.lang
    per_wave = (
        frame.groupby("wave", sort=False).size().rename("n").reset_index()
        if "wave" in frame.columns
        else pd.DataFrame({"wave": [], "n": []})
    )
    per_wave = per_wave.rename(columns={"wave": "web_wave", "n": "web_responses"})
    figures = [KeyFigure("responses", "web.dash.responses", len(frame), kind="count")]
    if len(frame) and "submitted_at" in frame.columns:
        last = pd.to_datetime(frame["submitted_at"], utc=True).max()
        figures.append(
            KeyFigure(
                "last", "web.dash.last_response", last.strftime("%Y-%m-%d %H:%M UTC"), kind="text"
            )
        )
    charts_out = []
    if len(per_wave) > 1:
        charts_out.append(
            Chart(
                "per_wave",
                "web.dash.per_wave",
                charts.bar(
                    per_wave["web_wave"].tolist(),
                    per_wave["web_responses"].to_numpy(dtype=float),
                    x_title=t("col.web_wave", lang),
                    y_title=t("col.web_responses", lang),
                    digits=0,
                    height=300,
                ),
            )
        )
    return SectionOutput(
        figures=tuple(figures),
        tables=(ReportTable("per_wave", "web.dash.per_wave", per_wave),),
        charts=tuple(charts_out),
    )


def _nps(ctx: DashboardContext) -> SectionOutput:
    questions = _nps_questions(ctx.definition)
    figures: list[KeyFigure] = []
    rows: list[dict[str, Any]] = []
    for i, q in enumerate(questions):
        column = analysis_columns(q)[0]
        result = scales.nps(ctx.frame, score=column)
        table = result.tables()["nps"]
        row = table.iloc[0]
        label = ctx.text(q.text)
        if i == 0:
            figures += [
                KeyFigure("nps", "web.dash.nps", float(row["nps"]), kind="score"),
                KeyFigure("nps_ci_low", "web.dash.ci_low", float(row["ci_low"]), kind="score"),
                KeyFigure("nps_ci_high", "web.dash.ci_high", float(row["ci_high"]), kind="score"),
                KeyFigure("nps_n", "web.dash.n", int(row["n"]), kind="count"),
            ]
        rows.append(
            {
                "web_question": label,
                "n": int(row["n"]),
                "pct_promoters": float(row["pct_promoters"]),
                "pct_passives": float(row["pct_passives"]),
                "pct_detractors": float(row["pct_detractors"]),
                "nps": float(row["nps"]),
                "ci_low": float(row["ci_low"]),
                "ci_high": float(row["ci_high"]),
            }
        )
    table = pd.DataFrame(rows)
    lang = ctx.lang
    chart = charts.stacked_share_bar(
        table["web_question"].tolist(),
        {
            t("col.pct_promoters", lang): table["pct_promoters"].to_numpy(),
            t("col.pct_passives", lang): table["pct_passives"].to_numpy(),
            t("col.pct_detractors", lang): table["pct_detractors"].to_numpy(),
        },
    )
    return SectionOutput(
        figures=tuple(figures),
        tables=(
            ReportTable(
                "nps",
                "web.dash.nps_table",
                table,
                digits=1,
                formats={
                    "pct_promoters": PERCENT,
                    "pct_passives": PERCENT,
                    "pct_detractors": PERCENT,
                },
            ),
        ),
        charts=(Chart("nps_shares", "web.dash.nps_shares", chart),),
        notes=(_m("web.dash.nps_note"),),
    )


def _csat(ctx: DashboardContext) -> SectionOutput:
    lang = ctx.lang
    rows: list[dict[str, Any]] = []
    for q, points in _csat_questions(ctx.definition):
        column = analysis_columns(q)[0]
        row = scales.csat(ctx.frame, score=column, points=points).tables()["csat"].iloc[0]
        rows.append(
            {
                "web_question": ctx.text(q.text),
                "web_points": points,
                "n": int(row["n"]),
                "mean": float(row["mean"]),
                "mean_ci_low": float(row["mean_ci_low"]),
                "mean_ci_high": float(row["mean_ci_high"]),
                "top2_box": float(row["top2_box"]),
                "top2_box_ci_low": float(row["top2_box_ci_low"]),
                "top2_box_ci_high": float(row["top2_box_ci_high"]),
            }
        )
    table = pd.DataFrame(rows)
    first = rows[0]
    figures = (
        KeyFigure(
            "csat_top2",
            _m("web.dash.csat_top2", question=first["web_question"]),
            first["top2_box"],
            kind="percent",
        ),
        KeyFigure("csat_ci_low", "web.dash.ci_low", first["top2_box_ci_low"], kind="percent"),
        KeyFigure("csat_ci_high", "web.dash.ci_high", first["top2_box_ci_high"], kind="percent"),
        KeyFigure("csat_mean", "web.dash.csat_mean", first["mean"], digits=2),
    )
    chart = charts.bar(
        table["web_question"].tolist(),
        table["top2_box"].to_numpy(),
        ci_low=table["top2_box_ci_low"].to_numpy(),
        ci_high=table["top2_box_ci_high"].to_numpy(),
        horizontal=True,
        percent=True,
        x_title=t("col.top2_box", lang),
        height=max(260, 80 + 34 * len(table)),
    )
    return SectionOutput(
        figures=figures,
        tables=(
            ReportTable(
                "csat",
                "web.dash.csat_table",
                table,
                digits=2,
                formats={
                    "top2_box": PERCENT,
                    "top2_box_ci_low": PERCENT,
                    "top2_box_ci_high": PERCENT,
                },
            ),
        ),
        charts=(Chart("csat_top2", "web.dash.csat_chart", chart),),
        notes=(_m("web.dash.csat_note"),),
    )


def _csi(ctx: DashboardContext) -> SectionOutput:
    from allegiance.methods import ahp, csi
    from allegiance.templates import template_path

    name = _hierarchy_name(ctx.definition)
    if name is None:  # pragma: no cover - the section is only added when tagged
        raise AllegianceError("web.dash.no_csi")
    hierarchy = ahp.analyze(ahp.load_hierarchy(template_path("hierarchies", name)))
    result = csi.csi(
        ctx.frame,
        hierarchy=hierarchy,
        columns=csi_columns(ctx.definition),
        n_boot=CSI_BOOTSTRAP,
        seed=0,
        min_answers=1,
    )
    tables = result.tables()
    index = tables["index"].iloc[0]
    factors = tables["factors"][
        ["factor", "criterion", "weight", "n", "dc", "dc_ci_low", "dc_ci_high", "rank"]
    ]
    lang = ctx.lang
    names = {
        n.id: (n.name_zh if lang == "zh" and n.name_zh else n.name)
        for n in hierarchy.hierarchy.nodes()
    }
    factors = factors.assign(
        factor=factors["factor"].map(lambda f: names.get(f, f)),
        criterion=factors["criterion"].map(lambda c: names.get(c, c)),
    )
    figures = (
        KeyFigure("csi", "web.dash.csi", float(index["csi_100"]), kind="score"),
        KeyFigure("csi_ci_low", "web.dash.ci_low", 100.0 * float(index["ci_low"]), kind="score"),
        KeyFigure("csi_ci_high", "web.dash.ci_high", 100.0 * float(index["ci_high"]), kind="score"),
    )
    chart = charts.bar(
        factors["factor"].tolist(),
        factors["dc"].to_numpy(),
        ci_low=factors["dc_ci_low"].to_numpy(),
        ci_high=factors["dc_ci_high"].to_numpy(),
        horizontal=True,
        x_title=t("col.dc", lang),
        digits=2,
        height=max(260, 80 + 30 * len(factors)),
    )
    return SectionOutput(
        figures=figures,
        tables=(
            ReportTable(
                "csi_factors",
                "web.dash.csi_factors",
                factors,
                digits=3,
                formats={"weight": ColumnFormat(kind="number", digits=3)},
            ),
        ),
        charts=(Chart("csi_dc", "web.dash.csi_chart", chart),),
        notes=(_m("web.dash.csi_note", hierarchy=name),),
        warnings=tuple(result.warnings),
    )


def _trends(ctx: DashboardContext) -> SectionOutput:
    lang = ctx.lang
    frame = ctx.frame.assign(web_month=_month(ctx.frame))
    nps_q = _nps_questions(ctx.definition)
    csat_q = _csat_questions(ctx.definition)
    out_tables: list[ReportTable] = []
    out_charts: list[Chart] = []
    for by, label_key in (("wave", "col.web_wave"), ("web_month", "col.web_month")):
        series: dict[str, Any] = {}
        table: pd.DataFrame | None = None
        periods = list(dict.fromkeys(frame[by].astype(str).tolist()))
        if nps_q:
            col = analysis_columns(nps_q[0])[0]
            got = scales.nps(
                frame.assign(**{by: frame[by].astype(str)}), score=col, by=by
            ).tables()["nps"]
            got = got.set_index(by).reindex(periods)
            series[t("web.dash.nps", lang)] = got["nps"].to_numpy(dtype=float)
            table = pd.DataFrame(
                {by: periods, "n": got["n"].to_numpy(), "nps": got["nps"].to_numpy()}
            )
        if csat_q:
            q, points = csat_q[0]
            col = analysis_columns(q)[0]
            got = scales.csat(
                frame.assign(**{by: frame[by].astype(str)}), score=col, points=points, by=by
            ).tables()["csat"]
            got = got.set_index(by).reindex(periods)
            values = 100.0 * got["top2_box"].to_numpy(dtype=float)
            series[t("web.dash.csat_top2_pct", lang)] = values
            extra = pd.DataFrame({by: periods, "top2_box": got["top2_box"].to_numpy(dtype=float)})
            table = extra if table is None else table.merge(extra, on=by)
        if table is None or not series:
            continue
        name = "wave" if by == "wave" else "month"
        table = table.rename(columns={by: "web_wave" if by == "wave" else "web_month"})
        out_tables.append(
            ReportTable(
                f"by_{name}", f"web.dash.by_{name}", table, digits=1, formats={"top2_box": PERCENT}
            )
        )
        if len(periods) >= 1:
            out_charts.append(
                Chart(
                    f"by_{name}",
                    f"web.dash.by_{name}",
                    charts.line(periods, series, x_title=t(label_key, lang), height=320),
                )
            )
    return SectionOutput(
        tables=tuple(out_tables), charts=tuple(out_charts), notes=(_m("web.dash.trend_note"),)
    )


def dashboard_sections(definition: SurveyDefinition, /) -> list[Section[DashboardContext]]:
    """The sections a survey's dashboard has (by what its questions measure)."""
    out: list[Section[DashboardContext]] = [
        Section("responses", "web.dash.section.responses", 0, _overview)
    ]
    if _nps_questions(definition):
        out.append(Section("nps", "web.dash.section.nps", 10, _nps))
    if _csat_questions(definition):
        out.append(Section("csat", "web.dash.section.csat", 20, _csat))
    if _hierarchy_name(definition) is not None:
        out.append(Section("csi", "web.dash.section.csi", 30, _csi))
    if _nps_questions(definition) or _csat_questions(definition):
        out.append(Section("trends", "web.dash.section.trends", 40, _trends))
    return out


def build_dashboard(engine: Engine, session: Session, slug: str, /, *, lang: str) -> Report | None:
    """The dashboard of a survey in ``lang``; ``None`` while it has no responses."""
    definition = store.survey_definition(session, slug)
    frame = store.survey_analysis_frame(engine, slug)
    if frame.empty:
        return None
    ctx = DashboardContext(lang=lang, slug=slug, definition=definition, frame=frame)
    return build_report(
        ctx, lang=lang, sections=dashboard_sections(definition), title=definition.title.get(lang)
    )


def figure_json(figure: Any, /) -> str:
    """A Plotly figure as JSON that is safe inside ``<script type="application/json">``."""
    text = str(figure.to_json())
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def result_questions(definition: SurveyDefinition, /) -> tuple[list[str], list[str]]:
    """The ids of the NPS and of the CSAT questions, in the order of the dashboard's tables."""
    return (
        [q.id for q in _nps_questions(definition)],
        [q.id for q, _ in _csat_questions(definition)],
    )
