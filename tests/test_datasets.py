"""The shipped reference data is complete and unchanged.

Expected shapes and checksums are those documented by the data's origins
(../shared/data/README.md and the lifetimes documentation: the CDNOW master
file holds 69,659 transactions of 23,570 customers; the 1/10 sample 2,357).
"""

from __future__ import annotations

import hashlib

import pytest

from allegiance import datasets


def test_mobi_is_the_published_file() -> None:
    digest = hashlib.md5(datasets.dataset_path("mobi").read_bytes()).hexdigest()
    assert digest == "2a2bf8c3f740e668eceffc2cda5a4c37"
    mobi = datasets.load_mobi()
    assert mobi.shape == (250, 24)
    assert mobi.min().min() >= 1
    assert mobi.max().max() <= 10


def test_plspm_mobile_is_mobi_rescaled() -> None:
    mobi = datasets.load_mobi()
    mobile = datasets.load_plspm_mobile()
    rescaled = ((mobi["CUSA1"] - 1) * 100 / 9).round(2)
    assert (rescaled - mobile["sat1"]).abs().max() == pytest.approx(0, abs=1e-9)


def test_cdnow_counts_match_lifetimes_documentation() -> None:
    master = datasets.load_cdnow_master()
    assert len(master) == 69_659
    assert master["customer_id"].nunique() == 23_570
    sample = datasets.load_cdnow_sample()
    assert sample["customer_id"].nunique() == 2_357
    assert sample["date"].min().strftime("%Y-%m-%d") == "1997-01-01"
    summary = datasets.load_cdnow_summary()
    assert len(summary) == 2_357


def test_every_dataset_loads_and_has_a_licence_note() -> None:
    readme = (datasets.dataset_path("mobi").parent / "README.md").read_text(encoding="utf-8")
    for name, info in datasets.DATASETS.items():
        assert len(datasets.load_dataset(name)) > 0
        assert f"`{info.file}`" in readme


def test_unknown_dataset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        datasets.load_dataset("nope")
