"""A project folder: settings file, database and data folder.

::

    my-project/
      allegiance.yaml     settings (name, language, database URL if not the default)
      allegiance.db       the SQLite database (unless a database URL is set)
      data/               large tables as Parquet (activity, per-customer results)
      reports/            report.html, report.xlsx
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from allegiance._version import __version__
from allegiance.errors import ProjectError
from allegiance.settings import get_settings

SETTINGS_FILE = "allegiance.yaml"
DB_FILE = "allegiance.db"


@dataclass(frozen=True)
class Project:
    """An opened project folder."""

    root: Path
    settings: dict[str, Any]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def database_url(self) -> str:
        """``ALLEGIANCE_DATABASE_URL``, else the settings file's ``database_url``, else the SQLite file."""
        env = get_settings().database_url
        if env:
            return env
        configured = self.settings.get("database_url")
        if configured:
            return str(configured)
        return f"sqlite:///{(self.root / DB_FILE).as_posix()}"

    def data_path(self, name: str) -> Path:
        return self.data_dir / f"{name}.parquet"


def _read_settings(root: Path) -> dict[str, Any]:
    file = root / SETTINGS_FILE
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError("error.project_settings", file=str(file), detail=str(exc)) from exc
    if not isinstance(loaded, dict):
        raise ProjectError("error.project_settings", file=str(file), detail="expected a mapping")
    return loaded


def resolve_root(path: str | os.PathLike[str] | None) -> Path:
    """The project folder: ``path``, else ``ALLEGIANCE_PROJECT``, else the current folder."""
    if path is not None:
        return Path(path).expanduser().resolve()
    env = get_settings().project
    return (env or Path.cwd()).expanduser().resolve()


def open_project(path: str | os.PathLike[str] | None = None) -> Project:
    """Open an existing project; a clear error if the folder is not one."""
    root = resolve_root(path)
    if not (root / SETTINGS_FILE).is_file():
        raise ProjectError("error.not_a_project", path=str(root))
    return Project(root=root, settings=_read_settings(root))


def init_project(
    path: str | os.PathLike[str],
    /,
    *,
    name: str | None = None,
    lang: str | None = None,
    exist_ok: bool = False,
    demo: bool = False,
) -> Project:
    """Create a project folder with its settings file, database and data folder."""
    from allegiance.store.db import upgrade  # the store is only needed once a project exists

    root = Path(path).expanduser().resolve()
    settings_file = root / SETTINGS_FILE
    if settings_file.exists():
        if not exist_ok:
            raise ProjectError("error.project_exists", path=str(root))
        project = open_project(root)
    else:
        root.mkdir(parents=True, exist_ok=True)
        settings: dict[str, Any] = {
            "name": name or root.name,
            "lang": lang or "zh",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "allegiance_version": __version__,
        }
        if demo:
            settings["demo"] = True
        tmp = settings_file.with_suffix(".yaml.tmp")
        tmp.write_text(
            "# allegiance project settings / 项目设置\n"
            "# database_url: postgresql+psycopg://user@host/db  (default: allegiance.db here)\n"
            + yaml.safe_dump(settings, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        tmp.replace(settings_file)
        project = Project(root=root, settings=settings)
    project.data_dir.mkdir(exist_ok=True)
    project.reports_dir.mkdir(exist_ok=True)
    upgrade(project.database_url)
    return project
