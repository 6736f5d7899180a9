"""The VENs' push endpoint's settings: a half-configured push listener is refused at start-up,
naming what is missing (``hems run`` exits 2 with one line, nothing started)."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from adapters.openadr.tls import fingerprint_pem
from hems.cli import app
from hems.settings import SettingsError, load_settings
from tests.adapters.openadr.certs import make_pki
from tests.adapters.openadr.vtn_peer import free_port

HTTPS = "https://127.0.0.1:8443/OpenADR2/Simple/2.0b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def push(pki):
    ca_file, vtn, ven = pki
    return {
        "vtn_url": HTTPS,
        "ven_cert_file": ven.cert_file,
        "ven_key_file": ven.key_file,
        "vtn_ca_file": ca_file,
        "vtn_fingerprint": fingerprint_pem(vtn.cert_pem),
        "ven_push_port": 8444,
        "ven_push_cert_file": ven.cert_file,
        "ven_push_key_file": ven.key_file,
    }


def test_a_complete_push_listener_is_accepted_and_advertised(push):
    assert load_settings(**push).ven_push_base_url == "https://127.0.0.1:8444"
    given = load_settings(**push, ven_push_url="https://cem.example/oadr/")
    assert given.ven_push_base_url == "https://cem.example/oadr"
    assert load_settings().ven_push_base_url == ""


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        ("ven_push_cert_file", "ven_push_port needs ven_push_cert_file"),
        ("ven_push_key_file", "ven_push_port needs ven_push_key_file"),
        ("vtn_fingerprint", r"ven_push_port needs vtn_fingerprint \(the VTN's certificate"),
    ],
)
def test_a_push_port_without_what_it_needs_is_refused_by_name(push, left_out, named):
    del push[left_out]
    with pytest.raises(SettingsError, match=named):
        load_settings(**push)


def test_push_files_without_a_port_are_refused(push):
    del push["ven_push_port"]
    with pytest.raises(SettingsError, match="ven_push_cert_file, ven_push_key_file set but"):
        load_settings(**push)


def test_a_wildcard_push_host_needs_the_advertised_url(push):
    with pytest.raises(SettingsError, match="wildcard address: set ven_push_url"):
        load_settings(**push, ven_push_host="0.0.0.0")
    with pytest.raises(SettingsError, match="ven_push_url: must be an https:// URL"):
        load_settings(**push, ven_push_url="http://cem.example/oadr")


def test_hems_run_stops_at_once_on_a_half_configured_push_listener(tmp_path, monkeypatch):
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HEMS_VEN_PUSH_PORT", "8444")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2, result.output
    assert "ven_push_port needs ven_push_cert_file" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "state").exists()


def test_a_push_port_in_use_stops_run_with_a_message(tmp_path, monkeypatch, push):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        push.update(ven_push_port=port, api_port=free_port())
        for name, value in push.items():
            monkeypatch.setenv(f"HEMS_{name.upper()}", str(value))
        monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path / "state"))
        result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1, result.output
    assert f"push endpoint (ven_push_port) cannot listen on 127.0.0.1:{port}" in " ".join(
        result.stderr.split()
    )
    assert "Traceback" not in result.output
