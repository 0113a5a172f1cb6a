"""The role → permission matrix: every role × every permission, written out here by hand.

The expected table is the issue's rule set (issue 7, section 3: "a viewer sees no personal
data and exports nothing raw"; agents work complaints), not a copy of the module's data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allegiance.errors import ValidationError
from allegiance.i18n import t
from allegiance.security.permissions import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    can,
    check_scopes,
    permission_matrix,
)
from allegiance.store.models import USER_ROLES, User

Y, N = True, False
#                          admin analyst viewer agent
EXPECTED: dict[str, tuple[bool, bool, bool, bool]] = {
    "analyses.view": (Y, Y, Y, N),
    "reports.export": (Y, Y, Y, N),
    "responses.view_personal": (Y, Y, N, N),
    "responses.export_raw": (Y, Y, N, N),
    "responses.import": (Y, Y, N, N),
    "surveys.manage": (Y, Y, N, N),
    "invitations.manage": (Y, Y, N, N),
    "complaints.view": (Y, Y, N, Y),
    "complaints.work": (Y, N, N, Y),
    "customers.erase": (Y, N, N, N),
    "users.manage": (Y, N, N, N),
    "audit.view": (Y, N, N, N),
    "db.manage": (Y, N, N, N),
}
ORDER = ("admin", "analyst", "viewer", "agent")
CASES = [
    (role, permission, EXPECTED[permission][i])
    for permission in EXPECTED
    for i, role in enumerate(ORDER)
]


def test_the_table_covers_every_role_and_permission() -> None:
    assert set(EXPECTED) == set(PERMISSIONS)
    assert set(ORDER) == set(ROLES) == set(ROLE_PERMISSIONS)
    assert len(CASES) == len(ROLES) * len(PERMISSIONS)


@pytest.mark.parametrize(("role", "permission", "allowed"), CASES)
def test_can(role: str, permission: str, allowed: bool) -> None:
    assert can(role, permission) is allowed


def test_viewer_sees_no_personal_data_and_exports_nothing_raw() -> None:
    assert not can("viewer", "responses.view_personal")
    assert not can("viewer", "responses.export_raw")
    assert not can("viewer", "customers.erase")
    assert can("viewer", "analyses.view")


def test_only_admin_manages_users_and_reads_the_audit_log() -> None:
    for permission in ("users.manage", "audit.view", "db.manage", "customers.erase"):
        assert [r for r in ROLES if can(r, permission)] == ["admin"]


def test_unknown_roles_may_do_nothing() -> None:
    for permission in PERMISSIONS:
        assert can(None, permission) is False
        assert can("superuser", permission) is False
        assert can("Admin", permission) is False  # role names are exact


def test_a_misspelt_permission_is_an_error_not_a_silent_no() -> None:
    with pytest.raises(ValidationError, match=r"responses\.exportraw"):
        can("admin", "responses.exportraw")


def test_roles_match_the_database_constraint() -> None:
    assert USER_ROLES == ROLES
    check = next(c for c in User.__table__.constraints if c.name and "role" in str(c.name))
    assert re.findall(r"'(\w+)'", str(check.sqltext)) == list(ROLES)  # type: ignore[attr-defined]


def test_every_permission_is_described_in_both_languages() -> None:
    for permission in PERMISSIONS:
        key = f"security.perm.{permission}"
        assert t(key, "en") != key
        assert t(key, "zh") != t(key, "en")


def test_matrix_is_read_only() -> None:
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS["viewer"] = frozenset(PERMISSIONS)  # type: ignore[index]
    with pytest.raises(AttributeError):
        ROLE_PERMISSIONS["viewer"].add("responses.export_raw")  # type: ignore[attr-defined]


def test_permission_matrix_shape() -> None:
    matrix = permission_matrix()
    assert list(matrix) == list(PERMISSIONS)
    assert all(list(row) == list(ROLES) for row in matrix.values())
    assert sum(v for row in matrix.values() for v in row.values()) == sum(
        sum(row) for row in EXPECTED.values()
    )


def test_scopes_are_checked_against_the_role() -> None:
    assert check_scopes(["reports.export", "analyses.view", "analyses.view"]) == (
        "analyses.view",
        "reports.export",
    )
    assert check_scopes(["analyses.view"], role="viewer") == ("analyses.view",)
    with pytest.raises(ValidationError) as info:
        check_scopes(["responses.export_raw"], role="viewer")
    assert info.value.key == "security.scope_beyond_role"
    with pytest.raises(ValidationError) as info:
        check_scopes([" ", ""])
    assert info.value.key == "security.no_scopes"
    with pytest.raises(ValidationError) as info:
        check_scopes(["everything"])
    assert info.value.key == "security.unknown_permission"


def test_the_documented_table_is_the_matrix() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "administration.md"
    rows = {}
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`") and cells[0].strip("`") in PERMISSIONS:
            rows[cells[0].strip("`")] = tuple(c == "✓" for c in cells[2:])
    assert rows == EXPECTED
