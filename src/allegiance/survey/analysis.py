"""From stored answers to the tables the analyses read, with no re-mapping.

:func:`analysis_frame` turns responses (the answers JSON, e.g. from
:func:`allegiance.store.repository.responses_frame`, or a list of answer mappings) into
one row per respondent and one column per measured item, named by the rules below so
that ``allegiance csi``, ``pls``, ``kano``, ``servqual``, ``score``, ``reasons`` and
``drivers`` run on the exported table as it is. :func:`column_table` says what every
column is (question, type, part, scale range, and the tags ``measures``, ``construct``,
``factor``, ``dimension``, ``kano_feature``), and the small helpers below give the
mappings a method takes when the columns are named otherwise (``pls --items``,
``csi(columns=...)``, ``kano_pairs(pairs=...)``, ``servqual(expectation=...)``).

Column names (``base`` is the question's ``column``, else its ``id``):

=================  =================================================================
question type      columns
=================  =================================================================
rating scales      ``base`` (numbers; ``"na"`` and skipped answers are empty;
                   ``reverse: true`` items are reversed, low + high − x)
importance         ``base``; with ``kano_feature`` and no ``column``: ``kano_<f>_imp``
kano               ``kano_<feature>_func``, ``kano_<feature>_dysf`` (``column``: its stem)
servqual           ``sq_eNN``, ``sq_pNN`` with ``item: NN``, else ``base_e``, ``base_p``
servqual_zone      ``sq_aNN``, ``sq_dNN``, ``sq_pNN`` with ``item``, else ``base_a/_d/_p``
allocation         ``base_<option>`` (points)
ahp                ``base__<a>__<b>`` (each judgement), ``base__w__<criterion>`` (the
                   respondent's priority weights), ``base__cr`` (consistency ratio)
single             ``base`` (the option code), ``base_other``, ``base_score`` when the
                   options carry scores
multiple           ``base`` (codes joined by ``;``, as ``allegiance reasons`` reads them),
                   ``base_other``
text               ``base``
=================  =================================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from allegiance.survey.definition import (
    RATING_TYPES,
    SurveyDefinition,
    analysis_columns,
    choices,
)

__all__ = [
    "META_COLUMNS",
    "ColumnInfo",
    "analysis_frame",
    "column_info",
    "column_table",
    "csi_columns",
    "kano_importance",
    "kano_pairs",
    "pls_items",
    "servqual_inputs",
]

#: Response columns kept in front of the analysis columns when present.
META_COLUMNS: tuple[str, ...] = ("wave", "respondent_key", "customer_id", "submitted_at")


@dataclass(frozen=True)
class ColumnInfo:
    """What one column of the analysis frame holds."""

    column: str
    question: str
    page: str
    question_type: str
    answer_part: str | None
    measures: str | None
    construct: str | None
    factor: str | None
    dimension: str | None
    kano_feature: str | None
    item: int | None
    low: float | None
    high: float | None
    reverse: bool
    label_en: str
    label_zh: str


def _range(q: Any) -> tuple[float | None, float | None]:
    if q.type in RATING_TYPES or q.type == "kano":
        values = [c.value for c in choices(q)]
        return float(min(values)), float(max(values))
    if q.type in ("servqual", "servqual_zone"):
        return 1.0, float(q.points)
    if q.type == "allocation":
        return 0.0, float(q.total)
    return None, None


def _parts(q: Any) -> list[str | None]:
    kind = q.type
    if kind == "kano":
        return ["functional", "dysfunctional"]
    if kind == "servqual":
        return ["expectation", "perception"]
    if kind == "servqual_zone":
        return ["adequate", "desired", "perceived"]
    if kind == "allocation":
        return [o.code for o in q.options]
    if kind == "ahp":
        pairs: list[str | None] = [f"{a}:{b}" for a, b in q.pairs()]
        return [*pairs, *(f"weight:{c.code}" for c in q.criteria), "cr"]
    cols = analysis_columns(q)
    names: list[str | None] = [None]
    for col in cols[1:]:
        names.append("other" if col.endswith("_other") else "score")
    return names


def column_info(definition: SurveyDefinition, /) -> list[ColumnInfo]:
    """Every column of the analysis frame, in order, with what it measures."""
    out: list[ColumnInfo] = []
    for page in definition.pages:
        for q in page.questions:
            low, high = _range(q)
            for col, part in zip(analysis_columns(q), _parts(q), strict=True):
                numeric = q.type in RATING_TYPES or q.type in (
                    "kano",
                    "servqual",
                    "servqual_zone",
                    "allocation",
                )
                label = getattr(q, part, None) if part in ("functional", "dysfunctional") else None
                if part in ("expectation", "perception", "adequate", "desired", "perceived"):
                    label = getattr(q, part)
                text = label or q.text
                out.append(
                    ColumnInfo(
                        column=col,
                        question=q.id,
                        page=page.id,
                        question_type=q.type,
                        answer_part=part,
                        measures=q.measures,
                        construct=q.construct_name,
                        factor=q.factor,
                        dimension=q.dimension,
                        kano_feature=getattr(q, "feature", None)
                        or getattr(q, "kano_feature", None),
                        item=getattr(q, "item", None),
                        low=low if numeric else None,
                        high=high if numeric else None,
                        reverse=bool(getattr(q, "reverse", False)),
                        label_en=text.en,
                        label_zh=text.zh,
                    )
                )
    return out


def column_table(definition: SurveyDefinition, /) -> pd.DataFrame:
    """:func:`column_info` as a table (one row per column)."""
    rows = [asdict(c) for c in column_info(definition)]
    return pd.DataFrame(rows, columns=list(ColumnInfo.__dataclass_fields__))


# --------------------------------------------------------------------------------------------
# The frame
# --------------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _num(value: Any) -> float:
    if _missing(value) or isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return math.nan
    return math.nan


def _part(value: Any, name: str) -> float:
    if isinstance(value, Mapping):
        return _num(value.get(name))
    return math.nan


def _answers(responses: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(responses, pd.DataFrame):
        return responses.reset_index(drop=True)
    rows = list(responses)
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(str(k) for k in row))
    return pd.DataFrame(
        {k: pd.Series([row.get(k) for row in rows], dtype=object) for k in keys},
        index=pd.RangeIndex(len(rows)),
    )


def _series(frame: pd.DataFrame, name: str) -> list[Any]:
    if name in frame.columns:
        return list(frame[name].astype(object))
    return [None] * len(frame)


def _ahp_columns(q: Any, values: list[Any]) -> dict[str, Any]:
    from allegiance.methods.ahp import ahp_many

    pairs = q.pairs()
    codes = [c.code for c in q.criteria]
    n = len(codes)
    base = q.base_column
    judgements = np.full((len(values), len(pairs)), np.nan)
    for r, value in enumerate(values):
        if isinstance(value, Mapping):
            for k, (a, b) in enumerate(pairs):
                judgements[r, k] = _num(value.get(f"{a}:{b}"))
    out: dict[str, Any] = {f"{base}__{a}__{b}": judgements[:, k] for k, (a, b) in enumerate(pairs)}
    weights = np.full((len(values), n), np.nan)
    cr = np.full(len(values), np.nan)
    complete = np.isfinite(judgements).all(axis=1) & (judgements > 0).all(axis=1)
    if complete.any():
        rows = np.flatnonzero(complete)
        mats = np.ones((len(rows), n, n))
        for k, (a, b) in enumerate(pairs):
            i, j = codes.index(a), codes.index(b)
            mats[:, i, j] = judgements[rows, k]
            mats[:, j, i] = 1.0 / judgements[rows, k]
        result = ahp_many(mats, labels=codes, ri=q.ri, threshold=q.cr_threshold)
        weights[rows] = result.weights
        cr[rows] = result.cr
    for i, code in enumerate(codes):
        out[f"{base}__w__{code}"] = weights[:, i]
    out[f"{base}__cr"] = cr
    return out


def _question_columns(q: Any, frame: pd.DataFrame) -> dict[str, Any]:
    values = _series(frame, q.id)
    cols = analysis_columns(q)
    kind = q.type
    if kind in RATING_TYPES:
        x = np.array([_num(v) for v in values], dtype=np.float64)
        if getattr(q, "reverse", False):
            low, high = _range(q)
            x = (float(low or 0) + float(high or 0)) - x
        return {cols[0]: x}
    if kind in ("kano", "servqual", "servqual_zone"):
        names = [p for p in _parts(q) if p is not None]
        out: dict[str, Any] = {}
        for col, name in zip(cols, names, strict=True):
            x = np.array([_part(v, name) for v in values], dtype=np.float64)
            if getattr(q, "reverse", False):
                x = float(1 + q.points) - x
            out[col] = x
        return out
    if kind == "allocation":
        return {
            col: np.array(
                [_part(v, o.code) if isinstance(v, Mapping) else math.nan for v in values],
                dtype=np.float64,
            )
            for col, o in zip(cols, q.options, strict=True)
        }
    if kind == "ahp":
        return _ahp_columns(q, values)
    other = _series(frame, f"{q.id}.other")
    if kind == "single":
        codes = [None if _missing(v) else str(v) for v in values]
        out = {cols[0]: pd.array(codes, dtype="string")}
        if f"{q.base_column}_other" in cols:
            out[f"{q.base_column}_other"] = pd.array(
                [None if _missing(v) else str(v) for v in other], dtype="string"
            )
        if f"{q.base_column}_score" in cols:
            scores = {o.code: o.score for o in q.options}
            out[f"{q.base_column}_score"] = np.array(
                [
                    math.nan if c is None or scores.get(c) is None else float(scores[c] or 0)
                    for c in codes
                ],
                dtype=np.float64,
            )
        return out
    if kind == "multiple":
        joined = [
            ";".join(str(x) for x in v) if isinstance(v, (list, tuple)) and v else None
            for v in values
        ]
        out = {cols[0]: pd.array(joined, dtype="string")}
        if len(cols) > 1:
            out[cols[1]] = pd.array(
                [None if _missing(v) else str(v) for v in other], dtype="string"
            )
        return out
    return {cols[0]: pd.array([None if _missing(v) else str(v) for v in values], dtype="string")}


def analysis_frame(
    definition: SurveyDefinition,
    responses: pd.DataFrame | Iterable[Mapping[str, Any]],
    /,
    *,
    meta: bool = True,
) -> pd.DataFrame:
    """One row per response, one column per measured item (see the module documentation).

    ``responses`` is a frame with one column per answer key (what
    :func:`~allegiance.store.repository.responses_frame` returns: paired answers stay
    objects) or an iterable of answer mappings. With ``meta`` the columns ``wave,
    respondent_key, customer_id, submitted_at`` are kept in front when present.
    """
    frame = _answers(responses)
    columns: dict[str, Any] = {}
    if meta:
        for name in META_COLUMNS:
            if name in frame.columns:
                columns[name] = frame[name].to_numpy()
    for q in definition.questions():
        columns.update(_question_columns(q, frame))
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


# --------------------------------------------------------------------------------------------
# Mappings for the analyses
# --------------------------------------------------------------------------------------------


def pls_items(definition: SurveyDefinition, /) -> dict[str, list[str]]:
    """Construct → its item columns, from the ``construct`` tags (rating questions)."""
    out: dict[str, list[str]] = {}
    for q in definition.questions():
        if q.construct_name and q.type in RATING_TYPES:
            out.setdefault(q.construct_name, []).append(analysis_columns(q)[0])
    return out


def csi_columns(definition: SurveyDefinition, /) -> dict[str, str]:
    """Calculation-standard factor → its five-level column, from the ``factor`` tags."""
    return {
        q.factor: analysis_columns(q)[0]
        for q in definition.questions()
        if q.factor and q.type == "five_level"
    }


def kano_pairs(definition: SurveyDefinition, /) -> dict[str, tuple[str, str]]:
    """Kano feature → (functional column, dysfunctional column)."""
    out: dict[str, tuple[str, str]] = {}
    for q in definition.questions():
        if q.type == "kano":
            func, dysf = analysis_columns(q)
            out[q.feature] = (func, dysf)
    return out


def kano_importance(definition: SurveyDefinition, /) -> dict[str, str]:
    """Kano feature → the column of its importance rating (``importance`` + ``kano_feature``)."""
    return {
        q.kano_feature: analysis_columns(q)[0]
        for q in definition.questions()
        if q.type == "importance" and q.kano_feature
    }


def servqual_inputs(definition: SurveyDefinition, /) -> dict[str, Any]:
    """The arguments of :func:`allegiance.methods.servqual.servqual` for this survey:
    ``expectation``, ``perception``, ``dimensions`` (from the pairs, in item order),
    ``adequate``/``desired``/``perceived`` (from the zone triples) and ``importance``
    (dimension → column, from an allocation tagged ``measures: importance`` whose option
    codes are dimensions)."""
    pairs = [q for q in definition.questions() if q.type == "servqual"]
    zones = [q for q in definition.questions() if q.type == "servqual_zone"]
    pairs.sort(key=lambda q: (q.item is None, q.item or 0))
    zones.sort(key=lambda q: (q.item is None, q.item or 0))
    dims = [q.dimension or "-" for q in pairs]
    importance: dict[str, str] = {}
    for q in definition.questions():
        if q.type == "allocation" and q.measures == "importance":
            for col, o in zip(analysis_columns(q), q.options, strict=True):
                if o.code in dims:
                    importance[o.code] = col
    return {
        "expectation": [analysis_columns(q)[0] for q in pairs],
        "perception": [analysis_columns(q)[1] for q in pairs],
        "dimensions": dims,
        "adequate": [analysis_columns(q)[0] for q in zones],
        "desired": [analysis_columns(q)[1] for q in zones],
        "perceived": [analysis_columns(q)[2] for q in zones],
        "zone_dimensions": [q.dimension or "-" for q in zones],
        "importance": importance,
    }
