"""Action plans and customer care: the register and its file, proposals from weakest links
and complaint causes, the measured effect against scipy's Welch test, the "you said, we did"
notices, and the customer-care calendar worked by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from allegiance.errors import DataFileError, ValidationError
from allegiance.methods.actions import (
    REGISTER_COLUMNS,
    CareRules,
    action_list,
    add_action,
    care_calendar,
    empty_register,
    measure_effect,
    measure_effects,
    notices,
    propose_actions,
    update_action,
    validate_register,
)
from allegiance.store.action_register import load_register, register_path, save_register


def register() -> pd.DataFrame:
    frame = add_action(
        empty_register(),
        title_zh="缩短等候时间",
        title_en="Shorter waits",
        owner="Branch network",
        raised=date(2024, 1, 10),
        due=date(2024, 3, 31),
        source="weakest_link",
        source_ref="cs_transaction_speed",
        measure="score",
        baseline_wave="W1",
        followup_wave="W2",
        we_did_zh="高峰时段增开柜台",
        we_did_en="opened more counters at peak hours",
    )
    return add_action(
        frame,
        title_en="Fix billing errors",
        owner="Billing",
        due=date(2024, 2, 1),
        raised=date(2024, 1, 1),
    )


# --------------------------------------------------------------------------- register


def test_add_update_and_list() -> None:
    frame = register()
    assert frame["id"].tolist() == ["A001", "A002"]
    assert frame.loc[1, "title_zh"] == "Fix billing errors"  # one language fills the other
    assert frame.loc[1, "status"] == "open"
    listed = action_list(frame, as_of=date(2024, 3, 1))
    assert listed.actions["overdue"].tolist() == [False, True]
    assert listed.actions["days_left"].tolist() == [30, -29]
    done = update_action(frame, "A002", status="done")
    listed = action_list(done, as_of=date(2024, 3, 1))
    assert listed.actions["overdue"].tolist() == [False, False]
    by_owner = listed.by_owner.set_index("owner")
    assert by_owner.loc["Billing", "done"] == 1
    assert by_owner["n_actions"].sum() == 2
    assert action_list(done, status=["open"]).actions["id"].tolist() == ["A001"]
    with pytest.raises(ValidationError, match="A009"):
        update_action(frame, "A009", status="done")


@pytest.mark.parametrize(
    ("column", "value", "key"),
    [
        ("status", "finished", "actions.bad_choice"),
        ("source", "gut feeling", "actions.bad_choice"),
        ("due", "soon", "actions.bad_date"),
        ("owner", None, "actions.missing_value"),
        ("due", "2023-01-01", "actions.due_before_raised"),
    ],
)
def test_register_errors_name_file_row_and_column(column: str, value: object, key: str) -> None:
    frame = register().astype(object)
    frame.loc[1, column] = value
    with pytest.raises(ValidationError) as info:
        validate_register(frame, source="actions.yaml")
    assert info.value.key == key
    assert info.value.params["file"] == "actions.yaml"
    assert info.value.params["row"] == 2
    if "column" in info.value.params:
        assert info.value.params["column"] == column


def test_register_file_round_trips(tmp_path: Path) -> None:
    frame = register()
    for name in ("actions.yaml", "actions.csv"):
        path = save_register(frame, tmp_path / name)
        back = load_register(path)
        assert back["id"].tolist() == ["A001", "A002"]
        assert back.loc[0, "title_zh"] == "缩短等候时间"
        assert back.loc[0, "due"] == date(2024, 3, 31)
        assert back.loc[0, "we_did_en"] == "opened more counters at peak hours"
    text = (tmp_path / "actions.yaml").read_text(encoding="utf-8")
    assert "缩短等候时间" in text  # Chinese kept as is, readable by hand
    assert not list(tmp_path.glob("*.tmp"))
    assert len(load_register(tmp_path / "missing.yaml")) == 0
    assert register_path(tmp_path) == tmp_path / "actions.yaml"


def test_register_file_errors_name_the_file_and_action(tmp_path: Path) -> None:
    path = tmp_path / "actions.yaml"
    path.write_text(
        "actions:\n  - id: A1\n    title: {zh: 甲, en: A}\n    owner: x\n    due: 2024-13-01\n"
        "    status: open\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        load_register(path)
    assert info.value.params == {
        "file": str(path),
        "row": 1,
        "column": "due",
        "value": "2024-13-01",
    }
    path.write_text("actions: [", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"actions\.yaml"):
        load_register(path)
    csv = tmp_path / "actions.csv"
    csv.write_text(
        "id,title_zh,title_en,owner,due,status\nA1,甲,A,x,2024-01-01,later\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError) as info:
        load_register(csv)
    assert info.value.params["row"] == 2  # the spreadsheet row under the header
    assert info.value.params["column"] == "status"


# --------------------------------------------------------------------------- proposals


def test_proposals_from_weakest_links_and_complaint_causes() -> None:
    weakest = pd.DataFrame(
        {"fix_rank": [2, 1, 3], "item": ["b", "a", "c"], "priority": [0.2, 0.3, 0.1]}
    )
    causes = pd.DataFrame(
        {
            "cause": ["quality", "attitude", "weather", "fault", "price"],
            "count": [40, 30, 20, 6, 4],
            "class": [1, 2, 4, 1, 1],
            "label_zh": ["产品品质", "服务态度", "天灾", "故障", "价格"],
            "label_en": ["quality", "attitude", "weather", "fault", "price"],
        }
    )
    result = propose_actions(
        weakest=weakest,
        causes=causes,
        labels={"a": {"zh": "办理速度", "en": "Transaction speed"}},
        owners={"weakest_link": "CX", "complaint_class_1": "Product", "complaint_cause": "Service"},
        raised=date(2024, 1, 1),
        due_days=30,
        top=5,
        baseline_wave="W1",
        followup_wave="W2",
    )
    actions = result.actions
    assert actions["source_ref"].tolist() == ["a", "b", "c", "quality", "attitude"]
    # the vital few reach 80 %: quality 40 %, attitude 70 %, weather 90 % (force majeure: left out)
    assert "weather" not in actions["source_ref"].tolist()
    assert "fault" not in actions["source_ref"].tolist()
    assert actions["owner"].tolist() == ["CX", "CX", "CX", "Product", "Service"]
    assert actions["title_en"].iloc[0] == "Improve Transaction speed"
    assert actions["title_zh"].iloc[0] == "改进办理速度"
    assert "产品品质" in actions["title_zh"].iloc[3]
    assert actions["evidence"].iloc[3] == pytest.approx(0.4)
    assert (actions["due"] == date(2024, 1, 31)).all()
    assert actions["measure"].iloc[0] == "a"
    assert actions["baseline_wave"].iloc[0] == "W1"
    validate_register(actions[list(REGISTER_COLUMNS)])
    assert propose_actions().warnings[0].key == "actions.nothing_to_propose"


# --------------------------------------------------------------------------- effect


def test_measured_effect_is_welchs_interval() -> None:
    rng = np.random.default_rng(4)
    before = rng.integers(1, 6, 120).astype(float)
    after = np.clip(before[:100] + rng.integers(-1, 3, 100), 1, 5)
    effect = measure_effect(before, after)
    welch = stats.ttest_ind(after, before, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert effect["difference"] == pytest.approx(after.mean() - before.mean())
    assert effect["ci_low"] == pytest.approx(ci.low)
    assert effect["ci_high"] == pytest.approx(ci.high)
    assert effect["p_value"] == pytest.approx(welch.pvalue)
    t_ci = stats.t.interval(0.95, 119, loc=before.mean(), scale=stats.sem(before))
    assert (effect["before_ci_low"], effect["before_ci_high"]) == pytest.approx(t_ci)


def test_effects_of_the_register_and_the_notices() -> None:
    responses = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(8)],
            "lang": ["zh", "en", "zh", "en", "zh", "zh", "en", "zh"],
            "wave": ["W1"] * 4 + ["W2"] * 4,
            "score": [2, 3, 1, 4, 4, 5, 3, 4],
        }
    )
    frame = update_action(register(), "A001", status="done")
    effects = measure_effects(frame, responses).effects
    assert effects["id"].tolist() == ["A001"]
    assert effects["before"].item() == pytest.approx(2.5)
    assert effects["after"].item() == pytest.approx(4.0)
    result = notices(frame, responses, effects=effects, threshold=2)
    text = result.notices.set_index("id")
    assert "opened more counters at peak hours" in text.loc["A001", "text_en"]
    assert "高峰时段增开柜台" in text.loc["A001", "text_zh"]
    assert "2.50" in text.loc["A001", "text_en"]
    assert "4.00" in text.loc["A001", "text_en"]
    # W1 respondents who scored the measure 2 or lower: C0 (zh) and C2 (zh)
    assert result.recipients["customer_id"].tolist() == ["C0", "C2"]
    assert result.recipients["text"].iloc[0] == text.loc["A001", "text_zh"]
    everyone = notices(frame, responses).recipients
    assert everyone["customer_id"].tolist() == ["C0", "C1", "C2", "C3"]
    assert everyone.set_index("customer_id").loc["C1", "lang"] == "en"
    assert notices(register()).notices.empty  # nothing finished yet


# --------------------------------------------------------------------------- care


def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "join_date": ["2020-03-15", "2016-02-29", "2023-03-20", "2021-03-10"],
            "lang": ["zh", "en", "zh", "zh"],
            "owner": ["Li", "Li", None, "Wang"],
            "main_product": ["fixed_line", "mobile", "fixed_line", "mobile"],
            "churn_month": [None, None, None, "2025-03-01"],
        }
    )


def test_care_calendar_by_hand() -> None:
    purchases = pd.DataFrame(
        {"customer_id": ["A", "C", "Z"], "date": ["2025-02-25", "2025-03-30", "2025-03-01"]}
    )
    prices = pd.DataFrame(
        {
            "customer_id": ["B", "D"],
            "effective_date": ["2025-04-10", "2025-04-01"],
            "product": ["mobile", "mobile"],
            "change_pct": [0.05, 0.12],
        }
    )
    result = care_calendar(
        customers(),
        start=date(2025, 3, 1),
        end=date(2025, 3, 31),
        purchases=purchases,
        price_changes=prices,
        end_of_life={"fixed_line": date(2025, 5, 20)},
    )
    due = result.due
    got = {(r.customer_id, r.kind, r.due_date.isoformat(), r.detail) for r in due.itertuples()}
    assert got == {
        ("A", "callback", "2025-03-04", ""),  # 7 days after 2025-02-25
        ("A", "anniversary", "2025-03-15", "5"),
        ("C", "anniversary", "2025-03-20", "2"),
        ("A", "end_of_life", "2025-03-21", "fixed_line 2025-05-20"),  # 60 days before
        ("C", "end_of_life", "2025-03-21", "fixed_line 2025-05-20"),
        ("B", "price_notice", "2025-03-11", "mobile +5%"),  # 30 days before
        # C's call-back (2025-04-06) is after the range; D left on 2025-03-01 (no anniversary
        # on 03-10, no price notice on 03-02); B's 29 February is not in March
    }
    assert [w.key for w in result.warnings] == ["actions.unknown_customers"]  # customer Z
    owners = result.by_owner.set_index("owner")
    assert owners.loc["Li", "n_contacts"] == 4
    assert owners.loc["unassigned", "n_contacts"] == 2
    assert list(due["owner"]) == sorted(due["owner"])


def test_leap_day_anniversaries_fall_on_28_february() -> None:
    result = care_calendar(customers(), start=date(2025, 2, 1), end=date(2025, 2, 28))
    assert result.due[["customer_id", "due_date", "detail"]].values.tolist() == [
        ["B", date(2025, 2, 28), "9"]
    ]
    leap = care_calendar(customers(), start=date(2024, 2, 1), end=date(2024, 2, 29))
    assert leap.due["due_date"].tolist() == [date(2024, 2, 29)]


def test_care_rules_and_errors() -> None:
    only = care_calendar(
        customers(),
        start=date(2025, 3, 1),
        end=date(2025, 3, 31),
        rules=CareRules(kinds=("anniversary",), anniversary_lead_days=5),
    )
    assert only.due["due_date"].tolist() == [date(2025, 3, 10), date(2025, 3, 15)]
    with pytest.raises(ValidationError):
        CareRules(callback_days=-1)
    with pytest.raises(ValidationError):
        CareRules(kinds=("party",))
    with pytest.raises(ValidationError):
        care_calendar(customers(), start=date(2025, 3, 2), end=date(2025, 3, 1))
    bad = customers()
    bad.loc[2, "join_date"] = "long ago"
    with pytest.raises(ValidationError) as info:
        care_calendar(bad, start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert info.value.params == {
        "what": "customers",
        "row": 4,
        "column": "join_date",
        "value": "long ago",
    }


@given(st.integers(0, 700), st.integers(0, 120))
def test_every_contact_is_due_inside_the_range(offset: int, length: int) -> None:
    start = date.fromordinal(date(2024, 1, 1).toordinal() + offset)
    end = date.fromordinal(start.toordinal() + length)
    purchases = pd.DataFrame({"customer_id": ["A", "B", "C"], "date": ["2024-06-01"] * 3})
    result = care_calendar(customers(), start=start, end=end, purchases=purchases)
    assert all(start <= d <= end for d in result.due["due_date"])
    assert result.by_owner["n_contacts"].sum() == len(result.due)
