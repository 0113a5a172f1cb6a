"""Customers: loyalty levels, value and risk (SPEC sections 4 and 5, issue 5 part 8).

Reads the per-customer profile a project holds (``data/customer_profile.parquet`` and the step
engine's state in ``data/loyalty_steps``, written by ``allegiance customers profile --project``
and by ``allegiance demo``), reduces it on DuckDB, and shows:

- the distributions: customers per level, loyalty scores (AHP), CLV, RFM total scores, grades
  and the value pyramid;
- the month-to-month level flow as a Sankey chart (:func:`~allegiance.customers.profile.level_flows`);
- Kaplan-Meier survival curves overall and by segment (:func:`~allegiance.methods.clv.kaplan_meier`
  on ``lifetime_months`` and ``lost``);
- the customers at risk, most valuable first, with the rules that moved them
  (:func:`~allegiance.customers.steps.at_risk`).

Options in the project's ``allegiance.yaml`` (all optional)::

    customers:
      flow_months: 3      # months of level flows in the Sankey chart
      at_risk_rows: 20    # rows of the at-risk list
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.errors import InputError
from allegiance.i18n import Message, t
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
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine
    from allegiance.workflow import ProjectData

FLOW_MONTHS = 3
AT_RISK_ROWS = 20
SCORE_BINS = 10
CLV_BINS = 12
PERCENT = ColumnFormat(kind="percent")
MONEY = ColumnFormat(kind="currency", digits=0)


def _options(data: ProjectData) -> dict[str, int]:
    settings = getattr(data.project, "settings", {}) or {}
    raw = settings.get("customers") if isinstance(settings, dict) else None
    raw = raw if isinstance(raw, dict) else {}
    out = {"flow_months": FLOW_MONTHS, "at_risk_rows": AT_RISK_ROWS}
    for key in out:
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            out[key] = value
    return out


def level_colors(levels: list[int], low: int, high: int) -> list[str]:
    """Red (the lowest level) through yellow to green (the highest)."""
    stops = np.array([[215, 48, 39], [254, 224, 139], [26, 152, 80]], dtype=float)
    out = []
    for level in levels:
        x = 0.5 if high == low else (level - low) / (high - low)
        seg = min(int(x * 2), 1)
        frac = x * 2 - seg
        rgb = stops[seg] + (stops[seg + 1] - stops[seg]) * frac
        out.append("#{:02x}{:02x}{:02x}".format(*(round(float(c)) for c in rgb)))
    return out


def flow_chart(flows: pd.DataFrame, *, low: int, high: int, lang: str) -> Any:
    """The Sankey figure of :func:`~allegiance.customers.profile.level_flows`: one column of
    nodes per month, one node per level present that month."""
    months = sorted(set(flows["month_from"]) | set(flows["month_to"]))
    nodes: dict[tuple[Any, int], int] = {}
    for month in months:
        present = set(flows.loc[flows["month_from"] == month, "level_from"]) | set(
            flows.loc[flows["month_to"] == month, "level_to"]
        )
        for level in sorted(int(v) for v in present):
            nodes[(month, level)] = len(nodes)
    labels = [
        t("section.customers.level_node", lang, level=level, month=f"{month:%Y-%m}")
        for month, level in nodes
    ]
    colors = level_colors([level for _, level in nodes], low, high)
    return charts.sankey(
        labels,
        [nodes[(m, int(v))] for m, v in zip(flows["month_from"], flows["level_from"], strict=True)],
        [nodes[(m, int(v))] for m, v in zip(flows["month_to"], flows["level_to"], strict=True)],
        flows["customers"].to_numpy(),
        colors=colors,
        value_title=t("section.customers.customers_axis", lang),
        height=520,
    )


def _histogram(
    engine: Engine, table: ir.Table, column: str, *, low: float, width: float, bins: int
) -> np.ndarray:
    """Customers per band ``[low + k·width, low + (k+1)·width)``, the last band open above
    (counted in the engine)."""
    import ibis

    x = table[column]
    k = ibis.greatest(ibis.least(((x - low) / width).floor().cast("int64"), bins - 1), 0)
    known = table.filter(x.notnull())
    g = engine.to_pandas(known.group_by(k=k).aggregate(n=known.count()))
    counts = np.zeros(bins, dtype=np.int64)
    for band, n in zip(g["k"], g["n"], strict=True):
        counts[int(band)] = int(n)
    return counts


def _edges(low: Any, high: Any, n: int) -> list[float]:
    """Band edges spaced evenly on a log scale from ``low`` (at least ``high`` / 10,000) to
    ``high`` (CLV is very skewed), rounded to two significant digits; none when the values do
    not allow it."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return []
    hi = float(high)
    lo = max(float(low), hi / 10**4)  # four decades at most: the rest is "below"
    if not (lo > 0 and hi > lo):
        return [lo] if lo > 0 else []
    raw = np.geomspace(lo, hi, n)
    digits = 1 - np.floor(np.log10(raw)).astype(int)
    rounded = [float(round(v, int(d))) for v, d in zip(raw, digits, strict=True)]
    return sorted(set(rounded))


