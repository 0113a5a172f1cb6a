"""Import a complaint register from CSV or XLSX: validated first, then written all or nothing.

:func:`read_complaints` reads a file with :func:`allegiance.io.reader.read_table`, finds the
columns (their names in English or Chinese, e.g. ``received_at`` / ``受理时间``, or as
mapped), and checks every row: the cause must be in the taxonomy (code, Chinese or English
name), the class (when given) must be the taxonomy's, severity and status must be the
workflow's, times must be dates not before the complaint was received, compensation a
number ≥ 0, satisfaction after recovery on the workflow's scale, escalation one of none,
consumer_association, media, regulator, court. Every problem is collected; if there is any,
:class:`ComplaintImportError` names the file and, for each problem, the row (as a
spreadsheet counts it), the column, the value and what was expected, and nothing is
written. :func:`import_complaints` then stores the rows in one transaction.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from allegiance.complaints.handling import ESCALATIONS, Workflow, load_workflow
from allegiance.complaints.taxonomy import Taxonomy, load_taxonomy, normalize_name
from allegiance.errors import ColumnNotFoundError, ConfigError, DataFileError
from allegiance.i18n import LANGS, Message, t
from allegiance.io.reader import MISSING_TOKENS, read_table
from allegiance.results import plain_dict

__all__ = [
    "FIELDS",
    "IMPORT_REQUIRED",
    "ComplaintImportError",
    "ImportResult",
    "Problem",
    "import_complaints",
    "load_mapping",
    "prepare_complaints",
    "read_complaints",
]

#: The register's fields (the store's columns, with ``cause`` for the cause as written) and
#: the other names a file's header may use for them (compared ignoring case and width).
FIELDS: dict[str, tuple[str, ...]] = {
    "complaint_key": ("key", "id", "complaint_id", "ticket", "投诉编号", "工单号", "编号"),
    "customer_id": ("customer", "客户编号", "客户ID", "客户"),
    "received_at": ("received", "date", "受理时间", "投诉时间", "日期"),
    "channel": ("投诉渠道", "渠道"),
    "product": ("产品",),
    "cause": ("cause_code", "reason", "投诉原因", "抱怨原因", "原因"),
    "cause_class": ("class", "原因类别", "类别"),
    "cause_text": ("cause_description", "原因说明"),
    "text": ("description", "content", "投诉内容", "内容"),
    "severity": ("严重程度",),
    "status": ("state", "处理状态", "状态"),
    "owner": ("agent", "处理人", "负责人"),
    "first_response_at": ("first_response", "首次响应时间"),
    "resolved_at": ("resolved", "解决时间"),
    "resolution": ("处理结果", "解决方式"),
    "compensation": ("补偿金额", "补偿"),
    "satisfaction_after": ("recovery_satisfaction", "补救后满意度", "回访满意度"),
    "escalated_to": ("escalation", "投诉去向", "升级至"),
    "lang": ("language", "语言"),
}
#: The fields an import needs; the Pareto of a file needs only ``cause``.
IMPORT_REQUIRED: tuple[str, ...] = ("complaint_key", "received_at", "channel", "cause")
_MAX_LEN = {
    "complaint_key": 200,
    "customer_id": 200,
    "channel": 50,
    "product": 100,
    "owner": 200,
}
_TIMES = ("received_at", "first_response_at", "resolved_at")
_MAX_LISTED = 10
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")

ClassMismatch = Literal["error", "warn"]


# --------------------------------------------------------------------------------------------
# Problems and the error that lists them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One bad value: spreadsheet row, column (as in the file), value, what was expected."""

    row: int
    column: str
    value: str
    expected: Message

    def render(self, lang: str | None = None) -> str:
        return t(
            "complaints.import.problem",
            lang,
            row=self.row,
            column=self.column,
            value=self.value,
            expected=self.expected.render(lang),
        )

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "expected": self.expected.render(lang),
            "code": self.expected.key,
        }


