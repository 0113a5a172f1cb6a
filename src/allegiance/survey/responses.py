"""Checking one submitted response against its survey definition.

:func:`validate_response` is what a web form calls when a page or the whole survey is
submitted: it applies the skip logic, checks every shown question's answer (type, range,
required, choices, "other" text, allocation sums, AHP judgements on Saaty's scale and
their consistency) and returns a :class:`ResponseCheck` with the cleaned answers and a
list of :class:`AnswerIssue` per question, each readable in Chinese and English. It never
raises on bad answers: whatever arrives from a browser is reported, not trusted.

Answers are a mapping of question id to value:

==================  ====================================================================
type                answer
==================  ====================================================================
five_level …        an integer code of the scale (text digits such as ``"4"`` accepted);
                    ``"na"`` when ``allow_na`` is set
kano                ``{"functional": 1-5, "dysfunctional": 1-5}``
servqual            ``{"expectation": n, "perception": n}``
servqual_zone       ``{"adequate": n, "desired": n, "perceived": n}``
allocation          ``{option: points}``, summing to ``total`` (missing options are 0)
ahp                 ``{"a:b": judgement}`` for each pair of criteria (a before b; a
                    reversed key ``"b:a"`` is inverted); judgements on Saaty's scale
                    1/9 … 9 as numbers or text (``3``, ``"1/3"``)
single              an option code; the text of an ``other`` option under ``"<id>.other"``
multiple            a list of option codes (and ``"<id>.other"``)
text                text
==================  ====================================================================

Answers to questions that skip logic hides are dropped from the cleaned answers (a
respondent may have answered, then changed an earlier answer). With ``partial=True``
(saving a draft) missing answers, allocation sums and AHP consistency are not checked.

An AHP matrix that is not consistent (CR of ``cr_threshold``, default 0.10, or more;
methods/ahp.py's rule) gives the issue ``survey.answer.ahp_inconsistent``, a prompt to
revisit the judgements naming the one that disagrees most with the others and the value
that would agree. A respondent who has seen the prompt and keeps the judgements is
accepted by passing the question in ``accept_inconsistent``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from allegiance.errors import ValidationError
from allegiance.i18n import Message, current_lang, t
from allegiance.survey.definition import RATING_TYPES, SurveyDefinition, Text, choices

__all__ = [
    "AnswerIssue",
    "ResponseCheck",
    "ResponseError",
    "check_response",
    "validate_response",
]

MAX_OTHER_LENGTH = 500
_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_NA = frozenset({"na", "n/a", "not applicable", "不适用"})


@dataclass(frozen=True)
class AnswerIssue:
    """One problem with one question's answer; ``params`` may hold bilingual labels."""

    question: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def _params(self, lang: str) -> dict[str, Any]:
        return {k: (v.get(lang) if isinstance(v, Text) else v) for k, v in self.params.items()}

    def render(self, lang: str | None = None) -> str:
        chosen = lang or current_lang()
        return t(self.key, chosen, **self._params(chosen))

    @property
    def message(self) -> Message:
        return Message(self.key, self._params("en"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "code": self.key,
            "en": self.render("en"),
            "zh": self.render("zh"),
        }


@dataclass(frozen=True)
class ResponseCheck:
    """What :func:`validate_response` found: cleaned answers, issues, what was shown."""

    answers: dict[str, Any]
    issues: tuple[AnswerIssue, ...]
    visible: tuple[str, ...]
    consistency: dict[str, float]
    partial: bool = False

    @property
    def ok(self) -> bool:
        return not self.issues

    def by_question(self) -> dict[str, list[AnswerIssue]]:
        out: dict[str, list[AnswerIssue]] = {}
        for issue in self.issues:
            out.setdefault(issue.question, []).append(issue)
        return out

    def messages(self, lang: str | None = None) -> dict[str, list[str]]:
        """Each question's problems as sentences in ``lang`` (for a form)."""
        return {q: [i.render(lang) for i in items] for q, items in self.by_question().items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "partial": self.partial,
            "answers": self.answers,
            "visible": list(self.visible),
            "consistency": self.consistency,
            "issues": [i.to_dict() for i in self.issues],
        }


class ResponseError(ValidationError):
    """A submitted response with problems; ``check`` holds every issue per question."""

    default_key = "survey.answer.invalid"

    def __init__(self, check: ResponseCheck) -> None:
        self.check = check
        questions = list(dict.fromkeys(i.question for i in check.issues))
        super().__init__(
            "survey.answer.invalid", n=len(check.issues), questions=", ".join(questions)
        )

    def render(self, lang: str | None = None) -> str:
        head = t(self.key, lang, **self.params)
        lines = [f"  - {i.question}: {i.render(lang)}" for i in self.check.issues]
        return "\n".join([head, *lines])


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    return False


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = _norm(value)
        if _INT.match(text):
            return int(text)
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        text = _norm(value)
        if _NUM.match(text):
            number = float(text)
            return number if math.isfinite(number) else None
    return None


def _tidy(number: float) -> int | float:
    return int(number) if number.is_integer() else number


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_text(values: Sequence[Any]) -> str:
    ints = [v for v in values if isinstance(v, int)]
    if ints and len(ints) == len(values) and ints == list(range(ints[0], ints[0] + len(ints))):
        return f"{ints[0]}-{ints[-1]}"
    return ", ".join(str(v) for v in values)


# --------------------------------------------------------------------------------------------
# One question
# --------------------------------------------------------------------------------------------

_SKIP = object()


class _Checker:
    def __init__(
        self,
        definition: SurveyDefinition,
        answers: Mapping[str, Any],
        *,
        partial: bool,
        accept: Collection[str],
    ) -> None:
        self.definition = definition
        self.raw = answers
        self.partial = partial
        self.accept = set(accept)
        self.issues: list[AnswerIssue] = []
        self.consistency: dict[str, float] = {}

    def add(self, qid: str, key: str, /, **params: Any) -> None:
        self.issues.append(AnswerIssue(qid, key, params))

    # ---- scales ---------------------------------------------------------------------------
    def rating(self, q: Any, value: Any) -> Any:
        if q.allow_na and isinstance(value, str) and _norm(value).casefold() in _NA:
            return "na"
        allowed = [c.value for c in choices(q)]
        number = _as_int(value)
        if number is None or number not in allowed:
            self.add(
                q.id,
                "survey.answer.out_of_range",
                value=_show(value),
                allowed=_allowed_text(sorted(allowed)) + (", na" if q.allow_na else ""),
            )
            return _SKIP
        return number

    def parts(self, q: Any, value: Any, names: Sequence[str], high: int) -> Any:
        if not isinstance(value, Mapping):
            self.add(q.id, "survey.answer.not_parts", value=_show(value), parts=", ".join(names))
            return _SKIP
        unknown = [str(k) for k in value if k not in names]
        if unknown:
            self.add(q.id, "survey.answer.unknown_part", part=unknown[0], parts=", ".join(names))
        out: dict[str, int] = {}
        for name in names:
            part = value.get(name)
            if _empty(part):
                if not self.partial:
                    self.add(q.id, "survey.answer.part_missing", part=name)
                continue
            number = _as_int(part)
            if number is None or not 1 <= number <= high:
                self.add(
                    q.id,
                    "survey.answer.part_range",
                    part=name,
                    value=_show(part),
                    allowed=f"1-{high}",
                )
                continue
            out[name] = number
        if unknown or (not self.partial and len(out) != len(names)):
            return _SKIP
        return out if out else _SKIP

    # ---- allocation -------------------------------------------------------------------------
    def allocation(self, q: Any, value: Any) -> Any:
        codes = [o.code for o in q.options]
        if not isinstance(value, Mapping):
            self.add(q.id, "survey.answer.not_parts", value=_show(value), parts=", ".join(codes))
            return _SKIP
        bad = False
        out: dict[str, int | float] = {}
        for key, raw in value.items():
            if key not in codes:
                self.add(q.id, "survey.answer.unknown_part", part=str(key), parts=", ".join(codes))
                bad = True
                continue
            if _empty(raw):
                continue
            number = _as_number(raw)
            if number is None or number < 0:
                self.add(q.id, "survey.answer.allocation_value", part=str(key), value=_show(raw))
                bad = True
                continue
            out[str(key)] = _tidy(number)
        if bad:
            return _SKIP
        total = float(sum(out.values()))
        if not self.partial and abs(total - q.total) > 1e-6:
            self.add(q.id, "survey.answer.allocation_sum", sum=f"{total:g}", total=q.total)
            return _SKIP
        return {code: out.get(code, 0) for code in codes}

    # ---- AHP --------------------------------------------------------------------------------
    def ahp(self, q: Any, value: Any) -> Any:
        from allegiance.methods import ahp as ahp_method

        pairs = q.pairs()
        names = {o.code: o.label for o in q.criteria}
        if not isinstance(value, Mapping):
            self.add(q.id, "survey.answer.ahp_not_pairs", value=_show(value))
            return _SKIP
        given: dict[tuple[str, str], float] = {}
        bad = False
        for key, raw in value.items():
            a, sep, b = str(key).partition(":")
            if not sep or a not in names or b not in names or a == b:
                self.add(q.id, "survey.answer.ahp_bad_pair", pair=str(key))
                bad = True
                continue
            if _empty(raw):
                continue
            try:
                number = ahp_method.parse_judgement(raw)
            except ValidationError:
                number = math.nan
            if not (math.isfinite(number) and number > 0) or not _on_scale(number):
                self.add(
                    q.id,
                    "survey.answer.ahp_scale",
                    first=names[a],
                    second=names[b],
                    value=_show(raw),
                )
                bad = True
                continue
            pair = (a, b) if (a, b) in pairs else (b, a)
            judgement = number if pair == (a, b) else 1.0 / number
            if pair in given and not math.isclose(given[pair], judgement, rel_tol=1e-9):
                self.add(
                    q.id, "survey.answer.ahp_twice", first=names[pair[0]], second=names[pair[1]]
                )
                bad = True
                continue
            given[pair] = judgement
        if bad:
            return _SKIP
        missing = [p for p in pairs if p not in given]
        cleaned = {f"{a}:{b}": given[(a, b)] for a, b in pairs if (a, b) in given}
        if missing:
            if not self.partial and given:
                a, b = missing[0]
                self.add(
                    q.id,
                    "survey.answer.ahp_incomplete",
                    n=len(missing),
                    first=names[a],
                    second=names[b],
                )
                return _SKIP
            return cleaned if cleaned else _SKIP
        result = ahp_method.ahp(
            dict(given), labels=[o.code for o in q.criteria], ri=q.ri, threshold=q.cr_threshold
        )
        self.consistency[q.id] = float(result.cr)
        if not result.consistent and not self.partial and q.id not in self.accept:
            tips = ahp_method.suggest_repairs(
                dict(given), labels=[o.code for o in q.criteria], ri=q.ri, top=1
            ).table
            row = tips.iloc[0]
            self.add(
                q.id,
                "survey.answer.ahp_inconsistent",
                cr=f"{result.cr:.3f}",
                threshold=f"{q.cr_threshold:g}",
                first=names[str(row["row"])],
                second=names[str(row["column"])],
                suggested=_judgement_text(float(row["scale_value"])),
            )
            return _SKIP
        return cleaned

    # ---- choices ------------------------------------------------------------------------------
    def _code(self, q: Any, value: Any) -> str | None:
        codes = {o.code for o in q.options}
        if isinstance(value, str) and _norm(value) in codes:
            return _norm(value)
        if isinstance(value, int) and not isinstance(value, bool) and str(value) in codes:
            return str(value)
        return None

    def _other(self, q: Any, chosen: Sequence[str], out: dict[str, Any]) -> bool:
        other = next((o for o in q.options if o.other), None)
        if other is None or other.code not in chosen:
            return True
        text = self.raw.get(f"{q.id}.other")
        if _empty(text) or not isinstance(text, str):
            if not self.partial:
                self.add(q.id, "survey.answer.other_missing", option=other.label)
                return False
            return True
        cleaned = text.strip()
        if len(cleaned) > MAX_OTHER_LENGTH:
            self.add(q.id, "survey.answer.too_long", n=len(cleaned), max=MAX_OTHER_LENGTH)
            return False
        out[f"{q.id}.other"] = cleaned
        return True

    def single(self, q: Any, value: Any, out: dict[str, Any]) -> Any:
        code = self._code(q, value)
        if code is None:
            self.add(
                q.id,
                "survey.answer.bad_option",
                value=_show(value),
                allowed=", ".join(o.code for o in q.options),
            )
            return _SKIP
        if not self._other(q, [code], out):
            return _SKIP
        return code

    def multiple(self, q: Any, value: Any, out: dict[str, Any]) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            self.add(q.id, "survey.answer.not_list", value=_show(value))
            return _SKIP
        chosen: list[str] = []
        for item in value:
            code = self._code(q, item)
            if code is None:
                self.add(
                    q.id,
                    "survey.answer.bad_option",
                    value=_show(item),
                    allowed=", ".join(o.code for o in q.options),
                )
                return _SKIP
            if code in chosen:
                self.add(q.id, "survey.answer.duplicate_choice", value=code)
                return _SKIP
            chosen.append(code)
        exclusive = [o for o in q.options if o.exclusive and o.code in chosen]
        if exclusive and len(chosen) > 1:
            self.add(q.id, "survey.answer.exclusive", option=exclusive[0].label)
            return _SKIP
        high = q.max_choices if q.max_choices is not None else len(q.options)
        if len(chosen) > high:
            self.add(q.id, "survey.answer.too_many_choices", n=len(chosen), max=high)
            return _SKIP
        if not self.partial and len(chosen) < q.min_choices:
            self.add(q.id, "survey.answer.too_few_choices", n=len(chosen), min=q.min_choices)
            return _SKIP
        if not self._other(q, chosen, out):
            return _SKIP
        order = [o.code for o in q.options]
        return sorted(chosen, key=order.index)

    def text(self, q: Any, value: Any) -> Any:
        if not isinstance(value, str):
            self.add(q.id, "survey.answer.not_text", value=_show(value))
            return _SKIP
        cleaned = value.strip()
        if len(cleaned) > q.max_length:
            self.add(q.id, "survey.answer.too_long", n=len(cleaned), max=q.max_length)
            return _SKIP
        return cleaned

    # ---- the whole response -------------------------------------------------------------------
    def run(self) -> ResponseCheck:
        d = self.definition
        ids = {q.id: q for q in d.questions()}
        others = {f"{q.id}.other" for q in d.questions() if q.type in ("single", "multiple")}
        for key in self.raw:
            if key not in ids and key not in others:
                self.add(str(key), "survey.answer.unknown_question", question=str(key))
        out: dict[str, Any] = {}
        seen: dict[str, Any] = {}
        shown: list[str] = []
        for page in d.pages:
            if page.condition is not None and not page.condition.evaluate(seen):
                continue
            for q in page.questions:
                if q.condition is not None and not q.condition.evaluate(seen):
                    continue
                shown.append(q.id)
                value = self.raw.get(q.id)
                if _empty(value):
                    if q.required and not self.partial:
                        self.add(q.id, "survey.answer.required")
                    continue
                cleaned = self.one(q, value, out)
                if cleaned is _SKIP:
                    continue
                out[q.id] = cleaned
                seen[q.id] = cleaned
                if f"{q.id}.other" in out:
                    seen[f"{q.id}.other"] = out[f"{q.id}.other"]
        return ResponseCheck(
            answers=out,
            issues=tuple(self.issues),
            visible=tuple(shown),
            consistency=dict(self.consistency),
            partial=self.partial,
        )

    def one(self, q: Any, value: Any, out: dict[str, Any]) -> Any:
        kind = q.type
        if kind in RATING_TYPES:
            return self.rating(q, value)
        if kind == "kano":
            return self.parts(q, value, ("functional", "dysfunctional"), 5)
        if kind == "servqual":
            return self.parts(q, value, ("expectation", "perception"), int(q.points))
        if kind == "servqual_zone":
            return self.parts(q, value, ("adequate", "desired", "perceived"), int(q.points))
        if kind == "allocation":
            return self.allocation(q, value)
        if kind == "ahp":
            return self.ahp(q, value)
        if kind == "single":
            return self.single(q, value, out)
        if kind == "multiple":
            return self.multiple(q, value, out)
        return self.text(q, value)


def _on_scale(value: float) -> bool:
    from allegiance.methods.ahp import nearest_scale_value

    return math.isclose(nearest_scale_value(value), value, rel_tol=1e-6)


def _judgement_text(value: float) -> str:
    if value >= 1:
        return f"{value:g}"
    return f"1/{round(1 / value)}"


def validate_response(
    definition: SurveyDefinition,
    answers: Mapping[str, Any] | Any,
    /,
    *,
    partial: bool = False,
    accept_inconsistent: Collection[str] = (),
) -> ResponseCheck:
    """Check ``answers`` (question id → answer) against ``definition``; never raises for
    bad answers. See the module documentation for the answer of each question type."""
    if not isinstance(answers, Mapping):
        issue = AnswerIssue("-", "survey.answer.not_mapping", {"kind": type(answers).__name__})
        return ResponseCheck(
            answers={}, issues=(issue,), visible=(), consistency={}, partial=partial
        )
    checker = _Checker(definition, answers, partial=partial, accept=accept_inconsistent)
    return checker.run()


def check_response(
    definition: SurveyDefinition,
    answers: Mapping[str, Any],
    /,
    *,
    partial: bool = False,
    accept_inconsistent: Collection[str] = (),
) -> dict[str, Any]:
    """The cleaned answers, or :class:`ResponseError` with every issue."""
    check = validate_response(
        definition, answers, partial=partial, accept_inconsistent=accept_inconsistent
    )
    if not check.ok:
        raise ResponseError(check)
    return check.answers
