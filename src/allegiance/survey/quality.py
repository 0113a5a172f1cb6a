"""Response quality: speeders, straight-liners and duplicates (flagged, never dropped), and
survey weights by raking to population margins with the Kish design effect.

- :func:`speeders`: a response whose duration is below ``fraction`` (default 1/3) of the
  median duration of the survey's responses;
- :func:`straightliners`: a response that gives the same answer to every item of a grid
  of at least ``min_items`` (default 5) answered rating items of one scale (a grid: the
  rating questions of one page with the same type and scale range; reverse-keyed items
  are compared as answered);
- :func:`duplicates`: a response of a customer id that already answered, or one whose
  answers are identical to an earlier response from the same user agent (its SHA-256)
  within ``window_s`` seconds (default one day); each duplicate names the first response;
- :func:`rake`: iterative proportional fitting of weights so that the weighted shares of
  each variable's categories equal the population margins, with convergence reported, the
  Kish design effect ``deff = 1 + CV²`` of the weights (``n Σw² / (Σw)²``) and the
  effective sample size ``n_eff = n / deff``.

:func:`assess` runs them all on one survey's responses (what
``allegiance responses quality`` prints). Margins come from a small YAML file
(``variable: {category: share}``) or CSV (``variable,category,share``), see
:func:`load_margins`; shares of a variable are normalised to sum to 1.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allegiance.errors import InputError, ValidationError
from allegiance.i18n import Message
from allegiance.survey.definition import RATING_TYPES, SurveyDefinition, analysis_columns, choices

__all__ = [
    "FLAG_COLUMNS",
    "QualityResult",
    "QualitySettings",
    "RakeResult",
    "assess",
    "duplicates",
    "flag_frame",
    "load_margins",
    "rake",
    "rake_responses",
    "speeders",
    "straightliners",
]

#: The quality columns :func:`flag_frame` gives (and exports carry).
FLAG_COLUMNS: tuple[str, ...] = ("speeder", "straightliner", "duplicate", "duplicate_of")


@dataclass(frozen=True)
class QualitySettings:
    """The thresholds of the quality flags."""

    speeder_fraction: float = 1 / 3
    straightline_min_items: int = 5
    duplicate_window_s: float = 86400.0

    def __post_init__(self) -> None:
        if not 0 < self.speeder_fraction < 1:
            raise ValidationError(
                "responses.quality.bad_setting",
                name="speeder_fraction",
                value=self.speeder_fraction,
                expected="0 < x < 1",
            )
        if self.straightline_min_items < 2:
            raise ValidationError(
                "responses.quality.bad_setting",
                name="straightline_min_items",
                value=self.straightline_min_items,
                expected=">= 2",
            )
        if self.duplicate_window_s < 0:
            raise ValidationError(
                "responses.quality.bad_setting",
                name="duplicate_window_s",
                value=self.duplicate_window_s,
                expected=">= 0",
            )


# --------------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------------


def speeders(
    durations: Sequence[float] | np.ndarray | pd.Series, /, *, fraction: float = 1 / 3
) -> np.ndarray:
    """True where the duration is below ``fraction`` × the median of the known durations
    (unknown durations are never speeders)."""
    x = np.asarray(pd.to_numeric(pd.Series(durations, dtype=object), errors="coerce"), dtype=float)
    known = x[np.isfinite(x)]
    if known.size == 0:
        return np.zeros(len(x), dtype=bool)
    limit = fraction * float(np.median(known))
    with np.errstate(invalid="ignore"):
        flag: np.ndarray = np.isfinite(x) & (x < limit)
    return flag


def _grids(definition: SurveyDefinition, min_items: int) -> list[list[str]]:
    groups: dict[tuple[str, str, float, float], list[str]] = {}
    for page in definition.pages:
        for q in page.questions:
            if q.type not in RATING_TYPES:
                continue
            values = [c.value for c in choices(q)]
            key = (page.id, q.type, float(min(values)), float(max(values)))
            groups.setdefault(key, []).append(analysis_columns(q)[0])
    return [cols for cols in groups.values() if len(cols) >= min_items]


def _raw_ratings(definition: SurveyDefinition, frame: pd.DataFrame) -> pd.DataFrame:
    """The rating columns as answered (reverse-keyed columns turned back)."""
    out: dict[str, Any] = {}
    for q in definition.questions():
        if q.type not in RATING_TYPES:
            continue
        col = analysis_columns(q)[0]
        if col not in frame.columns:
            continue
        x = pd.to_numeric(frame[col], errors="coerce").astype(float)
        if getattr(q, "reverse", False):
            values = [c.value for c in choices(q)]
            x = float(min(values)) + float(max(values)) - x
        out[col] = x
    return pd.DataFrame(out, index=frame.index)


def straightliners(
    definition: SurveyDefinition, frame: pd.DataFrame, /, *, min_items: int = 5
) -> np.ndarray:
    """True where a response gives one answer to all ≥ ``min_items`` answered items of a grid."""
    raw = _raw_ratings(definition, frame)
    flag = np.zeros(len(frame), dtype=bool)
    for cols in _grids(definition, min_items):
        block = raw[cols].to_numpy(dtype=float)
        answered = np.isfinite(block).sum(axis=1)
        lo = np.nanmin(np.where(np.isfinite(block), block, np.inf), axis=1)
        hi = np.nanmax(np.where(np.isfinite(block), block, -np.inf), axis=1)
        flag |= (answered >= min_items) & (lo == hi)
    return flag


def _answer_hash(row: Mapping[str, Any]) -> str:
    clean = {k: (None if _missing(v) else str(v)) for k, v in row.items()}
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode("utf-8")).hexdigest()


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def duplicates(
    meta: pd.DataFrame,
    answers: pd.DataFrame,
    /,
    *,
    window_s: float = 86400.0,
) -> tuple[np.ndarray, list[Any]]:
    """Duplicate flags and, for each duplicate, the ``response_id`` of the first response.

    ``meta`` has ``response_id``, ``customer_id``, ``user_agent_hash`` and ``submitted_at``
    (one row per response, aligned with ``answers``, the answer columns). A later response
    of the same customer id is a duplicate; so is one with identical answers and the same
    user-agent hash submitted within ``window_s`` seconds of the first.
    """
    n = len(meta)
    flag = np.zeros(n, dtype=bool)
    first: list[Any] = [None] * n
    ids = list(meta["response_id"]) if "response_id" in meta else list(range(n))
    raw_times = meta["submitted_at"] if "submitted_at" in meta else pd.Series([None] * n)
    times = pd.Series(pd.to_datetime(raw_times, utc=True, errors="coerce"))
    order: list[int] = [
        int(i) for i in np.argsort(times.to_numpy(dtype="datetime64[ns]"), kind="stable")
    ]
    seen_customer: dict[str, Any] = {}
    seen_vector: dict[tuple[str, str], tuple[Any, Any]] = {}
    hashes = [
        _answer_hash({str(k): v for k, v in r.items()}) for r in answers.to_dict(orient="records")
    ]
    customers = list(meta["customer_id"]) if "customer_id" in meta else [None] * n
    agents = list(meta["user_agent_hash"]) if "user_agent_hash" in meta else [None] * n
    for i in order:
        cid = customers[i]
        if not _missing(cid) and str(cid).strip():
            key = str(cid).strip()
            if key in seen_customer:
                flag[i] = True
                first[i] = seen_customer[key]
            else:
                seen_customer[key] = ids[i]
        ua = agents[i]
        if _missing(ua) or not str(ua):
            continue
        vkey = (str(ua), hashes[i])
        moment = times.iloc[i]
        if vkey in seen_vector:
            first_id, first_time = seen_vector[vkey]
            gap = (
                (moment - first_time).total_seconds()
                if pd.notna(moment) and pd.notna(first_time)
                else math.inf
            )
            if gap <= window_s:
                flag[i] = True
                first[i] = first[i] if first[i] is not None else first_id
                continue
        seen_vector[vkey] = (ids[i], moment)
    return flag, first


def flag_frame(
    definition: SurveyDefinition,
    meta: pd.DataFrame,
    answers: pd.DataFrame,
    /,
    settings: QualitySettings | None = None,
) -> pd.DataFrame:
    """The quality flags (:data:`FLAG_COLUMNS`) of responses, aligned with ``meta``."""
    chosen = settings or QualitySettings()
    duration = meta["duration_s"] if "duration_s" in meta else pd.Series([None] * len(meta))
    dup, first = duplicates(meta, answers, window_s=chosen.duplicate_window_s)
    return pd.DataFrame(
        {
            "speeder": speeders(duration, fraction=chosen.speeder_fraction),
            "straightliner": straightliners(
                definition, answers, min_items=chosen.straightline_min_items
            ),
            "duplicate": dup,
            "duplicate_of": pd.array(first, dtype="Int64"),
        },
        index=meta.index,
    )


# --------------------------------------------------------------------------------------------
# Raking
# --------------------------------------------------------------------------------------------


def _category(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class RakeResult:
    """Raking weights (mean 1) with convergence and the Kish design effect."""

    weights: np.ndarray
    converged: bool
    iterations: int
    max_error: float
    margins: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def deff(self) -> float:
        w = self.weights
        return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)

    @property
    def n_eff(self) -> float:
        return self.n / self.deff

    @property
    def cv(self) -> float:
        w = self.weights
        return float(np.std(w) / np.mean(w))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "converged": self.converged,
            "iterations": self.iterations,
            "max_error": self.max_error,
            "deff": self.deff,
            "n_eff": self.n_eff,
            "cv": self.cv,
            "weight_min": float(np.min(self.weights)) if self.n else None,
            "weight_max": float(np.max(self.weights)) if self.n else None,
        }


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[str, float]],
    /,
    *,
    base_weights: Sequence[float] | np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> RakeResult:
    """Weights whose weighted category shares equal ``margins`` (variable → category → share).

    Iterative proportional fitting (Deming and Stephan, 1940): each round scales the
    weights of every category of each variable in turn to its target share; it stops when
    the largest difference between a weighted share and its target is below ``tol``
    (``converged``) or after ``max_iter`` rounds. Categories are compared as text (``4.0``
    is ``"4"``). Every row needs a category listed in each variable's margins, and every
    listed category with a positive share needs at least one row; else a
    :class:`ValidationError` names the variable and category. Weights are scaled to mean 1.
    """
    n = len(data)
    if n == 0:
        raise ValidationError("responses.rake.no_rows")
    w = np.ones(n) if base_weights is None else np.asarray(base_weights, dtype=float).copy()
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValidationError("responses.rake.bad_base_weights")
    codes: dict[str, tuple[np.ndarray, list[str], np.ndarray]] = {}
    for var, shares in margins.items():
        if var not in data.columns:
            raise ValidationError(
                "responses.rake.no_variable",
                variable=var,
                available=", ".join(map(str, data.columns)),
            )
        cats = [str(c) for c in shares]
        target = np.array([float(shares[c]) for c in shares], dtype=float)
        if np.any(~np.isfinite(target)) or np.any(target < 0) or target.sum() <= 0:
            raise ValidationError("responses.rake.bad_share", variable=var)
        target = target / target.sum()
        values = [_category(v) for v in data[var]]
        index = np.full(n, -1)
        for i, v in enumerate(values):
            if v not in cats:
                raise ValidationError(
                    "responses.rake.unknown_category",
                    variable=var,
                    row=i + 1,
                    value=repr(v),
                    expected=", ".join(cats),
                )
            index[i] = cats.index(v)
        for k, cat in enumerate(cats):
            if target[k] > 0 and not np.any(index == k):
                raise ValidationError("responses.rake.empty_category", variable=var, category=cat)
        codes[var] = (index, cats, target)
    iterations = 0
    max_error = math.inf
    while iterations < max_iter:
        iterations += 1
        for index, _cats, target in codes.values():
            total = w.sum()
            sums = np.bincount(index, weights=w, minlength=len(target))
            factor = np.divide(target * total, sums, out=np.zeros_like(sums), where=sums > 0)
            w = w * factor[index]
        max_error = _max_error(w, codes)
        if max_error < tol:
            break
    w = w / w.mean()
    rows = []
    for var, (index, cats, target) in codes.items():
        sums = np.bincount(index, weights=w, minlength=len(target)) / w.sum()
        unweighted = np.bincount(index, minlength=len(target)) / n
        for k, cat in enumerate(cats):
            rows.append(
                {
                    "variable": var,
                    "category": cat,
                    "target": float(target[k]),
                    "sample": float(unweighted[k]),
                    "weighted": float(sums[k]),
                }
            )
    return RakeResult(
        weights=w,
        converged=bool(max_error < tol),
        iterations=iterations,
        max_error=float(max_error),
        margins=pd.DataFrame(
            rows, columns=["variable", "category", "target", "sample", "weighted"]
        ),
    )


def _max_error(
    w: np.ndarray, codes: Mapping[str, tuple[np.ndarray, list[str], np.ndarray]]
) -> float:
    total = w.sum()
    worst = 0.0
    for index, _cats, target in codes.values():
        sums = np.bincount(index, weights=w, minlength=len(target)) / total
        worst = max(worst, float(np.max(np.abs(sums - target))))
    return worst


def load_margins(path: str | Path, /) -> dict[str, dict[str, float]]:
    """Population margins from YAML (``variable: {category: share}``) or CSV
    (columns ``variable, category, share``)."""
    file = Path(path)
    name = str(path)
    if not file.is_file():
        raise InputError("responses.margins.no_file", file=name)
    out: dict[str, dict[str, float]] = {}
    if file.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError("responses.margins.bad", file=name, detail=str(exc)) from exc
        if not isinstance(data, Mapping):
            raise InputError(
                "responses.margins.bad", file=name, detail="variable: {category: share}"
            )
        for var, shares in data.items():
            if not isinstance(shares, Mapping):
                raise InputError(
                    "responses.margins.bad", file=name, detail=f"{var}: {{category: share}}"
                )
            out[str(var)] = {
                str(_category(c)): _share(v, name, str(var), c) for c, v in shares.items()
            }
        return out
    from allegiance.io.reader import read_table

    table = read_table(file)
    table.require(["variable", "category", "share"])
    for i, row in enumerate(table.frame.to_dict(orient="records")):
        var = str(row["variable"]).strip()
        cat = _category(row["category"])
        line = table.header_row + 1 + i
        out.setdefault(var, {})[str(cat)] = _share(row["share"], name, var, cat, row=line)
    return out


def _share(value: Any, file: str, var: str, cat: Any, row: int | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or x < 0:
        raise InputError(
            "responses.margins.bad_share",
            file=file,
            row=row if row is not None else "-",
            variable=var,
            category=str(cat),
            value=repr(value),
        )
    return x


# --------------------------------------------------------------------------------------------
# One survey
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityResult:
    """The quality of one survey's responses (the :class:`~allegiance.results.Result` contract)."""

    survey: str
    flags: pd.DataFrame
    settings: QualitySettings
    raking: RakeResult | None = None
    warnings: tuple[Message, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> pd.DataFrame:
        n = len(self.flags)
        rows = [
            {
                "flag": name,
                "n": int(self.flags[name].sum()),
                "share": (float(self.flags[name].sum()) / n) if n else math.nan,
            }
            for name in ("speeder", "straightliner", "duplicate")
        ]
        any_flag = self.flags[["speeder", "straightliner", "duplicate"]].any(axis=1)
        rows.append(
            {
                "flag": "any",
                "n": int(any_flag.sum()),
                "share": float(any_flag.mean()) if n else math.nan,
            }
        )
        return pd.DataFrame(rows, columns=["flag", "n", "share"])

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"quality_summary": self.summary(), "quality_flags": self.flags}
        if self.raking is not None:
            out["raking_margins"] = self.raking.margins
            out["raking"] = pd.DataFrame([self.raking.to_dict()])
        return out

    def to_dict(self) -> dict[str, Any]:
        from allegiance.results import records

        body: dict[str, Any] = {
            "survey": self.survey,
            "n": len(self.flags),
            "settings": {
                "speeder_fraction": self.settings.speeder_fraction,
                "straightline_min_items": self.settings.straightline_min_items,
                "duplicate_window_s": self.settings.duplicate_window_s,
            },
            "summary": records(self.summary()),
            "flags": records(self.flags),
        }
        if self.raking is not None:
            body["raking"] = {**self.raking.to_dict(), "margins": records(self.raking.margins)}
        return body


