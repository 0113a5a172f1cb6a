"""Compare segments, survey waves and competitors (SPEC section 3, method 7: U&A and
differentiated service; issue 4 section 4).

Pure computation: a pandas frame of survey answers goes in, a small frozen
result comes out. Data is positional, everything else keyword-only.

Three questions, three functions:

- :func:`compare_segments` — do segments (VIP, key accounts, regions ...)
  differ in satisfaction, NPS, CSAT and the index, and which factors separate
  them most?
- :func:`compare_waves` — did NPS, CSAT and the index change from one survey
  wave to the next, and is the change real?
- :func:`compare_competitors` — item by item, do the same respondents rate us
  higher or lower than each competitor?

Each measure is of one *kind*, which decides how it is summarised and tested:

``nps``
    0-10 likelihood to recommend; per group the NPS with its interval from
    :func:`allegiance.methods.scales.nps`. Groups are tested with Pearson's
    chi-square on the promoter / passive / detractor counts (Cramér's V), and
    two groups by the difference of their NPS, whose variance is the sum of
    the two multinomial variances (independent samples)::

        var(NPS) = 100² · (p_P + p_D − (p_P − p_D)²) / n
        var(NPS_b − NPS_a) = var(NPS_a) + var(NPS_b)

    (the +1 / 0 / −1 scoring of promoters, passives and detractors; see
    Rocks 2016, *Interval estimation for the "net promoter score"*, The
    American Statistician 70(4), 365-372), z = difference / se.
``csat``
    1..``points`` satisfaction; per group the mean and the top-2-box share
    with intervals from :func:`allegiance.methods.scales.csat`. Groups are
    tested with Kruskal-Wallis (epsilon²), Pearson's chi-square on the answer
    distribution (Cramér's V) and Welch's one-way ANOVA (eta²); two groups
    with Welch's t on the means (Hedges' g) and a z-test on the top-2-box
    shares (Cohen's h).
``mean``
    any numeric score (an index, CES, a 1-5 factor); per group the mean with
    a t-interval. Groups: Welch's ANOVA (eta²) and Kruskal-Wallis (epsilon²);
    two groups: Welch's t (Hedges' g).

Every p-value family is corrected for multiple comparisons: Holm (1979) by
default, Benjamini-Hochberg (1995) or Bonferroni on request (``adjust``).

Effect sizes: Cramér's V = √(χ² / (n·(min(r, c) − 1))); eta² = SS_between /
SS_total; epsilon² = H / (n − 1) (Tomczak & Tomczak 2014); Hedges' g =
d·(1 − 3 / (4·(n_a + n_b) − 9)) with d the mean difference over the pooled
sd (Hedges 1981); Cohen's h = 2·asin√p_b − 2·asin√p_a; for paired ratings
Cohen's d_z = mean difference / sd of the differences.

>>> import pandas as pd
>>> p = adjust_pvalues([0.50, 0.003, 0.32, 0.054, 0.0003])
>>> [round(float(x), 4) for x in p]
[0.64, 0.012, 0.64, 0.162, 0.0015]
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message
from allegiance.methods import scales
from allegiance.results import plain, records

__all__ = [
    "ADJUST_METHODS",
    "KINDS",
    "CSIIndex",
    "CompareResult",
    "CompetitorComparison",
    "SegmentComparison",
    "WaveComparison",
    "adjust_pvalues",
    "compare_competitors",
    "compare_segments",
    "compare_waves",
    "cramers_v",
    "expand_columns",
    "factor_index",
    "hedges_g",
    "nps_difference",
]

FloatArray = npt.NDArray[np.float64]
Kind = Literal["nps", "csat", "mean"]
Adjust = Literal["holm", "bh", "bonferroni", "none"]

KINDS: tuple[str, ...] = ("nps", "csat", "mean")
"""How a measure is summarised and tested (see the module docstring)."""

ADJUST_METHODS: tuple[str, ...] = ("holm", "bh", "bonferroni", "none")
"""Multiple-comparison corrections: Holm (default), Benjamini-Hochberg, Bonferroni, none."""

_MIN_GROUP = 2  # a group needs at least this many answers to enter a test


# --------------------------------------------------------------------------------------------
# Small public helpers
# --------------------------------------------------------------------------------------------


def adjust_pvalues(p: Sequence[float] | npt.ArrayLike, /, *, method: str = "holm") -> FloatArray:
    """p-values corrected for multiple comparisons; NaN entries are left out and stay NaN.

    - ``holm``: Holm (1979) step-down: sorted p_(i) times (m − i + 1), made
      non-decreasing by a running maximum, capped at 1;
    - ``bh``: Benjamini & Hochberg (1995) step-up: p_(i)·m / i, made
      non-increasing from the largest down by a running minimum, capped at 1;
    - ``bonferroni``: p·m capped at 1; ``none``: unchanged.

    >>> [round(float(x), 4) for x in adjust_pvalues([0.5, 0.003, 0.32, 0.054, 0.0003], method="bh")]
    [0.5, 0.0075, 0.4, 0.09, 0.0015]
    """
    _check_adjust(method)
    values = np.asarray(p, dtype=np.float64).reshape(-1)
    out = np.full(values.shape, np.nan, dtype=np.float64)
    ok = np.isfinite(values)
    if not ok.any():
        return out
    bad = ok & ((values < 0) | (values > 1))
    if bad.any():
        raise ValidationError("compare.bad_pvalue", value=repr(float(values[bad][0])))
    q = values[ok]
    m = q.size
    if method == "none":
        adjusted = q.copy()
    elif method == "bonferroni":
        adjusted = np.minimum(q * m, 1.0)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = q[order] * (m - np.arange(m))
        ranked = np.minimum(np.maximum.accumulate(steps), 1.0)
        adjusted = np.empty(m, dtype=np.float64)
        adjusted[order] = ranked
    else:  # bh
        order = np.argsort(q, kind="stable")
        steps = q[order] * m / np.arange(1, m + 1)
        ranked = np.minimum(np.minimum.accumulate(steps[::-1])[::-1], 1.0)
        adjusted = np.empty(m, dtype=np.float64)
        adjusted[order] = ranked
    out[ok] = adjusted
    return out


def cramers_v(table: npt.ArrayLike, /) -> float:
    """Cramér's V of a contingency table (rows × columns of counts), from Pearson's χ².

    Rows and columns that are all zero are dropped first. NaN when fewer than
    two rows or columns remain.

    >>> round(cramers_v([[762, 327, 468], [484, 239, 477]]), 4)
    0.1044
    """
    counts = _clean_table(np.asarray(table, dtype=np.float64))
    if min(counts.shape) < 2:
        return math.nan
    chi2 = _pearson_chi2(counts)
    n = float(counts.sum())
    return math.sqrt(chi2 / (n * (min(counts.shape) - 1)))


def hedges_g(a: npt.ArrayLike, b: npt.ArrayLike, /) -> float:
    """Hedges' g of ``b`` against ``a``: (mean_b − mean_a) / pooled sd, times 1 − 3/(4N − 9).

    The pooled sd is √(((n_a − 1)s_a² + (n_b − 1)s_b²) / (n_a + n_b − 2));
    the factor is Hedges' (1981) small-sample correction. NaN values are
    ignored; NaN when a group has fewer than two values or both have no spread.

    >>> round(hedges_g([1, 2, 3], [2, 3, 4]), 4)
    0.8
    """
    x = _finite(a)
    y = _finite(b)
    return _hedges(x, y)


def nps_difference(
    a: npt.ArrayLike, b: npt.ArrayLike, /, *, confidence: float = 0.95
) -> dict[str, float]:
    """The difference NPS_b − NPS_a of two independent samples of 0-10 answers.

    Returns ``nps_a``, ``nps_b``, ``difference``, ``var_a``, ``var_b``,
    ``se`` (√(var_a + var_b)), ``ci_low``, ``ci_high``, ``z`` and ``p_value``
    (two-sided, normal). Each variance is the multinomial variance of an NPS,
    100²·(p_P + p_D − (p_P − p_D)²)/n.

    >>> r = nps_difference([10, 9, 9, 10, 9, 8, 7, 8, 3, 6], [10, 10, 9, 8])
    >>> r["difference"]
    45.0
    """
    z = _z(confidence)
    first = _nps_parts(_finite(a))
    second = _nps_parts(_finite(b))
    var = first[1] + second[1]
    se = math.sqrt(var) if var > 0 else math.nan
    diff = second[0] - first[0]
    stat, p = _z_test(diff, se)
    return {
        "nps_a": first[0],
        "nps_b": second[0],
        "difference": diff,
        "var_a": first[1],
        "var_b": second[1],
        "se": se,
        "ci_low": diff - z * se,
        "ci_high": diff + z * se,
        "z": stat,
        "p_value": p,
    }


def expand_columns(patterns: Sequence[str], columns: Sequence[str], /) -> list[str]:
    """Column names matching ``patterns`` (exact names or shell patterns such as ``cs_*``).

    Keeps the order of the patterns, then of the columns; each column once. A
    pattern that matches nothing raises :class:`ColumnNotFoundError`.

    >>> expand_columns(["nps", "cs_*"], ["id", "cs_b", "nps", "cs_a"])
    ['nps', 'cs_b', 'cs_a']
    """
    names = [str(c) for c in columns]
    out: list[str] = []
    missing: list[str] = []
    for pattern in patterns:
        if pattern in names:
            hits = [pattern]
        elif any(ch in pattern for ch in "*?["):
            hits = [c for c in names if fnmatch.fnmatchcase(c, pattern)]
        else:
            hits = []
        if not hits:
            missing.append(pattern)
        out.extend(h for h in hits if h not in out)
    if missing:
        raise ColumnNotFoundError(missing, names)
    return out


def factor_index(
    data: pd.DataFrame,
    /,
    *,
    items: Sequence[str],
    weights: Sequence[float] | None = None,
    max_score: float = 5.0,
    min_answered: float = 0.5,
) -> pd.Series[float]:
    """A satisfaction index per respondent, 0-100: Σ w_i·x_i / (max_score·Σ w_i) over answered items.

    The weights (default equal) are renormalised over the items each
    respondent answered; respondents who answered less than ``min_answered``
    of the total weight get NaN. With AHP weights C_i this is the
    respondent-level form of CSI = Σ C_i·DC_i (SPEC section 4); its mean over
    respondents without missing answers equals that CSI (× 100).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [5, 4], "b": [3, None]})
    >>> factor_index(d, items=["a", "b"]).tolist()
    [80.0, 80.0]
    """
    frame = _check_frame(data, list(items))
    if not items:
        raise ValidationError("compare.no_measures")
    w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(items),) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValidationError("compare.bad_weights", value=repr(weights))
    if not math.isfinite(max_score) or max_score <= 0:
        raise ValidationError("compare.bad_max_score", value=repr(max_score))
    values = np.column_stack([_numeric(frame, c) for c in items])
    answered = np.isfinite(values)
    sw = answered.astype(np.float64) @ w
    total = np.where(answered, values, 0.0) @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        index = np.where(sw >= min_answered * w.sum(), 100.0 * total / (max_score * sw), np.nan)
    return pd.Series(index, index=frame.index, name="index", dtype="float64")


@dataclass(frozen=True, kw_only=True)
class CSIIndex:
    """The calculation-standard satisfaction index CSI (SPEC section 4) as a compared measure.

    Per group (segment or wave) the index is :func:`allegiance.methods.csi.csi`'s
    ``CSI = Σ C_i·DC_i`` × 100 with its bootstrap percentile interval (``n_boot``
    resamples, ``seed``); the weights C_i come from ``hierarchy`` (an analysed AHP
    hierarchy such as the shipped ``calculation_standard`` template) or ``weights``
    (factor → weight). In the summary its rows have ``kind`` and ``statistic``
    ``csi``. The tests between groups and the pairwise differences need one value
    per respondent: they use the respondent-level form of the same index,
    :func:`factor_index` with the weights C_i (100·Σ C_i·x_i / (5·Σ C_i) over the
    factors answered), whose mean over respondents who answered every factor
    equals the CSI. The factor answers are the codes 1..5 (5 = very satisfied).
    """

    hierarchy: Any = None
    weights: Mapping[str, float] | None = None
    name: str = "index"
    factor_prefix: str = "cs_"
    columns: Mapping[str, str] | None = None
    n_boot: int = 2000
    seed: int = 0

    def plan(self) -> Any:
        from allegiance.methods.csi import csi_weights

        return csi_weights(weights=self.weights, hierarchy=self.hierarchy)

    def factor_columns(self, data: pd.DataFrame) -> tuple[list[str], list[float]]:
        """The answer column and weight C_i of each factor the data has."""
        plan = self.plan()
        lookup = {str(k): str(v) for k, v in (self.columns or {}).items()}
        named = dict(zip(plan.factors, plan.columns, strict=False))
        cols: list[str] = []
        weights: list[float] = []
        for factor, weight in zip(plan.factors, plan.weights, strict=True):
            column = lookup.get(factor) or named.get(factor) or f"{self.factor_prefix}{factor}"
            if column in data.columns:
                cols.append(column)
                weights.append(float(weight))
        return cols, weights

    def available(self, data: pd.DataFrame) -> bool:
        """Whether ``data`` has at least one factor column of the index."""
        return bool(self.factor_columns(data)[0])

    def respondent_index(self, data: pd.DataFrame) -> pd.Series[float]:
        cols, weights = self.factor_columns(data)
        if not cols:
            plan = self.plan()
            raise ColumnNotFoundError(
                [f"{self.factor_prefix}{f}" for f in plan.factors[:3]],
                [str(c) for c in data.columns],
            )
        return factor_index(data, items=cols, weights=weights)

    def by_group(
        self,
        grouped: _Grouped,
        label_column: str,
        confidence: float,
        warnings: list[Message],
        column: str = "group",
    ) -> list[dict[str, Any]]:
        """Summary rows: the CSI (0-100) of each group with its bootstrap interval."""
        from allegiance.methods.csi import csi

        frame = grouped.frame.copy()
        frame["__group"] = np.asarray(grouped.labels, dtype=object)[grouped.gid]
        result = csi(
            frame,
            weights=self.weights,
            hierarchy=self.hierarchy,
            factor_prefix=self.factor_prefix,
            columns=self.columns,
            by="__group",
            n_boot=self.n_boot,
            confidence=confidence,
            seed=self.seed,
        )
        for w in result.warnings:
            if w.key == "csi.columns_without_weight":
                continue
            params = dict(w.params)
            if "group" in params:
                params["group"] = str(params["group"]).replace("__group=", f"{column}=")
            warnings.append(Message(w.key, params))
        by_label: dict[str, dict[str, Any]] = {
            str(rec["__group"]): {str(k): v for k, v in rec.items()}
            for rec in result.index.to_dict("records")
        }
        rows: list[dict[str, Any]] = []
        for label in grouped.labels:
            if label not in by_label:
                continue
            r = by_label[label]
            rows.append(
                {
                    label_column: label,
                    "measure": self.name,
                    "kind": "csi",
                    "statistic": "csi",
                    "n": int(r["n"]),
                    "estimate": float(r["csi_100"]),
                    "se": math.nan,
                    "ci_low": 100.0 * float(r["ci_low"]),
                    "ci_high": 100.0 * float(r["ci_high"]),
                }
            )
        return rows


def _with_csi(
    data: pd.DataFrame, chosen: list[str], index: CSIIndex | None
) -> tuple[pd.DataFrame, list[str]]:
    """The data with the respondent-level index column, and the measures with its name."""
    if index is None:
        return data, chosen
    if not isinstance(index, CSIIndex):
        raise ValidationError("compare.bad_index", value=type(index).__name__)
    if index.name in data.columns:
        raise ValidationError("compare.index_column_exists", column=index.name)
    frame = data.copy()
    frame[index.name] = index.respondent_index(data).to_numpy()
    return frame, [*[m for m in chosen if m != index.name], index.name]


def _csi_engine(
    engine: _Engine,
    grouped: _Grouped,
    index: CSIIndex | None,
    label_column: str,
    confidence: float,
    warnings: list[Message],
    column: str,
) -> _Engine:
    """The engine's tables with the index's summary rows replaced by the CSI per group."""
    if index is None:
        return engine
    rows = index.by_group(grouped, label_column, confidence, warnings, column)
    summary = engine.summary.loc[engine.summary["measure"] != index.name]
    extra = pd.DataFrame(rows, columns=list(engine.summary.columns))
    summary = pd.concat([summary, extra], ignore_index=True)  # the index is the last measure
    tests = engine.tests.copy()
    tests.loc[tests["measure"] == index.name, "kind"] = "csi"
    return _Engine(
        summary=_typed(summary, {"n": "int64"}),
        tests=tests,
        pairs=engine.pairs,
    )


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _settings_dict(obj: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: plain(getattr(obj, name)) for name in names}


@dataclass(frozen=True, eq=False, kw_only=True)
class SegmentComparison:
    """Segments compared on several measures (:func:`compare_segments`).

    ``summary``: ``group | measure | kind | statistic | n | estimate | se |
    ci_low | ci_high`` (statistic ``nps``, ``mean`` or ``top2_box``).
    ``tests``: ``measure | kind | test | primary | n | groups | statistic |
    df1 | df2 | p_value | p_adjusted | effect | effect_size`` (one row per
    omnibus test; ``p_adjusted`` corrects over the measures, per test).
    ``pairwise``: ``measure | statistic | group_a | group_b | n_a | n_b |
    estimate_a | estimate_b | difference | se | ci_low | ci_high | test |
    test_statistic | df | p_value | p_adjusted | effect | effect_size``
    (``difference`` = b − a; corrected over the pairs of one measure and
    statistic). ``factors``: ``rank | factor | n | groups | statistic |
    p_value | p_adjusted | epsilon_squared | eta_squared | highest_group |
    highest_mean | lowest_group | lowest_mean | spread``, the factors ranked
    by how strongly they separate the groups (epsilon², Kruskal-Wallis).
    """

    by: str
    measures: tuple[str, ...]
    kinds: Mapping[str, str]
    factors_used: tuple[str, ...]
    groups: tuple[str, ...]
    adjust: str
    confidence: float
    csat_points: int
    summary: pd.DataFrame
    tests: pd.DataFrame
    pairwise: pd.DataFrame
    factors: pd.DataFrame
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "compare_segments"

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"summary": self.summary, "tests": self.tests, "pairwise": self.pairwise}
        if self.factors_used:
            out["factors"] = self.factors
        return out

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {"method": self.method}
        head.update(
            _settings_dict(
                self, ("by", "measures", "factors_used", "groups", "adjust", "confidence")
            )
        )
        head["kinds"] = dict(self.kinds)
        head["csat_points"] = self.csat_points
        head["tables"] = {k: records(v) for k, v in self.tables().items()}
        return head


@dataclass(frozen=True, eq=False, kw_only=True)
class WaveComparison:
    """Survey waves compared in time order (:func:`compare_waves`).

    ``summary``: ``wave | order | measure | kind | statistic | n | estimate |
    se | ci_low | ci_high``. ``changes``: one row per measure, statistic and
    pair of consecutive waves: ``measure | statistic | from_wave | to_wave |
    n_from | n_to | estimate_from | estimate_to | change | se | ci_low |
    ci_high | test | test_statistic | df | p_value | p_adjusted | effect |
    effect_size | significant`` (``change`` = later − earlier; corrected over
    the consecutive pairs of one measure and statistic). ``tests``: the
    omnibus tests over all waves, as in :class:`SegmentComparison`.
    """

    wave: str
    order: tuple[str, ...]
    measures: tuple[str, ...]
    kinds: Mapping[str, str]
    adjust: str
    alpha: float
    confidence: float
    csat_points: int
    summary: pd.DataFrame
    changes: pd.DataFrame
    tests: pd.DataFrame
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "compare_waves"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "changes": self.changes, "tests": self.tests}

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {"method": self.method}
        head.update(
            _settings_dict(self, ("wave", "order", "measures", "adjust", "alpha", "confidence"))
        )
        head["kinds"] = dict(self.kinds)
        head["csat_points"] = self.csat_points
        head["tables"] = {k: records(v) for k, v in self.tables().items()}
        return head


@dataclass(frozen=True, eq=False, kw_only=True)
class CompetitorComparison:
    """Our ratings against each competitor's, by the same respondents (:func:`compare_competitors`).

    ``summary``: ``brand | item | n | mean | sd | se | ci_low | ci_high``
    (every rating given). ``paired``: ``competitor | item | n_pairs |
    ours_mean | theirs_mean | difference | se | ci_low | ci_high | t | df |
    p_value | wilcoxon_statistic | wilcoxon_p | p_adjusted | effect_size |
    verdict`` with ``difference`` = ours − theirs over respondents who rated
    both, the paired t-test (p_adjusted corrects over every competitor and
    item), the Wilcoxon signed-rank test as a check that does not assume
    interval data, Cohen's d_z, and ``verdict`` ``ahead`` / ``behind`` /
    ``level`` (adjusted p below ``alpha`` or not).
    """

    brand: str
    respondent: str
    ours: str
    competitors: tuple[str, ...]
    items: tuple[str, ...]
    adjust: str
    alpha: float
    confidence: float
    summary: pd.DataFrame
    paired: pd.DataFrame
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "compare_competitors"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "paired": self.paired}

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {"method": self.method}
        head.update(
            _settings_dict(
                self,
                (
                    "brand",
                    "respondent",
                    "ours",
                    "competitors",
                    "items",
                    "adjust",
                    "alpha",
                    "confidence",
                ),
            )
        )
        head["tables"] = {k: records(v) for k, v in self.tables().items()}
        return head


@dataclass(frozen=True, eq=False, kw_only=True)
class CompareResult:
    """Any of the three comparisons of one data set together (what ``allegiance compare`` prints).

    ``tables()`` prefixes each part's tables: ``segment_summary``,
    ``segment_tests`` ..., ``wave_summary``, ``wave_changes`` ...,
    ``competitor_summary``, ``competitor_paired``.
    """

    segments: SegmentComparison | None = None
    waves: WaveComparison | None = None
    competitors: CompetitorComparison | None = None
    method: ClassVar[str] = "compare"

    def _parts(self) -> list[tuple[str, SegmentComparison | WaveComparison | CompetitorComparison]]:
        out: list[tuple[str, SegmentComparison | WaveComparison | CompetitorComparison]] = []
        if self.segments is not None:
            out.append(("segment", self.segments))
        if self.waves is not None:
            out.append(("wave", self.waves))
        if self.competitors is not None:
            out.append(("competitor", self.competitors))
        return out

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(w for _, part in self._parts() for w in part.warnings)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            f"{prefix}_{name}": frame
            for prefix, part in self._parts()
            for name, frame in part.tables().items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, **{f"{p}s": part.to_dict() for p, part in self._parts()}}


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_adjust(method: Any) -> None:
    if method not in ADJUST_METHODS:
        raise ValidationError(
            "compare.bad_adjust", value=repr(method), allowed=", ".join(ADJUST_METHODS)
        )


def _z(confidence: Any) -> float:
    if (
        not isinstance(confidence, (int, float))
        or isinstance(confidence, bool)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValidationError("compare.bad_confidence", value=repr(confidence))
    from scipy import stats

    return float(stats.norm.ppf(0.5 + float(confidence) / 2.0))


def _check_alpha(alpha: Any) -> float:
    if (
        not isinstance(alpha, (int, float))
        or isinstance(alpha, bool)
        or not 0.0 < float(alpha) < 1.0
    ):
        raise ValidationError("compare.bad_alpha", value=repr(alpha))
    return float(alpha)


def _check_frame(data: Any, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("compare.not_a_frame", kind=type(data).__name__)
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def _show(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _numeric(frame: pd.DataFrame, column: str) -> FloatArray:
    """A column as float64; missing stays NaN; anything that is not a number is an error."""
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    missing = series.isna().to_numpy(dtype=np.bool_)
    if pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        work = series
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            work = series.astype("string").str.strip()
        values = pd.to_numeric(work, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        first = series.iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "compare.bad_number", column=column, value=_show(first), n_bad=int(bad.sum())
        )
    return np.asarray(values, dtype=np.float64)


def _finite(values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.asarray(arr[np.isfinite(arr)], dtype=np.float64)


def _kinds(measures: Sequence[str], kinds: Mapping[str, str] | None) -> dict[str, str]:
    given = dict(kinds or {})
    unknown = [k for k in given if k not in measures]
    if unknown:
        raise ValidationError("compare.kind_not_measured", columns=", ".join(map(str, unknown)))
    out: dict[str, str] = {}
    for m in measures:
        kind = given.get(m)
        if kind is None:
            kind = "nps" if m.lower() == "nps" else "csat" if m.lower() == "csat" else "mean"
        if kind not in KINDS:
            raise ValidationError(
                "compare.bad_kind", column=m, value=repr(kind), allowed=", ".join(KINDS)
            )
        out[m] = kind
    return out


def _measures(measures: Sequence[str] | str) -> list[str]:
    chosen = [measures] if isinstance(measures, str) else list(measures)
    if not chosen or not all(isinstance(m, str) and m for m in chosen):
        raise ValidationError("compare.no_measures")
    return list(dict.fromkeys(chosen))


def _csat_points(points: Any) -> int:
    if not isinstance(points, (int, np.integer)) or isinstance(points, bool) or points < 3:
        raise ValidationError("compare.bad_points", value=repr(points))
    return int(points)


@dataclass(frozen=True)
class _Grouped:
    """Rows with a group key, the group of each row (0..k-1) and the group labels in order."""

    frame: pd.DataFrame
    gid: npt.NDArray[np.int64]
    labels: tuple[str, ...]
    dropped: int


def _group(frame: pd.DataFrame, column: str, order: Sequence[Any] | None) -> _Grouped:
    keys = frame[column]
    if isinstance(keys.dtype, pd.CategoricalDtype):
        keys = keys.astype(object)
    present = keys.notna().to_numpy(dtype=np.bool_)
    dropped = int((~present).sum())
    kept = frame.loc[present].reset_index(drop=True)
    text = keys[present].map(_show).astype("str").reset_index(drop=True)
    seen = list(dict.fromkeys(text.tolist()))
    if order is not None:
        wanted = [_show(v) for v in order]
        extra = [s for s in seen if s not in wanted]
        if extra:
            raise ValidationError(
                "compare.order_incomplete", column=column, missing=", ".join(extra[:10])
            )
        labels = tuple(dict.fromkeys(w for w in wanted if w in seen))
    else:
        raw = keys[present]
        try:
            ordered = sorted(dict.fromkeys(raw.tolist()))
            labels = tuple(dict.fromkeys(_show(v) for v in ordered))
        except TypeError:
            labels = tuple(seen)
    position = {label: i for i, label in enumerate(labels)}
    gid: npt.NDArray[np.int64] = np.asarray(text.map(position), dtype=np.int64)
    return _Grouped(kept, gid, labels, dropped)


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Test:
    test: str
    n: int
    groups: int
    statistic: float
    df1: float
    df2: float
    p_value: float
    effect: str
    effect_size: float


def _clean_table(counts: FloatArray) -> FloatArray:
    if counts.ndim != 2:
        raise ValidationError("compare.bad_table", shape=str(counts.shape))
    keep_rows = counts.sum(axis=1) > 0
    keep_cols = counts.sum(axis=0) > 0
    out: FloatArray = counts[np.ix_(keep_rows, keep_cols)]
    return out


def _pearson_chi2(counts: FloatArray) -> float:
    n = counts.sum()
    expected = counts.sum(axis=1, keepdims=True) * counts.sum(axis=0, keepdims=True) / n
    return float(((counts - expected) ** 2 / expected).sum())


def _chi2_test(counts: FloatArray, label: str, warnings: list[Message]) -> _Test | None:
    """Pearson's chi-square of independence (no continuity correction) and Cramér's V."""
    table = _clean_table(counts)
    if min(table.shape) < 2:
        return None
    from scipy import stats

    n = float(table.sum())
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    small = float((expected < 5).mean())
    if small > 0.2:
        warnings.append(Message("compare.small_expected", {"measure": label, "share": small}))
    chi2 = _pearson_chi2(table)
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    p = float(stats.chi2.sf(chi2, df))
    v = math.sqrt(chi2 / (n * (min(table.shape) - 1)))
    return _Test("chi_square", int(n), table.shape[0], chi2, float(df), math.nan, p, "cramers_v", v)


def _kruskal(samples: Sequence[FloatArray]) -> _Test | None:
    """Kruskal-Wallis H (tie-corrected, as R's kruskal.test) and epsilon² = H / (n − 1)."""
    used = [s for s in samples if s.size >= 1]
    if len(used) < 2:
        return None
    pooled = np.concatenate(used)
    if np.ptp(pooled) == 0:
        return None
    from scipy import stats

    res = stats.kruskal(*used)
    n = pooled.size
    h = float(res.statistic)
    return _Test(
        "kruskal_wallis",
        int(n),
        len(used),
        h,
        float(len(used) - 1),
        math.nan,
        float(res.pvalue),
        "epsilon_squared",
        h / (n - 1),
    )


def _eta_squared(samples: Sequence[FloatArray]) -> float:
    pooled = np.concatenate(samples)
    grand = pooled.mean()
    ss_total = float(((pooled - grand) ** 2).sum())
    ss_between = float(sum(s.size * (s.mean() - grand) ** 2 for s in samples))
    return ss_between / ss_total if ss_total > 0 else math.nan


def _welch_anova(samples: Sequence[FloatArray]) -> _Test | None:
    """Welch's (1951) one-way ANOVA (unequal variances) and eta² (descriptive)."""
    used = [s for s in samples if s.size >= _MIN_GROUP]
    if len(used) < 2 or any(np.ptp(s) == 0 for s in used):
        return None
    from scipy import stats

    res = stats.f_oneway(*used, equal_var=False)
    n = int(sum(s.size for s in used))
    k = len(used)
    # Welch's denominator degrees of freedom (Welch 1951): (k²−1) / (3 Σ (1 − w_i/W)² / (n_i − 1))
    w = np.array([s.size / s.var(ddof=1) for s in used])
    sizes = np.array([s.size for s in used], dtype=np.float64)
    tail = float((((1 - w / w.sum()) ** 2) / (sizes - 1)).sum())
    df2 = (k * k - 1) / (3 * tail) if tail > 0 else math.inf
    return _Test(
        "welch_anova",
        n,
        k,
        float(res.statistic),
        float(k - 1),
        df2,
        float(res.pvalue),
        "eta_squared",
        _eta_squared(used),
    )


def _hedges(x: FloatArray, y: FloatArray) -> float:
    na, nb = x.size, y.size
    if na < 2 or nb < 2:
        return math.nan
    pooled = ((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2)
    if pooled <= 0:
        return math.nan
    d = (y.mean() - x.mean()) / math.sqrt(pooled)
    return float(d * (1.0 - 3.0 / (4.0 * (na + nb) - 9.0)))


def _z_test(diff: float, se: float) -> tuple[float, float]:
    if not (math.isfinite(diff) and math.isfinite(se)) or se <= 0:
        return math.nan, math.nan
    from scipy import stats

    z = diff / se
    return z, float(2.0 * stats.norm.sf(abs(z)))


def _nps_parts(values: FloatArray) -> tuple[float, float, float, float, int]:
    """(NPS, its variance, share of promoters, share of detractors, n) of 0-10 answers."""
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    bad = values[(values < 0) | (values > 10) | (values != np.round(values))]
    if bad.size:
        raise ValidationError("compare.bad_nps_value", value=_show(float(bad[0])))
    pp = float((values >= 9).mean())
    pd_ = float((values <= 6).mean())
    var = 1e4 * max(pp + pd_ - (pp - pd_) ** 2, 0.0) / n
    return 100.0 * (pp - pd_), var, pp, pd_, n


@dataclass(frozen=True)
class _Pair:
    statistic: str
    a: int
    b: int
    n_a: int
    n_b: int
    estimate_a: float
    estimate_b: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    test: str
    test_statistic: float
    df: float
    p_value: float
    effect: str
    effect_size: float


def _welch_pair(x: FloatArray, y: FloatArray, a: int, b: int, z_conf: float) -> _Pair:
    """Welch's t on mean_b − mean_a, with its interval and Hedges' g."""
    from scipy import stats

    diff = float(y.mean() - x.mean()) if x.size and y.size else math.nan
    if x.size < _MIN_GROUP or y.size < _MIN_GROUP:
        return _Pair(
            "mean",
            a,
            b,
            x.size,
            y.size,
            float(x.mean()) if x.size else math.nan,
            float(y.mean()) if y.size else math.nan,
            diff,
            math.nan,
            math.nan,
            math.nan,
            "welch_t",
            math.nan,
            math.nan,
            math.nan,
            "hedges_g",
            math.nan,
        )
    va = float(x.var(ddof=1)) / x.size
    vb = float(y.var(ddof=1)) / y.size
    se = math.sqrt(va + vb)
    if se > 0:
        # Welch (1947) t and the Welch-Satterthwaite degrees of freedom, as R's t.test
        df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
        t = diff / se
        p = float(2.0 * stats.t.sf(abs(t), df))
        tq = float(stats.t.ppf(0.5 + z_conf / 2.0, df))
    else:
        df, t, p, tq = math.nan, math.nan, math.nan, math.nan
    return _Pair(
        "mean",
        a,
        b,
        x.size,
        y.size,
        float(x.mean()),
        float(y.mean()),
        diff,
        se,
        diff - tq * se,
        diff + tq * se,
        "welch_t",
        t,
        df,
        p,
        "hedges_g",
        _hedges(x, y),
    )


def _share_pair(x: FloatArray, y: FloatArray, a: int, b: int, z: float, name: str) -> _Pair:
    """Two independent shares: difference p_b − p_a, unpooled (Wald) se, z-test, Cohen's h."""
    pa = float(x.mean()) if x.size else math.nan
    pb = float(y.mean()) if y.size else math.nan
    diff = pb - pa
    if x.size and y.size:
        se = math.sqrt(pa * (1 - pa) / x.size + pb * (1 - pb) / y.size)
    else:
        se = math.nan
    stat, p = _z_test(diff, se)
    h = (
        2 * math.asin(math.sqrt(pb)) - 2 * math.asin(math.sqrt(pa))
        if x.size and y.size
        else math.nan
    )
    return _Pair(
        name,
        a,
        b,
        x.size,
        y.size,
        pa,
        pb,
        diff,
        se,
        diff - z * se,
        diff + z * se,
        "z_two_proportions",
        stat,
        math.nan,
        p,
        "cohens_h",
        h,
    )


def _nps_pair(x: FloatArray, y: FloatArray, a: int, b: int, z: float) -> _Pair:
    """NPS_b − NPS_a, se = √(var_a + var_b), z-test; effect: Cramér's V of the 2×3 table."""
    na, va, *_ = _nps_parts(x)
    nb, vb, *_ = _nps_parts(y)
    diff = nb - na
    se = math.sqrt(va + vb) if (x.size and y.size and va + vb > 0) else math.nan
    stat, p = _z_test(diff, se)
    table = np.array([_nps_counts(x), _nps_counts(y)], dtype=np.float64)
    return _Pair(
        "nps",
        a,
        b,
        x.size,
        y.size,
        na,
        nb,
        diff,
        se,
        diff - z * se,
        diff + z * se,
        "z_nps_difference",
        stat,
        math.nan,
        p,
        "cramers_v",
        cramers_v(table) if x.size and y.size else math.nan,
    )


def _nps_counts(values: FloatArray) -> list[float]:
    return [
        float((values >= 9).sum()),
        float(((values >= 7) & (values <= 8)).sum()),
        float((values <= 6).sum()),
    ]


# --------------------------------------------------------------------------------------------
# The engine shared by segments and waves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Engine:
    summary: pd.DataFrame
    tests: pd.DataFrame
    pairs: pd.DataFrame


_SUMMARY_COLUMNS = ("measure", "kind", "statistic", "n", "estimate", "se", "ci_low", "ci_high")
_TEST_COLUMNS = (
    "measure",
    "kind",
    "test",
    "primary",
    "n",
    "groups",
    "statistic",
    "df1",
    "df2",
    "p_value",
    "p_adjusted",
    "effect",
    "effect_size",
)
_PAIR_COLUMNS = (
    "measure",
    "statistic",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "estimate_a",
    "estimate_b",
    "difference",
    "se",
    "ci_low",
    "ci_high",
    "test",
    "test_statistic",
    "df",
    "p_value",
    "p_adjusted",
    "effect",
    "effect_size",
)
_PRIMARY = {"nps": "chi_square", "csat": "kruskal_wallis", "mean": "welch_anova"}


def _scale_frame(
    values: FloatArray, gid: npt.NDArray[np.int64], labels: Sequence[str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "__group": pd.Categorical.from_codes(gid, categories=list(labels)),  # type: ignore[call-overload]
            "__value": values,
        }
    )


def _summary_rows(
    measure: str,
    kind: str,
    values: FloatArray,
    grouped: _Grouped,
    label_column: str,
    confidence: float,
    points: int,
    warnings: list[Message],
) -> list[dict[str, Any]]:
    labels = grouped.labels
    rows: list[dict[str, Any]] = []
    frame = _scale_frame(values, grouped.gid, labels)
    if kind == "nps":
        result = scales.nps(frame, score="__value", by="__group", confidence=confidence)
        table = result.table.set_index("__group")
        for label in labels:
            r = table.loc[label].to_dict()
            rows.append(
                {
                    label_column: label,
                    "measure": measure,
                    "kind": kind,
                    "statistic": "nps",
                    "n": int(r["n"]),
                    "estimate": float(r["nps"]),
                    "se": float(r["se"]),
                    "ci_low": float(r["ci_low"]),
                    "ci_high": float(r["ci_high"]),
                }
            )
        warnings.extend(_renamed(result.warnings, measure))
    elif kind == "csat":
        result_c = scales.csat(
            frame, score="__value", points=points, by="__group", confidence=confidence
        )
        table = result_c.table.set_index("__group")
        for label in labels:
            r = table.loc[label].to_dict()
            n = int(r["n"])
            p = float(r["top2_box"])
            rows.append(
                {
                    label_column: label,
                    "measure": measure,
                    "kind": kind,
                    "statistic": "mean",
                    "n": n,
                    "estimate": float(r["mean"]),
                    "se": float(r["se"]),
                    "ci_low": float(r["mean_ci_low"]),
                    "ci_high": float(r["mean_ci_high"]),
                }
            )
            rows.append(
                {
                    label_column: label,
                    "measure": measure,
                    "kind": kind,
                    "statistic": "top2_box",
                    "n": n,
                    "estimate": p,
                    "se": math.sqrt(p * (1 - p) / n) if n > 0 else math.nan,
                    "ci_low": float(r["top2_box_ci_low"]),
                    "ci_high": float(r["top2_box_ci_high"]),
                }
            )
        warnings.extend(_renamed(result_c.warnings, measure))
    else:
        from scipy import stats

        for i, label in enumerate(labels):
            x = _finite(values[grouped.gid == i])
            n = x.size
            mean = float(x.mean()) if n else math.nan
            if n >= _MIN_GROUP:
                se = float(x.std(ddof=1) / math.sqrt(n))
                tq = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
                low, high = mean - tq * se, mean + tq * se
            else:
                se = low = high = math.nan
            if n == 0:
                warnings.append(
                    Message("compare.empty_group", {"group": label, "measure": measure})
                )
            rows.append(
                {
                    label_column: label,
                    "measure": measure,
                    "kind": kind,
                    "statistic": "mean",
                    "n": n,
                    "estimate": mean,
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return rows


def _renamed(found: Sequence[Message], measure: str) -> list[Message]:
    """The scale module's warnings about the internal column, with the measure's name."""
    out = []
    for w in found:
        params = dict(w.params)
        if params.get("column") == "__value":
            params["column"] = measure
        if "group" in params:
            params["group"] = str(params["group"]).replace("__group=", "")
        out.append(Message(w.key, params))
    return out


def _omnibus(
    measure: str,
    kind: str,
    values: FloatArray,
    grouped: _Grouped,
    points: int,
    warnings: list[Message],
) -> list[_Test]:
    k = len(grouped.labels)
    samples = [_finite(values[grouped.gid == i]) for i in range(k)]
    found: list[_Test | None] = []
    if kind == "nps":
        counts = np.array([_nps_counts(s) for s in samples], dtype=np.float64)
        found.append(_chi2_test(counts, measure, warnings))
    else:
        if kind == "csat":
            found.append(_kruskal(samples))
            levels = np.arange(1, points + 1, dtype=np.float64)
            counts = np.array([[float((s == v).sum()) for v in levels] for s in samples])
            found.append(_chi2_test(counts, measure, warnings))
            found.append(_welch_anova(samples))
        else:
            found.append(_welch_anova(samples))
            found.append(_kruskal(samples))
    tests = [t for t in found if t is not None]
    if not tests:
        warnings.append(Message("compare.untestable", {"measure": measure}))
    return tests


def _pairs_for(
    kind: str,
    values: FloatArray,
    grouped: _Grouped,
    pairs: Sequence[tuple[int, int]],
    z: float,
    confidence: float,
    points: int,
) -> list[_Pair]:
    out: list[_Pair] = []
    samples = [_finite(values[grouped.gid == i]) for i in range(len(grouped.labels))]
    for a, b in pairs:
        x, y = samples[a], samples[b]
        if kind == "nps":
            out.append(_nps_pair(x, y, a, b, z))
        elif kind == "csat":
            out.append(_welch_pair(x, y, a, b, confidence))
            top2 = float(points - 1)
            out.append(
                _share_pair(
                    (x >= top2).astype(np.float64),
                    (y >= top2).astype(np.float64),
                    a,
                    b,
                    z,
                    "top2_box",
                )
            )
        else:
            out.append(_welch_pair(x, y, a, b, confidence))
    return out


def _engine(
    frame: pd.DataFrame,
    *,
    grouped: _Grouped,
    measures: Sequence[str],
    kinds: Mapping[str, str],
    label_column: str,
    pairs: Sequence[tuple[int, int]],
    adjust: str,
    confidence: float,
    points: int,
    warnings: list[Message],
) -> _Engine:
    z = _z(confidence)
    summary_rows: list[dict[str, Any]] = []
    test_rows: list[dict[str, Any]] = []
    pair_rows: list[dict[str, Any]] = []
    for measure in measures:
        kind = kinds[measure]
        values = _numeric(frame, measure)
        if kind in ("csat", "nps"):
            low, high = (1, points) if kind == "csat" else (0, 10)
            bad = np.isfinite(values) & (
                (values < low) | (values > high) | (values != np.round(values))
            )
            if bad.any():
                raise ValidationError(
                    "compare.bad_scale_value",
                    column=measure,
                    value=_show(float(values[bad][0])),
                    low=low,
                    high=high,
                )
        summary_rows.extend(
            _summary_rows(
                measure, kind, values, grouped, label_column, confidence, points, warnings
            )
        )
        for test in _omnibus(measure, kind, values, grouped, points, warnings):
            test_rows.append(
                {
                    "measure": measure,
                    "kind": kind,
                    "test": test.test,
                    "primary": test.test == _PRIMARY[kind],
                    "n": test.n,
                    "groups": test.groups,
                    "statistic": test.statistic,
                    "df1": test.df1,
                    "df2": test.df2,
                    "p_value": test.p_value,
                    "p_adjusted": math.nan,
                    "effect": test.effect,
                    "effect_size": test.effect_size,
                }
            )
        for pair in _pairs_for(kind, values, grouped, pairs, z, confidence, points):
            pair_rows.append(
                {
                    "measure": measure,
                    "statistic": pair.statistic,
                    "group_a": grouped.labels[pair.a],
                    "group_b": grouped.labels[pair.b],
                    "n_a": pair.n_a,
                    "n_b": pair.n_b,
                    "estimate_a": pair.estimate_a,
                    "estimate_b": pair.estimate_b,
                    "difference": pair.difference,
                    "se": pair.se,
                    "ci_low": pair.ci_low,
                    "ci_high": pair.ci_high,
                    "test": pair.test,
                    "test_statistic": pair.test_statistic,
                    "df": pair.df,
                    "p_value": pair.p_value,
                    "p_adjusted": math.nan,
                    "effect": pair.effect,
                    "effect_size": pair.effect_size,
                }
            )
    summary = pd.DataFrame(summary_rows, columns=[label_column, *_SUMMARY_COLUMNS])
    tests = pd.DataFrame(test_rows, columns=list(_TEST_COLUMNS))
    if len(tests):
        for _, idx in tests.groupby("test", sort=False).groups.items():
            tests.loc[idx, "p_adjusted"] = adjust_pvalues(
                tests.loc[idx, "p_value"].to_numpy(dtype=np.float64), method=adjust
            )
    pair_frame = pd.DataFrame(pair_rows, columns=list(_PAIR_COLUMNS))
    if len(pair_frame):
        for _, idx in pair_frame.groupby(["measure", "statistic"], sort=False).groups.items():
            pair_frame.loc[idx, "p_adjusted"] = adjust_pvalues(
                pair_frame.loc[idx, "p_value"].to_numpy(dtype=np.float64), method=adjust
            )
    return _Engine(
        summary=_typed(summary, {"n": "int64"}),
        tests=_typed(tests, {"n": "int64", "groups": "int64", "primary": "bool"}),
        pairs=_typed(pair_frame, {"n_a": "int64", "n_b": "int64"}),
    )


def _typed(frame: pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if column in dtypes:
            out[column] = out[column].astype(dtypes[column])  # type: ignore[call-overload]
        elif (
            out[column].dtype == object
            and len(out)
            and all(isinstance(v, str) for v in out[column])
        ):
            out[column] = out[column].astype("str")
        elif not len(out) and column not in dtypes:
            out[column] = out[column].astype("float64" if column not in _TEXT else "str")
    return out


_TEXT = frozenset(
    {
        "measure",
        "kind",
        "statistic",
        "test",
        "effect",
        "group",
        "group_a",
        "group_b",
        "wave",
        "from_wave",
        "to_wave",
        "factor",
        "highest_group",
        "lowest_group",
        "brand",
        "item",
        "competitor",
        "verdict",
    }
)


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------


def _factor_ranking(
    frame: pd.DataFrame, grouped: _Grouped, factors: Sequence[str], adjust: str
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    k = len(grouped.labels)
    for factor in factors:
        values = _numeric(frame, factor)
        samples = [_finite(values[grouped.gid == i]) for i in range(k)]
        kw = _kruskal(samples)
        used = [s for s in samples if s.size]
        eta = _eta_squared(used) if len(used) >= 2 else math.nan
        means = np.array([s.mean() if s.size else np.nan for s in samples])
        has = np.isfinite(means)
        hi = int(np.nanargmax(means)) if has.any() else -1
        lo = int(np.nanargmin(means)) if has.any() else -1
        rows.append(
            {
                "factor": factor,
                "n": int(sum(s.size for s in samples)),
                "groups": len(used),
                "statistic": kw.statistic if kw else math.nan,
                "p_value": kw.p_value if kw else math.nan,
                "p_adjusted": math.nan,
                "epsilon_squared": kw.effect_size if kw else math.nan,
                "eta_squared": eta,
                "highest_group": grouped.labels[hi] if hi >= 0 else "",
                "highest_mean": float(means[hi]) if hi >= 0 else math.nan,
                "lowest_group": grouped.labels[lo] if lo >= 0 else "",
                "lowest_mean": float(means[lo]) if lo >= 0 else math.nan,
                "spread": float(means[hi] - means[lo]) if hi >= 0 else math.nan,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "factor",
            "n",
            "groups",
            "statistic",
            "p_value",
            "p_adjusted",
            "epsilon_squared",
            "eta_squared",
            "highest_group",
            "highest_mean",
            "lowest_group",
            "lowest_mean",
            "spread",
        ],
    )
    if len(table):
        table["p_adjusted"] = adjust_pvalues(table["p_value"].to_numpy(np.float64), method=adjust)
        key = table["epsilon_squared"].fillna(-np.inf)
        order = np.lexsort((table["factor"].to_numpy(dtype=str), -key.to_numpy(np.float64)))
        table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1, dtype=np.int64))
    return _typed(table, {"n": "int64", "groups": "int64", "rank": "int64"})


def compare_segments(
    data: pd.DataFrame,
    /,
    *,
    by: str,
    measures: Sequence[str] | str = ("nps", "csat"),
    kinds: Mapping[str, str] | None = None,
    factors: Sequence[str] = (),
    csat_points: int = 5,
    adjust: str = "holm",
    confidence: float = 0.95,
    index: CSIIndex | None = None,
) -> SegmentComparison:
    """Compare segments (groups of ``by``) on each of ``measures`` and rank ``factors``.

    ``kinds`` maps a measure to ``nps``, ``csat`` or ``mean``; by default a
    column named ``nps`` is NPS, ``csat`` is CSAT (1..``csat_points``) and
    anything else a mean. Every pair of groups is compared (see
    :class:`SegmentComparison` for the tables). ``factors`` (e.g. the cs_*
    items) are ranked by how strongly they separate the groups: epsilon² of
    the Kruskal-Wallis test, largest first. Rows without a group are left out
    (a warning counts them). ``index`` adds the calculation-standard CSI per
    group with its interval (see :class:`CSIIndex`).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"seg": ["a"] * 4 + ["b"] * 4, "nps": [10, 9, 8, 2, 10, 10, 9, 9]})
    >>> r = compare_segments(d, by="seg", measures=["nps"])
    >>> r.pairwise["difference"].tolist()
    [75.0]
    """
    chosen = _measures(measures)
    data, chosen = _with_csi(_check_frame(data, [by]), chosen, index)
    factor_list = list(dict.fromkeys(factors))
    frame = _check_frame(data, [by, *chosen, *factor_list])
    _check_adjust(adjust)
    _z(confidence)
    points = _csat_points(csat_points)
    kind_map = _kinds(chosen, kinds)
    grouped = _group(frame, by, None)
    warnings: list[Message] = []
    if grouped.dropped:
        warnings.append(Message("compare.missing_group", {"column": by, "n": grouped.dropped}))
    if len(grouped.labels) < 2:
        warnings.append(Message("compare.one_group", {"column": by, "n": len(grouped.labels)}))
    k = len(grouped.labels)
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    engine = _engine(
        grouped.frame,
        grouped=grouped,
        measures=chosen,
        kinds=kind_map,
        label_column="group",
        pairs=pairs,
        adjust=adjust,
        confidence=confidence,
        points=points,
        warnings=warnings,
    )
    engine = _csi_engine(engine, grouped, index, "group", float(confidence), warnings, by)
    ranking = _factor_ranking(grouped.frame, grouped, factor_list, adjust)
    return SegmentComparison(
        by=by,
        measures=tuple(chosen),
        kinds=MappingProxyType(kind_map),
        factors_used=tuple(factor_list),
        groups=grouped.labels,
        adjust=adjust,
        confidence=float(confidence),
        csat_points=points,
        summary=engine.summary,
        tests=engine.tests,
        pairwise=engine.pairs,
        factors=ranking,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Waves
# --------------------------------------------------------------------------------------------


def compare_waves(
    data: pd.DataFrame,
    /,
    *,
    wave: str,
    measures: Sequence[str] | str = ("nps", "csat"),
    kinds: Mapping[str, str] | None = None,
    order: Sequence[Any] | None = None,
    csat_points: int = 5,
    adjust: str = "holm",
    alpha: float = 0.05,
    confidence: float = 0.95,
    index: CSIIndex | None = None,
) -> WaveComparison:
    """The change of each measure between consecutive survey waves, with its significance.

    Waves are taken in ``order`` (every wave in the data must be listed), else
    in sorted order of the ``wave`` column (labels such as ``2023-W4``,
    ``2024-W1`` or dates sort in time order). Each wave is an independent
    sample: NPS changes are tested with the z-test on the difference of two
    NPS (variance var_1 + var_2), CSAT with Welch's t on the means and a
    two-proportion z-test on the top-2-box share, other measures with
    Welch's t. ``significant`` is ``p_adjusted < alpha``. ``index`` adds the
    calculation-standard CSI per wave with its interval (see :class:`CSIIndex`).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"w": ["2024-W1"] * 3 + ["2023-W4"] * 3, "csat": [5, 4, 5, 3, 4, 3]})
    >>> r = compare_waves(d, wave="w", measures=["csat"])
    >>> r.order
    ('2023-W4', '2024-W1')
    >>> round(float(r.changes.loc[0, "change"]), 4)
    1.3333
    """
    chosen = _measures(measures)
    data, chosen = _with_csi(_check_frame(data, [wave]), chosen, index)
    frame = _check_frame(data, [wave, *chosen])
    _check_adjust(adjust)
    _z(confidence)
    level = _check_alpha(alpha)
    points = _csat_points(csat_points)
    kind_map = _kinds(chosen, kinds)
    grouped = _group(frame, wave, order)
    warnings: list[Message] = []
    if grouped.dropped:
        warnings.append(Message("compare.missing_group", {"column": wave, "n": grouped.dropped}))
    if len(grouped.labels) < 2:
        warnings.append(Message("compare.one_group", {"column": wave, "n": len(grouped.labels)}))
    pairs = [(i, i + 1) for i in range(len(grouped.labels) - 1)]
    engine = _engine(
        grouped.frame,
        grouped=grouped,
        measures=chosen,
        kinds=kind_map,
        label_column="wave",
        pairs=pairs,
        adjust=adjust,
        confidence=confidence,
        points=points,
        warnings=warnings,
    )
    engine = _csi_engine(engine, grouped, index, "wave", float(confidence), warnings, wave)
    summary = engine.summary.copy()
    position = {label: i for i, label in enumerate(grouped.labels)}
    summary.insert(1, "order", summary["wave"].map(position).astype("int64"))
    changes = engine.pairs.rename(
        columns={
            "group_a": "from_wave",
            "group_b": "to_wave",
            "n_a": "n_from",
            "n_b": "n_to",
            "estimate_a": "estimate_from",
            "estimate_b": "estimate_to",
            "difference": "change",
        }
    )
    changes["significant"] = (changes["p_adjusted"] < level).astype("bool")
    return WaveComparison(
        wave=wave,
        order=grouped.labels,
        measures=tuple(chosen),
        kinds=MappingProxyType(kind_map),
        adjust=adjust,
        alpha=level,
        confidence=float(confidence),
        csat_points=points,
        summary=summary,
        changes=changes,
        tests=engine.tests,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Competitors
# --------------------------------------------------------------------------------------------


def _paired_row(
    competitor: str, item: str, ours: FloatArray, theirs: FloatArray, confidence: float
) -> dict[str, Any]:
    from scipy import stats

    keep = np.isfinite(ours) & np.isfinite(theirs)
    x = ours[keep]
    y = theirs[keep]
    n = int(x.size)
    d = x - y
    row: dict[str, Any] = {
        "competitor": competitor,
        "item": item,
        "n_pairs": n,
        "ours_mean": float(x.mean()) if n else math.nan,
        "theirs_mean": float(y.mean()) if n else math.nan,
        "difference": float(d.mean()) if n else math.nan,
        "se": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "t": math.nan,
        "df": math.nan,
        "p_value": math.nan,
        "wilcoxon_statistic": math.nan,
        "wilcoxon_p": math.nan,
        "p_adjusted": math.nan,
        "effect_size": math.nan,
    }
    if n < _MIN_GROUP:
        return row
    sd = float(d.std(ddof=1))
    if sd > 0:
        se = sd / math.sqrt(n)
        t = row["difference"] / se
        tq = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
        row.update(
            se=se,
            ci_low=row["difference"] - tq * se,
            ci_high=row["difference"] + tq * se,
            t=t,
            df=float(n - 1),
            p_value=float(2.0 * stats.t.sf(abs(t), n - 1)),
            effect_size=row["difference"] / sd,
        )
    if np.any(d != 0):
        w = stats.wilcoxon(x, y, method="auto")
        row.update(wilcoxon_statistic=float(w.statistic), wilcoxon_p=float(w.pvalue))
    return row


def compare_competitors(
    data: pd.DataFrame,
    /,
    *,
    brand: str,
    respondent: str,
    items: Sequence[str] | str,
    ours: str,
    competitors: Sequence[str] | None = None,
    adjust: str = "holm",
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> CompetitorComparison:
    """Item by item, our ratings against each competitor's from the same respondents.

    ``data`` is long: one row per respondent and brand (column ``brand``; our
    own brand is the value ``ours``), the ratings in ``items``. For each
    competitor and item, respondents who rated both brands on that item form
    the pairs: the mean difference ours − theirs with its t-interval, the
    paired t-test, the Wilcoxon signed-rank test (zero differences dropped,
    Wilcoxon 1945) and Cohen's d_z. A respondent may appear once per brand.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "brand": ["us", "them"] * 3,
    ...                   "q": [5, 3, 4, 3, 5, 4]})
    >>> r = compare_competitors(d, brand="brand", respondent="id", items=["q"], ours="us")
    >>> round(float(r.paired.loc[0, "difference"]), 4)
    1.3333
    """
    chosen = _measures(items)
    frame = _check_frame(data, [brand, respondent, *chosen])
    _check_adjust(adjust)
    _z(confidence)
    level = _check_alpha(alpha)
    warnings: list[Message] = []
    brands = frame[brand].astype(object).map(lambda v: None if pd.isna(v) else _show(v))
    if str(ours) not in set(brands.dropna()):
        raise ValidationError("compare.ours_missing", column=brand, value=str(ours))
    present = [b for b in dict.fromkeys(sorted(brands.dropna().unique())) if b != str(ours)]
    if competitors is None:
        rivals = present
    else:
        rivals = [_show(c) for c in competitors]
        absent = [c for c in rivals if c not in present]
        if absent:
            raise ValidationError(
                "compare.competitor_missing", column=brand, values=", ".join(absent)
            )
    keys = frame[respondent]
    if keys.isna().any():
        warnings.append(
            Message(
                "compare.missing_respondent", {"column": respondent, "n": int(keys.isna().sum())}
            )
        )
    valid = keys.notna() & brands.notna()
    work = frame.loc[valid, [respondent, *chosen]].copy()
    work["__brand"] = brands[valid].to_numpy()
    dup = work.duplicated(subset=[respondent, "__brand"])
    if dup.any():
        first = work.loc[dup].iloc[0]
        raise ValidationError(
            "compare.duplicate_rating",
            column=respondent,
            value=_show(first[respondent]),
            brand=str(first["__brand"]),
        )
    for item in chosen:
        work[item] = _numeric(work, item)

    z_conf = float(confidence)
    from scipy import stats

    summary_rows: list[dict[str, Any]] = []
    for name in [str(ours), *rivals]:
        part = work.loc[work["__brand"] == name]
        for item in chosen:
            x = _finite(part[item].to_numpy(np.float64))
            n = x.size
            mean = float(x.mean()) if n else math.nan
            if n >= _MIN_GROUP:
                sd = float(x.std(ddof=1))
                se = sd / math.sqrt(n)
                tq = float(stats.t.ppf(0.5 + z_conf / 2.0, n - 1))
                low, high = mean - tq * se, mean + tq * se
            else:
                sd = se = low = high = math.nan
            summary_rows.append(
                {
                    "brand": name,
                    "item": item,
                    "n": n,
                    "mean": mean,
                    "sd": sd,
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    ours_part = work.loc[work["__brand"] == str(ours)].set_index(respondent)
    paired_rows: list[dict[str, Any]] = []
    for rival in rivals:
        theirs_part = work.loc[work["__brand"] == rival].set_index(respondent)
        joined = pd.merge(
            ours_part[chosen].add_suffix("__o"),
            theirs_part[chosen].add_suffix("__t"),
            left_index=True,
            right_index=True,
            how="inner",
        )
        if joined.empty:
            warnings.append(Message("compare.no_pairs", {"competitor": rival}))
        for item in chosen:
            paired_rows.append(
                _paired_row(
                    rival,
                    item,
                    joined[f"{item}__o"].to_numpy(np.float64),
                    joined[f"{item}__t"].to_numpy(np.float64),
                    z_conf,
                )
            )
    paired = pd.DataFrame(
        paired_rows,
        columns=[
            "competitor",
            "item",
            "n_pairs",
            "ours_mean",
            "theirs_mean",
            "difference",
            "se",
            "ci_low",
            "ci_high",
            "t",
            "df",
            "p_value",
            "wilcoxon_statistic",
            "wilcoxon_p",
            "p_adjusted",
            "effect_size",
        ],
    )
    if len(paired):
        paired["p_adjusted"] = adjust_pvalues(paired["p_value"].to_numpy(np.float64), method=adjust)
    significant = paired["p_adjusted"].to_numpy(np.float64) < level
    diff = paired["difference"].to_numpy(np.float64)
    paired["verdict"] = np.where(
        significant & (diff > 0), "ahead", np.where(significant & (diff < 0), "behind", "level")
    ).astype(object)
    return CompetitorComparison(
        brand=brand,
        respondent=respondent,
        ours=str(ours),
        competitors=tuple(rivals),
        items=tuple(chosen),
        adjust=adjust,
        alpha=level,
        confidence=float(confidence),
        summary=_typed(pd.DataFrame(summary_rows), {"n": "int64"}),
        paired=_typed(paired, {"n_pairs": "int64"}),
        warnings=tuple(warnings),
    )
