"""Real-data loaders on small synthetic files: gaps, duplicates, clock changes, reports."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hems.backtest.data import (
    DATA_DIR_ENV,
    DataGapError,
    DataMissingError,
    SeriesReport,
    data_dir,
    draw_ev_stays,
    load_agile_import,
    load_dundee_sessions,
    load_era5_temperature,
    load_household_kwh,
    load_pvgis_kw_per_kwp,
)
from hems.backtest.home_data import assemble_home_data
from tests.hems.backtest.synthetic import series, write


def test_data_dir_from_argument_env_or_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DataMissingError, match=DATA_DIR_ENV):
        data_dir(None)
    with pytest.raises(DataMissingError, match="does not exist"):
        data_dir(tmp_path / "nope")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data_dir(None) == tmp_path
    with pytest.raises(DataMissingError, match="agile"):
        load_agile_import(tmp_path)


def test_agile_duplicates_and_gap_counted_and_converted_to_gbp(tmp_path: Path) -> None:
    rows = [
        "2020-01-01 00:00:00+00:00,10.0",
        "2020-01-01 00:30:00+00:00,12.0",
        "2020-01-01 00:30:00+00:00,99.0",  # duplicate: the first is kept
        # 01:00 missing: interpolated
        "2020-01-01 01:30:00+00:00,16.0",
    ]
    write(tmp_path / "a.csv", "timestamp,rate\n" + "\n".join(rows) + "\n")
    price, report = load_agile_import(tmp_path, "a.csv")
    assert price.tolist() == pytest.approx([0.10, 0.12, 0.14, 0.16])
    assert report.duplicates_dropped == 1
    assert report.slots_interpolated == 1
    assert list(report.filled_at) == [pd.Timestamp("2020-01-01 01:00", tz="UTC")]


def test_agile_local_time_file_across_the_autumn_clock_change(tmp_path: Path) -> None:
    # UK local naive times: 01:00 and 01:30 happen twice on 25 Oct 2020
    times = ["00:00", "00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]
    body = "\n".join(f"2020-10-25 {t},{i}" for i, t in enumerate(times))
    write(tmp_path / "b.csv", "Date_Time,Rate (p/kWh)\n" + body + "\n")
    price, report = load_agile_import(tmp_path, "b.csv")
    assert len(price) == 7  # 23:00 BST (22:00 UTC) to 01:00 GMT in 7 distinct UTC slots
    assert price.index[0] == pd.Timestamp("2020-10-24 23:00", tz="UTC")
    assert price.index[-1] == pd.Timestamp("2020-10-25 02:00", tz="UTC")
    assert report.duplicates_dropped == 0
    assert report.slots_interpolated == 0


def test_household_newest_first_end_stamps_and_year_fill(tmp_path: Path) -> None:
    later = pd.date_range("2021-03-01 00:30", periods=48, freq="30min", tz="UTC")  # ends
    own = pd.date_range("2020-03-02 12:30", periods=24, freq="30min", tz="UTC")
    rows = [(t, 1.0 + i / 100) for i, t in enumerate(later)]
    rows += [(t, 2.0) for t in own if t.hour != 15]  # 15:00 and 15:30 ends missing
    rows.append((own[0], 7.0))  # a duplicate after the first: dropped
    rows.sort(key=lambda r: r[0], reverse=True)
    rows.append((own[0], 9.0))  # the first in file order is the newest-first row: kept
    text = "halfhour ending at,usage\n" + "\n".join(f"{t},{v}" for t, v in rows) + "\n"
    write(tmp_path / "h.csv", text)
    start = datetime(2020, 3, 2, tzinfo=UTC)
    load, report = load_household_kwh(tmp_path, start, start + timedelta(days=1), "h.csv")
    day = load[pd.Timestamp(start) : pd.Timestamp(start) + pd.Timedelta(hours=23, minutes=30)]
    assert len(day) == 48
    assert not day.isna().any()
    # the morning comes from 52 weeks later (2021-03-01, a Monday like 2020-03-02)
    assert day.iloc[0] == pytest.approx(1.0)
    assert day.iloc[23] == pytest.approx(1.23)
    assert day.iloc[24] == pytest.approx(2.0)  # own data from 12:00
    assert report.duplicates_dropped == 2
    assert report.slots_interpolated == 2
    assert report.slots_filled_other == 24
    assert report.slots_missing == 0


def test_pvgis_footer_kw_per_kwp_interpolation_and_year_shift(tmp_path: Path) -> None:
    hours = [f"20160101:{h:02d}56,{100 * h}" for h in range(24)]
    text = "Date,EPV\n" + "\n".join(hours) + "\n,\nEPV: PV system power (W),\n"
    write(tmp_path / "pv.csv", text)
    pv, report = load_pvgis_kw_per_kwp(tmp_path, 2020, "pv.csv")
    assert report.unparsable_dropped == 2  # the footer
    # hour 11 (1.1 kW) sits at 11:30, hour 12 (1.2 kW) at 12:30; slot 12:00's middle is 12:15
    assert pv[pd.Timestamp("2020-01-01 12:00", tz="UTC")] == pytest.approx(0.75 * 1.2 + 0.25 * 1.1)
    assert len(pv) == 366 * 48
    assert pv.index.name == "slot_start_utc"
    pv21, _ = load_pvgis_kw_per_kwp(tmp_path, 2021, "pv.csv")
    assert len(pv21) == 365 * 48
    assert pv21[pd.Timestamp("2021-01-01 12:00", tz="UTC")] == pytest.approx(1.175)


def test_era5_gap_interpolated_and_half_hours(tmp_path: Path) -> None:
    rows = [f"2020-01-01 {h:02d}:00:00+00:00,{float(h)}" for h in range(6) if h != 3]
    write(tmp_path / "t.csv", "time_utc,temp_2m\n" + "\n".join(rows) + "\n")
    temp, report = load_era5_temperature(tmp_path, "t.csv")
    assert report.slots_interpolated == 1
    assert temp.tolist() == pytest.approx([h / 2 for h in range(11)])


def test_dundee_cleaning_keeps_evening_slow_sessions(tmp_path: Path) -> None:
    header = (
        "Charging event,CP ID,Connector,Start Date,Start Time,End Date,End Time,Total kWh,Model"
    )
    rows = [
        "1,1,1,01/06/2018,18:00,02/06/2018,07:00,12.5,APT 7kW Dual Outlet",  # kept
        "1,1,1,01/06/2018,18:00,02/06/2018,07:00,12.5,APT 7kW Dual Outlet",  # duplicate id
        "2,1,1,01/06/2018,19:00,02/06/2018,07:00,-3,APT 7kW Dual Outlet",  # negative
        "3,1,1,01/06/2018,19:00,02/06/2018,07:00,5000,APT 22kW Dual Outlet",  # > 1000 kWh
        "4,1,1,01/06/2018,19:00,,,10,APT 22kW Dual Outlet",  # missing end
        "5,1,1,01/06/2018,19:00,01/06/2018,20:00,30,APT Dual Rapid Charger",  # rapid
        "6,1,1,01/06/2018,09:00,01/06/2018,17:00,8,APT 7kW Single Outlet",  # daytime
        "7,1,1,01/06/2018,20:30,02/06/2018,06:30,6.0,APT 22kW Dual Outlet",  # kept
    ]
    write(tmp_path / "ev.csv", header + "\n" + "\n".join(rows) + "\n")
    sessions = load_dundee_sessions(tmp_path, ("ev.csv",))
    assert sessions.plug_in_local_h.tolist() == [18.0, 20.5]
    assert sessions.stay_h.tolist() == [13.0, 10.0]
    assert sessions.report.duplicates_dropped == 1
    assert sessions.report.unparsable_dropped == 3
    start = datetime(2020, 6, 1, tzinfo=UTC)
    stays = draw_ev_stays(sessions, start, 5, capacity_kwh=50.0, seed=1)
    assert len(stays) == 7
    for a, b in itertools.pairwise(stays):
        assert a.leave_utc <= b.arrive_utc - timedelta(minutes=30)
    for s in stays:
        local = s.arrive_utc.astimezone(pd.Timestamp.now(tz="Europe/London").tzinfo)
        assert (local.hour, local.minute) in ((18, 0), (20, 30))
        assert s.arrival_soc in (pytest.approx(0.8 - 12.5 / 50), pytest.approx(0.8 - 6.0 / 50))


def _assemble(gap: bool, allow_fill: bool):  # type: ignore[no-untyped-def]
    start = datetime(2020, 3, 2, tzinfo=UTC)
    s = series(start - timedelta(days=3), 6)
    price = s["price"].copy()
    if gap:
        price = price.drop(
            price.index[(price.index >= start) & (price.index < start + timedelta(hours=3))]
        )
    carbon = pd.DataFrame(
        {
            "carbon_intensity_actual_g_per_kwh": s["carbon"],
            "carbon_intensity_forecast_g_per_kwh": s["carbon"],
            "carbon_intensity_g_per_kwh": s["carbon"],
        }
    )

    def rep(name: str) -> SeriesReport:
        return SeriesReport(name=name, source="synthetic", rows_read=1)

    return assemble_home_data(
        start_utc=start,
        end_utc=start + timedelta(days=1),
        import_price_gbp_per_kwh=(price, rep("price")),
        carbon=(carbon, rep("carbon")),
        base_load_kwh=(s["load"], rep("load")),
        pv_kw_per_kwp=(s["pv"], rep("pv")),
        outdoor_temperature_c=(s["temp"], rep("temp")),
        horizon_hours=24,
        allow_fill=allow_fill,
    ), s


def test_partly_missing_period_refused_unless_filling_allowed() -> None:
    data, _ = _assemble(gap=False, allow_fill=False)
    assert data.report.slots_filled == 0
    assert list(data.actuals.columns) == [
        "import_price_gbp_per_kwh",
        "carbon_intensity_g_per_kwh",
        "base_load_kw",
        "outdoor_temperature_c",
        "pv_kw_per_kwp",
        "export_price_gbp_per_kwh",
    ]
    assert len(data.actuals) == 96
    with pytest.raises(DataGapError, match="import_price_gbp_per_kwh: 6 slot"):
        _assemble(gap=True, allow_fill=False)
    filled, s = _assemble(gap=True, allow_fill=True)
    price = filled.actuals["import_price_gbp_per_kwh"]
    day_before = s["price"].shift(48).reindex(price.index)
    assert np.allclose(price.iloc[:6], day_before.iloc[:6])
    report = filled.report.frame().set_index("name")
    assert report.loc["price", "slots_filled_other"] == 6
    assert filled.report.slots_filled == 6


def test_misaligned_start_refused() -> None:
    s = series(datetime(2020, 3, 1, tzinfo=UTC), 3)
    rep = SeriesReport(name="x", source="x", rows_read=1)
    with pytest.raises(ValueError, match="half-hour"):
        assemble_home_data(
            start_utc=datetime(2020, 3, 2, 0, 10, tzinfo=UTC),
            end_utc=datetime(2020, 3, 2, 12, tzinfo=UTC),
            import_price_gbp_per_kwh=(s["price"], rep),
            carbon=(pd.DataFrame({"carbon_intensity_g_per_kwh": s["carbon"]}), rep),
            base_load_kwh=(s["load"], rep),
            pv_kw_per_kwp=(s["pv"], rep),
            outdoor_temperature_c=(s["temp"], rep),
        )


def test_data_given_to_a_config_must_reach_past_both_horizons(tmp_path, monkeypatch):
    # perfect foresight rolls on 48 h while the planner looks 36 h ahead: data loaded for the
    # shorter one would leave the bound reading past its end (the replay wraps round)
    from datetime import UTC, datetime, timedelta

    from hems.backtest import real_data_config
    from hems.backtest.home_data import load_home_data
    from tests.hems.backtest.synthetic import write_data_folder

    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    start = datetime(2020, 3, 2, tzinfo=UTC)
    short = load_home_data(folder, start, start + timedelta(days=1), horizon_hours=36)
    with pytest.raises(ValueError, match="48 h horizon"):
        real_data_config(folder, start, 1, data=short)
    enough = load_home_data(folder, start, start + timedelta(days=1), horizon_hours=48)
    config = real_data_config(folder, start, 1, data=enough)
    assert config.data_horizon_hours == 48
