"""Survey definitions: YAML validated by pydantic, with bilingual, located errors.

A definition is a YAML (or JSON) document: the survey's code and bilingual title, and
pages of questions. Every label is a mapping with both ``en`` and ``zh`` text (a missing
one is an error that names the language). Every question has a ``type`` (the question
types are the classes below, one per type) and may carry tags that say what it measures
(``measures``, ``construct``, ``factor``, ``dimension``, ``kano_feature``), so that
:mod:`allegiance.survey.analysis` can turn stored answers into the tables the analyses
read without any re-mapping. See docs/surveys.md for the format with examples.

:func:`load_definition` reads a file; :func:`parse_definition` takes the parsed data.
Both raise :class:`DefinitionError` with every problem found, each naming the file, the
line (from the YAML node marks), the path (``pages[1].questions[3].show_if``) and what
was expected, in Chinese or English. :func:`survey_schema` is the JSON Schema of the
format (shipped as ``survey.schema.json`` beside this module).

>>> d = parse_definition({
...     "code": "demo",
...     "title": {"en": "Demo", "zh": "示例"},
...     "pages": [{"id": "p1", "questions": [
...         {"id": "sat", "type": "five_level", "text": {"en": "Overall?", "zh": "总体？"},
...          "measures": "satisfaction"},
...         {"id": "why", "type": "text", "text": {"en": "Why?", "zh": "为什么？"},
...          "required": False, "show_if": "sat <= 2"},
...     ]}],
... })
>>> [q.id for q in d.questions()], d.question("why").condition.evaluate({"sat": 1})
(['sat', 'why'], True)
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from allegiance.errors import ConfigError
from allegiance.i18n import t
from allegiance.survey.expressions import Expression, ExpressionError, parse

__all__ = [
    "MEASURES",
    "QUESTION_TYPES",
    "RESERVED_COLUMNS",
    "Ahp",
    "Allocation",
    "Anchors",
    "Ces",
    "Choice",
    "DefinitionError",
    "DefinitionIssue",
    "Emoji",
    "FiveLevel",
    "FollowUp",
    "FreeText",
    "Importance",
    "Kano",
    "Likert",
    "Multiple",
    "Nps",
    "Option",
    "Page",
    "Question",
    "Servqual",
    "ServqualZone",
    "Single",
    "Stars",
    "SurveyDefinition",
    "TemplateInfo",
    "Text",
    "choices",
    "definition_issues",
    "load_definition",
    "parse_definition",
    "survey_schema",
]

SCHEMA_FILE = "survey.schema.json"
FORMAT_VERSION = 1

#: Columns the analysis frame and the response table use for themselves.
RESERVED_COLUMNS: frozenset[str] = frozenset(
    {
        "survey",
        "wave",
        "respondent_key",
        "customer_id",
        "submitted_at",
        "started_at",
        "duration_s",
        "language",
        "source",
    }
)

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$", max_length=64)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
Measure = Literal[
    "satisfaction",
    "loyalty",
    "recommend",
    "repurchase",
    "effort",
    "expectation",
    "perceived_quality",
    "perceived_value",
    "image",
    "complaints",
    "importance",
    "performance",
    "service_quality",
    "kano",
    "weights",
    "compliance",
    "reasons",
    "comment",
    "profile",
    "other",
]
#: What a question can be tagged as measuring (``measures:``).
MEASURES: tuple[str, ...] = get_args(Measure)
RITableName = Literal["saaty1980", "saaty2005", "alonso-lamata", "donegan-dodd"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


# --------------------------------------------------------------------------------------------
# Labels, options
# --------------------------------------------------------------------------------------------


class Text(_Model):
    """A label in both languages: ``{en: ..., zh: ...}`` (zh is Simplified Chinese, zh-CN)."""

    en: str = Field(min_length=1, description="English text")
    zh: str = Field(min_length=1, description="Simplified Chinese text (zh-CN)")

    @model_validator(mode="before")
    @classmethod
    def _both_languages(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise PydanticCustomError(
                "survey_label_one_language",
                "a label needs both en and zh text, found plain text {value}",
                {"value": _short(data)},
            )
        if isinstance(data, Mapping):
            missing = [lang for lang in ("en", "zh") if data.get(lang) is None]
            if missing:
                raise PydanticCustomError(
                    "survey_label_missing",
                    "the label has no {lang} text",
                    {"lang": ", ".join(missing)},
                )
            empty = [
                lang
                for lang in ("en", "zh")
                if isinstance(data.get(lang), str) and not str(data[lang]).strip()
            ]
            if empty:
                raise PydanticCustomError(
                    "survey_label_empty", "the {lang} text is empty", {"lang": ", ".join(empty)}
                )
        return data

    def get(self, lang: str | None) -> str:
        """The text in ``lang`` (``zh`` or ``en``; anything else gives English)."""
        return self.zh if lang == "zh" else self.en

    @classmethod
    def of(cls, key: str, /, **params: Any) -> Text:
        """A label from the message catalogue (both languages)."""
        return cls(en=t(key, "en", **params), zh=t(key, "zh", **params))


class Option(_Model):
    """One answer option of a choice, allocation or AHP question."""

    code: Code = Field(description="the stored value (letters, digits, _)")
    label: Text
    other: bool = Field(False, description="choosing it asks for text (stored as <id>.other)")
    exclusive: bool = Field(False, description="multiple choice: excludes every other option")
    score: float | None = Field(None, description="a number for the option (e.g. compliance 1/0)")


class Anchors(_Model):
    """Labels of the two ends of a numeric scale."""

    low: Text
    high: Text


class TemplateInfo(_Model):
    """Where a template comes from and which analyses run on its answers."""

    name: str
    source: str | None = None
    analyses: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Questions
# --------------------------------------------------------------------------------------------


class _Question(_Model):
    id: Ident = Field(description="unique in the survey; the answer key and default column")
    text: Text
    help: Text | None = None
    required: bool = True
    show_if: str | None = Field(None, description="skip logic: shown when this expression holds")
    column: Ident | None = Field(None, description="the analysis column (or column prefix)")
    measures: Measure | None = None
    construct_name: str | None = Field(
        None, alias="construct", description="the index-model construct it measures"
    )
    factor: Ident | None = Field(None, description="the calculation-standard factor it measures")
    dimension: str | None = Field(None, description="the dimension it belongs to (SERVQUAL ...)")

    @property
    def condition(self) -> Expression | None:
        """The parsed ``show_if`` (``None`` when the question is always shown)."""
        return None if self.show_if is None else _compiled(self.show_if)

    @property
    def base_column(self) -> str:
        return self.column or self.id


class _Rating(_Question):
    allow_na: bool = Field(False, description="offer 'not applicable' (stored as \"na\")")
    reverse: bool = Field(False, description="reverse-keyed: the analysis frame reverses it")


class FiveLevel(_Rating):
    """The five-level satisfaction scale: 5 very satisfied … 1 very dissatisfied (SPEC §1)."""

    type: Literal["five_level"]


class Likert(_Rating):
    """A k-point rating (2-11 points, from 0 or 1), with per-point labels or end anchors."""

    type: Literal["likert"]
    points: int | None = Field(None, ge=2, le=11)
    start: Literal[0, 1] = 1
    labels: list[Text] | None = None
    anchors: Anchors | None = None
    scale: str | None = Field(None, description="reuse a built-in scale's labels (e.g. repurchase)")


class Nps(_Rating):
    """0-10 likelihood to recommend (Reichheld 2003)."""

    type: Literal["nps"]


class Ces(_Rating):
    """Customer effort: CES 2.0 (1-7 agreement, higher easier) or the original 1-5 effort."""

    type: Literal["ces"]
    variant: Literal["agree7", "effort5"] = "agree7"


class Stars(_Rating):
    """A star rating, 1 to ``points`` stars."""

    type: Literal["stars"]
    points: int = Field(5, ge=3, le=10)


class Emoji(_Rating):
    """Emoji faces, 3 or 5."""

    type: Literal["emoji"]
    faces: Literal[3, 5] = 5


class Importance(_Rating):
    """An importance rating of a factor, a question or a Kano feature."""

    type: Literal["importance"]
    points: int = Field(5, ge=2, le=11)
    labels: list[Text] | None = None
    anchors: Anchors | None = None
    of: Ident | None = Field(None, description="the question whose importance this rates")
    kano_feature: Ident | None = None


class Kano(_Question):
    """A Kano pair: the functional and the dysfunctional question, answered 1-5 each."""

    type: Literal["kano"]
    functional: Text
    dysfunctional: Text
    kano_feature: Ident | None = Field(None, description="the feature (default: the id)")

    @property
    def feature(self) -> str:
        return self.kano_feature or self.id


class Servqual(_Question):
    """A SERVQUAL pair: expectation and perception of one item (1-``points``)."""

    type: Literal["servqual"]
    expectation: Text
    perception: Text
    points: int = Field(7, ge=3, le=11)
    item: int | None = Field(None, ge=1, le=99, description="item number: columns sq_eNN/sq_pNN")
    reverse: bool = False


class ServqualZone(_Question):
    """The zone of tolerance: adequate, desired and perceived service (1-``points``)."""

    type: Literal["servqual_zone"]
    adequate: Text
    desired: Text
    perceived: Text
    points: int = Field(9, ge=3, le=11)
    item: int | None = Field(None, ge=1, le=99, description="columns sq_aNN/sq_dNN/sq_pNN")


class Allocation(_Question):
    """Spread ``total`` points (default 100) over the options; the answer must sum to it."""

    type: Literal["allocation"]
    options: list[Option] = Field(min_length=2)
    total: int = Field(100, ge=1, le=10000)


class Ahp(_Question):
    """AHP pairwise comparison of criteria on Saaty's 1-9 scale; CR checked on submit."""

    type: Literal["ahp"]
    criteria: list[Option] = Field(min_length=2, max_length=9)
    cr_threshold: float = Field(0.10, gt=0, lt=1)
    ri: RITableName = "saaty1980"

    def pairs(self) -> list[tuple[str, str]]:
        """The pairs asked, ``(a, b)`` with a before b in the criteria order."""
        codes = [c.code for c in self.criteria]
        return [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]


