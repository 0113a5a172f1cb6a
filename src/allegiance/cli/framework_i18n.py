"""Typer's (and its bundled Click's) own words in the chosen language: "Usage:", the panel
titles, "[default: ...]" and the usage errors ("Invalid value for ...", "Missing option ...").

Typer sets its panel titles once at import and its bundled Click writes its messages as
plain English f-strings, so :func:`install` resets the titles and wraps the error printer to
translate each message by pattern (``framework.*`` entries of the catalogue,
``locales/framework.yaml``). Unknown messages pass through unchanged; English changes
nothing.

>>> translate_message("Invalid value for '--method': 'x' is not one of 'a', 'b'.", "zh")
"'--method' 的值无效：“x”不在可选值 'a', 'b' 之中。"
"""

from __future__ import annotations

import re
from typing import Any

from allegiance.i18n import catalog, t

_TITLES = {
    "DEPRECATED_STRING": "framework.deprecated_br",
    "DEFAULT_STRING": "framework.default_br",
    "ENVVAR_STRING": "framework.envvar_br",
    "REQUIRED_LONG_STRING": "framework.required_br",
    "ARGUMENTS_PANEL_TITLE": "framework.arguments",
    "OPTIONS_PANEL_TITLE": "framework.options",
    "COMMANDS_PANEL_TITLE": "framework.commands",
    "ERRORS_PANEL_TITLE": "framework.error",
    "ABORTED_TEXT": "framework.aborted",
    "RICH_HELP": "framework.rich_help",
}

# (pattern on the English message, catalogue key); the named groups fill the key's fields,
# and a group called ``message`` is itself translated again (messages nest).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^Invalid value for (?P<hint>.+?): (?P<message>.*)$", re.S),
        "framework.err.invalid_value_for",
    ),
    (re.compile(r"^Invalid value: (?P<message>.*)$", re.S), "framework.err.invalid_value"),
    (re.compile(r"^Value error, (?P<message>.*)$", re.S), ""),
    (
        re.compile(r"^Missing (?P<kind>argument|option|parameter)(?P<hint>.*?)\.$"),
        "framework.err.missing",
    ),
    (re.compile(r"^Missing parameter: (?P<name>.*)$"), "framework.err.missing_parameter"),
    (re.compile(r"^No such option: (?P<name>\S+) \(Possible options: (?P<options>.*)\)$"), ""),
    (re.compile(r"^No such option: (?P<name>.*)$"), "framework.err.no_such_option"),
    (re.compile(r"^No such command '(?P<name>.*)'\.$"), "framework.err.no_such_command"),
    (
        re.compile(r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$"),
        "framework.err.extra_arguments",
    ),
    (
        re.compile(r"^Option '(?P<name>.*)' requires an argument\.$"),
        "framework.err.requires_argument",
    ),
    (
        re.compile(r"^'(?P<value>.*)' is not one of (?P<choices>.*)\.$", re.S),
        "framework.err.not_one_of",
    ),
    (
        re.compile(r"^Value '(?P<value>.*)' is not a valid (?P<kind>.*)\.$"),
        "framework.err.not_valid",
    ),
    (
        re.compile(r"^(?P<kind>File|Path|Directory) '(?P<path>.*)' does not exist\.$"),
        "framework.err.not_exist",
    ),
    (
        re.compile(r"^(?P<kind>File|Path|Directory) '(?P<path>.*)' is a directory\.$"),
        "framework.err.is_directory",
    ),
]
_KINDS = {"argument", "option", "parameter", "File", "Path", "Directory"}


def translate_message(message: str, lang: str) -> str:
    """``message`` (an English framework message) in ``lang``; unknown ones unchanged."""
    if lang == "en":  # only pydantic's "Value error, " inside Typer's messages goes
        return message.replace(": Value error, ", ": ")
    for pattern, key in _PATTERNS:
        match = pattern.match(message)
        if match is None:
            continue
        parts = match.groupdict()
        if "message" in parts:
            parts["message"] = translate_message(parts["message"], lang)
        if parts.get("kind") in _KINDS:
            parts["kind"] = t(f"framework.kind.{parts['kind'].lower()}", lang)
        if not key:  # a wrapper that only needs its inner part translated
            if "options" in parts:
                return (
                    t("framework.err.no_such_option", lang, name=parts["name"])
                    + " "
                    + t("framework.err.possible_options", lang, options=parts["options"])
                )
            return parts["message"]
        return t(key, lang, **parts)
    return message


def _raw(key: str, lang: str) -> str:
    """A catalogue text as written (its ``{}`` fields are filled by the framework)."""
    texts = catalog()[key]
    return texts.get(lang) or texts["en"]


def install(lang: str) -> None:
    """Make Typer and its Click speak ``lang`` from now on (idempotent)."""
    import typer.rich_utils as ru
    from typer._click import formatting

    for attr, key in _TITLES.items():
        setattr(ru, attr, _raw(key, lang))

    usage = _raw("framework.usage", lang)
    original_usage = getattr(formatting.HelpFormatter.write_usage, "__wrapped__", None)
    if original_usage is None:
        original_usage = formatting.HelpFormatter.write_usage

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        original_usage(self, prog, args, usage if prefix is None else prefix)

    write_usage.__wrapped__ = original_usage  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = write_usage  # type: ignore[method-assign]

    original_error = getattr(ru.rich_format_error, "__wrapped__", ru.rich_format_error)

    def rich_format_error(self: Any) -> None:
        english = self.format_message
        self.format_message = lambda: translate_message(english(), lang)
        try:
            original_error(self)
        finally:
            del self.format_message

    rich_format_error.__wrapped__ = original_error  # type: ignore[attr-defined]
    ru.rich_format_error = rich_format_error
