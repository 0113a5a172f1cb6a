"""Touchpoints along the customer journey, and customer delivered value.

SPEC section 3, method 9 (satisfaction + user experience: the moments of truth,
关键时刻) and SPEC section 1 (customer delivered value, 顾客让渡价值).

:func:`touchpoints` rates each touchpoint of the journey (store visit, sign-up,
activation, billing, network use, hotline, complaint handling, renewal ...) by
its performance (mean with t-interval, top-2-box share with Wilson interval)
and finds the one that pulls overall satisfaction down most:

    impact_k = share_k × headroom_k

``share_k`` is the touchpoint's derived importance as a share of the total
(Shapley/LMG by default, see :mod:`allegiance.methods.drivers`; for
``correlation`` and ``regression`` negative importances count as 0), and
``headroom_k`` is how far the touchpoint is from perfect: ``(high − mean) /
(high − low)`` on the answer scale, or ``1 − top-2-box share``. The touchpoint
with the largest impact (``impact_rank`` 1) is the weakest moment of truth.
Touchpoints not every respondent went through are handled with pairwise
correlations (``missing="pairwise"``, the default here).

:func:`delivered_value` computes, per respondent, the total customer value
(the weighted mean of the value components: product, service, personnel and
image value) and the total customer cost (the weighted mean of the cost
components: money, time, energy and psychological cost), and their difference,
the delivered value; then per segment their means with t-intervals and the
share of respondents whose delivered value is positive (Wilson interval).
Respondents who left a component unanswered are counted in ``n_missing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import AllegianceError, ValidationError
from allegiance.i18n import Message
from allegiance.methods import drivers

# the row -> group index shared with the scales (one grouping rule for every method)
from allegiance.methods.scales import _Groups, _groups
from allegiance.results import plain, records

__all__ = [
    "DeliveredValueResult",
    "TouchpointResult",
    "delivered_value",
    "touchpoints",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
By = str | Sequence[str] | None


# --------------------------------------------------------------------------------------------
# Groups and grouped means
# --------------------------------------------------------------------------------------------


def _by_columns(by: By) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    cols = tuple(by)
    if not all(isinstance(c, str) for c in cols):
        raise ValidationError("drivers.bad_option", option="by", value=repr(by), allowed="columns")
    return cols


@dataclass(frozen=True)
class _GroupMeans:
    """Per group (rows) and column: n, n_eff, mean, se and t-interval."""

    n: IntArray
    n_eff: FloatArray
    mean: FloatArray
    se: FloatArray
    low: FloatArray
    high: FloatArray


def _group_means(
    x: FloatArray, w: FloatArray, gid: IntArray, size: int, confidence: float
) -> _GroupMeans:
    from scipy import stats

    c = x.shape[1]
    shape = (size, c)
    n = np.zeros(shape, dtype=np.int64)
    sw = np.zeros(shape)
    sw2 = np.zeros(shape)
    swx = np.zeros(shape)
    for j in range(c):  # a loop over columns; each column is one bincount
        valid = np.isfinite(x[:, j]) & (w > 0)
        g = gid[valid]
        wv = w[valid]
        xv = x[valid, j]
        n[:, j] = np.bincount(g, minlength=size)
        sw[:, j] = np.bincount(g, weights=wv, minlength=size)
        sw2[:, j] = np.bincount(g, weights=wv * wv, minlength=size)
        swx[:, j] = np.bincount(g, weights=wv * xv, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sw > 0, swx / sw, np.nan)
    ss = np.zeros(shape)
    for j in range(c):
        valid = np.isfinite(x[:, j]) & (w > 0)
        g = gid[valid]
        dev = x[valid, j] - mean[g, j]
        ss[:, j] = np.bincount(g, weights=w[valid] * dev * dev, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(sw2 > 0, sw * sw / sw2, 0.0)
        ok = n_eff > 1.0 + 1e-12
        safe = np.where(ok, n_eff, 2.0)
        var = ss / np.where(sw > 0, sw, 1.0) * safe / (safe - 1.0)
        se = np.where(ok, np.sqrt(var / safe), np.nan)
    tq = np.asarray(stats.t.ppf(0.5 + confidence / 2.0, safe - 1.0), dtype=np.float64)
    return _GroupMeans(
        n=n,
        n_eff=n_eff,
        mean=mean,
        se=se,
        low=np.where(ok, mean - tq * se, np.nan),
        high=np.where(ok, mean + tq * se, np.nan),
    )


def _frame(keys: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    figures = pd.DataFrame(dict(columns), index=range(len(keys)))
    return pd.concat([keys.reset_index(drop=True), figures], axis=1)


def _long(
    keys: pd.DataFrame, label: str, names: Sequence[str], columns: Mapping[str, Any]
) -> pd.DataFrame:
    """(groups × names) arrays as one row per group and name."""
    g = len(keys)
    k = len(names)
    rep = keys.loc[keys.index.repeat(k)].reset_index(drop=True)
    body = {label: np.tile(np.asarray(names, dtype=object), g)}
    body.update({name: np.asarray(v).reshape(g * k) for name, v in columns.items()})
    out = pd.concat([rep, pd.DataFrame(body)], axis=1)
    out[label] = out[label].astype("str")
    return out


# --------------------------------------------------------------------------------------------
# Touchpoints
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class TouchpointResult:
    """Performance, importance and impact of each touchpoint, per group.

    ``table`` (one row per group and touchpoint, touchpoints in journey order):
    ``[by…] | touchpoint | n | mean | mean_ci_low | mean_ci_high | top2_box |
    top2_box_ci_low | top2_box_ci_high | performance | importance | share |
    headroom | impact | impact_share | impact_rank``. ``summary`` (one row per
    group): ``[by…] | n | n_importance | r2 | weakest | weakest_impact``
    (``n_importance``: the fewest respondents behind any correlation). With
    ``by``, ``overall`` and ``overall_summary`` hold the same over all rows.
    """

    touchpoints: tuple[str, ...]
    overall_column: str
    by: tuple[str, ...]
    method: str
    performance: str
    scale: tuple[float, float]
    missing: str
    weight: str | None
    confidence: float
    table: pd.DataFrame
    summary: pd.DataFrame
    overall: pd.DataFrame
    overall_summary: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    kind: ClassVar[str] = "touchpoints"

    @property
    def weakest(self) -> str | None:
        """The touchpoint that pulls overall satisfaction down most, over all rows."""
        value = self.overall_summary["weakest"].iloc[0]
        return None if pd.isna(value) else str(value)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"touchpoints": self.table, "touchpoint_summary": self.summary}
        if self.by:
            out.update(
                {
                    "touchpoints_overall": self.overall,
                    "touchpoint_summary_overall": self.overall_summary,
                }
            )
        return out

    def settings(self) -> dict[str, Any]:
        return {
            "touchpoints": list(self.touchpoints),
            "overall": self.overall_column,
            "by": list(self.by),
            "method": self.method,
            "performance": self.performance,
            "scale": list(self.scale),
            "missing": self.missing,
            "weight": self.weight,
            "confidence": self.confidence,
            "weakest": self.weakest,
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update(plain(self.settings()))
        out["tables"] = {name: records(frame) for name, frame in self.tables().items()}
        return out


@dataclass(frozen=True)
class _Block:
    table: pd.DataFrame
    summary: pd.DataFrame
    warnings: tuple[Message, ...]


def _shares(method: str, imp: FloatArray) -> FloatArray:
    clipped = np.where(np.isfinite(imp), np.maximum(imp, 0.0), np.nan)
    total = float(np.nansum(clipped))
    out: FloatArray = clipped / total if total > 0 else np.full_like(imp, np.nan)
    return out


def _block(
    frame: pd.DataFrame,
    x: FloatArray,
    w: FloatArray,
    groups: _Groups,
    *,
    names: tuple[str, ...],
    overall_column: str,
    method: str,
    kind: str,
    scale: tuple[float, float],
    weight: str | None,
    missing: str,
    confidence: float,
    z: float,
    exact_max: int,
    n_perm: int,
    seed: int | None,
    min_n: int,
) -> _Block:
    size = groups.size
    p = len(names)
    means = _group_means(x, w, groups.gid, size, confidence)
    top = np.where(np.isfinite(x), (x >= scale[1] - 1.0).astype(np.float64), np.nan)
    tops = _group_means(top, w, groups.gid, size, confidence)
    t_low, t_high = drivers._wilson(tops.mean, tops.n_eff, z)
    importance = np.full((size, p), np.nan)
    r2 = np.full(size, np.nan)
    n_imp = np.zeros(size, dtype=np.int64)
    warnings: list[Message] = []
    for g in range(size):  # a loop over groups; each group is one vectorised analysis
        rows = frame.loc[groups.gid == g]
        try:
            result = drivers.importance(
                rows,
                items=list(names),
                target=overall_column,
                method=method,
                weight=weight,
                missing="pairwise" if missing == "pairwise" else "listwise",
                confidence=confidence,
                exact_max=exact_max,
                n_perm=n_perm,
                seed=seed,
            )
        except AllegianceError as exc:
            where = groups.describe(g) if groups.by else "-"
            warnings.append(Message("touchpoints.no_importance", {"group": where, "code": exc.key}))
            continue
        n_imp[g] = result.n
        if result.n < min_n:
            if groups.by:
                where = groups.describe(g)
                warnings.append(
                    Message("touchpoints.no_importance", {"group": where, "code": "min_n"})
                )
                continue
            warnings.append(Message("touchpoints.few_for_importance", {"n": result.n}))
        importance[g] = result.table["importance"].to_numpy(dtype=np.float64)
        r2[g] = result.r2
    perf = means.mean if kind == "mean" else tops.mean
    width = scale[1] - scale[0]
    headroom = (scale[1] - means.mean) / width if kind == "mean" else 1.0 - tops.mean
    share = np.vstack([_shares(method, importance[g]) for g in range(size)])
    impact = share * headroom
    with np.errstate(invalid="ignore", divide="ignore"):
        totals = np.nansum(impact, axis=1, keepdims=True)
        impact_share = np.where(totals > 0, impact / totals, np.nan)
    ranks = np.vstack(
        [
            pd.Series(impact[g]).rank(ascending=False, method="min").to_numpy(dtype=np.float64)
            for g in range(size)
        ]
    )
    table = _long(
        groups.keys,
        "touchpoint",
        names,
        {
            "n": means.n,
            "mean": means.mean,
            "mean_ci_low": np.clip(means.low, scale[0], scale[1]),
            "mean_ci_high": np.clip(means.high, scale[0], scale[1]),
            "top2_box": tops.mean,
            "top2_box_ci_low": t_low,
            "top2_box_ci_high": t_high,
            "performance": perf,
            "importance": importance,
            "share": share,
            "headroom": headroom,
            "impact": impact,
            "impact_share": impact_share,
            "impact_rank": ranks,
        },
    )
    weakest: list[str | None] = []
    weakest_impact = np.full(size, np.nan)
    for g in range(size):
        if np.isfinite(impact[g]).any():
            k = int(np.nanargmax(impact[g]))
            weakest.append(names[k])
            weakest_impact[g] = impact[g, k]
        else:
            weakest.append(None)
    n_rows = np.bincount(groups.gid, minlength=size).astype(np.int64)
    summary = _frame(
        groups.keys,
        {
            "n": n_rows,
            "n_importance": n_imp,
            "r2": r2,
            "weakest": pd.array(weakest, dtype="str"),
            "weakest_impact": weakest_impact,
        },
    )
    return _Block(table, summary, tuple(warnings))


def touchpoints(
    data: pd.DataFrame,
    /,
    *,
    touchpoints: Sequence[str],
    overall: str,
    by: By = None,
    method: str = "shapley",
    performance: str = "mean",
    scale: tuple[float, float] | None = None,
    weight: str | None = None,
    missing: str = "pairwise",
    confidence: float = 0.95,
    exact_max: int = 15,
    n_perm: int = 4000,
    seed: int | None = 0,
    min_n: int = 30,
) -> TouchpointResult:
    """Satisfaction by touchpoint and the touchpoint that pulls ``overall`` down most.

    ``touchpoints`` are the touchpoint columns in journey order; ``overall`` the
    overall satisfaction column; ``method`` one of the derived importance
    methods of :func:`allegiance.methods.drivers.importance`; ``performance``
    ``mean`` or ``top2`` (which also picks the headroom); ``scale`` the
    touchpoint answers' (low, high), inferred with a warning when not given.
    With ``by``, everything is computed per group as well; a group where fewer
    than ``min_n`` respondents lie behind some correlation (or too few for the
    number of touchpoints) keeps its performance figures, gets no importance and
    a warning. Over all rows importance is computed whenever the data allow it.
    """
    names = drivers._items(touchpoints)
    name = drivers._method_name(method)
    if name not in drivers.DERIVED:
        raise ValidationError(
            "drivers.bad_option",
            option="method",
            value=str(method),
            allowed=", ".join(drivers.DERIVED),
        )
    kind = str(performance)
    if kind not in ("mean", "top2"):
        raise ValidationError(
            "drivers.bad_option", option="performance", value=kind, allowed="mean, top2"
        )
    mode = drivers._missing_mode(missing)
    z = drivers._z(confidence)
    by_cols = _by_columns(by)
    if overall in names:
        raise ValidationError("drivers.target_in_items", target=overall)
    frame = drivers._check_frame(data, [*names, overall, *by_cols, weight])
    x = drivers._numeric_block(frame, list(names))
    w = drivers._weights(frame, weight)
    bounds, notes = drivers._scale(x, names, scale)
    common: dict[str, Any] = {
        "names": names,
        "overall_column": overall,
        "method": name,
        "kind": kind,
        "scale": bounds,
        "weight": weight,
        "missing": mode,
        "confidence": float(confidence),
        "z": z,
        "exact_max": exact_max,
        "n_perm": n_perm,
        "seed": seed,
        "min_n": drivers._check_count("min_n", min_n, low=0),
    }
    whole = _block(frame, x, w, _groups(frame, ()), **common)
    if by_cols:
        grouped = _block(frame, x, w, _groups(frame, by_cols), **common)
        table, summary = grouped.table, grouped.summary
        warnings = (*notes, *whole.warnings, *grouped.warnings)
    else:
        table, summary = whole.table, whole.summary
        warnings = (*notes, *whole.warnings)
    return TouchpointResult(
        touchpoints=names,
        overall_column=overall,
        by=by_cols,
        method=name,
        performance=kind,
        scale=bounds,
        missing=mode,
        weight=weight,
        confidence=float(confidence),
        table=table,
        summary=summary,
        overall=whole.table,
        overall_summary=whole.summary,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Customer delivered value
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class DeliveredValueResult:
    """Customer delivered value = total customer value − total customer cost, per group.

    ``table`` (one row per group): ``[by…] | n | n_missing | n_eff | total_value
    | total_value_ci_low | total_value_ci_high | total_cost | total_cost_ci_low
    | total_cost_ci_high | delivered_value | delivered_value_se |
    delivered_value_ci_low | delivered_value_ci_high | positive_share |
    positive_share_ci_low | positive_share_ci_high``. ``components`` (one row
    per group and component): ``[by…] | component | side | weight | n | mean |
    ci_low | ci_high`` over the same respondents. With ``by``, ``overall`` and
    ``overall_components`` hold the same over all rows.
    """

    value: tuple[str, ...]
    cost: tuple[str, ...]
    value_weights: tuple[float, ...]
    cost_weights: tuple[float, ...]
    by: tuple[str, ...]
    weight: str | None
    confidence: float
    table: pd.DataFrame
    components: pd.DataFrame
    overall: pd.DataFrame
    overall_components: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    kind: ClassVar[str] = "delivered_value"

    @property
    def delivered(self) -> float:
        """The mean delivered value over all rows."""
        return float(self.overall["delivered_value"].iloc[0])

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"delivered_value": self.table, "value_components": self.components}
        if self.by:
            out.update(
                {
                    "delivered_value_overall": self.overall,
                    "value_components_overall": self.overall_components,
                }
            )
        return out

    def settings(self) -> dict[str, Any]:
        return {
            "value": dict(zip(self.value, self.value_weights, strict=True)),
            "cost": dict(zip(self.cost, self.cost_weights, strict=True)),
            "by": list(self.by),
            "weight": self.weight,
            "confidence": self.confidence,
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update(plain(self.settings()))
        out["tables"] = {name: records(frame) for name, frame in self.tables().items()}
        return out


def _component_weights(spec: Any, side: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if isinstance(spec, Mapping):
        names = tuple(str(k) for k in spec)
        try:
            weights = tuple(float(v) for v in spec.values())
        except (TypeError, ValueError):
            raise ValidationError("touchpoints.bad_weights", side=side, value=repr(spec)) from None
    else:
        names = drivers._items(spec) if spec is not None else ()
        weights = tuple(1.0 for _ in names)
    if not names:
        raise ValidationError("touchpoints.no_components", side=side)
    if any(not math.isfinite(v) or v < 0 for v in weights) or sum(weights) <= 0:
        raise ValidationError("touchpoints.bad_weights", side=side, value=repr(spec))
    total = sum(weights)
    return names, tuple(v / total for v in weights)


def _dv_block(
    x: FloatArray,
    w: FloatArray,
    groups: _Groups,
    *,
    wv: FloatArray,
    wc: FloatArray,
    names: tuple[str, ...],
    sides: tuple[str, ...],
    weights: tuple[float, ...],
    confidence: float,
    z: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    k_value = wv.shape[0]
    complete: npt.NDArray[np.bool_] = np.asarray(np.isfinite(x).all(axis=1), dtype=np.bool_)
    size = groups.size
    n_missing = np.bincount(groups.gid[~complete], minlength=size).astype(np.int64)
    xc = np.where(complete[:, None], x, np.nan)
    with np.errstate(invalid="ignore"):
        total_value = xc[:, :k_value] @ wv
        total_cost = xc[:, k_value:] @ wc
    dv = total_value - total_cost
    positive = np.where(np.isfinite(dv), (dv > 0).astype(np.float64), np.nan)
    stacked = np.column_stack([total_value, total_cost, dv, positive])
    m = _group_means(stacked, w, groups.gid, size, confidence)
    p_low, p_high = drivers._wilson(m.mean[:, 3], m.n_eff[:, 3], z)
    table = _frame(
        groups.keys,
        {
            "n": m.n[:, 0],
            "n_missing": n_missing,
            "n_eff": m.n_eff[:, 0],
            "total_value": m.mean[:, 0],
            "total_value_ci_low": m.low[:, 0],
            "total_value_ci_high": m.high[:, 0],
            "total_cost": m.mean[:, 1],
            "total_cost_ci_low": m.low[:, 1],
            "total_cost_ci_high": m.high[:, 1],
            "delivered_value": m.mean[:, 2],
            "delivered_value_se": m.se[:, 2],
            "delivered_value_ci_low": m.low[:, 2],
            "delivered_value_ci_high": m.high[:, 2],
            "positive_share": m.mean[:, 3],
            "positive_share_ci_low": p_low,
            "positive_share_ci_high": p_high,
        },
    )
    cm = _group_means(xc, w, groups.gid, size, confidence)
    components = _long(
        groups.keys,
        "component",
        names,
        {
            "side": np.tile(np.asarray(sides, dtype=object), (size, 1)),
            "weight": np.tile(np.asarray(weights, dtype=np.float64), (size, 1)),
            "n": cm.n,
            "mean": cm.mean,
            "ci_low": cm.low,
            "ci_high": cm.high,
        },
    )
    components["side"] = components["side"].astype("str")
    return table, components


def delivered_value(
    data: pd.DataFrame,
    /,
    *,
    value: Sequence[str] | Mapping[str, float],
    cost: Sequence[str] | Mapping[str, float],
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> DeliveredValueResult:
    """Customer delivered value (SPEC section 1) from value and cost component items.

    ``value`` and ``cost`` are the component columns (a list: equal weights; a
    mapping column → weight: weights normalised to sum to 1). Both sides should
    be on the same scale, higher meaning more value or more cost. Per
    respondent: total value and total cost are the weighted means of the
    components, delivered value their difference. A respondent who left any
    component unanswered is left out (``n_missing``).
    """
    value_cols, value_w = _component_weights(value, "value")
    cost_cols, cost_w = _component_weights(cost, "cost")
    overlap = sorted(set(value_cols) & set(cost_cols))
    if overlap:
        raise ValidationError("touchpoints.component_twice", columns=", ".join(overlap))
    z = drivers._z(confidence)
    by_cols = _by_columns(by)
    names = (*value_cols, *cost_cols)
    frame = drivers._check_frame(data, [*names, *by_cols, weight])
    x = drivers._numeric_block(frame, list(names))
    w = drivers._weights(frame, weight)
    common: dict[str, Any] = {
        "wv": np.asarray(value_w),
        "wc": np.asarray(cost_w),
        "names": names,
        "sides": tuple(["value"] * len(value_cols) + ["cost"] * len(cost_cols)),
        "weights": (*value_w, *cost_w),
        "confidence": float(confidence),
        "z": z,
    }
    overall, overall_components = _dv_block(x, w, _groups(frame, ()), **common)
    warnings: list[Message] = []
    if by_cols:
        groups = _groups(frame, by_cols)
        table, components = _dv_block(x, w, groups, **common)
        for i in np.flatnonzero(table["n"].to_numpy() == 0):
            warnings.append(Message("touchpoints.empty_group", {"group": groups.describe(int(i))}))
    else:
        table, components = overall, overall_components
    if int(overall["n"].iloc[0]) == 0:
        raise ValidationError("touchpoints.no_complete", columns=", ".join(names))
    return DeliveredValueResult(
        value=value_cols,
        cost=cost_cols,
        value_weights=value_w,
        cost_weights=cost_w,
        by=by_cols,
        weight=weight,
        confidence=float(confidence),
        table=table,
        components=components,
        overall=overall,
        overall_components=overall_components,
        warnings=tuple(warnings),
    )
