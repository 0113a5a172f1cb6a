"""Survey scales: hand-checked values, published examples, edge cases and invariants.

Every expected number is worked out by hand in the comment beside it, or taken
from the published source named there; none was printed by our own code.
"""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import has, t
from allegiance.methods import scales
from allegiance.methods.scales import (
    SCALES,
    ces,
    csat,
    emoji,
    five_level,
    likert,
    loyalty_index_three,
    loyalty_rate,
    mean_score,
    nps,
    satisfaction_rate,
    stars,
)
from allegiance.results import Result

Z95 = 1.959963984540054  # the 97.5% point of the standard normal (any z table: 1.960)
T975_3 = 3.182446305284263  # t quantile, 3 df, 97.5% (t tables: 3.182)
T975_4 = 2.776445105197793  # t quantile, 4 df, 97.5% (t tables: 2.776)

# The worked example used throughout: 10 answers, 5 promoters, 3 passives, 2 detractors.
ANSWERS = [10, 9, 9, 10, 9, 8, 7, 8, 3, 6]
REGION = ["north", "north", "north", "south", "south", "north", "north", "south", "south", "north"]
CHANNEL = ["web", "store", "web", "store", "web", "store", "web", "store", "web", "store"]
WEIGHT = [1, 2, 1, 1, 1, 1, 2, 1, 1, 1]


def frame(**cols: object) -> pd.DataFrame:
    return pd.DataFrame(cols)


def row(result_table: pd.DataFrame, **keys: object) -> pd.Series:
    mask = np.ones(len(result_table), dtype=bool)
    for k, v in keys.items():
        mask &= (result_table[k] == v).to_numpy()
    assert mask.sum() == 1
    return result_table[mask].iloc[0]


# ---------------------------------------------------------------------------------- registry


def test_registry_holds_the_documented_scales() -> None:
    # Reichheld (2003), "The One Number You Need to Grow", HBR 81(12): promoters 9-10,
    # passives 7-8, detractors 0-6 on the 0-10 likelihood-to-recommend question.
    assert SCALES["nps"].codes == tuple(range(11))
    assert SCALES["nps"].box("promoters") == (9, 10)
    assert SCALES["nps"].box("passives") == (7, 8)
    assert SCALES["nps"].box("detractors") == (0, 1, 2, 3, 4, 5, 6)
    # SPEC section 1: 很满意 / 满意 / 一般 / 不满意 / 很不满意.
    five = SCALES["five_level"]
    assert [five.label(c, "zh") for c in (5, 4, 3, 2, 1)] == [
        "很满意",
        "满意",
        "一般",
        "不满意",
        "很不满意",
    ]
    assert five.label(5, "en") == "very satisfied"
    assert SCALES["ces"].box("easy") == (6, 7)
    assert SCALES["ces5"].box("easy") == (1, 2)
    assert SCALES["nps"].label(5, "en") == "5"  # no label: the number itself
    with pytest.raises(KeyError):
        SCALES["nps"].box("nonsense")


def test_every_scale_label_and_title_is_in_the_catalogue() -> None:
    for scale in SCALES.values():
        assert has(f"scale.{scale.name}"), scale.name
        for key in scale.labels:
            assert key is None or has(key), key


def test_results_meet_the_result_protocol_and_serialise() -> None:
    data = frame(q=ANSWERS, r=REGION)
    results = [
        nps(data, score="q", by="r"),
        csat(frame(q=[5, 4, 3]), score="q"),
        ces(frame(q=[7, 6]), score="q"),
        likert(frame(q=[1, 2]), score="q", points=5),
        five_level(frame(q=[5, 4]), score="q"),
        satisfaction_rate(frame(q=[5, 4]), score="q"),
        loyalty_rate(frame(q=[True, False]), loyal="q"),
        loyalty_index_three(
            frame(a=[5], b=[3], c=[3]), satisfaction="a", repurchase="b", recommend="c"
        ),
    ]
    for result in results:
        assert isinstance(result, Result)
        json.dumps(result.to_dict(), allow_nan=False)
        assert all(isinstance(v, pd.DataFrame) for v in result.tables().values())


def test_docstring_examples_run() -> None:
    outcome = doctest.testmod(scales, optionflags=doctest.ELLIPSIS)
    assert outcome.attempted >= 8
    assert outcome.failed == 0


