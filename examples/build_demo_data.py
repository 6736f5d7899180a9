"""Rebuild hems/demo_data/demo_home.csv from the openly licensed series in shared/data.

Usage: python examples/build_demo_data.py [SHARED_DATA_DIR]   (default ../shared/data)

Sources (all open licences, see docs/data.md):
* import/export prices: "Agile-like" prices from Elexon's system sell price (BMRS, (c) Elexon
  Limited) through Octopus's published Agile formula (import: 2.2 x wholesale + 12p in
  16:00-19:00, plus 5 % VAT, capped at 35p; export: 0.95 x wholesale + 5.93p in 16:00-19:00);
* carbon intensity: NESO Carbon Intensity API, national actuals (CC BY 4.0), same calendar days
  of 2020;
* base load: Elexon profile class 1 (3YP repository, MIT), scaled to 4,030 kWh/yr;
* PV: PVGIS hourly output of ~1 kWp in Oxfordshire, 2016 (PVGIS (c) European Union), same
  calendar days, interpolated to 30 minutes, expressed per kWp;
* outdoor temperature: a synthetic mid-January day (2 °C at 06:00, 7 °C at 15:00): no openly
  licensed temperature series is bundled.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2017-01-16 12:00", tz="UTC")  # a Monday in January (local = UTC)
N = 96
OUT = Path(__file__).resolve().parents[1] / "hems" / "demo_data" / "demo_home.csv"


def main(data: Path) -> None:
    index = pd.date_range(START, periods=N, freq="30min", name="slot_start_utc")
    ssp = pd.read_csv(data / "tariffs/3yp_elexon_ssp_sbp_niv_2016.csv")
    ssp["start"] = pd.to_datetime(ssp["Settlement Date"], format="%d/%m/%Y").dt.tz_localize(
        "Europe/London"
    ) + pd.to_timedelta((ssp["Settlement Period"] - 1) * 30, unit="min")
    ssp = ssp.set_index(ssp["start"].dt.tz_convert("UTC"))["System Sell Price(£/MWh)"]
    wholesale = ssp[~ssp.index.duplicated()].reindex(index).interpolate().to_numpy() / 1000.0
    hour = index.tz_convert("Europe/London").hour
    peak = (hour >= 16) & (hour < 19)
    import_price = np.minimum(1.05 * (2.2 * wholesale + np.where(peak, 0.12, 0.0)), 0.35)
    export_price = 0.95 * wholesale + np.where(peak, 0.0593, 0.0)

    carbon = pd.read_csv(data / "carbon/3yp_carbon_intensity_national_2020.csv")
    carbon.index = pd.to_datetime(carbon["Datetime (UTC)"], utc=True)
    carbon = carbon[~carbon.index.duplicated()]["Actual Carbon Intensity (gCO2/kWh)"]
    carbon_index = index + (
        pd.Timestamp("2020-01-20", tz="UTC") - pd.Timestamp("2017-01-16", tz="UTC")
    )
    intensity = carbon.reindex(carbon_index).interpolate(limit_direction="both").to_numpy()

    load = pd.read_csv(data / "household/3yp_elexon_class1_year_load_kW.csv")["power kW"].to_numpy()
    base_load = load[24 : 24 + N]  # row 0 is a Monday 00:00; the plan starts at Monday 12:00

    pv = pd.read_csv(data / "pv/3yp_oxon_pvgis_hourly_2016.csv", nrows=8784)
    pv.index = pd.to_datetime(pv["Date"], format="%Y%m%d:%H%M", utc=True) - pd.Timedelta(minutes=26)
    pv_index = index - (pd.Timestamp("2017-01-16", tz="UTC") - pd.Timestamp("2016-01-18", tz="UTC"))
    pv_kw = pv["EPV"].astype(float).div(1000.0).reindex(pv.index.union(pv_index)).interpolate()
    pv_per_kwp = pv_kw.reindex(pv_index).clip(lower=0).to_numpy()

    hours = (index.hour + index.minute / 60).to_numpy()
    temperature = 4.5 - 2.5 * np.cos((hours - 3.0) / 24 * 2 * np.pi)

    frame = pd.DataFrame(
        {
            "import_price_gbp_per_kwh": import_price.round(5),
            "export_price_gbp_per_kwh": export_price.round(5),
            "carbon_intensity_g_per_kwh": intensity.round(1),
            "base_load_kw": base_load.round(4),
            "pv_kw_per_kwp": pv_per_kwp.round(4),
            "outdoor_temperature_c": temperature.round(2),
        },
        index=index,
    )
    assert not frame.isna().any().any(), frame[frame.isna().any(axis=1)]
    frame.to_csv(OUT, date_format="%Y-%m-%dT%H:%M:%SZ")
    print(f"wrote {OUT} ({len(frame)} slots)")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "shared" / "data"
    )
