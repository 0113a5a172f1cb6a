"""Every API route × every role and scope: the rule table below must name each route the app
answers under /api (enumerated from ``app.routes``), so a new route without a rule fails.

A route is allowed exactly when the token's scopes and its user's role both grant the
route's permission (allegiance.security.permissions.can); otherwise 403 in the envelope,
and nothing is written. Write actions are audited with ``via: api``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.api.conftest import Api, assert_envelope, invite, publish

from allegiance.security import PERMISSIONS, ROLE_PERMISSIONS, ROLES, can
from allegiance.store import surveys as store
from allegiance.store.admin import list_audit
from allegiance.survey.definition import SurveyDefinition
from allegiance.survey.templates import load_template
from allegiance.web.api import api_routes

SECRET_CUSTOMER = "CUST-SECRET-42"
SECRET_EMAIL = "secret.person@example.com"
SECRET_TEXT = "my very private comment"


@dataclass
class World:
    """What the requests refer to: a published survey with a personal invitation and a
    response, and fresh surveys and tokens for the write routes."""

    api: Api
    slug: str
    invitation_id: int
    response_id: int
    counter: itertools.count[int]

    def fresh_survey(self, *, published: bool) -> str:
        name = f"s{next(self.counter)}"
        with self.api.web.session() as s:
            store.create_survey_from_definition(s, nps_definition(), slug=name)
            if published:
                store.publish_survey(s, name, wave="W1")
        return name

    def fresh_token(self) -> str:
        return invite(self.api.web, self.slug, customer=f"fresh{next(self.counter)}")


@cache
def nps_definition() -> SurveyDefinition:
    return load_template("nps")


Request = tuple[str, dict[str, Any] | None]
Build = Callable[[World], Request]

#: (method, path) → (permission, how to make a request, the status when allowed).
RULES: dict[tuple[str, str], tuple[str, Build, int]] = {
    ("GET", "/api/v1/surveys"): ("analyses.view", lambda w: ("/api/v1/surveys", None), 200),
    ("POST", "/api/v1/surveys"): (
        "surveys.manage",
        lambda w: ("/api/v1/surveys", {"template": "nps", "slug": f"new{next(w.counter)}"}),
        201,
    ),
    ("GET", "/api/v1/surveys/{slug}"): (
        "analyses.view",
        lambda w: (f"/api/v1/surveys/{w.slug}", None),
        200,
    ),
    ("POST", "/api/v1/surveys/{slug}/publish"): (
        "surveys.manage",
        lambda w: (f"/api/v1/surveys/{w.fresh_survey(published=False)}/publish", {"wave": "A"}),
        200,
    ),
    ("POST", "/api/v1/surveys/{slug}/close"): (
        "surveys.manage",
        lambda w: (f"/api/v1/surveys/{w.fresh_survey(published=True)}/close", None),
        200,
    ),
    ("GET", "/api/v1/surveys/{slug}/invitations"): (
        "invitations.manage",
        lambda w: (f"/api/v1/surveys/{w.slug}/invitations", None),
        200,
    ),
    ("POST", "/api/v1/surveys/{slug}/invitations"): (
        "invitations.manage",
        lambda w: (
            f"/api/v1/surveys/{w.slug}/invitations",
            {"invitations": [{"customer_id": f"n{next(w.counter)}", "language": "zh"}]},
        ),
        201,
    ),
    ("GET", "/api/v1/surveys/{slug}/invitations/{invitation_id}"): (
        "invitations.manage",
        lambda w: (f"/api/v1/surveys/{w.slug}/invitations/{w.invitation_id}", None),
        200,
    ),
    ("GET", "/api/v1/surveys/{slug}/responses"): (
        "responses.view_personal",
        lambda w: (f"/api/v1/surveys/{w.slug}/responses", None),
        200,
    ),
    ("POST", "/api/v1/surveys/{slug}/responses"): (
        "responses.import",
        lambda w: (
            f"/api/v1/surveys/{w.slug}/responses",
            {"token": w.fresh_token(), "answers": {"nps": 9}},
        ),
        201,
    ),
    ("GET", "/api/v1/surveys/{slug}/responses/{response_id}"): (
        "responses.view_personal",
        lambda w: (f"/api/v1/surveys/{w.slug}/responses/{w.response_id}", None),
        200,
    ),
    ("GET", "/api/v1/surveys/{slug}/results"): (
        "analyses.view",
        lambda w: (f"/api/v1/surveys/{w.slug}/results", None),
        200,
    ),
}


def make_world(api: Api) -> World:
    slug = publish(api.web, "nps")
    with api.web.session() as s:
        made = store.create_invitations(
            s, slug, [{"customer_id": SECRET_CUSTOMER, "email": SECRET_EMAIL, "language": "en"}]
        )
        response = store.submit_response(
            s, made[0].token, {"nps": 3, "detractor_reasons": ["price"], "comment": SECRET_TEXT}
        )
        return World(api, slug, int(made[0].id), int(response.id), itertools.count(1))


def call(api: Api, token: str, method: str, request: Request) -> Any:
    url, body = request
    client = api.client(token)
    return client.get(url) if method == "GET" else client.post(url, json=body)


def test_every_api_route_has_a_rule_and_declares_its_permission(sqlite_api: Api) -> None:
    routes = api_routes(sqlite_api.web.app)
    assert len(routes) == len(RULES) >= 12
    for method, path, permission in routes:
        assert (method, path) in RULES, f"no rule for {method} {path}: add one to RULES"
        assert permission in PERMISSIONS, (method, path, permission)
        assert permission == RULES[(method, path)][0], (method, path)


def test_every_route_for_every_role_and_scope(api: Api) -> None:
    world = make_world(api)
    tokens = {role: api.token(role) for role in ROLES}
    allowed_writes = 0
    for (method, path), (permission, build, success) in sorted(RULES.items()):
        for role in ROLES:
            got = call(api, tokens[role], method, build(world))
            if can(role, permission):
                assert got.status_code == success, (role, method, path, got.text[:300])
                allowed_writes += method == "POST"
            else:
                error = assert_envelope(got, 403, "forbidden")
                assert permission in error["message"]
        # the scope must allow it too: an admin token without this permission is refused ...
        others = [p for p in ROLE_PERMISSIONS["admin"] if p != permission]
        got = call(api, api.token("admin", others), method, build(world))
        assert_envelope(got, 403, "forbidden")
        # ... and a token with only this permission is enough
        got = call(api, api.token("admin", [permission]), method, build(world))
        assert got.status_code == success, (method, path, got.text[:300])
        allowed_writes += method == "POST"
    with api.web.session() as s:
        via_api = [e for e in list_audit(s, limit=None) if e.details.get("via") == "api"]
    assert len(via_api) == allowed_writes
    assert {e.action for e in via_api} == {
        "survey.create",
        "survey.publish",
        "survey.close",
        "invitations.create",
        "responses.submit",
    }
    assert {e.actor for e in via_api} <= {"admin", "analyst"}


def test_a_viewer_token_never_sees_personal_data(sqlite_api: Api) -> None:
    world = make_world(sqlite_api)
    viewer = sqlite_api.token("viewer")
    for (method, path), (_permission, build, _success) in RULES.items():
        if method != "GET":
            continue
        got = call(sqlite_api, viewer, method, build(world))
        assert got.status_code in (200, 403), (path, got.status_code)
        for secret in (SECRET_CUSTOMER, SECRET_EMAIL, SECRET_TEXT):
            assert secret not in got.text, (path, secret)
    # what an analyst sees through the same routes does hold them (the check can fail)
    analyst = sqlite_api.token("analyst")
    seen = "".join(
        call(sqlite_api, analyst, "GET", build(world)).text
        for (method, _), (_p, build, _s) in RULES.items()
        if method == "GET"
    )
    assert SECRET_CUSTOMER in seen
    assert SECRET_EMAIL in seen
    assert SECRET_TEXT in seen
