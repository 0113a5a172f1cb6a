"""`allegiance pls DATA --model ...`: help, the JSON envelope, bootstrap, files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import pls
from allegiance.datasets import dataset_path, load_mobi
from allegiance.pls import estimate
from allegiance.pls.templates import load_model

if not any(c.name == "pls" for c in app_mod.app.registered_commands):
    pls.register(app_mod.app)

APP = app_mod.app
MOBI = dataset_path("mobi")
KEYS = {"paths", "weights", "loadings", "r2", "index", "reliability", "htmt", "gof", "effects"}


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_help_has_an_example() -> None:
    result = run("pls", "--help")
    assert result.exit_code == 0, result.output
    text = result.output.replace("\n", " ")
    assert "Example" in text
    assert "allegiance pls" in text
    for option in ("--model", "--scheme", "--bootstrap", "--seed", "--missing", "--by"):
        assert option in text


def test_json_envelope_has_every_part() -> None:
    env = envelope(run("pls", MOBI, "--model", "ecsi", "--format", "json"))
    assert env["command"] == "pls"
    assert env["inputs"]["model"] == "ecsi"
    assert env["inputs"]["rows"] == 250
    result = env["result"]
    assert set(result) >= KEYS
    assert result["n"] == 250
    assert result["bootstrap"] is None
    assert len(result["paths"]) == 12
    assert set(result["paths"][0]) == {"from", "to", "coefficient"}
    assert len(result["weights"]) == len(result["loadings"]) == 24
    assert {r["construct"] for r in result["r2"]} == {
        "Expectation",
        "Perceived quality",
        "Perceived value",
        "Satisfaction",
        "Complaints",
        "Loyalty",
    }
    assert len(result["index"]) == 7
    assert all(0 <= row["index"] <= 100 for row in result["index"])
    assert {"construct", "alpha", "rho_c", "rho_a", "ave"} <= set(result["reliability"][0])
    assert len(result["htmt"]) == 7
    assert 0 < result["gof"] < 1
    # the numbers are the core's
    fit = estimate(load_model("ecsi"), load_mobi())
    got = {(p["from"], p["to"]): p["coefficient"] for p in result["paths"]}
    table = fit.paths_table()
    for src, dst, value in table.itertuples(index=False):
        assert got[(src, dst)] == pytest.approx(value, abs=1e-12)
    assert result["gof"] == pytest.approx(fit.gof)


def test_bootstrap_adds_intervals_and_repeats_with_its_seed() -> None:
    args = ("pls", MOBI, "--model", "ecsi", "--bootstrap", 200, "--seed", 1, "--format", "json")
    first = envelope(run(*args))
    again = envelope(run(*args))
    assert first["result"] == again["result"]
    assert first["inputs"]["seed"] == 1
    boot = first["result"]["bootstrap"]
    assert boot["n_boot"] == 200
    assert boot["seed"] == 1
    for path in first["result"]["paths"]:
        assert {"se", "t", "p", "ci_low", "ci_high", "bca_low", "bca_high"} <= set(path)
        assert path["ci_low"] <= path["coefficient"] <= path["ci_high"]
        assert path["se"] > 0
        assert 0 <= path["p"] <= 1
    from allegiance.pls.bootstrap import bootstrap

    api = bootstrap(load_mobi(), model=load_model("ecsi"), n_boot=200, seed=1)
    stats = {"se", "t", "p", "ci_low", "ci_high", "bca_low", "bca_high"}
    for family in ("weights", "loadings"):
        rows = first["result"][family]
        assert len(rows) == 24
        assert all(stats <= set(row) for row in rows)
        table = api.table(family)
        for col in stats:  # the same figures as the API's bootstrap tables
            got = [np.nan if row[col] is None else row[col] for row in rows]
            np.testing.assert_allclose(got, table[col].to_numpy(), rtol=1e-12, atol=1e-12)


def test_schemes_differ_and_a_bad_scheme_is_refused() -> None:
    path = envelope(run("pls", MOBI, "--format", "json"))["result"]["paths"]
    centroid = envelope(run("pls", MOBI, "--scheme", "centroid", "--format", "json"))
    assert centroid["result"]["paths"] != path
    bad = run("pls", MOBI, "--scheme", "magic")
    assert bad.exit_code == 2
    assert "magic" in bad.output


def test_model_file_in_yaml_or_text(tmp_path: Path) -> None:
    model = load_model("ecsi")
    text = tmp_path / "ecsi.lav"
    text.write_text(model.to_syntax(), encoding="utf-8")
    yaml_file = tmp_path / "ecsi.yaml"
    yaml_file.write_text(model.to_yaml(), encoding="utf-8")
    a = envelope(run("pls", MOBI, "--model", text, "--format", "json"))["result"]["paths"]
    b = envelope(run("pls", MOBI, "--model", yaml_file, "--format", "json"))["result"]["paths"]
    assert a == b


def test_bad_model_file_says_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "Image =~ IMAG1 + IMAG2\nSatisfaction =~ CUSA1 CUSA2\nSatisfaction ~ Image\n",
        encoding="utf-8",
    )
    result = run("pls", MOBI, "--model", bad)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "line 2" in message
    assert "column 23" in message


def test_unknown_model_lists_the_shipped_ones() -> None:
    result = run("pls", MOBI, "--model", "scsb")
    assert result.exit_code == 2
    assert "acsi, ccsi, ecsi" in " ".join(result.output.split())


def test_missing_items_are_named(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    load_mobi().drop(columns=["CUEX1"]).to_csv(path, index=False)
    result = run("pls", path, "--model", "acsi")
    assert result.exit_code == 2
    assert "CUEX1" in result.output


def test_csv_prints_the_paths_and_out_writes_every_table(tmp_path: Path) -> None:
    result = run("pls", MOBI, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("from,to,coefficient")
    assert len(lines) == 13
    out = tmp_path / "out"
    done = run("pls", MOBI, "--bootstrap", 50, "--seed", 2, "--out", out, "--format", "json")
    assert done.exit_code == 0, done.output
    names = {p.name for p in out.iterdir()}
    assert {"paths.csv", "constructs.csv", "reliability.csv", "htmt.csv", "pls.json"} <= names
    paths = pd.read_csv(out / "paths.csv", encoding="utf-8-sig")
    assert {"se", "ci_low", "ci_high", "bca_low", "bca_high"} <= set(paths.columns)


def test_table_output_shows_paths_index_and_reliability() -> None:
    result = run("pls", MOBI, "--bootstrap", 20, "--seed", 3)
    assert result.exit_code == 0, result.output
    for title in ("Paths", "Constructs", "Reliability", "Satisfaction", "Index"):
        assert title in result.stdout


def test_missing_answers_listwise_or_mean(tmp_path: Path) -> None:
    frame = load_mobi().astype(float)
    frame.loc[[3, 8], "PERQ2"] = np.nan
    file = tmp_path / "holes.csv"
    frame.to_csv(file, index=False)
    listwise = envelope(run("pls", file, "--format", "json"))
    assert listwise["result"]["n"] == 248
    assert any(w["code"] == "pls.warn.listwise" for w in listwise["warnings"])
    filled = envelope(run("pls", file, "--missing", "mean", "--format", "json"))
    assert filled["result"]["n"] == 250
    assert filled["result"]["n_imputed"] == 2


def test_by_estimates_each_group(tmp_path: Path) -> None:
    frame = load_mobi()
    frame["segment"] = np.where(np.arange(len(frame)) % 2 == 0, "A", "B")
    frame.loc[:3, "segment"] = "tiny"
    file = tmp_path / "seg.csv"
    frame.to_csv(file, index=False)
    env = envelope(run("pls", file, "--by", "segment", "--format", "json"))
    groups = {g["group"]: g for g in env["result"]["groups"]}
    assert set(groups) == {"A", "B"}
    assert groups["A"]["n"] + groups["B"]["n"] == 246
    assert env["result"]["by"] == "segment"
    failed = [w for w in env["warnings"] if w["code"] == "plsx.warn.group_failed"]
    assert [w["params"]["group"] for w in failed] == ["tiny"]


def test_validity_tables_in_json_and_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = envelope(run("pls", MOBI, "--format", "json", "--out", out))
    result = env["result"]
    fl = result["fornell_larcker"]
    assert [row["construct"] for row in fl] == list(load_model("ecsi").construct_names)
    assert fl[0]["Image"] == pytest.approx(np.sqrt(result["reliability"][0]["ave"]))
    assert fl[0]["Satisfaction"] is None  # above the diagonal
    cross = result["cross_loadings"]
    assert len(cross) == 24
    assert cross[0]["item"] == "IMAG1"
    assert cross[0]["construct"] == "Image"
    loading = next(r for r in result["loadings"] if r["item"] == "IMAG1")["loading"]
    assert cross[0]["Image"] == pytest.approx(loading, abs=1e-12)
    assert len(result["htmt"]) == 7
    names = {p.name for p in out.iterdir()}
    assert {"fornell_larcker.csv", "cross_loadings.csv", "htmt.csv"} <= names


@pytest.mark.parametrize("model", ["acsi", "ccsi"])
def test_acsi_and_ccsi_run_on_mobi_as_is(model: str) -> None:
    env = envelope(run("pls", MOBI, "--model", model, "--format", "json"))
    assert env["result"]["n"] == 250
    assert len(env["result"]["index"]) == 6


def test_items_renames_the_model_to_the_data(tmp_path: Path) -> None:
    data = load_mobi().rename(columns={"CUSA1": "sat_overall", "CUSA2": "sat_expect"})
    path = tmp_path / "survey.csv"
    data.to_csv(path, index=False)
    plain = run("pls", path, "--model", "acsi", "--format", "json")
    assert plain.exit_code != 0
    assert "CUSA1" in plain.output
    env = envelope(
        run(
            "pls",
            path,
            "--model",
            "acsi",
            "--items",
            "CUSA1=sat_overall,CUSA2=sat_expect",
            "-f",
            "json",
        )
    )
    same = envelope(run("pls", MOBI, "--model", "acsi", "--format", "json"))
    assert env["inputs"]["items"] == {"CUSA1": "sat_overall", "CUSA2": "sat_expect"}
    assert [p["coefficient"] for p in env["result"]["paths"]] == pytest.approx(
        [p["coefficient"] for p in same["result"]["paths"]], abs=1e-12
    )
    mapping = tmp_path / "items.yaml"
    mapping.write_text("CUSA1: sat_overall\nCUSA2: sat_expect\n", encoding="utf-8")
    again = envelope(run("pls", path, "--model", "acsi", "--items", mapping, "-f", "json"))
    assert again["result"]["paths"] == env["result"]["paths"]
    bad = run("pls", path, "--model", "acsi", "--items", "NOPE=x")
    assert bad.exit_code != 0
    assert "NOPE" in bad.output
    worse = run("pls", path, "--model", "acsi", "--items", "CUSA1")
    assert worse.exit_code != 0


@pytest.mark.parametrize("model", ["ecsi", "acsi", "ccsi"])
def test_chinese_tables_and_warnings_name_constructs_in_chinese(model: str) -> None:
    result = run("pls", MOBI, "--model", model, "--lang", "zh")
    assert result.exit_code == 0, result.output
    m = load_model(model)
    zh = {c.name_zh for c in m.constructs}
    assert all(name in result.stdout for name in zh)
    for c in m.constructs:
        # the English names appear neither in the tables nor in the warnings
        assert c.name not in result.output, c.name


def test_chinese_output(tmp_path: Path) -> None:
    result = run("pls", MOBI, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "路径" in result.stdout or "构念" in result.stdout
