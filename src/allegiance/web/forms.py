"""The public form: screens, posted fields → answers, and what each question shows.

A definition page becomes one or more **screens**. Skip logic (``show_if``) is evaluated on
the server between screens, so a page whose later questions depend on its earlier ones (the
NPS template asks for reasons only after the score) is split just before the first such
question: the respondent answers the score, presses "Next", and sees the questions their
answer calls for. Pages with ``randomize: true`` cannot refer to their own questions (the
definition refuses it), so they are never split. Question and option order come from
:func:`allegiance.survey.respondent_layout`, seeded by the invitation token, so a respondent
sees the same order on every visit.

Field names (all prefixed ``q.``):

==================  =======================================================================
type                fields
==================  =======================================================================
rating scales       ``q.<id>`` (the code; ``na`` when allowed)
kano, servqual,     ``q.<id>.<part>`` (``functional``/``dysfunctional``; ``expectation``/
servqual_zone       ``perception``; ``adequate``/``desired``/``perceived``)
allocation          ``q.<id>.<option>`` (points)
ahp                 ``q.<id>.<a>:<b>`` (``9`` … ``2``, ``1``, ``1/2`` … ``1/9``: how much more
                    important a is than b); ``q.<id>.keep`` keeps judgements whose
                    consistency ratio is above the threshold after the prompt was shown
single              ``q.<id>`` (an option code), ``q.<id>.other`` (its text)
multiple            ``q.<id>`` (repeated), ``q.<id>.other``
text                ``q.<id>``
==================  =======================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from allegiance.i18n import t
from allegiance.survey.definition import RATING_TYPES, SurveyDefinition, choices
from allegiance.survey.layout import respondent_layout
from allegiance.survey.responses import ResponseCheck, validate_response

__all__ = [
    "AHP_VALUES",
    "PART_NAMES",
    "QuestionView",
    "Screen",
    "accepted_inconsistent",
    "merge",
    "parse_screen",
    "question_views",
    "screens",
    "visible_screens",
]

PART_NAMES: dict[str, tuple[str, ...]] = {
    "kano": ("functional", "dysfunctional"),
    "servqual": ("expectation", "perception"),
    "servqual_zone": ("adequate", "desired", "perceived"),
}
#: The judgements an AHP pair offers, a much more important first (Saaty's 1-9 scale).
AHP_VALUES: tuple[str, ...] = (
    *(str(k) for k in range(9, 1, -1)),
    "1",
    *(f"1/{k}" for k in range(2, 10)),
)
_INT = re.compile(r"^[+-]?\d+$")
_SCREEN_ID_MAX = 64
EMOJI_FACES: dict[int, tuple[str, ...]] = {
    5: ("😞", "🙁", "😐", "🙂", "😄"),
    3: ("🙁", "😐", "🙂"),
}


# --------------------------------------------------------------------------------- screens


@dataclass(frozen=True)
class Screen:
    """What one form page shows: part (or all) of a definition page, in the respondent's order."""

    index: int
    id: str
    page: Any
    questions: tuple[str, ...]
    first_of_page: bool


def _references(q: Any) -> set[str]:
    condition = q.condition
    if condition is None:
        return set()
    return {ref.question for ref in condition.references()}


def screens(definition: SurveyDefinition, respondent: str, /) -> tuple[Screen, ...]:
    """Every screen of the survey for ``respondent`` (visible or not), in order."""
    out: list[Screen] = []
    layouts = respondent_layout(definition, respondent)
    for page, layout in zip(definition.pages, layouts, strict=True):
        groups: list[list[str]] = [[]]
        for qid in layout.questions:
            if _references(definition.question(qid)) & set(groups[-1]):
                groups.append([])
            groups[-1].append(qid)
        for k, group in enumerate(groups):
            sid = page.id if k == 0 else f"{page.id}.{k + 1}"
            if len(sid) > _SCREEN_ID_MAX:
                sid = f"#{len(out)}"
            out.append(
                Screen(
                    index=len(out),
                    id=sid,
                    page=page,
                    questions=tuple(group),
                    first_of_page=k == 0,
                )
            )
    return tuple(out)


def visible_screens(
    definition: SurveyDefinition, all_screens: Sequence[Screen], answers: Mapping[str, Any], /
) -> tuple[list[Screen], set[str]]:
    """The screens shown for ``answers`` (skip logic applied) and the visible question ids."""
    check = validate_response(definition, answers, partial=True)
    visible = set(check.visible)
    return [s for s in all_screens if any(q in visible for q in s.questions)], visible


# ------------------------------------------------------------------------------- answers


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def _number(value: str) -> int | float | str:
    text = value.strip()
    if _INT.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _code(value: str) -> int | str:
    text = value.strip()
    return int(text) if _INT.match(text) else text


def screen_keys(definition: SurveyDefinition, qids: Iterable[str], /) -> set[str]:
    """The answer keys the questions ``qids`` own (their ids and ``<id>.other``)."""
    keys: set[str] = set()
    for qid in qids:
        keys.add(qid)
        keys.add(f"{qid}.other")
    return keys


