"""Help texts are Chinese when the CLI starts in Chinese (ALLEGIANCE_LANG=zh or --lang zh)."""

from __future__ import annotations

import os
import subprocess
import sys


def _help(*args: str, env_lang: str | None = None) -> str:
    env = dict(os.environ)
    env.pop("ALLEGIANCE_LANG", None)
    env["LANG"] = "C.UTF-8"
    if env_lang:
        env["ALLEGIANCE_LANG"] = env_lang
    done = subprocess.run(
        [sys.executable, "-m", "allegiance", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def test_help_follows_allegiance_lang() -> None:
    assert "客户满意度" in _help(env_lang="zh")
    assert "customer satisfaction" in _help(env_lang="en")


def test_lang_flag_before_help_switches_language() -> None:
    out = _help("--lang", "zh", "demo")
    assert "演示" in out
    assert "示例" in out
