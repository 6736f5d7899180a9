"""Every page of the consumer app at a desktop (1280 px) and a phone (390 px) width, in headless
Chromium: nothing scrolls sideways (issue 28: the preferences page did at 390 px)."""

from __future__ import annotations

import pytest

from tests.hems.web.test_e2e import sign_in

pytestmark = pytest.mark.e2e

PAGES = ("", "/preferences", "/events", "/programme", "/history", "/data", "/octopus-account")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.strip("/") or "today")
def test_no_page_scrolls_sideways_at_desktop_or_phone_width(page, live_service, path):
    sign_in(page, live_service)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/app/homes/{live_service.home_id}{path}")
        page.wait_for_load_state("load")
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        name = (path.strip("/") or "today") + f"-{width}"
        assert scroll <= client, f"{name}: the page scrolls sideways ({scroll} > {client} px)"
