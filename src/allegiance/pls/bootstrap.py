"""Bootstrap inference for PLS path models: 5,000 resamples in a second or two.

:func:`bootstrap` resamples respondents with replacement, re-estimates the
model on every resample and gives, for the path coefficients, outer weights,
loadings, R² and the indirect and total effects: the bootstrap mean, standard
error, t statistic, two-sided p value, and percentile and BCa intervals.

How it stays fast
-----------------
With standardised items a PLS path model depends on the data only through
the items' correlation matrix, so each resample is reduced to its
correlation matrix and all of them are estimated together by the core's
batched Wold/Lohmöller iteration
(:func:`allegiance.pls.estimate.estimate_core_batch`). A resample is a count
vector ``c_b`` (how often each respondent was drawn; the counts sum to ``n``):

    m_b = c_b X / n,    S_b = c_b Q / n − m_b m_bᵀ,    R_b = D_b^{-1/2} S_b D_b^{-1/2}

where ``X`` is the item matrix centred once on its full-sample means (for
accuracy) and row ``i`` of ``Q`` holds the upper triangle of ``x_i x_iᵀ``.
All ``B`` matrices of a chunk thus come from one ``B × n`` by
``n × p(p+1)/2`` matrix product; there is no Python loop over resamples or
respondents.

Randomness
----------
Resample ``b`` draws ``n`` row numbers with ``Generator.integers`` from
``numpy.random.default_rng(seed)``, in chunks whose size depends on ``n``
only. The same seed, data and settings give the same resamples; the first
``k`` resamples do not depend on ``n_boot``. Without a seed one is drawn
from the operating system and recorded in the result, so any run can be
repeated.

Missing answers
---------------
As in the estimate: ``missing="listwise"`` drops rows with a missing item,
``missing="mean"`` fills each missing answer with its item's mean, once,
before resampling (the resamples are drawn from the completed rows).

Sign changes
------------
A construct's sign is arbitrary: its weights, loadings and every path in or
out of it can flip together. The core orients every fit so that each
construct's loadings sum to a positive number. ``sign_change="construct"``
(the default; the construct-level sign change of Tenenhaus et al. 2005,
section 2.7) also aligns every resample with the original estimate: a
construct whose resampled loadings point away from the original ones (their
inner product is negative) is flipped, with its weights, loadings and paths.
``"none"`` keeps each resample as the core orients it.

Intervals and tests
-------------------
* ``se``: standard deviation of the valid resample estimates (``ddof=1``);
  ``boot_mean`` their mean.
* ``t = estimate / se``; two-sided ``p = 2 P(T > |t|)`` for Student's T with
  ``n − 1`` degrees of freedom (``n``: respondents used), as SmartPLS
  reports it. For n above a few hundred this equals the normal p value to
  three decimals.
* Percentile interval (``ci_low``, ``ci_high``): the ``α/2`` and
  ``1 − α/2`` quantiles of the resample estimates (``α = 1 − level``;
  linear interpolation, numpy's default).
* BCa interval (``bca_low``, ``bca_high``; Efron 1987; Efron & Tibshirani
  1993, section 14.3): bias correction ``z0 = Φ⁻¹((#{θ* < θ̂} + ½#{θ* = θ̂})/B)``
  and acceleration ``a = Σd³ / (6 (Σd²)^{3/2})``, ``d = mean(θ₍ᵢ₎) − θ₍ᵢ₎``,
  from the jackknife: leave one respondent out, or, above
  ``jackknife_groups`` respondents, leave one of ``jackknife_groups`` random
  groups out (the delete-a-group jackknife). The interval takes the
  quantiles ``Φ(z0 + (z0 + z_q)/(1 − a(z0 + z_q)))`` for ``z_q`` at
  ``α/2`` and ``1 − α/2``; with ``z0 = a = 0`` it is the percentile interval.
  When every resample lies on one side of the estimate, ``z0`` is infinite
  and the BCa bounds are NaN.

A parameter the model fixes (the weight and loading of a single-item
construct are 1 in every resample) gets ``se = 0`` and no ``t`` or ``p``.

Resamples whose iterations do not converge, or that leave an item without
variance, are dropped and counted in a warning; the statistics use the
valid ones (``n_valid``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import InputError, ValidationError
from allegiance.i18n import Message
from allegiance.pls.estimate import (
    MISSING,
    SCHEMES,
    BatchFit,
    Layout,
    compile_model,
    estimate_core,
    estimate_core_batch,
)
from allegiance.pls.spec import PathModel
from allegiance.results import plain, records

__all__ = [
    "DEFAULT_N_BOOT",
    "FAMILIES",
    "SIGN_CHANGES",
    "STATS",
    "BootstrapResult",
    "bca_interval",
    "bootstrap",
    "percentile_interval",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
Progress = Callable[[str, int, int], None]

DEFAULT_N_BOOT = 5000
"""Resamples drawn when ``n_boot`` is not given (Hair et al. 2022 advise 5,000 or more)."""

FAMILIES: tuple[str, ...] = ("paths", "weights", "loadings", "r2", "indirect", "total")
"""The parameter families of a :class:`BootstrapResult`, in table order."""

SIGN_CHANGES: tuple[str, ...] = ("construct", "none")

STATS: tuple[str, ...] = (
    "estimate",
    "boot_mean",
    "se",
    "t",
    "p",
    "ci_low",
    "ci_high",
    "bca_low",
    "bca_high",
)
"""The statistic columns of every family's table, after its key columns."""

