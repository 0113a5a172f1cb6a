"""The show_if language: parsing, evaluation, errors with their column, never eval."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.survey.expressions import MAX_DEPTH, ExpressionError, parse

ANSWERS: dict[str, Any] = {
    "nps": 4,
    "sat": 2,
    "reasons": ["price", "network"],
    "kano": {"functional": 1, "dysfunctional": 5},
    "why.other": "slow",
    "name": "王",
    "empty": "",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nps <= 6", True),
        ("nps < 4", False),
        ("nps >= 4 and sat == 2", True),
        ("nps > 9 or sat != 3", True),
        ("not nps > 9", True),
        ("not (nps > 9 or sat == 2)", False),
        ("nps in [1, 2, 3, 4]", True),
        ("nps not in [4]", False),
        ("'price' in reasons", True),
        ('"billing" in reasons', False),
        ("'billing' not in reasons", True),
        ("kano.functional == 1 and kano.dysfunctional == 5", True),
        ("why.other == 'slow'", True),
        ("name == '王'", True),
        ("answered(nps) and not answered(missing)", True),
        ("answered(empty)", False),
        ("count(reasons) >= 2", True),
        ("count(missing) == 0", True),
        ("nps == 4.0", True),
        ("sat < -1", False),
        ("true", True),
        ("false or null", False),
        # any comparison with an unanswered question is false, whatever the operator
        ("missing <= 6", False),
        ("missing != 6", False),
        ("missing == null", False),
        ("missing in [1]", False),
        ("1 in missing", False),
        # mismatched types never match and never raise
        ("nps == '4'", False),
        ("nps != '4'", True),
        ("name < 3", False),
        ("reasons > 1", False),
    ],
)
def test_evaluation(text: str, expected: bool) -> None:
    assert parse(text).evaluate(ANSWERS) is expected


@pytest.mark.parametrize(
    ("text", "key", "column"),
    [
        ("nps = 1", "survey.expr.single_equals", 5),
        ("nps ==", "survey.expr.end", 7),
        ("(nps == 1", "survey.expr.end", 10),
        ("nps == 1 sat", "survey.expr.unexpected", 10),
        ("'open", "survey.expr.unterminated", 1),
        ("nps == 1 & sat", "survey.expr.bad_char", 10),
        ("in == 1", "survey.expr.keyword", 1),
        ("__import__('os')", "survey.expr.unexpected", 11),
        ("nps.", "survey.expr.end", 5),
        ("", "survey.expr.empty", 1),
        ("   ", "survey.expr.empty", 1),
    ],
)
def test_syntax_errors_name_the_column(text: str, key: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.key == key
    assert info.value.params["column"] == column


def test_nesting_and_length_are_limited() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    assert info.value.key == "survey.expr.too_deep"
    with pytest.raises(ExpressionError) as info:
        parse("a == 1 or " * 200 + "a == 1")
    assert info.value.key == "survey.expr.too_long"
    assert parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH).evaluate({"a": True}) is True


def test_references_in_order() -> None:
    expr = parse("a.functional == 1 and (b > 2 or answered(c)) and 'x' in d")
    assert [(r.question, r.part) for r in expr.references()] == [
        ("a", "functional"),
        ("b", None),
        ("c", None),
        ("d", None),
    ]


def test_nothing_of_python_is_reachable() -> None:
    # attribute access and calls other than the two functions are not in the grammar
    for text in ("nps.__class__ == 1", "open(nps)", "nps.real", "[].__len__"):
        try:
            expr = parse(text)
        except ExpressionError:
            continue
        # a.b is a part lookup in the answer mapping, never getattr
        assert expr.evaluate({"nps": 3}) is False


_TOKENS = st.sampled_from(
    ["a", "b", "c.x", "1", "2.5", "-3", "'s'", "==", "!=", "<", "<=", ">", ">=", "and", "or",
     "not", "in", "(", ")", "[", "]", ",", "true", "null", "answered(a)", "count(c)", "=", "&"]
)  # fmt: skip
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 12)
    | st.floats(allow_nan=True)
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["x", "y"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@given(
    tokens=st.lists(_TOKENS, max_size=12),
    answers=st.dictionaries(st.sampled_from(["a", "b", "c"]), _VALUES),
)
def test_any_input_parses_or_fails_cleanly_and_evaluates_to_a_bool(
    tokens: list[str], answers: dict[str, Any]
) -> None:
    text = " ".join(tokens)
    try:
        expr = parse(text)
    except ExpressionError as exc:
        column = exc.params["column"]
    else:
        assert expr.evaluate(answers) in (True, False)
        return
    assert 1 <= column <= len(text) + 1


@given(st.text(max_size=40))
def test_random_text_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        parse(text)
