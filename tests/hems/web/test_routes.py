"""The web app's routes through FastAPI's TestClient: sign-in, the session cookie, CSRF,
session expiry, per-home isolation, security headers, preferences and overrides through the
API's own logic."""

from __future__ import annotations

from datetime import timedelta

from hems.demo import demo_home_spec
from hems.web.sessions import SESSION_COOKIE
from tests.hems.web.conftest import csrf_of, sign_in


def test_a_wrong_token_is_refused_and_no_session_is_made(client, demo):
    r = sign_in(client, "hems_not-a-token")
    assert r.status_code == 401
    assert "not recognised" in r.text
    assert SESSION_COOKIE not in client.cookies
    assert len(client.app.state.web_sessions) == 0


def test_an_admin_token_does_not_open_the_consumer_app(client, demo):
    r = sign_in(client, demo.admin_token)
    assert r.status_code == 401


def test_sign_in_sets_a_strict_http_only_session_cookie_without_the_token(client, demo):
    r = sign_in(client, demo.home_token)
    assert r.status_code == 303
    assert r.headers["location"] == f"/app/homes/{demo.home_id}"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http in the test; https sets Secure
    assert demo.home_token not in cookie
    assert demo.home_token.removeprefix("hems_") not in cookie
    page = client.get(f"/app/homes/{demo.home_id}")
    assert page.status_code == 200
    assert "Today and tomorrow" in page.text


def test_the_cookie_is_secure_over_https(demo):
    from fastapi.testclient import TestClient

    from hems.app import create_app

    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app, base_url="https://testserver") as c:
        r = sign_in(c, demo.home_token)
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "Secure" in cookie


def test_pages_need_a_session(client, demo):
    r = client.get(f"/app/homes/{demo.home_id}/preferences", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/app/login"
    # the API does not take the cookie: bearer tokens only
    sign_in(client, demo.home_token)
    assert client.get(f"/homes/{demo.home_id}/preferences").status_code == 401


def test_a_form_without_the_csrf_token_is_refused(client, demo):
    sign_in(client, demo.home_token)
    before = client.get(f"/homes/{demo.home_id}/overrides", headers=demo.auth()).json()
    r = client.post(f"/app/homes/{demo.home_id}/overrides", data={"action": "boost"})
    assert r.status_code == 403
    r = client.post(
        f"/app/homes/{demo.home_id}/overrides", data={"action": "boost", "csrf": "forged"}
    )
    assert r.status_code == 403
    r = client.post(f"/app/homes/{demo.home_id}/logout", data={})
    assert r.status_code == 403
    assert client.get(f"/homes/{demo.home_id}/overrides", headers=demo.auth()).json() == before


def test_a_post_from_another_origin_is_refused_even_with_the_token(client, demo):
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}").text)
    r = client.post(
        f"/app/homes/{demo.home_id}/logout",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403


def test_the_sign_in_form_has_its_own_csrf_check(client, demo):
    client.get("/app/login")
    r = client.post("/app/login", data={"csrf": "forged", "token": demo.home_token})
    assert r.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_a_session_expires_when_idle(client, demo):
    sign_in(client, demo.home_token)
    assert client.get(f"/app/homes/{demo.home_id}/data").status_code == 200
    demo.clock.advance(timedelta(minutes=31))
    r = client.get(f"/app/homes/{demo.home_id}/data", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/app/login?reason=expired"
    assert "session has ended" in client.get(r.headers["location"]).text


def test_a_session_ends_after_its_absolute_lifetime_even_when_used(client, demo):
    sign_in(client, demo.home_token)
    for _ in range(26):  # 13 h of use, a request every 30 minutes
        demo.clock.advance(timedelta(minutes=30))
        r = client.get(f"/app/homes/{demo.home_id}/data", follow_redirects=False)
    assert r.status_code == 303


def test_sign_out_ends_the_session(client, demo):
    sign_in(client, demo.home_token)
    session_id = client.cookies[SESSION_COOKIE]
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}").text)
    r = client.post(f"/app/homes/{demo.home_id}/logout", data={"csrf": csrf})
    assert r.status_code == 200  # the login page, after the redirect
    client.cookies.set(SESSION_COOKIE, session_id, path="/app")  # a stolen copy is now dead
    r = client.get(f"/app/homes/{demo.home_id}", follow_redirects=False)
    assert r.status_code == 303


def test_a_home_sees_only_its_own_pages(client, demo):
    spec = demo_home_spec("WEB-2").model_dump(mode="json")
    created = client.post("/homes", json=spec, headers=demo.auth(demo.admin_token)).json()
    other = created["id"]
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}").text)
    for path in ("", "/preferences", "/events", "/history", "/data", "/plan.json", "/live.json"):
        assert client.get(f"/app/homes/{other}{path}").status_code == 404, path
    assert client.get(f"/app/homes/{other}/export.json").status_code == 404
    for path in ("/overrides", "/preferences", "/delete", "/logout", "/events/x/opt-out"):
        r = client.post(f"/app/homes/{other}{path}", data={"csrf": csrf, "confirm": "yes"})
        assert r.status_code == 404, path
    # the other home is untouched and its token still works
    assert client.get(f"/homes/{other}", headers=demo.auth(created["token"])).status_code == 200


