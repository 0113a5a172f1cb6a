"""Kano analysis: the published evaluation table, published worked examples, hand-checked
figures, answer parsing, and invariants (hypothesis).

Golden values live in tests/golden/kano/ with their sources (README.md there); every other
expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import csv
import doctest
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.methods import kano as kano_module
from allegiance.methods.kano import (
    CATEGORIES,
    EVALUATION_TABLE,
    answer_codes,
    classify,
    cs_coefficients,
    find_pairs,
    kano,
    kano_pairs,
)
from allegiance.results import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "kano"
# One answer pair that the evaluation table puts in each category.
CELL = {"A": (1, 3), "O": (1, 5), "M": (2, 5), "I": (3, 3), "R": (5, 1), "Q": (1, 1)}


def answers_from_counts(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Long-form answers reproducing given category counts per attribute."""
    rows = []
    for attribute, by_cat in counts.items():
        for cat, count in by_cat.items():
            f, d = CELL[cat]
            rows += [(attribute, f, d)] * int(count)
    return pd.DataFrame(rows, columns=["attribute", "functional", "dysfunctional"])


def row(result: kano_module.KanoResult, attribute: str) -> pd.Series:
    table = result.summary
    return table[table["attribute"] == attribute].iloc[0]


# --------------------------------------------------------------------------------------------
# Golden: the published evaluation table and worked examples
# --------------------------------------------------------------------------------------------


def test_evaluation_table_is_the_published_one() -> None:
    # Kano et al. (1984); Berger et al. (1993); Sauerwein et al. (1996) Fig. 6.
    with (GOLDEN / "evaluation_table.csv").open(encoding="utf-8") as fh:
        published = list(csv.reader(fh))
    header, body = published[0], published[1:]
    assert header[1:] == list(kano_module.ANSWERS)
    assert [tuple(r[1:]) for r in body] == list(EVALUATION_TABLE)
    # Every one of the 25 cells through the public classifier, by code and by label.
    f = [i for i in range(1, 6) for _ in range(5)]
    d = [j for _ in range(5) for j in range(1, 6)]
    expected = [body[i - 1][j] for i, j in zip(f, d, strict=True)]
    assert classify(f, d).tolist() == expected
    labels = ["like", "must-be", "neutral", "live-with", "dislike"]
    assert classify([labels[i - 1] for i in f], [labels[j - 1] for j in d]).tolist() == expected


