"""Static files: the app's own CSS and JavaScript, and plotly.js from the pip ``plotly``
package (MIT licence), read with importlib.resources. Nothing comes from a CDN.

plotly.js is cached by the browser for a day and gzip-compressed when the browser accepts it
(4.8 MB becomes about 1.4 MB; compressed once, kept in memory)."""

from __future__ import annotations

import gzip
import importlib.resources
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY_PACKAGE_FILE = ("plotly", "package_data/plotly.min.js")
router = APIRouter(prefix="/app/static", include_in_schema=False)

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@cache
def plotly_js() -> tuple[bytes, bytes]:
    """plotly.min.js as shipped in the plotly package, and its gzip."""
    package, path = PLOTLY_PACKAGE_FILE
    data = (importlib.resources.files(package) / path).read_bytes()
    return data, gzip.compress(data, compresslevel=6, mtime=0)


def plotly_version() -> str:
    head = plotly_js()[0][:200].decode("ascii", "replace")
    for word in head.split():
        if word.startswith("v") and word[1:2].isdigit():
            return word[1:]
    return "unknown"


PLOTLY_URL = "/app/static/plotly.min.js"


@cache
def _own(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


@router.get("/plotly.min.js")
def plotly(request: Request) -> Response:
    data, zipped = plotly_js()
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(zipped, media_type=_TYPES[".js"], headers=headers)
    return Response(data, media_type=_TYPES[".js"], headers=headers)


@router.get("/{name}")
def own(name: str) -> Response:
    if name not in {"app.css", "app.js", "operator.js"}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return Response(
        _own(name), media_type=_TYPES[Path(name).suffix], headers={"Cache-Control": "no-cache"}
    )