class Single(_Question):
    """One choice among options (an option with ``other: true`` asks for text)."""

    type: Literal["single"]
    options: list[Option] = Field(min_length=2)
    randomize_options: bool = False


class Multiple(_Question):
    """Any number of options (e.g. dissatisfaction reasons), with ``other`` text."""

    type: Literal["multiple"]
    options: list[Option] = Field(min_length=2)
    min_choices: int = Field(0, ge=0)
    max_choices: int | None = Field(None, ge=1)
    randomize_options: bool = False


class FreeText(_Question):
    """Free text (comments)."""

    type: Literal["text"]
    max_length: int = Field(2000, ge=1, le=20000)
    multiline: bool = True


Question = Annotated[
    FiveLevel
    | Likert
    | Nps
    | Ces
    | Stars
    | Emoji
    | Importance
    | Kano
    | Servqual
    | ServqualZone
    | Allocation
    | Ahp
    | Single
    | Multiple
    | FreeText,
    Field(discriminator="type"),
]

QUESTION_TYPES: tuple[str, ...] = (
    "five_level",
    "likert",
    "nps",
    "ces",
    "stars",
    "emoji",
    "importance",
    "kano",
    "servqual",
    "servqual_zone",
    "allocation",
    "ahp",
    "single",
    "multiple",
    "text",
)

