"""`allegiance kano FILE`: long and paired formats, labels in Chinese, JSON envelope, errors.

The command is mounted on a test app of its own (the product's tree is assembled in
allegiance.cli.app); expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import kano as kano_cli
from allegiance.cli.app import AllegianceGroup

APP = typer.Typer(cls=AllegianceGroup, add_completion=False)


@APP.callback()
def _root() -> None:
    """Test root."""


kano_cli.register(APP)


def run(*args: object, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args], env=env)


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def long_csv(tmp_path: Path) -> Path:
    # wifi: O (喜欢/不喜欢), A (喜欢/无所谓), A (1/3), M (理所当然/5); bar: I (3/3), R (5/1)
    frame = pd.DataFrame(
        {
            "respondent": [1, 2, 3, 4, 1, 2],
            "attribute": ["wifi", "wifi", "wifi", "wifi", "bar", "bar"],
            "functional": ["喜欢", "喜欢", "1", "理所当然", "3", "5"],
            "dysfunctional": ["不喜欢", "无所谓", "3", "5", "3", "1"],
            "importance": [5, 3, 4, 4, 1, 2],
        }
    )
    path = tmp_path / "kano_long.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


@pytest.fixture
def wide_csv(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "kano_wifi_func": [1, 1, 1, 2],
            "kano_wifi_dysf": [5, 3, 3, 5],
            "kano_wifi_imp": [5, 3, 4, 4],
            "q9a": [3, 5, 1, 1],
            "q9b": [3, 1, 5, 5],
        }
    )
    path = tmp_path / "kano_wide.csv"
    frame.to_csv(path, index=False)
    return path


def test_help_has_an_example() -> None:
    result = run("kano", "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "allegiance kano" in result.output
    zh = run("kano", "--help", env={"ALLEGIANCE_LANG": "zh"})
    assert zh.exit_code == 0


def test_long_format_with_chinese_labels(long_csv: Path) -> None:
    env = envelope(
        run(
            "kano",
            long_csv,
            "--importance",
            "importance",
            "--respondent",
            "respondent",
            "-f",
            "json",
        )
    )
    assert env["command"] == "kano"
    assert env["inputs"]["format"] == "long"
    assert env["inputs"]["rows"] == 6
    rows = {r["attribute"]: r for r in env["result"]["tables"]["kano"]}
    wifi = rows["wifi"]
    assert (wifi["n_A"], wifi["n_O"], wifi["n_M"]) == (2, 1, 1)
    assert wifi["category"] == "A"
    assert wifi["better"] == pytest.approx(0.75)  # (2 + 1) / 4
    assert wifi["worse"] == pytest.approx(-0.5)  # -(1 + 1) / 4
    assert wifi["importance_mean"] == pytest.approx(4.0)  # (5 + 3 + 4 + 4) / 4
    assert rows["bar"]["n_I"] == 1
    assert rows["bar"]["n_R"] == 1
    assert rows["bar"]["category"] == "I"  # I before R on a tie
    assert env["result"]["categories"] == {"wifi": "A", "bar": "I"}
    cont = {r["attribute"]: r for r in env["result"]["tables"]["continuous"]}
    # wifi functional: 4, 4, 4, 2 -> 3.5
    assert cont["wifi"]["functional_mean"] == pytest.approx(3.5)


def test_pairs_are_found_and_named(wide_csv: Path) -> None:
    env = envelope(run("kano", wide_csv, "--format", "json"))
    assert env["inputs"]["format"] == "pairs"
    assert env["inputs"]["pairs"] == {"wifi": ["kano_wifi_func", "kano_wifi_dysf"]}
    assert env["inputs"]["importance"] == {"wifi": "kano_wifi_imp"}
    (wifi,) = env["result"]["tables"]["kano"]
    # O, A, A, M
    assert (wifi["n_A"], wifi["n_O"], wifi["n_M"], wifi["category"]) == (2, 1, 1, "A")

    env = envelope(
        run(
            "kano",
            wide_csv,
            "--pairs",
            "wifi=kano_wifi_func,kano_wifi_dysf",
            "--pairs",
            "tv=q9a,q9b",
            "-f",
            "json",
        )
    )
    rows = {r["attribute"]: r for r in env["result"]["tables"]["kano"]}
    # tv: (3,3) I, (5,1) R, (1,5) O, (1,5) O -> O
    assert (rows["tv"]["n_I"], rows["tv"]["n_R"], rows["tv"]["n_O"]) == (1, 1, 2)
    assert rows["tv"]["category"] == "O"


def test_table_output_and_out_folder(wide_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("kano", wide_csv, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "kano.csv").exists()
    assert (out / "continuous.csv").exists()
    saved = json.loads((out / "kano.json").read_text(encoding="utf-8"))
    assert saved["result"]["categories"] == {"wifi": "A"}
    assert "Better" in result.output


def test_bad_label_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "attribute": ["a", "a", "a"],
            "functional": ["like", "like", "sometimes"],
            "dysfunctional": [1, 2, 3],
        }
    ).to_csv(path, index=False)
    result = run("kano", path)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "row 4" in text  # header is row 1, "sometimes" is on the third data row
    assert "functional" in text
    assert "sometimes" in text


def test_bad_code_names_file_row(tmp_path: Path) -> None:
    path = tmp_path / "bad_code.csv"
    pd.DataFrame({"kano_x_func": [1, 7], "kano_x_dysf": [5, 5]}).to_csv(path, index=False)
    result = run("kano", path)
    assert result.exit_code == 2
    assert "3" in result.output
    assert "kano_x_func" in result.output


def test_no_pairs_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    pd.DataFrame({"q1": [1, 2]}).to_csv(path, index=False)
    result = run("kano", path)
    assert result.exit_code == 2
    assert "kano_<attribute>_func" in " ".join(result.output.split())
    result = run("kano", path, "--pairs", "oops")
    assert result.exit_code == 2
