"""Coded dissatisfaction reasons (满意度+不满意度调查, SPEC section 3 method 4).

A multiple-choice question ("why are you not satisfied? tick all that apply")
stored one respondent per row, the codes joined by a separator (``"price;billing"``).
:func:`reasons` counts them the way a multiple-response table should be read:

- ``count``: respondents who named the reason (a code named twice by the same
  respondent counts once, with a warning);
- ``share_of_respondents = count / n_respondents``, with a Wilson (1927) score
  interval. The base ``n_respondents`` is every row with at least one code
  (``base="answered"``, the default) or every row (``base="all"``). These shares
  sum to more than 1 when people name several reasons;
- ``share_of_mentions = count / n_mentions``: the reason's part of all mentions;
  these sum to 1 and are what the Pareto ranking accumulates
  (``cumulative_share``; ``vital_few`` marks the reasons up to and including the
  one that crosses ``threshold``, 80 % by default, as in the complaint-cause
  table of SPEC section 6).

With ``factors`` (reason code → factor or driver), the same figures per factor:
a respondent counts once for a factor however many of its reasons they named.

With ``by`` (one or more grouping columns, e.g. the customer segment joined in
with :func:`join_customers`), the figures per group, and a multi-response
crosstab test. Respondents may sit in several cells, so the usual Pearson
chi-square of the reasons × groups table is not valid; instead each reason gets
its own 2 × G test (named it / did not, by group; ``df = G - 1``) with Holm's
correction, and the whole table is tested for multiple marginal independence
with Bilder & Loughin's (2004) ``X²_S = Σ_j X²_j`` (Biometrics 60:241-248), whose
p-value comes from a permutation of the group labels among respondents (each
respondent keeps their whole set of reasons) and, conservatively, from the
Bonferroni bound ``min(1, J · min_j p_j)``.

>>> import pandas as pd
>>> answers = pd.DataFrame({"why": ["price;billing", "price", None, "network", "price;network"]})
>>> result = reasons(answers, column="why")
>>> result.table[["reason", "count", "share_of_respondents", "share_of_mentions"]].round(3)
    reason  count  share_of_respondents  share_of_mentions
0    price      3                  0.75              0.500
1  network      2                  0.50              0.333
2  billing      1                  0.25              0.167
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.i18n import Message
from allegiance.methods.intervals import wilson_interval
from allegiance.results import plain, records

__all__ = [
    "MultipleIndependenceTest",
    "ReasonsResult",
    "join_customers",
    "parse_codes",
    "reasons",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Base = Literal["answered", "all"]

_FULL_WIDTH = {";": "；", ",": "，", "|": "｜", "/": "／"}
_MIN_EXPECTED = 5.0


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultipleIndependenceTest:
    """Bilder & Loughin's (2004) test that the reasons named do not depend on the group.

    ``statistic`` is ``X²_S``, the sum over reasons of each reason's 2 × G Pearson
    chi-square; ``p_permutation`` counts how often ``n_permutations`` shuffles of
    the group labels reach it (``(1 + hits) / (1 + n_permutations)``);
    ``p_bonferroni`` is ``min(1, J · min_j p_j)``.
    """

    statistic: float
    n_reasons: int
    n_groups: int
    p_bonferroni: float
    p_permutation: float
    n_permutations: int
    seed: int | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "statistic": [self.statistic],
                "n_reasons": [self.n_reasons],
                "n_groups": [self.n_groups],
                "p_bonferroni": [self.p_bonferroni],
                "p_permutation": [self.p_permutation],
                "n_permutations": [self.n_permutations],
            }
        )


@dataclass(frozen=True, eq=False, kw_only=True)
class ReasonsResult:
    """Counts and shares of coded reasons; see the module docstring for every column.

    ``table``: one row per reason, Pareto order (most named first).
    ``factors``: one row per factor (``None`` without a mapping).
    ``by_group``: one row per group and reason (``None`` without ``by``).
    ``tests``: one 2 × G chi-square per reason (``None`` without ``by``).
    ``independence``: the overall multiple-response test (``None`` without ``by``
    or with fewer than two groups).
    """

    table: pd.DataFrame
    factors: pd.DataFrame | None
    by_group: pd.DataFrame | None
    tests: pd.DataFrame | None
    independence: MultipleIndependenceTest | None
    column: str
    sep: str
    by: tuple[str, ...]
    base: Base
    confidence: float
    threshold: float
    n_rows: int
    n_respondents: int
    n_answered: int
    n_mentions: int
    warnings: tuple[Message, ...] = ()
    factor_map: Mapping[str, str] = field(default_factory=dict)

    @property
    def mean_reasons(self) -> float:
        """Reasons named per answering respondent."""
        return self.n_mentions / self.n_answered if self.n_answered else float("nan")

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "n_rows": [self.n_rows],
                "n_respondents": [self.n_respondents],
                "n_answered": [self.n_answered],
                "n_mentions": [self.n_mentions],
                "mean_reasons": [self.mean_reasons],
            }
        )

    def crosstab(self, value: str = "count", /) -> pd.DataFrame:
        """The reasons × groups table of ``value`` (a ``by_group`` column), reasons in Pareto order.

        Group columns are the group keys joined with `` / `` when there are several.
        """
        if self.by_group is None:
            raise ValidationError("reasons.no_groups")
        if value not in self.by_group.columns:
            raise ColumnNotFoundError([value], list(self.by_group.columns))
        frame = self.by_group.copy()
        keys = frame[list(self.by)].astype("string").fillna("-")
        frame["group"] = keys.agg(" / ".join, axis=1) if len(self.by) > 1 else keys.iloc[:, 0]
        wide = frame.pivot(index="reason", columns="group", values=value)
        wide = wide.reindex(self.table["reason"].tolist())
        wide.columns = [str(c) for c in wide.columns]
        wide.index.name = "reason"
        return wide

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {"reasons": self.table, "summary": self.summary()}
        if self.factors is not None:
            out["by_factor"] = self.factors
        if self.by_group is not None:
            out["by_group"] = self.by_group
        if self.tests is not None:
            out["tests"] = self.tests
        if self.independence is not None:
            out["independence"] = self.independence.to_frame()
        return out

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {
            "method": "reasons",
            "column": self.column,
            "sep": self.sep,
            "by": list(self.by),
            "base": self.base,
            "confidence": self.confidence,
            "threshold": self.threshold,
            "n_rows": self.n_rows,
            "n_respondents": self.n_respondents,
            "n_answered": self.n_answered,
            "n_mentions": self.n_mentions,
            "mean_reasons": plain(self.mean_reasons),
            "factor_map": dict(self.factor_map),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }
        if self.independence is not None:
            head["independence"] = plain(self.independence.__dict__)
        return head


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _check_frame(data: Any, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("scales.not_a_frame", kind=type(data).__name__)
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def parse_codes(values: pd.Series[Any], /, *, sep: str = ";") -> pd.DataFrame:
    """The codes of a multiple-response column, one row per (row, code) named.

    Returns a frame with ``row`` (the position in ``values``) and ``code`` (a
    stripped string), in the order named. Missing values and empty strings name
    nothing; the full-width form of the separator (``；`` for ``;``) also
    separates. Duplicates are kept (see :func:`reasons`).
    """
    if not isinstance(sep, str) or not sep or sep.strip() != sep:
        raise ValidationError("reasons.bad_sep", value=repr(sep))
    text = values.astype("string").reset_index(drop=True)
    wide = _FULL_WIDTH.get(sep)
    if wide is not None:
        text = text.str.replace(wide, sep, regex=False)
    parts = text.str.split(sep, regex=False).explode()
    codes = parts.astype("string").str.strip()
    keep = codes.notna() & (codes != "")
    return pd.DataFrame(
        {
            "row": codes.index[keep].to_numpy(dtype=np.int64),
            "code": codes[keep].astype(str).to_numpy(dtype=object),
        }
    )


def join_customers(
    data: pd.DataFrame,
    customers: pd.DataFrame,
    /,
    *,
    columns: Sequence[str],
    customer_id: str = "customer_id",
) -> pd.DataFrame:
    """``data`` with ``columns`` of ``customers`` joined on ``customer_id`` (a left join).

    Answers whose customer is unknown get missing values (a group of their own).
    Customer ids must be unique in ``customers``.
    """
    _check_frame(data, [customer_id])
    _check_frame(customers, [customer_id, *columns])
    ids = customers[customer_id]
    if ids.duplicated().any():
        first = ids[ids.duplicated()].iloc[0]
        raise ValidationError("reasons.duplicate_customer", column=customer_id, value=str(first))
    clash = [c for c in columns if c in data.columns and c != customer_id]
    left = data.drop(columns=clash)
    right = customers[[customer_id, *[c for c in columns if c != customer_id]]].copy()
    left_ids = left[customer_id].astype("string")
    right[customer_id] = right[customer_id].astype("string")
    joined = left.assign(**{customer_id: left_ids}).merge(right, on=customer_id, how="left")
    joined[customer_id] = data[customer_id].to_numpy()
    joined.index = data.index
    return joined


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _holm(p: FloatArray) -> FloatArray:
    """Holm's (1979) step-down adjusted p-values; NaN stays NaN."""
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _chi2_per_reason(counts: FloatArray, sizes: FloatArray) -> FloatArray:
    """Pearson chi-square of each reason's 2 × G table; ``counts`` is (..., G, J).

    ``chi2_j = Σ_g (c_gj - n_g p_j)² / (n_g p_j (1 - p_j))`` with ``p_j = Σ_g c_gj / N``;
    NaN where every respondent or nobody named the reason.
    """
    total = sizes.sum()
    p = counts.sum(axis=-2) / total  # (..., J)
    expected = sizes[:, None] * p[..., None, :]  # (..., G, J)
    var = expected * (1.0 - p[..., None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (counts - expected) ** 2 / var
        chi2: FloatArray = terms.sum(axis=-2)
    defined = (p > 0) & (p < 1)
    return np.where(defined, chi2, np.nan)


def _permutation_p(
    matrix: npt.NDArray[np.bool_],
    labels: IntArray,
    n_groups: int,
    observed: float,
    *,
    n_perm: int,
    seed: int | None,
) -> float:
    """Share of label shuffles whose X²_S reaches the observed one, ``(1+hits)/(1+B)``."""
    rng = np.random.default_rng(seed)
    n, j = matrix.shape
    sizes = np.bincount(labels, minlength=n_groups).astype(np.float64)
    y = matrix.astype(np.float64)
    hits = 0
    chunk = max(1, min(n_perm, 4_000_000 // max(n, 1)))
    done = 0
    while done < n_perm:
        b = min(chunk, n_perm - done)
        shuffled = rng.permuted(np.broadcast_to(labels, (b, n)), axis=1)  # (b, n)
        index = (np.arange(b)[:, None] * n_groups + shuffled).ravel()
        counts = np.empty((b * n_groups, j))
        for k in range(j):  # a loop over reasons, not respondents
            counts[:, k] = np.bincount(
                index, weights=np.broadcast_to(y[:, k], (b, n)).ravel(), minlength=b * n_groups
            )
        stats = _chi2_per_reason(counts.reshape(b, n_groups, j), sizes)
        total = np.nansum(stats, axis=1)
        hits += int(np.count_nonzero(total >= observed - 1e-9 * max(1.0, observed)))
        done += b
    return (1.0 + hits) / (1.0 + n_perm)


# --------------------------------------------------------------------------------------------
# The method
# --------------------------------------------------------------------------------------------


def _pareto(codes: list[str], counts: IntArray) -> IntArray:
    """Positions sorting reasons by count (descending), then code."""
    keys = np.array(codes, dtype=object)
    return np.lexsort((keys, -counts)).astype(np.int64)


def _by_columns(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    cols = tuple(by)
    if not all(isinstance(c, str) for c in cols):
        raise ValidationError("scales.bad_by", value=repr(by))
    return cols


def _share_block(
    counts: FloatArray, n_base: FloatArray, n_mentions: FloatArray, confidence: float
) -> dict[str, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_base > 0, counts / np.where(n_base > 0, n_base, 1.0), np.nan)
        mentions = np.where(
            n_mentions > 0, counts / np.where(n_mentions > 0, n_mentions, 1.0), np.nan
        )
    ci = wilson_interval(share, n_base, confidence=confidence)
    return {
        "share_of_respondents": share,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "share_of_mentions": mentions,
    }


def reasons(
    data: pd.DataFrame,
    /,
    *,
    column: str = "reasons",
    sep: str = ";",
    by: str | Sequence[str] | None = None,
    factors: Mapping[str, str] | None = None,
    codes: Sequence[str] | None = None,
    base: Base = "answered",
    confidence: float = 0.95,
    threshold: float = 0.8,
    n_perm: int = 999,
    seed: int | None = 0,
) -> ReasonsResult:
    """Count and share coded reasons, overall, per factor and per group.

    ``codes`` fixes the list of valid codes (reasons nobody named then appear with
    a count of 0; a code outside the list is an error naming its row). ``n_perm``
    permutations (seeded by ``seed``) give the overall test's p-value; 0 skips it.
    See the module docstring for every figure.
    """
    by_cols = _by_columns(by)
    frame = _check_frame(data, [column, *by_cols])
    if base not in ("answered", "all"):
        raise ValidationError("reasons.bad_base", value=repr(base))
    if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) <= 1.0:
        raise ValidationError("reasons.bad_threshold", value=str(threshold))
    if not isinstance(n_perm, int) or n_perm < 0:
        raise ValidationError("reasons.bad_n_perm", value=str(n_perm))
    wilson_interval(np.array([0.5]), np.array([1.0]), confidence=confidence)  # checks it

    named = parse_codes(frame[column], sep=sep)
    warnings: list[Message] = []
    dup = named.duplicated(["row", "code"])
    if dup.any():
        warnings.append(
            Message("reasons.duplicate_codes", {"n": int(named.loc[dup, "row"].nunique())})
        )
        named = named.loc[~dup]

    if codes is not None:
        valid = [str(c).strip() for c in codes]
        unknown = ~named["code"].isin(valid)
        if unknown.any():
            first = named.loc[unknown].iloc[0]
            raise ValidationError(
                "reasons.unknown_code",
                column=column,
                row=int(first["row"]) + 1,
                value=str(first["code"]),
                codes=", ".join(valid),
            )
        code_list = list(dict.fromkeys(valid))
    else:
        code_list = sorted(named["code"].unique().tolist())
    if not code_list:
        raise InputError("reasons.no_answers", column=column)

    n_rows = len(frame)
    code_pos = pd.Index(code_list).get_indexer(pd.Index(named["code"]))
    matrix = np.zeros((n_rows, len(code_list)), dtype=np.bool_)
    matrix[named["row"].to_numpy(), code_pos] = True
    answered: npt.NDArray[np.bool_] = np.asarray(matrix.any(axis=1), dtype=np.bool_)
    in_base = answered if base == "answered" else np.ones(n_rows, dtype=np.bool_)
    n_base = int(in_base.sum())
    counts = matrix[in_base].sum(axis=0).astype(np.int64)
    n_mentions = int(counts.sum())

    order = _pareto(code_list, counts)
    ordered_codes = [code_list[i] for i in order]
    c = counts[order]
    block = _share_block(
        c.astype(np.float64),
        np.full(c.size, float(n_base)),
        np.full(c.size, float(n_mentions)),
        confidence,
    )
    cumulative = np.cumsum(c) / n_mentions if n_mentions else np.full(c.size, np.nan)
    before = cumulative - block["share_of_mentions"]
    table = pd.DataFrame(
        {
            "reason": ordered_codes,
            "rank": pd.Series(c).rank(method="min", ascending=False).astype(np.int64).to_numpy(),
            "count": c,
            **block,
            "cumulative_share": cumulative,
            "vital_few": before < float(threshold) - 1e-12,
        }
    )

    factor_table = None
    factor_map: dict[str, str] = {}
    if factors is not None:
        factor_table, factor_map, unmapped = _factor_table(
            matrix[in_base], code_list, factors, n_base, n_mentions, confidence
        )
        if unmapped:
            warnings.append(Message("reasons.unmapped", {"codes": ", ".join(unmapped)}))

    by_group = tests = None
    independence = None
    if by_cols:
        by_group, tests, independence, group_warnings = _groups(
            frame,
            by_cols,
            matrix,
            in_base,
            ordered_codes,
            order,
            confidence=confidence,
            n_perm=n_perm,
            seed=seed,
        )
        warnings.extend(group_warnings)

    return ReasonsResult(
        table=table,
        factors=factor_table,
        by_group=by_group,
        tests=tests,
        independence=independence,
        column=column,
        sep=sep,
        by=by_cols,
        base=base,
        confidence=float(confidence),
        threshold=float(threshold),
        n_rows=n_rows,
        n_respondents=n_base,
        n_answered=int(answered.sum()),
        n_mentions=n_mentions,
        warnings=tuple(warnings),
        factor_map=factor_map,
    )


def _factor_table(
    matrix: npt.NDArray[np.bool_],
    code_list: list[str],
    factors: Mapping[str, str],
    n_base: int,
    n_mentions: int,
    confidence: float,
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    if not isinstance(factors, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in factors.items()
    ):
        raise ValidationError("reasons.bad_factors", value=repr(factors)[:200])
    mapping = {str(k).strip(): str(v).strip() for k, v in factors.items()}
    unmapped = [c for c in code_list if c not in mapping]
    names = list(dict.fromkeys(mapping[c] for c in code_list if c in mapping))
    member = np.zeros((len(code_list), len(names)), dtype=np.float64)
    for i, code in enumerate(code_list):  # a loop over codes, not respondents
        if code in mapping:
            member[i, names.index(mapping[code])] = 1.0
    y = matrix.astype(np.float64)
    cites = (y @ member) > 0
    count = cites.sum(axis=0).astype(np.int64)
    mentions = (y.sum(axis=0) @ member).astype(np.int64)
    bases = np.full(len(names), float(n_base))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = count / n_base if n_base else np.full(len(names), np.nan)
        share_mentions = mentions / n_mentions if n_mentions else np.full(len(names), np.nan)
    ci = wilson_interval(share, bases, confidence=confidence)
    order = np.lexsort((np.array(names, dtype=object), -count))
    table = pd.DataFrame(
        {
            "factor": [names[i] for i in order],
            "reasons": [
                ";".join(c for c in code_list if mapping.get(c) == names[i]) for i in order
            ],
            "count": count[order],
            "share_of_respondents": np.asarray(share, dtype=np.float64)[order],
            "ci_low": ci.low[order],
            "ci_high": ci.high[order],
            "mentions": mentions[order],
            "share_of_mentions": np.asarray(share_mentions, dtype=np.float64)[order],
        }
    )
    return table, {c: mapping[c] for c in code_list if c in mapping}, unmapped


def _groups(
    frame: pd.DataFrame,
    by_cols: tuple[str, ...],
    matrix: npt.NDArray[np.bool_],
    in_base: npt.NDArray[np.bool_],
    ordered_codes: list[str],
    order: IntArray,
    *,
    confidence: float,
    n_perm: int,
    seed: int | None,
) -> tuple[pd.DataFrame, pd.DataFrame, MultipleIndependenceTest | None, list[Message]]:
    keys = frame[list(by_cols)].reset_index(drop=True)
    codes_, uniques = pd.MultiIndex.from_frame(keys.astype(object)).factorize(sort=False)
    # A stable, sorted group order with missing keys last.
    group_keys = (
        pd.DataFrame(list(uniques), columns=list(by_cols)) if len(uniques) else keys.iloc[:0]
    )
    sort_order = group_keys.sort_values(list(by_cols), na_position="last", kind="stable").index
    remap = np.empty(len(group_keys), dtype=np.int64)
    remap[sort_order.to_numpy()] = np.arange(len(group_keys))
    labels_all = remap[codes_]
    group_keys = group_keys.iloc[sort_order].reset_index(drop=True)
    n_groups = len(group_keys)

    y = matrix[:, order][in_base]
    labels = labels_all[in_base]
    sizes = np.bincount(labels, minlength=n_groups).astype(np.float64)
    counts = np.zeros((n_groups, y.shape[1]))
    for k in range(y.shape[1]):  # a loop over reasons, not respondents
        counts[:, k] = np.bincount(labels, weights=y[:, k].astype(np.float64), minlength=n_groups)
    mentions = counts.sum(axis=1)

    g_index = np.repeat(np.arange(n_groups), len(ordered_codes))
    flat_counts = counts.ravel()
    block = _share_block(flat_counts, sizes[g_index], mentions[g_index], confidence)
    long = group_keys.iloc[g_index].reset_index(drop=True)
    long["reason"] = np.tile(np.array(ordered_codes, dtype=object), n_groups)
    long["n_respondents"] = sizes[g_index].astype(np.int64)
    long["count"] = flat_counts.astype(np.int64)
    for name, values in block.items():
        long[name] = values

    warnings: list[Message] = []
    for gi in np.flatnonzero(sizes == 0):
        shown = " / ".join(str(plain(v)) for v in group_keys.iloc[int(gi)].tolist())
        warnings.append(Message("reasons.empty_group", {"group": shown}))

    present = sizes > 0
    chi2 = _chi2_per_reason(counts[present], sizes[present])
    df = int(present.sum()) - 1
    from scipy.special import chdtrc  # imported on use: keeps the command line quick to start

    p: FloatArray = np.full(chi2.shape, np.nan)
    if df > 0:
        p = np.where(np.isfinite(chi2), chdtrc(df, np.nan_to_num(chi2)), np.nan)
    total_named = counts[present].sum(axis=0)
    n_total = sizes[present].sum()
    prop = total_named / n_total if n_total else np.full(total_named.shape, np.nan)
    expected = sizes[present][:, None] * np.stack([prop, 1.0 - prop])[:, None, :]
    min_expected = expected.min(axis=(0, 1)) if expected.size else np.full(prop.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        cramers_v = np.sqrt(chi2 / n_total) if n_total else np.full(chi2.shape, np.nan)
    tests = pd.DataFrame(
        {
            "reason": ordered_codes,
            "chi2": chi2,
            "df": np.full(len(ordered_codes), df, dtype=np.int64),
            "p_value": p,
            "p_holm": _holm(np.asarray(p, dtype=np.float64)),
            "cramers_v": cramers_v,
            "min_expected": min_expected,
        }
    )
    too_small = np.isfinite(min_expected) & (min_expected < _MIN_EXPECTED)
    small = [r for r, flag in zip(ordered_codes, too_small, strict=True) if flag]
    if small and df > 0:
        warnings.append(Message("reasons.small_expected", {"reasons": ", ".join(small)}))

    independence = None
    defined = np.isfinite(chi2)
    if df > 0 and defined.any():
        statistic = float(chi2[defined].sum())
        p_min = float(np.nanmin(p))
        n_def = int(defined.sum())
        keep_groups = np.flatnonzero(present)
        relabel = np.full(n_groups, -1, dtype=np.int64)
        relabel[keep_groups] = np.arange(keep_groups.size)
        p_perm = (
            _permutation_p(
                y[:, defined],
                relabel[labels],
                keep_groups.size,
                statistic,
                n_perm=n_perm,
                seed=seed,
            )
            if n_perm > 0
            else float("nan")
        )
        independence = MultipleIndependenceTest(
            statistic=statistic,
            n_reasons=n_def,
            n_groups=int(keep_groups.size),
            p_bonferroni=min(1.0, n_def * p_min),
            p_permutation=p_perm,
            n_permutations=n_perm,
            seed=seed,
        )
    return long, tests, independence, warnings
