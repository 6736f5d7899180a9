"""OpenADR 2.0b vocabularies: namespaces, enumerations and response codes.

Values are the exact tokens of the 2.0b schema (``oadr_ei_20b.xsd``, ``oadr_20b.xsd``). Fields
that the schema types as "an enumeration or an ``x-`` token" stay ``str`` in the dataclasses;
these enums name the standard values.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

NS: dict[str, str] = {
    "oadr": "http://openadr.org/oadr-2.0b/2012/07",
    "ei": "http://docs.oasis-open.org/ns/energyinterop/201110",
    "pyld": "http://docs.oasis-open.org/ns/energyinterop/201110/payloads",
    "emix": "http://docs.oasis-open.org/ns/emix/2011/06",
    "xcal": "urn:ietf:params:xml:ns:icalendar-2.0",
    "strm": "urn:ietf:params:xml:ns:icalendar-2.0:stream",
    "power": "http://docs.oasis-open.org/ns/emix/2011/06/power",
    "scale": "http://docs.oasis-open.org/ns/emix/2011/06/siscale",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "dsp": "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties",
}


class ResponseCode(IntEnum):
    """eiResponse codes (OpenADR 2.0b specification, response codes table)."""

    OK = 200
    BAD_REQUEST = 400
    OUT_OF_SEQUENCE = 450
    NOT_ALLOWED = 451
    INVALID_ID = 452
    NOT_RECOGNIZED = 453
    INVALID_DATA = 454
    COMPLIANCE_ERROR = 459
    SIGNAL_NOT_SUPPORTED = 460
    REPORT_NOT_SUPPORTED = 461
    TARGET_MISMATCH = 462
    NOT_REGISTERED_OR_AUTHORIZED = 463
    DEPLOYMENT_ERROR_OR_OTHER = 469


class EventStatus(StrEnum):
    NONE = "none"
    FAR = "far"
    NEAR = "near"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SignalName(StrEnum):
    SIMPLE = "SIMPLE"
    SIMPLE_LOWER = "simple"
    ELECTRICITY_PRICE = "ELECTRICITY_PRICE"
    ENERGY_PRICE = "ENERGY_PRICE"
    DEMAND_CHARGE = "DEMAND_CHARGE"
    BID_PRICE = "BID_PRICE"
    BID_LOAD = "BID_LOAD"
    BID_ENERGY = "BID_ENERGY"
    CHARGE_STATE = "CHARGE_STATE"
    LOAD_DISPATCH = "LOAD_DISPATCH"
    LOAD_CONTROL = "LOAD_CONTROL"


class SignalType(StrEnum):
    DELTA = "delta"
    LEVEL = "level"
    MULTIPLIER = "multiplier"
    PRICE = "price"
    PRICE_MULTIPLIER = "priceMultiplier"
    PRICE_RELATIVE = "priceRelative"
    SETPOINT = "setpoint"
    LOAD_CONTROL_CAPACITY = "x-loadControlCapacity"
    LOAD_CONTROL_LEVEL_OFFSET = "x-loadControlLevelOffset"
    LOAD_CONTROL_PERCENT_OFFSET = "x-loadControlPercentOffset"
    LOAD_CONTROL_SETPOINT = "x-loadControlSetpoint"


class OptReason(StrEnum):
    ECONOMIC = "economic"
    EMERGENCY = "emergency"
    MUST_RUN = "mustRun"
    NOT_PARTICIPATING = "notParticipating"
    OUTAGE_RUN_STATUS = "outageRunStatus"
    OVERRIDE_STATUS = "overrideStatus"
    PARTICIPATING = "participating"
    SCHEDULE = "x-schedule"


class ResponseRequired(StrEnum):
    ALWAYS = "always"
    NEVER = "never"


class ReportName(StrEnum):
    METADATA_TELEMETRY_USAGE = "METADATA_TELEMETRY_USAGE"
    TELEMETRY_USAGE = "TELEMETRY_USAGE"
    METADATA_TELEMETRY_STATUS = "METADATA_TELEMETRY_STATUS"
    TELEMETRY_STATUS = "TELEMETRY_STATUS"
    METADATA_HISTORY_USAGE = "METADATA_HISTORY_USAGE"
    HISTORY_USAGE = "HISTORY_USAGE"
    #: The CEM's PAS 1878-style power profiles (an ``x-`` report: 2.0b has none for offers).
    METADATA_FLEXIBILITY = "x-METADATA_FLEXIBILITY"
    FLEXIBILITY = "x-FLEXIBILITY"


class ReportType(StrEnum):
    USAGE = "usage"
    DEMAND = "demand"
    SET_POINT = "setPoint"
    STORED_ENERGY = "storedEnergy"
    RESOURCE_STATUS = "x-resourceStatus"
    STATE_OF_CHARGE = "x-stateOfCharge"
    INTENDED_OPERATION = "x-intendedOperation"
    LEAST_DELAYED = "x-leastDelayed"
    MOST_DELAYED = "x-mostDelayed"


class ReadingType(StrEnum):
    DIRECT_READ = "Direct Read"
    NET = "Net"
    ESTIMATED = "Estimated"
    SUMMED = "Summed"
    MEAN = "Mean"
    PROJECTED = "Projected"
    NOT_APPLICABLE = "x-notApplicable"


class SiScale(StrEnum):
    """siScaleCode tokens; :data:`SCALE_FACTOR` gives the multiplier of each."""

    P = "p"
    N = "n"
    MICRO = "micro"
    MILLI = "m"
    C = "c"
    D = "d"
    K = "k"
    MEGA = "M"
    G = "G"
    T = "T"
    NONE = "none"


SCALE_FACTOR: dict[SiScale, float] = {
    SiScale.P: 1e-12,
    SiScale.N: 1e-9,
    SiScale.MICRO: 1e-6,
    SiScale.MILLI: 1e-3,
    SiScale.C: 1e-2,
    SiScale.D: 1e-1,
    SiScale.K: 1e3,
    SiScale.MEGA: 1e6,
    SiScale.G: 1e9,
    SiScale.T: 1e12,
    SiScale.NONE: 1.0,
}


class ItemKind(StrEnum):
    """The emix:itemBase elements the VEN reads and writes (element local names)."""

    POWER_REAL = "powerReal"
    ENERGY_REAL = "energyReal"
    VOLTAGE = "voltage"
    CURRENCY_PER_KWH = "currencyPerKWh"
    CUSTOM = "customUnit"


SUPPORTED_SIGNALS: frozenset[tuple[str, str]] = frozenset(
    {
        (SignalName.SIMPLE, SignalType.LEVEL),
        (SignalName.SIMPLE_LOWER, SignalType.LEVEL),
        (SignalName.LOAD_DISPATCH, SignalType.SETPOINT),
        (SignalName.LOAD_DISPATCH, SignalType.DELTA),
        (SignalName.LOAD_CONTROL, SignalType.LOAD_CONTROL_CAPACITY),
        (SignalName.LOAD_CONTROL, SignalType.LOAD_CONTROL_LEVEL_OFFSET),
        (SignalName.LOAD_CONTROL, SignalType.LOAD_CONTROL_PERCENT_OFFSET),
        (SignalName.LOAD_CONTROL, SignalType.LOAD_CONTROL_SETPOINT),
        (SignalName.ELECTRICITY_PRICE, SignalType.PRICE),
        (SignalName.ELECTRICITY_PRICE, SignalType.PRICE_RELATIVE),
        (SignalName.ELECTRICITY_PRICE, SignalType.PRICE_MULTIPLIER),
    }
)
"""(signalName, signalType) pairs the VEN acts on; any other signal is answered with 460."""
