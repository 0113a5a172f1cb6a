"""Survey scales: NPS, CSAT, CES, k-point ratings, the five-level satisfaction scale, rates.

Pure computation (SPEC sections 1-4): a pandas frame of answers goes in, a small
frozen result comes out. Every function takes the data positionally and the
rest by keyword, with the same column roles: ``score`` (the answer column),
``by`` (one or more grouping columns), ``weight`` (a survey weight column).

Conventions shared by every function here:

- Missing answers are skipped and counted in ``n_missing``.
- ``n`` is the unweighted number of valid answers. With a ``weight`` column,
  counts and shares are weighted sums, and every standard error and interval
  uses Kish's effective sample size ``n_eff = (Σw)² / Σw²`` (Kish 1965,
  *Survey Sampling*, §11.7); without weights ``n_eff == n``.
- Shares are proportions in 0..1 (presentation multiplies by 100); the NPS
  itself is on its usual -100..100 scale.
- Intervals for shares are Wilson score intervals (Wilson 1927) on ``n_eff``;
  intervals for means are t-intervals with ``n_eff - 1`` degrees of freedom
  and the weighted variance ``Σw(x-m)²/Σw · n_eff/(n_eff-1)`` (the usual
  sample variance when unweighted).
- With ``by``, the main table has one row per group (groups sorted, a missing
  key is a group of its own) and the figures over all rows are in a separate
  table ``overall``. A group without a valid answer gets ``n == 0``, empty
  (NaN) figures and a warning, never an error.
- Answers that are not on the scale raise :class:`ValidationError` naming the
  column and the value; negative or missing weights do too.

The scale definitions (codes, labels, boxes) live once, in :data:`SCALES`;
their labels are catalogue keys (``scale.*`` in ``locales/scales.yaml``).

>>> import pandas as pd
>>> answers = pd.DataFrame({"q": [10, 9, 9, 10, 9, 8, 7, 8, 3, 6]})
>>> result = nps(answers, score="q")
>>> result.nps
30.0
>>> round(float(result.table["se"].iloc[0]), 3)
24.698
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
from allegiance.i18n import Message, t
from allegiance.results import plain, records

__all__ = [
    "SCALES",
    "CESResult",
    "CSATResult",
    "FiveLevelResult",
    "LikertResult",
    "LoyaltyIndexResult",
    "NPSResult",
    "RateResult",
    "Scale",
    "ces",
    "csat",
    "emoji",
    "five_level",
    "likert",
    "loyalty_index_three",
    "loyalty_rate",
    "mean_score",
    "nps",
    "satisfaction_rate",
    "stars",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
By = str | Sequence[str] | None


# --------------------------------------------------------------------------------------------
# The scale registry: every scale's codes, labels and named boxes, defined once.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """One answer scale.

    ``codes`` are the valid answers in ascending order; ``labels`` holds, for
    each code, a catalogue key (``None`` when the number itself is the label);
    ``boxes`` names groups of codes (NPS promoters, the "easy" box of CES ...).
    The catalogue key ``scale.<name>`` holds the scale's title.
    """

    name: str
    codes: tuple[int, ...]
    labels: tuple[str | None, ...]
    boxes: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.codes) or list(self.codes) != sorted(set(self.codes)):
            raise ValueError(f"scale {self.name!r}: codes must ascend and match the labels")

    @property
    def points(self) -> int:
        """How many answer levels the scale has."""
        return len(self.codes)

    @property
    def low(self) -> int:
        return self.codes[0]

    @property
    def high(self) -> int:
        return self.codes[-1]

    def title(self, lang: str | None = None, /) -> str:
        """The scale's name for people."""
        return t(f"scale.{self.name}", lang)

    def label(self, code: int, lang: str | None = None, /) -> str:
        """The label of one answer code, in ``lang`` (the number when it has none)."""
        key = self.labels[self.codes.index(code)]
        return str(code) if key is None else t(key, lang)

    def box(self, name: str, /) -> tuple[int, ...]:
        """The codes of a named box, e.g. ``SCALES["nps"].box("promoters") == (9, 10)``."""
        for box_name, codes in self.boxes:
            if box_name == name:
                return codes
        raise KeyError(name)


def _keys(prefix: str, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"scale.{prefix}.{n}" for n in names)


_SATISFACTION = _keys(
    "satisfaction",
    ("very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied"),
)
FIVE_LEVEL_NAMES: tuple[str, ...] = (
    "very_satisfied",
    "satisfied",
    "neutral",
    "dissatisfied",
    "very_dissatisfied",
)
"""The five levels of SPEC section 1, best first: 很满意 / 满意 / 一般 / 不满意 / 很不满意."""


def _generic(name: str, points: int) -> Scale:
    codes = tuple(range(1, points + 1))
    return Scale(
        name=name,
        codes=codes,
        labels=(None,) * points,
        boxes=(
            ("top", (points,)),
            ("top2", (points - 1, points)),
            ("bottom2", (1, 2)),
        ),
    )


