"""`allegiance csi`: help, JSON/table/CSV output, --out, the shipped hierarchy, bad input.

Expected numbers are the hand-worked "three_criteria" example of
tests/golden/csi/worked_examples.yaml (CSI = 0.724), with its hierarchy in
tests/data/csi/worked_hierarchy.yaml; never copied from our own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import csi as csi_cli
from allegiance.methods import ahp
from allegiance.methods.csi import csi
from allegiance.templates import template_path

if not any(c.name == "csi" for c in app_mod.app.registered_commands):
    csi_cli.register(app_mod.app)

APP = app_mod.app
ROOT = Path(__file__).resolve().parents[1]
HIERARCHY = ROOT / "data" / "csi" / "worked_hierarchy.yaml"
EXAMPLES = yaml.safe_load((ROOT / "golden" / "csi" / "worked_examples.yaml").read_text("utf-8"))
STANDARD = [
    "overall_image",
    "credibility",
    "brand_popularity",
    "customer_care",
    "service_attitude",
    "service_procedures",
    "service_use",
    "reliability",
    "security",
    "transaction_speed",
    "error_rate",
    "profit_gained",
    "cost_saved",
    "other_benefit",
]


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def codes(counts: list[int]) -> list[int]:
    return [code for code, n in zip((5, 4, 3, 2, 1), counts, strict=True) for _ in range(n)]


@pytest.fixture
def worked_csv(tmp_path: Path) -> Path:
    factors = EXAMPLES["three_criteria"]["factors"]
    frame = pd.DataFrame({f"cs_{f}": codes(v["counts"]) for f, v in factors.items()})
    frame["seg"] = ["x", "y"] * 5
    path = tmp_path / "answers.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def standard_csv(tmp_path: Path) -> Path:
    # every respondent answers every factor; answers cycle through 5, 4, 3, 4, 5, …
    n = 40
    pattern = [5, 4, 3, 4, 5, 2, 4, 5]
    frame = pd.DataFrame(
        {
            f"cs_{f}": [pattern[(i + k) % len(pattern)] for i in range(n)]
            for k, f in enumerate(STANDARD)
        }
    )
    path = tmp_path / "standard.csv"
    frame.to_csv(path, index=False)
    return path


def test_help_has_an_example() -> None:
    result = run("csi", "--help")
    assert result.exit_code == 0, result.output
    text = result.output.replace("\n", " ")
    assert "Example" in text
    assert "allegiance csi" in text


def test_json_worked_example(worked_csv: Path) -> None:
    env = envelope(
        run("csi", worked_csv, "--hierarchy", HIERARCHY, "--bootstrap", 200, "--format", "json")
    )
    assert env["command"] == "csi"
    res = env["result"]
    # 0.4·0.76 + 0.2·0.54 + 0.3·0.86 + 0.1·0.54 = 0.724
    assert res["csi"] == pytest.approx(0.724, abs=1e-12)
    assert res["csi_100"] == pytest.approx(72.4, abs=1e-10)
    assert res["ci_low"] < res["csi"] < res["ci_high"]
    assert res["level_scores"] == [5, 4, 3, 2, 1]
    sub = {r["criterion"]: r["subindex"] for r in res["tables"]["subindices"]}
    assert sub == pytest.approx({"content": 0.412 / 0.6, "quality": 0.86, "benefit": 0.54})
    factors = {r["factor"]: r for r in res["tables"]["factors"]}
    assert factors["a"]["rank"] == 1  # gap 0.4·0.24 = 0.096, the largest
    assert factors["c"]["gap"] == pytest.approx(0.042, abs=1e-12)
    # the AHP consistency summary: each node's CR and the hierarchy's (consistent → 0)
    nodes = {r["node"]: r["cr"] for r in res["tables"]["consistency"]}
    assert set(nodes) >= {"goal", "content"}
    assert all(abs(cr) < 1e-9 for cr in nodes.values())
    assert res["hierarchy_cr"] == pytest.approx(0.0, abs=1e-9)
    assert env["inputs"]["hierarchy"].endswith("worked_hierarchy.yaml")


def test_level_scores_option(worked_csv: Path) -> None:
    env = envelope(
        run(
            "csi",
            worked_csv,
            "--hierarchy",
            HIERARCHY,
            "--level-scores",
            "100,80,60,40,20",
            "--bootstrap",
            0,
            "--format",
            "json",
        )
    )
    assert env["result"]["csi"] == pytest.approx(0.724, abs=1e-12)  # same DC as 5..1
    assert env["result"]["level_scores"] == [100, 80, 60, 40, 20]
    bad = run("csi", worked_csv, "--hierarchy", HIERARCHY, "--level-scores", "5,4,3")
    assert bad.exit_code != 0
    assert "--level-scores" in bad.output


def test_by_segment(worked_csv: Path) -> None:
    env = envelope(
        run(
            "csi",
            worked_csv,
            "--hierarchy",
            HIERARCHY,
            "--by",
            "seg",
            "--bootstrap",
            0,
            "--format",
            "json",
        )
    )
    index = {r["seg"]: r for r in env["result"]["tables"]["index"]}
    assert set(index) == {"x", "y"}
    assert index["x"]["n"] == 5
    # overall unchanged by grouping
    assert env["result"]["csi"] == pytest.approx(0.724, abs=1e-12)


def test_table_output_prints_the_headline(worked_csv: Path) -> None:
    result = run("csi", worked_csv, "--hierarchy", HIERARCHY, "--bootstrap", 100)
    assert result.exit_code == 0, result.output
    assert "72.4" in result.output  # CSI on 0-100
    assert "5, 4, 3, 2, 1" in result.output  # the level scores used are stated
    assert "Fix first: a" in result.output


def test_chinese_table_output(worked_csv: Path) -> None:
    result = run("csi", worked_csv, "--hierarchy", HIERARCHY, "--bootstrap", 0, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "客户满意度指数 CSI = 72.4" in result.output


def test_chinese_tables_name_factors_and_criteria_in_chinese(standard_csv: Path) -> None:
    import re

    from allegiance.cli.csi import load_weights

    args = ["csi", str(standard_csv), "--bootstrap", "0", "--lang", "zh"]
    result = CliRunner().invoke(APP, args, env={"COLUMNS": "220"})  # wide: no cell is cut
    assert result.exit_code == 0, result.output
    hierarchy = load_weights().hierarchy
    for node in hierarchy.nodes():
        assert node.name_zh, node.id
        assert node.name_zh in result.stdout, node.id
        # the id may appear only inside a data column name such as cs_security
        assert not re.search(rf"\b{re.escape(node.id)}\b", result.stdout), node.id
        assert node.name not in result.stdout, node.name
    assert "Saaty（1980）随机一致性指标表" in result.stdout
    assert "saaty1980" not in result.stdout
    weakest = re.search(r"最先改进：(\S+?)（", result.stdout)
    assert weakest is not None
    assert weakest.group(1) in {n.name_zh for n in hierarchy.leaves()}


def test_out_writes_every_table_and_the_json(worked_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "csi",
        worked_csv,
        "--hierarchy",
        HIERARCHY,
        "--bootstrap",
        0,
        "--out",
        out,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"index.csv", "subindices.csv", "factors.csv", "distribution.csv", "csi.json"} <= names
    assert "consistency.csv" in names
    factors = pd.read_csv(out / "factors.csv", encoding="utf-8-sig")
    assert factors.set_index("factor").loc["b", "dc"] == pytest.approx(0.54, abs=1e-12)


def test_csv_prints_the_factor_table(worked_csv: Path) -> None:
    result = run("csi", worked_csv, "--hierarchy", HIERARCHY, "--bootstrap", 0, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("factor,criterion,column,weight")
    assert len(lines) == 1 + 4


def test_the_shipped_hierarchy_is_the_default(standard_csv: Path) -> None:
    env = envelope(run("csi", standard_csv, "--bootstrap", 0, "--format", "json"))
    res = env["result"]
    assert env["inputs"]["hierarchy"].endswith("calculation_standard.yaml")
    assert [r["factor"] for r in res["tables"]["factors"]] == STANDARD
    assert [r["criterion"] for r in res["tables"]["subindices"]] == [
        "service_content",
        "service_quality",
        "benefit",
    ]
    assert res["hierarchy_cr"] < 0.1
    assert len(res["tables"]["consistency"]) == 4  # goal and the three criteria
    # the command computes what the API computes with the template's AHP weights
    analysed = ahp.analyze(ahp.load_hierarchy(template_path("hierarchies", "calculation_standard")))
    api = csi(pd.read_csv(standard_csv), hierarchy=analysed, n_boot=0)
    assert res["csi"] == pytest.approx(api.csi, abs=1e-12)
    by_name = envelope(
        run(
            "csi",
            standard_csv,
            "--hierarchy",
            "calculation_standard",
            "--bootstrap",
            0,
            "-f",
            "json",
        )
    )
    assert by_name["result"]["csi"] == pytest.approx(api.csi, abs=1e-12)


def test_bad_answer_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("cs_a,cs_b,cs_c,cs_d\n5,4,3,2\n5,9,3,2\n", encoding="utf-8")
    result = run("csi", path, "--hierarchy", HIERARCHY)
    assert result.exit_code == 2
    assert "cs_b" in result.output
    assert "9" in result.output
    assert "bad.csv" in result.output


def test_labels_in_the_file_are_answers(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    zh = {5: "很满意", 4: "满意", 3: "一般", 2: "不满意", 1: "很不满意"}
    factors = EXAMPLES["three_criteria"]["factors"]
    frame = pd.DataFrame(
        {f"cs_{f}": [zh[c] for c in codes(v["counts"])] for f, v in factors.items()}
    )
    frame.to_csv(path, index=False, encoding="utf-8")
    env = envelope(run("csi", path, "--hierarchy", HIERARCHY, "--bootstrap", 0, "-f", "json"))
    assert env["result"]["csi"] == pytest.approx(0.724, abs=1e-12)


def test_unknown_template_lists_the_shipped_ones(worked_csv: Path) -> None:
    result = run("csi", worked_csv, "--hierarchy", "no_such_standard")
    assert result.exit_code == 2
    assert "calculation_standard" in result.output
