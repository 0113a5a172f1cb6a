"""Importance-performance analysis: what drives the overall measure, and what to fix first.

SPEC section 3, method 5 (满意度+短板改进): find the items of high importance and
low performance, the "short boards" (短板) of the barrel. Each item (an
attribute, a factor, a touchpoint) gets

- an **importance**, either *stated* (the mean of a column in which respondents
  rated how important the item is) or *derived* from how the item's answers go
  with an overall measure (the *target*, e.g. overall satisfaction):

  ``correlation``
      Pearson's r of the item with the target.
  ``regression``
      the standardised coefficient (beta weight) of the item in the linear
      regression of the target on all items.
  ``relative_weights``
      Johnson's (2000) relative weights ε_j: the items are replaced by their
      closest orthogonal counterparts Z = X·R^(-1/2), the target is regressed on
      Z and each squared coefficient is shared back to the items in proportion
      to the squared loadings Λ = R^(1/2): ε_j = Σ_k λ_jk² β_k². They sum to R².
  ``shapley``
      the Shapley value of each item in the game "R² of a subset of items",
      the LMG decomposition of Lindeman, Merenda & Gold (1980) (Grömping 2006):
      the item's increase in R² averaged over all orders of entry. Exact (every
      one of the 2^p subsets) up to ``exact_max`` items (default 15), estimated
      from random orders of entry beyond that, with its Monte-Carlo standard
      error. The values sum to R².

- a **performance**: the mean answer, or the top-2-box share (the answers in the
  two best codes of the scale);
- a **quadrant** of the importance-performance grid (Martilla & James 1977),
  split at the grand means, the medians or the scale midpoints (``split="means"``, ``"medians"``, ``"midpoint"``
or ``"midpoints"``): ``concentrate_here``
  (high importance, low performance: the weakest links), ``keep_up``,
  ``low_priority``, ``possible_overkill``;
- a **priority**, and among the weakest links a rank ``fix_rank`` (1 = fix first).

Everything derived works from the correlation matrix of the items and the
target, computed from complete rows (``missing="listwise"``, the default) or
from every pair of answers (``missing="pairwise"``, for items not everyone
answers, e.g. the complaint-handling touchpoint), optionally with survey
weights. Correlation matrices can also be passed directly to
:func:`shapley_r2`, :func:`relative_weights`, :func:`standardized_coefficients`
and :func:`subset_r2`.

>>> import numpy as np
>>> rxx = np.array([[1.0, 0.5], [0.5, 1.0]])
>>> rxy = np.array([0.6, 0.4])
>>> d = shapley_r2(rxx, rxy)
>>> [round(float(v), 4) for v in d.values]
[0.2867, 0.0867]
>>> round(d.r2, 4)
0.3733
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message
from allegiance.results import plain, records

__all__ = [
    "METHODS",
    "QUADRANTS",
    "Correlation",
    "IPAResult",
    "IPMAResult",
    "ImportanceResult",
    "ShapleyDecomposition",
    "correlation_matrix",
    "importance",
    "ipa",
    "ipma",
    "quadrant_of",
    "relative_weights",
    "shapley_r2",
    "standardized_coefficients",
    "subset_r2",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Method = Literal["correlation", "regression", "relative_weights", "shapley", "stated"]
PerformanceKind = Literal["mean", "top2"]
Split = Literal["means", "medians", "midpoint"]
Missing = Literal["listwise", "pairwise"]

METHODS: tuple[str, ...] = ("correlation", "regression", "relative_weights", "shapley", "stated")
"""Importance methods; ``stated`` needs stated-importance columns, the others a target."""

DERIVED: tuple[str, ...] = METHODS[:4]
SHARE_METHODS: tuple[str, ...] = ("relative_weights", "shapley")
"""Methods whose importances add up to R² (so ``pct_r2`` is given)."""

QUADRANTS: tuple[str, ...] = ("concentrate_here", "keep_up", "low_priority", "possible_overkill")
"""The four cells of the importance-performance grid (Martilla & James 1977)."""

EXACT_MAX_LIMIT = 20
"""The most items the exact Shapley decomposition accepts (2^20 subsets)."""

_SINGULAR_TOL = 1e-10


# --------------------------------------------------------------------------------------------
# Correlation matrices
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Correlation:
    """A correlation matrix of ``columns`` and what it rests on.

    ``n`` is the number of rows used (listwise) or the smallest number of rows
    behind any one correlation (pairwise); ``n_eff`` is Kish's effective sample
    size of those rows (equal to ``n`` without weights); ``pair_n`` holds the
    rows behind each correlation.
    """

    columns: tuple[str, ...]
    matrix: FloatArray
    n: int
    n_eff: float
    pair_n: IntArray
    missing: str
    n_rows: int

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.matrix, index=list(self.columns), columns=list(self.columns))


def _pair_moments(
    x: FloatArray, valid: BoolArray, w: FloatArray
) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
    """Weighted pairwise-complete correlations, counts, effective n; vectorised over pairs.

    ``x`` holds 0 where ``valid`` is false. Returns (corr, count, n_eff, sum of weights).
    """
    m = valid.astype(np.float64)
    mw = m * w[:, None]
    sw = mw.T @ m  # Σ w over rows where i and j are both answered
    sw2 = (m * (w * w)[:, None]).T @ m
    count = m.T @ m
    xw = x * w[:, None]
    sx = xw.T @ m  # Σ w·x_i over rows with j answered
    sxx = (x * xw).T @ m  # Σ w·x_i² over rows with j answered
    sxy = xw.T @ x  # Σ w·x_i·x_j (zero where either is missing)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_i = sx / sw
        mean_j = sx.T / sw
        cov = sxy / sw - mean_i * mean_j
        var_i = sxx / sw - mean_i**2
        var_j = sxx.T / sw - mean_j**2
        corr = cov / np.sqrt(var_i * var_j)
        n_eff = np.where(sw2 > 0, sw * sw / sw2, 0.0)
    return (
        np.asarray(corr, dtype=np.float64),
        np.asarray(np.rint(count), dtype=np.int64),
        np.asarray(n_eff, dtype=np.float64),
        np.asarray(sw, dtype=np.float64),
    )


def _numeric_block(data: pd.DataFrame, columns: Sequence[str]) -> FloatArray:
    out = np.empty((len(data), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):  # a loop over columns, not rows
        series = data[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if pd.api.types.is_bool_dtype(series):
            raise ValidationError("drivers.not_numeric", column=column, value=str(series.iloc[0]))
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna() & series.notna()
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            text = series.astype("string").str.strip()
            bad = bad & (text != "")
        if bool(bad.any()):
            first = series[bad].iloc[0]
            raise ValidationError("drivers.not_numeric", column=column, value=str(first))
        out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _weights(data: pd.DataFrame, weight: str | None) -> FloatArray:
    if weight is None:
        return np.ones(len(data), dtype=np.float64)
    values = _numeric_block(data, [weight])[:, 0]
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        shown = data[weight].iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "drivers.bad_weight", column=weight, value="(missing)" if pd.isna(shown) else str(shown)
        )
    return values


def _check_frame(data: Any, columns: Sequence[str | None]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("drivers.not_a_frame", kind=type(data).__name__)
    wanted = [c for c in dict.fromkeys(columns) if c is not None]
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def _missing_mode(missing: str) -> str:
    if missing not in ("listwise", "pairwise"):
        raise ValidationError(
            "drivers.bad_option", option="missing", value=str(missing), allowed="listwise, pairwise"
        )
    return missing


def _correlate(x: FloatArray, w: FloatArray, columns: Sequence[str], missing: str) -> Correlation:
    valid = np.isfinite(x)
    n_rows = x.shape[0]
    if missing == "listwise":
        keep = valid.all(axis=1) & (w > 0)
        x = x[keep]
        w = w[keep]
        valid = np.ones_like(x, dtype=np.bool_)
    else:
        valid = valid & (w > 0)[:, None]
    filled = np.where(valid, x, 0.0)
    corr, count, n_eff, _ = _pair_moments(filled, valid, w)
    k = len(columns)
    off = ~np.eye(k, dtype=np.bool_)
    n_min = int(count[off].min()) if k > 1 else int(count[0, 0])
    n_eff_min = float(n_eff[off].min()) if k > 1 else float(n_eff[0, 0])
    return Correlation(
        columns=tuple(columns),
        matrix=corr,
        n=n_min,
        n_eff=n_eff_min,
        pair_n=count,
        missing=missing,
        n_rows=n_rows,
    )


def correlation_matrix(
    data: pd.DataFrame,
    /,
    *,
    columns: Sequence[str],
    weight: str | None = None,
    missing: Missing = "listwise",
) -> Correlation:
    """The (weighted) Pearson correlation matrix of ``columns``.

    ``missing="listwise"`` uses the rows where every column is answered;
    ``"pairwise"`` uses, for each pair, the rows where both are answered.
    A column without variation makes its correlations NaN.
    """
    frame = _check_frame(data, [*columns, weight])
    mode = _missing_mode(missing)
    x = _numeric_block(frame, list(columns))
    return _correlate(x, _weights(frame, weight), list(columns), mode)


# --------------------------------------------------------------------------------------------
# Importance from a correlation matrix
# --------------------------------------------------------------------------------------------


def _check_system(rxx: Any, rxy: Any) -> tuple[FloatArray, FloatArray]:
    a = np.asarray(rxx, dtype=np.float64)
    b = np.asarray(rxy, dtype=np.float64).reshape(-1)
    p = b.shape[0]
    if a.shape != (p, p) or p == 0:
        raise ValidationError("drivers.bad_matrix", shape=str(a.shape), p=p)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValidationError("drivers.nan_matrix")
    if not np.allclose(a, a.T, atol=1e-10):
        raise ValidationError("drivers.not_symmetric")
    smallest = float(np.linalg.eigvalsh(a)[0])
    if smallest <= _SINGULAR_TOL:
        raise ValidationError("drivers.singular", value=f"{smallest:.3g}")
    return a, b


def standardized_coefficients(rxx: Any, rxy: Any, /) -> FloatArray:
    """Standardised regression coefficients β = R_xx⁻¹ r_xy (the beta weights)."""
    a, b = _check_system(rxx, rxy)
    return np.asarray(np.linalg.solve(a, b), dtype=np.float64)


def relative_weights(rxx: Any, rxy: Any, /) -> FloatArray:
    """Johnson's (2000) relative weights ε (raw: they sum to R²).

    With R_xx = P·D·Pᵀ, Λ = P·D^(1/2)·Pᵀ (the loadings of the items on their
    closest orthogonal counterparts), β = Λ⁻¹·r_xy and ε_j = Σ_k Λ_jk²·β_k².
    """
    a, b = _check_system(rxx, rxy)
    evals, evecs = np.linalg.eigh(a)
    lam = (evecs * np.sqrt(evals)) @ evecs.T
    beta = np.linalg.solve(lam, b)
    out: FloatArray = (lam**2) @ (beta**2)
    return out


def _popcount(values: IntArray) -> IntArray:
    out = np.zeros_like(values)
    v = values.copy()
    while bool((v > 0).any()):  # at most p rounds
        out += v & 1
        v >>= 1
    return out


def _subset_r2(a: FloatArray, b: FloatArray) -> FloatArray:
    p = b.shape[0]
    masks = np.arange(1 << p, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(p, dtype=np.int64)[None, :]) & 1).astype(np.bool_)
    size = bits.sum(axis=1)
    out = np.zeros(1 << p, dtype=np.float64)
    for k in range(1, p + 1):  # one batched solve per subset size
        chosen = masks[size == k]
        cols = np.nonzero(bits[chosen])[1].reshape(-1, k)
        sub_a = a[cols[:, :, None], cols[:, None, :]]
        sub_b = b[cols]
        sol = np.linalg.solve(sub_a, sub_b[..., None])[..., 0]
        out[chosen] = np.einsum("ck,ck->c", sub_b, sol)
    return out


def subset_r2(rxx: Any, rxy: Any, /) -> FloatArray:
    """R² of every subset of the items: element ``s`` is the R² of the items whose bits are set
    in ``s`` (item ``j`` is bit ``1 << j``); element 0 is 0.

    All 2^p values come from batched solves of the sub-matrices of R_xx, one batch
    per subset size (at most :data:`EXACT_MAX_LIMIT` items).
    """
    a, b = _check_system(rxx, rxy)
    if b.shape[0] > EXACT_MAX_LIMIT:
        raise ValidationError("drivers.too_many_exact", p=b.shape[0], limit=EXACT_MAX_LIMIT)
    return _subset_r2(a, b)


@dataclass(frozen=True, eq=False)
class ShapleyDecomposition:
    """Shapley values (LMG) of R² over the items.

    ``values`` sum to ``r2``. ``exact`` tells whether every subset was used; when
    not, ``n_perm`` random orders of entry were averaged and ``se`` holds the
    Monte-Carlo standard error of each value (zeros when exact).
    """

    values: FloatArray
    se: FloatArray
    r2: float
    exact: bool
    n_perm: int


def _shapley_exact(a: FloatArray, b: FloatArray) -> FloatArray:
    p = b.shape[0]
    v = _subset_r2(a, b)
    masks = np.arange(1 << p, dtype=np.int64)
    size = _popcount(masks)
    # weight of a coalition of size s that does not hold the item: s!(p-s-1)!/p!
    w_size = np.array([1.0 / (p * math.comb(p - 1, s)) for s in range(p)], dtype=np.float64)
    phi = np.empty(p, dtype=np.float64)
    for j in range(p):  # a loop over items, vectorised over the 2^(p-1) coalitions
        bit = np.int64(1 << j)
        without = masks[(masks & bit) == 0]
        phi[j] = float(np.sum(w_size[size[without]] * (v[without | bit] - v[without])))
    return phi


def _shapley_sampled(
    a: FloatArray, b: FloatArray, n_perm: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Average marginal contributions over random orders of entry.

    For one order, the R² of every prefix comes from one Cholesky factor L of the
    re-ordered R_xx: with z = L⁻¹·r_xy, the prefix of length k has R² = Σ_{i<=k} z_i²,
    so the contribution of the item entering at position i is z_i².
    """
    p = b.shape[0]
    chunk = max(1, min(n_perm, 4_000_000 // (p * p)))
    total = np.zeros(p, dtype=np.float64)
    total_sq = np.zeros(p, dtype=np.float64)
    done = 0
    while done < n_perm:  # chunks of permutations, each chunk batched
        m = min(chunk, n_perm - done)
        perms = rng.permuted(np.tile(np.arange(p), (m, 1)), axis=1)
        sub_a = a[perms[:, :, None], perms[:, None, :]]
        low = np.linalg.cholesky(sub_a)
        z = np.linalg.solve(low, b[perms][..., None])[..., 0]
        contrib = np.empty_like(z)
        np.put_along_axis(contrib, perms, z * z, axis=1)
        total += contrib.sum(axis=0)
        total_sq += (contrib * contrib).sum(axis=0)
        done += m
    mean = total / n_perm
    if n_perm > 1:
        var = np.clip(total_sq / n_perm - mean**2, 0.0, None) * n_perm / (n_perm - 1)
        se = np.sqrt(var / n_perm)
    else:
        se = np.full(p, np.nan)
    return mean, se


def _check_count(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low
    if ok and high is not None:
        ok = int(value) <= high
    if not ok:
        limit = f">= {low}" if high is None else f"{low} .. {high}"
        raise ValidationError("drivers.bad_count", option=name, value=str(value), allowed=limit)
    return int(value)


def shapley_r2(
    rxx: Any,
    rxy: Any,
    /,
    *,
    exact_max: int = 15,
    n_perm: int = 4000,
    seed: int | None = 0,
) -> ShapleyDecomposition:
    """Shapley values (the LMG decomposition) of R² from a correlation matrix.

    Up to ``exact_max`` items (at most 20) every subset's R² is computed (batched
    solves) and the exact Shapley values follow; with more items, ``n_perm``
    random orders of entry (seeded) give an unbiased estimate with its
    Monte-Carlo standard error. Either way the values sum to R².
    """
    a, b = _check_system(rxx, rxy)
    limit = _check_count("exact_max", exact_max, low=1, high=EXACT_MAX_LIMIT)
    p = b.shape[0]
    r2 = float(b @ np.linalg.solve(a, b))
    if p <= limit:
        return ShapleyDecomposition(
            values=_shapley_exact(a, b), se=np.zeros(p), r2=r2, exact=True, n_perm=0
        )
    count = _check_count("n_perm", n_perm, low=2)
    values, se = _shapley_sampled(a, b, count, np.random.default_rng(seed))
    return ShapleyDecomposition(values=values, se=se, r2=r2, exact=False, n_perm=count)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _settings_frame(settings: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({k: [plain(v)] for k, v in settings.items()})


@dataclass(frozen=True, eq=False, kw_only=True)
class ImportanceResult:
    """Importance of each item.

    ``table`` columns: ``item | importance | importance_se | importance_ci_low |
    importance_ci_high | pct_r2 | importance_rank | r | n``. ``pct_r2`` is the
    item's share of R² (relative weights and Shapley only, else NaN);
    ``importance_se`` and the interval are analytic for correlation (Fisher z),
    regression (OLS) and stated importance (t), bootstrap percentiles when
    ``n_boot > 0``, else NaN; ``mc_se`` (sampled Shapley only) is the Monte-Carlo
    error of the estimate. ``r`` is the item's correlation with the target.
    """

    method: str
    target: str | None
    items: tuple[str, ...]
    table: pd.DataFrame
    r2: float
    n: int
    n_eff: float
    n_rows: int
    missing: str
    weight: str | None
    confidence: float
    exact: bool | None = None
    n_perm: int = 0
    n_boot: int = 0
    correlation: Correlation | None = None
    warnings: tuple[Message, ...] = ()

    kind: ClassVar[str] = "importance"

    def settings(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": self.target,
            "items": list(self.items),
            "r2": self.r2,
            "n": self.n,
            "n_eff": self.n_eff,
            "n_rows": self.n_rows,
            "missing": self.missing,
            "weight": self.weight,
            "confidence": self.confidence,
            "exact": self.exact,
            "n_perm": self.n_perm,
            "n_boot": self.n_boot,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"importance": self.table}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update(plain(self.settings()))
        out["tables"] = {name: records(frame) for name, frame in self.tables().items()}
        return out


@dataclass(frozen=True, eq=False, kw_only=True)
class IPAResult:
    """Importance-performance analysis: the grid, the quadrants, the weakest links.

    ``table`` columns (one row per item, in the order given): ``item |
    importance | importance_se | importance_ci_low | importance_ci_high | pct_r2
    | importance_rank | n | n_performance | performance | performance_ci_low |
    performance_ci_high | quadrant | priority | fix_rank`` (``n``: respondents
    behind the item's importance; ``n_performance``: its answers). ``weakest`` holds the
    ``concentrate_here`` rows ranked by ``fix_rank``. ``importance_line`` and
    ``performance_line`` are where the grid is split.
    """

    importance: ImportanceResult
    table: pd.DataFrame
    weakest: pd.DataFrame
    performance: str
    split: str
    scale: tuple[float, float]
    importance_line: float
    performance_line: float
    warnings: tuple[Message, ...] = ()

    kind: ClassVar[str] = "ipa"

    @property
    def r2(self) -> float:
        return self.importance.r2

    @property
    def method(self) -> str:
        return self.importance.method

    def summary(self) -> pd.DataFrame:
        """One row: method, R², n and the split lines."""
        return _settings_frame(
            {
                "method": self.method,
                "target": self.importance.target,
                "r2": self.r2,
                "n": self.importance.n,
                "n_eff": self.importance.n_eff,
                "n_rows": self.importance.n_rows,
                "missing": self.importance.missing,
                "performance_kind": self.performance,
                "split": self.split,
                "importance_line": self.importance_line,
                "performance_line": self.performance_line,
                "scale_low": self.scale[0],
                "scale_high": self.scale[1],
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"ipa": self.table, "weakest_links": self.weakest, "summary": self.summary()}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update(plain(self.importance.settings()))
        out.update(
            plain(
                {
                    "performance": self.performance,
                    "split": self.split,
                    "scale": list(self.scale),
                    "importance_line": self.importance_line,
                    "performance_line": self.performance_line,
                    "quadrants": list(QUADRANTS),
                }
            )
        )
        out["tables"] = {
            "ipa": records(self.table),
            "weakest_links": records(self.weakest),
        }
        return out


# --------------------------------------------------------------------------------------------
# Importance from data
# --------------------------------------------------------------------------------------------


def _method_name(method: str) -> str:
    name = str(method).strip().lower().replace("-", "_")
    aliases = {"lmg": "shapley", "rwa": "relative_weights", "relative": "relative_weights"}
    name = aliases.get(name, name)
    if name not in METHODS:
        raise ValidationError(
            "drivers.bad_option", option="method", value=str(method), allowed=", ".join(METHODS)
        )
    return name


def _items(items: Any) -> tuple[str, ...]:
    if isinstance(items, str):
        items = [items]
    try:
        out = tuple(items)
    except TypeError:
        raise ValidationError("drivers.no_items") from None
    if not out or not all(isinstance(i, str) for i in out):
        raise ValidationError("drivers.no_items")
    dupes = sorted({i for i in out if out.count(i) > 1})
    if dupes:
        raise ValidationError("drivers.duplicate_items", items=", ".join(dupes))
    return out


def _z(confidence: Any) -> float:
    if not isinstance(confidence, (int, float)) or not 0.0 < float(confidence) < 1.0:
        raise ValidationError("drivers.bad_confidence", value=str(confidence))
    from scipy import stats  # imported on use: keeps the command line quick to start

    return float(stats.norm.ppf(0.5 + float(confidence) / 2.0))


def _t(confidence: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2.0, df)) if df > 0 else math.nan


@dataclass(frozen=True)
class _Derived:
    importance: FloatArray
    r2: float
    pct: FloatArray
    mc_se: FloatArray | None
    exact: bool | None
    n_perm: int


def _derive(
    method: str,
    rxx: FloatArray,
    rxy: FloatArray,
    *,
    exact_max: int,
    n_perm: int,
    seed: int | None,
) -> _Derived:
    p = rxy.shape[0]
    nan = np.full(p, np.nan)
    if method == "correlation":
        a, b = _check_system(rxx, rxy)
        r2 = float(b @ np.linalg.solve(a, b))
        return _Derived(b.copy(), r2, nan, None, None, 0)
    if method == "regression":
        beta = standardized_coefficients(rxx, rxy)
        return _Derived(beta, float(beta @ rxy), nan, None, None, 0)
    if method == "relative_weights":
        eps = relative_weights(rxx, rxy)
        r2 = float(eps.sum())
        return _Derived(eps, r2, eps / r2 if r2 > 0 else nan, None, None, 0)
    dec = shapley_r2(rxx, rxy, exact_max=exact_max, n_perm=n_perm, seed=seed)
    pct = dec.values / dec.r2 if dec.r2 > 0 else nan
    return _Derived(dec.values, dec.r2, pct, None if dec.exact else dec.se, dec.exact, dec.n_perm)


def _constant_check(corr: Correlation, columns: Sequence[str]) -> None:
    diag = np.diag(corr.matrix)
    flat = [c for c, d in zip(columns, diag, strict=True) if not np.isfinite(d)]
    if flat:
        raise ValidationError("drivers.constant", columns=", ".join(flat))


def _rank_desc(values: FloatArray) -> FloatArray:
    """1 = largest; ties share the lowest rank; NaN stays NaN."""
    ranks = pd.Series(values).rank(ascending=False, method="min")
    return np.asarray(ranks.to_numpy(dtype=np.float64), dtype=np.float64)


def _bootstrap(
    method: str,
    x: FloatArray,
    w: FloatArray,
    columns: Sequence[str],
    missing: str,
    *,
    n_boot: int,
    seed: int | None,
    exact_max: int,
    n_perm: int,
) -> FloatArray:
    """Importance in ``n_boot`` resamples of the rows (rows drawn with replacement)."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    p = len(columns) - 1
    out = np.full((n_boot, p), np.nan)
    valid = np.isfinite(x)
    if missing == "listwise":
        keep = valid.all(axis=1) & (w > 0)
        x, w, valid = x[keep], w[keep], valid[keep]
        n = x.shape[0]
    filled = np.where(valid, x, 0.0)
    for b in range(n_boot):  # a loop over resamples; each resample is vectorised
        counts = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        corr, _, _, _ = _pair_moments(filled, valid & (counts > 0)[:, None], w * counts)
        try:
            out[b] = _derive(
                method,
                corr[:p, :p],
                corr[:p, p],
                exact_max=exact_max,
                n_perm=n_perm,
                seed=None if seed is None else seed + b + 1,
            ).importance
        except (ValidationError, np.linalg.LinAlgError):
            continue  # a degenerate resample (e.g. a constant item) is left out
    return out


def importance(
    data: pd.DataFrame,
    /,
    *,
    items: Sequence[str],
    target: str | None = None,
    method: Method | str = "shapley",
    stated: Sequence[str] | Mapping[str, str] | None = None,
    weight: str | None = None,
    missing: Missing = "listwise",
    confidence: float = 0.95,
    exact_max: int = 15,
    n_perm: int = 4000,
    n_boot: int = 0,
    seed: int | None = 0,
) -> ImportanceResult:
    """The importance of each of ``items`` for ``target`` (or as stated).

    ``method`` is ``correlation``, ``regression``, ``relative_weights`` (also
    ``relative-weights``), ``shapley`` (also ``lmg``) or ``stated``; the derived
    methods need ``target``, ``stated`` needs ``stated``: one stated-importance
    column per item (a list in the order of ``items``, or a mapping item →
    column). ``n_boot > 0`` adds bootstrap percentile intervals (seeded by
    ``seed``). Raises :class:`ValidationError` when the items are perfectly
    collinear, constant or too few rows remain.
    """
    name = _method_name(method)
    item_cols = _items(items)
    z = _z(confidence)
    mode = _missing_mode(missing)
    boots = _check_count("n_boot", n_boot, low=0)
    if name == "stated":
        return _stated(
            data, item_cols, stated, target=target, weight=weight, confidence=float(confidence)
        )
    if target is None:
        raise ValidationError("drivers.no_target", method=name)
    if target in item_cols:
        raise ValidationError("drivers.target_in_items", target=target)
    frame = _check_frame(data, [*item_cols, target, weight])
    columns = [*item_cols, target]
    x = _numeric_block(frame, columns)
    w = _weights(frame, weight)
    corr = _correlate(x, w, columns, mode)
    p = len(item_cols)
    if corr.n < p + 2 or corr.n_eff < p + 2:
        raise ValidationError("drivers.too_few", n=corr.n, p=p, needed=p + 2)
    _constant_check(corr, columns)
    rxx = corr.matrix[:p, :p]
    rxy = corr.matrix[:p, p]
    derived = _derive(name, rxx, rxy, exact_max=exact_max, n_perm=n_perm, seed=seed)
    n_eff = corr.n_eff
    se = np.full(p, np.nan)
    low = np.full(p, np.nan)
    high = np.full(p, np.nan)
    if name == "correlation":
        r = np.clip(rxy, -0.999999999, 0.999999999)
        zr = np.arctanh(r)
        half = z / math.sqrt(max(n_eff - 3.0, 1e-12))
        low, high = np.tanh(zr - half), np.tanh(zr + half)
        se = (1.0 - rxy**2) / math.sqrt(max(n_eff - 1.0, 1e-12))
    elif name == "regression":
        df = n_eff - p - 1.0
        inv_diag = np.diag(np.linalg.inv(rxx))
        se = np.sqrt(np.clip((1.0 - derived.r2) / df * inv_diag, 0.0, None))
        tq = _t(float(confidence), df)
        low, high = derived.importance - tq * se, derived.importance + tq * se
    warnings: list[Message] = []
    if boots > 0:
        reps = _bootstrap(
            name,
            x,
            w,
            columns,
            mode,
            n_boot=boots,
            seed=seed,
            exact_max=exact_max,
            n_perm=n_perm,
        )
        ok = np.isfinite(reps).all(axis=1)
        if int(ok.sum()) < boots:
            warnings.append(Message("drivers.boot_dropped", {"n": int(boots - ok.sum())}))
        if ok.sum() >= 2:
            alpha = (1.0 - float(confidence)) / 2.0
            se = reps[ok].std(axis=0, ddof=1)
            low = np.quantile(reps[ok], alpha, axis=0)
            high = np.quantile(reps[ok], 1.0 - alpha, axis=0)
    vif = np.diag(np.linalg.inv(rxx))
    high_vif = [c for c, v in zip(item_cols, vif, strict=True) if v > 10.0]
    if high_vif and name == "regression":
        warnings.append(Message("drivers.collinear", {"items": ", ".join(high_vif)}))
    if mode == "pairwise" and int(corr.pair_n.min()) < corr.n_rows:
        warnings.append(Message("drivers.pairwise_note", {"n_min": corr.n, "n_rows": corr.n_rows}))
    if mode == "listwise" and corr.n < corr.n_rows:
        warnings.append(Message("drivers.listwise_dropped", {"n": corr.n, "n_rows": corr.n_rows}))
    if derived.exact is False:
        warnings.append(Message("drivers.shapley_sampled", {"p": p, "n_perm": derived.n_perm}))
    table = pd.DataFrame(
        {
            "item": list(item_cols),
            "importance": derived.importance,
            "importance_se": se,
            "importance_ci_low": low,
            "importance_ci_high": high,
            "pct_r2": derived.pct,
            "importance_rank": _rank_desc(derived.importance),
            "r": rxy,
            "n": corr.pair_n[:p, p],
        }
    )
    if derived.mc_se is not None:
        table.insert(2, "mc_se", derived.mc_se)
    return ImportanceResult(
        method=name,
        target=target,
        items=item_cols,
        table=table,
        r2=derived.r2,
        n=corr.n,
        n_eff=corr.n_eff,
        n_rows=corr.n_rows,
        missing=mode,
        weight=weight,
        confidence=float(confidence),
        exact=derived.exact,
        n_perm=derived.n_perm,
        n_boot=boots,
        correlation=corr,
        warnings=tuple(warnings),
    )


def _stated_columns(items: tuple[str, ...], stated: Any) -> list[str]:
    if stated is None:
        raise ValidationError("drivers.no_stated")
    if isinstance(stated, Mapping):
        missing = [i for i in items if i not in stated]
        if missing:
            raise ValidationError("drivers.stated_mismatch", items=", ".join(missing))
        return [str(stated[i]) for i in items]
    cols = [stated] if isinstance(stated, str) else list(stated)
    if len(cols) != len(items):
        raise ValidationError("drivers.stated_count", n_stated=len(cols), n_items=len(items))
    return [str(c) for c in cols]


@dataclass(frozen=True)
class _Means:
    n: IntArray
    n_eff: FloatArray
    mean: FloatArray
    se: FloatArray
    low: FloatArray
    high: FloatArray


def _column_means(x: FloatArray, w: FloatArray, confidence: float) -> _Means:
    """Weighted mean per column over its answered rows, with t-interval on Kish's n_eff."""
    from scipy import stats

    valid = np.isfinite(x) & (w > 0)[:, None]
    ww = np.where(valid, w[:, None], 0.0)
    sw = ww.sum(axis=0)
    sw2 = (ww * ww).sum(axis=0)
    filled = np.where(valid, x, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (ww * filled).sum(axis=0) / sw
        ss = (ww * (filled - mean) ** 2).sum(axis=0)
        n_eff = np.where(sw2 > 0, sw * sw / sw2, 0.0)
        ok = n_eff > 1.0 + 1e-12
        safe = np.where(ok, n_eff, 2.0)
        var = ss / np.where(sw > 0, sw, 1.0) * safe / (safe - 1.0)
        se = np.where(ok, np.sqrt(var / safe), np.nan)
    tq = np.asarray(stats.t.ppf(0.5 + confidence / 2.0, safe - 1.0), dtype=np.float64)
    return _Means(
        n=valid.sum(axis=0).astype(np.int64),
        n_eff=n_eff,
        mean=np.where(sw > 0, mean, np.nan),
        se=se,
        low=np.where(ok, mean - tq * se, np.nan),
        high=np.where(ok, mean + tq * se, np.nan),
    )


def _stated(
    data: Any,
    items: tuple[str, ...],
    stated: Any,
    *,
    target: str | None,
    weight: str | None,
    confidence: float,
) -> ImportanceResult:
    cols = _stated_columns(items, stated)
    frame = _check_frame(data, [*cols, weight])
    x = _numeric_block(frame, cols)
    w = _weights(frame, weight)
    m = _column_means(x, w, confidence)
    empty = [c for c, n in zip(cols, m.n, strict=True) if n == 0]
    if empty:
        raise ValidationError("drivers.no_answers", columns=", ".join(empty))
    p = len(items)
    table = pd.DataFrame(
        {
            "item": list(items),
            "importance": m.mean,
            "importance_se": m.se,
            "importance_ci_low": m.low,
            "importance_ci_high": m.high,
            "pct_r2": np.full(p, np.nan),
            "importance_rank": _rank_desc(m.mean),
            "r": np.full(p, np.nan),
            "n": m.n,
            "stated_column": cols,
        }
    )
    return ImportanceResult(
        method="stated",
        target=target,
        items=items,
        table=table,
        r2=math.nan,
        n=int(m.n.min()),
        n_eff=float(m.n_eff.min()),
        n_rows=len(frame),
        missing="available",
        weight=weight,
        confidence=confidence,
    )


# --------------------------------------------------------------------------------------------
# Performance and the grid
# --------------------------------------------------------------------------------------------


def _scale(
    x: FloatArray, columns: Sequence[str], scale: Any
) -> tuple[tuple[float, float], tuple[Message, ...]]:
    finite = x[np.isfinite(x)]
    if scale is None:
        if finite.size == 0:
            raise ValidationError("drivers.no_answers", columns=", ".join(columns))
        low, high = float(finite.min()), float(finite.max())
        if high <= low:
            raise ValidationError("drivers.constant", columns=", ".join(columns))
        note = Message("drivers.scale_inferred", {"low": _show(low), "high": _show(high)})
        return (low, high), (note,)
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise ValidationError("drivers.bad_scale", value=repr(scale)) from None
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValidationError("drivers.bad_scale", value=repr(scale))
    outside = np.isfinite(x) & ((x < low) | (x > high))
    if outside.any():
        row, col = (int(v[0]) for v in np.nonzero(outside))
        raise ValidationError(
            "drivers.off_scale",
            column=columns[col],
            value=_show(float(x[row, col])),
            low=_show(low),
            high=_show(high),
        )
    return (low, high), ()


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class _Performance:
    n: IntArray
    value: FloatArray
    low: FloatArray
    high: FloatArray


def _wilson(p: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson (1927) score interval for a share ``p`` observed on ``n`` (Kish's n_eff)."""
    ok = (n > 0) & np.isfinite(p)
    nn = np.where(ok, n, 1.0)
    pp = np.where(ok, p, 0.5)
    z2 = z * z
    denom = 1.0 + z2 / nn
    centre = (pp + z2 / (2.0 * nn)) / denom
    half = z / denom * np.sqrt(np.clip(pp * (1.0 - pp), 0.0, None) / nn + z2 / (4.0 * nn * nn))
    low: FloatArray = np.where(ok, np.clip(centre - half, 0.0, 1.0), np.nan)
    high: FloatArray = np.where(ok, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def _performance(
    x: FloatArray,
    w: FloatArray,
    *,
    kind: str,
    scale: tuple[float, float],
    confidence: float,
    z: float,
) -> _Performance:
    """Mean (t-interval, clipped to the scale) or top-2-box share (Wilson) of each column."""
    if kind == "mean":
        m = _column_means(x, w, confidence)
        return _Performance(
            m.n, m.mean, np.clip(m.low, scale[0], scale[1]), np.clip(m.high, scale[0], scale[1])
        )
    top = np.where(np.isfinite(x), (x >= scale[1] - 1.0).astype(np.float64), np.nan)
    m = _column_means(top, w, confidence)
    low, high = _wilson(m.mean, m.n_eff, z)
    return _Performance(m.n, m.mean, low, high)


def quadrant_of(
    importance: Any, performance: Any, /, *, importance_line: float, performance_line: float
) -> npt.NDArray[np.object_]:
    """The grid cell of each point; a point on a line counts as high on that axis."""
    imp = np.asarray(importance, dtype=np.float64)
    perf = np.asarray(performance, dtype=np.float64)
    high_imp = imp >= importance_line
    high_perf = perf >= performance_line
    out = np.where(
        high_imp,
        np.where(high_perf, "keep_up", "concentrate_here"),
        np.where(high_perf, "possible_overkill", "low_priority"),
    ).astype(object)
    out[~(np.isfinite(imp) & np.isfinite(perf))] = None
    return np.asarray(out, dtype=object)


def ipa(
    data: pd.DataFrame,
    /,
    *,
    items: Sequence[str],
    target: str | None = None,
    method: Method | str = "shapley",
    stated: Sequence[str] | Mapping[str, str] | None = None,
    performance: PerformanceKind = "mean",
    split: Split = "means",
    scale: tuple[float, float] | None = None,
    stated_scale: tuple[float, float] | None = None,
    weight: str | None = None,
    missing: Missing = "listwise",
    confidence: float = 0.95,
    exact_max: int = 15,
    n_perm: int = 4000,
    n_boot: int = 0,
    seed: int | None = 0,
) -> IPAResult:
    """Importance-performance analysis of ``items``: quadrants and the weakest links.

    Importance as in :func:`importance`. Performance (``performance``) is each
    item's mean answer (t-interval) or its top-2-box share (answers ≥ the top of
    ``scale`` minus 1, Wilson interval), over every answer to that item.
    ``scale`` is the answers' (low, high), inferred from the data (with a
    warning) when not given. ``split="means"`` splits the grid at the mean
    importance and the mean performance over the items; ``"medians"`` at their
    medians (half the items on each side, robust to one dominant driver pulling
    the mean importance up); ``"midpoint"`` at the
    middle of the scale (0.5 for top-2-box) and, for stated importance, the
    middle of ``stated_scale`` (derived importances have no midpoint, so the
    mean is used).

    ``priority`` = (importance / Σ|importance|) × (performance line −
    performance) / (scale width; 1 for shares): positive for items below the
    performance line. ``fix_rank`` ranks the ``concentrate_here`` items by
    priority (1 = fix first).
    """
    kind = str(performance)
    if kind not in ("mean", "top2"):
        raise ValidationError(
            "drivers.bad_option", option="performance", value=kind, allowed="mean, top2"
        )
    how = str(split)
    how = "midpoint" if how == "midpoints" else how
    if how not in ("means", "medians", "midpoint"):
        raise ValidationError(
            "drivers.bad_option", option="split", value=how, allowed="means, medians, midpoint"
        )
    imp = importance(
        data,
        items=items,
        target=target,
        method=method,
        stated=stated,
        weight=weight,
        missing=missing,
        confidence=confidence,
        exact_max=exact_max,
        n_perm=n_perm,
        n_boot=n_boot,
        seed=seed,
    )
    item_cols = imp.items
    frame = _check_frame(data, [*item_cols, weight])
    x = _numeric_block(frame, item_cols)
    w = _weights(frame, weight)
    bounds, scale_notes = _scale(x, item_cols, scale)
    perf = _performance(
        x, w, kind=kind, scale=bounds, confidence=float(confidence), z=_z(confidence)
    )
    values = imp.table["importance"].to_numpy(dtype=np.float64)
    imp_line = float(np.nanmedian(values) if how == "medians" else np.nanmean(values))
    if how == "midpoint":
        perf_line = 0.5 if kind == "top2" else (bounds[0] + bounds[1]) / 2.0
        if imp.method == "stated":
            st_cols = list(imp.table["stated_column"])
            st_x = _numeric_block(frame, st_cols)
            st_bounds, st_notes = _scale(st_x, st_cols, stated_scale)
            scale_notes = (*scale_notes, *st_notes)
            imp_line = (st_bounds[0] + st_bounds[1]) / 2.0
    elif how == "medians":
        perf_line = float(np.nanmedian(perf.value))
    else:
        perf_line = float(np.nanmean(perf.value))
    quadrant = quadrant_of(values, perf.value, importance_line=imp_line, performance_line=perf_line)
    width = 1.0 if kind == "top2" else bounds[1] - bounds[0]
    total = float(np.nansum(np.abs(values)))
    weight_share = values / total if total > 0 else np.full_like(values, np.nan)
    priority = weight_share * (perf_line - perf.value) / width
    weakest_mask = quadrant == "concentrate_here"
    fix_rank = np.full(len(item_cols), np.nan)
    if weakest_mask.any():
        order = pd.Series(priority[weakest_mask]).rank(ascending=False, method="first")
        fix_rank[weakest_mask] = order.to_numpy(dtype=np.float64)
    base = imp.table.drop(columns=["r"], errors="ignore")
    table = base.assign(
        n_performance=perf.n,
        performance=perf.value,
        performance_ci_low=perf.low,
        performance_ci_high=perf.high,
        quadrant=pd.array(quadrant, dtype="str"),
        priority=priority,
        fix_rank=fix_rank,
    )
    weakest = (
        table.loc[weakest_mask]
        .sort_values("fix_rank", kind="stable")
        .reset_index(drop=True)[
            [
                "fix_rank",
                "item",
                "importance",
                "pct_r2",
                "performance",
                "performance_ci_low",
                "performance_ci_high",
                "priority",
            ]
        ]
    )
    return IPAResult(
        importance=imp,
        table=table,
        weakest=weakest,
        performance=kind,
        split=how,
        scale=bounds,
        importance_line=imp_line,
        performance_line=perf_line,
        warnings=(*imp.warnings, *scale_notes),
    )


# --------------------------------------------------------------------------------------------
# IPMA from a PLS path model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class IPMAResult:
    """Importance-performance map analysis of a PLS path model (Ringle & Sarstedt 2016).

    ``table`` (one row per construct with an effect on ``target``): ``construct |
    total_effect | importance | performance | quadrant | priority | fix_rank``:
    ``total_effect`` is the standardised total effect on the target,
    ``importance`` the unstandardised total effect on the 0-100 rescaled scores
    (the target's 0-100 points gained per point of the construct), ``performance``
    the construct's 0-100 index. ``weakest`` holds the ``concentrate_here`` rows
    by ``fix_rank``.
    """

    target: str
    table: pd.DataFrame
    weakest: pd.DataFrame
    split: str
    importance_line: float
    performance_line: float
    warnings: tuple[Message, ...] = ()

    kind: ClassVar[str] = "ipma"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"ipma": self.table, "weakest_links": self.weakest}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update(
            plain(
                {
                    "target": self.target,
                    "split": self.split,
                    "importance_line": self.importance_line,
                    "performance_line": self.performance_line,
                }
            )
        )
        out["tables"] = {name: records(frame) for name, frame in self.tables().items()}
        return out


def _rescaled_sd(result: Any) -> FloatArray:
    """Standard deviation of each construct's 0-100 score, 100·Σ w~_i (x_i − low_i)/(high_i − low_i),
    from the item correlations, item sds and rescaled (ACSI) weights of a PLS result."""
    sds = np.asarray(result.sds, dtype=np.float64)
    scales = np.asarray(result.scales, dtype=np.float64)
    corr = np.asarray(result.correlation, dtype=np.float64)
    own = np.asarray(result.layout.block, dtype=np.int64)
    k = len(result.constructs)
    v = np.asarray(result.rescaled_weights.to_numpy(), dtype=np.float64) / (
        scales[:, 1] - scales[:, 0]
    )
    cov = corr * np.outer(sds, sds)
    loads = np.zeros((len(own), k))
    loads[np.arange(len(own)), own] = v
    var = np.einsum("ik,ij,jk->k", loads, cov, loads)
    return np.asarray(100.0 * np.sqrt(np.clip(var, 0.0, None)), dtype=np.float64)


def ipma(result: Any, /, *, target: str, split: Split = "means") -> IPMAResult:
    """Importance-performance map of the constructs that drive ``target`` in a fitted PLS model.

    ``result`` is an :class:`allegiance.pls.PLSResult` estimated from raw data
    (so it knows the item scales and the 0-100 indices). Importance is the
    unstandardised total effect on the 0-100 rescaled construct scores, i.e. the
    standardised total effect × sd(target) / sd(construct) of those scores;
    performance is the construct's 0-100 index. The grid and the weakest links
    follow the same rules as :func:`ipa` (``split`` ``means`` or ``medians``).
    """
    constructs = tuple(str(c) for c in result.constructs)
    if target not in constructs:
        raise ColumnNotFoundError([target], constructs)
    how = str(split)
    if how not in ("means", "medians"):
        raise ValidationError(
            "drivers.bad_option", option="split", value=how, allowed="means, medians"
        )
    total = result.total_effects
    index = result.index
    if result.sds is None or result.scales is None or not np.isfinite(index.to_numpy()).all():
        raise ValidationError("drivers.ipma_needs_data")
    j = constructs.index(target)
    effect = np.asarray(total[target].to_numpy(), dtype=np.float64)
    drivers_ = [i for i in range(len(constructs)) if i != j and abs(effect[i]) > 1e-12]
    if not drivers_:
        raise ValidationError("drivers.ipma_no_drivers", target=target)
    sd100 = _rescaled_sd(result)
    std_effect = effect[drivers_]
    unstd = std_effect * sd100[j] / sd100[drivers_]
    perf = np.asarray(index.to_numpy(), dtype=np.float64)[drivers_]
    imp_line = float(np.median(unstd) if how == "medians" else np.mean(unstd))
    perf_line = float(np.median(perf) if how == "medians" else np.mean(perf))
    quadrant = quadrant_of(unstd, perf, importance_line=imp_line, performance_line=perf_line)
    total_abs = float(np.sum(np.abs(unstd)))
    priority = (unstd / total_abs if total_abs > 0 else unstd * np.nan) * (perf_line - perf) / 100.0
    weak = quadrant == "concentrate_here"
    fix_rank = np.full(len(drivers_), np.nan)
    if weak.any():
        fix_rank[weak] = (
            pd.Series(priority[weak]).rank(ascending=False, method="first").to_numpy(np.float64)
        )
    table = pd.DataFrame(
        {
            "construct": [constructs[i] for i in drivers_],
            "total_effect": std_effect,
            "importance": unstd,
            "performance": perf,
            "quadrant": pd.array(quadrant, dtype="str"),
            "priority": priority,
            "fix_rank": fix_rank,
        }
    )
    weakest = table.loc[weak].sort_values("fix_rank", kind="stable").reset_index(drop=True)
    return IPMAResult(
        target=target,
        table=table,
        weakest=weakest,
        split=how,
        importance_line=imp_line,
        performance_line=perf_line,
        warnings=tuple(result.warnings),
    )
