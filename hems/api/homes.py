"""Homes and devices (admin), tokens, and the consumer's data export and deletion
(:mod:`hems.usecases.homes`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from hems.api.auth import Admin, CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import ADMIN, BODY, HOME, invalid, responses
from hems.api.schemas import (
    DeviceStatus,
    DsrEnrolment,
    EnrolmentIn,
    HomeCreated,
    HomeSummary,
    TokenCreated,
    VenModeIn,
    VenModePublic,
)
from hems.domain.home import HomeSpec
from hems.serving.params import HomeIdPath
from hems.storage.store import ConflictError
from hems.usecases import enrolment
from hems.usecases import homes as uc
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["homes"])


@router.post(
    "/homes",
    status_code=status.HTTP_201_CREATED,
    response_model=HomeCreated,
    responses=responses(ADMIN, 409, BODY),
)
def create_home(spec: HomeSpec, service: Service, principal: Admin) -> HomeCreated:
    """Register a home (the CEM's manufacturer and serial identify it) and its devices.
    Returns the home's token once."""
    try:
        return uc.create_home(service, spec, actor(principal))
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get("/homes", response_model=list[HomeSummary], responses=responses(ADMIN))
async def list_homes(service: Service, _principal: Admin) -> list[HomeSummary]:
    return uc.home_summaries(service)


@router.get("/homes/{home_id}", response_model=HomeSpec, responses=responses(HOME))
async def get_home(home_id: HomeId, service: Service) -> HomeSpec:
    return uc.home(service, home_id)


@router.post(
    "/homes/{home_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=responses(ADMIN, 404),
)
def create_home_token(home_id: HomeIdPath, service: Service, _principal: Admin) -> TokenCreated:
    return uc.create_home_token(service, home_id)


@router.get(
    "/homes/{home_id}/devices", response_model=list[DeviceStatus], responses=responses(HOME)
)
async def device_status(home_id: HomeId, service: Service) -> list[DeviceStatus]:
    """Each device's last known state and whether it answers."""
    return uc.device_statuses(service, home_id)


@router.get("/homes/{home_id}/export", responses=responses(HOME))
def export_data(home_id: HomeId, service: Service, principal: CurrentPrincipal) -> dict[str, Any]:
    """Everything the CEM holds about the home, as JSON."""
    return uc.export_home(service, home_id, actor(principal))


@router.delete(
    "/homes/{home_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(HOME)
)
def delete_data(home_id: HomeId, service: Service, principal: CurrentPrincipal) -> None:
    """Erase the home and all its data (its tokens stop working)."""
    uc.delete_home(service, home_id, actor(principal))


@router.get(
    "/homes/{home_id}/dsrsp-enrolment", response_model=DsrEnrolment, responses=responses(HOME)
)
def get_enrolment(home_id: HomeId, service: Service) -> DsrEnrolment:
    """Whether the home is enrolled in the DSRSP's programme, withdrawn, or cancelled by the
    DSRSP (then it is not registered again until enrolled again)."""
    return enrolment.enrolment(service, home_id)


@router.put(
    "/homes/{home_id}/dsrsp-enrolment",
    response_model=DsrEnrolment,
    responses=responses(HOME, BODY),
)
def set_enrolment(
    home_id: HomeId, body: EnrolmentIn, service: Service, principal: CurrentPrincipal
) -> DsrEnrolment:
    """Withdraw the home from the DSRSP's programme (``enrolled: false``: its VEN cancels its
    registration and stays deregistered, across restarts) or enrol it again (``true``: it
    registers). The consumer stays a customer of this service either way."""
    if body.enrolled:
        return enrolment.enrol(service, home_id, actor(principal))
    return enrolment.withdraw(service, home_id, actor(principal))


@router.get("/homes/{home_id}/ven-mode", response_model=VenModePublic, responses=responses(HOME))
def get_ven_mode(home_id: HomeId, service: Service) -> VenModePublic:
    """How the home's OpenADR VEN talks to the DSRSP: pull, or report-only."""
    return enrolment.ven_mode(service, home_id)


@router.put(
    "/homes/{home_id}/ven-mode",
    response_model=VenModePublic,
    responses=responses(ADMIN, 404, BODY),
)
def set_ven_mode(
    home_id: HomeIdPath, body: VenModeIn, service: Service, principal: Admin
) -> VenModePublic:
    """Choose how the home's VEN talks (the operator's choice, per home): ``report_only``
    registers as a report-only VEN (oadrReportOnly: registration and reports, no events);
    ``push`` has the VTN push to the service's push endpoint (422 when the service has none);
    a change makes the VEN again, which registers anew."""
    try:
        return enrolment.set_ven_mode(service, home_id, body.mode, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