_CELLS = 20_000_000  # count-matrix cells (resamples x respondents) drawn at once
_ROWS = 20_000  # respondents per outer-product chunk
_CHUNK = 500  # resamples per progress step


# --------------------------------------------------------------------------------------------
# Correlation matrices of many weighted samples at once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Moments:
    """The centred data and the upper-triangle index of its outer products."""

    xc: FloatArray
    upper: tuple[IntArray, IntArray]

    @classmethod
    def of(cls, x: FloatArray) -> _Moments:
        xc = x - x.mean(axis=0)
        iu = np.triu_indices(x.shape[1])
        return cls(xc, (iu[0].astype(np.intp), iu[1].astype(np.intp)))

    def products(self, rows: slice) -> FloatArray:
        """Rows ``rows`` of ``Q``: the upper triangle of each row's outer product."""
        part = self.xc[rows]
        return part[:, self.upper[0]] * part[:, self.upper[1]]

    def total_products(self) -> FloatArray:
        """``Q`` summed over all rows (chunk by chunk)."""
        n = self.xc.shape[0]
        total = np.zeros(self.upper[0].size)
        for start in range(0, n, _ROWS):
            total += self.products(slice(start, min(n, start + _ROWS))).sum(axis=0)
        return total

    def sums(self, counts: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``counts @ X`` and ``counts @ (x xᵀ)`` for a ``(m, n)`` count matrix."""
        n = self.xc.shape[0]
        first = counts @ self.xc
        second = np.zeros((counts.shape[0], self.upper[0].size))
        for start in range(0, n, _ROWS):
            rows = slice(start, min(n, start + _ROWS))
            second += counts[:, rows] @ self.products(rows)
        return first, second

    def correlations(
        self, first: FloatArray, second: FloatArray, total: FloatArray, *, scaled: bool = True
    ) -> FloatArray:
        """Correlation matrices from weighted sums (``total`` the weight of each sample).

        With ``scaled=False`` the covariance matrices (denominator: the weight) instead,
        for PLS on centred but unstandardised items; an item without variance still
        makes its matrix NaN.
        """
        p = self.xc.shape[1]
        mean = first / total[:, None]
        upper = second / total[:, None]
        cov = np.empty((first.shape[0], p, p))
        cov[:, self.upper[0], self.upper[1]] = upper
        cov[:, self.upper[1], self.upper[0]] = upper
        cov -= mean[:, :, None] * mean[:, None, :]
        sd = np.sqrt(np.clip(np.einsum("bii->bi", cov), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            cor = cov / (sd[:, :, None] * sd[:, None, :])
        cor[:, np.arange(p), np.arange(p)] = 1.0
        out = cor if scaled else cov
        tiny = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
        out[tiny.any(axis=1)] = np.nan
        return out


def _counts(rng: np.random.Generator, size: int, n: int) -> FloatArray:
    """How often each respondent is drawn in each of ``size`` resamples of ``n`` draws."""
    drawn = rng.integers(0, n, size=(size, n))
    drawn += (np.arange(size, dtype=np.int64) * n)[:, None]
    return np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def _jackknife_cors(
    moments: _Moments, *, groups: int, seed: int | None, scaled: bool
) -> tuple[FloatArray, str]:
    """Leave-one-out (or leave-one-group-out) correlation matrices."""
    n = moments.xc.shape[0]
    total1 = moments.xc.sum(axis=0)
    if n <= groups:
        total2 = moments.total_products()
        out = np.empty((n, moments.xc.shape[1], moments.xc.shape[1]))
        for start in range(0, n, _ROWS):
            rows = slice(start, min(n, start + _ROWS))
            first = total1[None, :] - moments.xc[rows]
            second = total2[None, :] - moments.products(rows)
            out[rows] = moments.correlations(
                first, second, np.full(first.shape[0], n - 1.0), scaled=scaled
            )
        return out, "leave-one-out"
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.linspace(0, n, groups + 1).astype(np.int64)
    first = np.empty((groups, moments.xc.shape[1]))
    second = np.empty((groups, moments.upper[0].size))
    for g in range(groups):  # one slice per group; groups are few (default 1,000)
        part = moments.xc[order[bounds[g] : bounds[g + 1]]]
        first[g] = part.sum(axis=0)
        second[g] = (part[:, moments.upper[0]] * part[:, moments.upper[1]]).sum(axis=0)
    size = np.diff(bounds).astype(np.float64)
    return (
        moments.correlations(
            first.sum(axis=0)[None, :] - first,
            second.sum(axis=0)[None, :] - second,
            n - size,
            scaled=scaled,
        ),
        f"delete-group ({groups} groups)",
    )


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------


def percentile_interval(
    draws: FloatArray, /, *, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """The ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of each column of ``draws``."""
    _check_level(level)
    draws = np.asarray(draws, dtype=np.float64)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    return np.asarray(low), np.asarray(high)


def bca_interval(
    draws: FloatArray,
    /,
    *,
    estimate: FloatArray,
    jackknife: FloatArray,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Bias-corrected and accelerated intervals (Efron 1987), one per column of ``draws``.

    ``draws`` (B, k) are the resample estimates, ``estimate`` (k,) the full-sample
    ones, ``jackknife`` (m, k) the leave-one-out (or leave-one-group-out) ones.
    Where every draw lies on one side of the estimate the bias correction is
    infinite and the interval is NaN.
    """
    from scipy.special import ndtr, ndtri

    _check_level(level)
    draws = np.asarray(draws, dtype=np.float64)
    theta = np.asarray(estimate, dtype=np.float64).reshape(-1)
    jack = np.asarray(jackknife, dtype=np.float64)
    b = draws.shape[0]
    below = (draws < theta[None, :]).sum(axis=0) + 0.5 * (draws == theta[None, :]).sum(axis=0)
    with np.errstate(divide="ignore"):
        z0 = ndtri(below / b)
    d = jack.mean(axis=0)[None, :] - jack
    num = (d**3).sum(axis=0)
    den = 6.0 * (d**2).sum(axis=0) ** 1.5
    with np.errstate(divide="ignore", invalid="ignore"):
        accel = np.where(den > 0, num / den, 0.0)
    alpha = (1.0 - level) / 2.0
    ordered = np.sort(draws, axis=0)
    out: list[FloatArray] = []
    for z in (ndtri(alpha), ndtri(1.0 - alpha)):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z)))
        out.append(_quantiles(ordered, q))
    return out[0], out[1]


