"""The public API is curated: this list changes only on purpose (httpx's habit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import allegiance

EXPECTED = {
    "AllegianceError", "ColumnNotFoundError", "ConfigError", "DataFileError", "DataTable",
    "DemoConfig", "InputError", "Message", "Project", "ProjectError", "SCALES", "StoreError",
    "ValidationError", "__version__", "build_project_report", "ces", "csat", "datasets", "emoji",
    "five_level", "generate", "generate_project", "init_project", "likert",
    "loyalty_index_three", "loyalty_rate", "mean_score", "nps", "open_project", "read_table",
    "run_demo", "satisfaction_rate", "set_lang", "stars", "t",
}  # fmt: skip


def test_all_is_sorted_and_curated() -> None:
    assert len(allegiance.__all__) == len(set(allegiance.__all__))  # order: ruff RUF022
    assert set(allegiance.__all__) == EXPECTED
    lazy = set(allegiance._EXPORTS) | set(allegiance._MODULES) | {"__version__"}
    assert lazy == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in allegiance.__all__:
        assert getattr(allegiance, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        allegiance.no_such_thing  # noqa: B018


def test_import_is_light() -> None:
    code = (
        "import sys, allegiance;"
        "heavy = [m for m in ('sqlalchemy', 'duckdb', 'plotly', 'typer', 'pandas') if m in sys.modules];"
        "sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
