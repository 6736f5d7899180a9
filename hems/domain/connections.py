"""How the CEM reaches a home's real devices (Interface B): one protocol connection per device,
by the name of the device's spec (:mod:`hems.domain.devices`), and the home's site meter.

The description is read from the settings file (``[devices]``, :class:`DeviceSettings`) and
checked twice: on its own when the settings load (a field out of range, a broker that is not
defined, a charger identity paired twice), and against the home it belongs to when the service
starts (:func:`connection_problems`: a device the home does not have, a protocol that cannot
drive that kind of device). Passwords the CEM sends (a broker's) are
:class:`~pydantic.SecretStr`: never shown in a log line, an error or ``repr``. Passwords the
CEM only verifies (a charger's) are hashed as they are read (:class:`OcppConnection`): the
model, the database and the CSMS keep only the salted hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    Discriminator,
    Field,
    FilePath,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)

from adapters.devices.credentials import is_secret_hash
from adapters.devices.ocpp.settings import hash_password
from adapters.devices.s2.settings import hash_token
from hems.domain.base import DomainModel
from hems.domain.devices import DeviceKind, DeviceSpec

HOST_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-:]{0,252}$"
"""A host name, an IPv4 or an IPv6 address (no scheme, no port, no path)."""
TOPIC_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
"""An MQTT topic level the CEM builds (docs/devices.md, MQTT topics)."""
DEVICE_NAME_PATTERN = r"^[A-Za-z0-9 _\-]{1,64}$"
"""A device's name, as in :class:`hems.domain.devices.PvSpec` and the others."""


def _hashed_at_read(data: Any, secret: str, hasher: Callable[[str], str]) -> Any:
    """Replace a secret given in clear (``secret``: a str or SecretStr) by its salted hash
    (``<secret>_hash``, made by ``hasher``, which refuses a secret out of bounds), so no
    model, row or log holds it; a hash given as such is kept."""
    if not isinstance(data, dict) or data.get(secret) is None:
        return data
    if data.get(f"{secret}_hash") is not None:
        raise ValueError(f"give {secret} or {secret}_hash, not both")
    data = dict(data)
    value = data.pop(secret)
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(plain, str):
        raise ValueError(f"{secret} must be a string")
    data[f"{secret}_hash"] = hasher(plain)
    return data


def _a_hash(value: str | None) -> str | None:
    if value is not None and not is_secret_hash(value):
        raise ValueError("not a scrypt hash (give the secret in clear without _hash instead)")
    return value


class OcppConnection(DomainModel):
    """An EV charger that connects to the CEM's CSMS as ``ws[s]://<csms>/<identity>``.

    Attributes:
        identity: its OCPP identity (charge point id), the last segment of its URL.
        password: its basic-auth password in clear (security profiles 1 and 2; 16-40
            characters: OCPP 2.0.1, 1.6 takes 16-20 bytes), as given in the settings file or
            the API: hashed as it is read into ``password_hash``, and None from then on (the
            model, the database and the CSMS keep only the hash: they only verify it).
        password_hash: the salted hash of its password, else none; may be given instead.
        rate_unit: the unit its charging profiles take: "A" per phase or "W".
        phases, voltage_v: for converting kW to A.
        min_current_a: an ampere limit below this is sent as 0 A (a pause) [A].
        connector_id: the connector (1.6) or EVSE (2.0.1) the car uses.
    """

    protocol: Literal["ocpp"] = "ocpp"
    identity: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_.\-:]+$")
    password: SecretStr | None = Field(default=None, min_length=16, max_length=40, exclude=True)
    password_hash: str | None = Field(default=None, repr=False, max_length=256)
    rate_unit: Literal["A", "W"] = "A"
    phases: Literal[1, 2, 3] = 1
    voltage_v: float = Field(default=230.0, gt=0, le=500)
    min_current_a: float = Field(default=6.0, ge=0, le=80)
    connector_id: int = Field(default=1, ge=1, le=16)

    @model_validator(mode="before")
    @classmethod
    def _hash_the_password(cls, data: Any) -> Any:
        return _hashed_at_read(data, "password", hash_password)

    @field_validator("password_hash")
    @classmethod
    def _password_hash(cls, value: str | None) -> str | None:
        return _a_hash(value)


