"""A period split into chunks run in parallel: every day counted once, warm-up dropped, and
the same figures as a continuous run where no state carries over."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from hems.backtest import BacktestConfig, Cadence, run_backtest
from hems.backtest.chunks import run_chunked, split_period
from hems.backtest.forecast_market import HistoricalForecast
from hems.market import ReplayedMarket
from hems.simulation.devices import Stay
from tests.hems.backtest.synthetic import START, home_data

DAYS = 4
STAYS = tuple(
    Stay(START + timedelta(days=d, hours=18), START + timedelta(days=d + 1, hours=7), 0.4)
    for d in range(DAYS)
)


def _config() -> BacktestConfig:
    data = home_data(days=DAYS)
    return BacktestConfig(
        start_utc=START,
        days=DAYS,
        market=HistoricalForecast(data, temperature="persistence"),
        actuals=ReplayedMarket(data.actuals),
        ev_stays=STAYS,
        noise=0.0,
        data_report=data.report,
    )


def test_split_period_warms_up_every_chunk_but_the_first() -> None:
    chunks = split_period(_config(), chunk_days=3, warmup_days=1)
    assert [c.config.start_utc for c in chunks] == [START, START + timedelta(days=2)]
    assert [c.config.days for c in chunks] == [3, 2]  # the last chunk is the remainder
    assert [c.counted_from_utc for c in chunks] == [START, START + timedelta(days=3)]
    assert chunks[-1].counted_until_utc == START + timedelta(days=DAYS)
    assert [c.config.home_id for c in chunks] == ["home#0", "home#1"]
    # the warm-up ends where the chunk's counted days begin (the first chunk has none)
    assert [c.config.warmup_until_utc for c in chunks] == [None, START + timedelta(days=3)]
    assert all(c.config.warmup_cadence is Cadence.DAILY for c in chunks)
    hourly = split_period(_config(), chunk_days=3, warmup_days=1, warmup_cadence="hourly")
    assert hourly[1].config.warmup_cadence is Cadence.HOURLY
    # without an argument, the config's own warm-up cadence
    slot = replace(_config(), warmup_cadence=Cadence.SLOT)
    assert split_period(slot, chunk_days=3)[1].config.warmup_cadence is Cadence.SLOT


def test_a_summer_warm_up_ends_at_the_counted_days_local_midnight() -> None:
    """In British Summer Time a chunk starting at 00:00 UTC counts its local day from 23:00
    UTC: those slots are planned as counted ones, not by the warm-up's plan."""
    summer = datetime(2020, 6, 1, tzinfo=UTC)
    chunks = split_period(replace(_config(), start_utc=summer), chunk_days=2, warmup_days=1)
    assert chunks[1].counted_from_utc == summer + timedelta(days=2)
    assert chunks[1].config.warmup_until_utc == summer + timedelta(days=2, hours=-1)
    with pytest.raises(ValueError, match="chunk_days"):
        split_period(_config(), chunk_days=0)
    with pytest.raises(ValueError, match="warmup_days"):
        split_period(_config(), chunk_days=2, warmup_days=-1)


@pytest.fixture(scope="module")
def runs():  # type: ignore[no-untyped-def]
    config = _config()
    names = ["naive", "battery_self_consumption"]
    whole = run_backtest(config, names)
    chunked = run_chunked(config, names, chunk_days=2, warmup_days=1, workers=2, progress=False)
    return whole, chunked


def test_chunked_run_counts_each_day_once(runs) -> None:  # type: ignore[no-untyped-def]
    whole, chunked = runs
    for name in ("naive", "battery_self_consumption"):
        days = list(chunked.daily[chunked.daily["strategy"] == name]["day"])
        assert days == [START.date() + timedelta(days=d) for d in range(DAYS)]
        assert all(isinstance(d, date) for d in days)
    # one slot row per slot of the period, none from the warm-up
    slots = chunked.slots[chunked.slots["strategy"] == "naive"]
    assert len(slots) == DAYS * 48
    assert slots["slot_start_utc"].min() == START
    s = chunked.summary
    per_day = chunked.daily.groupby("strategy")["bill_gbp"].sum()
    for name in s.index:
        assert s.loc[name, "bill_gbp"] == pytest.approx(per_day[name])
    assert list(s.index) == list(whole.summary.index)


def test_stateless_strategy_matches_a_continuous_run(runs) -> None:  # type: ignore[no-untyped-def]
    whole, chunked = runs
    # the naive home carries no state a chunk edge could reset (the car is away at midnight)
    for column in ("bill_gbp", "import_kwh", "export_kwh", "carbon_kg"):
        assert chunked.summary.loc["naive", column] == pytest.approx(
            whole.summary.loc["naive", column], rel=1e-9
        )
    # the battery restarts from its default state a day before each chunk: close, not equal
    assert chunked.summary.loc["battery_self_consumption", "bill_gbp"] == pytest.approx(
        whole.summary.loc["battery_self_consumption", "bill_gbp"], rel=0.05
    )


def test_day_split_by_a_chunk_edge_after_local_midnight_is_summed() -> None:
    """In British Summer Time a chunk edge at 00:00 UTC is 01:00 local: without a warm-up,
    that day's first hour belongs to one chunk and the rest to the next."""
    summer = datetime(2020, 6, 1, tzinfo=UTC)
    data = home_data(start=summer, days=2)
    config = BacktestConfig(
        start_utc=summer,
        days=2,
        market=HistoricalForecast(data, temperature="persistence"),
        actuals=ReplayedMarket(data.actuals),
        ev_stays=(),  # no car at the chunk edge: nothing for the edge to reset
        noise=0.0,
    )
    whole = run_backtest(config, ["naive"])
    chunked = run_chunked(config, ["naive"], chunk_days=1, warmup_days=0, workers=1, progress=False)
    assert list(chunked.daily["day"]) == list(whole.daily["day"])
    # every slot once, and the split day's row holds both of its parts
    slots = chunked.slots
    assert len(slots) == 2 * 48
    assert slots["slot_start_utc"].is_unique
    assert chunked.daily["bill_gbp"].sum() == pytest.approx(slots["bill_gbp"].sum(), rel=1e-9)
    assert chunked.summary.loc["naive", "bill_gbp"] == pytest.approx(
        slots["bill_gbp"].sum(), rel=1e-9
    )
