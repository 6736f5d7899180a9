"""Rebuild forecasts/profiles/domestic_class1.csv from the Elexon profile class 1 year in
shared/data (3YP repository, MIT, (c) 2018 Scot Wheeler, Avinash Vijay).

Usage: python examples/build_domestic_profile.py [SHARED_DATA_DIR]   (default ../shared/data)

The file holds, per month, day type (weekday / weekend) and half hour of the local day, the
mean load relative to the year's mean load (dimensionless). The base-load forecaster scales it
to a home's own level. The source year has no timestamps: row 0 is a Monday 00:00 and the year
is taken to start on 1 January (365 days).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "forecasts" / "profiles" / "domestic_class1.csv"


def main(data: Path) -> None:
    load_kw = pd.read_csv(data / "household/3yp_elexon_class1_year_load_kW.csv")["power kW"]
    n = len(load_kw)
    day = np.arange(n) // 48
    days = pd.Timestamp("2001-01-01") + pd.to_timedelta(day, unit="D")  # 2001-01-01 was a Monday
    frame = pd.DataFrame(
        {
            "month": days.month,
            "day_type": np.where(days.day_of_week >= 5, "weekend", "weekday"),
            "slot": np.arange(n) % 48,
            "relative_load": load_kw.to_numpy() / load_kw.mean(),
        }
    )
    table = frame.groupby(["month", "day_type", "slot"], as_index=False)["relative_load"].mean()
    table["relative_load"] = table["relative_load"].round(4)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({len(table)} rows)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"))
