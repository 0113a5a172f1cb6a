"""Skip logic: the small, safe expression language of ``show_if``.

A question (or a page) is shown when its ``show_if`` expression is true for the answers
given so far. The expression is parsed here by a hand-written tokenizer and
recursive-descent parser into a tree of frozen nodes, and evaluated by walking that tree:
nothing is ever passed to ``eval``, no attribute or function of Python is reachable, and
the input is limited in length and nesting.

Grammar (keywords are lower case)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := value [("==" | "!=" | "<" | "<=" | ">" | ">=") value | ["not"] "in" value]
    value    := NUMBER | STRING | "true" | "false" | "null" | list | call | ref | "(" expr ")"
    list     := "[" [value ("," value)*] "]"
    call     := ("answered" | "count") "(" ref ")"
    ref      := IDENT ["." IDENT]

- ``ref`` is the id of an earlier question; ``q.part`` reads one part of a paired answer
  (``functional``/``dysfunctional`` of a Kano pair, ``expectation``/``perception`` of a
  SERVQUAL pair, ``adequate``/``desired``/``perceived``, an allocation option) or
  ``q.other``, the text of an "other" choice.
- Strings are in single or double quotes (``'price'``, ``"价格"``); numbers are decimal.
- A comparison with an unanswered question (or one that was skipped) is **false**, whatever
  the operator: ``nps <= 6`` and ``nps != 10`` are both false while ``nps`` has no answer.
  Ask ``answered(q)`` or ``not answered(q)`` to test for an answer.
- ``x in [1, 2]`` tests membership in a list; ``'price' in reasons`` tests whether a
  multiple-choice answer includes the code ``price``. ``count(q)`` is the number of choices
  ticked in a multiple-choice answer (0 when unanswered).

>>> expr = parse("nps <= 6 and 'price' in reasons")
>>> expr.evaluate({"nps": 3, "reasons": ["price", "network"]})
True
>>> expr.evaluate({"nps": 9, "reasons": ["price"]}), expr.evaluate({})
(False, False)
>>> [r.question for r in expr.references()]
['nps', 'reasons']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Call",
    "Compare",
    "Expression",
    "ExpressionError",
    "ListLiteral",
    "Literal_",
    "Membership",
    "Not",
    "Or",
    "Ref",
    "parse",
]

MAX_LENGTH = 1000
"""The longest ``show_if`` text accepted (characters)."""
MAX_DEPTH = 40
"""The deepest nesting of parentheses, lists and ``not`` accepted."""

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_FUNCTIONS = frozenset({"answered", "count"})


class ExpressionError(ValueError):
    """A ``show_if`` text that cannot be parsed: a catalogue key, its parameters and the
    0-based character position of the problem."""

    def __init__(self, key: str, position: int, /, **params: Any) -> None:
        self.key = key
        self.position = position
        self.params = {**params, "column": position + 1}
        super().__init__(f"{key} at column {position + 1}: {params}")


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, ident, op, punct, end
    text: str
    value: Any
    pos: int


_NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("==", "!=", "<=", ">=", "<", ">")
_PUNCT = "()[],."


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            j = i + 1
            chars: list[str] = []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                chars.append(text[j])
                j += 1
            if j >= n:
                raise ExpressionError("survey.expr.unterminated", i)
            out.append(_Token("string", text[i : j + 1], "".join(chars), i))
            i = j + 1
            continue
        number = _NUMBER.match(text, i)
        if number and (ch != "-" or not out or out[-1].kind in ("op", "punct")):
            raw = number.group(0)
            value: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            out.append(_Token("number", raw, value, i))
            i = number.end()
            continue
        ident = _IDENT.match(text, i)
        if ident:
            out.append(_Token("ident", ident.group(0), ident.group(0), i))
            i = ident.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is not None:
            out.append(_Token("op", op, op, i))
            i += len(op)
            continue
        if ch in _PUNCT:
            out.append(_Token("punct", ch, ch, i))
            i += 1
            continue
        if ch == "=":
            raise ExpressionError("survey.expr.single_equals", i)
        raise ExpressionError("survey.expr.bad_char", i, char=ch)
    out.append(_Token("end", "", None, n))
    return out


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------

_MISSING: Any = None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(float(a) == float(b))
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    return bool(a == b)


class Expression:
    """A parsed ``show_if`` expression (a node of the tree)."""

    __slots__ = ()

    def value(self, answers: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, answers: Mapping[str, Any], /) -> bool:
        """Whether the expression holds for ``answers`` (question id → answer)."""
        return self.value(answers) is True

    def children(self) -> tuple[Expression, ...]:
        return ()

    def references(self) -> list[Ref]:
        """Every question reference, in the order written."""
        out: list[Ref] = []
        stack: list[Expression] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Ref):
                out.append(node)
            stack.extend(reversed(node.children()))
        return out


@dataclass(frozen=True, slots=True)
class Literal_(Expression):
    """A number, a string, ``true``/``false`` or ``null``."""

    literal: Any

    def value(self, answers: Mapping[str, Any]) -> Any:
        return self.literal


@dataclass(frozen=True, slots=True)
class ListLiteral(Expression):
    items: tuple[Expression, ...]

    def value(self, answers: Mapping[str, Any]) -> Any:
        return [item.value(answers) for item in self.items]

    def children(self) -> tuple[Expression, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Ref(Expression):
    """An earlier question's answer (``question``), or one ``part`` of it."""

    question: str
    part: str | None
    position: int

    def value(self, answers: Mapping[str, Any]) -> Any:
        if self.part == "other":
            return answers.get(f"{self.question}.other", _MISSING)
        answer = answers.get(self.question, _MISSING)
        if self.part is None:
            return answer
        if isinstance(answer, Mapping):
            return answer.get(self.part, _MISSING)
        return _MISSING


