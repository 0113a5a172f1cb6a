"""PLS path model estimation: the Wold/Lohmöller algorithm on the item correlation matrix.

PLS path modelling (Wold 1982; Lohmöller 1989; Tenenhaus et al. 2005) needs
nothing from the data but the correlation matrix ``R`` of the items (p x p):
every latent variable (LV) is a weighted sum of its standardised items,
``Y_k = X_k w_k``, so the LV correlations are ``W'RW``, the item-LV
correlations ``RW``, and the structural regressions follow from ``W'RW``.
The core here therefore iterates on ``R`` alone (cheap enough to be called
thousands of times by the bootstrap, and batched over a stack of ``B``
matrices); large data are reduced to their moments (:class:`ItemMoments`,
computable chunk by chunk) where they live.

The algorithm (as in R plspm and seminr):

1. Start with all outer weights 1, scaled so every LV has variance 1.
2. Inner weights ``E`` (K x K) from the LV correlations ``C = W'RW``:
   ``centroid``  e_ij = sign(c_ij) for adjacent constructs;
   ``factorial`` e_ij = c_ij for adjacent constructs;
   ``path``      for a predecessor i of j, the coefficient of Y_i in the
   regression of Y_j on all its predecessors; for a successor i of j, c_ij.
   The inner proxy of construct j is ``Z_j = sum_i e_ij Y_i``.
3. New outer weights from ``cov(X_k, Z_k)`` = the block of ``R W E``:
   mode A (reflective) takes them as they are (correlation weights), mode B
   (formative) multiplies by ``R_kk^-1`` (regression weights). Scale each
   construct to variance 1.
4. Orient the sign of each construct so that the sum of the correlations of
   its items with it (its loadings) is positive, the convention of SmartPLS
   and seminr (the data do not fix the sign of a weighted sum; without a rule
   a construct could come out as its own mirror image).
5. Stop when no outer weight moved by more than ``tol`` (default 1e-7), or
   after ``max_iter`` iterations (default 300; a warning says it did not
   converge).
6. Path coefficients: for each endogenous construct, the OLS regression of
   its LV on its predecessors, ``beta = C_PP^-1 C_Pj``; ``R² = beta' C_Pj``;
   loadings and cross-loadings are the item-LV correlations ``RW``.

Data are standardised with the sample standard deviation (denominator
``n - 1``), as SmartPLS and seminr do; the estimates do not depend on the
denominator (R plspm uses ``n``), only the latent scores' scale does.
Missing answers: ``missing="listwise"`` drops every row with a missing item;
``missing="mean"`` replaces each missing answer with its item's mean. The
result states which, with the counts.

Further results (see :class:`PLSResult`): direct, indirect and total effects
(``T = (I - B)^-1 - I`` for the path matrix ``B``), adjusted R²,
communalities (squared loadings), redundancies (communality x R² of the
construct), GoF = sqrt(mean communality x mean R²) (Tenenhaus et al. 2005;
communalities averaged over the items of blocks with more than one item, R²
over the endogenous constructs, as R plspm computes it), the unstandardised
weights rescaled to sum to 1 on the original item scale, and the ACSI 0-100
index (Fornell et al. 1996; see :func:`acsi_index`).

>>> from allegiance.datasets import load_mobi
>>> from allegiance.pls.spec import PathModel
>>> model = PathModel.build(
...     constructs={"Image": ["IMAG1", "IMAG2", "IMAG3"], "Loyalty": ["CUSL1", "CUSL2", "CUSL3"]},
...     paths=[("Image", "Loyalty")],
... )
>>> fit = estimate(model, load_mobi())
>>> fit.converged, fit.n
(True, 250)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import InputError, ValidationError
from allegiance.i18n import Message
from allegiance.pls.spec import PathModel
from allegiance.results import plain, records

__all__ = [
    "MISSING",
    "PLSPM",
    "SCHEMES",
    "BatchFit",
    "CoreFit",
    "IndexResult",
    "ItemMoments",
    "Layout",
    "PLSResult",
    "acsi_index",
    "compile_model",
    "estimate",
    "estimate_core",
    "estimate_core_batch",
    "estimate_from_cov",
    "item_moments",
    "moments_from_chunks",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
Scheme = Literal["path", "centroid", "factorial"]
Missing = Literal["listwise", "mean"]
ScaleArg = tuple[float, float] | Mapping[str, tuple[float, float]] | None

SCHEMES: tuple[str, ...] = ("path", "centroid", "factorial")
MISSING: tuple[str, ...] = ("listwise", "mean")


# --------------------------------------------------------------------------------------------
# The compiled model: index arrays the core iterates with (no pandas, no names).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Layout:
    """A :class:`PathModel` compiled to arrays for the core (build once with :func:`compile_model`).

    ``items``/``constructs`` give the order of rows/columns of every array:
    ``block[i]`` is the construct of item ``i``; ``mask`` (p x K) is 1 where
    item i belongs to construct k; ``mode_b[k]`` marks formative blocks;
    ``path_mask[i, j]`` is True for a path i -> j; ``adjacent`` is
    ``path_mask | path_mask.T``; ``predecessors[j]`` lists the predecessors of j;
    ``pred_pad``/``pred_valid`` (E x m) list the predecessors of each endogenous
    construct padded to the longest list, and ``pred_scatter`` the (source, target)
    index pairs of every path in that order.
    """

    items: tuple[str, ...]
    constructs: tuple[str, ...]
    block: IntArray
    mask: FloatArray
    mode_b: BoolArray
    path_mask: BoolArray
    adjacent: BoolArray
    predecessors: tuple[IntArray, ...]
    endogenous: IntArray
    blocks: tuple[IntArray, ...]
    pred_pad: IntArray
    pred_valid: BoolArray
    pred_scatter: tuple[IntArray, IntArray]

    @property
    def p(self) -> int:
        return len(self.items)

    @property
    def k(self) -> int:
        return len(self.constructs)


def compile_model(model: PathModel, /) -> Layout:
    """The arrays :func:`estimate_core` needs, in ``model.items`` / ``model.construct_names`` order.

    Cached per model (models are immutable values).
    """
    return _compile(model)


@lru_cache(maxsize=128)
def _compile(model: PathModel) -> Layout:
    names = model.construct_names
    pos = {n: i for i, n in enumerate(names)}
    items = model.items
    k = len(names)
    block = np.array([pos[model.construct_of(i)] for i in items], dtype=np.intp)
    mask = np.zeros((len(items), k))
    mask[np.arange(len(items)), block] = 1.0
    path_mask = np.zeros((k, k), dtype=bool)
    for p in model.paths:
        path_mask[pos[p.source], pos[p.target]] = True
    preds = tuple(np.flatnonzero(path_mask[:, j]).astype(np.intp) for j in range(k))
    endo = np.array([j for j in range(k) if preds[j].size], dtype=np.intp)
    blocks = tuple(np.flatnonzero(block == j).astype(np.intp) for j in range(k))
    width = max((preds[j].size for j in endo), default=1)
    pad = np.zeros((endo.size, width), dtype=np.intp)
    valid = np.zeros((endo.size, width), dtype=bool)
    for row, j in enumerate(endo):
        pad[row, : preds[j].size] = preds[j]
        valid[row, : preds[j].size] = True
    targets = np.broadcast_to(endo[:, None], pad.shape)
    return Layout(
        items=items,
        constructs=names,
        block=block,
        mask=mask,
        mode_b=np.array([c.mode == "B" for c in model.constructs], dtype=bool),
        path_mask=path_mask,
        adjacent=path_mask | path_mask.T,
        predecessors=preds,
        endogenous=endo,
        blocks=blocks,
        pred_pad=pad,
        pred_valid=valid,
        pred_scatter=(pad[valid], np.ascontiguousarray(targets[valid])),
    )


# --------------------------------------------------------------------------------------------
# The core: correlation matrices in, arrays out.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BatchFit:
    """The core's output for a stack of ``B`` correlation matrices (leading axis ``B``).

    ``weights`` (B, p, K): standardised outer weights, zero outside each block
    (``weights[b, :, k]`` gives LV k with variance 1); ``cross_loadings``
    (B, p, K): item-LV correlations (the loadings are the entries inside the
    blocks); ``lv_corr`` (B, K, K); ``paths`` (B, K, K): ``paths[b, i, j]`` is the
    coefficient of i -> j (0 where no path); ``r2`` (B, K): NaN for exogenous
    constructs; ``iterations`` and ``converged`` (B,).
    """

    weights: FloatArray
    cross_loadings: FloatArray
    lv_corr: FloatArray
    paths: FloatArray
    r2: FloatArray
    iterations: IntArray
    converged: BoolArray

    @property
    def loadings(self) -> FloatArray:
        """(B, p, K) loadings, zero outside the blocks."""
        out: FloatArray = self.cross_loadings * (self.weights != 0)
        return out


@dataclass(frozen=True, eq=False)
class CoreFit:
    """The core's output for one correlation matrix (arrays as in :class:`BatchFit`, no ``B``)."""

    weights: FloatArray
    cross_loadings: FloatArray
    lv_corr: FloatArray
    paths: FloatArray
    r2: FloatArray
    iterations: int
    converged: bool

    def outer_weights(self, layout: Layout, /) -> FloatArray:
        """(p,) each item's weight on its own construct."""
        return self.weights[np.arange(layout.p), layout.block]

    def loadings(self, layout: Layout, /) -> FloatArray:
        """(p,) each item's loading (correlation with its own construct)."""
        return self.cross_loadings[np.arange(layout.p), layout.block]


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValidationError(
            "pls.error.bad_scheme", scheme=str(scheme), allowed=", ".join(SCHEMES)
        )


