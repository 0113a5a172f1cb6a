"""Small helpers the section modules share."""

from __future__ import annotations

from allegiance.i18n import has, t


def code_label(kind: str, code: object, lang: str) -> str:
    """A category code for people (``segment``/``sme`` → 中小企业), else the code itself."""
    for key in (f"generate.{kind}.{code}", f"vocab.{kind}.{code}", f"{kind}.{code}"):
        if has(key):
            return t(key, lang)
    return str(code)
