"""DSR events: what the DSRSP asked, what the home answered, and the consumer's opt-out.

``POST /homes/{id}/events`` (admin) takes an event as the DSRSP sends it: until the OpenADR VEN
(adapters/openadr) lands it is how a DSRSP, the demo and the tests deliver events; the VEN will
call the same :meth:`hems.service.CemService.receive_event`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import TypeAdapter

from hems.api.auth import Admin, CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import ADMIN, BODY, HOME, responses
from hems.api.params import EventIdPath, HomeIdPath
from hems.api.schemas import EventIn, EventPublic
from hems.service import cached_json
from hems.storage.store import NotFoundError, StoredEvent

router = APIRouter(tags=["dsr"])


def _public(e: StoredEvent) -> EventPublic:
    return EventPublic(
        event_id=e.event_id,
        modification_number=e.modification_number,
        kind=e.kind,
        value_kw=e.value_kw,
        start=e.start,
        end=e.end,
        status=e.status,
        response=e.response,
        response_reason=e.response_reason,
    )


_EVENT_LIST = TypeAdapter(list[EventPublic])


async def list_events(home_id: HomeId, service: Service) -> list[EventPublic]:
    """The home's DSR events and its answers (the web app's reader)."""
    return [_public(e) for e in service.store.events(home_id)]


@router.get("/homes/{home_id}/events", response_model=list[EventPublic], responses=responses(HOME))
async def read_events(home_id: HomeId, service: Service) -> Response:
    """The home's DSR events and its answers (the JSON is built once per change)."""

    async def build() -> bytes:
        return _EVENT_LIST.dump_json(await list_events(home_id, service))

    body = await cached_json(service, "events", home_id, build)
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
    try:
        service.store.home(home_id)
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found") from None
    service.check_planning()  # 503 before the event is stored: a retry is not a repeat
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
    return _public(await service.receive_event(home_id, event))


@router.post(
    "/homes/{home_id}/events/{event_id}/opt-out",
    response_model=EventPublic,
    responses=responses(HOME, 503),
)
async def opt_out(
    home_id: HomeId, event_id: EventIdPath, service: Service, principal: CurrentPrincipal
) -> EventPublic:
    """The consumer's right to opt out of an event; the home re-plans without it."""
    service.check_planning()
    try:
        await service.opt_out(home_id, event_id, actor(principal))
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"event {event_id} not found") from None
    return next(_public(e) for e in service.store.events(home_id) if e.event_id == event_id)
