"""Customer indicators from transaction data (SPEC sections 2, 4 and 5).

Per period (month, quarter or year) and over the whole window:

- the **leaky bucket**: customers at the start of the period, inflow (new and reactivated),
  outflow (lost), retained, at the end; retention rate = retained / start and churn rate =
  lost / start (they add up to 1);
- **customer growth rate** by both definitions of SPEC section 4, labelled:
  ``growth_rate_material`` = (inflow − lost) / lost (as the material writes it; undefined
  when nobody was lost, and then said so) and ``growth_rate_start`` = (inflow − lost) /
  customers at the start;
- **repeat-purchase rate** (回头率): buyers with two or more purchases / all buyers (and with
  purchases in two or more periods);
- **purchase amount** (购买额) per period and per customer;
- **share of wallet** where market intelligence gives the competitor's share (1 − share);
- **tenure** from the customer table's join date (mean and bands);
- **engagement**: active customers with an engagement event / active customers;
- **named-brand purchase rate** (指名购买率) and **recommendation** (referrals, and the survey's
  NPS) where the data carry them;
- **price sensitivity** (对价格的敏感度): retention ``horizon`` periods after a price change,
  customers who had one against customers who did not;
- **complaints per 1,000 customers** (a stand-in until the complaints analysis exists);
- **satisfaction and loyalty rates** from survey answers, with
  :func:`allegiance.methods.scales.satisfaction_rate` / :func:`~allegiance.methods.scales.loyalty_rate`.

All table work is Ibis expressions run by the :class:`~allegiance.customers.engine.Engine`
(DuckDB or Spark); only the per-period tables (one row per period) come back to pandas.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allegiance.customers.inputs import activity_layout
from allegiance.errors import ValidationError
from allegiance.i18n import Message
from allegiance.results import plain, records

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine

__all__ = [
    "PERIODS",
    "TENURE_BANDS",
    "IndicatorsResult",
    "complaint_rate",
    "customer_periods",
    "indicators",
    "period_index",
    "period_start",
]

Progress = Callable[[str, int, int], None]
_tmp_names = itertools.count()

# period -> months per period
PERIODS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
# tenure bands in months: (label, lower bound inclusive)
TENURE_BANDS: tuple[tuple[str, int], ...] = (("<1y", 0), ("1-3y", 12), ("3-5y", 36), ("5y+", 60))

DEFINITIONS: dict[str, str] = {
    "retention_rate": "retained / customers at the start of the period",
    "churn_rate": "lost / customers at the start of the period (= 1 - retention_rate)",
    "growth_rate_material": "(new + reactivated - lost) / lost, as the source material writes "
    "it; undefined when nobody was lost",
    "growth_rate_start": "(new + reactivated - lost) / customers at the start of the period",
    "repeat_purchase_rate": "buyers with 2 or more purchases / buyers",
    "repeat_period_rate": "buyers with purchases in 2 or more periods / buyers",
    "share_of_wallet": "mean of (1 - competitor share) over active customers where it is known",
    "engagement_rate": "active customers with an engagement event in the period / active",
    "named_brand_rate": "purchases asked for by brand name / purchases",
    "referral_rate": "customers with a referral event / customers active in the window",
    "complaints_per_1000": "complaints in the period / active customers x 1000",
    "price_retention": "share of customers active in the price-change period who are still "
    "active `horizon` periods later, with and without a price change",
}


def period_index(date: Any, period: str) -> Any:
    """The whole number of the calendar period holding ``date`` (an Ibis date expression):
    ``year*12 + month - 1`` for months, ``year*4 + quarter - 1`` for quarters, ``year``."""
    months = _months(period)
    month = date.year().cast("int64") * 12 + date.month().cast("int64") - 1
    return month if months == 1 else month // months


def period_start(index: int, period: str) -> dt.date:
    """The first day of period ``index`` (see :func:`period_index`)."""
    month = int(index) * _months(period)
    return dt.date(month // 12, month % 12 + 1, 1)


def _months(period: str) -> int:
    if period not in PERIODS:
        raise ValidationError("customers.error.period", value=period, allowed=", ".join(PERIODS))
    return PERIODS[period]


def _index_of(day: dt.date, period: str) -> int:
    """:func:`period_index` of one date, in Python."""
    return (day.year * 12 + day.month - 1) // _months(period)


def _date_bounds(engine: Engine, activity: ir.Table) -> tuple[dt.date, dt.date] | None:
    """The first and last date of ``activity`` (``None`` when it has none): one query on the
    bare date column, which DuckDB answers from the Parquet statistics without reading rows."""
    got = engine.to_pandas(activity.aggregate(lo=activity.date.min(), hi=activity.date.max()))
    if got.empty or pd.isna(got["lo"].iloc[0]):
        return None
    return pd.Timestamp(got["lo"].iloc[0]).date(), pd.Timestamp(got["hi"].iloc[0]).date()


def _row_flags(activity: ir.Table) -> dict[str, Any]:
    """Row-level expressions: is the row business (``active``), a purchase (``bought``),
    its purchase count, products held, additions, cancellations, named-brand purchases
    (``None`` where the table has no such column: the sums are 0 without a column of
    zeros to add up)."""
    import ibis

    t = activity
    cols = set(t.columns)
    if activity_layout(t) == "events":
        ev = t.event
        bought = ev == "purchase"
        return {
            "active": (ev == "purchase") | (ev == "holding") | (t.amount > 0),
            "bought": bought,
            "n": bought.cast("int64"),
            "held": (ev == "holding").cast("int64"),
            "additions": (ev == "addition").cast("int64"),
            "cancellations": (ev == "cancellation").cast("int64"),
            "named": ibis.ifelse(bought, t.n_named.fill_null(0), 0) if "n_named" in cols else None,
        }
    n = t.n_purchases.fill_null(0) if "n_purchases" in cols else (t.amount > 0).cast("int64")
    held = t.products_held.fill_null(0) if "products_held" in cols else None
    active = (n > 0) | (t.amount > 0) if held is None else (n > 0) | (held > 0) | (t.amount > 0)
    return {
        "active": active,
        "bought": n > 0,
        "n": n.cast("int64"),
        "held": None if held is None else held.cast("int64"),
        "additions": t.additions.fill_null(0) if "additions" in cols else None,
        "cancellations": t.cancellations.fill_null(0) if "cancellations" in cols else None,
        "named": t.n_named.fill_null(0) if "n_named" in cols else None,
    }


def customer_periods(
    activity: ir.Table,
    /,
    *,
    period: str = "month",
    first: int,
    last: int,
    engine_name: str = "duckdb",
) -> ir.Table:
    """One row per customer: ``a0 … a{P-1}`` (1 when the customer has business in period
    ``first + k``), ``first_p`` (first period with business), ``purchases``,
    ``periods_bought``, ``amount``.

    Wide flags per customer instead of a (customer, period) grouping: one hash aggregate
    by customer, which is what makes 10 million customers x 24 months fast on one machine.
    A customer has business in a period with a purchase, a product held or a positive
    amount (events: a ``purchase`` or ``holding`` event or a positive amount).
    """
    import ibis

    f = _row_flags(activity)
    t = activity.mutate(_p=period_index(activity.date, period), _active=f["active"], _n=f["n"])
    n_periods = last - first + 1
    sums: dict[str, Any] = {
        "first_p": t._p.min(where=t._active),
        "purchases": t._n.sum(),
        "amount": t.amount.sum(),
    }
    if engine_name == "duckdb" and n_periods <= 62:
        # one bit per period, OR-ed over the rows: cheaper than a flag per period
        one = ibis.literal(1, "int64")
        bit = one << (t._p - first)
        per = t.group_by("customer").aggregate(
            _mask=ibis.ifelse(t._active, bit, 0).bit_or(),
            _bought=ibis.ifelse(t._n > 0, bit, 0).bit_or(),
            **sums,
        )
        flags = {f"a{k}": (per._mask >> k) & 1 for k in range(n_periods)}
        bought = [(per._bought >> k) & 1 for k in range(n_periods)]
        total = bought[0]
        for b in bought[1:]:
            total = total + b
        return per.select("customer", **flags, **{k: per[k] for k in sums}, periods_bought=total)
    aggs: dict[str, Any] = {
        f"a{k}": (t._active & (t._p == first + k)).cast("int64").max() for k in range(n_periods)
    }
    aggs.update(sums)
    aggs["periods_bought"] = t._p.nunique(where=t._n > 0)
    return t.group_by("customer").aggregate(**aggs)


def _bits_ok(engine: Engine, n_periods: int) -> bool:
    """Whether activity per period fits one 64-bit mask per customer on this engine."""
    return engine.name == "duckdb" and n_periods <= 62


def _customer_bits(activity: ir.Table, /, *, period: str, first: int) -> ir.Table:
    """One row per customer: ``_mask`` (bit ``k`` set when the customer has business in
    period ``first + k``), ``_bought`` (the same for periods with a purchase),
    ``purchases`` and ``amount``: the narrow form of :func:`customer_periods` (four
    aggregates in one hash aggregate by customer; flags and the first period are read
    from the masks afterwards)."""
    import ibis

    f = _row_flags(activity)
    t = activity.mutate(_p=period_index(activity.date, period), _active=f["active"], _n=f["n"])
    bit = ibis.literal(1, "int64") << (t._p - first)
    return t.group_by("customer").aggregate(
        _mask=ibis.ifelse(t._active, bit, 0).bit_or(),
        _bought=ibis.ifelse(t._n > 0, bit, 0).bit_or(),
        purchases=t._n.sum(),
        amount=t.amount.sum(),
    )


def _period_sums(
    engine: Engine, activity: ir.Table, *, period: str, market: ir.Table | None
) -> pd.DataFrame:
    """Per period over the rows: amount, purchases, buyers' purchases, products held,
    additions, cancellations, named-brand purchases and the share of wallet of rows with
    business. Every figure is a sum, so the rows are summed by date first (few groups, no
    calendar arithmetic per row) and the dates by period after."""
    t = activity.mutate(_active=_row_flags(activity)["active"])  # computed once per row
    f = _row_flags(t)
    aggs: dict[str, Any] = {"amount": t.amount.sum(), "n_purchases": f["n"].sum()}
    absent = []
    for name, key in (
        ("products_held", "held"),
        ("additions", "additions"),
        ("cancellations", "cancellations"),
        ("n_named", "named"),
    ):
        if f[key] is not None:
            aggs[name] = f[key].sum()
        elif name != "n_named":
            absent.append(name)
    if activity_layout(activity) == "monthly":
        # products held are a monthly stock: average over customer-months with business
        aggs["held_rows"] = t._active.cast("int64").sum()
    if market is None and "competitor_share" in t.columns:
        aggs["sow_known"] = t.competitor_share.count(where=t._active)
        aggs["sow_sum"] = (1 - t.competitor_share).sum(where=t._active)
    by_date = t.group_by("date").aggregate(**aggs)
    by_date = by_date.mutate(p=period_index(by_date.date, period))
    frame: pd.DataFrame = engine.to_pandas(
        by_date.group_by("p").aggregate(**{k: by_date[k].sum() for k in aggs})
    )
    for name in absent:
        frame[name] = 0
    return frame.set_index("p").sort_index()


def _flag(masks: ir.Table, p: int, first: int, last: int) -> Any:
    """The business flag (0 or 1) of period ``p`` (0 outside the window), from the mask
    (:func:`_customer_bits`) or the wide flags (:func:`customer_periods`)."""
    import ibis

    if not first <= p <= last:
        return ibis.literal(0, "int64")
    if "_mask" in masks.columns:
        return (masks._mask >> (p - first)) & 1
    return masks[f"a{p - first}"]


def _known(masks: ir.Table) -> Any:
    """Whether the customer has business in some period of the window."""
    if "_mask" in masks.columns:
        return masks._mask != 0
    return masks.first_p.notnull()


def _bucket(
    engine: Engine, masks: ir.Table, *, first: int, last: int
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per period: active, retained (active in the period before too), first seen; and the
    whole-window counts per customer (customers, buyers, repeat buyers, purchases, amount).

    From masks (:func:`_customer_bits`) the customers are first counted per mask (a
    handful of distinct activity patterns, however many customers), and the per-period
    counts are weighted sums over those patterns: a period's bit is set in ``_mask``; the
    first period is the lowest bit set (``mask & -mask``); purchases in two or more periods
    means ``_bought`` has more than one bit (``b & (b - 1) != 0``)."""
    import ibis

    aggs: dict[str, Any] = {}
    if "_mask" in masks.columns:
        m = masks
        g = m.group_by("_mask").aggregate(
            _n=m.count(),
            buyers=(m.purchases > 0).cast("int64").sum(),
            repeat_buyers=(m.purchases >= 2).cast("int64").sum(),
            repeat_period_buyers=((m._bought & (m._bought - 1)) != 0).cast("int64").sum(),
            n_purchases=m.purchases.sum(),
            amount=m.amount.sum(),
        )
        lowest = g._mask & (-g._mask)
        for p in range(first, last + 1):
            a = _flag(g, p, first, last)
            k = p - first
            aggs[f"active_{k}"] = (a * g._n).sum()
            aggs[f"retained_{k}"] = (a * _flag(g, p - 1, first, last) * g._n).sum()
            aggs[f"first_{k}"] = g._n.sum(where=lowest == ibis.literal(1 << k, "int64"))
        aggs["customers"] = g._n.sum(where=g._mask != 0)
        for name in ("buyers", "repeat_buyers", "repeat_period_buyers", "n_purchases", "amount"):
            aggs[name] = g[name].sum()
        row = engine.to_pandas(g.aggregate(**aggs)).iloc[0]
    else:
        for p in range(first, last + 1):
            a = _flag(masks, p, first, last)
            aggs[f"active_{p - first}"] = a.sum()
            aggs[f"retained_{p - first}"] = (a * _flag(masks, p - 1, first, last)).sum()
            aggs[f"first_{p - first}"] = (masks.first_p == p).cast("int64").sum()
        aggs["customers"] = masks.first_p.notnull().cast("int64").sum()
        aggs["buyers"] = (masks.purchases > 0).cast("int64").sum()
        aggs["repeat_buyers"] = (masks.purchases >= 2).cast("int64").sum()
        aggs["repeat_period_buyers"] = (masks.periods_bought >= 2).cast("int64").sum()
        aggs["n_purchases"] = masks.purchases.sum()
        aggs["amount"] = masks.amount.sum()
        row = engine.to_pandas(masks.aggregate(**aggs)).iloc[0]
    values = {k: float(0 if pd.isna(v) else v) for k, v in row.items()}
    idx = pd.RangeIndex(first, last + 1, name="p")
    frame = pd.DataFrame(
        {
            "active": [values[f"active_{k}"] for k in range(len(idx))],
            "retained": [values[f"retained_{k}"] for k in range(len(idx))],
            "first_seen": [values[f"first_{k}"] for k in range(len(idx))],
        },
        index=idx,
    )
    frame["reactivated"] = frame["active"] - frame["retained"] - frame["first_seen"]
    frame["leaving"] = frame["active"] - frame["retained"].shift(-1).fillna(0.0)
    totals = {
        k: values[k]
        for k in (
            "customers",
            "buyers",
            "repeat_buyers",
            "repeat_period_buyers",
            "n_purchases",
            "amount",
        )
    }
    return frame, totals


