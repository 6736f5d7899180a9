"""A report-only VEN (``VenSettings(report_only=True)``, oadrReportOnly): it registers as one,
registers its reports, and neither requests nor polls for events; an event pushed to it is
refused (459) and never reaches the decision hook. Against openleadr's VTN:
tests/hems/test_ven_modes.py."""

from __future__ import annotations

import dataclasses

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.vocab import ResponseCode
from tests.adapters.openadr.fakes import VEN, VTN, registered_ven, run
from tests.adapters.openadr.samples import dispatch_event


def _registrar(message: m.Message) -> m.Message | None:
    if isinstance(message, m.CreatePartyRegistration | m.QueryRegistration):
        return m.CreatedPartyRegistration(
            response=m.ok_response(message.request_id),
            registration_id="reg-1",
            ven_id=VEN,
            vtn_id=VTN,
            profiles=(m.Profile(name="2.0b", transports=("simpleHttp",)),),
            poll_freq_s=1.0,
        )
    return None


def test_a_report_only_ven_registers_as_one_and_never_asks_for_events():
    ven, vtn = registered_ven(_registrar)
    ven.settings = dataclasses.replace(ven.settings, report_only=True)
    ven.registration.ven_id = None
    run(ven.register())
    assert vtn.of(m.CreatePartyRegistration)[0].report_only is True
    assert vtn.of(m.RegisterReport)
    assert not vtn.of(m.RequestEvent)
    assert ven.polls is False
    run(ven.request_events())  # the resync after an outage asks nothing either
    assert not vtn.of(m.RequestEvent)


def test_an_event_pushed_to_a_report_only_ven_is_refused():
    ven, _ = registered_ven()
    ven.settings = dataclasses.replace(ven.settings, report_only=True)
    message = m.DistributeEvent(request_id="d-1", vtn_id=VTN, events=(dispatch_event(),))
    reply = run(ven.handle(codec.parse(codec.render(message))))
    assert isinstance(reply, m.CreatedEvent)
    assert reply.response.code == ResponseCode.COMPLIANCE_ERROR
    assert ven.decided == []  # type: ignore[attr-defined]
