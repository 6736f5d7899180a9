"""Push mode in the service, end to end over mutual TLS: a home switched to push mode
(``PUT /homes/{id}/ven-mode``) re-registers with oadrHttpPullModel false and the service's push
endpoint as its transport address; the VTN's pushes are answered there (an event reaches the
home's plan and is opted in); the endpoint requires a client certificate from the DSRSP's CA
and compares it with the VTN's pinned fingerprint on each push (each answer closes its
connection). openleadr's VTN cannot push (0.5.36 has no push client), so the peer is
tests/adapters/openadr/push_vtn.py; the start-up checks are in tests/hems/test_settings.py."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import Target
from adapters.openadr.tls import fingerprint_pem, server_context
from hems.clock import ManualClock
from hems.runtime import build_runtime
from hems.settings import Settings
from hems.storage.enrolments import VenMode
from hems.usecases import enrolment
from tests.adapters.openadr.certs import make_pki
from tests.adapters.openadr.push_vtn import VEN_ID, VTN_ID, PushingVtn, serving
from tests.adapters.openadr.samples import dispatch_event
from tests.adapters.openadr.vtn_peer import free_port
from tests.adapters.openadr.waiting import until


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _event(event_id: str):
    start = datetime.now(UTC) + timedelta(minutes=5)
    event = dispatch_event(event_id=event_id, values_kw=(2.0,), start=start)
    return dataclasses.replace(event, target=Target(ven_ids=(VEN_ID,)))


def _client(ca_file, party) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file))
    context.load_cert_chain(party.cert_file, party.key_file)
    return context


def test_a_push_mode_home_takes_the_vtns_pushes_over_mutual_tls(tmp_path, pki, caplog):
    asyncio.run(_push_flow(tmp_path, pki, caplog))


async def _push_flow(tmp_path, pki, caplog) -> None:
    ca_file, vtn_party, ven_party = pki
    vtn_port, push_port = free_port(), free_port()
    vtn = PushingVtn(client_ssl=_client(ca_file, vtn_party))
    settings = Settings(
        state_dir=tmp_path,
        demo=True,
        planner_processes=0,
        vtn_url=f"https://127.0.0.1:{vtn_port}",
        ven_cert_file=ven_party.cert_file,
        ven_key_file=ven_party.key_file,
        vtn_ca_file=ca_file,
        vtn_fingerprint=fingerprint_pem(vtn_party.cert_pem),
        ven_push_port=push_port,
        ven_push_cert_file=ven_party.cert_file,
        ven_push_key_file=ven_party.key_file,
    )
    vtn_ssl = server_context(vtn_party.cert_file, vtn_party.key_file, ca_file)
    async with serving(vtn.app(), vtn_port, vtn_ssl):
        runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=2)
        service, fleet = runtime.service, runtime.vens
        assert fleet is not None
        home_id = next(iter(runtime.simulations))
        await service.cycle_all()
        fleet.start(tick_s=0.2)
        try:
            await until(lambda: len(vtn.registrations) == 1)
            assert vtn.registrations[0].http_pull_model is True
            vtn.events = (_event("ev-0"),)  # what the new registration's oadrRequestEvent gets
            enrolment.set_ven_mode(service, home_id, VenMode.PUSH, "admin")
            await until(lambda: len(vtn.registrations) == 2)
            registration = vtn.registrations[1]
            assert registration.http_pull_model is False
            address = f"https://127.0.0.1:{push_port}/homes/{home_id}"
            assert registration.transport_address == address
            # registered, and the answer to its oadrRequestEvent read: a push cannot be
            # overtaken by it
            await until(lambda: fleet.vens[home_id].events.get("ev-0") is not None)
            events = (_event("ev-0"), _event("push-1"))
            answer = await vtn.push(
                "EiEvent", m.DistributeEvent(request_id="d-1", vtn_id=VTN_ID, events=events)
            )
            assert isinstance(answer, m.CreatedEvent), answer
            (response,) = answer.event_responses
            assert (response.event_id, response.opt_type) == ("push-1", "optIn")  # consented
            assert "push-1" in {e.event_id for e in service.store.events(home_id)}
            assert service.store.latest_plan(home_id).trigger.startswith("DSR event push-1")

            await _only_the_vtn_may_push(address, ca_file, vtn_party, ven_party, caplog)
        finally:
            await fleet.stop()
            await vtn.aclose()


async def _only_the_vtn_may_push(address, ca_file, vtn_party, ven_party, caplog) -> None:
    """Each answer closes its connection (so each push's handshake checks the pin); another
    certificate from the same CA, or none, is refused before any HTTP; a home not in push
    mode has no endpoint."""
    body = codec.render(m.Poll(ven_id=VEN_ID))
    async with httpx.AsyncClient(verify=_client(ca_file, vtn_party)) as client:
        reply = await client.post(f"{address}/OadrPoll", content=body)
        assert reply.status_code == 200
        assert reply.headers["connection"] == "close"
        other = address.rsplit("/", 1)[0] + "/999/EiEvent"
        assert (await client.post(other, content=body)).status_code == 404
    caplog.set_level(logging.WARNING, logger="adapters.openadr.tls")
    for context in (_client(ca_file, ven_party), ssl.create_default_context(cafile=str(ca_file))):
        async with httpx.AsyncClient(verify=context) as rogue:
            with pytest.raises(httpx.TransportError):
                await rogue.post(f"{address}/EiEvent", content=body)
    assert "refused the VTN's push connection" in caplog.text
