"""Service compliance audits: hand-worked scores, the shipped checklists, recovery of the demo
generator's true compliance, errors that name file, row and column, and invariants."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from allegiance.errors import ColumnNotFoundError, ConfigError, DataFileError, ValidationError
from allegiance.generate import DemoConfig, generate
from allegiance.methods import audit as audit_module
from allegiance.methods.audit import (
    audit_scores,
    checklist_names,
    load_checklist,
    parse_checklist,
)
from allegiance.results import Result

MINI = {
    "id": "mini",
    "sections": {"front": {"zh": "前台", "en": "Front desk"}},
    "items": [
        {
            "id": "greet",
            "section": "front",
            "weight": 1,
            "standard": {"zh": "问候", "en": "Greets"},
        },
        {"id": "wait", "section": "front", "weight": 2, "standard": {"zh": "等候", "en": "Wait"}},
        {
            "id": "id_check",
            "section": "back",
            "weight": 3,
            "critical": True,
            "standard": {"zh": "核验身份", "en": "Checks ID"},
        },
        {"id": "courtesy", "section": "back", "weight": 2, "max": 4, "standard": "礼貌"},
    ],
}


def visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "visit_id": ["v1", "v2", "v3", "v4"],
            "date": ["2024-01-05", "2024-01-20", "2024-02-03", "2024-02-17"],
            "branch": ["A", "A", "B", "B"],
            "employee": ["e1", "e2", "e3", "e3"],
            "method": ["mystery", "明查", "暗访", "onsite"],
            "greet": [1, 0, "是", "否"],
            "wait": [1, 1, 0, "NA"],
            "id_check": [1, "NA", 0, 1],
            "courtesy": [4, 2, 3, 0],
        }
    )


def test_doctests() -> None:
    assert doctest.testmod(audit_module, raise_on_error=False).failed == 0


def test_visit_scores_by_hand() -> None:
    result = audit_scores(visits(), checklist=parse_checklist(MINI))
    assert isinstance(result, Result)
    v = result.visits
    # v1: all met: (1 + 2 + 3 + 2) / 8; v2: greet 0, wait 1, id NA, courtesy 2/4 -> (0+2+1)/5
    # v3: 1, 0, 0, 3/4 -> (1 + 0 + 0 + 1.5) / 8; v4: 0, NA, 1, 0 -> 3 / 6
    assert v["score"].tolist() == pytest.approx([1.0, 3 / 5, 2.5 / 8, 0.5])
    assert v["n_na"].tolist() == [0, 1, 0, 1]
    assert v["n_failed"].tolist() == [0, 2, 3, 2]
    assert v["n_critical_failed"].tolist() == [0, 0, 1, 0]
    assert v["method"].tolist() == ["mystery", "onsite", "mystery", "onsite"]
    assert v["period"].tolist() == ["2024-01", "2024-01", "2024-02", "2024-02"]
    capped = audit_scores(visits(), checklist=parse_checklist(MINI), critical_cap=0.0)
    assert capped.visits["score"].tolist() == pytest.approx([1.0, 3 / 5, 0.0, 0.5])
    assert capped.visits["score_raw"].tolist() == pytest.approx(v["score"].tolist())


def test_groups_items_sections_and_methods_by_hand() -> None:
    result = audit_scores(visits(), checklist=parse_checklist(MINI), by=("branch", "method"))
    scores = np.array([1.0, 3 / 5, 2.5 / 8, 0.5])
    branch = result.group("branch").set_index("branch")
    assert branch.loc["A", "mean"] == pytest.approx(0.8)
    half = stats.t.ppf(0.975, 1) * np.std(scores[:2], ddof=1) / math.sqrt(2)
    assert branch.loc["A", "ci_low"] == pytest.approx(max(0.0, 0.8 - half))
    assert branch["rank"].tolist() == [1, 2]
    items = result.items.set_index("item")
    assert items.loc["greet", "compliance"] == pytest.approx(0.5)
    assert items.loc["courtesy", "compliance"] == pytest.approx((1 + 0.5 + 0.75 + 0) / 4)
    assert items.loc["courtesy", "failures"] == pytest.approx(0.5 + 0.25 + 1.0)
    assert items.loc["courtesy", "n_failed"] == 3
    assert items.loc["wait", "n_observed"] == 3
    assert result.items["failure_share"].sum() == pytest.approx(1.0)
    assert result.items["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    # Pareto order: failures 2 (greet), 1.75 (courtesy), 1 (wait), 1 (id_check: more points)
    assert result.items["item"].tolist() == ["greet", "courtesy", "id_check", "wait"]
    ci = stats.binomtest(2, 4).proportion_ci(method="wilson")
    assert items.loc["greet", "ci_low"] == pytest.approx(ci.low)
    sections = result.sections.set_index("section")
    # front: (1+2)/3, (0+2)/3, 1/3, 0/1
    assert sections.loc["front", "compliance"] == pytest.approx(np.mean([1, 2 / 3, 1 / 3, 0]))
    diff = result.method_difference.set_index("comparison")
    assert diff.loc["all_visits", "difference"] == pytest.approx(
        np.mean([3 / 5, 0.5]) - np.mean([1.0, 2.5 / 8])
    )
    welch = stats.ttest_ind([3 / 5, 0.5], [1.0, 2.5 / 8], equal_var=False)
    assert diff.loc["all_visits", "p_value"] == pytest.approx(welch.pvalue)
    assert diff.loc["within_branch", "n"] == 2


def test_the_shipped_checklists() -> None:
    assert set(checklist_names()) >= {"bank_branch", "hotel", "telecom_store"}
    for name in checklist_names():
        checklist = load_checklist(name)
        assert checklist.items
        assert checklist.title_zh
        assert checklist.title_en
        assert all(i.standard_zh and i.standard_en for i in checklist.items)
        assert any(i.critical for i in checklist.items)
        assert all(s in checklist.sections for s in {i.section for i in checklist.items})
        assert all(checklist.sections[s][0] for s in checklist.sections)


# --------------------------------------------------------------------------- recovery


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, dict[str, object]]:
    data = generate(DemoConfig(customers=1500, months=12, seed=5))
    return data.tables["audit_visits"], data.truth["audits"]


def test_branch_compliance_of_the_generator_is_recovered(
    demo: tuple[pd.DataFrame, dict[str, object]],
) -> None:
    frame, truth = demo
    result = audit_scores(frame, checklist=load_checklist(str(truth["checklist"])))
    branches = result.group("branch")
    expected = branches["branch"].map(truth["branch_expected_score"]).to_numpy(dtype=float)
    inside = (expected >= branches["ci_low"]) & (expected <= branches["ci_high"])
    assert inside.mean() >= 0.85  # 95 % intervals over 36 branches
    assert np.corrcoef(expected, branches["mean"])[0, 1] > 0.85
    assert result.mean == pytest.approx(truth["expected_mean"], abs=0.015)


def test_standards_and_methods_of_the_generator_are_recovered(
    demo: tuple[pd.DataFrame, dict[str, object]],
) -> None:
    frame, truth = demo
    result = audit_scores(frame, checklist=load_checklist("telecom_store"), by=("method",))
    items = result.items.set_index("item")
    true_c = pd.Series(truth["item_expected_compliance"]).reindex(items.index)
    inside = (true_c >= items["ci_low"]) & (true_c <= items["ci_high"])
    assert inside.mean() >= 0.8
    # the most failed standards: the true top two are among the estimated vital few
    true_fail = pd.Series(truth["item_expected_failures"]).sort_values(ascending=False)
    vital = set(items.index[items["vital_few"]])
    assert set(true_fail.index[:2]) <= vital
    diff = result.method_difference.set_index("comparison")
    for row, key in (
        ("all_visits", "expected_difference_all_visits"),
        ("within_branch", "expected_difference_within_branch"),
    ):
        assert diff.loc[row, "ci_low"] <= truth[key] <= diff.loc[row, "ci_high"]
    assert diff.loc["within_branch", "difference"] > 0  # on-site scores higher
    methods = result.group("method").set_index("method")
    assert methods.loc["onsite", "mean"] > methods.loc["mystery", "mean"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("column", "value", "key"),
    [
        ("greet", "2", "audit.bad_binary"),
        ("greet", "maybe", "audit.bad_binary"),
        ("courtesy", "5", "audit.bad_score"),
        ("method", "phone", "audit.bad_method"),
        ("date", "next week", "audit.bad_date"),
    ],
)
def test_bad_values_name_file_row_and_column(column: str, value: str, key: str) -> None:
    frame = visits().astype({column: object})
    frame.loc[2, column] = value
    with pytest.raises(DataFileError) as info:
        audit_scores(frame, checklist=parse_checklist(MINI), source="visits.csv", header_row=1)
    assert info.value.key == key
    assert info.value.params["file"] == "visits.csv"
    assert info.value.params["row"] == 4  # the third data row, under the header
    assert info.value.params["column"] == column
    assert value in str(info.value)


def test_missing_columns_and_bad_options() -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        audit_scores(
            visits().drop(columns=["wait"]), checklist=parse_checklist(MINI), source="f.csv"
        )
    assert "wait" in str(info.value)
    with pytest.raises(ValidationError):
        audit_scores(visits(), checklist=parse_checklist(MINI), by=("region",))
    with pytest.raises(ValidationError):
        audit_scores(visits(), checklist=parse_checklist(MINI), critical_cap=2)
    with pytest.raises(ValidationError):
        audit_scores(visits(), checklist=parse_checklist(MINI), period="week")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"items": []}, "audit.checklist.no_items"),
        ({"items": [{"id": "a"}, {"id": "a"}]}, "audit.checklist.duplicate"),
        ({"items": [{"id": "a", "wieght": 2}]}, "audit.checklist.unknown_key"),
        ({"items": [{"id": "a", "weight": -1}]}, "audit.checklist.bad_number"),
        ({"items": [{"id": "branch"}]}, "audit.checklist.reserved"),
        ({"items": [{"weight": 1}]}, "audit.checklist.bad_item"),
    ],
)
def test_bad_checklists_name_the_file_and_item(change: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_checklist({**MINI, **change}, source="my.yaml")
    assert info.value.key == key
    assert info.value.params["file"] == "my.yaml"


def test_checklist_files(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("items:\n  - id: a\n    standard: {zh: 甲, en: A}\n", encoding="gb18030")
    assert load_checklist(path).items[0].standard_zh == "甲"
    with pytest.raises(ConfigError, match="bank_branch"):
        load_checklist("no_such_checklist")
    bad = tmp_path / "bad.yaml"
    bad.write_text("items: [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_checklist(bad)


def test_without_a_checklist_every_other_column_is_a_standard() -> None:
    frame = visits().drop(columns=["courtesy"])
    result = audit_scores(frame)
    assert result.checklist.item_ids == ["greet", "wait", "id_check"]
    assert [w.key for w in result.warnings] == ["audit.inferred_checklist", "audit.few_visits"]
    assert result.visits["score"].tolist() == pytest.approx([1.0, 0.5, 1 / 3, 0.5])


# --------------------------------------------------------------------------- invariants


@settings(max_examples=40)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 1, None]), min_size=4, max_size=4), min_size=2, max_size=25
    ),
    st.randoms(use_true_random=False),
)
def test_scores_lie_in_the_unit_interval_and_ignore_row_order(
    answers: list[list[int | None]], rnd: object
) -> None:
    n = len(answers)
    frame = pd.DataFrame(answers, columns=["greet", "wait", "id_check", "courtesy"]).astype(object)
    frame.insert(0, "date", ["2024-03-01"] * n)
    frame.insert(0, "branch", [f"B{i % 3}" for i in range(n)])
    result = audit_scores(frame, checklist=parse_checklist(MINI), critical_cap=0.0)
    scores = result.visits["score"].dropna()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (result.visits["score"].fillna(0) <= result.visits["score_raw"].fillna(0) + 1e-12).all()
    compliance = result.items["compliance"].dropna()
    assert ((compliance >= 0) & (compliance <= 1)).all()
    order = list(range(n))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = audit_scores(frame.iloc[order], checklist=parse_checklist(MINI), critical_cap=0.0)
    pd.testing.assert_frame_equal(result.group("branch"), shuffled.group("branch"))
