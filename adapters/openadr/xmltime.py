"""xCal date-times and durations as the 2.0b schema types them.

DateTimeType is ``YYYY-MM-DDThh:mm:ss(.s*)?Z?`` (UTC only); DurationValueType is an ISO 8601
duration in whole units (``PT2S``, ``P1DT2H``, ``-PT5M``, ``P2W``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?:(?P<weeks>\d+)W|(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?"
    r"(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?)$"
)
_SECONDS = {
    "weeks": 604800.0,
    "years": 365 * 86400.0,  # approximated: 2.0b events and reports do not use calendar units
    "months": 30 * 86400.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
}


def format_datetime(value: datetime) -> str:
    """UTC, second resolution or microseconds when present, with a trailing Z."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: OpenADR times must be timezone-aware")
    # isoformat (several times faster than strftime) writes the fraction only when non-zero.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_datetime(text: str) -> datetime:
    """Parse a DateTimeType; a value without Z is read as UTC (the schema allows it)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1]
    if "." in value:
        head, frac = value.split(".", 1)
        value = f"{head}.{(frac + '000000')[:6]}"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return parsed.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """Seconds -> ``PT…S`` / ``PT…M`` / ``PT…H`` with whole seconds (schema: integers only)."""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return f"{sign}PT{parts or '0S'}"


def parse_duration(text: str) -> float:
    """An ISO 8601 duration -> seconds. Raises ValueError when it is not one."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in {"P", "PT", "-P", "+P"}:
        raise ValueError(f"not a duration: {text!r}")
    total = sum(float(match[name]) * factor for name, factor in _SECONDS.items() if match[name])
    return -total if match["sign"] == "-" else total