class S2Connection(DomainModel):
    """A battery or heat pump whose S2 resource manager (RM) connects to the CEM's S2 server
    as ``ws[s]://<cem>/<rm_id>`` with its bearer token, driven by fill-rate based control.

    Attributes:
        rm_id: the last segment of the URL the RM connects to.
        token: its bearer token in clear (16-256 characters), as given in the settings file
            or the API: hashed as it is read into ``token_hash`` and None from then on.
        token_hash: the salted hash of its token, else none (no token: unauthenticated, a
            bench only); may be given instead.
        resource_id: the resource its ResourceManagerDetails must name, else any.
    """

    protocol: Literal["s2"] = "s2"
    rm_id: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    token: SecretStr | None = Field(default=None, min_length=16, max_length=256, exclude=True)
    token_hash: str | None = Field(default=None, repr=False, max_length=256)
    resource_id: UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _hash_the_token(cls, data: Any) -> Any:
        return _hashed_at_read(data, "token", hash_token)

    @field_validator("token_hash")
    @classmethod
    def _token_hash(cls, value: str | None) -> str | None:
        return _a_hash(value)


class ModbusConnection(DomainModel):
    """A device on Modbus TCP: a SunSpec battery or PV inverter, or a site meter (SunSpec or
    an Eastron map). Modbus has no authentication: the CEM connects only to this address.

    Attributes:
        role: what the device is to the CEM.
        host, port, unit_id: where it answers.
        meter_map: for a meter, ``sunspec`` (models 201-204) or an Eastron map.
        timeout_s: how long one request may take [s].
        revert_timeout_s: battery and PV: the inverter drops the CEM's limits this long after
            the last write [s] (docs/devices.md, "When the CEM is unreachable").
    """

    protocol: Literal["modbus"] = "modbus"
    role: Literal["battery", "pv", "meter"]
    host: str = Field(pattern=HOST_PATTERN)
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=1, le=247)
    meter_map: Literal["sunspec", "sdm120", "sdm630"] = "sunspec"
    timeout_s: float = Field(default=2.0, gt=0, le=60)
    revert_timeout_s: int = Field(default=300, ge=1, le=65534)

    @model_validator(mode="after")
    def _map_for_a_meter(self) -> ModbusConnection:
        if self.role != "meter" and self.meter_map != "sunspec":
            raise ValueError(f"meter_map {self.meter_map} is for a meter, not a {self.role}")
        return self


class MqttConnection(DomainModel):
    """A device on one of the MQTT brokers in :attr:`DeviceSettings.brokers`.

    Attributes:
        broker: the broker's name in ``[devices.brokers]``.
        device_id: its topic level (``cem/<home>/<device_id>/...``).
        control: ``power`` (setpoints in kW) or ``sg_ready`` (a heat pump that takes only the
            four SG-Ready states, mapped from its spec's rated power).
        stale_after_s, ack_timeout_s, hold_s: see ``MqttDeviceDriver``.
    """

    protocol: Literal["mqtt"] = "mqtt"
    broker: str = Field(pattern=TOPIC_ID_PATTERN)
    device_id: str = Field(pattern=TOPIC_ID_PATTERN)
    control: Literal["power", "sg_ready"] = "power"
    stale_after_s: float = Field(default=120.0, gt=0, le=3600)
    ack_timeout_s: float = Field(default=5.0, gt=0, le=60)
    hold_s: float = Field(default=900.0, gt=0, le=86_400)


DeviceConnection = Annotated[
    OcppConnection | ModbusConnection | MqttConnection | S2Connection,
    Field(discriminator="protocol"),
]


def _meter_protocol(value: Any) -> str:
    """A site meter's protocol; ``modbus`` when not given (the only one before MQTT meters)."""
    if isinstance(value, dict):
        return str(value.get("protocol", "modbus"))
    return str(getattr(value, "protocol", "modbus"))


MeterConnection = Annotated[
    Annotated[ModbusConnection, Tag("modbus")] | Annotated[MqttConnection, Tag("mqtt")],
    Discriminator(_meter_protocol),
]
"""A site meter: Modbus (``role = "meter"``) or an MQTT consumer access device publishing
``cem/<home>/<device_id>/meter`` (its ``stale_after_s`` applies; ``control`` does not)."""


