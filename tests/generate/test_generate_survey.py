"""The survey wave recovers its true Kano categories, SERVQUAL gaps, NPS shares and loadings."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from allegiance.generate import GeneratedData, vocab

CJK = re.compile(r"[\u4e00-\u9fff]")

# Kano evaluation table (Berger et al. 1993, "Kano's methods for understanding
# customer-defined quality", Center for Quality of Management Journal 2(4), Table 2):
# rows = answer to the functional question, columns = answer to the dysfunctional one,
# answers 1 like, 2 must-be, 3 neutral, 4 live-with, 5 dislike.
BERGER = np.array(
    [
        ["Q", "A", "A", "A", "O"],
        ["R", "I", "I", "I", "M"],
        ["R", "I", "I", "I", "M"],
        ["R", "I", "I", "I", "M"],
        ["R", "R", "R", "R", "Q"],
    ]
)

# SERVQUAL item groups (Parasuraman, Zeithaml & Berry 1988): tangibles 1-4,
# reliability 5-9, responsiveness 10-13, assurance 14-17, empathy 18-22.
SERVQUAL_ITEMS = {
    "tangibles": range(1, 5),
    "reliability": range(5, 10),
    "responsiveness": range(10, 14),
    "assurance": range(14, 18),
    "empathy": range(18, 23),
}

# The 14 calculation-standard factors of SPEC section 4.
CS_FACTORS = [
    "overall_image",
    "credibility",
    "brand_popularity",
    "customer_care",
    "service_attitude",
    "service_procedures",
    "service_use",
    "reliability",
    "security",
    "transaction_speed",
    "error_rate",
    "profit_gained",
    "cost_saved",
    "other_benefit",
]

# The 24 items of the mobi data (Tenenhaus et al. 2005), in the shared reference file.
MOBI_ITEMS = (
    [f"IMAG{i}" for i in range(1, 6)]
    + [f"CUEX{i}" for i in range(1, 4)]
    + [f"PERQ{i}" for i in range(1, 8)]
    + ["PERV1", "PERV2", "CUSA1", "CUSA2", "CUSA3", "CUSCO", "CUSL1", "CUSL2", "CUSL3"]
)


@pytest.fixture(scope="module")
def answers(big: GeneratedData) -> pd.DataFrame:
    survey = big.tables["survey_responses"]
    customers = big.tables["customers"]
    keep = ["customer_id", "segment", "satisfaction", "loyalty", "quality", "complaints_propensity"]
    return survey.merge(customers[keep], on="customer_id", how="left", validate="one_to_one")


def _binomial_tol(p: float, n: int) -> float:
    return 4 * np.sqrt(p * (1 - p) / n) + 1e-3


def test_columns(small: GeneratedData) -> None:
    survey = small.tables["survey_responses"]
    assert len(survey) == small.config.survey_n
    head = ["respondent_key", "customer_id", "wave", "submitted_at", "lang"]
    assert list(survey.columns[:5]) == head
    expected = {f"cs_{f}" for f in CS_FACTORS} | set(MOBI_ITEMS)
    expected |= {"nps", "csat", "ces", "repurchase", "recommend3", "reasons", "comment"}
    expected |= {f"kano_{f}_{s}" for f in vocab.KANO_FEATURES for s in ("func", "dysf")}
    expected |= {f"sq_{s}{i:02d}" for s in "ep" for i in range(1, 23)}
    assert set(survey.columns) == expected | set(head)
    assert survey["respondent_key"].is_unique
    assert (survey["wave"] == "2024-W1").all()
    submitted = survey["submitted_at"]
    assert submitted.is_monotonic_increasing
    assert submitted.dt.to_period("M").nunique() == 1


def _item_truth(truth: dict, column: str) -> dict:
    if column.startswith("cs_"):
        return truth["cs"]["factors"][column[3:]]
    if column in MOBI_ITEMS:
        return truth["ecsi"]["items"][column]
    if column.startswith("sq_"):
        return truth["servqual"]["items"][column]
    return truth[column]


def test_answer_ranges(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    truth = big.truth["survey"]
    ranges = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "repurchase": (1, 3)}
    ranges |= {"recommend3": (1, 3)}
    ranges |= dict.fromkeys(MOBI_ITEMS, (1, 10))
    ranges |= {f"cs_{f}": (1, 5) for f in CS_FACTORS}
    ranges |= {f"sq_{s}{i:02d}": (1, 7) for s in "ep" for i in range(1, 23)}
    for column, (low, high) in ranges.items():
        values = survey[column].dropna()
        assert values.between(low, high).all(), column
        probs = _item_truth(truth, column)["probabilities"]
        assert [int(c) for c in probs] == list(range(low, high + 1)), column
        likely = {int(c) for c, p in probs.items() if p > 0.001}
        assert likely <= set(values.unique()), column  # every likely level is used


def test_calculation_standard_factors(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    truth = big.truth["survey"]["cs"]
    n = len(survey)
    missing = survey[[f"cs_{f}" for f in CS_FACTORS]].isna().to_numpy().mean()
    assert missing == pytest.approx(truth["missing_rate"], abs=0.003)
    for factor in CS_FACTORS:
        values = survey[f"cs_{factor}"].dropna().astype(float)
        expected = truth["factors"][factor]["expected_mean"]
        assert values.mean() == pytest.approx(expected, abs=4 * values.std() / np.sqrt(n))
        dc = values.mean() / 5  # SPEC: DC_i with level scores 5..1
        assert dc == pytest.approx(truth["factors"][factor]["dc_with_scores_5_to_1"], abs=0.01)


def test_ecsi_items_load_on_their_constructs(answers: pd.DataFrame, big: GeneratedData) -> None:
    items = big.truth["survey"]["ecsi"]["items"]
    for item in ("CUSA1", "CUSA2", "CUSA3"):
        r = np.corrcoef(answers[item], answers["satisfaction"])[0, 1]
        # discretising to 1..10 attenuates a little; the correlation stays high
        assert items[item]["loading"] - 0.06 < r <= items[item]["loading"] + 0.01
        assert r > 0.7
    r = np.corrcoef(answers["CUSCO"], answers["complaints_propensity"])[0, 1]
    assert r < -0.8  # CUSCO measures ECSI Complaints, the negative of the propensity
    weak = np.corrcoef(answers["CUSL2"], answers["loyalty"])[0, 1]
    assert weak == pytest.approx(items["CUSL2"]["loading"], abs=0.05)
    for item in MOBI_ITEMS:
        mean = answers[item].mean()
        sd = answers[item].std()
        assert mean == pytest.approx(
            items[item]["expected_mean"], abs=4 * sd / np.sqrt(len(answers))
        )


def test_nps_shares_by_segment(answers: pd.DataFrame, big: GeneratedData) -> None:
    shares = big.truth["survey"]["nps"]["shares"]
    groups = [("all", answers), *answers.groupby("segment", observed=True)]
    for name, part in groups:
        n = len(part)
        promoters = (part["nps"] >= 9).mean()
        detractors = (part["nps"] <= 6).mean()
        assert promoters == pytest.approx(shares[name]["promoters"], abs=_binomial_tol(0.3, n))
        assert detractors == pytest.approx(shares[name]["detractors"], abs=_binomial_tol(0.35, n))
    assert shares["government"]["nps"] > shares["consumer"]["nps"] > shares["sme"]["nps"]
    assert answers.groupby("segment", observed=True)["nps"].mean().idxmax() in {
        "government",
        "enterprise",
    }


def test_overall_measures_follow_their_laws(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    n = len(survey)
    for column in ("csat", "ces", "repurchase", "recommend3"):
        truth = big.truth["survey"][column]["probabilities"]
        observed = survey[column].value_counts(normalize=True)
        for code, p in truth.items():
            assert observed.get(int(code), 0.0) == pytest.approx(p, abs=_binomial_tol(p, n))


def test_kano_mode_recovers_the_true_category(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    features = big.truth["survey"]["kano"]["features"]
    truths = {info["category"] for info in features.values()}
    assert truths == {"A", "O", "M", "I"}
    for feature, info in features.items():
        func = survey[f"kano_{feature}_func"].to_numpy() - 1
        dysf = survey[f"kano_{feature}_dysf"].to_numpy() - 1
        category = pd.Series(BERGER[func, dysf]).value_counts(normalize=True)
        assert category.idxmax() == info["category"], feature
        for name, p in info["distribution"].items():
            assert category.get(name, 0.0) == pytest.approx(p, abs=_binomial_tol(p, len(survey)))


def test_servqual_mean_gaps(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    truth = big.truth["survey"]["servqual"]["dimension_mean_gap"]
    for dimension, items in SERVQUAL_ITEMS.items():
        perception = survey[[f"sq_p{i:02d}" for i in items]].mean(axis=1)
        expectation = survey[[f"sq_e{i:02d}" for i in items]].mean(axis=1)
        gap = perception - expectation
        tol = 4 * gap.std() / np.sqrt(len(gap))
        assert gap.mean() == pytest.approx(truth[dimension], abs=tol), dimension
        assert truth[dimension] < 0  # perceptions fall short of expectations
    assert min(truth, key=truth.get) == "reliability"


def test_reasons_only_for_the_dissatisfied(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    truth = big.truth["survey"]["reasons"]
    asked = survey["csat"] <= 3
    assert survey["reasons"].notna().equals(asked)
    n = int(asked.sum())
    assert n / len(survey) == pytest.approx(truth["share_asked"], abs=_binomial_tol(0.42, n))
    lists = survey.loc[asked, "reasons"].str.split(";")
    assert lists.map(len).min() >= 1
    assert lists.map(lambda codes: len(set(codes)) == len(codes)).all()
    for reason, p in truth["share_citing"].items():
        cited = lists.map(lambda codes, r=reason: r in codes).mean()
        assert cited == pytest.approx(p, abs=_binomial_tol(p, n)), reason
    assert set().union(*lists) <= set(vocab.REASONS)


def test_comments_are_in_the_respondents_language(big: GeneratedData) -> None:
    survey = big.tables["survey_responses"]
    written = survey[survey["comment"].notna()]
    assert 0.4 < len(written) / len(survey) < 0.7
    zh = written[written["lang"] == "zh"]["comment"]
    en = written[written["lang"] == "en"]["comment"]
    assert len(en) > 100
    assert zh.map(lambda s: bool(CJK.search(s))).all()
    assert not en.map(lambda s: bool(CJK.search(s))).any()
    assert zh.nunique() > 200
    assert en.nunique() > 50
    unhappy = written[written["csat"] == 1]["comment"]
    happy = written[written["csat"] == 5]["comment"]
    assert not set(unhappy) & set(happy)
