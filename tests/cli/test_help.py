"""Every command answers --help, in English and in Chinese, with an example."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from allegiance.cli.app import app

runner = CliRunner()


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for info in group.registered_commands:
        yield (*prefix, info.name or info.callback.__name__)  # type: ignore[union-attr]
    for sub in group.registered_groups:
        name = (*prefix, sub.name or "")
        yield name
        yield from _commands(sub.typer_instance, name)  # type: ignore[arg-type]


ALL = sorted(set(_commands(app)))


def test_the_tree_has_the_foundation_commands() -> None:
    names = {" ".join(c) for c in ALL}
    assert {"demo", "generate", "report", "init", "score", "score nps", "score csat"} <= names
    assert "score ces" in names


@pytest.mark.parametrize("command", ALL, ids=" ".join)
def test_help_in_english(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if command[0] != "score" or len(command) > 1:
        assert "Example" in result.output or "allegiance " in result.output


def _click_commands() -> Iterator[tuple[str, Any]]:
    root = typer.main.get_command(app)
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        name, cmd = stack.pop()
        yield name, cmd
        for sub_name, sub in getattr(cmd, "commands", {}).items():
            stack.append((f"{name} {sub_name}".strip(), sub))


def test_every_command_and_option_is_documented() -> None:
    undocumented = []
    for name, cmd in _click_commands():
        if name and not (cmd.help or "").strip():
            undocumented.append(name)
        for param in cmd.params:
            if param.param_type_name == "option" and not (getattr(param, "help", "") or "").strip():
                undocumented.append(f"{name} {param.opts[0]}")
    assert undocumented == []


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    from allegiance import __version__

    assert result.output.strip() == f"allegiance {__version__}"


def test_unknown_language_is_refused() -> None:
    result = runner.invoke(app, ["init", "x", "--lang", "fr"])
    assert result.exit_code == 2
    assert "zh" in result.output


def test_cli_default_seed_is_the_generators() -> None:
    from allegiance.cli.demo import DEFAULT_SEED
    from allegiance.generate import DemoConfig

    assert DemoConfig().seed == DEFAULT_SEED


def test_help_does_not_load_the_heavy_engines() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.argv = ['allegiance', '--version'];"
        "import allegiance.cli.app;"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'duckdb', 'plotly', 'scipy.stats') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_reference_page_is_current() -> None:
    from pathlib import Path

    from allegiance.cli.reference import reference

    page = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    assert page.read_text(encoding="utf-8") == reference(), (
        "docs/cli.md is stale: run python -m allegiance.cli.reference > docs/cli.md"
    )
