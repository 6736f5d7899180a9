"""``hems devices add|list|test|remove`` against the service's API (the app in-process, as the
command would reach it over HTTP): each answer printed, a refusal as the API said it."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.devices.credentials import verify_secret
from hems import cli_devices
from hems.cli import app


class _Borrowed:
    """The test's API client, lent to the command with the token it was given."""

    def __init__(self, api: Any, token: str) -> None:
        self.client = api.client
        self.base_url = self.client.base_url
        self.headers = {"Authorization": f"Bearer {token}"}

    def __enter__(self) -> _Borrowed:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers, **kwargs)


@pytest.fixture
def hems_cli(api, monkeypatch):
    monkeypatch.setattr(cli_devices, "_client", lambda _api, token, *_: _Borrowed(api, token))
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(app, ["devices", *args], input=stdin)

    return run


def test_a_device_is_added_listed_tested_and_removed_from_the_command_line(api, hems_cli):
    home, token = api.homes["CEM-A"]
    added = hems_cli(
        "add", str(home), "EV", "ocpp", "identity=CP-5", "phases=3", "--token", token,
        "--password-stdin", stdin="a-long-charger-secret-05\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "EV: registered over ocpp" in added.output
    stored = next(d for d in api.runtime.store.registered_devices(home) if d.name == "EV")
    assert stored.connection is not None
    assert stored.connection["phases"] == 3
    assert "password" not in stored.connection  # only its hash
    assert verify_secret("a-long-charger-secret-05", stored.connection["password_hash"])
    listed = hems_cli("list", str(home), "--token", token)
    assert listed.exit_code == 0, listed.output
    assert "ocpp" in listed.output
    tested = hems_cli("test", str(home), "EV", "--token", token)
    assert tested.exit_code == 1  # paired, but no charger has connected
    assert "does not answer" in tested.output
    removed = hems_cli("remove", str(home), "EV", "--token", token)
    assert removed.exit_code == 0, removed.output
    assert api.runtime.devices is not None
    assert not api.runtime.devices.charger_paired("CP-5")


def test_an_s2_battery_is_added_with_its_token_from_stdin(api, hems_cli):
    home, token = api.homes["CEM-A"]
    added = hems_cli(
        "add", str(home), "Battery", "s2", "rm_id=battery-cli", "--token", token,
        "--password-stdin", stdin="an-s2-token-from-stdin-01\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Battery: registered over s2" in added.output
    stored = next(d for d in api.runtime.store.registered_devices(home) if d.name == "Battery")
    assert stored.connection is not None
    assert "token" not in stored.connection  # only its hash
    assert verify_secret("an-s2-token-from-stdin-01", stored.connection["token_hash"])
    assert api.runtime.devices is not None
    assert api.runtime.devices.rm_paired("battery-cli")


def test_bad_input_is_refused_as_the_api_or_the_command_says(api, hems_cli):
    home, token = api.homes["CEM-A"]
    word = hems_cli("add", str(home), "Battery", "modbus", "role", "--token", token)
    assert word.exit_code == 2
    assert "'role' is not key=value" in word.output
    field = hems_cli(
        "add", str(home), "Battery", "modbus", "role=battery", "host=10.0.0.5", "unit_id=999",
        "--token", token,
    )  # fmt: skip
    assert field.exit_code == 2
    assert "422: connection.modbus.unit_id" in field.output
    _, other = api.homes["CEM-B"]
    hidden = hems_cli("list", str(home), "--token", other)
    assert hidden.exit_code == 1
    assert "404" in hidden.output
