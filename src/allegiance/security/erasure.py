"""Erase one person's data, as personal-information laws require (PIPL art. 47, GDPR art. 17).

:func:`erase_customer` removes what names a customer id (and the e-mail addresses of their
invitations, plus any given) from the project store (see :mod:`allegiance.store.erasure` for
what happens to each table: survey answers are **anonymised**, not deleted, by default, so
indices computed over the answers stay the same; ``delete_responses`` deletes them) and from
the Parquet tables of the project's ``data/`` folder (rows of the person are dropped; the
file is rewritten). It runs as **one transaction**: the rows, the rewritten files and the
audit entry are stored together or not at all (files are written beside the originals first
and swapped in just before the commit; a failed commit puts the originals back).

The audit entry (``customer.erase``, :func:`allegiance.security.privacy.record_customer_erasure`)
holds a keyed hash of the id and the row counts per table, never the id or an address.
Backups made before the erasure still hold the data: they age out with the backup retention
(docs/administration.md).

Only a principal with ``customers.erase`` (admins; the CLI runs as the local operator, an
admin) may erase. ``dry_run`` counts what would go and changes nothing (and records nothing).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allegiance.errors import ValidationError
from allegiance.security.permissions import can
from allegiance.security.privacy import _id_text, record_customer_erasure
from allegiance.security.secret import SecretKey
from allegiance.store.erasure import erase_rows, person_emails
from allegiance.store.models import Dataset
from allegiance.store.repository import _writing

__all__ = ["ErasureResult", "erase_customer"]

_PERSON_COLUMNS = ("customer_id", "email")
_NEW = ".erasing"
_OLD = ".erased-backup"


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure removed (or, with ``dry_run``, would remove): rows per table and per
    Parquet file (``data/...``); ``reference`` is the keyed hash the audit log keeps."""

    counts: Mapping[str, int]
    dry_run: bool
    mode: str
    reference: str | None = None
    audit_id: int | None = None
    files: tuple[str, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def tables(self) -> dict[str, pd.DataFrame]:
        rows = [{"table": k, "rows": int(v)} for k, v in self.counts.items()]
        return {"erasure": pd.DataFrame(rows, columns=["table", "rows"])}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "mode": self.mode,
            "reference": self.reference,
            "audit_id": self.audit_id,
            "counts": dict(self.counts),
            "total": self.total,
        }


@dataclass
class _File:
    path: Path
    name: str
    removed: int
    kept: int


def _plan_files(data_dir: Path | None, cid: str, mails: set[str], *, write: bool) -> list[_File]:
    """The Parquet files with rows of the person; with ``write``, each rewritten without
    them to ``<file>.erasing`` beside it."""
    if data_dir is None or not data_dir.is_dir():
        return []
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out: list[_File] = []
    for path in sorted(p for p in data_dir.rglob("*.parquet") if p.is_file()):
        names = [n for n in pq.read_schema(path).names if n.lower() in _PERSON_COLUMNS]
        if not names:
            continue
        table = pq.read_table(path)
        hit = pa.array([False] * table.num_rows, type=pa.bool_())
        for name in names:
            text = pc.cast(table[name], pa.string())
            if name.lower() == "email":
                if not mails:
                    continue
                found = pc.is_in(pc.utf8_lower(text), value_set=pa.array(sorted(mails)))
            else:
                found = pc.equal(pc.utf8_trim_whitespace(text), cid)
            hit = pc.or_(hit, pc.fill_null(found, False))
        removed = int(pc.sum(hit).as_py() or 0)
        if not removed:
            continue
        kept = table.filter(pc.invert(hit))
        if write:
            pq.write_table(kept, path.with_name(path.name + _NEW))
        rel = path.relative_to(data_dir.parent).as_posix()
        out.append(_File(path=path, name=rel, removed=removed, kept=kept.num_rows))
    return out


def _swap(files: Iterable[_File], done: list[_File]) -> None:
    """Put each rewritten file in place, keeping the original aside; ``done`` lists those
    moved aside (so a failure half-way can put them back)."""
    for f in files:
        os.replace(f.path, f.path.with_name(f.path.name + _OLD))
        done.append(f)
        os.replace(f.path.with_name(f.path.name + _NEW), f.path)


def _undo(files: Iterable[_File], swapped: Iterable[_File]) -> None:
    for f in swapped:
        old = f.path.with_name(f.path.name + _OLD)
        if old.exists():
            os.replace(old, f.path)
    for f in files:
        f.path.with_name(f.path.name + _NEW).unlink(missing_ok=True)


def erase_customer(
    session: Session,
    customer_id: Any,
    /,
    *,
    key: SecretKey | None,
    actor: str,
    role: str | None,
    emails: Iterable[str] = (),
    delete_responses: bool = False,
    dry_run: bool = False,
    data_dir: Path | None = None,
    ip: str | None = None,
) -> ErasureResult:
    """Erase the person ``customer_id`` (see the module text); ``key`` may be ``None`` only
    for a dry run. ``role`` is the role of whoever asks (it must have ``customers.erase``)."""
    if not can(role, "customers.erase"):
        raise ValidationError("erase.denied", role=role or "-")
    cid = _id_text(customer_id)
    if cid is None:
        raise ValidationError("security.no_customer_id")
    if key is None and not dry_run:
        raise ValidationError("erase.no_key")
    mode = "delete" if delete_responses else "anonymise"
    files: list[_File] = []
    swapped: list[_File] = []
    try:
        with _writing(session, "responses", commit=False):
            mails = person_emails(session, cid, emails)
            counts = erase_rows(
                session, cid, emails=mails, delete_responses=delete_responses, dry_run=dry_run
            )
            files = _plan_files(data_dir, cid, mails, write=not dry_run)
            for f in files:
                counts[f.name] = f.removed
            if dry_run:
                session.rollback()
                return ErasureResult(counts=counts, dry_run=True, mode=mode)
            root = data_dir.parent if data_dir is not None else None
            for f in files:
                if root is None:
                    continue
                rel = f.path.relative_to(root).as_posix()
                for ds in session.scalars(select(Dataset).where(Dataset.path == rel)):
                    ds.n_rows = f.kept
            if key is None:  # checked above; said again for the type checker
                raise ValidationError("erase.no_key")
            entry = record_customer_erasure(
                session, cid, key=key, counts=counts, actor=actor, ip=ip, commit=False
            )
            audit_id = int(entry.id)
        _swap(files, swapped)
        session.commit()
    except BaseException:
        session.rollback()
        _undo(files, swapped)
        raise
    for f in swapped:
        f.path.with_name(f.path.name + _OLD).unlink(missing_ok=True)
    return ErasureResult(
        counts=counts,
        dry_run=False,
        mode=mode,
        reference=entry.target_id,
        audit_id=audit_id,
        files=tuple(f.name for f in files),
    )
