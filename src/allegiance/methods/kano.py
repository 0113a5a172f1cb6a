"""Kano analysis: functional and dysfunctional answers → attractive, one-dimensional, must-be ...

Pure computation (SPEC section 3, method 6: 满意度+KANO分析). Each respondent
answers two questions per attribute (a feature of the product or service):
the *functional* question (how do you feel if the feature is there?) and the
*dysfunctional* question (how do you feel if it is not there?), each with the
same five answers, coded 1-5 in this order (Kano et al. 1984; Berger et al.
1993):

==== ============ ============ =============================
code name         English      中文
==== ============ ============ =============================
1    ``like``     like         喜欢 (I like it that way)
2    ``must_be``  must-be      理所当然 (it must be that way)
3    ``neutral``  neutral      无所谓 (I am neutral)
4    ``live_with`` live-with   能忍受 (I can live with it)
5    ``dislike``  dislike      不喜欢 (I dislike it that way)
==== ============ ============ =============================

The pair goes through the Kano evaluation table (:data:`EVALUATION_TABLE`,
Kano et al. 1984 as printed by Berger et al. 1993 and Sauerwein et al. 1996,
Fig. 6): rows are the functional answer, columns the dysfunctional answer, and
the cell is the respondent's category for the attribute: **A** attractive
(魅力/兴奋), **O** one-dimensional (期望/一元), **M** must-be (必备/理所当然),
**I** indifferent (无差异), **R** reverse (反向), **Q** questionable (可疑).

Per attribute the result gives:

- the count and share of each category (shares over all valid answer pairs,
  so the six shares sum to 1);
- ``category``: the most frequent category. Ties are broken by the evaluation
  rule **M > O > A > I** (Berger et al. 1993; Sauerwein et al. 1996, p. 9:
  "if the individual product requirements cannot be unambiguously assigned to
  the various categories, the evaluation rule M > O > A > I is very useful"),
  with R and then Q after I. ``runner_up`` is the next category in that order;
- ``strength``: the share of the most frequent category minus the share of
  the runner-up (category strength, Lee & Newcomb 1997); ``total_strength``
  = A + O + M shares;
- ``fong_significant``: Fong's (1996) test that the two most frequent
  categories differ: with counts ``a >= b`` of ``n`` answers the
  classification is *not* significant when
  ``|a − b| < 1.65 · sqrt((a + b)(2n − a − b) / (2n))``;
- ``better`` = (A + O) / (A + O + M + I) and ``worse`` = −(O + M) / (A + O + M
  + I), the customer satisfaction coefficients of Timko (Berger et al. 1993;
  Sauerwein et al. 1996, p. 10): R and Q answers are left out of the
  denominator; ``better`` lies in [0, 1], ``worse`` in [−1, 0];
- ``questionable``: a flag when the Q share exceeds ``questionable_threshold``
  (default 0.10, our rule of thumb: Sauerwein et al. 1996 report Q normally
  stays below 2 %, so one contradictory pair in ten means the question was
  probably misunderstood);
- with an ``importance`` column (self-stated importance, Berger et al. 1993),
  its n, mean and standard deviation.

The *continuous* analysis (DuMouchel, in Berger et al. 1993) scores every
answer on an asymmetric scale, functional like = 4, must-be = 2, neutral = 0,
live-with = −1, dislike = −2, and the dysfunctional answer mirrored (like =
−2, must-be = −1, neutral = 0, live-with = 2, dislike = 4), and reports per
attribute the mean and standard deviation of both scores over every valid
pair; with ``importance``, also the importance-weighted means (each
respondent's scores weighted by the importance they stated).

Answers may be codes (1-5, also as text) or labels in English or Chinese
(:func:`answer_codes`). A pair with either answer missing is left out and
counted in ``n_missing``; an answer that is neither raises
:class:`~allegiance.errors.ValidationError` naming the column, the row and the
value.

>>> import pandas as pd
>>> answers = pd.DataFrame(
...     {
...         "attribute": ["wifi"] * 4,
...         "functional": ["like", "like", 1, "must-be"],
...         "dysfunctional": ["neutral", "dislike", 3, "dislike"],
...     }
... )
>>> result = kano(answers)
>>> result.category("wifi"), float(result.summary["better"].iloc[0])
('A', 0.75)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message, t
from allegiance.results import plain, records

__all__ = [
    "ANSWERS",
    "CATEGORIES",
    "DEFAULT_QUESTIONABLE_THRESHOLD",
    "DYSFUNCTIONAL_SCORES",
    "EVALUATION_TABLE",
    "FONG_Z",
    "FUNCTIONAL_SCORES",
    "TIE_ORDER",
    "CSCoefficients",
    "KanoResult",
    "answer_codes",
    "classify",
    "cs_coefficients",
    "find_pairs",
    "kano",
    "kano_pairs",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ANSWERS: tuple[str, ...] = ("like", "must_be", "neutral", "live_with", "dislike")
"""The five answers in code order 1-5; labels are catalogue keys ``kano.answer.<name>``."""

CATEGORIES: tuple[str, ...] = ("A", "O", "M", "I", "R", "Q")
"""Attractive, one-dimensional, must-be, indifferent, reverse, questionable."""

# Kano et al. (1984); Berger et al. (1993); Sauerwein et al. (1996), Fig. 6.
# Rows: functional answer 1-5; columns: dysfunctional answer 1-5.
EVALUATION_TABLE: tuple[tuple[str, ...], ...] = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)
"""The Kano evaluation table: ``EVALUATION_TABLE[functional - 1][dysfunctional - 1]``."""

TIE_ORDER: tuple[str, ...] = ("M", "O", "A", "I", "R", "Q")
"""Which category wins a tie of counts: M > O > A > I (Berger et al. 1993), then R, then Q."""

FUNCTIONAL_SCORES: tuple[int, ...] = (4, 2, 0, -1, -2)
"""Continuous-analysis score of functional answers 1-5 (DuMouchel, in Berger et al. 1993)."""

DYSFUNCTIONAL_SCORES: tuple[int, ...] = (-2, -1, 0, 2, 4)
"""Continuous-analysis score of dysfunctional answers 1-5 (the functional scale mirrored)."""

DEFAULT_QUESTIONABLE_THRESHOLD = 0.10
"""Flag an attribute whose share of questionable (Q) answers exceeds this."""

FONG_Z = 1.65
"""The constant of Fong's (1996) test that the two most frequent categories differ."""

