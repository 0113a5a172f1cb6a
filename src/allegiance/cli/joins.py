"""A second table joined to the survey answers on a key (``--customers FILE``, ``--branches FILE``).

The demo keeps customer facts (segment, region ...) in ``customers`` and the
branch of each customer in ``customer_branch``; the survey tables hold only the
``customer_id``. Commands that group answers by such a fact take the second
file and join it here, so no hand join is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from allegiance.i18n import Message


def resolve(file: Path, project: Path | None) -> Path:
    """A relative file not found here is looked up in the project folder and its data folder."""
    if file.is_absolute() or file.exists() or project is None:
        return file
    root = project.expanduser()
    for candidate in (root / file, root / "data" / file):
        if candidate.exists():
            return candidate
    return file


def join_file(
    frame: pd.DataFrame,
    other: Path,
    *,
    key: str,
    survey_file: Path,
    project: Path | None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, tuple[Message, ...], Path]:
    """``frame`` with every column of ``other`` it lacks, joined on ``key`` (a left join).

    Keys must be unique in ``other``; rows whose key ``other`` does not know get
    missing values. Returns the joined frame (same rows, same order), the reader's
    warnings and the path read.
    """
    from allegiance.io.reader import read_table, require_columns
    from allegiance.methods.reasons import join_customers

    path = resolve(other, project)
    table = read_table(path, encoding=encoding)
    require_columns(table.frame, [key], file=path)
    require_columns(frame, [key], file=survey_file)
    columns = [str(c) for c in table.frame.columns if c != key and c not in frame.columns]
    joined: Any = join_customers(frame, table.frame, columns=columns, customer_id=key)
    return joined, tuple(table.warnings), path
