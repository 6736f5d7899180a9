"""DSR events: what the DSRSP asked, what the home answered, and the consumer's opt-out
(:mod:`hems.usecases.events`).

``POST /homes/{id}/events`` (admin) takes an event as the DSRSP sends it: how a DSRSP without
OpenADR, the demo and the tests deliver events; the OpenADR VEN (:mod:`hems.ven_bridge`) calls
the same :meth:`hems.service.CemService.receive_event`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import TypeAdapter

from hems.api.auth import Admin, CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import ADMIN, BODY, HANDED_OVER, HOME, responses
from hems.api.json_cache import Cache
from hems.api.schemas import EventIn, EventPublic
from hems.serving.params import EventIdPath, HomeIdPath
from hems.storage.store import StoredEvent
from hems.usecases import events as uc

router = APIRouter(tags=["dsr"])

_EVENT_LIST = TypeAdapter(list[EventPublic])


@router.get("/homes/{home_id}/events", response_model=list[EventPublic], responses=responses(HOME))
async def read_events(home_id: HomeId, service: Service, cache: Cache) -> Response:
    """The home's DSR events and its answers, each with its status now (the JSON is built
    once per change, and again when an event starts or ends)."""

    async def build() -> tuple[bytes, datetime | None]:
        listed, until = uc.events_until(service, home_id)
        return _EVENT_LIST.dump_json(listed), until

    body = await cache.record_until(service, "events", home_id, build)
    return Response(content=body, media_type="application/json")


@router.post(
    "/homes/{home_id}/events",
    response_model=EventPublic,
    responses=responses(ADMIN, 404, BODY, 503),
)
async def receive_event(
    home_id: HomeIdPath, body: EventIn, service: Service, _principal: Admin
) -> EventPublic:
    """Deliver a DSR event; the answer carries the home's optIn/optOut and why. The home
    re-plans before this returns, so the new setpoints are already decided."""
    event = StoredEvent(
        event_id=body.event_id,
        modification_number=body.modification_number,
        kind=body.kind.value,
        value_kw=body.value_kw,
        start=body.start,
        end=body.end,
        status=body.status,
        response="",
        response_reason="",
    )
    return await uc.deliver_event(service, home_id, event)


@router.post(
    "/homes/{home_id}/events/{event_id}/opt-out",
    response_model=EventPublic,
    responses=responses(HOME, 503) | HANDED_OVER,
)
async def opt_out(
    home_id: HomeId, event_id: EventIdPath, service: Service, principal: CurrentPrincipal
) -> EventPublic:
    """The consumer's right to opt out of an event; the home re-plans without it."""
    return await uc.opt_out(service, home_id, event_id, actor(principal))
