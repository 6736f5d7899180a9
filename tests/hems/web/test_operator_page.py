"""The operator's page of the cohort (/app/operator): served without data, its script reads the
admin API with the token typed in; a home token is refused (docs/cohort.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


def test_the_page_holds_no_data_and_its_script_is_served(client, demo):
    page = client.get("/app/operator")
    assert page.status_code == 200
    assert "Admin token" in page.text
    assert "DEMO-0001" not in page.text  # the homes come only through the admin API
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/app/static/operator.js")
    assert script.status_code == 200
    assert "/admin/cohort/homes" in script.text
    assert "innerHTML" not in script.text


@pytest.mark.e2e
def test_an_admin_sees_the_homes_and_a_home_token_is_refused(page, live_service):
    page.goto("/app/operator")
    page.get_by_label("Admin token").fill(live_service.home_token)
    page.get_by_role("button", name="Show the cohort").click()
    expect(page.get_by_role("alert")).to_contain_text("not an admin token")
    page.get_by_label("Admin token").fill(live_service.admin_token)
    page.get_by_role("button", name="Show the cohort").click()
    homes = page.locator("#cohort-homes tbody tr")
    expect(homes).to_have_count(1)
    expect(homes.first).to_contain_text("DEMO-0001")
    expect(homes.first).to_contain_text("optimal")
    expect(page.locator("#cohort-figures")).to_contain_text("Planned peak")
    page.shot("operator-cohort")