class HomeDevices(DomainModel):
    """One home's connections: ``devices`` by device name, and its site meter."""

    devices: dict[Annotated[str, Field(pattern=DEVICE_NAME_PATTERN)], DeviceConnection] = Field(
        default_factory=dict
    )
    site_meter: MeterConnection | None = None

    @model_validator(mode="after")
    def _meters_in_their_place(self) -> HomeDevices:
        for name, connection in self.devices.items():
            if isinstance(connection, ModbusConnection) and connection.role == "meter":
                raise ValueError(f"device {name}: a meter is the home's site_meter, not a device")
        meter = self.site_meter
        if isinstance(meter, ModbusConnection) and meter.role != "meter":
            raise ValueError(f"site_meter: role must be meter, not {meter.role}")
        return self


class CsmsServer(DomainModel):
    """The CEM's OCPP server (CSMS), shared by every home's chargers.

    Attributes:
        host, port: where it listens (0: a free port, for tests).
        tls_cert_file, tls_key_file: its certificate and key (wss://, security profile 2),
            both or neither.
        client_ca_file: with TLS, the CA of the chargers' client certificates (profile 3).
        heartbeat_interval_s: given to chargers at boot [s].
        stale_after_s: a charger silent this long is reported offline [s].
    """

    host: str = Field(default="127.0.0.1", pattern=HOST_PATTERN)
    port: int = Field(default=9000, ge=0, le=65535)
    tls_cert_file: FilePath | None = None
    tls_key_file: FilePath | None = None
    client_ca_file: FilePath | None = None
    heartbeat_interval_s: int = Field(default=60, ge=1, le=3600)
    stale_after_s: float = Field(default=150.0, gt=0, le=7200)

    @model_validator(mode="after")
    def _tls_pair(self) -> CsmsServer:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together (both or none)")
        if self.client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("client_ca_file needs tls_cert_file and tls_key_file (TLS)")
        return self


class S2Server(DomainModel):
    """The CEM's S2 WebSocket server, shared by every home's resource managers.

    Attributes:
        host, port: where it listens (0: a free port, for tests).
        tls_cert_file, tls_key_file: its certificate and key (wss://), both or neither.
        client_ca_file: with TLS, the CA of the RMs' client certificates (common name the
            ``rm_id``).
        response_timeout_s: how long an RM may take to answer a message [s].
        stale_after_s: an RM silent this long is reported offline [s]: more than its
            reporting interval.
    """

    host: str = Field(default="127.0.0.1", pattern=HOST_PATTERN)
    port: int = Field(default=8110, ge=0, le=65535)
    tls_cert_file: FilePath | None = None
    tls_key_file: FilePath | None = None
    client_ca_file: FilePath | None = None
    response_timeout_s: float = Field(default=5.0, gt=0, le=60)
    stale_after_s: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _tls_pair(self) -> S2Server:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together (both or none)")
        if self.client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("client_ca_file needs tls_cert_file and tls_key_file (TLS)")
        return self


class MqttBroker(DomainModel):
    """An MQTT broker and the CEM's credentials on it (``BrokerSettings``)."""

    host: str = Field(pattern=HOST_PATTERN)
    port: int = Field(default=8883, ge=1, le=65535)
    home: str = Field(pattern=TOPIC_ID_PATTERN)
    username: str = Field(min_length=1, max_length=128)
    password: SecretStr = Field(min_length=1, max_length=256)
    ca_file: FilePath | None = None
    client_cert_file: FilePath | None = None
    client_key_file: FilePath | None = None
    tls: bool = True
    keepalive_s: int = Field(default=30, ge=5, le=3600)

    @model_validator(mode="after")
    def _client_pair(self) -> MqttBroker:
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError("client_cert_file and client_key_file go together (both or none)")
        return self


