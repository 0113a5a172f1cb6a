"""The open list of generator modules.

A module is a name, the names of the modules whose tables it reads, and a
function from a :class:`GenContext` to a :class:`ModuleOutput`. Register one
with :func:`register`; :func:`modules` lists them in dependency order.

Each module draws from its own random generator, seeded from the config seed
and the module's *name* (``SeedSequence(seed, spawn_key=(hash(name),))``, the
same mechanism as ``SeedSequence.spawn``), so registering another module never
changes the numbers an existing module produces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allegiance.errors import ConfigError
from allegiance.generate.config import DemoConfig

__all__ = [
    "GenContext",
    "GeneratorModule",
    "ModuleOutput",
    "module_rng",
    "modules",
    "register",
    "registered",
    "unregister",
]


@dataclass(frozen=True)
class ModuleOutput:
    """What a module adds: named tables and its true parameters (JSON-able values)."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenContext:
    """What a module sees: the config, its own random generator, everything made so far."""

    config: DemoConfig
    rng: np.random.Generator
    tables: dict[str, pd.DataFrame]
    truth: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class GeneratorModule:
    """One generator: ``run`` may read the tables of the modules named in ``requires``."""

    name: str
    requires: tuple[str, ...]
    run: Callable[[GenContext], ModuleOutput]


_MODULES: dict[str, GeneratorModule] = {}


def register(module: GeneratorModule, /, *, replace: bool = False) -> GeneratorModule:
    """Add a module to the registry (``replace=True`` swaps one of the same name)."""
    if not isinstance(module, GeneratorModule):
        raise ConfigError("generate.error.not_a_module", value=repr(module))
    if not module.name or not module.name.replace("_", "").isalnum():
        raise ConfigError("generate.error.bad_module_name", name=repr(module.name))
    if module.name in _MODULES and not replace and _MODULES[module.name] is not module:
        raise ConfigError("generate.error.duplicate_module", name=module.name)
    _MODULES[module.name] = module
    return module


def unregister(name: str, /) -> None:
    """Remove a module by name (no error if it is not there)."""
    _MODULES.pop(name, None)


def registered() -> dict[str, GeneratorModule]:
    """The registry as ``{name: module}`` in registration order (a copy)."""
    return dict(_MODULES)


def modules() -> list[GeneratorModule]:
    """Every registered module, each after the modules it requires.

    Among modules whose requirements are met, registration order decides.
    """
    pending = dict(_MODULES)
    for module in pending.values():
        missing = [r for r in module.requires if r not in pending]
        if missing:
            raise ConfigError(
                "generate.error.missing_requirement",
                name=module.name,
                missing=", ".join(missing),
            )
    ordered: list[GeneratorModule] = []
    done: set[str] = set()
    while pending:
        ready = [m for m in pending.values() if all(r in done for r in m.requires)]
        if not ready:
            raise ConfigError("generate.error.cycle", names=", ".join(sorted(pending)))
        for module in ready:
            ordered.append(module)
            done.add(module.name)
            del pending[module.name]
    return ordered


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def module_rng(seed: int, name: str, /) -> np.random.Generator:
    """The random generator of module ``name``: a child of ``SeedSequence(seed)`` keyed by name."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_name_key(name),))
    return np.random.Generator(np.random.PCG64(sequence))
