"""Exporting a survey's responses (CSV, XLSX, SPSS .sav) and importing them back.

**Export** (:func:`export_responses`): one row per response; first the metadata
(:data:`EXPORT_META_COLUMNS`: response id, respondent key, wave, customer id, submitted and
started times, duration, language, source, user-agent hash), then one column per answer
part named as the analysis frame names them (:mod:`allegiance.survey.analysis`: reverse-keyed
items reversed, AHP weights and consistency ratio, option scores), then the quality flags
of :mod:`allegiance.survey.quality` (:data:`~allegiance.survey.quality.FLAG_COLUMNS`).
The SPSS file carries the question text as variable labels and the scale anchors and
option labels as value labels, in the chosen language (``lang``). With ``pseudonymise``
customer ids are replaced by the project's pseudonyms
(:mod:`allegiance.security.privacy`, keyed with the secret key). "Not applicable" rating
answers are the words "Not applicable"/"不适用" in CSV and XLSX and the user-missing code
−1 (labelled) in SPSS, and import back as ``"na"``.

**Import** (:func:`import_responses`): CSV, XLSX or SAV with columns of the same names
(metadata columns optional; derived columns such as AHP weights, option scores and quality
flags ignored). Cells may hold codes or, for scales and options, their labels in either
language (what an SPSS file shows). Every row is turned back into answers and checked with
:func:`allegiance.survey.validate_response` (types, ranges, required answers given the
skip logic). Any problem: an :class:`ImportRejected` error with a report (row, column,
value, expected, in English and Chinese) and nothing is written. With ``quarantine=PATH``
the valid rows are written and the rejected rows go to ``PATH`` (CSV) with the reasons.
Rows are stored in one transaction with ``source="import"``.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from allegiance.errors import InputError, ValidationError
from allegiance.i18n import t
from allegiance.survey.analysis import analysis_frame, column_info
from allegiance.survey.definition import RATING_TYPES, SurveyDefinition, analysis_columns, choices
from allegiance.survey.quality import QualitySettings, flag_frame, rake_responses

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_META_COLUMNS",
    "WEIGHT_COLUMN",
    "ImportIssue",
    "ImportRejected",
    "ImportResult",
    "export_responses",
    "import_responses",
    "load_responses",
]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "sav")
EXPORT_META_COLUMNS: tuple[str, ...] = (
    "response_id",
    "respondent_key",
    "wave",
    "customer_id",
    "submitted_at",
    "started_at",
    "duration_s",
    "language",
    "source",
    "user_agent_hash",
)
_TIMES = ("submitted_at", "started_at")
#: "Not applicable" (``"na"``) in a rating column: the words "Not applicable" / "不适用" in
#: CSV and XLSX (data files read ``na`` as missing); in SPSS this code, declared
#: user-missing and labelled.
NA_TEXT = "na"
NA_CODE = -1.0
#: The raking weight written by an export with population margins (mean 1).
WEIGHT_COLUMN = "weight"


# --------------------------------------------------------------------------------------------
# Reading the stored responses
# --------------------------------------------------------------------------------------------


def load_responses(
    engine: Engine, slug: str, /
) -> tuple[SurveyDefinition, pd.DataFrame, list[dict[str, Any]]]:
    """A survey's definition, its responses' metadata (:data:`EXPORT_META_COLUMNS`) and
    their stored answers, in the order they were stored."""
    from allegiance.store.models import Response, Survey, SurveyWave
    from allegiance.store.repository import _reading
    from allegiance.store.surveys import survey_definition

    with Session(engine) as session:
        definition = survey_definition(session, slug)
    stmt = (
        select(
            Response.id,
            Response.respondent_key,
            SurveyWave.name,
            Response.customer_id,
            Response.submitted_at,
            Response.started_at,
            Response.duration_s,
            Response.language,
            Response.source,
            Response.user_agent_hash,
            Response.answers,
        )
        .join(SurveyWave, Response.wave_id == SurveyWave.id)
        .join(Survey, SurveyWave.survey_id == Survey.id)
        .where(Survey.slug == slug)
        .order_by(Response.id)
    )
    with _reading("responses"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    meta = pd.DataFrame([tuple(r)[:-1] for r in rows], columns=list(EXPORT_META_COLUMNS))
    for name in _TIMES:
        meta[name] = pd.to_datetime(meta[name], utc=True)
    meta["duration_s"] = meta["duration_s"].astype("float64")
    meta["response_id"] = meta["response_id"].astype("int64")
    answers: list[dict[str, Any]] = [
        dict(r[-1]) if isinstance(r[-1], Mapping) else {} for r in rows
    ]
    return definition, meta, answers


def _export_frame(
    engine: Engine,
    slug: str,
    *,
    pseudonymise: bool,
    key: Any,
    settings: QualitySettings | None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[SurveyDefinition, pd.DataFrame]:
    definition, meta, answers = load_responses(engine, slug)
    frame = analysis_frame(definition, answers, meta=False)
    flags = flag_frame(definition, meta, frame, settings)
    # raked on the stored values, before any pseudonym replaces a customer id
    raking = rake_responses(meta, frame, margins) if margins else None
    if pseudonymise:
        from allegiance.security.privacy import project_pseudonymiser
        from allegiance.security.secret import load_secret_key

        secret = key if key is not None else load_secret_key()
        with Session(engine) as session:
            pseudo = project_pseudonymiser(session, secret)
        meta = pseudo.frame(meta, columns=("customer_id",))
    out = pd.concat([meta, frame, flags], axis=1)
    if raking is not None:
        out[WEIGHT_COLUMN] = raking.weights
        out.attrs["raking"] = raking
    na: dict[str, np.ndarray] = {}
    for q in definition.questions():
        if q.type in RATING_TYPES and getattr(q, "allow_na", False):
            mask = np.array([a.get(q.id) == NA_TEXT for a in answers], dtype=bool)
            if mask.any():
                na[analysis_columns(q)[0]] = mask
    out.attrs["na"] = na
    return definition, out


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _labels(
    definition: SurveyDefinition, lang: str
) -> tuple[dict[str, str], dict[str, dict[Any, str]]]:
    variable: dict[str, str] = {}
    values: dict[str, dict[Any, str]] = {}
    by_id = {q.id: q for q in definition.questions()}
    for info in column_info(definition):
        text = info.label_zh if lang == "zh" else info.label_en
        q = by_id[info.question]
        suffix = ""
        if (
            info.answer_part and info.question_type in ("allocation", "ahp")
        ) or info.answer_part in ("other", "score"):
            suffix = f" [{info.answer_part}]"
        variable[info.column] = text + suffix
        if info.answer_part in ("other", "score") or info.question_type in (
            "allocation",
            "ahp",
            "text",
            "multiple",
        ):
            continue
        part = (
            info.answer_part
            if info.question_type in ("kano", "servqual", "servqual_zone")
            else None
        )
        labels = {}
        for c in choices(q, part) if part else choices(q):
            value: Any = float(c.value) if isinstance(c.value, int) else str(c.value)
            if (
                info.reverse
                and isinstance(c.value, int)
                and info.low is not None
                and info.high is not None
            ):
                value = float(info.low + info.high - c.value)
            labels[value] = c.label.get(lang)
        if labels:
            values[info.column] = labels
    yes, no = t("responses.label.yes", lang), t("responses.label.no", lang)
    for name in ("speeder", "straightliner", "duplicate"):
        variable[name] = t(f"responses.flag.{name}", lang)
        values[name] = {1.0: yes, 0.0: no}
    variable["duplicate_of"] = t("responses.flag.duplicate_of", lang)
    variable[WEIGHT_COLUMN] = t("responses.meta.weight", lang)
    for name in EXPORT_META_COLUMNS:
        variable[name] = t(f"responses.meta.{name}", lang)
    return variable, values


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text files and spreadsheets: naive UTC times, flags as 0/1."""
    out = frame.copy()
    for name in _TIMES:
        out[name] = out[name].dt.tz_convert(UTC).dt.tz_localize(None)
    for name in ("speeder", "straightliner", "duplicate"):
        out[name] = out[name].astype("int64")
    out.attrs = dict(frame.attrs)
    return out


