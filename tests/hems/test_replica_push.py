"""Push mode under replicas, on a real PostgreSQL server (skipped without PostgreSQL unless
HEMS_REQUIRE_POSTGRES=1): two replicas in one loop, each with its own push endpoint over
mutual TLS, two homes in push mode. When replica B takes a home over from replica A (A gives it
back to share the homes), B's VEN registers B's push address; a push the VTN still sends to A
is not applied there: A answers 503 with Retry-After and asks B through the home's lease, B's
VEN fetches the events at B's next lease round and answers them, once. The VTN's retry to B
is not applied a second time (hems/ven_push.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import OperationalError

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import Target
from adapters.openadr.tls import fingerprint_pem, server_context
from hems.clock import ManualClock
from hems.demo import demo_home_spec
from hems.ownership import HomeOwnership
from hems.replica_handover import opt_out_reason, push_missed_reason, split_pushes_missed
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.enrolments import VenMode
from hems.storage.store import Store
from tests.adapters.openadr.certs import make_pki
from tests.adapters.openadr.push_vtn import VEN_ID, VTN_ID, PushingVtn, serving
from tests.adapters.openadr.samples import dispatch_event
from tests.adapters.openadr.vtn_peer import free_port
from tests.adapters.openadr.waiting import until

XML = {"Content-Type": "application/xml"}


def _client(ca_file: Path, party: object) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file))
    context.load_cert_chain(party.cert_file, party.key_file)  # type: ignore[attr-defined]
    return context


def _replica(name: str, url: str, state: Path, pki: tuple, vtn_port: int) -> Runtime:
    ca_file, vtn_party, ven_party = pki
    settings = Settings(
        state_dir=state,
        database_url=url,
        replica_id=name,
        lease_time_s=600.0,  # rounds run when the test says (the first at start)
        lease_renew_s=300.0,
        planner_processes=0,
        horizon_hours=6,
        vtn_url=f"https://127.0.0.1:{vtn_port}",
        ven_cert_file=ven_party.cert_file,
        ven_key_file=ven_party.key_file,
        vtn_ca_file=ca_file,
        vtn_fingerprint=fingerprint_pem(vtn_party.cert_pem),
        ven_push_port=free_port(),
        ven_push_cert_file=ven_party.cert_file,
        ven_push_key_file=ven_party.key_file,
    )
    return build_runtime(settings, ManualClock(datetime.now(UTC)))


def test_a_push_to_the_replica_that_gave_the_home_up_reaches_the_owner_once(tmp_path, postgres_url):
    engine = make_engine(postgres_url)
    upgrade_schema(engine)
    store = Store(engine)
    now = datetime.now(UTC)
    homes = [store.create_home(demo_home_spec(f"PUSH-{i}"), now, "test") for i in range(2)]
    for home in homes:
        store.set_ven_mode(home, VenMode.PUSH, now, "admin")
        consent = store.preferences(home).model_copy(update={"dsr_consent": True})
        store.set_preferences(home, consent, now, "test")
    engine.dispose()
    pki = make_pki(tmp_path / "pki")
    asyncio.run(_takeover_flow(tmp_path, postgres_url, pki, homes))


async def _takeover_flow(tmp_path: Path, url: str, pki: tuple, homes: list[int]) -> None:
    ca_file, vtn_party, _ = pki
    vtn_port = free_port()
    vtn = PushingVtn(client_ssl=_client(ca_file, vtn_party))
    vtn_ssl = server_context(vtn_party.cert_file, vtn_party.key_file, ca_file)
    async with serving(vtn.app(), vtn_port, vtn_ssl):
        a = _replica("ra", url, tmp_path / "a", pki, vtn_port)
        b = _replica("rb", url, tmp_path / "b", pki, vtn_port)
        runtimes = (a, b)
        for r in runtimes:
            assert r.vens is not None
            assert r.ownership is not None
        try:
            a.vens.start(tick_s=0.2)  # type: ignore[union-attr]
            a.ownership.start()  # type: ignore[union-attr]  # alone: claims both homes
            await until(lambda: len(vtn.registrations) == 2, timeout_s=30)
            a_base = a.settings.ven_push_base_url
            assert {r.transport_address for r in vtn.registrations} == {
                f"{a_base}/homes/{h}" for h in homes
            }
            b.vens.start(tick_s=0.2)  # type: ignore[union-attr]
            b.ownership.start()  # type: ignore[union-attr]  # alive: a fair share of one home
            await asyncio.sleep(0.5)
            requests_before = len(vtn.of(m.RequestEvent))
            await a.ownership.lease_round()  # type: ignore[union-attr]  # gives one back
            await b.ownership.lease_round()  # type: ignore[union-attr]  # claims it
            (moved,) = [h for h, (owner, _, _) in a.store.lease_owners().items() if owner == "rb"]
            b_address = f"{b.settings.ven_push_base_url}/homes/{moved}"
            await until(lambda: vtn.registrations[-1].transport_address == b_address, 30)
            # B's VEN registered and asked for the events (none yet)
            await until(lambda: len(vtn.of(m.RequestEvent)) > requests_before, 30)
            await asyncio.sleep(0.5)

            # the VTN pushes an event to A, which no longer runs the home
            event = dataclasses.replace(
                dispatch_event(
                    event_id="moved-1",
                    values_kw=(2.0,),
                    start=datetime.now(UTC) + timedelta(minutes=5),
                ),
                target=Target(ven_ids=(VEN_ID,)),
            )
            vtn.events = (event,)
            body = codec.render(m.DistributeEvent(request_id="d-1", vtn_id=VTN_ID, events=(event,)))
            reply = await vtn.client.post(
                f"{a_base}/homes/{moved}/EiEvent", content=body, headers=XML
            )
            assert reply.status_code == 503, reply.text
            assert reply.headers["retry-after"] == "300"
            assert "not run by this replica" in reply.text
            assert "moved-1" not in {e.event_id for e in a.store.events(moved)}  # not applied

            await b.ownership.lease_round()  # type: ignore[union-attr]  # B fetches it
            await until(lambda: "moved-1" in {e.event_id for e in b.store.events(moved)}, 30)
            answered = [
                r
                for c in vtn.of(m.CreatedEvent)
                for r in c.event_responses  # type: ignore[attr-defined]
                if r.event_id == "moved-1"
            ]
            assert [r.opt_type for r in answered] == ["optIn"]
            plan = b.store.latest_plan(moved)
            assert plan is not None
            assert plan.trigger.startswith("DSR event moved-1")
            plans = b.store.latest_plan_id(moved)

            # the VTN's retry, to B this time: known already, not applied again
            again = await vtn.push(
                "EiEvent", m.DistributeEvent(request_id="d-2", vtn_id=VTN_ID, events=(event,))
            )
            assert not isinstance(again, m.CreatedEvent)
            assert b.store.latest_plan_id(moved) == plans
            assert [e.event_id for e in b.store.events(moved)].count("moved-1") == 1

            # a home that does not exist has no push endpoint
            reply = await vtn.client.post(
                f"{a_base}/homes/999999/EiEvent", content=body, headers=XML
            )
            assert reply.status_code == 404
        finally:
            for r in runtimes:
                if r.ownership is not None:
                    await r.ownership.stop()
                if r.vens is not None:
                    await r.vens.stop()
                r.service.close()
                r.store.engine.dispose()
            await vtn.aclose()


def test_pushes_missed_are_read_apart_from_the_re_plan_asked():
    asked = ", ".join(
        [
            push_missed_reason("EiEvent"),
            opt_out_reason("e-1"),
            push_missed_reason("EiEvent"),
            push_missed_reason("EiReport"),
        ]
    )
    assert split_pushes_missed(asked) == (["EiEvent", "EiReport"], "opt-out of e-1")
    assert split_pushes_missed(push_missed_reason("EiOpt")) == (["EiOpt"], "")
    assert split_pushes_missed("preferences") == ([], "preferences")


def test_a_push_passed_on_while_the_database_is_away_gets_try_again(tmp_path, caplog):
    class Away:
        def ven_mode(self, home_id: int) -> VenMode:
            raise OperationalError("SELECT", {}, Exception("connection refused"))

    settings = Settings(state_dir=tmp_path, replica_id="ra")
    ownership = HomeOwnership(Away(), None, settings)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="hems.ownership"):
        assert asyncio.run(ownership.push_missed(1, "EiEvent")) == settings.lease_renew_s
    assert "a push for home 1 not passed on" in caplog.text
