"""A backtest's result in one sentence per home: what the planner saves against the best
rule-based baseline, and how much of the perfect-foresight saving it captures.

The capture ratio is the figure the planner is judged by (docs/backtest.md, "Benchmark"):
``(best baseline's bill - planner's bill) / (best baseline's bill - the bound's bill)``. On the
bill alone a strategy can save by leaving the house cold or the car short; the same ratio on
each strategy's penalised cost (:func:`penalised_cost_gbp`: the bill plus the objective's
penalties for the comfort deficit and the cars' shortfall) is reported beside it.
"""

from __future__ import annotations

import math

import pandas as pd

from hems.backtest.strategies import BASELINE_NAMES
from optimiser import Penalties


def capture_ratio(bills: dict[str, float]) -> tuple[float, str]:
    """The planner's share of the perfect-foresight saving over the best baseline, and that
    baseline's name (``bills`` by strategy name [GBP]; NaN when the bound saves nothing)."""
    baselines = {n: b for n, b in bills.items() if n in BASELINE_NAMES}
    best = min(baselines, key=lambda n: baselines[n])
    room = baselines[best] - bills["perfect_foresight"]
    if room <= 0:
        return float("nan"), best
    return (baselines[best] - bills["planner"]) / room, best


def penalised_cost_gbp(
    bill_gbp: float,
    comfort_deficit_kelvin_hours: float,
    ev_short_kwh: float,
    penalties: Penalties | None = None,
) -> float:
    """A run's bill plus its missed wishes at the prices the planner's objective puts on them
    (``penalties``, default the optimiser's: 1 GBP/K·h below the comfort band, 5 GBP per kWh
    a car lacks at departure) [GBP]: the cost the planner and the bound minimise, so the one
    the bound is a near-bound of (docs/backtest.md)."""
    p = penalties or Penalties()
    return (
        bill_gbp
        + p.comfort_gbp_per_kelvin_hour * comfort_deficit_kelvin_hours
        + p.ev_shortfall_gbp_per_kwh * ev_short_kwh
    )


def penalised_costs(summary: pd.DataFrame) -> dict[str, float]:
    """:func:`penalised_cost_gbp` of each strategy of one home's summary (index ``strategy``)."""
    return {
        str(name): penalised_cost_gbp(
            float(row["bill_gbp"]),
            float(row["comfort_deficit_kelvin_hours"]),
            float(row["ev_short_kwh"]),
        )
        for name, row in summary.iterrows()
    }


def _pounds(gbp: float) -> str:
    """An amount of money, a credit with its sign: ``£1.20``, ``-£0.40``."""
    return f"{'-' if gbp < -0.005 else ''}£{abs(gbp):.2f}"


def home_headline(bills: dict[str, float]) -> str:
    """One home's headline from its bills by strategy [GBP]."""
    baselines = {n: b for n, b in bills.items() if n in BASELINE_NAMES}
    if "planner" not in bills or not baselines:
        return (
            "no headline: it compares the planner with a baseline "
            "(--strategies planner,perfect_foresight,naive,ev_window_battery_timer)"
        )
    best = min(baselines, key=lambda n: baselines[n])
    saving = baselines[best] - bills["planner"]
    share = saving / baselines[best] if baselines[best] > 0 else math.nan
    words = "less" if saving >= 0 else "more"
    text = (
        f"the planner's bill {_pounds(bills['planner'])} is {_pounds(abs(saving))} {words} "
        f"than the best baseline's ({best}, {_pounds(baselines[best])}"
        + ("" if math.isnan(share) else f", {100 * abs(share):.1f} % {words}")
        + ")"
    )
    if "perfect_foresight" not in bills:
        return text + "; add perfect_foresight to --strategies for the capture ratio"
    ratio, _ = capture_ratio(bills)
    room = baselines[best] - bills["perfect_foresight"]
    if math.isnan(ratio):
        return text + f"; perfect foresight saves nothing over {best}"
    return (
        text + f"; it captures {100 * ratio:.1f} % of the perfect-foresight saving "
        f"({_pounds(room)})"
    )


def headlines(summary: pd.DataFrame) -> list[str]:
    """One headline per home of a backtest's summary (index ``strategy``, columns ``home`` and
    ``bill_gbp``); with one home the line does not name it."""
    frame = summary.reset_index()
    homes = list(dict.fromkeys(frame["home"].astype(str)))
    lines = []
    for home in homes:
        rows = frame[frame["home"].astype(str) == home]
        bills = dict(zip(rows["strategy"].astype(str), rows["bill_gbp"].astype(float), strict=True))
        text = home_headline(bills)
        lines.append(text[0].upper() + text[1:] if len(homes) == 1 else f"{home}: {text}")
    return lines
