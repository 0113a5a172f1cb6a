"""Customer segments: RFM scores, the value pyramid, high/medium/low grading, customer types.

- **RFM** (recency, frequency, monetary): each customer gets a score 1..``q`` per measure,
  ``score = ceil(q × cume_dist)``, where ``cume_dist`` is the share of customers whose value
  is no better than theirs (recency: longer ago is worse; frequency and monetary: less is
  worse). Ties share a score, so the result does not depend on row order or on the engine.
- **Value pyramid** (客户金字塔): customers ranked by value, highest first, fill the tiers top
  down by their share of customers (default top 1 %, large 4 %, medium 15 %, small 80 %).
- **Grading** (客户分级, SPEC section 4, e.g. an insurer's high/medium/low): each criterion is
  scaled to 0..1 (``rank``: cume_dist; ``max``: ``X / X_max`` as the calculation standard's
  DC_i), a negative weight means lower is better (``1 − scaled``), the score is the weighted
  mean, and ``cuts`` turn it into high / medium / low.
- **Customer types** (price-sensitive, service-led, product-led; 价格型、服务型、产品型) from
  attitude data: the dimension whose importance stands out most (z-score across customers).

Table work is Ibis expressions on the engine; per-customer tables stay on the engine
(``Engine.to_parquet`` writes them), only summaries come back as pandas frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from allegiance.customers.indicators import (
    PERIODS,
    _date_bounds,
    _index_of,
    _materialised,
    period_index,
)
from allegiance.customers.inputs import activity_layout
from allegiance.errors import ValidationError
from allegiance.i18n import Message
from allegiance.results import plain, records

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine

__all__ = [
    "CUSTOMER_TYPES",
    "DEFAULT_TIERS",
    "GRADES",
    "SegmentsResult",
    "customer_types",
    "customer_values",
    "customer_values_for",
    "grade_scores",
    "pyramid_tiers",
    "rfm_scores",
    "segments",
    "summarise_grades",
    "summarise_pyramid",
    "summarise_rfm",
    "summarise_types",
]

Progress = Callable[[str, int, int], None]
DEFAULT_TIERS: tuple[tuple[str, float], ...] = (
    ("top", 0.01),
    ("large", 0.04),
    ("medium", 0.15),
    ("small", 0.80),
)
GRADES: tuple[str, ...] = ("high", "medium", "low")
DEFAULT_CUTS: tuple[float, float] = (0.7, 0.4)
CUSTOMER_TYPES: tuple[str, ...] = ("price_sensitive", "service_led", "product_led")
_EPS = 1e-9


def _same_type(expr: Any, like: Any) -> Any:
    return expr.cast(like.type()) if expr.type() != like.type() else expr


def customer_values(
    activity: ir.Table,
    /,
    *,
    as_of: dt.date | None = None,
    customers: ir.Table | None = None,
    period: str = "month",
    first_period: int | None = None,
    n_periods: int | None = None,
    engine_name: str = "",
) -> ir.Table:
    """One row per customer who bought: ``customer, first_date, last_date, recency_days,
    frequency, monetary, periods_active, products`` (+ ``tenure_months`` and any extra
    columns of ``customers``).

    Purchases are ``purchase`` events (events layout) or rows with purchases or a positive
    amount (monthly layout); ``monetary`` is every amount of the customer (revenue from
    holdings included); ``as_of`` defaults to the last date in the table.
    """
    import ibis

    t = activity
    if activity_layout(t) == "events":
        bought = t.event == "purchase"
        count = bought.cast("int64")
        held = t.event == "holding"
        products = (
            t.product.nunique(where=held) if "product" in t.columns else held.cast("int64").sum()
        )
    else:
        n = t.n_purchases if "n_purchases" in t.columns else (t.amount > 0).cast("int64")
        bought = (n > 0) | (t.amount > 0)
        count = n.cast("int64")
        products = (
            t.products_held.mean(where=bought)
            if "products_held" in t.columns
            else ibis.literal(0.0)
        )
    p = period_index(t.date, period)
    bits = (
        first_period is not None
        and n_periods is not None
        and engine_name == "duckdb"
        and n_periods <= 62
    )
    if bits:
        # one bit per period OR-ed over the rows, counted afterwards: cheaper than DISTINCT
        bit = ibis.literal(1, "int64") << (p - first_period)
        active_periods = ibis.ifelse(bought, bit, 0).bit_or()
    else:
        active_periods = p.nunique(where=bought)
    # dates, not day numbers, are aggregated: the calendar arithmetic runs once per customer
    per = t.group_by("customer").aggregate(
        first_date=t.date.min(where=bought),
        last_date=t.date.max(where=bought),
        frequency=count.sum(),
        monetary=t.amount.sum(),
        periods_active=active_periods,
        products=products.cast("float64"),
    )
    per = per.filter(per.last_date.notnull())
    if bits:
        assert n_periods is not None
        total = (per.periods_active >> 0) & 1
        for k in range(1, n_periods):
            total = total + ((per.periods_active >> k) & 1)
        per = per.mutate(periods_active=total)
    if as_of is None:
        per = per.cross_join(t.aggregate(_end=t.date.max()))
        end_day = per._end.epoch_days()
    else:
        per = per.mutate(_end=ibis.literal(as_of, "date"))
        end_day = ibis.literal((as_of - dt.date(1970, 1, 1)).days, "int64")
    out = per.select(
        "customer",
        first_date=per.first_date,
        last_date=per.last_date,
        recency_days=(end_day - per.last_date.epoch_days()).cast("int64"),
        frequency=per.frequency.cast("int64"),
        monetary=per.monetary.cast("float64"),
        periods_active=per.periods_active.cast("int64"),
        products=per.products,
        _end=per._end,
    )
    columns = [c for c in out.columns if c != "_end"]
    if customers is not None:
        c = customers.mutate(customer=_same_type(customers.customer, out.customer))
        keep = [x for x in c.columns if x not in ("customer", "join_date")]
        if "join_date" in c.columns:
            month = c.join_date.year().cast("int64") * 12 + c.join_date.month().cast("int64")
            c = c.mutate(_join=month)
            keep.append("_join")
        out = out.left_join(c.select("customer", *keep), "customer").select(*out.columns, *keep)
        if "_join" in out.columns:
            end = out._end.year().cast("int64") * 12 + out._end.month().cast("int64")
            out = out.mutate(tenure_months=end - out._join)
            keep = [x for x in keep if x != "_join"] + ["tenure_months"]
        columns += keep
    return out.select(*columns)


def customer_values_for(
    engine: Engine,
    activity: ir.Table,
    /,
    *,
    as_of: dt.date | None = None,
    customers: ir.Table | None = None,
    period: str = "month",
) -> ir.Table:
    """:func:`customer_values` for ``engine``: the period range is looked up first (one
    cheap query) so that active periods are counted with a bit mask on DuckDB instead of a
    DISTINCT count (three times faster at 10 million customers)."""
    dates = _date_bounds(engine, activity)
    if dates is None:
        first = n_periods = None
    else:
        first = _index_of(dates[0], period)
        n_periods = _index_of(dates[1], period) - first + 1
    return customer_values(
        activity,
        as_of=dates[1] if as_of is None and dates is not None else as_of,
        customers=customers,
        period=period,
        first_period=first,
        n_periods=n_periods,
        engine_name=engine.name,
    )


def _score(value: Any, q: int, *, descending: bool) -> Any:
    """The definition of a score: ``ceil(q × cume_dist − ε)`` kept within 1..q, unknown
    values first (the worst). A window over all customers; :func:`rfm_scores` gets the same
    scores from cut points (:func:`_cut_points`)."""
    import ibis

    order = ibis.desc if descending else ibis.asc
    cd = ibis.cume_dist().over(ibis.window(order_by=order(value, nulls_first=True)))
    return (cd * q - _EPS).ceil().cast("int64").clip(lower=1, upper=q)


def _ranked(values: ir.Table, column: str, *, descending: bool, nulls_first: bool) -> ir.Table:
    """``_x, _cd``: the values of ``column`` with their cume_dist in the given order.

    Whole numbers (days, counts) have few distinct values: they are counted first (a small
    grouping), and the running total of the counts over the total is the cume_dist, the same
    division of the same two whole numbers as the window function's. Other numbers get the
    window over their one column only (not over the whole table)."""
    import ibis

    x = values[column]
    order = ibis.desc if descending else ibis.asc
    if x.type().is_integer():
        d = values.group_by(_x=x).aggregate(_n=values.count())
        running = d._n.sum().over(
            ibis.cumulative_window(order_by=order(d._x, nulls_first=nulls_first))
        )
        total = d._n.sum().over(ibis.window())
        return d.select("_x", _cd=running.cast("float64") / total.cast("float64"))
    d = values.select(_x=x)
    window = ibis.window(order_by=order(d._x, nulls_first=nulls_first))
    return d.mutate(_cd=ibis.cume_dist().over(window))


def _cut_points(values: ir.Table, column: str, q: int, *, descending: bool, tag: str) -> ir.Table:
    """One row: ``{tag}{k}`` for k = 1..q−1, the least good value whose score (:func:`_score`)
    is above k (null when no value scores above k), and ``{tag}_null``, the score of an
    unknown value (null when there is none).

    The score only grows as the value gets better, so score(x) = 1 + #{k: x is at least as
    good as cut k}: the same numbers as the window over the whole table.
    """
    import ibis

    d = _ranked(values, column, descending=descending, nulls_first=True)
    # score = ceil(y) kept within 1..q = 1 + #{k in 1..q-1: y > k}, with y = q·cume_dist − ε
    y = d._cd * q - _EPS
    least = d._x.max if descending else d._x.min
    cuts = {f"{tag}{k}": least(where=y > k) for k in range(1, q)}
    y_unknown = d._cd.max(where=d._x.isnull()) * q - _EPS  # null when none is unknown
    unknown: Any = ibis.literal(1, "int64")
    for k in range(1, q):
        unknown = unknown + (y_unknown > k).cast("int64")
    cuts[f"{tag}_null"] = unknown
    return d.aggregate(**cuts)


def _from_cuts(x: Any, cuts: ir.Table, q: int, *, descending: bool, tag: str) -> Any:
    """The score of ``x`` from its cut points (:func:`_cut_points`, joined in as ``cuts``)."""
    import ibis

    total: Any = ibis.literal(1, "int64")
    for k in range(1, q):
        c = cuts[f"{tag}{k}"]
        reached = (x <= c) if descending else (x >= c)
        total = total + reached.fill_null(False).cast("int64")
    return ibis.ifelse(x.isnull(), cuts[f"{tag}_null"], total)


_RFM: tuple[tuple[str, str, bool], ...] = (
    ("recency_days", "_cut_r", True),
    ("frequency", "_cut_f", False),
    ("monetary", "_cut_m", False),
)


def rfm_scores(values: ir.Table, /, *, q: int = 5) -> ir.Table:
    """``values`` (from :func:`customer_values`) with ``r, f, m`` scores 1..``q``, their sum
    ``rfm_score`` and the cell ``rfm`` (``"5-3-4"``).

    ``score = ceil(q × cume_dist)`` (see the module), computed from q − 1 cut points per
    measure (:func:`_cut_points`) joined to every customer instead of a sort of the whole
    table per measure. ``values`` is read twice (cut points, then scores): pass a stored
    table (as :func:`segments` does) rather than the expression of :func:`customer_values`.
    """
    _check_q(q)
    cuts: ir.Table | None = None
    for column, tag, descending in _RFM:
        one = _cut_points(values, column, q, descending=descending, tag=tag)
        cuts = one if cuts is None else cuts.cross_join(one)
    assert cuts is not None
    j = values.cross_join(cuts)
    r, f, m = (
        _from_cuts(j[column], j, q, descending=descending, tag=tag)
        for column, tag, descending in _RFM
    )
    scored = j.select(*values.columns, r=r, f=f, m=m)
    return scored.mutate(
        rfm_score=scored.r + scored.f + scored.m,
        rfm=scored.r.cast("string").concat(
            "-", scored.f.cast("string"), "-", scored.m.cast("string")
        ),
    )


def _check_q(q: int) -> None:
    if not isinstance(q, int) or isinstance(q, bool) or not 2 <= q <= 10:
        raise ValidationError("customers.error.rfm_q", value=repr(q))


def summarise_rfm(engine: Engine, scored: ir.Table, /) -> pd.DataFrame:
    """One row per RFM cell: ``r, f, m, customers, share, monetary, share_monetary,
    mean_recency_days, mean_frequency``."""
    g = scored.group_by(["r", "f", "m"]).aggregate(
        customers=scored.customer.count(),
        monetary=scored.monetary.sum(),
        mean_recency_days=scored.recency_days.mean(),
        mean_frequency=scored.frequency.mean(),
    )
    frame = engine.to_pandas(g.order_by([g.r.desc(), g.f.desc(), g.m.desc()])).reset_index(
        drop=True
    )
    frame["share"] = frame["customers"] / frame["customers"].sum()
    total = frame["monetary"].sum()
    frame["share_monetary"] = frame["monetary"] / total if total else float("nan")
    cols = ["r", "f", "m", "customers", "share", "monetary", "share_monetary"]
    out: pd.DataFrame = frame[[*cols, "mean_recency_days", "mean_frequency"]]
    return out


def _check_tiers(tiers: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    out = tuple((str(n), float(s)) for n, s in tiers)
    if not out or any(not s > 0 for _, s in out) or abs(sum(s for _, s in out) - 1) > 1e-6:
        raise ValidationError(
            "customers.error.tiers", value=", ".join(f"{n}:{s:g}" for n, s in out) or "-"
        )
    if len({n for n, _ in out}) != len(out):
        raise ValidationError("customers.error.tiers", value=", ".join(n for n, _ in out))
    return out


def pyramid_tiers(
    values: ir.Table,
    /,
    *,
    tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS,
    value: str = "monetary",
) -> ir.Table:
    """``values`` with ``tier``: customers ranked by ``value`` (highest first) fill ``tiers``
    (name, share of customers) top down; ties fall in the same tier (the lower one)."""
    import ibis

    checked = _check_tiers(tiers)
    bounds, acc = [], 0.0
    for name, share in checked[:-1]:
        acc += share
        bounds.append((name, acc + _EPS))
    if not bounds:
        return values.mutate(tier=ibis.literal(checked[-1][0]))
    # cume_dist falls as the value rises, so a tier holds the values from a cut point up:
    # the cut of tier j is the least value whose cume_dist is within the tier's bound
    d = _ranked(values, value, descending=True, nulls_first=False)
    cuts = d.aggregate(
        _tier_null=d._cd.max(where=d._x.isnull()),
        **{f"_tier{j}": d._x.min(where=d._cd <= upper) for j, (_, upper) in enumerate(bounds)},
    )
    t = values.cross_join(cuts)
    x = t[value]
    known = ibis.cases(
        *[(x >= t[f"_tier{j}"], name) for j, (name, _) in enumerate(bounds)],
        else_=checked[-1][0],
    )
    unknown = ibis.cases(
        *[(t._tier_null <= upper, name) for name, upper in bounds], else_=checked[-1][0]
    )
    return t.select(*values.columns, tier=ibis.ifelse(x.isnull(), unknown, known))


def summarise_pyramid(
    engine: Engine,
    tiered: ir.Table,
    /,
    *,
    tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS,
    value: str = "monetary",
) -> pd.DataFrame:
    """One row per tier (top first): ``tier, target_share, customers, share, value,
    share_value, min_value, max_value``."""
    checked = _check_tiers(tiers)
    v = tiered[value]
    g = tiered.group_by("tier").aggregate(
        customers=tiered.customer.count(), total=v.sum(), min_value=v.min(), max_value=v.max()
    )
    frame = engine.to_pandas(g).set_index("tier").reindex([n for n, _ in checked])
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    frame["total"] = frame["total"].fillna(0.0)
    n = frame["customers"].sum()
    total = frame["total"].sum()
    return pd.DataFrame(
        {
            "tier": [n for n, _ in checked],
            "target_share": [s for _, s in checked],
            "customers": frame["customers"].to_numpy(),
            "share": (frame["customers"] / n).to_numpy() if n else float("nan"),
            "value": frame["total"].to_numpy(),
            "share_value": (frame["total"] / total).to_numpy() if total else float("nan"),
            "min_value": frame["min_value"].to_numpy(),
            "max_value": frame["max_value"].to_numpy(),
        }
    )


def _check_weights(weights: Mapping[str, float], columns: Sequence[str]) -> dict[str, float]:
    out = {str(k): float(v) for k, v in weights.items()}
    if not out or all(v == 0 for v in out.values()):
        raise ValidationError("customers.error.weights", value=repr(dict(weights)))
    missing = [k for k in out if k not in columns]
    if missing:
        raise ValidationError(
            "customers.error.criteria", names=", ".join(missing), available=", ".join(columns)
        )
    return out


def _check_cuts(cuts: Sequence[float]) -> tuple[float, float]:
    if len(cuts) != 2 or not 0 <= cuts[1] <= cuts[0] <= 1:
        raise ValidationError("customers.error.cuts", value=repr(tuple(cuts)))
    return float(cuts[0]), float(cuts[1])


def grade_scores(
    values: ir.Table,
    /,
    *,
    weights: Mapping[str, float],
    cuts: Sequence[float] = DEFAULT_CUTS,
    scaling: str = "rank",
) -> ir.Table:
    """``values`` with ``grade_score`` (0..1) and ``grade`` (high / medium / low).

    Each criterion ``c`` with weight ``w``: ``rank`` scaling uses the cume_dist of ``c``
    (ascending), ``max`` scaling ``c / max(c)`` (the calculation standard's X_i / X_max);
    ``w < 0`` takes ``1 - scaled``. Score = Σ|w|·scaled / Σ|w|; high when score ≥ cuts[0],
    medium when ≥ cuts[1], low otherwise. A missing criterion value scores 0.
    """
    import ibis

    w = _check_weights(weights, list(values.columns))
    hi, mid = _check_cuts(cuts)
    if scaling not in ("rank", "max"):
        raise ValidationError("customers.error.scaling", value=scaling)
    total = sum(abs(x) for x in w.values())
    parts = []
    for name, weight in w.items():
        col = values[name].cast("float64")
        if scaling == "rank":
            # unknown values rank lowest on both engines (their default null order differs)
            order = ibis.asc(col, nulls_first=True)
            cd = ibis.cume_dist().over(ibis.window(order_by=order))
            scaled = ibis.ifelse(col.isnull(), 0.0, cd)
        else:
            top = col.max().over(ibis.window())
            scaled = ibis.ifelse(top > 0, col / top, 0.0)
        scaled = scaled.fill_null(0.0)
        parts.append((1 - scaled if weight < 0 else scaled) * (abs(weight) / total))
    score = parts[0]
    for part in parts[1:]:
        score = score + part
    out = values.mutate(grade_score=score)
    return out.mutate(
        grade=ibis.cases(
            (out.grade_score >= hi - _EPS, "high"),
            (out.grade_score >= mid - _EPS, "medium"),
            else_="low",
        )
    )


def summarise_grades(
    engine: Engine, graded: ir.Table, /, *, value: str = "monetary"
) -> pd.DataFrame:
    """One row per grade (high, medium, low): ``grade, customers, share, value, share_value,
    mean_score``."""
    g = graded.group_by("grade").aggregate(
        customers=graded.customer.count(),
        total=graded[value].sum(),
        mean_score=graded.grade_score.mean(),
    )
    frame = engine.to_pandas(g).set_index("grade").reindex(list(GRADES))
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    frame["total"] = frame["total"].fillna(0.0)
    n, total = frame["customers"].sum(), frame["total"].sum()
    return pd.DataFrame(
        {
            "grade": list(GRADES),
            "customers": frame["customers"].to_numpy(),
            "share": (frame["customers"] / n).to_numpy() if n else float("nan"),
            "value": frame["total"].to_numpy(),
            "share_value": (frame["total"] / total).to_numpy() if total else float("nan"),
            "mean_score": frame["mean_score"].to_numpy(),
        }
    )


def customer_types(
    attitudes: ir.Table,
    /,
    *,
    price: str = "imp_price",
    service: str = "imp_service",
    product: str = "imp_product",
    standardise: bool = True,
) -> ir.Table:
    """``customer, customer_type``: the dimension (price, service, product) whose importance
    stands out most for the customer. With ``standardise`` each rating is a z-score across
    customers first (so a dimension everyone rates high does not decide alone); ties go to
    the first of price, service, product. Rows with a missing rating get no type."""
    import ibis

    cols = {"price_sensitive": price, "service_led": service, "product_led": product}
    missing = [c for c in cols.values() if c not in attitudes.columns]
    if missing:
        raise ValidationError(
            "customers.error.criteria",
            names=", ".join(missing),
            available=", ".join(attitudes.columns),
        )
    a = attitudes.filter(*[attitudes[c].notnull() for c in cols.values()])
    z = {}
    for name, c in cols.items():
        x = a[c].cast("float64")
        if standardise:
            whole = ibis.window()
            sd = x.std(how="pop").over(whole)
            z[name] = ibis.ifelse(sd > 0, (x - x.mean().over(whole)) / sd, 0.0)
        else:
            z[name] = x
    zp, zs, zr = z["price_sensitive"], z["service_led"], z["product_led"]
    kind = ibis.cases(
        ((zp >= zs) & (zp >= zr), "price_sensitive"), (zs >= zr, "service_led"), else_="product_led"
    )
    return a.select("customer", customer_type=kind)


def summarise_types(engine: Engine, typed: ir.Table, /) -> pd.DataFrame:
    """``customer_type, customers, share`` in the order of :data:`CUSTOMER_TYPES`."""
    g = typed.group_by("customer_type").aggregate(customers=typed.customer.count())
    frame = engine.to_pandas(g).set_index("customer_type").reindex(list(CUSTOMER_TYPES))
    counts = frame["customers"].fillna(0).astype("int64")
    n = int(counts.sum())
    return pd.DataFrame(
        {
            "customer_type": list(CUSTOMER_TYPES),
            "customers": counts.to_numpy(),
            "share": (counts / n).to_numpy() if n else float("nan"),
        }
    )


@dataclass(frozen=True)
class SegmentsResult:
    """Summaries of the segments (``rfm`` cells, ``pyramid`` tiers, ``grades``, ``types``);
    ``customers`` is the per-customer Ibis expression (not run; write it with
    ``Engine.to_parquet`` before the engine closes: it reads a temporary table of the
    engine holding the per-customer values)."""

    q: int
    rfm: pd.DataFrame
    pyramid: pd.DataFrame
    grades: pd.DataFrame
    types: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    customers: Any = field(default=None, repr=False, compare=False)
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"rfm": self.rfm, "pyramid": self.pyramid, "grades": self.grades}
        if self.types is not None:
            out["types"] = self.types
        return out

    def to_dict(self) -> dict[str, Any]:
        return plain(  # type: ignore[no-any-return]
            {
                "q": self.q,
                "settings": self.settings,
                "rfm": records(self.rfm),
                "pyramid": records(self.pyramid),
                "grades": records(self.grades),
                "types": None if self.types is None else records(self.types),
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


def default_weights(columns: Sequence[str]) -> dict[str, float]:
    """Contribution first, then how often, then how long: ``monetary`` 0.5, ``frequency``
    0.3, ``tenure_months`` 0.2 (without a join date: ``periods_active`` instead)."""
    third = "tenure_months" if "tenure_months" in columns else "periods_active"
    return {"monetary": 0.5, "frequency": 0.3, third: 0.2}


def segments(
    engine: Engine,
    activity: ir.Table,
    /,
    *,
    customers: ir.Table | None = None,
    attitudes: ir.Table | None = None,
    q: int = 5,
    tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS,
    weights: Mapping[str, float] | None = None,
    cuts: Sequence[float] = DEFAULT_CUTS,
    scaling: str = "rank",
    as_of: dt.date | None = None,
    period: str = "month",
    attitude_columns: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> SegmentsResult:
    """RFM cells, the value pyramid, grades and (with ``attitudes``) customer types."""
    _check_q(q)
    checked = _check_tiers(tiers)
    if period not in PERIODS:
        raise ValidationError("customers.error.period", value=period, allowed=", ".join(PERIODS))
    steps = 4 if attitudes is not None else 3
    tick = progress or (lambda _s, _d, _t: None)
    expr = customer_values_for(engine, activity, as_of=as_of, customers=customers, period=period)
    # kept: the per-customer expression of the result reads it
    with _materialised(engine, expr, keep=True) as values:
        w = dict(weights) if weights else default_weights(list(values.columns))
        scored = rfm_scores(values, q=q)
        rfm = summarise_rfm(engine, scored)
        tick("rfm", 1, steps)
        tiered = pyramid_tiers(scored, tiers=checked)
        pyramid = summarise_pyramid(engine, tiered, tiers=checked)
        tick("pyramid", 2, steps)
        graded = grade_scores(tiered, weights=w, cuts=cuts, scaling=scaling)
        grades = summarise_grades(engine, graded)
        tick("grades", 3, steps)
        types = None
        per_customer = graded
        if attitudes is not None:
            names = dict(attitude_columns or {})
            typed = customer_types(
                attitudes,
                price=names.get("price", "imp_price"),
                service=names.get("service", "imp_service"),
                product=names.get("product", "imp_product"),
            )
            types = summarise_types(engine, typed)
            typed = typed.mutate(customer=_same_type(typed.customer, graded.customer))
            per_customer = graded.left_join(typed, "customer").select(
                *graded.columns, "customer_type"
            )
            tick("types", 4, steps)
        return SegmentsResult(
            q=q,
            rfm=rfm,
            pyramid=pyramid,
            grades=grades,
            types=types,
            settings={
                "tiers": [list(t) for t in checked],
                "weights": w,
                "cuts": list(_check_cuts(cuts)),
                "scaling": scaling,
                "as_of": as_of,
            },
            customers=per_customer,
        )
