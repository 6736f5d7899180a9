"""The JSON payloads of the topic scheme (docs/devices.md, "MQTT"): what a device reports and
what the CEM sends it. A payload a device sent is checked field by field, so garbage (a
retained message left by another program, a device with a bug) is an :class:`InvalidPayloadError`
that says what is wrong, never a crash."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.devices.capabilities import reported_capabilities
from adapters.devices.driver import Setpoint
from adapters.devices.mqtt.sg_ready import RELAYS, SgReadyState
from kernel.devices import DeviceCapabilities, MeterReading

MAX_PAYLOAD_BYTES = 64 * 1024
# How long a device holds a setpoint or SG-Ready state after it received it, unless a newer
# one comes: a CEM that is connected but no longer plans must not pin the device for ever.
DEFAULT_HOLD_S = 900.0


class InvalidPayloadError(ValueError):
    """A device's payload that does not follow the scheme."""


@dataclass(frozen=True, slots=True)
class ReportedState:
    """A device's ``state`` payload: ``at`` (ISO 8601 with a zone) and ``power_kw`` required;
    ``temperature_c``, ``soc`` (0-1), ``manual_override`` optional."""

    at_utc: datetime
    power_kw: float
    temperature_c: float | None = None
    soc: float | None = None
    manual_override: bool = False


@dataclass(frozen=True, slots=True)
class Ack:
    """A device's ``ack`` payload: the ``seq`` of the setpoint (or SG-Ready state, or plan) it
    took, ``accepted`` and, when refused, a ``reason``."""

    seq: int
    accepted: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PlanStep:
    """From ``start_utc`` the device should hold ``power_kw`` [kW] (until the next step)."""

    start_utc: datetime
    power_kw: float


