"""Settings: defaults, a TOML file, HEMS_* variables on top, clear errors."""

from __future__ import annotations

import pytest

from hems.settings import SettingsError, load_settings


def test_defaults_put_sqlite_under_the_state_dir(tmp_path):
    s = load_settings(state_dir=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'hems.sqlite3'}"
    assert s.ev_random_delay_max_s == 600
    assert s.horizon_steps == 96


def test_the_environment_overrides_the_file(tmp_path, monkeypatch):
    path = tmp_path / "hems.toml"
    path.write_text("api_port = 9000\nslot_minutes = 15\nev_random_delay_max_s = 900\n")
    monkeypatch.setenv("HEMS_API_PORT", "9100")
    s = load_settings(path)
    assert s.api_port == 9100
    assert s.slot_minutes == 15
    assert s.ev_random_delay_max_s == 900


def test_a_delay_beyond_the_regulations_limit_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("HEMS_EV_RANDOM_DELAY_MAX_S", "3600")
    with pytest.raises(SettingsError, match="ev_random_delay_max_s"):
        load_settings()


def test_an_unknown_setting_or_database_is_refused(tmp_path):
    path = tmp_path / "hems.toml"
    path.write_text("api_prot = 9000\n")
    with pytest.raises(SettingsError, match="api_prot"):
        load_settings(path)
    with pytest.raises(SettingsError, match="database_url"):
        load_settings(database_url="mysql://x")
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_ramp_rates_are_validated_by_name(monkeypatch):
    assert load_settings().ev_ramp_kw_per_min == 2.0
    assert load_settings(heat_pump_ramp_kw_per_min=0).heat_pump_ramp_kw_per_min == 0.0  # no limit
    with pytest.raises(SettingsError, match="battery_ramp_kw_per_min"):
        load_settings(battery_ramp_kw_per_min=-1)
    monkeypatch.setenv("HEMS_EV_RAMP_KW_PER_MIN", "0.01")
    with pytest.raises(SettingsError, match=r"ev_ramp_kw_per_min.*0\.1 kW/min"):
        load_settings()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e6"])
def test_a_float_setting_must_be_finite_and_in_range(monkeypatch, value):
    monkeypatch.setenv("HEMS_DRIFT_THRESHOLD_KW", value)
    with pytest.raises(SettingsError, match="drift_threshold_kw"):
        load_settings()


def test_every_float_setting_refuses_infinity():
    from hems.settings import Settings

    floats = [n for n, f in Settings.model_fields.items() if f.annotation is float]
    assert "drift_threshold_kw" in floats
    for name in floats:
        with pytest.raises(SettingsError, match=name):
            load_settings(**{name: float("inf")})


@pytest.mark.parametrize("url", ["ftp://x", "x", "http://", "file:///etc/passwd"])
def test_the_vtn_url_must_be_http_or_https_with_a_host(url):
    with pytest.raises(SettingsError, match="vtn_url: must be an http:// or https:// URL"):
        load_settings(vtn_url=url)
    assert load_settings(vtn_url="http://127.0.0.1:8081/OpenADR2/Simple/2.0b").vtn_url


def test_a_sqlite_url_must_name_an_existing_folder(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(SettingsError, match=f"folder {missing} does not exist"):
        load_settings(database_url=f"sqlite:///{missing / 'hems.sqlite3'}")
    assert not (tmp_path / "no").exists()
    assert load_settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    # the state directory is created by the service itself
    state = tmp_path / "state"
    url = f"sqlite:///{state / 'other.sqlite3'}"
    assert load_settings(state_dir=state, database_url=url).resolved_database_url == url


def test_a_state_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(SettingsError, match=r"state_dir: .* is not a directory"):
        load_settings(state_dir=tmp_path / "afile")


def test_invalid_toml_is_a_settings_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("api_port = = 3\n")
    with pytest.raises(SettingsError, match=f"{bad} is not valid TOML"):
        load_settings(bad)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(binary)


@pytest.fixture
def tls_files(tmp_path):
    for name in ("cem.pem", "cem.key", "ca.pem"):
        (tmp_path / name).write_text("")
    return {"ven_cert_file": tmp_path / "cem.pem", "ven_key_file": tmp_path / "cem.key"}


PIN = ":".join(["AB"] * 10)


def test_an_https_vtn_needs_a_ca_or_a_pinned_fingerprint(tmp_path, tls_files):
    """As the VEN's TLS context does (adapters/openadr/tls.py), at start-up, not when the
    VENs start."""
    https = "https://vtn.example/OpenADR2/Simple/2.0b"
    with pytest.raises(SettingsError, match=r"needs vtn_ca_file .*, vtn_fingerprint"):
        load_settings(vtn_url=https, **tls_files)
    assert load_settings(vtn_url=https, vtn_ca_file=tmp_path / "ca.pem", **tls_files)
    # the pin is checked on every handshake, so it may stand alone
    assert load_settings(vtn_url=https, vtn_fingerprint=PIN, **tls_files).vtn_fingerprint == PIN
    with pytest.raises(SettingsError, match="vtn_fingerprint: must be an OpenADR fingerprint"):
        load_settings(vtn_url=https, vtn_fingerprint="AB:CD", **tls_files)
    with pytest.raises(SettingsError, match="ven_cert_file"):
        load_settings(
            vtn_url=https, vtn_fingerprint=PIN, **{**tls_files, "ven_cert_file": tmp_path / "no"}
        )


def test_data_dir_is_now_state_dir_and_hems_data_dir_is_the_backtests(
    tmp_path, monkeypatch, caplog
):
    """An analyst's HEMS_DATA_DIR (the backtests' data folder) no longer moves the service's
    database into it; the service says so. The old setting name is refused, naming the new."""
    old = tmp_path / "old.toml"
    old.write_text(f'data_dir = "{tmp_path}"\n')
    with pytest.raises(SettingsError, match="data_dir: renamed state_dir"):
        load_settings(old)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("HEMS_DATA_DIR", str(data))
    monkeypatch.delenv("HEMS_STATE_DIR", raising=False)
    with caplog.at_level("WARNING", logger="hems.settings"):
        s = load_settings()
    assert s.state_dir != data
    assert str(data) not in s.resolved_database_url
    assert "HEMS_DATA_DIR is set but names the backtests' data folder" in caplog.text
    caplog.clear()
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path / "state"))
    with caplog.at_level("WARNING", logger="hems.settings"):
        assert load_settings().state_dir == tmp_path / "state"
    assert caplog.text == ""


def test_the_api_serves_the_network_only_over_tls(tmp_path):
    """Tokens never cross a network in clear: a non-loopback api_host needs the API's own TLS
    or a trusted proxy that terminates it; the certificate and key go together."""
    cert, key = tmp_path / "api.pem", tmp_path / "api.key"
    cert.write_text("")
    key.write_text("")
    assert load_settings(api_host="127.0.0.1").api_scheme == "http"
    assert load_settings(api_host="::1").api_scheme == "http"
    with pytest.raises(SettingsError, match=r"api_host 0\.0\.0\.0 is reachable from the network"):
        load_settings(api_host="0.0.0.0")
    with pytest.raises(SettingsError, match=r"api_host 192\.168\.1\.20 is reachable"):
        load_settings(api_host="192.168.1.20")
    assert load_settings(api_host="0.0.0.0", trusted_proxies=["10.0.0.1"])
    tls = load_settings(api_host="0.0.0.0", api_tls_cert_file=cert, api_tls_key_file=key)
    assert tls.api_scheme == "https"
    with pytest.raises(SettingsError, match="go together"):
        load_settings(api_tls_cert_file=cert)