# --------------------------------------------------------------------------------------- NPS


def test_nps_hand_checked() -> None:
    # 5 promoters, 3 passives, 2 detractors of 10: NPS = 100·(0.5 − 0.2) = 30.
    # se = 100·sqrt((0.5 + 0.2 − 0.3²)/10) = 100·sqrt(0.061) = 24.698178...
    # 95% interval: 30 ± 1.959964·24.698178 = 30 ± 48.407540 → [-18.407540, 78.407540].
    result = nps(frame(q=ANSWERS), score="q")
    r = result.table.iloc[0]
    assert list(result.table.columns) == [
        "n",
        "n_missing",
        "n_eff",
        "promoters",
        "passives",
        "detractors",
        "pct_promoters",
        "pct_passives",
        "pct_detractors",
        "nps",
        "se",
        "ci_low",
        "ci_high",
    ]
    assert (r["n"], r["promoters"], r["passives"], r["detractors"]) == (10, 5, 3, 2)
    assert r["pct_promoters"] == pytest.approx(0.5)
    assert r["pct_passives"] == pytest.approx(0.3)
    assert r["pct_detractors"] == pytest.approx(0.2)
    assert r["nps"] == pytest.approx(30.0)
    assert result.nps == pytest.approx(30.0)
    assert r["se"] == pytest.approx(100 * math.sqrt(0.061), rel=1e-12)
    assert r["se"] == pytest.approx(24.698178, abs=1e-6)
    assert r["ci_low"] == pytest.approx(-18.407540, abs=1e-5)
    assert r["ci_high"] == pytest.approx(78.407540, abs=1e-5)
    assert list(result.tables()) == ["nps"]  # no `by`: the one table is the overall


def test_nps_published_definition_example() -> None:
    # Bain & Company / Reichheld (2003): NPS = % promoters − % detractors. The DELA annual
    # report 2018 glossary example: 30% promoters and 20% detractors give NPS +10.
    data = frame(q=[9, 10, 9, 7, 8, 7, 8, 7, 0, 6])  # 3 promoters, 5 passives, 2 detractors
    assert nps(data, score="q").nps == pytest.approx(10.0)


def test_nps_standard_error_matches_published_multinomial_variance() -> None:
    # Cross Validated, "How can I calculate margin of error in a NPS (Net Promoter Score)
    # result?" (whuber's answer, stats.stackexchange.com): with p(promoter) = 1/2, p(passive) = 1/3,
    # p(detractor) = 1/6, NPS = 1/3 and the variance of one +1/0/−1 ticket is 5/9.
    # Six answers in those proportions: se = 100·sqrt((5/9)/6) = 30.4290...
    data = frame(q=[10, 9, 9, 8, 7, 2])
    r = nps(data, score="q").table.iloc[0]
    assert r["nps"] == pytest.approx(100 / 3)
    assert r["se"] == pytest.approx(100 * math.sqrt(5 / 9 / 6), rel=1e-12)


def test_nps_weighted_uses_kish_effective_n() -> None:
    # Weights 1,2,1,1,1,1,2,1,1,1: Σw = 12, Σw² = 16, Kish n_eff = 12²/16 = 9.
    # Weighted promoters 1+2+1+1+1 = 6, passives 1+2+1 = 4, detractors 2 → shares 1/2, 1/3, 1/6.
    # NPS = 100·(1/2 − 1/6) = 33.33; se = 100·sqrt((2/3 − 1/9)/9) = 100·sqrt(5/81) = 24.8452.
    result = nps(frame(q=ANSWERS, w=WEIGHT), score="q", weight="w")
    r = result.table.iloc[0]
    assert r["n"] == 10  # unweighted count
    assert r["n_eff"] == pytest.approx(9.0)
    assert (r["promoters"], r["passives"], r["detractors"]) == pytest.approx((6.0, 4.0, 2.0))
    assert r["nps"] == pytest.approx(100 / 3)
    assert r["se"] == pytest.approx(100 * math.sqrt(5 / 81), rel=1e-12)
    assert r["ci_low"] == pytest.approx(100 / 3 - Z95 * 100 * math.sqrt(5 / 81), rel=1e-9)


