"""Reliability and validity of item blocks: alpha, rho_c, rho_A, AVE, Fornell-Larcker, HTMT, VIF.

Usable on any block of survey items (a set of questions meant to measure one
thing), and by :mod:`allegiance.pls.evaluate` on a fitted PLS path model. The
measures, for a block of k items with correlation matrix R (covariance S),
loadings λ_i and standardised weights w (scaled so the composite has variance 1):

``alpha`` (Cronbach 1951)
    ``k/(k-1) · (1 - tr S / 1'S1)`` on the covariance matrix (raw alpha).
``alpha_std``
    the same on the correlation matrix, ``k r̄ / (1 + (k-1) r̄)`` with r̄ the
    mean inter-item correlation.
``rho_c`` (composite reliability; Werts, Linn & Jöreskog 1974; Dillon-Goldstein's rho)
    ``(Σλ)² / ((Σλ)² + Σ(1 - λ²))``.
``rho_a`` (Dijkstra & Henseler 2015, eq. 10)
    ``(w'w)² · w'(S - diag S)w / w'(ww' - diag(ww'))w`` on the standardised
    items, with w the outer weights; 1 for a single item.
``ave`` (average variance extracted; Fornell & Larcker 1981)
    ``Σλ² / k``.
Fornell-Larcker criterion
    √AVE of each construct against its correlations with the others.
``htmt`` (heterotrait-monotrait ratio; Henseler, Ringle & Sarstedt 2015)
    the mean absolute correlation between the items of two blocks, divided by
    the geometric mean of the blocks' mean absolute within-block correlations
    (a single-item block counts as 1, as in seminr).
``vif`` (variance inflation factor)
    ``diag(R⁻¹)`` of a set of predictors (the items of a block, or the
    predictors of a structural equation).

For a block on its own (no PLS model), :func:`block_reliability` uses the
block's first principal component (of the correlation matrix) for the loadings
and weights, as R plspm's ``unidim`` does; its ``rho_c`` is then
Dillon-Goldstein's rho, and ``eig_1st``/``eig_2nd`` show how one-dimensional
the block is. Given weights (say a PLS model's outer weights) replace the
first component, and rho_A, rho_c, AVE and the Fornell-Larcker table are then
those a PLS program reports for that model.

>>> import numpy as np
>>> r = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
>>> round(standardized_alpha(r), 4)  # mean r = 0.4: 3 * 0.4 / (1 + 2 * 0.4)
0.6667
>>> round(composite_reliability([0.8, 0.7, 0.6]), 4)  # 2.1**2 / (2.1**2 + 1.51)
0.7449
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.i18n import Message
from allegiance.results import plain, records

__all__ = [
    "AlphaResult",
    "ReliabilityResult",
    "alpha_from_cov",
    "average_variance_extracted",
    "block_reliability",
    "composite_reliability",
    "cronbach_alpha",
    "fornell_larcker",
    "htmt",
    "rho_a",
    "standardized_alpha",
    "vif",
]

FloatArray = npt.NDArray[np.float64]
NanPolicy = Literal["pairwise", "listwise"]
_NAN_POLICIES = ("pairwise", "listwise")


# --------------------------------------------------------------------------------------------
# Measures on matrices and vectors.
# --------------------------------------------------------------------------------------------


def _square(matrix: Any) -> FloatArray:
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValidationError("psychometrics.error.not_square", shape=str(arr.shape))
    return arr


def alpha_from_cov(cov: Any, /) -> float:
    """Cronbach's alpha from a covariance matrix (a correlation matrix gives ``alpha_std``)."""
    s = _square(cov)
    k = s.shape[0]
    if k < 2:
        raise ValidationError("psychometrics.error.too_few_items", needed=2, found=k)
    total = float(s.sum())
    return float(k / (k - 1) * (1.0 - np.trace(s) / total))


def standardized_alpha(corr: Any, /) -> float:
    """Standardised alpha ``k r̄ / (1 + (k-1) r̄)`` from a correlation matrix."""
    r = _square(corr)
    k = r.shape[0]
    if k < 2:
        raise ValidationError("psychometrics.error.too_few_items", needed=2, found=k)
    mean_r = float(r[~np.eye(k, dtype=bool)].mean())
    return float(k * mean_r / (1.0 + (k - 1) * mean_r))


