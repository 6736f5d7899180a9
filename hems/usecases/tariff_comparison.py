"""Which tariff suits this home, for the consumer (``GET /homes/{id}/tariff-comparison``).

The planner and each tariff product's natural baseline
(:func:`hems.backtest.tariff_comparison.compare_tariffs_here`) on the home's devices and
preferences over :data:`DAYS` days of the bundled sample (the demo's market, replayed from the
current week's Monday), at hourly slots: about half a minute of CPU, so it runs in one child
process in the background. The first ask starts it and is answered "computing"; later asks get
the table, kept for :data:`MAX_AGE` (a change of the home's tariff or preferences starts a new
one). The home's own tariff replaces that product's default rates.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences

log = logging.getLogger(__name__)

DAYS = 2
"""The comparison's period [d]."""
MAX_AGE = timedelta(hours=24)
"""How long a finished comparison is served before the next ask recomputes it."""

Status = Literal["computing", "finished", "failed"]


def compare_on_sample(
    home_json: str, preferences_json: str, start_iso: str, days: int = DAYS
) -> list[dict[str, Any]]:
    """The comparison's rows for a home (runs in the child process; JSON in, records out)."""
    from hems.backtest.config import BacktestConfig
    from hems.backtest.tariff_comparison import DEFAULT_TARIFFS, compare_tariffs_here

    home = HomeSpec.model_validate_json(home_json)
    tariffs = tuple(home.tariff if t.product == home.tariff.product else t for t in DEFAULT_TARIFFS)
    config = BacktestConfig(
        home=home,
        preferences=Preferences.model_validate_json(preferences_json),
        start_utc=datetime.fromisoformat(start_iso),
        days=days,
        slot_minutes=60,
        horizon_hours=24,
        foresight_horizon_hours=24,
    )
    table = compare_tariffs_here(config, tariffs, cadence="hourly")
    return [{str(k): v for k, v in row.items()} for row in table.to_dict(orient="records")]


@dataclass
class Comparison:
    """One home's comparison: its inputs' key, when it started, its rows or why it failed."""

    key: str
    started_utc: datetime
    future: Future[list[dict[str, Any]]] = field(repr=False)
    days: int = DAYS

    @property
    def status(self) -> Status:
        if not self.future.done():
            return "computing"
        return "failed" if self.future.exception() is not None else "finished"

    def answer(self) -> dict[str, Any]:
        """What the API returns (the rows once finished; the reason once failed)."""
        out: dict[str, Any] = {
            "status": self.status,
            "started_utc": self.started_utc.isoformat(),
            "days": self.days,
            "data": "the bundled sample (the demo's market) at hourly slots",
        }
        if self.status == "finished":
            out["tariffs"] = self.future.result()
        elif self.status == "failed":
            out["problem"] = str(self.future.exception())
        return out


def _still_good(kept: Comparison | None, key: str, now: datetime) -> bool:
    """The kept comparison answers: the same inputs, not failed, computing or fresh."""
    if kept is None or kept.key != key or kept.status == "failed":
        return False
    return kept.status == "computing" or now - kept.started_utc < MAX_AGE


class TariffComparisons:
    """Every home's latest comparison, computed one at a time in a child process."""

    def __init__(self, days: int = DAYS) -> None:
        self.days = days
        self._pool: ProcessPoolExecutor | None = None
        self._homes: dict[int, Comparison] = {}
        self._lock = threading.Lock()

    def ask(self, home_id: int, home: HomeSpec, preferences: Preferences) -> Comparison:
        """The home's comparison: the kept one if its inputs are unchanged and it is fresh (or
        still computing), else a new one started now."""
        key = home.model_dump_json() + preferences.model_dump_json()
        now = datetime.now(UTC)
        with self._lock:
            kept = self._homes.get(home_id)
            if _still_good(kept, key, now):
                assert kept is not None
                return kept
            if self._pool is None:
                spawn = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
            monday = (now - timedelta(days=now.weekday())).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            future = self._pool.submit(
                compare_on_sample,
                home.model_dump_json(),
                preferences.model_dump_json(),
                monday.isoformat(),
                self.days,
            )
            comparison = Comparison(key=key, started_utc=now, future=future, days=self.days)
            self._homes[home_id] = comparison
            log.info("tariff comparison of home %d started", home_id)
            return comparison

    def forget(self, home_id: int) -> None:
        """Drop a deleted home's comparison."""
        with self._lock:
            self._homes.pop(home_id, None)

    def stop(self) -> None:
        """Stop the child process (the service stops); a comparison under way is dropped."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
