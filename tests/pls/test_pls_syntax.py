"""The lavaan-like text syntax: same value as the dict form, errors with line and column."""

from __future__ import annotations

import pytest

from allegiance.pls import ModelError, ModelSyntaxError, PathModel, format_model, parse_model

TEXT = """
# ECSI, measurement model
Image   =~ IMAG1 + IMAG2 +
           IMAG3            # continues after '+'
Value   <~ PERV1 + PERV2    # formative
Complaints =~ CUSCO
"满意度" =~ CUSA1 + CUSA2; Loyalty =~ CUSL1 + CUSL2

# structural model
Value ~ Image
"满意度" ~ Image + Value
Complaints + Loyalty ~ "满意度"
Loyalty ~ Complaints
"""


def test_parses_to_the_same_value_as_the_dict_form() -> None:
    model = parse_model(TEXT)
    expected = PathModel.from_dict(
        {
            "constructs": [
                {"name": "Image", "items": ["IMAG1", "IMAG2", "IMAG3"]},
                {"name": "Value", "items": ["PERV1", "PERV2"], "mode": "B"},
                {"name": "Complaints", "items": ["CUSCO"]},
                {"name": "满意度", "items": ["CUSA1", "CUSA2"]},
                {"name": "Loyalty", "items": ["CUSL1", "CUSL2"]},
            ],
            "paths": [
                {"from": "Image", "to": "Value"},
                {"from": ["Image", "Value"], "to": "满意度"},
                {"from": "满意度", "to": ["Complaints", "Loyalty"]},
                {"from": "Complaints", "to": "Loyalty"},
            ],
        }
    )
    assert model == expected
    assert PathModel.from_syntax(TEXT) == model


def test_format_round_trips() -> None:
    model = parse_model(TEXT)
    text = format_model(model)
    assert '"满意度" ~' not in text  # CJK names are plain names, no quotes needed
    assert "Value      <~ PERV1 + PERV2" in text
    again = parse_model(text)
    assert again.constructs == model.constructs
    assert set(again.paths) == set(model.paths)
    odd = PathModel.build(
        constructs={"Brand image": ["q 1"], "B": ["b"]}, paths=[("Brand image", "B")]
    )
    assert parse_model(format_model(odd)) == odd


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        (
            "Image =~ IMAG1 +\nLoyalty =~ CUSL1",
            2,
            9,
            "expected '+' or the end of the line, found '=~'",
        ),
        ("Image =~ IMAG1\nLoyalty ~= Image", 2, 9, "expected '=~', '<~' or '~' after Loyalty"),
        ("Image =~ IMAG1 + + IMAG2", 1, 18, "expected a name, found '+'"),
        ("Image =~ IMAG1\nImage =~ IMAG2", 2, 1, "construct 'Image' is already defined on line 1"),
        ("A =~ a1\nB =~ a1\nB ~ A", 2, 6, "item 'a1' already measures construct 'A' (line 1)"),
        ("A =~ a1\nB =~ b1\nB ~ C", 3, 5, "construct 'C' has no measurement line"),
        ("A =~ a1\nB =~ b1\nC ~ A", 3, 1, "construct 'C' has no measurement line"),
        ("A =~ a1\nB =~ b1\nB ~ A\nA ~ B", 4, 5, "closes a cycle"),
        ("A =~ a1\nB =~ b1\nC =~ c1\nB ~ A", 3, 1, "construct 'C' has no path"),
        ("A =~ a1\nB =~ b1\nB ~ A\nB ~ A", 4, 5, "path A -> B is already given on line 3"),
        ("A =~ a1\nB =~ b1\nB ~~ A", 3, 3, "'~~' (a covariance)"),
        ("A =~ 0.5*a1", 1, 9, "'*' (fixed values or labels)"),
        ("A = a1", 1, 3, "'=' is not an operator"),
        ("A =~ a1 @ a2", 1, 9, "unexpected character '@'"),
        ('A =~ "a1', 1, 6, "quoted name is not closed"),
        ("A + B =~ a1", 1, 5, "'=~' defines one construct at a time"),
        ("# only a comment\n", 2, 1, "no statements"),
        ("A =~ a1 + a1\nB =~ b1\nB ~ A", 1, 11, "listed twice"),
        ("A =~ a1\nA ~ A", 2, 5, "cannot have a path to itself"),
        ("A =~ f(a1)", 1, 7, "f(...) is not supported"),
    ],
)
def test_errors_have_line_and_column(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(ModelSyntaxError) as info:
        parse_model(text)
    err = info.value
    assert (err.line, err.col) == (line, col), str(err)
    assert str(err).startswith(f"Model syntax, line {line}, column {col}: ")
    assert message in str(err)
    assert f"第 {line} 行第 {col} 列" in err.render("zh")
    assert isinstance(err, ModelError)
    assert isinstance(err, ValueError)


def test_comments_blank_lines_and_semicolons() -> None:
    model = parse_model("\n\n  A =~ a1 ; B =~ b1   # two on a line\n\n# c\nB ~\n  A\n")
    assert model.construct_names == ("A", "B")
    assert model.predecessors("B") == ("A",)
