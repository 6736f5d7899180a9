"""The consumer's preferences and overrides: each change is audited and re-plans the home."""

from __future__ import annotations

from datetime import timedelta

from hems.domain.devices import DeviceKind
from hems.domain.home import HomeSpec
from hems.domain.preferences import OverrideKind, OverrideRequest, Preferences
from hems.planner_pool import PlanningUnavailableError
from hems.replica_handover import HandedToOwnerError
from hems.service import CemService
from hems.storage.store import ConflictError, NotFoundError
from hems.usecases.errors import InvalidInputError
from hems.usecases.records import OverridePublic


def preferences(service: CemService, home_id: int) -> Preferences:
    """The home's preferences (NotFoundError for no such home)."""
    return service.store.preferences(home_id)


async def set_preferences(
    service: CemService, home_id: int, prefs: Preferences, actor: str
) -> Preferences:
    """Replace the preferences (audited). The home re-plans soon; a change of DSR consent or
    opt-out windows re-answers the events not yet over and the DSRSP is told
    (:meth:`CemService.update_preferences`). A next trip in the past or over a year ahead is
    refused (:class:`InvalidInputError`)."""
    refusal = prefs.next_trip_refusal(service.clock.now())
    if refusal is not None and prefs.ev_next_trip is not None:
        leave_at = prefs.ev_next_trip.leave_at.isoformat()
        raise InvalidInputError(("body", "ev_next_trip", "leave_at"), refusal, leave_at)
    await service.update_preferences(home_id, prefs, actor)
    return prefs


def active_overrides(service: CemService, home_id: int) -> list[OverridePublic]:
    """The overrides in force now."""
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


async def add_override(
    service: CemService, home_id: int, request: OverrideRequest, actor: str
) -> OverridePublic:
    """Boost the EV, pause a device or opt out of an event until the override expires; it
    wins over the plan and the DSRSP and takes effect at once (the home re-plans and
    dispatches before this returns).

    Raises :class:`InvalidInputError` for a device the home does not have, ConflictError for a
    boost of a car its charger reports unplugged (:func:`_refuse_unplugged_boost`),
    NotFoundError for an event it never received, and :class:`PlanningUnavailableError`
    either before anything is stored (planning is down: nothing changed) or after (the
    override is in force on the last plan; the home re-plans when planning is back), each
    saying which."""
    spec = service.store.home(home_id)
    names = {d.name for d in spec.devices}
    target = request.target
    if request.kind is OverrideKind.PAUSE_DEVICE and target not in names:
        raise InvalidInputError(("body", "target"), f"no device named {target!r}", target)
    if request.kind is OverrideKind.EV_BOOST:
        await _refuse_unplugged_boost(service, home_id, spec, target)
    if request.kind is OverrideKind.OPT_OUT_EVENT and target not in {
        e.event_id for e in service.store.events(home_id)
    }:
        raise NotFoundError(f"event {target}")
    try:
        service.check_planning()  # refused before anything is stored
    except PlanningUnavailableError as exc:
        raise PlanningUnavailableError(f"{exc}; nothing was changed") from None
    now = service.clock.now()
    expires = now + timedelta(minutes=request.duration_minutes)
    oid = service.store.add_override(home_id, request.kind, target, now, expires, actor)
    try:
        if request.kind is OverrideKind.OPT_OUT_EVENT:
            await service.opt_out(home_id, target, actor)
        else:
            await service.replan_and_dispatch(home_id, f"override {request.kind.value}")
    except HandedToOwnerError:
        raise  # stored; the replica that runs the home re-plans it
    except PlanningUnavailableError as exc:
        raise PlanningUnavailableError(
            f"the override is recorded and in force on the last plan, but the home could not "
            f"be re-planned: {exc}"
        ) from None
    return OverridePublic(
        id=oid, kind=request.kind.value, target=target, created_at=now, expires_at=expires
    )


async def _refuse_unplugged_boost(
    service: CemService, home_id: int, spec: HomeSpec, target: str
) -> None:
    """A boost needs a car to charge. Refused for a target that is not one of the home's EV
    chargers, or a home without one (InvalidInputError), and when every charger boosted
    reports no car plugged in when read now (ConflictError, saying so); a charger that never
    answered is given the benefit of the doubt. Until issue 28 a boost of an unplugged car
    was accepted, and the home then re-planned every minute, the charger "drifting" off a
    setpoint it could not follow."""
    chargers = [d.name for d in spec.devices if d.kind is DeviceKind.EV_CHARGER]
    if target and target not in chargers:
        known = target in {d.name for d in spec.devices}
        why = f"{target!r} is not an EV charger" if known else f"no device named {target!r}"
        raise InvalidInputError(("body", "target"), why, target)
    if not chargers:
        raise InvalidInputError(("body", "target"), "this home has no EV charger", target)
    ctl = service.controllers.get(home_id)
    states = [await ctl.state_now(n) if ctl else None for n in ([target] if target else chargers)]
    if all(s is not None and s.plugged_in is False for s in states):
        name = target or ", ".join(chargers)
        raise ConflictError(
            f"the car is not plugged in ({name} reports no car): plug it in, then boost"
        )


def cancel_override(service: CemService, home_id: int, override_id: int, actor: str) -> None:
    """End an override now (audited; NotFoundError when it is not in force); the home
    re-plans soon."""
    service.store.cancel_override(home_id, override_id, service.clock.now(), actor)
    service.replan_soon(home_id, "override cancelled")
