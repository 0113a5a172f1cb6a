"""The closed loop (闭环回访): a dissatisfied survey answer opens a follow-up complaint case.

When a survey response is stored (a web submission, :func:`allegiance.store.surveys.submit_response`,
or a file import, :func:`allegiance.survey.exchange.import_responses`) and one of its answers
is at or below a threshold, a complaint is opened for it **in the same transaction**: no
response without its case, and never two cases for one response (``complaints.response_id``
is UNIQUE, migration 0005). The defaults:

- an NPS answer of 0-6 (a detractor, Reichheld 2003): ``nps_max: 6``;
- a five-level satisfaction answer of 1 (很不满意, very dissatisfied): ``five_level_max: 1``.

The case: channel ``survey``, the respondent's customer id and language, received when the
response was submitted, in the workflow's initial state, linked to the response; its cause
is the configured ``cause`` or, by default, ``unclassified`` (class 4, unknown) for an agent
to classify on the complaint page.

Settings, each optional, in two places (the survey's win):

- the project, stored in its database: :func:`configure`, e.g. ``{"nps_max": 4, "owner":
  "cx-team"}``; ``{"enabled": False}`` turns the loop off for every survey that does not
  turn it on itself;
- a survey definition's ``follow_up:`` block (:class:`allegiance.survey.definition.FollowUp`)
  with the same keys plus ``questions:`` (only these question ids).

>>> rule = LoopRule()
>>> rule.nps_max, rule.five_level_max, rule.enabled
(6, 1, True)
>>> rule.merged({"nps_max": 4}).nps_max
4
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from allegiance.complaints.handling import Workflow, load_workflow
from allegiance.complaints.taxonomy import Taxonomy, load_taxonomy
from allegiance.errors import ConfigError
from allegiance.i18n import normalize_lang, t

__all__ = [
    "CHANNEL",
    "META_KEY",
    "UNCLASSIFIED",
    "UNCLASSIFIED_CLASS",
    "LoopRule",
    "case_key",
    "configure",
    "follow_up",
    "follow_up_all",
    "project_rule",
    "response_of",
    "rule_for",
    "triggers",
]

#: The channel of a case the loop opens.
CHANNEL = "survey"
#: The cause of a case nobody has classified yet, and its class (4: unknown).
UNCLASSIFIED = "unclassified"
UNCLASSIFIED_CLASS = 4
#: The project setting (``project_meta``) that holds the project's rule.
META_KEY = "closed_loop"
#: Who the history names as having opened a case.
ACTOR = "closed-loop"

_KEYS = ("enabled", "nps_max", "five_level_max", "questions", "cause", "severity", "owner")


@dataclass(frozen=True)
class LoopRule:
    """When a response opens a case, and what the case gets."""

    enabled: bool = True
    nps_max: int = 6
    five_level_max: int = 1
    #: Only these question ids (empty: every NPS and five-level question).
    questions: tuple[str, ...] = ()
    cause: str | None = None
    severity: str | None = None
    owner: str | None = None

    def merged(self, changes: Mapping[str, Any], /) -> LoopRule:
        """A copy with the settings ``changes`` gives (``None`` values keep this rule's)."""
        given = {k: v for k, v in changes.items() if k in _KEYS and v is not None}
        if "questions" in given:
            given["questions"] = tuple(str(q) for q in given["questions"])
        return replace(self, **given)

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "nps_max": self.nps_max,
            "five_level_max": self.five_level_max,
            "questions": list(self.questions),
            "cause": self.cause,
            "severity": self.severity,
            "owner": self.owner,
        }


def _default_taxonomy() -> Taxonomy:
    return load_taxonomy()  # the company's (ALLEGIANCE_COMPLAINTS_TAXONOMY) or the shipped one


def _default_workflow() -> Workflow:
    return load_workflow()  # the company's (ALLEGIANCE_COMPLAINTS_WORKFLOW) or the shipped one


def _checked(data: Mapping[str, Any] | None, *, where: str) -> dict[str, Any]:
    """Settings checked the way a survey's ``follow_up:`` block is (one format, one check)."""
    from pydantic import ValidationError as PydanticValidationError

    from allegiance.survey.definition import FollowUp

    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError("complaints.loop.bad_settings", where=where, detail=repr(data)[:80])
    try:
        parsed = FollowUp.model_validate(dict(data))
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        detail = f"{'.'.join(map(str, first['loc'])) or '-'}: {first['msg']}"
        raise ConfigError("complaints.loop.bad_settings", where=where, detail=detail) from None
    out = parsed.model_dump(exclude_none=True)
    tax, wf = _default_taxonomy(), _default_workflow()
    if out.get("cause") is not None:
        cause = tax.resolve(out["cause"])
        if cause is None:
            raise ConfigError(
                "complaints.loop.bad_settings",
                where=where,
                detail=f"cause: {out['cause']} ({', '.join(tax.codes()[:12])} ...)",
            )
        out["cause"] = cause.code
    if out.get("severity") is not None and out["severity"] not in wf.severity_codes():
        raise ConfigError(
            "complaints.loop.bad_settings",
            where=where,
            detail=f"severity: {out['severity']} ({', '.join(wf.severity_codes())})",
        )
    return out


def project_rule(session: Session, /) -> LoopRule:
    """The project's rule: the defaults changed by the stored setting (see :func:`configure`)."""
    from allegiance.store.repository import get_meta

    stored = get_meta(session, META_KEY, None)
    return LoopRule().merged(_checked(stored, where=META_KEY))


