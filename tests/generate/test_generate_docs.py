"""Every generated column is documented (docs/demo-company*.md) and labelled in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allegiance.generate import GeneratedData, latent, vocab

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = DOCS / "demo-company.md"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _documented(column: str, text: str) -> bool:
    if f"`{column}`" in text:
        return True
    if column in vocab.ECSI_ITEMS:  # documented as a range, e.g. `IMAG1` … `IMAG5`
        return f"`{re.sub(r'[0-9]+$', '', column)}1`" in text
    if re.fullmatch(r"sq_[epad]\d\d", column):
        return f"`{column[:4]}01`" in text and f"`{column[:4]}22`" in text
    match = re.fullmatch(r"kano_(.+)_(func|dysf)", column)
    if match:
        return f"`kano_<feature>_{match[2]}`" in text and f"`{match[1]}`" in text
    return False


def test_every_column_is_documented_and_labelled(small: GeneratedData) -> None:
    # the main page and one page per group of extra modules (demo-company-waves.md, ...)
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("demo-company*.md")))
    missing = []
    unlabelled = []
    for name, frame in small.tables.items():
        assert f"### `{name}`" in text, name
        for column in frame.columns:
            if not _documented(column, text):
                missing.append(f"{name}.{column}")
            en = vocab.column_label(column, "en")
            zh = vocab.column_label(column, "zh")
            if en == column or not CJK.search(zh):
                unlabelled.append(f"{name}.{column}")
    assert missing == []
    assert unlabelled == []


def test_documented_paths_are_the_true_paths() -> None:
    text = DOC.read_text(encoding="utf-8")
    for (src, dst), value in latent.PATHS.items():
        row = f"{latent.ECSI_NAMES[src]} → {latent.ECSI_NAMES[dst]} | {value:.2f}"
        assert row in text, row


@pytest.mark.parametrize("kind", vocab.kinds())
def test_every_code_has_both_labels(kind: str) -> None:
    en = vocab.labels(kind, "en")
    zh = vocab.labels(kind, "zh")
    assert set(en) == set(zh) == set(vocab.codes(kind))
    for code in vocab.codes(kind):
        assert en[code] != f"generate.{kind}.{code}", (kind, code)
        assert zh[code] != f"generate.{kind}.{code}", (kind, code)
