"""Response quality: speeders, straight-liners, duplicates on constructed data; raking
invariants (hypothesis) and the one-variable case, where raking is post-stratification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.survey._defs import minimal, q

from allegiance.errors import InputError, ValidationError
from allegiance.survey.definition import parse_definition
from allegiance.survey.quality import (
    QualitySettings,
    assess,
    duplicates,
    load_margins,
    rake,
    speeders,
    straightliners,
)


def test_speeders_are_below_a_fraction_of_the_median() -> None:
    durations = [300, 90, 110, 100, 20, None, 40]
    # median of the known durations is 95; a third of it is 31.67
    assert list(speeders(durations)) == [False, False, False, False, True, False, False]
    assert list(speeders(durations, fraction=0.5)) == [False] * 4 + [True, False, True]
    assert not speeders([None, None]).any()


def _grid(n: int, **extra: object) -> object:
    return parse_definition(minimal(*[q(f"g{i}", "five_level", **extra) for i in range(n)]))


def test_straightliners_need_a_full_grid_of_one_answer() -> None:
    d = _grid(5)
    frame = pd.DataFrame(
        {
            f"g{i}": col
            for i, col in enumerate(
                zip(
                    *[[3, 3, 3, 3, 3], [3, 3, 3, 3, 4], [5, 5, 5, 5, np.nan], [1, 1, 1, 1, 1]],
                    strict=True,
                )
            )
        }
    )
    assert list(straightliners(d, frame)) == [True, False, False, True]
    # a grid of four items is below the default minimum of five
    small = _grid(4)
    assert not straightliners(small, frame[["g0", "g1", "g2", "g3"]]).any()
    assert list(straightliners(small, frame[["g0", "g1", "g2", "g3"]], min_items=4)) == [True] * 4


def test_duplicates_by_customer_and_by_answers_and_agent() -> None:
    t0 = pd.Timestamp("2025-01-01T10:00Z")
    meta = pd.DataFrame(
        {
            "response_id": [1, 2, 3, 4, 5],
            "customer_id": ["A", "B", "A", None, None],
            "user_agent_hash": ["u1", "u2", "u3", "u2", "u2"],
            "submitted_at": [
                t0,
                t0,
                t0 + pd.Timedelta("1h"),
                t0 + pd.Timedelta("5min"),
                t0 + pd.Timedelta("3D"),
            ],
        }
    )
    answers = pd.DataFrame({"x": [1, 2, 3, 2, 2]})
    flag, first = duplicates(meta, answers, window_s=86400)
    # 3 repeats customer A; 4 repeats 2's answers from the same agent within a day;
    # 5 has the same answers and agent but three days later
    assert list(flag) == [False, False, True, True, False]
    assert first == [None, None, 1, 2, None]


def test_assess_flags_but_keeps_every_response() -> None:
    d = _grid(5)
    meta = pd.DataFrame(
        {
            "response_id": [1, 2, 3],
            "customer_id": ["A", "B", "A"],
            "duration_s": [100.0, 10.0, 120.0],
            "user_agent_hash": [None, None, None],
            "submitted_at": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True),
        }
    )
    answers = pd.DataFrame({f"g{i}": [4, 4, 1 + i % 5] for i in range(5)})
    result = assess(d, meta, answers, settings=QualitySettings())
    flags = result.flags
    assert len(flags) == 3
    assert list(flags["speeder"]) == [False, True, False]
    assert list(flags["straightliner"]) == [True, True, False]
    assert list(flags["duplicate"]) == [False, False, True]
    summary = result.summary().set_index("flag")["n"].to_dict()
    assert summary == {"speeder": 1, "straightliner": 2, "duplicate": 1, "any": 3}
    body = result.to_dict()
    assert body["n"] == 3
    assert len(body["flags"]) == 3


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        QualitySettings(speeder_fraction=1.5)
    with pytest.raises(ValidationError):
        QualitySettings(straightline_min_items=1)


def test_one_variable_raking_is_post_stratification() -> None:
    # With one variable, raking gives each category target share / sample share (the
    # post-stratification weight, Kish 1965 section 11.7 / Lumley 2010 section 7.1):
    # sample 6 men 4 women, population 50/50 -> men 0.5/0.6, women 0.5/0.4; scaled to mean 1
    # that is 5/6 and 5/4; deff = n Σw² / (Σw)² = 10 (6·25/36 + 4·25/16) / 100 = 1.041666...
    data = pd.DataFrame({"sex": ["m"] * 6 + ["f"] * 4})
    result = rake(data, {"sex": {"m": 0.5, "f": 0.5}})
    assert result.converged
    np.testing.assert_allclose(result.weights, [5 / 6] * 6 + [5 / 4] * 4)
    assert result.deff == pytest.approx(1 + 1 / 24)
    assert result.n_eff == pytest.approx(10 / (1 + 1 / 24))


@st.composite
def _samples(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    n = draw(st.integers(20, 120))
    a = draw(st.lists(st.sampled_from(["a1", "a2", "a3"]), min_size=n, max_size=n))
    b = draw(st.lists(st.sampled_from(["b1", "b2"]), min_size=n, max_size=n))
    data = pd.DataFrame({"a": a, "b": b})
    margins: dict[str, dict[str, float]] = {}
    for var in ("a", "b"):
        cats = sorted(set(data[var]))
        shares = draw(st.lists(st.floats(0.1, 1.0), min_size=len(cats), max_size=len(cats)))
        margins[var] = dict(zip(cats, shares, strict=True))
    # every cell of the a x b table needs a row, else some margins may be unreachable
    if data.groupby(["a", "b"]).size().size < len(set(a)) * len(set(b)):
        data = pd.concat(
            [
                data,
                pd.DataFrame(
                    [(x, y) for x in sorted(set(a)) for y in sorted(set(b))], columns=["a", "b"]
                ),
            ],
            ignore_index=True,
        )
    return data, margins


@settings(max_examples=60, deadline=None)
@given(_samples())
def test_raking_invariants(case: tuple[pd.DataFrame, dict[str, dict[str, float]]]) -> None:
    data, margins = case
    result = rake(data, margins, max_iter=2000, tol=1e-9)
    w = result.weights
    assert result.converged
    assert np.all(w > 0)
    assert np.mean(w) == pytest.approx(1.0)
    for var, shares in margins.items():
        total = sum(shares.values())
        for cat, share in shares.items():
            got = w[(data[var] == cat).to_numpy()].sum() / w.sum()
            assert got == pytest.approx(share / total, abs=1e-6)
    assert result.deff >= 1 - 1e-12
    assert result.deff == pytest.approx(1 + np.var(w) / np.mean(w) ** 2)
    assert result.n_eff == pytest.approx(len(w) / result.deff)


def test_raking_names_bad_margins() -> None:
    data = pd.DataFrame({"sex": ["m", "f", "x"]})
    with pytest.raises(ValidationError) as info:
        rake(data, {"sex": {"m": 0.5, "f": 0.5}})
    assert info.value.key == "responses.rake.unknown_category"
    assert info.value.params["row"] == 3
    with pytest.raises(ValidationError) as info:
        rake(data, {"age": {"1": 1.0}})
    assert info.value.key == "responses.rake.no_variable"
    with pytest.raises(ValidationError) as info:
        rake(pd.DataFrame({"sex": ["m"]}), {"sex": {"m": 0.5, "f": 0.5}})
    assert info.value.key == "responses.rake.empty_category"


def test_margins_from_yaml_and_csv(tmp_path: Path) -> None:
    y = tmp_path / "m.yaml"
    y.write_text("sex: {m: 0.48, f: 0.52}\nregion:\n  1: 30\n  2: 70\n", encoding="utf-8")
    assert load_margins(y) == {"sex": {"m": 0.48, "f": 0.52}, "region": {"1": 30.0, "2": 70.0}}
    c = tmp_path / "m.csv"
    c.write_text("variable,category,share\nsex,m,0.48\nsex,f,0.52\n", encoding="utf-8")
    assert load_margins(c) == {"sex": {"m": 0.48, "f": 0.52}}
    c.write_text("variable,category,share\nsex,m,-1\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_margins(c)
