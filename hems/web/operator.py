"""The operator's page of the cohort (``/app/operator``) for the DSRSP / fleet manager.

The page holds no data: its script (``static/operator.js``) asks for the admin token, keeps it
in the page's memory only (gone on reload) and reads ``GET /admin/cohort`` and
``GET /admin/cohort/homes`` with it, so the data stays behind the admin token exactly as the
API serves it (a home token gets the API's 403; docs/cohort.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hems.web.routes import templates

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/operator", response_class=HTMLResponse)
async def operator(request: Request) -> Response:
    return templates.TemplateResponse(request, "operator.html", {"user": None})