def _quantiles(ordered: FloatArray, q: FloatArray) -> FloatArray:
    """Column ``k``'s ``q[k]`` quantile of sorted draws, interpolated as ``numpy.quantile``."""
    b = ordered.shape[0]
    ok = np.isfinite(q)
    pos = np.where(ok, np.clip(q, 0.0, 1.0), 0.0) * (b - 1)
    low = np.floor(pos).astype(np.int64)
    high = np.minimum(low + 1, b - 1)
    cols = np.arange(ordered.shape[1])
    value = ordered[low, cols] + (pos - low) * (ordered[high, cols] - ordered[low, cols])
    return np.where(ok, value, np.nan)


def _check_level(level: float) -> None:
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise ValidationError("plsx.error.level", value=repr(level))


# --------------------------------------------------------------------------------------------
# Fits of a stack: sign alignment and the parameter families
# --------------------------------------------------------------------------------------------


def _fit_stack(
    cors: FloatArray, layout: Layout, *, scheme: str, tol: float, max_iter: int
) -> BatchFit:
    """The core's batched fit; a singular matrix in the stack only fails its own resample."""
    try:
        return estimate_core_batch(cors, layout, scheme=scheme, tol=tol, max_iter=max_iter)
    except np.linalg.LinAlgError:
        pass
    size, p, k = cors.shape[0], layout.p, layout.k
    out = BatchFit(
        weights=np.full((size, p, k), np.nan),
        cross_loadings=np.full((size, p, k), np.nan),
        lv_corr=np.full((size, k, k), np.nan),
        paths=np.full((size, k, k), np.nan),
        r2=np.full((size, k), np.nan),
        iterations=np.zeros(size, dtype=np.intp),
        converged=np.zeros(size, dtype=bool),
    )
    for b in range(size):  # rare: only when some resample's matrix is singular
        try:
            one = estimate_core(cors[b], layout, scheme=scheme, tol=tol, max_iter=max_iter)
        except np.linalg.LinAlgError:
            continue
        out.weights[b] = one.weights
        out.cross_loadings[b] = one.cross_loadings
        out.lv_corr[b] = one.lv_corr
        out.paths[b] = one.paths
        out.r2[b] = one.r2
        out.iterations[b] = one.iterations
        out.converged[b] = one.converged
    return out