def composite_reliability(loadings: Sequence[float] | FloatArray, /) -> float:
    """``rho_c = (Σλ)² / ((Σλ)² + Σ(1 - λ²))`` from standardised loadings."""
    lam = np.asarray(loadings, dtype=np.float64)
    num = float(lam.sum()) ** 2
    return num / (num + float((1.0 - lam**2).sum()))


def average_variance_extracted(loadings: Sequence[float] | FloatArray, /) -> float:
    """``AVE = Σλ² / k`` from standardised loadings."""
    lam = np.asarray(loadings, dtype=np.float64)
    return float((lam**2).mean())


def rho_a(corr: Any, weights: Sequence[float] | FloatArray, /) -> float:
    """Dijkstra-Henseler's rho_A from the block's correlation matrix and its outer weights.

    The weights are rescaled so the composite has unit variance (``w'Rw = 1``)
    first, so weights on any scale give the same value. A single item gives 1.
    """
    r = _square(corr)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (r.shape[0],):
        raise ValidationError(
            "pls.error.bad_shape", shape=str(w.shape), expected=f"({r.shape[0]},)"
        )
    if r.shape[0] == 1:
        return 1.0
    w = w / math.sqrt(float(w @ r @ w))
    s_off = r - np.diag(np.diag(r))
    ww = np.outer(w, w)
    ww_off = ww - np.diag(np.diag(ww))
    return float((w @ w) ** 2 * (w @ s_off @ w) / (w @ ww_off @ w))


def vif(corr: pd.DataFrame | FloatArray, /) -> pd.Series:
    """Variance inflation factors ``diag(R⁻¹)`` of a set of variables (1 for a single one)."""
    labels = list(corr.columns) if isinstance(corr, pd.DataFrame) else None
    r = _square(corr.to_numpy() if isinstance(corr, pd.DataFrame) else corr)
    index = pd.Index(labels if labels is not None else range(r.shape[0]))
    if r.shape[0] == 1:
        return pd.Series([1.0], index=index, name="vif")
    try:
        inv = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        raise InputError(
            "psychometrics.error.singular", items=", ".join(str(i) for i in index)
        ) from None
    values = np.diag(inv).copy()
    if not np.isfinite(values).all() or (values < 1 - 1e-8).any():
        raise InputError("psychometrics.error.singular", items=", ".join(str(i) for i in index))
    return pd.Series(values, index=index, name="vif")


def htmt(corr: pd.DataFrame, /, *, blocks: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """The HTMT matrix of the blocks (constructs x constructs, symmetric, NaN on the diagonal).

    ``corr`` is the item correlation matrix labelled with the items; absolute
    correlations are used (Henseler et al. 2015 recommend it; SmartPLS and
    seminr do the same).
    """
    names = list(blocks)
    if not names:
        raise ValidationError("psychometrics.error.no_blocks")
    wanted = [i for b in blocks.values() for i in b]
    missing = [i for i in wanted if i not in corr.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in corr.columns])
    r = np.abs(corr.loc[wanted, wanted].to_numpy(dtype=np.float64))
    pos: dict[str, npt.NDArray[np.intp]] = {}
    start = 0
    for name in names:
        size = len(blocks[name])
        pos[name] = np.arange(start, start + size)
        start += size
    mono = {}
    for name in names:
        idx = pos[name]
        if idx.size < 2:
            mono[name] = 1.0
        else:
            sub = r[np.ix_(idx, idx)]
            mono[name] = float(sub[np.triu_indices(idx.size, 1)].mean())
    k = len(names)
    out = np.full((k, k), np.nan)
    for a in range(k):
        for b in range(a + 1, k):
            hetero = float(r[np.ix_(pos[names[a]], pos[names[b]])].mean())
            value = hetero / math.sqrt(mono[names[a]] * mono[names[b]])
            out[a, b] = out[b, a] = value
    return pd.DataFrame(out, index=pd.Index(names), columns=pd.Index(names))


def fornell_larcker(
    construct_corr: pd.DataFrame, ave: pd.Series | Mapping[str, float], /
) -> pd.DataFrame:
    """Fornell-Larcker table: √AVE on the diagonal, construct correlations below it, NaN above."""
    names = list(construct_corr.columns)
    ave_s = pd.Series(ave, dtype=np.float64) if not isinstance(ave, pd.Series) else ave
    c = construct_corr.loc[names, names].to_numpy(dtype=np.float64).copy()
    c[np.triu_indices(len(names), 1)] = np.nan
    np.fill_diagonal(c, np.sqrt(ave_s.reindex(names).to_numpy(dtype=np.float64)))
    return pd.DataFrame(c, index=pd.Index(names), columns=pd.Index(names))


