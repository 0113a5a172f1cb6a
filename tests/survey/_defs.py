"""Small builders of survey definitions for the tests."""

from __future__ import annotations

from typing import Any

from allegiance.survey.definition import SurveyDefinition, parse_definition


def text(en: str, zh: str | None = None) -> dict[str, str]:
    """A bilingual label."""
    return {"en": en, "zh": zh or f"中文：{en}"}


def minimal(*questions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A definition (as data) with one page holding ``questions``."""
    return {
        "code": "t",
        "title": text("Test"),
        "pages": [{"id": "p1", "questions": list(questions)}],
        **extra,
    }


def q(qid: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A question of type ``kind`` with a label."""
    return {"id": qid, "type": kind, "text": text(f"Question {qid}"), **fields}


def options(*codes: str, **flags: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"code": c, "label": text(c.title()), **flags.get(c, {})} for c in codes]


def definition(*questions: dict[str, Any]) -> SurveyDefinition:
    return parse_definition(minimal(*questions))
