"""Homes and their devices, tokens, and the consumer's data export and deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hems.device_capabilities import device_mismatches
from hems.device_health import DeviceHealth
from hems.dispatch import OverridesInForce
from hems.domain.devices import DeviceSpec
from hems.domain.home import HomeSpec
from hems.service import CemService
from hems.usecases.records import DeviceStatus, HomeCreated, HomeSummary, TokenCreated
from kernel.devices import DeviceState


def create_home(service: CemService, spec: HomeSpec, actor: str) -> HomeCreated:
    """Register a home and its devices (audited) and make its first token, shown once.
    Raises ConflictError when the CEM's serial is already registered."""
    now = service.clock.now()
    home_id = service.store.create_home(spec, now, actor)
    token = service.store.create_token("home", home_id, now, label="created with the home")
    service.added(home_id)
    return HomeCreated(id=home_id, token=token)


def create_home_token(service: CemService, home_id: int, label: str = "api") -> TokenCreated:
    """A new token of the home, shown once (NotFoundError for no such home)."""
    return TokenCreated(
        token=service.store.create_token("home", home_id, service.clock.now(), label=label)
    )


def home(service: CemService, home_id: int) -> HomeSpec:
    """The home and its devices (NotFoundError for no such home)."""
    return service.store.home(home_id)


def home_ids(service: CemService) -> list[int]:
    """Every registered home's id."""
    return service.store.home_ids()


def home_summaries(service: CemService) -> list[HomeSummary]:
    """Every home, by id."""
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


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceReading:
    """What the service knows of one device now: its spec, its last state and its
    communications (None: not read yet), whether the consumer overrides it (a boost or a pause
    in force, or the device's own manual mode) and the setpoint in force [kW] (None: none
    sent yet). The API's and web app's device status and the VEN's telemetry report are
    built from it."""

    spec: DeviceSpec
    state: DeviceState | None
    health: DeviceHealth | None
    overridden: bool
    setpoint_kw: float | None


def device_readings(service: CemService, home_id: int) -> list[DeviceReading]:
    """Each device of the home as the service knows it now (:class:`DeviceReading`; from the
    home's controller, NotFoundError for no such home)."""
    spec = service.store.home(home_id)
    ctl = service.controllers.get(home_id)
    now = service.clock.now()
    overridden = OverridesInForce.of(spec, service.store.active_overrides(home_id, now)).devices
    out = []
    for d in spec.devices:
        state = ctl.states.get(d.name) if ctl else None
        applied = service.store.last_applied_setpoint(home_id, d.name)
        out.append(
            DeviceReading(
                spec=d,
                state=state,
                health=ctl.health.get(d.name) if ctl else None,
                overridden=d.name in overridden or bool(state and state.manual_override),
                setpoint_kw=None if applied is None else applied.power_kw,
            )
        )
    return out


def device_statuses(service: CemService, home_id: int) -> list[DeviceStatus]:
    """Each device's last known state and whether it answers (from the home's controller; a
    home not read yet says so), and where it reports its limits otherwise than its spec."""
    out = []
    reported = service.store.device_capabilities(home_id)
    for r in device_readings(service, home_id):
        state, health = r.state, r.health
        out.append(
            DeviceStatus(
                name=r.spec.name,
                kind=r.spec.kind.value,
                online=health.online if health else False,
                last_seen_utc=health.last_seen_utc if health else None,
                last_error=health.last_error if health else "not read yet",
                power_kw=state.power_kw if state else None,
                soc=state.soc if state else None,
                temperature_c=state.temperature_c if state else None,
                plugged_in=state.plugged_in if state else None,
                mismatches=device_mismatches(r.spec, reported.get(r.spec.name)),
            )
        )
    return out


def export_home(service: CemService, home_id: int, actor: str) -> dict[str, Any]:
    """Everything the CEM holds about the home; the export itself is audited."""
    service.store.home(home_id)
    service.store.record_audit(home_id, service.clock.now(), actor, "data.export", {})
    return service.store.export_home(home_id)


def delete_home(service: CemService, home_id: int, actor: str) -> None:
    """Erase the home and all its data; its tokens stop working at once and the service
    forgets it (its controller, remembered tokens and what the API built from it)."""
    service.store.delete_home_data(home_id, service.clock.now(), actor)
    service.forget(home_id)
