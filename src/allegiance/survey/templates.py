"""The survey templates shipped in ``allegiance/templates/surveys/*.yaml``.

>>> "ecsi" in template_names()
True
>>> load_template("nps").template.analyses
['score nps', 'reasons', 'comments']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allegiance import templates
from allegiance.survey.definition import SurveyDefinition, Text, load_definition

__all__ = [
    "TemplateSummary",
    "load_template",
    "template_names",
    "template_path",
    "templates_summary",
]

KIND = "surveys"


def template_names() -> list[str]:
    """The names of the shipped survey templates."""
    return templates.names(KIND)


def template_path(name: str, /) -> Path:
    """The YAML file of a shipped template (a clear error naming those there are)."""
    return templates.template_path(KIND, name)


def load_template(name: str, /) -> SurveyDefinition:
    """A shipped template, validated."""
    return load_definition(template_path(name))


@dataclass(frozen=True)
class TemplateSummary:
    name: str
    title: Text
    n_pages: int
    n_questions: int
    analyses: tuple[str, ...]
    source: str | None


def templates_summary() -> list[TemplateSummary]:
    """One line per shipped template: name, title, size and the analyses it feeds."""
    out = []
    for name in template_names():
        d = load_template(name)
        info = d.template
        out.append(
            TemplateSummary(
                name=name,
                title=d.title,
                n_pages=len(d.pages),
                n_questions=len(d.questions()),
                analyses=tuple(info.analyses) if info else (),
                source=info.source if info else None,
            )
        )
    return out
