"""Settings, declared once (environment prefix ``ALLEGIANCE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What the environment may set.

    ``ALLEGIANCE_LANG`` (zh|en), ``ALLEGIANCE_PROJECT`` (a project folder),
    ``ALLEGIANCE_DATABASE_URL`` (overrides the project's SQLite file, e.g.
    ``postgresql+psycopg://user@host/db``), ``ALLEGIANCE_SECRET_KEY`` (the key that signs
    sessions and keys pseudonyms; required outside ``--dev``, see
    :func:`allegiance.security.load_secret_key`) or ``ALLEGIANCE_SECRET_KEY_FILE`` (a file
    holding it, e.g. a container secret), ``ALLEGIANCE_REDIS_URL`` (run background jobs on
    Redis with rq, e.g. ``redis://127.0.0.1:6379/0``; none: a thread pool in the process),
    ``ALLEGIANCE_JOBS_QUEUE`` (the rq queue's name) and ``ALLEGIANCE_JOB_THREADS`` (the
    in-process pool's size); see :mod:`allegiance.jobs`. ``ALLEGIANCE_COMPLAINTS_TAXONOMY`` and
    ``ALLEGIANCE_COMPLAINTS_WORKFLOW`` (a company's cause taxonomy and handling workflow, a
    file or a shipped name) replace the shipped defaults wherever no file is named: the web
    pages, the closed loop and the ``complaints`` commands.
    """

    model_config = SettingsConfigDict(env_prefix="ALLEGIANCE_", extra="ignore")

    lang: str | None = None
    project: Path | None = None
    database_url: str | None = None
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    redis_url: str | None = None
    jobs_queue: str = "allegiance"
    job_threads: int = 2
    complaints_taxonomy: str | None = None
    complaints_workflow: str | None = None


def get_settings() -> Settings:
    """Read the settings from the environment now (never cached: tests change it)."""
    return Settings()
