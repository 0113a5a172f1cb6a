"""Dissatisfaction reasons and free-text comments (SPEC section 3 method 4; issue 4 section 6).

Reads the survey's ``reasons`` (codes joined by ``;``, asked of dissatisfied
respondents), ``comment``, ``lang`` and ``csat`` columns and the customers'
``segment``. Shows: the reasons as a Pareto chart and table, by segment with the
multiple-response test, by satisfaction factor; the keywords of the comments per
language; sentiment by overall satisfaction with its measured agreement; a few
verbatims under each top reason. Comment text goes only into tables, which the
HTML report escapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.i18n import Message, t
from allegiance.methods import comments as text
from allegiance.methods import reasons as coded
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

REASON_FACTORS: dict[str, str] = {
    "network_quality": "reliability",
    "billing": "error_rate",
    "price": "cost_saved",
    "service_attitude": "service_attitude",
    "waiting_time": "transaction_speed",
    "app_issues": "service_procedures",
}
"""Which calculation-standard factor (SPEC section 4) each demo reason bears on."""

REASON_KEYWORDS: dict[str, tuple[str, ...]] = {
    "network_quality": ("网络", "网速", "断线", "掉线", "信号", "network", "connection", "signal"),
    "billing": ("账单", "扣费", "计费", "bill", "charge"),
    "price": ("资费", "价格", "涨价", "price", "costs", "expensive"),
    "service_attitude": ("态度", "客服", "工作人员", "staff", "rude", "impatient", "unfriendly"),
    "waiting_time": ("等很久", "要等", "排队", "拖了", "wait", "weeks", "too long"),
    "app_issues": ("app", "闪退", "crash"),
    "other": ("其他问题", "小问题", "other problems", "small issues"),
}
"""Words that tie a comment to each demo reason (both languages; matched case-insensitively)."""

TOP_REASONS = 5
VERBATIMS_PER_REASON = 2
TOP_KEYWORDS = 12


def _reason_label(code: str, lang: str) -> str:
    return code_label("reason", code, lang)


def _answers(data: ProjectData) -> pd.DataFrame:
    responses = data.responses
    if "segment" in data.customers.columns:
        return coded.join_customers(responses, data.customers, columns=["segment"])
    return responses


def _reason_tables(
    result: coded.ReasonsResult, lang: str
) -> tuple[list[ReportTable], list[Chart], list[Message]]:
    table = result.table.copy()
    labels = [_reason_label(c, lang) for c in table["reason"]]
    table["reason"] = labels
    pareto = charts.pareto(
        labels,
        result.table["count"].to_numpy(),
        sort=False,
        y_title=t("section.comments.count_axis", lang),
        cumulative_title=t("section.comments.cumulative_axis", lang),
    )
    tables = [
        ReportTable(
            "reasons",
            "section.comments.reasons_table",
            table.set_index("reason"),
            formats={
                "share_of_respondents": PERCENT,
                "ci_low": PERCENT,
                "ci_high": PERCENT,
                "share_of_mentions": PERCENT,
                "cumulative_share": PERCENT,
            },
        )
    ]
    chart_list = [Chart("reasons_pareto", "section.comments.reasons_chart", pareto)]
    notes: list[Message] = []
    if result.by_group is not None and result.tests is not None:
        wide = result.crosstab("share_of_respondents")
        wide.index = [_reason_label(c, lang) for c in wide.index]
        wide.index.name = "reason"
        wide.columns = [code_label("segment", c, lang) for c in wide.columns]
        tables.append(
            ReportTable(
                "by_segment",
                "section.comments.by_segment",
                wide,
                formats=dict.fromkeys(wide.columns, PERCENT),
            )
        )
        tests = result.tests.copy()
        tests["reason"] = [_reason_label(c, lang) for c in tests["reason"]]
        tables.append(
            ReportTable("segment_tests", "section.comments.tests", tests.set_index("reason"), 3)
        )
        if result.independence is not None:
            notes.append(
                Message(
                    "section.comments.note_reasons",
                    {
                        "statistic": f"{result.independence.statistic:.2f}",
                        "p": f"{result.independence.p_permutation:.3f}",
                    },
                )
            )
    if result.factors is not None:
        factors = result.factors.copy()
        factors["factor"] = [code_label("cs_factor", f, lang) for f in factors["factor"]]
        factors["reasons"] = [
            " / ".join(_reason_label(c, lang) for c in str(codes).split(";"))
            for codes in factors["reasons"]
        ]
        tables.append(
            ReportTable(
                "by_factor",
                "section.comments.factors",
                factors.set_index("factor"),
                formats={
                    "share_of_respondents": PERCENT,
                    "ci_low": PERCENT,
                    "ci_high": PERCENT,
                    "share_of_mentions": PERCENT,
                },
            )
        )
    return tables, chart_list, notes


def _keyword_parts(answers: pd.DataFrame, lang: str) -> tuple[list[ReportTable], list[Chart]]:
    found = text.keywords(answers, column="comment", lang_column="lang", top=TOP_KEYWORDS)
    charts_out: list[Chart] = []
    for code in ("zh", "en"):
        part = found.for_lang(code)
        if part.empty:
            continue
        charts_out.append(
            Chart(
                f"keywords_{code}",
                f"section.comments.keywords_{code}",
                charts.bar(
                    part["keyword"].tolist(),
                    part["n_comments"].to_numpy(),
                    horizontal=True,
                    digits=0,
                    x_title=t("section.comments.comments_with", lang),
                    height=max(260, 40 + 28 * len(part)),
                ),
            )
        )
    table = ReportTable(
        "keywords",
        "section.comments.keywords_table",
        found.table.set_index(["lang", "rank"]),
        digits=4,
        formats={"share_of_comments": PERCENT},
    )
    return [table], charts_out


def _sentiment_parts(
    answers: pd.DataFrame, lang: str
) -> tuple[list[ReportTable], list[Chart], list[Message], dict[str, float]]:
    scored = text.sentiment(answers, column="comment", lang_column="lang", by="csat")
    check = text.evaluate_sentiment(scored.scores, satisfaction="csat")
    summary = scored.summary.dropna(subset=["csat"])
    names = {
        1: "very_dissatisfied",
        2: "dissatisfied",
        3: "neutral",
        4: "satisfied",
        5: "very_satisfied",
    }
    levels = [int(v) for v in summary["csat"]]
    labels = [t(f"scale.satisfaction.{names[v]}", lang) if v in names else str(v) for v in levels]
    chart = charts.bar(
        labels,
        summary["mean"].to_numpy(),
        ci_low=summary["ci_low"].to_numpy(),
        ci_high=summary["ci_high"].to_numpy(),
        digits=2,
        y_title=t("section.comments.sentiment_axis", lang),
    )
    shown = summary.copy()
    shown.insert(1, "label", labels)
    table = ReportTable(
        "sentiment_by_csat",
        "section.comments.sentiment_table",
        shown.set_index("csat"),
        digits=3,
        formats={
            "share_negative": PERCENT,
            "share_neutral": PERCENT,
            "share_positive": PERCENT,
        },
    )
    note = Message(
        "section.comments.note_sentiment",
        {
            "engine": "lexicon",
            "spearman": f"{check.spearman:.2f}",
            "auc": f"{check.auc:.2f}",
        },
    )
    by_level = dict(zip(levels, summary["mean"].to_numpy(dtype=np.float64), strict=True))
    figures = {"gap": float(by_level.get(5, np.nan) - by_level.get(1, np.nan))}
    chart_obj = Chart("sentiment_by_csat", "section.comments.sentiment_chart", chart)
    return [table], [chart_obj], [note], figures


def _verbatim_table(answers: pd.DataFrame, top_codes: list[str], lang: str) -> ReportTable | None:
    words = {code: REASON_KEYWORDS[code] for code in top_codes if code in REASON_KEYWORDS}
    if not words:
        return None
    found = text.verbatims(
        answers,
        keywords=words,
        column="comment",
        reasons_column="reasons",
        per_reason=VERBATIMS_PER_REASON,
        keep=["csat"],
    )
    if found.table.empty:
        return None
    shown = found.table[["reason", "rank", "csat", "comment"]].copy()
    shown["reason"] = [_reason_label(c, lang) for c in shown["reason"]]
    return ReportTable(
        "verbatims",
        "section.comments.verbatims",
        shown.set_index(["reason", "rank"]),
        note_key="section.comments.note_verbatims",
    )


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    answers = _answers(data)
    by: Any = "segment" if "segment" in answers.columns else None
    result = coded.reasons(answers, column="reasons", by=by, factors=REASON_FACTORS)
    tables, chart_list, notes = _reason_tables(result, lang)
    top = result.table.iloc[0]
    figures: list[KeyFigure] = [
        KeyFigure(
            "n_reasons", "section.comments.n_reasons_asked", result.n_respondents, kind="count"
        ),
        KeyFigure(
            "top_reason",
            "section.comments.top_reason",
            _reason_label(str(top["reason"]), lang),
            kind="text",
        ),
        KeyFigure(
            "top_reason_share",
            "section.comments.top_reason_share",
            float(top["share_of_respondents"]),
            kind="percent",
        ),
        KeyFigure("mean_reasons", "section.comments.mean_reasons", result.mean_reasons, digits=2),
    ]
    warnings = list(result.warnings)
    has_comments = answers["comment"].astype("string").str.strip().str.len().gt(0).any()
    if has_comments:
        n_comments = int(answers["comment"].astype("string").str.strip().str.len().gt(0).sum())
        figures.append(
            KeyFigure("n_comments", "section.comments.n_comments", n_comments, kind="count")
        )
        kw_tables, kw_charts = _keyword_parts(answers, lang)
        s_tables, s_charts, s_notes, s_figures = _sentiment_parts(answers, lang)
        figures.append(
            KeyFigure("sentiment_gap", "section.comments.sentiment_gap", s_figures["gap"], digits=2)
        )
        top_codes = result.table["reason"].head(TOP_REASONS).astype(str).tolist()
        verbatim = _verbatim_table(answers, top_codes, lang)
        tables += [*s_tables, *kw_tables, *([verbatim] if verbatim is not None else [])]
        chart_list += [*s_charts, *kw_charts]
        notes += s_notes
    else:
        notes.append(Message("section.comments.no_comments"))
    return SectionOutput(
        figures=tuple(figures),
        tables=tuple(tables),
        charts=tuple(chart_list),
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


SECTION = register_section(Section("comments", "section.comments.title", 70, build))
