"""The customers table recovers its true make-up, latent structure and churn model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from allegiance.generate import GeneratedData, vocab
from allegiance.generate.common import month_numbers
from allegiance.generate.customers import LATENT_COLUMNS

COLUMNS = [
    "customer_id",
    "nature",
    "segment",
    "value_tier",
    "region",
    "city_tier",
    "age_group",
    "main_product",
    "lang",
    "join_date",
    *LATENT_COLUMNS,
    "churned",
    "churn_month",
]


def test_columns_and_types(small: GeneratedData) -> None:
    customers = small.tables["customers"]
    assert list(customers.columns) == COLUMNS
    assert customers["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert customers["customer_id"].iloc[0] == "C0000001"
    assert set(customers["nature"].cat.categories) == set(vocab.NATURES)
    assert set(customers["region"].cat.categories) == set(vocab.REGIONS)
    assert customers["city_tier"].between(1, 4).all()
    consumer = customers["segment"] == "consumer"
    assert customers.loc[consumer, "age_group"].notna().all()
    assert customers.loc[~consumer, "age_group"].isna().all()
    joined = customers["join_date"].astype("datetime64[s]")
    assert (joined < pd.Timestamp(small.config.start)).all()


def test_make_up_follows_the_truth(big: GeneratedData) -> None:
    customers = big.tables["customers"]
    truth = big.truth["customers"]["composition"]
    n = len(customers)
    shares = customers["segment"].value_counts(normalize=True)
    for segment, p in truth["segment"].items():
        assert shares[segment] == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n) + 1e-4)
    nature = customers["nature"].value_counts(normalize=True)
    assert nature["retail"] > 0.9  # SPEC: retail is the vast majority
    # Natures belong to their segments.
    consumers = customers[customers["segment"] == "consumer"]
    assert (consumers["nature"] == "retail").all()
    gov = customers[customers["segment"] == "government"]
    assert set(gov["nature"]) <= {"key_government", "public_welfare"}
    regions = customers["region"].value_counts(normalize=True)
    for region, p in truth["region"].items():
        assert regions[region] == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))


def test_latent_scores_have_the_true_covariance(big: GeneratedData) -> None:
    customers = big.tables["customers"]
    truth = big.truth["customers"]["latent"]
    names = truth["constructs"]
    values = customers[[truth["columns"][c] for c in names]].to_numpy()
    values[:, names.index("Complaints")] *= -1  # the column is -Complaints
    np.testing.assert_allclose(values.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(values.std(axis=0), 1.0, atol=0.02)
    expected = np.array([[truth["covariance"][a][b] for b in names] for a in names])
    np.testing.assert_allclose(np.corrcoef(values.T), expected, atol=0.02)


def test_segment_effects_on_satisfaction(big: GeneratedData) -> None:
    customers = big.tables["customers"]
    effects = big.truth["customers"]["satisfaction_effects"]
    means = customers.groupby("segment", observed=True)["satisfaction"].mean()
    sizes = customers["segment"].value_counts()
    within = np.sqrt(1 - effects["between_group_variance"])
    for segment, shift in effects["segment"].items():
        # the region mix inside a segment matches the population, so the mean is the shift
        assert means[segment] == pytest.approx(shift, abs=4 * within / np.sqrt(sizes[segment]))
    assert means["government"] > means["consumer"] > means["sme"]


def test_churn_share_and_hazard_are_recovered(big: GeneratedData) -> None:
    customers = big.tables["customers"]
    truth = big.truth["customers"]["churn"]
    months = big.config.months
    n = len(customers)
    p = truth["expected_share_churned"]
    assert customers["churned"].mean() == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))

    # Discrete-time hazard, maximum likelihood: trials are months 1 .. first absent month.
    loyalty = customers["loyalty"].to_numpy()
    absent = month_numbers(customers["churn_month"], start=big.config.start, missing=months)
    event = customers["churned"].to_numpy().astype(float)
    trials = np.where(event > 0, absent, months - 1).astype(float)

    def loss(theta: np.ndarray) -> float:
        z = theta[0] + theta[1] * loyalty
        log_h = -np.logaddexp(0, -z)
        log_s = -np.logaddexp(0, z)
        return float(-(event * log_h + (trials - event) * log_s).sum())

    fit = minimize(loss, x0=np.zeros(2), method="BFGS")
    assert fit.x[0] == pytest.approx(truth["intercept"], abs=0.08)
    assert fit.x[1] == pytest.approx(truth["slope_loyalty"], abs=0.06)
