"""The plan as a charging schedule, charger settings and meter-value parsing (no peer)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from adapters.devices.ocpp import ChargerSettings, CsmsSettings, PlanStep, limit_for, schedule_for
from adapters.devices.ocpp.csms import identity_from_path
from adapters.devices.ocpp.state import read_meter_values

T0 = datetime(2026, 12, 6, 18, 0, 0, 600_000, tzinfo=UTC)
AMPS = ChargerSettings(identity="CP-1")
THREE_PHASE = ChargerSettings(identity="CP-3", phases=3, max_power_kw=22.0)
WATTS = ChargerSettings(identity="CP-W", rate_unit="W", max_power_kw=11.0)


@pytest.mark.parametrize(
    ("charger", "power_kw", "limit"),
    [
        (AMPS, 7.4, 32.1),  # 7400 / 230 = 32.17 A, rounded down
        (AMPS, 2.3, 10.0),  # exactly 10 A stays 10 A
        (AMPS, 1.3, 0.0),  # 5.6 A: below the 6 A a car takes, a pause
        (AMPS, -3.0, 0.0),  # no discharge asked of a charger
        (AMPS, 50.0, 32.1),  # clipped to the rated 7.4 kW
        (THREE_PHASE, 11.0, 15.9),  # per phase
        (WATTS, 4.25, 4250.0),
        (WATTS, 20.0, 11000.0),
    ],
)
def test_limits_in_the_charger_unit(
    charger: ChargerSettings, power_kw: float, limit: float
) -> None:
    assert limit_for(charger, power_kw) == limit


def test_a_plan_becomes_periods_with_start_offsets() -> None:
    half_hour = timedelta(minutes=30)
    steps = [PlanStep(T0 + i * half_hour, p) for i, p in enumerate((7.4, 7.4, 3.0, 0.0))]
    schedule = schedule_for(AMPS, steps, T0 + 4 * half_hour)
    assert schedule.start_utc == T0.replace(microsecond=0)
    # equal neighbours merge into one period; offsets count from the whole second
    assert schedule.periods == ((0, 32.1), (3600, 13.0), (5400, 0.0))
    assert schedule.duration_s == 7201
    assert schedule.rate_unit == "A"
    assert schedule.number_phases == 1
    assert schedule_for(WATTS, steps[:1]).number_phases is None


@pytest.mark.parametrize(
    ("steps", "end", "message"),
    [
        ([], None, "at least one step"),
        ([PlanStep(T0, 1.0), PlanStep(T0, 2.0)], None, "time order"),
        ([PlanStep(T0.replace(tzinfo=None), 1.0)], None, "timezone-aware"),
        ([PlanStep(T0, 1.0)], T0, "end must come after"),
    ],
)
def test_a_bad_plan_is_refused_clearly(
    steps: list[PlanStep], end: datetime | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        schedule_for(AMPS, steps, end)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"identity": ""}, "1-48 characters"),
        ({"identity": "a/b"}, "no '/'"),
        ({"identity": "CP", "password_hash": "a-long-charger-secret-01"}, "not a hash"),
        ({"identity": "CP", "rate_unit": "kW"}, "rate_unit"),
        ({"identity": "CP", "phases": 4}, "phases"),
        ({"identity": "CP", "max_power_kw": 0}, "max_power_kw"),
    ],
)
def test_bad_charger_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChargerSettings(**fields)  # type: ignore[arg-type]


def test_a_charger_is_paired_once() -> None:
    with pytest.raises(ValueError, match="paired once"):
        CsmsSettings(chargers=(AMPS, ChargerSettings(identity="CP-1")))


@pytest.mark.parametrize(
    ("path", "identity"),
    [("/CP-1", "CP-1"), ("/ocpp/CP-1", "CP-1"), ("/ocpp/CP%201/", "CP 1"), ("/CP-1?x=1", "CP-1")],
)
def test_the_identity_is_the_last_path_segment(path: str, identity: str) -> None:
    assert identity_from_path(path) == identity


def test_meter_values_of_both_versions(caplog: pytest.LogCaptureFixture) -> None:
    v16 = [
        {
            "sampled_value": [
                {"value": "3.7", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "12000", "unit": "Wh"},  # the default measurand: the energy register
                {"value": "61.5", "measurand": "SoC", "unit": "Percent"},
                {"value": "16", "measurand": "Current.Import", "unit": "A"},
                {"value": "1200", "measurand": "Power.Active.Import", "phase": "L1"},
            ]
        }
    ]
    reading = read_meter_values("CP-1", v16)
    assert reading.power_w == pytest.approx(3700.0)
    assert reading.energy_wh == pytest.approx(12000.0)
    assert reading.soc_percent == pytest.approx(61.5)
    v201 = [
        {
            "sampled_value": [
                {
                    "value": 2.5,
                    "measurand": "Energy.Active.Import.Register",
                    "unit_of_measure": {"unit": "kWh", "multiplier": 1},
                },
                {"value": "garbage", "measurand": "Power.Active.Import"},
                {"value": 5, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "VA"}},
            ]
        }
    ]
    with caplog.at_level(logging.WARNING):
        reading = read_meter_values("CP-1", v201)
    assert reading.energy_wh == pytest.approx(25_000.0)
    assert reading.power_w is None
    assert "unreadable meter sample" in caplog.text
    assert "unknown unit 'VA'" in caplog.text
