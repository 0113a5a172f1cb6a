"""`allegiance blueprint`: SPEC section 6's example on the command line, files in CSV and YAML,
the JSON envelope, and errors that name the file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import blueprint as blueprint_cli
from allegiance.cli.app import AllegianceGroup

# A test app of its own, so the real app's command tree (and docs/cli.md) is not changed here.
APP = typer.Typer(cls=AllegianceGroup, add_completion=False)


@APP.callback()
def _root() -> None:
    """Test root."""


blueprint_cli.register(APP)
GOLDEN = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "golden" / "blueprint" / "spec_example.yaml").read_text(
        encoding="utf-8"
    )
)


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, ["blueprint", *[str(a) for a in args]])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_spec_example_as_json() -> None:
    steps = [str(p) for p in GOLDEN["steps"]]
    change = GOLDEN["improve"]
    env = envelope(run(*steps, "--improve", f"{change['step']}={change['p']}", "--format", "json"))
    assert set(env) == {"command", "version", "inputs", "result", "warnings"}
    assert env["command"] == "blueprint"
    result = env["result"]
    assert round(result["reliability"], 3) == GOLDEN["overall"]
    assert round(result["whatif"]["overall_after"], 3) == GOLDEN["improved"]
    assert round(result["whatif"]["gain"], 3) == GOLDEN["gain"]
    assert round(100 * result["whatif"]["gain_relative"], 2) == GOLDEN["gain_relative_pct"]
    steps_out = result["tables"]["steps"]
    assert [s["fix_rank"] for s in steps_out][2] == 1
    assert {"p", "ci_low", "ci_high", "failure_share", "gain_if_fixed"} <= set(steps_out[0])


def test_table_output_has_the_headline() -> None:
    result = run("0.9", "0.8", "--improve", "2=0.9")
    assert result.exit_code == 0, result.output
    assert "Overall reliability 0.720" in result.output
    assert "+12.50%" in result.output


def test_counts_names_and_a_csv_file(tmp_path: Path) -> None:
    env = envelope(run("order=99/100", "visit=88/100", "0.97", "--format", "json"))
    names = [s["name"] for s in env["result"]["tables"]["steps"]]
    assert names == ["order", "visit", "3"]
    assert env["result"]["ci_low"] is not None
    path = tmp_path / "steps.csv"
    pd.DataFrame(
        {
            "step": ["order", "visit"],
            "name_zh": ["受理", "上门"],
            "name_en": ["Order", "Visit"],
            "successes": [99, 88],
            "attempts": [100, 100],
        }
    ).to_csv(path, index=False)
    env = envelope(run(path, "--improve", "上门=0.95", "--format", "json"))
    assert env["inputs"]["file"] == str(path)
    assert env["result"]["whatif"]["changes"][0]["name"] == "visit"
    zh = CliRunner().invoke(APP, ["blueprint", str(path), "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert "上门" in zh.output
    assert "流程总体可靠度" in zh.output


def test_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "steps.yaml"
    path.write_text(
        "steps:\n  - {name: a, p: 0.9}\n  - {name: b, successes: 45, attempts: 50}\n",
        encoding="utf-8",
    )
    env = envelope(run(path, "--product-interval", "beta", "--seed", "2", "--format", "json"))
    assert env["result"]["reliability"] == pytest.approx(0.81)
    assert env["result"]["settings"]["seed"] == 2


@pytest.mark.parametrize(
    ("cell", "expect"),
    [
        ({"successes": "lots"}, ["steps.csv", "Row 3", "successes", "lots"]),
        ({"p": "1.5"}, ["steps.csv", "Row 3", "1.5"]),
    ],
)
def test_bad_file_cells_name_file_row_and_column(
    tmp_path: Path, cell: dict[str, str], expect: list[str]
) -> None:
    frame = pd.DataFrame(
        {"step": ["a", "b"], "p": ["", ""], "successes": ["9", "8"], "attempts": ["10", "10"]}
    )
    if "p" in cell:
        frame = pd.DataFrame({"step": ["a", "b"], "p": ["0.9", cell["p"]]})
    else:
        frame.loc[1, "successes"] = cell["successes"]
        frame = frame.drop(columns=["p"])
    path = tmp_path / "steps.csv"
    frame.to_csv(path, index=False)
    result = run(path)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    for piece in expect:
        assert piece in text
    assert "Traceback" not in result.output


def test_bad_arguments() -> None:
    assert run("0.9", "1.2").exit_code == 2
    assert run("0.9", "0.8", "--improve", "x=0.9").exit_code == 2
    assert run("0.9", "0.8", "--improve", "2").exit_code == 2
    missing = run("no_such_file.csv")
    assert missing.exit_code == 2
    assert "no_such_file.csv" in missing.output
