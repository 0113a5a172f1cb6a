"""The calculation-standard satisfaction index CSI (客户满意度指数, SPEC section 4).

Every factor i of the AHP hierarchy (goal → criteria → factors) is asked on the
five-level scale 很满意 / 满意 / 一般 / 不满意 / 很不满意. With n_ij the number of
valid answers of factor i on level j and x_ij the level's score (5, 4, 3, 2, 1
by default; 100, 80, 60, 40, 20 is common too):

- the standardised value of a factor is
  ``DC_i = Σ_j x_ij·n_ij / (x_i,max · Σ_j n_ij)``, its mean level score divided by
  the best possible score (with scores 5..1 it runs from 0.2 to 1);
- the index is ``CSI = Σ_i C_i·DC_i`` with the AHP global weights C_i (Σ C_i = 1),
  a number in 0..1 that reports show as 0..100;
- a criterion's sub-index is ``Σ_{i∈c} C_i·DC_i / Σ_{i∈c} C_i``;
- a factor's contribution is ``C_i·DC_i`` and its gap to the full score
  ``C_i·(1 − DC_i)``; contributions add up to the CSI, contributions and gaps
  to 1, and the factor with the largest gap is the one to fix first (rank 1).

A factor nobody answered (in the data or in a group) has no DC; the index is
then taken over the factors that were answered, their weights rescaled to sum
to 1 (``weight_covered`` in the index table says how much weight was left, and
a warning names the factors). With survey weights (``weight=``) every count
n_ij is a weighted sum. The confidence intervals are bootstrap percentile
intervals over respondents: each resample draws the group's respondents with
replacement (counting how often each distinct answer pattern is drawn, so a
whole batch of resamples is one matrix product) and recomputes every DC, the
CSI and the sub-indices; with ``by`` each group is resampled on its own.

This module is pure: it takes the weights directly (``weights=``) or from an
analysed AHP hierarchy (``hierarchy=``, a :class:`allegiance.methods.ahp.HierarchyResult`);
reading a hierarchy file is the caller's step.

>>> import pandas as pd
>>> answers = pd.DataFrame({
...     "cs_speed": [5, 5, 5, 4, 4, 4, 4, 3, 3, 2],   # counts 3, 4, 2, 1, 0: DC = 0.78
...     "cs_price": [5, 4, 4, 4, 4, 3, 3, 3, 3, 3],   # counts 1, 4, 5, 0, 0: DC = 0.72
... })
>>> result = csi(answers, weights={"speed": 0.75, "price": 0.25}, n_boot=0)
>>> round(result.csi, 6)   # 0.75·0.78 + 0.25·0.72
0.765
>>> round(result.csi_100, 4)
76.5
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message
from allegiance.methods import ahp
from allegiance.methods.scales import FIVE_LEVEL_NAMES, SCALES
from allegiance.results import plain, records

__all__ = [
    "DEFAULT_LEVEL_SCORES",
    "CSIResult",
    "CSIWeights",
    "csi",
    "csi_weights",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
By = str | Sequence[str] | None

DEFAULT_LEVEL_SCORES: tuple[float, ...] = (5, 4, 3, 2, 1)
"""Scores x_j of very satisfied, satisfied, neutral, dissatisfied, very dissatisfied."""

LEVELS = 5
WEIGHT_TOLERANCE = 1e-6
"""Weights summing to 1 within this tolerance are used as given; others are rescaled."""

_BOOT_CELLS = 4_000_000
"""Resamples are drawn in chunks of about this many (resample × answer pattern) cells."""


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CSIWeights:
    """The factors of the index with their weights C_i and (optionally) their criteria.

    ``criteria[i]`` is the criterion (the first level below the goal) of
    ``factors[i]``, or ``None`` for all when the weights came without a
    hierarchy. ``consistency`` is the AHP consistency table when the weights
    came from a hierarchy (empty otherwise) and ``hierarchy_cr`` the
    consistency ratio of the whole hierarchy. ``columns[i]`` is the answer
    column a hierarchy names for a factor (a leaf's ``column:`` key), else ``None``.
    """

    factors: tuple[str, ...]
    weights: tuple[float, ...]
    criteria: tuple[str | None, ...]
    source: str = "weights"
    consistency: pd.DataFrame | None = None
    hierarchy_cr: float | None = None
    columns: tuple[str | None, ...] = ()
    warnings: tuple[Message, ...] = ()

    def as_dict(self) -> dict[str, float]:
        """Factor → weight."""
        return dict(zip(self.factors, self.weights, strict=True))


def _check_weights(
    raw: Mapping[str, Any], *, what: str
) -> tuple[tuple[str, ...], FloatArray, tuple[Message, ...]]:
    if not isinstance(raw, Mapping) or not raw:
        raise ValidationError("csi.no_weights", what=what)
    names: list[str] = []
    values: list[float] = []
    for key, value in raw.items():
        name = str(key).strip()
        if not name:
            raise ValidationError("csi.bad_factor_id", value=repr(key))
        if isinstance(value, bool):
            raise ValidationError("csi.bad_weight_value", factor=name, value=repr(value))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError("csi.bad_weight_value", factor=name, value=repr(value)) from None
        if not math.isfinite(number) or number < 0:
            raise ValidationError("csi.bad_weight_value", factor=name, value=repr(value))
        if name in names:
            raise ValidationError("csi.duplicate_factor", factor=name)
        names.append(name)
        values.append(number)
    arr = np.asarray(values, dtype=np.float64)
    total = float(arr.sum())
    if total <= 0:
        raise ValidationError("csi.zero_weights", what=what)
    notes: tuple[Message, ...] = ()
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        notes = (Message("csi.weights_rescaled", {"total": _fmt(total)}),)
        arr = arr / total
    return tuple(names), arr, notes


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def csi_weights(
    *,
    weights: Mapping[str, float] | None = None,
    criteria: Mapping[str, str] | None = None,
    hierarchy: ahp.HierarchyResult | ahp.Hierarchy | pd.DataFrame | None = None,
) -> CSIWeights:
    """Validate the weights of :func:`csi`: a mapping factor → weight, or an AHP result.

    Weights must be numbers ≥ 0 with a positive sum; when they do not sum to 1
    (within 1e-6) they are rescaled and a warning says so. ``criteria`` maps
    each factor to its criterion (all factors or none) for the sub-indices.

    ``hierarchy`` is an analysed hierarchy (:func:`allegiance.methods.ahp.analyze`'s
    result; its node consistency table and hierarchy CR are kept), a parsed
    :class:`allegiance.methods.ahp.Hierarchy` (analysed here with the defaults:
    eigenvector, Saaty 1980 random index), or a ``global_weights`` frame
    (columns ``factor``, ``criterion``, ``global_weight``): the leaves are the
    factors, their global weights the C_i, and the criterion of a leaf is the
    first node below the goal on its path.
    """
    if hierarchy is not None:
        if weights is not None:
            raise ValidationError("csi.weights_or_hierarchy")
        if criteria is not None:
            raise ValidationError("csi.criteria_with_hierarchy")
        return _from_hierarchy(hierarchy)
    if weights is None:
        raise ValidationError("csi.weights_or_hierarchy")
    names, arr, notes = _check_weights(weights, what="weights")
    crit: tuple[str | None, ...] = (None,) * len(names)
    if criteria is not None:
        if not isinstance(criteria, Mapping):
            raise ValidationError("csi.bad_criteria", value=repr(criteria))
        unknown = [str(k) for k in criteria if str(k) not in names]
        missing = [n for n in names if n not in {str(k) for k in criteria}]
        if unknown or missing:
            raise ValidationError(
                "csi.criteria_mismatch",
                missing=", ".join(missing) or "-",
                unknown=", ".join(unknown) or "-",
            )
        lookup = {str(k): str(v) for k, v in criteria.items()}
        crit = tuple(lookup[n] for n in names)
    return CSIWeights(
        factors=names,
        weights=tuple(float(v) for v in arr),
        criteria=crit,
        source="weights",
        warnings=notes,
    )


_CONSISTENCY_COLUMNS = (
    "node",
    "name",
    "name_zh",
    "depth",
    "n_elements",
    "lambda_max",
    "ci",
    "ri",
    "cr",
    "threshold",
    "consistent",
    "ri_table",
)
"""The columns of the AHP node table kept in :attr:`CSIResult.consistency`."""


def _from_hierarchy(hierarchy: Any) -> CSIWeights:
    consistency: pd.DataFrame | None = None
    hierarchy_cr: float | None = None
    if isinstance(hierarchy, ahp.Hierarchy):
        hierarchy = ahp.analyze(hierarchy)
    leaf_columns: dict[str, str] = {}
    if isinstance(hierarchy, ahp.HierarchyResult):
        frame = hierarchy.global_weights
        for leaf in hierarchy.hierarchy.leaves():
            column = leaf.attrs.get("column")
            if isinstance(column, str) and column.strip():
                leaf_columns[leaf.id] = column.strip()
        nodes = hierarchy.node_table
        consistency = nodes[[c for c in _CONSISTENCY_COLUMNS if c in nodes.columns]]
        hierarchy_cr = float(hierarchy.cr)
    elif isinstance(hierarchy, pd.DataFrame):
        frame = hierarchy
    else:
        raise ValidationError("csi.bad_hierarchy", kind=type(hierarchy).__name__)
    needed = ["factor", "global_weight"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in frame.columns])
    names = [str(v) for v in frame["factor"]]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValidationError("csi.duplicate_factor", factor=dup)
    mapping = dict(zip(names, frame["global_weight"].tolist(), strict=True))
    names_t, arr, notes = _check_weights(mapping, what="hierarchy")
    crit: tuple[str | None, ...] = (None,) * len(names_t)
    if "criterion" in frame.columns:
        found = tuple(None if pd.isna(c) else str(c) for c in frame["criterion"])
        if all(c is not None for c in found):
            crit = found
    return CSIWeights(
        factors=names_t,
        weights=tuple(float(v) for v in arr),
        criteria=crit,
        source="hierarchy",
        consistency=consistency,
        hierarchy_cr=hierarchy_cr,
        columns=tuple(leaf_columns.get(f) for f in names_t),
        warnings=notes,
    )


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class CSIResult:
    """The calculation-standard satisfaction index, its sub-indices and factor table.

    Tables (``[by...]`` leads each when groups were asked for; ``overall_*`` hold
    the same over all rows and are listed by :meth:`tables` only with ``by``):

    - ``index``: ``[by...] | n | csi | csi_100 | ci_low | ci_high | weight_covered``
      (``n`` respondents; ``csi`` in 0..1, ``csi_100`` = 100·csi; the interval is
      on the 0..1 scale; ``weight_covered`` = Σ C_i over the factors answered);
    - ``subindices``: ``[by...] | criterion | weight | subindex | subindex_100 |
      contribution | gap | ci_low | ci_high`` (empty without criteria);
    - ``factors``: ``[by...] | factor | criterion | column | weight | n | n_missing |
      dc | dc_ci_low | dc_ci_high | contribution | gap | rank`` (``weight`` is the
      weight used, rescaled when factors are missing; ``rank`` 1 = largest gap);
    - ``distribution``: ``[by...] | factor | level | code | label_en | label_zh |
      level_score | count | share`` (the counts n_ij, weighted sums with ``weight``);
    - ``consistency``: ``node | name | name_zh | depth | n_elements | lambda_max | ci |
      ri | cr | threshold | consistent | ri_table``, the AHP check of each judgement
      matrix, when the weights came from an analysed hierarchy (``hierarchy_cr`` holds
      the consistency ratio of the whole hierarchy).
    """

    index: pd.DataFrame
    subindices: pd.DataFrame
    factors: pd.DataFrame
    distribution: pd.DataFrame
    overall: pd.DataFrame
    overall_subindices: pd.DataFrame
    overall_factors: pd.DataFrame
    overall_distribution: pd.DataFrame
    consistency: pd.DataFrame
    hierarchy_cr: float | None
    level_scores: tuple[float, ...]
    codes: tuple[float, ...]
    weights_source: str
    by: tuple[str, ...]
    weight: str | None
    n_boot: int
    confidence: float
    seed: int
    warnings: tuple[Message, ...] = ()

    @property
    def max_score(self) -> float:
        """x_max: the best level score, the denominator of every DC."""
        return float(max(self.level_scores))

    @property
    def min_dc(self) -> float:
        """The lowest possible DC (every answer on the worst-scored level)."""
        return float(min(self.level_scores)) / self.max_score

    def _overall_value(self, column: str) -> float:
        return float(self.overall[column].iloc[0])

    @property
    def csi(self) -> float:
        """The index over all rows, 0..1."""
        return self._overall_value("csi")

    @property
    def csi_100(self) -> float:
        """The index over all rows, 0..100."""
        return self._overall_value("csi_100")

    @property
    def ci_low(self) -> float:
        return self._overall_value("ci_low")

    @property
    def ci_high(self) -> float:
        return self._overall_value("ci_high")

    def weakest(self) -> pd.Series:
        """The factor row (over all rows) with the largest gap to the full score."""
        ranked = self.overall_factors.dropna(subset=["rank"])
        if ranked.empty:
            raise ValidationError("csi.no_answers_at_all")
        return ranked.sort_values("rank", kind="stable").iloc[0]

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "index": self.index,
            "subindices": self.subindices,
            "factors": self.factors,
            "distribution": self.distribution,
        }
        if not self.consistency.empty:
            out["consistency"] = self.consistency
        if self.by:
            out.update(
                {
                    "overall": self.overall,
                    "overall_subindices": self.overall_subindices,
                    "overall_factors": self.overall_factors,
                    "overall_distribution": self.overall_distribution,
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the settings used (level scores included), headline figures, tables."""
        return {
            "method": "csi",
            "formula": "DC_i = sum_j x_ij n_ij / (x_max sum_j n_ij); CSI = sum_i C_i DC_i",
            "level_scores": [plain(v) for v in self.level_scores],
            "codes": [plain(v) for v in self.codes],
            "max_score": plain(self.max_score),
            "dc_range": [plain(self.min_dc), 1.0],
            "weights_source": self.weights_source,
            "by": list(self.by),
            "weight": self.weight,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "seed": self.seed,
            "interval": "bootstrap percentile over respondents" if self.n_boot else None,
            "csi": plain(self.csi),
            "csi_100": plain(self.csi_100),
            "ci_low": plain(self.ci_low),
            "ci_high": plain(self.ci_high),
            "hierarchy_cr": plain(self.hierarchy_cr),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _num(value: float) -> float:
    return int(value) if float(value).is_integer() else float(value)


def _five(values: Sequence[float], what: str) -> tuple[float, ...]:
    try:
        out = tuple(_num(float(v)) for v in values)
    except (TypeError, ValueError):
        raise ValidationError("csi.bad_five", what=what, value=repr(values)) from None
    if len(out) != LEVELS or not all(math.isfinite(v) for v in out):
        raise ValidationError("csi.bad_five", what=what, value=repr(values))
    return out


def _show(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def _by_columns(by: By) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    cols = tuple(by)
    if not all(isinstance(c, str) for c in cols):
        raise ValidationError("csi.bad_by", value=repr(by))
    return cols


def _survey_weights(data: pd.DataFrame, weight: str | None) -> FloatArray:
    if weight is None:
        return np.ones(len(data), dtype=np.float64)
    raw = data[weight]
    if pd.api.types.is_bool_dtype(raw):
        raise ValidationError("csi.bad_survey_weight", column=weight, value=_show(raw.iloc[0]))
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        shown = raw.iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "csi.bad_survey_weight",
            column=weight,
            value="(missing)" if pd.isna(shown) else _show(shown),
        )
    return values


def _norm_text(series: pd.Series[Any]) -> pd.Series[Any]:
    return (
        series.astype("string")
        .str.casefold()
        .str.replace("_", " ", regex=False)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def _label_lookup() -> dict[str, int]:
    """Level label (English or Chinese, normalised) → level index (0 = very satisfied)."""
    scale = SCALES["five_level"]
    out: dict[str, int] = {}
    for i, code in enumerate((5, 4, 3, 2, 1)):  # the registry's codes, best first
        for lang in ("en", "zh"):
            text = " ".join(scale.label(code, lang).casefold().replace("_", " ").split())
            out[text] = i
    return out


def _levels(series: pd.Series[Any], codes: tuple[float, ...], column: str) -> npt.NDArray[np.int8]:
    """Answers → level index 0 (very satisfied) .. 4 (very dissatisfied); -1 when missing."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    missing = series.isna().to_numpy(dtype=np.bool_)
    idx = np.full(len(series), -1, dtype=np.int8)
    if pd.api.types.is_bool_dtype(series):
        bad = ~missing
    else:
        matched = np.zeros(len(series), dtype=np.bool_)
        work = series
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            work = series.astype("string").str.strip()
            by_label = (
                _norm_text(work).map(_label_lookup()).to_numpy(dtype=np.float64, na_value=np.nan)
            )
            matched = np.isfinite(by_label)
            idx[matched] = by_label[matched].astype(np.int8)
            work = work.where(~matched)
        values = pd.to_numeric(work, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        hit = np.zeros(len(series), dtype=np.bool_)
        for level, code in enumerate(codes):
            on = (values == code) & ~matched
            idx[on] = level
            hit |= on
        bad = ~missing & ~matched & ~hit
    if bad.any():
        first = series.iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "csi.bad_answer",
            column=column,
            value=_show(first),
            n_bad=int(bad.sum()),
            allowed=", ".join(_show(c) for c in codes),
        )
    return idx


@dataclass(frozen=True)
class _Groups:
    gid: IntArray
    keys: pd.DataFrame
    by: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.keys)

    def describe(self, i: int) -> str | None:
        if not self.by:
            return None
        row = self.keys.iloc[i]
        return ", ".join(f"{c}={_show(row[c])}" for c in self.by)


def _groups(data: pd.DataFrame, by: tuple[str, ...]) -> _Groups:
    if not by:
        return _Groups(np.zeros(len(data), dtype=np.int64), pd.DataFrame(index=range(1)), by)
    try:
        grouped = data.groupby(list(by), dropna=False, sort=True, observed=True)
        gid: IntArray = np.asarray(grouped.ngroup(), dtype=np.int64)
        keys = grouped.size().index.to_frame(index=False)
    except TypeError:  # keys of mixed types cannot be sorted: keep first-seen order
        grouped = data.groupby(list(by), dropna=False, sort=False, observed=True)
        gid = np.asarray(grouped.ngroup(), dtype=np.int64)
        keys = grouped.size().index.to_frame(index=False)
    keys.columns = list(by)
    return _Groups(gid, keys.reset_index(drop=True), by)


# --------------------------------------------------------------------------------------------
# The computation, vectorised over groups and bootstrap resamples
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    """What the formulas need: scores, weights and the factor → criterion map."""

    x: FloatArray  # (5,) level scores, best level first
    x_max: float
    weights: FloatArray  # (k,) C_i
    crit_index: IntArray  # (k,) criterion of each factor, -1 without criteria
    n_criteria: int


@dataclass(frozen=True)
class _Stats:
    dc: FloatArray  # (..., k)
    csi: FloatArray  # (...)
    covered: FloatArray  # (...)
    used: FloatArray  # (..., k) weights used (rescaled over the factors answered)
    sub: FloatArray  # (..., c)
    sub_weight: FloatArray  # (..., c)
    sub_contribution: FloatArray  # (..., c)


def _stats(counts: FloatArray, model: _Model) -> _Stats:
    """DC, CSI and sub-indices from counts of shape (..., k, 5)."""
    return _stats_from_sums(counts @ model.x, counts.sum(axis=-1), model)


def _stats_from_sums(score_sum: FloatArray, total: FloatArray, model: _Model) -> _Stats:
    """DC, CSI and sub-indices from Σ_j x_j·n_ij and Σ_j n_ij, each of shape (..., k)."""
    answered = total > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        dc = np.where(answered, score_sum / (model.x_max * total), np.nan)
    c = np.where(answered, model.weights, 0.0)
    covered = c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        used = np.where(covered[..., None] > 0, c / covered[..., None], np.nan)
        contrib = np.where(answered, used * np.nan_to_num(dc), 0.0)
        csi = np.where(covered > 0, contrib.sum(axis=-1), np.nan)
    c_n = model.n_criteria
    shape = (*total.shape[:-1], c_n)
    sub = np.full(shape, np.nan)
    sub_weight = np.zeros(shape)
    sub_contribution = np.zeros(shape)
    for j in range(c_n):  # a loop over the (three) criteria, not over rows
        member = model.crit_index == j
        w_j = used[..., member]
        sw = np.nansum(w_j, axis=-1)
        part = contrib[..., member].sum(axis=-1)
        sub_weight[..., j] = sw
        sub_contribution[..., j] = part
        with np.errstate(divide="ignore", invalid="ignore"):
            sub[..., j] = np.where(sw > 0, part / sw, np.nan)
    return _Stats(dc, csi, covered, used, sub, sub_weight, sub_contribution)


def _tally(
    levels: npt.NDArray[np.int8], w: FloatArray, gid: IntArray, size: int
) -> tuple[FloatArray, IntArray]:
    """Weighted counts (size, k, 5) and unweighted valid answers (size, k)."""
    n, k = levels.shape
    valid = levels >= 0
    g = np.broadcast_to(gid[:, None], (n, k))[valid]
    f = np.broadcast_to(np.arange(k)[None, :], (n, k))[valid]
    lv = levels[valid].astype(np.int64)
    ww = np.broadcast_to(w[:, None], (n, k))[valid]
    flat = (g * k + f) * LEVELS + lv
    counts = np.bincount(flat, weights=ww, minlength=size * k * LEVELS).reshape(size, k, LEVELS)
    nvalid = np.bincount(g * k + f, minlength=size * k).reshape(size, k).astype(np.int64)
    return counts.astype(np.float64), nvalid


@dataclass(frozen=True)
class _Boot:
    csi: FloatArray  # (2,) low, high
    sub: FloatArray  # (2, c)
    dc: FloatArray  # (2, k)


def _quantiles(samples: FloatArray, alpha: float) -> FloatArray:
    """Percentile interval along axis 0, NaN where no resample gave a value."""
    out = np.full((2, *samples.shape[1:]), np.nan)
    if samples.shape[0] == 0:
        return out
    finite = np.isfinite(samples)
    if finite.all():
        q_all: FloatArray = np.quantile(samples, [alpha, 1.0 - alpha], axis=0)
        return q_all
    has = finite.any(axis=0)
    if np.all(~has):
        return out
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanquantile(samples, [alpha, 1.0 - alpha], axis=0)
    return np.where(has, q, np.nan)


def _bootstrap(
    levels: npt.NDArray[np.int8],
    w: FloatArray,
    model: _Model,
    *,
    n_boot: int,
    alpha: float,
    rng: np.random.Generator,
) -> _Boot:
    """Percentile intervals from ``n_boot`` resamples of the rows (respondents).

    Rows with the same answers and weight form one answer pattern, and the
    patterns are sorted (so the result does not depend on the order of the
    rows). A resample draws n positions uniformly from the n sorted rows and
    counts how often each pattern was drawn (a multinomial draw, the law of
    drawing n rows with replacement); every DC of every resample then comes
    from one matrix product of those counts with the patterns' score sums
    (x_j·w) and weights.
    """
    n, k = levels.shape
    c_n = model.n_criteria
    if n_boot == 0 or n == 0:
        return _Boot(np.full(2, np.nan), np.full((2, c_n), np.nan), np.full((2, k), np.nan))
    key = np.column_stack([levels.astype(np.float64), w])
    patterns, freq = np.unique(key, axis=0, return_counts=True)
    p_levels = patterns[:, :k].astype(np.int64)
    p_weight = patterns[:, k]
    n_pat = len(patterns)
    answered = p_levels >= 0
    # per pattern and factor: w·x_j of the level answered, and w (0 when not answered)
    sums = np.zeros((n_pat, 2 * k))
    sums[:, :k] = (
        np.where(answered, model.x[np.where(answered, p_levels, 0)], 0.0) * p_weight[:, None]
    )
    sums[:, k:] = answered * p_weight[:, None]
    position = np.repeat(np.arange(n_pat, dtype=np.int64), freq)  # sorted row → its pattern
    csi_s = np.empty(n_boot)
    sub_s = np.empty((n_boot, c_n))
    dc_s = np.empty((n_boot, k))
    chunk = max(1, _BOOT_CELLS // max(n, n_pat))
    for start in range(0, n_boot, chunk):  # a loop over chunks of resamples, not rows
        stop = min(n_boot, start + chunk)
        size = stop - start
        drawn = position[rng.integers(0, n, size=(size, n))]
        drawn += (np.arange(size, dtype=np.int64) * n_pat)[:, None]
        draws = np.bincount(drawn.ravel(), minlength=size * n_pat).reshape(size, n_pat)
        totals = draws.astype(np.float64) @ sums
        st = _stats_from_sums(totals[:, :k], totals[:, k:], model)
        csi_s[start:stop] = st.csi
        sub_s[start:stop] = st.sub
        dc_s[start:stop] = st.dc
    return _Boot(_quantiles(csi_s, alpha), _quantiles(sub_s, alpha), _quantiles(dc_s, alpha))


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _repeat_keys(keys: pd.DataFrame, times: int) -> pd.DataFrame:
    if keys.shape[1] == 0:
        return pd.DataFrame(index=range(len(keys) * times))
    return keys.loc[keys.index.repeat(times)].reset_index(drop=True)


def _with_keys(keys: pd.DataFrame, body: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(body)
    if keys.shape[1] == 0:
        return frame
    return pd.concat([keys.reset_index(drop=True), frame], axis=1)


def _ranks(gap: FloatArray) -> npt.NDArray[np.float64]:
    """Rank within each row of ``gap`` (groups × factors): 1 = largest gap; NaN stays NaN."""
    key = np.where(np.isfinite(gap), -gap, np.inf)
    order = np.argsort(key, axis=-1, kind="stable")
    ranks = np.empty_like(gap)
    np.put_along_axis(ranks, order, np.arange(1, gap.shape[-1] + 1, dtype=np.float64), axis=-1)
    return np.where(np.isfinite(gap), ranks, np.nan)


@dataclass(frozen=True)
class _Tables:
    index: pd.DataFrame
    subindices: pd.DataFrame
    factors: pd.DataFrame
    distribution: pd.DataFrame


def _build_tables(
    *,
    keys: pd.DataFrame,
    n_rows: IntArray,
    counts: FloatArray,
    nvalid: IntArray,
    stats: _Stats,
    boots: Sequence[_Boot],
    model: _Model,
    plan: CSIWeights,
    columns: Sequence[str],
    criteria: Sequence[str],
    codes: tuple[float, ...],
    level_scores: tuple[float, ...],
    weighted: bool,
) -> _Tables:
    size, k = stats.dc.shape
    c_n = model.n_criteria
    ci_csi = np.array([b.csi for b in boots]).reshape(size, 2)
    ci_sub = np.array([b.sub for b in boots]).reshape(size, 2, c_n)
    ci_dc = np.array([b.dc for b in boots]).reshape(size, 2, k)

    index = _with_keys(
        keys,
        {
            "n": n_rows.astype(np.int64),
            "csi": stats.csi,
            "csi_100": 100.0 * stats.csi,
            "ci_low": ci_csi[:, 0],
            "ci_high": ci_csi[:, 1],
            "weight_covered": stats.covered,
        },
    )

    sub_keys = _repeat_keys(keys, c_n)
    subindices = _with_keys(
        sub_keys,
        {
            "criterion": pd.Series(list(criteria) * size, dtype=object),
            "weight": stats.sub_weight.reshape(-1),
            "subindex": stats.sub.reshape(-1),
            "subindex_100": 100.0 * stats.sub.reshape(-1),
            "contribution": stats.sub_contribution.reshape(-1),
            "gap": (stats.sub_weight - stats.sub_contribution).reshape(-1),
            "ci_low": ci_sub[:, 0, :].reshape(-1),
            "ci_high": ci_sub[:, 1, :].reshape(-1),
        },
    )

    contribution = np.where(np.isfinite(stats.dc), stats.used * stats.dc, np.nan)
    gap = np.where(np.isfinite(stats.dc), stats.used * (1.0 - stats.dc), np.nan)
    rank = _ranks(gap)
    factor_keys = _repeat_keys(keys, k)
    crit_names = [None if c is None else c for c in plan.criteria]
    factors = _with_keys(
        factor_keys,
        {
            "factor": pd.Series(list(plan.factors) * size, dtype=object),
            "criterion": pd.Series(crit_names * size, dtype=object),
            "column": pd.Series(list(columns) * size, dtype=object),
            "weight": np.nan_to_num(stats.used, nan=0.0).reshape(-1),
            "n": nvalid.reshape(-1),
            "n_missing": (n_rows[:, None] - nvalid).reshape(-1),
            "dc": stats.dc.reshape(-1),
            "dc_ci_low": ci_dc[:, 0, :].reshape(-1),
            "dc_ci_high": ci_dc[:, 1, :].reshape(-1),
            "contribution": contribution.reshape(-1),
            "gap": gap.reshape(-1),
            "rank": pd.array(
                [None if not math.isfinite(r) else int(r) for r in rank.reshape(-1)],
                dtype="Int64",
            ),
        },
    )

    scale = SCALES["five_level"]
    label_en = [scale.label(code, "en") for code in (5, 4, 3, 2, 1)]
    label_zh = [scale.label(code, "zh") for code in (5, 4, 3, 2, 1)]
    dist_keys = _repeat_keys(keys, k * LEVELS)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.nan)
    count_col: Any = counts.reshape(-1) if weighted else counts.reshape(-1).round().astype(np.int64)
    distribution = _with_keys(
        dist_keys,
        {
            "factor": pd.Series(
                [f for f in plan.factors for _ in range(LEVELS)] * size, dtype=object
            ),
            "level": pd.Series(list(FIVE_LEVEL_NAMES) * k * size, dtype=object),
            "code": list(codes) * k * size,
            "label_en": pd.Series(label_en * k * size, dtype=object),
            "label_zh": pd.Series(label_zh * k * size, dtype=object),
            "level_score": list(level_scores) * k * size,
            "count": count_col,
            "share": share.reshape(-1),
        },
    )
    return _Tables(index, subindices, factors, distribution)


# --------------------------------------------------------------------------------------------
# The public function
# --------------------------------------------------------------------------------------------


def _resolve_columns(
    data: pd.DataFrame,
    plan: CSIWeights,
    *,
    factor_prefix: str,
    columns: Mapping[str, str] | None,
) -> tuple[list[int], list[str], list[Message]]:
    """Which factors have a column in the data; warnings for the others."""
    notes: list[Message] = []
    if columns is not None:
        if not isinstance(columns, Mapping):
            raise ValidationError("csi.bad_columns", value=repr(columns))
        unknown = [str(f) for f in columns if str(f) not in plan.factors]
        if unknown:
            raise ValidationError(
                "csi.columns_unknown_factor",
                factors=", ".join(unknown),
                known=", ".join(plan.factors),
            )
    lookup = {str(k): str(v) for k, v in (columns or {}).items()}
    named = dict(zip(plan.factors, plan.columns, strict=False))
    present: list[int] = []
    names: list[str] = []
    absent: list[str] = []
    for i, factor in enumerate(plan.factors):
        column = lookup.get(factor) or named.get(factor) or f"{factor_prefix}{factor}"
        names.append(column)
        if column in data.columns:
            present.append(i)
        else:
            absent.append(f"{factor} ({column})")
    if not present:
        raise ColumnNotFoundError(names, [str(c) for c in data.columns])
    if absent:
        notes.append(Message("csi.factors_missing", {"factors": ", ".join(absent)}))
    if columns is None and factor_prefix:
        used = set(names)
        extra = [
            str(c)
            for c in data.columns
            if isinstance(c, str) and c.startswith(factor_prefix) and c not in used
        ]
        if extra:
            notes.append(Message("csi.columns_without_weight", {"columns": ", ".join(extra)}))
    return present, names, notes


def _note(key: str, group: str | None, params: dict[str, Any]) -> Message:
    """A warning over all rows (``key``) or in one group (``key_group``, naming the group)."""
    if group is None:
        return Message(key, params)
    return Message(f"{key}_group", {**params, "group": group})


def csi(
    data: pd.DataFrame,
    /,
    *,
    weights: Mapping[str, float] | None = None,
    hierarchy: ahp.HierarchyResult | ahp.Hierarchy | pd.DataFrame | None = None,
    criteria: Mapping[str, str] | None = None,
    level_scores: Sequence[float] = DEFAULT_LEVEL_SCORES,
    codes: Sequence[float] = (5, 4, 3, 2, 1),
    factor_prefix: str = "cs_",
    columns: Mapping[str, str] | None = None,
    by: By = None,
    weight: str | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    min_answers: int = 30,
) -> CSIResult:
    """The calculation-standard satisfaction index CSI = Σ C_i·DC_i (SPEC section 4).

    ``data`` holds one row per respondent and one five-level answer column per
    factor: the column named in ``columns`` (factor → column), else the one a
    hierarchy leaf names with its ``column:`` key, else ``<factor_prefix><factor>``
    (``cs_reliability`` ...). Answers are the ``codes`` of very
    satisfied, satisfied, neutral, dissatisfied, very dissatisfied (default 5..1)
    or the level labels (很满意 ... / "very satisfied" ...); a missing answer is
    not a valid answer. ``level_scores`` are the scores x_j of those levels
    (default 5, 4, 3, 2, 1; 100, 80, 60, 40, 20 gives the same DC).

    The weights C_i come from ``weights`` (factor → weight; ``criteria`` maps
    factors to criteria for the sub-indices) or from ``hierarchy`` (an analysed
    AHP hierarchy, a parsed one, or a global-weights frame; see
    :func:`csi_weights`). ``by`` gives one row per group, ``weight`` a survey
    weight column. ``n_boot`` bootstrap resamples (0: no
    intervals) give percentile intervals at ``confidence`` for the CSI, the
    sub-indices and each DC, reproducible with ``seed``. A factor answered fewer
    than ``min_answers`` times in a group gets a warning.
    """
    plan = csi_weights(weights=weights, criteria=criteria, hierarchy=hierarchy)
    scores = _five(level_scores, "level_scores")
    code_values = _five(codes, "codes")
    if len(set(code_values)) != LEVELS:
        raise ValidationError("csi.bad_five", what="codes", value=repr(codes))
    if min(scores) < 0 or max(scores) <= 0:
        raise ValidationError("csi.bad_level_scores", value=repr(level_scores))
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("csi.not_a_frame", kind=type(data).__name__)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValidationError("csi.bad_n_boot", value=repr(n_boot))
    if not isinstance(confidence, (int, float)) or not 0.0 < float(confidence) < 1.0:
        raise ValidationError("csi.bad_confidence", value=repr(confidence))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError("csi.bad_seed", value=repr(seed))
    if isinstance(min_answers, bool) or not isinstance(min_answers, int) or min_answers < 0:
        raise ValidationError("csi.bad_min_answers", value=repr(min_answers))
    by_cols = _by_columns(by)
    wanted = [c for c in (*by_cols, weight) if c is not None]
    lost = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if lost:
        raise ColumnNotFoundError(lost, [str(c) for c in data.columns])

    notes: list[Message] = list(plan.warnings)
    present, column_names, col_notes = _resolve_columns(
        data, plan, factor_prefix=factor_prefix, columns=columns
    )
    notes.extend(col_notes)
    k = len(plan.factors)
    n = len(data)
    levels = np.full((n, k), -1, dtype=np.int8)
    for i in present:  # a loop over the factor columns, each mapped in one vectorised step
        levels[:, i] = _levels(data[column_names[i]], code_values, column_names[i])
    w = _survey_weights(data, weight)

    criteria_names = list(dict.fromkeys(c for c in plan.criteria if c is not None))
    crit_index = np.array(
        [criteria_names.index(c) if c is not None else -1 for c in plan.criteria],
        dtype=np.int64,
    )
    x = np.asarray(scores, dtype=np.float64)
    model = _Model(
        x=x,
        x_max=float(x.max()),
        weights=np.asarray(plan.weights, dtype=np.float64),
        crit_index=crit_index,
        n_criteria=len(criteria_names),
    )
    alpha = (1.0 - float(confidence)) / 2.0
    weighted = weight is not None

    def streams(groups: _Groups) -> list[np.random.Generator]:
        """One random stream per group: over all rows the seed itself (so the overall
        interval is the same with or without ``by``), per group independent children."""
        if not groups.by:
            return [np.random.default_rng(int(seed))]
        return [
            np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(groups.size)
        ]

    def run(groups: _Groups) -> _Tables:
        rngs = streams(groups)
        counts, nvalid = _tally(levels, w, groups.gid, groups.size)
        stats = _stats(counts, model)
        n_rows = np.bincount(groups.gid, minlength=groups.size).astype(np.int64)
        order = np.argsort(groups.gid, kind="stable")
        bounds = np.searchsorted(groups.gid[order], np.arange(groups.size + 1))
        boots = []
        for g in range(groups.size):  # a loop over groups; each resampled in one batch
            rows = order[bounds[g] : bounds[g + 1]]
            boots.append(
                _bootstrap(
                    levels[rows], w[rows], model, n_boot=int(n_boot), alpha=alpha, rng=rngs[g]
                )
            )
        for g in range(groups.size):
            where = groups.describe(g)
            if not np.isfinite(stats.csi[g]):
                notes.append(_note("csi.no_answers", where, {}))
                continue
            never = [plan.factors[i] for i in present if nvalid[g, i] == 0]
            if never:
                notes.append(_note("csi.factor_no_answers", where, {"factors": ", ".join(never)}))
            answered = [i for i in present if nvalid[g, i] > 0]
            few = [
                f"{plan.factors[i]} ({int(nvalid[g, i])})"
                for i in answered
                if nvalid[g, i] < min_answers
            ]
            if answered and len(few) == len(answered) and len(few) > 1:
                # every factor is short of answers: one short sentence, not the whole list
                most = int(max(nvalid[g, i] for i in answered))
                notes.append(_note("csi.few_answers_all", where, {"n": most, "min": min_answers}))
            elif few:
                notes.append(
                    _note("csi.few_answers", where, {"factors": ", ".join(few), "min": min_answers})
                )
        return _build_tables(
            keys=groups.keys,
            n_rows=n_rows,
            counts=counts,
            nvalid=nvalid,
            stats=stats,
            boots=boots,
            model=model,
            plan=plan,
            columns=column_names,
            criteria=criteria_names,
            codes=code_values,
            level_scores=scores,
            weighted=weighted,
        )

    overall_groups = _groups(data, ())
    if by_cols:
        grouped = run(_groups(data, by_cols))
        overall = run(overall_groups)
    else:
        overall = run(overall_groups)
        grouped = overall
    consistency = plan.consistency if plan.consistency is not None else pd.DataFrame()
    return CSIResult(
        index=grouped.index,
        subindices=grouped.subindices,
        factors=grouped.factors,
        distribution=grouped.distribution,
        overall=overall.index,
        overall_subindices=overall.subindices,
        overall_factors=overall.factors,
        overall_distribution=overall.distribution,
        consistency=consistency,
        hierarchy_cr=plan.hierarchy_cr,
        level_scores=scores,
        codes=code_values,
        weights_source=plan.source,
        by=by_cols,
        weight=weight,
        n_boot=int(n_boot),
        confidence=float(confidence),
        seed=int(seed),
        warnings=tuple(notes),
    )