RATING_TYPES = frozenset({"five_level", "likert", "nps", "ces", "stars", "emoji", "importance"})


class Page(_Model):
    """A page of questions; ``randomize`` shuffles their order per respondent."""

    id: Ident
    title: Text | None = None
    intro: Text | None = None
    show_if: str | None = None
    randomize: bool = False
    questions: list[Question] = Field(min_length=1)

    @property
    def condition(self) -> Expression | None:
        return None if self.show_if is None else _compiled(self.show_if)


class FollowUp(_Model):
    """The closed loop of a survey: which answers open a follow-up complaint (see
    :mod:`allegiance.complaints.closed_loop`); a field left out takes the project's setting."""

    enabled: bool | None = Field(None, description="open follow-up cases for this survey")
    nps_max: int | None = Field(
        None, ge=0, le=10, description="an NPS answer at or below this opens a case (6)"
    )
    five_level_max: int | None = Field(
        None, ge=1, le=5, description="a five-level answer at or below this opens a case (1)"
    )
    questions: list[Ident] | None = Field(
        None, description="only these questions (default: every NPS and five-level question)"
    )
    cause: str | None = Field(None, description="the cause code given to the case (default: none)")
    severity: str | None = Field(None, description="the severity code of the case")
    owner: str | None = Field(None, description="who works the case")


