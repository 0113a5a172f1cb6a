"""Huaxun Telecom (华讯通信): a fictional telecom operator to demonstrate and test allegiance.

``generate(DemoConfig(...))`` runs every registered generator module and returns
the tables and the true parameters behind them; ``write_parquet`` stores them.
"""

from __future__ import annotations

# Importing the built-in modules registers them (customers, activity, survey, complaints).
from allegiance.generate import (  # noqa: F401
    activity,
    audits,
    complaints,
    customers,
    engagement,
    journey,
    loyalty_events,
    servqual_extra,
    survey,
    waves,
)
from allegiance.generate.config import DemoConfig
from allegiance.generate.engine import GeneratedData, generate, write_parquet
from allegiance.generate.registry import (
    GenContext,
    GeneratorModule,
    ModuleOutput,
    module_rng,
    modules,
    register,
    registered,
    unregister,
)

__all__ = [
    "DemoConfig",
    "GenContext",
    "GeneratedData",
    "GeneratorModule",
    "ModuleOutput",
    "generate",
    "module_rng",
    "modules",
    "register",
    "registered",
    "unregister",
    "write_parquet",
]
