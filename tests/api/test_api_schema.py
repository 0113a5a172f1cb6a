"""The OpenAPI document, and schemathesis run in-process over it against the ASGI app, on
SQLite and on PostgreSQL (which refuses more: NUL characters, 64-bit ids).

For every operation schemathesis generates valid requests (positive), valid requests aimed at
an existing survey, and invalid ones (negative), a few of each (bounded: the whole test takes
well under a minute), and checks that no answer is a server error and that every answer's
status, content type and body are the ones the document declares: the error envelope
included.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import Api, publish

from allegiance.web.api import api_routes

EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_openapi_document_describes_every_route(sqlite_api: Api) -> None:
    got = sqlite_api.client().get("/api/v1/openapi.json")
    assert got.status_code == 200
    spec = got.json()
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "/api"}]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "bearer" in spec["components"]["securitySchemes"]
    routes = api_routes(sqlite_api.web.app)
    documented = {
        (method.upper(), "/api" + path) for path, item in spec["paths"].items() for method in item
    }
    assert documented == {(m, p) for m, p, _ in routes}
    for method, path, permission in routes:
        operation = spec["paths"][path.removeprefix("/api")][method.lower()]
        assert operation["x-permission"] == permission
        assert operation["security"] == [{"bearer": []}]
        responses = operation["responses"]
        ok = [s for s in responses if s.startswith("2")]
        assert len(ok) == 1, (method, path)
        assert "$ref" in str(responses[ok[0]]["content"]["application/json"]["schema"])
        for status in ("401", "403", "422", "429", "500"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, status)


def fuzz(
    client: Any,
    operation: Any,
    mode: GenerationMode,
    slug: str | None,
    headers: Any,
    seen: set[int],
) -> None:
    """Send ``EXAMPLES`` generated requests of ``operation`` (at survey ``slug`` if given)
    through ``client`` (one in-process client for the whole run) and check each answer."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if slug is not None:
            case.path_parameters = {**(case.path_parameters or {}), "slug": slug}
        sent = case.as_transport_kwargs(headers=headers)
        response = client.request(
            sent["method"],
            sent["url"],
            **{k: v for k, v in sent.items() if k in ("params", "headers", "json", "content")},
        )
        seen.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.filterwarnings("ignore::DeprecationWarning:schemathesis")
def test_schemathesis_finds_no_server_error_and_no_schema_violation(api: Api) -> None:
    slug = publish(api.web, "nps")
    token = api.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    client = api.client()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.web.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(api_routes(api.web.app))
    statuses: set[int] = set()
    for operation in operations:
        for mode, aim in (
            (GenerationMode.POSITIVE, False),
            (GenerationMode.POSITIVE, True),
            (GenerationMode.NEGATIVE, False),
        ):
            if aim and "{slug}" not in operation.path:
                continue

            fuzz(client, operation, mode, slug if aim else None, headers, statuses)
    # the run reached real answers, not only refusals
    assert {200, 404, 422} <= statuses, statuses
