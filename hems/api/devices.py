"""A home's devices and their connections (:mod:`hems.usecases.devices`): register one, list
them with their identities, test one, remove one. Admin or the home's own token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status

from hems.api.auth import CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import BODY, HOME, invalid, responses
from hems.device_runtime import DeviceRuntime
from hems.domain.connections import DEVICE_NAME_PATTERN, DeviceRegistration
from hems.storage.store import ConflictError
from hems.usecases import devices as uc
from hems.usecases.devices import DeviceListing, DeviceTest
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["devices"])

DeviceName = Annotated[str, Path(pattern=DEVICE_NAME_PATTERN, description="The device's name")]


async def get_devices(request: Request) -> DeviceRuntime:
    """The running service's devices (:class:`hems.device_runtime.DeviceRuntime`)."""
    devices: DeviceRuntime = request.app.state.runtime.devices
    return devices


Devices = Annotated[DeviceRuntime, Depends(get_devices)]


@router.post(
    "/homes/{home_id}/devices",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceListing,
    responses=responses(HOME, 409, BODY),
)
async def register_device(
    home_id: HomeId,
    body: DeviceRegistration,
    service: Service,
    devices: Devices,
    principal: CurrentPrincipal,
) -> DeviceListing:
    """Connect the home's device ``name`` to the CEM (OCPP, Modbus/SunSpec or MQTT), or with
    ``spec`` add a new device and its connection. Driven at once (a charger is paired and
    may connect); the home re-plans. 409: a charger identity paired already, a device with a
    connection already, or one configured in the settings file."""
    try:
        return await uc.register_device(service, devices, home_id, body, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get(
    "/homes/{home_id}/devices/registered",
    response_model=list[DeviceListing],
    responses=responses(HOME),
)
async def registered_devices(
    home_id: HomeId, service: Service, devices: Devices
) -> list[DeviceListing]:
    """The home's devices, each with the protocol the CEM reaches it by and, once it has
    connected, the identity it gave (manufacturer, model, serial, version)."""
    return await uc.registered_devices(service, devices, home_id)


@router.post(
    "/homes/{home_id}/devices/{name}/test", response_model=DeviceTest, responses=responses(HOME)
)
async def test_device(
    home_id: HomeId, name: DeviceName, service: Service, devices: Devices
) -> DeviceTest:
    """Read the device once now: whether it answers, and its power."""
    return await uc.test_device(service, devices, home_id, name)


@router.delete(
    "/homes/{home_id}/devices/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(HOME, 409),
)
async def remove_device(
    home_id: HomeId,
    name: DeviceName,
    service: Service,
    devices: Devices,
    principal: CurrentPrincipal,
) -> None:
    """Remove the device from the home with its connection and credentials (audited): a
    charger is unpaired and refused from now on; the home re-plans. 409 for a device
    configured in the settings file."""
    try:
        await uc.remove_device(service, devices, home_id, name, actor(principal))
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
