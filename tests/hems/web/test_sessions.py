"""Web sessions live in the database: they survive a restart of the service (a new app over
the same database, as another replica would be), only the session id's hash is stored, and a
session is unusable after sign-out or expiry, its row deleted."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from hems.app import create_app
from hems.runtime import build_runtime
from hems.storage.tables import WebSessionRow
from hems.web.sessions import SESSION_COOKIE
from tests.hems.web.conftest import csrf_of, sign_in


def _restarted(demo) -> TestClient:
    """A new service over the same database (what a restart or another replica sees)."""
    runtime = build_runtime(demo.runtime.settings, demo.clock, seed=7)
    return TestClient(create_app(runtime.settings, runtime, run_scheduler=False))


def _rows(demo) -> list[WebSessionRow]:
    with demo.runtime.store.session() as s:
        return list(s.scalars(select(WebSessionRow)))


def test_a_session_survives_a_restart_and_only_its_hash_is_stored(client, demo):
    sign_in(client, demo.home_token)
    session_id = client.cookies[SESSION_COOKIE]
    (row,) = _rows(demo)
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in (row.id_hash, row.csrf)
    with _restarted(demo) as again:
        again.cookies.set(SESSION_COOKIE, session_id, path="/app")
        page = again.get(f"/app/homes/{demo.home_id}", follow_redirects=False)
        assert page.status_code == 200
        assert "Today and tomorrow" in page.text


def test_a_message_for_the_next_page_is_kept_with_the_session(client, demo):
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}/data").text)
    r = client.post(
        f"/app/homes/{demo.home_id}/delete", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    with _restarted(demo) as again:  # the next page is served by another process
        again.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE], path="/app")
        assert "Nothing deleted" in again.get(f"/app/homes/{demo.home_id}/data").text
        assert "Nothing deleted" not in again.get(f"/app/homes/{demo.home_id}/data").text


def test_after_sign_out_the_session_is_gone_everywhere(client, demo):
    sign_in(client, demo.home_token)
    session_id = client.cookies[SESSION_COOKIE]
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}").text)
    client.post(f"/app/homes/{demo.home_id}/logout", data={"csrf": csrf})
    assert _rows(demo) == []
    with _restarted(demo) as again:
        again.cookies.set(SESSION_COOKIE, session_id, path="/app")
        r = again.get(f"/app/homes/{demo.home_id}", follow_redirects=False)
        assert r.status_code == 303


def test_an_expired_session_is_refused_and_its_row_purged(client, demo):
    sign_in(client, demo.home_token)
    stale = client.cookies[SESSION_COOKIE]
    demo.clock.advance(timedelta(minutes=31))
    with _restarted(demo) as again:
        again.cookies.set(SESSION_COOKIE, stale, path="/app")
        r = again.get(f"/app/homes/{demo.home_id}", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/app/login?reason=expired"
    assert _rows(demo) == []
    # a session nobody comes back to is purged at the next sign-in
    sign_in(client, demo.home_token)
    demo.clock.advance(timedelta(hours=13))
    client.cookies.clear()
    sign_in(client, demo.home_token)
    assert len(_rows(demo)) == 1


def test_sessions_are_shared_through_postgresql_too(tmp_path, postgres_url):
    from tests.hems.conftest import make_demo

    demo = make_demo(tmp_path, database_url=postgres_url)
    with TestClient(create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)) as c:
        sign_in(c, demo.home_token)
        session_id = c.cookies[SESSION_COOKIE]
        with _restarted(demo) as again:
            again.cookies.set(SESSION_COOKIE, session_id, path="/app")
            page = again.get(f"/app/homes/{demo.home_id}", follow_redirects=False)
            assert page.status_code == 200
