"""openleadr's OpenADRServer as the VTN (the independent peer), on 127.0.0.1 in the test's loop."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openleadr import OpenADRServer
from openleadr import objects as ol

from adapters.openadr.conformance.pki import Party
from adapters.openadr.tls import fingerprint_pem

VTN_ID = "vtn-peer"
VEN_ID = "ven-under-test"
REGISTRATION_ID = "reg-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PeerLog:
    registrations: list[dict[str, Any]] = field(default_factory=list)
    offered: list[tuple[str | None, str, str | None]] = field(default_factory=list)
    values: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    opts: list[tuple[str, str]] = field(default_factory=list)
    cancelled_registrations: list[dict[str, Any]] = field(default_factory=list)


def make_vtn(
    port: int,
    *,
    report_period: timedelta = timedelta(seconds=2),
    request_reports: bool = True,
    **kwargs: Any,
) -> tuple[OpenADRServer, PeerLog]:
    """openleadr's VTN; it asks for every RealPower point sampled and sent every
    ``report_period`` (for none without ``request_reports``)."""
    peer = PeerLog()
    server = OpenADRServer(
        vtn_id=VTN_ID,
        http_host="127.0.0.1",
        http_port=port,
        requested_poll_freq=timedelta(seconds=1),
        **kwargs,
    )

    async def on_create_party_registration(info: dict[str, Any]) -> tuple[str, str]:
        peer.registrations.append(info)
        return VEN_ID, REGISTRATION_ID

    async def on_register_report(
        ven_id: str,
        resource_id: str | None,
        measurement: str,
        unit: str | None,
        scale: str | None,
        min_sampling_interval: timedelta | None,
        max_sampling_interval: timedelta | None,
    ) -> tuple[Callable[[list[tuple[datetime, float]]], None], timedelta, timedelta] | None:
        peer.offered.append((resource_id, measurement, unit))
        if measurement != "RealPower" or not request_reports:
            return None

        def collect(values: list[tuple[datetime, float]], key: str = str(resource_id)) -> None:
            peer.values.setdefault(key, []).extend(values)

        return collect, report_period, report_period

    async def on_cancel_party_registration(
        payload: dict[str, Any],
    ) -> tuple[str, dict[str, Any]]:
        peer.cancelled_registrations.append(payload)
        return "oadrCanceledPartyRegistration", {
            "registration_id": payload.get("registration_id"),
            "ven_id": payload.get("ven_id"),
        }

    server.add_handler("on_create_party_registration", on_create_party_registration)
    server.add_handler("on_register_report", on_register_report)
    server.add_handler("on_cancel_party_registration", on_cancel_party_registration)
    return server, peer


def make_mtls_vtn(
    port: int,
    *,
    cert_file: Path,
    key_file: Path,
    ca_file: Path,
    ven_lookup: Any,
    signed: bool,
) -> tuple[OpenADRServer, PeerLog]:
    """:func:`make_vtn` over mutual TLS (the VTN's certificate, the CA of the VENs'); with
    ``signed`` it signs its messages with that key and requires the VEN's signatures."""
    signing: dict[str, Any] = {"cert": str(cert_file), "key": str(key_file)} if signed else {}
    return make_vtn(
        port,
        http_cert=str(cert_file),
        http_key=str(key_file),
        http_ca_file=str(ca_file),
        ven_lookup=ven_lookup,
        show_fingerprint=False,
        verify_message_signatures=signed,
        **signing,
    )


def make_pinned_vtn(
    port: int, *, vtn: Party, ven: Party, ca_file: Path, signed: bool
) -> tuple[OpenADRServer, PeerLog]:
    """:func:`make_mtls_vtn` that knows one VEN, :data:`VEN_ID`, pinned to ``ven``'s certificate
    fingerprint; the registration id is known once that VEN has registered."""
    peers: list[PeerLog] = []

    def ven_lookup(ven_id: str) -> dict[str, Any] | None:
        if ven_id != VEN_ID:
            return None
        return {
            "ven_id": VEN_ID,
            "ven_name": "Open CEM:DEMO-0001",
            "fingerprint": fingerprint_pem(ven.cert_pem),
            "registration_id": REGISTRATION_ID if peers[0].registrations else None,
        }

    server, peer = make_mtls_vtn(
        port,
        cert_file=vtn.cert_file,
        key_file=vtn.key_file,
        ca_file=ca_file,
        ven_lookup=ven_lookup,
        signed=signed,
    )
    peers.append(peer)
    return server, peer


def dispatch_event(
    peer: PeerLog, event_id: str, start: datetime, values_kw: tuple[float, ...], signal_type: str
) -> ol.Event:
    """A LOAD_DISPATCH event in kW (real power), 30-minute intervals."""
    intervals = [
        ol.Interval(
            dtstart=start + timedelta(minutes=30 * i),
            duration=timedelta(minutes=30),
            signal_payload=v,
            uid=i,
        )
        for i, v in enumerate(values_kw)
    ]
    return ol.Event(
        event_descriptor=ol.EventDescriptor(
            event_id=event_id,
            modification_number=0,
            market_context="http://dsrsp.example/programme",
            event_status="far",
            created_date_time=start,
        ),
        active_period=ol.ActivePeriod(
            dtstart=start, duration=timedelta(minutes=30 * len(values_kw))
        ),
        event_signals=[
            ol.EventSignal(
                intervals=intervals,
                signal_name="LOAD_DISPATCH",
                signal_type=signal_type,
                signal_id=f"{event_id}-sig",
                measurement=ol.Measurement(
                    name="powerReal",
                    description="RealPower",
                    unit="W",
                    scale="k",
                    power_attributes=ol.PowerAttributes(),
                ),
            )
        ],
        targets=[ol.Target(ven_id=VEN_ID)],
        response_required="always",
    )
