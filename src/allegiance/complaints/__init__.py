"""The complaint register: cause taxonomy, handling workflow, import and case handling.

- :mod:`~allegiance.complaints.taxonomy`: the causes and their classes (SPEC section 6 by default);
- :mod:`~allegiance.complaints.handling`: states, allowed moves, roles, severities and SLAs;
- :mod:`~allegiance.complaints.importer`: CSV/XLSX import, validated, all or nothing;
- :mod:`~allegiance.complaints.register`: work a stored complaint (move it, record the move).

The analysis is :mod:`allegiance.methods.complaints`. Importing this package is light: the
store (SQLAlchemy) is only loaded by ``importer`` and ``register``.
"""

from __future__ import annotations

from allegiance.complaints.handling import (
    DEFAULT_WORKFLOW,
    ESCALATIONS,
    Severity,
    State,
    Workflow,
    apply_transition,
    load_workflow,
    parse_workflow,
)
from allegiance.complaints.taxonomy import (
    CAUSE_CLASSES,
    DEFAULT_TAXONOMY,
    Cause,
    Taxonomy,
    load_taxonomy,
    normalize_name,
    parse_taxonomy,
)

__all__ = [
    "CAUSE_CLASSES",
    "DEFAULT_TAXONOMY",
    "DEFAULT_WORKFLOW",
    "ESCALATIONS",
    "Cause",
    "Severity",
    "State",
    "Taxonomy",
    "Workflow",
    "apply_transition",
    "load_taxonomy",
    "load_workflow",
    "normalize_name",
    "parse_taxonomy",
    "parse_workflow",
]