_CAT_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
_EVAL_IDX: IntArray = np.array(
    [[_CAT_INDEX[c] for c in row] for row in EVALUATION_TABLE], dtype=np.int64
)
_TIE_RANK: IntArray = np.array([TIE_ORDER.index(c) for c in CATEGORIES], dtype=np.int64)
_A, _O, _M, _I, _R, _Q = range(6)

# Answer wordings seen in Kano questionnaires (Kano et al. 1984; Berger et al. 1993;
# Sauerwein et al. 1996; common Chinese wordings), normalised as by ``_norm``. The
# catalogue labels (kano.answer.*) are accepted too.
_SYNONYMS: dict[int, tuple[str, ...]] = {
    1: ("like", "i like it", "i like it that way", "enjoy", "i enjoy it that way", "我喜欢"),
    2: (
        "must be",
        "mustbe",
        "it must be that way",
        "expect",
        "i expect it",
        "i expect it that way",
        "i am expecting it to be that way",
        "理应如此",
        "必须如此",
        "理所应当",
    ),
    3: ("neutral", "i am neutral", "i feel neutral", "中立", "无所谓的"),
    4: (
        "live with",
        "i can live with it",
        "i can live with it that way",
        "tolerate",
        "i can tolerate it",
        "accept",
        "i can accept it",
        "i can accept it to be that way",
        "可以忍受",
        "勉强接受",
    ),
    5: ("dislike", "i dislike it", "i dislike it that way", "我不喜欢"),
}


# --------------------------------------------------------------------------------------------
# Answers and the evaluation table
# --------------------------------------------------------------------------------------------


