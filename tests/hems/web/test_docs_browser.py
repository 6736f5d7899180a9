"""The API's docs pages render in headless Chromium with every request to another host refused
(as on a home machine without the internet) and no Content-Security-Policy violation. Issue 28:
/docs was blank offline."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc's "API docs by Redocly" footer always asks for this image; the pages' CSP refuses it
(no request leaves the home) and ReDoc then leaves the logo out."""


def _offline(page, live_service) -> list[str]:
    """Refuse every request to another host; the list collects their URLs."""
    local = urlsplit(live_service.url).netloc
    elsewhere: list[str] = []

    def route(r) -> None:
        if urlsplit(r.request.url).netloc == local:
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return elsewhere


def test_swagger_ui_and_redoc_render_offline(page, browser_context, live_service):
    elsewhere = _offline(page, live_service)
    page.goto("/docs")
    title = page.locator("#swagger-ui .info .title")
    title.wait_for()
    assert "Customer Energy Manager" in title.inner_text()
    plan = page.locator("#swagger-ui .opblock-summary-path", has_text="/homes/{home_id}/plan")
    plan.first.wait_for()
    page.shot("docs-swagger")
    assert elsewhere == []
    # ReDoc on a page of its own: its footer's logo is the one violation allowed
    redoc = browser_context.new_page()
    violations: list[str] = []
    redoc.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    elsewhere = _offline(redoc, live_service)
    try:
        redoc.goto("/redoc")
        redoc.get_by_role("heading", name="Customer Energy Manager").first.wait_for()
        redoc.get_by_text("/homes/{home_id}/plan").first.wait_for(state="attached")
    finally:
        redoc.close()
    assert elsewhere == []
    assert [v for v in violations if REDOC_LOGO not in v] == []