def _worked_examples() -> list[dict[str, str]]:
    with (GOLDEN / "worked_examples.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("example", _worked_examples(), ids=lambda e: e["attribute"])
def test_published_better_worse(example: dict[str, str]) -> None:
    got = cs_coefficients(
        a=float(example["A"]), o=float(example["O"]), m=float(example["M"]), i=float(example["I"])
    )
    half_unit = 0.5 * 10 ** -int(example["digits"])
    assert abs(got.better - float(example["better"])) <= half_unit + 1e-12
    assert abs(got.worse - float(example["worse"])) <= half_unit + 1e-12


def test_brand_rese_counts_through_the_whole_analysis() -> None:
    # Brand & Rese (2026), Table 1: raw counts including R and Q; the printed CS+/CS- leave R
    # and Q out of the denominator (272/560 = 0.486 for the app-based bonus program).
    examples = [e for e in _worked_examples() if e["unit"] == "count"]
    counts = {e["attribute"]: {c: int(e[c]) for c in CATEGORIES} for e in examples}
    result = kano(answers_from_counts(counts))
    for e in examples:
        r = row(result, e["attribute"])
        assert r["better"] == pytest.approx(float(e["better"]), abs=5e-4)
        assert r["worse"] == pytest.approx(float(e["worse"]), abs=5e-4)
        total = sum(int(e[c]) for c in CATEGORIES)
        assert r["n"] == total
        for c in CATEGORIES:
            assert r[f"n_{c}"] == int(e[c])
            assert r[f"share_{c}"] == pytest.approx(int(e[c]) / total)
        # The most frequent category of each attribute is I (275, 276 and 258 answers).
        assert r["category"] == "I"
    # App-based bonus program: I 275 and A 216 of n = 607. Fong (1996):
    # 1.65 * sqrt((275 + 216)(1214 - 491) / 1214) = 1.65 * sqrt(292.42) = 28.2 <= |275 - 216| = 59
    app = row(result, "app_based_bonus_program")
    assert app["runner_up"] == "A"
    assert bool(app["fong_significant"])
    assert app["strength"] == pytest.approx((275 - 216) / 607)


def test_sauerwein_edge_grip_is_must_be() -> None:
    # Fig. 11 shares as counts of 100 answers: A 7, O 33, M 50, I 10 -> M (Fig. 10).
    result = kano(answers_from_counts({"edge grip": {"A": 7, "O": 33, "M": 50, "I": 10}}))
    r = row(result, "edge grip")
    assert r["category"] == "M"
    assert r["better"] == pytest.approx(0.40)  # (7 + 33) / 100
    assert r["worse"] == pytest.approx(-0.83)  # -(33 + 50) / 100
    assert r["total_strength"] == pytest.approx(0.90)  # A + O + M


# --------------------------------------------------------------------------------------------
# Hand-checked figures
# --------------------------------------------------------------------------------------------


def test_tie_rule_m_over_o_over_a_over_i() -> None:
    counts = {
        "mo": {"M": 3, "O": 3, "A": 1},
        "oa": {"O": 2, "A": 2, "I": 1},
        "ai": {"A": 2, "I": 2},
        "ir": {"I": 1, "R": 1},
        "rq": {"R": 2, "Q": 2},
        "all": dict.fromkeys(CATEGORIES, 1),
    }
    result = kano(answers_from_counts(counts))
    got = {a: (row(result, a)["category"], row(result, a)["runner_up"]) for a in counts}
    assert got == {
        "mo": ("M", "O"),
        "oa": ("O", "A"),
        "ai": ("A", "I"),
        "ir": ("I", "R"),
        "rq": ("R", "Q"),
        "all": ("M", "O"),
    }
    assert row(result, "mo")["strength"] == 0.0
    # Fong with a = b: |a - b| = 0 < 1.65 * sqrt(...) -> not significant.
    assert not bool(row(result, "mo")["fong_significant"])


def test_hand_checked_small_example() -> None:
    data = pd.DataFrame(
        {
            "attribute": ["wifi"] * 5 + ["bar"] * 3,
            "functional": ["like", "like", 2, "neutral", None, "dislike", "like", "like"],
            "dysfunctional": ["dislike", "neutral", 5, "neutral", 3, "like", "live-with", "like"],
            "importance": [9, 5, 7, 1, 3, 2, 8, None],
        }
    )
    result = kano(data, importance="importance")
    wifi = row(result, "wifi")
    # wifi: O (like/dislike), A (like/neutral), M (must-be/dislike), I (neutral/neutral),
    # one pair incomplete.
    assert (wifi["n"], wifi["n_missing"]) == (4, 1)
    assert [wifi[f"n_{c}"] for c in CATEGORIES] == [1, 1, 1, 1, 0, 0]
    assert wifi["better"] == pytest.approx(0.5)  # (1 + 1) / 4
    assert wifi["worse"] == pytest.approx(-0.5)  # -(1 + 1) / 4
    assert wifi["category"] == "M"  # four-way tie: M first
    # Importance over the 5 wifi rows that have one: 9, 5, 7, 1, 3 -> mean 5, sd sqrt(10)
    assert wifi["importance_n"] == 5
    assert wifi["importance_mean"] == pytest.approx(5.0)
    assert wifi["importance_sd"] == pytest.approx(math.sqrt(10.0))
    bar = row(result, "bar")
    # bar: R (dislike/like), A (like/live-with), Q (like/like)
    assert [bar[f"n_{c}"] for c in CATEGORIES] == [1, 0, 0, 0, 1, 1]
    assert bar["better"] == pytest.approx(1.0)  # (1 + 0) / 1
    assert bar["worse"] == pytest.approx(0.0)
    assert bool(bar["questionable"])  # Q share 1/3 > 0.10
    keys = [w.key for w in result.warnings]
    assert "kano.questionable" in keys

    cont = result.continuous.set_index("attribute")
    # wifi functional scores: like 4, like 4, must-be 2, neutral 0 -> mean 2.5,
    #   sd sqrt(((1.5^2)*2 + 0.5^2 + 2.5^2) / 3) = sqrt(11/3)
    # wifi dysfunctional scores: dislike 4, neutral 0, dislike 4, neutral 0 -> mean 2, sd sqrt(16/3)
    assert cont.loc["wifi", "functional_mean"] == pytest.approx(2.5)
    assert cont.loc["wifi", "functional_sd"] == pytest.approx(math.sqrt(11 / 3))
    assert cont.loc["wifi", "dysfunctional_mean"] == pytest.approx(2.0)
    assert cont.loc["wifi", "dysfunctional_sd"] == pytest.approx(math.sqrt(16 / 3))
    # importance-weighted (weights 9, 5, 7, 1): functional (36 + 20 + 14 + 0) / 22 = 70/22,
    # dysfunctional (36 + 0 + 28 + 0) / 22 = 64/22
    assert cont.loc["wifi", "functional_weighted"] == pytest.approx(70 / 22)
    assert cont.loc["wifi", "dysfunctional_weighted"] == pytest.approx(64 / 22)
    # bar: functional dislike -2, like 4, like 4 -> 2; dysfunctional like -2, live-with 2,
    # like -2 -> -2/3
    assert cont.loc["bar", "functional_mean"] == pytest.approx(2.0)
    assert cont.loc["bar", "dysfunctional_mean"] == pytest.approx(-2 / 3)
    answers = result.answers
    assert answers["category"].iloc[:4].tolist() == ["O", "A", "M", "I"]
    assert pd.isna(answers["category"].iloc[4])
    assert answers["functional"].tolist()[:5] == [1, 1, 2, 3, 0]


def test_answer_labels_and_wordings() -> None:
    values = [
        "like",
        "LIKE",
        "I like it that way",
        "喜欢",
        "must-be",
        "must be",
        "Must_be",
        "I expect it",
        "理所当然",
        "neutral",
        "I am neutral",
        "无所谓",
        "live-with",
        "I can live with it that way",
        "tolerate",
        "能忍受",
        "dislike",
        "I dislike it that way",
        "不喜欢",
        "１",
        " 5 ",
        "",
        None,
    ]
    assert answer_codes(values).tolist() == [
        1,
        1,
        1,
        1,
        2,
        2,
        2,
        2,
        2,
        3,
        3,
        3,
        4,
        4,
        4,
        4,
        5,
        5,
        5,
        1,
        5,
        0,
        0,
    ]
    assert answer_codes(pd.Series([1.0, 5.0, np.nan])).tolist() == [1, 5, 0]
    assert answer_codes(pd.Series(["3", "4"], dtype="category")).tolist() == [3, 4]


@pytest.mark.parametrize("bad", [0, 6, 2.5, "maybe", True])
def test_bad_answers_name_column_row_and_value(bad: object) -> None:
    values = pd.Series([1, 2, bad, 4], dtype=object)
    with pytest.raises(ValidationError) as info:
        answer_codes(values, column="q7")
    assert info.value.key == "kano.bad_answer"
    assert info.value.params["column"] == "q7"
    assert info.value.params["row"] == 3
    assert "q7" in str(info.value)
    assert "第 3 行" in info.value.render("zh")


def test_bad_input_errors() -> None:
    data = pd.DataFrame({"attribute": ["a"], "functional": [1], "dysfunctional": [5]})
    with pytest.raises(ColumnNotFoundError):
        kano(data, functional="func")
    with pytest.raises(ValidationError):
        kano(data, questionable_threshold=1.5)
    with pytest.raises(ValidationError):
        kano([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        kano(data.assign(imp=[-1]), importance="imp")
    with pytest.raises(ValidationError):
        kano_pairs(data)  # no kano_*_func / _dysf pairs
    with pytest.raises(ValidationError):
        classify([1, 2], [3])
    with pytest.raises(ValidationError):
        cs_coefficients(a=-1, o=0, m=0, i=0)
    assert math.isnan(cs_coefficients(a=0, o=0, m=0, i=0).better)
    with pytest.raises(ValidationError):
        kano(data).category("nothing")


def test_blank_attribute_rows_are_skipped_with_a_warning() -> None:
    data = pd.DataFrame(
        {
            "attribute": ["a", None, " ", "a"],
            "functional": [1, 1, 1, 2],
            "dysfunctional": [5, 5, 5, 5],
        }
    )
    result = kano(data)
    assert result.attributes == ("a",)
    assert row(result, "a")["n"] == 2
    assert [w.key for w in result.warnings] == ["kano.blank_attribute"]


def test_attribute_without_answers_gets_empty_figures_and_a_warning() -> None:
    data = pd.DataFrame(
        {
            "kano_x_func": [1, None],
            "kano_x_dysf": [None, 3],
            "kano_y_func": [1, 1],
            "kano_y_dysf": [5, 5],
        }
    )
    result = kano_pairs(data)
    x = row(result, "x")
    assert x["n"] == 0
    assert x["n_missing"] == 2
    assert math.isnan(x["better"])
    assert pd.isna(x["category"])
    assert result.categories == {"x": None, "y": "O"}
    assert [w.key for w in result.warnings] == ["kano.no_answers"]


def test_reverse_category_warns() -> None:
    result = kano(answers_from_counts({"ads": {"R": 5, "I": 2}}))
    assert result.category("ads") == "R"
    assert [w.key for w in result.warnings] == ["kano.reverse"]


def test_long_and_pairs_formats_agree() -> None:
    rng = np.random.default_rng(3)
    n = 40
    wide = pd.DataFrame({"rid": np.arange(n)})
    for attr in ("speed", "price"):
        wide[f"kano_{attr}_func"] = rng.integers(1, 6, n)
        wide[f"kano_{attr}_dysf"] = rng.integers(1, 6, n)
        wide[f"kano_{attr}_imp"] = rng.integers(1, 10, n)
    pairs = find_pairs(wide.columns)
    assert pairs == {
        "speed": ("kano_speed_func", "kano_speed_dysf"),
        "price": ("kano_price_func", "kano_price_dysf"),
    }
    result_wide = kano_pairs(wide, importance={a: f"kano_{a}_imp" for a in pairs}, respondent="rid")
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "rid": wide["rid"],
                    "attribute": attr,
                    "functional": wide[f"kano_{attr}_func"],
                    "dysfunctional": wide[f"kano_{attr}_dysf"],
                    "imp": wide[f"kano_{attr}_imp"],
                }
            )
            for attr in pairs
        ],
        ignore_index=True,
    )
    result_long = kano(long, importance="imp", respondent="rid")
    pd.testing.assert_frame_equal(result_wide.summary, result_long.summary)
    pd.testing.assert_frame_equal(result_wide.continuous, result_long.continuous)
    assert list(result_wide.answers.columns) == [
        "rid",
        "attribute",
        "functional",
        "dysfunctional",
        "category",
    ]
    assert len(result_wide.answers) == 2 * n