def _tenure(
    engine: Engine, masks: ir.Table, customers: ir.Table, *, first: int, last: int, period: str
) -> tuple[pd.DataFrame, float, float]:
    import ibis

    as_of = (last + 1) * _months(period)  # month index of the day after the window
    c = customers.filter(customers.join_date.notnull())
    month = c.join_date.year().cast("int64") * 12 + c.join_date.month().cast("int64") - 1
    c = c.select(c.customer, tenure=ibis.literal(as_of) - month)
    a = masks.filter(_flag(masks, last, first, last) == 1).select("customer")
    j = a.join(c, "customer")
    bounds = [(low[0], high[1]) for low, high in itertools.pairwise(TENURE_BANDS)]
    cases = ibis.cases(
        *[(j.tenure < upper, label) for label, upper in bounds], else_=TENURE_BANDS[-1][0]
    )
    grouped = (
        j.mutate(band=cases)
        .group_by("band")
        .aggregate(customers=j.customer.count(), mean_months=j.tenure.mean())
    )
    frame = engine.to_pandas(grouped)
    order = [b for b, _ in TENURE_BANDS]
    frame = frame.set_index("band").reindex(order).reset_index()
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    total = int(frame["customers"].sum())
    frame["share"] = _div(frame["customers"], total)
    mean = _ratio(float((frame["mean_months"].fillna(0) * frame["customers"]).sum()), total)
    frame = frame.rename(columns={"band": "tenure_band"})
    return frame[["tenure_band", "customers", "share", "mean_months"]], mean, float(total)


