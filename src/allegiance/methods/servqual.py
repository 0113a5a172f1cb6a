"""SERVQUAL: service quality as perception minus expectation over five dimensions.

Pure computation (SPEC section 6). The SERVQUAL instrument (Parasuraman, Zeithaml
& Berry 1988) asks 22 statements twice, as an expectation (E) and as a
perception (P) of the service received, usually on a 7-point scale; the items
belong to five dimensions:

=============== ======= =======================================================
dimension        items   中文
=============== ======= =======================================================
tangibles        1-4     有形性 (facilities, equipment, appearance of staff)
reliability      5-9     可靠性 (performing the promised service dependably)
responsiveness   10-13   响应性 (willingness to help, prompt service)
assurance        14-17   保证性 (knowledge, courtesy, inspiring trust)
empathy          18-22   移情性 (caring, individual attention)
=============== ======= =======================================================

What :func:`servqual` computes (each respondent's gap is ``P − E``):

- **items**: per item the mean expectation and perception and the mean gap
  with its paired t interval (``n − 1`` degrees of freedom) and the paired
  t-test of "no gap" (``t_stat``, two-sided ``p_value``). Only respondents who
  answered both E and P of the item count, so ``gap_pe == perception −
  expectation`` exactly.
- **dimensions**: each respondent's dimension score is the mean of their item
  gaps in that dimension (items they skipped left out); the table gives the
  mean over respondents with its t interval and test (Zeithaml, Parasuraman &
  Berry 1990, *Delivering Quality Service*, appendix "computing SERVQUAL
  scores").
- **overall**: the unweighted SERVQUAL score, each respondent's mean of the
  five dimension scores, averaged over respondents; with ``importance`` also
  the weighted score (Parasuraman, Berry & Zeithaml 1991): each respondent
  spreads 100 points over the dimensions by importance, their dimension scores
  are weighted by points / total and summed. A respondent whose points do not
  add up to 100 is rescaled to 100 (with a warning); one without points, or
  without a score on some dimension, is left out of the weighted score.
- **zone of tolerance** (Parasuraman, Zeithaml & Berry 1994), with
  ``adequate`` and ``desired`` service levels per item: the measure of service
  adequacy ``MSA = P − adequate`` and of service superiority ``MSS = P −
  desired``, per item and dimension with t intervals, and where perception
  falls: ``below`` the zone (MSA < 0), ``within`` it, or ``above`` it (MSS > 0).
- ``servperf=True``: SERVPERF (Cronin & Taylor 1992), perceptions only: the
  same tables with mean perceptions (and their t intervals) instead of gaps,
  and the importance-weighted perception score.

Answers must be numbers within ``scale`` (default 1-7); a value outside raises
:class:`~allegiance.errors.ValidationError` naming the column, the row and the
value. Missing answers are left out item by item.

>>> import pandas as pd
>>> data = pd.DataFrame({"e1": [7, 6, 7], "p1": [5, 6, 6], "e2": [6, 6, 5], "p2": [6, 4, 5]})
>>> result = servqual(
...     data, expectation=["e1", "e2"], perception=["p1", "p2"], dimensions=["speed", "care"]
... )
>>> result.gaps
{'speed': -1.0, 'care': -0.6666666666666666}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message
from allegiance.results import records

__all__ = [
    "DEFAULT_SCALE",
    "DIMENSIONS",
    "ITEM_DIMENSIONS",
    "N_ITEMS",
    "POINTS",
    "ServqualResult",
    "dimension_items",
    "item_columns",
    "servqual",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DIMENSIONS: tuple[str, ...] = (
    "tangibles",
    "reliability",
    "responsiveness",
    "assurance",
    "empathy",
)
"""The five SERVQUAL dimensions (Parasuraman, Zeithaml & Berry 1988), in item order."""

ITEM_DIMENSIONS: tuple[str, ...] = (
    ("tangibles",) * 4
    + ("reliability",) * 5
    + ("responsiveness",) * 4
    + ("assurance",) * 4
    + ("empathy",) * 5
)
"""The dimension of each of the 22 items: 1-4, 5-9, 10-13, 14-17, 18-22."""

N_ITEMS = len(ITEM_DIMENSIONS)
DEFAULT_SCALE: tuple[float, float] = (1.0, 7.0)
POINTS = 100.0
"""The points a respondent spreads over the dimensions (Parasuraman et al. 1991)."""
_POINTS_TOL = 1e-6


def item_columns(
    prefix: str, /, *, n: int = N_ITEMS, columns: Iterable[Any] | None = None
) -> tuple[str, ...]:
    """The column names ``<prefix>01`` ... ``<prefix>NN`` of ``n`` items.

    With ``columns``, an item whose zero-padded name is absent but whose plain
    name (``<prefix>1``) is present takes the plain name.

    >>> item_columns("sq_e", n=3)
    ('sq_e01', 'sq_e02', 'sq_e03')
    >>> item_columns("q", n=2, columns=["q1", "q2"])
    ('q1', 'q2')
    """
    present = None if columns is None else {str(c) for c in columns}
    out = []
    for i in range(1, n + 1):
        padded, bare = f"{prefix}{i:02d}", f"{prefix}{i}"
        out.append(
            bare if present is not None and padded not in present and bare in present else padded
        )
    return tuple(out)


def dimension_items(dimensions: Sequence[str] = ITEM_DIMENSIONS, /) -> dict[str, tuple[int, ...]]:
    """Dimension → its item numbers (1-based), dimensions in order of first appearance.

    >>> dimension_items()["reliability"]
    (5, 6, 7, 8, 9)
    """
    out: dict[str, list[int]] = {}
    for number, dim in enumerate(dimensions, start=1):
        out.setdefault(str(dim), []).append(number)
    return {d: tuple(v) for d, v in out.items()}


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ServqualResult:
    """SERVQUAL (or SERVPERF) gaps per item, dimension and overall.

    ``items`` columns (``item`` is the item number 1 … k): ``item | dimension | n | expectation | perception | gap_pe | sd |
    se | ci_low | ci_high | t_stat | p_value`` (SERVPERF: ``item | dimension | n |
    perception | sd | se | ci_low | ci_high``; the interval is then the perception's).

    ``dimensions`` columns: ``dimension | n_items | n`` then the same figures as
    ``items``; with importance also ``importance_points`` (mean points of 100) and
    ``importance_share`` (mean share of each respondent's points).

    ``overall`` has one row per score (``measure``: ``servqual`` and
    ``servqual_weighted``, or ``servperf`` and ``servperf_weighted``): ``measure |
    n | mean | sd | se | ci_low | ci_high`` (+ ``t_stat | p_value`` for SERVQUAL).

    ``zone`` (per dimension) and ``zone_items`` (per item), when adequate and desired
    levels are given: ``... | n | adequate | desired | perception | tolerance | msa |
    msa_ci_low | msa_ci_high | mss | mss_ci_low | mss_ci_high | zone``.
    """

    servperf: bool
    confidence: float
    scale: tuple[float, float] | None
    items: pd.DataFrame
    dimensions: pd.DataFrame
    overall: pd.DataFrame
    zone: pd.DataFrame | None = None
    zone_items: pd.DataFrame | None = None
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "servqual"

    def _column(self, column: str) -> dict[str, float]:
        return {
            str(d): float(v)
            for d, v in zip(self.dimensions["dimension"], self.dimensions[column], strict=True)
        }

    @property
    def gaps(self) -> dict[str, float]:
        """Dimension → mean gap P − E (empty for SERVPERF)."""
        return {} if self.servperf else self._column("gap_pe")

    @property
    def perceptions(self) -> dict[str, float]:
        """Dimension → mean perception."""
        return self._column("perception")

    def _overall(self, measure: str) -> float | None:
        rows = self.overall[self.overall["measure"] == measure]
        return None if rows.empty else float(rows["mean"].iloc[0])

    @property
    def score(self) -> float | None:
        """The unweighted SERVQUAL (or SERVPERF) score."""
        return self._overall("servperf" if self.servperf else "servqual")

    @property
    def weighted_score(self) -> float | None:
        """The importance-weighted score (``None`` without importance points)."""
        return self._overall("servperf_weighted" if self.servperf else "servqual_weighted")

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"items": self.items, "dimensions": self.dimensions, "overall": self.overall}
        if self.zone is not None:
            out["zone"] = self.zone
        if self.zone_items is not None:
            out["zone_items"] = self.zone_items
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the settings used and every table as records."""
        return {
            "method": "servperf" if self.servperf else self.method,
            "confidence": self.confidence,
            "scale": None if self.scale is None else list(self.scale),
            "score": self.score,
            "weighted_score": self.weighted_score,
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _matrix(
    frame: pd.DataFrame, columns: Sequence[str], *, scale: tuple[float, float] | None
) -> FloatArray:
    """The answers of ``columns`` as an (n, items) float matrix, NaN where missing."""
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):  # a loop over items, not respondents
        raw = frame[column]
        if isinstance(raw.dtype, pd.CategoricalDtype):
            raw = raw.astype(object)
        if pd.api.types.is_bool_dtype(raw.dtype):
            numbers = np.where(raw.isna(), np.nan, np.inf)
        elif pd.api.types.is_numeric_dtype(raw.dtype):
            numbers = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            text = raw.astype("string").str.normalize("NFKC").str.strip()
            text = text.where(text != "")
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            numbers[text.isna().to_numpy(dtype=np.bool_)] = np.nan
            unparsed = text.notna().to_numpy(dtype=np.bool_) & np.isnan(numbers)
            numbers[unparsed] = np.inf
        given = ~np.isnan(numbers)
        bad = given & ~np.isfinite(numbers)
        if scale is not None:
            with np.errstate(invalid="ignore"):
                bad |= given & ((numbers < scale[0]) | (numbers > scale[1]))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            if scale is None:
                raise ValidationError(
                    "servqual.bad_number",
                    column=column,
                    row=first + 1,
                    value=_show(raw.iloc[first]),
                )
            raise ValidationError(
                "servqual.bad_answer",
                column=column,
                row=first + 1,
                value=_show(raw.iloc[first]),
                low=_show(scale[0]),
                high=_show(scale[1]),
                n_bad=int(bad.sum()),
            )
        out[:, j] = numbers
    return out


@dataclass(frozen=True)
class _Stats:
    n: npt.NDArray[np.int64]
    mean: FloatArray
    sd: FloatArray
    se: FloatArray
    low: FloatArray
    high: FloatArray
    t_stat: FloatArray
    p_value: FloatArray


def _stats(x: FloatArray, confidence: float) -> _Stats:
    """Column-wise mean, sd, se, t interval and one-sample t-test against 0 (NaN ignored)."""
    from scipy import stats  # imported on use: keeps the command line quick to start

    ok = np.isfinite(x)
    n = ok.sum(axis=0).astype(np.int64)
    s1 = np.where(ok, x, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s1 / np.where(n > 0, n, 1), np.nan)
        dev = np.where(ok, x - mean[None, :], 0.0)
        var = np.where(n > 1, (dev**2).sum(axis=0) / np.where(n > 1, n - 1, 1), np.nan)
        sd = np.sqrt(var)
        se = sd / np.sqrt(np.where(n > 0, n, 1))
        df = np.where(n > 1, n - 1, 1).astype(np.float64)
        tq = np.asarray(stats.t.ppf(0.5 + confidence / 2.0, df), dtype=np.float64)
        t_stat = np.where(se > 0, mean / np.where(se > 0, se, 1.0), np.nan)
        p_value = np.asarray(2.0 * stats.t.sf(np.abs(t_stat), df), dtype=np.float64)
    two = n > 1
    return _Stats(
        n=n,
        mean=mean,
        sd=np.where(two, sd, np.nan),
        se=np.where(two, se, np.nan),
        low=np.where(two, mean - tq * se, np.nan),
        high=np.where(two, mean + tq * se, np.nan),
        t_stat=np.where(two, t_stat, np.nan),
        p_value=np.where(two & np.isfinite(t_stat), p_value, np.nan),
    )


def _col_mean(x: FloatArray) -> FloatArray:
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(
            n > 0, np.where(ok, x, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan
        )
    return out


def _by_dimension(x: FloatArray, indicator: FloatArray) -> FloatArray:
    """Each respondent's mean over the items of each dimension (NaN items left out)."""
    ok = np.isfinite(x)
    counts = ok.astype(np.float64) @ indicator
    sums = np.where(ok, x, 0.0) @ indicator
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
    return out


def _check_confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValidationError("servqual.bad_confidence", value=str(value))
    return float(value)


def _check_scale(scale: Any) -> tuple[float, float] | None:
    if scale is None:
        return None
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise ValidationError("servqual.bad_scale", value=repr(scale)) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValidationError("servqual.bad_scale", value=repr(scale))
    return (low, high)


def _names(value: Sequence[str] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise ValidationError("servqual.not_a_list", what=what, value=value)
    return [str(v) for v in value]


def _stat_columns(s: _Stats, *, test: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sd": s.sd,
        "se": s.se,
        "ci_low": s.low,
        "ci_high": s.high,
    }
    if test:
        out["t_stat"] = s.t_stat
        out["p_value"] = s.p_value
    return out


def _zone_label(msa: FloatArray, mss: FloatArray) -> list[str | None]:
    out: list[str | None] = []
    for a, s in zip(msa.tolist(), mss.tolist(), strict=True):
        if not (np.isfinite(a) and np.isfinite(s)):
            out.append(None)
        elif a < 0:
            out.append("below")
        elif s > 0:
            out.append("above")
        else:
            out.append("within")
    return out


def _zone_table(
    keys: dict[str, Any],
    adequate: FloatArray,
    desired: FloatArray,
    perceived: FloatArray,
    confidence: float,
) -> pd.DataFrame:
    """MSA = P − adequate, MSS = P − desired, over respondents with all three levels."""
    both = np.isfinite(adequate) & np.isfinite(desired) & np.isfinite(perceived)
    a = np.where(both, adequate, np.nan)
    d = np.where(both, desired, np.nan)
    p = np.where(both, perceived, np.nan)
    msa = _stats(p - a, confidence)
    mss = _stats(p - d, confidence)
    frame = pd.DataFrame(
        {
            **keys,
            "n": msa.n,
            "adequate": _col_mean(a),
            "desired": _col_mean(d),
            "perception": _col_mean(p),
            "tolerance": _col_mean(d - a),
            "msa": msa.mean,
            "msa_ci_low": msa.low,
            "msa_ci_high": msa.high,
            "mss": mss.mean,
            "mss_ci_low": mss.low,
            "mss_ci_high": mss.high,
        }
    )
    frame["zone"] = pd.array(_zone_label(msa.mean, mss.mean), dtype="str")
    return frame


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


def servqual(
    data: pd.DataFrame,
    /,
    *,
    expectation: Sequence[str] | None = None,
    perception: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
    importance: Mapping[str, str] | None = None,
    adequate: Sequence[str] | None = None,
    desired: Sequence[str] | None = None,
    servperf: bool = False,
    scale: tuple[float, float] | None = DEFAULT_SCALE,
    confidence: float = 0.95,
) -> ServqualResult:
    """SERVQUAL gaps (or SERVPERF perceptions) per item, dimension and overall.

    ``perception`` and ``expectation`` list the item columns in item order
    (default ``sq_p01`` … ``sq_p22`` and ``sq_e01`` … ``sq_e22``; ``expectation``
    is not used with ``servperf=True``). ``dimensions`` gives each item's
    dimension (default: the 22 items of Parasuraman et al. 1988, see
    :data:`ITEM_DIMENSIONS`). ``importance`` maps each dimension to the column
    holding the respondent's points out of 100. ``adequate`` and ``desired`` list
    the adequate- and desired-service columns for the zone of tolerance, aligned
    with ``perception``. ``scale`` is the answer range (``None``: any number).
    See the module documentation for every figure.
    """
    conf = _check_confidence(confidence)
    rng = _check_scale(scale)
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("servqual.not_a_frame", kind=type(data).__name__)
    p_cols = _names(perception, "perception") or list(item_columns("sq_p", columns=data.columns))
    e_cols: list[str] | None = None
    if not servperf:
        e_cols = _names(expectation, "expectation") or list(
            item_columns("sq_e", n=len(p_cols), columns=data.columns)
        )
        if len(e_cols) != len(p_cols):
            raise ValidationError(
                "servqual.length_mismatch",
                what="expectation",
                n=len(e_cols),
                n_perception=len(p_cols),
            )
    k = len(p_cols)
    if k == 0:
        raise ValidationError("servqual.no_items")
    dims = _names(dimensions, "dimensions")
    if dims is None:
        if k != N_ITEMS:
            raise ValidationError("servqual.need_dimensions", n=k, standard=N_ITEMS)
        dims = list(ITEM_DIMENSIONS)
    if len(dims) != k:
        raise ValidationError(
            "servqual.length_mismatch", what="dimensions", n=len(dims), n_perception=k
        )
    a_cols = _names(adequate, "adequate")
    d_cols = _names(desired, "desired")
    if (a_cols is None) != (d_cols is None):
        raise ValidationError("servqual.zone_needs_both")
    for what, cols in (("adequate", a_cols), ("desired", d_cols)):
        if cols is not None and len(cols) != k:
            raise ValidationError(
                "servqual.length_mismatch", what=what, n=len(cols), n_perception=k
            )
    groups = dimension_items(dims)
    dim_names = list(groups)
    imp_map = dict(importance or {})
    unknown = [d for d in imp_map if d not in groups]
    if unknown:
        raise ValidationError(
            "servqual.unknown_dimension", dimension=unknown[0], available=", ".join(dim_names)
        )
    if imp_map and set(imp_map) != set(dim_names):
        missing_dims = [d for d in dim_names if d not in imp_map]
        raise ValidationError("servqual.importance_incomplete", missing=", ".join(missing_dims))

    wanted = [*p_cols, *(e_cols or []), *(a_cols or []), *(d_cols or []), *imp_map.values()]
    absent = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if absent:
        raise ColumnNotFoundError(absent, [str(c) for c in data.columns])

    warnings: list[Message] = []
    indicator = np.zeros((k, len(dim_names)), dtype=np.float64)
    for j, d in enumerate(dim_names):
        indicator[[i - 1 for i in groups[d]], j] = 1.0

    P = _matrix(data, p_cols, scale=rng)
    E: FloatArray | None = None
    X = P
    if e_cols is not None:
        E = _matrix(data, e_cols, scale=rng)
        paired = np.isfinite(P) & np.isfinite(E)
        P = np.where(paired, P, np.nan)
        E = np.where(paired, E, np.nan)
        X = P - E
    test = E is not None

    item_stats = _stats(X, conf)
    numbers = np.arange(1, k + 1, dtype=np.int64)
    items: dict[str, Any] = {
        "item": numbers,
        "dimension": pd.array(dims, dtype="str"),
        "n": item_stats.n,
    }
    if E is None:
        items["perception"] = item_stats.mean
    else:
        items["expectation"] = _col_mean(E)
        items["perception"] = _col_mean(P)
        items["gap_pe"] = item_stats.mean
    items.update(_stat_columns(item_stats, test=test))
    for empty in np.flatnonzero(item_stats.n == 0).tolist():
        warnings.append(Message("servqual.no_answers", {"column": p_cols[empty]}))

    X_dim = _by_dimension(X, indicator)
    dim_stats = _stats(X_dim, conf)
    dim_table: dict[str, Any] = {
        "dimension": pd.array(dim_names, dtype="str"),
        "n_items": np.array([len(groups[d]) for d in dim_names], dtype=np.int64),
        "n": dim_stats.n,
    }
    if E is None:
        dim_table["perception"] = dim_stats.mean
    else:
        e_dim = np.where(np.isfinite(X_dim), _by_dimension(E, indicator), np.nan)
        p_dim = np.where(np.isfinite(X_dim), _by_dimension(P, indicator), np.nan)
        dim_table["expectation"] = _col_mean(e_dim)
        dim_table["perception"] = _col_mean(p_dim)
        dim_table["gap_pe"] = dim_stats.mean
    dim_table.update(_stat_columns(dim_stats, test=test))

    complete = np.isfinite(X_dim).all(axis=1)
    unweighted = np.where(complete, X_dim.mean(axis=1) if X_dim.size else np.nan, np.nan)
    name = "servperf" if servperf else "servqual"
    scores: list[tuple[str, FloatArray]] = [(name, unweighted)]
    if imp_map:
        points = _matrix(data, [imp_map[d] for d in dim_names], scale=None)
        negative = np.isfinite(points) & (points < 0)
        if negative.any():
            r, c = (int(v[0]) for v in np.nonzero(negative))
            raise ValidationError(
                "servqual.bad_points",
                column=imp_map[dim_names[c]],
                row=r + 1,
                value=_show(float(points[r, c])),
            )
        total = points.sum(axis=1)
        usable = np.isfinite(total) & (total > 0)
        off = usable & (np.abs(total - POINTS) > _POINTS_TOL)
        if off.any():
            warnings.append(Message("servqual.points_rescaled", {"n": int(off.sum())}))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(
                usable[:, None], points / np.where(usable, total, 1.0)[:, None], np.nan
            )
        weighted = np.where(usable & complete, np.nansum(share * X_dim, axis=1), np.nan)
        left_out = int((complete & ~usable).sum())
        if left_out:
            warnings.append(Message("servqual.no_points", {"n": left_out}))
        dim_table["importance_points"] = _col_mean(np.where(usable[:, None], points, np.nan))
        dim_table["importance_share"] = _col_mean(share)
        scores.append((f"{name}_weighted", weighted))
    incomplete = int((~complete).sum())
    if incomplete and len(data):
        warnings.append(Message("servqual.incomplete", {"n": incomplete}))

    overall_stats = _stats(np.column_stack([s for _, s in scores]), conf)
    overall: dict[str, Any] = {
        "measure": pd.array([m for m, _ in scores], dtype="str"),
        "n": overall_stats.n,
        "mean": overall_stats.mean,
    }
    overall.update(_stat_columns(overall_stats, test=test))

    zone = zone_items = None
    if a_cols is not None and d_cols is not None:
        A = _matrix(data, a_cols, scale=rng)
        D = _matrix(data, d_cols, scale=rng)
        P_all = _matrix(data, p_cols, scale=rng)
        inverted = np.isfinite(A) & np.isfinite(D) & (A > D)
        if inverted.any():
            warnings.append(Message("servqual.adequate_above_desired", {"n": int(inverted.sum())}))
        zone_items = _zone_table(
            {
                "item": numbers,
                "dimension": pd.array(dims, dtype="str"),
            },
            A,
            D,
            P_all,
            conf,
        )
        full = np.isfinite(A) & np.isfinite(D) & np.isfinite(P_all)
        zone = _zone_table(
            {"dimension": pd.array(dim_names, dtype="str")},
            _by_dimension(np.where(full, A, np.nan), indicator),
            _by_dimension(np.where(full, D, np.nan), indicator),
            _by_dimension(np.where(full, P_all, np.nan), indicator),
            conf,
        )

    return ServqualResult(
        servperf=bool(servperf),
        confidence=conf,
        scale=rng,
        items=pd.DataFrame(items),
        dimensions=pd.DataFrame(dim_table),
        overall=pd.DataFrame(overall),
        zone=zone,
        zone_items=zone_items,
        warnings=tuple(warnings),
    )
