"""One computation, two engines: DuckDB by default, Spark when one machine is not enough.

>>> import pandas as pd
>>> with connect() as eng:
...     t = eng.table(pd.DataFrame({"customer": [1, 1, 2], "amount": [5.0, 7.0, 1.0]}))
...     eng.to_pandas(t.group_by("customer").agg(total=t.amount.sum()).order_by("customer"))
   customer  total
0         1   12.0
1         2    1.0

An analysis builds an Ibis expression from :meth:`Engine.table` tables and asks the engine to
run it (:meth:`Engine.to_pandas`, :meth:`Engine.to_pyarrow`, :meth:`Engine.to_parquet`). The
same expression runs on both backends; no Python loop over customers is ever needed (a loop
over months is fine).
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from allegiance.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")
_names = itertools.count()


@dataclass
class Engine:
    """An open Ibis backend (``con``) and what it is: ``name`` is ``duckdb`` or ``spark``."""

    name: EngineName
    con: Any
    _spark: Any = field(default=None, repr=False)
    _owns_spark: bool = field(default=False, repr=False)

    # -- reading -------------------------------------------------------------------------
    def table(
        self,
        source: str | os.PathLike[str] | pd.DataFrame | ir.Table,
        *,
        columns: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> ir.Table:
        """An Ibis table on this engine from a Parquet/CSV path, a DataFrame or an Ibis table.

        ``columns`` maps the names the analysis expects to the names in the source
        (``{"customer": "cust_id"}``); other columns pass through unchanged.
        """
        import ibis

        if isinstance(source, pd.DataFrame):
            tname = name or f"allegiance_t{next(_names)}"
            with _quiet():
                if self.name == "duckdb":
                    # registered in the DuckDB connection when an expression using it runs
                    table = ibis.memtable(source)
                else:
                    # a temporary view: nothing is written to a Spark warehouse folder
                    # through Arrow, so Arrow-backed dtypes and missing values keep their types
                    import pyarrow as pa

                    arrow = pa.Table.from_pandas(source, preserve_index=False)
                    self._spark.createDataFrame(arrow).createOrReplaceTempView(tname)
                    table = self.con.table(tname)
        elif isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.exists():
                raise InputError("engine.error.missing_file", path=str(path))
            suffix = path.suffix.lower()
            if path.is_dir() or suffix == ".parquet":
                table = self.con.read_parquet(str(path))
            elif suffix in {".csv", ".txt"}:
                table = self.con.read_csv(str(path))
            else:
                raise InputError("engine.error.file_type", path=str(path), suffix=suffix)
        else:
            table = source
        if columns:
            missing = [src for src in columns.values() if src not in table.columns]
            if missing:
                raise InputError(
                    "engine.error.missing_columns",
                    path=str(source) if not isinstance(source, pd.DataFrame) else "DataFrame",
                    columns=", ".join(missing),
                    available=", ".join(table.columns),
                )
            table = table.rename({want: have for want, have in columns.items() if want != have})
        return table

    # -- running -------------------------------------------------------------------------
    def to_pandas(self, expr: ir.Expr) -> Any:
        """Run ``expr``; a table comes back as a DataFrame, a scalar as a Python value."""
        with _quiet():
            return self.con.execute(expr)

    def to_pyarrow(self, expr: ir.Table) -> pa.Table:
        """Run ``expr`` and return an Arrow table."""
        with _quiet():
            return self.con.to_pyarrow(expr)

    def to_parquet(self, expr: ir.Table, path: str | os.PathLike[str]) -> Path:
        """Run ``expr`` and write one Parquet file at ``path`` (all-or-nothing: a temporary
        file is renamed into place)."""
        import pyarrow.parquet as pq

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        try:
            pq.write_table(self.to_pyarrow(expr), tmp)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def close(self) -> None:
        """Close the backend (and stop Spark if this engine started it)."""
        if self.name == "duckdb":
            self.con.disconnect()
        elif self._owns_spark and self._spark is not None:
            self._spark.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    engine: str = "duckdb",
    *,
    master: str | None = None,
    memory_limit: str | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    spark_session: Any = None,
) -> Engine:
    """Open an engine: ``duckdb`` (embedded; spills to ``temp_dir`` when memory is short) or
    ``spark`` (``master`` such as ``local[2]`` or ``spark://host:7077``; an existing
    ``spark_session`` is used as is)."""
    name = engine.lower()
    if name == "duckdb":
        import ibis

        con = ibis.duckdb.connect()
        if memory_limit:
            con.raw_sql(f"SET memory_limit = '{_safe(memory_limit)}'")
        if temp_dir:
            con.raw_sql(f"SET temp_directory = '{_safe(str(temp_dir))}'")
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        return Engine("duckdb", con)
    if name == "spark":
        try:
            import ibis
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InputError("engine.error.no_spark") from exc
        owns = spark_session is None
        if spark_session is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                builder = (
                    SparkSession.builder.master(master or "local[2]")
                    .appName("allegiance")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.sql.session.timeZone", "UTC")
                )
                if memory_limit:
                    builder = builder.config("spark.driver.memory", memory_limit)
                spark_session = builder.getOrCreate()
            spark_session.sparkContext.setLogLevel("ERROR")
        con = ibis.pyspark.connect(spark_session)
        return Engine("spark", con, spark_session, owns)
    raise InputError("engine.error.unknown", engine=engine, choices=", ".join(ENGINES))


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the pandas-3 deprecation notices that ibis 12 and PySpark 4 raise on every call
    (they are about those libraries' code, not the caller's, and say nothing to a user)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The 'future.infer_string'", DeprecationWarning)
        warnings.filterwarnings("ignore", "The copy keyword is deprecated", DeprecationWarning)
        yield


def _safe(value: str) -> str:
    if "'" in value:
        raise InputError("engine.error.setting", value=value)
    return value
