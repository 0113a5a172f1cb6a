"""The per-customer profile: level, loyalty score, RFM, tier, grade, P(alive) and CLV in one table.

:func:`customer_profile` assembles one row per customer from the analyses of this package and
writes it as Parquet (the engine writes it; nothing per customer passes through pandas):

- the **step level** (台阶分析法) from a run of :func:`~allegiance.customers.steps.run_steps`
  (brought up to date first: new months only), the change over the last ``risk_months``
  months and whether the customer is **at risk** (down ``risk_drop`` levels or more, the
  definition of :func:`~allegiance.customers.steps.at_risk`);
- the **AHP loyalty score** 0-100 (:mod:`allegiance.customers.loyalty_score`);
- **RFM** scores, the **value-pyramid** tier and the **grade** high/medium/low
  (:func:`allegiance.customers.segments.segments`);
- **P(alive)**, **expected transactions** over ``horizon`` months and the discounted **CLV**:
  BG/NBD and Gamma-Gamma (:mod:`allegiance.methods.clv`) fitted on the condensed
  (frequency, recency, T) summary computed in the engine
  (:func:`allegiance.customers.summary.rfm_summary`, time in months). The fits run on the
  distinct summary patterns with their counts as weights (the same likelihood as one row per
  customer); predictions are computed once per distinct (frequency, recency, T) pattern in
  numpy, in batches, and joined back in the engine, where the expected spend (Fader, Hardie &
  Lee 2005b, eq. 5) and CLV = margin x spend x discounted expected transactions are computed
  per customer;
- ``lifetime_months`` and ``lost`` for survival curves: months from the first active month
  in the data to the last one (lost customers, ``lost`` true: not active in the last month)
  or to the end of the data (still active: censored).

:func:`level_flows` counts the customers moving between levels from one month to the next
(the Sankey chart of the report); :func:`allegiance.store.export.export_parquet`
copies the table into a database on request.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from allegiance.customers.engine import _quiet
from allegiance.customers.inputs import activity_layout
from allegiance.errors import AllegianceError, InputError, ValidationError
from allegiance.i18n import Message
from allegiance.results import plain, records

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine
    from allegiance.customers.steps import StepRules
    from allegiance.methods.ahp import HierarchyResult
    from allegiance.methods.clv import ClvFit

__all__ = [
    "COLUMNS",
    "MAX_SPEND_ROWS",
    "MONTH_DAYS",
    "PATTERN_BATCH",
    "PROFILE_TABLE",
    "STEPS_FOLDER",
    "ProfileResult",
    "conditional_expected",
    "customer_profile",
    "level_flows",
    "meta_path",
    "monthly_activity",
    "observation_end",
    "profile_folder",
    "profile_job",
    "purchase_occasions",
    "read_meta",
    "read_profile",
    "serve_profile",
    "summarise_profile",
    "warm_up",
]

Progress = Callable[[str, int, int], None]
Array = NDArray[np.float64]

PROFILE_TABLE = "customer_profile"
"""The profile's name in a project's ``data/`` folder (``customer_profile.parquet``)."""

STEPS_FOLDER = "loyalty_steps"
"""The step engine's state in a project's ``data/`` folder (as ``allegiance loyalty steps``)."""

MONTH_DAYS = 365.25 / 12
"""Days in the month the CLV models count time in (recency, T, horizon)."""

PATTERN_BATCH = 1_000_000
"""Distinct (frequency, recency, T) patterns predicted per numpy batch."""

MAX_SPEND_ROWS = 2_000_000
"""Above this many customers who bought again, Gamma-Gamma is fitted on a random sample of
about this many of them (BG/NBD always uses every customer: its distinct patterns are few)."""

_HASH_BUCKETS = 1_000_003

_SERIES_MAX_TERMS = 100_000

COLUMNS: dict[str, str] = {
    "customer_id": "the customer (text)",
    "segment": "segment from the customer table (when it has one)",
    "region": "region from the customer table (when it has one)",
    "level": "step level (台阶) after the last processed month",
    "level_before": "level before the last risk_months months",
    "level_change": "level - level_before (sum of the moves in those months)",
    "at_risk": "level_change <= -risk_drop",
    "loyalty_score": "AHP loyalty score 0-100",
    "recency_days": "days from the last purchase to the end of the data",
    "frequency": "purchases",
    "monetary": "amount over the data",
    "tenure_months": "months since joining (when the customer table has join dates)",
    "rfm_r": "R score 1..q (recent is high)",
    "rfm_f": "F score 1..q",
    "rfm_m": "M score 1..q",
    "rfm_score": "rfm_r + rfm_f + rfm_m",
    "rfm_code": "the RFM cell, e.g. 5-3-4",
    "tier": "value-pyramid tier",
    "grade": "high / medium / low",
    "grade_score": "grading score 0..1",
    "p_alive": "BG/NBD probability that the customer is still active",
    "expected_transactions": "expected purchase months in the next horizon months",
    "expected_spend": "Gamma-Gamma expected amount per purchase month",
    "clv": "discounted value of the next horizon months",
    "lifetime_months": "months from the first active month to the last (lost) or the end",
    "lost": "not active in the last month of the data",
}
"""The columns of the profile table in order (``segment``, ``region``, ``tenure_months`` only
when the inputs carry them)."""

_tmp_names = itertools.count()


# --------------------------------------------------------------------------------------------
# Inputs in the shapes the analyses read
# --------------------------------------------------------------------------------------------


def monthly_activity(activity: ir.Table, /) -> ir.Table:
    """The activity (read by :func:`~allegiance.customers.inputs.read_source`, our role names)
    as the step engine and the loyalty score read it: ``customer_id`` (text), ``month`` (first
    day), ``amount`` and the optional counts. Events are counted per customer and month
    (purchases, holdings as products held, additions, cancellations)."""
    import ibis

    t = activity
    month = t.date.truncate("M").cast("date")
    if activity_layout(t) == "events":
        holding = t.event == "holding"
        held = (
            t["product"].nunique(where=holding).cast("float64")
            if "product" in t.columns
            else holding.cast("float64").sum()
        )
        t = t.mutate(_cid=t.customer.cast("string"), _month=month)
        return t.group_by(customer_id=t._cid, month=t._month).aggregate(
            amount=t.amount.cast("float64").sum(),
            n_purchases=(t.event == "purchase").cast("float64").sum(),
            products_held=held,
            additions=(t.event == "addition").cast("float64").sum(),
            cancellations=(t.event == "cancellation").cast("float64").sum(),
        )
    cols: dict[str, Any] = {
        "customer_id": t.customer.cast("string"),
        "month": month,
        "amount": t.amount.cast("float64"),
    }
    for name in ("n_purchases", "products_held", "additions", "cancellations", "competitor_share"):
        cols[name] = t[name].cast("float64") if name in t.columns else ibis.null("float64")
    return t.select(**cols)


def purchase_occasions(activity: ir.Table, /) -> ir.Table:
    """``customer_id, date, amount`` of the purchases the CLV models count: ``purchase`` events
    (events layout), or the months with purchases or a positive amount (monthly layout: a
    month is one purchase occasion, the finest grain that layout has)."""
    t = activity
    if activity_layout(t) == "events":
        bought = t.event == "purchase"
    elif "n_purchases" in t.columns:
        bought = (t.n_purchases.fill_null(0) > 0) | (t.amount.fill_null(0) > 0)
    else:
        bought = t.amount.fill_null(0) > 0
    t = t.filter(bought)
    return t.select(
        customer_id=t.customer.cast("string"),
        date=t.date,
        amount=t.amount.cast("float64").fill_null(0.0),
    )


def observation_end(engine: Engine, table: ir.Table, /, *, monthly: bool) -> dt.date:
    """When the observation of purchases ends: with ``monthly`` rows (the monthly layout of
    the activity, one row per customer and month) the end of the last month (the first day
    of the next), else the end of the last day (the day after it); so a customer whose first
    purchase falls in the last period still has T > 0."""
    last = engine.to_pandas(table.date.max())
    if last is None or pd.isna(last):
        raise InputError("customers.error.empty", what="activity")
    day = pd.Timestamp(last)
    if monthly:
        return (day.to_period("M") + 1).to_timestamp().date()
    return (day + pd.Timedelta(days=1)).date()


def _customers_for_score(customers: ir.Table | None, state: ir.Table) -> ir.Table:
    """The customer table with the names the loyalty score reads (ids from the step state
    when there is no customer table)."""
    if customers is None:
        return state.select("customer_id")
    cols: dict[str, Any] = {"customer_id": customers.customer.cast("string")}
    for name in ("nature", "join_date"):
        if name in customers.columns:
            cols[name] = customers[name]
    return customers.select(**cols)


# --------------------------------------------------------------------------------------------
# Engine helpers
# --------------------------------------------------------------------------------------------


@contextmanager
def _materialised(engine: Engine, expr: ir.Table) -> Iterator[ir.Table]:
    """``expr`` run once into a temporary table (DuckDB) or a cached frame (Spark) while
    several queries read it."""
    if engine.name == "duckdb":
        name = f"allegiance_profile_{next(_tmp_names)}"
        with _quiet():
            table = engine.con.create_table(name, expr, temp=True)
        try:
            yield table
        finally:
            engine.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
        return
    with _quiet():
        cached = expr.cache()
    try:
        yield cached
    finally:
        with _quiet():
            cached.release()


def _write_parquet(engine: Engine, expr: ir.Table, path: Path) -> Path:
    """Write ``expr`` at ``path`` all-or-nothing: DuckDB streams one file; Spark writes a
    folder of part files (no collect to the driver). A temporary name is moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    _remove(tmp)
    try:
        with _quiet():
            if engine.name == "duckdb":
                engine.con.raw_sql("SET enable_progress_bar = false")
                engine.con.to_parquet(expr, str(tmp))
            else:
                engine.con.to_parquet(expr, str(tmp), mode="overwrite")
        _remove(path)
        tmp.replace(path)
    finally:
        _remove(tmp)
    return path


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def read_profile(engine: Engine, path: str | os.PathLike[str], /) -> ir.Table:
    """The profile table written by :func:`customer_profile` (a file, or the folder of part
    files Spark writes) as an Ibis table on ``engine``."""
    p = Path(path)
    if not p.exists():
        raise InputError("engine.error.missing_file", path=str(p))
    if p.is_dir() and engine.name == "duckdb":
        return engine.con.read_parquet(str(p / "*.parquet"))
    return engine.table(p)