def _per_period_active(
    engine: Engine, masks: ir.Table, events: ir.Table, *, first: int, last: int, value: str | None
) -> pd.DataFrame:
    """``events`` (customer, p[, value]) kept where the customer has business in p: per
    period the rows and the sum of ``value``."""
    j = events.join(masks, "customer")
    aggs: dict[str, Any] = {}
    for p in range(first, last + 1):
        hit = (j.p == p) & (_flag(j, p, first, last) == 1)
        aggs[f"n_{p - first}"] = hit.cast("int64").sum()
        if value is not None:
            aggs[f"v_{p - first}"] = j[value].sum(where=hit)
    row = engine.to_pandas(j.aggregate(**aggs)).iloc[0]
    out = pd.DataFrame(
        {"n": [float(row[f"n_{k}"] or 0) for k in range(last - first + 1)]},
        index=pd.RangeIndex(first, last + 1, name="p"),
    )
    if value is not None:
        out["v"] = [
            float(0 if pd.isna(row[f"v_{k}"]) else row[f"v_{k}"]) for k in range(last - first + 1)
        ]
    return out


def _engagement(
    engine: Engine,
    masks: ir.Table,
    engagement: ir.Table,
    *,
    period: str,
    first: int,
    last: int,
    referral_kind: str,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    e = engagement.mutate(p=period_index(engagement.date, period))
    e = e.mutate(customer=_same_type(e.customer, masks.customer))
    per = e.group_by(["customer", "p"]).aggregate(events=e.customer.count())
    by_p = _per_period_active(engine, masks, per, first=first, last=last, value="events")
    kinds = engine.to_pandas(
        e.group_by("kind")
        .aggregate(events=e.customer.count(), customers=e.customer.nunique())
        .order_by("kind")
    ).reset_index(drop=True)
    referrers = e.filter(e.kind == referral_kind).select("customer").distinct()
    known = masks.filter(_known(masks)).select("customer")
    n_ref = engine.to_pandas(known.join(referrers, "customer").count())
    return by_p, kinds, float(n_ref)


def _price_sensitivity(
    engine: Engine,
    masks: ir.Table,
    changes: ir.Table,
    *,
    period: str,
    first: int,
    last: int,
    horizon: int,
) -> tuple[pd.DataFrame, int]:
    import ibis

    c = changes.mutate(m=period_index(changes.date, period))
    c = c.mutate(customer=_same_type(c.customer, masks.customer))
    if "change" not in c.columns:
        c = c.mutate(change=ibis.null("float64"))
    exposed = c.group_by(["customer", "m"]).aggregate(change=c.change.mean())
    months = sorted(int(m) for m in engine.to_pandas(exposed.select("m").distinct())["m"])
    usable = [m for m in months if first <= m and m + horizon <= last]
    skipped = len(months) - len(usable)
    if not usable:
        return pd.DataFrame(), skipped
    j = exposed.join(masks, "customer")
    aggs: dict[str, Any] = {}
    whole: dict[str, Any] = {}
    for m in usable:
        at = _flag(j, m, first, last) == 1
        later = _flag(j, m + horizon, first, last)
        hit = (j.m == m) & at
        aggs[f"n_{m}"] = hit.cast("int64").sum()
        aggs[f"r_{m}"] = later.sum(where=hit)
        aggs[f"c_{m}"] = j.change.mean(where=hit)
        a = _flag(masks, m, first, last)
        whole[f"n_{m}"] = a.sum()
        whole[f"r_{m}"] = (a * _flag(masks, m + horizon, first, last)).sum()
    ex = engine.to_pandas(j.aggregate(**aggs)).iloc[0]
    al = engine.to_pandas(masks.aggregate(**whole)).iloc[0]
    rows = []
    for m in usable:
        n_ex = float(ex[f"n_{m}"] or 0)
        r_ex = float(0 if pd.isna(ex[f"r_{m}"]) else ex[f"r_{m}"])
        n_co = float(al[f"n_{m}"]) - n_ex
        r_co = float(al[f"r_{m}"]) - r_ex
        ret_ex, ret_co = _ratio(r_ex, n_ex), _ratio(r_co, n_co)
        rows.append(
            {
                "period": period_start(m, period),
                "horizon": horizon,
                "mean_change": float("nan") if pd.isna(ex[f"c_{m}"]) else float(ex[f"c_{m}"]),
                "n_exposed": int(n_ex),
                "retention_exposed": ret_ex,
                "n_control": int(n_co),
                "retention_control": ret_co,
                "difference": ret_ex - ret_co,
            }
        )
    return pd.DataFrame(rows), skipped


@dataclass(frozen=True)
class IndicatorsResult:
    """Indicators per period (``periods``) and over the window (``summary``), with optional
    ``tenure``, ``engagement`` (by kind), ``price_sensitivity`` and ``survey`` tables."""

    period: str
    periods: pd.DataFrame
    summary: pd.DataFrame
    tenure: pd.DataFrame | None = None
    engagement: pd.DataFrame | None = None
    price_sensitivity: pd.DataFrame | None = None
    survey: pd.DataFrame | None = None
    definitions: dict[str, str] = field(default_factory=dict)
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"summary": self.summary, "periods": self.periods}
        for name in ("tenure", "engagement", "price_sensitivity", "survey"):
            frame = getattr(self, name)
            if frame is not None:
                out[name] = frame
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "period": self.period,
            "summary": records(self.summary)[0] if len(self.summary) else {},
            "periods": records(self.periods),
        }
        for name in ("tenure", "engagement", "price_sensitivity", "survey"):
            frame = getattr(self, name)
            out[name] = None if frame is None else records(frame)
        out["definitions"] = dict(self.definitions)
        out["warnings"] = [w.to_dict() for w in self.warnings]
        return plain(out)  # type: ignore[no-any-return]


