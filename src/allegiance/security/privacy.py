"""Pseudonymised customer ids for exports, and the audit record of an erasure.

**Pseudonyms.** An export made "with pseudonyms" replaces each customer id by
``P`` + 24 hex digits of HMAC-SHA256 keyed with a key derived from the secret key and the
project's own salt (a random value kept in ``project_meta`` under
:data:`PSEUDONYM_SALT_KEY`, made on first use). The same customer gets the same pseudonym in
every export of one project, so exports can still be joined with each other; the pseudonyms
of two projects differ, and without the secret key nobody can compute them from an id, nor
reverse them. (Changing the secret key, or resetting the project database, changes every
pseudonym.) 96 bits leave a one-in-a-billion chance of two of ten million customers sharing
a pseudonym.

**Erasure.** When a person's data is erased (``customers erase``, built with the survey
tables), the audit log must prove the erasure happened without keeping the id it erased:
:func:`record_customer_erasure` stores a keyed hash of the id (:func:`erasure_reference`),
which someone holding the secret can recompute to answer "was customer X erased, and
when?".

>>> from allegiance.security.secret import SecretKey
>>> p = Pseudonymiser(SecretKey(b"k" * 32, source="test"), salt="a1")
>>> p("C0001") == p(" C0001 "), p("C0001") != p("C0002"), len(p("C0001"))
(True, True, 25)
>>> p(None) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.security.secret import SecretKey
from allegiance.store import admin
from allegiance.store.models import AuditEntry

__all__ = [
    "PSEUDONYM_SALT_KEY",
    "Pseudonymiser",
    "erasure_reference",
    "project_pseudonymiser",
    "record_customer_erasure",
]

#: The ``project_meta`` key of the project's pseudonym salt.
PSEUDONYM_SALT_KEY = "security.pseudonym_salt"
_HEX_DIGITS = 24


def _id_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id read from a spreadsheet as 1001.0 is customer 1001
    text = str(value).strip()
    return text or None


class Pseudonymiser:
    """Maps customer ids to stable pseudonyms (see the module text); ``None`` stays ``None``."""

    def __init__(self, key: SecretKey, /, *, salt: str) -> None:
        self._key = key.derive("pseudonym/" + salt)

    def __call__(self, customer_id: Any, /) -> str | None:
        text = _id_text(customer_id)
        if text is None:
            return None
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return "P" + digest[:_HEX_DIGITS]

    def __repr__(self) -> str:
        return "Pseudonymiser()"

    def frame(
        self, data: pd.DataFrame, /, *, columns: Iterable[str] = ("customer_id",)
    ) -> pd.DataFrame:
        """A copy of ``data`` with each of ``columns`` pseudonymised (others untouched)."""
        names = list(columns)
        missing = [c for c in names if c not in data.columns]
        if missing:
            raise ColumnNotFoundError(missing, data.columns)
        out = data.copy()
        for name in names:
            out[name] = pd.Series([self(v) for v in data[name]], index=data.index, dtype=object)
        return out


def project_pseudonymiser(session: Session, key: SecretKey, /) -> Pseudonymiser:
    """The project's pseudonymiser: its salt is read from ``project_meta`` (made once)."""
    # two first uses at once both keep the salt written first
    salt = admin.meta_setdefault(session, PSEUDONYM_SALT_KEY, secrets.token_hex(16))
    return Pseudonymiser(key, salt=str(salt))


def erasure_reference(customer_id: Any, key: SecretKey, /) -> str:
    """The keyed hash of a customer id that the audit log keeps for an erasure."""
    text = _id_text(customer_id)
    if text is None:
        raise ValidationError("security.no_customer_id")
    return "E" + key.sign("erasure", text.encode("utf-8"))[:32]


def record_customer_erasure(
    session: Session,
    customer_id: Any,
    /,
    *,
    key: SecretKey,
    counts: Mapping[str, int],
    actor: str,
    ip: str | None = None,
    commit: bool = True,
) -> AuditEntry:
    """Append the audit entry of a person's erasure: ``customer.erase``, the keyed reference
    of the id (never the id), and how many rows of each table went (``counts``).

    Call it with ``commit=False`` inside the transaction that deletes the data, so the
    erasure and its record are stored together.
    """
    return admin.record_audit(
        session,
        "customer.erase",
        actor=actor,
        target_type="customer",
        target_id=erasure_reference(customer_id, key),
        details={"counts": {str(k): int(v) for k, v in counts.items()}},
        ip=ip,
        commit=commit,
    )
