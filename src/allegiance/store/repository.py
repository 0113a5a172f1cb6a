"""Every query of the project store lives here; the CLI and the web only call these functions.

Transactions: each write function runs in the session's transaction and commits it
when it succeeds (pass ``commit=False`` to group several writes and commit
yourself). On any failure the session is rolled back and a :class:`StoreError`
says which table, which row and what was expected: a bulk write is all or nothing.

Idempotent bulk writes: :func:`save_responses` and :func:`save_complaints` are keyed
(``(wave_id, respondent_key)``, ``complaint_key``). With ``on_conflict="ignore"``
(the default) a key already stored is left as it is, so re-sending a file or a form
never duplicates a row; with ``on_conflict="update"`` the new values replace the
stored ones. Both use ``INSERT ... ON CONFLICT (key) DO ...`` on SQLite and
PostgreSQL alike. (SQLite's ``INSERT OR IGNORE`` is not used on purpose: it would
also skip rows that break a NOT NULL or CHECK rule, silently.) A key repeated inside
one batch counts once: the first occurrence is kept when ignoring, the last when
updating.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, CursorResult, Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from allegiance.complaints.handling import ESCALATIONS
from allegiance.errors import StoreError
from allegiance.results import plain
from allegiance.store.db import WRITE_OPTION
from allegiance.store.models import (
    Complaint,
    ComplaintEvent,
    Dataset,
    ProjectMeta,
    Response,
    Run,
    Survey,
    SurveyWave,
    utcnow,
)

__all__ = [
    "COMPLAINT_COLUMNS",
    "COMPLAINT_EVENT_COLUMNS",
    "COMPLAINT_WORK_FIELDS",
    "RESPONSE_META_COLUMNS",
    "RUN_COLUMNS",
    "OnConflict",
    "SaveResult",
    "all_meta",
    "complaint_events_frame",
    "complaints_frame",
    "create_survey",
    "finish_run",
    "get_complaint",
    "get_dataset",
    "get_meta",
    "get_or_create_wave",
    "get_survey_by_code",
    "list_datasets",
    "list_surveys",
    "register_dataset",
    "responses_frame",
    "runs_frame",
    "save_complaints",
    "save_responses",
    "set_complaint_status",
    "set_meta",
    "start_run",
]

OnConflict = Literal["ignore", "update"]

#: The columns :func:`responses_frame` puts before the answer columns; no answer may use these names.
RESPONSE_META_COLUMNS: tuple[str, ...] = (
    "survey",
    "wave",
    "respondent_key",
    "customer_id",
    "submitted_at",
)
#: The columns of :func:`complaints_frame`, in order.
COMPLAINT_COLUMNS: tuple[str, ...] = (
    "complaint_key",
    "customer_id",
    "received_at",
    "channel",
    "cause_code",
    "cause_class",
    "text",
    "status",
    "resolved_at",
    "product",
    "cause_text",
    "severity",
    "owner",
    "first_response_at",
    "resolution",
    "compensation",
    "satisfaction_after",
    "escalated_to",
    "lang",
)
#: The columns of :func:`runs_frame`, in order.
RUN_COLUMNS: tuple[str, ...] = (
    "run_id",
    "command",
    "started_at",
    "finished_at",
    "duration_s",
    "status",
    "message",
    "params",
)

_RESPONSE_FIELDS = frozenset({"respondent_key", "customer_id", "submitted_at", "answers"})
_COMPLAINT_FIELDS = frozenset(COMPLAINT_COLUMNS)
_RUN_STATUSES = ("ok", "error")
_MAX_SHOWN = 60

_META = cast(Table, ProjectMeta.__table__)
_WAVES = cast(Table, SurveyWave.__table__)
_RESPONSES = cast(Table, Response.__table__)
_COMPLAINTS = cast(Table, Complaint.__table__)


@dataclass(frozen=True)
class SaveResult:
    """What a bulk write did: ``n_rows == n_inserted + n_existing + n_repeated``.

    ``n_existing`` keys were already stored (left alone with ``on_conflict="ignore"``,
    overwritten with ``"update"``); ``n_repeated`` rows repeated a key given earlier in
    the same batch and were folded into it.
    """

    table: str
    n_rows: int
    n_inserted: int
    n_existing: int
    n_repeated: int
    on_conflict: OnConflict

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "n_rows": self.n_rows,
            "n_inserted": self.n_inserted,
            "n_existing": self.n_existing,
            "n_repeated": self.n_repeated,
            "on_conflict": self.on_conflict,
        }


# ------------------------------------------------------------------ error handling


def _detail(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _missing_table(exc: SQLAlchemyError) -> bool:
    text = _detail(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _db_error(exc: SQLAlchemyError, table: str) -> StoreError:
    """A database failure as a bilingual :class:`StoreError` naming the table."""
    detail = _detail(exc)
    if isinstance(exc, IntegrityError):
        return StoreError(f"store.integrity.{table}", table=table, detail=detail)
    if isinstance(exc, (OperationalError, ProgrammingError)) and _missing_table(exc):
        return StoreError("store.missing_table", table=table, detail=detail)
    if isinstance(exc, OperationalError):
        return StoreError("store.operational", table=table, detail=detail)
    return StoreError("store.write_failed", table=table, detail=detail)


@contextmanager
def _writing(session: Session, table: str, *, commit: bool) -> Iterator[None]:
    """Run a write; commit (or flush) on success, roll back and wrap on a database error.

    A session not yet in a transaction starts one marked as a writer (on SQLite:
    ``BEGIN IMMEDIATE``, so concurrent writers wait for each other).
    """
    try:
        if not session.in_transaction():
            session.connection(execution_options={WRITE_OPTION: True})
        yield
        if commit:
            session.commit()
        else:
            session.flush()
    except SQLAlchemyError as exc:
        session.rollback()
        raise _db_error(exc, table) from exc
    except StoreError:
        if commit:
            session.rollback()
        raise


@contextmanager
def _reading(table: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise _db_error(exc, table) from exc


@contextmanager
def _session_read(session: Session, table: str) -> Iterator[None]:
    """A read through a session: a transaction it had to start is ended again afterwards.

    So a later write starts its own writer transaction (see :func:`_writing`) instead of
    inheriting a stale read snapshot; a read inside the caller's transaction leaves it open.
    """
    owned = not session.in_transaction()
    try:
        yield
    except SQLAlchemyError as exc:
        if owned:
            session.rollback()
        raise _db_error(exc, table) from exc
    if owned:
        session.commit()


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


# ---------------------------------------------------------------- value checking


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _text(
    value: Any,
    *,
    table: str,
    row: int,
    field: str,
    max_len: int | None,
    required: bool = True,
    allow_empty: bool = False,
) -> str | None:
    """A text field; whole numbers (e.g. ids read from a CSV file) become text."""
    if _is_missing(value):
        if required:
            raise StoreError("store.row_missing", table=table, row=row, field=field)
        return None
    if isinstance(value, str):
        text = value.strip() if not allow_empty else value
    elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        text = str(int(value))
    else:
        raise StoreError(
            "store.row_not_text", table=table, row=row, field=field, value=_shown(value)
        )
    if not text and not allow_empty:
        if required:
            raise StoreError("store.row_missing", table=table, row=row, field=field)
        return None
    if max_len is not None and len(text) > max_len:
        raise StoreError(
            "store.row_too_long",
            table=table,
            row=row,
            field=field,
            length=len(text),
            max=max_len,
        )
    return text


def _key(value: Any, *, table: str, row: int, field: str, max_len: int = 200) -> str:
    """A required, non-empty text field."""
    text = _text(value, table=table, row=row, field=field, max_len=max_len)
    if text is None:  # pragma: no cover - _text raises for a missing required field
        raise StoreError("store.row_missing", table=table, row=row, field=field)
    return text


def _timestamp(value: Any, *, table: str, row: int, field: str) -> datetime | None:
    """A timezone-aware UTC datetime from a datetime, a date or ISO 8601 text (naive = UTC)."""
    if _is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0), tzinfo=UTC)
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise StoreError(
                "store.row_not_time", table=table, row=row, field=field, value=_shown(value)
            ) from exc
    else:
        raise StoreError(
            "store.row_not_time", table=table, row=row, field=field, value=_shown(value)
        )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_SCALARS = (str, bool, int, type(None))


def _json(value: Any, *, table: str, row: int, field: str) -> Any:
    """A JSON-safe copy: numpy scalars to Python, NaN and missing to null, dates to ISO text."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise StoreError(
                "store.row_not_json",
                table=table,
                row=row,
                field=field,
                value=_shown(value),
                type="float",
            )
        return value
    if isinstance(value, Mapping):
        return {str(k): _json(v, table=table, row=row, field=field) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json(v, table=table, row=row, field=field) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _json(float(value), table=table, row=row, field=field)
    if _is_missing(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise StoreError(
        "store.row_not_json",
        table=table,
        row=row,
        field=field,
        value=_shown(value),
        type=type(value).__name__,
    )


def _rows(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> Iterable[Any]:
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict(orient="records")
    return rows


def _check_on_conflict(on_conflict: str) -> OnConflict:
    if on_conflict == "ignore":
        return "ignore"
    if on_conflict == "update":
        return "update"
    raise StoreError("store.bad_on_conflict", value=_shown(on_conflict))


# ------------------------------------------------------------ dialect-aware inserts


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _upsert(
    conn: Connection,
    table: Table,
    *,
    keys: Sequence[str],
    on_conflict: OnConflict,
    update: Sequence[str] = (),
) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` or ``DO UPDATE SET`` the ``update`` columns."""
    stmt = _insert(conn, table)
    if on_conflict == "ignore" or not update:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in update},
    )


def _count(session: Session, table: Table, *where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


# -------------------------------------------------------------------- project meta


def set_meta(session: Session, key: str, value: Any, /, *, commit: bool = True) -> None:
    """Store a project-level fact (any JSON value) under ``key``, replacing an older value."""
    name = _text(key, table="project_meta", row=0, field="key", max_len=100)
    clean = _json(value, table="project_meta", row=0, field=str(name))
    table = _META
    with _writing(session, "project_meta", commit=commit):
        conn = session.connection()
        stmt = _upsert(conn, table, keys=["key"], on_conflict="update", update=["value"])
        session.execute(stmt, [{"key": name, "value": clean}])


def get_meta(session: Session, key: str, /, default: Any = None) -> Any:
    """The fact stored under ``key``, or ``default``."""
    with _session_read(session, "project_meta"):
        row = session.get(ProjectMeta, key)
    return default if row is None else row.value


def all_meta(session: Session, /) -> dict[str, Any]:
    """Every project-level fact, by key."""
    with _session_read(session, "project_meta"):
        rows = session.execute(select(ProjectMeta.key, ProjectMeta.value).order_by(ProjectMeta.key))
        return {str(k): v for k, v in rows}


# ------------------------------------------------------------------------ datasets


def _relative_path(path: str | Path) -> str:
    text = str(path)
    posix = PurePosixPath(text.replace("\\", "/"))
    if (
        not text.strip()
        or posix.is_absolute()
        or PureWindowsPath(text).is_absolute()
        or PureWindowsPath(text).drive
        or ".." in posix.parts
    ):
        raise StoreError("store.dataset_path", path=text)
    return posix.as_posix()


def register_dataset(
    session: Session,
    /,
    *,
    name: str,
    kind: str,
    path: str | Path,
    n_rows: int,
    columns: Sequence[Any],
    source: str,
    truth: Mapping[str, Any] | None = None,
    replace: bool = False,
    commit: bool = True,
) -> Dataset:
    """Register a Parquet file of the project folder (``path`` relative to the folder).

    A name already registered raises :class:`StoreError` unless ``replace`` is true,
    in which case the entry is updated.
    """
    table = "datasets"
    clean_name = _text(name, table=table, row=0, field="name", max_len=200)
    clean_kind = _text(kind, table=table, row=0, field="kind", max_len=50)
    clean_source = _text(source, table=table, row=0, field="source", max_len=200)
    clean_path = _relative_path(path)
    if len(clean_path) > 500:
        raise StoreError(
            "store.row_too_long", table=table, row=0, field="path", length=len(clean_path), max=500
        )
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 0:
        raise StoreError(
            "store.row_not_count", table=table, row=0, field="n_rows", value=_shown(n_rows)
        )
    values: dict[str, Any] = {
        "kind": clean_kind,
        "path": clean_path,
        "n_rows": int(n_rows),
        "columns": _json(list(columns), table=table, row=0, field="columns"),
        "source": clean_source,
        "truth": None if truth is None else _json(truth, table=table, row=0, field="truth"),
        "created_at": utcnow(),
    }
    with _writing(session, table, commit=commit):
        existing = session.execute(
            select(Dataset).where(Dataset.name == clean_name)
        ).scalar_one_or_none()
        if existing is not None and not replace:
            raise StoreError("store.dataset_exists", name=clean_name)
        if existing is None:
            existing = Dataset(name=clean_name, **values)
            session.add(existing)
        else:
            for attr, value in values.items():
                setattr(existing, attr, value)
        session.flush()
    return existing


def get_dataset(session: Session, name: str, /) -> Dataset | None:
    """The dataset registered as ``name``, or ``None``."""
    with _session_read(session, "datasets"):
        return session.execute(select(Dataset).where(Dataset.name == name)).scalar_one_or_none()


def list_datasets(session: Session, /, *, kind: str | None = None) -> list[Dataset]:
    """Registered datasets by name (only those of ``kind`` when given)."""
    stmt = select(Dataset).order_by(Dataset.name)
    if kind is not None:
        stmt = stmt.where(Dataset.kind == kind)
    with _session_read(session, "datasets"):
        return list(session.execute(stmt).scalars())


# ------------------------------------------------------------------ surveys, waves


def create_survey(
    session: Session,
    /,
    *,
    code: str,
    title_en: str,
    title_zh: str,
    definition: Mapping[str, Any],
    commit: bool = True,
) -> Survey:
    """Store a new survey; a code already in use raises :class:`StoreError`."""
    table = "surveys"
    clean_code = _text(code, table=table, row=0, field="code", max_len=100)
    en = _text(title_en, table=table, row=0, field="title_en", max_len=500)
    zh = _text(title_zh, table=table, row=0, field="title_zh", max_len=500)
    if not isinstance(definition, Mapping):
        raise StoreError(
            "store.row_not_mapping",
            table=table,
            row=0,
            field="definition",
            found=type(definition).__name__,
        )
    clean_def = _json(definition, table=table, row=0, field="definition")
    with _writing(session, table, commit=commit):
        if session.execute(select(Survey.id).where(Survey.code == clean_code)).first():
            raise StoreError("store.survey_exists", code=clean_code)
        survey = Survey(code=clean_code, title_en=en, title_zh=zh, definition=clean_def)
        session.add(survey)
        session.flush()
    return survey


def get_survey_by_code(session: Session, code: str, /) -> Survey | None:
    """The survey with ``code``, or ``None``."""
    with _session_read(session, "surveys"):
        return session.execute(select(Survey).where(Survey.code == code)).scalar_one_or_none()


def list_surveys(session: Session, /) -> list[Survey]:
    """All surveys, by code."""
    with _session_read(session, "surveys"):
        return list(session.execute(select(Survey).order_by(Survey.code)).scalars())


def get_or_create_wave(
    session: Session,
    survey_id: int,
    name: str,
    /,
    *,
    starts_on: date | None = None,
    ends_on: date | None = None,
    commit: bool = True,
) -> SurveyWave:
    """The wave ``name`` of the survey, created (with its dates) when it does not exist yet.

    Safe when two processes ask at once: the insert is ``ON CONFLICT DO NOTHING``
    and the wave is read back. Dates of an existing wave are not changed.
    """
    table = "survey_waves"
    clean = _text(name, table=table, row=0, field="name", max_len=100)
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise StoreError("store.wave_dates", name=clean, starts_on=starts_on, ends_on=ends_on)
    with _writing(session, table, commit=commit):
        if session.get(Survey, survey_id) is None:
            raise StoreError("store.survey_id_not_found", survey_id=survey_id)
        query = select(SurveyWave).where(
            SurveyWave.survey_id == survey_id, SurveyWave.name == clean
        )
        wave = session.execute(query).scalar_one_or_none()
        if wave is None:
            conn = session.connection()
            stmt = _upsert(conn, _WAVES, keys=["survey_id", "name"], on_conflict="ignore")
            session.execute(
                stmt,
                [
                    {
                        "survey_id": survey_id,
                        "name": clean,
                        "starts_on": starts_on,
                        "ends_on": ends_on,
                    }
                ],
            )
            wave = session.execute(query).scalar_one()
    return wave


# ----------------------------------------------------------------------- responses


def _response_params(
    rows: Iterable[Any], *, wave_id: int, on_conflict: OnConflict
) -> tuple[list[dict[str, Any]], int]:
    """Checked insert parameters (one per distinct respondent_key) and the number of rows read."""
    table = "responses"
    now = utcnow()
    by_key: dict[str, dict[str, Any]] = {}
    n_rows = 0
    for index, row in enumerate(rows):
        n_rows += 1
        if not isinstance(row, Mapping):
            raise StoreError(
                "store.row_not_mapping",
                table=table,
                row=index,
                field="-",
                found=type(row).__name__,
            )
        if "answers" in row:
            unknown = [str(k) for k in row if k not in _RESPONSE_FIELDS]
            if unknown:
                raise StoreError(
                    "store.row_unknown_fields",
                    table=table,
                    row=index,
                    fields=", ".join(sorted(unknown)),
                    allowed=", ".join(sorted(_RESPONSE_FIELDS)),
                )
            raw_answers = row["answers"]
            if not isinstance(raw_answers, Mapping):
                raise StoreError(
                    "store.row_not_mapping",
                    table=table,
                    row=index,
                    field="answers",
                    found=type(raw_answers).__name__,
                )
        else:
            raw_answers = {k: v for k, v in row.items() if k not in _RESPONSE_FIELDS}
        answers: dict[str, Any] = {}
        for question, value in raw_answers.items():
            qname = str(question)
            if not qname.strip():
                raise StoreError("store.row_missing", table=table, row=index, field="answers")
            if qname in RESPONSE_META_COLUMNS:
                raise StoreError("store.row_reserved_answer", table=table, row=index, field=qname)
            answers[qname] = _json(value, table=table, row=index, field=qname)
        key = _key(row.get("respondent_key"), table=table, row=index, field="respondent_key")
        params = {
            "wave_id": wave_id,
            "respondent_key": key,
            "customer_id": _text(
                row.get("customer_id"),
                table=table,
                row=index,
                field="customer_id",
                max_len=200,
                required=False,
            ),
            "submitted_at": _timestamp(
                row.get("submitted_at"), table=table, row=index, field="submitted_at"
            )
            or now,
            "answers": answers,
        }
        if on_conflict == "update" or key not in by_key:
            by_key[key] = params
    return list(by_key.values()), n_rows


def save_responses(
    session: Session,
    wave_id: int,
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
    /,
    *,
    on_conflict: OnConflict = "ignore",
    commit: bool = True,
) -> SaveResult:
    """Store many responses of one wave at once: checked first, then written in one transaction.

    Each row is either ``{"respondent_key", "answers": {...}, "customer_id"?,
    "submitted_at"?}`` or flat: the known fields plus one entry per question (a frame's
    records). ``submitted_at`` defaults to now; naive times are taken as UTC. If any
    row is wrong nothing is written and the :class:`StoreError` names the row index
    (counting from 0) and the problem. Re-saving a respondent_key of the wave does not
    duplicate it: see the module notes for ``on_conflict``.
    """
    mode = _check_on_conflict(on_conflict)
    params, n_rows = _response_params(_rows(rows), wave_id=wave_id, on_conflict=mode)
    table = _RESPONSES
    with _writing(session, "responses", commit=commit):
        if session.get(SurveyWave, wave_id) is None:
            raise StoreError("store.wave_not_found", wave_id=wave_id)
        before = _count(session, table, table.c.wave_id == wave_id)
        if params:
            stmt = _upsert(
                session.connection(),
                table,
                keys=["wave_id", "respondent_key"],
                on_conflict=mode,
                update=["customer_id", "submitted_at", "answers"],
            )
            session.execute(stmt, params)
        after = _count(session, table, table.c.wave_id == wave_id)
    inserted = after - before
    return SaveResult(
        table="responses",
        n_rows=n_rows,
        n_inserted=inserted,
        n_existing=len(params) - inserted,
        n_repeated=n_rows - len(params),
        on_conflict=mode,
    )


def _wave_lookup(conn: Connection, *, wave_id: int | None, survey_code: str | None) -> None:
    if survey_code is not None:
        found = conn.execute(select(Survey.id).where(Survey.code == survey_code)).first()
        if found is None:
            codes = conn.execute(select(Survey.code).order_by(Survey.code)).scalars().all()
            raise StoreError(
                "store.survey_not_found",
                code=survey_code,
                available=", ".join(codes) or "-",
            )
    if wave_id is not None:
        found = conn.execute(select(SurveyWave.id).where(SurveyWave.id == wave_id)).first()
        if found is None:
            raise StoreError("store.wave_not_found", wave_id=wave_id)


def responses_frame(
    engine: Engine, /, *, wave_id: int | None = None, survey_code: str | None = None
) -> pd.DataFrame:
    """Responses as a table: ``survey, wave, respondent_key, customer_id, submitted_at``,
    then one column per answer key (in the order first seen).

    Filter by ``wave_id`` and/or ``survey_code`` (an unknown one raises
    :class:`StoreError`); rows come in the order they were stored. ``submitted_at`` is
    timezone-aware UTC. Answers that are lists or objects stay Python objects.
    """
    stmt = (
        select(
            Survey.code,
            SurveyWave.name,
            Response.respondent_key,
            Response.customer_id,
            Response.submitted_at,
            Response.answers,
        )
        .join(SurveyWave, Response.wave_id == SurveyWave.id)
        .join(Survey, SurveyWave.survey_id == Survey.id)
        .order_by(Response.id)
    )
    if wave_id is not None:
        stmt = stmt.where(Response.wave_id == wave_id)
    if survey_code is not None:
        stmt = stmt.where(Survey.code == survey_code)
    with _reading("responses"), engine.connect() as conn:
        _wave_lookup(conn, wave_id=wave_id, survey_code=survey_code)
        rows = conn.execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(6)]
    meta = pd.DataFrame(
        {
            "survey": pd.Series(columns[0], dtype="str"),
            "wave": pd.Series(columns[1], dtype="str"),
            "respondent_key": pd.Series(columns[2], dtype="str"),
            "customer_id": pd.Series(columns[3], dtype="str"),
            "submitted_at": pd.to_datetime(pd.Series(columns[4], dtype=object), utc=True),
        }
    )
    answers = pd.DataFrame.from_records(list(columns[5]), index=meta.index)
    clash = [c for c in answers.columns if c in RESPONSE_META_COLUMNS]
    if clash:
        raise StoreError("store.answer_key_reserved", fields=", ".join(map(str, clash)))
    if answers.shape[1] == 0:
        return meta
    return pd.concat([meta, answers], axis=1)


# ---------------------------------------------------------------------- complaints


def _cause_class(value: Any, *, row: int) -> int:
    number: float | None = None
    if (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))) or (
        isinstance(value, (float, np.floating)) and not math.isnan(value)
    ):
        number = float(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = float(value.strip())
    if number is None or number not in (1.0, 2.0, 3.0, 4.0):
        if _is_missing(value):
            raise StoreError("store.row_missing", table="complaints", row=row, field="cause_class")
        raise StoreError("store.row_cause_class", row=row, value=_shown(value))
    return int(number)


def _number(
    value: Any, *, table: str, row: int, field: str, minimum: float | None = None
) -> float | None:
    """An optional finite number (text holding a number is read); ``minimum`` is inclusive."""
    if _is_missing(value):
        return None
    number: float | None = None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or (minimum is not None and number < minimum):
        raise StoreError(
            "store.row_not_number",
            table=table,
            row=row,
            field=field,
            value=_shown(value),
            minimum="-" if minimum is None else f"{minimum:g}",
        )
    return number


def _after_received(
    moment: datetime | None, received: datetime, *, row: int, field: str
) -> datetime | None:
    if moment is not None and moment < received:
        raise StoreError(
            "store.row_before_received",
            row=row,
            field=field,
            value=moment.isoformat(),
            received=received.isoformat(),
        )
    return moment


def _complaint_field(name: str, value: Any, *, row: int, received: datetime | None) -> Any:
    """One optional register field of a complaint, checked (the required ones are elsewhere)."""
    table = "complaints"
    if name in ("first_response_at", "resolved_at"):
        moment = _timestamp(value, table=table, row=row, field=name)
        return (
            moment if received is None else _after_received(moment, received, row=row, field=name)
        )
    if name in ("compensation",):
        return _number(value, table=table, row=row, field=name, minimum=0.0)
    if name == "satisfaction_after":
        return _number(value, table=table, row=row, field=name)
    if name == "escalated_to":
        text = _text(value, table=table, row=row, field=name, max_len=30, required=False)
        if text is not None and text not in ESCALATIONS:
            raise StoreError(
                "store.row_choice",
                table=table,
                row=row,
                field=name,
                value=_shown(value),
                allowed=", ".join(ESCALATIONS),
            )
        return text
    if name == "cause_class":
        return _cause_class(value, row=row)
    limits = {
        "product": 100,
        "severity": 30,
        "owner": 200,
        "lang": 10,
        "status": 30,
        "cause_code": 100,
    }
    return _text(value, table=table, row=row, field=name, max_len=limits.get(name), required=False)


#: The optional register fields (migration 0003) checked by :func:`_complaint_field`.
_REGISTER_FIELDS: tuple[str, ...] = (
    "product",
    "cause_text",
    "severity",
    "owner",
    "first_response_at",
    "resolution",
    "compensation",
    "satisfaction_after",
    "escalated_to",
    "lang",
)


def _complaint_params(
    rows: Iterable[Any], *, on_conflict: OnConflict
) -> tuple[list[dict[str, Any]], int, set[str]]:
    table = "complaints"
    by_key: dict[str, dict[str, Any]] = {}
    given: set[str] = set()
    n_rows = 0
    for index, row in enumerate(rows):
        n_rows += 1
        if not isinstance(row, Mapping):
            raise StoreError(
                "store.row_not_mapping", table=table, row=index, field="-", found=type(row).__name__
            )
        unknown = [str(k) for k in row if k not in _COMPLAINT_FIELDS]
        if unknown:
            raise StoreError(
                "store.row_unknown_fields",
                table=table,
                row=index,
                fields=", ".join(sorted(unknown)),
                allowed=", ".join(COMPLAINT_COLUMNS),
            )
        given.update(str(k) for k in row)

        received = _timestamp(row.get("received_at"), table=table, row=index, field="received_at")
        if received is None:
            raise StoreError("store.row_missing", table=table, row=index, field="received_at")
        key = _key(row.get("complaint_key"), table=table, row=index, field="complaint_key")
        params = {
            "complaint_key": key,
            "customer_id": _text(
                row.get("customer_id"),
                table=table,
                row=index,
                field="customer_id",
                max_len=200,
                required=False,
            ),
            "received_at": received,
            "channel": _key(
                row.get("channel"), table=table, row=index, field="channel", max_len=50
            ),
            "cause_code": _key(
                row.get("cause_code"), table=table, row=index, field="cause_code", max_len=100
            ),
            "cause_class": _cause_class(row.get("cause_class"), row=index),
            "text": _text(
                row.get("text"),
                table=table,
                row=index,
                field="text",
                max_len=None,
                allow_empty=True,
            ),
            "status": _complaint_field("status", row.get("status"), row=index, received=received)
            or "open",
            "resolved_at": _complaint_field(
                "resolved_at", row.get("resolved_at"), row=index, received=received
            ),
        }
        for name in _REGISTER_FIELDS:
            params[name] = _complaint_field(name, row.get(name), row=index, received=received)
        if on_conflict == "update" or key not in by_key:
            by_key[key] = params
    return list(by_key.values()), n_rows, given


def save_complaints(
    session: Session,
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
    /,
    *,
    on_conflict: OnConflict = "ignore",
    commit: bool = True,
) -> SaveResult:
    """Store many complaints at once, keyed by ``complaint_key``; all or nothing.

    Fields: ``complaint_key, received_at, channel, cause_code, cause_class (1-4), text``
    (required; ``text`` may be empty) and ``customer_id, status`` (default ``open``),
    ``resolved_at`` and the register's fields (all optional): ``product, cause_text,
    severity, owner, first_response_at, resolution, compensation`` (≥ 0),
    ``satisfaction_after`` (a number), ``escalated_to`` (none, consumer_association, media,
    regulator, court) and ``lang``. First response and resolution may not be before
    ``received_at``. With ``on_conflict="update"`` a re-sent complaint replaces the stored
    one in the fields the batch gives (e.g. its status once resolved); fields no row of the
    batch names are kept.
    """
    mode = _check_on_conflict(on_conflict)
    params, n_rows, given = _complaint_params(_rows(rows), on_conflict=mode)
    table = _COMPLAINTS
    with _writing(session, "complaints", commit=commit):
        before = _count(session, table)
        if params:
            stmt = _upsert(
                session.connection(),
                table,
                keys=["complaint_key"],
                on_conflict=mode,
                update=[c for c in COMPLAINT_COLUMNS if c != "complaint_key" and c in given],
            )
            session.execute(stmt, params)
        after = _count(session, table)
    inserted = after - before
    return SaveResult(
        table="complaints",
        n_rows=n_rows,
        n_inserted=inserted,
        n_existing=len(params) - inserted,
        n_repeated=n_rows - len(params),
        on_conflict=mode,
    )


def _frame(rows: Sequence[Any], names: Sequence[str], times: Sequence[str]) -> pd.DataFrame:
    data = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    out = pd.DataFrame(
        {name: pd.Series(col, dtype=object) for name, col in zip(names, data, strict=True)}
    )
    for name in times:
        out[name] = pd.to_datetime(out[name], utc=True)
    return out.infer_objects()


_COMPLAINT_TIMES = ("received_at", "resolved_at", "first_response_at")


def complaints_frame(engine: Engine, /) -> pd.DataFrame:
    """All complaints in the order received: the columns of :data:`COMPLAINT_COLUMNS`.

    Times are timezone-aware UTC; ``compensation`` and ``satisfaction_after`` are float64
    (NaN when unknown); the other optional fields are text or missing.
    """
    cols = [_COMPLAINTS.c[name] for name in COMPLAINT_COLUMNS]
    stmt = select(*cols).order_by(Complaint.received_at, Complaint.id)
    with _reading("complaints"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = _frame(rows, COMPLAINT_COLUMNS, _COMPLAINT_TIMES)
    out["cause_class"] = out["cause_class"].astype("int64")
    for name in ("compensation", "satisfaction_after"):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64")
    return out


def get_complaint(session: Session, complaint_key: str, /) -> dict[str, Any] | None:
    """One complaint as a dict of :data:`COMPLAINT_COLUMNS` (times UTC), or ``None``."""
    cols = [_COMPLAINTS.c[name] for name in COMPLAINT_COLUMNS]
    with _session_read(session, "complaints"):
        row = session.execute(
            select(*cols).where(_COMPLAINTS.c.complaint_key == complaint_key)
        ).first()
    if row is None:
        return None
    return dict(zip(COMPLAINT_COLUMNS, row, strict=True))


#: Fields a handling step may change besides the status and its times.
COMPLAINT_WORK_FIELDS: tuple[str, ...] = (
    "owner",
    "severity",
    "product",
    "cause_text",
    "resolution",
    "compensation",
    "satisfaction_after",
    "escalated_to",
    "cause_code",
    "cause_class",
)


def set_complaint_status(
    session: Session,
    complaint_key: str,
    /,
    *,
    expected_status: str,
    status: str,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    at: datetime | None = None,
    actor: str | None = None,
    role: str | None = None,
    note: str | None = None,
    changes: Mapping[str, Any] | None = None,
    commit: bool = True,
) -> ComplaintEvent:
    """Move a stored complaint from ``expected_status`` to ``status`` and record the move.

    The workflow check is the caller's (:func:`allegiance.complaints.register.transition`);
    here the update only happens if the complaint is still in ``expected_status`` (so two
    agents working the same complaint cannot both move it: the second gets a
    :class:`StoreError` saying what it is now). ``changes`` may set the fields of
    :data:`COMPLAINT_WORK_FIELDS` in the same transaction.
    """
    table = "complaints"
    values: dict[str, Any] = {
        "status": _text(status, table=table, row=0, field="status", max_len=30),
        "first_response_at": _timestamp(
            first_response_at, table=table, row=0, field="first_response_at"
        ),
        "resolved_at": _timestamp(resolved_at, table=table, row=0, field="resolved_at"),
    }
    for name, value in (changes or {}).items():
        if name not in COMPLAINT_WORK_FIELDS:
            raise StoreError(
                "store.row_unknown_fields",
                table=table,
                row=0,
                fields=str(name),
                allowed=", ".join(COMPLAINT_WORK_FIELDS),
            )
        values[name] = _complaint_field(name, value, row=0, received=None)
    moment = _timestamp(at, table="complaint_events", row=0, field="occurred_at") or utcnow()
    c = _COMPLAINTS
    with _writing(session, "complaints", commit=commit):
        found = session.execute(
            select(c.c.id, c.c.status, c.c.received_at).where(c.c.complaint_key == complaint_key)
        ).first()
        if found is None:
            raise StoreError("store.complaint_not_found", key=complaint_key)
        received = found.received_at
        if received.tzinfo is None:
            received = received.replace(tzinfo=UTC)
        for name in ("first_response_at", "resolved_at"):
            _after_received(values[name], received, row=0, field=name)
        done = cast(
            CursorResult[Any],
            session.execute(
                c.update()
                .where(c.c.complaint_key == complaint_key, c.c.status == expected_status)
                .values(**values)
            ),
        )
        if done.rowcount != 1:
            raise StoreError(
                "store.complaint_changed",
                key=complaint_key,
                expected=expected_status,
                found=str(found.status),
            )
        event = ComplaintEvent(
            complaint_id=int(found.id),
            occurred_at=moment,
            from_status=expected_status,
            to_status=values["status"],
            actor=_text(
                actor, table="complaint_events", row=0, field="actor", max_len=200, required=False
            ),
            role=_text(
                role, table="complaint_events", row=0, field="role", max_len=50, required=False
            ),
            note=_text(
                note, table="complaint_events", row=0, field="note", max_len=None, required=False
            ),
        )
        session.add(event)
        session.flush()
    return event


#: The columns of :func:`complaint_events_frame`, in order.
COMPLAINT_EVENT_COLUMNS: tuple[str, ...] = (
    "complaint_key",
    "occurred_at",
    "from_status",
    "to_status",
    "actor",
    "role",
    "note",
)


def complaint_events_frame(engine: Engine, /, *, complaint_key: str | None = None) -> pd.DataFrame:
    """The handling history, oldest first: the columns of :data:`COMPLAINT_EVENT_COLUMNS`."""
    e = cast(Table, ComplaintEvent.__table__)
    stmt = (
        select(
            _COMPLAINTS.c.complaint_key,
            e.c.occurred_at,
            e.c.from_status,
            e.c.to_status,
            e.c.actor,
            e.c.role,
            e.c.note,
        )
        .join(_COMPLAINTS, e.c.complaint_id == _COMPLAINTS.c.id)
        .order_by(e.c.occurred_at, e.c.id)
    )
    if complaint_key is not None:
        stmt = stmt.where(_COMPLAINTS.c.complaint_key == complaint_key)
    with _reading("complaint_events"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return _frame(rows, COMPLAINT_EVENT_COLUMNS, ("occurred_at",))


# ---------------------------------------------------------------------------- runs


def start_run(
    session: Session,
    command: str,
    /,
    *,
    params: Mapping[str, Any] | None = None,
    commit: bool = True,
) -> int:
    """Record that an analysis run started; returns the run id for :func:`finish_run`.

    ``params`` are kept as JSON; values JSON cannot hold (paths, objects) are kept as text.
    """
    name = _text(command, table="runs", row=0, field="command", max_len=200)
    run = Run(command=name, params=plain(dict(params or {})), status="running")
    with _writing(session, "runs", commit=commit):
        session.add(run)
        session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    /,
    *,
    status: Literal["ok", "error"] = "ok",
    message: str | None = None,
    commit: bool = True,
) -> Run:
    """Record the end of a run: its status (``ok`` or ``error``), a message and its duration."""
    if status not in _RUN_STATUSES:
        raise StoreError("store.bad_run_status", value=_shown(status))
    with _writing(session, "runs", commit=commit):
        run = session.get(Run, run_id)
        if run is None:
            raise StoreError("store.run_not_found", run_id=run_id)
        finished = utcnow()
        started = run.started_at
        run.finished_at = finished
        run.duration_s = max((finished - started).total_seconds(), 0.0)
        run.status = status
        run.message = message
        session.flush()
    return run


def runs_frame(engine: Engine, /, *, command: str | None = None) -> pd.DataFrame:
    """The run audit, oldest first: the columns of :data:`RUN_COLUMNS`."""
    stmt = select(
        Run.id,
        Run.command,
        Run.started_at,
        Run.finished_at,
        Run.duration_s,
        Run.status,
        Run.message,
        Run.params,
    ).order_by(Run.started_at, Run.id)
    if command is not None:
        stmt = stmt.where(Run.command == command)
    with _reading("runs"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = _frame(rows, RUN_COLUMNS, ("started_at", "finished_at"))
    out["duration_s"] = out["duration_s"].astype("float64")
    return out
