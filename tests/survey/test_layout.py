"""What a respondent sees: seeded random order, fixed "other" options, skip logic."""

from __future__ import annotations

from tests.survey._defs import options, q, text

from allegiance.survey.definition import parse_definition
from allegiance.survey.layout import respondent_layout, seed_for, visible_questions

D = parse_definition(
    {
        "code": "layout",
        "title": text("Layout"),
        "pages": [
            {"id": "fixed", "questions": [q("a", "nps"), q("b", "nps")]},
            {
                "id": "shuffled",
                "randomize": True,
                "questions": [q(f"r{i}", "five_level") for i in range(6)],
            },
            {
                "id": "choices",
                "show_if": "a >= 5",
                "questions": [
                    q(
                        "why",
                        "multiple",
                        randomize_options=True,
                        options=options(
                            *"abcdef",
                            "none",
                            "other",
                            none={"exclusive": True},
                            other={"other": True},
                        ),
                    ),
                    q("more", "text", show_if="'a' in why"),
                ],
            },
        ],
    }
)


def test_the_order_is_stable_for_a_respondent_and_varies_between_respondents() -> None:
    first = respondent_layout(D, "token-1")
    assert respondent_layout(D, "token-1") == first
    assert first[0].questions == ("a", "b")
    assert sorted(first[1].questions) == [f"r{i}" for i in range(6)]
    orders = {respondent_layout(D, f"token-{i}")[1].questions for i in range(60)}
    assert len(orders) > 20  # 720 orders possible: shuffled, not fixed
    firsts = {respondent_layout(D, f"token-{i}")[1].questions[0] for i in range(60)}
    assert firsts == {f"r{i}" for i in range(6)}


def test_other_and_exclusive_options_stay_last() -> None:
    for i in range(30):
        order = respondent_layout(D, f"t{i}")[2].options["why"]
        assert order[-2:] == ("none", "other")
        assert sorted(order[:-2]) == list("abcdef")
    assert len({respondent_layout(D, f"t{i}")[2].options["why"] for i in range(30)}) > 5


def test_the_seed_depends_on_every_part() -> None:
    assert seed_for("a", "b") == seed_for("a", "b")
    assert len({seed_for("a", "b"), seed_for("ab"), seed_for("a", "c"), seed_for("b", "a")}) == 4


def test_visibility_cascades() -> None:
    pages, shown = visible_questions(D, {"a": 9, "why": ["a"]})
    assert pages == {"fixed", "shuffled", "choices"}
    assert "more" in shown
    pages, shown = visible_questions(D, {"a": 9, "why": ["b"]})
    assert "more" not in shown
    assert "why" in shown
    pages, shown = visible_questions(D, {"a": 2, "why": ["a"]})
    assert "choices" not in pages
    assert "why" not in shown
    assert "more" not in shown
