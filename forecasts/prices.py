"""Price forecast: the published part of Agile exactly, a same-slot pattern beyond it.

Agile publishes the next day's prices (23:00-23:00 UK time) around 16:00 UK time
(:func:`agile_published_until`); a 48 h plan issued in the morning therefore has up to a day and
a half without prices. Those slots take the median of the same local half hour over the last
``days`` days of prices published by the issue time, flagged ``is_forecast``. Prices after the
publication horizon are never used, even when the history passed in holds them (backtests).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from forecasts.grid import before
from forecasts.pattern import MarketForecast, known_then_pattern
from kernel.timegrid import UK_TIMEZONE, TimeGrid

IMPORT_PRICE = "import_price_gbp_per_kwh"
EXPORT_PRICE = "export_price_gbp_per_kwh"
AGILE_PUBLICATION_LOCAL = time(16, 0)


def agile_published_until(
    issued_at_utc: datetime, *, publication: time = AGILE_PUBLICATION_LOCAL
) -> datetime:
    """End of the Agile prices published by ``issued_at_utc``: 23:00 UK time tomorrow once
    ``publication`` (16:00 UK time by default; Octopus says "around 4pm") has passed, else
    23:00 today."""
    tz = ZoneInfo(UK_TIMEZONE)
    local = issued_at_utc.astimezone(tz)
    days_ahead = 1 if local.time() >= publication else 0
    end_day = local.date() + timedelta(days=days_ahead)
    return datetime.combine(end_day, time(23, 0), tzinfo=tz)


def forecast_prices(
    history: pd.Series,
    grid: TimeGrid,
    issued_at_utc: datetime,
    *,
    published_until_utc: datetime | None = None,
    name: str = IMPORT_PRICE,
    days: int = 7,
) -> MarketForecast:
    """Prices on ``grid`` [GBP/kWh].

    Args:
        history: every price known to the caller, by slot start (the cache).
        published_until_utc: end of the prices published by the issue time; default
            :func:`agile_published_until`. Slots before it are taken exactly, later ones are
            forecast from the same-slot pattern of the published prices.
    """
    cutoff = published_until_utc or agile_published_until(issued_at_utc)
    if not history.index.is_monotonic_increasing:
        history = history.sort_index()
    # the pattern reads the whole history up to the cut-off (its table is built once per
    # history object, forecasts.grid.known_slot_table); the exact part only what is published
    return known_then_pattern(
        before(history, cutoff),
        history,
        grid,
        issued_at_utc,
        name=name,
        days=days,
        data_cutoff_utc=cutoff,
    )