@contextmanager
def _materialised(engine: Engine, expr: ir.Table, *, keep: bool = False) -> Iterator[ir.Table]:
    """Run ``expr`` once into a temporary table (DuckDB) or a cached frame (Spark) while
    several queries read it; dropped at the end unless ``keep`` (then it lives as long as
    the engine's connection)."""
    from allegiance.customers.engine import _quiet

    if engine.name == "duckdb":
        name = f"allegiance_tmp_{next(_tmp_names)}"
        with _quiet():
            table = engine.con.create_table(name, expr, temp=True)
        try:
            yield table
        finally:
            if not keep:
                engine.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
        return
    with _quiet():
        cached = expr.cache()
    try:
        yield cached
    finally:
        if not keep:
            with _quiet():
                cached.release()


def _div(a: Any, b: Any) -> Any:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def _periods_table(raw: pd.DataFrame, *, first: int, last: int, period: str) -> pd.DataFrame:
    idx = pd.RangeIndex(first, last + 1, name="p")
    f = raw.set_index("p").reindex(idx).fillna(0.0)
    f = f.astype(dict.fromkeys(f.columns, "float64"))
    start = f["active"].shift(1)
    lost = f["leaving"].shift(1)
    new = f["first_seen"].where(idx > first)
    reactivated = f["reactivated"].where(idx > first)
    inflow = new + reactivated
    retained = f["retained"].where(idx > first)
    out = pd.DataFrame(
        {
            "period": [period_start(int(p), period) for p in idx],
            "customers_start": start,
            "new": new,
            "reactivated": reactivated,
            "lost": lost,
            "retained": retained,
            "customers_end": f["active"],
            "retention_rate": _div(retained, start),
            "churn_rate": _div(lost, start),
            "growth_rate_material": _div(inflow - lost, lost),
            "growth_rate_start": _div(inflow - lost, start),
            "amount": f["amount"],
            "amount_per_customer": _div(f["amount"], f["active"]),
            "n_purchases": f["n_purchases"],
            "products_per_customer": _div(
                f["products_held"], f["held_rows"] if "held_rows" in f.columns else f["active"]
            ),
            "additions": f["additions"],
            "cancellations": f["cancellations"],
        },
        index=idx,
    )
    if "sow_known" in f.columns:
        out["sow_known"] = f["sow_known"]
        out["share_of_wallet"] = _div(f["sow_sum"], f["sow_known"])
    if "n_named" in f.columns:
        out["named_brand_rate"] = _div(f["n_named"], f["n_purchases"])
    for col in ("customers_start", "new", "reactivated", "lost", "retained", "customers_end"):
        out[col] = out[col].astype("Int64")
    return out.reset_index(drop=True)


