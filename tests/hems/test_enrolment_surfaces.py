"""Withdrawing from the DSRSP's programme and enrolling again through the API (the consumer's
token or the operator's) and the web app; the status, a cancellation by the DSRSP included, is
shown by both and kept in the database. The VEN's side: tests/hems/test_ven_enrolment.py."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.hems.web.conftest import csrf_of, sign_in


def _url(demo) -> str:
    return f"/homes/{demo.home_id}/dsrsp-enrolment"


def test_the_consumer_withdraws_and_the_operator_enrols_again_through_the_api(client, demo):
    told: list[tuple[int, bool]] = []
    demo.runtime.service.enrolment_listeners.append(lambda h, e: told.append((h, e)))
    assert client.get(_url(demo), headers=demo.auth()).json()["status"] == "enrolled"
    r = client.put(_url(demo), json={"enrolled": False}, headers=demo.auth())
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    assert r.json()["since"] is not None
    assert client.get(_url(demo), headers=demo.auth()).json()["status"] == "withdrawn"
    again = client.put(_url(demo), json={"enrolled": False}, headers=demo.auth())
    assert again.json()["since"] == r.json()["since"]  # withdrawing twice changes nothing
    r = client.put(_url(demo), json={"enrolled": True}, headers=demo.auth(demo.admin_token))
    assert r.json()["status"] == "enrolled"
    assert told == [(demo.home_id, False), (demo.home_id, True)]
    actions = [a["action"] for a in demo.runtime.store.audit(demo.home_id)]
    assert actions[-2:] == ["dsrsp.withdraw", "dsrsp.enrol"]


def test_a_bad_enrolment_body_is_a_422_naming_the_field(client, demo):
    r = client.put(_url(demo), json={"enrolled": "perhaps"}, headers=demo.auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "enrolled"]


def test_a_cancellation_by_the_dsrsp_is_shown_by_the_api_and_the_web_page(client, demo):
    store = demo.runtime.store
    store.record_cancelled_by_vtn(demo.home_id, datetime(2026, 12, 6, 9, 30, tzinfo=UTC))
    shown = client.get(_url(demo), headers=demo.auth()).json()
    assert shown["status"] == "cancelled_by_dsrsp"
    assert shown["since"].startswith("2026-12-06T09:30:00")
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}/programme")
    assert "Your DSR provider cancelled your home&#39;s registration" in page.text
    assert "06 Dec 2026 09:30" in page.text
    assert 'id="enrol"' in page.text
    assert client.get(_url(demo), headers=demo.auth()).json()["status"] == "cancelled_by_dsrsp"
    assert store.export_home(demo.home_id)["dsrsp_enrolment"]["status"] == "cancelled_by_dsrsp"


def test_the_web_app_withdraws_after_confirmation_and_enrols_again(client, demo):
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}/programme")
    assert "Your home is enrolled" in page.text
    withdraw = f"/app/homes/{demo.home_id}/programme/withdraw"
    r = client.post(withdraw, data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert "tick the box to confirm" in r.text
    assert client.get(_url(demo), headers=demo.auth()).json()["status"] == "enrolled"
    r = client.post(
        withdraw, data={"csrf": csrf_of(r.text), "confirm": "yes"}, follow_redirects=True
    )
    assert "Your home is withdrawn" in r.text
    assert client.get(_url(demo), headers=demo.auth()).json()["status"] == "withdrawn"
    r = client.post(
        f"/app/homes/{demo.home_id}/programme/enrol",
        data={"csrf": csrf_of(r.text)},
        follow_redirects=True,
    )
    assert "Your home is enrolled" in r.text
    assert client.get(_url(demo), headers=demo.auth()).json()["status"] == "enrolled"


def test_another_homes_programme_is_404_and_a_form_needs_its_csrf_token(client, demo):
    from hems.demo import demo_home_spec

    spec = demo_home_spec("WEB-3").model_dump(mode="json")
    other = client.post("/homes", json=spec, headers=demo.auth(demo.admin_token)).json()["id"]
    sign_in(client, demo.home_token)
    csrf = csrf_of(client.get(f"/app/homes/{demo.home_id}/programme").text)
    assert client.get(f"/app/homes/{other}/programme").status_code == 404
    for action in ("withdraw", "enrol"):
        r = client.post(
            f"/app/homes/{other}/programme/{action}", data={"csrf": csrf, "confirm": "yes"}
        )
        assert r.status_code == 404, action
    r = client.post(
        f"/app/homes/{demo.home_id}/programme/withdraw", data={"csrf": "x", "confirm": "yes"}
    )
    assert r.status_code == 403
    assert (
        client.put(
            f"/homes/{other}/dsrsp-enrolment", json={"enrolled": False}, headers=demo.auth()
        ).status_code
        == 404
    )
    assert demo.runtime.store.enrolment(demo.home_id).status == "enrolled"
    assert demo.runtime.store.enrolment(other).status == "enrolled"


def test_the_operator_chooses_the_ven_mode_per_home(client, demo):
    told: list[int] = []
    demo.runtime.service.ven_mode_listeners.append(told.append)
    url = f"/homes/{demo.home_id}/ven-mode"
    assert client.get(url, headers=demo.auth()).json() == {"mode": "pull"}
    r = client.put(url, json={"mode": "report_only"}, headers=demo.auth())
    assert r.status_code == 403  # the operator's choice, not the consumer's
    r = client.put(url, json={"mode": "report-only"}, headers=demo.auth(demo.admin_token))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "mode"]
    r = client.put(url, json={"mode": "report_only"}, headers=demo.auth(demo.admin_token))
    assert r.json() == {"mode": "report_only"}
    client.put(url, json={"mode": "report_only"}, headers=demo.auth(demo.admin_token))
    assert told == [demo.home_id]  # setting the same mode again changes nothing
    assert client.get(url, headers=demo.auth()).json() == {"mode": "report_only"}
    assert (
        client.put(
            "/homes/999/ven-mode", json={"mode": "pull"}, headers=demo.auth(demo.admin_token)
        ).status_code
        == 404
    )


def test_push_mode_without_the_push_listener_is_a_422_naming_the_mode(client, demo):
    url = f"/homes/{demo.home_id}/ven-mode"
    r = client.put(url, json={"mode": "push"}, headers=demo.auth(demo.admin_token))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "mode"]
    assert "ven_push_port" in r.json()["detail"][0]["msg"]
    assert client.get(url, headers=demo.auth()).json() == {"mode": "pull"}
