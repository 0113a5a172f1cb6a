"""Small hand-made tables shared by the customer tests (values worked out by hand in each test)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

D = dt.date

# events layout: a buys every month; b buys in Jan, holds a product in Feb, is away in Mar and
# comes back in Apr; c buys twice in Jan only; d adds and holds a product in Mar, buys in Apr.
EVENTS = pd.DataFrame(
    [
        ("a", D(2024, 1, 5), "purchase", "P", 10.0),
        ("a", D(2024, 2, 3), "purchase", "P", 20.0),
        ("a", D(2024, 3, 9), "purchase", "P", 10.0),
        ("a", D(2024, 4, 1), "purchase", "P", 5.0),
        ("b", D(2024, 1, 10), "purchase", "P", 30.0),
        ("b", D(2024, 1, 20), "purchase", "Q", 30.0),
        ("b", D(2024, 2, 1), "holding", "X", 15.0),
        ("b", D(2024, 4, 2), "purchase", "P", 40.0),
        ("c", D(2024, 1, 15), "purchase", "P", 8.0),
        ("c", D(2024, 1, 25), "purchase", "P", 2.0),
        ("d", D(2024, 3, 3), "addition", "Y", 0.0),
        ("d", D(2024, 3, 3), "holding", "Y", 12.0),
        ("d", D(2024, 4, 8), "purchase", "Y", 12.0),
        ("d", D(2024, 4, 20), "cancellation", "Y", 0.0),
    ],
    columns=["cust_no", "txn_date", "event_type", "product", "value_cny"],
)
MAPPING = {"customer": "cust_no", "date": "txn_date", "event": "event_type", "amount": "value_cny"}

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "join_date": [D(2020, 1, 15), D(2023, 6, 1), D(2024, 1, 1), D(2024, 3, 3)],
        "segment": ["consumer", "sme", "consumer", "sme"],
    }
)
ENGAGEMENT = pd.DataFrame(
    {
        "customer_id": ["a", "a", "d", "c"],
        "date": [D(2024, 2, 4), D(2024, 2, 9), D(2024, 3, 20), D(2024, 3, 1)],
        "kind": ["club_event", "referral", "care_call", "referral"],
    }
)
PRICE = pd.DataFrame(
    {
        "customer_id": ["a", "c", "d"],
        "date": [D(2024, 1, 10), D(2024, 1, 12), D(2024, 4, 2)],
        "change": [0.1, 0.1, 0.2],
    }
)
COMPLAINTS = pd.DataFrame(
    {"customer_id": ["b", "a", "a"], "date": [D(2024, 1, 2), D(2024, 2, 2), D(2024, 2, 3)]}
)
MARKET = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "c"],
        "date": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 1), D(2024, 3, 1)],
        "product": ["P", "Q", "P", "P"],
        "competitor_share": [0.2, 0.4, 0.5, 0.1],
    }
)
BRAND = pd.DataFrame({"customer_id": ["a", "b"], "n_purchases": [4, 3], "n_named": [2, 0]})
SURVEY = pd.DataFrame({"csat": [5, 4, 3, 2], "repurchase": [3, 3, 1, 2], "nps": [10, 9, 0, 7]})

# RFM: four buyers, purchases only
RFM = pd.DataFrame(
    [
        ("c1", D(2024, 1, 1), "purchase", 10.0),
        ("c2", D(2024, 3, 1), "purchase", 20.0),
        ("c2", D(2024, 3, 15), "purchase", 20.0),
        ("c3", D(2024, 2, 1), "purchase", 5.0),
        ("c3", D(2024, 6, 30), "purchase", 5.0),
        ("c3", D(2024, 6, 30), "purchase", 5.0),
        ("c4", D(2024, 6, 1), "purchase", 100.0),
    ],
    columns=["customer", "date", "event", "amount"],
)
ATTITUDES = pd.DataFrame(
    {
        "customer": ["u1", "u2", "u3", "u4"],
        "imp_price": [7, 4, 4, 5],
        "imp_service": [4, 7, 4, 5],
        "imp_product": [4, 4, 7, 5],
    }
)
