"""Coded dissatisfaction reasons: counts and shares checked by hand, Wilson intervals against
Newcombe (1998), the per-reason chi-square against scipy, the demo's true shares recovered."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.methods.intervals import wilson_interval, z_value
from allegiance.methods.reasons import join_customers, parse_codes, reasons

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "comments"


def small() -> pd.DataFrame:
    """Seven rows, worked out by hand below.

    r0 price;billing   r1 price   r2 (missing)   r3 network   r4 price;network;price (price twice)
    r5 "" (empty)      r6 billing；network (full-width separator)
    Answered: r0 r1 r3 r4 r6 = 5.  price: r0 r1 r4 = 3.  network: r3 r4 r6 = 3.  billing: r0 r6 = 2.
    Mentions (each reason once per respondent): 3 + 3 + 2 = 8.
    """
    return pd.DataFrame(
        {
            "why": [
                "price;billing",
                "price",
                None,
                "network",
                "price;network;price",
                "",
                "billing；network",
            ],
            "seg": ["A", "A", "A", "B", "B", "B", "B"],
        }
    )


def test_counts_and_shares_by_hand() -> None:
    result = reasons(small(), column="why")
    t = result.table
    # Ties (network, price: 3 each) are broken by the code, so network comes first.
    assert t["reason"].tolist() == ["network", "price", "billing"]
    assert t["count"].tolist() == [3, 3, 2]
    assert t["rank"].tolist() == [1, 1, 3]
    assert t["share_of_respondents"].tolist() == pytest.approx([3 / 5, 3 / 5, 2 / 5])
    assert t["share_of_mentions"].tolist() == pytest.approx([3 / 8, 3 / 8, 2 / 8])
    assert t["cumulative_share"].tolist() == pytest.approx([3 / 8, 6 / 8, 1.0])
    assert t["vital_few"].tolist() == [True, True, True]  # 0, 3/8, 6/8 all below 80 %
    assert (result.n_rows, result.n_respondents, result.n_answered, result.n_mentions) == (
        7,
        5,
        5,
        8,
    )
    assert result.mean_reasons == pytest.approx(8 / 5)
    assert [w.key for w in result.warnings] == ["reasons.duplicate_codes"]
    assert result.warnings[0].params == {"n": 1}


def test_pareto_threshold_marks_the_vital_few() -> None:
    t = reasons(small(), column="why", threshold=0.5).table
    # Cumulative share before each bar: 0, 0.375, 0.75 -> the third starts past 50 %.
    assert t["vital_few"].tolist() == [True, True, False]


def test_base_all_counts_every_row() -> None:
    result = reasons(small(), column="why", base="all")
    assert result.n_respondents == 7
    assert result.table["share_of_respondents"].tolist() == pytest.approx([3 / 7, 3 / 7, 2 / 7])


def test_intervals_are_wilson_on_the_base() -> None:
    t = reasons(small(), column="why").table
    # Wilson (1927) for p = 3/5, n = 5, z = 1.959964 written out.
    z = 1.959963984540054
    p, n = 0.6, 5.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert t["ci_low"].iloc[0] == pytest.approx(centre - half)
    assert t["ci_high"].iloc[0] == pytest.approx(centre + half)


def test_wilson_matches_newcombe_1998() -> None:
    golden = pd.read_csv(GOLDEN / "wilson_newcombe1998.csv")
    ci = wilson_interval(
        golden["successes"] / golden["n"], golden["n"].astype(float), confidence=0.95
    )
    assert np.round(ci.low, 4).tolist() == golden["low"].tolist()
    assert np.round(ci.high, 4).tolist() == golden["high"].tolist()
    assert z_value(0.95) == pytest.approx(1.959963984540054)
    with pytest.raises(ValidationError):
        z_value(1.5)


def test_factors_count_each_respondent_once() -> None:
    mapping = {"price": "value", "billing": "value", "network": "quality"}
    f = reasons(small(), column="why", factors=mapping).factors
    assert f is not None
    # value: respondents naming price or billing = r0 r1 r4 r6 = 4 (mentions 3 + 2 = 5).
    assert f["factor"].tolist() == ["value", "quality"]
    assert f["count"].tolist() == [4, 3]
    assert f["mentions"].tolist() == [5, 3]
    assert f["share_of_respondents"].tolist() == pytest.approx([4 / 5, 3 / 5])
    assert f["share_of_mentions"].tolist() == pytest.approx([5 / 8, 3 / 8])
    assert f["reasons"].tolist() == ["billing;price", "network"]


def test_unmapped_reasons_are_named() -> None:
    result = reasons(small(), column="why", factors={"price": "value"})
    keys = {w.key: w.params for w in result.warnings}
    assert keys["reasons.unmapped"] == {"codes": "billing, network"}


def test_by_group_counts_and_chi_square_against_scipy() -> None:
    from scipy.stats import chi2_contingency

    result = reasons(small(), column="why", by="seg", n_perm=0)
    g = result.by_group
    assert g is not None
    # A answered: r0 r1 (n = 2); B answered: r3 r4 r6 (n = 3).
    a = g[g["seg"] == "A"].set_index("reason")
    b = g[g["seg"] == "B"].set_index("reason")
    assert a["n_respondents"].tolist() == [2, 2, 2]
    assert a.loc[["price", "billing", "network"], "count"].tolist() == [2, 1, 0]
    assert b.loc[["price", "billing", "network"], "count"].tolist() == [1, 1, 3]
    assert b.loc["network", "share_of_respondents"] == pytest.approx(1.0)
    assert b.loc["network", "share_of_mentions"] == pytest.approx(3 / 5)
    tests = result.tests
    assert tests is not None
    for reason, cited in {"price": (2, 1), "billing": (1, 1), "network": (0, 3)}.items():
        table = np.array([[cited[0], cited[1]], [2 - cited[0], 3 - cited[1]]])
        ref = chi2_contingency(table, correction=False)
        row = tests.set_index("reason").loc[reason]
        assert row["chi2"] == pytest.approx(ref.statistic)
        assert row["p_value"] == pytest.approx(ref.pvalue)
        assert row["df"] == 1
        assert row["cramers_v"] == pytest.approx(math.sqrt(ref.statistic / 5))
    assert "reasons.small_expected" in {w.key for w in result.warnings}


def test_many_groups_against_scipy_and_holm() -> None:
    from scipy.stats import chi2_contingency

    rng = np.random.default_rng(5)
    n = 600
    seg = rng.choice(["north", "south", "east"], size=n)
    p = {"north": 0.5, "south": 0.3, "east": 0.2}
    a = rng.random(n) < np.vectorize(p.get)(seg)
    b = rng.random(n) < 0.3
    c = rng.random(n) < 0.25
    codes = np.where(a, "a;", "") + np.where(b, "b;", "") + np.where(c, "c", "")
    frame = pd.DataFrame({"why": codes, "seg": seg})
    result = reasons(frame, column="why", by="seg", n_perm=199, seed=3)
    tests = result.tests
    assert tests is not None
    answered = frame["why"].str.strip(";") != ""
    p_values = []
    for code in ("a", "b", "c"):
        named = frame["why"].str.split(";").apply(lambda xs, c=code: c in xs)
        table = pd.crosstab(named[answered], frame.loc[answered, "seg"]).to_numpy()
        ref = chi2_contingency(table, correction=False)
        row = tests.set_index("reason").loc[code]
        assert row["chi2"] == pytest.approx(ref.statistic)
        assert row["p_value"] == pytest.approx(ref.pvalue)
        assert row["df"] == 2
        p_values.append(ref.pvalue)
    # Holm by hand: sort p, multiply by (m - i), running maximum, cap at 1.
    order = np.argsort(p_values)
    adjusted = np.minimum(np.maximum.accumulate(np.array(p_values)[order] * [3, 2, 1]), 1)
    expected = dict(zip(np.array(["a", "b", "c"])[order], adjusted, strict=True))
    for code, value in expected.items():
        assert tests.set_index("reason").loc[code, "p_holm"] == pytest.approx(value)
    mmi = result.independence
    assert mmi is not None
    assert mmi.statistic == pytest.approx(float(tests["chi2"].sum()))
    assert mmi.p_bonferroni == pytest.approx(min(1.0, 3 * min(p_values)))
    # Reason "a" truly differs by segment (0.5 / 0.3 / 0.2): the permutation test sees it.
    assert mmi.p_permutation < 0.01
    assert mmi.n_permutations == 199


def test_permutation_p_is_reproducible_and_calibrated_under_independence() -> None:
    rng = np.random.default_rng(11)
    n = 400
    frame = pd.DataFrame(
        {
            "why": np.where(rng.random(n) < 0.4, "x", "y")
            + np.where(rng.random(n) < 0.3, ";z", ""),
            "seg": rng.choice(["p", "q"], size=n),
        }
    )
    one = reasons(frame, column="why", by="seg", n_perm=499, seed=1).independence
    two = reasons(frame, column="why", by="seg", n_perm=499, seed=1).independence
    assert one is not None
    assert two is not None
    assert one.p_permutation == two.p_permutation
    assert 0.0 < one.p_permutation <= 1.0
    # No real difference: the p-value is not tiny.
    assert one.p_permutation > 0.01


def test_crosstab_is_reasons_by_groups() -> None:
    result = reasons(small(), column="why", by="seg", n_perm=0)
    wide = result.crosstab("count")
    assert list(wide.columns) == ["A", "B"]
    assert wide.loc["network"].tolist() == [0, 3]
    with pytest.raises(ValidationError):
        reasons(small(), column="why").crosstab()


def test_codes_fix_the_list_and_reject_strangers() -> None:
    result = reasons(small(), column="why", codes=["price", "billing", "network", "coverage"])
    assert result.table.set_index("reason").loc["coverage", "count"] == 0
    with pytest.raises(ValidationError) as err:
        reasons(small(), column="why", codes=["price", "billing"])
    assert err.value.key == "reasons.unknown_code"
    assert err.value.params["row"] == 4  # r3 "network", 1-based
    assert err.value.params["value"] == "network"


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ColumnNotFoundError):
        reasons(small(), column="reason")
    with pytest.raises(InputError):
        reasons(pd.DataFrame({"why": [None, " ", ""]}), column="why")
    with pytest.raises(ValidationError):
        reasons(small(), column="why", sep="")
    with pytest.raises(ValidationError):
        reasons(small(), column="why", base="everyone")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        reasons(small(), column="why", threshold=0)
    with pytest.raises(ValidationError):
        reasons(small(), column="why", confidence=95)


def test_parse_codes_keeps_rows_and_order() -> None:
    named = parse_codes(pd.Series(["b; a", None, "c"]), sep=";")
    assert named["row"].tolist() == [0, 0, 2]
    assert named["code"].tolist() == ["b", "a", "c"]


def test_join_customers_is_a_left_join_keeping_order() -> None:
    answers = pd.DataFrame({"customer_id": ["c3", "c1", "c9"], "why": ["a", "b", "a"]})
    people = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "segment": ["vip", "std", "std"]})
    joined = join_customers(answers, people, columns=["segment"])
    assert joined["segment"].tolist()[:2] == ["std", "vip"]
    assert pd.isna(joined["segment"].iloc[2])
    assert joined["why"].tolist() == ["a", "b", "a"]
    with pytest.raises(ValidationError):
        join_customers(answers, pd.concat([people, people]), columns=["segment"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=0, max_size=4),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_invariants(answers: list[list[str]], random: object) -> None:
    if not any(answers):
        return
    frame = pd.DataFrame({"why": [";".join(a) if a else None for a in answers]})
    result = reasons(frame, column="why")
    t = result.table
    assert t["share_of_mentions"].sum() == pytest.approx(1.0)
    assert t["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert (t["share_of_respondents"] <= 1.0 + 1e-12).all()
    assert (t["ci_low"] <= t["share_of_respondents"] + 1e-12).all()
    assert (t["share_of_respondents"] <= t["ci_high"] + 1e-12).all()
    # Respondents naming a reason never exceed those who answered; shares of respondents
    # sum to the mean number of reasons named.
    assert t["share_of_respondents"].sum() == pytest.approx(result.mean_reasons)
    shuffled = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    again = reasons(shuffled, column="why").table
    pd.testing.assert_frame_equal(t, again)


@pytest.fixture(scope="module")
def demo_survey() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object]]:
    from allegiance.generate import DemoConfig, generate

    data = generate(DemoConfig(customers=30_000, survey_size=6_000))
    return data.tables["survey_responses"], data.tables["customers"], data.truth["survey"]


def test_demo_true_shares_are_recovered(
    demo_survey: tuple[pd.DataFrame, pd.DataFrame, dict[str, object]],
) -> None:
    survey, customers, truth = demo_survey
    reasons_truth = truth["reasons"]
    assert isinstance(reasons_truth, dict)
    result = reasons(survey, column="reasons")
    table = result.table.set_index("reason")
    n = result.n_respondents
    assert n > 1500
    for code, share in reasons_truth["share_citing"].items():
        est = table.loc[code, "share_of_respondents"]
        se = math.sqrt(share * (1 - share) / n)
        assert abs(est - share) < 4 * se, (code, est, share)
    # Everybody asked (csat <= 3) named at least one reason; nobody else was asked.
    asked = survey["csat"] <= 3
    assert result.n_respondents == int(asked.sum())
    # Segments do not change the reasons in the generator: no strong evidence of a difference.
    joined = join_customers(survey, customers, columns=["segment"])
    by = reasons(joined, column="reasons", by="segment", n_perm=199)
    assert by.independence is not None
    assert by.independence.p_permutation > 0.001
