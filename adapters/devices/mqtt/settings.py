"""How the CEM reaches its MQTT broker."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from adapters.devices.mqtt.topics import DEFAULT_PREFIX, check_id


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """The broker and the CEM's credentials on it.

    Attributes:
        host, port: the broker (8883 is MQTT over TLS).
        home: the home's id, the second level of every topic.
        username, password: the CEM's credentials (never logged).
        ca_file: the CA that signed the broker's certificate; None: the system's CAs.
        client_cert_file, client_key_file: a client certificate, where the broker wants one.
        tls: False only for a broker on the same host (the password then crosses in clear).
        keepalive_s: MQTT keep-alive; the broker publishes the CEM's last will about 1.5 x
            this after the CEM stops answering.
        reconnect_min_s, reconnect_max_s: the backoff between reconnection attempts.
        connect_timeout_s: how long ``start()`` waits for the first connection.
        prefix: the first topic level; discovery_prefix: Home Assistant's.
    """

    host: str
    port: int
    home: str
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    tls: bool = True
    keepalive_s: int = 30
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    connect_timeout_s: float = 10.0
    prefix: str = DEFAULT_PREFIX
    discovery_prefix: str = "homeassistant"

    def __post_init__(self) -> None:
        check_id("home", self.home)
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, got {self.port}")

    def tls_context(self) -> ssl.SSLContext | None:
        """The client TLS context (TLS 1.2+, the broker's name checked), or None without TLS."""
        if not self.tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.client_cert_file is not None:
            context.load_cert_chain(self.client_cert_file, self.client_key_file)
        return context