class ComplaintImportError(DataFileError):
    """The file has bad values: every problem is listed; nothing was written."""

    default_key = "complaints.import.invalid"

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__(
            "complaints.import.invalid",
            file=file,
            n=len(self.problems),
            row=first.row,
            column=first.column,
            value=first.value,
            expected=first.expected.render("en"),
            details=self._details("en"),
        )

    def _details(self, lang: str | None) -> str:
        rest = self.problems[1 : _MAX_LISTED + 1]
        lines = [f"\n  - {p.render(lang)}" for p in rest]
        more = len(self.problems) - 1 - len(rest)
        if more > 0:
            lines.append("\n  " + t("complaints.import.more", lang, n=more))
        return "".join(lines)

    def render(self, lang: str | None = None) -> str:
        if not hasattr(self, "problems"):
            return super().render(lang)
        params = dict(self.params)
        first = self.problems[0]
        params["expected"] = first.expected.render(lang)
        params["details"] = self._details(lang)
        return t(self.key, lang, **params)


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


def load_mapping(spec: str | os.PathLike[str] | Mapping[str, str] | None, /) -> dict[str, str]:
    """A column mapping ``{field: header in the file}`` from a YAML file, ``field=Header,...``
    text or a mapping. Fields are the keys of :data:`FIELDS`."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        raw: Mapping[str, Any] = spec
    else:
        path = Path(spec).expanduser()
        if path.is_file():
            import yaml

            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise ConfigError(
                    "complaints.import.bad_mapping", value=str(path), detail=str(exc)
                ) from None
            if not isinstance(loaded, Mapping):
                raise ConfigError(
                    "complaints.import.bad_mapping", value=str(path), detail=type(loaded).__name__
                )
            raw = loaded
        else:
            pairs: dict[str, str] = {}
            for part in str(spec).replace("，", ",").split(","):
                if not part.strip():
                    continue
                if "=" not in part:
                    raise ConfigError("complaints.import.bad_mapping", value=str(spec), detail=part)
                name, header = part.split("=", 1)
                pairs[name.strip()] = header.strip()
            raw = pairs
    out: dict[str, str] = {}
    for name, header in raw.items():
        field = "cause" if str(name) == "cause_code" else str(name)
        if field not in FIELDS:
            raise ConfigError(
                "complaints.import.unknown_field", field=str(name), fields=", ".join(FIELDS)
            )
        out[field] = str(header)
    return out


def _match_columns(
    columns: Sequence[str], mapping: Mapping[str, str], *, file: str
) -> tuple[dict[str, str], list[str]]:
    """``{field: header}`` for the fields found, and the headers left unused."""
    found: dict[str, str] = {}
    headers = [str(c) for c in columns]
    missing = [h for h in mapping.values() if h not in headers]
    if missing:
        raise ColumnNotFoundError(missing, headers, file=file)
    found.update(mapping)
    taken = set(mapping.values())
    by_name = {normalize_name(h): h for h in headers}
    for field, aliases in FIELDS.items():
        if field in found:
            continue
        for name in (field, *aliases):
            header = by_name.get(normalize_name(name))
            if header is not None and header not in taken:
                found[field] = header
                taken.add(header)
                break
    unused = [h for h in headers if h not in taken]
    return found, unused


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().casefold() in MISSING_TOKENS


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return str(int(value))
    return str(value).strip()


def _time(value: Any, tz: str) -> pd.Timestamp | None:
    """A UTC timestamp, or ``None`` when the value is not a date and time."""
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return None  # a bare number is not a date (nor an Excel serial day we could trust)
    if isinstance(value, str):
        text = _CN_DATE.sub(r"\1-\2-\3", value.strip())
        text = text.replace("时", ":").replace("分", "").replace("秒", "").strip()
    else:
        text = value
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is None:
        try:
            stamp = stamp.tz_localize(tz)
        except (ValueError, TypeError):
            return None
    return stamp.tz_convert("UTC")


def _choices(workflow_codes: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, en, zh in workflow_codes:
        for name in (code, en, zh):
            out[normalize_name(name)] = code
    return out


def _escalation_names() -> dict[str, str]:
    out: dict[str, str] = {}
    for code in ESCALATIONS:
        out[normalize_name(code)] = code
        for lang in LANGS:
            out[normalize_name(t(f"complaints.escalation.{code}", lang))] = code
    return out


# --------------------------------------------------------------------------------------------
# Checking a frame
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Prepared:
    """Checked rows in the store's columns, the columns used and the warnings."""

    frame: pd.DataFrame
    columns: dict[str, str]
    warnings: tuple[Message, ...]


