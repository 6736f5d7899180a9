"""The preferences form: to and from :class:`hems.domain.preferences.Preferences`.

The form shows percentages and local times; the domain model holds fractions and local times.
Validation is the domain model's own: its errors are mapped back onto the form's fields and
worded for a person (units as the form shows them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from hems.domain.preferences import NEXT_TRIP_MAX_AHEAD, WEEKDAYS, Preferences

UK = ZoneInfo("Europe/London")
COMFORT_ROWS = 4  # rows shown at least (one more than the periods stored, if more)
OPT_OUT_ROWS = 2
MAX_ROWS = 48
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def _label(field: str) -> tuple[str, float, str]:
    """A field's name for people, the scale from model to form, and the form's unit."""
    if field.startswith("dep_"):
        day = DAY_NAMES[field.split("_")[1]]
        if field.endswith("_target"):
            return f"{day}'s charge target", 100.0, "%"
        return f"{day}'s departure time", 1.0, ""
    if field.startswith("comfort_") and field != "comfort_max":
        i = int(field.split("_")[1]) + 1
        if field.endswith("_min"):
            return f"Comfort period {i}'s minimum", 1.0, "°C"
        return f"Comfort period {i}'s start", 1.0, ""
    if field.startswith("optout_"):
        i = int(field.split("_")[1]) + 1
        return f"Opt-out window {i}", 1.0, ""
    return {
        "next_trip_at": ("The next trip's departure", 1.0, ""),
        "next_trip_target": ("The next trip's charge target", 100.0, "%"),
        "comfort_max": ("The maximum indoor temperature", 1.0, "°C"),
        "reserve": ("The battery reserve", 100.0, "%"),
        "carbon": ("The cost-versus-carbon setting", 100.0, ""),
    }.get(field, (field, 1.0, ""))


def rows(values: Mapping[str, str], prefix: str, at_least: int) -> range:
    """The rows a repeated group needs: every filled row and one empty, at least ``at_least``."""
    used = [
        i
        for i in range(MAX_ROWS)
        if any(k.startswith(f"{prefix}_{i}_") and v for k, v in values.items())
    ]
    return range(max(at_least, (max(used) + 2) if used else 0))


def values_from(prefs: Preferences, now: datetime) -> dict[str, str]:
    """The form's fields for the stored preferences (a next trip already past is left out)."""
    v: dict[str, str] = {}
    if prefs.ev_next_trip is not None and prefs.ev_next_trip.leave_at > now:
        v["next_trip_at"] = prefs.ev_next_trip.leave_at.astimezone(UK).strftime("%Y-%m-%dT%H:%M")
        v["next_trip_target"] = f"{prefs.ev_next_trip.target_soc * 100:g}"
    for day in WEEKDAYS:
        dep = prefs.ev_departures.get(day)
        if dep is not None:
            v[f"dep_{day.value}_on"] = "on"
            v[f"dep_{day.value}_time"] = dep.leave_at.strftime("%H:%M")
            v[f"dep_{day.value}_target"] = f"{dep.target_soc * 100:g}"
    if prefs.ev_allow_peak_charging:
        v["allow_peak"] = "on"
    for i, period in enumerate(sorted(prefs.comfort, key=lambda p: p.start)):
        v[f"comfort_{i}_start"] = period.start.strftime("%H:%M")
        v[f"comfort_{i}_min"] = f"{period.min_c:g}"
    v["comfort_max"] = f"{prefs.comfort_max_c:g}"
    v["reserve"] = f"{prefs.battery_reserve_soc * 100:g}"
    v["carbon"] = f"{prefs.carbon_preference * 100:g}"
    if prefs.dsr_consent:
        v["dsr_consent"] = "on"
    if prefs.octopus_join_saving_sessions:
        v["octopus_join"] = "on"
    for i, w in enumerate(prefs.dsr_opt_out_windows):
        v[f"optout_{i}_start"] = w.start.strftime("%H:%M")
        v[f"optout_{i}_end"] = w.end.strftime("%H:%M")
    return v


