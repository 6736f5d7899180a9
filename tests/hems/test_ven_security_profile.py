"""The service's VENs with the OpenADR security profile from its settings: mutual TLS, every
message signed with the CEM's key, every message from the VTN verified (issue 26, defect 1).

The end-to-end tests run openleadr's VTN (the independent peer) on 127.0.0.1 over mutual TLS,
signing its messages and verifying every message after registration against the VEN's
certificate (so an unsigned VEN gets nowhere), and the service's VENs as ``hems run`` builds
them (``build_runtime``, ``runtime.vens.start``)."""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from aiohttp import web
from openleadr.messaging import create_message
from openleadr.service.vtn_service import VTNService

from adapters.openadr import codec
from adapters.openadr.messages import Poll
from adapters.openadr.signatures import SecurityError, XmlVerifier
from adapters.openadr.tls import fingerprint_pem
from hems.clock import ManualClock
from hems.runtime import build_runtime
from hems.settings import Settings
from tests.adapters.openadr.certs import Party, make_pki
from tests.adapters.openadr.vtn_peer import (
    VEN_ID,
    dispatch_event,
    free_port,
    make_pinned_vtn,
)
from tests.adapters.openadr.waiting import until

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]

VTN_PATH = "/OpenADR2/Simple/2.0b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _settings(tmp_path, port: int, ca_file, vtn: Party, ven: Party, **profile: object) -> Settings:
    return Settings(
        state_dir=tmp_path,
        demo=True,
        planner_processes=0,
        vtn_url=f"https://127.0.0.1:{port}{VTN_PATH}",
        ven_cert_file=ven.cert_file,
        ven_key_file=ven.key_file,
        vtn_ca_file=ca_file,
        **profile,  # type: ignore[arg-type]
    )


def test_the_vens_sign_and_verify_as_the_settings_say(tmp_path, pki):
    ca_file, vtn, ven = pki
    settings = _settings(
        tmp_path,
        8443,
        ca_file,
        vtn,
        ven,
        ven_sign_messages=True,
        vtn_signing_cert_file=vtn.cert_file,
        vtn_signatures_required=True,
    )
    runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=2)
    assert runtime.vens is not None
    (transport,) = runtime.vens._transports.values()
    assert transport.signer is not None
    assert transport.verifier is not None
    assert isinstance(transport.verifier, XmlVerifier)
    assert transport.verifier.required
    assert transport.verifier.fingerprint == fingerprint_pem(vtn.cert_pem)
    # signed with the TLS pair: what it signs verifies against the CEM's certificate only
    signed = codec.render(Poll(ven_id="v"), signer=transport.signer)
    pinned_ven = XmlVerifier(fingerprint=fingerprint_pem(ven.cert_pem))
    assert isinstance(codec.parse(signed, verifier=pinned_ven), Poll)
    with pytest.raises(SecurityError):  # and not as the VTN's
        codec.parse(
            codec.render(Poll(ven_id="v"), signer=transport.signer), verifier=transport.verifier
        )


def test_without_a_profile_nothing_is_signed_or_verified(tmp_path, pki):
    ca_file, vtn, ven = pki
    runtime = build_runtime(
        _settings(tmp_path, 8443, ca_file, vtn, ven), ManualClock(datetime.now(UTC)), seed=2
    )
    assert runtime.vens is not None
    (transport,) = runtime.vens._transports.values()
    assert (transport.signer, transport.verifier) == (None, None)


def test_a_ca_verifies_signatures_without_requiring_them(tmp_path, pki):
    ca_file, vtn, ven = pki
    settings = _settings(tmp_path, 8443, ca_file, vtn, ven, vtn_signing_ca_file=ca_file)
    runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=2)
    assert runtime.vens is not None
    (transport,) = runtime.vens._transports.values()
    assert transport.signer is None
    assert isinstance(transport.verifier, XmlVerifier)
    assert (transport.verifier.ca_pem_file, transport.verifier.required) == (str(ca_file), False)


