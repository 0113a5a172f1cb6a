"""The project store: SQLAlchemy models, all queries, and Alembic migrations.

SQLite (a WAL-journalled file in the project folder) by default, PostgreSQL by URL
(``ALLEGIANCE_DATABASE_URL``). Small relational facts live here; large tables live
as Parquet files in the project folder and are registered in ``datasets``.
See docs/store.md.
"""

from __future__ import annotations

from allegiance.store.db import (
    DATABASE_URL_ENV,
    DEFAULT_DB_FILENAME,
    current_revision,
    database_url,
    downgrade,
    heads,
    make_engine,
    new_revision,
    normalize_url,
    schema_diff,
    session_factory,
    sqlite_url,
    upgrade,
)
from allegiance.store.models import (
    Base,
    Complaint,
    Dataset,
    ProjectMeta,
    Response,
    Run,
    Survey,
    SurveyWave,
)
from allegiance.store.repository import (
    SaveResult,
    all_meta,
    complaints_frame,
    create_survey,
    finish_run,
    get_dataset,
    get_meta,
    get_or_create_wave,
    get_survey_by_code,
    list_datasets,
    list_surveys,
    register_dataset,
    responses_frame,
    runs_frame,
    save_complaints,
    save_responses,
    set_meta,
    start_run,
)

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DB_FILENAME",
    "Base",
    "Complaint",
    "Dataset",
    "ProjectMeta",
    "Response",
    "Run",
    "SaveResult",
    "Survey",
    "SurveyWave",
    "all_meta",
    "complaints_frame",
    "create_survey",
    "current_revision",
    "database_url",
    "downgrade",
    "finish_run",
    "get_dataset",
    "get_meta",
    "get_or_create_wave",
    "get_survey_by_code",
    "heads",
    "list_datasets",
    "list_surveys",
    "make_engine",
    "new_revision",
    "normalize_url",
    "register_dataset",
    "responses_frame",
    "runs_frame",
    "save_complaints",
    "save_responses",
    "schema_diff",
    "session_factory",
    "set_meta",
    "sqlite_url",
    "start_run",
    "upgrade",
]
