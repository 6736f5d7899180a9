"""The operator's view of the cohort (admin token only; :mod:`hems.usecases.cohort`,
docs/cohort.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hems.api.auth import Admin, Service
from hems.api.errors import ADMIN, BODY, responses
from hems.usecases import cohort as uc
from hems.usecases import cohort_coordination as cc

router = APIRouter(tags=["cohort"])


def _vens(request: Request) -> uc.VenLookup:
    runtime = getattr(request.app.state, "runtime", None)
    return uc.ven_lookup(getattr(runtime, "vens", None))


@router.get("/admin/cohort", response_model=uc.CohortView, responses=responses(ADMIN))
def cohort(request: Request, service: Service, _principal: Admin) -> uc.CohortView:
    """The cohort: homes, failed and stale plans, VENs registered, devices offline; its planned
    import, peak and herding from the latest plans and from their rule-based baselines; each
    event's answers and delivery in total."""
    return uc.cohort_view(service, _vens(request))


@router.get("/admin/cohort/homes", response_model=list[uc.CohortHome], responses=responses(ADMIN))
def cohort_homes(request: Request, service: Service, _principal: Admin) -> list[uc.CohortHome]:
    """Every home: its VEN's enrolment, registration and last contact, its latest plan, its
    devices offline, its events with what it delivered against what was asked."""
    return uc.cohort_homes(service, _vens(request))


@router.get(
    "/admin/cohort/flexibility",
    response_model=uc.CohortFlexibility,
    responses=responses(ADMIN, 503),
)
async def cohort_flexibility(service: Service, _principal: Admin) -> uc.CohortFlexibility:
    """The sum of the homes' PAS 1878 profiles (IO, LD, MD) on their common slots."""
    return await uc.cohort_flexibility(service)


@router.post(
    "/admin/cohort/coordination",
    response_model=cc.CoordinationPublic,
    responses=responses(ADMIN, BODY),
)
async def cohort_coordination(
    body: cc.CoordinationIn, service: Service, _principal: Admin
) -> cc.CoordinationPublic:
    """What a cohort import limit would do: the homes' current problems coordinated under it
    (iterative capacity allocation, docs/cohort.md), with the cohort's peak and herding and
    the bill without and with it. A what-if: the plans in force are unchanged."""
    return await cc.coordination(service, body.limit_kw)