@pytest.fixture
def _openleadr_class_state(caplog) -> Iterator[None]:
    """OpenADRServer keeps its lookups and signing key on the VTNService class: put them back."""
    caplog.set_level(logging.CRITICAL, logger="openleadr")
    saved = {k: VTNService.__dict__[k] for k in ("_create_message",) if k in VTNService.__dict__}
    yield
    for name in ("ven_lookup", "fingerprint_lookup", "_create_message"):
        if name in VTNService.__dict__:
            delattr(VTNService, name)
    for name, value in saved.items():
        setattr(VTNService, name, value)


def _signing_vtn(port: int, ca_file, vtn: Party, ven: Party, signed: bool = True):  # type: ignore[no-untyped-def]
    """openleadr's VTN over mutual TLS (client certificates from the CA, the connection's
    checked against the VEN's fingerprint). ``signed``: its messages signed with the VTN's key,
    and every VEN message after registration must be signed by the VEN's certificate. Records
    when each event id first leaves the VTN (``delivered``)."""
    server, peer = make_pinned_vtn(port, vtn=vtn, ven=ven, ca_file=ca_file, signed=signed)
    delivered: dict[str, float] = {}

    @web.middleware
    async def stamp(request: web.Request, handler):  # type: ignore[no-untyped-def]
        response = await handler(request)
        text = getattr(response, "text", None) or ""
        if "oadrDistributeEvent" in text:
            for event_id in re.findall(r"<ei:eventID>([^<]+)</ei:eventID>", text):
                delivered.setdefault(event_id, time.perf_counter())
        return response

    server.app.middlewares.append(stamp)
    return server, peer, delivered


def _full_profile(tmp_path, port: int, pki) -> Settings:  # type: ignore[no-untyped-def]
    ca_file, vtn, ven = pki
    return _settings(
        tmp_path,
        port,
        ca_file,
        vtn,
        ven,
        ven_sign_messages=True,
        vtn_signing_cert_file=vtn.cert_file,
        vtn_signatures_required=True,
    )


async def _consenting_runtime(settings: Settings):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    runtime = build_runtime(settings, ManualClock(now), seed=2)
    service = runtime.service
    home_id = next(iter(runtime.simulations))
    prefs = service.store.preferences(home_id)
    service.store.set_preferences(
        home_id, prefs.model_copy(update={"dsr_consent": True}), now, "test"
    )
    await service.cycle_all()  # device states for telemetry, a first plan
    return runtime, home_id


@pytest.mark.usefixtures("_openleadr_class_state")
@pytest.mark.parametrize("trust", ["pin", "ca", ""], ids=["signed-pin", "signed-ca", "mtls-only"])
def test_hems_runs_the_full_profile_against_a_signing_vtn(tmp_path, pki, trust):
    """Registration, events received and opted in, telemetry delivered: mutual TLS and
    signatures both ways, the VTN's verified by its pinned certificate (``signed-pin``: our
    strict verifier) or by the CA it chains to (``signed-ca``: signxml). Before the service
    could sign, openleadr's VTN refused every message after registration, so no event arrived
    and no telemetry was delivered. ``mtls-only`` is
    the same flow without signatures, the baseline for the figures printed with ``-s``:
    event -> answer as the VTN sees it (includes waiting for the VEN's next poll, 1 s period)
    and as the VEN spends it (the event delivered -> its answer received)."""
    asyncio.run(_full_flow(tmp_path, pki, trust))


