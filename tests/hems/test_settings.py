"""Settings: defaults, a TOML file, HEMS_* variables on top, clear errors."""

from __future__ import annotations

import pytest

from hems.settings import SettingsError, load_settings


def test_defaults_put_sqlite_under_the_data_dir(tmp_path):
    s = load_settings(data_dir=tmp_path)
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