def parse_screen(
    definition: SurveyDefinition, qids: Iterable[str], form: FormData, /
) -> dict[str, Any]:
    """The answers the posted ``form`` gives to the questions ``qids`` (empty fields left out)."""
    out: dict[str, Any] = {}
    for qid in qids:
        q = definition.question(qid)
        name = f"q.{qid}"
        kind = q.type
        if kind in RATING_TYPES:
            value = _text(form.get(name))
            if value is not None:
                out[qid] = _code(value)
        elif kind in PART_NAMES:
            parts = {}
            for part in PART_NAMES[kind]:
                value = _text(form.get(f"{name}.{part}"))
                if value is not None:
                    parts[part] = _code(value)
            if parts:
                out[qid] = parts
        elif kind == "allocation":
            points = {}
            for option in q.options:
                value = _text(form.get(f"{name}.{option.code}"))
                if value is not None:
                    points[option.code] = _number(value)
            if points:
                out[qid] = points
        elif kind == "ahp":
            judgements = {}
            for a, b in q.pairs():
                value = _text(form.get(f"{name}.{a}:{b}"))
                if value is not None:
                    judgements[f"{a}:{b}"] = value
            if judgements:
                out[qid] = judgements
        elif kind == "single":
            value = _text(form.get(name))
            if value is not None:
                out[qid] = value
                other = next((o for o in q.options if o.other), None)
                text = _text(form.get(f"{name}.other"))
                if other is not None and value == other.code and text is not None:
                    out[f"{qid}.other"] = text
        elif kind == "multiple":
            values = [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]
            if values:
                out[qid] = values
                other = next((o for o in q.options if o.other), None)
                text = _text(form.get(f"{name}.other"))
                if other is not None and other.code in values and text is not None:
                    out[f"{qid}.other"] = text
        else:
            raw = form.get(name)
            if isinstance(raw, str) and raw.strip():
                out[qid] = raw.replace("\r\n", "\n")
    return out


def merge(
    definition: SurveyDefinition,
    earlier: Mapping[str, Any],
    qids: Iterable[str],
    given: Mapping[str, Any],
    /,
) -> dict[str, Any]:
    """The saved answers with those of the questions ``qids`` replaced by ``given``."""
    owned = screen_keys(definition, qids)
    known = screen_keys(definition, (q.id for q in definition.questions()))
    out = {k: v for k, v in earlier.items() if k not in owned and k in known}
    out.update(given)
    return out


def accepted_inconsistent(
    definition: SurveyDefinition,
    all_screens: Sequence[Screen],
    current: Screen,
    form: FormData | None,
    /,
) -> set[str]:
    """AHP questions whose inconsistent judgements the respondent keeps.

    A respondent passes a screen only when its judgements are consistent or were kept after
    the prompt, so every AHP question on an earlier screen counts as accepted; on the current
    screen, those whose "keep my answers" box is ticked.
    """
    out: set[str] = set()
    for screen in all_screens:
        for qid in screen.questions:
            if definition.question(qid).type != "ahp":
                continue
            earlier = screen.index < current.index
            kept = screen.index == current.index and form is not None and form.get(f"q.{qid}.keep")
            if earlier or kept:
                out.add(qid)
    return out


def screen_issues(check: ResponseCheck, qids: Iterable[str], /) -> dict[str, list[Any]]:
    """The problems of the questions ``qids`` only (later screens are not answered yet)."""
    wanted = set(qids)
    return {q: items for q, items in check.by_question().items() if q in wanted}


# --------------------------------------------------------------------------------- views


@dataclass
class ChoiceView:
    value: str
    label: str
    glyph: str | None = None
    other: bool = False
    exclusive: bool = False


@dataclass
class PartView:
    name: str
    label: str
    value: str | None
    choices: list[ChoiceView]


@dataclass
class PairView:
    key: str
    first: str
    second: str
    value: str | None
    options: list[tuple[str, str, str]]  # value, what is shown, what a screen reader says


@dataclass
class QuestionView:
    """Everything the template needs to draw one question in one language."""

    id: str
    kind: str
    text: str
    help: str | None
    required: bool
    errors: list[str] = field(default_factory=list)
    value: Any = None
    values: list[str] = field(default_factory=list)
    other_text: str = ""
    choices: list[ChoiceView] = field(default_factory=list)
    parts: list[PartView] = field(default_factory=list)
    pairs: list[PairView] = field(default_factory=list)
    allocation: list[tuple[str, str, str]] = field(default_factory=list)  # code, label, value
    total: int = 0
    ahp: dict[str, Any] = field(default_factory=dict)
    show_keep: bool = False
    multiline: bool = True
    max_length: int = 0
    min_choices: int = 0
    max_choices: int | None = None

    @property
    def dom_id(self) -> str:
        return f"q-{self.id}"


