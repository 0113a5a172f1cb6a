"""The step loyalty engine: hand-computed cases per rule, incremental == full, invariants.

Every expected level below is worked out by hand from the rule text in
templates/loyalty/steps_default.yaml (SPEC section 4 "Loyalty by steps"); the SPEC gives no
numeric worked example for this method, so there is no golden file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allegiance.customers.engine import Engine, connect
from allegiance.customers.steps import (
    at_risk,
    explain,
    load_rules,
    parse_rules,
    run_steps,
    step_frames,
)
from allegiance.errors import ConfigError, InputError

M = [dt.date(2024, m, 1) for m in range(1, 7)]


def frame(rows: list[tuple]) -> pd.DataFrame:
    cols = [
        "customer_id",
        "month",
        "amount",
        "n_purchases",
        "products_held",
        "additions",
        "cancellations",
        "competitor_share",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["competitor_share"] = out["competitor_share"].astype("float64")
    return out


def series(cid: str, amounts, held=None, adds=None, cancels=None, comp=None, upto=0) -> list[tuple]:
    """Rows of one customer; with ``upto`` the last month is repeated (no change) up to
    that many months (a customer without a row in a month counts as having no business)."""
    n = len(amounts)
    held = held or [2] * n
    adds = adds or [0] * n
    cancels = cancels or [0] * n
    comp = comp or [None] * n
    if upto > n:
        extra = upto - n
        amounts, held = list(amounts) + [amounts[-1]] * extra, list(held) + [held[-1]] * extra
        adds, cancels = list(adds) + [0] * extra, list(cancels) + [0] * extra
        comp = list(comp) + [comp[-1]] * extra
        n = upto
    return [
        (cid, M[i], float(amounts[i]), 3, held[i], adds[i], cancels[i], comp[i]) for i in range(n)
    ]


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "join_date": [dt.date(2022, 6, 1)] * 5 + [dt.date(2023, 4, 15)],
    }
)


def moves_of(moves: pd.DataFrame, cid: str) -> list[tuple[str, str, int, int]]:
    sub = moves[moves["customer_id"] == cid]
    return [
        (pd.Timestamp(m).strftime("%Y-%m"), r, int(o), int(n))
        for m, r, o, n in zip(
            sub["month"], sub["rule"], sub["old_level"], sub["new_level"], strict=False
        )
    ]


def test_default_rules_hand_computed(engine: Engine) -> None:
    rows = (
        # a: 100 → 60 (-40%): purchases_fall (-1), nothing else
        series("a", [100, 60], upto=4)
        # b: a product cancelled (2 → 1 held is half of all services, no intelligence):
        #    services_lost_half wins the decline group (-2); product_cancelled not added
        + series("b", [100, 50], held=[2, 1], cancels=[0, 1], upto=4)
        # c: 3 → 2 products, revenue -20%: product_cancelled_revenue_down (-1)
        + series("c", [300, 240], held=[3, 2], cancels=[0, 1], upto=4)
        # d: competitor 0.3 → 0.6 (crosses 50%: -1) → 0.85 (crosses 80% after 50%: -1 more)
        + series("d", [100, 100, 100], comp=[0.3, 0.6, 0.85], upto=4)
        # e: competitor 0.3 → 0.9 at once: competitor_80 (-2)
        + series("e", [100, 100], comp=[0.3, 0.9], upto=4)
        # f: joined 2023-04-15, 12 months of tenure in 2024-04 (tenure band, +1); a new
        #    product with business +25% in 2024-02 (+1)
        + series("f", [100, 125, 125, 125], held=[2, 3, 3, 3], adds=[0, 1, 0, 0])
    )
    moves, state = step_frames(engine, frame(rows), customers=CUSTOMERS)
    assert moves_of(moves, "a") == [("2024-02", "purchases_fall", 3, 2)]
    assert moves_of(moves, "b") == [("2024-02", "services_lost_half", 3, 1)]
    assert moves_of(moves, "c") == [("2024-02", "product_cancelled_revenue_down", 3, 2)]
    assert moves_of(moves, "d") == [
        ("2024-02", "competitor_50", 3, 2),
        ("2024-03", "competitor_80_after_50", 2, 1),
    ]
    assert moves_of(moves, "e") == [("2024-02", "competitor_80", 3, 1)]
    assert moves_of(moves, "f") == [
        ("2024-02", "new_products_and_business_up", 3, 4),
        ("2024-04", "tenure_band", 4, 5),
    ]
    levels = dict(zip(state["customer_id"], state["level"].astype(int), strict=False))
    assert levels == {"a": 2, "b": 1, "c": 2, "d": 1, "e": 1, "f": 5}
    row = moves[moves["rule"] == "purchases_fall"].iloc[0]
    assert row["amount_change"] == pytest.approx(-0.4)


def test_bounds_set_and_custom_rules(engine: Engine) -> None:
    rules = parse_rules(
        {
            "levels": {"min": 1, "max": 3, "start": 2},
            "rules": [
                {"name": "up", "when": ["amount_change > 0.1"], "move": 5},
                {"name": "reset", "when": ["amount <= 0"], "set": 1},
                {"name": "period", "when": ["period_change crosses 0.5"], "move": 1},
            ],
            "window_months": 1,
        }
    )
    rows = series("x", [10, 20, 30, 0, 0, 50])
    moves, state = step_frames(engine, frame(rows), rules=rules)
    got = moves_of(moves, "x")
    # 20/10: up (2 → 3, clipped from 7) and period 1-month change 100% crosses 0.5 (3 → 3)
    assert got[0] == ("2024-02", "up", 2, 3)
    assert ("2024-02", "period", 3, 3) in got
    assert ("2024-04", "reset", 3, 1) in got
    assert int(state["level"].iloc[0]) in (1, 2, 3)


def test_incremental_equals_full(engine: Engine, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = []
    for k in range(30):
        amounts = np.round(rng.lognormal(4, 0.4, 6), 2)
        held = rng.integers(0, 4, 6).tolist()
        comp = [None if rng.random() < 0.5 else float(rng.random()) for _ in range(6)]
        cancels = rng.integers(0, 3, 6).tolist()
        rows += series(f"k{k:02d}", amounts.tolist(), held=held, cancels=cancels, comp=comp)
    act = frame(rows)
    full = tmp_path / "full"
    run_steps(engine, act, folder=full, customers=CUSTOMERS)
    inc = tmp_path / "inc"
    run_steps(engine, act, folder=inc, customers=CUSTOMERS, until=M[2])
    second = run_steps(engine, act, folder=inc, customers=CUSTOMERS)
    assert second.incremental
    assert [m.month for m in second.months] == [4, 5, 6]
    a = pd.read_parquet(full / "moves").sort_values(
        ["month", "customer_id", "seq"], ignore_index=True
    )
    b = pd.read_parquet(inc / "moves").sort_values(
        ["month", "customer_id", "seq"], ignore_index=True
    )
    pd.testing.assert_frame_equal(a, b)
    sa = pd.read_parquet(full / "state.parquet").sort_values("customer_id", ignore_index=True)
    sb = pd.read_parquet(inc / "state.parquet").sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(sa, sb)
    # nothing new: nothing processed, nothing changed
    again = run_steps(engine, act, folder=inc, customers=CUSTOMERS)
    assert again.months == ()
    # changed rules need --full
    with pytest.raises(ConfigError, match="--full"):
        run_steps(
            engine,
            act,
            folder=inc,
            rules=parse_rules({"rules": [{"name": "x", "when": ["amount > 1"], "move": 1}]}),
        )


def test_explain_and_at_risk(tmp_path: Path) -> None:
    rows = series("b", [100, 50], held=[2, 1], cancels=[0, 1]) + series("a", [100, 60])
    with connect() as eng:
        run_steps(eng, frame(rows), folder=tmp_path, customers=CUSTOMERS)
        ex = explain(eng, tmp_path, "b")
        assert ex.level == 1
        assert ex.start_level == 3
        assert ex.history["rule"].tolist() == ["services_lost_half"]
        assert "services_lost_share=0.5" in ex.history["values"].iloc[0]
        risk = at_risk(eng, tmp_path)
        assert risk.customers["customer_id"].tolist() == ["b"]
        assert risk.customers[["level_before", "level", "change"]].iloc[0].tolist() == [3, 1, -2]
        assert "half" in risk.customers["reasons"].iloc[0]
        with pytest.raises(InputError, match="zz"):
            explain(eng, tmp_path, "zz")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.lists(st.floats(0, 1000, allow_nan=False), min_size=4, max_size=4),
        min_size=1,
        max_size=6,
    ),
    held=st.lists(st.integers(0, 4), min_size=4, max_size=4),
    seed=st.integers(0, 1000),
)
def test_levels_stay_in_bounds_and_rows_order_does_not_matter(amounts, held, seed) -> None:
    rows = []
    for k, a in enumerate(amounts):
        rows += series(f"p{k}", a, held=held, cancels=[0, 1, 2, 0], comp=[None, 0.55, 0.9, 0.2])
    act = frame(rows)
    rules = load_rules()
    with connect() as eng:
        m1, s1 = step_frames(eng, act, rules=rules)
        m2, s2 = step_frames(eng, act.sample(frac=1.0, random_state=seed), rules=rules)
    assert s1["level"].between(rules.levels.min, rules.levels.max).all()
    if len(m1):
        assert m1["new_level"].between(1, 5).all()
        assert m1["old_level"].between(1, 5).all()
    pd.testing.assert_frame_equal(m1, m2)
    pd.testing.assert_frame_equal(s1, s2)


def test_rule_file_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="unknown measure 'amont'"):
        parse_rules({"rules": [{"name": "x", "when": ["amont < 1"], "move": 1}]})
    with pytest.raises(ConfigError, match="exactly one of 'move'"):
        parse_rules({"rules": [{"name": "x", "when": ["amount < 1"]}]})
    with pytest.raises(ConfigError, match="crosses"):
        parse_rules({"rules": [{"name": "x", "when": ["additions crosses 1"], "move": 1}]})
    with pytest.raises(ConfigError, match="min < max"):
        parse_rules({"levels": {"min": 3, "max": 2}, "rules": []})


def test_extends_default_removes_and_retunes() -> None:
    rules = parse_rules(
        {
            "extends": "default",
            "remove": ["tenure_band"],
            "rules": [
                {"name": "purchases_fall", "when": ["amount_change < -0.5"]},
                {"name": "vip", "when": ["amount >= 10000"], "set": 5},
            ],
        }
    )
    names = [r.name for r in rules.rules]
    assert "tenure_band" not in names
    assert names[-1] == "vip"
    assert rules.rule("purchases_fall").when[0].value == -0.5
    assert rules.rule("purchases_fall").move == -1


def test_default_rules_cite_the_spec() -> None:
    for rule in load_rules().rules:
        assert rule.spec
        assert rule.spec.startswith("SPEC §4 Loyalty by steps")
        assert rule.description.get("zh")
        assert rule.description.get("en")


def test_demo_truth_lost_half_recovered(tmp_path: Path) -> None:
    from allegiance.generate import (
        DemoConfig,
        generate,
        loyalty_events,  # noqa: F401 - registers the module
    )

    data = generate(DemoConfig(customers=1500, months=8, seed=11))
    truth = data.truth["loyalty_events"]["lost_half_by_month"]
    facts = data.tables["loyalty_facts"]
    assert len(facts) == 1500
    assert facts["product_types"].min() >= 1
    with connect() as eng:
        run_steps(eng, data.tables["activity"], folder=tmp_path, customers=data.tables["customers"])
        moves = pd.read_parquet(tmp_path / "moves")
    hit = moves[moves["rule"] == "services_lost_half"]
    found = hit.groupby(pd.to_datetime(hit["month"]).dt.strftime("%Y-%m")).size().to_dict()
    assert {k: v for k, v in truth.items() if v} == {k: int(v) for k, v in found.items()}
    assert sum(truth.values()) > 0


# --------------------------------------------------------------------------------------------
# All months in one pass (method="batch") against one month at a time (method="monthly")
# --------------------------------------------------------------------------------------------

CUSTOM = {
    "levels": {"min": 0, "max": 6, "start": 2},
    "window_months": 2,
    "rules": [
        {"name": "up", "when": ["amount_change > 0.1"], "move": 3, "group": "g"},
        {"name": "reset", "when": ["amount <= 0"], "set": 1, "group": "g"},
        {"name": "buy", "when": ["purchases crosses [2, 4]"], "move": 1},
        {"name": "fewer", "when": ["purchases_change < -0.5", "purchases_prev known"], "move": -2},
        {"name": "held", "when": ["products_held crosses 2", "products_prev >= 0"], "set": 5},
        {"name": "period", "when": ["period_change_prev > 0.2"], "move": -1},
        {"name": "lost", "when": ["services_lost_share >= 0.5"], "move": -4},
        {"name": "new", "when": ["tenure_months_prev unknown", "active == 1"], "move": 1},
    ],
}


def varied(seed: int, n: int = 24, months: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Activity with months missing, several rows for some customer-months, unknown values,
    customers who appear late, and a customer table with some customers never active."""
    rng = np.random.default_rng(seed)
    rows = []
    when = [dt.date(2024, 1, 1) + pd.DateOffset(months=k) for k in range(months)]
    for c in range(n):
        first = int(rng.integers(0, 3)) if c % 3 == 0 else 0
        for k in range(first, months):
            if rng.random() < 0.25:
                continue  # no row: no business that month
            copies = 2 if rng.random() < 0.08 else 1
            for _ in range(copies):
                rows.append(
                    (
                        f"v{c:02d}",
                        when[k].date(),
                        None if rng.random() < 0.05 else float(np.round(rng.lognormal(4, 0.6), 2)),
                        int(rng.integers(0, 6)),
                        None if rng.random() < 0.1 else int(rng.integers(0, 4)),
                        int(rng.integers(0, 2)),
                        int(rng.integers(0, 3)),
                        None if rng.random() < 0.5 else float(rng.random()),
                    )
                )
    customers = pd.DataFrame(
        {
            "customer_id": [f"v{c:02d}" for c in range(0, n + 4, 2)],
            "join_date": [
                dt.date(2021, 1, 15) + dt.timedelta(days=int(d))
                for d in rng.integers(0, 1100, (n + 4 + 1) // 2)
            ],
        }
    )
    return frame(rows), customers


def _folder_frames(folder: Path) -> list[pd.DataFrame]:
    moves = pd.read_parquet(folder / "moves").sort_values(
        ["month", "customer_id", "seq"], ignore_index=True
    )
    state = pd.read_parquet(folder / "state.parquet").sort_values("customer_id", ignore_index=True)
    return [moves, state, pd.read_parquet(folder / "levels.parquet")]


def _same_run(a: Path, b: Path) -> None:
    for x, y in zip(_folder_frames(a), _folder_frames(b), strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True)

    # every month has its file(s) of moves (a month's moves may come in several parts)
    def months(folder: Path) -> set[str]:
        return {f.name.split(".")[0] for f in (folder / "moves").glob("*.parquet")}

    assert months(a) == months(b)


def test_batch_equals_monthly(engine: Engine, tmp_path: Path) -> None:
    """Every move (rule, measured values, old and new level), the state and the level counts
    are the same whichever way the months run: in one pass, one month at a time, and one way
    first with the other going on incrementally from the stored state."""
    act, customers = varied(12)
    assert act.duplicated(["customer_id", "month"]).any()
    monthly = run_steps(engine, act, folder=tmp_path / "m", method="monthly", customers=customers)
    batch = run_steps(engine, act, folder=tmp_path / "b", method="batch", customers=customers)
    assert batch.n_moves == monthly.n_moves > 20
    pd.testing.assert_frame_equal(batch.rule_counts, monthly.rule_counts)
    pd.testing.assert_frame_equal(batch.levels, monthly.levels)
    assert batch.n_customers == monthly.n_customers
    _same_run(tmp_path / "m", tmp_path / "b")
    run_steps(engine, act, folder=tmp_path / "i", method="monthly", until=M[1], customers=customers)
    later = run_steps(engine, act, folder=tmp_path / "i", method="batch", customers=customers)
    assert later.incremental
    assert len(later.months) == 5
    _same_run(tmp_path / "m", tmp_path / "i")


def test_batch_equals_monthly_custom_rules_and_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Custom rules (set, bands, purchases, a 2-month window, levels 0-6), a run in blocks
    of 3 months (the state between blocks is the stored state) and one with the customers
    split into parts."""
    from allegiance.customers import steps

    act, customers = varied(11)
    rules = parse_rules(CUSTOM)
    kw = {"customers": customers, "rules": rules}
    with connect() as eng:
        monthly = run_steps(eng, act, folder=tmp_path / "m", method="monthly", **kw)
        assert {"reset", "held", "buy"} <= set(
            monthly.rule_counts.loc[monthly.rule_counts["n_moves"] > 0, "rule"]
        )
        run_steps(eng, act, folder=tmp_path / "b", method="batch", **kw)
        _same_run(tmp_path / "m", tmp_path / "b")
        monkeypatch.setattr(steps, "_BLOCK_MONTHS", 3)
        blocks = run_steps(eng, act, folder=tmp_path / "k", method="batch", **kw)
        pd.testing.assert_frame_equal(blocks.rule_counts, monthly.rule_counts)
        _same_run(tmp_path / "m", tmp_path / "k")
        # the customers split into parts, each run in its own pass
        monkeypatch.setattr(steps, "_BUCKET_ROWS", 40)
        run_steps(eng, act, folder=tmp_path / "p", method="batch", **kw)
        assert len(list((tmp_path / "p" / "moves").glob("*.*.parquet"))) > 0
        _same_run(tmp_path / "m", tmp_path / "p")
        run_steps(eng, act, folder=tmp_path / "i", method="batch", until=M[3], **kw)
        run_steps(eng, act, folder=tmp_path / "i", method="batch", **kw)
        _same_run(tmp_path / "m", tmp_path / "i")


def test_batch_without_customers_and_one_month(tmp_path: Path) -> None:
    act, _ = varied(13, n=12, months=4)
    with connect() as eng:
        m1, s1 = step_frames(eng, act, method="monthly")
        m2, s2 = step_frames(eng, act, method="batch")
        pd.testing.assert_frame_equal(m1, m2, check_exact=True)
        pd.testing.assert_frame_equal(s1, s2, check_exact=True)
        one = act[act["month"] == act["month"].min()]
        a = run_steps(eng, one, folder=tmp_path / "a", method="batch")
        b = run_steps(eng, one, folder=tmp_path / "b", method="monthly")
        assert a.months == b.months
        assert len(a.months) == 1
        _same_run(tmp_path / "a", tmp_path / "b")
        with pytest.raises(InputError, match="monthly"):
            run_steps(eng, act, folder=tmp_path / "c", method="weekly")


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    fall=st.sampled_from([-0.5, -0.3, -0.1]),
    start=st.integers(1, 5),
    window=st.integers(1, 3),
)
def test_batch_equals_monthly_property(seed: int, fall: float, start: int, window: int) -> None:
    rules = parse_rules(
        {
            "extends": "default",
            "levels": {"min": 1, "max": 5, "start": start},
            "window_months": window,
            "rules": [
                {"name": "purchases_fall", "when": [f"amount_change < {fall}"]},
                {"name": "floor", "when": ["amount <= 0", "products_held <= 0"], "set": 1},
            ],
        }
    )
    act, customers = varied(seed, n=10, months=5)
    with connect() as eng:
        m1, s1 = step_frames(eng, act, rules=rules, customers=customers, method="monthly")
        m2, s2 = step_frames(eng, act, rules=rules, customers=customers, method="batch")
    pd.testing.assert_frame_equal(m1, m2, check_exact=True)
    pd.testing.assert_frame_equal(s1, s2, check_exact=True)
