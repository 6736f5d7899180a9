"""The consumer's DSR sessions (Octopus Saving Sessions, the Demand Flexibility Service;
:mod:`hems.usecases.saving_sessions`): entered by the consumer, planned like a DSR event, the
reward earned from the home's metered import."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from hems.api.auth import CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import BODY, HOME, invalid, responses
from hems.planner_pool import PlanningUnavailableError
from hems.serving.params import SessionIdPath
from hems.usecases import saving_sessions as uc
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["consumer"])


@router.get(
    "/homes/{home_id}/saving-sessions",
    response_model=list[uc.SavingSessionPublic],
    responses=responses(HOME),
)
def list_sessions(home_id: HomeId, service: Service) -> list[uc.SavingSessionPublic]:
    """The home's sessions, each with its baseline, the reward the latest plan expects and
    the reward earned so far from the metered import."""
    return uc.sessions(service, home_id)


@router.post(
    "/homes/{home_id}/saving-sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=uc.SavingSessionPublic,
    responses=responses(HOME, BODY, 503),
)
async def add_session(
    home_id: HomeId,
    body: uc.SavingSessionRequest,
    service: Service,
    principal: CurrentPrincipal,
) -> uc.SavingSessionPublic:
    """Enter a session (start and end on half hours, with a UTC offset; the reward in pence
    per kWh saved below the baseline). Its baseline is fixed now; the home re-plans at once.
    An ended, overlapping or unbaselined session is refused with 422, saying why."""
    try:
        return await uc.add_session(service, home_id, body, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
    except PlanningUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.delete(
    "/homes/{home_id}/saving-sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(HOME, 503),
)
async def cancel_session(
    home_id: HomeId, session_id: SessionIdPath, service: Service, principal: CurrentPrincipal
) -> None:
    """Cancel a session; the home re-plans."""
    try:
        await uc.cancel_session(service, home_id, session_id, actor(principal))
    except PlanningUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
