"""The adapters' settings and drivers for the domain's connections
(:mod:`hems.domain.connections`): what :mod:`hems.device_runtime` builds each home's devices
from. Secrets go over as they are kept: a charger's password and an RM's token as their hashes,
a broker's password (which the CEM sends) in clear."""

from __future__ import annotations

from adapters.devices import s2
from adapters.devices.mqtt import BrokerSettings
from adapters.devices.ocpp import ChargerSettings, CsmsSettings, TlsServerSettings
from adapters.devices.sunspec import METER_MAPS, ModbusEnergyMeterDriver, SunSpecMeterDriver
from hems.domain.connections import (
    CsmsServer,
    ModbusConnection,
    MqttBroker,
    OcppConnection,
    S2Connection,
    S2Server,
)
from hems.domain.devices import EvChargerSpec


def csms_settings(server: CsmsServer) -> CsmsSettings:
    """The CSMS's socket from the settings (no charger yet: they are paired per home)."""
    tls = None
    if server.tls_cert_file is not None and server.tls_key_file is not None:
        tls = TlsServerSettings(
            cert_file=server.tls_cert_file,
            key_file=server.tls_key_file,
            client_ca_file=server.client_ca_file,
        )
    return CsmsSettings(
        host=server.host,
        port=server.port,
        tls=tls,
        heartbeat_interval_s=server.heartbeat_interval_s,
        stale_after_s=server.stale_after_s,
    )


def broker_settings(broker: MqttBroker) -> BrokerSettings:
    return BrokerSettings(
        host=broker.host,
        port=broker.port,
        home=broker.home,
        username=broker.username,
        password=broker.password.get_secret_value(),
        ca_file=broker.ca_file,
        client_cert_file=broker.client_cert_file,
        client_key_file=broker.client_key_file,
        tls=broker.tls,
        keepalive_s=broker.keepalive_s,
    )


def charger_settings(connection: OcppConnection, spec: EvChargerSpec) -> ChargerSettings:
    """The charger as the CSMS pairs it; its boost power is the spec's maximum."""
    return ChargerSettings(
        identity=connection.identity,
        password_hash=connection.password_hash,
        rate_unit=connection.rate_unit,
        phases=connection.phases,
        voltage_v=connection.voltage_v,
        max_power_kw=spec.max_charge_kw,
        min_current_a=connection.min_current_a,
        connector_id=connection.connector_id,
    )


def meter_driver(name: str, c: ModbusConnection) -> SunSpecMeterDriver | ModbusEnergyMeterDriver:
    """The site meter's driver for its map."""
    if c.meter_map == "sunspec":
        return SunSpecMeterDriver(name, c.host, c.port, unit_id=c.unit_id, timeout_s=c.timeout_s)
    return ModbusEnergyMeterDriver(
        name,
        c.host,
        c.port,
        meter_map=METER_MAPS[c.meter_map],
        unit_id=c.unit_id,
        timeout_s=c.timeout_s,
    )


def s2_settings(server: S2Server) -> s2.CemSettings:
    """The S2 server's socket from the settings (no RM yet: they are paired per home)."""
    tls = None
    if server.tls_cert_file is not None and server.tls_key_file is not None:
        tls = s2.TlsServerSettings(
            cert_file=server.tls_cert_file,
            key_file=server.tls_key_file,
            client_ca_file=server.client_ca_file,
        )
    return s2.CemSettings(
        host=server.host,
        port=server.port,
        tls=tls,
        response_timeout_s=server.response_timeout_s,
        stale_after_s=server.stale_after_s,
    )


def rm_settings(connection: S2Connection) -> s2.ResourceManagerSettings:
    """The resource manager as the S2 server pairs it."""
    return s2.ResourceManagerSettings(
        rm_id=connection.rm_id,
        token_hash=connection.token_hash,
        resource_id=connection.resource_id,
    )
