"""Device registration through the API: a charger registered by the home's token is paired at
once and connects (the simulated charge point, a separate process), its identity is shown once
it booted, a test reads it, and removing it unpairs it (refused from then on); each change is
audited without its password. Another home's token sees none of it; bad registrations are
refused naming the field. A heat pump's on/off fields (minimum power, on/off, minimum run and
off times) are taken and given back, and bad values refused naming the field."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time

import pytest
from sqlalchemy import text

from adapters.devices.credentials import verify_secret
from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec
from hems.runtime import build_runtime
from tests.adapters.devices.ocpp_peer import ChargePointProcess

from ..test_device_runtime import home_spec

PASSWORD = "a-long-charger-secret-07"


def _charger(identity: str = "CP-7") -> dict[str, object]:
    return {
        "name": "EV",
        "connection": {"protocol": "ocpp", "identity": identity, "password": PASSWORD},
    }


def _wait(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_charger_registered_through_the_api_is_paired_shown_tested_and_removed(api, tmp_path):
    home_a, token_a = api.homes["CEM-A"]
    answer = api.client.post(f"/homes/{home_a}/devices", json=_charger(), headers=api.auth(token_a))
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "name": "EV",
        "kind": "ev_charger",
        "protocol": "ocpp",
        "source": "api",
        "identity": None,
        "capabilities": None,
        "mismatches": [],
    }
    devices = api.runtime.devices
    assert devices is not None
    assert devices.csms is not None
    port = devices.csms.port  # started for this first charger
    args = ["--url", f"ws://127.0.0.1:{port}/CP-7", "--version", "2.0.1", "--password", PASSWORD]
    cp = ChargePointProcess([*args, "--plugged"], tmp_path / "cp.log")
    try:
        _wait(lambda: bool(cp.of("booted")))
        listed = api.client.get(f"/homes/{home_a}/devices/registered", headers=api.auth(token_a))
        ev = next(d for d in listed.json() if d["name"] == "EV")
        assert ev["identity"] == {
            "manufacturer": "HEMS Test",
            "model": "SimCharger-201",
            "serial": "SIM-0201",
            "version": "2.0.1",
        }
        tested = api.client.post(f"/homes/{home_a}/devices/EV/test", headers=api.auth(token_a))
        assert tested.status_code == 200
        assert tested.json()["online"] is True
        # removed: unpaired, its session ended, refused when it comes back
        gone = api.client.delete(f"/homes/{home_a}/devices/EV", headers=api.auth(token_a))
        assert gone.status_code == 204
        _wait(lambda: bool(cp.of("refused")))
        assert cp.of("refused")[-1]["status"] == 404
        listed = api.client.get(f"/homes/{home_a}/devices/registered", headers=api.auth(token_a))
        assert "EV" not in [d["name"] for d in listed.json()]
    finally:
        asyncio.run(cp.stop())
    audit = api.runtime.store.audit(home_a)
    actions = [a["action"] for a in audit]
    assert "device.register" in actions
    assert "device.remove" in actions
    assert PASSWORD not in json.dumps(audit)
    assert PASSWORD not in json.dumps(api.runtime.store.export_home(home_a))


def test_the_database_keeps_only_a_hash_of_the_password_and_the_csms_verifies_it(
    api, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    home_a, token_a = api.homes["CEM-A"]
    answer = api.client.post(f"/homes/{home_a}/devices", json=_charger(), headers=api.auth(token_a))
    assert answer.status_code == 201, answer.text
    with api.runtime.store.engine.connect() as conn:
        rows = [str(r) for r in conn.execute(text("SELECT * FROM devices")).all()]
    assert not any(PASSWORD in row for row in rows)
    assert any("password_hash" in row for row in rows)
    devices = api.runtime.devices
    assert devices is not None
    assert devices.csms is not None
    url = ["--url", f"ws://127.0.0.1:{devices.csms.port}/CP-7", "--version", "2.0.1"]
    wrong = ChargePointProcess([*url, "--password", "not-the-right-secret"], tmp_path / "w.log")
    try:
        _wait(lambda: bool(wrong.of("refused")))
        assert wrong.of("refused")[0]["status"] == 401
        assert not wrong.of("booted")
    finally:
        asyncio.run(wrong.stop())
    right = ChargePointProcess([*url, "--password", PASSWORD], tmp_path / "r.log")
    try:
        _wait(lambda: bool(right.of("booted")))
    finally:
        asyncio.run(right.stop())
    # nor the log, even at DEBUG (websockets logs each handshake header there)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "Authorization" in logged  # the handshakes were logged: the check means something
    for secret in (PASSWORD, "not-the-right-secret"):
        assert secret not in logged
        assert base64.b64encode(f"CP-7:{secret}".encode()).decode() not in logged


def test_another_home_s_token_sees_and_changes_nothing(api):
    home_a, _ = api.homes["CEM-A"]
    _, token_b = api.homes["CEM-B"]
    b = api.auth(token_b)
    assert (
        api.client.post(f"/homes/{home_a}/devices", json=_charger(), headers=b).status_code == 404
    )
    assert api.client.get(f"/homes/{home_a}/devices/registered", headers=b).status_code == 404
    assert api.client.delete(f"/homes/{home_a}/devices/EV", headers=b).status_code == 404
    assert api.client.post(f"/homes/{home_a}/devices/EV/test", headers=b).status_code == 404
    assert api.client.post(f"/homes/{home_a}/devices", json=_charger()).status_code == 401
    # the admin may register for any home
    admin = api.auth(api.admin)
    assert (
        api.client.post(f"/homes/{home_a}/devices", json=_charger(), headers=admin).status_code
        == 201
    )
    assert api.runtime.store.audit(home_a)[-1]["actor"].startswith("admin")


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({**_charger(), "name": "Garage"}, 422, ["body", "name"]),
        ({"name": "Battery", "connection": _charger()["connection"]}, 422, ["body", "connection"]),
        (
            {
                "name": "EV",
                "connection": {"protocol": "mqtt", "broker": "attic", "device_id": "ev"},
            },
            422,
            ["body", "connection", "broker"],
        ),
        (
            {"name": "EV", "connection": {"protocol": "ocpp", "identity": "CP-1", "password": "x"}},
            422,
            None,
        ),
    ],
)
def test_a_bad_registration_is_refused_naming_the_field(api, body, status, where):
    home_a, token_a = api.homes["CEM-A"]
    answer = api.client.post(f"/homes/{home_a}/devices", json=body, headers=api.auth(token_a))
    assert answer.status_code == status, answer.text
    if where is not None:
        assert answer.json()["detail"][0]["loc"] == where
    assert (
        api.client.get(f"/homes/{home_a}/devices/registered", headers=api.auth(token_a)).json()[0][
            "protocol"
        ]
        is None
    )


def test_a_charger_is_paired_to_one_home_and_a_new_device_comes_with_its_spec(api):
    (home_a, token_a), (home_b, token_b) = api.homes["CEM-A"], api.homes["CEM-B"]
    assert (
        api.client.post(
            f"/homes/{home_a}/devices", json=_charger(), headers=api.auth(token_a)
        ).status_code
        == 201
    )
    again = api.client.post(f"/homes/{home_b}/devices", json=_charger(), headers=api.auth(token_b))
    assert again.status_code == 409
    assert "paired already" in again.json()["detail"]
    twice = api.client.post(
        f"/homes/{home_a}/devices", json=_charger("CP-8"), headers=api.auth(token_a)
    )
    assert twice.status_code == 409
    car = EvChargerSpec(name="Van", vehicle_capacity_kwh=75, max_charge_kw=11)
    new = api.client.post(
        f"/homes/{home_a}/devices",
        json={**_charger("CP-9"), "name": "Van", "spec": car.model_dump(mode="json")},
        headers=api.auth(token_a),
    )
    assert new.status_code == 201, new.text
    assert "Van" in [d.name for d in api.runtime.store.home(home_a).devices]
    battery = BatterySpec(name="Van", capacity_kwh=5, max_charge_kw=2, max_discharge_kw=2)
    taken = api.client.post(
        f"/homes/{home_a}/devices",
        json={
            "name": "Van",
            "spec": battery.model_dump(mode="json"),
            "connection": {"protocol": "modbus", "role": "battery", "host": "10.0.0.9"},
        },
        headers=api.auth(token_a),
    )
    assert taken.status_code == 409


def test_the_demo_home_s_devices_stay_simulated(client, demo):
    answer = client.post(f"/homes/{demo.home_id}/devices", json=_charger(), headers=demo.auth())
    assert answer.status_code == 409
    assert "simulated" in answer.json()["detail"]
    assert (
        client.delete(f"/homes/{demo.home_id}/devices/EV", headers=demo.auth()).status_code == 409
    )
    tested = client.post(f"/homes/{demo.home_id}/devices/EV/test", headers=demo.auth())
    assert tested.status_code == 200
    assert tested.json()["online"] is True


def test_a_registered_device_is_driven_again_after_a_restart(api):
    home_a, token_a = api.homes["CEM-A"]
    answer = api.client.post(f"/homes/{home_a}/devices", json=_charger(), headers=api.auth(token_a))
    assert answer.status_code == 201
    restarted = build_runtime(api.runtime.settings)
    try:
        assert restarted.devices is not None
        assert restarted.devices.charger_paired("CP-7")
        assert restarted.devices.csms is not None
        password_hash = restarted.devices.csms.charger("CP-7").password_hash
        assert password_hash is not None
        assert verify_secret(PASSWORD, password_hash)
        driver = restarted.service.controller(home_a).drivers["EV"]
        assert type(driver).__name__ == "OcppChargerDriver"
    finally:
        restarted.service.close()


def _home_with_heat_pump(serial: str, **fields: object) -> dict[str, object]:
    home = home_spec().model_dump(mode="json")
    heat_pump = {
        "kind": "heat_pump",
        "name": "Heat pump",
        "max_power_kw": 3.0,
        "heat_loss_kw_per_k": 0.18,
        "thermal_capacity_kwh_per_k": 9.0,
        **fields,
    }
    return {**home, "cem_serial": serial, "devices": [*home["devices"], heat_pump]}


def test_a_heat_pump_s_on_off_fields_are_taken_and_given_back(api):
    admin = api.auth(api.admin)
    on_off = {"modulating": False, "min_run_minutes": 60, "min_off_minutes": 30}
    made = api.client.post("/homes", json=_home_with_heat_pump("HP-1", **on_off), headers=admin)
    assert made.status_code == 201, made.text
    home = api.client.get(f"/homes/{made.json()['id']}", headers=admin).json()
    heat_pump = next(d for d in home["devices"] if d["kind"] == "heat_pump")
    assert {k: heat_pump[k] for k in (*on_off, "min_power_kw")} == {**on_off, "min_power_kw": 0}
    floor = api.client.post(
        "/homes", json=_home_with_heat_pump("HP-2", min_power_kw=0.9), headers=admin
    )
    assert floor.status_code == 201, floor.text
    home = api.client.get(f"/homes/{floor.json()['id']}", headers=admin).json()
    (stored,) = [
        HeatPumpSpec.model_validate(d) for d in home["devices"] if d["name"] == "Heat pump"
    ]
    assert (stored.min_power_kw, stored.modulating, stored.min_run_minutes) == (0.9, True, 0)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"min_power_kw": 3.5}, "min_power_kw", "must not exceed max_power_kw"),
        ({"min_power_kw": -0.1}, "min_power_kw", "greater than or equal to 0"),
        ({"min_run_minutes": 30}, "min_run_minutes", "on/off unit"),
        ({"min_off_minutes": 30, "modulating": True}, "min_off_minutes", "on/off unit"),
        ({"modulating": False, "min_run_minutes": -5}, "min_run_minutes", "greater than"),
        ({"modulating": False, "min_off_minutes": 241}, "min_off_minutes", "less than"),
        ({"modulating": "sometimes"}, "modulating", "boolean"),
    ],
)
def test_a_bad_heat_pump_field_is_refused_naming_it(api, fields, field, says):
    admin = api.auth(api.admin)
    answer = api.client.post("/homes", json=_home_with_heat_pump("HP-X", **fields), headers=admin)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"][-1] == field
    assert error["loc"][:3] == ["body", "devices", 2]
    assert says in error["msg"]
    homes = api.client.get("/homes", headers=admin).json()
    assert "HP-X" not in {h["cem_serial"] for h in homes}
