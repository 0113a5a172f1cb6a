"""Templates shipped with allegiance, as YAML in one sub-folder per kind (:func:`kinds`):
AHP hierarchies (``hierarchies/``), PLS path models (``models/``) and the other kinds
added beside them, such as the survey templates (``surveys/``, see :mod:`allegiance.survey`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from allegiance.errors import ConfigError

__all__ = ["kinds", "names", "template_path"]


def _root() -> Path:
    return Path(str(resources.files("allegiance.templates")))


def kinds() -> list[str]:
    """The kinds of templates shipped (folder names)."""
    return sorted(p.name for p in _root().iterdir() if p.is_dir() and not p.name.startswith("_"))


def names(kind: str, /) -> list[str]:
    """The template names of one kind (file names without ``.yaml``)."""
    folder = _root() / kind
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def template_path(kind: str, name: str, /) -> Path:
    """The file of a shipped template; a clear error naming the templates there are."""
    path = _root() / kind / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(
            "error.template_not_found",
            kind=kind,
            name=name,
            available=", ".join(names(kind)) or "-",
        )
    return path
