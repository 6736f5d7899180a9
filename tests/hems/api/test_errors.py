"""Bad input on every write endpoint gets a clear 4xx in the declared error shape, and nothing
is stored: non-finite numbers, ids past the store's 64-bit keys, bodies that are not JSON, too
big or too deep, control characters in names, and local times with a UTC offset."""

from __future__ import annotations

import json

import pytest

from hems.api.errors import MAX_BODY_BYTES
from hems.demo import demo_home_spec

EVENT = {
    "event_id": "ev-1",
    "kind": "import_cap",
    "value_kw": 1.0,
    "start": "2026-11-30T18:00:00Z",
    "end": "2026-11-30T19:00:00Z",
}


def _writes(client, demo) -> dict[str, tuple[str, str, dict, dict[str, str]]]:
    """Each write endpoint: method, path, a valid body, the token's headers."""
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    home = f"/homes/{demo.home_id}"
    admin = demo.auth(demo.admin_token)
    return {
        "preferences": ("PUT", f"{home}/preferences", prefs, demo.auth()),
        "home": ("POST", "/homes", demo_home_spec("NEW-1").model_dump(mode="json"), admin),
        "event": ("POST", f"{home}/events", EVENT, admin),
        "override": ("POST", f"{home}/overrides", {"kind": "ev_boost"}, demo.auth()),
    }


def _raw(client, method: str, path: str, content: bytes | str, headers: dict[str, str]):
    headers = {**headers, "content-type": "application/json"}
    return client.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize(
    ("endpoint", "field", "json_text"),
    [
        ("preferences", "comfort_max_c", "NaN"),
        ("preferences", "battery_reserve_soc", "Infinity"),
        ("home", "latitude", "-Infinity"),
        ("event", "value_kw", "NaN"),
    ],
)
def test_a_non_finite_number_is_a_422_naming_the_field(client, demo, endpoint, field, json_text):
    method, path, body, headers = _writes(client, demo)[endpoint]
    text = json_text_with(body, field, json_text)
    r = _raw(client, method, path, text, headers)
    assert r.status_code == 422, r.text
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", field]
    assert error["input"] == json_text


def json_text_with(body: dict, field: str, json_text: str) -> str:
    """``body`` as JSON with ``field`` set to a bare token (NaN, Infinity, as Python writes)."""
    marker = "__value__"
    return json.dumps({**body, field: marker}).replace(f'"{marker}"', json_text)


def test_a_non_finite_number_in_an_unbounded_field_is_refused_not_stored(client, demo):
    spec = demo_home_spec("NAN-1").model_dump(mode="json")
    heat_pump = next(d for d in spec["devices"] if d["kind"] == "heat_pump")
    heat_pump["hplib_p1"] = "__nan__"
    text = json.dumps(spec).replace('"__nan__"', "NaN")
    r = _raw(client, "POST", "/homes", text, demo.auth(demo.admin_token))
    assert r.status_code == 422, r.text
    homes = client.get("/homes", headers=demo.auth(demo.admin_token)).json()
    assert "NAN-1" not in {h["cem_serial"] for h in homes}


TOO_BIG_ID = 2**63


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/homes/{big}"),
        ("GET", "/homes/{big}/preferences"),
        ("GET", "/homes/{big}/plan"),
        ("DELETE", "/homes/{big}"),
        ("POST", "/homes/{big}/tokens"),
        ("POST", "/homes/{big}/events"),
        ("DELETE", "/homes/{home}/overrides/{big}"),
        ("GET", "/homes/0"),
        ("GET", "/homes/-1/devices"),
    ],
)
def test_an_id_outside_the_stores_keys_is_a_422_naming_it(client, demo, method, path):
    url = path.format(big=TOO_BIG_ID, home=demo.home_id)
    r = client.request(method, url, headers=demo.auth(demo.admin_token), json=EVENT)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "path"


@pytest.mark.parametrize("endpoint", ["preferences", "home", "event", "override"])
def test_a_body_that_is_not_json_too_deep_or_too_big_is_a_clear_4xx(client, demo, endpoint):
    method, path, _body, headers = _writes(client, demo)[endpoint]
    r = _raw(client, method, path, "{not json", headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = _raw(client, method, path, "[" * 100_000 + "]" * 100_000, headers)
    assert r.status_code == 400
    assert isinstance(r.json()["detail"], str)
    r = _raw(client, method, path, b"{" + b" " * MAX_BODY_BYTES + b"}", headers)
    assert r.status_code == 413
    assert "bytes" in r.json()["detail"]

    def chunks():
        yield b"{"
        for _ in range(MAX_BODY_BYTES // 4096 + 1):
            yield b" " * 4096
        yield b"}"

    r = client.request(method, path, content=chunks(), headers=headers)
    assert r.status_code == 413
    assert "bytes" in r.json()["detail"]


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [("home", "name"), ("home", "cem_manufacturer"), ("event", "event_id"), ("override", "target")],
)
def test_a_nul_character_in_a_name_is_a_422_naming_the_field(client, demo, endpoint, field):
    method, path, body, headers = _writes(client, demo)[endpoint]
    r = client.request(method, path, json={**body, field: "a\x00b"}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", field]


def test_an_event_id_with_a_nul_in_the_path_is_a_422(client, demo):
    r = client.post(f"/homes/{demo.home_id}/events/a%00b/opt-out", headers=demo.auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "event_id"]


def test_a_local_time_with_a_utc_offset_is_refused_and_planning_goes_on(client, demo):
    before = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    prefs = {**before, "comfort": [{"start": "06:30:00+05:00", "min_c": 20.0}]}
    r = client.put(f"/homes/{demo.home_id}/preferences", json=prefs, headers=demo.auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "comfort", 0, "start"]
    after = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    assert after == before


@pytest.mark.parametrize("text", ["06:30", "06:30:00", "06:30:00.5"])
def test_a_local_time_as_the_schema_describes_it_is_accepted(client, demo, text):
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    prefs["comfort"] = [{"start": text, "min_c": 20.0}]
    r = client.put(f"/homes/{demo.home_id}/preferences", json=prefs, headers=demo.auth())
    assert r.status_code == 200, r.text
    client.portal.call(demo.runtime.service.settle)


def test_a_check_that_needs_the_store_answers_in_the_validation_shape(client, demo):
    r = client.post(
        f"/homes/{demo.home_id}/overrides",
        json={"kind": "pause_device", "target": "Sauna"},
        headers=demo.auth(),
    )
    assert r.status_code == 422
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "target"]
    assert "Sauna" in error["msg"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "flexibility", None),
        ("POST", "overrides", {"kind": "ev_boost"}),
        ("GET", "preferences", None),
        ("PUT", "preferences", {}),
        ("GET", "plan", None),
        ("GET", "devices", None),
        ("POST", "events/ev-1/opt-out", None),
    ],
)
def test_an_admin_naming_a_home_that_does_not_exist_gets_a_404(client, demo, method, path, body):
    r = client.request(
        method, f"/homes/{2**63 - 2}/{path}", json=body, headers=demo.auth(demo.admin_token)
    )
    assert r.status_code == 404, r.text
    assert isinstance(r.json()["detail"], str)