def _bands(engine: Engine, table: ir.Table, column: str, edges: list[float]) -> pd.DataFrame:
    """Customers and their total per band (below the first edge, between edges, from the last
    edge up), counted in the engine."""
    x = table[column]
    k = sum((x >= e).cast("int64") for e in edges[1:]) + (x >= edges[0]).cast("int64")
    known = table.filter(x.notnull()).mutate(_k=k)
    g = engine.to_pandas(
        known.group_by("_k").aggregate(customers=known.count(), total=known[column].sum())
    )
    n = len(edges) + 1
    counts = np.zeros(n, dtype=np.int64)
    totals = np.zeros(n, dtype=float)
    for band, c, v in zip(g["_k"], g["customers"], g["total"], strict=True):
        counts[int(band)] = int(c)
        totals[int(band)] = float(v)
    return pd.DataFrame({"customers": counts, "clv": totals})


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 1 else f"{value:.2g}"


def _at_risk(
    engine: Engine,
    table: ir.Table,
    steps: Path,
    *,
    months: int,
    drop: int,
    rows: int,
    lang: str,
) -> pd.DataFrame:
    """The ``rows`` most valuable customers at risk (by CLV, then the largest fall), with the
    reasons recorded by the step engine."""
    import ibis

    from allegiance.customers.steps import at_risk

    risky = table.filter(table.at_risk)
    cols = [
        c
        for c in (
            "customer_id",
            "segment",
            "level_before",
            "level",
            "level_change",
            "clv",
            "p_alive",
            "loyalty_score",
        )
        if c in table.columns
    ]
    top: pd.DataFrame = engine.to_pandas(
        risky.order_by([ibis.desc(risky.clv), risky.level_change, risky.customer_id])
        .select(*cols)
        .limit(rows)
    )
    if top.empty:
        empty: pd.DataFrame = top.assign(reasons=pd.Series([], dtype=object))
        return empty
    found = at_risk(engine, steps, months=months, drop=drop, lang=lang)
    reasons = found.customers.set_index("customer_id")["reasons"]
    top["reasons"] = top["customer_id"].map(reasons).fillna("")
    if "segment" in top.columns:
        top["segment"] = [code_label("segment", s, lang) for s in top["segment"]]
    out: pd.DataFrame = top.reset_index(drop=True)
    return out


