"""A device drifting off the setpoint in force: a battery, EV or heat pump holding a power far
from what it was last sent asks its home for a re-plan (the telemetry job's check of every home
each minute, :mod:`hems.telemetry_pass`, and the cycle's after its read).

The setpoints in force are read for every home at once (``Store.last_applied_setpoints``): one
query a device a home each minute was most of the telemetry job's time in the fleet benchmark
(docs/performance.md, "Fleet")."""

from __future__ import annotations

from collections.abc import Mapping

from hems.dispatch import setpoint_for
from hems.domain.home import HomeSpec
from hems.storage.setpoint_records import StoredSetpoint
from kernel.devices import DeviceState


def drift_reasons(
    home: HomeSpec,
    states: Mapping[str, DeviceState],
    applied: Mapping[str, StoredSetpoint],
    following: frozenset[str],
    storing: frozenset[str],
    threshold_kw: float,
) -> list[str]:
    """Why the home should be re-planned: each steerable device whose power is more than
    ``threshold_kw`` off its setpoint in force (``applied``, by device). A PV setpoint is a cap,
    not a target, so PV never drifts; a charger with no car cannot follow its setpoint; a
    battery following the site (``following`` / ``storing``, the dispatch's modes) holds less
    than its cap by design."""
    steerable = {d.name for d in home.devices if d.kind != "pv"}
    reasons = []
    for name, state in states.items():
        last = applied.get(name)
        if state.plugged_in is False or last is None or name not in steerable:
            continue
        if setpoint_for(name, last.power_kw, following, storing).follow_site:
            continue
        if abs(state.power_kw - last.power_kw) > threshold_kw:
            reasons.append(f"{name} drifted {state.power_kw - last.power_kw:+.1f} kW")
    return reasons
