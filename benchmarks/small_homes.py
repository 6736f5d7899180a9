"""Homes with few assets: the reference home (``benchmarks/reference_home.py``) cut down to
one kind of asset (or PV with a battery), the homes whose plans an outside review found
dominated by the optimiser's fixed cost (issue 27; ``benchmarks/bench_overhead.py``).

Each kind keeps the reference home's prices, carbon, base load and weather for ``seed``;
:func:`small_replans` re-plans one with new data at each plan
(``benchmarks/replan_homes.replan``: the same hardware, so a kept model is re-used).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from benchmarks.reference_home import reference_home
from benchmarks.replan_homes import replan
from optimiser import Problem

SMALL_HOME_KINDS = ("pv_battery", "battery", "ev", "heat_pump")
"""PV and a 10 kWh battery; the battery alone; one EV on a charger with a 1.4 kW minimum;
one modulating 3 kW heat pump in its building."""


def small_home(kind: str, seed: int, n_steps: int = 96) -> Problem:
    """The reference home ``seed`` with only the assets of ``kind`` (:data:`SMALL_HOME_KINDS`)."""
    p = reference_home(seed, n_steps)
    keep = {
        "pv_battery": ("pv", "batteries"),
        "battery": ("batteries",),
        "ev": ("evs",),
        "heat_pump": ("heat_pumps",),
    }
    if kind not in keep:
        raise ValueError(f"unknown home kind {kind!r}: one of {', '.join(SMALL_HOME_KINDS)}")
    fields = ("pv", "batteries", "evs", "heat_pumps")
    return replace(p, **{f: () for f in fields if f not in keep[kind]})  # type: ignore[arg-type]


def small_replans(kind: str, seed: int, plans: int, n_steps: int = 96) -> list[Problem]:
    """``plans`` plans of the small home ``seed`` of ``kind``: the home as drawn, then
    re-plans with new prices, forecasts, states and wishes."""
    rng = np.random.default_rng(seed)
    home = small_home(kind, seed, n_steps)
    return [home] + [replan(home, rng) for _ in range(plans - 1)]
