"""Roles and what each may do: the permission matrix, as data.

Every page, API route, export and command that needs a right asks :func:`can` (or
:meth:`allegiance.security.Principal.can`) for one of :data:`PERMISSIONS`; nothing
tests a role name directly. API token scopes are permission names too.

=========================  =====  =======  ======  =====
permission                 admin  analyst  viewer  agent
=========================  =====  =======  ======  =====
analyses.view              yes    yes      yes     -
reports.export             yes    yes      yes     -
responses.view_personal    yes    yes      -       -
responses.export_raw       yes    yes      -       -
responses.import           yes    yes      -       -
surveys.manage             yes    yes      -       -
invitations.manage         yes    yes      -       -
complaints.view            yes    yes      -       yes
complaints.work            yes    -        -       yes
customers.erase            yes    -        -       -
users.manage               yes    -        -       -
audit.view                 yes    -        -       -
db.manage                  yes    -        -       -
=========================  =====  =======  ======  =====

A viewer sees aggregated results only: no customer ids, e-mail addresses or answers tied
to a person (``responses.view_personal``) and no raw export (``responses.export_raw``).
An agent works complaints and sees nothing of the surveys.

>>> can("viewer", "analyses.view"), can("viewer", "responses.export_raw")
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from allegiance.errors import ValidationError

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "can",
    "check_permission",
    "check_role",
    "check_scopes",
    "permission_matrix",
]

#: The roles, most powerful first (the same list as the ``users.role`` CHECK constraint).
ROLES: tuple[str, ...] = ("admin", "analyst", "viewer", "agent")

#: Every permission; the text of each is the message ``security.perm.<name>``.
PERMISSIONS: tuple[str, ...] = (
    "analyses.view",
    "reports.export",
    "responses.view_personal",
    "responses.export_raw",
    "responses.import",
    "surveys.manage",
    "invitations.manage",
    "complaints.view",
    "complaints.work",
    "customers.erase",
    "users.manage",
    "audit.view",
    "db.manage",
)

_ANALYST = frozenset(
    {
        "analyses.view",
        "reports.export",
        "responses.view_personal",
        "responses.export_raw",
        "responses.import",
        "surveys.manage",
        "invitations.manage",
        "complaints.view",
    }
)

#: What each role may do (read-only mappings of frozen sets).
ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "admin": frozenset(PERMISSIONS),
        "analyst": _ANALYST,
        "viewer": frozenset({"analyses.view", "reports.export"}),
        "agent": frozenset({"complaints.view", "complaints.work"}),
    }
)


def check_role(role: str, /) -> str:
    """``role`` if it is one of :data:`ROLES`, else a bilingual :class:`ValidationError`."""
    if role not in ROLE_PERMISSIONS:
        raise ValidationError("security.unknown_role", role=role, roles=", ".join(ROLES))
    return role


def check_permission(permission: str, /) -> str:
    """``permission`` if it is one of :data:`PERMISSIONS`, else a :class:`ValidationError`."""
    if permission not in PERMISSIONS:
        raise ValidationError(
            "security.unknown_permission",
            permission=permission,
            permissions=", ".join(PERMISSIONS),
        )
    return permission


def can(role: str | None, permission: str, /) -> bool:
    """Whether ``role`` may do ``permission``.

    An unknown or missing role may do nothing. An unknown permission is a programming error
    and raises :class:`ValidationError` (a misspelt check must not silently deny or allow).
    """
    check_permission(permission)
    if role is None:
        return False
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def check_scopes(scopes: Iterable[str], /, *, role: str | None = None) -> tuple[str, ...]:
    """Token scopes, checked and in :data:`PERMISSIONS` order, without repeats.

    Each must be a permission; with ``role``, each must also be one the role has (a token
    never carries more than its owner may do).
    """
    wanted = {s.strip() for s in scopes if s.strip()}
    if not wanted:
        raise ValidationError("security.no_scopes", permissions=", ".join(PERMISSIONS))
    for scope in sorted(wanted):
        check_permission(scope)
        if role is not None and not can(role, scope):
            raise ValidationError("security.scope_beyond_role", scope=scope, role=role)
    return tuple(p for p in PERMISSIONS if p in wanted)


def permission_matrix() -> dict[str, dict[str, bool]]:
    """``{permission: {role: allowed}}`` for every permission and role (for docs and pages)."""
    return {p: {r: p in ROLE_PERMISSIONS[r] for r in ROLES} for p in PERMISSIONS}
