"""Satisfaction and loyalty: how loyalty rises with satisfaction (SPEC sections 3.8 and 5).

Pure computation: frames in, small frozen results out.

- :func:`loyalty_curve` — for each satisfaction level (five-level scale,
  1 very dissatisfied .. 5 very satisfied) the share of loyal customers on one
  or more loyalty measures (repurchase intention, likelihood to recommend,
  actual retention), the *loyalty multiple* of very satisfied over merely
  satisfied customers (SPEC section 3, item 8) with its confidence interval,
  and the shape of the curve (SPEC section 5: in competitive markets loyalty
  rises steeply only at the very-satisfied end).
- :func:`link_retention` — survey answers joined to the customer table, so
  that actual retention (not churned) becomes a loyalty measure.
- :func:`employee_link` — employee satisfaction against customer satisfaction
  per branch (the service-profit chain of SPEC section 5), a correlation with
  its interval.

Formulas:

- share loyal at level j: p_j = loyal_j / n_j, Wilson interval
  (:func:`allegiance.methods.scales.loyalty_rate`);
- loyalty multiple M = p_very / p_merely, a ratio of two independent
  proportions; interval by the log method (Katz et al. 1978):
  ``exp(ln M ± z·√((1 − p_v)/(n_v·p_v) + (1 − p_m)/(n_m·p_m)))``, and the
  z-test of ln M = 0;
- defection ratio D = (1 − p_merely) / (1 − p_very): how many times as often
  merely satisfied customers are *not* loyal (Jones & Sasser 1995), same
  log method on the complements;
- acceleration A = (p_very − p_merely) − (p_merely − p_below), the top step
  of the curve minus the step before it, variance v_very + 4·v_merely +
  v_below with v_j = p_j(1 − p_j)/n_j; A > 0 means the curve bends upwards at
  the very-satisfied end;
- ``top_step_share`` = (p_very − p_merely) / (p_very − p_lowest), the part of
  the whole rise that happens in the last step;
- Pearson's r between branch means with the Fisher-z interval (as R's
  ``cor.test``), Spearman's rho with the Fisher-z interval of Bonett & Wright
  (2000), se = √((1 + ρ²/2)/(n − 3)).

>>> import pandas as pd
>>> d = pd.DataFrame({"sat": [5, 5, 5, 5, 4, 4, 4, 4], "rep": [1, 1, 1, 0, 1, 0, 0, 0]})
>>> r = loyalty_curve(d, satisfaction="sat", loyalty="rep")
>>> float(r.multiple.loc[0, "multiple"])
3.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message
from allegiance.methods import scales
from allegiance.results import plain, records

__all__ = [
    "DEFAULT_RULES",
    "EmployeeLinkResult",
    "LoyalRule",
    "LoyaltyCurveResult",
    "LoyaltyLinkResult",
    "employee_link",
    "link_retention",
    "loyalty_curve",
    "ratio_of_proportions",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LoyalRule:
    """Which answers of a loyalty measure count as loyal: one of ``codes`` or ``>= threshold``."""

    codes: tuple[float, ...] | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if (self.codes is None) == (self.threshold is None):
            raise ValidationError("loyalty_link.rule_one")
        if self.codes is not None:
            try:
                codes = tuple(float(c) for c in self.codes)
            except (TypeError, ValueError):
                raise ValidationError("loyalty_link.bad_rule", value=repr(self.codes)) from None
            if not codes or not all(math.isfinite(c) for c in codes):
                raise ValidationError("loyalty_link.bad_rule", value=repr(self.codes))
            object.__setattr__(self, "codes", codes)
        elif self.threshold is not None:
            if not isinstance(self.threshold, (int, float)) or not math.isfinite(self.threshold):
                raise ValidationError("loyalty_link.bad_rule", value=repr(self.threshold))
            object.__setattr__(self, "threshold", float(self.threshold))

    def flag(self, values: FloatArray, /) -> FloatArray:
        """1.0 loyal, 0.0 not loyal, NaN missing."""
        if self.codes is not None:
            hit = np.isin(values, np.asarray(self.codes, dtype=np.float64))
        else:
            hit = values >= float(self.threshold or 0.0)
        return np.where(np.isfinite(values), hit.astype(np.float64), np.nan)

    def to_dict(self) -> dict[str, Any]:
        if self.codes is not None:
            return {"codes": [_num(c) for c in self.codes]}
        return {"threshold": _num(float(self.threshold or 0.0))}


DEFAULT_RULES: Mapping[str, LoyalRule] = MappingProxyType(
    {
        # repurchase probability 3 = above 70% (SPEC section 4, three-indicator loyalty index)
        "repurchase": LoyalRule(codes=(3,)),
        # would recommend 3 = very likely
        "recommend3": LoyalRule(codes=(3,)),
        # 0-10 likelihood to recommend: promoters, 9-10 (Reichheld 2003)
        "nps": LoyalRule(threshold=9),
        # actual retention from link_retention: 1 = still a customer
        "retained": LoyalRule(codes=(1,)),
    }
)
"""The loyal answer of the demo survey's loyalty measures; other columns need a rule
unless they are yes/no (0/1 or true/false), where yes counts as loyal."""


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class LoyaltyCurveResult:
    """Loyalty by satisfaction level (:func:`loyalty_curve`).

    ``curve``: ``measure | level | n | loyal | share | ci_low | ci_high |
    mean | step`` (``mean`` of the raw loyalty answers, ``step`` = share −
    share of the level below). ``multiple``: ``measure | very | merely |
    n_very | n_merely | share_very | share_merely | multiple | ci_low |
    ci_high | z | p_value | defection_ratio | defection_ci_low |
    defection_ci_high | difference | difference_ci_low |
    difference_ci_high``. ``shape``: ``measure | below | top_step |
    previous_step | acceleration | se | ci_low | ci_high | z | p_value |
    top_step_share``.
    """

    satisfaction: str
    measures: tuple[str, ...]
    rules: Mapping[str, LoyalRule]
    levels: tuple[float, ...]
    very: float
    merely: float
    confidence: float
    curve: pd.DataFrame
    multiple: pd.DataFrame
    shape: pd.DataFrame
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "loyalty_curve"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"curve": self.curve, "multiple": self.multiple, "shape": self.shape}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "satisfaction": self.satisfaction,
            "measures": list(self.measures),
            "rules": {k: v.to_dict() for k, v in self.rules.items()},
            "levels": [_num(v) for v in self.levels],
            "very": _num(self.very),
            "merely": _num(self.merely),
            "confidence": self.confidence,
            "tables": {k: records(v) for k, v in self.tables().items()},
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class EmployeeLinkResult:
    """Employee against customer satisfaction per branch (:func:`employee_link`).

    ``branches``: ``branch | n_customers | customer_satisfaction |
    n_employees | employee_satisfaction`` (branch means; only branches with
    enough answers on both sides enter the correlation, column ``used``).
    ``correlation``: ``method | n_branches | r | ci_low | ci_high | statistic |
    p_value | slope | intercept`` for Pearson and Spearman; ``slope`` is the
    least-squares change of mean customer satisfaction per point of mean
    employee satisfaction.
    """

    branch: str
    customer_satisfaction: str
    employee_satisfaction: str
    min_customers: int
    min_employees: int
    confidence: float
    branches: pd.DataFrame
    correlation: pd.DataFrame
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "employee_link"

    @property
    def r(self) -> float:
        """Pearson's r between the branch means."""
        return float(self.correlation["r"].iloc[0])

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"branches": self.branches, "correlation": self.correlation}

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {"method": self.method}
        head.update(
            plain(
                {
                    "branch": self.branch,
                    "customer_satisfaction": self.customer_satisfaction,
                    "employee_satisfaction": self.employee_satisfaction,
                    "min_customers": self.min_customers,
                    "min_employees": self.min_employees,
                    "confidence": self.confidence,
                }
            )
        )
        head["tables"] = {k: records(v) for k, v in self.tables().items()}
        return head


