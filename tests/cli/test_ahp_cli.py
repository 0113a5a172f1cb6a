"""`allegiance ahp FILE`: help, JSON for hierarchies and CSV matrices, options, errors.

The expected figures are the published ones in tests/golden/ahp (see the README there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import ahp
from allegiance.cli import app as app_mod

# A tree of its own with the real error handling, so the shared app (and the generated
# docs/cli.md it is checked against) is not changed by this test module.
APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


ahp.register(APP)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ahp"


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_help_has_an_example_in_both_languages() -> None:
    en = run("ahp", "--help")
    assert en.exit_code == 0
    assert "allegiance ahp hierarchy.yaml" in en.output.replace("\n", " ")
    for option in ("--method", "--ri", "--threshold", "--repair", "--aggregate", "--format"):
        assert option in en.output


def test_hierarchy_json_has_nodes_global_weights_and_hierarchy_cr() -> None:
    # Saaty (2005) cities example: Pittsburgh 0.3852, Boston 0.2748 (tests/golden/ahp/cities.yaml).
    env = envelope(run("ahp", GOLDEN / "cities.yaml", "--ri", "donegan-dodd", "--format", "json"))
    assert env["command"] == "ahp"
    assert env["inputs"]["ri"] == "donegan-dodd"
    result = env["result"]
    assert result["ri_table"] == "donegan-dodd"
    assert "Donegan" in result["ri_source"]
    node = result["nodes"][0]
    assert node["node"] == "goal"
    for key in ("labels", "weights", "lambda_max", "ci", "ri", "cr", "consistent"):
        assert key in node
    assert node["labels"] == ["culture", "family", "housing", "jobs", "transportation"]
    assert sum(node["weights"]) == pytest.approx(1.0)
    assert isinstance(result["hierarchy_cr"], float)
    assert result["hierarchy_consistent"] is True
    alts = {a["alternative"]: a["weight"] for a in result["alternatives"]}
    assert alts["pittsburgh"] == pytest.approx(0.3852, abs=5e-5)
    assert alts["boston"] == pytest.approx(0.2748, abs=5e-5)
    factors = [g["factor"] for g in result["global_weights"]]
    assert factors == ["culture", "family", "housing", "jobs", "transportation"]


def test_csv_matrix_with_geometric_method(tmp_path: Path) -> None:
    path = tmp_path / "criteria.csv"
    path.write_text(
        ",价格,服务,速度\n价格,1,3,5\n服务,1/3,1,2\n速度,1/5,1/2,1\n", encoding="utf-8-sig"
    )
    env = envelope(run("ahp", path, "--method", "geometric", "--ri", "saaty2005", "-f", "json"))
    result = env["result"]
    assert result["labels"] == ["价格", "服务", "速度"]
    assert result["node"] == "criteria"
    assert result["method"] == "geometric"
    # row geometric means: 15^(1/3), (2/3)^(1/3), (1/10)^(1/3), normalised
    g = [15 ** (1 / 3), (2 / 3) ** (1 / 3), 0.1 ** (1 / 3)]
    assert result["weights"] == pytest.approx([x / sum(g) for x in g])
    assert result["gci_threshold"] == 0.31
    assert result["ri"] == 0.52


def test_table_output_shows_headline_and_warnings_in_chinese() -> None:
    out = run("ahp", GOLDEN / "car.yaml", "--ri", "donegan-dodd", "--lang", "zh")
    assert out.exit_code == 0, out.output
    assert "各因素的总排序权重" in out.output
    assert "层次总排序一致性（Saaty" in out.output
    assert "CR = 0.0514" in out.output
    assert "节点 style" in out.output  # the one inconsistent node is named in the warning
    assert "累计" not in out.output  # one hierarchy CR, no cumulative figure beside it


def test_repair_lists_the_changes(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(
        "goal:\n  id: g\n  children: [a, b, c, d]\n  judgements: {upper: [[2, 4, 1/8], [2, 4], [2]]}\n",
        encoding="utf-8",
    )
    before = envelope(run("ahp", path, "-f", "json"))["result"]
    assert before["nodes"][0]["consistent"] is False
    assert before["suggestions"][0]["row"] == "a"
    assert before["suggestions"][0]["column"] == "d"
    after = envelope(run("ahp", path, "--repair", "-f", "json"))["result"]
    assert [(r["row"], r["column"], r["old_value"], r["new_value"]) for r in after["repairs"]] == [
        ("a", "d", 0.125, 2.0)
    ]
    assert after["repairs"][0]["cr_after"] < 0.10
    assert after["nodes"][0]["cr"] == pytest.approx(0.0923, abs=1e-4)


def test_repair_of_a_csv_matrix(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(",a,b,c,d\na,1,2,4,1/8\nb,,1,2,4\nc,,,1,2\nd,,,,1\n", encoding="utf-8")
    result = envelope(run("ahp", path, "--repair", "-f", "json"))["result"]
    assert result["cr_before"] > 0.5
    assert result["repairs"][0]["new_value"] == 2.0
    assert result["success"] is True


def test_out_writes_every_table_and_the_envelope(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("ahp", GOLDEN / "leader.yaml", "--out", out)
    assert done.exit_code == 0, done.output
    names = {p.name for p in out.iterdir()}
    assert {
        "global_weights.csv",
        "nodes.csv",
        "levels.csv",
        "alternatives.csv",
        "ahp.json",
    } <= names
    header = (out / "global_weights.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("factor,criterion,path,local_weight,global_weight")


def test_group_file_with_aip_override() -> None:
    env = envelope(run("ahp", GOLDEN / "group.yaml", "--aggregate", "aip", "-f", "json"))
    result = env["result"]
    assert result["aggregation"] == "aip"
    assert result["hierarchy_cr"] is None  # undefined under AIP (NaN → null)
    judges = {j["judge"] for j in result["judges"]}
    assert judges == {"zhang", "li", "wang"}


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("goal:\n  id: g\n  children: [a, b]\n  judgements: [[1, 3], [3, 1]]\n", ".yaml", "node g"),
        (",a,b\nb,1,2\na,1/2,1\n", ".csv", "first row and in the first column"),
        ("x", ".json", "expected a YAML hierarchy"),
    ],
)
def test_bad_files_exit_2_with_a_clear_message(
    tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content, encoding="utf-8")
    done = run("ahp", path)
    assert done.exit_code == 2
    assert message in " ".join(done.output.split())


def test_missing_file_and_bad_threshold(tmp_path: Path) -> None:
    done = run("ahp", tmp_path / "nope.yaml")
    assert done.exit_code == 2
    assert "no such file" in done.output
    zh = run("ahp", GOLDEN / "drinks.yaml", "--threshold", "2", "--lang", "zh")
    assert zh.exit_code == 2
    assert "阈值" in zh.output


def test_chinese_table_shows_names_not_ids() -> None:
    out = run("ahp", "calculation_standard", "--lang", "zh")
    assert out.exit_code == 0, out.output
    assert "服务质量" in out.stdout
    assert "客户满意度指数" in out.stdout
    for english in ("service_quality", "service_content", "overall_image", "benefit", "csi"):
        assert english not in out.stdout, english


def test_csv_of_a_hierarchy_names_its_tables_in_the_chosen_language() -> None:
    out = run("ahp", "calculation_standard", "--lang", "zh", "--format", "csv")
    assert out.exit_code != 0
    assert "各因素的总排序权重 (global_weights.csv)" in out.output
    assert "层次总排序 CR 按层分解" in out.output
    en = run("ahp", "calculation_standard", "--lang", "en", "--format", "csv")
    assert "Global weights of the factors (total ranking) (global_weights.csv)" in en.output
