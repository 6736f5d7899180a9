"""The simulated charge point's car and the charging profiles it keeps (the physics of
:mod:`hems.simulation.protocols.ocpp_charge_point`): the effective profile's limit, the car
drawing it up to its own maximum, its SoC rising with the energy it takes."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TICK_S = 0.1
MIN_CURRENT_A = 6.0


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=float), flush=True)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Profile:
    """A charging profile as the charger keeps it."""

    purpose: str
    start: datetime
    duration_s: float | None
    unit: str
    periods: list[tuple[float, float, int | None]]  # (start offset s, limit, phases)

    def limit_kw(self, at: datetime, voltage_v: float, phases: int) -> float | None:
        """The limit in force at ``at`` [kW], None outside the schedule."""
        elapsed = (at - self.start).total_seconds()
        if elapsed < 0 or (self.duration_s is not None and elapsed >= self.duration_s):
            return None
        current = None
        for offset, limit, period_phases in self.periods:
            if offset <= elapsed:
                current = (limit, period_phases)
        if current is None:
            return None
        limit, period_phases = current
        if self.unit == "W":
            return limit / 1000.0
        if limit < MIN_CURRENT_A:
            return 0.0
        return limit * voltage_v * (period_phases or phases) / 1000.0


def profile_from(raw: dict[str, Any], version: str) -> Profile:
    schedule = raw["charging_schedule"]
    if version == "2.0.1":
        schedule = schedule[0]
    start = parse_time(schedule["start_schedule"]) if "start_schedule" in schedule else None
    return Profile(
        purpose=raw["charging_profile_purpose"],
        start=start or datetime.now(UTC),
        duration_s=float(schedule["duration"]) if "duration" in schedule else None,
        unit=schedule["charging_rate_unit"],
        periods=[
            (float(p["start_period"]), float(p["limit"]), p.get("number_phases"))
            for p in schedule["charging_schedule_period"]
        ],
    )


@dataclass
class Car:
    """The charger's state and the car's physics."""

    args: argparse.Namespace
    plugged: bool = False
    soc: float = 0.5
    energy_wh: float = 0.0
    power_kw: float = 0.0
    transaction_id: str | int | None = None
    default_profile: Profile | None = None
    tx_profile: Profile | None = None
    connected: bool = False
    stay_offline: bool = False

    def limit_kw(self) -> float:
        """The effective limit: the transaction's profile, else the default, else rated."""
        at = datetime.now(UTC)
        for profile in (self.tx_profile if self.transaction_id else None, self.default_profile):
            if profile is not None:
                limit = profile.limit_kw(at, self.args.voltage, self.args.phases)
                if limit is not None:
                    return limit
        return float(self.args.rated_kw)

    def runs(self, transaction_id: object) -> bool:
        """Whether a profile for ``transaction_id`` (None: not for a transaction) applies."""
        return transaction_id is None or str(transaction_id) == str(self.transaction_id)

    def take_profile(self, raw: dict[str, Any], version: str) -> bool:
        """Store a SetChargingProfile's profile as the transaction's or the default one; a
        TxProfile for a transaction this charger is not running is refused (1.6 3.13.4,
        2.0.1 K01), as is every profile with ``--reject-profiles``. True if accepted."""
        accepted = not self.args.reject_profiles and self.runs(raw.get("transaction_id"))
        if accepted:
            profile = profile_from(raw, version)
            if profile.purpose == "TxProfile":
                self.tx_profile = profile
            else:
                self.default_profile = profile
        return accepted

    def step(self, dt_s: float) -> None:
        charging = self.plugged and self.transaction_id is not None and self.soc < 1.0
        self.power_kw = min(self.limit_kw(), self.args.car_max_kw) if charging else 0.0
        self.energy_wh += self.power_kw * 1000.0 * dt_s / 3600.0
        self.soc = min(1.0, self.soc + self.power_kw * dt_s / 3600.0 / self.args.capacity_kwh)


async def profile_fault(station: Any, raw_msg: str) -> bool:
    """With ``--on-profile ignore`` a SetChargingProfile is never answered; with ``drop`` the
    connection is closed on receiving it (and the charger stays offline). True if so."""
    mode = station.car.args.on_profile
    if mode == "answer" or '"SetChargingProfile"' not in raw_msg:
        return False
    emit("profile_fault", mode=mode)
    if mode == "drop":
        station.car.stay_offline = True
        await station._connection.close()
    return True


async def held_back(station: Any, raw_msg: str) -> bool:
    """Whether a message from the CSMS is kept from the station's handlers (see
    :func:`profile_fault`); a CALLERROR it sends is emitted for the test to see."""
    if raw_msg.startswith("[4"):
        emit("call_error", raw=raw_msg)
    return await profile_fault(station, raw_msg)