SCALES: Mapping[str, Scale] = MappingProxyType(
    {
        s.name: s
        for s in (
            # Reichheld (2003): "How likely is it that you would recommend [company] to a
            # friend or colleague?", 0 (not at all likely) .. 10 (extremely likely).
            Scale(
                name="nps",
                codes=tuple(range(11)),
                labels=("scale.nps.0", *([None] * 9), "scale.nps.10"),
                boxes=(
                    ("promoters", (9, 10)),
                    ("passives", (7, 8)),
                    ("detractors", (0, 1, 2, 3, 4, 5, 6)),
                ),
            ),
            # CSAT: "How satisfied were you ...?", 1 very dissatisfied .. 5 very satisfied.
            Scale(
                name="csat",
                codes=(1, 2, 3, 4, 5),
                labels=_SATISFACTION,
                boxes=(("top", (5,)), ("top2", (4, 5)), ("bottom2", (1, 2))),
            ),
            # CES 2.0 (Gartner/CEB): "The company made it easy for me to handle my issue",
            # 1 strongly disagree .. 7 strongly agree; higher is easier.
            Scale(
                name="ces",
                codes=(1, 2, 3, 4, 5, 6, 7),
                labels=_keys(
                    "ces",
                    (
                        "strongly_disagree",
                        "disagree",
                        "somewhat_disagree",
                        "neutral",
                        "somewhat_agree",
                        "agree",
                        "strongly_agree",
                    ),
                ),
                boxes=(("easy", (6, 7)),),
            ),
            # Original CES (Dixon, Freeman & Toman 2010): "How much effort did you personally
            # have to put forth to handle your request?", 1 very low .. 5 very high effort.
            Scale(
                name="ces5",
                codes=(1, 2, 3, 4, 5),
                labels=_keys("ces5", ("very_low", "low", "moderate", "high", "very_high")),
                boxes=(("easy", (1, 2)),),
            ),
            # SPEC section 1: 很满意 / 满意 / 一般 / 不满意 / 很不满意, coded 5 .. 1 by default.
            Scale(
                name="five_level",
                codes=(1, 2, 3, 4, 5),
                labels=_SATISFACTION,
                boxes=(("satisfied", (4, 5)), ("very_satisfied", (5,))),
            ),
            Scale(
                name="mean_score",
                codes=tuple(range(1, 11)),
                labels=("scale.mean_score.1", *([None] * 8), "scale.mean_score.10"),
                boxes=(("top", (10,)), ("top2", (9, 10)), ("bottom2", (1, 2))),
            ),
            Scale(
                name="stars",
                codes=(1, 2, 3, 4, 5),
                labels=_keys("stars", ("1", "2", "3", "4", "5")),
                boxes=(("top", (5,)), ("top2", (4, 5)), ("bottom2", (1, 2))),
            ),
            Scale(
                name="emoji3",
                codes=(1, 2, 3),
                labels=_keys("emoji", ("unhappy", "neutral", "happy")),
                boxes=(("top", (3,)), ("top2", (2, 3)), ("bottom2", (1, 2))),
            ),
            Scale(
                name="emoji5",
                codes=(1, 2, 3, 4, 5),
                labels=_keys(
                    "emoji", ("very_unhappy", "unhappy", "neutral", "happy", "very_happy")
                ),
                boxes=(("top", (5,)), ("top2", (4, 5)), ("bottom2", (1, 2))),
            ),
            # SPEC section 4, loyalty index from three indicators.
            Scale(
                name="repurchase",
                codes=(1, 2, 3),
                labels=_keys("repurchase", ("below_30", "from_30_to_70", "above_70")),
            ),
            Scale(
                name="recommend3",
                codes=(1, 2, 3),
                labels=_keys("recommend3", ("not_at_all", "possibly", "very_likely")),
            ),
        )
    }
)
"""Every built-in scale by name."""


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class _ScaleResult:
    """What every scale result shares: the settings used and the warnings."""

    by: tuple[str, ...]
    weight: str | None
    confidence: float
    warnings: tuple[Message, ...] = ()

    method: ClassVar[str] = ""

    def _main(self) -> dict[str, pd.DataFrame]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _overall(self) -> dict[str, pd.DataFrame]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _settings(self) -> dict[str, Any]:
        return {}

    def tables(self) -> dict[str, pd.DataFrame]:
        """The main table(s); with ``by``, also the overall table(s)."""
        out = dict(self._main())
        if self.by:
            out.update(self._overall())
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the method, the settings used and every table as records."""
        head: dict[str, Any] = {"method": self.method}
        head.update(plain(self._settings()))
        head.update(
            {
                "by": list(self.by),
                "weight": self.weight,
                "confidence": self.confidence,
                "tables": {name: records(frame) for name, frame in self.tables().items()},
            }
        )
        return head


@dataclass(frozen=True, eq=False, kw_only=True)
class NPSResult(_ScaleResult):
    """Net Promoter Score.

    ``table`` columns: ``[by...] | n | n_missing | n_eff | promoters | passives |
    detractors | pct_promoters | pct_passives | pct_detractors | nps | se |
    ci_low | ci_high``; ``overall`` has the same columns without ``by``.
    """

    score: str
    table: pd.DataFrame
    overall: pd.DataFrame
    method: ClassVar[str] = "nps"

    @property
    def nps(self) -> float:
        """The overall NPS (-100..100)."""
        return float(self.overall["nps"].iloc[0])

    def _main(self) -> dict[str, pd.DataFrame]:
        return {"nps": self.table}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall}

    def _settings(self) -> dict[str, Any]:
        return {"score": self.score, "scale": "0-10"}


@dataclass(frozen=True, eq=False, kw_only=True)
class CSATResult(_ScaleResult):
    """Customer satisfaction (CSAT) on a 1..``points`` scale.

    ``table`` columns: ``[by...] | n | n_missing | n_eff | mean | sd | se |
    mean_ci_low | mean_ci_high | top_box | top_box_ci_low | top_box_ci_high |
    top2_box | top2_box_ci_low | top2_box_ci_high``.
    """

    score: str
    points: int
    table: pd.DataFrame
    overall: pd.DataFrame
    method: ClassVar[str] = "csat"

    def _main(self) -> dict[str, pd.DataFrame]:
        return {"csat": self.table}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall}

    def _settings(self) -> dict[str, Any]:
        return {"score": self.score, "points": self.points}


@dataclass(frozen=True, eq=False, kw_only=True)
class CESResult(_ScaleResult):
    """Customer Effort Score: CES 2.0 (``points=7``) or the original CES (``points=5``).

    ``table`` columns: ``[by...] | n | n_missing | n_eff | mean | sd | se |
    mean_ci_low | mean_ci_high | easy | easy_ci_low | easy_ci_high``;
    ``easy_codes`` records which answers counted as easy.
    """

    score: str
    points: int
    easy_codes: tuple[int, ...]
    higher_is_easier: bool
    table: pd.DataFrame
    overall: pd.DataFrame
    method: ClassVar[str] = "ces"

    def _main(self) -> dict[str, pd.DataFrame]:
        return {"ces": self.table}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall}

    def _settings(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "points": self.points,
            "version": "2.0" if self.points == 7 else "1.0",
            "easy_codes": list(self.easy_codes),
            "higher_is_easier": self.higher_is_easier,
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class LikertResult(_ScaleResult):
    """A k-point rating scale (generic Likert, 1-10 mean score, stars, emoji faces).

    ``summary`` columns: ``[by...] | n | n_missing | n_eff | mean | sd | se |
    mean_ci_low | mean_ci_high | median | top_box | top2_box | bottom2_box``.
    ``distribution`` columns (one row per group and level): ``[by...] | code |
    label_en | label_zh | count | share``. ``overall`` and
    ``overall_distribution`` are the same over all rows.
    """

    score: str
    scale: Scale
    summary: pd.DataFrame
    distribution: pd.DataFrame
    overall: pd.DataFrame
    overall_distribution: pd.DataFrame
    method: ClassVar[str] = "likert"

    def _main(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "distribution": self.distribution}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall, "overall_distribution": self.overall_distribution}

    def _settings(self) -> dict[str, Any]:
        return {"score": self.score, "scale": self.scale.name, "points": self.scale.points}


@dataclass(frozen=True, eq=False, kw_only=True)
class FiveLevelResult(_ScaleResult):
    """The five-level satisfaction scale of SPEC sections 1, 3 and 4.

    ``summary`` columns: ``[by...] | n | n_missing | n_eff | mean | sd | se |
    mean_ci_low | mean_ci_high | max_score | dc | dc_ci_low | dc_ci_high |
    satisfaction_rate | satisfaction_rate_ci_low | satisfaction_rate_ci_high |
    very_satisfied | very_satisfied_ci_low | very_satisfied_ci_high``.
    ``distribution`` columns: ``[by...] | level | code | label_en | label_zh |
    level_score | count | share`` (very satisfied first). ``level_scores`` and
    ``codes`` record the scores and codes used, very satisfied first.
    """

    score: str
    level_scores: tuple[float, ...]
    codes: tuple[float, ...]
    summary: pd.DataFrame
    distribution: pd.DataFrame
    overall: pd.DataFrame
    overall_distribution: pd.DataFrame
    method: ClassVar[str] = "five_level"

    @property
    def max_score(self) -> float:
        return max(self.level_scores)

    def _main(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "distribution": self.distribution}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall, "overall_distribution": self.overall_distribution}

    def _settings(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "levels": list(FIVE_LEVEL_NAMES),
            "level_scores": list(self.level_scores),
            "codes": list(self.codes),
            "max_score": self.max_score,
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class RateResult(_ScaleResult):
    """A rate (satisfaction rate, loyalty rate): the share of answers that count.

    ``table`` columns: ``[by...] | n | n_missing | n_eff | <counted> | rate |
    ci_low | ci_high`` where ``<counted>`` is ``satisfied`` or ``loyal`` (the
    weighted count). ``definition`` records how an answer was counted.
    """

    kind: str
    column: str
    definition: Mapping[str, Any]
    table: pd.DataFrame
    overall: pd.DataFrame

    def _main(self) -> dict[str, pd.DataFrame]:
        return {self.kind: self.table}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall}

    def _settings(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "definition": dict(self.definition)}

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["method"] = self.kind
        return out


@dataclass(frozen=True, eq=False, kw_only=True)
class LoyaltyIndexResult(_ScaleResult):
    """Loyalty index from three indicators (SPEC section 4).

    ``table`` columns: ``[by...] | n | n_missing | n_eff | satisfaction |
    repurchase | recommend | index | sd | se | ci_low | ci_high``; the three
    indicator columns are weighted means of the indicators scaled to 0..1 and
    ``index`` is their combination with ``weights`` (summing to 1).
    """

    columns: tuple[str, str, str]
    weights: tuple[float, float, float]
    codes: Mapping[str, tuple[float, ...]]
    table: pd.DataFrame
    overall: pd.DataFrame
    method: ClassVar[str] = "loyalty_index_three"

    def _main(self) -> dict[str, pd.DataFrame]:
        return {"loyalty_index": self.table}

    def _overall(self) -> dict[str, pd.DataFrame]:
        return {"overall": self.overall}

    def _settings(self) -> dict[str, Any]:
        return {
            "columns": dict(
                zip(("satisfaction", "repurchase", "recommend"), self.columns, strict=True)
            ),
            "weights": dict(
                zip(("satisfaction", "repurchase", "recommend"), self.weights, strict=True)
            ),
            "codes": {k: list(v) for k, v in self.codes.items()},
        }


# --------------------------------------------------------------------------------------------
# Validation and preparation
# --------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as a person would type it (11 rather than 11.0)."""
    if (
        isinstance(value, (float, np.floating))
        and math.isfinite(value)
        and float(value) == int(value)
    ):
        return str(int(value))
    return str(value)


