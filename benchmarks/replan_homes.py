"""Re-plan sequences of random homes: one home's hardware, new prices, forecasts, states and
wishes at each plan (what a persistent model, ``optimiser.model_cache``, is for).

A home is the reference home (``benchmarks/reference_home.py``) with a seeded subset of its
assets and options (a charger with or without a minimum power, a car plugged in already, the
service's EV dispatch lag, a heat pump with a minimum power, a battery target, no export);
each re-plan of it redraws the prices (and so where the planner's binaries go), the base load,
PV and weather forecasts, the battery's SoC, the indoor temperature, the EV's SoC, target and
charging power now, the comfort band and the minute of the first slot the plan is made at.
Used by ``tests/optimiser/test_model_cache.py`` and ``benchmarks/bench_replan.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from benchmarks.reference_home import reference_home
from optimiser import EvDispatchLag, PlugInSession, Problem, TimeGrid


def random_home(seed: int, n_steps: int = 96, step_minutes: int = 30) -> Problem:
    """The reference home of ``seed`` with a seeded subset of assets and options."""
    rng = np.random.default_rng(10_000 + seed)
    p = reference_home(seed, n_steps, step_minutes)
    keep = rng.random(4) < 0.75
    bat = replace(p.batteries[0], target_soc_end=0.5 if rng.random() < 0.3 else None)
    ev = replace(p.evs[0], min_charge_kw=float(rng.choice([0.0, 1.4, 1.4])))
    if rng.random() < 0.3:  # plugged in already
        session = replace(ev.sessions[0], arrival_utc=p.grid.start_utc - timedelta(hours=1))
        ev = replace(ev, sessions=(session,))
    lag = EvDispatchLag()
    if rng.random() < 0.5:  # the service's safeguards: a randomised delay and a ramp
        lag = EvDispatchLag(rise_delay_s=300.0, ramp_kw_per_min=2.0, longest_delay_s=600.0)
    hp = replace(p.heat_pumps[0], min_power_kw=float(rng.choice([0.0, 0.0, 0.8])))
    return replace(
        p,
        pv=p.pv if keep[0] else (),
        batteries=(bat,) if keep[1] else (),
        evs=(ev,) if keep[2] else (),
        heat_pumps=(hp,) if keep[3] else (),
        export_limit_kw=float(rng.choice([3.68, 3.68, 0.0])),
        ev_dispatch_lag=lag,
    )


def replan(home: Problem, rng: np.random.Generator) -> Problem:
    """``home`` re-planned: the same hardware and horizon, new data of every kind."""
    n = home.grid.n_steps
    price = home.import_price * rng.uniform(0.9, 1.1) + 0.01 * rng.standard_normal(n)
    price[rng.random(n) < 0.02] = -0.02
    export = np.clip(0.55 * price, 0.0, None) + 0.01
    minute = float(rng.uniform(0, home.grid.step_minutes))
    kw: dict[str, object] = {
        "import_price_gbp_per_kwh": price,
        "export_price_gbp_per_kwh": export,
        "carbon_intensity_g_per_kwh": home.carbon_intensity * rng.uniform(0.8, 1.2, n),
        "base_load_kw": home.base_load * rng.uniform(0.7, 1.3, n),
        "plan_start_utc": home.grid.start_utc + timedelta(minutes=minute),
    }
    if home.pv:
        kw["pv"] = (replace(home.pv[0], forecast_kw=home.pv[0].forecast * rng.uniform(0.5, 1.5)),)
    if home.batteries:
        b = home.batteries[0]
        target = None if b.target_soc_end is None else float(rng.uniform(0.2, 0.9))
        soc = float(rng.uniform(b.min_soc, b.max_soc))
        kw["batteries"] = (replace(b, initial_soc=soc, target_soc_end=target),)
    if home.evs:
        ev = home.evs[0]
        s = ev.sessions[0]
        session = replace(
            s, arrival_soc=float(rng.uniform(0.1, 0.6)), target_soc=float(rng.uniform(0.6, 1.0))
        )
        charging_kw = float(rng.choice([0.0, 0.0, 3.7, ev.max_charge_kw]))
        kw["evs"] = (replace(ev, sessions=(session,), charging_kw=charging_kw),)
    if home.heat_pumps:
        hp = home.heat_pumps[0]
        building = replace(hp.building, initial_indoor_temperature_c=float(rng.uniform(17.0, 21.5)))
        shift = float(rng.uniform(-1.0, 1.0))
        kw["heat_pumps"] = (
            replace(
                hp,
                building=building,
                comfort_min_c=np.asarray(hp.comfort_min_c) + shift,
                comfort_max_c=np.asarray(hp.comfort_max_c) + shift,
            ),
        )
        kw["outdoor_temperature_c"] = home.outdoor_temperature + rng.normal(0.0, 1.5)
    return replace(home, **kw)  # type: ignore[arg-type]


def replans(
    seed: int, plans: int, n_steps: int = 96, step_minutes: int = 30, *, reference: bool = False
) -> list[Problem]:
    """``plans`` re-plans of the random home ``seed`` (the first one as drawn); with
    ``reference``, of the reference home ``seed`` itself (every asset, as the optimiser's
    benchmark plans it)."""
    rng = np.random.default_rng(seed)
    if reference:
        home = reference_home(seed, n_steps, step_minutes)
    else:
        home = random_home(seed, n_steps, step_minutes)
    return [home] + [replan(home, rng) for _ in range(plans - 1)]


def moving_replans(
    seed: int, plans: int, n_steps: int = 96, step_minutes: int = 30
) -> list[Problem]:
    """The reference home ``seed`` planned at ``plans`` consecutive slots, as the service
    plans it: each grid starts a slot after the last, the series move with it, the EV's stays
    are at fixed times (the car plugged in now leaves 3 slots and 10 minutes in, the next stay
    arrives 40 minutes after the first grid's end and enters the horizon two slots later),
    with the service's dispatch lag; the states measured (SoCs, the charger's power, the
    indoor temperature) and the plan's minute in its first slot change at each plan."""
    rng = np.random.default_rng(20_000 + seed)
    home = reference_home(seed, n_steps + plans, step_minutes)
    start, step = home.grid.start_utc, timedelta(minutes=step_minutes)
    away = PlugInSession(
        arrival_utc=start - timedelta(hours=1),
        departure_utc=start + 3 * step + timedelta(minutes=10),
        arrival_soc=0.4,
        target_soc=0.55,
    )
    back = PlugInSession(
        arrival_utc=start + n_steps * step + timedelta(minutes=40),
        departure_utc=start + n_steps * step + timedelta(hours=8),
        arrival_soc=float(rng.uniform(0.2, 0.5)),
        target_soc=0.9,
    )
    lag = EvDispatchLag(rise_delay_s=300.0, ramp_kw_per_min=2.0, longest_delay_s=600.0)
    hp = home.heat_pumps[0]
    out = []
    for k in range(plans):
        now = slice(k, k + n_steps)
        grid = TimeGrid(start_utc=start + k * step, step_minutes=step_minutes, n_steps=n_steps)
        soc = float(rng.uniform(0.3, 0.6))
        ev = replace(
            home.evs[0],
            sessions=(replace(away, arrival_soc=soc), back),
            charging_kw=float(rng.choice([0.0, 3.7, 7.4])),
        )
        warm = float(rng.uniform(18.0, 21.5))
        out.append(
            replace(
                home,
                grid=grid,
                plan_start_utc=grid.start_utc
                + timedelta(minutes=float(rng.uniform(0, step_minutes * 2 / 3))),
                import_price_gbp_per_kwh=home.import_price[now],
                export_price_gbp_per_kwh=home.export_price[now],
                carbon_intensity_g_per_kwh=home.carbon_intensity[now],
                base_load_kw=home.base_load[now],
                outdoor_temperature_c=home.outdoor_temperature[now],
                pv=(replace(home.pv[0], forecast_kw=home.pv[0].forecast[now]),),
                batteries=(replace(home.batteries[0], initial_soc=float(rng.uniform(0.2, 0.8))),),
                evs=(ev,),
                heat_pumps=(
                    replace(
                        hp,
                        building=replace(
                            hp.building,
                            initial_indoor_temperature_c=warm,
                            solar_gain_kw=np.asarray(hp.building.solar_gain_kw)[now],
                            internal_gain_kw=np.asarray(hp.building.internal_gain_kw)[now],
                        ),
                        comfort_min_c=np.asarray(hp.comfort_min_c)[now],
                        comfort_max_c=np.asarray(hp.comfort_max_c)[now],
                    ),
                ),
                ev_dispatch_lag=lag,
            )
        )
    return out
