"""Survey collection: definitions, templates, response checks and the bridge to the analyses.

- :mod:`~allegiance.survey.definition`: the YAML format (pydantic models), validation with
  located bilingual errors, the JSON Schema;
- :mod:`~allegiance.survey.expressions`: the ``show_if`` skip-logic language;
- :mod:`~allegiance.survey.layout`: what a respondent sees (skip logic, seeded random order);
- :mod:`~allegiance.survey.responses`: checking one submitted response;
- :mod:`~allegiance.survey.analysis`: stored answers → the tables the analyses read;
- :mod:`~allegiance.survey.templates`: the shipped templates.

Storage (surveys, versions, invitations, drafts, responses) is in
:mod:`allegiance.store.surveys`. See docs/surveys.md.
"""

from __future__ import annotations

from allegiance.survey.analysis import analysis_frame, column_info, column_table
from allegiance.survey.definition import (
    DefinitionError,
    SurveyDefinition,
    load_definition,
    parse_definition,
    survey_schema,
)
from allegiance.survey.layout import respondent_layout, visible_questions
from allegiance.survey.responses import (
    ResponseCheck,
    ResponseError,
    check_response,
    validate_response,
)
from allegiance.survey.templates import load_template, template_names

__all__ = [
    "DefinitionError",
    "ResponseCheck",
    "ResponseError",
    "SurveyDefinition",
    "analysis_frame",
    "check_response",
    "column_info",
    "column_table",
    "load_definition",
    "load_template",
    "parse_definition",
    "respondent_layout",
    "survey_schema",
    "template_names",
    "validate_response",
    "visible_questions",
]