def _check_settings(scheme: str, tol: float, max_iter: int) -> None:
    _check_scheme(scheme)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValidationError("pls.error.bad_tol", tol=str(tol))
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValidationError("pls.error.bad_max_iter", max_iter=str(max_iter))


def _block_inverse(r: FloatArray, layout: Layout) -> FloatArray | None:
    """(B, p, p) block-diagonal: R_kk^-1 on formative blocks, identity elsewhere (None if none)."""
    if not layout.mode_b.any():
        return None
    b = r.shape[0]
    out = np.broadcast_to(np.eye(layout.p), (b, layout.p, layout.p)).copy()
    for k in np.flatnonzero(layout.mode_b):
        idx = layout.blocks[k]
        sub = r[:, idx[:, None], idx[None, :]]
        out[:, idx[:, None], idx[None, :]] = np.linalg.inv(sub)
    return out


def _solve_spd(a: FloatArray, rhs: FloatArray) -> FloatArray:
    """Solve ``a x = rhs`` for a stack of small symmetric positive definite systems.

    ``a`` (N, m, m), ``rhs`` (N, m). Few systems go to LAPACK; many (the
    bootstrap) are solved by Gauss-Jordan elimination vectorised over the stack
    (no pivoting is needed for a positive definite matrix), which avoids one
    LAPACK call per system.
    """
    n, m = rhs.shape
    if n <= 64:
        return np.asarray(np.linalg.solve(a, rhs[..., None])[..., 0], dtype=np.float64)
    aug = np.concatenate([a, rhs[..., None]], axis=2)
    for col in range(m):
        aug[:, col, :] /= aug[:, col, col : col + 1]
        factor = aug[:, :, col].copy()
        factor[:, col] = 0.0
        aug -= factor[:, :, None] * aug[:, col, None, :]
    solved: FloatArray = aug[:, :, m]
    return solved


def _regressions(c: FloatArray, layout: Layout) -> tuple[FloatArray, FloatArray]:
    """OLS coefficients (B, E, m) of every endogenous LV on its predecessors, and the c_Pj."""
    pad, valid, endo = layout.pred_pad, layout.pred_valid, layout.endogenous
    m = pad.shape[1]
    a = c[:, pad[:, :, None], pad[:, None, :]]
    a = np.where(valid[:, :, None] & valid[:, None, :], a, np.eye(m))
    rhs = np.where(valid, c[:, pad, endo[:, None]], 0.0)
    b, e = rhs.shape[0], rhs.shape[1]
    beta = _solve_spd(a.reshape(b * e, m, m), rhs.reshape(b * e, m)).reshape(b, e, m)
    return beta, rhs


def _inner_weights(c: FloatArray, layout: Layout, scheme: str) -> FloatArray:
    """(B, K, K) inner weights e[b, i, j] (Z_j = sum_i e_ij Y_i) from LV correlations c."""
    adj = layout.adjacent
    if scheme == "centroid":
        centroid: FloatArray = np.sign(c) * adj
        return centroid
    if scheme == "factorial":
        factorial: FloatArray = c * adj
        return factorial
    # path weighting: correlations for successors, regression weights for predecessors
    e: FloatArray = c * layout.path_mask.T  # e[i, j] = c_ij where j -> i (i succeeds j)
    if layout.endogenous.size:
        beta, _ = _regressions(c, layout)
        rows, cols = layout.pred_scatter
        e[:, rows, cols] = beta[:, layout.pred_valid]
    return e


