"""Which tariff suits the reference home: the planner against each tariff's natural baseline.

Run: ``python -m benchmarks.bench_tariffs --data ../shared/data --days 14 [--start 2020-01-06]
[--workers 2] [--cadence slot]``. The data folder may also be given as ``HEMS_DATA_DIR``;
without it the benchmark says so and exits with status 2.

The reference home (:func:`hems.backtest.reference_home`) on the real 2020 series, once per
tariff product at its default rates (docs/service.md, "Tariffs"): Agile is the data's Agile
2020 import with a flat 5.5 p/kWh export, every other product its own rates
(:mod:`hems.backtest.tariff_comparison`). Prints one row per tariff, cheapest planner total
first: the natural baseline's and the planner's energy bills, the standing charges over the
period and the totals [GBP]; writes ``benchmarks/results/tariffs_<days>d.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from hems.backtest import DataMissingError, real_data_config
from hems.backtest.config import ROLLING_CADENCES
from hems.backtest.data import DATA_DIR_ENV, DataGapError
from hems.backtest.tariff_comparison import compare_tariffs

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=f"data folder (or ${DATA_DIR_ENV})")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--start", default="2020-01-06", help="UTC date")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cadence", default="slot", choices=ROLLING_CADENCES)
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    try:
        config = real_data_config(args.data, start, args.days, allow_fill=True)
    except (DataMissingError, DataGapError) as exc:
        print(f"bench_tariffs: {exc}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    table = compare_tariffs(config, cadence=args.cadence, workers=args.workers)
    wall_s = time.perf_counter() - began
    print(table.round(2).to_string(index=False))
    print(f"{len(table)} tariffs in {wall_s:.1f} s wall on {args.workers} worker(s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"tariffs_{args.days}d.json"
    report = {
        "command": " ".join(["python -m benchmarks.bench_tariffs", *(argv or sys.argv[1:])]),
        "start_utc": start.isoformat(),
        "days": args.days,
        "wall_s": wall_s,
        "tariffs": table.to_dict(orient="records"),
    }
    target.write_text(json.dumps(report, indent=2, default=str))
    print(f"written {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
