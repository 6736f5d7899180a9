"""The consumer's preferences and overrides. Each change is audited and re-plans the home."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Response, status

from hems.api.auth import CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import BODY, HOME, invalid, responses
from hems.api.params import OverrideIdPath
from hems.api.schemas import OverridePublic
from hems.domain.preferences import OverrideKind, OverrideRequest, Preferences
from hems.planner_pool import PlanningUnavailableError
from hems.service import cached_json
from hems.storage.store import NotFoundError

router = APIRouter(tags=["consumer"])


async def get_preferences(home_id: HomeId, service: Service) -> Preferences:
    """The home's preferences (the web app's reader; 404 for no such home)."""
    try:
        return service.store.preferences(home_id)
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found") from None


@router.get("/homes/{home_id}/preferences", response_model=Preferences, responses=responses(HOME))
async def read_preferences(home_id: HomeId, service: Service) -> Response:
    """The preferences (the JSON is built once per change)."""

    async def build() -> bytes:
        return (await get_preferences(home_id, service)).model_dump_json().encode()

    body = await cached_json(service, "preferences", home_id, build)
    return Response(content=body, media_type="application/json")


@router.put(
    "/homes/{home_id}/preferences", response_model=Preferences, responses=responses(HOME, BODY)
)
async def put_preferences(
    home_id: HomeId, prefs: Preferences, service: Service, principal: CurrentPrincipal
) -> Preferences:
    """Replace the preferences (validated; 422 names the field). The home re-plans at once;
    a change of DSR consent or opt-out windows re-answers the events not yet over, and the
    DSRSP is told. A next trip in the past or over a year ahead is a 422 too."""
    refusal = prefs.next_trip_refusal(service.clock.now())
    if refusal is not None and prefs.ev_next_trip is not None:
        leave_at = prefs.ev_next_trip.leave_at.isoformat()
        raise invalid(("body", "ev_next_trip", "leave_at"), refusal, leave_at)
    try:
        await service.update_preferences(home_id, prefs, actor(principal))
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found") from None
    return prefs


@router.get(
    "/homes/{home_id}/overrides", response_model=list[OverridePublic], responses=responses(HOME)
)
async def list_overrides(home_id: HomeId, service: Service) -> list[OverridePublic]:
    return [
        OverridePublic(
            id=o.id,
            kind=o.kind.value,
            target=o.target,
            created_at=o.created_at,
            expires_at=o.expires_at,
        )
        for o in service.store.active_overrides(home_id, service.clock.now())
    ]


@router.post(
    "/homes/{home_id}/overrides",
    status_code=status.HTTP_201_CREATED,
    response_model=OverridePublic,
    responses=responses(HOME, BODY, 503),
)
async def add_override(
    home_id: HomeId, body: OverrideRequest, service: Service, principal: CurrentPrincipal
) -> OverridePublic:
    """Boost the EV, pause a device or opt out of an event, until the override expires. It
    wins over the plan and the DSRSP and takes effect at once (no randomised delay)."""
    spec = service.store.home(home_id)
    names = {d.name for d in spec.devices}
    if body.kind is OverrideKind.PAUSE_DEVICE and body.target not in names:
        raise invalid(("body", "target"), f"no device named {body.target!r}", body.target)
    if body.kind is OverrideKind.EV_BOOST and body.target and body.target not in names:
        raise invalid(("body", "target"), f"no device named {body.target!r}", body.target)
    if body.kind is OverrideKind.OPT_OUT_EVENT and body.target not in {
        e.event_id for e in service.store.events(home_id)
    }:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"event {body.target} not found")
    try:
        service.check_planning()  # refused before anything is stored
    except PlanningUnavailableError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"{exc}; nothing was changed"
        ) from None
    now = service.clock.now()
    expires = now + timedelta(minutes=body.duration_minutes)
    oid = service.store.add_override(
        home_id, body.kind, body.target, now, expires, actor(principal)
    )
    try:
        if body.kind is OverrideKind.OPT_OUT_EVENT:
            await service.opt_out(home_id, body.target, actor(principal))
        else:
            await service.replan_and_dispatch(home_id, f"override {body.kind.value}")
    except PlanningUnavailableError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the override is recorded and in force on the last plan, but the home could not "
            f"be re-planned: {exc}",
        ) from None
    return OverridePublic(
        id=oid, kind=body.kind.value, target=body.target, created_at=now, expires_at=expires
    )


@router.delete(
    "/homes/{home_id}/overrides/{override_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(HOME),
)
async def cancel_override(
    home_id: HomeId, override_id: OverrideIdPath, service: Service, principal: CurrentPrincipal
) -> None:
    try:
        service.store.cancel_override(home_id, override_id, service.clock.now(), actor(principal))
    except NotFoundError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"override {override_id} not found"
        ) from None
    service.replan_soon(home_id, "override cancelled")