def _own_loadings(fit: BatchFit, layout: Layout) -> FloatArray:
    """(B, p): each item's loading on its own construct."""
    return fit.cross_loadings[:, np.arange(layout.p), layout.block]


def _align(fit: BatchFit, layout: Layout, reference: FloatArray) -> BatchFit:
    """Flip the constructs whose loadings point away from ``reference`` (p,)."""
    agreement = (_own_loadings(fit, layout) * reference[None, :]) @ layout.mask
    sign = np.where(agreement < 0, -1.0, 1.0)
    if (sign > 0).all():
        return fit
    pair = sign[:, :, None] * sign[:, None, :]
    return BatchFit(
        weights=fit.weights * sign[:, None, :],
        cross_loadings=fit.cross_loadings * sign[:, None, :],
        lv_corr=fit.lv_corr * pair,
        paths=fit.paths * pair,
        r2=fit.r2,
        iterations=fit.iterations,
        converged=fit.converged,
    )


def _total(paths: FloatArray) -> FloatArray:
    """(B, K, K) total effects ``(I - B)^-1 - I``."""
    k = paths.shape[-1]
    eye = np.eye(k)
    with np.errstate(invalid="ignore"):
        return np.linalg.solve(eye[None] - paths, np.broadcast_to(eye, paths.shape)) - eye