def _choice_views(q: Any, lang: str, order: Sequence[str] | None = None) -> list[ChoiceView]:
    kind = q.type
    out: list[ChoiceView] = []
    options = {o.code: o for o in getattr(q, "options", []) or []}
    listed = choices(q)
    if order is not None and options:
        by_code = {str(c.value): c for c in listed}
        listed = [by_code[code] for code in order if code in by_code]
    for choice in listed:
        glyph = None
        if kind == "emoji":
            faces = EMOJI_FACES.get(int(q.faces))
            if faces is not None and isinstance(choice.value, int):
                glyph = faces[choice.value - 1]
        elif kind == "stars" and isinstance(choice.value, int):
            glyph = "★" * choice.value
        option = options.get(str(choice.value))
        out.append(
            ChoiceView(
                value=str(choice.value),
                label=choice.label.get(lang),
                glyph=glyph,
                other=bool(option and option.other),
                exclusive=bool(option and option.exclusive),
            )
        )
    if getattr(q, "allow_na", False):
        out.append(ChoiceView(value="na", label=t("web.form.not_applicable", lang)))
    return out


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pair_options(first: str, second: str, lang: str) -> list[tuple[str, str, str]]:
    out = []
    for value in AHP_VALUES:
        if value == "1":
            out.append((value, "1", t("web.ahp.equal", lang, first=first, second=second)))
        elif "/" in value:
            k = value.split("/")[1]
            out.append((value, k, t("web.ahp.more", lang, first=second, second=first, n=k)))
        else:
            out.append((value, value, t("web.ahp.more", lang, first=first, second=second, n=value)))
    return out


def question_views(
    definition: SurveyDefinition,
    qids: Iterable[str],
    answers: Mapping[str, Any],
    *,
    lang: str,
    respondent: str,
    errors: Mapping[str, Sequence[Any]] | None = None,
    consistency: Mapping[str, float] | None = None,
) -> list[QuestionView]:
    """The views of the questions ``qids`` with the answers given so far and their problems."""
    from allegiance.methods.ahp import RI_TABLES

    layout = {p.page: p for p in respondent_layout(definition, respondent)}
    issues = errors or {}
    out: list[QuestionView] = []
    for qid in qids:
        q = definition.question(qid)
        kind = q.type
        found = list(issues.get(qid, ()))
        view = QuestionView(
            id=qid,
            kind=kind,
            text=q.text.get(lang),
            help=q.help.get(lang) if q.help is not None else None,
            required=bool(q.required),
            errors=[i.render(lang) for i in found],
        )
        answer = answers.get(qid)
        if kind in RATING_TYPES:
            view.choices = _choice_views(q, lang)
            view.value = _as_str(answer)
        elif kind in PART_NAMES:
            given = answer if isinstance(answer, Mapping) else {}
            shared = _choice_views(q, lang)
            view.parts = [
                PartView(
                    name=part,
                    label=getattr(q, part).get(lang),
                    value=_as_str(given.get(part)),
                    choices=shared,
                )
                for part in PART_NAMES[kind]
            ]
        elif kind == "allocation":
            given = answer if isinstance(answer, Mapping) else {}
            view.allocation = [
                (o.code, o.label.get(lang), _as_str(given.get(o.code)) or "") for o in q.options
            ]
            view.total = int(q.total)
        elif kind == "ahp":
            given = answer if isinstance(answer, Mapping) else {}
            names = {o.code: o.label.get(lang) for o in q.criteria}
            view.pairs = [
                PairView(
                    key=f"{a}:{b}",
                    first=names[a],
                    second=names[b],
                    value=_as_str(given.get(f"{a}:{b}")),
                    options=_pair_options(names[a], names[b], lang),
                )
                for a, b in q.pairs()
            ]
            n = len(q.criteria)
            cr = (consistency or {}).get(qid)
            view.ahp = {
                "n": n,
                "ri": RI_TABLES[q.ri].ri(n),
                "threshold": float(q.cr_threshold),
                "cr": cr,
                "pairs": " ".join(f"{a}:{b}" for a, b in q.pairs()),
                "codes": " ".join(o.code for o in q.criteria),
            }
            view.show_keep = any(i.key == "survey.answer.ahp_inconsistent" for i in found)
        elif kind in ("single", "multiple"):
            page_layout = layout.get(definition.page_of(qid).id)
            order = page_layout.options.get(qid) if page_layout is not None else None
            view.choices = _choice_views(q, lang, order)
            if kind == "single":
                view.value = _as_str(answer)
            else:
                view.values = [str(v) for v in answer] if isinstance(answer, list) else []
                view.min_choices = int(q.min_choices)
                view.max_choices = q.max_choices
            other = answers.get(f"{qid}.other")
            view.other_text = other if isinstance(other, str) else ""
        else:
            view.value = answer if isinstance(answer, str) else ""
            view.multiline = bool(q.multiline)
            view.max_length = int(q.max_length)
        out.append(view)
    return out
