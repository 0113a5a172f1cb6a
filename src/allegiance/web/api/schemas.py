"""The API's request and response bodies (pydantic), one family per resource.

``*Create`` models are what a client sends (unknown fields are refused), ``*Public`` what
the API answers. Times are ISO 8601 in UTC. Lists are :class:`Paged` (``items`` and
``next_cursor``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from allegiance.web.api.errors import ApiError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_ID",
    "MAX_INVITATIONS",
    "MAX_LIMIT",
    "Batch",
    "CsatResult",
    "CsiFactor",
    "CsiResult",
    "Cursor",
    "InvitationCreate",
    "InvitationPublic",
    "InvitationsCreate",
    "Limit",
    "NpsResult",
    "Paged",
    "ResponseCreate",
    "ResponsePublic",
    "ResultsPublic",
    "RowId",
    "SurveyCreate",
    "SurveyDetail",
    "SurveyPublic",
    "Title",
    "WaveAction",
    "decode_cursor",
    "encode_cursor",
    "has_nul",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
#: The largest row id (the id columns are 32-bit integers on PostgreSQL).
MAX_ID = 2_147_483_647
#: The most invitations one request may create.
MAX_INVITATIONS = 10_000

T = TypeVar("T")

_STRICT = ConfigDict(extra="forbid")


def has_nul(value: Any, /) -> bool:
    """Whether text anywhere in ``value`` (keys too) holds a NUL character, which no
    database text column can store (PostgreSQL refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


class _Request(BaseModel):
    """A request body: unknown fields are refused, and so is text with NUL characters."""

    model_config = _STRICT

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain NUL characters (\\u0000)")
        return data


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (1-{MAX_LIMIT}).")]
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="The row's id.")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page; none for the first."),
]


def encode_cursor(last_id: int, /) -> str:
    """The opaque cursor of the page after the row ``last_id``."""
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, /) -> int | None:
    """The row id a cursor continues after (``None``: the first page); 422 if malformed."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "v1" or not number.isdigit() or len(number) > 10 or int(number) > MAX_ID:
        raise ApiError(422, "api.error.bad_cursor", code="bad_cursor")
    return int(number)


class Paged(BaseModel, Generic[T]):
    """One page of a list: the items, and the cursor of the next page (``null``: last)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class Batch(BaseModel, Generic[T]):
    """What one request created."""

    items: list[T]


class Title(BaseModel):
    en: str
    zh: str


# ------------------------------------------------------------------------------ surveys


class SurveyCreate(_Request):
    """A new draft survey from a shipped template (``allegiance survey templates``)."""

    template: str = Field(min_length=1, max_length=100, examples=["nps"])
    slug: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="The survey's address; default: the template's code.",
        examples=["nps-2025"],
    )


class WaveAction(_Request):
    """Publishing: the wave answers go to (default: the newest, or one named by today)."""

    wave: str | None = Field(default=None, min_length=1, max_length=100, examples=["2025Q1"])


class SurveyPublic(BaseModel):
    id: int
    slug: str
    title: Title
    status: str = Field(description="draft, published or closed")
    version: int
    template: str | None
    created_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None


class SurveyDetail(SurveyPublic):
    wave: str | None = Field(description="The newest wave (where invitations go).")
    n_invitations: int
    n_responses: int
    definition: dict[str, Any] = Field(description="The current definition (survey.schema.json).")


# -------------------------------------------------------------------------- invitations


class InvitationCreate(_Request):
    customer_id: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    language: str | None = Field(default=None, max_length=10, examples=["zh", "en"])


class InvitationsCreate(_Request):
    """Invitations in bulk: each row gets its own secret token."""

    invitations: list[InvitationCreate] = Field(min_length=1, max_length=MAX_INVITATIONS)
    wave: str | None = Field(default=None, min_length=1, max_length=100)


class InvitationPublic(BaseModel):
    id: int
    wave: str
    token: str = Field(description="The secret of the link; submit answers with it.")
    link: str
    customer_id: str | None
    email: str | None
    language: str | None
    created_at: datetime | None
    sent_at: datetime | None
    reminded_at: datetime | None
    opened_at: datetime | None
    submitted_at: datetime | None


# ---------------------------------------------------------------------------- responses


class ResponseCreate(_Request):
    """The answers of one invitation, checked against its survey definition."""

    token: str = Field(min_length=1, max_length=64, description="The invitation's token.")
    answers: dict[str, Any] = Field(description="Question id → answer (see docs/api.md).")
    language: str | None = Field(default=None, max_length=10, examples=["zh", "en"])
    started_at: datetime | None = Field(default=None, description="When answering began.")
    accept_inconsistent: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="AHP questions whose inconsistent judgements the respondent kept.",
    )


class ResponsePublic(BaseModel):
    id: int
    wave: str
    invitation_id: int | None
    customer_id: str | None
    submitted_at: datetime | None
    started_at: datetime | None
    duration_s: float | None
    language: str | None
    source: str
    definition_version: int | None
    answers: dict[str, Any]


# ------------------------------------------------------------------------------ results


class NpsResult(BaseModel):
    question: str
    text: str
    n: int
    pct_promoters: float | None
    pct_passives: float | None
    pct_detractors: float | None
    nps: float | None
    ci_low: float | None
    ci_high: float | None


class CsatResult(BaseModel):
    question: str
    text: str
    points: int
    n: int
    mean: float | None
    mean_ci_low: float | None
    mean_ci_high: float | None
    top2_box: float | None = Field(description="A share (0-1).")
    top2_box_ci_low: float | None
    top2_box_ci_high: float | None


class CsiFactor(BaseModel):
    factor: str
    criterion: str | None
    weight: float | None
    n: int | None
    dc: float | None
    dc_ci_low: float | None
    dc_ci_high: float | None
    rank: float | None


class CsiResult(BaseModel):
    csi: float | None = Field(description="The index on 0-100.")
    ci_low: float | None
    ci_high: float | None
    factors: list[CsiFactor]


class ResultsPublic(BaseModel):
    """The figures of the survey's dashboard (aggregates only)."""

    survey: str
    n_responses: int
    nps: list[NpsResult]
    csat: list[CsatResult]
    csi: CsiResult | None
    warnings: list[str] = Field(description="Sections that could not be computed, and why.")
