"""The consumer's preferences and overrides (:mod:`hems.usecases.preferences`): each change is
audited and re-plans the home."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from hems.api.auth import CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import BODY, HANDED_OVER, HOME, invalid, responses
from hems.api.json_cache import Cache
from hems.api.schemas import OverridePublic
from hems.domain.preferences import OverrideRequest, Preferences
from hems.planner_pool import PlanningUnavailableError
from hems.replica_handover import HandedToOwnerError
from hems.serving.params import OverrideIdPath
from hems.storage.store import ConflictError
from hems.usecases import preferences as uc
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["consumer"])


@router.get("/homes/{home_id}/preferences", response_model=Preferences, responses=responses(HOME))
async def read_preferences(home_id: HomeId, service: Service, cache: Cache) -> Response:
    """The preferences (the JSON is built once per change)."""

    async def build() -> bytes:
        return uc.preferences(service, home_id).model_dump_json().encode()

    body = await cache.record(service, "preferences", home_id, build)
    return Response(content=body, media_type="application/json")


@router.put(
    "/homes/{home_id}/preferences", response_model=Preferences, responses=responses(HOME, BODY)
)
async def put_preferences(
    home_id: HomeId,
    prefs: Preferences,
    service: Service,
    principal: CurrentPrincipal,
    cache: Cache,
) -> Preferences:
    """Replace the preferences (validated; 422 names the field). The home re-plans at once;
    a change of DSR consent or opt-out windows re-answers the events not yet over, and the
    DSRSP is told. A next trip in the past or over a year ahead is a 422 too."""
    try:
        await uc.set_preferences(service, home_id, prefs, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
    cache.put(service, "preferences", home_id, prefs.model_dump_json().encode())
    return prefs


@router.get(
    "/homes/{home_id}/overrides", response_model=list[OverridePublic], responses=responses(HOME)
)
async def list_overrides(home_id: HomeId, service: Service) -> list[OverridePublic]:
    return uc.active_overrides(service, home_id)


@router.post(
    "/homes/{home_id}/overrides",
    status_code=status.HTTP_201_CREATED,
    response_model=OverridePublic,
    responses=responses(HOME, BODY, 409, 503) | HANDED_OVER,
)
async def add_override(
    home_id: HomeId, body: OverrideRequest, service: Service, principal: CurrentPrincipal
) -> OverridePublic:
    """Boost the EV, pause a device or opt out of an event, until the override expires. It
    wins over the plan and the DSRSP and takes effect at once (no randomised delay). A boost
    of a car that is not plugged in is refused (409, saying so)."""
    try:
        return await uc.add_override(service, home_id, body, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except HandedToOwnerError:
        raise  # 202: stored, its replica re-plans it (hems.api.routes)
    except PlanningUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.delete(
    "/homes/{home_id}/overrides/{override_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(HOME),
)
async def cancel_override(
    home_id: HomeId, override_id: OverrideIdPath, service: Service, principal: CurrentPrincipal
) -> None:
    uc.cancel_override(service, home_id, override_id, actor(principal))
