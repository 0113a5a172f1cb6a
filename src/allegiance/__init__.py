"""allegiance: customer satisfaction and customer loyalty measurement.

The curated public API. Names are loaded on first use, so ``import allegiance`` stays
light and the pure core (``allegiance.methods``) never pulls in the database, the web or
the command line.

>>> import allegiance as al
>>> mobi = al.datasets.load_mobi()
>>> round(al.nps(mobi, score="CUSL3").nps, 1)
14.0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from allegiance._version import __version__

if TYPE_CHECKING:
    from allegiance import datasets
    from allegiance.errors import (
        AllegianceError,
        ColumnNotFoundError,
        ConfigError,
        DataFileError,
        InputError,
        ProjectError,
        StoreError,
        ValidationError,
    )
    from allegiance.generate import DemoConfig, generate
    from allegiance.i18n import Message, set_lang, t
    from allegiance.io import DataTable, read_table
    from allegiance.methods.scales import (
        SCALES,
        ces,
        csat,
        emoji,
        five_level,
        likert,
        loyalty_index_three,
        loyalty_rate,
        mean_score,
        nps,
        satisfaction_rate,
        stars,
    )
    from allegiance.project import Project, init_project, open_project
    from allegiance.workflow import build_project_report, generate_project, run_demo

_EXPORTS: dict[str, str] = {
    "AllegianceError": "allegiance.errors",
    "ColumnNotFoundError": "allegiance.errors",
    "ConfigError": "allegiance.errors",
    "DataFileError": "allegiance.errors",
    "DataTable": "allegiance.io",
    "DemoConfig": "allegiance.generate",
    "InputError": "allegiance.errors",
    "Message": "allegiance.i18n",
    "Project": "allegiance.project",
    "ProjectError": "allegiance.errors",
    "SCALES": "allegiance.methods.scales",
    "StoreError": "allegiance.errors",
    "ValidationError": "allegiance.errors",
    "build_project_report": "allegiance.workflow",
    "ces": "allegiance.methods.scales",
    "csat": "allegiance.methods.scales",
    "emoji": "allegiance.methods.scales",
    "five_level": "allegiance.methods.scales",
    "generate": "allegiance.generate",
    "generate_project": "allegiance.workflow",
    "init_project": "allegiance.project",
    "likert": "allegiance.methods.scales",
    "loyalty_index_three": "allegiance.methods.scales",
    "loyalty_rate": "allegiance.methods.scales",
    "mean_score": "allegiance.methods.scales",
    "nps": "allegiance.methods.scales",
    "open_project": "allegiance.project",
    "read_table": "allegiance.io",
    "run_demo": "allegiance.workflow",
    "satisfaction_rate": "allegiance.methods.scales",
    "set_lang": "allegiance.i18n",
    "stars": "allegiance.methods.scales",
    "t": "allegiance.i18n",
}
_MODULES = {"datasets": "allegiance.datasets"}

__all__ = [
    "SCALES",
    "AllegianceError",
    "ColumnNotFoundError",
    "ConfigError",
    "DataFileError",
    "DataTable",
    "DemoConfig",
    "InputError",
    "Message",
    "Project",
    "ProjectError",
    "StoreError",
    "ValidationError",
    "__version__",
    "build_project_report",
    "ces",
    "csat",
    "datasets",
    "emoji",
    "five_level",
    "generate",
    "generate_project",
    "init_project",
    "likert",
    "loyalty_index_three",
    "loyalty_rate",
    "mean_score",
    "nps",
    "open_project",
    "read_table",
    "run_demo",
    "satisfaction_rate",
    "set_lang",
    "stars",
    "t",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'allegiance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
