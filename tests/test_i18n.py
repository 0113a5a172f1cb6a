from __future__ import annotations

import re

import pytest

from allegiance import i18n
from allegiance.i18n import Message, catalog, normalize_lang, placeholders, set_lang, t

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    problems = []
    for key, texts in catalog().items():
        if set(texts) != {"en", "zh"}:
            problems.append(f"{key}: languages {sorted(texts)}")
            continue
        if placeholders(texts["en"]) != placeholders(texts["zh"]):
            problems.append(f"{key}: placeholders differ")
        if not texts["en"].strip() or not texts["zh"].strip():
            problems.append(f"{key}: empty text")
    assert problems == []


def test_chinese_texts_are_chinese() -> None:
    # Column labels may be acronyms (NPS, CES); sentences must be written in Chinese.
    not_chinese = [
        k for k, v in catalog().items() if len(v["en"].split()) > 3 and not CJK.search(v["zh"])
    ]
    assert not_chinese == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zh", "zh"),
        ("zh_CN.UTF-8", "zh"),
        ("zh-Hans", "zh"),
        ("en_US", "en"),
        ("C", "en"),
        ("fr_FR", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_lang(raw: str | None, expected: str | None) -> None:
    assert normalize_lang(raw) == expected


def test_default_follows_env_then_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLEGIANCE_LANG", "zh")
    assert i18n.default_lang() == "zh"
    monkeypatch.delenv("ALLEGIANCE_LANG")
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert i18n.default_lang() == "zh"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    assert i18n.default_lang() == "en"


def test_set_lang_switches_rendering() -> None:
    msg = Message("error.not_a_project", {"path": "/tmp/x"})
    set_lang("zh")
    assert "不是 allegiance 项目" in msg.render()
    set_lang("en")
    assert msg.render().startswith("/tmp/x is not an allegiance project")
    with pytest.raises(ValueError, match="unknown language"):
        set_lang("fr")


def test_unknown_key_is_shown_as_key() -> None:
    assert t("no.such.key", "en") == "no.such.key"