async def _full_flow(tmp_path, pki, trust: str) -> None:  # type: ignore[no-untyped-def]
    ca_file, vtn, ven = pki
    port = free_port()
    server, peer, delivered = _signing_vtn(port, ca_file, vtn, ven, signed=bool(trust))
    await server.run()
    settings = _settings(tmp_path, port, ca_file, vtn, ven)
    if trust == "pin":
        settings = _full_profile(tmp_path, port, pki)
    elif trust == "ca":
        settings = _settings(
            tmp_path,
            port,
            ca_file,
            vtn,
            ven,
            ven_sign_messages=True,
            vtn_signing_ca_file=ca_file,
            vtn_signatures_required=True,
        )
    runtime, home_id = await _consenting_runtime(settings)
    answered: dict[str, float] = {}

    def on_opt(ven_id: str, event_id: str, opt_type: str) -> None:
        answered[event_id] = time.perf_counter()
        peer.opts.append((event_id, opt_type))

    assert runtime.vens is not None
    events = [f"e-{n}" for n in range(6)]
    try:
        runtime.vens.start(tick_s=0.2)
        await until(lambda: runtime.vens.vens[home_id].ven_id == VEN_ID, 15)
        # the VTN read the CEM's client certificate from the TLS connection
        assert peer.registrations[0]["fingerprint"] == fingerprint_pem(ven.cert_pem)
        added: dict[str, float] = {}
        start = datetime.now(UTC) + timedelta(minutes=5)
        for n, event_id in enumerate(events):
            await asyncio.sleep(0.17 * n)  # events at varied phases of the poll period
            added[event_id] = time.perf_counter()
            server.add_raw_event(
                VEN_ID,
                dispatch_event(peer, event_id, start, (1.5,), "setpoint"),
                callback=on_opt,
            )
            await until(lambda event_id=event_id: event_id in answered, 20)
        assert sorted(peer.opts) == [(event_id, "optIn") for event_id in events]
        stored = {e.event_id: e for e in runtime.service.store.events(home_id)}
        assert {stored[event_id].response for event_id in events} == {"optIn"}
        assert stored["e-0"].value_kw == 1.5
        await until(lambda: "ev" in peer.values and "site" in peer.values, 20)
        ev_power = runtime.service.controller(home_id).states["EV"].power_kw
        assert {v for _, v in peer.values["ev"]} == {ev_power}
        to_answer = [answered[e] - added[e] for e in events]
        in_ven = [answered[e] - delivered[e] for e in events]
        print(
            f"\n{trust or 'mTLS only'}: event added -> answer median "
            f"{statistics.median(to_answer):.3f} s; delivered -> answer median "
            f"{statistics.median(in_ven):.3f} s ({', '.join(f'{t:.3f}' for t in in_ven)})"
        )
    finally:
        await runtime.vens.stop()
        await server.stop()


@pytest.mark.usefixtures("_openleadr_class_state")
def test_a_vtn_message_signed_with_a_wrong_key_is_refused(tmp_path, pki, caplog):
    """After registering, the VTN signs with a key that is not the pinned VTN certificate's:
    its answers are refused (logged) and its event is not stored; signed with the right key
    again, the event arrives (so the refusal is the signature's)."""
    asyncio.run(_wrong_key(tmp_path, pki, caplog))


async def _wrong_key(tmp_path, pki, caplog) -> None:  # type: ignore[no-untyped-def]
    ca_file, vtn, ven = pki
    (tmp_path / "rogue").mkdir()
    _, rogue, _ = make_pki(tmp_path / "rogue")  # another CA's party: not the pinned VTN
    port = free_port()
    server, peer, _ = _signing_vtn(port, ca_file, vtn, ven)
    await server.run()
    state = tmp_path / "state"
    state.mkdir()
    runtime, home_id = await _consenting_runtime(_full_profile(state, port, pki))
    signs_right = VTNService._create_message
    assert runtime.vens is not None
    try:
        runtime.vens.start(tick_s=0.2)
        await until(lambda: runtime.vens.vens[home_id].ven_id == VEN_ID, 15)
        with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
            VTNService._create_message = partial(  # type: ignore[method-assign]
                create_message, cert=rogue.cert_pem, key=rogue.key_pem, passphrase=None
            )
            start = datetime.now(UTC) + timedelta(minutes=5)
            server.add_raw_event(
                VEN_ID,
                dispatch_event(peer, "forged", start, (1.0,), "setpoint"),
                callback=lambda ven_id, event_id, opt_type: peer.opts.append((event_id, opt_type)),
            )
            expected = f"signed by {fingerprint_pem(rogue.cert_pem)}"
            await until(lambda: caplog.text.count(expected) >= 2, 15)
            assert runtime.service.store.events(home_id) == []
            assert peer.opts == []
        VTNService._create_message = signs_right  # type: ignore[method-assign]
        await until(lambda: peer.opts == [("forged", "optIn")], 20)
        assert [e.event_id for e in runtime.service.store.events(home_id)] == ["forged"]
    finally:
        VTNService._create_message = signs_right  # type: ignore[method-assign]
        await runtime.vens.stop()
        await server.stop()