# --------------------------------------------------------------------------------------------
# The parts
# --------------------------------------------------------------------------------------------


def _risk_period(folder: Path, months: int) -> list[dt.date]:
    path = folder / "levels.parquet"
    done = sorted(set(pd.read_parquet(path)["month"])) if path.exists() else []
    return [pd.Timestamp(m).date() for m in done[-months:]]


def _level_part(
    engine: Engine, folder: Path, state: ir.Table, *, months: int, drop: int
) -> ir.Table:
    """``customer_id, level, level_before, level_change, at_risk`` for every customer of the
    step state (the change is the sum of the moves in the last ``months`` processed months)."""
    import ibis

    from allegiance.customers.steps import read_moves

    base = state.select(customer_id=state.customer_id.cast("string"), level=state.level)
    period = _risk_period(folder, months)
    moves = read_moves(engine, folder)
    if moves is None or not period:
        change: Any = ibis.literal(0, type="int32")
        out = base.mutate(level_change=change)
    else:
        recent = moves.filter(moves.month >= ibis.literal(period[0], type="date"))
        per = recent.group_by(_cid=recent.customer_id.cast("string")).aggregate(
            _change=(recent.new_level.cast("int32") - recent.old_level.cast("int32")).sum()
        )
        joined = base.left_join(per, base.customer_id == per._cid)
        out = joined.select(
            "customer_id",
            "level",
            level_change=joined._change.fill_null(0).cast("int32"),
        )
    return out.select(
        "customer_id",
        level=out.level.cast("int32"),
        level_before=(out.level.cast("int32") - out.level_change).cast("int32"),
        level_change=out.level_change,
        at_risk=out.level_change <= -drop,
    )


