"""The site meter over MQTT: a consumer access device (a smart meter's CAD, a clamp meter, a
Home Assistant bridge) that publishes the home's import and export on
``cem/<home>/<device>/meter`` (docs/devices.md, "MQTT"). Read like the Modbus meters
(:meth:`read_meter`), from the last message, without a round trip."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from adapters.devices.mqtt.connection import DeviceLive, MqttCem
from adapters.devices.mqtt.topics import OFFLINE
from kernel.devices import DeviceUnavailableError, MeterReading


class MqttMeterDriver:
    """The site meter ``device_id`` on ``cem``'s broker.

    Args:
        stale_after_s: a reading older than this is no reading (a live message counts from
            its arrival, a retained one from its ``at``): the meter is reported unavailable.
    """

    def __init__(
        self, name: str, cem: MqttCem, device_id: str, *, stale_after_s: float = 120.0
    ) -> None:
        self.name = name
        self.device_id = device_id
        self.stale_after_s = stale_after_s
        self._cem = cem
        self._live: DeviceLive = cem.device(device_id)

    async def read_meter(self) -> MeterReading:
        """The meter's last reading; :class:`DeviceUnavailableError` when the broker is not
        connected, the meter is offline, or its reading is missing, invalid or stale."""
        if not self._cem.connected:
            raise DeviceUnavailableError(
                f"meter {self.device_id}: not connected to the MQTT broker {self._cem.address}"
            )
        if self._live.availability == OFFLINE:
            raise DeviceUnavailableError(f"meter {self.device_id} is offline")
        reading = self._live.meter
        if reading is None:
            raise DeviceUnavailableError(
                f"meter {self.device_id} has published no valid reading on "
                f"{self._live.topics.meter}"
            )
        if self._live.meter_retained:
            age_s = (datetime.now(UTC) - reading.at_utc).total_seconds()
        else:
            age_s = time.monotonic() - self._live.meter_received_s
        if age_s > self.stale_after_s:
            raise DeviceUnavailableError(
                f"meter {self.device_id}'s reading is {age_s:.0f} s old "
                f"(stale after {self.stale_after_s:.0f} s)"
            )
        return reading
