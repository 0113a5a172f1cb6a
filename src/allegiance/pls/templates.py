"""The shipped satisfaction-index models (ECSI, ACSI, CCSI) and :func:`load_model`.

The models live as YAML in ``allegiance/templates/models/`` (one file each,
in the format :meth:`PathModel.from_dict` reads, with a ``title`` in both
languages and a ``description`` naming the source). ``load_model`` takes
either a template name or a model file:

>>> load_model("ecsi").construct_names[:3]
('Image', 'Expectation', 'Perceived quality')
>>> sorted(model_names())
['acsi', 'ccsi', 'ecsi']

A file is read by its extension: ``.yaml``/``.yml`` and ``.json`` as the
dict form, ``.txt``/``.lav``/``.lavaan`` (or anything else) as the lavaan-like
text syntax; errors carry the line and column. See
docs/methods/index-models.md for the three models and their sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from allegiance.errors import ConfigError
from allegiance.pls.spec import PathModel
from allegiance.templates import names, template_path

__all__ = ["KIND", "ModelInfo", "load_model", "model_info", "model_names"]

KIND = "models"
"""The template folder of path models: ``allegiance/templates/models``."""


@dataclass(frozen=True)
class ModelInfo:
    """A shipped model's name, title in English and Chinese, and source."""

    name: str
    title_en: str
    title_zh: str
    source: str
    path: Path

    def title(self, lang: str | None = None, /) -> str:
        from allegiance.i18n import current_lang, normalize_lang

        chosen = normalize_lang(lang) or current_lang()
        return self.title_zh if chosen == "zh" else self.title_en


def model_names() -> list[str]:
    """The names of the shipped models (``acsi``, ``ccsi``, ``ecsi``)."""
    return names(KIND)


def model_info(name: str, /) -> ModelInfo:
    """Title and source of a shipped model."""
    path = template_path(KIND, name.strip().lower())
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    title = raw.get("title") if isinstance(raw, dict) else None
    title = title if isinstance(title, dict) else {}
    return ModelInfo(
        name=path.stem,
        title_en=str(title.get("en", path.stem)),
        title_zh=str(title.get("zh", title.get("en", path.stem))),
        source=str(raw.get("description", "")) if isinstance(raw, dict) else "",
        path=path,
    )


def load_model(name_or_path: str | Path, /) -> PathModel:
    """A shipped model by name (``ecsi``, ``acsi``, ``ccsi``; any case) or a model file.

    A name that is neither a shipped model nor an existing file raises
    :class:`ConfigError` naming the shipped models.
    """
    text = str(name_or_path).strip()
    key = text.lower()
    if not isinstance(name_or_path, Path) and key in model_names():
        return PathModel.load(template_path(KIND, key))
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return PathModel.load(path)
    raise ConfigError(
        "plsx.error.model_not_found", model=text, available=", ".join(model_names()) or "-"
    )
