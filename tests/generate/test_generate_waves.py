"""The ``waves`` and ``employees`` generator modules: tables, determinism, independence from the
other modules, and recovery of the true wave shifts, competitor differences and branch link."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allegiance.generate import DemoConfig, GeneratedData, generate, registered, unregister, vocab
from allegiance.generate import register as register_module

_PRELOADED = "allegiance.generate.waves" in sys.modules
from allegiance.generate import waves  # noqa: E402  (registers the modules)

if not _PRELOADED:  # keep other tests' companies as they were; register only where used
    unregister("waves")
    unregister("employees")

from allegiance.methods.compare import compare_competitors, compare_waves  # noqa: E402
from allegiance.methods.loyalty_link import employee_link  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "demo-company-waves.md"
CJK = re.compile(r"[\u4e00-\u9fff]")
TABLES = ("survey_waves", "competitor_ratings", "branches", "customer_branch", "employee_survey")


@contextmanager
def with_modules() -> Iterator[None]:
    added = [m for m in (waves.WAVE_MODULE, waves.EMPLOYEE_MODULE) if m.name not in registered()]
    for module in added:
        register_module(module)
    try:
        yield
    finally:
        for module in added:
            unregister(module.name)


@pytest.fixture(scope="module")
def company() -> GeneratedData:
    with with_modules():
        return generate(DemoConfig(customers=40000, months=12, seed=11, survey_size=8000))


@pytest.fixture(scope="module")
def tiny() -> GeneratedData:
    with with_modules():
        return generate(DemoConfig(customers=2000, months=6, seed=5))


def test_tables_and_columns(tiny: GeneratedData) -> None:
    for name in TABLES:
        assert name in tiny.tables
        assert tiny.sources[name] in {"waves", "employees"}
    w = tiny.tables["survey_waves"]
    assert w["wave"].drop_duplicates().tolist() == ["2023-W2", "2023-W3", "2023-W4", "2024-W1"]
    assert w.groupby("wave")["wave_index"].first().tolist() == [0, 1, 2, 3]
    assert w["respondent_key"].is_unique
    ratings = tiny.tables["competitor_ratings"]
    assert set(ratings["competitor"].astype(str)) == {"huaxun", "liantong", "yidong"}
    # the own-brand rows are the main survey's answers, one per respondent
    own = ratings.loc[ratings["competitor"] == waves.OURS].set_index("respondent_key")
    main = tiny.tables["survey_responses"].set_index("respondent_key")
    assert own.index.equals(main.index)
    cs = [c for c in ratings.columns if c.startswith("cs_")]
    pd.testing.assert_frame_equal(
        own[cs].astype("float64"), main[cs].astype("float64"), check_names=False
    )
    assert len(tiny.tables["customer_branch"]) == 2000
    assert tiny.tables["branches"]["branch_id"].is_unique
    assert len(tiny.tables["branches"]) == len(vocab.REGIONS) * waves.BRANCHES_PER_REGION
    e = tiny.tables["employee_survey"]
    assert e["esat"].between(1, 5).all()
    assert set(e["branch_id"].astype(str)) <= set(tiny.tables["branches"]["branch_id"])
    for col in [c for c in w.columns if c.startswith("cs_")] + ["nps", "csat"]:
        assert w[col].notna().sum() > 0


def test_the_last_wave_is_the_main_survey(tiny: GeneratedData) -> None:
    w = tiny.tables["survey_waves"]
    main = tiny.tables["survey_responses"]
    last = w.loc[w["wave"] == main["wave"].iloc[0]].reset_index(drop=True)
    assert last["respondent_key"].tolist() == main["respondent_key"].tolist()
    for col in ("nps", "csat", "ces", "cs_reliability"):
        assert last[col].astype("Float64").equals(main[col].astype("Float64"))


def test_earlier_respondents_had_joined(tiny: GeneratedData) -> None:
    w = tiny.tables["survey_waves"]
    joined = tiny.tables["customers"].set_index("customer_id")["join_date"]
    first = w.loc[w["wave_index"] == 0]
    join = pd.to_datetime(joined.loc[first["customer_id"]].astype("datetime64[s]").to_numpy())
    fieldwork = pd.to_datetime(first["fieldwork_month"].astype("datetime64[s]").to_numpy())
    assert (join < fieldwork).all()


def test_determinism_and_other_tables_unchanged() -> None:
    config = DemoConfig(customers=1500, months=6, seed=3)
    with with_modules():
        one = generate(config)
        two = generate(config)
    for name in TABLES:
        pd.testing.assert_frame_equal(one.tables[name], two.tables[name])
    # the audits module builds on the employees module: it goes too, with its two tables
    was = {n: registered()[n] for n in ("waves", "employees", "audits") if n in registered()}
    for name in reversed(list(was)):
        unregister(name)
    try:
        without = generate(config)
    finally:
        for module in was.values():
            register_module(module)
    audit_tables = {"audit_visits", "service_process"} if "audits" in was else set()
    assert set(without.tables) == set(one.tables) - set(TABLES) - audit_tables
    for name, frame in without.tables.items():
        pd.testing.assert_frame_equal(frame, one.tables[name])


def test_wave_shifts_are_recovered(company: GeneratedData) -> None:
    truth = company.truth["waves"]
    assert truth["order"] == ["2023-W2", "2023-W3", "2023-W4", "2024-W1"]
    frame = company.tables["survey_waves"]
    result = compare_waves(
        frame, wave="wave", measures=["nps", "csat"], order=truth["order"], confidence=0.999
    )
    summary = result.summary.set_index(["wave", "measure", "statistic"])
    for wave in truth["waves"]:
        nps = summary.loc[(wave["wave"], "nps", "nps")]
        assert nps["ci_low"] <= wave["nps"]["expected_nps"] <= nps["ci_high"]
        csat = summary.loc[(wave["wave"], "csat", "mean")]
        assert csat["ci_low"] <= wave["csat"]["expected_mean"] <= csat["ci_high"]
    changes = result.changes.set_index(["measure", "statistic", "from_wave"])
    for change in truth["changes"]:
        row = changes.loc[("csat", "mean", change["from_wave"])]
        assert row["ci_low"] <= change["csat_mean"] <= row["ci_high"]
        row = changes.loc[("nps", "nps", change["from_wave"])]
        assert row["ci_low"] <= change["nps"] <= row["ci_high"]
    # the big true step (W3 → W4) is found; quality shifts really do rise
    assert bool(changes.loc[("csat", "mean", "2023-W3"), "significant"])
    shifts = [w["satisfaction_shift"] for w in truth["waves"]]
    assert shifts == sorted(shifts)
    assert shifts[-1] == 0.0


def test_competitor_differences_are_recovered(company: GeneratedData) -> None:
    truth = company.truth["waves"]["competitors"]
    ratings = company.tables["competitor_ratings"]
    theirs = ratings.loc[ratings["competitor"] != waves.OURS]
    ours = company.tables["survey_responses"]
    items = [f"cs_{f}" for f in truth["factors"]]
    # the table holds our own rows too, so it is compared as it is (no join)
    long = ratings.assign(brand=ratings["competitor"].astype(str))
    r = compare_competitors(
        long,
        brand="brand",
        respondent="respondent_key",
        items=items,
        ours="huaxun",
        confidence=0.999,
    )
    paired = r.paired.set_index(["competitor", "item"])
    for factor, entry in truth["factors"].items():
        for competitor in waves.COMPETITORS:
            row = paired.loc[(competitor, f"cs_{factor}")]
            expected = entry[competitor]["expected_difference_ours_minus_theirs"]
            assert row["ci_low"] <= expected <= row["ci_high"], (competitor, factor)
            effect = entry[competitor]["effect"]
            if abs(effect) >= 0.3:
                assert row["verdict"] == ("behind" if effect > 0 else "ahead"), (competitor, factor)
    share = theirs.groupby(theirs["competitor"].astype(str), observed=True).size() / len(ours)
    for competitor, aware in waves.AWARENESS.items():
        assert share[competitor] == pytest.approx(aware, abs=0.03)


def test_branch_link_is_recovered(company: GeneratedData) -> None:
    truth = company.truth["employees"]
    assert truth["correlation_climate_vs_branch_satisfaction"] > 0.7
    served = company.tables["customer_branch"].set_index("customer_id")["branch_id"].astype(str)
    answers = company.tables["survey_responses"][["customer_id", "csat"]].copy()
    answers["branch_id"] = served.loc[answers["customer_id"]].to_numpy()
    r = employee_link(
        answers,
        company.tables["employee_survey"],
        branch="branch_id",
        customer_satisfaction="csat",
        employee_satisfaction="esat",
    )
    pearson = r.correlation.set_index("method").loc["pearson"]
    assert pearson["n_branches"] == 36
    assert pearson["ci_low"] > 0.3
    assert pearson["p_value"] < 1e-4
    # realised customer counts per branch are what the table says
    counts = company.tables["customer_branch"]["branch_id"].astype(str).value_counts()
    assert counts.to_dict() == {k: v for k, v in truth["customers_by_branch"].items() if v}


def test_every_column_is_documented_and_labelled(tiny: GeneratedData) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing: list[str] = []
    unlabelled: list[str] = []
    for name in TABLES:
        assert f"### `{name}`" in text, name
        for column in tiny.tables[name].columns:
            if f"`{column}`" not in text and not (
                column.startswith("cs_") and "`cs_<factor>`" in text
            ):
                missing.append(f"{name}.{column}")
            en = vocab.column_label(column, "en")
            zh = vocab.column_label(column, "zh")
            if en == column or not CJK.search(zh):
                unlabelled.append(f"{name}.{column}")
    assert missing == []
    assert unlabelled == []
    for competitor, effects in waves.COMPETITOR_EFFECTS.items():
        for factor, value in effects.items():
            if value:
                assert f"| `{factor}` |" in text
        assert competitor in text


@pytest.mark.slow
def test_modules_are_fast_at_a_million_customers() -> None:
    from allegiance.generate import customers, survey
    from allegiance.generate.registry import GenContext, module_rng

    config = DemoConfig(customers=1_000_000, months=24)
    tables: dict[str, pd.DataFrame] = {}
    for module in (customers, survey):
        ctx = GenContext(config, module_rng(config.seed, module.MODULE.name), dict(tables), {})
        tables.update(module.MODULE.run(ctx).tables)
    seconds = {}
    for module in (waves.WAVE_MODULE, waves.EMPLOYEE_MODULE):
        ctx = GenContext(config, module_rng(config.seed, module.name), dict(tables), {})
        start = time.perf_counter()
        out = module.run(ctx)
        seconds[module.name] = time.perf_counter() - start
        assert all(len(frame) for frame in out.tables.values())
    assert seconds["waves"] < 2.0, seconds
    assert seconds["employees"] < 2.0, seconds
    assert np.isfinite(list(seconds.values())).all()
