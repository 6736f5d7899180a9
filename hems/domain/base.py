"""What every domain model shares: one config and the field types whose JSON form must be exact.

The same models validate API bodies, settings files, the web app's forms and stored JSON, so a
rule set here holds on every path in:

- ``allow_inf_nan=False``: NaN and +-Infinity are not quantities; the planner would carry them
  into the solver, and the API cannot echo them back in JSON.
- :data:`LocalTime`: a wall-clock time of day as ``hh:mm`` or ``hh:mm:ss[.ffffff]``, with no UTC
  offset (an offset makes an aware time, which cannot be compared with the planner's naive local
  times). The OpenAPI schema says exactly that by a pattern: JSON Schema's ``format: time``
  would demand an offset (RFC 3339 ``full-time``), which is the opposite.
- :data:`PlainText`: a name or id without control characters (NUL cannot be stored in
  PostgreSQL text, and a line break in a name forges log lines).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
_LOCAL_TIME = re.compile(LOCAL_TIME_PATTERN)


class DomainModel(BaseModel):
    """Immutable, no unknown fields, finite numbers only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _local_time(value: Any) -> Any:
    """``hh:mm[:ss[.ffffff]]`` text, or a naive :class:`datetime.time` (TOML local times);
    anything else is refused here so the validator accepts what the schema says, no more."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("a local time of day has no UTC offset")
        return value
    if isinstance(value, str) and _LOCAL_TIME.fullmatch(value):
        return time.fromisoformat(value)
    raise ValueError("a local time of day must be hh:mm or hh:mm:ss (no UTC offset)")


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_TIME_PATTERN,
            "description": "UK local time of day, hh:mm or hh:mm:ss, no UTC offset",
            "examples": ["06:30", "22:30:00"],
        }
    ),
]

PlainText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
"""Text with no control characters (length limits are set per field)."""
