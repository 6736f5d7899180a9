"""The API's documentation pages, offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a home machine without the
internet (or with the CDN down) they were blank, and they ran JavaScript from a third party's
supply chain. These pages load the copies bundled in the pinned ``fastapi-offline`` package
(Swagger UI and ReDoc are MIT / Apache-2.0; docs/dependencies.md) from ``/docs/static/``.

No page has inline JavaScript: Swagger UI is started by :data:`SWAGGER_INIT_JS`, a file served
beside it, and ReDoc reads the schema's address from its element's ``spec-url`` attribute; so
the pages' Content-Security-Policy (:data:`DOCS_SURFACES`) allows scripts from 'self' only.
"""

from __future__ import annotations

import gzip
import importlib.resources
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from hems.serving.security_headers import Surface

ASSETS_PACKAGE = "fastapi_offline"
STATIC_URL = "/docs/static"
SCHEMA_URL = "/openapi.json"
BUNDLED = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
"""The files served from the package's ``static`` folder."""

SWAGGER_INIT_JS = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{SCHEMA_URL}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  }});
}});
"""
"""Starts Swagger UI on the service's schema (validatorUrl null: no call to swagger.io)."""

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}

DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # both libraries set styles on their elements
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",  # the schema and Swagger UI's "Try it out"
        "worker-src 'self' blob:",  # ReDoc's search index runs in a worker it builds
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS_SURFACES = tuple(
    Surface(
        prefix,
        (
            (b"content-security-policy", DOCS_CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ),
    )
    for prefix in ("/docs", "/redoc")
)
"""The pages' headers (added by the service's :class:`SecurityHeaders`, hems/app.py)."""

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer Energy Manager API - {title}</title>
<link rel="icon" type="image/png" href="{static}/favicon.png">
{head}
</head>
<body>
{body}
</body>
</html>
"""


@cache
def asset(name: str) -> tuple[bytes, bytes]:
    """A bundled file and its gzip (compressed once, kept in memory)."""
    data = (importlib.resources.files(ASSETS_PACKAGE) / "static" / name).read_bytes()
    return data, gzip.compress(data, compresslevel=6, mtime=0)


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI on the service's OpenAPI schema."""
    head = f'<link rel="stylesheet" href="{STATIC_URL}/swagger-ui.css">'
    body = (
        '<div id="swagger-ui"></div>\n'
        f'<script src="{STATIC_URL}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{STATIC_URL}/swagger-init.js"></script>'
    )
    return HTMLResponse(_PAGE.format(title="Swagger UI", static=STATIC_URL, head=head, body=body))


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc on the service's OpenAPI schema."""
    body = (
        f'<redoc spec-url="{SCHEMA_URL}"></redoc>\n'
        f'<script src="{STATIC_URL}/redoc.standalone.js"></script>'
    )
    return HTMLResponse(_PAGE.format(title="ReDoc", static=STATIC_URL, head="", body=body))


@router.get(STATIC_URL + "/{name}")
def static_file(name: str, request: Request) -> Response:
    """A bundled file (cached for a day, gzip when the browser accepts it) or the init script."""
    media_type = _TYPES.get(Path(name).suffix, "application/octet-stream")
    if name == "swagger-init.js":
        return Response(SWAGGER_INIT_JS, media_type=media_type)
    if name not in BUNDLED:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    data, zipped = asset(name)
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if name.endswith(".png") or "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(data, media_type=media_type, headers=headers)
    headers["Content-Encoding"] = "gzip"
    return Response(zipped, media_type=media_type, headers=headers)
