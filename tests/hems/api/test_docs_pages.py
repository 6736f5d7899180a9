"""The API's documentation pages work offline (issue 28: /docs was blank without the internet,
Swagger UI coming from a CDN): /docs and /redoc reference only the service's own assets, which
are served, and run no inline script under their Content-Security-Policy."""

from __future__ import annotations

import re

import pytest

from hems.api.docs_pages import SCHEMA_URL

ASSET = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)\"""")


@pytest.mark.parametrize(("page", "library"), [("/docs", "SwaggerUIBundle"), ("/redoc", "Redoc")])
def test_docs_pages_load_only_local_assets_and_they_are_served(client, page, library):
    r = client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(r.text)
    assert assets, r.text
    scripts = []
    for url in assets:
        assert url.startswith("/docs/static/"), url  # no CDN, no other host
        served = client.get(url)
        assert served.status_code == 200, url
        assert len(served.content) > 0
        if url.endswith(".js"):
            assert served.headers["content-type"].startswith("text/javascript")
            scripts.append(served.text)
    assert any(library in s for s in scripts)  # the library itself, not a stub
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", r.text)  # no inline script
    policy = r.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy


def test_swagger_ui_reads_the_services_schema_and_calls_no_validator(client):
    init = client.get("/docs/static/swagger-init.js").text
    assert f'url: "{SCHEMA_URL}"' in init
    assert "validatorUrl: null" in init
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text
    assert client.get(SCHEMA_URL).status_code == 200


def test_the_large_bundles_are_gzipped_and_unknown_files_are_404(client):
    r = client.get("/docs/static/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "public, max-age=86400"
    raw = client.get("/docs/static/swagger-ui-bundle.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert client.get("/docs/static/../../pyproject.toml").status_code == 404
    assert client.get("/docs/static/core.py").status_code == 404
