"""The condensed (frequency, recency, T, monetary_value) summary of a transaction log.

The input of the buy-till-you-die models (:mod:`allegiance.methods.clv`) is one row per
customer, computed where the transactions live (DuckDB or Spark) as one Ibis expression:

- purchases are counted per calendar day (several transactions on one day are one purchase
  occasion, their amounts summed), as Fader, Hardie & Lee (2005) and the lifetimes package
  do;
- ``frequency`` = purchase days after the first one (repeat purchases);
- ``recency`` = time from the first to the last purchase day, ``T`` = time from the first
  purchase day to ``observation_end``, both in units of ``unit_days`` days (7 for weeks);
- ``monetary_value`` = mean amount per repeat purchase day (0 when there is none): the first
  purchase is left out, as the Gamma-Gamma model expects.

Transactions after ``observation_end`` are ignored (a calibration period ending then).

>>> import pandas as pd
>>> from allegiance.customers.engine import connect
>>> log = pd.DataFrame({"customer_id": [1, 1, 1, 2],
...                     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-08",
...                                                  "2024-01-15", "2024-01-10"]),
...                     "amount": [10.0, 20.0, 40.0, 5.0]})
>>> with connect() as eng:
...     out = summarize_transactions(eng, eng.table(log), amount="amount",
...                                  observation_end="2024-01-29", unit_days=7)
>>> out[["customer_id", "frequency", "recency", "T", "monetary_value"]]
   customer_id  frequency  recency         T  monetary_value
0            1          2      2.0  4.000000            30.0
1            2          0      0.0  2.714286             0.0
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from allegiance.errors import InputError, ValidationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine

__all__ = ["rfm_summary", "summarize_transactions"]


def _as_date(value: str | dt.date | dt.datetime | pd.Timestamp) -> dt.date:
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise ValidationError("clv.error.date", value=str(value)) from exc


def rfm_summary(
    table: ir.Table,
    /,
    *,
    observation_end: str | dt.date | dt.datetime | pd.Timestamp,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
    unit_days: float = 1.0,
) -> ir.Table:
    """The per-customer summary as an Ibis expression (run it with an engine).

    Columns: ``customer_id, frequency, recency, T, first_purchase[, monetary_value]``.
    """
    import ibis

    wanted = [customer_id, timestamp, *([amount] if amount else [])]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise InputError(
            "engine.error.missing_columns",
            path="transactions",
            columns=", ".join(missing),
            available=", ".join(table.columns),
        )
    if unit_days <= 0:
        raise ValidationError("clv.error.unit")
    end = _as_date(observation_end)
    end_lit = ibis.literal(end)
    day = table[timestamp].cast("date")
    t = table.mutate(_cust=table[customer_id], _day=day).filter(day <= end_lit)
    aggs: dict[str, Any] = {}
    if amount:
        aggs["_amount"] = t[amount].cast("float64").sum()
    daily = (
        t.group_by(["_cust", "_day"]).aggregate(**aggs)
        if aggs
        else t.select("_cust", "_day").distinct()
    )
    firsts = daily.group_by("_cust").aggregate(_first=daily._day.min())
    joined = daily.join(firsts, "_cust")
    metrics: dict[str, Any] = {
        "_n": joined._day.count(),
        "_first_day": joined._first.min(),
        "_last_day": joined._day.max(),
    }
    if amount:
        metrics["_repeat"] = ibis.cases(
            (joined._day > joined._first, joined._amount), else_=0.0
        ).sum()
    per = joined.group_by("_cust").aggregate(**metrics)
    first_days = per._first_day.epoch_days()
    frequency = (per._n - 1).cast("int64")
    columns: dict[str, Any] = {
        customer_id: per._cust,
        "frequency": frequency,
        "recency": ((per._last_day.epoch_days() - first_days).cast("float64") / unit_days),
        "T": ((ibis.literal(end).epoch_days() - first_days).cast("float64") / unit_days),
        "first_purchase": per._first_day,
    }
    if amount:
        columns["monetary_value"] = ibis.cases(
            (frequency > 0, per._repeat / frequency.cast("float64")), else_=0.0
        )
    return per.select(**columns).order_by(customer_id)


def summarize_transactions(
    engine: Engine,
    table: ir.Table,
    /,
    *,
    observation_end: str | dt.date | dt.datetime | pd.Timestamp | None = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
    unit_days: float = 1.0,
) -> pd.DataFrame:
    """Run :func:`rfm_summary` on ``engine`` and return a DataFrame. Without
    ``observation_end`` the last transaction day is used."""
    if observation_end is None:
        if timestamp not in table.columns:
            raise InputError(
                "engine.error.missing_columns",
                path="transactions",
                columns=timestamp,
                available=", ".join(table.columns),
            )
        last = engine.to_pandas(table[timestamp].cast("date").max())
        if last is None or pd.isna(last):
            raise ValidationError("clv.error.empty")
        observation_end = pd.Timestamp(last)
    expr = rfm_summary(
        table,
        observation_end=observation_end,
        customer_id=customer_id,
        timestamp=timestamp,
        amount=amount,
        unit_days=unit_days,
    )
    frame: pd.DataFrame = engine.to_pandas(expr)
    return frame.reset_index(drop=True)