def estimate_core_batch(
    r: FloatArray,
    layout: Layout,
    /,
    *,
    scheme: str = "path",
    tol: float = 1e-7,
    max_iter: int = 300,
) -> BatchFit:
    """Estimate the model on a stack of item correlation matrices ``r`` (B, p, p) at once.

    Rows/columns of ``r`` follow ``layout.items`` (covariance matrices work too:
    that is PLS on unstandardised, centred items). All ``B`` problems iterate
    together: each step is a handful of array operations over the whole stack
    (one matrix product of shape (B·p, p) x (p, K), elementwise products, and
    one stacked solve for the path-weighting regressions), so the cost per
    resample is microseconds. Each problem stops counting iterations when its
    own weights have converged and is frozen from then on. No validation of
    ``r`` beyond shapes: this is the inner loop of the bootstrap.
    """
    _check_settings(scheme, tol, max_iter)
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 3 or r.shape[1:] != (layout.p, layout.p):
        raise ValidationError(
            "pls.error.bad_shape", shape=str(r.shape), expected=f"(B, {layout.p}, {layout.p})"
        )
    b, p, k = r.shape[0], layout.p, layout.k
    mask, block = layout.mask, layout.block
    items = np.arange(p)
    inv_sd = 1.0 / np.sqrt(np.diagonal(r, axis1=1, axis2=2))
    binv = _block_inverse(r, layout)

    def rw_of(w: FloatArray) -> FloatArray:
        # (R diag(w)) summed over the columns of each block: RW[b, i, k] = sum_{j in k} r_ij w_j
        out: FloatArray = ((r * w[:, None, :]).reshape(b * p, p) @ mask).reshape(b, p, k)
        return out

    def scale(w: FloatArray, rw: FloatArray) -> tuple[FloatArray, FloatArray]:
        own = rw[:, items, block]
        var = (w * own) @ mask
        sign = np.where((own * inv_sd) @ mask < 0, -1.0, 1.0)
        factor = sign / np.sqrt(var)
        return w * factor[:, block], rw * factor[:, None, :]

    w = np.ones((b, p))
    w, rw = scale(w, rw_of(w))
    iterations = np.zeros(b, dtype=np.intp)
    converged = np.zeros(b, dtype=bool)
    for step in range(1, max_iter + 1):
        c = np.tensordot(mask, w[:, :, None] * rw, axes=([0], [1])).transpose(1, 0, 2)
        e = _inner_weights(c, layout, scheme)
        new = np.einsum("bil,bil->bi", rw, e[:, :, block].transpose(0, 2, 1))
        if binv is not None:
            new = np.einsum("bij,bj->bi", binv, new)
        new, rw_new = scale(new, rw_of(new))
        change = np.abs(new - w).max(axis=1)
        active = ~converged
        iterations[active] = step
        converged |= change < tol
        if active.all():
            w, rw = new, rw_new
        else:
            w = np.where(active[:, None], new, w)
            rw = np.where(active[:, None, None], rw_new, rw)
        if converged.all():
            break
    c = np.tensordot(mask, w[:, :, None] * rw, axes=([0], [1])).transpose(1, 0, 2)
    paths = np.zeros((b, k, k))
    r2 = np.full((b, k), np.nan)
    if layout.endogenous.size:
        beta, rhs = _regressions(c, layout)
        rows, cols = layout.pred_scatter
        paths[:, rows, cols] = beta[:, layout.pred_valid]
        r2[:, layout.endogenous] = (beta * rhs).sum(axis=2)
    return BatchFit(
        weights=w[:, :, None] * mask,
        cross_loadings=rw * inv_sd[:, :, None],
        lv_corr=np.ascontiguousarray(c),
        paths=paths,
        r2=r2,
        iterations=iterations,
        converged=converged,
    )


def estimate_core(
    r: FloatArray,
    layout: Layout,
    /,
    *,
    scheme: str = "path",
    tol: float = 1e-7,
    max_iter: int = 300,
) -> CoreFit:
    """Estimate the model on one item correlation matrix ``r`` (p x p, ``layout.items`` order)."""
    fit = estimate_core_batch(
        np.asarray(r, dtype=np.float64)[None], layout, scheme=scheme, tol=tol, max_iter=max_iter
    )
    return CoreFit(
        weights=fit.weights[0],
        cross_loadings=fit.cross_loadings[0],
        lv_corr=fit.lv_corr[0],
        paths=fit.paths[0],
        r2=fit.r2[0],
        iterations=int(fit.iterations[0]),
        converged=bool(fit.converged[0]),
    )


# --------------------------------------------------------------------------------------------
# Moments: the sufficient statistics, from a frame or chunk by chunk.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ItemMoments:
    """Count, means and covariance (denominator ``n - 1``) of the items: all PLS needs.

    ``n_dropped`` counts rows left out for a missing answer (listwise). Merge two
    with :meth:`merge` (Chan, Golub & LeVeque 1979), so any chunked or
    distributed source reduces to one of these.
    """

    items: tuple[str, ...]
    n: int
    means: FloatArray
    cov: FloatArray
    n_dropped: int = 0

    @property
    def sds(self) -> FloatArray:
        return np.sqrt(np.diag(self.cov))

    @property
    def corr(self) -> FloatArray:
        sd = self.sds
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.cov / np.outer(sd, sd)
        np.fill_diagonal(out, 1.0)
        return out

    def merge(self, other: ItemMoments, /) -> ItemMoments:
        """The moments of both samples together."""
        if other.items != self.items:
            raise ValidationError(
                "pls.error.moments_items",
                first=", ".join(self.items),
                second=", ".join(other.items),
            )
        if other.n == 0:
            return ItemMoments(
                self.items, self.n, self.means, self.cov, self.n_dropped + other.n_dropped
            )
        if self.n == 0:
            return ItemMoments(
                other.items, other.n, other.means, other.cov, self.n_dropped + other.n_dropped
            )
        n = self.n + other.n
        delta = other.means - self.means
        m2 = self.cov * (self.n - 1) + other.cov * (other.n - 1)
        m2 = m2 + np.outer(delta, delta) * (self.n * other.n / n)
        means = self.means + delta * (other.n / n)
        cov = m2 / (n - 1) if n > 1 else np.full_like(m2, np.nan)
        return ItemMoments(self.items, n, means, cov, self.n_dropped + other.n_dropped)


