"""What the CSMS needs to know about the home's chargers and its own socket.

A charger is paired by its OCPP identity (the last segment of the URL it connects to); any
other identity is refused at the WebSocket handshake. Security profiles (OCPP 1.6 security
whitepaper, OCPP 2.0.1 part 2 A00): 1 = HTTP basic auth (``password``) over ws://,
2 = basic auth over TLS (``tls`` without ``client_ca_file``), 3 = TLS with a client
certificate whose common name is the charger's identity (``tls.client_ca_file``). A charger
without a password on a server without TLS is unsecured (profile 0): for a bench only.

The CSMS keeps no password in clear: a charger's settings carry the salted hash of its
password (:func:`hash_password`), against which the password it presents is verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from adapters.devices.credentials import hash_secret, is_secret_hash
from adapters.devices.ws_server import TlsServerSettings as TlsServerSettings

# OCPP 2.0.1 (BasicAuthPassword) allows 16-40 characters; OCPP 1.6's AuthorizationKey is
# 16-20 bytes. The wider 2.0.1 range is accepted for both.
PASSWORD_MIN_CHARS = 16
PASSWORD_MAX_CHARS = 40


def hash_password(password: str) -> str:
    """The salted hash a charger's settings keep of its basic-auth password; ValueError when
    the password does not have 16-40 characters."""
    if not (PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS):
        raise ValueError(
            f"a charger password must have {PASSWORD_MIN_CHARS}-{PASSWORD_MAX_CHARS} characters"
        )
    return hash_secret(password)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerSettings:
    """One paired charger.

    Attributes:
        identity: its OCPP identity (charge point id / station id), as in its URL path.
        password_hash: the salted hash of its basic-auth password (security profiles 1 and 2,
            :func:`hash_password`), else None.
        rate_unit: the unit its charging profiles take, "A" (per phase) or "W".
        phases: phases it charges on (for converting kW to A).
        voltage_v: phase voltage [V] (for converting kW to A).
        max_power_kw: its rated power [kW]: the limit of a boost.
        min_current_a: the lowest current an EV accepts [A] (IEC 61851: 6 A); an
            ampere limit below it is sent as 0 A (pause) rather than a current no car takes.
        connector_id: the connector (1.6) or EVSE (2.0.1) the car uses.
        id_tag: the token a boost starts a transaction with.
    """

    identity: str
    password_hash: str | None = field(default=None, repr=False)
    rate_unit: Literal["A", "W"] = "A"
    phases: int = 1
    voltage_v: float = 230.0
    max_power_kw: float = 7.4
    min_current_a: float = 6.0
    connector_id: int = 1
    id_tag: str = "hems-cem"

    def __post_init__(self) -> None:
        if not self.identity or "/" in self.identity or len(self.identity) > 48:
            raise ValueError(f"charger identity {self.identity!r}: 1-48 characters, no '/'")
        if self.password_hash is not None and not is_secret_hash(self.password_hash):
            raise ValueError(
                f"charger {self.identity}: password_hash is not a hash (use hash_password)"
            )
        if self.rate_unit not in ("A", "W"):
            raise ValueError(f"charger {self.identity}: rate_unit must be 'A' or 'W'")
        if self.phases not in (1, 2, 3):
            raise ValueError(f"charger {self.identity}: phases must be 1, 2 or 3")
        if self.voltage_v <= 0 or self.max_power_kw <= 0 or self.min_current_a < 0:
            raise ValueError(
                f"charger {self.identity}: voltage_v and max_power_kw must be > 0, "
                "min_current_a >= 0"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CsmsSettings:
    """The CSMS's socket and its chargers.

    Attributes:
        host: the address to listen on.
        port: the port (0: any free port, read it from ``Csms.port``).
        chargers: the paired chargers.
        tls: TLS settings (wss://), else plain ws://.
        heartbeat_interval_s: the heartbeat interval given to chargers at boot [s].
        stale_after_s: a charger silent for longer is reported unavailable [s]; more than the
            heartbeat and meter-value intervals.
        response_timeout_s: how long a call to a charger may take [s].
    """

    host: str = "127.0.0.1"
    port: int = 9000
    chargers: tuple[ChargerSettings, ...] = ()
    tls: TlsServerSettings | None = None
    heartbeat_interval_s: int = 60
    stale_after_s: float = 150.0
    response_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        identities = [c.identity for c in self.chargers]
        if len(set(identities)) != len(identities):
            raise ValueError("each charger identity may be paired once")
        if self.heartbeat_interval_s <= 0 or self.stale_after_s <= 0:
            raise ValueError("heartbeat_interval_s and stale_after_s must be > 0")
        if self.response_timeout_s <= 0:
            raise ValueError("response_timeout_s must be > 0")
