"""Homes and devices (admin), tokens, and the consumer's data export and deletion."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from hems.api.auth import Admin, CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import ADMIN, BODY, HOME, responses
from hems.api.params import HomeIdPath
from hems.api.schemas import DeviceStatus, HomeCreated, HomeSummary, TokenCreated
from hems.domain.home import HomeSpec
from hems.storage.store import ConflictError, NotFoundError

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
    now = service.clock.now()
    try:
        home_id = service.store.create_home(spec, now, actor(principal))
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    token = service.store.create_token("home", home_id, now, label="created with the home")
    return HomeCreated(id=home_id, token=token)


@router.get("/homes", response_model=list[HomeSummary], responses=responses(ADMIN))
async def list_homes(service: Service, _principal: Admin) -> list[HomeSummary]:
    out = []
    for home_id in service.store.home_ids():
        spec = service.store.home(home_id)
        out.append(
            HomeSummary(
                id=home_id,
                name=spec.name,
                cem_manufacturer=spec.cem_manufacturer,
                cem_serial=spec.cem_serial,
            )
        )
    return out


@router.get("/homes/{home_id}", response_model=HomeSpec, responses=responses(HOME))
async def get_home(home_id: HomeId, service: Service) -> HomeSpec:
    return _home(service, home_id)


@router.post(
    "/homes/{home_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=responses(ADMIN, 404),
)
def create_home_token(home_id: HomeIdPath, service: Service, _principal: Admin) -> TokenCreated:
    try:
        token = service.store.create_token("home", home_id, service.clock.now(), label="api")
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found") from None
    return TokenCreated(token=token)


@router.get(
    "/homes/{home_id}/devices", response_model=list[DeviceStatus], responses=responses(HOME)
)
async def device_status(home_id: HomeId, service: Service) -> list[DeviceStatus]:
    """Each device's last known state and whether it answers."""
    spec = _home(service, home_id)
    ctl = service.controllers.get(home_id)
    out = []
    for d in spec.devices:
        state = ctl.states.get(d.name) if ctl else None
        health = ctl.health.get(d.name) if ctl else None
        out.append(
            DeviceStatus(
                name=d.name,
                kind=d.kind.value,
                online=health.online if health else False,
                last_seen_utc=health.last_seen_utc if health else None,
                last_error=health.last_error if health else "not read yet",
                power_kw=state.power_kw if state else None,
                soc=state.soc if state else None,
                temperature_c=state.temperature_c if state else None,
                plugged_in=state.plugged_in if state else None,
            )
        )
    return out


@router.get("/homes/{home_id}/export", responses=responses(HOME))
def export_data(home_id: HomeId, service: Service, principal: CurrentPrincipal) -> dict[str, Any]:
    """Everything the CEM holds about the home, as JSON."""
    _home(service, home_id)
    service.store.record_audit(home_id, service.clock.now(), actor(principal), "data.export", {})
    return service.store.export_home(home_id)


@router.delete(
    "/homes/{home_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(HOME)
)
def delete_data(home_id: HomeId, service: Service, principal: CurrentPrincipal) -> None:
    """Erase the home and all its data (its tokens stop working)."""
    try:
        service.store.delete_home_data(home_id, service.clock.now(), actor(principal))
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found") from None
    service.forget(home_id)


def _home(service: Service, home_id: int) -> HomeSpec:
    try:
        return service.store.home(home_id)
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found") from None
