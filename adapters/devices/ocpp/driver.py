"""The :class:`~adapters.devices.driver.DeviceDriver` of a charger behind the CSMS.

Besides the protocol's ``apply`` (one limit, from now on), :meth:`OcppChargerDriver.send_plan`
sends the next hours of the plan as a charging schedule, so the charger keeps to the plan on
its own clock if the CEM goes away; :meth:`OcppChargerDriver.boost` charges at full power now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.devices.driver import DeviceState, DeviceUnavailableError, Setpoint
from adapters.devices.ocpp.csms import Csms
from adapters.devices.ocpp.link import ChargerLink
from adapters.devices.ocpp.schedule import ChargingSchedule, PlanStep, schedule_for
from adapters.devices.ocpp.settings import ChargerSettings
from adapters.devices.ocpp.state import ChargerInfo, ChargerLive
from kernel.devices import DeviceCapabilities

log = logging.getLogger(__name__)


class OcppChargerDriver:
    """One paired charger, driven through ``csms``."""

    def __init__(self, name: str, csms: Csms, identity: str) -> None:
        self.name = name
        self.identity = identity
        self._csms = csms
        csms.charger(identity)  # KeyError: not paired
        self._sent: tuple[ChargerLink, str | None, ChargingSchedule] | None = None

    def info(self) -> ChargerInfo | None:
        """Vendor, model, serial and firmware from the charger's last BootNotification."""
        try:
            return self._csms.live(self.identity).info
        except KeyError:
            return None

    async def capabilities(self) -> DeviceCapabilities | None:
        """What the charger reported it can do after its last boot (maximum power and phases
        on 2.0.1, phases on 1.6: :mod:`adapters.devices.ocpp.configuration`); None before."""
        try:
            return self._csms.live(self.identity).capabilities
        except KeyError:
            return None

    async def read_state(self) -> DeviceState:
        """The charger's last reported state; :class:`DeviceUnavailableError` when it is not
        connected, silent for longer than the CSMS's ``stale_after_s`` or faulted."""
        live = self._live()
        if not live.connected:
            raise DeviceUnavailableError(f"charger {self.identity} is not connected")
        silent_s = time.monotonic() - live.last_seen_monotonic_s
        if silent_s > self._csms.settings.stale_after_s:
            raise DeviceUnavailableError(
                f"charger {self.identity} has been silent for {silent_s:.0f} s"
            )
        if live.faulted:
            raise DeviceUnavailableError(f"charger {self.identity} reports a fault")
        return DeviceState(
            at_utc=datetime.now(UTC),
            power_kw=live.power_kw,
            soc=live.soc,
            plugged_in=live.plugged_in,
        )

    async def apply(self, setpoint: Setpoint) -> None:
        """Limit the charger to ``setpoint.power_kw`` from now until the next profile."""
        await self.send_plan([PlanStep(datetime.now(UTC), setpoint.power_kw)], force=True)

    async def send_plan(
        self,
        steps: Sequence[PlanStep],
        end_utc: datetime | None = None,
        *,
        force: bool = False,
    ) -> bool:
        """Send the plan's next hours as a charging profile: a TxProfile when a transaction
        runs, else a TxDefaultProfile. The steps' times are sent as given (a randomised delay
        is applied by the caller). The same schedule is not sent twice to the same connection
        unless ``force``; returns whether a profile was sent.

        Raises:
            DeviceUnavailableError: not connected, the charger refused the profile (the
                reason is in the message), did not answer, or disconnected.
            ValueError: the steps do not make a schedule.
        """
        charger = self._charger()
        schedule = schedule_for(charger, steps, end_utc)
        link = self._link()
        transaction_id = self._live().transaction_id
        if not force and self._sent == (link, transaction_id, schedule):
            return False
        await link.set_profile(
            schedule, transaction_id=transaction_id, connector_id=charger.connector_id
        )
        self._sent = (link, transaction_id, schedule)
        log.info(
            "charger %s holds a %s schedule of %d period(s) from %s",
            self.identity,
            "transaction" if transaction_id else "default",
            len(schedule.periods),
            schedule.start_utc.isoformat(),
        )
        return True

    async def boost(self) -> None:
        """Charge at the charger's rated power now: a TxProfile at full power on a running
        transaction, else a remote start with that profile.

        Raises:
            DeviceUnavailableError: not connected, or the charger refused.
        """
        charger = self._charger()
        schedule = schedule_for(charger, [PlanStep(datetime.now(UTC), charger.max_power_kw)])
        link = self._link()
        transaction_id = self._live().transaction_id
        if transaction_id is not None:
            await link.set_profile(
                schedule, transaction_id=transaction_id, connector_id=charger.connector_id
            )
        else:
            await link.start_transaction(
                schedule, connector_id=charger.connector_id, id_tag=charger.id_tag
            )
        self._sent = None
        log.info("charger %s boosted to %.1f kW", self.identity, charger.max_power_kw)

    def _charger(self) -> ChargerSettings:
        try:
            return self._csms.charger(self.identity)
        except KeyError:
            raise DeviceUnavailableError(f"charger {self.identity} is not paired") from None

    def _live(self) -> ChargerLive:
        try:
            return self._csms.live(self.identity)
        except KeyError:
            raise DeviceUnavailableError(f"charger {self.identity} is not paired") from None

    def _link(self) -> ChargerLink:
        link = self._csms.link(self.identity)
        if link is None:
            raise DeviceUnavailableError(f"charger {self.identity} is not connected")
        return link
