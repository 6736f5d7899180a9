"""The synthetic cohort (hems/simulation/cohort.py): reproducible from its seed, shares as its
docstring says, homes the service accepts, and car stays that follow the drawn habits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.domain.home import HomeSpec
from hems.simulation import cohort
from hems.simulation.cohort import draw_cohort, draw_home
from hems.simulation.home import simulate_home

UK = ZoneInfo("Europe/London")
N = 4000
TOLERANCE = 0.03  # about four standard deviations of a share near 0.5 over 4,000 homes


@pytest.fixture(scope="module")
def homes() -> list[cohort.CohortHome]:
    return draw_cohort(N, seed=11)


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def _devices(home: cohort.CohortHome, kind: type) -> list:
    return [d for d in home.spec.devices if isinstance(d, kind)]


def test_the_same_seed_draws_the_same_homes_and_another_seed_others():
    assert draw_cohort(50, seed=3) == draw_cohort(50, seed=3)
    assert draw_cohort(50, seed=3) != draw_cohort(50, seed=4)
    # home i depends on (seed, i) only: a small cohort is the start of a larger one
    assert draw_cohort(20, seed=3) == draw_cohort(50, seed=3)[:20]
    assert draw_home(3, 7) == draw_cohort(8, seed=3)[7]


def test_device_shares_match_the_documented_distributions(homes):
    has_pv = [bool(_devices(h, PvSpec)) for h in homes]
    assert _share(has_pv) == pytest.approx(cohort.PV_SHARE, abs=TOLERANCE)
    with_pv = [bool(_devices(h, BatterySpec)) for h, pv in zip(homes, has_pv, strict=True) if pv]
    without = [
        bool(_devices(h, BatterySpec)) for h, pv in zip(homes, has_pv, strict=True) if not pv
    ]
    assert _share(with_pv) == pytest.approx(cohort.BATTERY_SHARE_WITH_PV, abs=TOLERANCE)
    assert _share(without) == pytest.approx(cohort.BATTERY_SHARE_WITHOUT_PV, abs=TOLERANCE)
    heat_pump = [bool(_devices(h, HeatPumpSpec)) for h in homes]
    assert _share(heat_pump) == pytest.approx(cohort.HEAT_PUMP_SHARE, abs=TOLERANCE)
    ev = [bool(_devices(h, EvChargerSpec)) for h in homes]
    assert _share(ev) == pytest.approx(cohort.EV_SHARE, abs=TOLERANCE)
    assert [h.ev_habit is not None for h in homes] == ev
    consent = [h.preferences.dsr_consent for h in homes]
    assert _share(consent) == pytest.approx(cohort.DSR_CONSENT_SHARE, abs=TOLERANCE)


def test_sizes_and_habits_match_the_documented_weights(homes):
    def check(values: list, weights) -> None:
        total = sum(weights.values())
        assert set(values) <= set(weights)
        for value, weight in weights.items():
            assert values.count(value) / len(values) == pytest.approx(weight / total, abs=TOLERANCE)

    check([d.peak_kw for h in homes for d in _devices(h, PvSpec)], cohort.PV_KWP)
    check(
        [(d.capacity_kwh, d.max_charge_kw) for h in homes for d in _devices(h, BatterySpec)],
        cohort.BATTERY_SIZES,
    )
    check([h.building for h in homes], {k: w for k, (_b, w) in cohort.BUILDINGS.items()})
    check(
        [d.vehicle_capacity_kwh for h in homes for d in _devices(h, EvChargerSpec)],
        cohort.EV_CAPACITY_KWH,
    )
    habits = [h.ev_habit for h in homes if h.ev_habit is not None]
    check([e.leave_local for e in habits], cohort.EV_LEAVE_LOCAL)
    check([e.arrive_local for e in habits], cohort.EV_ARRIVE_LOCAL)
    check([e.target_soc for e in habits], cohort.EV_TARGET_SOC)
    for h in homes:  # a heat pump sized for its building
        for hp in _devices(h, HeatPumpSpec):
            building = cohort.BUILDINGS[h.building][0]
            assert (hp.max_power_kw, hp.heat_loss_kw_per_k) == (
                building.heat_pump_kw,
                building.heat_loss_kw_per_k,
            )
    regions = {h.spec.region for h in homes}
    assert regions == set(cohort.REGIONS)


def test_homes_are_valid_specs_with_unique_serials_and_their_habits_as_preferences(homes):
    assert len({h.spec.cem_serial for h in homes}) == N
    for h in homes[:200]:
        assert HomeSpec.model_validate(h.spec.model_dump()) == h.spec  # what POST /homes takes
        if h.ev_habit is not None:
            for departure in h.preferences.ev_departures.values():
                assert departure.leave_at == h.ev_habit.leave_local
                assert departure.target_soc == h.ev_habit.target_soc


def test_the_simulated_car_comes_and_goes_at_the_homes_habit():
    home = next(h for h in draw_cohort(50, seed=5) if h.ev_habit is not None)
    start = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    stays = home.ev_stays(start, days=2)
    assert stays == home.ev_stays(start, days=2)
    assert len(stays) == 4  # the night before, two days, the night after
    for stay in stays:
        assert stay.arrive_utc.astimezone(UK).time() == home.ev_habit.arrive_local
        assert stay.leave_utc.astimezone(UK).time() == home.ev_habit.leave_local
        assert cohort.EV_ARRIVAL_SOC[0] <= stay.arrival_soc <= cohort.EV_ARRIVAL_SOC[1]
    sim = simulate_home(home.spec, start, seed=home.seed, ev_stays=stays)
    assert sim.devices["EV"].stays == stays


def test_a_negative_count_or_seed_is_refused():
    with pytest.raises(ValueError, match="n >= 0"):
        draw_cohort(-1, seed=0)
    with pytest.raises(ValueError, match="seed >= 0"):
        draw_cohort(1, seed=-1)
