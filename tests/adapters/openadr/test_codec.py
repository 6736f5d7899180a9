"""Codec: every message round-trips, validates against the 2.0b XSD, and reads the same as the
independent peer (openleadr) reads it; openleadr's own messages parse to the right objects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree
from openleadr import messaging as ol_messaging
from openleadr import objects as ol

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.messages import ELEMENT_NAME
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import EventStatus, ResponseCode
from tests.adapters.openadr.samples import T0, dispatch_event, every_message

MESSAGES = every_message()
IDS = [type(msg).__name__ for msg in MESSAGES]


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_every_message_round_trips(message):
    assert codec.parse(codec.render(message)) == message


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_openleadr_reads_every_message_we_render(message):
    data = codec.render(message)
    ol_messaging.validate_xml_schema(data)
    message_type, _ = ol_messaging.parse_message(data)
    assert message_type == ELEMENT_NAME[type(message)]


def test_all_23_message_types_are_covered():
    assert {type(msg) for msg in MESSAGES} == set(ELEMENT_NAME)


def test_rendered_distribute_event_is_golden():
    data = codec.render(m.DistributeEvent(request_id="r", vtn_id="v", events=(dispatch_event(),)))
    text = data.decode()
    assert "<ei:signalName>LOAD_DISPATCH</ei:signalName>" in text
    assert "<xcal:startafter>PT10M</xcal:startafter>" in text
    assert "<scale:siScaleCode>k</scale:siScaleCode>" in text
    assert 'oadr:Id="oadrSignedObject"' in text


def test_openleadr_distribute_event_parses_to_typed_objects():
    event = ol.Event(
        event_descriptor=ol.EventDescriptor(
            event_id="ev-9",
            modification_number=2,
            market_context="http://mc",
            event_status="active",
            created_date_time=T0,
            test_event=True,
        ),
        active_period=ol.ActivePeriod(dtstart=T0, duration=timedelta(minutes=60)),
        event_signals=[
            ol.EventSignal(
                intervals=[
                    ol.Interval(dtstart=T0, duration=timedelta(minutes=30), signal_payload=2.0),
                    ol.Interval(
                        dtstart=T0 + timedelta(minutes=30),
                        duration=timedelta(minutes=30),
                        signal_payload=1.0,
                    ),
                ],
                signal_name="SIMPLE",
                signal_type="level",
                signal_id="s1",
            )
        ],
        targets=[ol.Target(ven_id="ven-1")],
        response_required="never",
    )
    data = ol_messaging.create_message(
        "oadrDistributeEvent", request_id="r1", vtn_id="vtn-1", events=[event]
    )
    msg = codec.parse(data.encode())
    assert isinstance(msg, m.DistributeEvent)
    (parsed,) = msg.events
    assert (parsed.event_id, parsed.modification_number) == ("ev-9", 2)
    assert parsed.status in set(EventStatus)  # openleadr recomputes it from the clock
    assert parsed.test_event
    assert [i.value for i in parsed.signals[0].intervals] == [2.0, 1.0]
    assert parsed.signals[0].intervals[1].start_utc == T0 + timedelta(minutes=30)
    assert parsed.duration_s == 3600
    assert parsed.target.ven_ids == ("ven-1",)


def test_openleadr_registration_answer_parses():
    data = ol_messaging.create_message(
        "oadrCreatedPartyRegistration",
        response={"response_code": 200, "response_description": "OK", "request_id": "q1"},
        registration_id="reg-1",
        ven_id="ven-1",
        vtn_id="vtn-1",
        profiles=[{"profile_name": "2.0b", "transports": [{"transport_name": "simpleHttp"}]}],
        requested_oadr_poll_freq=timedelta(seconds=10),
    )
    msg = codec.parse(data.encode())
    assert isinstance(msg, m.CreatedPartyRegistration)
    assert (msg.ven_id, msg.registration_id, msg.poll_freq_s) == ("ven-1", "reg-1", 10.0)
    assert msg.response.request_id == "q1"


def test_openleadr_request_reregistration_parses():
    data = ol_messaging.create_message("oadrRequestReregistration", ven_id="ven-1")
    assert codec.parse(data.encode()) == m.RequestReregistration(ven_id="ven-1")


def test_values_keep_their_precision():
    event = dispatch_event(values_kw=(0.1, 1e-7, 12345.678))
    msg = codec.parse(codec.render(m.DistributeEvent(request_id="r", vtn_id="v", events=(event,))))
    assert isinstance(msg, m.DistributeEvent)
    assert [i.value for i in msg.events[0].signals[0].intervals] == [0.1, 1e-7, 12345.678]


def test_a_message_the_schema_refuses_is_not_sent():
    bad = dispatch_event(name="NOT_A_SIGNAL_NAME")
    with pytest.raises(CodecError) as info:
        codec.render(m.DistributeEvent(request_id="r", vtn_id="v", events=(bad,)))
    assert info.value.code == ResponseCode.INVALID_DATA


def test_nan_is_not_sent():
    event = dispatch_event(values_kw=(float("nan"),))
    with pytest.raises(CodecError):
        codec.render(m.DistributeEvent(request_id="r", vtn_id="v", events=(event,)))


def test_parsed_tree_is_the_signed_object_child():
    root = etree.fromstring(codec.render(m.Poll(ven_id="v")))
    assert root[0].get("{http://openadr.org/oadr-2.0b/2012/07}Id") == "oadrSignedObject"