@dataclass(frozen=True, eq=False)
class _Families:
    """Key columns of every family's table and the index arrays that pick its parameters."""

    keys: dict[str, pd.DataFrame]
    paths: tuple[IntArray, IntArray]
    indirect: tuple[IntArray, IntArray]
    total: tuple[IntArray, IntArray]
    endogenous: IntArray

    @classmethod
    def of(cls, layout: Layout) -> _Families:
        names = layout.constructs
        k = layout.k
        step = layout.path_mask.astype(np.int64)
        reach = np.linalg.matrix_power(np.eye(k, dtype=np.int64) + step, k) > 0
        np.fill_diagonal(reach, False)
        longer = (step @ reach.astype(np.int64)) > 0  # a route of two or more paths
        direct = np.argwhere(layout.path_mask)
        total = np.argwhere(reach)
        indirect = np.argwhere(longer)

        def pairs(rows: npt.NDArray[np.int64]) -> pd.DataFrame:
            return pd.DataFrame(
                {"source": [names[i] for i in rows[:, 0]], "target": [names[j] for j in rows[:, 1]]}
            )

        items = pd.DataFrame(
            {"construct": [names[b] for b in layout.block], "item": list(layout.items)}
        )
        endo = layout.endogenous
        return cls(
            keys={
                "paths": pairs(direct),
                "weights": items,
                "loadings": items.copy(),
                "r2": pd.DataFrame({"construct": [names[j] for j in endo]}),
                "indirect": pairs(indirect),
                "total": pairs(total),
            },
            paths=(direct[:, 0].astype(np.intp), direct[:, 1].astype(np.intp)),
            indirect=(indirect[:, 0].astype(np.intp), indirect[:, 1].astype(np.intp)),
            total=(total[:, 0].astype(np.intp), total[:, 1].astype(np.intp)),
            endogenous=endo,
        )

    def values(self, fit: BatchFit, layout: Layout) -> dict[str, FloatArray]:
        """Every family's estimates as ``(B, k)`` columns, in the order of :attr:`keys`."""
        total = _total(fit.paths)
        items = np.arange(layout.p)
        return {
            "paths": fit.paths[:, self.paths[0], self.paths[1]],
            "weights": fit.weights[:, items, layout.block],
            "loadings": fit.cross_loadings[:, items, layout.block],
            "r2": fit.r2[:, self.endogenous],
            "indirect": (total - fit.paths)[:, self.indirect[0], self.indirect[1]],
            "total": total[:, self.total[0], self.total[1]],
        }


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class BootstrapResult:
    """Bootstrap standard errors, tests and intervals of a PLS path model.

    ``summary`` maps each family of :data:`FAMILIES` to a frame: key columns
    (``source``/``target`` for paths and effects, ``construct``/``item`` for
    weights and loadings, ``construct`` for R²), then :data:`STATS`:
    ``estimate`` (full sample), ``boot_mean``, ``se``, ``t``, ``p``,
    ``ci_low``/``ci_high`` (percentile) and ``bca_low``/``bca_high`` (BCa).
    ``draws`` maps each family to the valid resample estimates: one row per
    resample, one column per row of the family's table.
    """

    n: int
    n_boot: int
    n_valid: int
    seed: int
    level: float
    scheme: str
    missing: str
    scaled: bool
    sign_change: str
    jackknife: str
    n_jackknife: int
    summary: Mapping[str, pd.DataFrame]
    draws: Mapping[str, FloatArray] = field(repr=False)
    warnings: tuple[Message, ...] = ()

    @property
    def paths(self) -> pd.DataFrame:
        """The path coefficients' table."""
        return self.summary["paths"]

    def table(self, family: str, /) -> pd.DataFrame:
        """One family's table: ``paths``, ``weights``, ``loadings``, ``r2``, ``indirect``, ``total``."""
        if family not in self.summary:
            raise ValidationError(
                "plsx.error.family", family=repr(family), allowed=", ".join(self.summary)
            )
        return self.summary[family]

    def settings(self) -> dict[str, Any]:
        """How the intervals were made, for a reader who wants to repeat them."""
        return {
            "n": self.n,
            "n_boot": self.n_boot,
            "n_valid": self.n_valid,
            "seed": self.seed,
            "level": self.level,
            "scheme": self.scheme,
            "missing": self.missing,
            "scaled": self.scaled,
            "sign_change": self.sign_change,
            "jackknife": self.jackknife,
            "n_jackknife": self.n_jackknife,
            "p_value": "two-sided, Student t",
            "df": self.n - 1,
            "intervals": "percentile (ci_low, ci_high) and BCa (bca_low, bca_high)",
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f"boot_{name}": frame for name, frame in self.summary.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "bootstrap",
            "settings": plain(self.settings()),
            "tables": {name: records(frame) for name, frame in self.summary.items()},
            "warnings": [w.to_dict() for w in self.warnings],
        }

    def __repr__(self) -> str:
        return (
            f"BootstrapResult(n={self.n}, n_boot={self.n_boot}, n_valid={self.n_valid}, "
            f"seed={self.seed}, level={self.level}, sign_change={self.sign_change!r})"
        )


