"""Security: users and their roles, passwords, API tokens, the secret key, pseudonyms.

- :mod:`~allegiance.security.permissions`: roles, permissions, :func:`can` (data, no I/O);
- :mod:`~allegiance.security.passwords`: argon2id hashing, rehash on login, the policy;
- :mod:`~allegiance.security.tokens`: API tokens as text (only their SHA-256 is stored);
- :mod:`~allegiance.security.secret`: ``ALLEGIANCE_SECRET_KEY`` and the keys derived from it;
- :mod:`~allegiance.security.privacy`: pseudonymised customer ids, the erasure audit record;
- :mod:`~allegiance.security.accounts`: create and change users, :func:`authenticate`,
  :func:`verify_api_token`, :func:`load_principal` (through the store, audited).

See docs/administration.md.
"""

from __future__ import annotations

from allegiance.security.accounts import (
    AccountChange,
    NewToken,
    Principal,
    authenticate,
    cli_actor,
    create_api_token,
    create_user,
    load_principal,
    normalize_username,
    require_user,
    revoke_api_token,
    set_active,
    set_password,
    set_role,
    verify_api_token,
)
from allegiance.security.passwords import (
    MIN_LENGTH,
    PasswordCheck,
    check_password_policy,
    hash_password,
    verify_password,
)
from allegiance.security.permissions import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    can,
    check_permission,
    check_role,
    check_scopes,
    permission_matrix,
)
from allegiance.security.privacy import (
    Pseudonymiser,
    erasure_reference,
    project_pseudonymiser,
    record_customer_erasure,
)
from allegiance.security.secret import SecretKey, generate_secret_key, load_secret_key
from allegiance.security.tokens import new_token, token_hash
from allegiance.store.admin import record_audit

__all__ = [
    "MIN_LENGTH",
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "AccountChange",
    "NewToken",
    "PasswordCheck",
    "Principal",
    "Pseudonymiser",
    "SecretKey",
    "authenticate",
    "can",
    "check_password_policy",
    "check_permission",
    "check_role",
    "check_scopes",
    "cli_actor",
    "create_api_token",
    "create_user",
    "erasure_reference",
    "generate_secret_key",
    "hash_password",
    "load_principal",
    "load_secret_key",
    "new_token",
    "normalize_username",
    "permission_matrix",
    "project_pseudonymiser",
    "record_audit",
    "record_customer_erasure",
    "require_user",
    "revoke_api_token",
    "set_active",
    "set_password",
    "set_role",
    "token_hash",
    "verify_api_token",
    "verify_password",
]