def _object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidPayloadError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        value = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidPayloadError(f"not JSON (not UTF-8: {payload[:40]!r})") from None
    except json.JSONDecodeError as exc:
        raise InvalidPayloadError(f"not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidPayloadError(f"not a JSON object but {type(value).__name__}")
    return value


def _number(obj: dict[str, Any], key: str, *, required: bool) -> float | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidPayloadError(f"{key!r} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidPayloadError(f"{key!r} is not a finite number: {value!r}")
    return float(value)


def _time(obj: dict[str, Any], key: str) -> datetime:
    value = obj.get(key)
    if not isinstance(value, str):
        raise InvalidPayloadError(f"{key!r} is missing or not a string: {value!r}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPayloadError(f"{key!r} is not an ISO 8601 time: {value!r}") from None
    if at.tzinfo is None:
        raise InvalidPayloadError(f"{key!r} has no time zone: {value!r}")
    return at.astimezone(UTC)


def parse_state(payload: bytes) -> ReportedState:
    """A device's ``state`` payload; :class:`InvalidPayloadError` if it is not one."""
    obj = _object(payload)
    soc = _number(obj, "soc", required=False)
    if soc is not None and not 0 <= soc <= 1:
        raise InvalidPayloadError(f"'soc' is not within 0-1: {soc}")
    override = obj.get("manual_override", False)
    if not isinstance(override, bool):
        raise InvalidPayloadError(f"'manual_override' is not true or false: {override!r}")
    power_kw = _number(obj, "power_kw", required=True)
    assert power_kw is not None
    return ReportedState(
        at_utc=_time(obj, "at"),
        power_kw=power_kw,
        temperature_c=_number(obj, "temperature_c", required=False),
        soc=soc,
        manual_override=override,
    )


CAPABILITY_FIELDS = (
    "max_charge_kw",
    "max_discharge_kw",
    "max_power_kw",
    "capacity_kwh",
    "phases",
    "min_current_a",
)
"""What a device's ``capabilities`` payload may say (:class:`kernel.devices.DeviceCapabilities`)."""


def parse_capabilities(device_id: str, payload: bytes) -> DeviceCapabilities:
    """A device's ``capabilities`` payload: a JSON object of :data:`CAPABILITY_FIELDS` (others
    ignored); :class:`InvalidPayloadError` if it is not an object; a field that is not a
    plausible number is logged and left out (:func:`reported_capabilities`)."""
    obj = _object(payload)
    given = {k: obj[k] for k in CAPABILITY_FIELDS if obj.get(k) is not None}
    return reported_capabilities(device_id, **given)


def parse_meter(payload: bytes) -> MeterReading:
    """A site meter's ``meter`` payload (a consumer access device): ``at`` (ISO 8601 with a
    zone) and ``import_kw`` required, ``export_kw`` (0 when missing), ``import_kwh`` and
    ``export_kwh`` (the meter's registers) optional, each not negative;
    :class:`InvalidPayloadError` if it is not one."""
    obj = _object(payload)
    values = {
        key: _number(obj, key, required=key == "import_kw")
        for key in ("import_kw", "export_kw", "import_kwh", "export_kwh")
    }
    for key, value in values.items():
        if value is not None and value < 0:
            raise InvalidPayloadError(f"{key!r} is negative: {value}")
    import_kw, export_kw = values["import_kw"] or 0.0, values["export_kw"] or 0.0
    return MeterReading(
        at_utc=_time(obj, "at"),
        grid_kw=import_kw - export_kw,
        import_kwh=values["import_kwh"],
        export_kwh=values["export_kwh"],
    )


def parse_ack(payload: bytes) -> Ack:
    """A device's ``ack`` payload; :class:`InvalidPayloadError` if it is not one."""
    obj = _object(payload)
    seq, accepted, reason = obj.get("seq"), obj.get("accepted", True), obj.get("reason")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise InvalidPayloadError(f"'seq' is not an integer: {seq!r}")
    if not isinstance(accepted, bool):
        raise InvalidPayloadError(f"'accepted' is not true or false: {accepted!r}")
    if reason is not None and not isinstance(reason, str):
        raise InvalidPayloadError(f"'reason' is not a string: {reason!r}")
    return Ack(seq, accepted, reason)


def parse_power_command(payload: bytes) -> float:
    """A manual setpoint from Home Assistant's number entity: a bare number [kW]."""
    try:
        value = float(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayloadError(f"not a number: {payload[:40]!r}") from None
    if not math.isfinite(value):
        raise InvalidPayloadError(f"not a finite number: {value}")
    return value


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def setpoint_payload(
    seq: int, setpoint: Setpoint, sent_at: datetime, hold_s: float = DEFAULT_HOLD_S
) -> bytes:
    """The ``setpoint`` payload the CEM publishes (retained, QoS 1)."""
    return _dump(
        {
            "seq": seq,
            "power_kw": setpoint.power_kw,
            "follow_site": setpoint.follow_site,
            "store_surplus": setpoint.store_surplus,
            "hold_s": hold_s,
            "sent_at": _iso(sent_at),
        }
    )


def sg_ready_payload(
    seq: int, state: SgReadyState, sent_at: datetime, hold_s: float = DEFAULT_HOLD_S
) -> bytes:
    """The ``sg_ready`` payload: the state (1-4) and its two relay contacts."""
    relay_1, relay_2 = RELAYS[state]
    return _dump(
        {
            "seq": seq,
            "state": int(state),
            "relays": [relay_1, relay_2],
            "hold_s": hold_s,
            "sent_at": _iso(sent_at),
        }
    )


def plan_payload(
    seq: int,
    steps: Sequence[PlanStep],
    end_utc: datetime,
    sent_at: datetime,
    sg_ready: Sequence[SgReadyState] | None = None,
) -> bytes:
    """The ``plan`` payload: the next hours, each step with its start time (and its SG-Ready
    state for an SG-Ready device), until ``end``."""
    rows: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        row: dict[str, Any] = {"start": _iso(step.start_utc), "power_kw": step.power_kw}
        if sg_ready is not None:
            row["sg_ready"] = int(sg_ready[i])
        rows.append(row)
    return _dump({"seq": seq, "sent_at": _iso(sent_at), "end": _iso(end_utc), "steps": rows})
