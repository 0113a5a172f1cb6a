"""Complaint analysis (顾客抱怨分析, SPEC sections 2 and 6): what a service manager works with.

Every function takes a frame of complaints, one row per complaint, with the columns of the
complaint register (``complaint_key, customer_id, received_at, channel, product,
cause_code, cause_class, severity, first_response_at, resolved_at, compensation,
satisfaction_after, escalated_to`` …; each name is a keyword argument):

- :func:`pareto`: count, share and cumulative share per cause, largest first, and the *vital
  few* causes up to and including the one whose cumulative share reaches ``threshold``
  (80 %); the share of each cause class 1-4. The cause may be given as a code, a Chinese or
  English name (the taxonomy resolves it); the class comes from the data when given, else
  from the taxonomy (a difference is reported).
- :func:`sla`: time to first response and to resolution against the service level of each
  complaint's severity. A complaint is *due* once its deadline (received + SLA hours) is
  past ``as_of``; ``share_within`` is the share of due complaints answered (resolved) in
  time. Percentiles of the times are Kaplan-Meier estimates, complaints still waiting
  being censored at ``as_of`` (a plain percentile of the finished ones would be too low).
- :func:`recovery`: the share re-satisfied after recovery (``satisfaction_after`` at or above
  the threshold, 4 on 1-5 by default), with Wilson intervals, by group; retention after the
  complaint (still a customer ``horizon_days`` later) from a customer table (the date the
  customer left) or an activity table; where else customers went (``escalated_to``).
- :func:`complaint_rate`: complaints per 1,000 customers, overall or per period.
- :func:`iceberg`: SPEC section 2 says only about 5 % of dissatisfied customers complain
  (95 % leave quietly), so ``complainants / 0.05`` estimates the dissatisfied customers. The
  5 % is an assumption from the source material, an option, and stated in every output.
- :func:`trends`: counts per period by product, channel … with a least-squares trend.
- :func:`summarize`: all of it at once (the ``complaints summary`` command, the report).

>>> import pandas as pd
>>> data = pd.DataFrame({"cause": ["服务态度", "price", "Price", "price"]})
>>> result = pareto(data, cause="cause")
>>> result.table[["cause", "count", "share", "cumulative_share", "vital_few"]]
              cause  count  share  cumulative_share  vital_few
0             price      3   0.75              0.75       True
1  service_attitude      1   0.25              1.00       True
>>> result.classes[["cause_class", "count", "share"]]
   cause_class  count  share
0            1      3   0.75
1            2      1   0.25
2            3      0   0.00
3            4      0   0.00
>>> iceberg(30).dissatisfied_estimate
600.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.i18n import Message
from allegiance.methods.intervals import wilson_interval
from allegiance.results import plain, records

if TYPE_CHECKING:
    from allegiance.complaints.handling import Workflow
    from allegiance.complaints.taxonomy import Taxonomy

__all__ = [
    "DEFAULT_COMPLAIN_SHARE",
    "PERIODS",
    "ComplaintRate",
    "ComplaintsSummary",
    "IcebergEstimate",
    "ParetoResult",
    "RecoveryResult",
    "SlaResult",
    "TrendResult",
    "complaint_rate",
    "iceberg",
    "km_quantiles",
    "pareto",
    "recovery",
    "sla",
    "summarize",
    "trends",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Period = Literal["week", "month", "quarter", "year"]

#: SPEC section 2: about 5 % of dissatisfied customers complain (95 % leave quietly).
DEFAULT_COMPLAIN_SHARE = 0.05
#: Period names and the pandas frequencies they stand for.
PERIODS: dict[str, str] = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_CLASSES = (1, 2, 3, 4)
_MAX_EXAMPLES = 5


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _frame(data: Any, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("scales.not_a_frame", kind=type(data).__name__)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def _taxonomy(taxonomy: Taxonomy | None) -> Taxonomy:
    if taxonomy is not None:
        return taxonomy
    from allegiance.complaints.taxonomy import load_taxonomy

    return load_taxonomy()


def _workflow(workflow: Workflow | None) -> Workflow:
    if workflow is not None:
        return workflow
    from allegiance.complaints.handling import load_workflow

    return load_workflow()


def _is_blank(series: pd.Series) -> BoolArray:
    text = series.astype("string").str.strip()
    return np.asarray((series.isna() | (text == "")).to_numpy(dtype=bool), dtype=np.bool_)


def _utc(series: pd.Series, *, column: str) -> pd.Series:
    """A column of times as timezone-aware UTC (naive times are taken as UTC)."""
    out: pd.Series
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        out = series.dt.tz_convert("UTC")
        return out
    if pd.api.types.is_datetime64_dtype(series.dtype):
        out = series.dt.tz_localize("UTC")
        return out
    try:
        parsed = pd.to_datetime(series, utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputError("complaints.bad_times", column=column, detail=str(exc)[:120]) from None
    return parsed


def _naive(series: pd.Series) -> npt.NDArray[np.datetime64]:
    """Timezone-aware UTC times as naive UTC ``datetime64[ns]`` (NaT where missing)."""
    out: npt.NDArray[np.datetime64] = (
        series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    )
    return out


def _as_of(value: Any, candidates: Sequence[pd.Series]) -> pd.Timestamp:
    if value is not None:
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    latest = [s.max() for s in candidates if s.notna().any()]
    if not latest:
        raise InputError("complaints.no_times")
    return pd.Timestamp(max(latest))


def _period_index(times: pd.Series, period: str) -> pd.Series:
    freq = PERIODS.get(period)
    if freq is None:
        raise ValidationError(
            "complaints.bad_period", value=str(period), allowed=", ".join(PERIODS)
        )
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    out: pd.Series = naive.dt.to_period(freq)
    return out


def _period_labels(periods: pd.PeriodIndex) -> list[str]:
    if periods.freqstr.startswith("W"):
        return [p.start_time.strftime("%Y-%m-%d") for p in periods]
    return [str(p) for p in periods]


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _wilson(k: FloatArray, n: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1.0), np.nan)
    ci = wilson_interval(p, n, confidence=confidence)
    return ci.low, ci.high


def _examples(values: Sequence[object]) -> str:
    shown = [str(v) for v in list(dict.fromkeys(values))[:_MAX_EXAMPLES]]
    return ", ".join(shown)


# --------------------------------------------------------------------------------------------
# Pareto by cause
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ParetoResult:
    """Causes in Pareto order and the cause-class shares.

    ``table``: ``rank, cause, name_en, name_zh, cause_class, count, share,
    cumulative_share, vital_few`` (largest first; ties in taxonomy order).
    ``classes``: ``cause_class, name_en, name_zh, count, share`` for classes 1-4.
    """

    table: pd.DataFrame
    classes: pd.DataFrame
    n: int
    n_missing: int
    threshold: float
    warnings: tuple[Message, ...] = ()

    @property
    def vital_few(self) -> list[str]:
        """The causes up to and including the one whose cumulative share reaches the threshold."""
        return [str(c) for c in self.table.loc[self.table["vital_few"], "cause"]]

    @property
    def vital_few_share(self) -> float:
        chosen = self.table.loc[self.table["vital_few"], "share"]
        return float(chosen.sum()) if len(chosen) else math.nan

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"pareto": self.table, "classes": self.classes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaints pareto",
            "n": self.n,
            "n_missing": self.n_missing,
            "threshold": self.threshold,
            "vital_few": self.vital_few,
            "vital_few_share": plain(self.vital_few_share),
            "causes": records(self.table),
            "classes": records(self.classes),
        }


def _class_values(series: pd.Series, *, column: str) -> npt.NDArray[np.int64]:
    out = np.zeros(len(series), dtype=np.int64)
    for pos, value in enumerate(series.tolist()):
        text = str(value).strip()
        if value is None or (isinstance(value, float) and math.isnan(value)) or text == "":
            continue
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if number not in (1.0, 2.0, 3.0, 4.0):
            raise InputError(
                "complaints.bad_class_value",
                row=str(series.index[pos]),
                column=column,
                value=text,
            )
        out[pos] = int(number)
    return out


def pareto(
    data: pd.DataFrame,
    /,
    *,
    cause: str = "cause_code",
    cause_class: str | None = None,
    taxonomy: Taxonomy | None = None,
    threshold: float = 0.8,
    all_causes: bool = False,
) -> ParetoResult:
    """Complaints per cause in Pareto order, the vital few, and the class shares.

    ``cause`` names the cause column (code, Chinese or English name, alias). With
    ``cause_class`` (a column of classes 1-4) the data's class is used and a difference from
    the taxonomy is reported as a warning; causes outside the taxonomy are then kept as
    written. Without it the taxonomy gives the class and a cause it does not know is an
    error naming the row. Rows without a cause are left out (counted in ``n_missing``).
    ``all_causes`` lists taxonomy causes nobody named too, with a count of 0.
    """
    frame = _frame(data, [cause] + ([cause_class] if cause_class else []))
    if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) <= 1.0:
        raise ValidationError("complaints.bad_threshold", value=str(threshold))
    tax = _taxonomy(taxonomy)
    values = frame[cause]
    blank = _is_blank(values)
    warnings: list[Message] = []
    if blank.any():
        warnings.append(
            Message("complaints.warn.no_cause", {"n": int(blank.sum()), "column": cause})
        )
    kept = values[~blank]
    given: npt.NDArray[np.int64] | None = None
    if cause_class is not None:
        given = _class_values(frame[cause_class], column=cause_class)[~blank]

    raw = kept.astype("string").str.strip()
    found = {v: tax.resolve(v) for v in pd.unique(raw)}
    unknown = [v for v, c in found.items() if c is None]
    if unknown and given is None:
        first = next(i for i, v in zip(kept.index, raw, strict=True) if found[v] is None)
        raise InputError(
            "complaints.unknown_cause",
            row=str(first),
            column=cause,
            value=str(raw[first]),
            codes=_examples(tax.codes()),
        )
    if unknown:
        warnings.append(
            Message(
                "complaints.warn.not_in_taxonomy",
                {"n": len(unknown), "examples": _examples(unknown)},
            )
        )
    codes = np.array([c.code if (c := found[v]) is not None else str(v) for v in raw], dtype=object)
    tax_class = np.array(
        [c.klass if (c := found[v]) is not None else 0 for v in raw], dtype=np.int64
    )
    if given is not None:
        no_class = given == 0
        fill = no_class & (tax_class > 0)
        given = np.where(fill, tax_class, given)
        still = given == 0
        if still.any():
            first = kept.index[int(np.argmax(still))]
            raise InputError(
                "complaints.no_class",
                row=str(first),
                column=str(cause_class),
                cause=str(codes[int(np.argmax(still))]),
            )
        differ = (tax_class > 0) & (given != tax_class)
        if differ.any():
            pos = int(np.argmax(differ))
            warnings.append(
                Message(
                    "complaints.warn.class_mismatch",
                    {
                        "n": int(differ.sum()),
                        "cause": str(codes[pos]),
                        "given": int(given[pos]),
                        "expected": int(tax_class[pos]),
                    },
                )
            )
        klass = given
    else:
        klass = tax_class

    n = len(codes)
    counted = (
        pd.DataFrame({"cause": codes, "cause_class": klass})
        .groupby(["cause", "cause_class"], sort=False)
        .size()
        .rename("count")
        .reset_index()
    )
    if all_causes:
        present = set(counted["cause"])
        extra = pd.DataFrame(
            {
                "cause": [c.code for c in tax.causes if c.code not in present],
                "cause_class": [c.klass for c in tax.causes if c.code not in present],
                "count": 0,
            }
        )
        counted = pd.concat([counted, extra], ignore_index=True) if len(extra) else counted
    order = tax.order()
    counted["_order"] = [order.get(str(c), len(order)) for c in counted["cause"]]
    counted = counted.sort_values(
        ["count", "_order", "cause"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    count = counted["count"].to_numpy(dtype=np.float64)
    share = count / n if n else np.full(len(count), np.nan)
    cumulative = np.cumsum(count) / n if n else np.full(len(count), np.nan)
    reached = np.flatnonzero(cumulative >= float(threshold) - 1e-12)
    cut = int(reached[0]) if reached.size else len(count) - 1
    vital = np.zeros(len(count), dtype=bool)
    vital[: cut + 1] = n > 0
    vital &= count > 0

    def names(code: str, lang: str) -> str:
        c = tax.resolve(code)
        if c is None or c.code != code:
            return code
        return c.zh if lang == "zh" else c.en

    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(counted) + 1, dtype=np.int64),
            "cause": counted["cause"].astype(str).to_numpy(),
            "name_en": [names(str(c), "en") for c in counted["cause"]],
            "name_zh": [names(str(c), "zh") for c in counted["cause"]],
            "cause_class": counted["cause_class"].to_numpy(dtype=np.int64),
            "count": counted["count"].to_numpy(dtype=np.int64),
            "share": share,
            "cumulative_share": cumulative,
            "vital_few": vital,
        }
    )
    class_count = np.array([int(count[table["cause_class"] == k].sum()) for k in _CLASSES])
    classes = pd.DataFrame(
        {
            "cause_class": np.array(_CLASSES, dtype=np.int64),
            "name_en": [tax.class_name(k, "en") for k in _CLASSES],
            "name_zh": [tax.class_name(k, "zh") for k in _CLASSES],
            "count": class_count.astype(np.int64),
            "share": class_count / n if n else np.full(len(_CLASSES), np.nan),
        }
    )
    return ParetoResult(
        table=table,
        classes=classes,
        n=n,
        n_missing=int(blank.sum()),
        threshold=float(threshold),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Service levels
# --------------------------------------------------------------------------------------------


def km_quantiles(
    durations: npt.ArrayLike, observed: npt.ArrayLike, quantiles: Sequence[float], /
) -> list[float]:
    """Kaplan-Meier quantiles of a time to event, right-censored where ``observed`` is false.

    The ``q`` quantile is the first event time at which the estimated share of events
    reaches ``q``; NaN when the estimate never reaches it (too many still waiting).

    >>> km_quantiles([1.0, 2.0, 3.0, 4.0], [True, True, True, True], [0.5])
    [2.0]
    >>> km_quantiles([1.0, 2.0, 3.0, 4.0], [True, False, False, False], [0.5])
    [nan]
    """
    t = np.asarray(durations, dtype=np.float64)
    e = np.asarray(observed, dtype=bool)
    ok = np.isfinite(t)
    t, e = t[ok], e[ok]
    if t.size == 0 or not e.any():
        return [math.nan for _ in quantiles]
    ordered = np.sort(t)
    times, deaths = np.unique(t[e], return_counts=True)
    at_risk = t.size - np.searchsorted(ordered, times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    failed = 1.0 - survival
    out: list[float] = []
    for q in quantiles:
        hit = np.flatnonzero(failed >= float(q) - 1e-12)
        out.append(float(times[hit[0]]) if hit.size else math.nan)
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class SlaResult:
    """Times to first response and to resolution against the SLA of each severity.

    ``table``: ``measure, severity, target_hours, n, n_due, n_within, share_within, ci_low,
    ci_high, n_waiting, p50_hours, p90_hours`` … (one row per measure and severity, then
    ``all``). ``durations``: one row per complaint (``severity``, ``<measure>_hours``,
    ``<measure>_due``, ``<measure>_within``) for charts.
    """

    table: pd.DataFrame
    durations: pd.DataFrame
    as_of: pd.Timestamp
    sla: pd.DataFrame
    percentiles: tuple[float, ...]
    warnings: tuple[Message, ...] = ()

    def share_within(self, measure: str, severity: str = "all") -> float:
        rows = self.table[(self.table["measure"] == measure) & (self.table["severity"] == severity)]
        return float(rows["share_within"].iloc[0]) if len(rows) else math.nan

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sla": self.table}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaints sla",
            "as_of": self.as_of.isoformat(),
            "percentiles": list(self.percentiles),
            "targets": records(self.sla),
            "sla": records(self.table),
        }


_MEASURES = ("first_response", "resolution")


def sla(
    data: pd.DataFrame,
    /,
    *,
    workflow: Workflow | None = None,
    as_of: Any = None,
    received: str = "received_at",
    first_response: str | None = "first_response_at",
    resolved: str | None = "resolved_at",
    severity: str | None = "severity",
    percentiles: Sequence[float] = (0.5, 0.8, 0.9),
    confidence: float = 0.95,
) -> SlaResult:
    """Time to first response and to resolution against the SLA hours of each severity.

    Targets come from ``workflow`` (default: the shipped workflow); complaints without a
    severity (or with one the workflow does not know, a warning) get its default severity.
    ``as_of`` (default: the latest time in the data) decides which complaints are due.
    A measure whose column is absent (or ``None``) is left out.
    """
    wf = _workflow(workflow)
    needed = [received]
    frame = _frame(data, needed)
    for q in percentiles:
        if not 0.0 < float(q) < 1.0:
            raise ValidationError("complaints.bad_percentile", value=str(q))
    warnings: list[Message] = []
    start = _utc(frame[received], column=received)
    if start.isna().any():
        raise InputError("complaints.no_received", column=received, n=int(start.isna().sum()))
    columns = {"first_response": first_response, "resolution": resolved}
    ends: dict[str, pd.Series] = {}
    for measure, column in columns.items():
        if column is None or column not in frame.columns:
            warnings.append(
                Message("complaints.warn.no_measure", {"measure": measure, "column": str(column)})
            )
            continue
        ends[measure] = _utc(frame[column], column=column)
    if not ends:
        raise InputError(
            "complaints.no_sla_columns", first=str(first_response), resolved=str(resolved)
        )
    moment = _as_of(as_of, [start, *ends.values()])

    known = wf.severity_codes()
    if severity is not None and severity in frame.columns:
        sev = frame[severity].astype("string").str.strip()
        missing = sev.isna() | (sev == "")
        strange = ~missing & ~sev.isin(known)
        if missing.any():
            warnings.append(
                Message(
                    "complaints.warn.default_severity",
                    {"n": int(missing.sum()), "severity": wf.default_severity},
                )
            )
        if strange.any():
            warnings.append(
                Message(
                    "complaints.warn.unknown_severity",
                    {
                        "n": int(strange.sum()),
                        "examples": _examples(sev[strange].tolist()),
                        "severity": wf.default_severity,
                    },
                )
            )
        sev_codes = np.where(
            (missing | strange).to_numpy(dtype=bool),
            wf.default_severity,
            sev.fillna(wf.default_severity).to_numpy(dtype=object),
        )
    else:
        warnings.append(Message("complaints.warn.no_severity", {"severity": wf.default_severity}))
        sev_codes = np.full(len(frame), wf.default_severity, dtype=object)
    sev_codes = sev_codes.astype(object)

    targets = {s.code: (s.first_response_hours, s.resolution_hours) for s in wf.severities}
    waited = (moment - start).dt.total_seconds().to_numpy(dtype=np.float64) / 3600.0
    durations = pd.DataFrame({"severity": sev_codes}, index=frame.index)
    rows: list[dict[str, Any]] = []
    for measure in _MEASURES:
        if measure not in ends:
            continue
        idx = 0 if measure == "first_response" else 1
        target = np.array([targets[str(s)][idx] for s in sev_codes], dtype=np.float64)
        end = ends[measure]
        hours = (end - start).dt.total_seconds().to_numpy(dtype=np.float64) / 3600.0
        negative = np.isfinite(hours) & (hours < 0)
        if negative.any():
            pos = int(np.argmax(negative))
            raise InputError(
                "complaints.time_before_received",
                row=str(frame.index[pos]),
                column=str(columns[measure]),
                value=str(end.iloc[pos]),
                received=str(start.iloc[pos]),
            )
        observed = np.isfinite(hours) & (hours <= waited)
        due = waited >= target
        within = observed & (hours <= target)
        durations[f"{measure}_hours"] = np.where(observed, hours, np.nan)
        durations[f"{measure}_due"] = due
        durations[f"{measure}_within"] = np.where(due, within, False)
        follow = np.where(observed, hours, waited)
        groups: list[tuple[str, BoolArray, float]] = [
            (code, np.asarray(sev_codes == code, dtype=np.bool_), targets[code][idx])
            for code in known
        ]
        groups.append(("all", np.ones(len(frame), dtype=np.bool_), math.nan))
        for code, mask, tgt in groups:
            n_due = int((mask & due).sum())
            n_within = int((mask & due & within).sum())
            quant = km_quantiles(follow[mask], observed[mask], percentiles)
            row: dict[str, Any] = {
                "measure": measure,
                "severity": code,
                "target_hours": tgt,
                "n": int(mask.sum()),
                "n_due": n_due,
                "n_within": n_within,
                "share_within": _ratio(n_within, n_due),
                "n_waiting": int((mask & ~observed).sum()),
            }
            for q, value in zip(percentiles, quant, strict=True):
                row[f"p{round(float(q) * 100):d}_hours"] = value
            rows.append(row)
    table = pd.DataFrame(rows)
    low, high = _wilson(
        table["n_within"].to_numpy(dtype=np.float64),
        table["n_due"].to_numpy(dtype=np.float64),
        confidence,
    )
    at = list(table.columns).index("share_within") + 1
    table.insert(at, "ci_low", low)
    table.insert(at + 1, "ci_high", high)
    return SlaResult(
        table=table,
        durations=durations,
        as_of=moment,
        sla=wf.sla_table(),
        percentiles=tuple(float(q) for q in percentiles),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Recovery, retention and escalation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class RecoveryResult:
    """Re-satisfied after recovery, retained after the complaint, and escalation.

    ``rates``: ``group_by, group, n_answered, n_recovered, recovery_rate, ci_low, ci_high``
    (first row: all complaints answered). ``retention``: ``group, n_evaluable, n_retained,
    retention_rate, ci_low, ci_high`` (all; recovered; not recovered; not asked) or ``None``
    without a customer or activity table. ``escalation``: ``escalated_to, count, share,
    share_recovered, share_not_recovered`` or ``None`` without the column.
    """

    rates: pd.DataFrame
    retention: pd.DataFrame | None
    escalation: pd.DataFrame | None
    threshold: float
    scale: tuple[float, float]
    horizon_days: int
    warnings: tuple[Message, ...] = ()

    @property
    def recovery_rate(self) -> float:
        return float(self.rates["recovery_rate"].iloc[0]) if len(self.rates) else math.nan

    @property
    def retention_rate(self) -> float:
        if self.retention is None or not len(self.retention):
            return math.nan
        return float(self.retention["retention_rate"].iloc[0])

    @property
    def escalation_rate(self) -> float:
        """Share of complaints (with a known answer) taken somewhere else as well."""
        if self.escalation is None:
            return math.nan
        others = self.escalation[self.escalation["escalated_to"] != "none"]
        return float(others["share"].sum())

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"recovery": self.rates}
        if self.retention is not None:
            out["retention"] = self.retention
        if self.escalation is not None:
            out["escalation"] = self.escalation
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaints recovery",
            "threshold": self.threshold,
            "scale": list(self.scale),
            "horizon_days": self.horizon_days,
            "recovery_rate": plain(self.recovery_rate),
            "retention_rate": plain(self.retention_rate),
            "escalation_rate": plain(self.escalation_rate),
            "tables": {k: records(v) for k, v in self.tables().items()},
        }


def _retained(
    frame: pd.DataFrame,
    start: pd.Series,
    *,
    customer_id: str,
    customers: pd.DataFrame | None,
    left: str | None,
    activity: pd.DataFrame | None,
    activity_date: str,
    horizon: pd.Timedelta,
    moment: pd.Timestamp,
    warnings: list[Message],
) -> tuple[BoolArray, BoolArray]:
    """(evaluable, retained) per complaint."""
    ids = pd.Index(frame[customer_id].astype(object).where(frame[customer_id].notna(), None))
    check = ((start + horizon) <= moment).to_numpy(dtype=bool)
    evaluable = np.asarray(check & frame[customer_id].notna().to_numpy(dtype=bool), dtype=np.bool_)
    deadline = _naive(start + horizon)
    if customers is not None:
        if left is None:
            raise ValidationError("complaints.need_left_column")
        table = _frame(customers, [customer_id, left])
        keys = pd.Index(table[customer_id].astype(object))
        lost = _naive(_utc(table[left], column=left))
        last_row = ~keys.duplicated(keep="last")
        keys, lost = keys[last_row], lost[last_row]
        pos = keys.get_indexer(ids)
        known = pos >= 0
        lost_at = np.where(known, lost[np.where(known, pos, 0)], np.datetime64("NaT", "ns"))
        retained = np.asarray(np.isnat(lost_at) | (lost_at > deadline), dtype=np.bool_) & known
    else:
        if activity is None:
            raise ValidationError("complaints.need_retention_table")
        table = _frame(activity, [customer_id, activity_date])
        seen = pd.Series(
            _naive(_utc(table[activity_date], column=activity_date)),
            index=pd.Index(table[customer_id].astype(object)),
        )
        last = seen.groupby(level=0, sort=False).max()
        pos = last.index.get_indexer(ids)
        known = pos >= 0
        values = last.to_numpy(dtype="datetime64[ns]")
        last_seen = np.where(known, values[np.where(known, pos, 0)], np.datetime64("NaT", "ns"))
        retained = np.asarray(last_seen >= deadline, dtype=np.bool_) & known
    unknown = evaluable & ~known
    if unknown.any():
        warnings.append(Message("complaints.warn.unknown_customers", {"n": int(unknown.sum())}))
    return evaluable & known, retained


def recovery(
    data: pd.DataFrame,
    /,
    *,
    satisfaction: str = "satisfaction_after",
    threshold: float | None = None,
    scale: tuple[float, float] | None = None,
    workflow: Workflow | None = None,
    by: Sequence[str] = (),
    escalated: str | None = "escalated_to",
    customers: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    customer_id: str = "customer_id",
    left: str | None = None,
    activity_date: str = "date",
    received: str = "received_at",
    horizon_days: int = 90,
    as_of: Any = None,
    confidence: float = 0.95,
) -> RecoveryResult:
    """Recovery rate (re-satisfied), retention after the complaint, and escalation.

    Recovered: ``satisfaction`` at or above ``threshold`` (default: the workflow's, 4 on
    its 1-5 scale); complaints not asked are left out of the rate. ``by`` adds the rate per
    group of those columns. Retention: with ``customers`` (``customer_id`` and ``left``, the
    date the customer left, empty while still a customer) or ``activity`` (``customer_id``
    and ``activity_date``), a complaint is retained when the customer is still a customer
    (has activity) ``horizon_days`` after it; only complaints at least that old at ``as_of``
    count.
    """
    wf = _workflow(workflow)
    low, high = scale if scale is not None else wf.recovery_scale
    cut = float(threshold) if threshold is not None else wf.recovery_threshold
    if not low <= cut <= high:
        raise ValidationError(
            "complaints.bad_recovery_threshold",
            threshold=f"{cut:g}",
            low=f"{low:g}",
            high=f"{high:g}",
        )
    frame = _frame(data, [satisfaction, *by])
    warnings: list[Message] = []
    score = pd.to_numeric(frame[satisfaction], errors="coerce")
    bad = score.notna() & ((score < low) | (score > high))
    text_bad = (
        frame[satisfaction].notna()
        & score.isna()
        & ~pd.Series(_is_blank(frame[satisfaction]), index=frame.index)
    )
    if bad.any() or text_bad.any():
        pos = int(np.argmax((bad | text_bad).to_numpy(dtype=bool)))
        raise InputError(
            "complaints.bad_satisfaction",
            row=str(frame.index[pos]),
            column=satisfaction,
            value=str(frame[satisfaction].iloc[pos]),
            low=f"{low:g}",
            high=f"{high:g}",
        )
    answered = score.notna().to_numpy(dtype=bool)
    recovered = (score >= cut).to_numpy(dtype=bool) & answered
    if not answered.any():
        warnings.append(Message("complaints.warn.no_recovery_answers", {"column": satisfaction}))

    rows: list[dict[str, Any]] = [
        {
            "group_by": "all",
            "group": "all",
            "n_answered": int(answered.sum()),
            "n_recovered": int(recovered.sum()),
        }
    ]
    for column in by:
        keys = frame[column].astype("string").fillna("-")
        for key in pd.unique(keys):
            mask = (keys == key).to_numpy(dtype=bool)
            rows.append(
                {
                    "group_by": column,
                    "group": str(key),
                    "n_answered": int((mask & answered).sum()),
                    "n_recovered": int((mask & recovered).sum()),
                }
            )
    rates = pd.DataFrame(rows)
    k = rates["n_recovered"].to_numpy(dtype=np.float64)
    n = rates["n_answered"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates["recovery_rate"] = np.where(n > 0, k / np.where(n > 0, n, 1.0), np.nan)
    rates["ci_low"], rates["ci_high"] = _wilson(k, n, confidence)

    retention: pd.DataFrame | None = None
    if customers is not None or activity is not None:
        _frame(frame, [customer_id, received])
        start = _utc(frame[received], column=received)
        moment = _as_of(as_of, [start])
        evaluable, retained = _retained(
            frame,
            start,
            customer_id=customer_id,
            customers=customers,
            left=left,
            activity=activity,
            activity_date=activity_date,
            horizon=pd.Timedelta(days=int(horizon_days)),
            moment=moment,
            warnings=warnings,
        )
        parts = [
            ("all", np.ones(len(frame), dtype=bool)),
            ("recovered", recovered),
            ("not_recovered", answered & ~recovered),
            ("not_asked", ~answered),
        ]
        ret_rows = [
            {
                "group": name,
                "n_evaluable": int((mask & evaluable).sum()),
                "n_retained": int((mask & evaluable & retained).sum()),
            }
            for name, mask in parts
        ]
        retention = pd.DataFrame(ret_rows)
        rk = retention["n_retained"].to_numpy(dtype=np.float64)
        rn = retention["n_evaluable"].to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            retention["retention_rate"] = np.where(rn > 0, rk / np.where(rn > 0, rn, 1.0), np.nan)
        retention["ci_low"], retention["ci_high"] = _wilson(rk, rn, confidence)

    escalation: pd.DataFrame | None = None
    if escalated is not None and escalated in frame.columns:
        from allegiance.complaints.handling import ESCALATIONS

        where = frame[escalated].astype("string").str.strip()
        known_where = where.notna() & (where != "")
        odd = known_where & ~where.isin(ESCALATIONS)
        if odd.any():
            pos = int(np.argmax(odd.to_numpy(dtype=bool)))
            raise InputError(
                "complaints.bad_escalation",
                row=str(frame.index[pos]),
                column=escalated,
                value=str(where.iloc[pos]),
                allowed=", ".join(ESCALATIONS),
            )
        base = known_where.to_numpy(dtype=bool)
        values = where.fillna("").to_numpy(dtype=object)
        esc_rows = []
        for code in ESCALATIONS:
            hit = base & (values == code)
            esc_rows.append(
                {
                    "escalated_to": code,
                    "count": int(hit.sum()),
                    "share": _ratio(float(hit.sum()), float(base.sum())),
                    "share_recovered": _ratio(
                        float((hit & recovered).sum()), float((base & recovered).sum())
                    ),
                    "share_not_recovered": _ratio(
                        float((hit & answered & ~recovered).sum()),
                        float((base & answered & ~recovered).sum()),
                    ),
                }
            )
        escalation = pd.DataFrame(esc_rows)
    return RecoveryResult(
        rates=rates,
        retention=retention,
        escalation=escalation,
        threshold=cut,
        scale=(float(low), float(high)),
        horizon_days=int(horizon_days),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Complaint rate and the iceberg
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ComplaintRate:
    """Complaints per ``per`` (1,000) customers.

    ``rate``: over the whole data without a period; with a period, all complaints over all
    customer-periods (the average rate per period). ``periods``: ``period, complaints,
    customers, rate`` (one row, ``period = "all"``, without a period).
    """

    rate: float
    periods: pd.DataFrame
    per: float
    period: str | None
    slope_per_period: float = math.nan
    p_value: float = math.nan
    direction: str = "flat"
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"complaint_rate": self.periods}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaint rate",
            "rate": plain(self.rate),
            "per": self.per,
            "period": self.period,
            "trend": {
                "slope_per_period": plain(self.slope_per_period),
                "p_value": plain(self.p_value),
                "direction": self.direction,
            },
            "periods": records(self.periods),
        }


def _active_per_period(
    customers: pd.DataFrame,
    periods: pd.PeriodIndex,
    *,
    joined: str | None,
    left: str | None,
) -> FloatArray:
    n = len(customers)
    out = np.full(len(periods), float(n))
    if joined is None and left is None:
        return out
    starts = periods.start_time.to_numpy(dtype="datetime64[ns]")
    ends = periods.end_time.to_numpy(dtype="datetime64[ns]")
    active = np.ones((n, len(periods)), dtype=bool)
    if joined is not None:
        j = _naive(_utc(customers[joined], column=joined))
        active &= ~(j[:, None] > ends[None, :])
    if left is not None:
        gone = _naive(_utc(customers[left], column=left))
        active &= np.isnat(gone)[:, None] | (gone[:, None] > starts[None, :])
    counts: FloatArray = active.sum(axis=0).astype(np.float64)
    return counts


def complaint_rate(
    complaints: pd.DataFrame,
    customers: int | float | pd.Series | pd.DataFrame,
    /,
    *,
    period: str | None = None,
    received: str = "received_at",
    joined: str | None = None,
    left: str | None = None,
    per: float = 1000.0,
) -> ComplaintRate:
    """Complaints per 1,000 customers (投诉率), overall or per ``period``.

    ``customers`` is the base: a number of customers; a Series of customer counts indexed by
    period label (``"2024-01"``, ``"2024Q1"``, ``"2024"``; needs ``period``); or a customer
    table, one row per customer, whose ``joined`` / ``left`` date columns (optional) decide
    who was a customer in each period (joined by its end, not left before its start).
    Complaints are counted in the period they were received.

    >>> import pandas as pd
    >>> c = pd.DataFrame({"received_at": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03"])})
    >>> complaint_rate(c, 2000).rate
    1.5
    >>> complaint_rate(c, 2000, period="month").periods[["period", "complaints", "rate"]]
        period  complaints  rate
    0  2024-01           2   1.0
    1  2024-02           1   0.5
    """
    frame = _frame(complaints, [received])
    if not isinstance(per, (int, float)) or not per > 0:
        raise ValidationError("complaints.bad_per", value=str(per))
    start = _utc(frame[received], column=received)
    if isinstance(customers, pd.Series) and period is None:
        raise ValidationError("complaints.series_needs_period")
    warnings: list[Message] = []
    if period is None:
        if isinstance(customers, pd.DataFrame):
            base = float(len(customers))
        elif isinstance(customers, (int, float, np.integer, np.floating)) and not isinstance(
            customers, bool
        ):
            base = float(customers)
        else:
            raise ValidationError("complaints.bad_base", kind=type(customers).__name__)
        if not base > 0:
            raise ValidationError("complaints.bad_base", kind=str(customers))
        n = len(frame)
        table = pd.DataFrame(
            {"period": ["all"], "complaints": [n], "customers": [base], "rate": [per * n / base]}
        )
        return ComplaintRate(rate=per * n / base, periods=table, per=float(per), period=None)

    index = _period_index(start, period)
    if index.isna().all():
        raise InputError("complaints.no_times")
    periods = pd.period_range(index.min(), index.max(), freq=index.dt.freq)
    labels = _period_labels(periods)
    counts = index.value_counts().reindex(periods, fill_value=0).to_numpy(dtype=np.float64)
    if isinstance(customers, pd.DataFrame):
        base_arr = _active_per_period(customers, periods, joined=joined, left=left)
    elif isinstance(customers, pd.Series):
        named = customers.copy()
        named.index = [str(i) for i in named.index]
        missing = [lab for lab in labels if lab not in named.index]
        if missing:
            warnings.append(
                Message("complaints.warn.base_missing", {"periods": _examples(missing)})
            )
        base_arr = pd.to_numeric(named.reindex(labels), errors="coerce").to_numpy(dtype=np.float64)
    elif isinstance(customers, (int, float, np.integer, np.floating)) and not isinstance(
        customers, bool
    ):
        if not float(customers) > 0:
            raise ValidationError("complaints.bad_base", kind=str(customers))
        base_arr = np.full(len(periods), float(customers))
    else:
        raise ValidationError("complaints.bad_base", kind=type(customers).__name__)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(base_arr > 0, per * counts / np.where(base_arr > 0, base_arr, 1.0), np.nan)
    table = pd.DataFrame(
        {
            "period": labels,
            "complaints": counts.astype(np.int64),
            "customers": base_arr,
            "rate": rates,
        }
    )
    usable = np.isfinite(base_arr) & (base_arr > 0)
    overall = _ratio(per * float(counts[usable].sum()), float(base_arr[usable].sum()))
    slope, p_value = _slope(rates[usable]) if usable.all() else (math.nan, math.nan)
    return ComplaintRate(
        rate=overall,
        periods=table,
        per=float(per),
        period=period,
        slope_per_period=slope,
        p_value=p_value,
        direction=_direction(slope, p_value, 0.05),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, kw_only=True)
class IcebergEstimate:
    """SPEC section 2's iceberg: complainants are ``complain_share`` of the dissatisfied.

    ``dissatisfied_estimate = complainants / complain_share``; ``silent_estimate`` are the
    dissatisfied who did not complain; ``share_of_customers`` divides by the customer base
    when given. ``assumption`` states the share used, for every output to show.
    """

    complainants: float
    complain_share: float
    dissatisfied_estimate: float
    silent_estimate: float
    customers: float | None = None
    share_of_customers: float | None = None
    warnings: tuple[Message, ...] = ()

    @property
    def assumption(self) -> Message:
        return Message("complaints.iceberg.assumption", {"share": f"{self.complain_share:.0%}"})

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "iceberg": pd.DataFrame(
                {
                    "complainants": [self.complainants],
                    "complain_share": [self.complain_share],
                    "dissatisfied_estimate": [self.dissatisfied_estimate],
                    "silent_estimate": [self.silent_estimate],
                    "customers": [self.customers],
                    "share_of_customers": [self.share_of_customers],
                }
            )
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaints iceberg",
            "complainants": plain(self.complainants),
            "complain_share": self.complain_share,
            "dissatisfied_estimate": plain(self.dissatisfied_estimate),
            "silent_estimate": plain(self.silent_estimate),
            "customers": plain(self.customers),
            "share_of_customers": plain(self.share_of_customers),
            "assumption": self.assumption.to_dict(),
        }


def iceberg(
    complainants: float,
    /,
    *,
    complain_share: float = DEFAULT_COMPLAIN_SHARE,
    customers: float | None = None,
) -> IcebergEstimate:
    """Estimate the dissatisfied customers from the complainants (SPEC section 2).

    Only about 5 % (``complain_share``) of dissatisfied customers complain, so
    ``complainants / complain_share`` were dissatisfied, ``complainants × (1/share − 1)``
    of them silently. With ``customers`` (the customer base) the estimate is also a share
    of it; an estimate above the base says the assumed share does not fit these data.

    >>> e = iceberg(12, customers=1000)
    >>> e.dissatisfied_estimate, e.silent_estimate, e.share_of_customers
    (240.0, 228.0, 0.24)
    """
    ok = isinstance(complain_share, (int, float)) and not isinstance(complain_share, bool)
    if not ok or not 0.0 < float(complain_share) <= 1.0:
        raise ValidationError("complaints.bad_complain_share", value=str(complain_share))
    if not isinstance(complainants, (int, float, np.integer, np.floating)) or complainants < 0:
        raise ValidationError("complaints.bad_complainants", value=str(complainants))
    n = float(complainants)
    estimate = n / float(complain_share)
    warnings: list[Message] = []
    share: float | None = None
    if customers is not None:
        if not float(customers) > 0:
            raise ValidationError("complaints.bad_base", kind=str(customers))
        share = estimate / float(customers)
        if share > 1.0:
            warnings.append(
                Message(
                    "complaints.warn.iceberg_too_big",
                    {
                        "estimate": f"{estimate:,.0f}",
                        "customers": f"{float(customers):,.0f}",
                        "share": f"{float(complain_share):.0%}",
                        "implied": f"{n / float(customers):.1%}",
                    },
                )
            )
    return IcebergEstimate(
        complainants=n,
        complain_share=float(complain_share),
        dissatisfied_estimate=estimate,
        silent_estimate=estimate - n,
        customers=None if customers is None else float(customers),
        share_of_customers=share,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Trends by product, channel and period
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class TrendResult:
    """Complaints per period, overall and per group of each ``by`` column, with trends.

    ``counts``: ``dimension, group, period, count``. ``trend``: ``dimension, group, n, share,
    mean_per_period, slope_per_period, relative_slope, p_value, direction`` (``rising``,
    ``falling`` or ``flat`` at ``alpha``; the slope is least squares of the counts on the
    period number, ``relative_slope`` = slope / mean).
    """

    counts: pd.DataFrame
    trend: pd.DataFrame
    period: str
    alpha: float
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"trend": self.trend, "by_period": self.counts}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaints trends",
            "period": self.period,
            "alpha": self.alpha,
            "trend": records(self.trend),
            "by_period": records(self.counts),
        }


def _slope(y: FloatArray) -> tuple[float, float]:
    """Least-squares slope of ``y`` on 0..n-1 and its two-sided p-value (NaN below 3 points)."""
    n = y.size
    if n < 3:
        return math.nan, math.nan
    from scipy import stats

    x = np.arange(n, dtype=np.float64)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * xc
    s2 = float(resid @ resid) / (n - 2)
    if s2 <= 0.0:
        return slope, (0.0 if slope != 0.0 else 1.0)
    t_stat = slope / math.sqrt(s2 / sxx)
    return slope, float(2.0 * stats.t.sf(abs(t_stat), n - 2))


def _direction(slope: float, p_value: float, alpha: float) -> str:
    if math.isnan(p_value) or p_value >= alpha:
        return "flat"
    return "rising" if slope > 0 else "falling"


def trends(
    data: pd.DataFrame,
    /,
    *,
    by: Sequence[str] = ("product", "channel"),
    period: str = "month",
    received: str = "received_at",
    alpha: float = 0.05,
) -> TrendResult:
    """Complaints per period (every period from the first to the last, empty ones as 0),
    overall and per group of each ``by`` column, each with its least-squares trend."""
    frame = _frame(data, [received])
    warnings: list[Message] = []
    dims = []
    for column in by:
        if column in frame.columns:
            dims.append(column)
        else:
            warnings.append(Message("complaints.warn.no_column", {"column": column}))
    index = _period_index(_utc(frame[received], column=received), period)
    if index.isna().all():
        raise InputError("complaints.no_times")
    periods = pd.period_range(index.min(), index.max(), freq=index.dt.freq)
    labels = _period_labels(periods)
    total = len(frame)
    count_rows: list[pd.DataFrame] = []
    trend_rows: list[dict[str, Any]] = []

    def add(dimension: str, group: str, mask: BoolArray) -> None:
        counts: FloatArray = np.asarray(
            index[mask].value_counts().reindex(periods, fill_value=0), dtype=np.float64
        )
        count_rows.append(
            pd.DataFrame(
                {
                    "dimension": dimension,
                    "group": group,
                    "period": labels,
                    "count": counts.astype(np.int64),
                }
            )
        )
        slope, p_value = _slope(counts)
        mean = float(counts.mean()) if counts.size else math.nan
        direction = _direction(slope, p_value, alpha)
        trend_rows.append(
            {
                "dimension": dimension,
                "group": group,
                "n": int(mask.sum()),
                "share": _ratio(float(mask.sum()), float(total)),
                "mean_per_period": mean,
                "slope_per_period": slope,
                "relative_slope": _ratio(slope, mean) if mean > 0 else math.nan,
                "p_value": p_value,
                "direction": direction,
            }
        )

    add("all", "all", np.ones(total, dtype=np.bool_))
    for column in dims:
        keys = frame[column].astype("string").fillna("-")
        order = keys.value_counts().index.tolist()
        for key in order:
            add(column, str(key), np.asarray((keys == key).to_numpy(dtype=bool), dtype=np.bool_))
    return TrendResult(
        counts=pd.concat(count_rows, ignore_index=True),
        trend=pd.DataFrame(trend_rows),
        period=period,
        alpha=float(alpha),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ComplaintsSummary:
    """The complaint analysis of :func:`summarize`: each part, ``None`` where the data lack it.

    ``iceberg``: the estimate for the average ``period`` (``iceberg_periods``: per period).
    """

    n: int
    pareto: ParetoResult
    sla: SlaResult | None
    recovery: RecoveryResult | None
    rate: ComplaintRate | None
    iceberg: IcebergEstimate
    iceberg_periods: pd.DataFrame
    trends: TrendResult | None
    period: str
    warnings: tuple[Message, ...] = field(default=())

    def headline(self) -> pd.DataFrame:
        """The key figures as one table: ``figure, value``."""
        figures: dict[str, Any] = {
            "complaints": self.n,
            "vital_few": len(self.pareto.vital_few),
            "vital_few_share": self.pareto.vital_few_share,
            "class_1_share": float(self.pareto.classes["share"].iloc[0]),
            "class_2_share": float(self.pareto.classes["share"].iloc[1]),
            "class_3_4_share": float(self.pareto.classes["share"].iloc[2:].sum()),
        }
        if self.sla is not None:
            figures["first_response_within_sla"] = self.sla.share_within("first_response")
            figures["resolution_within_sla"] = self.sla.share_within("resolution")
        if self.recovery is not None:
            figures["recovery_rate"] = self.recovery.recovery_rate
            figures["retention_rate"] = self.recovery.retention_rate
            figures["escalation_rate"] = self.recovery.escalation_rate
        if self.rate is not None:
            figures["complaints_per_1000"] = self.rate.rate
        figures["complainants_per_period"] = self.iceberg.complainants
        figures["dissatisfied_estimate"] = self.iceberg.dissatisfied_estimate
        return pd.DataFrame(
            {"figure": list(figures), "value": [plain(v) for v in figures.values()]}
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {"summary": self.headline()}
        out.update(self.pareto.tables())
        if self.sla is not None:
            out.update(self.sla.tables())
        if self.recovery is not None:
            out.update(self.recovery.tables())
        if self.rate is not None:
            out.update(self.rate.tables())
        out["iceberg"] = self.iceberg_periods
        if self.trends is not None:
            out["trend"] = self.trends.trend
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "complaints summary",
            "n": self.n,
            "period": self.period,
            "headline": {str(r["figure"]): r["value"] for r in records(self.headline())},
            "pareto": self.pareto.to_dict(),
            "sla": None if self.sla is None else self.sla.to_dict(),
            "recovery": None if self.recovery is None else self.recovery.to_dict(),
            "rate": None if self.rate is None else self.rate.to_dict(),
            "iceberg": {**self.iceberg.to_dict(), "periods": records(self.iceberg_periods)},
            "trends": None if self.trends is None else self.trends.to_dict(),
        }


def _iceberg_periods(
    frame: pd.DataFrame,
    *,
    received: str,
    customer_id: str,
    period: str,
    complain_share: float,
    base: FloatArray | None,
) -> tuple[pd.DataFrame, float, float | None]:
    index = _period_index(_utc(frame[received], column=received), period)
    periods = pd.period_range(index.min(), index.max(), freq=index.dt.freq)
    if customer_id in frame.columns:
        who = frame[customer_id].astype("string")
        # a complaint without a customer id counts as one complainant
        who = who.fillna(
            pd.Series([f"\x00{i}" for i in range(len(frame))], index=frame.index, dtype="string")
        )
        per = pd.DataFrame({"p": index, "who": who}).groupby("p")["who"].nunique()
    else:
        per = index.value_counts()
    complainants = per.reindex(periods, fill_value=0).to_numpy(dtype=np.float64)
    table = pd.DataFrame(
        {
            "period": _period_labels(periods),
            "complainants": complainants.astype(np.int64),
            "dissatisfied_estimate": complainants / complain_share,
            "silent_estimate": complainants / complain_share - complainants,
        }
    )
    mean_base: float | None = None
    if base is not None:
        table["customers"] = base
        with np.errstate(divide="ignore", invalid="ignore"):
            table["share_of_customers"] = np.where(
                base > 0, table["dissatisfied_estimate"] / base, np.nan
            )
        mean_base = float(np.nanmean(base)) if np.isfinite(base).any() else None
    return table, float(complainants.mean()) if complainants.size else 0.0, mean_base


def summarize(
    data: pd.DataFrame,
    /,
    *,
    taxonomy: Taxonomy | None = None,
    workflow: Workflow | None = None,
    customers: pd.DataFrame | None = None,
    n_customers: float | None = None,
    activity: pd.DataFrame | None = None,
    customer_id: str = "customer_id",
    joined: str | None = None,
    left: str | None = None,
    activity_date: str = "date",
    period: str = "month",
    as_of: Any = None,
    complain_share: float = DEFAULT_COMPLAIN_SHARE,
    threshold: float = 0.8,
    horizon_days: int = 90,
    by: Sequence[str] = ("product", "channel"),
) -> ComplaintsSummary:
    """The whole complaint analysis of a register frame (the columns of the store).

    Pareto and class shares; SLA (when the time columns are there); recovery, retention
    (with ``customers`` and ``left``, or ``activity``) and escalation; complaints per 1,000
    customers per ``period`` (with ``customers`` or ``n_customers``); the iceberg estimate
    for the average period (SPEC section 2, ``complain_share`` assumed); trends by ``by``.
    """
    frame = _frame(data, ["cause_code", "received_at"])
    if len(frame) == 0:
        raise InputError("complaints.empty")
    wf = _workflow(workflow)
    warnings: list[Message] = []
    has_class = "cause_class" in frame.columns
    pareto_result = pareto(
        frame,
        cause="cause_code",
        cause_class="cause_class" if has_class else None,
        taxonomy=taxonomy,
        threshold=threshold,
    )
    sla_result: SlaResult | None = None
    if "first_response_at" in frame.columns or "resolved_at" in frame.columns:
        sla_result = sla(
            frame,
            workflow=wf,
            as_of=as_of,
            first_response="first_response_at" if "first_response_at" in frame.columns else None,
            resolved="resolved_at" if "resolved_at" in frame.columns else None,
            severity="severity" if "severity" in frame.columns else None,
        )
    recovery_result: RecoveryResult | None = None
    if "satisfaction_after" in frame.columns:
        enriched = frame.copy()
        groups: list[str] = []
        if "severity" in enriched.columns:
            groups.append("severity")
        if sla_result is not None and "resolution_hours" in sla_result.durations.columns:
            d = sla_result.durations
            enriched["resolved_within_sla"] = np.where(
                d["resolution_due"], np.where(d["resolution_within"], "yes", "no"), "not_due"
            )
            groups.append("resolved_within_sla")
        if "compensation" in enriched.columns:
            paid = pd.to_numeric(enriched["compensation"], errors="coerce")
            enriched["compensated"] = np.where(paid.isna(), "-", np.where(paid > 0, "yes", "no"))
            groups.append("compensated")
        recovery_result = recovery(
            enriched,
            workflow=wf,
            by=groups,
            customers=customers if left is not None else None,
            activity=activity if (customers is None or left is None) else None,
            customer_id=customer_id,
            left=left,
            activity_date=activity_date,
            horizon_days=horizon_days,
            as_of=as_of if as_of is not None else (sla_result.as_of if sla_result else None),
        )
    rate_result: ComplaintRate | None = None
    base: FloatArray | None = None
    if customers is not None or n_customers is not None:
        rate_result = complaint_rate(
            frame,
            customers if customers is not None else float(n_customers or 0),
            period=period,
            joined=joined,
            left=left,
        )
        base = rate_result.periods["customers"].to_numpy(dtype=np.float64)
    else:
        warnings.append(Message("complaints.warn.no_customer_base"))
    periods_table, mean_complainants, mean_base = _iceberg_periods(
        frame,
        received="received_at",
        customer_id=customer_id,
        period=period,
        complain_share=complain_share,
        base=base,
    )
    estimate = iceberg(mean_complainants, complain_share=complain_share, customers=mean_base)
    trend_result = trends(frame, by=[c for c in by if c in frame.columns], period=period)
    parts: list[Any] = [
        pareto_result,
        sla_result,
        recovery_result,
        rate_result,
        estimate,
        trend_result,
    ]
    for part in parts:
        if part is not None:
            warnings.extend(part.warnings)
    return ComplaintsSummary(
        n=len(frame),
        pareto=pareto_result,
        sla=sla_result,
        recovery=recovery_result,
        rate=rate_result,
        iceberg=estimate,
        iceberg_periods=periods_table,
        trends=trend_result,
        period=period,
        warnings=tuple(warnings),
    )
