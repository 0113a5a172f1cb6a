"""Customer loyalty, value and segments computed from transaction data at any scale.

Table work is written once as Ibis expressions and runs on DuckDB (default, embedded) or on
Spark (``engine="spark"``). :mod:`allegiance.customers.engine` opens a backend and reads
tables; the analyses in this package take an :class:`~allegiance.customers.engine.Engine`
and Ibis tables and return results with ``tables()`` / ``to_dict()``.
"""

from __future__ import annotations

from allegiance.customers.engine import ENGINES, Engine, connect

__all__ = ["ENGINES", "Engine", "connect"]
