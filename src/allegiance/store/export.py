"""Copy a Parquet table into a database table, in batches, all-or-nothing.

Large per-customer tables (the customer profile, :mod:`allegiance.customers.profile`) live as
Parquet; a company that wants one in its database asks for it: :func:`export_parquet` creates
the table the user names from the Parquet schema and inserts the rows ``batch_size`` at a time
inside **one transaction**, so a failure at any batch leaves the database as it was (an
existing table of that name is replaced only with ``replace=True``, and then only when the new
rows are all in). It is an export, not part of the project's schema: Alembic does not manage
it (``schema_diff`` lists it as a table the models do not know).

SQLite and PostgreSQL (through :func:`allegiance.store.db.make_engine`, which makes SQLite's
DDL transactional too).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from allegiance.errors import InputError, StoreError
from allegiance.i18n import Message

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlalchemy as sa

__all__ = ["DEFAULT_BATCH", "ExportResult", "export_parquet"]

DEFAULT_BATCH = 50_000
"""Rows per INSERT batch."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ExportResult:
    """Where the rows went: ``table`` in the database at ``url`` (password hidden)."""

    table: str
    url: str
    n_rows: int
    n_batches: int
    replaced: bool
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "export": pd.DataFrame(
                [
                    {
                        "table": self.table,
                        "database": self.url,
                        "n_rows": self.n_rows,
                        "n_batches": self.n_batches,
                        "replaced": self.replaced,
                    }
                ]
            )
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "database": self.url,
            "n_rows": self.n_rows,
            "n_batches": self.n_batches,
            "replaced": self.replaced,
        }


def _column_type(dtype: pa.DataType) -> Any:
    import pyarrow as pa
    import sqlalchemy as sa

    if pa.types.is_boolean(dtype):
        return sa.Boolean()
    if pa.types.is_integer(dtype):
        return sa.SmallInteger() if dtype.bit_width <= 16 else sa.BigInteger()
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return sa.Float(precision=53)
    if pa.types.is_date(dtype):
        return sa.Date()
    if pa.types.is_timestamp(dtype):
        return sa.DateTime(timezone=dtype.tz is not None)
    if pa.types.is_dictionary(dtype):
        return _column_type(dtype.value_type)
    return sa.Text()


def _table(name: str, schema: pa.Schema) -> sa.Table:
    import sqlalchemy as sa

    meta = sa.MetaData()
    return sa.Table(
        name, meta, *(sa.Column(f.name, _column_type(f.type), nullable=True) for f in schema)
    )


def _dataset(source: str | os.PathLike[str]) -> Any:
    import pyarrow.dataset as ds

    path = Path(source)
    if not path.exists():
        raise InputError("engine.error.missing_file", path=str(path))
    return ds.dataset(str(path), format="parquet")


def _batches(data: Any, size: int) -> Iterator[pa.Table]:
    """The dataset's rows in tables of exactly ``size`` rows (the last one smaller), however
    the file's row groups split them."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in data.to_batches(batch_size=size):
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        n += batch.num_rows
        while n >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, n = rest.to_batches(), rest.num_rows
    if n:
        yield pa.Table.from_batches(pending)


def export_parquet(
    source: str | os.PathLike[str],
    url: str,
    table: str,
    /,
    *,
    batch_size: int = DEFAULT_BATCH,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Copy the Parquet file (or folder of part files) ``source`` into ``table`` at ``url``.

    The table is created from the Parquet schema (text, whole numbers, floats, booleans,
    dates); rows go in ``batch_size`` at a time in one transaction. An existing table is an
    error unless ``replace``; then it is dropped and created again in the same transaction.
    ``progress(rows_done, rows_total)`` is told after every batch.
    """
    import sqlalchemy as sa

    from allegiance.store.db import _safe, make_engine

    if not _NAME.match(table):
        raise InputError("store.export.bad_name", table=table)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InputError("store.export.bad_batch", value=repr(batch_size))
    data = _dataset(source)
    total = int(data.count_rows())
    target = _table(table, data.schema)
    engine = make_engine(url)
    shown = _safe(str(url))
    n_batches = 0
    done = 0
    replaced = False
    try:
        with engine.begin() as conn:
            exists = sa.inspect(conn).has_table(table)
            if exists and not replace:
                raise StoreError("store.export.exists", table=table, url=shown)
            if exists:
                sa.Table(table, sa.MetaData(), autoload_with=conn).drop(conn)
                replaced = True
            target.create(conn)
            insert = target.insert()
            for batch in _batches(data, batch_size):
                conn.execute(insert, batch.to_pylist())
                n_batches += 1
                done += batch.num_rows
                if progress is not None:
                    progress(done, total)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(
            "store.export.failed",
            table=table,
            url=shown,
            rows=done,
            detail=str(exc).splitlines()[0],
        ) from exc
    finally:
        engine.dispose()
    return ExportResult(table=table, url=shown, n_rows=done, n_batches=n_batches, replaced=replaced)