def complaint_rate(
    engine: Engine, complaints: ir.Table, /, *, period: str = "month"
) -> pd.DataFrame:
    """Complaints per 1,000 active customers per period: ``p, complaints``.

    A small stand-in until the complaints analysis (its own issue) exists: complaints are
    counted in the period they were received; the rate is divided by the active customers
    of that period in :func:`indicators`.
    """
    c = complaints.mutate(p=period_index(complaints.date, period))
    out: pd.DataFrame = engine.to_pandas(
        c.group_by("p").aggregate(complaints=c.customer.count()).order_by("p")
    )
    return out.reset_index(drop=True)


def _same_type(expr: Any, like: Any) -> Any:
    """Cast a join key to the other side's type when they differ (ids read as text in one
    file and as numbers in another)."""
    if expr.type() != like.type():
        return expr.cast(like.type())
    return expr


SURVEY_DEFAULTS: dict[str, Any] = {
    "satisfaction": "csat",
    "satisfied": (4, 5),
    "loyalty": "repurchase",
    "loyalty_threshold": 3,
    "recommend": "nps",
}


def _survey(survey: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame | None:
    from allegiance.methods import scales

    cfg = {**SURVEY_DEFAULTS, **dict(config)}
    rows = []
    sat = cfg.get("satisfaction")
    if sat and sat in survey.columns:
        r = scales.satisfaction_rate(survey, score=sat, satisfied=tuple(cfg["satisfied"]))
        o = r.overall.iloc[0]
        rows.append(
            _survey_row("satisfaction_rate", sat, o["n"], o["rate"], o["ci_low"], o["ci_high"])
        )
    loy = cfg.get("loyalty")
    if loy and loy in survey.columns:
        r = scales.loyalty_rate(survey, score=loy, threshold=float(cfg["loyalty_threshold"]))
        o = r.overall.iloc[0]
        rows.append(_survey_row("loyalty_rate", loy, o["n"], o["rate"], o["ci_low"], o["ci_high"]))
    rec = cfg.get("recommend")
    if rec and rec in survey.columns:
        n = scales.nps(survey, score=rec)
        o = n.table.iloc[0]
        rows.append(_survey_row("nps", rec, o["n"], o["nps"], o["ci_low"], o["ci_high"]))
    return pd.DataFrame(rows) if rows else None


def _survey_row(measure: str, column: str, n: Any, value: Any, lo: Any, hi: Any) -> dict[str, Any]:
    return {
        "measure": measure,
        "column": column,
        "n": int(n),
        "value": float(value),
        "ci_low": float(lo),
        "ci_high": float(hi),
    }


def indicators(
    engine: Engine,
    activity: ir.Table,
    /,
    *,
    period: str = "month",
    customers: ir.Table | None = None,
    engagement: ir.Table | None = None,
    price_changes: ir.Table | None = None,
    market: ir.Table | None = None,
    complaints: ir.Table | None = None,
    brand: ir.Table | None = None,
    survey: pd.DataFrame | None = None,
    survey_columns: Mapping[str, Any] | None = None,
    horizon: int = 3,
    referral_kind: str = "referral",
    progress: Progress | None = None,
) -> IndicatorsResult:
    """Customer indicators of ``activity`` (read with :func:`~allegiance.customers.inputs.read_source`)
    per ``period`` and over the window; the optional tables add tenure, engagement, price
    sensitivity, share of wallet, named-brand purchases and complaints (see the module).

    >>> import datetime as d, pandas as pd
    >>> from allegiance.customers.engine import connect
    >>> act = pd.DataFrame({"customer": ["a", "a", "b"], "date": [d.date(2024, 1, 1),
    ...     d.date(2024, 2, 1), d.date(2024, 1, 1)], "amount": [10.0, 5.0, 3.0]})
    >>> with connect() as eng:
    ...     r = indicators(eng, eng.table(act))
    >>> r.periods[["customers_start", "lost", "retention_rate"]].iloc[1].tolist()
    [2.0, 1.0, 0.5]
    """
    _months(period)
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValidationError("customers.error.horizon", value=repr(horizon))
    warnings: list[Message] = []
    steps = 2 + sum(
        x is not None for x in (customers, engagement, price_changes, complaints, brand, survey)
    )
    done = 0

    def tick(step: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(step, done, steps)

    if market is not None:
        market = market.mutate(customer=_same_type(market.customer, activity.customer))
    dates = _date_bounds(engine, activity)
    if dates is None:
        raise ValidationError("customers.error.empty", what="activity")
    first, last = _index_of(dates[0], period), _index_of(dates[1], period)
    sums = _period_sums(engine, activity, period=period, market=market)
    if _bits_ok(engine, last - first + 1):
        masks_expr = _customer_bits(activity, period=period, first=first)
    else:
        masks_expr = customer_periods(
            activity, period=period, first=first, last=last, engine_name=engine.name
        )
    # the per-customer table is stored only when more than one query reads it
    reread = market is not None or engagement is not None or price_changes is not None
    reread = reread or (customers is not None and "join_date" in customers.columns)
    stored = _materialised(engine, masks_expr) if reread else nullcontext(masks_expr)
    with stored as masks:
        flags, totals = _bucket(engine, masks, first=first, last=last)
        raw = flags.join(sums, how="left").fillna(0.0)
        if market is not None:
            m = market.mutate(p=period_index(market.date, period))
            sow = m.group_by(["customer", "p"]).aggregate(sow=(1 - m.competitor_share).mean())
            got = _per_period_active(engine, masks, sow, first=first, last=last, value="sow")
            raw["sow_known"] = got["n"]
            raw["sow_sum"] = got["v"]
        periods = _periods_table(raw.reset_index(), first=first, last=last, period=period)
        tick("bucket")
        tick("customers")
        lost = periods["lost"].iloc[1:]
        if (lost.fillna(0) == 0).any():
            zero = [str(p) for p, n in zip(periods["period"].iloc[1:], lost, strict=True) if not n]
            warnings.append(Message("customers.warn.no_lost", {"periods": ", ".join(zero[:6])}))

        summary: dict[str, Any] = {
            "periods": last - first + 1,
            "first_period": period_start(first, period),
            "last_period": period_start(last, period),
            "customers": int(totals["customers"]),
            "customers_first": int(periods["customers_end"].iloc[0]),
            "customers_last": int(periods["customers_end"].iloc[-1]),
        }
        rest = periods.iloc[1:]
        start_sum = float(rest["customers_start"].sum())
        summary["retention_rate"] = _ratio(float(rest["retained"].sum()), start_sum)
        summary["churn_rate"] = _ratio(float(rest["lost"].sum()), start_sum)
        summary["new"] = int(rest["new"].sum())
        summary["reactivated"] = int(rest["reactivated"].sum())
        summary["lost"] = int(rest["lost"].sum())
        inflow = summary["new"] + summary["reactivated"]
        summary["growth_rate_material"] = _ratio(inflow - summary["lost"], summary["lost"])
        summary["growth_rate_start"] = _ratio(inflow - summary["lost"], summary["customers_first"])
        summary["buyers"] = int(totals["buyers"])
        summary["repeat_purchase_rate"] = _ratio(totals["repeat_buyers"], totals["buyers"])
        summary["repeat_period_rate"] = _ratio(totals["repeat_period_buyers"], totals["buyers"])
        summary["amount"] = totals["amount"]
        summary["amount_per_customer"] = _ratio(totals["amount"], totals["customers"])
        summary["amount_per_purchase"] = _ratio(totals["amount"], totals["n_purchases"])
        summary["n_purchases"] = int(totals["n_purchases"])
        if "share_of_wallet" in periods.columns:
            known = float(periods["sow_known"].sum())
            summary["share_of_wallet"] = _ratio(
                float((periods["share_of_wallet"].fillna(0) * periods["sow_known"]).sum()), known
            )
        if "named_brand_rate" in periods.columns:
            summary["named_brand_rate"] = _ratio(float(raw["n_named"].sum()), totals["n_purchases"])

        tenure = None
        if customers is not None:
            if "join_date" in customers.columns:
                customers = customers.mutate(
                    customer=_same_type(customers.customer, activity.customer)
                )
                tenure, mean, n = _tenure(
                    engine, masks, customers, first=first, last=last, period=period
                )
                summary["tenure_months"] = mean
                if n < summary["customers_last"]:
                    warnings.append(
                        Message(
                            "customers.warn.no_join_date",
                            {"n": int(summary["customers_last"] - n)},
                        )
                    )
            else:
                warnings.append(Message("customers.warn.no_join_column", {}))
            tick("tenure")

        engagement_kinds = None
        if engagement is not None:
            e, engagement_kinds, n_ref = _engagement(
                engine,
                masks,
                engagement,
                period=period,
                first=first,
                last=last,
                referral_kind=referral_kind,
            )
            periods["engaged"] = e["n"].to_numpy(dtype=np.int64)
            periods["engagement_rate"] = _div(
                periods["engaged"], periods["customers_end"].astype(float)
            )
            periods["events_per_customer"] = _div(
                e["v"].to_numpy(), periods["customers_end"].astype(float)
            )
            summary["engagement_rate"] = _ratio(
                float(periods["engaged"].sum()), float(periods["customers_end"].sum())
            )
            summary["referral_rate"] = _ratio(n_ref, summary["customers"])
            tick("engagement")

        price = None
        if price_changes is not None:
            price, skipped = _price_sensitivity(
                engine, masks, price_changes, period=period, first=first, last=last, horizon=horizon
            )
            if skipped:
                warnings.append(
                    Message("customers.warn.price_too_late", {"n": skipped, "horizon": horizon})
                )
            if price.empty:
                price = None
            tick("price")

        if complaints is not None:
            complaints = complaints.mutate(
                customer=_same_type(complaints.customer, activity.customer)
            )
            cr = complaint_rate(engine, complaints, period=period)
            c = cr.set_index("p").reindex(range(first, last + 1)).fillna(0)
            periods["complaints"] = c["complaints"].to_numpy(dtype=np.int64)
            periods["complaints_per_1000"] = 1000 * _div(
                periods["complaints"], periods["customers_end"].astype(float)
            )
            summary["complaints_per_1000"] = 1000 * _ratio(
                float(periods["complaints"].sum()), float(periods["customers_end"].sum())
            )
            tick("complaints")

        if brand is not None:
            b = engine.to_pandas(
                brand.aggregate(purchases=brand.n_purchases.sum(), named=brand.n_named.sum())
            ).iloc[0]
            summary["named_brand_rate"] = _ratio(float(b["named"] or 0), float(b["purchases"] or 0))
            tick("brand")

        survey_table = None
        if survey is not None:
            survey_table = _survey(survey, survey_columns or {})
            if survey_table is not None:
                for row in survey_table.itertuples():
                    summary[f"survey_{row.measure}"] = row.value
            tick("survey")

        return IndicatorsResult(
            period=period,
            periods=periods,
            summary=pd.DataFrame([summary]),
            tenure=tenure,
            engagement=engagement_kinds,
            price_sensitivity=price,
            survey=survey_table,
            definitions=dict(DEFINITIONS),
            warnings=tuple(warnings),
        )
