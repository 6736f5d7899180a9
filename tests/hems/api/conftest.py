"""The API's fixtures: a service with no demo home, two homes registered through the API (each
with its token), its devices started with the app (a CSMS and an S2 server on free ports)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from hems.app import create_app
from hems.domain.connections import CsmsServer, DeviceSettings, S2Server
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings

from ..test_device_runtime import home_spec


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    admin: str
    homes: dict[str, tuple[int, str]]  # name: (id, token)

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    settings = Settings(
        state_dir=tmp_path,
        planner_processes=0,
        replan_delay_s=0.0,
        horizon_hours=6,
        devices=DeviceSettings(
            ocpp=CsmsServer(port=0, heartbeat_interval_s=1, stale_after_s=3),
            s2=S2Server(port=0, stale_after_s=3),
        ),
    )
    runtime = build_runtime(settings)
    admin = runtime.new_tokens["admin"]
    with TestClient(create_app(settings, runtime, run_scheduler=False)) as client:
        homes = {}
        for serial in ("CEM-A", "CEM-B"):
            spec = home_spec().model_copy(update={"cem_serial": serial})
            answer = client.post(
                "/homes",
                json=spec.model_dump(mode="json"),
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert answer.status_code == 201, answer.text
            homes[serial] = (answer.json()["id"], answer.json()["token"])
        yield Api(client, runtime, admin, homes)
    runtime.service.close()
