"""Security headers on every surface of the service (hems/serving/security_headers.py): the API's
answers (errors included), the schema and the web app; HSTS only over https."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hems.app import create_app


def _common(headers) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_api_answers_carry_security_headers_and_credentialed_ones_are_not_stored(client, demo):
    ok = client.get(f"/homes/{demo.home_id}", headers=demo.auth())
    refused = client.get(f"/homes/{demo.home_id}", headers=demo.auth("hems_wrong"))
    missing = client.get("/homes/99999", headers=demo.auth())
    anonymous = client.get("/health")
    assert (ok.status_code, refused.status_code, missing.status_code) == (200, 401, 404)
    for r in (ok, refused, missing, anonymous):
        _common(r.headers)
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in r.headers  # plain http
    for r in (ok, refused, missing):
        assert r.headers["cache-control"] == "no-store"
    assert "cache-control" not in anonymous.headers


def test_web_pages_keep_their_own_policy(client):
    r = client.get("/app/login")
    _common(r.headers)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"


def test_hsts_is_sent_over_https_on_every_surface(demo):
    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app, base_url="https://testserver") as c:
        for path in ("/health", f"/homes/{demo.home_id}", "/app/login", "/openapi.json"):
            r = c.get(path, headers=demo.auth())
            assert r.headers["strict-transport-security"] == "max-age=31536000", path


def test_the_schema_is_served_with_the_apis_headers(client):
    """(The docs pages, served offline: tests/hems/api/test_docs_pages.py.)"""
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    assert "/homes/{home_id}/plan" in schema.json()["paths"]
    _common(schema.headers)
