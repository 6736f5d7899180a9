"""An S2 battery registered through the API: its resource manager (the simulated S2 battery,
a separate process) is paired at once and connects with its token (the S2 server started for
this first RM), its identity is shown once it is set up, a wrong token is refused (401), the
database keeps only the token's hash, an RM id is paired to one home, and removing the device
unpairs it (refused from then on)."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from sqlalchemy import text

from tests.adapters.devices.s2_peer import TOKEN, ResourceManagerProcess

RM = "battery-api"


def _battery() -> dict[str, object]:
    return {"name": "Battery", "connection": {"protocol": "s2", "rm_id": RM, "token": TOKEN}}


def _wait(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_an_s2_battery_is_registered_connected_shown_and_removed(api, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    home_a, token_a = api.homes["CEM-A"]
    auth = api.auth(token_a)
    answer = api.client.post(f"/homes/{home_a}/devices", json=_battery(), headers=auth)
    assert answer.status_code == 201, answer.text
    assert answer.json()["protocol"] == "s2"
    with api.runtime.store.engine.connect() as conn:
        rows = " ".join(str(r) for r in conn.execute(text("SELECT * FROM devices")).all())
    assert TOKEN not in rows
    assert "token_hash" in rows
    devices = api.runtime.devices
    assert devices is not None
    assert devices.s2 is not None
    url = f"ws://127.0.0.1:{devices.s2.port}/{RM}"  # listening: started for this first RM
    wrong = ResourceManagerProcess(
        ["--url", url, "--token", "a-wrong-token-0123456789"], tmp_path / "w.log"
    )
    try:
        _wait(lambda: bool(wrong.of("connect_failed")))
        assert "401" in wrong.of("connect_failed")[0]["error"]
    finally:
        asyncio.run(wrong.stop())
    rm = ResourceManagerProcess(["--url", url, "--token", TOKEN], tmp_path / "rm.log")
    try:
        _wait(lambda: bool(rm.of("activated")))

        def identity() -> object:
            listed = api.client.get(f"/homes/{home_a}/devices/registered", headers=auth).json()
            return next(d for d in listed if d["name"] == "Battery")["identity"]

        _wait(lambda: identity() is not None)
        assert identity() == {
            "manufacturer": "Acme",
            "model": "B-10",
            "serial": "SN-0042",
            "version": "1.2.3",
        }
        tested = api.client.post(f"/homes/{home_a}/devices/Battery/test", headers=auth)
        assert tested.status_code == 200
        _wait(
            lambda: api.client.post(f"/homes/{home_a}/devices/Battery/test", headers=auth).json()[
                "online"
            ]
        )
        # one home per RM
        _, token_b = api.homes["CEM-B"]
        home_b = api.homes["CEM-B"][0]
        again = api.client.post(
            f"/homes/{home_b}/devices", json=_battery(), headers=api.auth(token_b)
        )
        assert again.status_code == 409
        assert "paired already" in again.json()["detail"]
        # removed: unpaired, its session ended, refused when it comes back
        mark = rm.mark()
        gone = api.client.delete(f"/homes/{home_a}/devices/Battery", headers=auth)
        assert gone.status_code == 204
        _wait(lambda: bool(rm.of("connect_failed", since=mark)))
        assert "404" in rm.of("connect_failed", since=mark)[-1]["error"]
    finally:
        asyncio.run(rm.stop())
    assert TOKEN not in json.dumps(api.runtime.store.audit(home_a))
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "refused resource manager battery-api" in logged  # the wrong token, said
    for secret in (TOKEN, "a-wrong-token-0123456789"):
        assert secret not in logged