def _summarise(
    keys: pd.DataFrame,
    *,
    estimate: FloatArray,
    draws: FloatArray,
    jackknife: FloatArray,
    level: float,
    df: int,
) -> pd.DataFrame:
    from scipy.special import stdtr

    frame = keys.copy()
    frame["estimate"] = estimate
    if draws.shape[0] < 2:
        for name in STATS[1:]:
            frame[name] = np.nan
        return frame
    se = draws.std(axis=0, ddof=1)
    fixed = se <= 1e-10 * np.maximum(1.0, np.abs(estimate))  # e.g. a single item's weight
    se = np.where(fixed, 0.0, se)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(fixed, np.nan, estimate / np.where(fixed, 1.0, se))
    low, high = percentile_interval(draws, level=level)
    bca_low, bca_high = bca_interval(draws, estimate=estimate, jackknife=jackknife, level=level)
    frame["boot_mean"] = draws.mean(axis=0)
    frame["se"] = se
    frame["t"] = t
    frame["p"] = 2.0 * stdtr(df, -np.abs(t))
    frame["ci_low"] = low
    frame["ci_high"] = high
    frame["bca_low"] = bca_low
    frame["bca_high"] = bca_high
    return frame


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------


def _matrix(
    data: pd.DataFrame, items: tuple[str, ...], missing: str
) -> tuple[FloatArray, list[Message]]:
    """The item matrix (model order) after the missing-data rule, and what was done."""
    from allegiance.io.reader import coerce_numeric, require_columns

    if not isinstance(data, pd.DataFrame):
        raise InputError("plsx.error.not_a_frame", found=type(data).__name__)
    require_columns(data, items)
    cols = []
    for item in items:
        col = data[item]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            cols.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            cols.append(coerce_numeric(data, item).to_numpy(dtype=np.float64))
    x = np.column_stack(cols)
    gaps = np.isnan(x)
    notes: list[Message] = []
    if gaps.any():
        if missing == "listwise":
            keep = ~gaps.any(axis=1)
            notes.append(Message("plsx.warn.listwise", {"dropped": int((~keep).sum())}))
            x = x[keep]
        else:
            with np.errstate(invalid="ignore"):
                means = np.nanmean(np.where(gaps.all(axis=0), 0.0, x), axis=0)
            x = np.where(gaps, means[None, :], x)
            notes.append(Message("plsx.warn.mean_imputed", {"cells": int(gaps.sum())}))
    return x, notes


def _check(
    *, n_boot: int, level: float, scheme: str, sign_change: str, missing: str, groups: int
) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise ValidationError("plsx.error.n_boot", value=repr(n_boot))
    _check_level(level)
    if scheme not in SCHEMES:
        raise ValidationError(
            "plsx.error.choice", option="scheme", value=repr(scheme), allowed=", ".join(SCHEMES)
        )
    if sign_change not in SIGN_CHANGES:
        raise ValidationError(
            "plsx.error.choice",
            option="sign_change",
            value=repr(sign_change),
            allowed=", ".join(SIGN_CHANGES),
        )
    if missing not in MISSING:
        raise ValidationError(
            "plsx.error.choice", option="missing", value=repr(missing), allowed=", ".join(MISSING)
        )
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 10:
        raise ValidationError("plsx.error.jackknife_groups", value=repr(groups))


