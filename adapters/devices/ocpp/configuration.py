"""What a charger reports it can do (:class:`~kernel.devices.DeviceCapabilities`), asked right
after each BootNotification.

* OCPP 1.6: ``GetConfiguration`` of ``ConnectorPhaseRotation`` (a core key): a rotation
  (``RST``, ``1.RST``...) is a three-phase connector, ``NotApplicable`` a single-phase (or DC)
  one; 1.6 has no standard key for the charger's maximum power or minimum current.
* OCPP 2.0.1: ``GetVariables`` of the EVSE's ``Power`` (attribute ``MaxSet``: the most it can
  be set to deliver [W]) and ``SupplyPhases`` (``Actual``). No standard variable gives the
  minimum current.

A charger that does not answer, refuses or answers garbage is logged; its capabilities are then
what it did report (possibly nothing), never an error of the session.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from adapters.devices.capabilities import reported_capabilities
from adapters.devices.ocpp.link import call_until_closed
from adapters.devices.ocpp.state import ChargerLive
from kernel.devices import DeviceCapabilities, DeviceUnavailableError

log = logging.getLogger(__name__)

_ROTATIONS = {"RST", "RTS", "SRT", "STR", "TRS", "TSR"}
EVSE_ID = 1
"""The EVSE the CSMS drives (one per charger, docs/devices.md)."""


def phases_from_rotation(identity: str, value: str, connector_id: int = 1) -> int | None:
    """The phases of ``connector_id`` from a 1.6 ``ConnectorPhaseRotation`` value
    (``"0.RST,1.RST"``, ``"RST"``, ``"1.NotApplicable"``); None when unknown or unreadable."""
    entries: dict[int | None, str] = {}
    for part in value.split(","):
        part = part.strip()
        connector, _, rotation = part.rpartition(".")
        try:
            entries[int(connector) if connector else None] = rotation
        except ValueError:
            log.warning("charger %s: unreadable ConnectorPhaseRotation %r", identity, value)
            return None
    rotation = entries.get(connector_id, entries.get(None, entries.get(0, "Unknown")))
    if rotation in _ROTATIONS:
        return 3
    return 1 if rotation == "NotApplicable" else None


def v16_request() -> Any:
    """The 1.6 GetConfiguration the CSMS sends after a boot."""
    return call16.GetConfiguration(key=["ConnectorPhaseRotation"])


def v16_capabilities(identity: str, result: Any) -> DeviceCapabilities:
    """The capabilities in a 1.6 GetConfiguration answer."""
    keys: Sequence[Mapping[str, Any]] = result.configuration_key or []
    values = {k.get("key"): k.get("value") for k in keys if isinstance(k, Mapping)}
    rotation = values.get("ConnectorPhaseRotation")
    phases = phases_from_rotation(identity, rotation) if isinstance(rotation, str) else None
    return reported_capabilities(identity, phases=phases)


def v201_request() -> Any:
    """The 2.0.1 GetVariables the CSMS sends after a boot."""
    evse = {"name": "EVSE", "evse": {"id": EVSE_ID}}
    return call201.GetVariables(
        get_variable_data=[
            {"component": evse, "variable": {"name": "Power"}, "attribute_type": "MaxSet"},
            {"component": evse, "variable": {"name": "SupplyPhases"}, "attribute_type": "Actual"},
        ]
    )


def _number(identity: str, name: str, text: Any, parse: Callable[[str], float]) -> float | None:
    try:
        return parse(str(text))
    except ValueError:
        log.warning("charger %s reported an unreadable %s (%.40r), ignored", identity, name, text)
        return None


def v201_capabilities(identity: str, result: Any) -> DeviceCapabilities:
    """The capabilities in a 2.0.1 GetVariables answer (a variable not Accepted: not
    reported)."""
    values: dict[str, Any] = {}
    for r in result.get_variable_result or []:
        if isinstance(r, Mapping) and r.get("attribute_status") == "Accepted":
            values[str((r.get("variable") or {}).get("name"))] = r.get("attribute_value")
    power_w = None
    if values.get("Power") is not None:
        power_w = _number(identity, "EVSE Power MaxSet", values["Power"], float)
    phases = None
    if values.get("SupplyPhases") is not None:
        found = _number(identity, "EVSE SupplyPhases", values["SupplyPhases"], float)
        whole = found is not None and math.isfinite(found) and found.is_integer()
        phases = int(found) if whole and found is not None else None
        if found is not None and phases is None:
            log.warning("charger %s reported SupplyPhases %r, ignored", identity, found)
    return reported_capabilities(
        identity,
        max_charge_kw=None if power_w is None else power_w / 1000,
        phases=phases,
    )


async def read_capabilities(
    identity: str,
    closed: asyncio.Event,
    live: ChargerLive,
    request: Awaitable[Any],
    parse: Callable[[str, Any], DeviceCapabilities],
) -> None:
    """Send ``request`` (a connection's ``call(...)``) and keep what ``parse`` finds in its
    answer as ``live.capabilities``; a charger that refuses or does not answer is logged, and
    keeps what it reported before. Runs as a task of its own (after the boot's answer): it
    never raises."""
    try:
        result = await call_until_closed(identity, closed, request, "a capabilities request")
        live.capabilities = parse(identity, result)
    except DeviceUnavailableError as exc:
        log.info("charger %s: capabilities not read (%s)", identity, exc)
        return
    except Exception as exc:  # a task of its own: nothing above it to catch this
        log.warning("charger %s: capabilities not read: %r", identity, exc)
        return
    log.info("charger %s reports %s", identity, live.capabilities)
