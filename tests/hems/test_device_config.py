"""A home's device connections in the settings file (``[devices]``): read from TOML, each bad
value refused by name, and a configuration that does not fit its home refused at start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.devices.credentials import verify_secret
from hems.device_runtime import DeviceConfigError, DeviceRuntime
from hems.domain.connections import (
    HomeDevices,
    ModbusConnection,
    MqttConnection,
    OcppConnection,
    connection_problems,
)
from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec
from hems.domain.home import HomeSpec
from hems.runtime import build_runtime
from hems.settings import SettingsError, load_settings

GOOD = """
[devices.ocpp]
port = 9100

[devices.brokers.home]
host = "127.0.0.1"
port = 1883
home = "home1"
username = "cem"
password = "broker-secret-password"
tls = false

[devices.homes.CEM-0001.devices.EV]
protocol = "ocpp"
identity = "CP-1"
password = "a-long-charger-secret-01"
rate_unit = "W"
phases = 3

[devices.homes.CEM-0001.devices.Battery]
protocol = "modbus"
role = "battery"
host = "192.168.1.40"
unit_id = 3

[devices.homes.CEM-0001.devices."Heat pump"]
protocol = "mqtt"
broker = "home"
device_id = "hp1"
control = "sg_ready"

[devices.homes.CEM-0001.site_meter]
protocol = "modbus"
role = "meter"
host = "192.168.1.41"
meter_map = "sdm630"
"""


def _home(serial: str = "CEM-0001") -> HomeSpec:
    return HomeSpec(
        name="Test home",
        cem_manufacturer="Test",
        cem_serial=serial,
        latitude=51.5,
        longitude=-0.1,
        region="C",
        devices=[
            EvChargerSpec(name="EV", vehicle_capacity_kwh=60),
            BatterySpec(name="Battery", capacity_kwh=10, max_charge_kw=5, max_discharge_kw=4.6),
            HeatPumpSpec(
                name="Heat pump",
                max_power_kw=3,
                heat_loss_kw_per_k=0.15,
                thermal_capacity_kwh_per_k=5,
            ),
        ],
    )


def test_a_homes_devices_are_read_from_the_settings_file(tmp_path):
    path = tmp_path / "hems.toml"
    path.write_text(GOOD)
    s = load_settings(path, state_dir=tmp_path)
    home = s.devices.for_home("CEM-0001")
    ev, battery, heat_pump = (home.devices[n] for n in ("EV", "Battery", "Heat pump"))
    assert (ev.protocol, ev.identity, ev.rate_unit, ev.phases) == ("ocpp", "CP-1", "W", 3)
    assert (battery.protocol, battery.role, battery.port, battery.unit_id) == (
        "modbus",
        "battery",
        502,
        3,
    )
    assert (heat_pump.protocol, heat_pump.control) == ("mqtt", "sg_ready")
    assert home.site_meter is not None
    assert home.site_meter.meter_map == "sdm630"
    assert s.devices.ocpp.port == 9100
    assert s.devices.for_home("OTHER") == HomeDevices()
    # the passwords are secrets: not in the settings' repr
    assert "a-long-charger-secret-01" not in repr(s)
    assert "broker-secret-password" not in repr(s)
    charger = home.devices["EV"]
    assert isinstance(charger, OcppConnection)
    assert charger.password is None  # hashed as the settings loaded: kept only as its hash
    assert charger.password_hash is not None
    assert verify_secret("a-long-charger-secret-01", charger.password_hash)
    assert not verify_secret("a-long-charger-secret-02", charger.password_hash)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('broker = "home"', 'broker = "attic"'), r"broker attic is not in devices.brokers"),
        (('protocol = "ocpp"', 'protocol = "zigbee"'), r"devices.EV.*does not match any"),
        (("unit_id = 3", "unit_id = 300"), r"devices.Battery.modbus.unit_id"),
        (('password = "a-long-charger-secret-01"', 'password = "short"'), r"16-40 characters"),
        (('role = "battery"', 'role = "meter"'), r"a meter is the home's site_meter"),
        (('meter_map = "sdm630"', 'meter_map = "sdm999"'), r"site_meter.modbus.meter_map"),
        (('role = "meter"', 'role = "pv"'), r"site_meter.modbus: meter_map sdm630 is for a meter"),
        (
            (
                'role = "meter"\nhost = "192.168.1.41"\nmeter_map = "sdm630"',
                'role = "pv"\nhost = "x"',
            ),
            r"site_meter: role must be meter, not pv",
        ),
        (("port = 1883", "port = 70000"), r"brokers.home.port"),
        (('host = "192.168.1.40"', 'host = "http://x/"'), r"devices.Battery.modbus.host"),
    ],
)
def test_a_bad_connection_is_refused_by_name(tmp_path, change, message):
    path = tmp_path / "hems.toml"
    old, new = change
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(path, state_dir=tmp_path)
    assert "a-long-charger-secret-01" not in str(caught.value)


def test_a_charger_paired_to_two_homes_is_refused(tmp_path):
    path = tmp_path / "hems.toml"
    path.write_text(
        GOOD + '\n[devices.homes.CEM-0002.devices.Car]\nprotocol = "ocpp"\nidentity = "CP-1"\n'
    )
    with pytest.raises(SettingsError, match=r"charger identity CP-1 is paired twice"):
        load_settings(path, state_dir=tmp_path)


def test_connections_that_do_not_fit_the_home_are_named():
    connections = HomeDevices.model_validate(
        {
            "devices": {
                "EV": {"protocol": "modbus", "role": "battery", "host": "10.0.0.2"},
                "Battery": {"protocol": "ocpp", "identity": "CP-9"},
                "Garage": {"protocol": "ocpp", "identity": "CP-8"},
                "Heat pump": {"protocol": "mqtt", "broker": "b", "device_id": "hp"},
            }
        }
    )
    problems = connection_problems(_home().devices, connections)
    assert problems == [
        "device 'EV' is a ev_charger: modbus battery cannot drive it",
        "device 'Battery' is a battery: ocpp cannot drive it",
        "device 'Garage' is not one of the home's devices (Battery, EV, Heat pump)",
    ]
    sg_on_an_ev = HomeDevices.model_validate(
        {
            "devices": {
                "EV": {"protocol": "mqtt", "broker": "b", "device_id": "ev", "control": "sg_ready"}
            }
        }
    )
    assert connection_problems(_home().devices, sg_on_an_ev) == [
        "device 'EV': SG-Ready is for a heat pump"
    ]


def test_the_service_does_not_start_with_devices_that_do_not_fit_its_home(tmp_path):
    path = tmp_path / "hems.toml"
    path.write_text(GOOD.replace('devices."Heat pump"]', "devices.Boiler]", 1))
    settings = load_settings(path, state_dir=tmp_path, planner_processes=0)
    runtime = build_runtime(settings.model_copy(update={"devices": type(settings.devices)()}))
    runtime.store.create_home(_home(), datetime(2026, 12, 1, tzinfo=UTC), "test")
    runtime.service.close()
    with pytest.raises(DeviceConfigError, match=r"CEM-0001.*'Boiler' is not one of the home's"):
        build_runtime(settings)


def test_the_drivers_are_built_per_protocol(tmp_path):
    path = tmp_path / "hems.toml"
    path.write_text(GOOD)
    devices = DeviceRuntime(load_settings(path, state_dir=tmp_path).devices)
    devices.attach(4, _home())
    drivers = devices.drivers_for(4)
    assert {n: type(d).__name__ for n, d in drivers.items()} == {
        "EV": "OcppChargerDriver",
        "Battery": "SunSpecBatteryDriver",
        "Heat pump": "MqttDeviceDriver",
    }
    assert type(devices.meter_for(4)).__name__ == "ModbusEnergyMeterDriver"
    assert devices.csms is not None
    charger = devices.csms.charger("CP-1")
    assert (charger.rate_unit, charger.phases, charger.max_power_kw) == ("W", 3, 7.4)
    assert charger.password_hash is not None  # hashed as the settings loaded
    assert verify_secret("a-long-charger-secret-01", charger.password_hash)
    assert drivers["Heat pump"].sg_ready is not None  # type: ignore[attr-defined]
    assert devices.drivers_for(5) == {}
    assert devices.meter_for(5) is None


def test_a_site_meter_without_a_protocol_is_modbus_and_one_over_mqtt_is_read(tmp_path):
    path = tmp_path / "hems.toml"
    assert 'protocol = "modbus"\nrole = "meter"' in GOOD
    path.write_text(GOOD.replace('protocol = "modbus"\nrole = "meter"', 'role = "meter"', 1))
    meter = load_settings(path, state_dir=tmp_path).devices.homes["CEM-0001"].site_meter
    assert isinstance(meter, ModbusConnection)
    mqtt = (
        '[devices.homes.CEM-0001.site_meter]\nprotocol = "mqtt"\nbroker = "home"\n'
        'device_id = "cad1"\n'
    )
    start = GOOD.index("[devices.homes.CEM-0001.site_meter]")
    path.write_text(GOOD[:start] + mqtt)
    meter = load_settings(path, state_dir=tmp_path).devices.homes["CEM-0001"].site_meter
    assert isinstance(meter, MqttConnection)
    assert meter.device_id == "cad1"
    path.write_text(GOOD[:start] + mqtt.replace('"home"', '"attic"'))
    with pytest.raises(
        SettingsError, match=r"site meter\): broker attic is not in devices.brokers"
    ):
        load_settings(path, state_dir=tmp_path)