def bootstrap(
    data: pd.DataFrame,
    /,
    *,
    model: PathModel,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = None,
    scheme: str = "path",
    level: float = 0.95,
    sign_change: str = "construct",
    missing: str = "listwise",
    scaled: bool = True,
    tol: float = 1e-7,
    max_iter: int = 300,
    jackknife_groups: int = 1000,
    progress: Progress | None = None,
) -> BootstrapResult:
    """Bootstrap ``model`` on ``data``: SE, t, p, percentile and BCa intervals.

    ``data`` holds the model's items, one row per respondent. ``n_boot``
    resamples of the ``n`` usable rows are drawn with replacement from
    ``numpy.random.default_rng(seed)``; ``scheme``, ``missing``, ``scaled``,
    ``tol`` and ``max_iter`` are those of :func:`allegiance.pls.estimate` and
    should match the fit being bootstrapped. ``progress(step, done, total)`` is told after
    every chunk of resamples (``step`` is ``"bootstrap"``, then
    ``"jackknife"``). The module documentation gives every formula.

    >>> from allegiance.datasets import load_mobi
    >>> from allegiance.pls.templates import load_model
    >>> boot = bootstrap(load_mobi(), model=load_model("ecsi"), n_boot=200, seed=1)
    >>> boot.n_valid, list(boot.paths.columns[:3])
    (200, ['source', 'target', 'estimate'])
    """
    _check(
        n_boot=n_boot,
        level=level,
        scheme=scheme,
        sign_change=sign_change,
        missing=missing,
        groups=jackknife_groups,
    )
    if not isinstance(model, PathModel):
        raise ValidationError("plsx.error.model_type", found=type(model).__name__)
    layout = compile_model(model)
    x, notes = _matrix(data, layout.items, missing)
    n = int(x.shape[0])
    if n < 10:
        raise InputError("plsx.error.too_few", n=n)
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        seed = int(entropy) % (2**63) if isinstance(entropy, int) else 0  # recorded for reruns
    moments = _Moments.of(x)
    full = moments.correlations(
        moments.xc.sum(axis=0)[None, :],
        moments.total_products()[None, :],
        np.array([float(n)]),
        scaled=scaled,
    )
    if not np.isfinite(full).all():
        sd = x.std(axis=0)
        raise InputError(
            "plsx.error.constant_item",
            items=", ".join(layout.items[i] for i in np.flatnonzero(~(sd > 0))),
        )
    families = _Families.of(layout)
    original = _fit_stack(full, layout, scheme=scheme, tol=tol, max_iter=max_iter)
    if not original.converged[0]:
        raise InputError("plsx.error.not_converged", max_iter=max_iter)
    reference = _own_loadings(original, layout)[0]
    estimate = {k: v[0] for k, v in families.values(original, layout).items()}

    tell: Progress = progress or (lambda _step, _done, _total: None)
    total = int(n_boot)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(_CHUNK, _CELLS // n))
    parts: list[dict[str, FloatArray]] = []
    dropped = 0
    done = 0
    tell("bootstrap", 0, total)
    while done < total:
        size = min(chunk, total - done)
        first, second = moments.sums(_counts(rng, size, n))
        cors = moments.correlations(first, second, np.full(size, float(n)), scaled=scaled)
        usable = cors[np.isfinite(cors).all(axis=(1, 2))]
        fit = _fit_stack(usable, layout, scheme=scheme, tol=tol, max_iter=max_iter)
        if sign_change == "construct":
            fit = _align(fit, layout, reference)
        values = families.values(fit, layout)
        keep = fit.converged & np.isfinite(values["paths"]).all(axis=1)
        dropped += size - int(keep.sum())
        parts.append({k: v[keep] for k, v in values.items()})
        done += size
        tell("bootstrap", done, total)
    draws = {k: np.concatenate([part[k] for part in parts], axis=0) for k in FAMILIES}
    n_valid = int(draws["paths"].shape[0])

    tell("jackknife", 0, 1)
    jack_cors, jack_kind = _jackknife_cors(
        moments, groups=int(jackknife_groups), seed=seed, scaled=scaled
    )
    ok = np.isfinite(jack_cors).all(axis=(1, 2))
    jack_fit = _align(
        _fit_stack(jack_cors[ok], layout, scheme=scheme, tol=tol, max_iter=max_iter),
        layout,
        reference,
    )
    jack = {k: v[jack_fit.converged] for k, v in families.values(jack_fit, layout).items()}
    tell("jackknife", 1, 1)

    summary = {
        name: _summarise(
            families.keys[name],
            estimate=estimate[name],
            draws=draws[name],
            jackknife=jack[name],
            level=float(level),
            df=n - 1,
        )
        for name in FAMILIES
    }
    warnings = list(notes)
    if dropped:
        warnings.append(Message("plsx.warn.dropped", {"dropped": dropped, "n_boot": total}))
    if n_valid < 2:
        warnings.append(Message("plsx.warn.no_valid", {"n_boot": total}))
    return BootstrapResult(
        n=n,
        n_boot=total,
        n_valid=n_valid,
        seed=seed,
        level=float(level),
        scheme=scheme,
        missing=missing,
        scaled=bool(scaled),
        sign_change=sign_change,
        jackknife=jack_kind,
        n_jackknife=int(jack["paths"].shape[0]),
        summary=summary,
        draws=draws,
        warnings=tuple(warnings),
    )
