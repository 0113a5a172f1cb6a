"""The API's one error envelope, for every error of every route::

    {"error": {"code": "not_found", "message": "No survey 'x'.", "message_zh": "没有问卷 'x'。",
               "details": []}}

``code`` is a stable word a program can test (:data:`CODES`), the two messages are for
people, and ``details`` lists what went wrong item by item (each field of a request that
failed validation, each question of a rejected response). :func:`install_handlers` makes
the API app answer every failure this way: its own :class:`ApiError`, FastAPI's request
validation, unknown routes and methods, the product's :class:`AllegianceError` (mapped to
404, 409, 422 or 500 by key) and any crash (500, logged, nothing of it shown).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from allegiance.errors import AllegianceError, StoreError
from allegiance.i18n import has, t

__all__ = [
    "CODES",
    "ApiError",
    "ErrorBody",
    "ErrorEnvelope",
    "envelope",
    "error_bytes",
    "error_responses",
    "install_handlers",
    "status_of",
    "validation_details",
]

_log = logging.getLogger("allegiance.web.api")

#: HTTP status → the envelope's ``code`` for errors that have no more specific one.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
}
#: The message key of each status when nothing more specific is known.
_KEYS: dict[int, str] = {status: f"api.error.{code}" for status, code in CODES.items()}

#: Product error keys that mean "the state does not allow it" (409) or "not there" (404).
_CONFLICT_KEYS = frozenset(
    {
        "survey.store.slug_exists",
        "survey.store.already_published",
        "survey.store.not_published",
        "survey.store.closed",
        "survey.store.not_open",
        "survey.store.already_submitted",
    }
)
_NOT_FOUND_KEYS = frozenset({"survey.store.not_found", "survey.store.token_unknown"})


class ErrorBody(BaseModel):
    """What went wrong: a stable code, the message in English and Chinese, the details."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="A stable word a program can test, e.g. `not_found`.")
    message: str = Field(description="What went wrong and what to do, in English.")
    message_zh: str = Field(description="The same in Simplified Chinese.")
    details: list[dict[str, Any]] = Field(
        description="One entry per problem (a field, a question); may be empty."
    )


class ErrorEnvelope(BaseModel):
    """The body of every error response of the API."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


class ApiError(Exception):
    """An error answer: status, code and a catalogue key with its parameters."""

    def __init__(
        self,
        status: int,
        key: str | None = None,
        /,
        *,
        code: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> None:
        self.status = status
        self.key = key or _KEYS.get(status, "api.error.server_error")
        self.code = code or CODES.get(status, "error")
        self.details = [dict(d) for d in details]
        self.headers = dict(headers or {})
        self.params = params
        super().__init__(t(self.key, "en", **params))


def envelope(
    code: str, key: str, params: Mapping[str, Any] | None = None, details: Sequence[Any] = ()
) -> dict[str, Any]:
    """The envelope as a dict (messages rendered in both languages)."""
    values = dict(params or {})
    return {
        "error": {
            "code": code,
            "message": t(key, "en", **values),
            "message_zh": t(key, "zh", **values),
            "details": list(details),
        }
    }


def error_bytes(status: int, /) -> bytes:
    """The envelope of a bare status (for answers made outside the app, e.g. 413)."""
    body = envelope(CODES.get(status, "error"), _KEYS.get(status, "api.error.server_error"))
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _json(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def status_of(exc: AllegianceError, /) -> int:
    """The HTTP status of a product error: 404 for what is not there, 409 for a state that
    does not allow the action, 500 for a database failure, 422 for other bad input."""
    if exc.key in _NOT_FOUND_KEYS:
        return 404
    if exc.key in _CONFLICT_KEYS:
        return 409
    if isinstance(exc, StoreError) and not exc.key.startswith(
        ("survey.store.bad_", "store.row_", "survey.store.not_a_definition")
    ):
        return 500
    return 422


def _product_details(exc: AllegianceError) -> list[dict[str, Any]]:
    check = getattr(exc, "check", None)
    if check is not None:  # a response that failed its definition: every issue
        return [
            {
                "question": i.question,
                "code": i.key,
                "message": i.render("en"),
                "message_zh": i.render("zh"),
            }
            for i in check.issues
        ]
    return [{"code": exc.key}]


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "-"


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's (pydantic's) validation errors as envelope details in both languages."""
    out = []
    for error in errors:
        kind = str(error.get("type", "value_error"))
        where = _field(error.get("loc", ()))
        english = str(error.get("msg", kind))
        key = f"api.field.{kind}" if has(f"api.field.{kind}") else "api.field.invalid"
        out.append(
            {
                "loc": [p if isinstance(p, (str, int)) else str(p) for p in error.get("loc", ())],
                "code": kind,
                "message": t(key, "en", field=where, detail=english),
                "message_zh": t(key, "zh", field=where, detail=english),
            }
        )
    return out


def install_handlers(app: FastAPI, /) -> None:
    """Make ``app`` answer every error with the envelope."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        body = envelope(exc.code, exc.key, exc.params, exc.details)
        return _json(exc.status, body, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc.errors())
        body = envelope(
            "validation_error", "api.error.validation_error", {"n": len(details)}, details
        )
        return _json(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # 400 comes from a body that could not even be parsed: a validation error too.
        status = 422 if exc.status_code == 400 else exc.status_code
        status = status if status in CODES else 400
        key = "api.error.no_route" if status == 404 else _KEYS[status]
        params = {"path": request.url.path[:200], "method": request.method}
        details = [{"code": "body_unreadable"}] if status == 422 else []
        return _json(status, envelope(CODES[status], key, params, details), exc.headers)

    @app.exception_handler(AllegianceError)
    async def known_error(request: Request, exc: AllegianceError) -> Response:
        status = status_of(exc)
        if status == 500:
            _log.error("API %s %s failed: %s", request.method, request.url.path, exc.render("en"))
            body = envelope("server_error", "api.error.server_error")
        else:
            body = {
                "error": {
                    "code": CODES[status],
                    "message": exc.render("en"),
                    "message_zh": exc.render("zh"),
                    "details": _product_details(exc),
                }
            }
        return _json(status, body)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        _log.exception("API %s %s failed", request.method, request.url.path)
        return _json(500, envelope("server_error", "api.error.server_error"))


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of error statuses: each the envelope."""
    return {
        status: {"model": ErrorEnvelope, "description": t(_KEYS[status], "en", **_DOC_PARAMS)}
        for status in sorted(set(statuses))
    }


#: Placeholder values for describing error statuses in the OpenAPI document.
_DOC_PARAMS: dict[str, Any] = {
    "n": "n",
    "path": "{path}",
    "method": "{method}",
    "permission": "{permission}",
    "seconds": "n",
}
