"""What a respondent sees: which pages and questions are shown, and in which order.

- :func:`visible_questions` applies skip logic (``show_if`` of pages and questions) to the
  answers given so far: a question on a hidden page, or whose condition is false, is not
  shown, and its answer does not count (conditions see only the answers of questions that
  are shown themselves).
- :func:`respondent_layout` gives each page's question order and each choice question's
  option order for one respondent. Pages with ``randomize: true`` and questions with
  ``randomize_options: true`` are shuffled with a seed derived from the survey code and
  the respondent's key (e.g. the invitation token), so the same respondent always sees
  the same order (a reloaded page does not reshuffle) and the order is reproducible.
  "Other" and exclusive options ("none of these") stay at the end.

>>> from allegiance.survey.definition import parse_definition
>>> d = parse_definition({"code": "x", "title": {"en": "X", "zh": "X"}, "pages": [
...     {"id": "p", "randomize": True, "questions": [
...         {"id": f"q{i}", "type": "nps", "text": {"en": "?", "zh": "？"}} for i in range(5)]}]})
>>> a = respondent_layout(d, "token-1")[0].questions
>>> a == respondent_layout(d, "token-1")[0].questions, sorted(a)
(True, ['q0', 'q1', 'q2', 'q3', 'q4'])
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allegiance.survey.definition import SurveyDefinition

__all__ = ["PageLayout", "respondent_layout", "seed_for", "visible_questions"]


def seed_for(*parts: str) -> int:
    """A 64-bit seed from text (stable across processes and Python versions)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class PageLayout:
    """One page for one respondent: question ids in the order shown, option codes per question."""

    page: str
    questions: tuple[str, ...]
    options: dict[str, tuple[str, ...]]


def respondent_layout(definition: SurveyDefinition, respondent: str, /) -> tuple[PageLayout, ...]:
    """Every page's question order and every choice question's option order for ``respondent``."""
    out: list[PageLayout] = []
    for page in definition.pages:
        ids = [q.id for q in page.questions]
        if page.randomize:
            random.Random(seed_for(definition.code, respondent, "page", page.id)).shuffle(ids)
        options: dict[str, tuple[str, ...]] = {}
        for q in page.questions:
            if q.type not in ("single", "multiple"):
                continue
            fixed = [o.code for o in q.options if o.other or o.exclusive]
            moving = [o.code for o in q.options if not (o.other or o.exclusive)]
            if q.randomize_options:
                random.Random(seed_for(definition.code, respondent, "options", q.id)).shuffle(
                    moving
                )
            options[q.id] = (*moving, *fixed)
        out.append(PageLayout(page=page.id, questions=tuple(ids), options=options))
    return tuple(out)


def visible_questions(
    definition: SurveyDefinition, answers: Mapping[str, Any], /
) -> tuple[set[str], list[str]]:
    """The pages and the questions (in definition order) shown for ``answers``.

    Conditions read only the answers of questions that are themselves shown, so hiding
    a question also hides whatever depended on it.
    """
    seen: dict[str, Any] = {}
    pages: set[str] = set()
    shown: list[str] = []
    for page in definition.pages:
        condition = page.condition
        if condition is not None and not condition.evaluate(seen):
            continue
        pages.add(page.id)
        for q in page.questions:
            cond = q.condition
            if cond is not None and not cond.evaluate(seen):
                continue
            shown.append(q.id)
            if q.id in answers:
                seen[q.id] = answers[q.id]
            other = f"{q.id}.other"
            if other in answers:
                seen[other] = answers[other]
    return pages, shown