def prepare_complaints(
    frame: pd.DataFrame,
    /,
    *,
    file: str = "<data>",
    header_row: int = 1,
    taxonomy: Taxonomy | None = None,
    workflow: Workflow | None = None,
    mapping: Mapping[str, str] | None = None,
    required: Sequence[str] = IMPORT_REQUIRED,
    timezone: str = "UTC",
    on_class_mismatch: ClassMismatch = "error",
    own_causes: bool = False,
) -> Prepared:
    """Check every row of ``frame`` (a file read into memory) and return the store's rows.

    Raises :class:`ComplaintImportError` listing every bad value (row numbers as the file
    shows them: ``header_row`` holds the names). ``required`` fields must have a column and a
    value on every row. Naive times are read in ``timezone``. A class that differs from the
    taxonomy's is a problem, or with ``on_class_mismatch="warn"`` a warning (the file's kept).
    With ``own_causes`` a cause outside the taxonomy is kept as written when the row gives
    its class (a warning lists them); otherwise it is a problem.
    """
    tax = taxonomy or load_taxonomy()
    wf = workflow or load_workflow()
    columns, unused = _match_columns(list(frame.columns), dict(mapping or {}), file=file)
    absent = [f for f in required if f not in columns]
    if absent:
        names = [f"{f} ({t(f'complaints.field.{f}', 'zh')})" for f in absent]
        raise ColumnNotFoundError(names, [str(c) for c in frame.columns], file=file)
    warnings: list[Message] = []
    if unused:
        warnings.append(
            Message(
                "complaints.import.unused_columns", {"file": file, "columns": ", ".join(unused)}
            )
        )
    problems: list[Problem] = []
    n = len(frame)
    rows_out: dict[str, list[Any]] = {f: [None] * n for f in columns}
    severities = _choices([(s.code, s.en, s.zh) for s in wf.severities])
    states = _choices([(s.code, s.en, s.zh) for s in wf.states])
    escalations = _escalation_names()
    low, high = wf.recovery_scale

    def bad(i: int, field: str, value: Any, key: str, **params: Any) -> None:
        problems.append(
            Problem(
                row=header_row + 1 + i,
                column=columns[field],
                value=_shown(value),
                expected=Message(f"complaints.import.expected.{key}", params),
            )
        )

    seen_keys: dict[str, int] = {}
    mismatches: list[tuple[int, str, int, int]] = []
    own: dict[int, str] = {}
    for field, header in columns.items():
        values = frame[header].tolist()
        out = rows_out[field]
        for i, value in enumerate(values):
            if _blank(value):
                if field in required:
                    bad(i, field, "", "required")
                continue
            if field in ("complaint_key", "customer_id", "channel", "product", "owner"):
                text = _text(value)
                limit = _MAX_LEN[field]
                if len(text) > limit:
                    bad(i, field, value, "too_long", max=limit)
                    continue
                if field == "complaint_key":
                    if text in seen_keys:
                        bad(i, field, value, "unique_key", first=seen_keys[text])
                        continue
                    seen_keys[text] = header_row + 1 + i
                out[i] = text
            elif field in ("text", "cause_text", "resolution"):
                out[i] = str(value).strip()
            elif field in _TIMES:
                stamp = _time(value, timezone)
                if stamp is None:
                    bad(i, field, value, "time")
                    continue
                out[i] = stamp
            elif field == "cause":
                cause = tax.resolve(value)
                if cause is None:
                    if own_causes:
                        own[i] = _text(value)
                        continue
                    bad(i, field, value, "cause", examples=", ".join(tax.codes()[:6]))
                    continue
                out[i] = cause.code
            elif field == "cause_class":
                try:
                    number = float(_text(value))
                except ValueError:
                    number = float("nan")
                if number not in (1.0, 2.0, 3.0, 4.0):
                    bad(i, field, value, "class")
                    continue
                out[i] = int(number)
            elif field == "severity":
                code = severities.get(normalize_name(value))
                if code is None:
                    bad(i, field, value, "choice", allowed=", ".join(wf.severity_codes()))
                    continue
                out[i] = code
            elif field == "status":
                code = states.get(normalize_name(value))
                if code is None:
                    bad(i, field, value, "choice", allowed=", ".join(wf.state_codes()))
                    continue
                out[i] = code
            elif field == "escalated_to":
                code = escalations.get(normalize_name(value))
                if code is None:
                    bad(i, field, value, "choice", allowed=", ".join(ESCALATIONS))
                    continue
                out[i] = code
            elif field == "compensation":
                try:
                    amount = float(_text(value).replace(",", ""))
                except ValueError:
                    amount = float("nan")
                if not np.isfinite(amount) or amount < 0:
                    bad(i, field, value, "amount")
                    continue
                out[i] = amount
            elif field == "satisfaction_after":
                try:
                    score = float(_text(value))
                except ValueError:
                    score = float("nan")
                if not (np.isfinite(score) and low <= score <= high):
                    bad(i, field, value, "score", low=f"{low:g}", high=f"{high:g}")
                    continue
                out[i] = score
            elif field == "lang":
                code = normalize_name(value)
                lang = (
                    "zh"
                    if code.startswith(("zh", "中"))
                    else "en"
                    if code.startswith(("en", "英"))
                    else None
                )
                if lang is None:
                    bad(i, field, value, "choice", allowed="zh, en")
                    continue
                out[i] = lang

    # rules across fields: own causes need a class, the class against the taxonomy, times
    causes = rows_out.get("cause")
    classes = rows_out.get("cause_class")
    if own and causes is not None:
        for i, text in own.items():
            if classes is None or classes[i] is None:
                bad(i, "cause", text, "cause_or_class", examples=", ".join(tax.codes()[:6]))
            else:
                causes[i] = text
        named = sorted(set(own.values()))
        warnings.append(
            Message(
                "complaints.warn.not_in_taxonomy",
                {"n": len(named), "examples": ", ".join(named[:5])},
            )
        )
    if causes is not None and classes is not None:
        for i, (code, klass) in enumerate(zip(causes, classes, strict=True)):
            if code is None or klass is None or i in own:
                continue
            expected = tax.get(str(code)).klass
            if klass != expected:
                mismatches.append((i, str(code), int(klass), expected))
    if mismatches and on_class_mismatch == "error":
        for i, code, klass, expected in mismatches:
            bad(i, "cause_class", klass, "class_mismatch", cause=code, klass=expected)
    elif mismatches:
        i, code, klass, expected = mismatches[0]
        warnings.append(
            Message(
                "complaints.import.class_mismatch",
                {
                    "file": file,
                    "n": len(mismatches),
                    "row": header_row + 1 + i,
                    "cause": code,
                    "given": klass,
                    "expected": expected,
                },
            )
        )
    received = rows_out.get("received_at")
    if received is not None:
        for field in ("first_response_at", "resolved_at"):
            later = rows_out.get(field)
            if later is None:
                continue
            for i, (start, end) in enumerate(zip(received, later, strict=True)):
                if start is not None and end is not None and end < start:
                    bad(
                        i,
                        field,
                        frame[columns[field]].iloc[i],
                        "after_received",
                        received=str(start),
                    )

    if problems:
        problems.sort(
            key=lambda p: (
                p.row,
                list(frame.columns).index(p.column) if p.column in frame.columns else 0,
            )
        )
        raise ComplaintImportError(file, problems)

    out_frame = pd.DataFrame(index=range(n))
    for field, values in rows_out.items():
        name = "cause_code" if field == "cause" else field
        out_frame[name] = pd.Series(values, dtype=object)
    if "cause_code" in out_frame.columns:
        tax_class = [
            tax.get(str(c)).klass if c is not None else None for c in out_frame["cause_code"]
        ]
        if "cause_class" in out_frame.columns:
            out_frame["cause_class"] = [
                given if given is not None else k
                for given, k in zip(out_frame["cause_class"], tax_class, strict=True)
            ]
        else:
            out_frame["cause_class"] = tax_class
    if "text" not in out_frame.columns:
        out_frame["text"] = ""
    else:
        out_frame["text"] = out_frame["text"].where(out_frame["text"].notna(), "")
    if "status" in out_frame.columns or "resolved_at" in out_frame.columns:
        first_resolved = next(s.code for s in wf.states if s.code in wf.resolved)
        status = (
            out_frame["status"]
            if "status" in out_frame.columns
            else pd.Series([None] * n, dtype=object)
        )
        resolved = (
            out_frame["resolved_at"]
            if "resolved_at" in out_frame.columns
            else pd.Series([None] * n, dtype=object)
        )
        filled = [
            s if s is not None else (first_resolved if r is not None else wf.initial)
            for s, r in zip(status, resolved, strict=True)
        ]
        out_frame["status"] = filled
        no_time = [s in wf.resolved and r is None for s, r in zip(filled, resolved, strict=True)]
        if any(no_time):
            warnings.append(
                Message(
                    "complaints.import.resolved_without_time",
                    {"file": file, "n": int(sum(no_time))},
                )
            )
    else:
        out_frame["status"] = wf.initial
    return Prepared(frame=out_frame, columns=columns, warnings=tuple(warnings))