def _norm(series: pd.Series[Any]) -> pd.Series[Any]:
    return (
        series.astype("string")
        .str.normalize("NFKC")
        .str.casefold()
        .str.replace(r"[-_]", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
        .str.rstrip(".。!！")
    )


@cache
def _label_map() -> dict[str, int]:
    out: dict[str, int] = {}
    for code, words in _SYNONYMS.items():
        for word in words:
            out[word] = code
        for lang in ("en", "zh"):
            label = t(f"kano.answer.{ANSWERS[code - 1]}", lang)
            key = _norm(pd.Series([label])).iloc[0]
            out[str(key)] = code
    return out


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def answer_codes(values: Any, /, *, column: str = "answer") -> IntArray:
    """Kano answers as codes 1-5 (0 where the answer is missing).

    Accepts codes (numbers or digits as text, full-width digits too) and labels:
    the English and Chinese labels (like / 喜欢, must-be / 理所当然, neutral / 无所谓,
    live-with / 能忍受, dislike / 不喜欢) and the usual questionnaire wordings ("I like
    it that way", "I expect it", "I can tolerate it" ...), case and spacing ignored.

    Raises :class:`ValidationError` naming ``column``, the first bad row (1 = first
    data row) and its value.

    >>> answer_codes(["like", "理所当然", 3, None, "I can live with it", "5"]).tolist()
    [1, 2, 3, 0, 4, 5]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    series = series.reset_index(drop=True)
    n = len(series)
    out = np.zeros(n, dtype=np.int64)
    missing = series.isna().to_numpy(dtype=np.bool_, copy=True)
    if pd.api.types.is_bool_dtype(series.dtype):
        bad = ~missing
    elif pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isin(numbers, [1.0, 2.0, 3.0, 4.0, 5.0])
        out[ok] = numbers[ok].astype(np.int64)
        bad = ~missing & ~ok
    else:
        text = _norm(series)
        missing |= (text == "").fillna(True).to_numpy(dtype=np.bool_)
        by_label = text.map(dict(_label_map())).to_numpy(dtype=np.float64, na_value=np.nan)
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            codes = np.where(np.isfinite(by_label), by_label, numbers)
        ok = ~missing & np.isin(codes, [1.0, 2.0, 3.0, 4.0, 5.0])
        out[ok] = codes[ok].astype(np.int64)
        bad = ~missing & ~ok
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            "kano.bad_answer",
            column=column,
            row=first + 1,
            value=_show(series.iloc[first]),
            n_bad=int(bad.sum()),
        )
    return out


def classify(functional: Any, dysfunctional: Any, /) -> npt.NDArray[np.object_]:
    """The Kano category (A, O, M, I, R, Q) of each answer pair; ``None`` where one is missing.

    >>> classify(["like", 2, 1], ["neutral", "dislike", "like"]).tolist()
    ['A', 'M', 'Q']
    """
    f = answer_codes(functional, column="functional")
    d = answer_codes(dysfunctional, column="dysfunctional")
    if f.shape != d.shape:
        raise ValidationError("kano.length_mismatch", n_functional=f.size, n_dysfunctional=d.size)
    valid = (f > 0) & (d > 0)
    out = np.full(f.shape, None, dtype=object)
    idx = _EVAL_IDX[f[valid] - 1, d[valid] - 1]
    out[valid] = np.array(CATEGORIES, dtype=object)[idx]
    return out


@dataclass(frozen=True)
class CSCoefficients:
    """Timko's customer satisfaction coefficients (Berger et al. 1993)."""

    better: float
    worse: float


def cs_coefficients(*, a: float, o: float, m: float, i: float) -> CSCoefficients:
    """Better = (A + O) / (A + O + M + I), Worse = −(O + M) / (A + O + M + I).

    Counts or shares both work (only ratios matter); NaN when A + O + M + I is 0.

    >>> cs_coefficients(a=7, o=33, m=50, i=10)
    CSCoefficients(better=0.4, worse=-0.83)
    """
    for name, value in (("a", a), ("o", o), ("m", m), ("i", i)):
        if not np.isfinite(value) or value < 0:
            raise ValidationError("kano.bad_count", name=name, value=_show(value))
    total = a + o + m + i
    if total <= 0:
        return CSCoefficients(better=float("nan"), worse=float("nan"))
    return CSCoefficients(better=(a + o) / total, worse=-(o + m) / total)


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class KanoResult:
    """Kano categories and coefficients per attribute.

    ``summary`` (table ``kano``) columns: ``attribute | n | n_missing | n_A | n_O | n_M |
    n_I | n_R | n_Q | share_A ... share_Q | category | runner_up | strength |
    total_strength | fong_significant | better | worse | questionable`` and, with an
    importance column, ``importance_n | importance_mean | importance_sd``.

    ``continuous`` (table ``continuous``) columns: ``attribute | n | functional_mean |
    functional_sd | dysfunctional_mean | dysfunctional_sd`` and, with importance,
    ``importance_mean | functional_weighted | dysfunctional_weighted``.

    ``answers`` holds one row per respondent and attribute: ``[respondent] |
    attribute | functional | dysfunctional | category`` (answers as codes 1-5, 0 when
    missing; category empty when a pair is incomplete). It is not one of
    :meth:`tables` (it can be long); use it directly.
    """

    summary: pd.DataFrame
    continuous: pd.DataFrame
    answers: pd.DataFrame
    questionable_threshold: float
    importance: bool
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "kano"

    @property
    def attributes(self) -> tuple[str, ...]:
        """The attributes in the order they were given."""
        return tuple(str(a) for a in self.summary["attribute"])

    @property
    def categories(self) -> dict[str, str | None]:
        """Attribute → its category (``None`` when it has no valid answer)."""
        return {
            str(a): (None if pd.isna(c) else str(c))
            for a, c in zip(self.summary["attribute"], self.summary["category"], strict=True)
        }

    def category(self, attribute: str, /) -> str | None:
        """The category of one attribute."""
        found = self.categories
        if attribute not in found:
            raise ValidationError(
                "kano.unknown_attribute", attribute=attribute, available=", ".join(found)
            )
        return found[attribute]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"kano": self.summary, "continuous": self.continuous}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the settings and both tables as records."""
        return {
            "method": self.method,
            "questionable_threshold": self.questionable_threshold,
            "tie_order": list(TIE_ORDER),
            "importance": self.importance,
            "categories": plain(self.categories),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


def _check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValidationError("kano.bad_threshold", value=str(value))
    return float(value)


def _importance_values(series: pd.Series[Any], column: str) -> FloatArray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    given = series.notna().to_numpy(dtype=np.bool_)
    bad = given & (~np.isfinite(values) | (values < 0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            "kano.bad_importance",
            column=column,
            row=first + 1,
            value=_show(series.iloc[first]),
        )
    return values


def _sums(idx: IntArray, x: FloatArray, k: int, w: FloatArray | None = None) -> FloatArray:
    weights = x if w is None else x * w
    return np.bincount(idx, weights=weights, minlength=k).astype(np.float64)


def _mean_sd(idx: IntArray, x: FloatArray, k: int) -> tuple[IntArray, FloatArray, FloatArray]:
    n = np.bincount(idx, minlength=k).astype(np.int64)
    s1 = _sums(idx, x, k)
    s2 = _sums(idx, x * x, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s1 / np.where(n > 0, n, 1), np.nan)
        var = np.where(n > 1, (s2 - n * mean**2) / np.where(n > 1, n - 1, 1), np.nan)
    sd: FloatArray = np.sqrt(np.clip(var, 0.0, None))
    return n, mean, sd


def _analyse(
    *,
    attr: IntArray,
    names: Sequence[str],
    f: IntArray,
    d: IntArray,
    importance: FloatArray | None,
    respondent: pd.Series[Any] | None,
    respondent_name: str | None,
    threshold: float,
    extra_warnings: Iterable[Message] = (),
) -> KanoResult:
    k = len(names)
    valid = (f > 0) & (d > 0)
    cat = np.full(f.shape, -1, dtype=np.int64)
    cat[valid] = _EVAL_IDX[f[valid] - 1, d[valid] - 1]
    av = attr[valid]
    counts = (
        np.bincount(av * 6 + cat[valid], minlength=k * 6).reshape(k, 6).astype(np.int64)
        if k
        else np.zeros((0, 6), dtype=np.int64)
    )
    n = counts.sum(axis=1)
    n_missing = np.bincount(attr[~valid], minlength=k).astype(np.int64)
    has = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(has[:, None], counts / np.where(has, n, 1)[:, None], np.nan)

    # Mode with the M > O > A > I > R > Q rule on ties: sort by (-count, tie rank).
    key = -counts * 10 + _TIE_RANK[None, :]
    order = np.argsort(key, axis=1, kind="stable")
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(k)
    a_top, b_second = counts[rows, top], counts[rows, second]
    cats = np.array(CATEGORIES, dtype=object)
    category = cats[top]
    runner_up = cats[second]
    category[~has] = None
    runner_up[~has] = None
    strength = np.where(has, shares[rows, top] - shares[rows, second], np.nan)
    total_strength = np.where(has, shares[:, [_A, _O, _M]].sum(axis=1), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        two_n = 2.0 * n
        fong_rhs = FONG_Z * np.sqrt(
            (a_top + b_second) * (two_n - a_top - b_second) / np.where(has, two_n, 1.0)
        )
    fong = np.where(has, np.abs(a_top - b_second) >= fong_rhs, False)
    aomi = counts[:, [_A, _O, _M, _I]].sum(axis=1)
    ok = aomi > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        better = np.where(ok, (counts[:, _A] + counts[:, _O]) / np.where(ok, aomi, 1), np.nan)
        worse = np.where(ok, -(counts[:, _O] + counts[:, _M]) / np.where(ok, aomi, 1), np.nan)
    questionable = np.where(has, shares[:, _Q] > threshold, False)

    summary: dict[str, Any] = {
        "attribute": pd.array(list(names), dtype="str"),
        "n": n,
        "n_missing": n_missing,
    }
    for j, c in enumerate(CATEGORIES):
        summary[f"n_{c}"] = counts[:, j]
    for j, c in enumerate(CATEGORIES):
        summary[f"share_{c}"] = shares[:, j]
    summary.update(
        {
            "category": pd.array(category.tolist(), dtype="str"),
            "runner_up": pd.array(runner_up.tolist(), dtype="str"),
            "strength": strength.astype(np.float64),
            "total_strength": total_strength.astype(np.float64),
            "fong_significant": fong.astype(np.bool_),
            "better": better.astype(np.float64),
            "worse": worse.astype(np.float64),
            "questionable": questionable.astype(np.bool_),
        }
    )

    fscore = np.zeros(f.shape, dtype=np.float64)
    dscore = np.zeros(d.shape, dtype=np.float64)
    fscore[valid] = np.asarray(FUNCTIONAL_SCORES, dtype=np.float64)[f[valid] - 1]
    dscore[valid] = np.asarray(DYSFUNCTIONAL_SCORES, dtype=np.float64)[d[valid] - 1]
    n_c, f_mean, f_sd = _mean_sd(av, fscore[valid], k)
    _, d_mean, d_sd = _mean_sd(av, dscore[valid], k)
    continuous: dict[str, Any] = {
        "attribute": pd.array(list(names), dtype="str"),
        "n": n_c,
        "functional_mean": f_mean,
        "functional_sd": f_sd,
        "dysfunctional_mean": d_mean,
        "dysfunctional_sd": d_sd,
    }

    if importance is not None:
        given = np.isfinite(importance)
        imp_n, imp_mean, imp_sd = _mean_sd(attr[given], importance[given], k)
        summary["importance_n"] = imp_n
        summary["importance_mean"] = imp_mean
        summary["importance_sd"] = imp_sd
        use = valid & given
        w = importance[use]
        au = attr[use]
        sw = _sums(au, np.ones(int(use.sum())), k, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            fw = np.where(sw > 0, _sums(au, fscore[use], k, w) / np.where(sw > 0, sw, 1), np.nan)
            dw = np.where(sw > 0, _sums(au, dscore[use], k, w) / np.where(sw > 0, sw, 1), np.nan)
        continuous["importance_mean"] = imp_mean
        continuous["functional_weighted"] = fw
        continuous["dysfunctional_weighted"] = dw

    answers: dict[str, Any] = {}
    if respondent is not None and respondent_name is not None:
        answers[respondent_name] = respondent.to_numpy()
    answers["attribute"] = (
        np.asarray(names, dtype=object)[attr] if k else np.array([], dtype=object)
    )
    answers["functional"] = f
    answers["dysfunctional"] = d
    answer_category = cats[np.clip(cat, 0, 5)]
    answer_category[~valid] = None
    answers["category"] = answer_category
    answer_frame = pd.DataFrame(answers)
    answer_frame["attribute"] = answer_frame["attribute"].astype("str")
    answer_frame["category"] = answer_frame["category"].astype("str")

    warnings: list[Message] = list(extra_warnings)
    for j, name in enumerate(names):
        if not has[j]:
            warnings.append(Message("kano.no_answers", {"attribute": name}))
            continue
        if questionable[j]:
            warnings.append(
                Message(
                    "kano.questionable",
                    {
                        "attribute": name,
                        "share": f"{100 * shares[j, _Q]:.1f}",
                        "threshold": f"{100 * threshold:.1f}",
                    },
                )
            )
        if category[j] == "R":
            warnings.append(Message("kano.reverse", {"attribute": name}))
    return KanoResult(
        summary=pd.DataFrame(summary),
        continuous=pd.DataFrame(continuous),
        answers=answer_frame,
        questionable_threshold=threshold,
        importance=importance is not None,
        warnings=tuple(warnings),
    )


def _frame_check(data: Any, columns: Sequence[str | None]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("kano.not_a_frame", kind=type(data).__name__)
    wanted = [c for c in columns if c is not None]
    missing = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def kano(
    data: pd.DataFrame,
    /,
    *,
    attribute: str = "attribute",
    functional: str = "functional",
    dysfunctional: str = "dysfunctional",
    respondent: str | None = None,
    importance: str | None = None,
    questionable_threshold: float = DEFAULT_QUESTIONABLE_THRESHOLD,
) -> KanoResult:
    """Kano analysis of answers in long form: one row per respondent and attribute.

    ``attribute`` names the attribute (feature) column, ``functional`` and
    ``dysfunctional`` the two answers (codes 1-5 or labels), ``respondent`` an
    optional respondent id kept in :attr:`KanoResult.answers`, ``importance`` an
    optional self-stated importance (any non-negative number). Attributes keep
    the order in which they first appear; rows without an attribute are skipped
    with a warning. See the module documentation for every figure.
    """
    threshold = _check_threshold(questionable_threshold)
    frame = _frame_check(data, [attribute, functional, dysfunctional, respondent, importance])
    # Answers are read first, so an error names the row as it is in the data.
    f = answer_codes(frame[functional], column=functional)
    d = answer_codes(frame[dysfunctional], column=dysfunctional)
    imp = None if importance is None else _importance_values(frame[importance], importance)
    labels = frame[attribute].astype("string").str.strip()
    keep = (labels.notna() & (labels != "")).fillna(False).to_numpy(dtype=np.bool_)
    extra: list[Message] = []
    if not keep.all():
        extra.append(
            Message("kano.blank_attribute", {"column": attribute, "n": int((~keep).sum())})
        )
    codes, uniques = pd.factorize(labels[keep], sort=False)
    return _analyse(
        attr=np.asarray(codes, dtype=np.int64),
        names=[str(u) for u in uniques],
        f=f[keep],
        d=d[keep],
        importance=None if imp is None else imp[keep],
        respondent=None if respondent is None else frame[respondent][keep],
        respondent_name=respondent,
        threshold=threshold,
        extra_warnings=extra,
    )


def find_pairs(
    columns: Iterable[Any],
    /,
    *,
    prefix: str = "kano_",
    functional_suffix: str = "_func",
    dysfunctional_suffix: str = "_dysf",
) -> dict[str, tuple[str, str]]:
    """Kano answer pairs in a response table: ``<prefix><attribute><suffix>`` columns.

    Returns ``{attribute: (functional column, dysfunctional column)}`` in column
    order, for every attribute that has both columns.

    >>> find_pairs(["id", "kano_wifi_func", "kano_wifi_dysf", "kano_bar_func"])
    {'wifi': ('kano_wifi_func', 'kano_wifi_dysf')}
    """
    names = [str(c) for c in columns]
    present = set(names)
    out: dict[str, tuple[str, str]] = {}
    for name in names:
        if name.startswith(prefix) and name.endswith(functional_suffix):
            attr = name[len(prefix) : len(name) - len(functional_suffix)]
            other = f"{prefix}{attr}{dysfunctional_suffix}"
            if attr and other in present:
                out[attr] = (name, other)
    return out


def kano_pairs(
    data: pd.DataFrame,
    /,
    *,
    pairs: Mapping[str, tuple[str, str]] | None = None,
    prefix: str = "kano_",
    functional_suffix: str = "_func",
    dysfunctional_suffix: str = "_dysf",
    importance: Mapping[str, str] | None = None,
    respondent: str | None = None,
    questionable_threshold: float = DEFAULT_QUESTIONABLE_THRESHOLD,
) -> KanoResult:
    """Kano analysis of a response table with one functional and one dysfunctional column
    per attribute (one row per respondent).

    ``pairs`` maps each attribute to its (functional, dysfunctional) columns; by
    default they are found by :func:`find_pairs` (``kano_<attribute>_func`` and
    ``kano_<attribute>_dysf``). ``importance`` maps attributes to self-stated
    importance columns (attributes left out have none).
    """
    threshold = _check_threshold(questionable_threshold)
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("kano.not_a_frame", kind=type(data).__name__)
    chosen = (
        dict(pairs)
        if pairs is not None
        else find_pairs(
            data.columns,
            prefix=prefix,
            functional_suffix=functional_suffix,
            dysfunctional_suffix=dysfunctional_suffix,
        )
    )
    if not chosen:
        raise ValidationError(
            "kano.no_pairs",
            pattern=f"{prefix}<attribute>{functional_suffix} / {prefix}<attribute>{dysfunctional_suffix}",
        )
    imp_map = dict(importance or {})
    unknown = [a for a in imp_map if a not in chosen]
    if unknown:
        raise ValidationError(
            "kano.unknown_attribute", attribute=unknown[0], available=", ".join(chosen)
        )
    needed: list[str | None] = [respondent]
    for fcol, dcol in chosen.values():
        needed += [fcol, dcol]
    needed += list(imp_map.values())
    frame = _frame_check(data, needed)
    rows = len(frame)
    names = list(chosen)
    # A loop over attributes (columns), not over respondents.
    f = np.concatenate(
        [answer_codes(frame[fc], column=fc) for fc, _ in chosen.values()] or [np.zeros(0, np.int64)]
    )
    d = np.concatenate(
        [answer_codes(frame[dc], column=dc) for _, dc in chosen.values()] or [np.zeros(0, np.int64)]
    )
    attr = np.repeat(np.arange(len(names), dtype=np.int64), rows)
    imp: FloatArray | None = None
    if imp_map:
        parts = [
            _importance_values(frame[imp_map[a]], imp_map[a])
            if a in imp_map
            else np.full(rows, np.nan)
            for a in names
        ]
        imp = np.concatenate(parts).astype(np.float64)
    resp = None
    if respondent is not None:
        resp = pd.Series(np.tile(frame[respondent].to_numpy(), len(names)))
    return _analyse(
        attr=attr,
        names=names,
        f=f,
        d=d,
        importance=imp,
        respondent=resp,
        respondent_name=respondent,
        threshold=threshold,
    )
