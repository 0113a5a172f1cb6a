"""Complaint analysis: SPEC section 6's 148-complaint table (golden), SLA, recovery, rate,
iceberg, trends, and the invariants of a Pareto table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.complaints.handling import load_workflow
from allegiance.complaints.taxonomy import load_taxonomy
from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.methods import complaints as mc

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "complaints"
SPEC_CSV = GOLDEN / "spec_section6_complaints.csv"

# SPEC.md section 6, the material's 148 complaints: (Chinese cause, count, class), in order.
SPEC_TABLE: list[tuple[str, int, int]] = [
    ("产品品质不良", 38, 1),
    ("服务态度", 17, 2),
    ("产品故障", 14, 1),
    ("搀杂异物", 10, 1),
    ("认错顾客、生疏", 10, 2),
    ("订货出错", 9, 2),
    ("让顾客久等", 5, 2),
    ("拖延回答、不回应", 5, 2),
    ("顾客的无知或常识不足", 5, 3),
    ("对产品的疑问", 4, 1),
    ("出差错", 3, 2),
    ("不知是卖方或买方的错", 3, 4),
    ("期待破灭", 3, 1),
    ("说明技巧差", 2, 2),
    ("介绍错误", 2, 2),
    ("无法满足客人的要求", 2, 2),
    ("不把客户的抱怨当回事", 2, 2),
    ("付出的钱太多", 2, 1),
    ("由于疏忽而造成的抱怨", 1, 2),
    ("不合理的抱怨", 1, 4),
    ("推荐其他制造商", 1, 2),
    ("遗失", 1, 1),
    ("天灾等非人为因素", 1, 4),
    ("技术不够纯熟", 1, 1),
    ("马马虎虎敷衍了事", 1, 2),
    ("立场不同", 1, 2),
    ("价格问题", 1, 1),
    ("知识不足", 1, 2),
    ("延迟送达", 1, 2),
    ("货品售完", 1, 1),
]


@pytest.fixture(scope="module")
def spec() -> pd.DataFrame:
    return pd.read_csv(SPEC_CSV, dtype=str)


# ------------------------------------------------------------------------------ golden


def test_the_golden_file_is_the_spec_table(spec: pd.DataFrame) -> None:
    assert len(spec) == 148 == sum(c for _, c, _ in SPEC_TABLE)
    assert len(SPEC_TABLE) == 30
    counts = spec["cause"].value_counts()
    for cause, count, klass in SPEC_TABLE:
        assert counts[cause] == count, cause
        assert set(spec.loc[spec["cause"] == cause, "class"]) == {str(klass)}
    # the class sums, checked by hand from SPEC section 6 (tests/golden/complaints/README.md)
    by_class = {k: sum(c for _, c, kk in SPEC_TABLE if kk == k) for k in (1, 2, 3, 4)}
    assert by_class == {1: 75, 2: 63, 3: 5, 4: 5}


@pytest.mark.parametrize(
    ("column", "klass"), [("cause", None), ("cause_en", None), ("cause", "class")]
)
def test_golden_pareto_reproduces_spec_section_6(
    spec: pd.DataFrame, column: str, klass: str | None
) -> None:
    result = mc.pareto(spec, cause=column, cause_class=klass)
    table = result.table
    assert result.n == 148
    assert result.warnings == ()
    assert len(table) == 30
    # per cause: count / 148, in SPEC's order (descending counts, ties as SPEC lists them)
    assert table["name_zh"].tolist() == [c for c, _, _ in SPEC_TABLE]
    assert table["count"].tolist() == [n for _, n, _ in SPEC_TABLE]
    assert table["cause_class"].tolist() == [k for _, _, k in SPEC_TABLE]
    np.testing.assert_allclose(
        table["share"], [n / 148 for _, n, _ in SPEC_TABLE], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        table["cumulative_share"], np.cumsum([n for _, n, _ in SPEC_TABLE]) / 148, atol=1e-12
    )
    assert table["share"].iloc[0] == pytest.approx(0.2568, abs=5e-5)  # 38 / 148
    # the vital few: the cumulative share reaches 80 % at the 11th cause (120 / 148)
    assert table["vital_few"].tolist() == [True] * 11 + [False] * 19
    assert result.vital_few_share == pytest.approx(120 / 148)
    # class shares: 75 / 63 / 5 / 5 of 148; the material rounds them to 50 % / 43 % / 7 %
    classes = result.classes.set_index("cause_class")
    assert classes["count"].tolist() == [75, 63, 5, 5]
    np.testing.assert_allclose(classes["share"], [75 / 148, 63 / 148, 5 / 148, 5 / 148])
    assert abs(classes.loc[1, "share"] * 100 - 50) < 1
    assert abs(classes.loc[2, "share"] * 100 - 43) < 1
    assert abs((classes.loc[3, "share"] + classes.loc[4, "share"]) * 100 - 7) < 1
    assert classes["share"].sum() == pytest.approx(1.0)


def test_golden_causes_resolve_to_the_taxonomy_codes(spec: pd.DataFrame) -> None:
    tax = load_taxonomy()
    zh = mc.pareto(spec, cause="cause").table["cause"].tolist()
    en = mc.pareto(spec, cause="cause_en").table["cause"].tolist()
    assert zh == en == list(tax.codes())


# ------------------------------------------------------------------------------ pareto


def test_class_mismatch_is_reported_and_the_data_class_used() -> None:
    data = pd.DataFrame({"cause": ["price", "price", "服务态度"], "class": [2, 1, 2]})
    result = mc.pareto(data, cause="cause", cause_class="class")
    assert [w.key for w in result.warnings] == ["complaints.warn.class_mismatch"]
    assert result.warnings[0].params["n"] == 1
    assert result.classes.set_index("cause_class")["count"].to_dict() == {1: 1, 2: 2, 3: 0, 4: 0}


def test_unknown_cause_is_an_error_naming_the_row_without_a_class() -> None:
    data = pd.DataFrame({"cause": ["price", "network outage"]})
    with pytest.raises(InputError) as info:
        mc.pareto(data, cause="cause")
    assert info.value.key == "complaints.unknown_cause"
    assert info.value.params["row"] == "1"
    assert info.value.params["value"] == "network outage"
    assert "网络" not in info.value.render("zh")
    assert "原因分类" in info.value.render("zh")


def test_own_causes_are_kept_when_the_class_is_given() -> None:
    data = pd.DataFrame(
        {"cause": ["network outage", "network outage", "price"], "class": [1, 1, None]}
    )
    result = mc.pareto(data, cause="cause", cause_class="class")
    assert result.table["cause"].tolist() == ["network outage", "price"]
    assert result.table["cause_class"].tolist() == [1, 1]
    assert [w.key for w in result.warnings] == ["complaints.warn.not_in_taxonomy"]


def test_blank_causes_are_left_out_and_counted() -> None:
    data = pd.DataFrame({"cause": ["price", None, "  ", "price"]})
    result = mc.pareto(data, cause="cause")
    assert (result.n, result.n_missing) == (2, 2)
    assert result.warnings[0].key == "complaints.warn.no_cause"


def test_bad_inputs() -> None:
    with pytest.raises(ColumnNotFoundError):
        mc.pareto(pd.DataFrame({"x": ["price"]}), cause="cause")
    with pytest.raises(ValidationError):
        mc.pareto(pd.DataFrame({"cause": ["price"]}), cause="cause", threshold=1.5)
    with pytest.raises(InputError) as info:
        mc.pareto(pd.DataFrame({"cause": ["price"], "k": ["5"]}), cause="cause", cause_class="k")
    assert info.value.key == "complaints.bad_class_value"


def test_all_causes_lists_the_taxonomy() -> None:
    result = mc.pareto(pd.DataFrame({"cause": ["price"]}), cause="cause", all_causes=True)
    assert len(result.table) == 30
    assert result.table["count"].sum() == 1
    assert result.table["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert result.vital_few == ["price"]


CODES = list(load_taxonomy().codes())


@given(st.lists(st.sampled_from(CODES), min_size=1, max_size=300), st.floats(0.05, 1.0))
def test_pareto_invariants(causes: list[str], threshold: float) -> None:
    result = mc.pareto(pd.DataFrame({"cause": causes}), cause="cause", threshold=threshold)
    table = result.table
    assert table["share"].sum() == pytest.approx(1.0)
    cum = table["cumulative_share"].to_numpy()
    assert np.all(np.diff(cum) >= -1e-12)
    assert cum[-1] == pytest.approx(1.0)
    assert np.all(np.diff(table["count"].to_numpy()) <= 0)  # largest first
    assert result.classes["share"].sum() == pytest.approx(1.0)
    assert result.classes["count"].sum() == len(causes)
    # the vital few reach the threshold, and one cause fewer would not
    vital = table["vital_few"].to_numpy()
    assert vital[0]
    k = int(vital.sum())
    assert vital[:k].all()
    assert not vital[k:].any()
    assert cum[k - 1] >= threshold - 1e-9
    if k > 1:
        assert cum[k - 2] < threshold
    # the order of rows does not matter
    shuffled = mc.pareto(pd.DataFrame({"cause": causes[::-1]}), cause="cause", threshold=threshold)
    pd.testing.assert_frame_equal(shuffled.table, table)


# ------------------------------------------------------------------------------ SLA


def _t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_sla_counts_only_complaints_due() -> None:
    # critical: 2 h to respond, 24 h to resolve (the default workflow)
    data = pd.DataFrame(
        {
            "received_at": [
                _t("2024-01-01 00:00"),
                _t("2024-01-01 00:00"),
                _t("2024-01-01 00:00"),
                _t("2024-01-02 11:00"),
            ],
            "first_response_at": [_t("2024-01-01 01:00"), _t("2024-01-01 03:00"), pd.NaT, pd.NaT],
            "resolved_at": [_t("2024-01-01 20:00"), _t("2024-01-02 06:00"), pd.NaT, pd.NaT],
            "severity": ["critical"] * 4,
        }
    )
    result = mc.sla(data, as_of="2024-01-02 12:00", percentiles=(0.5,))
    table = result.table.set_index(["measure", "severity"])
    first = table.loc[("first_response", "critical")]
    # rows 0-2 are due (2 h passed), row 3 was received 1 h before as_of: not due yet
    assert (first["n_due"], first["n_within"], first["n_waiting"]) == (3, 1, 2)
    assert first["share_within"] == pytest.approx(1 / 3)
    resolution = table.loc[("resolution", "critical")]
    assert (resolution["n_due"], resolution["n_within"]) == (3, 1)
    assert first["target_hours"] == 2.0
    assert resolution["target_hours"] == 24.0
    assert table.loc[("first_response", "all"), "n_due"] == 3
    assert result.as_of == _t("2024-01-02 12:00")
    assert result.durations["first_response_hours"].tolist()[:2] == [1.0, 3.0]


def test_sla_targets_are_configurable_and_missing_severity_gets_the_default() -> None:
    data = pd.DataFrame(
        {
            "received_at": [_t("2024-01-01 00:00")] * 2,
            "first_response_at": [_t("2024-01-01 05:00")] * 2,
            "resolved_at": [_t("2024-01-01 10:00")] * 2,
            "severity": [None, "high"],
        }
    )
    wf = load_workflow().with_sla({"medium": (4.0, None), "high": (6.0, 8.0)})
    result = mc.sla(data, workflow=wf, as_of="2024-02-01")
    table = result.table.set_index(["measure", "severity"])
    assert table.loc[("first_response", "medium"), "share_within"] == 0.0  # 5 h > 4 h
    assert table.loc[("first_response", "high"), "share_within"] == 1.0  # 5 h <= 6 h
    assert table.loc[("resolution", "high"), "share_within"] == 0.0  # 10 h > 8 h
    assert [w.key for w in result.warnings] == ["complaints.warn.default_severity"]


def test_sla_refuses_a_response_before_the_complaint() -> None:
    data = pd.DataFrame(
        {
            "received_at": [_t("2024-01-02")],
            "first_response_at": [_t("2024-01-01")],
            "resolved_at": [pd.NaT],
        }
    )
    with pytest.raises(InputError) as info:
        mc.sla(data)
    assert info.value.key == "complaints.time_before_received"


def test_km_quantiles_match_the_product_limit_estimate() -> None:
    # times 1..6, censored at 3 and 5: S(1)=5/6, S(2)=4/6, S(4)=4/6*2/3, S(6)=0
    t = [1, 2, 3, 4, 5, 6]
    e = [True, True, False, True, False, True]
    assert mc.km_quantiles(t, e, [0.1, 0.3, 0.5, 0.9]) == [1.0, 2.0, 4.0, 6.0]
    assert np.isnan(mc.km_quantiles([1.0], [False], [0.5])[0])


@given(st.lists(st.floats(0.1, 100.0), min_size=1, max_size=60))
def test_km_without_censoring_is_the_empirical_quantile(times: list[float]) -> None:
    got = mc.km_quantiles(times, [True] * len(times), [0.5, 0.9])
    expected = [float(np.quantile(times, q, method="inverted_cdf")) for q in (0.5, 0.9)]
    assert got == pytest.approx(expected)


# ------------------------------------------------------------------------------ recovery


def test_recovery_rate_by_group_and_retention() -> None:
    data = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "received_at": [_t("2024-01-01")] * 4 + [_t("2024-06-01")],
            "satisfaction_after": [5, 4, 2, None, 5],
            "severity": ["low", "low", "high", "high", "low"],
            "escalated_to": ["none", "none", "media", "regulator", None],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "left": [None, "2024-02-01", None, "2024-05-01", None],
        }
    )
    result = mc.recovery(
        data, by=["severity"], customers=customers, left="left", horizon_days=90, as_of="2024-07-01"
    )
    rates = result.rates.set_index(["group_by", "group"])
    assert result.recovery_rate == pytest.approx(3 / 4)
    assert rates.loc[("severity", "low"), "recovery_rate"] == 1.0
    assert rates.loc[("severity", "high"), "recovery_rate"] == 0.0
    assert rates.loc[("severity", "high"), "n_answered"] == 1
    retention = result.retention.set_index("group")  # type: ignore[union-attr]
    # e is too recent (90 days not passed by July 1); b left within 90 days; d left after
    assert retention.loc["all", "n_evaluable"] == 4
    assert retention.loc["all", "n_retained"] == 3
    assert retention.loc["recovered", "n_retained"] == 1
    escalation = result.escalation.set_index("escalated_to")  # type: ignore[union-attr]
    assert escalation.loc["media", "share"] == pytest.approx(1 / 4)
    assert result.escalation_rate == pytest.approx(2 / 4)
    assert escalation.loc["media", "share_not_recovered"] == 1.0


def test_retention_from_activity() -> None:
    data = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "received_at": [_t("2024-01-01")] * 2,
            "satisfaction_after": [5, 1],
        }
    )
    activity = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "date": ["2024-01-01", "2024-05-01", "2024-02-01"]}
    )
    result = mc.recovery(data, activity=activity, horizon_days=90, as_of="2024-06-01")
    assert result.retention_rate == 0.5


def test_recovery_rejects_scores_off_the_scale() -> None:
    with pytest.raises(InputError) as info:
        mc.recovery(pd.DataFrame({"satisfaction_after": [4, 7]}))
    assert info.value.key == "complaints.bad_satisfaction"
    assert info.value.params["row"] == "1"


# ------------------------------------------------------------------------------ rate, iceberg


def test_complaint_rate_with_a_customer_table() -> None:
    complaints = pd.DataFrame(
        {"received_at": pd.to_datetime(["2024-01-10", "2024-02-10", "2024-02-11"])}
    )
    customers = pd.DataFrame(
        {
            "joined": ["2023-01-01", "2023-01-01", "2024-02-15", "2023-06-01"],
            "left": [None, "2024-02-01", None, None],
        }
    )
    result = mc.complaint_rate(complaints, customers, period="month", joined="joined", left="left")
    periods = result.periods.set_index("period")
    # January: 3 customers (the one joining in February not yet); February: 3 (one left Feb 1)
    assert periods["customers"].tolist() == [3.0, 3.0]
    assert periods["rate"].tolist() == pytest.approx([1000 / 3, 2000 / 3])
    assert result.rate == pytest.approx(1000 * 3 / 6)
    whole = mc.complaint_rate(complaints, customers)
    assert whole.rate == pytest.approx(750.0)


def test_complaint_rate_with_counts_per_period() -> None:
    complaints = pd.DataFrame({"received_at": pd.to_datetime(["2024-01-10", "2024-04-10"])})
    base = pd.Series({"2024Q1": 500, "2024Q2": 1000})
    result = mc.complaint_rate(complaints, base, period="quarter")
    assert result.periods["rate"].tolist() == [2.0, 1.0]
    with pytest.raises(ValidationError):
        mc.complaint_rate(complaints, base)


def test_iceberg_states_its_assumption() -> None:
    estimate = mc.iceberg(50, customers=800)
    assert estimate.dissatisfied_estimate == 1000.0
    assert estimate.silent_estimate == 950.0
    assert estimate.share_of_customers == 1.25
    assert [w.key for w in estimate.warnings] == ["complaints.warn.iceberg_too_big"]
    assert "5%" in estimate.assumption.render("en")
    assert "5%" in estimate.assumption.render("zh")
    assert estimate.to_dict()["assumption"]["code"] == "complaints.iceberg.assumption"
    assert mc.iceberg(50, complain_share=0.1).dissatisfied_estimate == 500.0
    with pytest.raises(ValidationError):
        mc.iceberg(10, complain_share=0)


# ------------------------------------------------------------------------------ trends


def test_trends_find_a_rising_product() -> None:
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    rows = []
    for i, month in enumerate(months):
        rows += [{"received_at": month, "product": "mobile", "channel": "app"}] * (2 + 3 * i)
        rows += [{"received_at": month, "product": "iptv", "channel": "store"}] * 5
    result = mc.trends(pd.DataFrame(rows), by=["product", "channel"], period="month")
    trend = result.trend.set_index(["dimension", "group"])
    assert trend.loc[("product", "mobile"), "direction"] == "rising"
    assert trend.loc[("product", "mobile"), "slope_per_period"] == pytest.approx(3.0)
    assert trend.loc[("product", "iptv"), "direction"] == "flat"
    assert trend.loc[("product", "iptv"), "slope_per_period"] == pytest.approx(0.0)
    counts = result.counts
    assert set(counts["period"]) == {m.strftime("%Y-%m") for m in months}
    assert (
        counts[(counts["dimension"] == "all")]["count"].sum()
        == sum(2 + 3 * i for i in range(12)) + 60
    )