@dataclass(frozen=True, eq=False, kw_only=True)
class LoyaltyLinkResult:
    """The loyalty curve and, when an employee survey is given, the branch link, together
    (what ``allegiance loyalty-link`` prints): tables ``curve``, ``multiple``, ``shape`` and
    ``branches``, ``correlation``."""

    curve: LoyaltyCurveResult
    employees: EmployeeLinkResult | None = None
    method: ClassVar[str] = "loyalty_link"

    @property
    def warnings(self) -> tuple[Message, ...]:
        extra = self.employees.warnings if self.employees is not None else ()
        return (*self.curve.warnings, *extra)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = dict(self.curve.tables())
        if self.employees is not None:
            out.update(self.employees.tables())
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "curve": self.curve.to_dict()}
        if self.employees is not None:
            out["employees"] = self.employees.to_dict()
        return out


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _check_frame(data: Any, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("compare.not_a_frame", kind=type(data).__name__)
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def _z(confidence: Any) -> float:
    if (
        not isinstance(confidence, (int, float))
        or isinstance(confidence, bool)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValidationError("compare.bad_confidence", value=repr(confidence))
    from scipy import stats

    return float(stats.norm.ppf(0.5 + float(confidence) / 2.0))


_TRUE = frozenset({"true", "t", "yes", "y", "是", "真"})
_FALSE = frozenset({"false", "f", "no", "n", "否", "假"})


def _values(frame: pd.DataFrame, column: str) -> FloatArray:
    """A column as float64 (booleans and yes/no words as 1/0); missing stays NaN."""
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    missing = series.isna().to_numpy(dtype=np.bool_)
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = series.astype("string").str.strip().str.casefold()
        words = text.map(lambda v: 1.0 if v in _TRUE else 0.0 if v in _FALSE else np.nan)
        numbers = pd.to_numeric(text, errors="coerce")
        values = np.where(
            words.notna().to_numpy(dtype=np.bool_),
            words.to_numpy(dtype=np.float64, na_value=np.nan),
            numbers.to_numpy(dtype=np.float64, na_value=np.nan),
        )
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        first = series.iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "compare.bad_number", column=column, value=str(first), n_bad=int(bad.sum())
        )
    return np.asarray(values, dtype=np.float64)


def _rule_for(column: str, values: FloatArray, given: Mapping[str, LoyalRule]) -> LoyalRule:
    if column in given:
        rule = given[column]
        if not isinstance(rule, LoyalRule):
            raise ValidationError("loyalty_link.bad_rule", value=repr(rule))
        return rule
    seen = values[np.isfinite(values)]
    if seen.size and np.isin(seen, (0.0, 1.0)).all():
        return LoyalRule(codes=(1,))
    if column in DEFAULT_RULES:
        return DEFAULT_RULES[column]
    raise ValidationError("loyalty_link.rule_needed", column=column)


def ratio_of_proportions(
    hits_a: float,
    n_a: float,
    hits_b: float,
    n_b: float,
    /,
    *,
    confidence: float = 0.95,
) -> dict[str, float]:
    """The ratio (hits_a/n_a) / (hits_b/n_b) with its log-method interval (Katz et al. 1978).

    Returns ``ratio``, ``log_se`` = √(1/a − 1/n_a + 1/b − 1/n_b), ``ci_low``,
    ``ci_high``, ``z`` and ``p_value`` (two-sided test of ratio = 1). NaN when
    either share is 0 or a group is empty.

    >>> r = ratio_of_proportions(10, 75, 12, 225)
    >>> round(r["ratio"], 6), round(r["ci_low"], 6), round(r["ci_high"], 6)
    (2.5, 1.126156, 5.549851)
    """
    z = _z(confidence)
    nan = dict.fromkeys(("ratio", "log_se", "ci_low", "ci_high", "z", "p_value"), math.nan)
    if n_a <= 0 or n_b <= 0 or hits_a <= 0 or hits_b <= 0:
        if n_a > 0 and n_b > 0 and hits_b > 0:
            nan["ratio"] = (hits_a / n_a) / (hits_b / n_b)
        return nan
    from scipy import stats

    ratio = (hits_a / n_a) / (hits_b / n_b)
    se = math.sqrt(max(1.0 / hits_a - 1.0 / n_a + 1.0 / hits_b - 1.0 / n_b, 0.0))
    log_ratio = math.log(ratio)
    if se > 0:
        stat = log_ratio / se
        p = float(2.0 * stats.norm.sf(abs(stat)))
    else:
        stat, p = math.nan, math.nan
    return {
        "ratio": ratio,
        "log_se": se,
        "ci_low": math.exp(log_ratio - z * se),
        "ci_high": math.exp(log_ratio + z * se),
        "z": stat,
        "p_value": p,
    }


# --------------------------------------------------------------------------------------------
# The curve
# --------------------------------------------------------------------------------------------


def _levels(levels: Sequence[float], very: float, merely: float) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in levels)
    except (TypeError, ValueError):
        raise ValidationError("loyalty_link.bad_levels", value=repr(levels)) from None
    if len(out) < 2 or len(set(out)) != len(out) or list(out) != sorted(out):
        raise ValidationError("loyalty_link.bad_levels", value=repr(levels))
    if float(very) not in out or float(merely) not in out or float(very) <= float(merely):
        raise ValidationError(
            "loyalty_link.bad_very_merely",
            very=repr(very),
            merely=repr(merely),
            levels=repr(levels),
        )
    return out


