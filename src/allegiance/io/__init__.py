"""Reading data files: one reader for every command (CSV/TSV, Excel, Parquet, SPSS)."""

from allegiance.io.reader import (
    MISSING_TOKENS,
    SUPPORTED_EXTENSIONS,
    DataTable,
    coerce_numeric,
    read_table,
    require_columns,
)

__all__ = [
    "MISSING_TOKENS",
    "SUPPORTED_EXTENSIONS",
    "DataTable",
    "coerce_numeric",
    "read_table",
    "require_columns",
]