def _score_part(
    engine: Engine,
    factors: ir.Table,
    *,
    hierarchy: HierarchyResult | str | Path | None,
    normalisation: str,
    caps: Mapping[str, float] | None,
) -> tuple[ir.Table, pd.DataFrame, tuple[Message, ...]]:
    """``customer_id, loyalty_score``: the score of
    :func:`~allegiance.customers.loyalty_score.loyalty_score` as an expression (its weights,
    rescaled over the factors the data carry, applied to the normalised factors of
    :func:`~allegiance.customers.loyalty_score.factor_table`)."""
    from allegiance.customers.loyalty_score import loyalty_score, normalise

    scored = loyalty_score(
        engine, factors, hierarchy=hierarchy, normalisation=normalisation, caps=caps, top=1
    )
    used = tuple(str(f) for f in scored.weights["factor"])
    c = dict(zip(used, (float(w) for w in scored.weights["weight"]), strict=True))
    dcs = normalise(factors, factors=used, method=normalisation, caps=caps)
    total = sum((dcs[f"dc_{f}"] * c[f] for f in used[1:]), dcs[f"dc_{used[0]}"] * c[used[0]])
    expr = dcs.select(customer_id=dcs.customer_id.cast("string"), loyalty_score=100.0 * total)
    return expr, scored.weights, scored.warnings


def _segments_part(
    values: ir.Table,
    *,
    q: int,
    tiers: Sequence[tuple[str, float]],
    weights: Mapping[str, float] | None,
    cuts: Sequence[float],
    scaling: str,
) -> tuple[ir.Table, dict[str, float]]:
    """RFM scores, the pyramid tier and the grade of every customer of ``values``
    (:func:`~allegiance.customers.segments.customer_values`), as
    :func:`~allegiance.customers.segments.segments` computes them."""
    from allegiance.customers.segments import (
        default_weights,
        grade_scores,
        pyramid_tiers,
        rfm_scores,
    )

    w = dict(weights) if weights else default_weights(list(values.columns))
    graded = grade_scores(
        pyramid_tiers(rfm_scores(values, q=q), tiers=tiers),
        weights=w,
        cuts=cuts,
        scaling=scaling,
    )
    keep: dict[str, Any] = {
        "customer_id": graded.customer.cast("string"),
        "recency_days": graded.recency_days,
        "frequency": graded.frequency,
        "monetary": graded.monetary,
    }
    if "tenure_months" in graded.columns:
        keep["tenure_months"] = graded.tenure_months
    keep.update(
        rfm_r=graded.r,
        rfm_f=graded.f,
        rfm_m=graded.m,
        rfm_score=graded.rfm_score,
        rfm_code=graded.rfm,
        tier=graded.tier,
        grade=graded.grade,
        grade_score=graded.grade_score,
    )
    return graded.select(**keep), w


def _lifetime_part(monthly: ir.Table) -> ir.Table:
    """``customer_id, lifetime_months, lost`` from the months a customer was active (business
    or products held)."""
    import ibis

    active = (monthly.amount.fill_null(0.0) > 0) | (monthly.products_held.fill_null(0.0) > 0)
    t = monthly.mutate(_active=active, _m=monthly.month.year() * 12 + monthly.month.month())
    end = t.aggregate(_end=t._m.max())
    per = t.group_by("customer_id").aggregate(
        _first=t._m.min(where=t._active), _last=t._m.max(where=t._active)
    )
    per = per.filter(per._first.notnull()).cross_join(end)
    lost = per._last < per._end
    return per.select(
        "customer_id",
        lifetime_months=(ibis.ifelse(lost, per._last, per._end) - per._first + 1).cast("int32"),
        lost=lost,
    )


@dataclass(frozen=True)
class _Clv:
    expr: ir.Table | None
    transactions: ClvFit | None
    spend: ClvFit | None
    warnings: tuple[Message, ...]


def _hyp2f1_series(a: Array, b: Array, c: Array, z: Array, log_scale: Array) -> Array:
    """``exp(log_scale) · 2F1(a, b; c; z)`` by summing the series term by term in logs (for
    0 <= z < 1), where scipy's ``hyp2f1`` gives up: a huge ``a`` with a tiny ``z`` (BG/NBD
    fitted to purchase rates that hardly vary, r and α both very large). Each term is kept
    with its sign (``c + k`` may be negative for k = 0 only)."""
    total = np.zeros_like(z)
    log_term = log_scale.copy()
    sign = np.ones_like(z)
    log_z = np.log(np.where(z > 0, z, 1.0))
    for k in range(_SERIES_MAX_TERMS):  # a loop over the series' terms, not over customers
        term = sign * np.exp(log_term)
        total += term
        if k > 0 and np.all(np.abs(term) <= 1e-16 * np.maximum(np.abs(total), 1e-300)):
            break
        ratio = (a + k) * (b + k) / ((c + k) * (k + 1))
        sign = sign * np.sign(ratio)
        with np.errstate(divide="ignore"):
            log_term = log_term + np.log(np.abs(ratio)) + log_z
        log_term = np.where(z > 0, log_term, -np.inf)
    return total


def conditional_expected(
    params: Sequence[float] | Array, t: float, frequency: Any, recency: Any, T: Any
) -> Array:
    """E[Y(t) | x, t_x, T] under BG/NBD: :func:`allegiance.methods.clv.bgnbd_conditional_expected`,
    with the hypergeometric term summed as a series where scipy returns no finite value."""
    from allegiance.methods import clv

    with np.errstate(all="ignore"):
        out = np.array(
            clv.bgnbd_conditional_expected(params, t, frequency, recency, T), dtype=float
        )
    bad = ~np.isfinite(out)
    if not bad.any():
        return out
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype=np.float64))
    x = np.asarray(frequency, dtype=float)[bad]
    tx = np.asarray(recency, dtype=float)[bad]
    t_ = np.asarray(T, dtype=float)[bad]
    z = t / (alpha + t_ + t)
    # ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z), with (α+T)/(α+T+t) = 1 - z
    with np.errstate(all="ignore"):
        product = _hyp2f1_series(r + x, b + x, a + b + x - 1, z, (r + x) * np.log1p(-z))
        lead = (a + b + x - 1) / (a - 1)
        out[bad] = lead * (1 - product) * clv.bgnbd_p_alive(params, x, tx, t_)
    return out


