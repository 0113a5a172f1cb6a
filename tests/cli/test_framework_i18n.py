"""Typer's own words (usage, panel titles, usage errors) follow --lang."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from allegiance.cli.app import app
from allegiance.cli.framework_i18n import translate_message

RUNNER = CliRunner()


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Missing argument 'FILE'.", "缺少参数 'FILE'。"),
        ("Missing option '--target'.", "缺少选项 '--target'。"),
        ("No such command 'nope'.", "没有命令“nope”。"),
        ("Got unexpected extra argument(s) (b c)", "多余的参数（b c）"),
        (
            "Invalid value for '--seed': Value 'x' is not a valid integer.",
            "'--seed' 的值无效：“x”不是有效的integer。",
        ),
        ("Something new the framework says", "Something new the framework says"),
    ],
)
def test_messages_translate_by_pattern(english: str, chinese: str) -> None:
    assert translate_message(english, "zh") == chinese


def test_english_loses_only_pydantics_prefix() -> None:
    msg = "Invalid value for '-m': Value error, 'x' is not one of 'a', 'b'."
    assert translate_message(msg, "en") == "Invalid value for '-m': 'x' is not one of 'a', 'b'."


def test_usage_error_in_chinese_then_english() -> None:
    zh = RUNNER.invoke(app, ["--lang", "zh", "ahp", "--method", "bogus", "x.yaml"])
    assert zh.exit_code == 2
    assert "用法" in zh.output
    assert "错误" in zh.output
    assert "的值无效" in zh.output
    assert "Invalid value" not in zh.output
    assert "Usage" not in zh.output
    en = RUNNER.invoke(app, ["--lang", "en", "ahp", "--method", "bogus", "x.yaml"])
    assert "Usage" in en.output
    assert "Invalid value for" in en.output
    assert "Value error" not in en.output


def test_help_panels_in_chinese() -> None:
    result = RUNNER.invoke(app, ["--lang", "zh", "score", "nps", "-h"])
    assert result.exit_code == 0
    for word in ("用法", "参数", "选项"):
        assert word in result.output
    for word in ("Usage:", "Options", "Arguments", "[required]"):
        assert word not in result.output


def test_error_messages_keep_square_brackets(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "[bold]x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = RUNNER.invoke(app, ["--lang", "en", "score", "nps", str(path), "--column", "[red]nps"])
    assert result.exit_code == 2
    assert "[red]nps" in result.output
