"""Write the command-line reference (docs/cli.md) from the commands' own ``--help``.

python -m allegiance.cli.reference > docs/cli.md
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from allegiance.cli.app import app


def _commands() -> Iterator[list[str]]:
    stack: list[tuple[list[str], Any]] = [([], typer.main.get_command(app))]
    while stack:
        path, cmd = stack.pop(0)
        yield path
        subs = getattr(cmd, "commands", {})
        stack.extend(([*path, name], subs[name]) for name in sorted(subs))


def reference() -> str:
    """The reference page: every command's English ``--help``, in tree order."""
    runner = CliRunner()
    env = {"ALLEGIANCE_LANG": "en", "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    parts = [
        "# Command-line reference\n",
        "Generated from `--help` by `python -m allegiance.cli.reference > docs/cli.md`;",
        "a test checks it is current. Every command also answers `--lang zh --help` in Chinese.\n",
    ]
    for path in _commands():
        result = runner.invoke(app, [*path, "--help"], env=env, terminal_width=100)
        title = " ".join(["allegiance", *path])
        body = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        parts.append(f"## `{title}`\n\n```text\n{body}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    os.environ.setdefault("ALLEGIANCE_LANG", "en")
    sys.stdout.write(reference())
