"""``hems devices add|list|test|remove``: a home's devices through the running service's API
(``POST/GET/DELETE /homes/{id}/devices``), so a change takes effect at once (a charger paired
or unpaired) and is audited under the token used.

The connection's fields are given as ``key=value`` (docs/devices.md, "The service's
devices"): ``hems devices add 3 EV ocpp identity=CP-1 rate_unit=A --password-stdin``. A value
that reads as JSON (a number, true) is taken as such, anything else as text.
"""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.table import Table

from hems.cli_errors import InputError
from hems.settings import load_settings

devices_app = typer.Typer(
    help="a home's devices, through the running service", no_args_is_help=True
)
console = Console(width=None if Console().is_terminal else 132)
TOKEN_ENV = "HEMS_TOKEN"

ApiOption = Annotated[
    str | None, typer.Option("--api", help="the service's URL (default: from the settings)")
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", envvar=TOKEN_ENV, help=f"an admin or the home's token (or {TOKEN_ENV})"
    ),
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="settings file (TOML)")]
CaOption = Annotated[
    Path | None,
    typer.Option("--ca", exists=True, dir_okay=False, help="CA of the API's certificate (https)"),
]
HomeArg = Annotated[int, typer.Argument(min=1, help="the home's id")]
NameArg = Annotated[str, typer.Argument(help="the device's name in the home")]


def _client(
    api: str | None, token: str | None, config: Path | None, ca: Path | None = None
) -> httpx.Client:
    """An HTTP client of the service's API with the token (a test replaces this); an https
    API's certificate is checked against ``ca`` or the system's CAs."""
    if not token:
        raise InputError(f"a token is needed: --token or {TOKEN_ENV}")
    if api is None:
        s = load_settings(config)
        api = f"{s.api_scheme}://{s.api_host}:{s.api_port}"
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
    return httpx.Client(
        base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=verify
    )


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The API's answer; an error is printed as the API said it and exits 1 (2 for a 422)."""
    try:
        answer = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        console.print(f"[red]the service at {client.base_url} does not answer: {exc}[/red]")
        raise typer.Exit(1) from None
    if answer.is_success:
        return answer
    try:
        detail = answer.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = answer.text
    if isinstance(detail, list):  # a 422: each field and why
        detail = "; ".join(f"{'.'.join(map(str, d['loc'][1:]))}: {d['msg']}" for d in detail)
    console.print(f"[red]{answer.status_code}: {detail}[/red]")
    raise typer.Exit(2 if answer.status_code == 422 else 1)


def connection_fields(protocol: str, fields: list[str]) -> dict[str, Any]:
    """``key=value`` words as a connection (InputError for a word that is not one)."""
    out: dict[str, Any] = {"protocol": protocol}
    for word in fields:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InputError(f"{word!r} is not key=value")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@devices_app.command("add")
def add(
    home: HomeArg,
    name: NameArg,
    protocol: Annotated[str, typer.Argument(help="ocpp, modbus, mqtt or s2")],
    fields: Annotated[
        list[str] | None, typer.Argument(help="the connection: key=value ...")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="a new device's spec (JSON)"),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            help="read the device's password (an S2 RM's token) from stdin, not the command line"
        ),
    ] = False,
    api: ApiOption = None,
    token: TokenOption = None,
    config: ConfigOption = None,
    ca: CaOption = None,
) -> None:
    """Register a device's connection (and with --spec a new device): driven at once."""
    connection = connection_fields(protocol, fields or [])
    if password_stdin:
        secret = "token" if protocol == "s2" else "password"
        connection[secret] = sys.stdin.readline().rstrip("\n")
    body: dict[str, Any] = {"name": name, "connection": connection}
    if spec is not None:
        try:
            body["spec"] = json.loads(spec.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"{spec} is not JSON: {exc}") from None
    with _client(api, token, config, ca) as client:
        answer = _call(client, "POST", f"/homes/{home}/devices", json=body).json()
    console.print(f"{answer['name']}: registered over {answer['protocol']}")


@devices_app.command("list")
def list_devices(
    home: HomeArg,
    api: ApiOption = None,
    token: TokenOption = None,
    config: ConfigOption = None,
    ca: CaOption = None,
) -> None:
    """The home's devices, how the CEM reaches each, and who made it (once connected); then a
    line for each limit a device reports otherwise than its spec says (planned: the lower)."""
    with _client(api, token, config, ca) as client:
        rows = _call(client, "GET", f"/homes/{home}/devices/registered").json()
    table = Table("device", "kind", "protocol", "from", "manufacturer", "model", "serial")
    for d in rows:
        who = d["identity"] or {}
        table.add_row(
            d["name"],
            d["kind"],
            d["protocol"] or "-",
            d["source"] or "-",
            who.get("manufacturer") or "-",
            who.get("model") or "-",
            who.get("serial") or "-",
        )
    console.print(table)
    for d in rows:
        for m in d.get("mismatches") or ():
            console.print(mismatch_line(d["name"], m), markup=False)


def mismatch_line(device: str, m: dict[str, Any]) -> str:
    """One of a device's capability mismatches (:class:`hems.device_capabilities.
    CapabilityMismatch` as the API's JSON), in words."""
    return f"{device}: {m['message']}"


@devices_app.command("test")
def check_device(
    home: HomeArg,
    name: NameArg,
    api: ApiOption = None,
    token: TokenOption = None,
    config: ConfigOption = None,
    ca: CaOption = None,
) -> None:
    """Read the device once now; exit 1 when it does not answer."""
    with _client(api, token, config, ca) as client:
        result = _call(client, "POST", f"/homes/{home}/devices/{quote(name)}/test").json()
    if not result["online"]:
        console.print(f"[red]{name} does not answer: {result['error']}[/red]")
        raise typer.Exit(1)
    console.print(f"{name} answers: {result['power_kw']:.2f} kW")


@devices_app.command("remove")
def remove(
    home: HomeArg,
    name: NameArg,
    api: ApiOption = None,
    token: TokenOption = None,
    config: ConfigOption = None,
    ca: CaOption = None,
) -> None:
    """Remove the device with its connection and credentials (a charger is unpaired)."""
    with _client(api, token, config, ca) as client:
        _call(client, "DELETE", f"/homes/{home}/devices/{quote(name)}")
    console.print(f"{name} removed")
