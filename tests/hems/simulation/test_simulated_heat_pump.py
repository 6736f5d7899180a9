"""The simulated heat pump of a home's spec: a modulating one runs at its setpoint, an on/off
one at full power or off (a setpoint of at least half its full power rounds up, below half
down), in its power as read, as metered and in the heat it gives the building."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hems.demo import demo_home_spec
from hems.domain.devices import HeatPumpSpec
from hems.simulation.devices import SimulatedHeatPump
from hems.simulation.home import SimulatedHome, simulate_home
from kernel.devices import Setpoint

START = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _heat_pump(modulating: bool) -> tuple[SimulatedHome, SimulatedHeatPump]:
    spec = HeatPumpSpec(
        name="Heat pump",
        max_power_kw=3.0,
        heat_loss_kw_per_k=0.18,
        thermal_capacity_kwh_per_k=9.0,
        modulating=modulating,
    )
    home = demo_home_spec().model_copy(update={"devices": [spec]})
    sim = simulate_home(home, START, days=1)
    device = sim.devices["Heat pump"]
    assert isinstance(device, SimulatedHeatPump)
    return sim, device


@pytest.mark.parametrize(
    ("setpoint_kw", "modulating_kw", "on_off_kw"),
    [(0.0, 0.0, 0.0), (1.4, 1.4, 0.0), (1.5, 1.5, 3.0), (2.2, 2.2, 3.0), (3.0, 3.0, 3.0)],
)
def test_an_on_off_unit_runs_at_full_power_or_off_whatever_its_setpoint(
    setpoint_kw, modulating_kw, on_off_kw
):
    for modulating, expected_kw in ((True, modulating_kw), (False, on_off_kw)):
        sim, device = _heat_pump(modulating)
        asyncio.run(device.apply(Setpoint(power_kw=setpoint_kw)))
        assert asyncio.run(device.read_state()).power_kw == pytest.approx(expected_kw)
        sim.advance(START + timedelta(hours=1))
        # the meter's last step: the household's load and the heat pump's power
        assert sim.site_power_kw - sim.base_load_kw == pytest.approx(expected_kw)


def test_an_on_off_unit_heats_as_the_modulating_one_at_full_power():
    _, full = _heat_pump(modulating=True)
    sim, on_off = _heat_pump(modulating=False)
    asyncio.run(full.apply(Setpoint(power_kw=3.0)))
    asyncio.run(on_off.apply(Setpoint(power_kw=2.0)))
    env = sim.environment(START)
    full.advance(START + timedelta(hours=1), env)
    on_off.advance(START + timedelta(hours=1), env)
    assert on_off.indoor_c == pytest.approx(full.indoor_c)
    assert on_off.indoor_c > 20.5


def test_the_demo_s_heat_pump_stays_modulating():
    sim = simulate_home(demo_home_spec(), START, days=1)
    device = sim.devices["Heat pump"]
    assert isinstance(device, SimulatedHeatPump)
    assert device.modulating