def _with_na(frame: pd.DataFrame, value: Any) -> pd.DataFrame:
    """ "Not applicable" answers written as ``value`` into their rating columns."""
    out = frame.copy()
    for col, mask in frame.attrs.get("na", {}).items():
        series = out[col].astype(object) if isinstance(value, str) else out[col]
        series[mask] = value
        out[col] = series
    return out


def export_responses(
    engine: Engine,
    slug: str,
    fmt: str,
    *,
    pseudonymise: bool = False,
    lang: str = "en",
    key: Any = None,
    settings: QualitySettings | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
) -> bytes:
    """A survey's responses as the bytes of a CSV (UTF-8 with BOM, for Excel), XLSX or SAV
    file (see the module documentation). ``key`` is the secret key for pseudonyms (default:
    :func:`allegiance.security.secret.load_secret_key`). With population ``margins``
    (variable → category → share, see :func:`allegiance.survey.quality.rake`) the file gains
    a :data:`WEIGHT_COLUMN` of raking weights (mean 1): give it to an analysis as its weight
    (``--weight weight``) and its intervals use Kish's effective n, ``n / deff``."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(
            "responses.export.bad_format", value=repr(fmt), allowed=", ".join(EXPORT_FORMATS)
        )
    chosen = "zh" if str(lang).lower().startswith("zh") else "en"
    definition, frame = _export_frame(
        engine, slug, pseudonymise=pseudonymise, key=key, settings=settings, margins=margins
    )
    plain = _plain(frame)
    if fmt != "sav":
        plain = _with_na(plain, t("responses.label.na", chosen))
    if fmt == "csv":
        return plain.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            plain.to_excel(writer, index=False, sheet_name="responses")
            labels, _ = _labels(definition, chosen)
            pd.DataFrame(
                {"column": list(plain.columns), "label": [labels.get(c, "") for c in plain.columns]}
            ).to_excel(writer, index=False, sheet_name="labels")
        return buffer.getvalue()
    return _sav_bytes(definition, plain, chosen)


def _sav_bytes(definition: SurveyDefinition, frame: pd.DataFrame, lang: str) -> bytes:
    import pyreadstat

    variable, values = _labels(definition, lang)
    out = _with_na(frame, NA_CODE)
    missing: dict[str, list[Any]] = {}
    for q in definition.questions():
        if q.type in RATING_TYPES and getattr(q, "allow_na", False):
            col = analysis_columns(q)[0]
            missing[col] = [NA_CODE]
            values.setdefault(col, {})[NA_CODE] = t("responses.label.na", lang)
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.StringDtype) or series.dtype == object:
            out[col] = series.astype(object).where(series.notna(), "").astype(str)
        elif str(series.dtype) == "Int64":
            out[col] = series.astype("float64")
    value_labels = {c: v for c, v in values.items() if c in out.columns}
    for col, labels in list(value_labels.items()):
        if out[col].dtype == object:
            value_labels[col] = {str(k): v for k, v in labels.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.sav"
        pyreadstat.write_sav(
            out,
            str(path),
            column_labels={c: variable.get(c, c) for c in out.columns},
            variable_value_labels=value_labels,
            missing_ranges=missing or None,
        )
        return path.read_bytes()


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportIssue:
    """One problem of one imported row: where (row as in the file, column), what, expected."""

    row: int
    column: str
    value: str
    expected_en: str
    expected_zh: str
    question: str = "-"

    def render(self, lang: str | None = None) -> str:
        expected = self.expected_zh if lang == "zh" else self.expected_en
        return t(
            "responses.import.issue",
            lang,
            row=self.row,
            column=self.column,
            value=self.value,
            expected=expected,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "question": self.question,
            "expected_en": self.expected_en,
            "expected_zh": self.expected_zh,
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows read, written, rejected (with every issue)."""

    survey: str
    file: str
    n_rows: int
    n_written: int
    issues: tuple[ImportIssue, ...] = ()
    rejected_rows: tuple[int, ...] = ()
    quarantine: str | None = None
    written: bool = True
    warnings: tuple[Any, ...] = ()

    @property
    def n_rejected(self) -> int:
        return len(self.rejected_rows)

    def issue_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [i.to_dict() for i in self.issues],
            columns=["row", "column", "value", "question", "expected_en", "expected_zh"],
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        summary = pd.DataFrame(
            [
                {
                    "slug": self.survey,
                    "file": self.file,
                    "n_rows": self.n_rows,
                    "n_written": self.n_written,
                    "n_rejected": self.n_rejected,
                    "quarantine": self.quarantine,
                }
            ]
        )
        return {"import_summary": summary, "import_issues": self.issue_frame()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "survey": self.survey,
            "file": self.file,
            "n_rows": self.n_rows,
            "n_written": self.n_written,
            "n_rejected": self.n_rejected,
            "written": self.written,
            "quarantine": self.quarantine,
            "issues": [i.to_dict() for i in self.issues],
        }


