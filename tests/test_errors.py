from __future__ import annotations

import pytest

from allegiance.errors import AllegianceError, ColumnNotFoundError, DataFileError, InputError


def test_one_tree_rooted_in_value_error() -> None:
    assert issubclass(AllegianceError, ValueError)
    assert issubclass(ColumnNotFoundError, InputError)
    assert issubclass(DataFileError, InputError)


def test_column_not_found_suggests_the_closest_name() -> None:
    err = ColumnNotFoundError(["q_nps"], ["q_NPS", "region"])
    assert str(err) == "Columns not found: 'q_nps'. Did you mean 'q_NPS'?"
    assert "您是否指的是 'q_NPS'" in err.render("zh")


def test_column_not_found_lists_columns_when_nothing_is_close() -> None:
    err = ColumnNotFoundError(["zzz"], ["alpha", "beta"])
    assert "Available columns: 'alpha', 'beta'" in str(err)


def test_errors_are_raisable_and_catchable_as_value_error() -> None:
    with pytest.raises(ValueError, match=r"Cannot read f\.csv: broken"):
        raise DataFileError("error.file", file="f.csv", detail="broken")