def _finite(values: Array) -> Array:
    """NaN (a null in the table) where a prediction is not a finite number."""
    out = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(out), out, np.nan)


def _predict_patterns(
    fit: ClvFit, patterns: pd.DataFrame, *, horizon: int, discount_rate: float
) -> pd.DataFrame:
    """P(alive), expected transactions in the next ``horizon`` months and the discounted
    expected transactions (CLV per unit of spend: ``Σ_k (E[Y(k)] - E[Y(k-1)]) / (1+d)^k``,
    as :func:`allegiance.methods.clv.customer_value`) for each distinct pattern, in
    batches of :data:`PATTERN_BATCH`."""
    from allegiance.methods import clv

    params = fit.param_array()
    parts = []
    for start in range(0, len(patterns), PATTERN_BATCH):
        chunk = patterns.iloc[start : start + PATTERN_BATCH]
        x = chunk["frequency"].to_numpy(dtype=float)
        tx = chunk["recency"].to_numpy(dtype=float)
        t_ = chunk["T"].to_numpy(dtype=float)
        discounted = np.zeros_like(x)
        previous = np.zeros_like(x)
        current = previous
        with np.errstate(all="ignore"):
            for k in range(1, horizon + 1):  # a loop over months
                current = conditional_expected(params, float(k), x, tx, t_)
                discounted += (current - previous) / (1 + discount_rate) ** k
                previous = current
            alive = clv.bgnbd_p_alive(params, x, tx, t_)
        parts.append(
            pd.DataFrame(
                {
                    "frequency": chunk["frequency"].to_numpy(),
                    "recency": tx,
                    "T": t_,
                    "p_alive": _finite(alive),
                    "expected_transactions": _finite(current),
                    "discounted": _finite(discounted),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _clv_part(
    engine: Engine,
    summary: ir.Table,
    *,
    horizon: int,
    discount_rate: float,
    margin: float,
    min_repeat: int,
) -> _Clv:
    """Fit BG/NBD (and Gamma-Gamma) on ``summary`` and predict for every customer in it."""
    import ibis

    from allegiance.methods import clv

    warnings: list[Message] = []
    patterns = engine.to_pandas(
        summary.group_by(["frequency", "recency", "T"]).aggregate(n=summary.count())
    )
    if patterns.empty:
        warnings.append(Message("customers.profile.no_clv", {"reason": "-"}))
        return _Clv(None, None, None, tuple(warnings))
    patterns = patterns.sort_values(["frequency", "recency", "T"], ignore_index=True)
    try:
        fit = clv.fit_bgnbd(
            patterns["frequency"].to_numpy(dtype=float),
            patterns["recency"].to_numpy(dtype=float),
            patterns["T"].to_numpy(dtype=float),
            weights=patterns["n"].to_numpy(dtype=float),
        )
    except AllegianceError as exc:
        warnings.append(Message("customers.profile.no_clv", {"reason": exc.message.render()}))
        return _Clv(None, None, None, tuple(warnings))
    warnings += list(fit.warnings)  # they say when the fit did not converge
    spend_fit = None
    repeat = summary.filter((summary.frequency > 0) & (summary.monetary_value > 0))
    n_repeat = int(engine.to_pandas(repeat.count()))
    if n_repeat > MAX_SPEND_ROWS:
        # the spend model is fitted on a random sample of the repeat customers (its
        # likelihood has one term per customer and amounts rarely repeat)
        # (by a hash of the id: the same customers every run, on DuckDB and on Spark)
        keep = int(_HASH_BUCKETS * MAX_SPEND_ROWS / n_repeat)
        repeat = repeat.filter((repeat.customer_id.hash() % _HASH_BUCKETS).abs() < keep)
        warnings.append(
            Message("customers.profile.spend_sample", {"n": MAX_SPEND_ROWS, "of": n_repeat})
        )
    spend_rows = engine.to_pandas(
        repeat.group_by(["frequency", "monetary_value"]).aggregate(n=repeat.count())
    )
    if spend_rows["n"].sum() >= min_repeat:
        spend_rows = spend_rows.sort_values(["frequency", "monetary_value"], ignore_index=True)
        try:
            spend_fit = clv.fit_gammagamma(
                spend_rows["frequency"].to_numpy(dtype=float),
                spend_rows["monetary_value"].to_numpy(dtype=float),
                weights=spend_rows["n"].to_numpy(dtype=float),
            )
        except AllegianceError as exc:
            warnings.append(Message("customers.profile.no_spend", {"reason": exc.message.render()}))
        else:
            warnings += list(spend_fit.warnings)
    else:
        warnings.append(
            Message(
                "customers.profile.few_repeat", {"n": int(spend_rows["n"].sum()), "min": min_repeat}
            )
        )
    predicted = _predict_patterns(fit, patterns, horizon=horizon, discount_rate=discount_rate)
    predicted["frequency"] = predicted["frequency"].astype("int64")
    pred = engine.table(predicted)
    pred = pred.rename({f"_p_{c}": c for c in ("frequency", "recency", "T")})
    j = summary.inner_join(
        pred,
        [
            summary.frequency == pred._p_frequency,
            summary.recency == pred._p_recency,
            summary["T"] == pred._p_T,
        ],
    )
    cols: dict[str, Any] = {
        "customer_id": j.customer_id.cast("string"),
        "p_alive": j.p_alive,
        "expected_transactions": j.expected_transactions,
    }
    if spend_fit is not None:
        p, q, g = (float(v) for v in spend_fit.param_array())
        x = j.frequency.cast("float64")
        m = ibis.ifelse(x > 0, j.monetary_value, 0.0)
        spend = (g + m * x) * p / (p * x + (q - 1.0))
        cols["expected_spend"] = spend
        cols["clv"] = margin * spend * j.discounted
    else:
        cols["expected_spend"] = ibis.null("float64")
        cols["clv"] = ibis.null("float64")
    return _Clv(j.select(**cols), fit, spend_fit, tuple(warnings))


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileResult:
    """What :func:`customer_profile` wrote and its summaries.

    - ``path``: the Parquet table (one row per customer, columns :data:`COLUMNS`);
    - ``levels``: ``level | customers | share | at_risk | mean_loyalty_score | mean_clv``;
    - ``grades``: ``grade | customers | share | clv | mean_p_alive``;
    - ``tiers``: ``tier | customers | share | monetary | clv``;
    - ``value``: one row: ``customers_valued | total_clv | mean_clv | median_clv |
      mean_p_alive | expected_transactions | horizon_months | discount_rate``;
    - ``head``: the first rows of the table.
    """

    path: Path
    n_customers: int
    n_at_risk: int
    levels: pd.DataFrame
    grades: pd.DataFrame
    tiers: pd.DataFrame
    value: pd.DataFrame
    head: pd.DataFrame
    weights: pd.DataFrame
    transactions_fit: ClvFit | None
    spend_fit: ClvFit | None
    settings: dict[str, Any] = field(default_factory=dict)
    steps_months: tuple[dt.date, ...] = ()
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "levels": self.levels,
            "grades": self.grades,
            "tiers": self.tiers,
            "value": self.value,
        }
        if self.transactions_fit is not None:
            out["clv_parameters"] = _parameters(self.transactions_fit)
        if self.spend_fit is not None:
            out["clv_spend_parameters"] = _parameters(self.spend_fit)
        out["head"] = self.head
        return out

    def to_dict(self) -> dict[str, Any]:
        return plain(  # type: ignore[no-any-return]
            {
                "path": str(self.path),
                "n_customers": self.n_customers,
                "n_at_risk": self.n_at_risk,
                "settings": self.settings,
                "steps_months": [m.isoformat() for m in self.steps_months],
                "levels": records(self.levels),
                "grades": records(self.grades),
                "tiers": records(self.tiers),
                "value": records(self.value),
                "loyalty_weights": records(self.weights),
                "bgnbd": _fit_dict(self.transactions_fit),
                "gammagamma": _fit_dict(self.spend_fit),
                "head": records(self.head),
            }
        )


def _parameters(fit: ClvFit) -> pd.DataFrame:
    """The fit's parameter table; without intervals where they overflow (a standard error
    thousands of times the estimate, as in a fit pushed to its limits)."""
    try:
        return fit.parameters_table()
    except OverflowError:
        return pd.DataFrame(
            {
                "parameter": list(fit.params),
                "estimate": list(fit.params.values()),
                "se": [fit.se.get(k, float("nan")) for k in fit.params],
            }
        )


def _fit_dict(fit: ClvFit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    try:
        return fit.to_dict()
    except OverflowError:
        return {
            "model": fit.model,
            "params": dict(fit.params),
            "se": dict(fit.se),
            "log_likelihood": fit.log_likelihood,
            "n": fit.n,
            "converged": fit.converged,
            "parameters": records(_parameters(fit)),
        }


def _share(frame: pd.DataFrame) -> pd.DataFrame:
    """``share`` of the customers inserted after ``customers``."""
    n = frame["customers"].sum()
    where = list(frame.columns).index("customers") + 1
    frame.insert(where, "share", frame["customers"] / n if n else 0.0)
    return frame


def summarise_profile(
    engine: Engine,
    table: ir.Table,
    /,
    *,
    tiers: Sequence[str] | None = None,
    head: int = 10,
) -> dict[str, Any]:
    """Summaries of a profile table (:func:`read_profile`): ``levels``, ``grades``, ``tiers``
    and ``value`` frames (as in :class:`ProfileResult`; one grouped query rolled up in
    pandas, one for the median CLV), the first ``head`` rows, ``n`` customers, ``at_risk``
    and ``mean_loyalty_score``.
    ``tiers`` orders the pyramid tiers (default: the shipped tiers, then any others)."""
    from allegiance.customers.segments import DEFAULT_TIERS, GRADES

    grades = GRADES
    clv_known = table.clv.notnull()
    cells = engine.to_pandas(
        table.group_by(["level", "grade", "tier"]).aggregate(
            customers=table.count(),
            at_risk=table.at_risk.cast("int64").sum(),
            score_sum=table.loyalty_score.sum(),
            score_n=table.loyalty_score.count(),
            clv_sum=table.clv.sum(),
            clv_n=table.clv.count(),
            alive_sum=table.p_alive.sum(),
            alive_n=table.p_alive.count(),
            monetary=table.monetary.sum(),
            expected_transactions=table.expected_transactions.sum(),
        )
    )
    cells["level"] = cells["level"].astype("int64")
    if tiers is None:
        present = sorted(str(x) for x in cells["tier"].dropna().unique())
        shipped = [n for n, _ in DEFAULT_TIERS]
        tiers = [n for n in shipped if n in present] + [n for n in present if n not in shipped]
    for col in ("at_risk", "score_n", "clv_n", "alive_n", "customers"):
        cells[col] = cells[col].fillna(0).astype("int64")

    def mean(total: pd.Series, n: pd.Series) -> pd.Series:
        return (total / n.where(n > 0)).astype("float64")

    by_level = cells.groupby("level").sum(numeric_only=True).sort_index()
    levels = pd.DataFrame(
        {
            "level": by_level.index.astype("int64"),
            "customers": by_level["customers"].to_numpy(),
            "at_risk": by_level["at_risk"].to_numpy(),
            "mean_loyalty_score": mean(by_level["score_sum"], by_level["score_n"]).to_numpy(),
            "mean_clv": mean(by_level["clv_sum"], by_level["clv_n"]).to_numpy(),
        }
    )
    by_grade = cells.dropna(subset=["grade"]).groupby("grade").sum(numeric_only=True)
    by_grade = by_grade.reindex(list(grades)).fillna(0.0)
    grade_frame = pd.DataFrame(
        {
            "grade": list(grades),
            "customers": by_grade["customers"].astype("int64").to_numpy(),
            "clv": by_grade["clv_sum"].where(by_grade["clv_n"] > 0).to_numpy(),
            "mean_p_alive": mean(by_grade["alive_sum"], by_grade["alive_n"]).to_numpy(),
        }
    )
    by_tier = cells.dropna(subset=["tier"]).groupby("tier").sum(numeric_only=True)
    by_tier = by_tier.reindex(list(tiers)).fillna(0.0)
    tier_frame = pd.DataFrame(
        {
            "tier": list(tiers),
            "customers": by_tier["customers"].astype("int64").to_numpy(),
            "monetary": by_tier["monetary"].to_numpy(),
            "clv": by_tier["clv_sum"].where(by_tier["clv_n"] > 0).to_numpy(),
        }
    )
    valued = table.filter(clv_known)
    stats = engine.to_pandas(valued.aggregate(median_clv=valued.clv.quantile(0.5)))
    n_valued = int(cells["clv_n"].sum())
    total_clv = float(cells["clv_sum"].sum()) if n_valued else float("nan")
    n_alive = int(cells["alive_n"].sum())
    value = pd.DataFrame(
        [
            {
                "customers_valued": n_valued,
                "total_clv": total_clv,
                "mean_clv": total_clv / n_valued if n_valued else float("nan"),
                "median_clv": float(stats["median_clv"].iloc[0]) if n_valued else float("nan"),
                "mean_p_alive": float(cells["alive_sum"].sum()) / n_alive
                if n_alive
                else float("nan"),
                "expected_transactions": float(cells["expected_transactions"].sum())
                if n_alive
                else float("nan"),
            }
        ]
    )
    first = engine.to_pandas(table.order_by("customer_id").limit(head))
    return {
        "levels": _share(levels),
        "grades": _share(grade_frame),
        "tiers": _share(tier_frame),
        "value": value,
        "head": first,
        "n": int(cells["customers"].sum()),
        "at_risk": int(cells["at_risk"].sum()),
        "mean_loyalty_score": float(cells["score_sum"].sum()) / int(cells["score_n"].sum())
        if int(cells["score_n"].sum())
        else float("nan"),
    }


# --------------------------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------------------------


def customer_profile(
    engine: Engine,
    activity: ir.Table,
    /,
    *,
    path: str | os.PathLike[str],
    steps: str | os.PathLike[str],
    customers: ir.Table | None = None,
    facts: Any = None,
    transactions: ir.Table | None = None,
    rules: StepRules | str | Path | None = None,
    full: bool = False,
    steps_since: dt.date | None = None,
    hierarchy: HierarchyResult | str | Path | None = None,
    normalisation: str = "max",
    caps: Mapping[str, float] | None = None,
    q: int = 5,
    tiers: Sequence[tuple[str, float]] | None = None,
    weights: Mapping[str, float] | None = None,
    cuts: Sequence[float] = (0.7, 0.4),
    scaling: str = "rank",
    horizon: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    min_repeat: int = 10,
    risk_months: int = 1,
    risk_drop: int = 2,
    head: int = 10,
    progress: Progress | None = None,
    lang: str = "en",
) -> ProfileResult:
    """Assemble the per-customer table and write it as Parquet at ``path``.

    ``activity`` and ``customers`` (and ``transactions``, a purchase log for the CLV models
    instead of the activity's purchases) are tables read by
    :func:`~allegiance.customers.inputs.read_source` (our role names). ``steps`` is the folder
    of the step engine's state: the run is brought up to date first (new months only; all
    months with ``full``; ``steps_since`` lets the engine read the activity from that month
    on only), so ``allegiance loyalty explain|at-risk`` read the same state. ``facts`` are
    the loyalty facts of the AHP score (``customer_id, product_types, sole_supplier,
    ever_switched``). ``horizon`` (months) and ``discount_rate`` (per month) value the
    customers; ``margin`` multiplies the CLV (1: revenue). The other options are those of
    :func:`~allegiance.customers.segments.segments` and
    :func:`~allegiance.customers.loyalty_score.loyalty_score`.
    """
    import ibis

    from allegiance.customers.loyalty_score import factor_table
    from allegiance.customers.segments import DEFAULT_TIERS, customer_values_for
    from allegiance.customers.steps import run_steps
    from allegiance.customers.summary import rfm_summary

    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValidationError("customers.profile.bad_horizon", value=repr(horizon))
    if not -1 < discount_rate < 1:
        raise ValidationError("customers.profile.bad_discount", value=repr(discount_rate))
    if risk_months < 1 or risk_drop < 1:
        raise ValidationError(
            "customers.profile.bad_risk", months=repr(risk_months), drop=repr(risk_drop)
        )
    if not isinstance(margin, int | float) or not margin > 0:
        raise ValidationError("customers.profile.bad_margin", value=repr(margin))
    tier_list = tuple(tiers) if tiers is not None else DEFAULT_TIERS
    tick = progress or (lambda _s, _d, _t: None)
    n_steps = 6
    out = Path(path)
    folder = Path(steps)
    monthly = monthly_activity(activity)
    warnings: list[Message] = []

    step_input = monthly
    if steps_since is not None:
        since = ibis.literal(steps_since.replace(day=1), type="date")
        step_input = monthly.filter(monthly.month >= since)
    steps_result = run_steps(
        engine,
        step_input,
        folder=folder,
        rules=rules,
        customers=None if customers is None else _customers_for_score(customers, monthly),
        full=full,
        lang=lang,
    )
    tick("steps", 1, n_steps)
    state = engine.table(folder / "state.parquet")
    level_expr = _level_part(engine, folder, state, months=risk_months, drop=risk_drop)
    with _materialised(engine, level_expr) as levels:
        factor_expr = factor_table(
            engine, _customers_for_score(customers, levels), monthly, facts=facts
        )
        with _materialised(engine, factor_expr) as factors:
            score, score_weights, score_warnings = _score_part(
                engine, factors, hierarchy=hierarchy, normalisation=normalisation, caps=caps
            )
            warnings += list(score_warnings)
            tick("score", 2, n_steps)
            with _materialised(
                engine, customer_values_for(engine, activity, customers=customers)
            ) as values:
                seg_part, used_weights = _segments_part(
                    values, q=q, tiers=tier_list, weights=weights, cuts=cuts, scaling=scaling
                )
                tick("segments", 3, n_steps)
                source = transactions if transactions is not None else activity
                summary_expr = rfm_summary(
                    purchase_occasions(source),
                    observation_end=observation_end(
                        engine,
                        source,
                        monthly=transactions is None and activity_layout(activity) == "monthly",
                    ),
                    customer_id="customer_id",
                    timestamp="date",
                    amount="amount",
                    unit_days=MONTH_DAYS,
                )
                with _materialised(engine, summary_expr) as summary:
                    value = _clv_part(
                        engine,
                        summary,
                        horizon=horizon,
                        discount_rate=discount_rate,
                        margin=margin,
                        min_repeat=min_repeat,
                    )
                    warnings += list(value.warnings)
                    tick("clv", 4, n_steps)
                    table = _assemble(levels, customers, score, seg_part, value, monthly)
                    _write_parquet(engine, table, out)
                    tick("write", 5, n_steps)
    written = read_profile(engine, out)
    sums = summarise_profile(engine, written, tiers=[n for n, _ in tier_list], head=head)
    value_frame = sums["value"]
    value_frame["horizon_months"] = horizon
    value_frame["discount_rate"] = discount_rate
    tick("summaries", 6, n_steps)
    result = ProfileResult(
        path=out,
        n_customers=sums["n"],
        n_at_risk=sums["at_risk"],
        levels=sums["levels"],
        grades=sums["grades"],
        tiers=sums["tiers"],
        value=value_frame,
        head=sums["head"],
        weights=score_weights,
        transactions_fit=value.transactions,
        spend_fit=value.spend,
        settings={
            "steps": str(folder),
            "rules_fingerprint": steps_result.rules_used.fingerprint(),
            "steps_since": steps_since,
            "horizon_months": horizon,
            "discount_rate": discount_rate,
            "margin": margin,
            "risk_months": risk_months,
            "risk_drop": risk_drop,
            "q": q,
            "tiers": [list(t) for t in tier_list],
            "weights": used_weights,
            "cuts": list(cuts),
            "scaling": scaling,
            "normalisation": normalisation,
            "clv_time_unit_days": MONTH_DAYS,
        },
        steps_months=steps_result.months,
        warnings=tuple(warnings),
    )
    _write_meta(result)
    return result


def meta_path(path: str | os.PathLike[str], /) -> Path:
    """The JSON file written beside a profile table: its settings, the fitted models and the
    warnings (``customer_profile.parquet`` → ``customer_profile.json``)."""
    p = Path(path)
    return p.with_name(p.name.removesuffix(".parquet") + ".json")


def _write_meta(result: ProfileResult) -> None:
    data = result.to_dict()
    data.pop("head", None)
    data["warnings"] = [{"key": w.key, "params": plain(w.params)} for w in result.warnings]
    target = meta_path(result.path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(target)


def read_meta(path: str | os.PathLike[str], /) -> dict[str, Any]:
    """What :func:`customer_profile` wrote beside the table at ``path`` (``{}`` if nothing)."""
    target = meta_path(path)
    if not target.is_file():
        return {}
    data = json.loads(target.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _assemble(
    levels: ir.Table,
    customers: ir.Table | None,
    score: ir.Table,
    segments_part: ir.Table,
    value: _Clv,
    monthly: ir.Table,
) -> ir.Table:
    """One row per customer of the step state, every part left-joined on ``customer_id``."""
    import ibis

    table = levels
    if customers is not None:
        extra = [c for c in ("segment", "region") if c in customers.columns]
        if extra:
            info = customers.select(
                _j_customer_id=customers.customer.cast("string"),
                **{c: customers[c].cast("string") for c in extra},
            )
            j = table.left_join(info, table.customer_id == info._j_customer_id)
            table = j.select(*levels.columns, *extra)
    front = ["customer_id", *[c for c in table.columns if c not in levels.columns]]

    def attach(base: ir.Table, part: ir.Table) -> ir.Table:
        p = part.rename({f"_j_{c}": c for c in part.columns})
        j = base.left_join(p, base.customer_id == p._j_customer_id)
        return j.select(
            *base.columns, **{c: j[f"_j_{c}"] for c in part.columns if c != "customer_id"}
        )

    table = attach(table, score)
    table = attach(table, segments_part)
    if value.expr is not None:
        table = attach(table, value.expr)
    else:
        table = table.mutate(
            p_alive=ibis.null("float64"),
            expected_transactions=ibis.null("float64"),
            expected_spend=ibis.null("float64"),
            clv=ibis.null("float64"),
        )
    table = attach(table, _lifetime_part(monthly))
    names = front + [c for c in COLUMNS if c in table.columns and c not in front]
    return table.select(*names).order_by("customer_id")


# --------------------------------------------------------------------------------------------
# A project's data folder
# --------------------------------------------------------------------------------------------


def profile_folder(
    data_dir: str | os.PathLike[str],
    /,
    *,
    step_months: int | None = None,
    full: bool = False,
    rules: StepRules | str | Path | None = None,
    lang: str = "en",
    progress: Progress | None = None,
) -> ProfileResult:
    """:func:`customer_profile` of the tables in a project's ``data/`` folder on DuckDB:
    ``activity.parquet``, ``customers.parquet`` and ``loyalty_facts.parquet`` (when present)
    in; the state in ``loyalty_steps/`` and ``customer_profile.parquet`` out. With
    ``step_months`` the step engine reads the last that many months only."""
    from allegiance.customers.engine import connect
    from allegiance.customers.inputs import read_source

    folder = Path(data_dir)
    facts = folder / "loyalty_facts.parquet"
    customers = folder / "customers.parquet"
    with connect("duckdb") as engine:
        activity = read_source(engine, str(folder / "activity.parquet"), kind="activity")
        cust = (
            read_source(engine, str(customers), kind="customers") if customers.is_file() else None
        )
        since = None
        if step_months is not None:
            last = pd.Timestamp(engine.to_pandas(activity.date.max()))
            first = (last.to_period("M") - (step_months - 1)).to_timestamp()
            since = dt.date(first.year, first.month, 1)
        return customer_profile(
            engine,
            activity,
            customers=cust,
            facts=str(facts) if facts.is_file() else None,
            steps=folder / STEPS_FOLDER,
            path=folder / f"{PROFILE_TABLE}.parquet",
            full=full,
            rules=rules,
            steps_since=since,
            progress=progress,
            lang=lang,
        )


def warm_up() -> None:
    """Load what :func:`profile_job` needs (ibis and its DuckDB compiler, scipy's optimisers,
    the analyses), so that a worker process started early has it ready."""
    import allegiance.customers.loyalty_score
    import allegiance.customers.segments
    import allegiance.customers.steps
    import allegiance.customers.summary
    import allegiance.methods.ahp
    import allegiance.methods.clv  # noqa: F401
    from allegiance.customers.engine import connect

    with connect("duckdb") as engine:
        t = engine.table(pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}))
        engine.to_pandas(t.group_by("customer_id").aggregate(total=t.amount.sum()))


def profile_job(data_dir: str, step_months: int | None, lang: str | None) -> dict[str, Any]:
    """:func:`profile_folder` for a worker process (the demo runs it beside the report; this
    module imports far less than :mod:`allegiance.workflow`): the seconds taken, and an
    error as its catalogue key and parameters (an :class:`AllegianceError` does not survive
    pickling)."""
    import time

    from allegiance.i18n import normalize_lang

    started = time.perf_counter()
    try:
        profile_folder(
            data_dir, step_months=step_months, full=True, lang=normalize_lang(lang) or "en"
        )
    except AllegianceError as exc:
        return {"seconds": time.perf_counter() - started, "key": exc.key, "params": exc.params}
    return {"seconds": time.perf_counter() - started}


def serve_profile() -> None:
    """The worker process of ``allegiance demo``: load the libraries (:func:`warm_up`), read
    one request from standard input (``{"args": [data_dir, step_months, lang], "out": path}``),
    run :func:`profile_job` and write its outcome as JSON to ``out``. An empty input ends it."""
    import sys

    warm_up()
    line = sys.stdin.readline()
    if not line.strip():
        return
    request = json.loads(line)
    outcome = profile_job(*request["args"])
    target = Path(request["out"])
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(plain(outcome)), encoding="utf-8")
    tmp.replace(target)


# --------------------------------------------------------------------------------------------
# Month-to-month level flows
# --------------------------------------------------------------------------------------------


def level_flows(
    engine: Engine, steps: str | os.PathLike[str], /, *, months: int = 6
) -> pd.DataFrame:
    """Customers moving between levels from month to month over the last ``months``
    transitions of a step-engine run: ``month_from | month_to | level_from | level_to |
    customers`` (staying on a level is a flow too).

    Each customer's level at the end of an earlier month is the level now minus the moves
    after it (the moves are the whole history, so this is exact for every customer in the
    state; a customer who appeared later is counted from the level they started on)."""
    import ibis

    from allegiance.customers.steps import read_moves

    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise ValidationError("customers.profile.bad_flow_months", value=repr(months))
    folder = Path(steps)
    path = folder / "levels.parquet"
    if not (folder / "state.parquet").exists() or not path.exists():
        raise InputError("loyalty.steps.no_run", folder=str(folder))
    done = [pd.Timestamp(m).date() for m in sorted(set(pd.read_parquet(path)["month"]))]
    span = done[-(months + 1) :]
    empty = pd.DataFrame(
        {
            "month_from": pd.Series([], dtype=object),
            "month_to": pd.Series([], dtype=object),
            "level_from": pd.Series([], dtype="int64"),
            "level_to": pd.Series([], dtype="int64"),
            "customers": pd.Series([], dtype="int64"),
        }
    )
    if len(span) < 2:
        return empty
    state = engine.table(folder / "state.parquet")
    base = state.select(
        customer_id=state.customer_id.cast("string"), _level=state.level.cast("int32")
    )
    moves = read_moves(engine, folder)
    later = span[1:]
    if moves is not None:
        recent = moves.filter(moves.month >= ibis.literal(later[0], type="date"))
        delta = recent.new_level.cast("int32") - recent.old_level.cast("int32")
        per = recent.group_by(_cid=recent.customer_id.cast("string")).aggregate(
            **{
                f"_d{i}": delta.sum(where=recent.month == ibis.literal(m, type="date"))
                for i, m in enumerate(later)
            }
        )
        j = base.left_join(per, base.customer_id == per._cid)
        changes = {f"_d{i}": j[f"_d{i}"].fill_null(0) for i in range(len(later))}
        t = j.select("customer_id", "_level", **changes)
    else:
        t = base.mutate(**{f"_d{i}": ibis.literal(0, type="int32") for i in range(len(later))})
    # level at the end of span[k] = level now - the changes of the months after it
    ends: dict[str, Any] = {}
    for k in range(len(span)):
        after = [t[f"_d{i}"] for i in range(k, len(later))]
        lv: Any = t._level
        for d in after:
            lv = lv - d
        ends[f"_l{k}"] = lv.cast("int32")
    lv_table = t.select(**ends)
    parts = []
    for k in range(len(span) - 1):
        a, b = f"_l{k}", f"_l{k + 1}"
        g = lv_table.group_by(level_from=lv_table[a], level_to=lv_table[b]).aggregate(
            customers=lv_table.count()
        )
        parts.append(
            g.mutate(
                step=ibis.literal(k, type="int32"),
            )
        )
    union = ibis.union(*parts) if len(parts) > 1 else parts[0]
    frame = engine.to_pandas(union)
    if frame.empty:
        return empty
    frame["month_from"] = [span[int(k)] for k in frame["step"]]
    frame["month_to"] = [span[int(k) + 1] for k in frame["step"]]
    frame = frame.sort_values(["step", "level_from", "level_to"], ignore_index=True)
    return pd.DataFrame(
        {
            "month_from": frame["month_from"],
            "month_to": frame["month_to"],
            "level_from": frame["level_from"].astype("int64"),
            "level_to": frame["level_to"].astype("int64"),
            "customers": frame["customers"].astype("int64"),
        }
    )