# --------------------------------------------------------------------------------------------
# Cronbach's alpha on data (pingouin's contract, with a result object).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class AlphaResult:
    """Cronbach's alpha of one block.

    ``alpha`` (raw, covariance), ``alpha_std`` (correlation), ``n`` (rows
    used; with ``pairwise`` every row), ``k`` items, and the ``ci`` interval
    ``ci_low``/``ci_high`` of Feldt, Woodruff & Salih (1987), F(n-1, (n-1)(k-1)).
    """

    items: tuple[str, ...]
    alpha: float
    alpha_std: float
    n: int
    k: int
    ci: float
    ci_low: float
    ci_high: float
    nan_policy: str
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "alpha": pd.DataFrame(
                {
                    "n": [self.n],
                    "k": [self.k],
                    "alpha": [self.alpha],
                    "alpha_std": [self.alpha_std],
                    "ci_low": [self.ci_low],
                    "ci_high": [self.ci_high],
                }
            )
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "cronbach_alpha",
            "items": list(self.items),
            "nan_policy": self.nan_policy,
            "ci": self.ci,
            "alpha": plain(self.alpha),
            "alpha_std": plain(self.alpha_std),
            "n": self.n,
            "k": self.k,
            "ci_low": plain(self.ci_low),
            "ci_high": plain(self.ci_high),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _wide(
    data: pd.DataFrame,
    items: Sequence[str] | None,
    respondent: str | None,
    item: str | None,
    score: str | None,
) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise InputError("pls.error.not_a_frame", found=type(data).__name__)
    if respondent is not None or item is not None or score is not None:
        roles = [respondent, item, score]
        if any(r is None for r in roles):
            raise ValidationError("psychometrics.error.long_format")
        cols = [str(r) for r in roles]
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
        wide = data.pivot_table(index=respondent, columns=item, values=score, aggfunc="first")
        wide.columns = pd.Index([str(c) for c in wide.columns])
        return wide.astype(np.float64)
    if items is None:
        numeric = [c for c in data.columns if pd.api.types.is_numeric_dtype(data[c].dtype)]
        return data[numeric].astype(np.float64)
    items = list(items)
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    from allegiance.io.reader import coerce_numeric

    return pd.DataFrame({c: coerce_numeric(data, c) for c in items}, index=data.index)