def test_nps_by_one_column_and_overall_table() -> None:
    # north: 10, 9, 9, 8, 7, 6 → 3 P, 2 N, 1 D → NPS 100·(3−1)/6 = 33.33
    # south: 10, 9, 8, 3 → 2 P, 1 N, 1 D → NPS 100·(2−1)/4 = 25
    result = nps(frame(q=ANSWERS, region=REGION), score="q", by="region")
    assert list(result.table["region"]) == ["north", "south"]
    assert row(result.table, region="north")["nps"] == pytest.approx(100 / 3)
    assert row(result.table, region="south")["nps"] == pytest.approx(25.0)
    assert row(result.table, region="south")["n"] == 4
    assert set(result.tables()) == {"nps", "overall"}
    assert result.overall.iloc[0]["nps"] == pytest.approx(30.0)
    assert "region" not in result.overall.columns


def test_nps_by_several_columns() -> None:
    # north/store: 9, 8, 6 → 0; north/web: 10, 9, 7 → 66.67; south/store: 10, 8 → 50;
    # south/web: 9, 3 → 0.
    data = frame(q=ANSWERS, region=REGION, channel=CHANNEL)
    table = nps(data, score="q", by=["region", "channel"]).table
    assert list(table.columns[:2]) == ["region", "channel"]
    assert len(table) == 4
    assert row(table, region="north", channel="store")["nps"] == pytest.approx(0.0)
    assert row(table, region="north", channel="web")["nps"] == pytest.approx(200 / 3)
    assert row(table, region="south", channel="store")["nps"] == pytest.approx(50.0)
    assert row(table, region="south", channel="web")["nps"] == pytest.approx(0.0)


def test_nps_all_promoters_and_all_detractors() -> None:
    # All promoters: NPS 100, variance 1 + 0 − 1² = 0 → se 0, interval [100, 100].
    top = nps(frame(q=[9, 10, 10]), score="q").table.iloc[0]
    assert (top["nps"], top["se"], top["ci_low"], top["ci_high"]) == (100.0, 0.0, 100.0, 100.0)
    # All detractors: NPS −100, variance 0 + 1 − 1 = 0.
    bottom = nps(frame(q=[0, 6, 3]), score="q").table.iloc[0]
    assert (bottom["nps"], bottom["se"], bottom["ci_low"], bottom["ci_high"]) == (
        -100.0,
        0.0,
        -100.0,
        -100.0,
    )


def test_nps_interval_is_clipped_to_the_scale() -> None:
    # 3 promoters, 1 detractor: NPS 50, se = 100·sqrt((0.75+0.25−0.25)/4) = 43.30;
    # 50 + 1.96·43.30 > 100, so the upper end is clipped to 100.
    r = nps(frame(q=[10, 10, 9, 0]), score="q").table.iloc[0]
    assert r["se"] == pytest.approx(100 * math.sqrt(0.75 / 4))
    assert r["ci_high"] == 100.0
    assert r["ci_low"] == pytest.approx(50 - Z95 * 100 * math.sqrt(0.75 / 4))


def test_nps_missing_answers_are_skipped_and_counted() -> None:
    # 9 and 7 answered (1 promoter, 1 passive) → NPS 50; two missing.
    r = nps(frame(q=[9, None, 7, np.nan]), score="q").table.iloc[0]
    assert (r["n"], r["n_missing"]) == (2, 2)
    assert r["nps"] == pytest.approx(50.0)


def test_nps_empty_group_gives_nan_and_a_warning() -> None:
    data = frame(q=[9.0, None, None], g=["a", "b", "b"])
    result = nps(data, score="q", by="g")
    b = row(result.table, g="b")
    assert (b["n"], b["n_missing"]) == (0, 2)
    assert math.isnan(b["nps"])
    assert math.isnan(b["se"])
    assert math.isnan(b["ci_low"])
    assert [w.key for w in result.warnings] == ["scales.empty_group"]
    assert "g=b" in result.warnings[0].render("en")
    assert "没有有效回答" in result.warnings[0].render("zh")


def test_nps_no_rows_at_all() -> None:
    result = nps(pd.DataFrame({"q": pd.Series([], dtype=float)}), score="q")
    r = result.overall.iloc[0]
    assert r["n"] == 0
    assert math.isnan(r["nps"])
    assert [w.key for w in result.warnings] == ["scales.no_answers"]