class SurveyDefinition(_Model):
    """A whole survey: code, bilingual title and texts, and its pages of questions."""

    format: Literal[1] = Field(1, description="the definition format version")
    code: Slug = Field(description="the survey's code; the default slug of its web address")
    title: Text
    description: Text | None = None
    intro: Text | None = None
    thank_you: Text | None = None
    template: TemplateInfo | None = None
    pages: list[Page] = Field(min_length=1)
    follow_up: FollowUp | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SurveyDefinition:
        issues = _semantic_issues(self)
        if issues:
            raise PydanticCustomError(
                "survey_semantic", "{n} problems", {"n": len(issues), "issues": issues}
            )
        return self

    def questions(self) -> list[Any]:
        """Every question, in page order."""
        return [q for page in self.pages for q in page.questions]

    def question(self, question_id: str, /) -> Any:
        """The question with ``question_id`` (``KeyError`` when there is none)."""
        for q in self.questions():
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def page_of(self, question_id: str, /) -> Page:
        for page in self.pages:
            if any(q.id == question_id for q in page.questions):
                return page
        raise KeyError(question_id)

    def to_data(self) -> dict[str, Any]:
        """The definition as plain JSON data (defaults left out), e.g. to store it."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        data["code"] = self.code
        data.setdefault("format", FORMAT_VERSION)
        for page, page_data in zip(self.pages, data["pages"], strict=True):
            for q, q_data in zip(page.questions, page_data["questions"], strict=True):
                q_data["type"] = q.type  # the discriminator is never left out
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(), allow_unicode=True, sort_keys=False, width=100)


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> Expression:
    return parse(text)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Checks across questions (ids, columns, skip logic, scales)
# --------------------------------------------------------------------------------------------


def _issue(loc: Sequence[Any], key: str, **params: Any) -> dict[str, Any]:
    return {"loc": tuple(loc), "key": key, "params": params}


PAIR_PARTS: dict[str, tuple[str, ...]] = {
    "kano": ("functional", "dysfunctional"),
    "servqual": ("expectation", "perception"),
    "servqual_zone": ("adequate", "desired", "perceived"),
}


def question_parts(q: Any, /) -> tuple[str, ...]:
    """The parts of a question's answer that ``show_if`` can read as ``q.part``."""
    if q.type in PAIR_PARTS:
        return PAIR_PARTS[q.type]
    if q.type == "allocation":
        return tuple(o.code for o in q.options)
    if q.type in ("single", "multiple") and any(o.other for o in q.options):
        return ("other",)
    return ()


def analysis_columns(q: Any) -> list[str]:
    """The columns of the analysis frame one question fills (see docs/surveys.md)."""
    base = q.base_column
    kind = q.type
    if kind == "kano":
        stem = q.column or f"kano_{q.feature}"
        return [f"{stem}_func", f"{stem}_dysf"]
    if kind == "servqual":
        if q.column is None and q.item is not None:
            return [f"sq_e{q.item:02d}", f"sq_p{q.item:02d}"]
        return [f"{base}_e", f"{base}_p"]
    if kind == "servqual_zone":
        if q.column is None and q.item is not None:
            return [f"sq_a{q.item:02d}", f"sq_d{q.item:02d}", f"sq_p{q.item:02d}"]
        return [f"{base}_a", f"{base}_d", f"{base}_p"]
    if kind == "allocation":
        return [f"{base}_{o.code}" for o in q.options]
    if kind == "ahp":
        pairs = [f"{base}__{a}__{b}" for a, b in q.pairs()]
        weights = [f"{base}__w__{c.code}" for c in q.criteria]
        return [*pairs, *weights, f"{base}__cr"]
    if kind == "importance" and q.column is None and q.kano_feature is not None:
        return [f"kano_{q.kano_feature}_imp"]
    cols = [base]
    if kind in ("single", "multiple") and any(o.other for o in q.options):
        cols.append(f"{base}_other")
    if kind == "single" and any(o.score is not None for o in q.options):
        cols.append(f"{base}_score")
    return cols


def _scale_checks(q: Any, loc: tuple[Any, ...]) -> list[dict[str, Any]]:
    from allegiance.methods.scales import SCALES

    out: list[dict[str, Any]] = []
    if q.type == "likert":
        if q.scale is not None:
            scale = SCALES.get(q.scale)
            if scale is None:
                out.append(
                    _issue(
                        (*loc, "scale"),
                        "survey.def.unknown_scale",
                        value=q.scale,
                        available=", ".join(sorted(SCALES)),
                    )
                )
            elif q.points is not None and q.points != scale.points:
                out.append(
                    _issue(
                        (*loc, "points"),
                        "survey.def.points_scale",
                        points=q.points,
                        scale=q.scale,
                        expected=scale.points,
                    )
                )
            if q.labels is not None:
                out.append(_issue((*loc, "labels"), "survey.def.labels_and_scale"))
        elif q.points is None:
            out.append(_issue(loc, "survey.def.need_points"))
    if q.type in ("likert", "importance") and q.labels is not None:
        points = _points(q)
        if points is not None and len(q.labels) != points:
            out.append(
                _issue((*loc, "labels"), "survey.def.labels_count", n=len(q.labels), points=points)
            )
    return out


def _points(q: Any) -> int | None:
    from allegiance.methods.scales import SCALES

    if q.type == "likert":
        if q.scale is not None and q.scale in SCALES:
            return SCALES[q.scale].points
        return int(q.points) if q.points is not None else None
    return int(q.points)