def assess(
    definition: SurveyDefinition,
    meta: pd.DataFrame,
    answers: pd.DataFrame,
    /,
    *,
    survey: str = "-",
    settings: QualitySettings | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
) -> QualityResult:
    """Flags of every response and, with ``margins``, raking weights (a ``weight`` column).

    Raking variables are looked up in ``answers`` (analysis columns), then ``meta``.
    """
    chosen = settings or QualitySettings()
    flags = flag_frame(definition, meta, answers, chosen)
    front = meta[[c for c in ("response_id", "respondent_key", "customer_id") if c in meta]]
    table = pd.concat([front.reset_index(drop=True), flags.reset_index(drop=True)], axis=1)
    raking = rake_responses(meta, answers, margins) if margins else None
    if raking is not None:
        table["weight"] = raking.weights
    return QualityResult(survey=survey, flags=table, settings=chosen, raking=raking)


def rake_responses(
    meta: pd.DataFrame, answers: pd.DataFrame, margins: Mapping[str, Mapping[str, float]], /
) -> RakeResult:
    """:func:`rake` on stored responses: the raking variables are looked up in ``answers``
    (analysis columns), then ``meta`` (e.g. ``language``, ``wave``)."""
    data = pd.concat([meta.reset_index(drop=True), answers.reset_index(drop=True)], axis=1)
    data = data.loc[:, ~data.columns.duplicated(keep="last")]
    return rake(data, margins)