def _numeric_block(data: pd.DataFrame, items: Sequence[str]) -> FloatArray:
    """The items of ``data`` as a float array (n, p), NaN for missing; errors name the cell."""
    from allegiance.io.reader import coerce_numeric, require_columns

    if not isinstance(data, pd.DataFrame):
        raise InputError("pls.error.not_a_frame", found=type(data).__name__)
    require_columns(data, items)
    x = np.empty((len(data), len(items)), dtype=np.float64)
    for j, item in enumerate(items):
        col = data[item]
        if (
            isinstance(col, pd.Series)
            and pd.api.types.is_numeric_dtype(col.dtype)
            and not pd.api.types.is_bool_dtype(col.dtype)
        ):
            x[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            x[:, j] = coerce_numeric(data, item).to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        bad = np.isinf(x)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError("pls.error.not_finite", item=items[col], row=int(row) + 2)
    return x


_CHUNK = 1 << 16


def _moments_of(x: FloatArray, items: tuple[str, ...], n_dropped: int) -> ItemMoments:
    """Means and covariance (n - 1) of the rows of x, centred chunk by chunk (one pass, no copy of x)."""
    n, p = x.shape
    if n == 0:
        return ItemMoments(items, 0, np.zeros(p), np.zeros((p, p)), n_dropped)
    means = x.mean(axis=0)
    # Row blocks small enough that each p x p product stays below the size at which
    # OpenBLAS starts threads (m·n·k < 2^18): for a gram this small threads gain nothing,
    # and on a busy machine their start-up and spinning cost 10-100x the arithmetic
    # (n = 1,000,000, p = 24: 0.15 s in blocks of 455 rows, 1.6-16 s in blocks of 65,536).
    rows = max(256, (1 << 18) // max(p * p, 1))
    if n <= rows:
        xc = x - means
        gram = xc.T @ xc
    else:
        gram = np.zeros((p, p))
        for start in range(0, n, rows):
            xc = x[start : start + rows] - means
            gram += xc.T @ xc
    cov = gram / (n - 1) if n > 1 else np.full((p, p), np.nan)
    return ItemMoments(items, n, means, cov, n_dropped)


def item_moments(
    data: pd.DataFrame | FloatArray, /, *, items: Sequence[str], missing: Missing = "listwise"
) -> ItemMoments:
    """The moments of ``items`` in ``data`` (a frame, or an array whose columns are ``items``)."""
    items = tuple(items)
    if missing not in MISSING:
        raise ValidationError(
            "pls.error.bad_missing", missing=str(missing), allowed=", ".join(MISSING)
        )
    if isinstance(data, pd.DataFrame):
        x = _numeric_block(data, items)
    else:
        x = np.asarray(data, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(items):
            raise ValidationError(
                "pls.error.bad_shape", shape=str(x.shape), expected=f"(n, {len(items)})"
            )
    incomplete = _rows_with_missing(x)
    if not incomplete.any():
        return _moments_of(x, items, 0)  # nothing missing: read x in place, no copy
    if missing == "listwise":
        return _moments_of(x[~incomplete], items, int(incomplete.sum()))
    return _moments_of(np.where(np.isnan(x), np.nanmean(x, axis=0), x), items, 0)


def _rows_with_missing(x: FloatArray) -> npt.NDArray[np.bool_]:
    """Which rows of x hold a NaN, found chunk by chunk (no n x p temporary)."""
    out = np.zeros(x.shape[0], dtype=bool)
    for start in range(0, x.shape[0], _CHUNK):
        out[start : start + _CHUNK] = np.isnan(x[start : start + _CHUNK]).any(axis=1)
    return out


def moments_from_chunks(
    chunks: Iterable[pd.DataFrame | FloatArray], /, *, items: Sequence[str]
) -> ItemMoments:
    """Reduce chunks (frames or arrays with the ``items`` as columns) to one :class:`ItemMoments`.

    Rows with a missing answer are dropped (listwise). Memory stays at one
    chunk: read a big file with ``pandas.read_csv(..., chunksize=...)``,
    ``pyarrow.parquet.ParquetFile.iter_batches`` or a DuckDB cursor and pass
    the chunks here.
    """
    items = tuple(items)
    total = ItemMoments(items, 0, np.zeros(len(items)), np.zeros((len(items), len(items))))
    for chunk in chunks:
        total = total.merge(item_moments(chunk, items=items))
    return total


# --------------------------------------------------------------------------------------------
# The result.
# --------------------------------------------------------------------------------------------


def _frame(values: FloatArray, index: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(values, index=pd.Index(list(index)), columns=pd.Index(list(columns)))


@dataclass(frozen=True, eq=False, kw_only=True)
class PLSResult:
    """A fitted PLS path model. Arrays are kept; tables are built when asked for.

    Matrices (as pandas frames): :attr:`outer_weights_matrix` and
    :attr:`cross_loadings` (items x constructs), :attr:`path_coefficients`
    (source rows x target columns), :attr:`total_effects`,
    :attr:`indirect_effects`, :attr:`construct_correlations`. Series:
    :attr:`outer_weights`, :attr:`loadings`, :attr:`communality`,
    :attr:`redundancy`, :attr:`r2`, :attr:`r2_adj`. :attr:`scores` holds the
    latent scores (standardised, sample sd) when raw data were given.

    ``tables()`` gives: ``paths`` (source, target, coefficient), ``effects``
    (source, target, direct, indirect, total), ``outer`` (construct, item, mode,
    weight, loading, communality, redundancy, unstd_weight, rescaled_weight,
    mean, sd), ``constructs`` (construct, mode, n_items, endogenous, r2, r2_adj,
    communality, redundancy, index), ``cross_loadings``,
    ``construct_correlations`` and ``summary`` (n, scheme, missing, ...).
    """

    model: PathModel
    scheme: str
    tol: float
    max_iter: int
    missing: str
    scaled: bool
    n: int
    n_dropped: int
    n_imputed: int
    iterations: int
    converged: bool
    correlation: FloatArray
    weights_array: FloatArray
    cross_loadings_array: FloatArray
    lv_corr_array: FloatArray
    path_array: FloatArray
    r2_array: FloatArray
    means: FloatArray | None = None
    sds: FloatArray | None = None
    scales: FloatArray | None = None
    scale_source: str = "none"
    score_array: FloatArray | None = None
    score_index: pd.Index | None = None
    warnings: tuple[Message, ...] = ()
    _layout: Layout = field(repr=False)

    # --- names ------------------------------------------------------------------------------

    @property
    def items(self) -> tuple[str, ...]:
        return self._layout.items

    @property
    def constructs(self) -> tuple[str, ...]:
        return self._layout.constructs

    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def endogenous(self) -> tuple[str, ...]:
        return tuple(self.constructs[j] for j in self._layout.endogenous)

    # --- item level ---------------------------------------------------------------------------

    @cached_property
    def _own(self) -> IntArray:
        return self._layout.block

    @property
    def outer_weights(self) -> pd.Series:
        """Standardised outer weight of each item on its construct."""
        values = self.weights_array[np.arange(len(self.items)), self._own]
        return pd.Series(values, index=pd.Index(self.items), name="weight")

    @property
    def outer_weights_matrix(self) -> pd.DataFrame:
        """Items x constructs, zero outside each block (seminr's ``outer_weights``)."""
        return _frame(self.weights_array, self.items, self.constructs)

    @property
    def loadings(self) -> pd.Series:
        """Each item's correlation with its own construct."""
        values = self.cross_loadings_array[np.arange(len(self.items)), self._own]
        return pd.Series(values, index=pd.Index(self.items), name="loading")

    @property
    def loadings_matrix(self) -> pd.DataFrame:
        """Items x constructs, zero outside each block (seminr's ``outer_loadings``)."""
        return _frame(self.cross_loadings_array * self._layout.mask, self.items, self.constructs)

    @property
    def cross_loadings(self) -> pd.DataFrame:
        """Correlation of every item with every construct."""
        return _frame(self.cross_loadings_array, self.items, self.constructs)

    @property
    def communality(self) -> pd.Series:
        """Squared loading of each item."""
        return (self.loadings**2).rename("communality")

    @property
    def redundancy(self) -> pd.Series:
        """Communality x R² of the item's construct (NaN for items of exogenous constructs)."""
        r2 = self.r2_array[self._own]
        return (self.communality * r2).rename("redundancy")

    @property
    def unstandardized_weights(self) -> pd.Series:
        """Weights on the original item scale: ``w_i / sd_i`` (NaN when the sds are unknown)."""
        if not self.scaled:
            return self.outer_weights.rename("unstd_weight")
        if self.sds is None:
            return pd.Series(np.nan, index=pd.Index(self.items), name="unstd_weight")
        return (self.outer_weights / self.sds).rename("unstd_weight")

    @property
    def rescaled_weights(self) -> pd.Series:
        """Unstandardised weights rescaled to sum to 1 within each construct (ACSI weights).

        With known answer scales the weights are those of the items put on 0..1
        (``w_i (high_i - low_i) / sd_i``), so the index does not depend on the
        unit of each item; when a block's items share one scale this is the
        usual ``w_i / sd_i`` rescaled (Fornell et al. 1996).
        """
        raw = self.unstandardized_weights.to_numpy()
        if self.scales is not None and np.isfinite(self.scales).all():
            raw = raw * (self.scales[:, 1] - self.scales[:, 0])
        sums = np.bincount(self._own, weights=raw, minlength=len(self.constructs))
        return pd.Series(raw / sums[self._own], index=pd.Index(self.items), name="rescaled_weight")

    # --- construct level ----------------------------------------------------------------------

    @property
    def path_coefficients(self) -> pd.DataFrame:
        """Source (rows) x target (columns) path coefficients, 0 where there is no path."""
        return _frame(self.path_array, self.constructs, self.constructs)

    @cached_property
    def _total(self) -> FloatArray:
        k = len(self.constructs)
        return np.linalg.inv(np.eye(k) - self.path_array) - np.eye(k)

    @property
    def total_effects(self) -> pd.DataFrame:
        """Direct plus indirect effects, ``(I - B)^-1 - I``, source rows x target columns."""
        return _frame(self._total, self.constructs, self.constructs)

    @property
    def indirect_effects(self) -> pd.DataFrame:
        return _frame(self._total - self.path_array, self.constructs, self.constructs)

    @property
    def construct_correlations(self) -> pd.DataFrame:
        return _frame(self.lv_corr_array, self.constructs, self.constructs)

    @property
    def r2(self) -> pd.Series:
        """R² of each endogenous construct."""
        idx = self._layout.endogenous
        return pd.Series(self.r2_array[idx], index=pd.Index(self.endogenous), name="r2")

    @property
    def r2_adj(self) -> pd.Series:
        """Adjusted R²: ``1 - (1 - R²)(n - 1)/(n - m - 1)`` with m predictors."""
        idx = self._layout.endogenous
        m = np.array([self._layout.predecessors[j].size for j in idx], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            adj = 1 - (1 - self.r2_array[idx]) * (self.n - 1) / (self.n - m - 1)
        return pd.Series(adj, index=pd.Index(self.endogenous), name="r2_adj")

    @property
    def block_communality(self) -> pd.Series:
        """Mean communality of each block (for a reflective block, its AVE)."""
        com = self.communality.to_numpy()
        k = len(self.constructs)
        sums = np.bincount(self._own, weights=com, minlength=k)
        counts = np.bincount(self._own, minlength=k)
        return pd.Series(sums / counts, index=pd.Index(self.constructs), name="communality")

    @property
    def block_redundancy(self) -> pd.Series:
        """Mean redundancy of each block (NaN for exogenous constructs)."""
        return (self.block_communality * self.r2_array).rename("redundancy")

    @property
    def gof(self) -> float:
        """Goodness of fit (Tenenhaus et al. 2005), as R plspm computes it."""
        counts = np.bincount(self._own, minlength=len(self.constructs))
        multi = counts[self._own] > 1
        if not multi.any() or not self.endogenous:
            return float("nan")
        com = float(self.communality.to_numpy()[multi].mean())
        r2 = float(np.mean(self.r2_array[self._layout.endogenous]))
        return math.sqrt(com * r2)

    @property
    def scores(self) -> pd.DataFrame | None:
        """Latent scores (rows of the data used, standardised with the sample sd)."""
        if self.score_array is None:
            return None
        return pd.DataFrame(self.score_array, index=self.score_index, columns=list(self.constructs))

    @property
    def index(self) -> pd.Series:
        """The ACSI-style 0-100 index of each construct (see :func:`acsi_index`)."""
        if self.means is None or self.scales is None or self.sds is None:
            return pd.Series(np.nan, index=pd.Index(self.constructs), name="index")
        return pd.Series(
            _index_values(
                self.rescaled_weights.to_numpy(),
                self.means,
                self.scales,
                self._own,
                len(self.constructs),
            ),
            index=pd.Index(self.constructs),
            name="index",
        )

    # --- tables -------------------------------------------------------------------------------

    def paths_table(self) -> pd.DataFrame:
        rows = np.argwhere(self._layout.path_mask)
        return pd.DataFrame(
            {
                "source": [self.constructs[i] for i, _ in rows],
                "target": [self.constructs[j] for _, j in rows],
                "coefficient": [self.path_array[i, j] for i, j in rows],
            }
        )

    def effects_table(self) -> pd.DataFrame:
        """Every pair with a non-zero total effect (a directed route between them)."""
        k = len(self.constructs)
        reach = np.linalg.matrix_power(np.eye(k, dtype=np.int64) + self._layout.path_mask, k) > 0
        np.fill_diagonal(reach, False)
        rows = np.argwhere(reach)
        total = self._total
        return pd.DataFrame(
            {
                "source": [self.constructs[i] for i, _ in rows],
                "target": [self.constructs[j] for _, j in rows],
                "direct": [self.path_array[i, j] for i, j in rows],
                "indirect": [total[i, j] - self.path_array[i, j] for i, j in rows],
                "total": [total[i, j] for i, j in rows],
            }
        )

    def outer_table(self) -> pd.DataFrame:
        modes = {c.name: c.mode for c in self.model.constructs}
        construct = [self.constructs[b] for b in self._own]
        return pd.DataFrame(
            {
                "construct": construct,
                "item": list(self.items),
                "mode": [modes[c] for c in construct],
                "weight": self.outer_weights.to_numpy(),
                "loading": self.loadings.to_numpy(),
                "communality": self.communality.to_numpy(),
                "redundancy": self.redundancy.to_numpy(),
                "unstd_weight": self.unstandardized_weights.to_numpy(),
                "rescaled_weight": self.rescaled_weights.to_numpy(),
                "mean": self.means if self.means is not None else np.nan,
                "sd": self.sds if self.sds is not None else np.nan,
            }
        )

    def constructs_table(self) -> pd.DataFrame:
        k = len(self.constructs)
        counts = np.bincount(self._own, minlength=k)
        endo = np.zeros(k, dtype=bool)
        endo[self._layout.endogenous] = True
        r2_adj = np.full(k, np.nan)
        r2_adj[self._layout.endogenous] = self.r2_adj.to_numpy()
        return pd.DataFrame(
            {
                "construct": list(self.constructs),
                "mode": [c.mode for c in self.model.constructs],
                "n_items": counts,
                "endogenous": endo,
                "r2": self.r2_array,
                "r2_adj": r2_adj,
                "communality": self.block_communality.to_numpy(),
                "redundancy": self.block_redundancy.to_numpy(),
                "index": self.index.to_numpy(),
            }
        )

    def summary_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "n": [self.n],
                "n_dropped": [self.n_dropped],
                "n_imputed": [self.n_imputed],
                "missing": [self.missing],
                "scheme": [self.scheme],
                "iterations": [self.iterations],
                "converged": [self.converged],
                "gof": [self.gof],
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        cross = self.cross_loadings.rename_axis("item")
        corr = self.construct_correlations.rename_axis("construct")
        return {
            "summary": self.summary_table(),
            "paths": self.paths_table(),
            "effects": self.effects_table(),
            "constructs": self.constructs_table(),
            "outer": self.outer_table(),
            "cross_loadings": cross,
            "construct_correlations": corr,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "pls",
            "model": self.model.to_dict(),
            "settings": {
                "scheme": self.scheme,
                "tol": self.tol,
                "max_iter": self.max_iter,
                "missing": self.missing,
                "scaled": self.scaled,
                "standardisation": "sample sd (n - 1)" if self.scaled else "centred only",
                "sign": "each construct oriented so its loadings sum to a positive number",
                "scale": plain(self.scales) if self.scales is not None else None,
                "scale_source": self.scale_source,
            },
            "n": self.n,
            "n_dropped": self.n_dropped,
            "n_imputed": self.n_imputed,
            "iterations": self.iterations,
            "converged": self.converged,
            "gof": plain(self.gof),
            "r2": plain(self.r2.to_dict()),
            "index": plain(self.index.to_dict()),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _index_values(
    rescaled: FloatArray, means: FloatArray, scales: FloatArray, own: IntArray, k: int
) -> FloatArray:
    """100 x sum_i w~_i (mean_i - low_i)/(high_i - low_i) per construct (vectorised over rows)."""
    pos = (means - scales[:, 0]) / (scales[:, 1] - scales[:, 0])
    contrib = rescaled * pos
    if contrib.ndim == 1:
        flat: FloatArray = 100.0 * np.bincount(own, weights=contrib, minlength=k).astype(np.float64)
        return flat
    out = np.zeros((contrib.shape[0], k))
    np.add.at(out.T, own, contrib.T)
    return 100.0 * out


# --------------------------------------------------------------------------------------------
# The public entry points.
# --------------------------------------------------------------------------------------------


def _resolve_scales(
    model: PathModel, scale: ScaleArg, x: FloatArray | None
) -> tuple[FloatArray | None, str, tuple[Message, ...]]:
    """(p, 2) answer-scale ends per item: argument, else model, else observed in ``x``."""
    items = model.items
    out = np.full((len(items), 2), np.nan)
    source = "model"
    if scale is not None and not isinstance(scale, Mapping):
        low, high = float(scale[0]), float(scale[1])
        if not low < high:
            raise ValidationError("pls.error.bad_index_scale", value=repr(scale))
        out[:] = (low, high)
        return out, "argument", ()
    given = dict(scale) if isinstance(scale, Mapping) else {}
    missing_items = []
    for i, item in enumerate(items):
        got = given.get(item) or model.item_scale(item)
        if got is None:
            missing_items.append(i)
        else:
            if not float(got[0]) < float(got[1]):
                raise ValidationError("pls.error.bad_index_scale", value=repr(got))
            out[i] = (float(got[0]), float(got[1]))
    if given:
        source = "argument"
    if not missing_items:
        return out, source, ()
    if x is None or x.shape[0] == 0:
        return None, "none", (Message("pls.warn.no_scale", {}),)
    idx = np.array(missing_items)
    observed = np.column_stack([np.nanmin(x[:, idx], axis=0), np.nanmax(x[:, idx], axis=0)])
    out[idx] = observed
    same = observed[:, 1] > observed[:, 0]
    out[idx[~same]] = np.nan
    return (
        out,
        "observed" if len(missing_items) == len(items) else "mixed",
        (
            Message(
                "pls.warn.scale_observed", {"items": ", ".join(items[i] for i in missing_items)}
            ),
        ),
    )


def _check_missing(missing: str) -> None:
    if missing not in MISSING:
        raise ValidationError(
            "pls.error.bad_missing", missing=str(missing), allowed=", ".join(MISSING)
        )


def _fit_from_corr(
    model: PathModel,
    layout: Layout,
    matrix: FloatArray,
    *,
    scaled: bool,
    n: int,
    n_dropped: int,
    n_imputed: int,
    means: FloatArray | None,
    sds: FloatArray | None,
    scheme: str,
    tol: float,
    max_iter: int,
    missing: str,
    scale: ScaleArg,
    x: FloatArray | None,
    row_index: pd.Index | None,
    warnings: list[Message],
) -> PLSResult:
    min_n = max(3, max((pj.size for pj in layout.predecessors), default=0) + 2)
    if n < min_n:
        raise InputError("pls.error.too_few_rows", n=n, needed=min_n)
    diag = np.diag(matrix)
    bad = np.flatnonzero(~np.isfinite(diag) | (diag <= 0))
    if bad.size:
        raise InputError("pls.error.constant_item", items=", ".join(layout.items[i] for i in bad))
    if not np.isfinite(matrix).all():
        raise InputError("pls.error.matrix_not_finite")
    sd = np.sqrt(diag)
    corr = matrix / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    for k in np.flatnonzero(layout.mode_b):
        idx = layout.blocks[k]
        if np.linalg.matrix_rank(corr[np.ix_(idx, idx)]) < idx.size:
            raise InputError("pls.error.singular_block", construct=layout.constructs[k])
    core = estimate_core(matrix, layout, scheme=scheme, tol=tol, max_iter=max_iter)
    if not core.converged:
        warnings.append(Message("pls.warn.not_converged", {"max_iter": max_iter, "tol": tol}))
    scales, scale_source, scale_warn = _resolve_scales(model, scale, x)
    if means is not None:
        warnings.extend(scale_warn)
    scores = None
    if x is not None and means is not None and sds is not None:
        wd = core.weights / sds[:, None] if scaled else core.weights
        scores = x @ wd - means @ wd
    if sds is not None:
        own = core.outer_weights(layout) / (sds if scaled else 1.0)
        sums = np.bincount(layout.block, weights=own, minlength=layout.k)
        if (own * sums[layout.block] < 0).any():
            warnings.append(Message("pls.warn.negative_weights", {}))
    return PLSResult(
        model=model,
        scheme=scheme,
        tol=tol,
        max_iter=max_iter,
        missing=missing,
        scaled=scaled,
        n=n,
        n_dropped=n_dropped,
        n_imputed=n_imputed,
        iterations=core.iterations,
        converged=core.converged,
        correlation=corr,
        weights_array=core.weights,
        cross_loadings_array=core.cross_loadings,
        lv_corr_array=core.lv_corr,
        path_array=core.paths,
        r2_array=core.r2,
        means=means,
        sds=sds,
        scales=scales if means is not None else None,
        scale_source=scale_source if means is not None else "none",
        score_array=scores,
        score_index=row_index,
        warnings=tuple(warnings),
        _layout=layout,
    )


def estimate(
    model: PathModel,
    data: pd.DataFrame | ItemMoments,
    /,
    *,
    scheme: Scheme = "path",
    tol: float = 1e-7,
    max_iter: int = 300,
    missing: Missing = "listwise",
    scaled: bool = True,
    scale: ScaleArg = None,
) -> PLSResult:
    """Estimate ``model`` on raw ``data`` (a frame with the model's items) or on :class:`ItemMoments`.

    ``scale`` gives the answer scale ends for the 0-100 index (one pair for all
    items, or ``{item: (low, high)}``); default: the model's scales, else the
    observed minimum and maximum of each item (with a warning).

    ``scaled=True`` (default) standardises the items (PLS on correlations);
    ``scaled=False`` only centres them, so items with more spread weigh more
    (R plspm's ``scaled = FALSE``, used in Sanchez's book for items on one scale).
    """
    _check_settings(scheme, tol, max_iter)
    _check_missing(missing)
    if isinstance(data, ItemMoments):
        return estimate_from_cov(
            model, data, scheme=scheme, tol=tol, max_iter=max_iter, scaled=scaled, scale=scale
        )
    layout = compile_model(model)
    x = _numeric_block(data, layout.items)
    nan = np.isnan(x)
    warnings: list[Message] = []
    n_dropped = n_imputed = 0
    row_index = data.index
    if nan.any():
        if missing == "listwise":
            keep = ~nan.any(axis=1)
            n_dropped = int((~keep).sum())
            x = x[keep]
            row_index = data.index[np.flatnonzero(keep)]
            warnings.append(Message("pls.warn.listwise", {"n_dropped": n_dropped}))
        else:
            n_imputed = int(nan.sum())
            with np.errstate(invalid="ignore"):
                col_means = np.array(
                    [
                        np.nanmean(x[:, j]) if (~nan[:, j]).any() else np.nan
                        for j in range(x.shape[1])
                    ]
                )
            x = np.where(nan, col_means, x)
            warnings.append(Message("pls.warn.mean_imputed", {"n_imputed": n_imputed}))
    n = x.shape[0]
    mom = _moments_of(x, layout.items, n_dropped)
    sds = mom.sds
    if n > 1:
        zero = np.flatnonzero(~(sds > 0))
        if zero.size:
            raise InputError(
                "pls.error.constant_item", items=", ".join(layout.items[i] for i in zero)
            )
    matrix = np.full((layout.p, layout.p), np.nan)
    if n > 1:
        # unscaled: R plspm normalises the latent variables with the population variance
        matrix = mom.corr if scaled else mom.cov * ((n - 1) / n)
    return _fit_from_corr(
        model,
        layout,
        matrix,
        scaled=scaled,
        n=n,
        n_dropped=n_dropped,
        n_imputed=n_imputed,
        means=mom.means,
        sds=sds,
        scheme=scheme,
        tol=tol,
        max_iter=max_iter,
        missing=missing,
        scale=scale,
        x=x,
        row_index=row_index,
        warnings=warnings,
    )


def estimate_from_cov(
    model: PathModel,
    cov: pd.DataFrame | FloatArray | ItemMoments,
    /,
    *,
    n: int | None = None,
    means: Sequence[float] | FloatArray | pd.Series | None = None,
    sds: Sequence[float] | FloatArray | pd.Series | None = None,
    scheme: Scheme = "path",
    tol: float = 1e-7,
    max_iter: int = 300,
    scaled: bool = True,
    scale: ScaleArg = None,
) -> PLSResult:
    """Estimate ``model`` from the items' covariance or correlation matrix ``cov``.

    ``cov``: a frame labelled with the items (any order, extra items ignored),
    an array in ``model.items`` order, or :class:`ItemMoments` (which carries
    ``n``, the means and the sds). ``n`` (the sample size) is required
    otherwise; it enters the adjusted R² and the checks. The sds default to the
    square roots of the diagonal; ``means`` (optional) give the 0-100 index.
    No latent scores (there are no rows). ``scaled=False`` iterates on the
    covariance matrix as given (see :func:`estimate`).
    """
    _check_settings(scheme, tol, max_iter)
    layout = compile_model(model)
    items = layout.items
    n_dropped = 0
    if isinstance(cov, ItemMoments):
        mom = cov
        pos = {name: i for i, name in enumerate(mom.items)}
        missing_items = [i for i in items if i not in pos]
        if missing_items:
            from allegiance.errors import ColumnNotFoundError

            raise ColumnNotFoundError(missing_items, mom.items)
        idx = np.array([pos[i] for i in items])
        s = mom.cov[np.ix_(idx, idx)]
        n = mom.n if n is None else n
        means = mom.means[idx] if means is None else means
        n_dropped = mom.n_dropped
    elif isinstance(cov, pd.DataFrame):
        from allegiance.errors import ColumnNotFoundError

        missing_items = [i for i in items if i not in cov.columns or i not in cov.index]
        if missing_items:
            raise ColumnNotFoundError(missing_items, [str(c) for c in cov.columns])
        s = cov.loc[list(items), list(items)].to_numpy(dtype=np.float64)
    else:
        s = np.asarray(cov, dtype=np.float64)
        if s.shape != (len(items), len(items)):
            raise ValidationError(
                "pls.error.bad_shape", shape=str(s.shape), expected=f"({len(items)}, {len(items)})"
            )
    if n is None:
        raise ValidationError("pls.error.n_required")
    if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12, equal_nan=False):
        raise InputError("pls.error.matrix_not_symmetric")
    d = np.diag(s)
    bad = np.flatnonzero(~(d > 0))
    if bad.size:
        raise InputError("pls.error.constant_item", items=", ".join(items[i] for i in bad))
    sds_arr = _vector(sds, items, "sds") if sds is not None else np.sqrt(d)
    if scaled:
        sd = np.sqrt(d)
        s = s / np.outer(sd, sd)
        np.fill_diagonal(s, 1.0)
    else:
        s = s * ((int(n) - 1) / int(n))
    means_arr = _vector(means, items, "means") if means is not None else None
    return _fit_from_corr(
        model,
        layout,
        s,
        scaled=scaled,
        n=int(n),
        n_dropped=n_dropped,
        n_imputed=0,
        means=means_arr,
        sds=sds_arr,
        scheme=scheme,
        tol=tol,
        max_iter=max_iter,
        missing="listwise",
        scale=scale,
        x=None,
        row_index=None,
        warnings=[],
    )


def _vector(value: Any, items: tuple[str, ...], what: str) -> FloatArray:
    if isinstance(value, pd.Series):
        missing_items = [i for i in items if i not in value.index]
        if missing_items:
            from allegiance.errors import ColumnNotFoundError

            raise ColumnNotFoundError(missing_items, [str(c) for c in value.index])
        return value.loc[list(items)].to_numpy(dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (len(items),):
        raise ValidationError(
            "pls.error.bad_shape", shape=f"{what} {arr.shape}", expected=f"({len(items)},)"
        )
    return arr


# --------------------------------------------------------------------------------------------
# The 0-100 index per segment.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class IndexResult:
    """The ACSI-style 0-100 index per construct, overall and per segment.

    ``table`` columns: ``[by...] | construct | n | index``; ``weights`` holds the
    rescaled weights used (construct, item, rescaled_weight, low, high).
    """

    by: tuple[str, ...]
    refit: bool
    scale_source: str
    table: pd.DataFrame
    weights: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"index": self.table, "index_weights": self.weights}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "acsi_index",
            "by": list(self.by),
            "refit": self.refit,
            "scale_source": self.scale_source,
            "tables": {name: records(frame) for name, frame in self.tables().items()},
            "warnings": [w.to_dict() for w in self.warnings],
        }


def acsi_index(
    result: PLSResult,
    data: pd.DataFrame,
    /,
    *,
    by: str | Sequence[str] | None = None,
    refit: bool = False,
) -> IndexResult:
    """The 0-100 index of every construct (Fornell et al. 1996), overall and per segment of ``by``.

    For construct k with items i, unstandardised weights ``w_i / sd_i``
    rescaled to sum to 1 (``w~_i``), item means ``x̄_i`` and answer scale ends
    ``low``/``high``::

        index_k = 100 x (sum_i w~_i x̄_i - low) / (high - low)

    (with items on different scales, each item's mean is put on 0..1 by its
    own ends first: ``100 x sum_i w~_i (x̄_i - low_i)/(high_i - low_i)``, the
    same number when the ends are shared). ``refit=False`` (default) applies
    the weights of ``result`` (the whole sample) to each segment's means, so
    segments are compared on one yardstick; ``refit=True`` estimates the model
    again within each segment (as the ACSI does per company) and uses that
    segment's own weights. Item means use the rows of the segment with every
    item answered (listwise) or all answers (mean imputation), as in ``result``.
    """
    if result.scales is None or result.sds is None:
        raise InputError("pls.error.index_needs_data")
    scales = result.scales
    item_scales = {
        i: (float(lo), float(hi)) for i, (lo, hi) in zip(result.items, scales, strict=True)
    }
    keys = (by,) if isinstance(by, str) else tuple(by or ())
    layout = result.layout
    x = _numeric_block(data, layout.items)
    if keys:
        from allegiance.io.reader import require_columns

        require_columns(data, keys)
    nan = np.isnan(x)
    keep = ~nan.any(axis=1) if result.missing == "listwise" else np.ones(len(x), dtype=bool)
    weights_table = pd.DataFrame(
        {
            "construct": [layout.constructs[b] for b in layout.block],
            "item": list(layout.items),
            "rescaled_weight": result.rescaled_weights.to_numpy(),
            "low": scales[:, 0],
            "high": scales[:, 1],
        }
    )
    rows: list[dict[str, Any]] = []
    warnings: list[Message] = list(result.warnings)

    def add(key: tuple[Any, ...], mask: BoolArray) -> None:
        sub = x[mask & keep]
        n = int(sub.shape[0])
        if n == 0:
            values = np.full(layout.k, np.nan)
            warnings.append(Message("pls.warn.empty_segment", {"segment": _key_text(key)}))
        else:
            with np.errstate(invalid="ignore"):
                means = np.nanmean(sub, axis=0) if result.missing == "mean" else sub.mean(axis=0)
            rescaled = result.rescaled_weights.to_numpy()
            if refit:
                frame = data.loc[mask]
                try:
                    own = estimate(
                        result.model,
                        frame,
                        scheme=result.scheme,  # type: ignore[arg-type]
                        tol=result.tol,
                        max_iter=result.max_iter,
                        missing=result.missing,  # type: ignore[arg-type]
                        scaled=result.scaled,
                        scale=item_scales,
                    )
                    rescaled = own.rescaled_weights.to_numpy()
                except (InputError, ValidationError):
                    rescaled = np.full(layout.p, np.nan)
                    warnings.append(
                        Message("pls.warn.segment_refit_failed", {"segment": _key_text(key)})
                    )
            values = _index_values(rescaled, means, scales, layout.block, layout.k)
        for j, name in enumerate(layout.constructs):
            row: dict[str, Any] = dict(zip(keys, key, strict=True))
            row.update({"construct": name, "n": n, "index": float(values[j])})
            rows.append(row)

    if keys:
        groups = data.groupby(list(keys), dropna=False, sort=True).indices
        for key, positions in groups.items():
            mask = np.zeros(len(x), dtype=bool)
            mask[positions] = True
            add(key if isinstance(key, tuple) else (key,), mask)
    else:
        add((), np.ones(len(x), dtype=bool))
    return IndexResult(
        by=keys,
        refit=refit,
        scale_source=result.scale_source,
        table=pd.DataFrame(rows, columns=[*keys, "construct", "n", "index"]),
        weights=weights_table,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _key_text(key: tuple[Any, ...]) -> str:
    return ", ".join(str(k) for k in key) if key else "all"


# --------------------------------------------------------------------------------------------
# The estimator (scikit-learn contract).
# --------------------------------------------------------------------------------------------


class PLSPM:
    """PLS path model estimator: settings in ``__init__``, ``fit`` validates and estimates.

    After ``fit``: ``result_`` (:class:`PLSResult`), ``path_coefficients_``,
    ``outer_weights_``, ``loadings_``, ``r2_``, ``n_iter_``, ``converged_``.

    >>> from allegiance.datasets import load_mobi
    >>> from allegiance.pls.spec import PathModel
    >>> m = PathModel.build(constructs={"A": ["CUEX1", "CUEX2"], "B": ["CUSA1", "CUSA2"]}, paths=[("A", "B")])
    >>> PLSPM(m).fit(load_mobi()).converged_
    True
    """

    def __init__(
        self,
        model: PathModel,
        /,
        *,
        scheme: Scheme = "path",
        tol: float = 1e-7,
        max_iter: int = 300,
        missing: Missing = "listwise",
        scaled: bool = True,
        scale: ScaleArg = None,
    ) -> None:
        self.model = model
        self.scheme = scheme
        self.tol = tol
        self.max_iter = max_iter
        self.missing = missing
        self.scaled = scaled
        self.scale = scale

    def get_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scheme": self.scheme,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "missing": self.missing,
            "scaled": self.scaled,
            "scale": self.scale,
        }

    def _set(self, result: PLSResult) -> Self:
        self.result_ = result
        self.path_coefficients_ = result.path_coefficients
        self.outer_weights_ = result.outer_weights
        self.loadings_ = result.loadings
        self.r2_ = result.r2
        self.n_iter_ = result.iterations
        self.converged_ = result.converged
        return self

    def fit(self, data: pd.DataFrame | ItemMoments, /) -> Self:
        """Estimate on raw data (or :class:`ItemMoments`); returns ``self``."""
        return self._set(
            estimate(
                self.model,
                data,
                scheme=self.scheme,
                tol=self.tol,
                max_iter=self.max_iter,
                missing=self.missing,
                scaled=self.scaled,
                scale=self.scale,
            )
        )

    def fit_cov(
        self,
        cov: pd.DataFrame | FloatArray | ItemMoments,
        /,
        *,
        n: int | None = None,
        means: Sequence[float] | FloatArray | pd.Series | None = None,
        sds: Sequence[float] | FloatArray | pd.Series | None = None,
    ) -> Self:
        """Estimate on a covariance/correlation matrix (see :func:`estimate_from_cov`)."""
        return self._set(
            estimate_from_cov(
                self.model,
                cov,
                n=n,
                means=means,
                sds=sds,
                scheme=self.scheme,
                tol=self.tol,
                max_iter=self.max_iter,
                scaled=self.scaled,
                scale=self.scale,
            )
        )

    def transform(self, data: pd.DataFrame, /) -> pd.DataFrame:
        """Latent scores of new rows with the fitted weights, means and sds."""
        result = self._fitted()
        if result.means is None or result.sds is None:
            raise InputError("pls.error.index_needs_data")
        x = _numeric_block(data, result.items)
        z = (x - result.means) / result.sds if result.scaled else x - result.means
        return pd.DataFrame(
            z @ result.weights_array, index=data.index, columns=list(result.constructs)
        )

    @property
    def summary(self) -> pd.DataFrame:
        """The paths table of the fitted model."""
        return self._fitted().paths_table()

    def _fitted(self) -> PLSResult:
        result = getattr(self, "result_", None)
        if not isinstance(result, PLSResult):
            raise ValidationError("pls.error.not_fitted")
        return result

    def __repr__(self) -> str:
        name = self.model.name or f"{len(self.model.constructs)} constructs"
        head = f"PLSPM({name!s}, scheme={self.scheme!r}, missing={self.missing!r})"
        result = getattr(self, "result_", None)
        if result is None:
            return head + " [not fitted]"
        return (
            f"{head} [fitted: n={result.n}, iterations={result.iterations}, "
            f"converged={result.converged}, GoF={result.gof:.3f}]"
        )