def test_result_contract() -> None:
    result = kano(answers_from_counts({"a": {"A": 3, "M": 1}}))
    assert isinstance(result, Result)
    assert set(result.tables()) == {"kano", "continuous"}
    payload = result.to_dict()
    json.dumps(payload)
    assert payload["tie_order"] == ["M", "O", "A", "I", "R", "Q"]
    assert payload["categories"] == {"a": "A"}


def test_docstring_examples_run() -> None:
    assert doctest.testmod(kano_module).failed == 0


# --------------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------------

answer = st.one_of(st.none(), st.integers(min_value=1, max_value=5))
rows = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), answer, answer), min_size=1, max_size=80
)


@given(rows)
def test_invariants(data_rows: list[tuple[str, int | None, int | None]]) -> None:
    data = pd.DataFrame(data_rows, columns=["attribute", "functional", "dysfunctional"])
    data["functional"] = data["functional"].astype("Float64")
    data["dysfunctional"] = data["dysfunctional"].astype("Float64")
    result = kano(data)
    summary = result.summary
    has = summary["n"] > 0
    shares = summary[[f"share_{c}" for c in CATEGORIES]].to_numpy()
    # Shares sum to 1 wherever there is an answer.
    assert np.allclose(shares[has.to_numpy()].sum(axis=1), 1.0)
    # Better in [0, 1], Worse in [-1, 0] (NaN only when A+O+M+I = 0).
    better, worse = summary["better"], summary["worse"]
    ok = better.notna()
    assert ((better[ok] >= 0) & (better[ok] <= 1)).all()
    assert ((worse[ok] >= -1) & (worse[ok] <= 0)).all()
    aomi = summary[["n_A", "n_O", "n_M", "n_I"]].sum(axis=1)
    assert (ok == (aomi > 0)).all()
    # The category has the largest count.
    for _, r in summary[has].iterrows():
        counts = [r[f"n_{c}"] for c in CATEGORIES]
        assert r[f"n_{r['category']}"] == max(counts)
    # Counts add up.
    assert (summary["n"] + summary["n_missing"]).sum() == len(data)
    # Shuffle invariance: the same figures per attribute whatever the row order.
    shuffled = data.sample(frac=1.0, random_state=np.random.RandomState(7))
    again = kano(shuffled).summary.set_index("attribute").sort_index()
    pd.testing.assert_frame_equal(summary.set_index("attribute").sort_index(), again)


@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=30),
    st.sampled_from(["en", "zh"]),
)
def test_labels_round_trip(codes: list[int], lang: str) -> None:
    from allegiance.i18n import t

    labels = [t(f"kano.answer.{kano_module.ANSWERS[c - 1]}", lang) for c in codes]
    assert answer_codes(labels).tolist() == codes