def test_pages_carry_security_headers_and_no_inline_script(client, demo):
    sign_in(client, demo.home_token)
    r = client.get(f"/app/homes/{demo.home_id}")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text
    assert "onclick" not in r.text
    # the API's answers have their own, stricter policy (tests/hems/test_security_headers.py)
    assert "default-src 'none'" in client.get("/health").headers["content-security-policy"]


def test_plotly_is_served_from_the_python_package(client):
    r = client.get("/app/static/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "Licensed under the MIT license" in r.text[:300]
    assert client.get("/app/static/../app.py").status_code == 404
    assert client.get("/app/static/secret.txt").status_code == 404


def test_saving_preferences_re_plans_and_a_bad_value_names_the_field(client, demo):
    sign_in(client, demo.home_token)
    form_page = client.get(f"/app/homes/{demo.home_id}/preferences").text
    csrf = csrf_of(form_page)
    form = _form_fields(form_page)
    bad = {**form, "reserve": "95", "csrf": csrf}
    r = client.post(f"/app/homes/{demo.home_id}/preferences", data=bad)
    assert r.status_code == 422
    assert "The battery reserve must be at most 90%." in r.text
    assert (
        client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()[
            "battery_reserve_soc"
        ]
        == 0.1
    )
    good = {**form, "reserve": "40", "dep_tue_target": "90", "csrf": csrf}
    r = client.post(f"/app/homes/{demo.home_id}/preferences", data=good)
    assert r.status_code == 200
    assert "Preferences saved" in r.text
    client.portal.call(demo.runtime.service.settle)
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    assert prefs["battery_reserve_soc"] == 0.4
    assert prefs["ev_departures"]["tue"]["target_soc"] == 0.9
    plan = client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()
    assert plan["trigger"] == "preferences changed"
    audit = client.get(f"/homes/{demo.home_id}/export", headers=demo.auth()).json()["audit"]
    assert audit[-1]["actor"].startswith("home-token-")


def test_a_next_trip_in_the_past_is_refused(client, demo):
    sign_in(client, demo.home_token)
    form_page = client.get(f"/app/homes/{demo.home_id}/preferences").text
    data = {
        **_form_fields(form_page),
        "next_trip_at": "2026-11-30T08:00",
        "next_trip_target": "80",
        "csrf": csrf_of(form_page),
    }
    r = client.post(f"/app/homes/{demo.home_id}/preferences", data=data)
    assert r.status_code == 422
    assert "must be in the future" in r.text


def test_pausing_a_device_is_confirmed_and_listed(client, demo):
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}").text)
    r = client.post(
        f"/app/homes/{demo.home_id}/overrides",
        data={"csrf": csrf, "action": "pause", "target": "Heat pump", "minutes": "60"},
    )
    assert "Heat pump is paused until Mon 30 Nov 18:00" in r.text
    overrides = client.get(f"/homes/{demo.home_id}/overrides", headers=demo.auth()).json()
    assert [o["target"] for o in overrides] == ["Heat pump"]
    r = client.post(
        f"/app/homes/{demo.home_id}/overrides",
        data={"csrf": csrf, "action": "pause", "target": "Sauna"},
    )
    assert r.status_code == 200  # the page, with the reason
    assert "Not done: target: no device named" in r.text


def test_delete_needs_confirmation_then_erases_and_signs_out(client, demo):
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}/data").text)
    r = client.post(f"/app/homes/{demo.home_id}/delete", data={"csrf": csrf})
    assert "Nothing deleted" in r.text
    export = client.get(f"/app/homes/{demo.home_id}/export.json")
    assert export.json()["home"]["cem_serial"] == "DEMO-0001"
    assert "attachment" in export.headers["content-disposition"]
    r = client.post(f"/app/homes/{demo.home_id}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert "has been deleted" in r.text
    assert client.get(f"/homes/{demo.home_id}", headers=demo.auth()).status_code == 401
    assert sign_in(client, demo.home_token).status_code == 401


def _form_fields(html: str) -> dict[str, str]:
    """The values a browser would submit from the preferences form (inputs only)."""
    import re

    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf":
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox":
            if " checked" in tag:
                fields[name.group(1)] = "on"
        else:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def test_more_comfort_periods_than_the_form_shows_by_default_survive_a_save(client, demo):
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    prefs["comfort"] = [
        {"start": f"{h:02d}:00:00", "min_c": 16.0 + i} for i, h in enumerate((5, 8, 12, 17, 22))
    ]
    r = client.put(f"/homes/{demo.home_id}/preferences", json=prefs, headers=demo.auth())
    assert r.status_code == 200
    sign_in(client, demo.home_token)
    form_page = client.get(f"/app/homes/{demo.home_id}/preferences").text
    assert 'name="comfort_5_start"' in form_page  # five periods and one empty row
    data = {**_form_fields(form_page), "csrf": csrf_of(form_page)}
    assert client.post(f"/app/homes/{demo.home_id}/preferences", data=data).status_code == 200
    saved = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    assert saved["comfort"] == prefs["comfort"]
    client.portal.call(demo.runtime.service.settle)


def test_cancelling_an_override_id_past_the_stores_keys_is_a_422(client, demo):
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}").text)
    r = client.post(f"/app/homes/{demo.home_id}/overrides/{2**63}/cancel", data={"csrf": csrf})
    assert r.status_code == 422