def cronbach_alpha(
    data: pd.DataFrame,
    /,
    *,
    items: Sequence[str] | None = None,
    respondent: str | None = None,
    item: str | None = None,
    score: str | None = None,
    nan_policy: NanPolicy = "pairwise",
    ci: float = 0.95,
) -> AlphaResult:
    """Cronbach's alpha of ``items`` (wide data; default every numeric column).

    Long data: give ``respondent``, ``item`` and ``score`` columns. Missing
    answers: ``pairwise`` (default) computes each covariance from the rows where
    both items are answered and keeps ``n`` = all rows; ``listwise`` drops rows
    with any missing answer. These follow pingouin's ``cronbach_alpha``
    (Vallat 2018), whose documented results the tests reproduce.

    >>> from allegiance.datasets import load_cronbach_alpha
    >>> res = cronbach_alpha(load_cronbach_alpha(), respondent="Subj", item="Items", score="Scores")
    >>> round(res.alpha, 4), round(res.ci_low, 3), round(res.ci_high, 3)
    (0.5917, 0.195, 0.84)
    """
    if nan_policy not in _NAN_POLICIES:
        raise ValidationError(
            "psychometrics.error.bad_nan_policy",
            value=str(nan_policy),
            allowed=", ".join(_NAN_POLICIES),
        )
    if not (isinstance(ci, (int, float)) and 0 < ci < 1):
        raise ValidationError("psychometrics.error.bad_ci", value=str(ci))
    wide = _wide(data, items, respondent, item, score)
    n, k = wide.shape
    if k < 2:
        raise ValidationError("psychometrics.error.too_few_items", needed=2, found=k)
    warnings: list[Message] = []
    n_missing = int(wide.isna().to_numpy().sum())
    if nan_policy == "listwise":
        before = n
        wide = wide.dropna(axis=0, how="any")
        n = wide.shape[0]
        if before > n:
            warnings.append(Message("psychometrics.warn.listwise", {"n_dropped": before - n}))
    elif n_missing:
        warnings.append(Message("psychometrics.warn.pairwise", {"n_missing": n_missing}))
    if n < 2:
        raise InputError("psychometrics.error.too_few_rows", n=n)
    cov = wide.cov().to_numpy(dtype=np.float64)
    corr = wide.corr().to_numpy(dtype=np.float64)
    alpha = alpha_from_cov(cov)
    alpha_std = standardized_alpha(corr)
    from scipy.stats import f

    df1 = n - 1
    df2 = df1 * (k - 1)
    tail = (1 - ci) / 2
    low = 1 - (1 - alpha) * float(f.isf(tail, df1, df2))
    high = 1 - (1 - alpha) * float(f.isf(1 - tail, df1, df2))
    return AlphaResult(
        items=tuple(str(c) for c in wide.columns),
        alpha=alpha,
        alpha_std=alpha_std,
        n=int(n),
        k=int(k),
        ci=float(ci),
        ci_low=low,
        ci_high=high,
        nan_policy=nan_policy,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Several blocks at once, without a PLS model.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ReliabilityResult:
    """Reliability and discriminant validity of item blocks (no PLS model).

    ``reliability`` columns: ``construct | n | k | alpha | alpha_std | rho_c |
    rho_a | ave | eig_1st | eig_2nd``; ``fornell_larcker``: constructs x constructs
    (√AVE on the diagonal, composite correlations below, NaN above); ``htmt``:
    constructs x constructs; ``cross_loadings``: items x constructs (correlation of
    each item with each block's composite); ``vif``: construct, item, vif.
    ``weights`` tells where each block's composite came from: ``first_component``
    (the block's first principal component, so ``rho_c`` is Dillon-Goldstein's rho)
    or ``given`` (weights passed in, e.g. a PLS model's outer weights).
    """

    blocks: dict[str, tuple[str, ...]]
    n: int
    reliability: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    cross_loadings: pd.DataFrame
    vif: pd.DataFrame
    weights: dict[str, str] = field(default_factory=dict)
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "reliability": self.reliability,
            "fornell_larcker": self.fornell_larcker.rename_axis("construct"),
            "htmt": self.htmt.rename_axis("construct"),
            "cross_loadings": self.cross_loadings.rename_axis("item"),
            "vif": self.vif,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "block_reliability",
            "blocks": {k: list(v) for k, v in self.blocks.items()},
            "weights": dict(self.weights),
            "n": self.n,
            "tables": {name: records(frame) for name, frame in self.tables().items()},
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class _Block:
    name: str
    idx: npt.NDArray[np.intp] = field(repr=False)


def _first_component(r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues (descending) and first-component loadings (sum positive) of R."""
    vals, vecs = np.linalg.eigh(r)
    order = np.argsort(vals)[::-1]
    vals = vals[order]
    v1 = vecs[:, order[0]]
    if v1.sum() < 0:
        v1 = -v1
    return vals, v1 * math.sqrt(max(float(vals[0]), 0.0))


def _given_weights(name: str, items: Sequence[str], given: Any) -> FloatArray:
    """A block's weights from a mapping item -> weight or a sequence in item order."""
    if isinstance(given, Mapping):
        missing = [i for i in items if i not in given]
        if missing:
            raise ValidationError(
                "psychometrics.error.weights_missing", construct=name, items=", ".join(missing)
            )
        w = np.asarray([float(given[i]) for i in items], dtype=np.float64)
    else:
        w = np.asarray(list(given), dtype=np.float64)
    if w.shape != (len(items),) or not np.isfinite(w).all() or not np.any(w):
        raise ValidationError(
            "psychometrics.error.bad_weights", construct=name, k=len(items), found=str(w.shape)
        )
    return w


def block_reliability(
    data: pd.DataFrame,
    /,
    *,
    blocks: Mapping[str, Sequence[str]],
    nan_policy: NanPolicy = "listwise",
    weights: Mapping[str, Mapping[str, float] | Sequence[float]] | None = None,
) -> ReliabilityResult:
    """Reliability of each block and the discriminant validity between blocks (see the module).

    ``blocks`` maps a name to its items, e.g. ``{"Image": ["IMAG1", "IMAG2"]}``.
    Each block is summarised by a composite of its standardised items: by default
    its first principal component (as R plspm's ``unidim``); ``weights`` maps a
    block to its own weights (``{item: weight}`` or a list in item order, on the
    standardised items, any scale) - e.g. a PLS model's outer weights, which gives
    the loadings, rho_c, rho_A, AVE and Fornell-Larcker table a PLS program reports.
    The loadings are the items' correlations with the composite; ``rho_a`` is
    Dijkstra & Henseler's rho_A from the weights (1 for a single item; with equal
    weights it equals ``alpha_std``); the Fornell-Larcker table compares √AVE with
    the composites' correlations.

    Missing answers: ``listwise`` (default) uses the rows where every item is
    answered; ``pairwise`` uses every pair of answers for each correlation.
    """
    if not blocks:
        raise ValidationError("psychometrics.error.no_blocks")
    if nan_policy not in _NAN_POLICIES:
        raise ValidationError(
            "psychometrics.error.bad_nan_policy",
            value=str(nan_policy),
            allowed=", ".join(_NAN_POLICIES),
        )
    given = dict(weights or {})
    unknown = [k for k in given if k not in blocks]
    if unknown:
        raise ValidationError(
            "psychometrics.error.weights_unknown_block",
            names=", ".join(map(str, unknown)),
            blocks=", ".join(map(str, blocks)),
        )
    names = list(blocks)
    items = [str(i) for b in blocks.values() for i in b]
    wide = _wide(data, items, None, None, None)
    warnings: list[Message] = []
    n = len(wide)
    if nan_policy == "listwise":
        wide = wide.dropna(axis=0, how="any")
        if len(wide) < n:
            warnings.append(Message("psychometrics.warn.listwise", {"n_dropped": n - len(wide)}))
        n = len(wide)
    if n < 2:
        raise InputError("psychometrics.error.too_few_rows", n=n)
    cov = wide.cov().to_numpy(dtype=np.float64)
    sd = np.sqrt(np.diag(cov))
    if (sd == 0).any():
        raise InputError(
            "pls.error.constant_item", items=", ".join(items[i] for i in np.flatnonzero(sd == 0))
        )
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    rows = []
    weight_matrix = np.zeros((len(items), len(names)))
    start = 0
    vif_rows: list[dict[str, Any]] = []
    source: dict[str, str] = {}
    for j, name in enumerate(names):
        size = len(blocks[name])
        idx = np.arange(start, start + size)
        start += size
        r = corr[np.ix_(idx, idx)]
        vals, lam = _first_component(r)
        if name in given:
            w = _given_weights(name, [str(i) for i in blocks[name]], given[name])
            source[name] = "given"
        else:
            w = np.linalg.solve(r, lam) if size > 1 else np.ones(1)
            source[name] = "first_component"
        w = w / math.sqrt(float(w @ r @ w))  # the composite has variance 1
        lam = r @ w  # loadings: the items' correlations with the composite
        weight_matrix[idx, j] = w
        rows.append(
            {
                "construct": name,
                "n": n,
                "k": size,
                "alpha": alpha_from_cov(cov[np.ix_(idx, idx)]) if size > 1 else np.nan,
                "alpha_std": standardized_alpha(r) if size > 1 else np.nan,
                "rho_c": composite_reliability(lam),
                "rho_a": rho_a(r, w),
                "ave": average_variance_extracted(lam),
                "eig_1st": float(vals[0]),
                "eig_2nd": float(vals[1]) if size > 1 else np.nan,
            }
        )
        block_vif = vif(r)
        for pos, item in zip(idx, block_vif.to_numpy(), strict=True):
            vif_rows.append({"construct": name, "item": items[pos], "vif": float(item)})
    # every composite has variance 1, so these are correlations
    cross = corr @ weight_matrix
    composite_corr = weight_matrix.T @ corr @ weight_matrix
    np.fill_diagonal(composite_corr, 1.0)
    item_index = pd.Index(items)
    name_index = pd.Index(names)
    corr_frame = pd.DataFrame(corr, index=item_index, columns=item_index)
    reliability = pd.DataFrame(rows)
    ave = pd.Series(reliability["ave"].to_numpy(), index=name_index)
    return ReliabilityResult(
        blocks={k: tuple(str(i) for i in v) for k, v in blocks.items()},
        n=n,
        reliability=reliability,
        fornell_larcker=fornell_larcker(
            pd.DataFrame(composite_corr, index=name_index, columns=name_index), ave
        ),
        htmt=htmt(corr_frame, blocks=blocks),
        cross_loadings=pd.DataFrame(cross, index=item_index, columns=name_index),
        vif=pd.DataFrame(vif_rows, columns=["construct", "item", "vif"]),
        weights=source,
        warnings=tuple(warnings),
    )
