"""AHP (allegiance.methods.ahp): published examples, reference tools, invariants, errors.

Reference values live in tests/golden/ahp/ (README there names every source): published
worked examples (Saaty 2005, 2008; the Wikipedia leader and car examples as reproduced by
ahpy; Harker 1987) and the full-precision output of two independent implementations
(ahpy 2.1, pyanp 0.3.1) stored in reference_tools.json with the script that made it.
Other expectations are worked out by hand in the comments.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ConfigError, ValidationError
from allegiance.methods import ahp as A
from allegiance.results import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ahp"
REF = json.loads((GOLDEN / "reference_tools.json").read_text(encoding="utf-8"))
AHPY_RI = {"saaty": "saaty2005", "dd": "donegan-dodd"}  # ahpy's names for the two tables


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((GOLDEN / f"{name}.yaml").read_text(encoding="utf-8"))
    return data


def hierarchy(name: str) -> A.Hierarchy:
    return A.load_hierarchy(GOLDEN / f"{name}.yaml")


def consistent_matrix(w: np.ndarray) -> np.ndarray:
    return w[:, None] / w[None, :]


# --------------------------------------------------------------------------------------------
# Published examples
# --------------------------------------------------------------------------------------------


def test_drinks_reproduces_saaty_2008_and_ahpy_to_4_decimals() -> None:
    expected = golden("drinks")["expected"]
    r = A.analyze(hierarchy("drinks"), ri="donegan-dodd").node("drinks")
    for label, weight in expected["ahpy_4dp"]["weights"].items():
        assert r.weight(label) == pytest.approx(weight, abs=5e-5)
    assert r.cr == pytest.approx(expected["ahpy_4dp"]["cr_donegan_dodd"], abs=5e-5)
    assert r.ri_table == "donegan-dodd"
    saaty = A.analyze(hierarchy("drinks"), ri="saaty2005").node("drinks")
    for label, weight in expected["saaty2008_3dp"]["weights"].items():
        assert saaty.weight(label) == pytest.approx(weight, abs=5e-4)
    assert saaty.cr == pytest.approx(expected["saaty2008_3dp"]["cr_saaty"], abs=5e-4)


def test_drinks_against_pyanp_eigen_geometric_and_lambda() -> None:
    ref = REF["pyanp"]["drinks"]
    h = hierarchy("drinks")
    eigen = A.analyze(h).node("drinks")
    geometric = A.analyze(h, method="geometric").node("drinks")
    for label in ref["eigen"]:
        assert eigen.weight(label) == pytest.approx(ref["eigen"][label], abs=1e-9)
        assert geometric.weight(label) == pytest.approx(ref["geometric"][label], abs=1e-12)
    assert eigen.lambda_max == pytest.approx(ref["lambda_max"], abs=1e-8)
    # λmax is a property of the matrix, not of the priority method.
    assert geometric.lambda_max == pytest.approx(eigen.lambda_max, abs=1e-12)
    assert geometric.cr == pytest.approx(eigen.cr, abs=1e-12)


def test_cities_saaty_2005_synthesis_to_4_decimals() -> None:
    expected = golden("cities")["expected"]["ahpy_tests_4dp"]["alternatives"]
    r = A.analyze(hierarchy("cities"), ri="donegan-dodd")
    got = dict(zip(r.alternatives["alternative"], r.alternatives["weight"], strict=True))
    for label, weight in expected.items():
        assert got[label] == pytest.approx(weight, abs=5e-5)
    ranks = dict(zip(r.alternatives["alternative"], r.alternatives["rank"], strict=True))
    assert ranks == {"pittsburgh": 1, "boston": 2, "bethesda": 3, "santa_fe": 4}


def test_leader_example_as_published_by_ahpy() -> None:
    # ahpy's README rounds every node to 3 decimals before composing: allow 1.5e-3.
    expected = golden("leader")["expected"]["ahpy_readme_3dp"]
    r = A.analyze(hierarchy("leader"), ri="saaty2005")
    alts = dict(zip(r.alternatives["alternative"], r.alternatives["weight"], strict=True))
    for label, weight in expected["alternatives"].items():
        assert alts[label] == pytest.approx(weight, abs=1.5e-3)
    goal = r.node("leader")
    for label, weight in expected["criteria"].items():
        assert goal.weight(label) == pytest.approx(weight, abs=5e-4)
    assert goal.cr == pytest.approx(expected["criteria_cr_saaty2005"], abs=5e-4)
    experience = r.node("experience")
    for label, weight in expected["experience_weights"].items():
        assert experience.weight(label) == pytest.approx(weight, abs=5e-4)
    assert experience.cr == pytest.approx(expected["experience_cr_saaty2005"], abs=5e-4)
    education = r.node("education")
    g = goal.weight("education")
    for label, weight in expected["education_global"].items():
        assert g * education.weight(label) == pytest.approx(weight, abs=1e-3)
    assert education.cr == pytest.approx(expected["education_cr_saaty2005"], abs=5e-4)


def test_car_example_as_published_by_ahpy() -> None:
    expected = golden("car")["expected"]["ahpy_readme_3dp"]
    r = A.analyze(hierarchy("car"), ri="donegan-dodd")
    for node, key in (("criteria", "criteria"), ("cost", "cost_local"), ("price", "price_local")):
        for label, weight in expected[key].items():
            assert r.node(node).weight(label) == pytest.approx(weight, abs=5e-4), (node, label)
    for label, weight in expected["cargo_local"].items():
        assert r.node("cargo").weight(label) == pytest.approx(weight, abs=5e-4)
    assert r.node("criteria").cr == pytest.approx(expected["criteria_cr_donegan_dodd"], abs=5e-3)
    assert r.node("cost").cr == pytest.approx(expected["cost_cr_donegan_dodd"], abs=5e-4)
    assert r.node("price").cr == pytest.approx(expected["price_cr_donegan_dodd"], abs=5e-4)
    assert r.node("cargo").cr == pytest.approx(expected["cargo_cr_donegan_dodd"], abs=5e-4)
    alts = dict(zip(r.alternatives["alternative"], r.alternatives["weight"], strict=True))
    for label, weight in expected["alternatives"].items():
        assert alts[label] == pytest.approx(weight, abs=1.5e-3)


@pytest.mark.parametrize("name", ["drinks", "leader", "car", "cities"])
@pytest.mark.parametrize("ahpy_ri", ["saaty", "dd"])
def test_hierarchies_match_ahpy_at_full_precision(name: str, ahpy_ri: str) -> None:
    ref = REF["ahpy"][name][ahpy_ri]
    r = A.analyze(hierarchy(name), ri=AHPY_RI[ahpy_ri])
    for node, expected in ref["nodes"].items():
        got = r.node(node)
        for label, weight in expected["local_weights"].items():
            assert got.weight(label) == pytest.approx(weight, abs=1e-9), (node, label)
        assert got.cr == pytest.approx(expected["consistency_ratio"], abs=1e-9), node
    if len(r.alternatives):
        alts = dict(zip(r.alternatives["alternative"], r.alternatives["weight"], strict=True))
        for label, weight in ref["target_weights"].items():
            assert alts[label] == pytest.approx(weight, abs=1e-9)


def test_harker_derivatives_worked_example() -> None:
    data = golden("harker_derivatives")
    s = A.suggest_repairs(data["matrix"], labels=data["labels"])
    got = {f"{r.row}/{r.column}": r.derivative for r in s.table.itertuples()}
    expected = data["expected"]["derivative"]
    assert got["a/b"] == pytest.approx(expected["a/b"], abs=1e-7)
    assert got["a/c"] == pytest.approx(expected["a/c"], abs=1e-7)
    assert got["b/c"] == pytest.approx(expected["b/c"], abs=1e-5)
    r = A.ahp(data["matrix"], labels=data["labels"])
    np.testing.assert_allclose(r.weights, data["expected"]["right"], atol=1e-7)


@pytest.mark.parametrize("key", ["bozoki_4x4", "bozoki_8x8"])
def test_harker_completion_matches_pyanp(key: str) -> None:
    spec = yaml.safe_load((GOLDEN / "incomplete.yaml").read_text(encoding="utf-8"))["matrices"][key]
    ref = REF["pyanp"]["harker"][key]
    c = A.harker_complete(spec["judgements"], labels=spec["labels"])
    got = {f"{r.row}/{r.column}": r.completed_value for r in c.completed.itertuples()}
    assert set(got) == set(ref["completed"])
    for cell, value in ref["completed"].items():
        assert got[cell] == pytest.approx(value, rel=1e-7), cell
    np.testing.assert_allclose(c.weights, [ref["weights"][x] for x in spec["labels"]], atol=1e-9)
    assert c.lambda_max == pytest.approx(ref["lambda_max"], abs=1e-7)
    # The completed matrix has the same Perron vector and root (the eigenvector method).
    r = A.ahp(spec["judgements"], labels=spec["labels"], ri="donegan-dodd")
    np.testing.assert_allclose(r.weights, c.weights, atol=1e-10)
    assert r.lambda_max == pytest.approx(c.lambda_max, abs=1e-9)
    assert any(w.key == "ahp.warn.completed" for w in r.warnings)
    assert len(r.tables()["completed"]) == len(ref["completed"])


def test_harker_is_not_the_lambda_optimal_completion_of_bozoki() -> None:
    # Bozóki et al. (2010), Example 3: the λmax-minimal value of the missing cell is 0.7303;
    # Harker's completion is a different, larger-λ choice: both facts documented.
    spec = yaml.safe_load((GOLDEN / "incomplete.yaml").read_text(encoding="utf-8"))["matrices"]
    c = A.harker_complete(spec["bozoki_4x4"]["judgements"], labels=list("abcd"))
    value = float(c.completed["completed_value"].iloc[0])
    assert value != pytest.approx(0.7302965, abs=1e-3)
    optimal = c.matrix.copy()
    optimal[2, 3], optimal[3, 2] = 0.7302965066047, 1 / 0.7302965066047
    assert A.ahp(optimal).lambda_max <= c.lambda_max + 1e-12


def test_group_aij_matches_pyanp_geometric_mean_of_matrices() -> None:
    ref = REF["pyanp"]["group_aij"]
    r = A.analyze(hierarchy("group"))
    node = r.node("service")
    np.testing.assert_allclose(node.matrix, ref["matrix"], rtol=1e-12)
    for label, weight in ref["weights"].items():
        assert node.weight(label) == pytest.approx(weight, abs=1e-9)
    judges = r.tables()["judges"]
    assert list(judges["judge"]) == ["zhang", "li", "wang"]
    assert judges["judge_weight"].tolist() == pytest.approx([1 / 3] * 3)
    # wang's missing judgement was completed for his own CR.
    completed = [w for w in r.warnings if w.key == "ahp.warn.completed"]
    assert [(w.params["node"], w.params["n"]) for w in completed] == [("service/wang", 1)]


def test_ri_tables_as_published() -> None:
    with (GOLDEN / "ri_tables.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    columns = {
        "saaty1980": "saaty1980",
        "saaty2005": "saaty2005",
        "alonso_lamata": "alonso-lamata",
        "donegan_dodd": "donegan-dodd",
    }
    for row in rows:
        n = int(row["n"])
        for column, key in columns.items():
            assert A.RI_TABLES[key].ri(n) == pytest.approx(float(row[column]), abs=1e-12), (key, n)


def test_ri_beyond_the_tables() -> None:
    # Donegan-Dodd interpolates between tabulated sizes (as ahpy does): n = 22 lies
    # 2/5 of the way from 1.5371 (n = 20) to 1.5619 (n = 25).
    assert A.RI_TABLES["donegan-dodd"].ri(22) == pytest.approx(1.5371 + 0.4 * (1.5619 - 1.5371))
    # Alonso-Lamata beyond n = 15: their fit λmax = 2.7699 n − 4.3513.
    assert A.RI_TABLES["alonso-lamata"].ri(20) == pytest.approx((2.7699 * 20 - 4.3513 - 20) / 19)
    with pytest.raises(ValidationError, match="covers up to 15 elements"):
        A.RI_TABLES["saaty1980"].ri(16, node="big")
    with pytest.raises(ValidationError, match="up to 100"):
        A.RI_TABLES["donegan-dodd"].ri(101)


def test_gci_thresholds_of_aguaron_moreno_jimenez() -> None:
    assert [A.gci_threshold(n) for n in (3, 4, 5, 9)] == [0.31, 0.35, 0.37, 0.37]
    assert math.isnan(A.gci_threshold(2))
    # n = 3 by hand: with ρ = a12·a23/a13 the row-geometric-mean weights give
    # ln e_ij = ±ln(ρ)/3, so GCI = (ln ρ)²/3; and λmax = 1 + ρ^(1/3) + ρ^(−1/3).
    rho = 2.6
    m = [[1, 2, 1.3 / rho * 2], [None, 1, 1.3], [None, None, 1]]
    r = A.ahp(m, method="geometric", ri="alonso-lamata")
    assert r.gci == pytest.approx(math.log(rho) ** 2 / 3, rel=1e-12)
    assert r.lambda_max == pytest.approx(1 + rho ** (1 / 3) + rho ** (-1 / 3), rel=1e-12)
    # The threshold 0.31 corresponds to CR ≈ 10 % (Aguarón & Moreno-Jiménez 2003):
    t = math.sqrt(3 * 0.31)  # ln ρ at GCI = 0.31
    lam = 1 + 2 * math.cosh(t / 3)
    assert (lam - 3) / 2 / A.RI_TABLES["alonso-lamata"].ri(3) == pytest.approx(0.10, abs=0.005)


# --------------------------------------------------------------------------------------------
# Invariants (hypothesis)
# --------------------------------------------------------------------------------------------

weights_strategy = st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.lists(
        st.floats(min_value=0.05, max_value=20.0, allow_nan=False), min_size=n, max_size=n
    )
)


@settings(max_examples=60, deadline=None)
@given(weights_strategy, st.sampled_from(sorted(A.RI_TABLES)), st.sampled_from(A.METHODS))
def test_consistent_matrix_has_cr_zero_and_recovers_w(
    raw: list[float], table: str, method: str
) -> None:
    w = np.asarray(raw) / sum(raw)
    r = A.ahp(consistent_matrix(w), method=method, ri=table, tolerance=1e-9)
    assert r.cr == pytest.approx(0.0, abs=1e-9)
    assert r.ci == pytest.approx(0.0, abs=1e-9)
    assert r.lambda_max == pytest.approx(len(w), abs=1e-8)
    np.testing.assert_allclose(r.weights, w, atol=1e-9)
    assert r.consistent
    if method == "geometric" and len(w) > 2:
        assert r.gci == pytest.approx(0.0, abs=1e-12)


def reciprocal_matrices(min_n: int = 1, max_n: int = 9) -> st.SearchStrategy[np.ndarray]:
    def build(n: int) -> st.SearchStrategy[np.ndarray]:
        cells = st.lists(
            st.sampled_from(A.SAATY_SCALE), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2
        )

        def fill(values: list[float]) -> np.ndarray:
            m = np.ones((n, n))
            iu = np.triu_indices(n, 1)
            m[iu] = values
            m.T[iu] = 1 / np.asarray(values)
            return m

        return cells.map(fill)

    return st.integers(min_value=min_n, max_value=max_n).flatmap(build)


@settings(max_examples=60, deadline=None)
@given(reciprocal_matrices(), st.sampled_from(A.METHODS))
def test_weights_are_positive_and_sum_to_one(m: np.ndarray, method: str) -> None:
    r = A.ahp(m, method=method, ri="donegan-dodd")
    assert r.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert (r.weights > 0).all()
    assert r.lambda_max >= len(m) - 1e-9
    assert r.cr >= 0


@settings(max_examples=50, deadline=None)
@given(reciprocal_matrices(2, 8), st.randoms(use_true_random=False), st.sampled_from(A.METHODS))
def test_permuting_labels_permutes_weights(m: np.ndarray, rnd: Any, method: str) -> None:
    n = len(m)
    labels = [f"e{i}" for i in range(n)]
    order = list(range(n))
    rnd.shuffle(order)
    base = A.ahp(m, labels=labels, method=method)
    moved = A.ahp(m[np.ix_(order, order)], labels=[labels[i] for i in order], method=method)
    for label in labels:
        assert moved.weight(label) == pytest.approx(base.weight(label), abs=1e-10)
    assert moved.cr == pytest.approx(base.cr, abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(reciprocal_matrices(3, 7), st.data())
def test_breaking_reciprocity_is_an_error_naming_node_and_cells(m: np.ndarray, data: Any) -> None:
    n = len(m)
    i, j = data.draw(
        st.sampled_from([(i, j) for i in range(n) for j in range(n) if i != j]), label="cell"
    )
    bad = m.copy()
    bad[i, j] = bad[i, j] * 1.5  # a_ij·a_ji = 1.5, far outside the 2 % tolerance
    labels = [f"c{k}" for k in range(n)]
    with pytest.raises(ValidationError) as err:
        A.ahp(bad, labels=labels, node="service")
    text = str(err.value)
    assert "node service" in text
    assert f"({labels[min(i, j)]}, {labels[max(i, j)]})" in text
    assert "节点 service" in err.value.render("zh")


@settings(max_examples=40, deadline=None)
@given(weights_strategy.filter(lambda w: len(w) >= 4), st.data())
def test_harker_recovers_missing_cells_of_a_consistent_matrix(raw: list[float], data: Any) -> None:
    w = np.asarray(raw) / sum(raw)
    n = len(w)
    m = consistent_matrix(w)
    # drop judgements not on the chain 0-1-2-…-(n-1), which keeps the elements connected
    candidates = [(i, j) for i in range(n) for j in range(i + 2, n)]
    drop = data.draw(st.lists(st.sampled_from(candidates), unique=True, max_size=len(candidates)))
    incomplete = m.copy()
    for i, j in drop:
        incomplete[i, j] = incomplete[j, i] = np.nan
    c = A.harker_complete(incomplete, tolerance=1e-9)
    np.testing.assert_allclose(c.matrix, m, rtol=1e-8)
    assert len(c.completed) == len(drop)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=30), st.data())
def test_many_equals_one_by_one(n: int, k: int, data: Any) -> None:
    stack = np.stack([data.draw(reciprocal_matrices(n, n)) for _ in range(k)])
    for method in A.METHODS:
        batch = A.ahp_many(stack, method=method, ri="alonso-lamata")
        for idx in range(k):
            one = A.ahp(stack[idx], method=method, ri="alonso-lamata")
            np.testing.assert_allclose(batch.weights[idx], one.weights, atol=1e-10)
            assert batch.cr[idx] == pytest.approx(one.cr, abs=1e-10)
            if method == "geometric" and n > 2:
                assert batch.gci[idx] == pytest.approx(one.gci, abs=1e-10)
    assert isinstance(batch, Result)


# --------------------------------------------------------------------------------------------
# Inputs: every judgement form gives the same matrix
# --------------------------------------------------------------------------------------------

FULL = [[1, 3, 5], ["1/3", 1, 2], ["1/5", "1/2", 1]]


@pytest.mark.parametrize(
    "spec",
    [
        FULL,
        np.array([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]]),
        [[3, 5], [2]],  # upper triangle
        [3, 5, 2],  # flat upper triangle
        {"upper": [[3, 5], [2]]},
        {"matrix": FULL},
        {"pairs": {"a": {"b": 3, "c": 5}, "b": {"c": 2}}},
        {"a": {"b": 3, "c": 5}, "c": {"b": "1/2"}},  # pairs in any direction
        {("a", "b"): 3, ("a", "c"): 5, ("b", "c"): 2},
        [["a", "b", 3], ["c", "a", "1/5"], ["b", "c", 2]],
        [[1, 3, 5], [None, 1, 2], ["", "?", 1]],  # upper filled, lower left blank
        [["１", "３", "５"], ["1 / 3", 1, 2], ["0.2", "0.5", "1"]],  # full-width, spaces
    ],
)
def test_every_input_form_gives_the_same_result(spec: Any) -> None:
    r = A.ahp(spec, labels=["a", "b", "c"])
    expected = np.array([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]])
    np.testing.assert_allclose(r.matrix, expected, rtol=1e-12)
    assert r.labels == ("a", "b", "c")


def test_labels_are_inferred_from_frames_and_pairs() -> None:
    frame = pd.DataFrame(FULL, index=["价格", "服务", "速度"], columns=["价格", "服务", "速度"])
    assert A.ahp(frame).labels == ("价格", "服务", "速度")
    assert A.ahp({("x", "y"): 2}).labels == ("x", "y")
    assert A.ahp(FULL).labels == ("1", "2", "3")


def test_small_reciprocal_slips_are_averaged_not_rejected() -> None:
    # 0.33 for 1/3: a_ij·a_ji = 0.99, inside the default 2 % tolerance; the pair is
    # replaced by its geometric mean sqrt(3/0.33) and its reciprocal.
    r = A.ahp([[1, 3], [0.33, 1]])
    assert r.matrix[0, 1] == pytest.approx(math.sqrt(3 / 0.33))
    assert r.matrix[0, 1] * r.matrix[1, 0] == pytest.approx(1.0)


def test_csv_matrix_parsing_with_chinese_labels(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("准则,价格,服务\n价格,1,3\n服务,1/3,1\n", encoding="gb18030")
    frame = A.load_matrix(path)
    r = A.ahp(frame, node="m")
    assert r.labels == ("价格", "服务")
    assert r.weights.tolist() == pytest.approx([0.75, 0.25])
    semicolons = A.parse_matrix_csv(";a;b\na;1;2\nb;0.5;1\n")
    assert list(semicolons.columns) == ["a", "b"]
    with pytest.raises(ConfigError, match="first row and in the first column"):
        A.parse_matrix_csv(",a,b\nb,1,2\na,0.5,1\n")


# --------------------------------------------------------------------------------------------
# Errors and warnings (bilingual, naming node and cell)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ([[1, 2, 3], [0.5, 1]], "must be square|upper triangle"),
        ([[1, -2], [-0.5, 1]], r"cell \(a, b\): judgement -2 must be a positive number"),
        ([[2, 2], [0.5, 1]], r"cell \(a, a\): the diagonal must be 1"),
        ([[1, "three"], [None, 1]], r"cell \(a, b\): 'three' is not a number"),
        ([[1, 3], [3, 1]], r"cells \(a, b\) and \(b, a\): 3 and 3 are not reciprocal"),
        ({"a": {"z": 2}}, "z, which is not one of its elements"),
        ({"a": {"a": 2}}, "a cannot be compared with itself"),
        ([["a", "b", 2], ["b", "a", "1/2"]], r"the pair \(b, a\) is judged twice"),
    ],
)
def test_bad_matrices_name_node_and_cell(spec: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as err:
        A.ahp(spec, labels=["a", "b"], node="price")
    assert "price" in str(err.value)
    assert "price" in err.value.render("zh")
    assert "节点" in err.value.render("zh")


def test_disconnected_judgements_are_refused() -> None:
    spec = {("a", "b"): 2, ("c", "d"): 3}
    with pytest.raises(ValidationError, match="do not link c, d with the other elements"):
        A.ahp(spec, labels=list("abcd"))


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown method"):
        A.ahp(FULL, method="power")
    with pytest.raises(ValidationError, match="unknown ri"):
        A.ahp(FULL, ri="saaty1977")
    with pytest.raises(ValidationError, match="threshold"):
        A.ahp(FULL, threshold=1.5)
    with pytest.raises(ValidationError, match="choose --ri donegan-dodd"):
        A.ahp(np.ones((16, 16)), ri="saaty1980")
    assert A.ahp(np.ones((16, 16)), ri="donegan-dodd").cr == pytest.approx(0.0, abs=1e-12)
    custom = A.ahp([[1, 2, 4], [0.5, 1, 3], [0.25, 1 / 3, 1]], ri={3: 0.5})
    assert custom.ri == 0.5
    assert custom.ri_table == "custom"


def test_off_scale_values_warn_but_compute() -> None:
    r = A.ahp([[1, 12], ["1/12", 1]], labels=["a", "b"], node="n1")
    assert r.weights.tolist() == pytest.approx([12 / 13, 1 / 13])
    keys = [w.key for w in r.warnings]
    assert keys == ["ahp.warn.off_scale"]
    assert "12 is off Saaty's 1-9 scale" in r.warnings[0].render("en")
    assert "超出" in r.warnings[0].render("zh")


def test_small_matrices_have_cr_zero() -> None:
    one = A.ahp([[1]], labels=["only"])
    assert one.weights.tolist() == [1.0]
    assert one.cr == 0
    assert one.consistent
    two = A.ahp([[1, 7], ["1/7", 1]])
    assert two.cr == 0
    assert two.ci == 0
    assert two.lambda_max == 2
    assert two.weights.tolist() == pytest.approx([7 / 8, 1 / 8])


def test_threshold_is_configurable() -> None:
    m = [[1, 2, 9], ["1/2", 1, 2], ["1/9", "1/2", 1]]  # CR ≈ 0.06 with Saaty 1980
    r = A.ahp(m)
    assert 0.05 < r.cr < 0.1
    assert r.consistent
    strict = A.ahp(m, threshold=0.05)
    assert not strict.consistent
    assert [w.key for w in strict.warnings] == ["ahp.warn.inconsistent"]


def test_result_tables_and_json() -> None:
    r = A.ahp(FULL, labels=["a", "b", "c"], method="geometric")
    assert isinstance(r, Result)
    tables = r.tables()
    assert list(tables) == ["weights", "consistency"]
    assert list(tables["weights"].columns) == ["label", "name", "name_zh", "weight", "rank"]
    assert tables["weights"]["rank"].tolist() == [1, 2, 3]
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    for key in ("labels", "weights", "lambda_max", "ci", "ri", "cr", "consistent", "ri_table"):
        assert key in d
    assert d["ri_table"] == "saaty1980"
    assert "Saaty" in d["ri_source"]
    assert d["gci_threshold"] == 0.31
    assert d["gci_consistent"] is True


# --------------------------------------------------------------------------------------------
# Inconsistency: suggestions and repair
# --------------------------------------------------------------------------------------------

# A consistent 4×4 (w ∝ 8, 4, 2, 1) with one judgement reversed: a_ad = 1/8 instead of 8.
REVERSED = [[1, 2, 4, "1/8"], [None, 1, 2, 4], [None, None, 1, 2], [None, None, None, 1]]


def test_suggestions_point_at_the_reversed_judgement() -> None:
    s = A.suggest_repairs(REVERSED, labels=list("abcd"), top=3)
    first = s.table.iloc[0]
    assert (first["row"], first["column"]) == ("a", "d")
    assert first["implied_value"] == pytest.approx(8.0)  # what b, c and the chain say
    assert first["cr_without"] == pytest.approx(0.0, abs=1e-9)
    assert first["deviation"] == pytest.approx(max(first["ratio"], 1 / first["ratio"]))
    assert first["scale_value"] in A.SAATY_SCALE
    assert len(s.table) == 3
    assert list(s.table["deviation"]) == sorted(s.table["deviation"], reverse=True)


def _cr_if(matrix: list, i: int, j: int, value: float) -> float:
    """CR of ``matrix`` (full or upper triangle as in REVERSED) with a_ij set to ``value``."""
    base = A.ahp(matrix, labels=list("abcdefgh"[: len(matrix)]))
    a = base.matrix.copy()
    a[i, j], a[j, i] = value, 1 / value
    return A.ahp(a).cr


def _no_smaller_single_change(matrix: list, change: float, threshold: float = 0.10) -> None:
    """Every judgement, moved by less than ``change`` on the log scale (within 1/9..9), leaves
    CR at or above the threshold (checked on a grid of 200 steps each way)."""
    a = A.ahp(matrix, labels=list("abcdefgh"[: len(matrix)])).matrix
    n = a.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            x0 = math.log(a[i, j])
            for step in np.linspace(-change, change, 401)[1:-1]:
                x = x0 + float(step) * (1 - 1e-9)
                if not math.log(1 / 9) <= x <= math.log(9):
                    continue
                assert _cr_if(matrix, i, j, math.exp(x)) >= threshold, (i, j, x)


# A 3x3 whose cycle product t = a_ab·a_bc/a_ac = 8·9/8 = 9 is too large. For n = 3,
# λmax = 1 + t^(1/3) + t^(-1/3), so CR < 0.10 (RI = 0.58) needs cosh(ln t / 3) < 1.058:
# every judgement must move ln t by ln 9 - 3·acosh(1.058) = 1.1803. a_ac would have to
# rise to 8·e^1.1803 = 26 > 9 (off the scale); a_ab (8 -> 2.4574) and a_bc (9 -> 2.7646)
# tie, and reading order picks a_ab. On Saaty's scale a_ab must go to 2 (ln 4 = 1.386)
# but a_bc to 2 (ln 4.5): a_ab again.
THREE = [[1, 8, 8], [None, 1, 9], [None, None, 1]]
NEEDED = math.log(9) - 3 * math.acosh(1 + 0.58 * 0.10)


def test_repair_3x3_takes_the_smallest_change_by_hand() -> None:
    exact = A.repair(THREE, labels=list("abc"), round_to_scale=False)
    assert exact.success
    (step,) = exact.steps.to_dict("records")
    assert (step["row"], step["column"], step["old_value"]) == ("a", "b", 8.0)
    assert step["log_change"] == pytest.approx(NEEDED, abs=1e-9)
    assert step["new_value"] == pytest.approx(8 * math.exp(-NEEDED), abs=1e-8)  # 2.4574
    assert step["kind"] == "smallest"
    assert step["cr_after"] < 0.10
    assert step["cr_after"] == pytest.approx(0.10, abs=1e-8)  # just inside the threshold
    _no_smaller_single_change(THREE, NEEDED)
    scale = A.repair(THREE, labels=list("abc"))
    assert scale.steps[["row", "column", "old_value", "new_value"]].values.tolist() == [
        ["a", "b", 8.0, 2.0]
    ]
    assert scale.steps["target_value"].iloc[0] == pytest.approx(8 * math.exp(-NEEDED))
    assert scale.steps["cr_after"].iloc[0] < 0.10
    assert _cr_if(THREE, 0, 1, 3.0) >= 0.10  # the scale value next to 2 is not enough
    assert _cr_if(THREE, 1, 2, 3.0) >= 0.10


# A consistent 4x4 (w ∝ 8, 4, 2, 1) with one judgement reversed: a_ad = 1/8 instead of 8.
# Smallest exact change: a_ad from 1/8 up to 1.8936 (|ln| = 2.7179); every other judgement
# would need more (checked on a grid). On Saaty's scale: a_ad = 2 (CR 0.0923).


def test_repair_4x4_takes_the_smallest_change() -> None:
    exact = A.repair(REVERSED, labels=list("abcd"), round_to_scale=False)
    assert exact.success
    (step,) = exact.steps.to_dict("records")
    assert (step["row"], step["column"], step["old_value"]) == ("a", "d", 0.125)
    assert step["new_value"] == pytest.approx(1.893607, abs=1e-6)
    assert _cr_if(REVERSED, 0, 3, step["new_value"]) < 0.10
    assert _cr_if(REVERSED, 0, 3, step["new_value"] * (1 - 1e-6)) >= 0.10
    _no_smaller_single_change(REVERSED, step["log_change"])
    r = A.repair(REVERSED, labels=list("abcd"))
    assert r.success
    assert r.steps[["row", "column", "old_value", "new_value"]].values.tolist() == [
        ["a", "d", 0.125, 2.0]
    ]
    assert r.original.cr > 0.5
    assert r.result.cr == pytest.approx(0.0923, abs=1e-4)
    assert any(w.key == "ahp.warn.repaired" for w in r.warnings)
    assert next(iter(r.tables())) == "repairs"
    d = r.to_dict()
    assert d["repairs"][0]["new_value"] == 2.0
    assert d["cr_before"] > 0.5
    # the older rule puts the judgement back where the others say (8)
    loo = A.repair(REVERSED, labels=list("abcd"), rule="leave-one-out")
    assert loo.steps["new_value"].tolist() == [8.0]
    assert loo.result.cr == pytest.approx(0.0, abs=1e-9)


def test_repair_goes_greedy_only_when_no_single_change_suffices() -> None:
    # a > b > c > d > a, all 9s, with a-c and b-d missing: one change is not enough
    m = [[1, 9, None, "1/9"], [None, 1, 9, None], [None, None, 1, 9], [None, None, None, 1]]
    r = A.repair(m, labels=list("abcd"), round_to_scale=False)
    assert r.success
    kinds = r.steps["kind"].tolist()
    assert kinds[0] == "greedy"
    assert kinds[-1] == "smallest"
    assert set(kinds[:-1]) == {"greedy"}
    assert (r.steps["cr_after"].diff().dropna() < 0).all()


def test_repair_by_deviation_rule_rounds_to_the_scale() -> None:
    r = A.repair(REVERSED, labels=list("abcd"), rule="deviation")
    assert r.success
    assert set(r.steps["new_value"]) <= set(A.SAATY_SCALE)
    assert (r.steps["cr_after"] < r.steps["cr_before"]).iloc[0]
    unrounded = A.repair(REVERSED, labels=list("abcd"), rule="deviation", round_to_scale=False)
    assert unrounded.steps["new_value"].iloc[0] == pytest.approx(
        unrounded.steps["target_value"].iloc[0]
    )


def test_repair_never_touches_missing_judgements_and_reports_failure() -> None:
    # A cycle a > b > c > d > a, all 9s, with a-c and b-d missing (completed by Harker).
    m = [[1, 9, None, "1/9"], [None, 1, 9, None], [None, None, 1, 9], [None, None, None, 1]]
    given = {("a", "b"), ("a", "d"), ("b", "c"), ("c", "d")}
    once = A.repair(m, labels=list("abcd"), max_steps=1)
    assert len(once.steps) == 1
    assert not once.success
    assert any(w.key == "ahp.warn.repair_failed" for w in once.warnings)
    full = A.repair(m, labels=list("abcd"))
    assert full.success
    assert {(row.row, row.column) for row in full.steps.itertuples()} <= given
    assert not full.result.given[0, 2]  # a-c is still a completed, not a given, judgement


# --------------------------------------------------------------------------------------------
# Group decisions
# --------------------------------------------------------------------------------------------


def test_aij_and_aip_by_hand() -> None:
    # Two judges on two elements: 4 and 1/2, weights 3:1. AIJ: a = 4^0.75 · (1/2)^0.25
    # = 2^1.25, weights 2^1.25/(1 + 2^1.25). AIP: each judge's w1 is 0.8 and 1/3;
    # geometric means 0.8^.75·(1/3)^.25 and 0.2^.75·(2/3)^.25, normalised.
    a, b = [[1, 4], ["1/4", 1]], [[1, "1/2"], [2, 1]]
    aij = A.aggregate({"x": a, "y": b}, weights={"x": 3, "y": 1})
    x = 2**1.25
    assert aij.weights[0] == pytest.approx(x / (1 + x))
    assert aij.aggregation == "aij"
    assert [j.judge for j in aij.judges] == ["x", "y"]
    assert [j.weight for j in aij.judges] == pytest.approx([0.75, 0.25])
    aip = A.aggregate([a, b], weights=[3, 1], how="aip")
    p = 0.8**0.75 * (1 / 3) ** 0.25
    q = 0.2**0.75 * (2 / 3) ** 0.25
    assert aip.weights[0] == pytest.approx(p / (p + q))
    assert math.isnan(aip.cr)
    assert aip.consistent
    assert any(w.key == "ahp.warn.aip_no_cr" for w in aip.warnings)
    json.dumps(aip.to_dict(), allow_nan=False)


def test_each_judges_cr_is_reported_and_bad_weights_refused() -> None:
    good = [[1, 2, 4], ["1/2", 1, 2], ["1/4", "1/2", 1]]
    bad = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]
    r = A.aggregate({"ok": good, "cyclic": bad})
    crs = {j.judge: j.cr for j in r.judges}
    assert crs["ok"] == pytest.approx(0.0, abs=1e-9)
    assert crs["cyclic"] > 1
    assert any(w.key == "ahp.warn.judge_inconsistent" for w in r.warnings)
    assert list(r.tables()["judges"].columns)[:2] == ["judge", "judge_weight"]
    with pytest.raises(ValidationError, match="one non-negative weight per judge"):
        A.aggregate([good, bad], weights=[1])
    with pytest.raises(ValidationError, match="expected 3×3"):
        A.aggregate([good, [[1, 2], [0.5, 1]]])
    with pytest.raises(ValidationError, match="no judges"):
        A.aggregate([])


def test_group_hierarchy_aip() -> None:
    r = A.analyze(hierarchy("group"), aggregation="aip")
    node = r.node("service")
    assert node.aggregation == "aip"
    assert math.isnan(node.cr)
    assert math.isnan(r.cr)
    assert r.global_weights["global_weight"].sum() == pytest.approx(1.0)
    json.dumps(r.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------------------------
# Hierarchies
# --------------------------------------------------------------------------------------------

CSI = """
goal:
  id: csi
  name: Customer satisfaction
  name_zh: 顾客满意度
  criteria:
    - id: content
      name: Service content
      name_zh: 服务内容
      factors:
        - {id: image, name: Company image, name_zh: 企业形象, column: cs_image}
        - {id: care, name: Customer care, name_zh: 客户关怀}
        - {id: attitude, name: Service attitude, name_zh: 服务态度}
      judgements: {upper: [[2, 1/2], [1/3]]}
    - id: quality
      name_zh: 服务质量
      children:
        - {id: reliability}
        - {id: speed}
      judgements: [[3]]
    - id: benefit
  judgements:
    pairs:
      content: {quality: 2, benefit: 4}
      quality: {benefit: 2}
