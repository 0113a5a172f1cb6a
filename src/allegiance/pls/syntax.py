"""A lavaan-like text syntax for PLS path models, parsed to :class:`~allegiance.pls.spec.PathModel`.

One statement per line (or separated by ``;``)::

    # ECSI, measurement model
    Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5   # reflective (mode A)
    Value        <~ PERV1 + PERV2                           # formative (mode B)
    Complaints   =~ CUSCO                                   # a single item
    # structural model
    Satisfaction ~ Image + Expectation + Quality + Value
    Complaints + Loyalty ~ Satisfaction                     # both regressed on Satisfaction

- ``X =~ a + b`` defines construct X measured reflectively by items a, b;
  ``X <~ a + b`` formatively (mode B). Each construct is defined once.
- ``Y ~ X1 + X2`` adds the paths X1 -> Y and X2 -> Y; several constructs on
  the left (``Y1 + Y2 ~ X``) each get every path.
- ``#`` starts a comment; a line ending in ``+`` or an operator continues on
  the next line. Names are letters, digits, ``_`` and ``.`` (any script, e.g.
  ``满意度``), or any text in double quotes, single quotes or backticks.
- Constructs keep the order of their definitions.

Errors are :class:`ModelSyntaxError` with the line and column (1-based)::

    >>> parse_model("Image =~ IMAG1 +\\nLoyalty =~ CUSL1")
    Traceback (most recent call last):
    ...
    allegiance.pls.syntax.ModelSyntaxError: Model syntax, line 2, column 9: expected '+' or the end of the line, found '=~'.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from allegiance.pls.spec import Construct, ModelError, PathModel, StructuralPath

__all__ = ["ModelSyntaxError", "format_model", "parse_model"]


class ModelSyntaxError(ModelError):
    """The model text is not valid; ``line`` and ``col`` (1-based) say where."""

    default_key = "pls.syntax.error"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        params.setdefault("line", "?")
        params.setdefault("col", "?")
        self.line = params["line"]
        self.col = params["col"]
        super().__init__(key, **params)


@dataclass(frozen=True)
class _Token:
    kind: str  # NAME, OP, NL, EOF
    text: str
    line: int
    col: int

    def show(self) -> str:
        if self.kind == "NL":
            return "the end of the line"
        if self.kind == "EOF":
            return "the end of the text"
        return repr(self.text)


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<comment>\#[^\n]*)
  | (?P<nl>\n|;)
  | (?P<op>=~|<~|~~|~|\+|\*|=|,|\(|\))
  | (?P<name>[^\W\d][\w.]*|\d[\w.]*)
  | (?P<quoted>"[^"\n]*"|'[^'\n]*'|`[^`\n]*`)
  | (?P<open_quote>["'`])
    """,
    re.VERBOSE,
)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    line, line_start, pos = 1, 0, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        col = pos - line_start + 1
        if m is None:
            raise ModelSyntaxError("pls.syntax.bad_char", line=line, col=col, found=repr(text[pos]))
        kind = m.lastgroup
        value = m.group()
        if kind == "nl":
            out.append(_Token("NL", value, line, col))
            if value == "\n":
                line += 1
                line_start = m.end()
        elif kind == "op":
            out.append(_Token("OP", value, line, col))
        elif kind == "name":
            out.append(_Token("NAME", value, line, col))
        elif kind == "quoted":
            inner = value[1:-1].strip()
            if not inner:
                raise ModelSyntaxError("pls.syntax.empty_name", line=line, col=col)
            out.append(_Token("NAME", inner, line, col))
        elif kind == "open_quote":
            raise ModelSyntaxError("pls.syntax.unterminated", line=line, col=col)
        pos = m.end()
    out.append(_Token("EOF", "", line, pos - line_start + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.constructs: list[Construct] = []
        self.defined: dict[str, _Token] = {}
        self.item_owner: dict[str, tuple[str, _Token]] = {}
        self.paths: list[tuple[StructuralPath, _Token]] = []
        self.path_seen: dict[tuple[str, str], _Token] = {}

    # --- token helpers --------------------------------------------------------------------------

    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def _advance(self) -> _Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def _skip_newlines(self) -> None:
        while self.tok.kind == "NL":
            self.i += 1

    def _fail(self, key: str, tok: _Token, **params: Any) -> ModelSyntaxError:
        return ModelSyntaxError(key, line=tok.line, col=tok.col, **params)

    def _name(self) -> _Token:
        tok = self.tok
        if tok.kind != "NAME":
            if tok.kind == "OP" and tok.text == "*":
                raise self._fail("pls.syntax.modifier", tok)
            raise self._fail("pls.syntax.expected_name", tok, found=tok.show())
        self.i += 1
        if self.tok.kind == "OP" and self.tok.text == "*":
            raise self._fail("pls.syntax.modifier", self.tok)
        if self.tok.kind == "OP" and self.tok.text == "(":
            raise self._fail("pls.syntax.function", self.tok, name=tok.text)
        return tok

    def _names(self) -> list[_Token]:
        names = [self._name()]
        while self.tok.kind == "OP" and self.tok.text == "+":
            self.i += 1
            self._skip_newlines()
            names.append(self._name())
        return names

    # --- statements -----------------------------------------------------------------------------

    def parse(self) -> PathModel:
        self._skip_newlines()
        if self.tok.kind == "EOF":
            raise self._fail("pls.syntax.empty", self.tok)
        while self.tok.kind != "EOF":
            self._statement()
            if self.tok.kind not in ("NL", "EOF"):
                raise self._fail("pls.syntax.expected_end", self.tok, found=self.tok.show())
            self._skip_newlines()
        return self._build()

    def _statement(self) -> None:
        lhs = self._names()
        op = self.tok
        if op.kind != "OP" or op.text not in ("=~", "<~", "~"):
            if op.kind == "OP" and op.text == "~~":
                raise self._fail("pls.syntax.covariance", op)
            if op.kind == "OP" and op.text == "=":
                raise self._fail("pls.syntax.single_equals", op)
            raise self._fail("pls.syntax.expected_operator", op, name=lhs[-1].text, found=op.show())
        self.i += 1
        if op.text == "~" and self.tok.kind == "OP" and self.tok.text == "=":
            raise self._fail("pls.syntax.expected_operator", op, name=lhs[-1].text, found="'~='")
        self._skip_newlines()
        rhs = self._names()
        if op.text in ("=~", "<~"):
            self._measurement(lhs, op, rhs)
        else:
            self._structural(lhs, rhs)

    def _measurement(self, lhs: list[_Token], op: _Token, rhs: list[_Token]) -> None:
        if len(lhs) != 1:
            raise self._fail(
                "pls.syntax.many_constructs",
                lhs[1],
                op=op.text,
                found=" + ".join(t.text for t in lhs),
            )
        name = lhs[0]
        if name.text in self.defined:
            first = self.defined[name.text]
            raise self._fail("pls.syntax.redefined", name, construct=name.text, first=first.line)
        seen: set[str] = set()
        for item in rhs:
            if item.text in seen:
                raise self._fail(
                    "pls.syntax.item_repeated", item, item=item.text, construct=name.text
                )
            seen.add(item.text)
            if item.text in self.item_owner:
                owner, where = self.item_owner[item.text]
                raise self._fail(
                    "pls.syntax.item_twice", item, item=item.text, construct=owner, first=where.line
                )
        for item in rhs:
            self.item_owner[item.text] = (name.text, item)
        self.defined[name.text] = name
        self.constructs.append(
            Construct(name.text, tuple(t.text for t in rhs), "A" if op.text == "=~" else "B")
        )

    def _structural(self, lhs: list[_Token], rhs: list[_Token]) -> None:
        for target in lhs:
            for source in rhs:
                if source.text == target.text:
                    raise self._fail("pls.syntax.self_path", source, construct=source.text)
                pair = (source.text, target.text)
                if pair in self.path_seen:
                    raise self._fail(
                        "pls.syntax.duplicate_path",
                        source,
                        path=f"{source.text} -> {target.text}",
                        first=self.path_seen[pair].line,
                    )
                self.path_seen[pair] = source
                self.paths.append((StructuralPath(source.text, target.text), source))

    # --- the model ------------------------------------------------------------------------------

    def _build(self) -> PathModel:
        for path, tok in self.paths:
            for end in (path.target, path.source):
                if end not in self.defined:
                    where = tok if end == path.source else self._target_token(path, tok)
                    raise self._fail("pls.syntax.undefined", where, construct=end)
        try:
            return PathModel(
                constructs=tuple(self.constructs), paths=tuple(p for p, _ in self.paths)
            )
        except ModelSyntaxError:
            raise
        except ModelError as exc:
            params = dict(exc.params)
            if exc.key == "pls.error.isolated":
                tok = self.defined[params["construct"]]
                raise self._fail(
                    "pls.syntax.isolated", tok, construct=params["construct"]
                ) from None
            if exc.key == "pls.error.cycle":
                names = [n.strip() for n in str(params["cycle"]).split("->")]
                pairs = set(itertools.pairwise(names))
                last = max(
                    (tok for p, tok in self.paths if (p.source, p.target) in pairs),
                    key=lambda t: (t.line, t.col),
                )
                raise self._fail("pls.syntax.cycle", last, cycle=params["cycle"]) from None
            raise

    def _target_token(self, path: StructuralPath, source_tok: _Token) -> _Token:
        # the target sits before the '~' on the same statement: search backwards for it
        j = self.toks.index(source_tok)
        while j > 0:
            j -= 1
            tok = self.toks[j]
            if tok.kind == "NL":
                break
            if tok.kind == "NAME" and tok.text == path.target:
                return tok
        return source_tok


def parse_model(text: str, /) -> PathModel:
    """Parse the text syntax to a :class:`PathModel` (raises :class:`ModelSyntaxError`).

    >>> m = parse_model("A =~ a1 + a2\\nB <~ b1 + b2  # formative\\nB ~ A")
    >>> [(c.name, c.mode, c.items) for c in m.constructs]
    [('A', 'A', ('a1', 'a2')), ('B', 'B', ('b1', 'b2'))]
    >>> [str(p) for p in m.paths]
    ['A -> B']
    """
    if not isinstance(text, str):
        raise ModelSyntaxError("pls.syntax.not_text", line=1, col=1, found=type(text).__name__)
    return _Parser(text).parse()


_PLAIN = re.compile(r"[^\W\d][\w.]*\Z")


def _quote(name: str) -> str:
    if _PLAIN.match(name):
        return name
    if '"' not in name:
        return f'"{name}"'
    if "'" not in name:
        return f"'{name}'"
    return f"`{name}`"


def format_model(model: PathModel, /) -> str:
    """The model as text syntax; :func:`parse_model` gives it back (``name_zh``/``scale`` aside).

    >>> print(format_model(parse_model("A =~ a1 + a2; B =~ b1; B ~ A")))
    A =~ a1 + a2
    B =~ b1
    <BLANKLINE>
    B ~ A
    """
    width = max(len(_quote(c.name)) for c in model.constructs)
    lines = []
    for c in model.constructs:
        op = "=~" if c.mode == "A" else "<~"
        lines.append(f"{_quote(c.name):<{width}} {op} " + " + ".join(_quote(i) for i in c.items))
    if model.paths:
        lines.append("")
        for target in model.endogenous:
            sources = model.predecessors(target)
            lines.append(f"{_quote(target)} ~ " + " + ".join(_quote(s) for s in sources))
    return "\n".join(lines)
