"""Reading the customer tables: column mapping by configuration, types, and validation.

Every analysis of :mod:`allegiance.customers` works on tables with *our* column names (the
roles below). A company's files use their own names; a mapping says which source column
plays which role, per table kind::

    activity:
      customer: cust_no
      date: txn_date
      amount: revenue_cny
    customers:
      customer: cust_no
      join_date: opened_on

Roles not mapped are found by their usual names (``customer_id`` for ``customer``, ``month``
for ``date`` ...). :func:`read_source` reads Parquet, CSV, a frame, an Ibis table or a
database table (:class:`DatabaseSource`, read through SQLAlchemy into Arrow), keeps only the
role columns (renamed), fixes their types, and checks them in one pass on the engine. A bad
value stops the read with the file, the column, the row, the value and what was expected.

Two layouts of the activity table are understood:

- **events**: one row per event, ``event`` in ``purchase``, ``holding``, ``addition``,
  ``cancellation`` (a holding row is a product held in that period; its amount is revenue);
- **monthly**: one row per customer and month with counts (``n_purchases``,
  ``products_held``, ``additions``, ``cancellations``), as the demo company's ``activity``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from allegiance.errors import ConfigError, InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine

__all__ = [
    "EVENTS",
    "KINDS",
    "SCHEMAS",
    "ColumnMapping",
    "DatabaseSource",
    "Role",
    "activity_layout",
    "load_mapping",
    "read_source",
    "resolve_columns",
]

Kind = Literal["id", "date", "number", "text", "event"]
EVENTS: tuple[str, ...] = ("purchase", "holding", "addition", "cancellation")
ColumnMapping = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Role:
    """One column an analysis reads: our name, its type, whether it must be there, and the
    source names tried (in order) when the mapping does not name it."""

    name: str
    kind: Kind
    required: bool = False
    candidates: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.candidates)


_CUSTOMER = Role("customer", "id", True, ("customer_id", "cust_id", "client_id"))
_DATE = Role("date", "date", True, ("month", "event_date", "txn_date", "received_at", "timestamp"))

SCHEMAS: dict[str, tuple[Role, ...]] = {
    "activity": (
        _CUSTOMER,
        _DATE,
        Role("amount", "number", True, ("revenue", "value")),
        Role("event", "event", False, ("event_type",)),
        Role("product", "text", False, ("product_code",)),
        Role("n_purchases", "number", False, ("purchases",)),
        Role("products_held", "number", False, ("holdings",)),
        Role("additions", "number", False, ()),
        Role("cancellations", "number", False, ()),
        Role("competitor_share", "number", False, ()),
        Role("n_named", "number", False, ("named_brand",)),
    ),
    "customers": (
        _CUSTOMER,
        Role("join_date", "date", False, ("joined", "since")),
        Role("nature", "text", False, ()),
        Role("segment", "text", False, ()),
        Role("region", "text", False, ()),
        Role("value_tier", "text", False, ()),
    ),
    "engagement": (
        _CUSTOMER,
        Role("date", "date", True, ("occurred_at", "event_date", "month")),
        Role("kind", "text", True, ("event", "activity", "type")),
    ),
    "price_changes": (
        _CUSTOMER,
        Role("date", "date", True, ("month", "effective_date")),
        Role("change", "number", False, ("change_pct", "price_change")),
        Role("product", "text", False, ()),
    ),
    "market": (
        _CUSTOMER,
        Role("date", "date", True, ("month",)),
        Role("competitor_share", "number", True, ("share",)),
        Role("product", "text", False, ()),
    ),
    "complaints": (
        _CUSTOMER,
        Role("date", "date", True, ("received_at", "month")),
    ),
    "attitudes": (
        _CUSTOMER,
        Role("imp_price", "number", True, ("price",)),
        Role("imp_service", "number", True, ("service",)),
        Role("imp_product", "number", True, ("product",)),
    ),
    "brand": (
        _CUSTOMER,
        Role("n_purchases", "number", True, ("purchases",)),
        Role("n_named", "number", True, ("named_brand", "named")),
    ),
}
KINDS: tuple[str, ...] = tuple(SCHEMAS)

_EXPECTED = {
    "id": "customers.expected.id",
    "date": "customers.expected.date",
    "number": "customers.expected.number",
    "text": "customers.expected.text",
    "event": "customers.expected.event",
}


@dataclass(frozen=True)
class DatabaseSource:
    """A table in a database, read through SQLAlchemy (``url`` such as
    ``sqlite:///crm.db`` or ``postgresql+psycopg://user@host/db``)."""

    url: str
    table: str

    @classmethod
    def parse(cls, text: str) -> DatabaseSource:
        """``URL#table`` (as the CLI takes it) → a :class:`DatabaseSource`."""
        url, sep, table = text.rpartition("#")
        if not sep or not url or not table:
            raise InputError("customers.error.database_source", value=text)
        return cls(url, table)

    def __str__(self) -> str:
        return f"{self.url.split('@')[-1]}#{self.table}"


def load_mapping(
    source: str | os.PathLike[str] | ColumnMapping | None,
) -> dict[str, dict[str, str]]:
    """A column mapping from a YAML file or a dict, checked: ``{kind: {role: source column}}``.

    Unknown kinds and roles are refused with the list of what is allowed.
    """
    if source is None:
        return {}
    if isinstance(source, str | os.PathLike):
        import yaml

        path = Path(source)
        if not path.exists():
            raise InputError("engine.error.missing_file", path=str(path))
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(
                "customers.error.mapping_yaml", file=str(path), detail=str(exc)
            ) from exc
        where = str(path)
    else:
        data, where = source, "mapping"
    if not isinstance(data, Mapping):
        raise ConfigError("customers.error.mapping_shape", file=where)
    out: dict[str, dict[str, str]] = {}
    for kind, roles in data.items():
        if kind not in SCHEMAS:
            raise ConfigError(
                "customers.error.mapping_kind", file=where, kind=kind, allowed=", ".join(KINDS)
            )
        if not isinstance(roles, Mapping):
            raise ConfigError("customers.error.mapping_shape", file=where)
        known = {r.name for r in SCHEMAS[kind]}
        for role, column in roles.items():
            if role not in known:
                raise ConfigError(
                    "customers.error.mapping_role",
                    file=where,
                    kind=kind,
                    role=role,
                    allowed=", ".join(r.name for r in SCHEMAS[kind]),
                )
            if not isinstance(column, str) or not column:
                raise ConfigError(
                    "customers.error.mapping_value", file=where, kind=kind, role=role, value=column
                )
        out[str(kind)] = {str(k): str(v) for k, v in roles.items()}
    return out


def resolve_columns(
    kind: str, columns: list[str], mapping: Mapping[str, str] | None = None, *, file: str = "-"
) -> dict[str, str]:
    """``{role: source column}`` for the roles present: mapped ones first, else the usual
    names (exact, then case-insensitive). A missing required role raises
    :class:`InputError` naming the file, the role, the names tried and the columns there."""
    mapping = dict(mapping or {})
    lowered = {c.lower(): c for c in columns}
    found: dict[str, str] = {}
    taken: set[str] = set()
    for role in SCHEMAS[kind]:
        if role.name in mapping:
            column = mapping[role.name]
            if column not in columns:
                raise InputError(
                    "customers.error.mapped_missing",
                    file=file,
                    role=role.name,
                    column=column,
                    available=", ".join(columns),
                )
            found[role.name] = column
            taken.add(column)
    for role in SCHEMAS[kind]:
        if role.name in found:
            continue
        for name in role.names:
            hit = name if name in columns else lowered.get(name.lower())
            if hit is not None and hit not in taken:
                found[role.name] = hit
                taken.add(hit)
                break
        else:
            if role.required:
                raise InputError(
                    "customers.error.missing_role",
                    file=file,
                    kind=kind,
                    role=role.name,
                    tried=", ".join(role.names),
                    available=", ".join(columns),
                )
    return found


def activity_layout(table: ir.Table) -> Literal["events", "monthly"]:
    """``events`` when the table has an ``event`` column, else ``monthly``."""
    return "events" if "event" in table.columns else "monthly"


def _describe(source: Any) -> str:
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    if isinstance(source, str | os.PathLike | DatabaseSource):
        return str(source)
    return "table"


def _read_database(engine: Engine, source: DatabaseSource) -> ir.Table:
    import sqlalchemy as sa

    try:
        db = sa.create_engine(source.url)
        with db.connect() as conn:
            frame = pd.read_sql_table(source.table, conn, dtype_backend="pyarrow")
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        raise InputError(
            "customers.error.database", source=str(source), detail=str(exc).splitlines()[0]
        ) from exc
    finally:
        if "db" in locals():
            db.dispose()
    return engine.table(frame)


def read_source(
    engine: Engine,
    source: Any,
    /,
    *,
    kind: str,
    mapping: Mapping[str, str] | None = None,
    validate: bool = True,
    extra: tuple[str, ...] = (),
) -> ir.Table:
    """Read one table of ``kind`` (see :data:`SCHEMAS`) on ``engine`` with our column names.

    ``source``: a Parquet/CSV path, a DataFrame, an Ibis table, a :class:`DatabaseSource` or
    ``"URL#table"`` text. ``mapping`` is ``{role: source column}`` for this kind. Types are
    fixed (dates as dates, numbers as float64 or int64, ids left as they are); with
    ``validate`` every value is checked in one pass and the first bad one is reported.
    ``extra`` names further source columns kept as they are (e.g. grading criteria).
    """
    import ibis

    if kind not in SCHEMAS:
        raise ConfigError("customers.error.kind", kind=kind, allowed=", ".join(KINDS))
    if isinstance(source, str) and "://" in source:
        source = DatabaseSource.parse(source)
    file = _describe(source)
    raw = _read_database(engine, source) if isinstance(source, DatabaseSource) else None
    if raw is None:
        raw = engine.table(source)
    found = resolve_columns(kind, list(raw.columns), mapping, file=file)
    roles = {r.name: r for r in SCHEMAS[kind]}
    schema = raw.schema()
    typed: dict[str, Any] = {}
    # (role, bad-row predicate, raw column, screen): the screen says how a cheap aggregate
    # can tell there is no bad value ("null": none missing; "inf": none infinite)
    checks: list[tuple[str, Any, Any, str | None]] = []
    for name, column in found.items():
        role = roles[name]
        col = raw[column]
        dtype = schema[column]
        if role.kind == "date":
            if dtype.is_date():
                value = col
            elif dtype.is_timestamp():
                value = col.date()
            elif dtype.is_string():
                stripped = col.strip()
                value = stripped.try_cast("timestamp").date()
                checks.append(
                    (name, stripped.notnull() & value.isnull() & (stripped != ""), col, None)
                )
            else:
                raise InputError(
                    "customers.error.column_type",
                    file=file,
                    column=column,
                    found=str(dtype),
                    expected=_EXPECTED[role.kind],
                )
        elif role.kind == "number":
            if dtype.is_boolean() or dtype.is_integer():
                value = col.cast("int64")
            elif dtype.is_numeric():
                value = col.cast("float64")
            elif dtype.is_string():
                stripped = col.strip()
                value = stripped.try_cast("float64")
                checks.append(
                    (name, stripped.notnull() & value.isnull() & (stripped != ""), col, None)
                )
            else:
                raise InputError(
                    "customers.error.column_type",
                    file=file,
                    column=column,
                    found=str(dtype),
                    expected=_EXPECTED[role.kind],
                )
            if dtype.is_floating() or dtype.is_decimal():
                # NaN is a missing value (pandas writes missing numbers as NaN; Spark keeps it)
                value = ibis.ifelse(value.isnan(), ibis.null("float64"), value)
                # not value.isinf(): Ibis 12 compiles it to FALSE on PySpark
                inf = ibis.literal(math.inf, "float64")
                checks.append((name, (value == inf) | (value == -inf), col, "inf"))
        elif role.kind == "event":
            value = col.cast("string").strip().lower()
            checks.append((name, value.notnull() & ~value.isin(EVENTS), col, None))
        elif role.kind == "id":
            value = col if dtype.is_string() or dtype.is_integer() else col.cast("string")
            checks.append((name, col.isnull(), col, "null"))
        else:
            value = col.cast("string") if not dtype.is_string() else col
        if role.required and role.kind != "id":
            checks.append((name, col.isnull(), col, "null"))
        typed[name] = value
    if validate and checks:
        _validate(engine, raw, checks, found=found, roles=roles, file=file)
    missing = [c for c in extra if c not in raw.columns]
    if missing:
        raise InputError(
            "customers.error.mapped_missing",
            file=file,
            role="extra",
            column=", ".join(missing),
            available=", ".join(raw.columns),
        )
    for column in extra:
        if column not in typed:
            typed[column] = raw[column]
    return raw.select(**typed)


def _validate(
    engine: Engine,
    raw: ir.Table,
    checks: list[tuple[str, Any, Any, str | None]],
    *,
    found: Mapping[str, str],
    roles: Mapping[str, Role],
    file: str,
) -> None:
    """Count the bad values of every check; the first bad row of the first failing check is
    then fetched (with its 1-based data row number in the order the engine reads the source).

    A first query asks only for the row count and, per column, the count of values present
    and the smallest and largest value: that settles the missing-value checks exactly, and
    the infinity checks when both ends are finite. DuckDB answers it from the Parquet
    statistics without reading the rows. The checks it cannot settle (text to parse,
    event names, an infinite end) are counted in one pass over the rows.
    """
    import ibis

    screen: dict[str, Any] = {"_rows": raw.count()}
    for i, (_, _, col, kind) in enumerate(checks):
        if kind == "null":
            screen[f"n_{i}"] = col.count()
        elif kind == "inf":
            screen[f"lo_{i}"] = col.min()
            screen[f"hi_{i}"] = col.max()
    first = engine.to_pandas(raw.aggregate(**screen)).iloc[0]
    rows = int(first["_rows"] or 0)
    n_bad: dict[int, int] = {}
    for i, (_, _, _, kind) in enumerate(checks):
        if kind == "null":
            n_bad[i] = rows - int(first[f"n_{i}"] or 0)
        elif kind == "inf" and all(_finite(first[f"{end}_{i}"]) for end in ("lo", "hi")):
            n_bad[i] = 0
    rest = [i for i in range(len(checks)) if i not in n_bad]
    if rest:
        counts = raw.aggregate(
            **{f"bad_{i}": checks[i][1].fill_null(False).cast("int64").sum() for i in rest}
        )
        got = engine.to_pandas(counts).iloc[0]
        n_bad.update({i: int(got[f"bad_{i}"] or 0) for i in rest})
    for i, (name, pred, _col, _kind) in enumerate(checks):
        if not n_bad[i]:
            continue
        numbered = raw.mutate(_row=ibis.row_number() + 1, _bad=pred.fill_null(False))
        first_bad = engine.to_pandas(
            numbered.filter(numbered._bad).order_by("_row").select("_row", found[name]).limit(1)
        )
        row = int(first_bad["_row"].iloc[0]) if len(first_bad) else "?"
        shown = first_bad[found[name]].iloc[0] if len(first_bad) else None
        value = "" if shown is None or (isinstance(shown, float) and shown != shown) else shown
        raise InputError(
            "customers.error.bad_value",
            file=file,
            column=found[name],
            role=name,
            row=row,
            value=str(value) if value != "" else "(empty)",
            expected=_expected(roles[name]),
            n_bad=n_bad[i],
        )


def _finite(value: Any) -> bool:
    """Whether ``value`` (an aggregate's result) is a finite number or missing (a column
    with no values has no infinite one); NaN is not finite (the engines sort it above
    infinity, so an infinite value could hide under it)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _expected(role: Role) -> str:
    from allegiance.i18n import t

    return t(_EXPECTED[role.kind], None, events=", ".join(EVENTS))