def configure(
    session: Session, settings: Mapping[str, Any] | None, /, *, commit: bool = True
) -> LoopRule:
    """Store the project's closed-loop settings (``None``: back to the defaults); returns the
    rule now in force. Bad settings raise a bilingual :class:`ConfigError` and change nothing."""
    from allegiance.store.repository import set_meta

    clean = _checked(settings, where=META_KEY)
    set_meta(session, META_KEY, clean or None, commit=commit)
    return LoopRule().merged(clean)


def rule_for(session: Session, definition: Any, /) -> LoopRule:
    """The rule for one survey: the project's, changed by the definition's ``follow_up:``."""
    rule = project_rule(session)
    block = getattr(definition, "follow_up", None)
    if block is None:
        return rule
    return rule.merged(block.model_dump(exclude_none=True))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def triggers(definition: Any, answers: Mapping[str, Any], rule: LoopRule, /) -> list[str]:
    """The answers that open a case, as ``question=value`` (empty: no case).

    NPS questions at or below ``nps_max`` and five-level questions at or below
    ``five_level_max`` (``na`` and skipped questions never count).
    """
    if not rule.enabled:
        return []
    limits = {"nps": rule.nps_max, "five_level": rule.five_level_max}
    hits: list[str] = []
    for question in definition.questions():
        limit = limits.get(question.type)
        if limit is None or (rule.questions and question.id not in rule.questions):
            continue
        value = _number(answers.get(question.id))
        if value is not None and value <= limit:
            hits.append(f"{question.id}={value:g}")
    return hits


def case_key(response_id: int, /) -> str:
    """The complaint key of the case opened for a response."""
    return f"survey-{int(response_id)}"


def _comments(definition: Any, answers: Mapping[str, Any]) -> list[str]:
    out = []
    for question in definition.questions():
        if question.type == "text":
            value = answers.get(question.id)
            if isinstance(value, str) and value.strip():
                out.append(value.strip())
    return out


def follow_up(
    session: Session,
    response: Any,
    definition: Any,
    /,
    *,
    rule: LoopRule | None = None,
    survey: str | None = None,
) -> str | None:
    """Open the case for a stored ``response`` (a :class:`~allegiance.store.models.Response`
    with its id) if its answers call for one and it has none yet; returns the case's key.

    Runs inside the caller's transaction and never commits: the response and its case are
    stored together or not at all.
    """
    from allegiance.store import repository as repo
    from allegiance.store.models import Complaint

    chosen = rule if rule is not None else rule_for(session, definition)
    answers = response.answers if isinstance(response.answers, Mapping) else {}
    hits = triggers(definition, answers, chosen)
    if not hits:
        return None
    response_id = int(response.id)
    exists = session.execute(
        select(Complaint.id).where(Complaint.response_id == response_id)
    ).first()
    if exists is not None:
        return None
    wf = _default_workflow()
    if chosen.cause is not None:
        cause = _default_taxonomy().resolve(chosen.cause)
        code, klass = (cause.code, cause.klass) if cause else (UNCLASSIFIED, UNCLASSIFIED_CLASS)
    else:
        code, klass = UNCLASSIFIED, UNCLASSIFIED_CLASS
    lang = normalize_lang(getattr(response, "language", None)) or "zh"
    text = t(
        "complaints.loop.text",
        lang,
        survey=survey or "-",
        response=response_id,
        answers=", ".join(hits),
    )
    comments = _comments(definition, answers)
    if comments:
        text += "\n" + "\n".join(comments)
    key = case_key(response_id)
    if repo.get_complaint(session, key) is not None:  # a key taken by an imported complaint
        key = f"{key}-{secrets.token_hex(3)}"
    row = {
        "complaint_key": key,
        "customer_id": response.customer_id,
        "received_at": response.submitted_at,
        "channel": CHANNEL,
        "cause_code": code,
        "cause_class": klass,
        "text": text,
        "status": wf.initial,
        "severity": chosen.severity or wf.default_severity,
        "owner": chosen.owner,
        "lang": lang,
    }
    repo.save_complaints(session, [row], commit=False)
    session.execute(
        update(Complaint).where(Complaint.complaint_key == key).values(response_id=response_id)
    )
    repo.set_complaint_status(
        session,
        key,
        expected_status=wf.initial,
        status=wf.initial,
        first_response_at=None,
        resolved_at=None,
        at=response.submitted_at,
        actor=ACTOR,
        note=f"opened for survey response {response_id}: {', '.join(hits)}",
        commit=False,
    )
    return key


def follow_up_all(
    session: Session, responses: Sequence[Any], definition: Any, /, *, survey: str | None = None
) -> list[str]:
    """:func:`follow_up` for many responses of one survey (an import); the keys opened."""
    rule = rule_for(session, definition)
    if not rule.enabled:
        return []
    opened = []
    for response in responses:
        key = follow_up(session, response, definition, rule=rule, survey=survey)
        if key is not None:
            opened.append(key)
    return opened


def response_of(session: Session, complaint_key: str, /) -> int | None:
    """The id of the survey response a complaint was opened for, or ``None``."""
    from allegiance.store.models import Complaint
    from allegiance.store.repository import _session_read

    with _session_read(session, "complaints"):
        found = session.execute(
            select(Complaint.response_id).where(Complaint.complaint_key == complaint_key)
        ).scalar_one_or_none()
    return None if found is None else int(found)