class ImportRejected(ValidationError):
    """An import with invalid rows and no quarantine: nothing was written; ``result`` has
    every issue."""

    default_key = "responses.import.rejected"

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        super().__init__(
            "responses.import.rejected",
            file=result.file,
            n=result.n_rejected,
            n_rows=result.n_rows,
        )

    def render(self, lang: str | None = None) -> str:
        head = t(self.key, lang, **self.params)
        shown = self.result.issues[:50]
        lines = [f"  - {i.render(lang)}" for i in shown]
        if len(self.result.issues) > len(shown):
            lines.append(f"  … (+{len(self.result.issues) - len(shown)})")
        return "\n".join([head, *lines])


def _empty(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _show(value: Any) -> str:
    return "" if _empty(value) else (f"{value:g}" if isinstance(value, float) else str(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _tidy(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _label_map(q: Any, part: str | None, sav_labels: Mapping[Any, str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in choices(q, part) if part else choices(q):
        for text in (c.label.en, c.label.zh):
            out[text.strip().casefold()] = c.value
    for value, text in (sav_labels or {}).items():
        out.setdefault(str(text).strip().casefold(), value)
    return out


class _Mapper:
    """Turns one file row into answers (question id → answer) and remembers which column
    holds each question's (first) value."""

    def __init__(
        self,
        definition: SurveyDefinition,
        columns: list[str],
        sav_labels: Mapping[str, Mapping[Any, str]],
    ) -> None:
        self.definition = definition
        self.infos = column_info(definition)
        self.by_question: dict[str, list[Any]] = {}
        for info in self.infos:
            self.by_question.setdefault(info.question, []).append(info)
        self.columns = set(columns)
        self.labels: dict[str, dict[str, Any]] = {}
        by_id = {q.id: q for q in definition.questions()}
        for info in self.infos:
            q = by_id[info.question]
            part = (
                info.answer_part
                if info.question_type in ("kano", "servqual", "servqual_zone")
                else None
            )
            labelled = info.question_type in RATING_TYPES or part or info.question_type == "single"
            if labelled and info.answer_part not in ("other", "score"):
                self.labels[info.column] = _label_map(q, part, sav_labels.get(info.column))

    def known_columns(self) -> set[str]:
        return {i.column for i in self.infos}

    def cell(self, row: Mapping[str, Any], info: Any) -> Any:
        value = row.get(info.column)
        if _empty(value):
            return None
        if isinstance(value, str):
            value = value.strip()
            mapped = self.labels.get(info.column, {}).get(value.casefold())
            if mapped is not None:
                value = mapped
        if info.low is not None:
            x = _number(value)
            if x is None:
                return value
            if info.reverse and info.high is not None:
                x = info.low + info.high - x
            return _tidy(x)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value

    def answers(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for q in self.definition.questions():
            infos = self.by_question[q.id]
            kind = q.type
            if kind in RATING_TYPES or kind == "text":
                value = self.cell(row, infos[0])
                if value is not None:
                    out[q.id] = value if kind != "text" else str(value)
            elif kind in ("kano", "servqual", "servqual_zone", "allocation"):
                parts = {i.answer_part: self.cell(row, i) for i in infos}
                given = {k: v for k, v in parts.items() if v is not None}
                if given:
                    out[q.id] = given
            elif kind == "ahp":
                judgements = {
                    i.answer_part: self.cell(row, i)
                    for i in infos
                    if i.answer_part
                    and ":" in i.answer_part
                    and not i.answer_part.startswith("weight:")
                }
                given = {k: v for k, v in judgements.items() if v is not None}
                if given:
                    out[q.id] = given
            elif kind == "single":
                value = self.cell(row, infos[0])
                if value is not None:
                    out[q.id] = str(value)
                other = [i for i in infos if i.answer_part == "other"]
                if other and not _empty(row.get(other[0].column)):
                    out[f"{q.id}.other"] = str(row[other[0].column]).strip()
            elif kind == "multiple":
                value = row.get(infos[0].column)
                if not _empty(value):
                    codes = [c.strip() for c in str(value).split(";") if c.strip()]
                    label_map = _label_map(q, None, None)
                    out[q.id] = [str(label_map.get(c.casefold(), c)) for c in codes]
                other = [i for i in infos if i.answer_part == "other"]
                if other and not _empty(row.get(other[0].column)):
                    out[f"{q.id}.other"] = str(row[other[0].column]).strip()
        return out

    def column_of(self, question: str) -> str:
        qid = question.split(".")[0]
        infos = self.by_question.get(qid)
        if not infos:
            return "-"
        if question.endswith(".other"):
            other = [i.column for i in infos if i.answer_part == "other"]
            if other:
                return str(other[0])
        return str(infos[0].column)

    def shown_value(self, row: Mapping[str, Any], question: str) -> str:
        qid = question.split(".")[0]
        infos = self.by_question.get(qid, [])
        values = [(i.column, row.get(i.column)) for i in infos if i.answer_part not in ("score",)]
        values = [
            (c, v)
            for c, v in values
            if not _empty(v) and "__w__" not in c and not c.endswith("__cr")
        ]
        if len(values) == 1 or (values and len(infos) == 1):
            return _show(values[0][1])
        return "; ".join(f"{c}={_show(v)}" for c, v in values)


def _read(path: Path) -> tuple[pd.DataFrame, dict[str, dict[Any, str]], int, tuple[Any, ...]]:
    from allegiance.io.reader import read_table

    table = read_table(path)
    frame = table.frame
    if table.format == "sav":
        import pyreadstat

        # read_table drops user-missing values; "not applicable" is one of them
        with_missing, _ = pyreadstat.read_sav(
            str(path), apply_value_formats=False, user_missing=True
        )
        for col in frame.columns:
            if col in with_missing.columns and pd.api.types.is_numeric_dtype(with_missing[col]):
                is_na = (with_missing[col] == NA_CODE).to_numpy()
                if is_na.any():
                    series = frame[col].astype(object)
                    series[is_na] = NA_TEXT
                    frame[col] = series
    return frame, table.value_labels, table.header_row, tuple(table.warnings)


def _meta_value(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return None if _empty(value) else value


def _time(value: Any) -> datetime | None:
    if _empty(value):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    return stamp.tz_convert(UTC).to_pydatetime()


def _meta_issues(row: Mapping[str, Any], line: int) -> tuple[dict[str, Any], list[ImportIssue]]:
    issues: list[ImportIssue] = []
    meta: dict[str, Any] = {}
    for name in _TIMES:
        value = _meta_value(row, name)
        try:
            meta[name] = _time(value)
        except (ValueError, TypeError):
            issues.append(_issue(line, name, value, "responses.expected.time"))
    value = _meta_value(row, "duration_s")
    if value is not None:
        x = _number(value)
        if x is None or not math.isfinite(x) or x < 0:
            issues.append(_issue(line, "duration_s", value, "responses.expected.duration"))
        else:
            meta["duration_s"] = x
    value = _meta_value(row, "language")
    if value is not None:
        text = str(value).strip().lower()
        if text.startswith("zh"):
            meta["language"] = "zh"
        elif text.startswith("en"):
            meta["language"] = "en"
        else:
            issues.append(_issue(line, "language", value, "responses.expected.language"))
    for name in ("respondent_key", "customer_id", "user_agent_hash", "wave"):
        value = _meta_value(row, name)
        if value is not None:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            meta[name] = str(value).strip()
    return meta, issues


def _issue(
    line: int, column: str, value: Any, key: str, question: str = "-", **params: Any
) -> ImportIssue:
    return ImportIssue(
        row=line,
        column=column,
        value=_show(value),
        expected_en=t(key, "en", **params),
        expected_zh=t(key, "zh", **params),
        question=question,
    )


def import_responses(
    engine: Engine,
    slug: str,
    path: str | Path,
    /,
    *,
    quarantine: str | Path | None = None,
    wave: str | None = None,
) -> ImportResult:
    """Import responses from CSV, XLSX or SAV (see the module documentation).

    Without ``quarantine`` any invalid row raises :class:`ImportRejected` and nothing is
    written; with it the valid rows are written and the others saved to ``quarantine``.
    Rows go to the wave named in a ``wave`` column, else ``wave``, else the survey's
    current wave, else a wave named ``import``. Rows are numbered as in the file (the
    header is row 1).
    """
    from allegiance.store.models import Response, Survey, SurveyWave
    from allegiance.store.repository import _db_error, _json
    from allegiance.store.surveys import current_wave, require_survey, survey_definition
    from allegiance.survey.responses import validate_response

    file = Path(path)
    frame, sav_labels, header_row, warnings = _read(file)
    with Session(engine) as session:
        definition = survey_definition(session, slug)
        survey = require_survey(session, slug)
        version = int(survey.version)
        current = current_wave(session, survey)
        default_wave = wave or (current.name if current is not None else "import")
        existing = {
            (w, k)
            for w, k in session.execute(
                select(SurveyWave.name, Response.respondent_key)
                .join(SurveyWave, Response.wave_id == SurveyWave.id)
                .join(Survey, SurveyWave.survey_id == Survey.id)
                .where(Survey.slug == slug)
            ).all()
        }
    mapper = _Mapper(definition, [str(c) for c in frame.columns], sav_labels)
    if len(frame.columns) and not (mapper.known_columns() & {str(c) for c in frame.columns}):
        raise InputError(
            "responses.import.no_columns",
            file=str(path),
            expected=", ".join(sorted(mapper.known_columns())[:12]),
        )
    issues: list[ImportIssue] = []
    rejected: list[int] = []
    good: list[dict[str, Any]] = []
    keys_seen: set[tuple[str, str]] = set()
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")
    ]
    for i, row in enumerate(records):
        line = header_row + 1 + i
        row_issues: list[ImportIssue] = []
        meta, meta_problems = _meta_issues(row, line)
        row_issues.extend(meta_problems)
        answers = mapper.answers(row)
        check = validate_response(definition, answers)
        for issue in check.issues:
            row_issues.append(
                ImportIssue(
                    row=line,
                    column=mapper.column_of(issue.question),
                    value=mapper.shown_value(row, issue.question),
                    expected_en=issue.render("en"),
                    expected_zh=issue.render("zh"),
                    question=issue.question,
                )
            )
        wave_name = str(meta.get("wave") or default_wave)
        key = str(meta.get("respondent_key") or f"import-{file.stem}-{line}")
        if (wave_name, key) in existing or (wave_name, key) in keys_seen:
            row_issues.append(
                _issue(line, "respondent_key", key, "responses.expected.unique_key", wave=wave_name)
            )
        keys_seen.add((wave_name, key))
        if row_issues:
            issues.extend(row_issues)
            rejected.append(i)
            continue
        good.append(
            {
                "wave": wave_name,
                "respondent_key": key,
                "customer_id": meta.get("customer_id"),
                "submitted_at": meta.get("submitted_at"),
                "started_at": meta.get("started_at"),
                "duration_s": meta.get("duration_s"),
                "language": meta.get("language"),
                "user_agent_hash": meta.get("user_agent_hash"),
                "answers": _json(check.answers, table="responses", row=i, field="answers"),
            }
        )
    result = ImportResult(
        survey=slug,
        file=str(path),
        n_rows=len(records),
        n_written=0,
        issues=tuple(issues),
        rejected_rows=tuple(header_row + 1 + i for i in rejected),
        quarantine=str(quarantine) if quarantine is not None else None,
        written=False,
        warnings=warnings,
    )
    if issues and quarantine is None:
        raise ImportRejected(result)
    from allegiance.store.repository import get_or_create_wave

    now = datetime.now(UTC)
    with Session(engine) as session:
        try:
            with session.begin():
                survey = require_survey(session, slug)
                waves: dict[str, int] = {}
                stored: list[Response] = []
                for item in good:
                    name = item["wave"]
                    if name not in waves:
                        waves[name] = int(
                            get_or_create_wave(session, survey.id, name, commit=False).id
                        )
                    stored.append(
                        Response(
                            wave_id=waves[name],
                            respondent_key=item["respondent_key"],
                            customer_id=item["customer_id"],
                            submitted_at=item["submitted_at"] or now,
                            answers=item["answers"],
                            invitation_id=None,
                            definition_version=version,
                            started_at=item["started_at"],
                            duration_s=item["duration_s"],
                            user_agent_hash=item["user_agent_hash"],
                            language=item["language"],
                            source="import",
                        )
                    )
                session.add_all(stored)
                session.flush()
                # The closed loop: dissatisfied answers open their cases in this transaction.
                from allegiance.complaints.closed_loop import follow_up_all

                follow_up_all(session, stored, definition, survey=slug)
        except SQLAlchemyError as exc:
            raise _db_error(exc, "responses") from exc
    if quarantine is not None:
        _write_quarantine(Path(quarantine), frame, rejected, issues, header_row)
    return ImportResult(
        survey=slug,
        file=str(path),
        n_rows=len(records),
        n_written=len(good),
        issues=tuple(issues),
        rejected_rows=result.rejected_rows,
        quarantine=result.quarantine,
        written=True,
        warnings=warnings,
    )


def _write_quarantine(
    path: Path, frame: pd.DataFrame, rejected: list[int], issues: list[ImportIssue], header_row: int
) -> None:
    """The rejected rows as they were read, with their row number and reasons (CSV)."""
    reasons: dict[int, list[ImportIssue]] = {}
    for issue in issues:
        reasons.setdefault(issue.row, []).append(issue)
    out = frame.iloc[rejected].copy()
    lines = [header_row + 1 + i for i in rejected]
    out.insert(0, "source_row", lines)
    out["reject_reason_en"] = [
        " | ".join(f"{x.column}={x.value!r}: {x.expected_en}" for x in reasons.get(n, []))
        for n in lines
    ]
    out["reject_reason_zh"] = [
        " | ".join(f"{x.column}={x.value!r}：{x.expected_zh}" for x in reasons.get(n, []))
        for n in lines
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, encoding="utf-8-sig")
