"""`allegiance reasons` and `allegiance comments ...`: JSON envelopes, CSV, hostile text in tables.

Counts are worked out by hand in the comments, never copied from our own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import comments

# A tree of its own with the real error handling, so the shared app (and the generated
# docs/cli.md it is checked against) is not changed by this test module.
APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


comments.register(APP)
runner = CliRunner()
HOSTILE = "[/bold] <script>alert('x')</script> [red]网络经常断线[/red]"


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    """Six respondents, three customers' segments in a second file.

    reasons: r1 price;billing  r2 price  r3 -  r4 network  r5 price;network  r6 -
    answered 4; price 3 (0.75), network 2 (0.5), billing 1 (0.25); mentions 6.
    """
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c1", "c2", "c3"],
            "reasons": ["price;billing", "price", None, "network", "price;network", None],
            "comment": [
                "资费太贵了，账单也看不懂。",
                "The price keeps going up.",
                "非常满意，继续保持！",
                HOSTILE,
                "Network drops and prices are high.",
                None,
            ],
            "lang": ["zh", "en", "zh", "zh", "en", "zh"],
            "csat": [2, 2, 5, 1, 2, 4],
        }
    )
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "segment": ["vip", "std", "std"]}).to_csv(
        tmp_path / "customers.csv", index=False
    )
    return path


def _json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(APP, args)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_reasons_json(survey: Path) -> None:
    env = _json(["reasons", str(survey), "--format", "json"])
    assert env["command"] == "reasons"
    res = env["result"]
    assert isinstance(res, dict)
    rows = {r["reason"]: r for r in res["tables"]["reasons"]}
    assert rows["price"]["count"] == 3
    assert rows["price"]["share_of_respondents"] == pytest.approx(0.75)
    assert rows["network"]["share_of_mentions"] == pytest.approx(2 / 6)
    assert res["n_respondents"] == 4


def test_reasons_by_a_customer_column_with_factors(survey: Path) -> None:
    customers = survey.parent / "customers.csv"
    env = _json(
        [
            "reasons",
            str(survey),
            "--by",
            "segment",
            "--customers",
            str(customers),
            "--factors",
            "price=value,billing=value,network=quality",
            "--permutations",
            "99",
            "--format",
            "json",
        ]
    )
    res = env["result"]
    assert isinstance(res, dict)
    groups = {(r["segment"], r["reason"]): r for r in res["tables"]["by_group"]}
    # vip = c1: r1 (price;billing) and r4 (network) -> n 2, price 1.
    assert groups[("vip", "price")]["n_respondents"] == 2
    assert groups[("vip", "price")]["count"] == 1
    # std = c2: r2 (price), r5 (price;network) -> n 2, price 2.
    assert groups[("std", "price")]["count"] == 2
    factors = {r["factor"]: r for r in res["tables"]["by_factor"]}
    assert factors["value"]["count"] == 3  # r1, r2, r5
    assert res["independence"]["n_permutations"] == 99


def test_reasons_factors_from_a_yaml_file(survey: Path, tmp_path: Path) -> None:
    spec = tmp_path / "factors.yaml"
    spec.write_text("price: value\nbilling: value\nnetwork: quality\n", encoding="utf-8")
    env = _json(["reasons", str(survey), "--factors", str(spec), "--format", "json"])
    res = env["result"]
    assert isinstance(res, dict)
    assert res["factor_map"] == {"billing": "value", "network": "quality", "price": "value"}


def test_reasons_bad_column_exits_2(survey: Path) -> None:
    result = runner.invoke(APP, ["reasons", str(survey), "--column", "why"])
    assert result.exit_code == 2
    assert "why" in result.output


def test_keywords_json(survey: Path) -> None:
    env = _json(
        ["comments", "keywords", str(survey), "--lang-column", "lang", "--top", "5", "-f", "json"]
    )
    res = env["result"]
    assert isinstance(res, dict)
    assert res["methods"] == {"zh": "tfidf", "en": "yake"}
    assert res["n_comments"] == {"zh": 3, "en": 2}
    assert res["higher_is_better"] == {"zh": True, "en": False}


def test_search_csv_keeps_columns(survey: Path) -> None:
    result = runner.invoke(
        APP, ["comments", "search", str(survey), "资费", "PRICE", "--keep", "csat", "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(pd.io.common.StringIO(result.stdout))
    # r1 (资费), r2 (price), r5 (prices) -> rows 0, 1, 4.
    assert frame["row"].tolist() == [0, 1, 4]
    assert frame["csat"].tolist() == [2, 2, 2]


def test_hostile_comment_is_printed_literally_in_table_format(survey: Path) -> None:
    result = runner.invoke(APP, ["comments", "search", str(survey), "断线"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "[/bold]" in result.output
    assert "<script>alert('x')</script>" in result.output


def test_sentiment_with_evaluation(survey: Path) -> None:
    env = _json(
        [
            "comments",
            "sentiment",
            str(survey),
            "--lang-column",
            "lang",
            "--by",
            "csat",
            "--evaluate",
            "csat",
            "-f",
            "json",
        ]
    )
    res = env["result"]
    assert isinstance(res, dict)
    summary = {r["csat"]: r for r in res["tables"]["summary"]}
    assert summary[5]["mean"] > 0 > summary[2]["mean"]
    assert res["evaluation"]["n"] == 5


def test_verbatims_with_keywords_file(survey: Path, tmp_path: Path) -> None:
    words = tmp_path / "reasons.yaml"
    words.write_text("price: [资费, price]\nnetwork: [网络, network]\n", encoding="utf-8")
    env = _json(
        [
            "comments",
            "verbatims",
            str(survey),
            "--keywords",
            str(words),
            "--reasons-column",
            "reasons",
            "-f",
            "json",
        ]
    )
    res = env["result"]
    assert isinstance(res, dict)
    rows = [r for r in res["tables"]["verbatims"] if r["reason"] == "network"]
    assert [r["row"] for r in rows] == [4, 3]  # both coded; r5 (row 4) is shorter
    assert rows[1]["comment"] == HOSTILE


@pytest.mark.parametrize(
    "command",
    [
        ["reasons"],
        ["comments"],
        ["comments", "keywords"],
        ["comments", "search"],
        ["comments", "sentiment"],
        ["comments", "verbatims"],
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_help(command: list[str], lang: str) -> None:
    result = runner.invoke(APP, [*command, "--help"], env={"ALLEGIANCE_LANG": lang})
    assert result.exit_code == 0, result.output
    assert "allegiance " in result.output
