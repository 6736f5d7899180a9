"""The OpenADR security profile's settings (XML signatures both ways): each half-configuration
is refused at start-up, naming the setting that is missing or wrong."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from adapters.openadr.tls import fingerprint_pem
from hems.settings import SettingsError, load_settings
from tests.adapters.openadr.certs import make_pki

HTTPS = "https://127.0.0.1:8443/OpenADR2/Simple/2.0b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls(pki):
    ca_file, _, ven = pki
    return {
        "vtn_url": HTTPS,
        "ven_cert_file": ven.cert_file,
        "ven_key_file": ven.key_file,
        "vtn_ca_file": ca_file,
    }


def test_a_complete_profile_is_accepted(pki, tls):
    ca_file, vtn, ven = pki
    s = load_settings(
        **tls,
        ven_sign_messages=True,
        vtn_signing_cert_file=vtn.cert_file,
        vtn_signing_fingerprint=fingerprint_pem(vtn.cert_pem).lower(),
        vtn_signatures_required=True,
    )
    assert s.ven_signing_files == (ven.cert_file, ven.key_file)  # the TLS pair signs
    assert s.verifies_vtn_signatures
    s = load_settings(
        **tls,
        ven_sign_messages=True,
        ven_signing_cert_file=vtn.cert_file,
        ven_signing_key_file=vtn.key_file,
        vtn_signing_ca_file=ca_file,
        vtn_signatures_required=True,
    )
    assert s.ven_signing_files == (vtn.cert_file, vtn.key_file)  # a pair of its own
    plain = load_settings(**tls)
    assert not plain.ven_sign_messages
    assert not plain.verifies_vtn_signatures


def test_signing_asked_for_without_a_key_is_refused():
    with pytest.raises(SettingsError, match="ven_sign_messages needs a signing key"):
        load_settings(vtn_url="http://127.0.0.1:8081/x", ven_sign_messages=True)


def test_half_a_signing_pair_is_refused(pki, tls):
    _, vtn, _ = pki
    with pytest.raises(SettingsError, match="ven_signing_cert_file and ven_signing_key_file go"):
        load_settings(**tls, ven_sign_messages=True, ven_signing_cert_file=vtn.cert_file)


def test_a_signing_pair_without_the_switch_is_refused(pki, tls):
    _, vtn, _ = pki
    with pytest.raises(SettingsError, match="ven_sign_messages is false"):
        load_settings(**tls, ven_signing_cert_file=vtn.cert_file, ven_signing_key_file=vtn.key_file)


def test_signing_files_that_do_not_exist_are_refused_by_name(pki, tls, tmp_path):
    _, vtn, _ = pki
    with pytest.raises(SettingsError, match="ven_signing_key_file: Path does not point to a file"):
        load_settings(
            **tls,
            ven_sign_messages=True,
            ven_signing_cert_file=vtn.cert_file,
            ven_signing_key_file=tmp_path / "missing.key",
        )
    with pytest.raises(SettingsError, match="vtn_signing_cert_file: Path does not point"):
        load_settings(**tls, vtn_signing_cert_file=tmp_path / "missing.pem")
    with pytest.raises(SettingsError, match="vtn_signing_ca_file: Path does not point"):
        load_settings(**tls, vtn_signing_ca_file=tmp_path / "missing.pem")


def test_a_key_that_cannot_sign_is_refused_by_name(pki, tls, tmp_path):
    _, vtn, ven = pki
    with pytest.raises(SettingsError, match="is not the key of the certificate"):
        load_settings(
            **tls,
            ven_sign_messages=True,
            ven_signing_cert_file=vtn.cert_file,
            ven_signing_key_file=ven.key_file,
        )
    key = serialization.load_pem_private_key(ven.key_pem, password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(
        SettingsError,
        match=r"ven_signing_cert_file, ven_signing_key_file: .*not an unencrypted PEM private key",
    ):
        load_settings(
            **tls,
            ven_sign_messages=True,
            ven_signing_cert_file=ven.cert_file,
            ven_signing_key_file=encrypted,
        )
    # signing with the TLS pair names the TLS settings
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    with pytest.raises(SettingsError, match=r"ven_cert_file, ven_key_file \(signing with the TLS"):
        load_settings(**{**tls, "ven_cert_file": empty}, ven_sign_messages=True)


def test_requiring_signatures_with_nothing_to_verify_them_is_refused(tls):
    with pytest.raises(
        SettingsError, match=r"vtn_signatures_required needs .*vtn_signing_cert_file"
    ):
        load_settings(**tls, ven_sign_messages=True, vtn_signatures_required=True)


def test_a_vtn_certificate_that_is_not_one_or_disagrees_with_its_pin_is_refused(pki, tls, tmp_path):
    _, vtn, ven = pki
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    for name in ("vtn_signing_cert_file", "vtn_signing_ca_file"):
        with pytest.raises(SettingsError, match=rf"{name}: .* holds no PEM certificate"):
            load_settings(**tls, **{name: junk})
    with pytest.raises(SettingsError, match=r"vtn_signing_fingerprint: .* has the fingerprint"):
        load_settings(
            **tls,
            vtn_signing_cert_file=vtn.cert_file,
            vtn_signing_fingerprint=fingerprint_pem(ven.cert_pem),
        )
    with pytest.raises(SettingsError, match="vtn_signing_fingerprint: must be an OpenADR"):
        load_settings(**tls, vtn_signing_fingerprint="AB:CD")


def test_the_profile_comes_from_the_environment_too(pki, tls, monkeypatch):
    _, vtn, _ = pki
    monkeypatch.setenv("HEMS_VEN_SIGN_MESSAGES", "true")
    monkeypatch.setenv("HEMS_VTN_SIGNATURES_REQUIRED", "true")
    with pytest.raises(SettingsError, match="vtn_signatures_required needs"):
        load_settings(**tls)
    monkeypatch.setenv("HEMS_VTN_SIGNING_CERT_FILE", str(vtn.cert_file))
    s = load_settings(**tls)
    assert s.ven_sign_messages
    assert s.vtn_signatures_required


def test_hems_run_refuses_a_half_configured_profile_in_one_line(tmp_path):
    """What an operator sees: exit 2 and the setting named, no traceback, nothing started."""
    from typer.testing import CliRunner

    from hems.cli import app

    config = tmp_path / "hems.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        'vtn_url = "http://127.0.0.1:8081/OpenADR2/Simple/2.0b"\n'
        "ven_sign_messages = true\n"
    )
    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "ven_sign_messages needs a signing key" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "state").exists()