"""


def test_global_weights_table_for_the_csi() -> None:
    h = A.parse_hierarchy(CSI)
    r = A.analyze(h)
    g = r.global_weights
    assert list(g.columns)[:5] == ["factor", "criterion", "path", "local_weight", "global_weight"]
    assert g["factor"].tolist() == ["image", "care", "attitude", "reliability", "speed", "benefit"]
    assert g["criterion"].tolist() == ["content"] * 3 + ["quality"] * 2 + ["benefit"]
    assert g["path"].tolist()[0] == "content/image"
    assert g["path"].tolist()[-1] == "benefit"
    assert g["global_weight"].sum() == pytest.approx(1.0)
    # Goal matrix is consistent (2, 4, 2): weights 4/7, 2/7, 1/7. Quality's 3 → 3/4, 1/4.
    assert r.leaf_weights["reliability"] == pytest.approx(2 / 7 * 3 / 4)
    assert r.leaf_weights["benefit"] == pytest.approx(1 / 7)
    row = g.set_index("factor").loc["reliability"]
    assert row["local_weight"] == pytest.approx(0.75)
    assert h.node("image").attrs["column"] == "cs_image"
    assert g.set_index("factor").loc["image", "name_zh"] == "企业形象"


def test_hierarchy_cr_is_saatys_weighted_ratio() -> None:
    r = A.analyze(A.parse_hierarchy(CSI))
    weights = {
        **dict(zip(r.weights["node"], r.weights["global_weight"], strict=True)),
        "csi": 1.0,
    }
    num = sum(weights[x.node] * x.ci for x in r.nodes)
    den = sum(weights[x.node] * x.ri for x in r.nodes)
    assert r.cr == pytest.approx(num / den)
    # Only the content node is inconsistent (2, 1/2, 1/3 → CI > 0) and it sits at depth 1.
    levels = r.levels.set_index("depth")
    assert levels.loc[0, "cr_share"] == pytest.approx(0.0, abs=1e-12)
    assert levels.loc[0, "weighted_ci"] == pytest.approx(0.0, abs=1e-12)
    # the levels split the one hierarchy CR: their shares add up to it, nothing else
    assert levels["cr_share"].sum() == pytest.approx(r.cr, abs=1e-12)
    assert levels["weighted_ci"].sum() / levels["weighted_ri"].sum() == pytest.approx(r.cr)
    assert "cumulative_cr" not in r.levels.columns
    assert "cr" not in r.levels.columns
    assert r.consistent == (r.cr < 0.1)
    names = list(r.tables())
    assert names[:4] == ["global_weights", "weights", "nodes", "levels"]


def test_car_hierarchy_has_one_consistency_figure() -> None:
    # car.yaml used to print CR_H = 0.0481 next to a cumulative level sum of 0.1439
    r = A.analyze(hierarchy("car"))
    assert r.levels["cr_share"].sum() == pytest.approx(r.cr, abs=1e-12)
    assert r.consistent == (r.cr < r.threshold)
    assert list(r.levels.columns) == [
        "depth",
        "n_elements",
        "weighted_ci",
        "weighted_ri",
        "cr_share",
    ]
    assert r.to_dict()["hierarchy_cr"] == pytest.approx(r.cr)


def test_hierarchy_round_trips_through_to_dict() -> None:
    h = A.parse_hierarchy(CSI)
    again = A.parse_hierarchy(yaml.safe_dump(h.to_dict(), allow_unicode=True))
    a, b = A.analyze(h), A.analyze(again)
    pd.testing.assert_frame_equal(a.global_weights, b.global_weights)
    assert again.node("image").attrs["column"] == "cs_image"


def test_hierarchy_repair_lists_every_change() -> None:
    text = """