def _by_columns(by: By) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    cols = tuple(by)
    if not all(isinstance(c, str) for c in cols):
        raise ValidationError("scales.bad_by", value=repr(by))
    return cols


def _check_frame(data: Any, columns: Sequence[str | None]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("scales.not_a_frame", kind=type(data).__name__)
    wanted = [c for c in columns if c is not None]
    missing = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def _z(confidence: float) -> float:
    if not isinstance(confidence, (int, float)) or not 0.0 < float(confidence) < 1.0:
        raise ValidationError("scales.bad_confidence", value=str(confidence))
    from scipy import stats  # imported on use: keeps the command line quick to start

    return float(stats.norm.ppf(0.5 + float(confidence) / 2.0))


def _weights(data: pd.DataFrame, weight: str | None) -> FloatArray:
    if weight is None:
        return np.ones(len(data), dtype=np.float64)
    raw = data[weight]
    if pd.api.types.is_bool_dtype(raw):
        raise ValidationError("scales.bad_weight", column=weight, value=_show(raw.iloc[0]))
    values = pd.to_numeric(_stripped(raw), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        shown = raw.iloc[first]
        raise ValidationError(
            "scales.bad_weight",
            column=weight,
            value="(missing)" if pd.isna(shown) else _show(shown),
        )
    return values


def _decat(series: pd.Series[Any]) -> pd.Series[Any]:
    """A categorical column as its plain values (answers read as categories, e.g. from SPSS)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object)
    return series


def _stripped(series: pd.Series[Any]) -> pd.Series[Any]:
    series = _decat(series)
    if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        return series.astype("string").str.strip()
    return series


def _norm_text(value: str) -> str:
    return " ".join(value.casefold().replace("_", " ").split())


def _norm_series(series: pd.Series[Any]) -> pd.Series[Any]:
    """:func:`_norm_text` over a whole column, vectorised; missing stays missing."""
    return (
        series.astype("string")
        .str.casefold()
        .str.replace("_", " ", regex=False)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def _label_map(scale: Scale, order: Sequence[int]) -> dict[str, int]:
    """Label text (en and zh, normalised) → level index, following ``order`` (codes)."""
    out: dict[str, int] = {}
    for i, code in enumerate(order):
        key = scale.labels[scale.codes.index(code)]
        if key is None:
            continue
        for lang in ("en", "zh"):
            out[_norm_text(t(key, lang))] = i
    return out


def _index(
    series: pd.Series[Any],
    codes: Sequence[float],
    *,
    column: str,
    labels: Mapping[str, int] | None = None,
    range_: tuple[float, float] | None = None,
) -> IntArray:
    """Map answers to level indices (the position in ``codes``); -1 for a missing answer.

    Raises ValidationError naming the column and the first value that is not on the scale.
    """
    series = _decat(series)
    missing = series.isna().to_numpy(dtype=np.bool_)
    idx = np.full(len(series), -1, dtype=np.int64)
    matched = np.zeros(len(series), dtype=np.bool_)
    if pd.api.types.is_bool_dtype(series):
        bad = ~missing
    else:
        work = _stripped(series)
        if labels and (
            pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
        ):
            by_label = np.nan_to_num(
                _norm_series(work).map(dict(labels)).to_numpy(dtype=np.float64, na_value=np.nan),
                nan=-1.0,
            ).astype(np.int64)
            matched = by_label >= 0
            idx[matched] = by_label[matched]
        values = pd.to_numeric(work.where(~matched), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        code_arr = np.asarray(codes, dtype=np.float64)
        order = np.argsort(code_arr, kind="stable")
        ordered = code_arr[order]
        pos = np.clip(np.searchsorted(ordered, values), 0, len(ordered) - 1)
        hit = (ordered[pos] == values) & ~matched
        idx[hit] = order[pos[hit]]
        bad = ~missing & ~matched & ~hit
    if bad.any():
        first = series.iloc[int(np.flatnonzero(bad)[0])]
        params: dict[str, Any] = {"column": column, "value": _show(first), "n_bad": int(bad.sum())}
        if range_ is not None:
            raise ValidationError(
                "scales.bad_value_range", low=_show(range_[0]), high=_show(range_[1]), **params
            )
        raise ValidationError(
            "scales.bad_value_codes", allowed=", ".join(_show(c) for c in codes), **params
        )
    return idx


@dataclass(frozen=True)
class _Groups:
    """Row → group id, and one row of key values per group."""

    gid: IntArray
    keys: pd.DataFrame
    by: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.keys)

    def describe(self, i: int) -> str:
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


@dataclass(frozen=True)
class _Tally:
    """Per-group sufficient statistics of a discrete answer (levels in a fixed order)."""

    n: IntArray
    n_missing: IntArray
    sw: FloatArray
    sw2: FloatArray
    counts: FloatArray  # (groups, levels): weighted count of each level

    @property
    def n_eff(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(self.sw2 > 0, self.sw**2 / self.sw2, 0.0)
        return out

    def total(self) -> _Tally:
        return _Tally(
            n=self.n.sum(keepdims=True),
            n_missing=self.n_missing.sum(keepdims=True),
            sw=self.sw.sum(keepdims=True),
            sw2=self.sw2.sum(keepdims=True),
            counts=self.counts.sum(axis=0, keepdims=True),
        )


def _tally(idx: IntArray, levels: int, groups: _Groups, w: FloatArray) -> _Tally:
    valid = idx >= 0
    g = groups.gid
    size = groups.size
    gv = g[valid]
    wv = w[valid]
    return _Tally(
        n=np.bincount(gv, minlength=size).astype(np.int64),
        n_missing=np.bincount(g[~valid], minlength=size).astype(np.int64),
        sw=np.bincount(gv, weights=wv, minlength=size).astype(np.float64),
        sw2=np.bincount(gv, weights=wv * wv, minlength=size).astype(np.float64),
        counts=np.bincount(gv * levels + idx[valid], weights=wv, minlength=size * levels)
        .astype(np.float64)
        .reshape(size, levels),
    )


@dataclass(frozen=True)
class _Prepared:
    data: pd.DataFrame
    by: tuple[str, ...]
    groups: _Groups
    w: FloatArray
    z: float


def _prepare(
    data: Any,
    /,
    *,
    columns: Sequence[str | None],
    by: By,
    weight: str | None,
    confidence: float,
) -> _Prepared:
    by_cols = _by_columns(by)
    frame = _check_frame(data, [*columns, *by_cols, weight])
    z = _z(confidence)
    w = _weights(frame, weight)
    return _Prepared(frame, by_cols, _groups(frame, by_cols), w, z)


# --------------------------------------------------------------------------------------------
# Statistics, vectorised over groups
# --------------------------------------------------------------------------------------------


def _share(part: FloatArray, sw: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(sw > 0, part / np.where(sw > 0, sw, 1.0), np.nan)
    return out


def _wilson(p: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson (1927) score interval for a proportion ``p`` observed on ``n`` (here n_eff)."""
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


@dataclass(frozen=True)
class _Moments:
    mean: FloatArray
    sd: FloatArray
    se: FloatArray
    low: FloatArray
    high: FloatArray


def _moments(
    sw: FloatArray,
    mean: FloatArray,
    ss: FloatArray,
    n_eff: FloatArray,
    confidence: float,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> _Moments:
    """sd, se and t-interval from the weighted sum of squared deviations ``ss``.

    The interval is clipped to ``bounds`` (the range of the scale).
    """
    ok = n_eff > 1.0 + 1e-12
    safe_sw = np.where(sw > 0, sw, 1.0)
    safe_n = np.where(ok, n_eff, 2.0)
    var = np.clip(ss, 0.0, None) / safe_sw * safe_n / (safe_n - 1.0)
    sd = np.where(ok, np.sqrt(var), np.nan)
    se = np.where(ok, sd / np.sqrt(safe_n), np.nan)
    from scipy import stats

    tq = np.asarray(stats.t.ppf(0.5 + confidence / 2.0, safe_n - 1.0), dtype=np.float64)
    return _Moments(
        mean=mean,
        sd=sd,
        se=se,
        low=np.where(ok, np.clip(mean - tq * se, *bounds), np.nan),
        high=np.where(ok, np.clip(mean + tq * se, *bounds), np.nan),
    )


def _level_moments(tally: _Tally, values: FloatArray, confidence: float) -> _Moments:
    mean = _share(tally.counts @ values, tally.sw)
    centred = values[None, :] - np.where(np.isfinite(mean), mean, 0.0)[:, None]
    ss = (tally.counts * centred**2).sum(axis=1)
    bounds = (float(values.min()), float(values.max()))
    return _moments(tally.sw, mean, ss, tally.n_eff, confidence, bounds)


def _median(tally: _Tally, values: FloatArray) -> FloatArray:
    """Weighted median of a discrete answer; halfway between two levels on an exact tie."""
    order = np.argsort(values, kind="stable")
    vals = values[order]
    counts = tally.counts[:, order]
    cum = np.cumsum(counts, axis=1)
    total = tally.sw[:, None]
    half = total / 2.0
    tol = 1e-9 * np.maximum(total, 1.0)
    lo = np.argmax(cum >= half - tol, axis=1)
    rows = np.arange(counts.shape[0])
    at_tie = np.abs(cum[rows, lo] - half[:, 0]) <= tol[:, 0]
    later = (np.arange(len(vals))[None, :] > lo[:, None]) & (counts > 0)
    hi = np.where(later.any(axis=1), np.argmax(later, axis=1), lo)
    med = np.where(at_tie, (vals[lo] + vals[hi]) / 2.0, vals[lo])
    out: FloatArray = np.where(tally.sw > 0, med, np.nan)
    return out


def _box(tally: _Tally, positions: Sequence[int]) -> FloatArray:
    out: FloatArray = tally.counts[:, list(positions)].sum(axis=1)
    return out


def _count_column(values: FloatArray, weighted: bool) -> Any:
    return values if weighted else np.rint(values).astype(np.int64)


def _frame(keys: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    figures = pd.DataFrame(dict(columns), index=range(len(keys)))
    return pd.concat([keys.reset_index(drop=True), figures], axis=1)


def _base(tally: _Tally) -> dict[str, Any]:
    return {"n": tally.n, "n_missing": tally.n_missing, "n_eff": tally.n_eff}


def _empty_warnings(tally: _Tally, groups: _Groups, column: str) -> tuple[Message, ...]:
    out: list[Message] = []
    if groups.by:
        for i in np.flatnonzero(tally.sw <= 0):
            out.append(
                Message("scales.empty_group", {"group": groups.describe(int(i)), "column": column})
            )
    if float(tally.sw.sum()) <= 0:
        out.append(Message("scales.no_answers", {"column": column}))
    return tuple(out)


def _overall_keys() -> pd.DataFrame:
    return pd.DataFrame(index=range(1))


# --------------------------------------------------------------------------------------------
# NPS
# --------------------------------------------------------------------------------------------


def _nps_table(tally: _Tally, keys: pd.DataFrame, z: float, weighted: bool) -> pd.DataFrame:
    scale = SCALES["nps"]
    pos = {name: [scale.codes.index(c) for c in codes] for name, codes in scale.boxes}
    promoters = _box(tally, pos["promoters"])
    passives = _box(tally, pos["passives"])
    detractors = _box(tally, pos["detractors"])
    p_p = _share(promoters, tally.sw)
    p_n = _share(passives, tally.sw)
    p_d = _share(detractors, tally.sw)
    score = 100.0 * (p_p - p_d)
    n_eff = tally.n_eff
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.clip(p_p + p_d - (p_p - p_d) ** 2, 0.0, None)
        se = np.where(n_eff > 0, 100.0 * np.sqrt(var / np.where(n_eff > 0, n_eff, 1.0)), np.nan)
    return _frame(
        keys,
        {
            **_base(tally),
            "promoters": _count_column(promoters, weighted),
            "passives": _count_column(passives, weighted),
            "detractors": _count_column(detractors, weighted),
            "pct_promoters": p_p,
            "pct_passives": p_n,
            "pct_detractors": p_d,
            "nps": score,
            "se": se,
            "ci_low": np.clip(score - z * se, -100.0, 100.0),
            "ci_high": np.clip(score + z * se, -100.0, 100.0),
        },
    )


def nps(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> NPSResult:
    """Net Promoter Score (Reichheld 2003) of 0-10 likelihood-to-recommend answers.

    Promoters answer 9-10, passives 7-8, detractors 0-6; NPS = 100 · (share of
    promoters − share of detractors), from -100 to 100. Its standard error
    follows from the multinomial variance of the +1/0/−1 scoring::

        se = 100 · sqrt((p_P + p_D − (p_P − p_D)²) / n_eff)

    and the interval is NPS ± z·se (z for ``confidence`` from the normal
    distribution), clipped to [-100, 100].

    >>> import pandas as pd
    >>> nps(pd.DataFrame({"q": [10, 9, 8, 2]}), score="q").nps
    25.0
    """
    prep = _prepare(data, columns=[score], by=by, weight=weight, confidence=confidence)
    scale = SCALES["nps"]
    idx = _index(
        prep.data[score], scale.codes, column=score, range_=(float(scale.low), float(scale.high))
    )
    tally = _tally(idx, scale.points, prep.groups, prep.w)
    weighted = weight is not None
    return NPSResult(
        score=score,
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        table=_nps_table(tally, prep.groups.keys, prep.z, weighted),
        overall=_nps_table(tally.total(), _overall_keys(), prep.z, weighted),
        warnings=_empty_warnings(tally, prep.groups, score),
    )


# --------------------------------------------------------------------------------------------
# CSAT and CES
# --------------------------------------------------------------------------------------------


def _points(points: Any, allowed: Sequence[int] | None = None) -> int:
    ok = isinstance(points, (int, np.integer)) and not isinstance(points, bool) and points >= 3
    if ok and allowed is not None:
        ok = int(points) in allowed
    if not ok:
        raise ValidationError(
            "scales.bad_points",
            value=str(points),
            allowed=", ".join(str(a) for a in allowed) if allowed else ">= 3",
        )
    return int(points)


def _csat_table(
    tally: _Tally, keys: pd.DataFrame, values: FloatArray, z: float, confidence: float
) -> pd.DataFrame:
    m = _level_moments(tally, values, confidence)
    points = len(values)
    top = _share(_box(tally, [points - 1]), tally.sw)
    top2 = _share(_box(tally, [points - 2, points - 1]), tally.sw)
    top_lo, top_hi = _wilson(top, tally.n_eff, z)
    top2_lo, top2_hi = _wilson(top2, tally.n_eff, z)
    return _frame(
        keys,
        {
            **_base(tally),
            "mean": m.mean,
            "sd": m.sd,
            "se": m.se,
            "mean_ci_low": m.low,
            "mean_ci_high": m.high,
            "top_box": top,
            "top_box_ci_low": top_lo,
            "top_box_ci_high": top_hi,
            "top2_box": top2,
            "top2_box_ci_low": top2_lo,
            "top2_box_ci_high": top2_hi,
        },
    )


def csat(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    points: int = 5,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> CSATResult:
    """Customer satisfaction (CSAT) on a 1..``points`` scale (default 1-5, 5 = very satisfied).

    Reports the top-box share (answers equal to ``points``), the top-2-box
    share (``points`` and ``points - 1``; the usual "CSAT %"), both with
    Wilson intervals, and the mean with a t-interval.

    >>> import pandas as pd
    >>> r = csat(pd.DataFrame({"q": [5, 4, 4, 3]}), score="q")
    >>> float(r.table["top2_box"].iloc[0])
    0.75
    """
    k = _points(points)
    prep = _prepare(data, columns=[score], by=by, weight=weight, confidence=confidence)
    codes = tuple(range(1, k + 1))
    idx = _index(prep.data[score], codes, column=score, range_=(1.0, float(k)))
    tally = _tally(idx, k, prep.groups, prep.w)
    values = np.asarray(codes, dtype=np.float64)
    return CSATResult(
        score=score,
        points=k,
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        table=_csat_table(tally, prep.groups.keys, values, prep.z, confidence),
        overall=_csat_table(tally.total(), _overall_keys(), values, prep.z, confidence),
        warnings=_empty_warnings(tally, prep.groups, score),
    )


def _ces_table(
    tally: _Tally,
    keys: pd.DataFrame,
    values: FloatArray,
    easy_pos: Sequence[int],
    z: float,
    confidence: float,
) -> pd.DataFrame:
    m = _level_moments(tally, values, confidence)
    easy = _share(_box(tally, easy_pos), tally.sw)
    lo, hi = _wilson(easy, tally.n_eff, z)
    return _frame(
        keys,
        {
            **_base(tally),
            "mean": m.mean,
            "sd": m.sd,
            "se": m.se,
            "mean_ci_low": m.low,
            "mean_ci_high": m.high,
            "easy": easy,
            "easy_ci_low": lo,
            "easy_ci_high": hi,
        },
    )


def ces(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    points: int = 7,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> CESResult:
    """Customer Effort Score.

    ``points=7`` (default) is CES 2.0: agreement with "the company made it
    easy for me to handle my issue", 1 strongly disagree .. 7 strongly agree,
    so a higher mean is easier; "easy" is the share answering 6 or 7.
    ``points=5`` is the original CES of Dixon, Freeman & Toman (2010): "how
    much effort did you personally have to put forth", 1 very low .. 5 very
    high effort, so a higher mean is *more effort*; "easy" is the share
    answering 1 or 2. Reports the mean with a t-interval and the easy share
    with a Wilson interval.

    >>> import pandas as pd
    >>> float(ces(pd.DataFrame({"q": [7, 6, 5, 2]}), score="q").table["easy"].iloc[0])
    0.5
    """
    k = _points(points, (5, 7))
    scale = SCALES["ces" if k == 7 else "ces5"]
    prep = _prepare(data, columns=[score], by=by, weight=weight, confidence=confidence)
    idx = _index(
        prep.data[score], scale.codes, column=score, range_=(float(scale.low), float(scale.high))
    )
    tally = _tally(idx, k, prep.groups, prep.w)
    values = np.asarray(scale.codes, dtype=np.float64)
    easy_codes = scale.box("easy")
    easy_pos = [scale.codes.index(c) for c in easy_codes]
    return CESResult(
        score=score,
        points=k,
        easy_codes=easy_codes,
        higher_is_easier=k == 7,
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        table=_ces_table(tally, prep.groups.keys, values, easy_pos, prep.z, confidence),
        overall=_ces_table(tally.total(), _overall_keys(), values, easy_pos, prep.z, confidence),
        warnings=_empty_warnings(tally, prep.groups, score),
    )


# --------------------------------------------------------------------------------------------
# k-point ratings
# --------------------------------------------------------------------------------------------


def _label_columns(scale: Scale, order: Sequence[int]) -> dict[str, list[str]]:
    return {
        "label_en": [scale.label(c, "en") for c in order],
        "label_zh": [scale.label(c, "zh") for c in order],
    }


def _distribution(
    tally: _Tally,
    keys: pd.DataFrame,
    level_columns: Mapping[str, Sequence[Any]],
    weighted: bool,
) -> pd.DataFrame:
    groups, levels = tally.counts.shape
    rep_keys = keys.iloc[np.repeat(np.arange(groups), levels)].reset_index(drop=True)
    shares = _share(tally.counts, tally.sw[:, None] * np.ones((1, levels)))
    columns: dict[str, Any] = {
        name: np.tile(np.asarray(list(values), dtype=object), groups)
        for name, values in level_columns.items()
    }
    columns["count"] = _count_column(tally.counts.reshape(-1), weighted)
    columns["share"] = shares.reshape(-1)
    frame = _frame(rep_keys, columns)
    for name, values in level_columns.items():  # keep numbers numeric, text text
        sample = list(values)
        if sample and all(isinstance(v, (int, float, np.integer, np.floating)) for v in sample):
            frame[name] = pd.to_numeric(frame[name])
        else:
            frame[name] = frame[name].astype("str")
    return frame


def _likert_summary(
    tally: _Tally, keys: pd.DataFrame, scale: Scale, confidence: float
) -> pd.DataFrame:
    values = np.asarray(scale.codes, dtype=np.float64)
    m = _level_moments(tally, values, confidence)
    pos = {name: [scale.codes.index(c) for c in codes] for name, codes in scale.boxes}
    return _frame(
        keys,
        {
            **_base(tally),
            "mean": m.mean,
            "sd": m.sd,
            "se": m.se,
            "mean_ci_low": m.low,
            "mean_ci_high": m.high,
            "median": _median(tally, values),
            "top_box": _share(_box(tally, pos["top"]), tally.sw),
            "top2_box": _share(_box(tally, pos["top2"]), tally.sw),
            "bottom2_box": _share(_box(tally, pos["bottom2"]), tally.sw),
        },
    )


def _likert(
    data: pd.DataFrame,
    /,
    *,
    scale: Scale,
    score: str,
    by: By,
    weight: str | None,
    confidence: float,
) -> LikertResult:
    prep = _prepare(data, columns=[score], by=by, weight=weight, confidence=confidence)
    idx = _index(
        prep.data[score],
        scale.codes,
        column=score,
        labels=_label_map(scale, scale.codes),
        range_=(float(scale.low), float(scale.high)),
    )
    tally = _tally(idx, scale.points, prep.groups, prep.w)
    total = tally.total()
    weighted = weight is not None
    level_columns: dict[str, Sequence[Any]] = {
        "code": list(scale.codes),
        **_label_columns(scale, scale.codes),
    }
    return LikertResult(
        score=score,
        scale=scale,
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        summary=_likert_summary(tally, prep.groups.keys, scale, confidence),
        distribution=_distribution(tally, prep.groups.keys, level_columns, weighted),
        overall=_likert_summary(total, _overall_keys(), scale, confidence),
        overall_distribution=_distribution(total, _overall_keys(), level_columns, weighted),
        warnings=_empty_warnings(tally, prep.groups, score),
    )


def likert(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    points: int,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> LikertResult:
    """A generic k-point rating scale coded 1..``points`` (higher is better).

    ``summary``: mean (t-interval), sd, median (halfway between two levels
    on an exact tie), top-box (= ``points``), top-2-box and bottom-2-box
    (1 and 2) shares. ``distribution``: the share of every level.

    >>> import pandas as pd
    >>> float(likert(pd.DataFrame({"q": [1, 2, 3, 4]}), score="q", points=4).summary["median"].iloc[0])
    2.5
    """
    k = _points(points)
    return _likert(
        data,
        scale=_generic(f"likert{k}", k),
        score=score,
        by=by,
        weight=weight,
        confidence=confidence,
    )


def mean_score(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> LikertResult:
    """Mean score on the 1-10 scale (SPEC section 1); same tables as :func:`likert`."""
    return _likert(
        data, scale=SCALES["mean_score"], score=score, by=by, weight=weight, confidence=confidence
    )


def stars(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> LikertResult:
    """Star ratings, 1 to 5 stars; same tables as :func:`likert`, levels labelled "1 star" ..."""
    return _likert(
        data, scale=SCALES["stars"], score=score, by=by, weight=weight, confidence=confidence
    )


def emoji(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    levels: int = 5,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> LikertResult:
    """Emoji faces, 3 (unhappy / neutral / happy) or 5 levels coded 1..levels, happiest highest.

    Answers may also be the face labels in English or Chinese (e.g. "happy", "开心").
    """
    k = _points(levels, (3, 5))
    return _likert(
        data,
        scale=SCALES[f"emoji{k}"],
        score=score,
        by=by,
        weight=weight,
        confidence=confidence,
    )


# --------------------------------------------------------------------------------------------
# The five-level satisfaction scale
# --------------------------------------------------------------------------------------------


def _num(value: float) -> float:
    """A whole number as an int (5 rather than 5.0), for tables and JSON."""
    return int(value) if float(value).is_integer() else float(value)


def _five_numbers(values: Sequence[float], what: str) -> tuple[float, ...]:
    try:
        out = tuple(_num(float(v)) for v in values)
    except (TypeError, ValueError):
        raise ValidationError("scales.bad_five", what=what, value=repr(values)) from None
    if len(out) != 5 or not all(math.isfinite(v) for v in out):
        raise ValidationError("scales.bad_five", what=what, value=repr(values))
    return out


def _five_summary(
    tally: _Tally,
    keys: pd.DataFrame,
    scores: FloatArray,
    z: float,
    confidence: float,
) -> pd.DataFrame:
    m = _level_moments(tally, scores, confidence)
    top = float(scores.max())
    satisfied = _share(_box(tally, [0, 1]), tally.sw)
    very = _share(_box(tally, [0]), tally.sw)
    sat_lo, sat_hi = _wilson(satisfied, tally.n_eff, z)
    very_lo, very_hi = _wilson(very, tally.n_eff, z)
    return _frame(
        keys,
        {
            **_base(tally),
            "mean": m.mean,
            "sd": m.sd,
            "se": m.se,
            "mean_ci_low": m.low,
            "mean_ci_high": m.high,
            "max_score": np.full(len(tally.n), top),
            "dc": m.mean / top,
            "dc_ci_low": m.low / top,
            "dc_ci_high": m.high / top,
            "satisfaction_rate": satisfied,
            "satisfaction_rate_ci_low": sat_lo,
            "satisfaction_rate_ci_high": sat_hi,
            "very_satisfied": very,
            "very_satisfied_ci_low": very_lo,
            "very_satisfied_ci_high": very_hi,
        },
    )


def five_level(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    level_scores: Sequence[float] = (5, 4, 3, 2, 1),
    codes: Sequence[float] = (5, 4, 3, 2, 1),
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> FiveLevelResult:
    """The five-level scale 很满意 / 满意 / 一般 / 不满意 / 很不满意 (SPEC sections 1, 3, 4).

    ``codes`` are the values in the data for very satisfied, satisfied,
    neutral, dissatisfied, very dissatisfied (in that order; default 5..1);
    answers may also be the level labels in Chinese or English ("很满意",
    "very satisfied"). ``level_scores`` are the scores x_j of those levels
    (default 5..1; 100, 80, 60, 40, 20 is common too); the result records
    them. Per group:

    - ``mean``: the mean level score Σ x_j·n_j / Σ n_j, with a t-interval;
    - ``dc``: the standardised score DC = Σ x_j·n_j / (x_max · Σ n_j), the
      mean divided by the best possible score (SPEC section 4);
    - ``satisfaction_rate``: the share answering very satisfied or satisfied
      (satisfied customers / all customers, SPEC section 4), Wilson interval;
    - ``very_satisfied``: the very-satisfied share on its own (SPEC section 3,
      item 8: the top box predicts loyalty), Wilson interval.

    >>> import pandas as pd
    >>> r = five_level(pd.DataFrame({"q": [5, 4, 4, 3, 1]}), score="q")
    >>> round(float(r.overall["dc"].iloc[0]), 6)
    0.68
    """
    scores = _five_numbers(level_scores, "level_scores")
    code_values = _five_numbers(codes, "codes")
    if len(set(code_values)) != 5:
        raise ValidationError("scales.bad_five", what="codes", value=repr(codes))
    if max(scores) <= 0:
        raise ValidationError("scales.bad_level_scores", value=repr(level_scores))
    prep = _prepare(data, columns=[score], by=by, weight=weight, confidence=confidence)
    scale = SCALES["five_level"]
    order = (5, 4, 3, 2, 1)  # the registry's codes for very satisfied .. very dissatisfied
    idx = _index(prep.data[score], code_values, column=score, labels=_label_map(scale, order))
    tally = _tally(idx, 5, prep.groups, prep.w)
    total = tally.total()
    score_arr = np.asarray(scores, dtype=np.float64)
    weighted = weight is not None
    level_columns: dict[str, Sequence[Any]] = {
        "level": list(FIVE_LEVEL_NAMES),
        "code": list(code_values),
        **_label_columns(scale, order),
        "level_score": list(scores),
    }
    return FiveLevelResult(
        score=score,
        level_scores=scores,
        codes=code_values,
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        summary=_five_summary(tally, prep.groups.keys, score_arr, prep.z, confidence),
        distribution=_distribution(tally, prep.groups.keys, level_columns, weighted),
        overall=_five_summary(total, _overall_keys(), score_arr, prep.z, confidence),
        overall_distribution=_distribution(total, _overall_keys(), level_columns, weighted),
        warnings=_empty_warnings(tally, prep.groups, score),
    )


# --------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------


def _rate_table(
    tally: _Tally, keys: pd.DataFrame, counted: str, z: float, weighted: bool
) -> pd.DataFrame:
    hits = tally.counts[:, 1]
    rate = _share(hits, tally.sw)
    lo, hi = _wilson(rate, tally.n_eff, z)
    return _frame(
        keys,
        {
            **_base(tally),
            counted: _count_column(hits, weighted),
            "rate": rate,
            "ci_low": lo,
            "ci_high": hi,
        },
    )


def _rate(
    prep: _Prepared,
    flag: IntArray,
    *,
    kind: str,
    counted: str,
    column: str,
    definition: Mapping[str, Any],
    weight: str | None,
    confidence: float,
) -> RateResult:
    tally = _tally(flag, 2, prep.groups, prep.w)
    weighted = weight is not None
    return RateResult(
        kind=kind,
        column=column,
        definition=dict(definition),
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        table=_rate_table(tally, prep.groups.keys, counted, prep.z, weighted),
        overall=_rate_table(tally.total(), _overall_keys(), counted, prep.z, weighted),
        warnings=_empty_warnings(tally, prep.groups, column),
    )


def _threshold_flag(series: pd.Series[Any], threshold: float, column: str) -> IntArray:
    if (
        not isinstance(threshold, (int, float))
        or isinstance(threshold, bool)
        or not math.isfinite(threshold)
    ):
        raise ValidationError("scales.bad_threshold", value=repr(threshold))
    series = _decat(series)
    missing = series.isna().to_numpy(dtype=np.bool_)
    values = pd.to_numeric(_stripped(series), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = ~missing & ~np.isfinite(values)
    if pd.api.types.is_bool_dtype(series):
        bad = ~missing
    if bad.any():
        first = series.iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "scales.bad_number", column=column, value=_show(first), n_bad=int(bad.sum())
        )
    return np.where(missing, -1, (values >= threshold).astype(np.int64)).astype(np.int64)


def satisfaction_rate(
    data: pd.DataFrame,
    /,
    *,
    score: str,
    satisfied: Sequence[float | str] | None = None,
    threshold: float | None = None,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> RateResult:
    """Satisfaction rate = satisfied customers / all customers (SPEC section 4).

    An answer counts as satisfied when it is one of ``satisfied`` (default
    ``(4, 5)``: satisfied and very satisfied on a 1-5 scale; text answers such
    as ``("满意", "很满意")`` work too), or, with ``threshold``, when it is at
    least ``threshold``. Give one of the two. Reports the (weighted) count,
    the rate and its Wilson interval; the table is called ``satisfaction_rate``
    and the count column ``satisfied``.

    >>> import pandas as pd
    >>> r = satisfaction_rate(pd.DataFrame({"q": [5, 4, 3, 2]}), score="q")
    >>> float(r.overall["rate"].iloc[0])
    0.5
    """
    if satisfied is not None and threshold is not None:
        raise ValidationError("scales.rate_one_rule", first="satisfied", second="threshold")
    prep = _prepare(data, columns=[score], by=by, weight=weight, confidence=confidence)
    series = prep.data[score]
    definition: dict[str, Any]
    if threshold is not None:
        flag = _threshold_flag(series, threshold, score)
        definition = {"threshold": threshold}
    else:
        chosen: tuple[float | str, ...] = tuple(satisfied) if satisfied is not None else (4, 5)
        if not chosen:
            raise ValidationError("scales.rate_one_rule", first="satisfied", second="threshold")
        flag = _member_flag(series, chosen, score)
        definition = {"satisfied": list(chosen)}
    return _rate(
        prep,
        flag,
        kind="satisfaction_rate",
        counted="satisfied",
        column=score,
        definition=definition,
        weight=weight,
        confidence=confidence,
    )


def _member_flag(series: pd.Series[Any], chosen: Sequence[float | str], column: str) -> IntArray:
    series = _decat(series)
    missing = series.isna().to_numpy(dtype=np.bool_)
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in chosen):
        values = pd.to_numeric(_stripped(series), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        bad = ~missing & ~np.isfinite(values)
        if pd.api.types.is_bool_dtype(series):
            bad = ~missing
        if bad.any():
            first = series.iloc[int(np.flatnonzero(bad)[0])]
            raise ValidationError(
                "scales.bad_number", column=column, value=_show(first), n_bad=int(bad.sum())
            )
        hit = np.isin(values, np.asarray(chosen, dtype=np.float64))
    else:
        wanted = sorted({_norm_text(str(c)) for c in chosen})
        hit = _norm_series(series).isin(wanted).to_numpy(dtype=np.bool_, na_value=False)
    return np.where(missing, -1, hit.astype(np.int64)).astype(np.int64)


_TRUE = frozenset({"1", "true", "t", "yes", "y", "是", "真", "忠诚"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "否", "假", "不忠诚"})


def _boolean_flag(series: pd.Series[Any], column: str) -> IntArray:
    series = _decat(series)
    missing = series.isna().to_numpy(dtype=np.bool_)
    if pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isin(values, (0.0, 1.0)), values, np.inf)
    else:
        mapping = {**dict.fromkeys(_TRUE, 1.0), **dict.fromkeys(_FALSE, 0.0)}
        values = _norm_series(series).map(mapping).to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values) & ~missing, np.inf, values)
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        first = series.iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            "scales.bad_boolean", column=column, value=_show(first), n_bad=int(bad.sum())
        )
    return np.where(missing, -1, np.nan_to_num(values).astype(np.int64)).astype(np.int64)


def loyalty_rate(
    data: pd.DataFrame,
    /,
    *,
    loyal: str | None = None,
    score: str | None = None,
    threshold: float | None = None,
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> RateResult:
    """Loyalty rate = loyal customers / all customers (SPEC section 4).

    Either ``loyal`` names a yes/no column (booleans, 1/0, or text such as
    true/false, yes/no, 是/否), or ``score`` and ``threshold`` say that a
    customer is loyal when ``score >= threshold``. Reports the (weighted)
    count, the rate and its Wilson interval; the table is called
    ``loyalty_rate`` and the count column ``loyal``.

    >>> import pandas as pd
    >>> r = loyalty_rate(pd.DataFrame({"l": [True, False, True, True]}), loyal="l")
    >>> float(r.overall["rate"].iloc[0])
    0.75
    """
    if (loyal is None) == (score is None) or (score is not None and threshold is None):
        raise ValidationError("scales.loyal_rule")
    column = loyal if loyal is not None else str(score)
    prep = _prepare(data, columns=[column], by=by, weight=weight, confidence=confidence)
    if loyal is not None:
        flag = _boolean_flag(prep.data[loyal], loyal)
        definition: dict[str, Any] = {"loyal": loyal}
    else:
        flag = _threshold_flag(prep.data[column], float(threshold or 0.0), column)
        definition = {"score": column, "threshold": threshold}
    return _rate(
        prep,
        flag,
        kind="loyalty_rate",
        counted="loyal",
        column=column,
        definition=definition,
        weight=weight,
        confidence=confidence,
    )


# --------------------------------------------------------------------------------------------
# Loyalty index from three indicators
# --------------------------------------------------------------------------------------------


def loyalty_index_three(
    data: pd.DataFrame,
    /,
    *,
    satisfaction: str,
    repurchase: str,
    recommend: str,
    weights: Sequence[float] = (1.0, 1.0, 1.0),
    satisfaction_codes: Sequence[float] = (5, 4, 3, 2, 1),
    repurchase_codes: Sequence[float] = (3, 2, 1),
    recommend_codes: Sequence[float] = (3, 2, 1),
    by: By = None,
    weight: str | None = None,
    confidence: float = 0.95,
) -> LoyaltyIndexResult:
    """Loyalty index from three indicators (SPEC section 4).

    The indicators, each given best answer first:

    - overall satisfaction on the five-level scale (codes for very satisfied ..
      very dissatisfied, default 5..1);
    - repurchase probability >70% / 30-70% / <30% (default codes 3, 2, 1);
    - likelihood to recommend very likely / possible / not at all (3, 2, 1).

    Answers may also be the labels in Chinese or English. Each indicator is
    scaled to 0..1 by its level (best = 1, worst = 0, equal steps: the
    five levels give 1, 0.75, 0.5, 0.25, 0; the three levels 1, 0.5, 0) and a
    respondent's index is Σ_k w_k·s_k with the ``weights`` normalised to sum to
    1 (default equal). Only respondents who answered all three count
    (``n_missing`` counts the others). The table gives the mean of each scaled
    indicator and the mean index with a t-interval; the index mean equals
    Σ_k w_k·(indicator mean).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"s": [5, 3], "r": [3, 1], "c": [3, 2]})
    >>> r = loyalty_index_three(d, satisfaction="s", repurchase="r", recommend="c")
    >>> round(float(r.overall["index"].iloc[0]), 4)
    0.6667
    """
    raw = _weights_three(weights)
    prep = _prepare(
        data,
        columns=[satisfaction, repurchase, recommend],
        by=by,
        weight=weight,
        confidence=confidence,
    )
    specs = (
        ("satisfaction", satisfaction, SCALES["five_level"], satisfaction_codes, (5, 4, 3, 2, 1)),
        ("repurchase", repurchase, SCALES["repurchase"], repurchase_codes, (3, 2, 1)),
        ("recommend", recommend, SCALES["recommend3"], recommend_codes, (3, 2, 1)),
    )
    scaled: list[FloatArray] = []
    used: dict[str, tuple[float, ...]] = {}
    for name, column, scale, codes, order in specs:
        code_values = tuple(float(c) for c in codes)
        if len(code_values) != len(order) or len(set(code_values)) != len(order):
            raise ValidationError(
                "scales.bad_codes", what=f"{name}_codes", n=len(order), value=repr(codes)
            )
        used[name] = code_values
        idx = _index(prep.data[column], code_values, column=column, labels=_label_map(scale, order))
        steps = len(order) - 1
        scaled.append(np.where(idx >= 0, (steps - idx) / steps, np.nan).astype(np.float64))
    matrix = np.column_stack(scaled)
    complete = np.isfinite(matrix).all(axis=1)
    index = matrix @ np.asarray(raw, dtype=np.float64)
    groups = prep.groups
    g = groups.gid
    size = groups.size
    gv = g[complete]
    wv = prep.w[complete]
    sw = np.bincount(gv, weights=wv, minlength=size).astype(np.float64)
    sw2 = np.bincount(gv, weights=wv * wv, minlength=size).astype(np.float64)
    n = np.bincount(gv, minlength=size).astype(np.int64)
    n_missing = np.bincount(g[~complete], minlength=size).astype(np.int64)
    parts = np.column_stack(
        [np.bincount(gv, weights=wv * matrix[complete, k], minlength=size) for k in range(3)]
        + [np.bincount(gv, weights=wv * index[complete], minlength=size)]
    ).astype(np.float64)

    def table(
        keys: pd.DataFrame,
        sw: FloatArray,
        sw2: FloatArray,
        n: IntArray,
        n_missing: IntArray,
        parts: FloatArray,
        ss: FloatArray,
    ) -> pd.DataFrame:
        tally = _Tally(n=n, n_missing=n_missing, sw=sw, sw2=sw2, counts=np.zeros((len(n), 0)))
        means = _share(parts, sw[:, None] * np.ones((1, parts.shape[1])))
        m = _moments(sw, means[:, 3], ss, tally.n_eff, confidence, (0.0, 1.0))
        return _frame(
            keys,
            {
                **_base(tally),
                "satisfaction": means[:, 0],
                "repurchase": means[:, 1],
                "recommend": means[:, 2],
                "index": means[:, 3],
                "sd": m.sd,
                "se": m.se,
                "ci_low": m.low,
                "ci_high": m.high,
            },
        )

    with np.errstate(divide="ignore", invalid="ignore"):
        group_mean = np.where(sw > 0, parts[:, 3] / np.where(sw > 0, sw, 1.0), 0.0)
        all_mean = float(parts[:, 3].sum() / sw.sum()) if sw.sum() > 0 else 0.0
    dev = index[complete] - group_mean[gv]
    ss = np.bincount(gv, weights=wv * dev * dev, minlength=size).astype(np.float64)
    dev_all = index[complete] - all_mean
    ss_all = np.asarray([float((wv * dev_all * dev_all).sum())], dtype=np.float64)
    first = satisfaction
    empty = _Tally(n=n, n_missing=n_missing, sw=sw, sw2=sw2, counts=np.zeros((size, 0)))
    return LoyaltyIndexResult(
        columns=(satisfaction, repurchase, recommend),
        weights=raw,
        codes=MappingProxyType(used),
        by=prep.by,
        weight=weight,
        confidence=float(confidence),
        table=table(groups.keys, sw, sw2, n, n_missing, parts, ss),
        overall=table(
            _overall_keys(),
            sw.sum(keepdims=True),
            sw2.sum(keepdims=True),
            n.sum(keepdims=True),
            n_missing.sum(keepdims=True),
            parts.sum(axis=0, keepdims=True),
            ss_all,
        ),
        warnings=_empty_warnings(empty, groups, first),
    )


def _weights_three(weights: Sequence[float]) -> tuple[float, float, float]:
    try:
        values = tuple(float(w) for w in weights)
    except (TypeError, ValueError):
        raise ValidationError("scales.bad_index_weights", value=repr(weights)) from None
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values) or sum(values) <= 0:
        raise ValidationError("scales.bad_index_weights", value=repr(weights))
    total = sum(values)
    return (values[0] / total, values[1] / total, values[2] / total)
