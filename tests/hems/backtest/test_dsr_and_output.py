"""DSR delivery against request, and the results written as parquet and CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from hems.backtest import BacktestConfig, run_backtest
from optimiser import DsrKind, DsrRequest

START = datetime(2026, 1, 12, tzinfo=UTC)
EVENT = DsrRequest(
    kind=DsrKind.IMPORT_CAP,
    start_utc=START + timedelta(hours=17),
    end_utc=START + timedelta(hours=20),
    value_kw=0.5,
    penalty_gbp_per_kwh=5.0,
    event_id="evening",
)


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    config = BacktestConfig(start_utc=START, days=1, horizon_hours=24, dsr_events=(EVENT,))
    return run_backtest(config, ["naive", "planner"], cadence="hourly")


def test_dsr_delivery_against_the_naive_reference(results) -> None:  # type: ignore[no-untyped-def]
    dsr = results.dsr.set_index("strategy")
    naive, planner = dsr.loc["naive"], dsr.loc["planner"]
    assert naive["requested_kwh"] > 0.5  # the naive home imports well above the cap
    assert naive["delivered_kwh"] == pytest.approx(0.0)
    assert planner["excess_kwh"] < 0.5 * naive["excess_kwh"]
    assert planner["delivered_kwh"] > 0.5 * planner["requested_kwh"]
    assert planner["delivery_ratio"] == pytest.approx(
        planner["delivered_kwh"] / planner["requested_kwh"]
    )
    slots = results.slots[results.slots["strategy"] == "planner"].set_index("slot_start_utc")
    window = slots.loc[
        pd.Timestamp(EVENT.start_utc) : pd.Timestamp(EVENT.end_utc) - pd.Timedelta(minutes=1)
    ]
    assert planner["import_kwh"] == pytest.approx(window["import_kwh"].sum())


def test_slot_rows_sum_to_the_totals(results) -> None:  # type: ignore[no-untyped-def]
    runs = {r.strategy: r for r in results.runs}
    assert 0 < runs["planner"].forecast_s < runs["planner"].planning_s
    assert runs["naive"].forecast_s == 0.0
    sums = results.slots.groupby("strategy")[["import_kwh", "bill_gbp"]].sum()
    for name in ("naive", "planner"):
        assert sums.loc[name, "import_kwh"] == pytest.approx(
            results.summary.loc[name, "import_kwh"]
        )
        assert sums.loc[name, "bill_gbp"] == pytest.approx(results.summary.loc[name, "bill_gbp"])


def test_results_saved_as_parquet_and_csv(results, tmp_path) -> None:  # type: ignore[no-untyped-def]
    written = results.save(tmp_path / "run.csv")
    names = sorted(p.name for p in written)
    assert names == sorted(
        f"run{s}.{e}" for s in ("", "_daily", "_slots", "_dsr") for e in ("csv", "parquet")
    )
    daily = pd.read_parquet(tmp_path / "run_daily.parquet")
    pd.testing.assert_series_equal(
        daily["bill_gbp"], pd.read_csv(tmp_path / "run_daily.csv")["bill_gbp"]
    )


def test_a_dsr_event_off_the_slot_grid_is_refused() -> None:
    odd = DsrRequest(
        kind=DsrKind.IMPORT_CAP,
        start_utc=START + timedelta(minutes=10),
        end_utc=START + timedelta(hours=1),
        value_kw=1.0,
    )
    with pytest.raises(ValueError, match="slot boundaries"):
        BacktestConfig(start_utc=START, dsr_events=(odd,))