def loyalty_curve(
    data: pd.DataFrame,
    /,
    *,
    satisfaction: str,
    loyalty: str | Sequence[str],
    rules: Mapping[str, LoyalRule] | None = None,
    levels: Sequence[float] = (1, 2, 3, 4, 5),
    very: float = 5,
    merely: float = 4,
    confidence: float = 0.95,
) -> LoyaltyCurveResult:
    """Loyalty by satisfaction level, the very-satisfied multiple and the bend of the curve.

    ``satisfaction`` holds the levels (``levels``, lowest first; default the
    five-level scale coded 1..5); answers off the scale are an error.
    ``loyalty`` names one or more loyalty measures; ``rules`` says which
    answers count as loyal (:class:`LoyalRule`); without one, a yes/no
    column counts yes, and the demo's measures use :data:`DEFAULT_RULES`.
    Respondents missing either answer are left out of that measure.
    """
    measures = [loyalty] if isinstance(loyalty, str) else list(dict.fromkeys(loyalty))
    if not measures:
        raise ValidationError("compare.no_measures")
    frame = _check_frame(data, [satisfaction, *measures])
    z = _z(confidence)
    order = _levels(levels, very, merely)
    v_level, m_level = float(very), float(merely)
    given = dict(rules or {})
    sat = _values(frame, satisfaction)
    off = np.isfinite(sat) & ~np.isin(sat, np.asarray(order))
    if off.any():
        raise ValidationError(
            "loyalty_link.bad_level",
            column=satisfaction,
            value=str(_num(float(sat[off][0]))),
            levels=", ".join(str(_num(v)) for v in order),
        )
    warnings: list[Message] = []
    used_rules: dict[str, LoyalRule] = {}
    curve_rows: list[pd.DataFrame] = []
    multiple_rows: list[dict[str, Any]] = []
    shape_rows: list[dict[str, Any]] = []
    level_index = np.searchsorted(np.asarray(order), np.where(np.isfinite(sat), sat, order[0]))
    for measure in measures:
        raw = _values(frame, measure)
        rule = _rule_for(measure, raw, given)
        used_rules[measure] = rule
        flag = rule.flag(raw)
        keep = np.isfinite(sat) & np.isfinite(flag)
        work = pd.DataFrame(
            {
                "__level": pd.Categorical.from_codes(  # type: ignore[call-overload]
                    level_index[keep].astype(np.int64), categories=[_num(v) for v in order]
                ),
                "__loyal": flag[keep] > 0.5,
            }
        )
        rate = scales.loyalty_rate(work, loyal="__loyal", by="__level", confidence=confidence)
        found = rate.table.rename(columns={"rate": "share"})
        found["__pos"] = [order.index(float(v)) for v in found["__level"]]
        table = (
            found.set_index("__pos")[["n", "loyal", "share", "ci_low", "ci_high"]]
            .reindex(range(len(order)))
            .reset_index(drop=True)
        )
        table["n"] = table["n"].fillna(0).astype("int64")
        table["loyal"] = table["loyal"].fillna(0).astype("int64")
        table.insert(0, "level", np.asarray(order, dtype=np.float64))
        means = pd.Series(raw[keep]).groupby(level_index[keep]).mean()
        table["mean"] = means.reindex(range(len(order))).to_numpy(dtype=np.float64)
        table["step"] = table["share"].diff()
        for level in table.loc[table["n"] == 0, "level"]:
            warnings.append(
                Message(
                    "loyalty_link.empty_level", {"measure": measure, "level": _num(float(level))}
                )
            )
        table.insert(0, "measure", measure)
        curve_rows.append(
            table[["measure", "level", "n", "loyal", "share", "ci_low", "ci_high", "mean", "step"]]
        )

        def at(level: float, column: str, t: pd.DataFrame = table) -> float:
            return float(t.loc[t["level"] == level, column].iloc[0])

        n_v, n_m = at(v_level, "n"), at(m_level, "n")
        hit_v, hit_m = at(v_level, "loyal"), at(m_level, "loyal")
        p_v, p_m = at(v_level, "share"), at(m_level, "share")
        mult = ratio_of_proportions(hit_v, n_v, hit_m, n_m, confidence=confidence)
        defect = ratio_of_proportions(n_m - hit_m, n_m, n_v - hit_v, n_v, confidence=confidence)
        if not math.isfinite(mult["ci_low"]):
            warnings.append(Message("loyalty_link.no_multiple", {"measure": measure}))
        var_v = p_v * (1 - p_v) / n_v if n_v > 0 else math.nan
        var_m = p_m * (1 - p_m) / n_m if n_m > 0 else math.nan
        diff = p_v - p_m
        diff_se = math.sqrt(var_v + var_m) if math.isfinite(var_v + var_m) else math.nan
        multiple_rows.append(
            {
                "measure": measure,
                "very": v_level,
                "merely": m_level,
                "n_very": int(n_v),
                "n_merely": int(n_m),
                "share_very": p_v,
                "share_merely": p_m,
                "multiple": mult["ratio"],
                "ci_low": mult["ci_low"],
                "ci_high": mult["ci_high"],
                "z": mult["z"],
                "p_value": mult["p_value"],
                "defection_ratio": defect["ratio"],
                "defection_ci_low": defect["ci_low"],
                "defection_ci_high": defect["ci_high"],
                "difference": diff,
                "difference_ci_low": diff - z * diff_se,
                "difference_ci_high": diff + z * diff_se,
            }
        )
        below_pos = order.index(m_level) - 1
        row: dict[str, Any] = {
            "measure": measure,
            "below": order[below_pos] if below_pos >= 0 else math.nan,
            "top_step": diff,
            "previous_step": math.nan,
            "acceleration": math.nan,
            "se": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "z": math.nan,
            "p_value": math.nan,
            "top_step_share": math.nan,
        }
        if below_pos >= 0:
            below = order[below_pos]
            n_b = at(below, "n")
            p_b = at(below, "share")
            var_b = p_b * (1 - p_b) / n_b if n_b > 0 else math.nan
            accel = (p_v - p_m) - (p_m - p_b)
            se = math.sqrt(var_v + 4 * var_m + var_b)
            row.update(previous_step=p_m - p_b, acceleration=accel, se=se)
            if math.isfinite(se) and se > 0:
                from scipy import stats

                stat = accel / se
                row.update(
                    ci_low=accel - z * se,
                    ci_high=accel + z * se,
                    z=stat,
                    p_value=float(2.0 * stats.norm.sf(abs(stat))),
                )
        lowest = (
            float(table["share"].dropna().iloc[0]) if table["share"].notna().any() else math.nan
        )
        rise = p_v - lowest
        if math.isfinite(rise) and rise > 0:
            row["top_step_share"] = diff / rise
        shape_rows.append(row)
    curve = pd.concat(curve_rows, ignore_index=True)
    curve["n"] = curve["n"].astype("int64")
    curve["loyal"] = curve["loyal"].astype("int64")
    return LoyaltyCurveResult(
        satisfaction=satisfaction,
        measures=tuple(measures),
        rules=MappingProxyType(used_rules),
        levels=order,
        very=v_level,
        merely=m_level,
        confidence=float(confidence),
        curve=curve,
        multiple=pd.DataFrame(multiple_rows),
        shape=pd.DataFrame(shape_rows),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Actual retention
# --------------------------------------------------------------------------------------------


def link_retention(
    responses: pd.DataFrame,
    customers: pd.DataFrame,
    /,
    *,
    customer_id: str = "customer_id",
    churned: str = "churned",
    name: str = "retained",
) -> pd.DataFrame:
    """``responses`` with a column ``name``: 1.0 when the customer is still a customer,
    0.0 when the customer table says they churned, NaN when the customer is unknown.

    ``churned`` is a yes/no column of ``customers`` (booleans, 0/1, yes/no, 是/否);
    each customer id must appear once in ``customers``.

    >>> import pandas as pd
    >>> s = pd.DataFrame({"customer_id": ["a", "b", "x"]})
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "churned": [False, True]})
    >>> link_retention(s, c)["retained"].tolist()
    [1.0, 0.0, nan]
    """
    _check_frame(responses, [customer_id])
    _check_frame(customers, [customer_id, churned])
    if name in responses.columns:
        raise ValidationError("loyalty_link.column_exists", column=name)
    ids = customers[customer_id]
    if ids.duplicated().any():
        raise ValidationError(
            "loyalty_link.duplicate_customer",
            column=customer_id,
            value=str(ids[ids.duplicated()].iloc[0]),
        )
    flag = _values(customers, churned)
    if (np.isfinite(flag) & ~np.isin(flag, (0.0, 1.0))).any():
        raise ValidationError("loyalty_link.bad_churned", column=churned)
    lookup = pd.Series(1.0 - flag, index=ids.astype("str").to_numpy())
    keys = responses[customer_id].astype("str")
    out = responses.copy()
    out[name] = keys.map(lookup).to_numpy(dtype=np.float64, na_value=np.nan)
    return out


# --------------------------------------------------------------------------------------------
# The service-profit chain: employees and customers per branch
# --------------------------------------------------------------------------------------------


def _spearman_ci(rho: float, n: int, z: float) -> tuple[float, float]:
    if n <= 3 or not math.isfinite(rho) or abs(rho) >= 1:
        return math.nan, math.nan
    se = math.sqrt((1 + rho * rho / 2) / (n - 3))
    centre = math.atanh(rho)
    return math.tanh(centre - z * se), math.tanh(centre + z * se)


def employee_link(
    customers: pd.DataFrame,
    employees: pd.DataFrame,
    /,
    *,
    branch: str,
    customer_satisfaction: str,
    employee_satisfaction: str,
    employee_branch: str | None = None,
    min_customers: int = 5,
    min_employees: int = 3,
    confidence: float = 0.95,
) -> EmployeeLinkResult:
    """Correlate mean employee satisfaction with mean customer satisfaction across branches.

    ``customers`` has one row per surveyed customer (their branch in
    ``branch``, their satisfaction in ``customer_satisfaction``);
    ``employees`` one row per employee (branch in ``employee_branch``,
    default the same name, satisfaction in ``employee_satisfaction``). Branch
    means are compared for branches with at least ``min_customers`` customer
    and ``min_employees`` employee answers: Pearson's r with the Fisher-z
    interval and the t-test (as R's ``cor.test``), Spearman's rho, and the
    least-squares slope.
    """
    emp_branch = employee_branch or branch
    _check_frame(customers, [branch, customer_satisfaction])
    _check_frame(employees, [emp_branch, employee_satisfaction])
    z = _z(confidence)
    for name, value in (("min_customers", min_customers), ("min_employees", min_employees)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValidationError("loyalty_link.bad_minimum", name=name, value=repr(value))
    cust = pd.DataFrame(
        {
            "branch": customers[branch].astype(object),
            "v": _values(customers, customer_satisfaction),
        }
    ).dropna()
    emp = pd.DataFrame(
        {
            "branch": employees[emp_branch].astype(object),
            "v": _values(employees, employee_satisfaction),
        }
    ).dropna()
    cust["branch"] = cust["branch"].map(str)
    emp["branch"] = emp["branch"].map(str)
    c_stats = cust.groupby("branch", sort=True)["v"].agg(["size", "mean"])
    e_stats = emp.groupby("branch", sort=True)["v"].agg(["size", "mean"])
    table = pd.DataFrame(
        {
            "n_customers": c_stats["size"],
            "customer_satisfaction": c_stats["mean"],
        }
    ).join(
        pd.DataFrame({"n_employees": e_stats["size"], "employee_satisfaction": e_stats["mean"]}),
        how="outer",
    )
    table["n_customers"] = table["n_customers"].fillna(0).astype("int64")
    table["n_employees"] = table["n_employees"].fillna(0).astype("int64")
    table["used"] = (table["n_customers"] >= min_customers) & (
        table["n_employees"] >= min_employees
    )
    table.index.name = "branch"
    table = table.reset_index()
    table["branch"] = table["branch"].astype("str")
    used = table.loc[table["used"]]
    warnings: list[Message] = []
    left_out = int((~table["used"]).sum())
    if left_out:
        warnings.append(
            Message(
                "loyalty_link.branches_left_out",
                {"n": left_out, "min_customers": min_customers, "min_employees": min_employees},
            )
        )
    x = used["employee_satisfaction"].to_numpy(dtype=np.float64)
    y = used["customer_satisfaction"].to_numpy(dtype=np.float64)
    n = int(x.size)
    rows: list[dict[str, Any]] = []
    pearson: dict[str, Any] = {
        "method": "pearson",
        "n_branches": n,
        "r": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "statistic": math.nan,
        "p_value": math.nan,
        "slope": math.nan,
        "intercept": math.nan,
    }
    spearman = dict(pearson, method="spearman")
    if n >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
        from scipy import stats

        pr = stats.pearsonr(x, y)
        r = float(pr.statistic)
        if n > 3:
            ci = pr.confidence_interval(confidence_level=float(confidence))
            low, high = float(ci.low), float(ci.high)
        else:
            low = high = math.nan
        t = r * math.sqrt((n - 2) / (1 - r * r)) if abs(r) < 1 else math.copysign(math.inf, r)
        fit = stats.linregress(x, y)
        pearson.update(
            r=r,
            ci_low=low,
            ci_high=high,
            statistic=t,
            p_value=float(pr.pvalue),
            slope=float(fit.slope),
            intercept=float(fit.intercept),
        )
        sr = stats.spearmanr(x, y)
        rho = float(sr.statistic)
        s_low, s_high = _spearman_ci(rho, n, z)
        spearman.update(
            r=rho,
            ci_low=s_low,
            ci_high=s_high,
            statistic=rho,
            p_value=float(sr.pvalue),
            slope=math.nan,
            intercept=math.nan,
        )
    else:
        warnings.append(Message("loyalty_link.too_few_branches", {"n": n}))
    rows.extend([pearson, spearman])
    return EmployeeLinkResult(
        branch=branch,
        customer_satisfaction=customer_satisfaction,
        employee_satisfaction=employee_satisfaction,
        min_customers=int(min_customers),
        min_employees=int(min_employees),
        confidence=float(confidence),
        branches=table[
            [
                "branch",
                "n_customers",
                "customer_satisfaction",
                "n_employees",
                "employee_satisfaction",
                "used",
            ]
        ],
        correlation=pd.DataFrame(rows),
        warnings=tuple(warnings),
    )