def _option_checks(q: Any, loc: tuple[Any, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    field_name = "criteria" if q.type == "ahp" else "options"
    options = q.criteria if q.type == "ahp" else q.options
    seen: set[str] = set()
    for i, opt in enumerate(options):
        if opt.code in seen:
            out.append(
                _issue((*loc, field_name, i, "code"), "survey.def.duplicate_code", code=opt.code)
            )
        seen.add(opt.code)
        if opt.other and q.type not in ("single", "multiple"):
            out.append(_issue((*loc, field_name, i, "other"), "survey.def.other_not_here"))
        if opt.exclusive and q.type != "multiple":
            out.append(_issue((*loc, field_name, i, "exclusive"), "survey.def.exclusive_not_here"))
        if opt.score is not None and q.type != "single":
            out.append(_issue((*loc, field_name, i, "score"), "survey.def.score_not_here"))
    if sum(1 for o in options if o.other) > 1:
        out.append(_issue((*loc, field_name), "survey.def.many_other"))
    if q.type == "multiple":
        n = len(options)
        high = q.max_choices if q.max_choices is not None else n
        if high > n:
            out.append(_issue((*loc, "max_choices"), "survey.def.max_choices", value=high, n=n))
        if q.min_choices > high:
            out.append(
                _issue(
                    (*loc, "min_choices"), "survey.def.min_choices", low=q.min_choices, high=high
                )
            )
    if q.type == "ahp":
        from allegiance.methods.ahp import RI_TABLES

        if not RI_TABLES[q.ri].covers(len(options)):  # pragma: no cover - every table covers 9
            out.append(_issue((*loc, "ri"), "survey.def.ri_size", table=q.ri, n=len(options)))
    return out


def _condition_checks(
    text: str,
    loc: tuple[Any, ...],
    *,
    earlier: Mapping[str, Any],
    same_page: set[str],
    known: set[str],
) -> list[dict[str, Any]]:
    try:
        expr = _compiled(text)
    except ExpressionError as exc:
        return [_issue(loc, "survey.def.show_if_syntax", detail_key=exc.key, **exc.params)]
    out: list[dict[str, Any]] = []
    for ref in expr.references():
        if ref.question not in known:
            close = difflib.get_close_matches(ref.question, sorted(known), n=1)
            params: dict[str, Any] = {"question": ref.question, "column": ref.position + 1}
            if close:
                out.append(_issue(loc, "survey.def.show_if_unknown_hint", hint=close[0], **params))
            else:
                out.append(_issue(loc, "survey.def.show_if_unknown", **params))
            continue
        if ref.question not in earlier:
            out.append(
                _issue(
                    loc, "survey.def.show_if_later", question=ref.question, column=ref.position + 1
                )
            )
            continue
        if ref.question in same_page:
            out.append(
                _issue(
                    loc,
                    "survey.def.show_if_random",
                    question=ref.question,
                    column=ref.position + 1,
                )
            )
            continue
        target = earlier[ref.question]
        if ref.part is not None and ref.part not in question_parts(target):
            out.append(
                _issue(
                    loc,
                    "survey.def.show_if_part",
                    question=ref.question,
                    part=ref.part,
                    parts=", ".join(question_parts(target)) or "-",
                    column=ref.position + 1,
                )
            )
    return out


def _semantic_issues(d: SurveyDefinition) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    known = {q.id for q in d.questions()}
    page_ids: set[str] = set()
    question_ids: dict[str, tuple[Any, ...]] = {}
    columns: dict[str, tuple[Any, ...]] = {}
    features: dict[str, tuple[Any, ...]] = {}
    earlier: dict[str, Any] = {}
    for p, page in enumerate(d.pages):
        ploc: tuple[Any, ...] = ("pages", p)
        if page.id in page_ids:
            issues.append(_issue((*ploc, "id"), "survey.def.duplicate_page", id=page.id))
        page_ids.add(page.id)
        if page.show_if is not None:
            issues += _condition_checks(
                page.show_if, (*ploc, "show_if"), earlier=earlier, same_page=set(), known=known
            )
        on_page: dict[str, Any] = {}
        for i, q in enumerate(page.questions):
            loc = (*ploc, "questions", i)
            if q.id in question_ids:
                issues.append(_issue((*loc, "id"), "survey.def.duplicate_question", id=q.id))
            question_ids.setdefault(q.id, loc)
            if q.show_if is not None:
                visible_before = {**earlier, **on_page}
                issues += _condition_checks(
                    q.show_if,
                    (*loc, "show_if"),
                    earlier=visible_before,
                    same_page=set(on_page) if page.randomize else set(),
                    known=known,
                )
            for col in analysis_columns(q):
                if col in RESERVED_COLUMNS:
                    issues.append(_issue(loc, "survey.def.reserved_column", column=col))
                elif col in columns and columns[col] != loc:
                    issues.append(
                        _issue(
                            loc,
                            "survey.def.duplicate_column",
                            column=col,
                            other=_path(columns[col]),
                        )
                    )
                columns.setdefault(col, loc)
            if q.type in RATING_TYPES:
                issues += _scale_checks(q, loc)
            if q.type in ("single", "multiple", "allocation", "ahp"):
                issues += _option_checks(q, loc)
            if q.type == "kano":
                if q.feature in features:
                    issues.append(_issue(loc, "survey.def.duplicate_feature", feature=q.feature))
                features.setdefault(q.feature, loc)
            if q.type == "importance" and q.of is not None and q.of not in known:
                issues.append(_issue((*loc, "of"), "survey.def.unknown_of", question=q.of))
            on_page[q.id] = q
        earlier.update(on_page)
    return issues


# --------------------------------------------------------------------------------------------
# Errors that name the file, the line and the path
# --------------------------------------------------------------------------------------------


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "-"


@dataclass(frozen=True)
class DefinitionIssue:
    """One problem in a definition: where (file, line, path) and what (catalogue key)."""

    file: str
    line: int | None
    path: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    question: str | None = None

    def render(self, lang: str | None = None) -> str:
        where_key = "survey.def.where" if self.line is not None else "survey.def.where_noline"
        path = self.path if self.question is None else f"{self.path} ({self.question})"
        where = t(where_key, lang, file=self.file, line=self.line, path=path)
        params = dict(self.params)
        if "detail_key" in params:
            params["detail"] = t(str(params.pop("detail_key")), lang, **params)
        return f"{where}: {t(self.key, lang, **params)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "question": self.question,
            "code": self.key,
            "en": self.render("en"),
            "zh": self.render("zh"),
        }


class DefinitionError(ConfigError):
    """A survey definition with problems; ``issues`` lists each one with its location."""

    default_key = "survey.def.invalid"

    def __init__(self, file: str, issues: Sequence[DefinitionIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("survey.def.invalid", file=file, n=len(self.issues))

    def render(self, lang: str | None = None) -> str:
        head = t(self.key, lang, **self.params)
        return "\n".join([head, *(f"  - {i.render(lang)}" for i in self.issues)])


_PYDANTIC_KEYS: dict[str, str] = {
    "missing": "survey.def.missing",
    "extra_forbidden": "survey.def.unknown_field",
    "union_tag_invalid": "survey.def.bad_type",
    "union_tag_not_found": "survey.def.no_type",
    "string_pattern_mismatch": "survey.def.bad_id",
    "literal_error": "survey.def.bad_choice",
    "int_parsing": "survey.def.not_integer",
    "int_type": "survey.def.not_integer",
    "int_from_float": "survey.def.not_integer",
    "float_parsing": "survey.def.not_number",
    "float_type": "survey.def.not_number",
    "bool_type": "survey.def.not_bool",
    "bool_parsing": "survey.def.not_bool",
    "string_type": "survey.def.not_text",
    "string_too_short": "survey.def.empty_text",
    "string_too_long": "survey.def.text_too_long",
    "greater_than_equal": "survey.def.too_small",
    "greater_than": "survey.def.too_small",
    "less_than_equal": "survey.def.too_large",
    "less_than": "survey.def.too_large",
    "too_short": "survey.def.too_few",
    "too_long": "survey.def.too_many",
    "model_type": "survey.def.not_mapping",
    "model_attributes_type": "survey.def.not_mapping",
    "dict_type": "survey.def.not_mapping",
    "list_type": "survey.def.not_list",
}


@functools.cache
def _field_names() -> list[str]:
    names: set[str] = set()
    models: list[type[BaseModel]] = [SurveyDefinition, Page, Option, Anchors, Text, TemplateInfo]
    models += [
        FiveLevel,
        Likert,
        Nps,
        Ces,
        Stars,
        Emoji,
        Importance,
        Kano,
        Servqual,
        ServqualZone,
        Allocation,
        Ahp,
        Single,
        Multiple,
        FreeText,
    ]
    for model in models:
        names.update(model.model_fields)
    return sorted(names)


def _walk(data: Any, loc: Sequence[Any]) -> tuple[list[Any], Any, bool]:
    """The clean path of a pydantic location (union tags dropped), the value there, and
    whether the value exists in the data."""
    clean: list[Any] = []
    obj = data
    exists = True
    for part in loc:
        if isinstance(obj, Mapping):
            after_item = len(clean) >= 2 and clean[-2] == "questions" and isinstance(clean[-1], int)
            if after_item and obj.get("type") == part:
                continue  # the discriminated union's tag (a question's type) in the location
            if part in obj:
                clean.append(part)
                obj = obj[part]
                continue
            if isinstance(part, str) and part.startswith(("function-", "model[")):
                continue
            clean.append(part)
            exists = False
            obj = None
            continue
        if isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
            clean.append(part)
            obj = obj[part]
            continue
        if obj is None and not exists:
            continue
        clean.append(part)
        exists = False
        obj = None
    return clean, obj, exists


def _line_of(root: yaml.Node | None, loc: Sequence[Any], *, key: bool = False) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (of the deepest node that exists)."""
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line = (k if key and part == loc[-1] else v).start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _question_id(data: Any, loc: Sequence[Any]) -> str | None:
    if len(loc) >= 4 and loc[0] == "pages" and loc[2] == "questions":
        try:
            q = data["pages"][loc[1]]["questions"][loc[3]]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(q, Mapping) and isinstance(q.get("id"), str):
            return str(q["id"])
    return None


def _convert(
    exc: PydanticValidationError, data: Any, *, file: str, root: yaml.Node | None
) -> list[DefinitionIssue]:
    issues: list[DefinitionIssue] = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        ctx = dict(err.get("ctx") or {})
        if kind == "survey_semantic":
            for item in ctx.get("issues", []):
                loc = list(item["loc"])
                issues.append(
                    DefinitionIssue(
                        file=file,
                        line=_line_of(root, loc),
                        path=_path(loc),
                        key=item["key"],
                        params=dict(item["params"]),
                        question=_question_id(data, loc),
                    )
                )
            continue
        clean, _value, exists = _walk(data, err["loc"])
        if kind == "union_tag_invalid":
            clean.append("type")
        params: dict[str, Any] = {}
        if kind.startswith("survey_"):
            key = "survey.def." + kind.removeprefix("survey_")
            params.update(ctx)
        else:
            key = _PYDANTIC_KEYS.get(kind, "survey.def.other")
            params["value"] = _short(err.get("input"))
            params["field"] = str(clean[-1]) if clean else "-"
            if kind == "extra_forbidden":
                close = difflib.get_close_matches(params["field"], _field_names(), n=1)
                if close:
                    key = "survey.def.unknown_field_hint"
                    params["hint"] = close[0]
            if kind == "union_tag_invalid":
                params["value"] = str(ctx.get("tag", params["value"]))
                params["expected"] = ", ".join(QUESTION_TYPES)
            if kind == "union_tag_not_found":
                params["expected"] = ", ".join(QUESTION_TYPES)
            if kind == "literal_error":
                params["expected"] = str(ctx.get("expected", "-"))
            if "ge" in ctx or "gt" in ctx or "le" in ctx or "lt" in ctx:
                params["limit"] = str(next(ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx))
            if "min_length" in ctx:
                params["min"] = ctx["min_length"]
            if "max_length" in ctx:
                params["max"] = ctx["max_length"]
            if key == "survey.def.other":
                params["detail"] = err.get("msg", kind)
        line_loc = clean if exists or kind == "extra_forbidden" else clean[:-1]
        issues.append(
            DefinitionIssue(
                file=file,
                line=_line_of(root, line_loc, key=kind == "extra_forbidden"),
                path=_path(clean),
                key=key,
                params=params,
                question=_question_id(data, clean),
            )
        )
    return issues


def _validate(data: Any, *, file: str, root: yaml.Node | None) -> SurveyDefinition:
    if not isinstance(data, Mapping):
        raise DefinitionError(
            file,
            [
                DefinitionIssue(
                    file=file,
                    line=_line_of(root, []),
                    path="-",
                    key="survey.def.not_mapping",
                    params={"field": "-", "value": _short(data)},
                )
            ],
        )
    try:
        return SurveyDefinition.model_validate(data)
    except PydanticValidationError as exc:
        raise DefinitionError(file, _convert(exc, data, file=file, root=root)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (YAML keeps the last)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _no_duplicates,
)


def _read_yaml(text: str, *, file: str) -> tuple[Any, yaml.Node | None]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DefinitionError(
            file,
            [
                DefinitionIssue(
                    file=file,
                    line=line,
                    path="-",
                    key="survey.def.yaml",
                    params={"detail": str(problem)},
                )
            ],
        ) from None
    return data, root


def parse_definition(
    data: Mapping[str, Any] | str, /, *, source: str = "<definition>"
) -> SurveyDefinition:
    """A validated definition from parsed data (a mapping) or from YAML/JSON text."""
    if isinstance(data, str):
        parsed, root = _read_yaml(data, file=source)
        return _validate(parsed, file=source, root=root)
    return _validate(data, file=source, root=None)


def load_definition(path: str | Path, /) -> SurveyDefinition:
    """Read and validate a definition file (YAML or JSON)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("survey.def.no_file", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("survey.def.unreadable", file=str(file), detail=str(exc)) from None
    return parse_definition(text, source=str(file))


def definition_issues(
    path_or_text: str | Path, /, *, source: str | None = None
) -> list[DefinitionIssue]:
    """Every problem of a definition file (or text), ``[]`` when it is valid."""
    try:
        if isinstance(path_or_text, Path):
            load_definition(path_or_text)
        else:
            parse_definition(path_or_text, source=source or "<definition>")
    except DefinitionError as exc:
        return list(exc.issues)
    return []


# --------------------------------------------------------------------------------------------
# Answer choices (what a form shows; what the validator accepts)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One answer a rating or choice question offers: the stored ``value`` and its label."""

    value: int | str
    label: Text


def _numbered(low: int, high: int, anchors: Anchors | None) -> list[Choice]:
    out = []
    for v in range(low, high + 1):
        text = Text(en=str(v), zh=str(v))
        if anchors is not None and v == low:
            text = Text(en=f"{v} {anchors.low.en}", zh=f"{v} {anchors.low.zh}")
        elif anchors is not None and v == high:
            text = Text(en=f"{v} {anchors.high.en}", zh=f"{v} {anchors.high.zh}")
        out.append(Choice(v, text))
    return out


def _from_scale(name: str) -> list[Choice]:
    from allegiance.methods.scales import SCALES

    scale = SCALES[name]
    return [
        Choice(code, Text(en=scale.label(code, "en"), zh=scale.label(code, "zh")))
        for code in scale.codes
    ]


KANO_ANSWERS: tuple[str, ...] = ("like", "must_be", "neutral", "live_with", "dislike")


def choices(q: Any, /, part: str | None = None) -> list[Choice]:
    """The answers a question offers, in display order (``part`` of a pair: its scale).

    Rating scales run from low to high except the five-level scale, shown best first as
    in SPEC section 1 (很满意 … 很不满意). Choice questions list their options.
    """
    kind = q.type
    if kind == "five_level":
        return list(reversed(_from_scale("five_level")))
    if kind == "nps":
        anchors = Anchors(
            low=Text.of("survey.anchor.nps_low"), high=Text.of("survey.anchor.nps_high")
        )
        return _numbered(0, 10, anchors)
    if kind == "ces":
        return _from_scale("ces" if q.variant == "agree7" else "ces5")
    if kind == "stars":
        if q.points == 5:
            return _from_scale("stars")
        return [Choice(v, Text.of("survey.stars", n=v)) for v in range(1, int(q.points) + 1)]
    if kind == "emoji":
        return _from_scale("emoji3" if q.faces == 3 else "emoji5")
    if kind in ("likert", "importance"):
        if kind == "likert" and q.scale is not None:
            return _from_scale(q.scale)
        points = _points(q) or 5
        start = q.start if kind == "likert" else 1
        if q.labels is not None:
            return [Choice(start + i, label) for i, label in enumerate(q.labels)]
        anchors = q.anchors
        if anchors is None and kind == "importance":
            anchors = Anchors(
                low=Text.of("survey.anchor.importance_low"),
                high=Text.of("survey.anchor.importance_high"),
            )
        return _numbered(start, start + points - 1, anchors)
    if kind == "kano":
        return [
            Choice(i + 1, Text.of(f"survey.kano.{name}")) for i, name in enumerate(KANO_ANSWERS)
        ]
    if kind in ("servqual", "servqual_zone"):
        anchors = Anchors(
            low=Text.of("survey.anchor.disagree" if kind == "servqual" else "survey.anchor.low"),
            high=Text.of("survey.anchor.agree" if kind == "servqual" else "survey.anchor.high"),
        )
        return _numbered(1, int(q.points), anchors)
    if kind in ("single", "multiple", "allocation"):
        return [Choice(o.code, o.label) for o in q.options]
    if kind == "ahp":
        return [Choice(o.code, o.label) for o in q.criteria]
    return []


# --------------------------------------------------------------------------------------------
# JSON Schema
# --------------------------------------------------------------------------------------------


def survey_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a survey definition."""
    schema = SurveyDefinition.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:allegiance:survey-definition:1",
        **schema,
    }


def shipped_schema() -> dict[str, Any]:
    """The JSON Schema file shipped beside this module (kept equal to :func:`survey_schema`)."""
    text = (resources.files("allegiance.survey") / SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_text() -> str:
    """:func:`survey_schema` as the JSON text that is shipped."""
    return json.dumps(survey_schema(), ensure_ascii=False, indent=2) + "\n"


def labels_of(d: SurveyDefinition, /) -> Iterator[tuple[str, Text]]:
    """Every label of a definition with its path (for checks that both languages exist)."""

    def walk(obj: Any, loc: tuple[Any, ...]) -> Iterator[tuple[str, Text]]:
        if isinstance(obj, Text):
            yield _path(loc), obj
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                yield from walk(getattr(obj, name), (*loc, name))
        elif isinstance(obj, list):
            for i, item in enumerate(obj):
                yield from walk(item, (*loc, i))

    yield from walk(d, ())
