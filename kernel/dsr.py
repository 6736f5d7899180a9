"""The demand side response vocabulary the VEN, the optimiser and the service share.

An OpenADR event reaches the home as requests of one :class:`DsrKind` (the VEN maps the
signals, the optimiser turns each into a soft constraint, the service stores it); the home
answers with an :class:`OptType`; telemetry and reports name the grid connection point
:data:`SITE`. The enum values are the strings stored and sent on the wire, so a value read
back from storage or a message converts with ``DsrKind(text)`` / ``OptType(text)``.
"""

from __future__ import annotations

from enum import StrEnum

SITE = "site"
"""The resource id of the grid connection point (the whole home)."""


class DsrKind(StrEnum):
    """What a DSR request asks of the site's grid power (the soft constraints are in
    ``optimiser.dsr``).

    IMPORT_CAP: import at most ``value_kw`` (LOAD_CONTROL capacity, SIMPLE levels);
    EXPORT_FLOOR: export at least ``value_kw``; SETPOINT: hold the net power at ``value_kw``
    (LOAD_DISPATCH setpoint); REDUCTION: consume ``value_kw`` less than the baseline
    (LOAD_DISPATCH delta).
    """

    IMPORT_CAP = "import_cap"
    EXPORT_FLOOR = "export_floor"
    SETPOINT = "setpoint"
    REDUCTION = "reduction"


class OptType(StrEnum):
    """The home's answer to an event: take part or not (OpenADR 2.0b ``ei:optType``; the
    service stores the same strings as an event's response)."""

    OPT_IN = "optIn"
    OPT_OUT = "optOut"