class DeviceSettings(DomainModel):
    """Every home's device connections, by the home's CEM serial, with the shared servers.

    Attributes:
        ocpp: the CSMS the chargers connect to (started only when a charger is configured).
        s2: the S2 server the resource managers connect to (started only when one is).
        brokers: MQTT brokers by a name the devices refer to.
        homes: each home's connections, by its ``cem_serial``.
    """

    ocpp: CsmsServer = Field(default_factory=CsmsServer)
    s2: S2Server = Field(default_factory=S2Server)
    brokers: dict[Annotated[str, Field(pattern=TOPIC_ID_PATTERN)], MqttBroker] = Field(
        default_factory=dict
    )
    homes: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9\-_.]{1,64}$")], HomeDevices] = Field(
        default_factory=dict
    )

    @field_validator("homes")
    @classmethod
    def _one_home_per_charger(cls, homes: dict[str, HomeDevices]) -> dict[str, HomeDevices]:
        seen: dict[tuple[str, str], str] = {}
        for serial, home in homes.items():
            for name, c in home.devices.items():
                if isinstance(c, OcppConnection | S2Connection):
                    key = (
                        ("charger identity", c.identity)
                        if isinstance(c, OcppConnection)
                        else ("S2 rm_id", c.rm_id)
                    )
                    where = f"{serial}.{name}"
                    if key in seen:
                        raise ValueError(
                            f"{key[0]} {key[1]} is paired twice ({seen[key]} and {where})"
                        )
                    seen[key] = where
        return homes

    @model_validator(mode="after")
    def _brokers_defined(self) -> DeviceSettings:
        used: dict[tuple[str, str], str] = {}
        for serial, home in self.homes.items():
            meter = {"(site meter)": home.site_meter} if home.site_meter is not None else {}
            for name, c in {**home.devices, **meter}.items():
                if not isinstance(c, MqttConnection):
                    continue
                if c.broker not in self.brokers:
                    known = ", ".join(sorted(self.brokers)) or "none defined"
                    raise ValueError(
                        f"homes.{serial}.devices.{name}: broker {c.broker} is not in "
                        f"devices.brokers ({known})"
                    )
                key = (c.broker, c.device_id)
                if key in used:
                    raise ValueError(
                        f"MQTT device {c.device_id} on broker {c.broker} is used twice "
                        f"({used[key]} and {serial}.{name})"
                    )
                used[key] = f"{serial}.{name}"
        return self

    @property
    def has_chargers(self) -> bool:
        """Whether any home has an OCPP charger configured (the CSMS then runs)."""
        return any(
            isinstance(c, OcppConnection) for h in self.homes.values() for c in h.devices.values()
        )

    @property
    def has_s2(self) -> bool:
        """Whether any home has an S2 resource manager configured (the S2 server then runs)."""
        return any(
            isinstance(c, S2Connection) for h in self.homes.values() for c in h.devices.values()
        )

    def for_home(self, cem_serial: str) -> HomeDevices:
        """The home's connections (none configured: an empty description)."""
        return self.homes.get(cem_serial, HomeDevices())


_DRIVES = {
    "ocpp": {DeviceKind.EV_CHARGER},
    "battery": {DeviceKind.BATTERY},
    "pv": {DeviceKind.PV},
    "mqtt": set(DeviceKind),
    "s2": {DeviceKind.BATTERY, DeviceKind.HEAT_PUMP},
}
"""Which kinds of device each protocol (or Modbus role) can drive."""


def connection_problems(devices: list[DeviceSpec], connections: HomeDevices) -> list[str]:
    """What in ``connections`` does not fit the home's ``devices``: a name the home has no
    device of, a protocol that cannot drive the device's kind, SG-Ready on anything but a heat
    pump. Empty when it fits."""
    specs = {d.name: d for d in devices}
    problems = []
    for name, c in connections.devices.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            problems.append(f"device {name!r} is not one of the home's devices ({known})")
            continue
        key = c.role if isinstance(c, ModbusConnection) else c.protocol
        if spec.kind not in _DRIVES[key]:
            what = f"modbus {key}" if isinstance(c, ModbusConnection) else key
            problems.append(f"device {name!r} is a {spec.kind.value}: {what} cannot drive it")
        elif (
            isinstance(c, MqttConnection)
            and c.control == "sg_ready"
            and spec.kind is not DeviceKind.HEAT_PUMP
        ):
            problems.append(f"device {name!r}: SG-Ready is for a heat pump")
    return problems


class DeviceRegistration(DomainModel):
    """A device registered through the API (``POST /homes/{id}/devices``): the connection of
    the home's device ``name``, or, with ``spec``, a new device of the home and its connection.

    Attributes:
        name: the device's name in the home.
        spec: what a new device can do (its ``name`` the same); None for a device the home has.
        connection: how the CEM reaches it.
    """

    name: str = Field(pattern=DEVICE_NAME_PATTERN)
    spec: DeviceSpec | None = None
    connection: DeviceConnection

    @model_validator(mode="after")
    def _one_name(self) -> DeviceRegistration:
        if self.spec is not None and self.spec.name != self.name:
            raise ValueError(f"spec.name {self.spec.name!r} is not the device's name {self.name!r}")
        return self
