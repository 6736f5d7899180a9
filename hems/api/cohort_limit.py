"""The cohort import limit (admin token only; :mod:`hems.usecases.cohort_limit`,
docs/cohort.md)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from hems.api.auth import Admin, Service, actor
from hems.api.errors import ADMIN, BODY, invalid, responses
from hems.usecases import cohort_limit as uc
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["cohort"])


@router.put(
    "/admin/cohort/limit", response_model=uc.CohortLimitPublic, responses=responses(ADMIN, BODY)
)
async def set_limit(
    body: uc.CohortLimitIn, service: Service, principal: Admin
) -> uc.CohortLimitPublic:
    """Limit the cohort's summed import to ``limit_kw`` from ``from`` to ``until``, replacing
    the limit before. The slot's batches coordinate the homes under it: each home's plan keeps
    to its share and the homes' shares add up to the limit."""
    try:
        return await uc.set_limit(service, body, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None


@router.get(
    "/admin/cohort/limit", response_model=uc.CohortLimitPublic, responses=responses(ADMIN, 404)
)
async def get_limit(service: Service, _principal: Admin) -> uc.CohortLimitPublic:
    """The cohort limit set (``in_force``: it holds now); 404 when none is set."""
    limit = await uc.current_limit(service)
    if limit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no cohort limit is set")
    return limit


@router.delete(
    "/admin/cohort/limit",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(ADMIN, 404),
)
async def clear_limit(service: Service, _principal: Admin) -> None:
    """Clear the cohort limit; the homes re-plan without their shares. 404 when none is set."""
    if not await uc.clear_limit(service):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no cohort limit is set")
