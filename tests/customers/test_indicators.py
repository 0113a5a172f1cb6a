"""Customer indicators on hand-made tables: every expected value is worked out in the comments.

The same assertions run on DuckDB and on Spark (the ``engine`` fixture).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from tests.customers import _frames as F

from allegiance.customers.engine import Engine
from allegiance.customers.indicators import indicators, period_start
from allegiance.customers.inputs import read_source

D = dt.date


def _tables(engine: Engine) -> dict[str, object]:
    return {
        "activity": read_source(engine, F.EVENTS, kind="activity", mapping=F.MAPPING),
        "customers": read_source(engine, F.CUSTOMERS, kind="customers"),
        "engagement": read_source(engine, F.ENGAGEMENT, kind="engagement"),
        "price_changes": read_source(engine, F.PRICE, kind="price_changes"),
        "complaints": read_source(engine, F.COMPLAINTS, kind="complaints"),
        "market": read_source(engine, F.MARKET, kind="market"),
        "brand": read_source(engine, F.BRAND, kind="brand"),
    }


def test_leaky_bucket_by_hand(engine: Engine) -> None:
    t = _tables(engine)
    r = indicators(engine, t["activity"])  # type: ignore[arg-type]
    p = r.periods
    assert list(p["period"]) == [D(2024, m, 1) for m in (1, 2, 3, 4)]
    # active: Jan a,b,c; Feb a,b(holding); Mar a,d(holding); Apr a,b,d
    assert p["customers_end"].tolist() == [3, 2, 2, 3]
    assert p["customers_start"].iloc[1:].tolist() == [3, 2, 2]
    # Feb: c lost; Mar: b lost, d new; Apr: b reactivated
    assert p["lost"].iloc[1:].tolist() == [1, 1, 0]
    assert p["new"].iloc[1:].tolist() == [0, 1, 0]
    assert p["reactivated"].iloc[1:].tolist() == [0, 0, 1]
    assert p["retained"].iloc[1:].tolist() == [2, 1, 2]
    assert p["retention_rate"].iloc[1:].tolist() == pytest.approx([2 / 3, 1 / 2, 1.0])
    assert p["churn_rate"].iloc[1:].tolist() == pytest.approx([1 / 3, 1 / 2, 0.0])
    # (new + reactivated - lost) / lost: Feb -1/1, Mar 0/1, Apr undefined (nobody lost)
    assert p["growth_rate_material"].iloc[1:3].tolist() == pytest.approx([-1.0, 0.0])
    assert math.isnan(p["growth_rate_material"].iloc[3])
    assert p["growth_rate_start"].iloc[1:].tolist() == pytest.approx([-1 / 3, 0.0, 0.5])
    assert any(w.key == "customers.warn.no_lost" for w in r.warnings)
    # the first period has no start
    assert pd.isna(p["customers_start"].iloc[0])
    assert math.isnan(p["retention_rate"].iloc[0])
    # amounts: Jan 10+30+30+8+2, Feb 20+15, Mar 10+0+12, Apr 5+40+12+0
    assert p["amount"].tolist() == pytest.approx([80.0, 35.0, 22.0, 57.0])
    assert p["n_purchases"].tolist() == [5, 1, 1, 3]
    assert p["products_per_customer"].tolist() == pytest.approx([0.0, 0.5, 0.5, 0.0])
    assert p["additions"].tolist() == [0, 0, 1, 0]
    assert p["cancellations"].tolist() == [0, 0, 0, 1]
    s = r.summary.iloc[0]
    assert s["customers"] == 4
    # retained 2+1+2 over starts 3+2+2; lost 1+1+0
    assert s["retention_rate"] == pytest.approx(5 / 7)
    assert s["churn_rate"] == pytest.approx(2 / 7)
    assert (s["new"], s["reactivated"], s["lost"]) == (1, 1, 2)
    assert s["growth_rate_material"] == pytest.approx(0.0)
    assert s["growth_rate_start"] == pytest.approx(0.0)
    # purchases: a 4, b 3, c 2, d 1 -> 3 of 4 buyers repeat; periods with a purchase:
    # a 4, b 2 (Jan, Apr), c 1, d 1 -> 2 of 4
    assert s["repeat_purchase_rate"] == pytest.approx(0.75)
    assert s["repeat_period_rate"] == pytest.approx(0.5)
    assert s["amount"] == pytest.approx(194.0)
    assert s["amount_per_customer"] == pytest.approx(48.5)
    assert s["amount_per_purchase"] == pytest.approx(19.4)


def test_optional_tables_by_hand(engine: Engine) -> None:
    t = _tables(engine)
    act = t.pop("activity")
    r = indicators(engine, act, survey=F.SURVEY, horizon=1, **t)  # type: ignore[arg-type]
    s = r.summary.iloc[0]
    # tenure at 2024-05 of a, b, d (active in April): 52, 11 and 2 months
    assert s["tenure_months"] == pytest.approx(65 / 3)
    tenure = r.tenure
    assert tenure is not None
    assert tenure["customers"].tolist() == [2, 0, 1, 0]
    assert tenure["share"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 3, 0.0])
    # engagement: Feb a (2 events) of 2 active, Mar d of 2 active (c's referral in March is
    # while c is not a customer); referrals by a and c of the 4 customers
    p = r.periods
    assert p["engaged"].tolist() == [0, 1, 1, 0]
    assert p["engagement_rate"].tolist() == pytest.approx([0.0, 0.5, 0.5, 0.0])
    assert p["events_per_customer"].tolist() == pytest.approx([0.0, 1.0, 0.5, 0.0])
    assert s["engagement_rate"] == pytest.approx(2 / 10)
    assert s["referral_rate"] == pytest.approx(0.5)
    eng = r.engagement
    assert eng is not None
    assert eng.set_index("kind")["events"].to_dict() == {
        "care_call": 1,
        "club_event": 1,
        "referral": 2,
    }
    # price rise in Jan for a and c: a still there in Feb, c not; b (no rise) stays
    price = r.price_sensitivity
    assert price is not None
    assert len(price) == 1
    row = price.iloc[0]
    assert row["period"] == D(2024, 1, 1)
    assert (row["n_exposed"], row["n_control"]) == (2, 1)
    assert row["retention_exposed"] == pytest.approx(0.5)
    assert row["retention_control"] == pytest.approx(1.0)
    assert row["difference"] == pytest.approx(-0.5)
    assert row["mean_change"] == pytest.approx(0.1)
    assert any(w.key == "customers.warn.price_too_late" for w in r.warnings)  # d's April rise
    # complaints: Jan 1 of 3 active, Feb 2 of 2 active; overall 3 per 10 customer-months
    assert p["complaints"].tolist() == [1, 2, 0, 0]
    assert p["complaints_per_1000"].tolist() == pytest.approx([1000 / 3, 1000.0, 0.0, 0.0])
    assert s["complaints_per_1000"] == pytest.approx(300.0)
    # share of wallet in Jan: a mean(0.8, 0.6), b 0.5 -> 0.6 over 2 known
    assert p["sow_known"].tolist() == [2, 0, 0, 0]
    assert p["share_of_wallet"].iloc[0] == pytest.approx(0.6)
    assert s["share_of_wallet"] == pytest.approx(0.6)
    # named brand: 2 of 7 purchases
    assert s["named_brand_rate"] == pytest.approx(2 / 7)
    # survey: csat 4-5: 2 of 4; repurchase >= 3: 2 of 4; NPS (2 - 1) / 4
    survey = r.survey
    assert survey is not None
    assert survey.set_index("measure")["value"].to_dict() == pytest.approx(
        {"satisfaction_rate": 0.5, "loyalty_rate": 0.5, "nps": 25.0}
    )
    d = r.to_dict()
    assert d["summary"]["customers"] == 4
    assert d["period"] == "month"
    assert set(r.tables()) == {
        "summary",
        "periods",
        "tenure",
        "engagement",
        "price_sensitivity",
        "survey",
    }


MONTHLY = pd.DataFrame(
    {
        "customer_id": ["x", "x", "x", "y", "y", "y"],
        "month": [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)] * 2,
        "amount": [5.0, 5.0, 5.0, 3.0, 0.0, 4.0],
        "n_purchases": [1, 1, 1, 1, 0, 2],
        "products_held": [1, 1, 1, 1, 0, 1],
        "competitor_share": [0.5, None, 0.25, None, None, None],
    }
)


def test_monthly_layout_and_quarters(engine: Engine) -> None:
    act = read_source(engine, MONTHLY, kind="activity")
    r = indicators(engine, act)
    p = r.periods
    # y is away in February and back in March
    assert p["customers_end"].tolist() == [2, 1, 2]
    assert p["lost"].iloc[1:].tolist() == [1, 0]
    assert p["reactivated"].iloc[1:].tolist() == [0, 1]
    assert p["share_of_wallet"].tolist()[0] == pytest.approx(0.5)
    assert p["share_of_wallet"].tolist()[2] == pytest.approx(0.75)
    assert r.summary.iloc[0]["repeat_purchase_rate"] == pytest.approx(1.0)
    q = indicators(engine, act, period="quarter")
    assert q.periods["period"].tolist() == [D(2024, 1, 1)]
    assert q.periods["customers_end"].tolist() == [2]
    assert q.periods["amount"].tolist() == pytest.approx([22.0])
    # products held are a monthly stock: (x 1+1+1, y 1+0+1) over 5 customer-months
    assert q.periods["products_per_customer"].tolist() == pytest.approx([1.0])
    assert period_start(2024 * 4 + 2, "quarter") == D(2024, 7, 1)