@dataclass(frozen=True, slots=True)
class Call(Expression):
    """``answered(q)`` or ``count(q)``."""

    function: str
    ref: Ref

    def value(self, answers: Mapping[str, Any]) -> Any:
        answer = self.ref.value(answers)
        if self.function == "answered":
            return not _empty(answer)
        if isinstance(answer, (list, tuple)):
            return len(answer)
        return 0 if _empty(answer) else 1

    def children(self) -> tuple[Expression, ...]:
        return (self.ref,)


def _empty(answer: Any) -> bool:
    if answer is None:
        return True
    if isinstance(answer, float) and math.isnan(answer):
        return True
    if isinstance(answer, str):
        return not answer.strip()
    if isinstance(answer, (list, tuple, dict)):
        return len(answer) == 0
    return False


@dataclass(frozen=True, slots=True)
class Compare(Expression):
    op: CompareOp
    left: Expression
    right: Expression

    def value(self, answers: Mapping[str, Any]) -> Any:
        a = self.left.value(answers)
        b = self.right.value(answers)
        if a is None or b is None:
            return False
        if self.op == "==":
            return _same(a, b)
        if self.op == "!=":
            return not _same(a, b)
        if _is_number(a) and _is_number(b):
            x, y = float(a), float(b)
        elif isinstance(a, str) and isinstance(b, str):
            x, y = a, b  # type: ignore[assignment]
        else:
            return False
        if self.op == "<":
            return x < y
        if self.op == "<=":
            return x <= y
        if self.op == ">":
            return x > y
        return x >= y

    def children(self) -> tuple[Expression, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Membership(Expression):
    """``x in y`` / ``x not in y``: y a list literal or a multiple-choice answer."""

    item: Expression
    container: Expression
    negate: bool

    def value(self, answers: Mapping[str, Any]) -> Any:
        x = self.item.value(answers)
        y = self.container.value(answers)
        if x is None or not isinstance(y, (list, tuple)):
            return False
        found = any(_same(x, v) for v in y)
        return not found if self.negate else found

    def children(self) -> tuple[Expression, ...]:
        return (self.item, self.container)


@dataclass(frozen=True, slots=True)
class Not(Expression):
    operand: Expression

    def value(self, answers: Mapping[str, Any]) -> Any:
        return self.operand.value(answers) is not True

    def children(self) -> tuple[Expression, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class And(Expression):
    operands: tuple[Expression, ...]

    def value(self, answers: Mapping[str, Any]) -> Any:
        return all(o.value(answers) is True for o in self.operands)

    def children(self) -> tuple[Expression, ...]:
        return self.operands


@dataclass(frozen=True, slots=True)
class Or(Expression):
    operands: tuple[Expression, ...]

    def value(self, answers: Mapping[str, Any]) -> Any:
        return any(o.value(answers) is True for o in self.operands)

    def children(self) -> tuple[Expression, ...]:
        return self.operands


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _is(self, kind: str, text: str | None = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (text is None or tok.text == text)

    def _expect(self, kind: str, text: str) -> _Token:
        if not self._is(kind, text):
            self._unexpected(expected=text)
        return self._advance()

    def _unexpected(self, *, expected: str) -> NoReturn:
        tok = self.tok
        if tok.kind == "end":
            raise ExpressionError("survey.expr.end", tok.pos, expected=expected)
        raise ExpressionError("survey.expr.unexpected", tok.pos, token=tok.text, expected=expected)

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("survey.expr.too_deep", self.tok.pos, max=MAX_DEPTH)

    def parse(self) -> Expression:
        expr = self._or()
        if not self._is("end"):
            self._unexpected(expected="and / or")
        return expr

    def _or(self) -> Expression:
        items = [self._and()]
        while self._is("ident", "or"):
            self._advance()
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self) -> Expression:
        items = [self._not()]
        while self._is("ident", "and"):
            self._advance()
            items.append(self._not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _not(self) -> Expression:
        if self._is("ident", "not"):
            self._advance()
            self._nest()
            inner = self._not()
            self.depth -= 1
            return Not(inner)
        return self._compare()

    def _compare(self) -> Expression:
        left = self._value()
        if self._is("op"):
            op: Any = self._advance().text
            return Compare(op, left, self._value())
        if self._is("ident", "in"):
            self._advance()
            return Membership(left, self._value(), negate=False)
        if self._is("ident", "not") and self.tokens[self.i + 1].text == "in":
            self.i += 2
            return Membership(left, self._value(), negate=True)
        return left

    def _value(self) -> Expression:
        tok = self.tok
        if tok.kind == "number":
            self._advance()
            return Literal_(tok.value)
        if tok.kind == "string":
            self._advance()
            return Literal_(tok.value)
        if tok.kind == "punct" and tok.text == "(":
            self._advance()
            self._nest()
            inner = self._or()
            self._expect("punct", ")")
            self.depth -= 1
            return inner
        if tok.kind == "punct" and tok.text == "[":
            self._advance()
            self._nest()
            items: list[Expression] = []
            if not self._is("punct", "]"):
                items.append(self._value())
                while self._is("punct", ","):
                    self._advance()
                    items.append(self._value())
            self._expect("punct", "]")
            self.depth -= 1
            return ListLiteral(tuple(items))
        if tok.kind == "ident":
            word = tok.text
            if word == "true":
                self._advance()
                return Literal_(True)
            if word == "false":
                self._advance()
                return Literal_(False)
            if word == "null":
                self._advance()
                return Literal_(None)
            if word in _FUNCTIONS and self.tokens[self.i + 1].text == "(":
                self.i += 2
                ref = self._ref()
                self._expect("punct", ")")
                return Call(word, ref)
            if word in _KEYWORDS:
                raise ExpressionError("survey.expr.keyword", tok.pos, token=word)
            return self._ref()
        self._unexpected(expected="a value")
        return None

    def _ref(self) -> Ref:
        tok = self.tok
        if tok.kind != "ident" or tok.text in _KEYWORDS:
            self._unexpected(expected="a question id")
        self._advance()
        part = None
        if self._is("punct", "."):
            self._advance()
            part_tok = self.tok
            if part_tok.kind != "ident":
                self._unexpected(expected="a part name")
            self._advance()
            part = part_tok.text
        return Ref(tok.text, part, tok.pos)


def parse(text: str, /) -> Expression:
    """Parse a ``show_if`` text; :class:`ExpressionError` names the problem and its column."""
    if not isinstance(text, str):
        raise ExpressionError("survey.expr.not_text", 0, kind=type(text).__name__)
    if len(text) > MAX_LENGTH:
        raise ExpressionError("survey.expr.too_long", MAX_LENGTH, max=MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("survey.expr.empty", 0)
    return _Parser(text).parse()