def test_nps_missing_group_key_is_its_own_group() -> None:
    table = nps(frame(q=[9, 0, 10], g=["a", None, "a"]), score="q", by="g").table
    assert len(table) == 2
    assert table["g"].isna().sum() == 1


@pytest.mark.parametrize("bad", [11, -1, 7.5, "abc"])
def test_nps_rejects_answers_off_the_scale(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        nps(frame(q_nps=[9, bad, 7]), score="q_nps")
    text = str(info.value)
    assert "q_nps" in text
    assert str(bad) in text
    assert "0" in text
    assert "10" in text
    assert "q_nps" in info.value.render("zh")
    assert "整数" in info.value.render("zh")


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_weights_are_rejected(bad: float) -> None:
    with pytest.raises(ValidationError, match="weights must be numbers of zero or more"):
        nps(frame(q=[9, 7], w=[1.0, bad]), score="q", weight="w")


def test_other_argument_errors() -> None:
    data = frame(q=[9, 7])
    with pytest.raises(ValidationError, match="confidence level"):
        nps(data, score="q", confidence=1.5)
    with pytest.raises(ColumnNotFoundError, match="Q"):
        nps(data, score="Q")
    with pytest.raises(ColumnNotFoundError):
        nps(data, score="q", by="nope")
    with pytest.raises(ValidationError):
        nps([9, 7], score="q")  # type: ignore[arg-type]


def test_confidence_level_changes_the_interval() -> None:
    # 90%: z = 1.644854; 30 ± 1.644854·24.698178.
    r = nps(frame(q=ANSWERS), score="q", confidence=0.90).table.iloc[0]
    assert r["ci_high"] == pytest.approx(30 + 1.6448536269514722 * 100 * math.sqrt(0.061))


# ------------------------------------------------------------------------------- Wilson, rates


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion:
        # comparison of seven methods", Statistics in Medicine 17:857-872, examples (a)-(d),
        # method 3: the Wilson score interval without continuity correction.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(hits: int, n: int, low: float, high: float) -> None:
    data = frame(q=[5] * hits + [1] * (n - hits))
    r = satisfaction_rate(data, score="q").table.iloc[0]
    assert r["rate"] == pytest.approx(hits / n)
    assert r["ci_low"] == pytest.approx(low, abs=5e-5)
    assert r["ci_high"] == pytest.approx(high, abs=5e-5)


def test_satisfaction_rate_codes_threshold_and_labels() -> None:
    # SPEC section 4: satisfied customers / all customers. 5, 4 satisfied of 5 answers → 0.4.
    data = frame(q=[5, 4, 3, 2, 1, None])
    r = satisfaction_rate(data, score="q").table.iloc[0]
    assert (r["n"], r["n_missing"], r["satisfied"]) == (5, 1, 2)
    assert r["rate"] == pytest.approx(0.4)
    assert satisfaction_rate(data, score="q", threshold=3).overall.iloc[0]["rate"] == pytest.approx(
        0.6
    )
    assert satisfaction_rate(data, score="q", satisfied=[5]).overall.iloc[0][
        "rate"
    ] == pytest.approx(0.2)
    text = frame(q=["很满意", "满意", "一般", "不满意"])
    assert satisfaction_rate(text, score="q", satisfied=["满意", "很满意"]).overall.iloc[0][
        "rate"
    ] == pytest.approx(0.5)
    with pytest.raises(ValidationError):
        satisfaction_rate(data, score="q", satisfied=[4, 5], threshold=4)
    with pytest.raises(ValidationError, match="not a number"):
        satisfaction_rate(frame(q=[5, "x"]), score="q")


def test_loyalty_rate_from_flags_and_from_a_threshold() -> None:
    # 是, 1, yes, True loyal; 否, 0 not; one missing → 4 of 6 = 0.6667.
    flags = frame(l=["是", "1", "yes", "True", "否", "0", None])
    r = loyalty_rate(flags, loyal="l").table.iloc[0]
    assert (r["n"], r["n_missing"], r["loyal"]) == (6, 1, 4)
    assert r["rate"] == pytest.approx(4 / 6)
    booleans = frame(l=[True, False, True, True])
    assert loyalty_rate(booleans, loyal="l").overall.iloc[0]["rate"] == pytest.approx(0.75)
    numbers = frame(s=[9, 8, 3, 10])
    # loyal when s ≥ 8: 3 of 4.
    assert loyalty_rate(numbers, score="s", threshold=8).overall.iloc[0]["rate"] == pytest.approx(
        0.75
    )
    with pytest.raises(ValidationError, match="yes/no"):
        loyalty_rate(frame(l=["maybe", "yes"]), loyal="l")
    with pytest.raises(ValidationError):
        loyalty_rate(numbers, score="s")  # no threshold
    with pytest.raises(ValidationError):
        loyalty_rate(numbers)


# ------------------------------------------------------------------------------ CSAT and CES


def test_csat_hand_checked() -> None:
    # 5, 4, 4, 3 (and one missing): top box 1/4, top-2 box 3/4, mean 4,
    # sd = sqrt((1 + 0 + 0 + 1)/3) = 0.816497, se = sd/2 = 0.408248,
    # t-interval 4 ± 3.182446·0.408248 = [2.700772, 5.299228] → upper end clipped to 5.
    r = csat(frame(q=[5, 4, 4, 3, None]), score="q").table.iloc[0]
    assert (r["n"], r["n_missing"]) == (4, 1)
    assert r["top_box"] == pytest.approx(0.25)
    assert r["top2_box"] == pytest.approx(0.75)
    assert r["mean"] == pytest.approx(4.0)
    assert r["sd"] == pytest.approx(math.sqrt(2 / 3))
    assert r["se"] == pytest.approx(math.sqrt(2 / 3) / 2)
    assert r["mean_ci_low"] == pytest.approx(4 - T975_3 * math.sqrt(2 / 3) / 2)
    assert r["mean_ci_high"] == 5.0
    # Wilson interval of 3/4 (z = 1.96): centre (0.75 + 0.4802)/1.9604 = 0.62754,
    # half-width 1.96/1.9604·sqrt(0.046875 + 0.240100) = 0.32691 → [0.30064, 0.95444].
    assert r["top2_box_ci_low"] == pytest.approx(0.30064, abs=5e-5)
    assert r["top2_box_ci_high"] == pytest.approx(0.95444, abs=5e-5)


def test_csat_other_points_and_range_check() -> None:
    r = csat(frame(q=[7, 6, 6, 1]), score="q", points=7).table.iloc[0]
    assert r["top_box"] == pytest.approx(0.25)
    assert r["top2_box"] == pytest.approx(0.75)
    with pytest.raises(ValidationError):
        csat(frame(q=[6]), score="q")  # 6 is not on a 1-5 scale
    with pytest.raises(ValidationError, match="scale points"):
        csat(frame(q=[1]), score="q", points=2)


def test_ces_2_0_on_seven_points() -> None:
    # CES 2.0 (1-7 agreement, higher is easier): 7, 6, 5, 2, 6 → easy (6-7) = 3/5,
    # mean 26/5 = 5.2, sd = sqrt((3.24 + 0.64 + 0.04 + 10.24 + 0.64)/4) = sqrt(3.7).
    result = ces(frame(q=[7, 6, 5, 2, 6]), score="q")
    r = result.table.iloc[0]
    assert result.higher_is_easier
    assert result.easy_codes == (6, 7)
    assert r["easy"] == pytest.approx(0.6)
    assert r["mean"] == pytest.approx(5.2)
    assert r["sd"] == pytest.approx(math.sqrt(3.7))
    assert r["mean_ci_low"] == pytest.approx(5.2 - T975_4 * math.sqrt(3.7 / 5))


def test_ces_original_on_five_points() -> None:
    # Dixon, Freeman & Toman (2010) CES, 1 very low .. 5 very high effort: easy = 1-2.
    # 1, 2, 3, 5 → easy 2/4, mean 11/4 = 2.75.
    result = ces(frame(q=[1, 2, 3, 5]), score="q", points=5)
    r = result.table.iloc[0]
    assert not result.higher_is_easier
    assert result.easy_codes == (1, 2)
    assert r["easy"] == pytest.approx(0.5)
    assert r["mean"] == pytest.approx(2.75)
    with pytest.raises(ValidationError):
        ces(frame(q=[1]), score="q", points=6)
    assert result.to_dict()["version"] == "1.0"


# -------------------------------------------------------------------------------- ratings


def test_likert_summary_and_distribution() -> None:
    # 1, 2, 3, 4 on 4 points: mean 2.5, sd = sqrt((2.25+0.25+0.25+2.25)/3) = sqrt(5/3),
    # median (2 + 3)/2 = 2.5, top box 1/4, top-2 2/4, bottom-2 2/4.
    result = likert(frame(q=[1, 2, 3, 4]), score="q", points=4)
    s = result.summary.iloc[0]
    assert s["mean"] == pytest.approx(2.5)
    assert s["sd"] == pytest.approx(math.sqrt(5 / 3))
    assert s["median"] == pytest.approx(2.5)
    assert (s["top_box"], s["top2_box"], s["bottom2_box"]) == pytest.approx((0.25, 0.5, 0.5))
    dist = result.distribution
    assert list(dist.columns) == ["code", "label_en", "label_zh", "count", "share"]
    assert list(dist["code"]) == [1, 2, 3, 4]
    assert list(dist["share"]) == pytest.approx([0.25] * 4)
    # median on an odd count: 1, 2, 2, 5, 5 → 2.
    assert likert(frame(q=[1, 2, 2, 5, 5]), score="q", points=5).summary.iloc[0][
        "median"
    ] == pytest.approx(2.0)


def test_likert_by_group_has_one_distribution_row_per_group_and_level() -> None:
    data = frame(q=[1, 2, 3, 3], g=["a", "a", "b", "b"])
    result = likert(data, score="q", points=3, by="g")
    assert len(result.distribution) == 6
    b = result.distribution[result.distribution["g"] == "b"]
    assert list(b["share"]) == pytest.approx([0.0, 0.0, 1.0])
    assert set(result.tables()) == {"summary", "distribution", "overall", "overall_distribution"}


def test_mean_score_stars_and_emoji_wrappers() -> None:
    assert mean_score(frame(q=[10, 8, 6]), score="q").summary.iloc[0]["mean"] == pytest.approx(8)
    with pytest.raises(ValidationError):
        mean_score(frame(q=[0]), score="q")  # the 1-10 scale has no 0
    st_result = stars(frame(q=[5, 4, 5, 1]), score="q")
    assert st_result.summary.iloc[0]["top_box"] == pytest.approx(0.5)
    assert list(st_result.distribution["label_en"]) == [
        f"{i} star{'s' if i > 1 else ''}" for i in range(1, 6)
    ]
    # Face labels in English or Chinese count as their codes: happy = 3, unhappy = 1.
    faces = emoji(frame(q=["happy", "开心", "Unhappy", 2]), score="q", levels=3)
    assert list(faces.distribution["count"]) == [1, 1, 2]
    assert list(faces.distribution["label_zh"]) == ["不开心", "一般", "开心"]
    assert faces.summary.iloc[0]["mean"] == pytest.approx(9 / 4)
    with pytest.raises(ValidationError):
        emoji(frame(q=[1]), score="q", levels=4)


# ------------------------------------------------------------------------------ five levels


def test_five_level_hand_checked_dc_and_rates() -> None:
    # Counts very satisfied .. very dissatisfied = 2, 3, 3, 1, 1 (codes 5..1), scores 5..1.
    # DC = Σ x·n / (x_max·Σ n) = (10 + 12 + 9 + 2 + 1) / (5·10) = 34/50 = 0.68 (SPEC §4).
    # Satisfaction rate (very satisfied + satisfied) = 5/10; very satisfied = 2/10.
    data = frame(q=[5, 5, 4, 4, 4, 3, 3, 3, 2, 1])
    result = five_level(data, score="q")
    s = result.summary.iloc[0]
    assert s["mean"] == pytest.approx(3.4)
    assert s["max_score"] == 5
    assert s["dc"] == pytest.approx(0.68)
    assert s["satisfaction_rate"] == pytest.approx(0.5)
    assert s["very_satisfied"] == pytest.approx(0.2)
    dist = result.distribution
    assert list(dist["level"]) == [
        "very_satisfied",
        "satisfied",
        "neutral",
        "dissatisfied",
        "very_dissatisfied",
    ]
    assert list(dist["label_zh"]) == ["很满意", "满意", "一般", "不满意", "很不满意"]
    assert list(dist["count"]) == [2, 3, 3, 1, 1]
    assert result.level_scores == (5, 4, 3, 2, 1)
    assert result.to_dict()["level_scores"] == [5, 4, 3, 2, 1]


def test_five_level_other_level_scores_are_recorded() -> None:
    # Scores 100, 80, 60, 40, 20 (SPEC §4): same counts, mean 68, DC still 680/1000 = 0.68.
    # Scores 10, 8, 6, 4, 0: DC = (20 + 24 + 18 + 4 + 0)/(10·10) = 0.66.
    data = frame(q=[5, 5, 4, 4, 4, 3, 3, 3, 2, 1])
    hundred = five_level(data, score="q", level_scores=(100, 80, 60, 40, 20))
    assert hundred.summary.iloc[0]["mean"] == pytest.approx(68.0)
    assert hundred.summary.iloc[0]["dc"] == pytest.approx(0.68)
    assert hundred.to_dict()["level_scores"] == [100, 80, 60, 40, 20]
    other = five_level(data, score="q", level_scores=(10, 8, 6, 4, 0))
    assert other.summary.iloc[0]["dc"] == pytest.approx(0.66)
    assert list(other.distribution["level_score"]) == [10, 8, 6, 4, 0]
    with pytest.raises(ValidationError):
        five_level(data, score="q", level_scores=(5, 4, 3))
    with pytest.raises(ValidationError):
        five_level(data, score="q", level_scores=(0, -1, -2, -3, -4))


def test_five_level_codes_and_labels() -> None:
    # Data coded 1 = very satisfied .. 5 = very dissatisfied, plus Chinese and English labels.
    data = frame(q=[1, 1, 2, 5, "很满意", "very dissatisfied", None])
    result = five_level(data, score="q", codes=(1, 2, 3, 4, 5))
    assert list(result.distribution["count"]) == [3, 1, 0, 0, 2]
    assert result.summary.iloc[0]["n_missing"] == 1
    with pytest.raises(ValidationError, match="one of 1, 2, 3, 4, 5"):
        five_level(frame(q=[6]), score="q", codes=(1, 2, 3, 4, 5))
    with pytest.raises(ValidationError):
        five_level(frame(q=[1]), score="q", codes=(1, 1, 2, 3, 4))


# ----------------------------------------------------------------------- loyalty index (3)


def test_loyalty_index_three_hand_checked() -> None:
    # Respondent 1: very satisfied (1), repurchase >70% (1), very likely (1) → index 1.
    # Respondent 2: neutral (0.5), <30% (0), possibly (0.5) → (0.5 + 0 + 0.5)/3 = 1/3.
    # Mean index (1 + 1/3)/2 = 2/3; indicator means 0.75, 0.5, 0.75.
    data = frame(s=[5, 3, None], r=[3, 1, 2], c=[3, 2, 1])
    result = loyalty_index_three(data, satisfaction="s", repurchase="r", recommend="c")
    r = result.table.iloc[0]
    assert (r["n"], r["n_missing"]) == (2, 1)
    assert r["index"] == pytest.approx(2 / 3)
    assert (r["satisfaction"], r["repurchase"], r["recommend"]) == pytest.approx((0.75, 0.5, 0.75))
    # sd of (1, 1/3) = sqrt(2·(1/3)²/1) = 0.4714
    assert r["sd"] == pytest.approx(math.sqrt(2) / 3)
    # Weights 2:1:1 → 0.5, 0.25, 0.25: respondent 2 = 0.25 + 0 + 0.125 = 0.375; mean 0.6875.
    weighted = loyalty_index_three(
        data, satisfaction="s", repurchase="r", recommend="c", weights=(2, 1, 1)
    )
    assert weighted.weights == (0.5, 0.25, 0.25)
    assert weighted.table.iloc[0]["index"] == pytest.approx(0.6875)
    labels = frame(s=["很满意", "一般"], r=["70%以上", "30%以下"], c=["很可能推荐", "possibly"])
    same = loyalty_index_three(labels, satisfaction="s", repurchase="r", recommend="c")
    assert same.table.iloc[0]["index"] == pytest.approx(2 / 3)
    with pytest.raises(ValidationError):
        loyalty_index_three(
            data, satisfaction="s", repurchase="r", recommend="c", weights=(0, 0, 0)
        )


# ------------------------------------------------------------------------------- properties

nps_answers = st.lists(st.one_of(st.integers(0, 10), st.none()), min_size=0, max_size=60)


@given(answers=nps_answers)
def test_nps_is_within_bounds_and_shares_sum_to_one(answers: list[int | None]) -> None:
    result = nps(frame(q=pd.array(answers, dtype="Int64")), score="q")
    r = result.table.iloc[0]
    if r["n"] == 0:
        assert math.isnan(r["nps"])
        return
    assert -100.0 <= r["nps"] <= 100.0
    assert -100.0 <= r["ci_low"] <= r["nps"] + 1e-9
    assert r["nps"] - 1e-9 <= r["ci_high"] <= 100.0
    assert r["pct_promoters"] + r["pct_passives"] + r["pct_detractors"] == pytest.approx(1.0)
    assert r["n"] + r["n_missing"] == len(answers)


@given(
    answers=st.lists(st.integers(1, 5), min_size=1, max_size=40),
    groups=st.lists(st.sampled_from(["a", "b", "c"]), min_size=40, max_size=40),
)
def test_distribution_shares_sum_to_one_in_every_group(
    answers: list[int], groups: list[str]
) -> None:
    data = frame(q=answers, g=groups[: len(answers)])
    dist = likert(data, score="q", points=5, by="g").distribution
    sums = dist.groupby("g")["share"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)


@given(
    answers=st.lists(st.integers(0, 10), min_size=1, max_size=40),
    seed=st.integers(0, 2**31 - 1),
)
def test_results_do_not_depend_on_row_order(answers: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = frame(
        q=answers, g=rng.choice(["x", "y"], size=len(answers)), w=rng.integers(1, 4, len(answers))
    )
    shuffled = data.iloc[rng.permutation(len(data))].reset_index(drop=True)
    for fn in (
        lambda d: nps(d, score="q", by="g", weight="w").table,
        lambda d: likert(d.assign(q=d["q"] // 2 + 1), score="q", points=6, by="g").summary,
    ):
        pd.testing.assert_frame_equal(fn(data), fn(shuffled), check_exact=False, rtol=1e-12)


@given(
    answers=st.lists(st.integers(1, 5), min_size=1, max_size=30),
    weights=st.lists(st.integers(0, 4), min_size=30, max_size=30),
)
def test_integer_weights_equal_repeated_rows(answers: list[int], weights: list[int]) -> None:
    w = weights[: len(answers)]
    if sum(w) == 0:
        return
    weighted = frame(q=answers, w=w)
    repeated = frame(q=np.repeat(answers, w))
    a = five_level(weighted, score="q", weight="w").summary.iloc[0]
    b = five_level(repeated, score="q").summary.iloc[0]
    for col in ("mean", "dc", "satisfaction_rate", "very_satisfied"):
        assert a[col] == pytest.approx(b[col], rel=1e-12)
    na = nps(frame(q=[min(2 * x, 10) for x in answers], w=w), score="q", weight="w").table.iloc[0]
    nb = nps(frame(q=np.repeat([min(2 * x, 10) for x in answers], w)), score="q").table.iloc[0]
    for col in ("nps", "pct_promoters", "pct_passives", "pct_detractors"):
        assert na[col] == pytest.approx(nb[col], rel=1e-12, abs=1e-12)
    assert na["promoters"] == pytest.approx(nb["promoters"])


def test_labels_render_in_both_languages() -> None:
    assert t("scale.satisfaction.very_satisfied", "zh") == "很满意"
    assert t("scale.nps", "en").startswith("Net Promoter Score")


def test_categorical_columns_are_read_as_their_values() -> None:
    # Answers stored as categories (e.g. from SPSS or a cut): 9, 7, 0 → 1 P, 1 N, 1 D → NPS 0.
    assert nps(frame(q=pd.Categorical([9, 7, 0])), score="q").nps == pytest.approx(0.0)
    # 很满意 (5), 满意 (4): mean 4.5 → DC 0.9.
    labels = frame(q=pd.Categorical(["很满意", "满意", None]))
    assert five_level(labels, score="q").summary.iloc[0]["dc"] == pytest.approx(0.9)