def build(data: ProjectData) -> SectionOutput:
    from allegiance.customers.engine import connect
    from allegiance.customers.profile import (
        PROFILE_TABLE,
        STEPS_FOLDER,
        level_flows,
        read_meta,
        read_profile,
        summarise_profile,
    )
    from allegiance.methods.clv import kaplan_meier

    lang = data.lang
    project = data.project
    ready = getattr(data, "ready", None)
    if ready is not None:
        ready(PROFILE_TABLE)  # the demo computes the profile while other sections run
    path = project.data_path(PROFILE_TABLE)
    steps = project.data_dir / STEPS_FOLDER
    if not path.exists():
        raise InputError("section.customers.no_profile", path=str(path), project=str(project.root))
    meta = read_meta(path)
    settings = meta.get("settings") or {}
    options = _options(data)
    rules = _rules(steps)
    with connect("duckdb") as engine:
        table = read_profile(engine, path)
        sums = summarise_profile(engine, table, head=0)
        levels, grades, tiers, value = sums["levels"], sums["grades"], sums["tiers"], sums["value"]
        scores = _histogram(engine, table, "loyalty_score", low=0.0, width=10.0, bins=SCORE_BINS)
        positive = table.filter(table.clv > 0)
        ends = engine.to_pandas(
            positive.aggregate(low=positive.clv.quantile(0.05), high=positive.clv.quantile(0.99))
        )
        edges = _edges(ends["low"].iloc[0], ends["high"].iloc[0], CLV_BINS - 1)
        clv_bands = _bands(engine, table, "clv", edges) if edges else None
        scored = table.filter(table.rfm_score.notnull())
        rfm = engine.to_pandas(
            scored.group_by("rfm_score").aggregate(customers=scored.count()).order_by("rfm_score")
        )
        survival_cols = [c for c in ("segment",) if c in table.columns]
        lives = engine.to_pandas(
            table.filter(table.lifetime_months.notnull()).select(
                *survival_cols, "lifetime_months", "lost"
            )
        )
        flows = (
            level_flows(engine, steps, months=options["flow_months"])
            if (steps / "state.parquet").exists()
            else pd.DataFrame()
        )
        risky = (
            _at_risk(
                engine,
                table,
                steps,
                months=int(settings.get("risk_months") or 1),
                drop=int(settings.get("risk_drop") or 2),
                rows=options["at_risk_rows"],
                lang=lang,
            )
            if sums["at_risk"] and (steps / "rules.json").exists()
            else pd.DataFrame()
        )

    n = sums["n"]
    row = value.iloc[0]
    graded = grades["customers"].sum()
    high = grades.loc[grades["grade"] == "high", "customers"].sum()
    figures = [
        KeyFigure("customers", "section.customers.customers", n, kind="count"),
        KeyFigure("at_risk", "section.customers.at_risk", sums["at_risk"], kind="count"),
        KeyFigure(
            "total_clv", "section.customers.total_clv", row["total_clv"], kind="currency", digits=0
        ),
        KeyFigure(
            "mean_clv", "section.customers.mean_clv", row["mean_clv"], kind="currency", digits=0
        ),
        KeyFigure(
            "mean_p_alive", "section.customers.mean_p_alive", row["mean_p_alive"], kind="percent"
        ),
        KeyFigure(
            "mean_score",
            "section.customers.mean_score",
            sums["mean_loyalty_score"],
            kind="score",
        ),
        KeyFigure(
            "high_share",
            "section.customers.high_share",
            high / graded if graded else None,
            kind="percent",
        ),
    ]

    level_list = [int(v) for v in levels["level"]]
    low, high_level = rules or (min(level_list, default=1), max(level_list, default=5))
    chart_list = [
        Chart(
            "levels",
            "section.customers.levels",
            _level_bar(levels, low=low, high=high_level, lang=lang),
        )
    ]
    notes: list[Message] = [
        Message(
            "section.customers.note_source",
            {
                "path": f"data/{path.name}",
                "month": _last_month(steps) or "-",
            },
        )
    ]
    if settings.get("steps_since"):
        notes.append(
            Message("section.customers.note_steps_since", {"month": settings["steps_since"]})
        )
    if not flows.empty:
        n_months = len(set(flows["month_from"]))
        chart_list.append(
            Chart(
                "flows",
                Message("section.customers.flow_chart", {"n": n_months}),
                flow_chart(flows, low=low, high=high_level, lang=lang),
            )
        )
        notes.append(Message("section.customers.note_flow"))
    elif (steps / "state.parquet").exists():
        notes.append(Message("section.customers.no_flows"))
    score_labels = [f"{10 * k}-{10 * (k + 1)}" for k in range(SCORE_BINS)]
    chart_list.append(
        Chart(
            "scores",
            "section.customers.score_chart",
            charts.bar(
                score_labels,
                scores,
                x_title=t("section.customers.score_axis", lang),
                y_title=t("section.customers.customers_axis", lang),
                digits=0,
            ),
        )
    )
    clv_table = None
    if clv_bands is not None:
        labels = [t("section.customers.band_below", lang, high=_number(edges[0]))]
        labels += [f"{_number(lo)}-{_number(hi)}" for lo, hi in itertools.pairwise(edges)]
        labels.append(t("section.customers.band_above", lang, low=_number(edges[-1])))
        chart_list.append(
            Chart(
                "clv",
                "section.customers.clv_chart",
                charts.bar(
                    labels,
                    clv_bands["customers"],
                    x_title=t("section.customers.clv_axis", lang),
                    y_title=t("section.customers.customers_axis", lang),
                    digits=0,
                ),
            )
        )
        total = float(clv_bands["clv"].sum())
        clv_table = pd.DataFrame(
            {
                "band": labels,
                "customers": clv_bands["customers"],
                "clv": clv_bands["clv"],
                "share_clv": clv_bands["clv"] / total if total else np.nan,
            }
        )
    if not rfm.empty:
        chart_list.append(
            Chart(
                "rfm",
                "section.customers.rfm_chart",
                charts.bar(
                    [str(int(v)) for v in rfm["rfm_score"]],
                    rfm["customers"].to_numpy(),
                    x_title=t("section.customers.rfm_axis", lang),
                    y_title=t("section.customers.customers_axis", lang),
                    digits=0,
                ),
            )
        )
    survival_table = None
    warnings: list[Message] = [
        Message(str(w.get("key")), dict(w.get("params") or {}))
        for w in meta.get("warnings") or []
        if isinstance(w, dict) and w.get("key")
    ]
    if not lives.empty:
        frame = lives.assign(lost=lives["lost"].astype(int))
        by = "segment" if "segment" in frame.columns and frame["segment"].notna().any() else None
        if by is not None:
            frame = frame.assign(segment=frame["segment"].fillna("-").astype(str))
        km = kaplan_meier(frame, duration="lifetime_months", event="lost", by=by)
        warnings += list(km.warnings)
        curves: dict[str, tuple[Any, Any]] = {}
        rows = []
        for seg in km.summary["segment"]:
            part = km.survival[km.survival["segment"] == seg]
            name = (
                t("section.customers.all", lang)
                if seg == "all"
                else code_label("segment", seg, lang)
            )
            curves[name] = (
                np.concatenate([[0.0], part["time"].to_numpy(dtype=float)]),
                np.concatenate([[1.0], part["survival"].to_numpy(dtype=float)]),
            )
            rows.append(name)
        chart_list.append(
            Chart(
                "survival",
                "section.customers.survival_chart",
                charts.step_lines(
                    curves,
                    x_title=t("section.customers.months_axis", lang),
                    y_title=t("section.customers.survival_axis", lang),
                ),
            )
        )
        summary = km.summary.copy()
        summary["survival_12"] = [km.at(12, s) for s in summary["segment"]]
        summary["segment"] = rows
        survival_table = summary.set_index("segment")
        notes.append(Message("section.customers.note_km"))
    if meta.get("bgnbd") is not None:
        notes.append(
            Message(
                "section.customers.note_clv",
                {
                    "horizon": settings.get("horizon_months", "-"),
                    "rate": f"{float(settings.get('discount_rate') or 0):.2%}",
                    "margin": settings.get("margin", 1),
                },
            )
        )
    notes.append(
        Message(
            "section.customers.note_risk",
            {
                "drop": settings.get("risk_drop", 2),
                "months": settings.get("risk_months", 1),
            },
        )
    )

    shown_grades = grades.assign(
        grade=[code_label("customers.grade", g, lang) for g in grades["grade"]]
    )
    shown_tiers = tiers.assign(tier=[code_label("customers.tier", g, lang) for g in tiers["tier"]])
    tables = [
        ReportTable(
            "levels",
            "section.customers.levels",
            levels.set_index("level"),
            formats={"share": PERCENT, "mean_clv": MONEY},
        ),
        ReportTable(
            "grades",
            "section.customers.grades",
            shown_grades.set_index("grade"),
            formats={"share": PERCENT, "clv": MONEY, "mean_p_alive": PERCENT},
        ),
        ReportTable(
            "tiers",
            "section.customers.tiers",
            shown_tiers.set_index("tier"),
            formats={"share": PERCENT, "clv": MONEY, "monetary": MONEY},
        ),
        ReportTable(
            "value",
            "section.customers.value",
            value,
            formats={
                "total_clv": MONEY,
                "mean_clv": MONEY,
                "median_clv": MONEY,
                "mean_p_alive": PERCENT,
                "discount_rate": PERCENT,
            },
        ),
    ]
    if clv_table is not None:
        tables.append(
            ReportTable(
                "clv_bands",
                "section.customers.clv_chart",
                clv_table,
                formats={"clv": MONEY, "share_clv": PERCENT},
            )
        )
    if not flows.empty:
        tables.append(ReportTable("flows", "section.customers.flows", flows))
    if survival_table is not None:
        tables.append(
            ReportTable(
                "survival",
                "section.customers.survival",
                survival_table,
                formats={"survival_12": PERCENT},
            )
        )
    if not risky.empty:
        tables.append(
            ReportTable(
                "at_risk",
                Message("section.customers.at_risk_table", {"n": len(risky)}),
                risky,
                formats={"clv": MONEY, "p_alive": PERCENT},
            )
        )
    return SectionOutput(
        figures=tuple(figures),
        tables=tuple(tables),
        charts=tuple(chart_list),
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def _level_bar(levels: pd.DataFrame, *, low: int, high: int, lang: str) -> Any:
    fig = charts.bar(
        [str(v) for v in levels["level"]],
        levels["customers"].to_numpy(),
        x_title=t("section.customers.level_axis", lang),
        y_title=t("section.customers.customers_axis", lang),
        digits=0,
    )
    fig.update_traces(marker={"color": level_colors([int(v) for v in levels["level"]], low, high)})
    return fig


def _rules(steps: Path) -> tuple[int, int] | None:
    """The level bounds of the stored rules (``None`` without a run)."""
    path = steps / "rules.json"
    if not path.is_file():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    bounds = (stored.get("rules") or {}).get("levels") or {}
    try:
        return int(bounds["min"]), int(bounds["max"])
    except (KeyError, TypeError, ValueError):
        return None


def _last_month(steps: Path) -> str | None:
    path = steps / "rules.json"
    if not path.is_file():
        return None
    value = json.loads(path.read_text(encoding="utf-8")).get("last_month")
    return str(value) if value else None


SECTION = register_section(Section("customers", "section.customers.title", 75, build))