def parse(form: Mapping[str, str], now: datetime) -> tuple[Preferences | None, dict[str, str]]:
    """The preferences a submitted form describes, or the messages saying what is wrong (by
    form field; ``""`` for the form as a whole)."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    def number(name: str, scale: float = 1.0) -> float | None:
        raw = text(name)
        if not raw:
            errors[name] = f"{_label(name)[0]} is missing."
            return None
        try:
            return float(raw) / scale
        except ValueError:
            errors[name] = f"{_label(name)[0]} must be a number."
            return None

    raw: dict[str, Any] = {}
    if text("next_trip_at"):
        try:
            leave = datetime.fromisoformat(text("next_trip_at")).replace(tzinfo=UK)
        except ValueError:
            errors["next_trip_at"] = "The next trip's departure must be a date and time."
        else:
            if leave <= now:
                errors["next_trip_at"] = "The next trip's departure must be in the future."
            elif leave > now + NEXT_TRIP_MAX_AHEAD:
                errors["next_trip_at"] = "The next trip's departure must be within a year."
            raw["ev_next_trip"] = {
                "leave_at": leave.isoformat(),
                "target_soc": number("next_trip_target", 100.0),
            }
    departures: dict[str, Any] = {}
    for day in WEEKDAYS:
        d = day.value
        if form.get(f"dep_{d}_on"):
            departures[d] = {
                "leave_at": text(f"dep_{d}_time") or None,
                "target_soc": number(f"dep_{d}_target", 100.0),
            }
    raw["ev_departures"] = departures
    raw["ev_allow_peak_charging"] = bool(form.get("allow_peak"))
    comfort_rows: list[int] = []
    comfort: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        if text(f"comfort_{i}_start") or text(f"comfort_{i}_min"):
            comfort_rows.append(i)
            comfort.append(
                {"start": text(f"comfort_{i}_start") or None, "min_c": number(f"comfort_{i}_min")}
            )
    raw["comfort"] = comfort
    raw["comfort_max_c"] = number("comfort_max")
    raw["battery_reserve_soc"] = number("reserve", 100.0)
    raw["carbon_preference"] = number("carbon", 100.0)
    raw["dsr_consent"] = bool(form.get("dsr_consent"))
    raw["octopus_join_saving_sessions"] = bool(form.get("octopus_join"))
    windows = []
    for i in range(MAX_ROWS):
        start, end = text(f"optout_{i}_start"), text(f"optout_{i}_end")
        if start or end:
            if not (start and end):
                errors[f"optout_{i}_start"] = f"Opt-out window {i + 1} needs a start and an end."
            windows.append({"start": start or None, "end": end or None})
    raw["dsr_opt_out_windows"] = windows
    # validated even when the form's own checks failed, so every field's error is shown at
    # once (a field keeps the first message it got)
    try:
        prefs = Preferences.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            field = _field_of(err["loc"], comfort_rows)
            message = _message(field, err)
            if not field and "maximum indoor temperature" in message:
                field = "comfort_max"
            errors.setdefault(field, message)
    return (None, errors) if errors else (prefs, {})


def _field_of(loc: tuple[int | str, ...], comfort_rows: list[int]) -> str:
    match loc:
        case ("ev_departures", day, "target_soc"):
            return f"dep_{day}_target"
        case ("ev_departures", day, *_):
            return f"dep_{day}_time"
        case ("ev_next_trip", "target_soc"):
            return "next_trip_target"
        case ("ev_next_trip", *_):
            return "next_trip_at"
        case ("comfort", int(i), "min_c"):
            return f"comfort_{comfort_rows[i]}_min"
        case ("comfort", int(i), *_):
            return f"comfort_{comfort_rows[i]}_start"
        case ("comfort",):
            return "comfort_0_start"
        case ("comfort_max_c",):
            return "comfort_max"
        case ("battery_reserve_soc",):
            return "reserve"
        case ("carbon_preference",):
            return "carbon"
        case ("dsr_opt_out_windows", int(i), *_):
            return f"optout_{i}_start"
    return ""


def _message(field: str, err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if not field:
        msg = str(err["msg"]).removeprefix("Value error, ")
        if "comfort_max_c" in msg:
            return (
                "A comfort minimum is above the maximum indoor temperature: raise the maximum "
                "or lower the minimum."
            )
        if "different times" in msg:
            return "Two comfort periods start at the same time: give each its own start."
        return msg[:1].upper() + msg[1:] + "."
    label, scale, unit = _label(field)
    unit = f" {unit}" if unit and unit != "%" else unit
    if kind in ("greater_than_equal", "greater_than"):
        return (
            f"{label} must be at least {float(ctx['ge' if 'ge' in ctx else 'gt']) * scale:g}{unit}."
        )
    if kind in ("less_than_equal", "less_than"):
        return (
            f"{label} must be at most {float(ctx['le' if 'le' in ctx else 'lt']) * scale:g}{unit}."
        )
    if kind == "too_short":
        return "Give at least one comfort period."
    if kind.startswith(("time", "datetime")) or kind == "none_required":
        return f"{label} must be a time (hh:mm)."
    return f"{label}: {err['msg']}."
