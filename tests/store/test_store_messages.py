"""Every message the store can raise exists in Chinese and English with the same fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import allegiance.store
from allegiance.i18n import catalog, placeholders
from allegiance.store.models import Base

STORE_SRC = Path(allegiance.store.__file__).parent


def _keys_used() -> set[str]:
    used: set[str] = set()
    for path in STORE_SRC.rglob("*.py"):
        used |= set(re.findall(r"\"(store\.[a-z_.]+)\"", path.read_text(encoding="utf-8")))
    # repository wraps IntegrityError per table: store.integrity.<table>
    used |= {f"store.integrity.{name}" for name in Base.metadata.tables}
    return used


def test_the_scan_finds_the_keys() -> None:
    assert {"store.row_missing", "store.integrity.responses"} <= _keys_used()


@pytest.mark.parametrize("key", sorted(_keys_used()))
def test_store_message_is_bilingual(key: str) -> None:
    texts = catalog().get(key)
    assert texts is not None, f"{key} is not in src/allegiance/locales/store.yaml"
    assert set(texts) == {"en", "zh"}
    assert placeholders(texts["en"]) == placeholders(texts["zh"])
    assert re.search(r"[\u4e00-\u9fff]", texts["zh"])