goal:
  id: g
  children: [a, b, c, d]
  judgements: {upper: [[2, 4, 1/8], [2, 4], [2]]}
"""
    r = A.analyze(A.parse_hierarchy(text), repair=True)
    assert r.repairs[["node", "row", "column", "new_value", "kind"]].values.tolist() == [
        ["g", "a", "d", 2.0, "smallest"]
    ]
    assert r.node("g").cr == pytest.approx(0.0923, abs=1e-4)
    plain = A.analyze(A.parse_hierarchy(text))
    assert not plain.node("g").consistent
    assert plain.suggestions["node"].tolist() == ["g"] * 3
    assert "repairs" not in plain.tables()
    assert "suggestions" in plain.tables()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("foo: 1", "needs a `goal:`"),
        ("goal: [1, 2", "not valid YAML"),
        ("goal: {children: [a, b]}", "needs an id"),
        ("goal: {id: g, children: [a, b]}", "node g has 2 children but no judgements"),
        ("goal: {id: g, children: [a, a], judgements: [[2]]}", "id a is used twice"),
        (
            "goal: {id: g, children: [{id: a, judgements: [[2]]}, b], judgements: [[2]]}",
            "no alternatives",
        ),
        (
            "alternatives: [x, y]\ngoal: {id: g, children: [a, b], judgements: [[2]]}",
            "leaf a needs judgements comparing the alternatives",
        ),
        (
            "judges: [p, q]\ngoal: {id: g, children: [a, b], judgements: {r: [[2]]}}",
            "from r, who is not among the judges",
        ),
        ("goal: {id: g, children: [a, b], judgements: [[2, 3]]}", "node g"),
    ],
)
def test_hierarchy_file_errors(text: str, match: str) -> None:
    with pytest.raises((ConfigError, ValidationError), match=match):
        A.parse_hierarchy(text)


def test_load_hierarchy_reads_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(CSI, encoding="gb18030")
    h = A.load_hierarchy(path)
    assert h.goal.name_zh == "顾客满意度"
    assert h.source == str(path)
    with pytest.raises(Exception, match="no such file"):
        A.load_hierarchy(tmp_path / "missing.yaml")


def test_hierarchy_result_json_is_complete() -> None:
    r = A.analyze(hierarchy("cities"), method="geometric")
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert {"hierarchy_cr", "hierarchy_consistent", "nodes", "global_weights"} <= set(d)
    node = d["nodes"][0]
    for key in ("labels", "weights", "lambda_max", "ci", "ri", "cr", "consistent", "gci"):
        assert key in node
    assert isinstance(r, Result)
    assert [n["node"] for n in d["nodes"]][:2] == ["goal", "culture"]


def test_pure_core_imports_no_faces() -> None:
    import subprocess
    import sys

    code = (
        "import sys, allegiance.methods.ahp;"
        "bad = [m for m in ('typer', 'sqlalchemy', 'rich', 'click') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_saaty_scale_helpers() -> None:
    assert len(A.SAATY_SCALE) == 17
    assert A.nearest_scale_value(8.6) == 9.0
    assert A.nearest_scale_value(1 / 2.9) == pytest.approx(1 / 3)
    # on the log scale √(2·3) ≈ 2.449 is the midpoint between 2 and 3
    assert A.nearest_scale_value(2.44) == 2.0
    assert A.nearest_scale_value(2.46) == 3.0
    assert all(a < b for a, b in itertools.pairwise(A.SAATY_SCALE))


def test_the_yaml_examples_in_the_docs_parse_and_run() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "methods" / "ahp.md"
    blocks = page.read_text(encoding="utf-8").split("```yaml\n")[1:]
    examples = [b.split("```", 1)[0] for b in blocks if "goal:" in b.split("```", 1)[0]]
    assert len(examples) == 2
    for text in examples:
        result = A.analyze(A.parse_hierarchy(text))
        assert result.global_weights["global_weight"].sum() == pytest.approx(1.0)
    first = A.parse_hierarchy(examples[0])
    assert first.node("service_attitude").attrs["column"] == "cs_service_attitude"


def test_round_trip_keeps_full_precision_and_ahp_many_needs_complete_matrices() -> None:
    car = hierarchy("car")  # judgements such as 1/1.13 must survive to_dict exactly
    again = A.parse_hierarchy(yaml.safe_dump(car.to_dict()))
    pd.testing.assert_frame_equal(A.analyze(car).alternatives, A.analyze(again).alternatives)
    stack = np.stack([np.ones((3, 3)), np.ones((3, 3))])
    stack[1, 0, 2] = np.nan
    with pytest.raises(ValidationError, match=r"matrix 1: cell \(1, 3\) is missing"):
        A.ahp_many(stack)
    stack[1, 0, 2] = 2.0  # now not reciprocal: named like ahp() does
    with pytest.raises(ValidationError, match=r"node matrix 1, cells \(1, 3\)"):
        A.ahp_many(stack)