def read_complaints(
    path: str | os.PathLike[str],
    /,
    *,
    taxonomy: Taxonomy | None = None,
    workflow: Workflow | None = None,
    mapping: Mapping[str, str] | None = None,
    required: Sequence[str] = IMPORT_REQUIRED,
    encoding: str | None = None,
    sheet: str | int | None = None,
    timezone: str = "UTC",
    on_class_mismatch: ClassMismatch = "error",
    own_causes: bool = False,
) -> Prepared:
    """Read and check a complaint file (CSV, XLSX, Parquet …) with :func:`prepare_complaints`."""
    table = read_table(path, encoding=encoding, sheet=sheet)
    prepared = prepare_complaints(
        table.frame,
        file=os.fspath(path),
        header_row=table.header_row,
        taxonomy=taxonomy,
        workflow=workflow,
        mapping=mapping,
        required=required,
        timezone=timezone,
        on_class_mismatch=on_class_mismatch,
        own_causes=own_causes,
    )
    if table.warnings:
        return Prepared(
            frame=prepared.frame,
            columns=prepared.columns,
            warnings=(*table.warnings, *prepared.warnings),
        )
    return prepared


# --------------------------------------------------------------------------------------------
# Storing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    file: str
    n_rows: int
    n_inserted: int
    n_existing: int
    dry_run: bool
    on_conflict: str
    columns: dict[str, str]
    by_class: dict[int, int]
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "import": pd.DataFrame(
                {
                    "file": [self.file],
                    "n_rows": [self.n_rows],
                    "n_inserted": [self.n_inserted],
                    "n_existing": [self.n_existing],
                    "dry_run": [self.dry_run],
                }
            ),
            "columns": pd.DataFrame(
                {"field": list(self.columns), "column": list(self.columns.values())}
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(
            {
                "file": self.file,
                "n_rows": self.n_rows,
                "n_inserted": self.n_inserted,
                "n_existing": self.n_existing,
                "dry_run": self.dry_run,
                "on_conflict": self.on_conflict,
                "columns": self.columns,
                "by_class": {str(k): v for k, v in self.by_class.items()},
            }
        )


def import_complaints(
    path: str | os.PathLike[str],
    session: Session | None,
    /,
    *,
    taxonomy: Taxonomy | None = None,
    workflow: Workflow | None = None,
    mapping: Mapping[str, str] | None = None,
    update: bool = False,
    dry_run: bool = False,
    encoding: str | None = None,
    sheet: str | int | None = None,
    timezone: str = "UTC",
    on_class_mismatch: ClassMismatch = "error",
) -> ImportResult:
    """Check a complaint file and store it in one transaction (nothing if any row is bad).

    A complaint_key already stored is left as it is, or replaced with ``update``. With
    ``dry_run`` (``session`` may then be ``None``) the file is only checked.
    """
    from allegiance.store import repository as repo

    prepared = read_complaints(
        path,
        taxonomy=taxonomy,
        workflow=workflow,
        mapping=mapping,
        encoding=encoding,
        sheet=sheet,
        timezone=timezone,
        on_class_mismatch=on_class_mismatch,
    )
    rows = prepared.frame
    counts = rows["cause_class"].value_counts()
    by_class = {k: int(counts.get(k, 0)) for k in (1, 2, 3, 4)}
    inserted = existing = 0
    if not dry_run:
        if session is None:
            raise ConfigError("complaints.import.no_session")
        records: list[dict[str, Any]] = [
            {str(k): (None if v is pd.NaT else v) for k, v in r.items()}
            for r in rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
        ]
        done = repo.save_complaints(session, records, on_conflict="update" if update else "ignore")
        inserted, existing = done.n_inserted, done.n_existing
    return ImportResult(
        file=os.fspath(path),
        n_rows=len(rows),
        n_inserted=inserted,
        n_existing=existing,
        dry_run=dry_run,
        on_conflict="update" if update else "ignore",
        columns=prepared.columns,
        by_class=by_class,
        warnings=prepared.warnings,
    )
