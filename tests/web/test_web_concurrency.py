"""One response per token, even when the same form is sent many times at once, and a
submission is acknowledged (the thank-you redirect) only once its transaction committed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.web.conftest import Web, csrf_of, hidden, invite, publish

from allegiance.store.models import Invitation, Response

N_THREADS = 8


def _ready_to_submit(web: Web, slug: str, token: str) -> tuple[Any, dict[str, Any]]:
    """A client on the last screen of the CES survey, and the data of its submit button."""
    client = web.client()
    html = client.get(f"/i/{token}").text
    from tests.web.conftest import answer_everything

    while 'value="submit"' not in html:
        data = {
            **answer_everything(html),
            "csrf": csrf_of(html),
            "screen": hidden(html, "screen"),
            "action": "next",
        }
        assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
        html = client.get(f"/i/{token}").text
    data = {
        **answer_everything(html),
        "csrf": csrf_of(html),
        "screen": hidden(html, "screen"),
        "action": "submit",
    }
    return client, data


def test_one_response_per_token_under_concurrent_submissions(web: Web) -> None:
    slug = publish(web, "ces")
    token = invite(web, slug, language="en")
    first, data = _ready_to_submit(web, slug, token)
    cookies = dict(first.cookies.items())
    barrier = threading.Barrier(N_THREADS)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def submit() -> None:
        client = web.client(cookies=cookies)  # the same browser, pressing "Submit" 8 times
        try:
            barrier.wait(timeout=30)
            got = client.post(f"/i/{token}", data=data, follow_redirects=False)
            with lock:
                results.append((got.status_code, got.headers.get("location", "") or got.text))
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=submit) for _ in range(N_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == N_THREADS
    thanked = [r for r in results if r[0] == 303 and r[1].endswith("/thanks")]
    assert len(thanked) == 1, results
    # every other press gets the clear "already answered" page, never an error
    for status, body in results:
        if (status, body) in thanked:
            continue
        assert status == 200
        assert "already been used" in body
    with web.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Response)).scalar_one() == 1
        assert (
            conn.execute(
                select(Invitation.submitted_at).where(Invitation.token == token)
            ).scalar_one()
            is not None
        )


def test_thanks_only_after_the_commit(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    from allegiance.web.routes import public

    slug = publish(web, "ces")
    token = invite(web, slug, language="en")
    client, data = _ready_to_submit(web, slug, token)
    real = public.store.submit_response

    def fails_at_commit(session: Any, *args: Any, **kwargs: Any) -> Any:
        real(session, *args, **{**kwargs, "commit": False})  # written, not committed ...
        session.rollback()
        raise RuntimeError("the database went away at COMMIT")  # ... and the commit fails

    monkeypatch.setattr(public.store, "submit_response", fails_at_commit)
    failing = web.client(raise_server_exceptions=False, cookies=dict(client.cookies.items()))
    got = failing.post(f"/i/{token}", data=data, follow_redirects=False)
    assert got.status_code == 500
    assert "/thanks" not in got.headers.get("location", "")
    assert (
        failing.get(f"/i/{token}/thanks", follow_redirects=False).status_code == 303
    )  # not answered
    with web.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Response)).scalar_one() == 0
    monkeypatch.setattr(public.store, "submit_response", real)
    again = failing.post(f"/i/{token}", data=data, follow_redirects=False)
    assert again.headers["location"] == f"/i/{token}/thanks"


def test_a_press_that_finds_the_link_answered_meanwhile_sees_the_answered_page(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race behind the concurrent test, made deterministic: a press reads the link while
    it is still open, another press submits, then the first one writes its draft. It gets the
    "already answered" page (was: a server error from the refused draft)."""
    from allegiance.web.routes import public

    slug = publish(web, "ces")
    token = invite(web, slug, language="en")
    client, data = _ready_to_submit(web, slug, token)
    real = public.store.open_invitation
    with web.session() as session:
        before = real(session, token)  # read while the link is open
    assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
    stale = [before]

    def read_before_the_submission(session: Any, tok: str, *args: Any, **kwargs: Any) -> Any:
        return stale.pop() if stale else real(session, tok, *args, **kwargs)

    monkeypatch.setattr(public.store, "open_invitation", read_before_the_submission)
    late = web.client(raise_server_exceptions=False, cookies=dict(client.cookies.items()))
    got = late.post(f"/i/{token}", data={**data, "action": "save"}, follow_redirects=False)
    assert stale == []  # the press did read the stale state
    assert got.status_code == 200, got.text[:500]
    assert "already been used" in got.text
    with web.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Response)).scalar_one() == 1
