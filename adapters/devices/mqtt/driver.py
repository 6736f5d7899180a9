"""The :class:`~adapters.devices.driver.DeviceDriver` of one device on the home's MQTT broker.

``read_state`` answers from the device's last ``state`` message (retained or live), so it costs
no round trip; ``apply`` publishes the setpoint (or, for an SG-Ready heat pump, the SG-Ready
state the power maps to) retained with QoS 1, so a device that reconnects gets it, and waits,
bounded, for the device's ``ack`` of that sequence number. ``send_plan`` leaves the plan's next
hours on the broker for the device to follow through a CEM outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.devices.driver import DeviceState, DeviceUnavailableError, Setpoint
from adapters.devices.mqtt.connection import DeviceLive, MqttCem
from adapters.devices.mqtt.discovery import (
    DeviceDescription,
    cem_discovery_message,
    discovery_messages,
)
from adapters.devices.mqtt.payloads import (
    DEFAULT_HOLD_S,
    Ack,
    PlanStep,
    plan_payload,
    setpoint_payload,
    sg_ready_payload,
)
from adapters.devices.mqtt.sg_ready import SgReadyThresholds, sg_ready_state
from adapters.devices.mqtt.topics import OFFLINE
from kernel.devices import DeviceCapabilities

log = logging.getLogger(__name__)


class MqttDeviceDriver:
    """One device, ``device_id``, on ``cem``'s broker.

    Args:
        stale_after_s: a state older than this is no state: the device is reported
            unavailable (a live message counts from its arrival, a retained one from its
            ``at`` time).
        ack_timeout_s: how long ``apply`` and ``send_plan`` wait for the device's ``ack``.
        sg_ready: the thresholds for a heat pump driven by SG-Ready states; None: setpoints.
        hold_s: how long the device holds a setpoint after receiving it (then the plan, then
            its own mode): re-send setpoints well within it.
    """

    def __init__(
        self,
        name: str,
        cem: MqttCem,
        device_id: str,
        *,
        stale_after_s: float = 60.0,
        ack_timeout_s: float = 5.0,
        sg_ready: SgReadyThresholds | None = None,
        hold_s: float = DEFAULT_HOLD_S,
    ) -> None:
        self.name = name
        self.device_id = device_id
        self.stale_after_s = stale_after_s
        self.ack_timeout_s = ack_timeout_s
        self.sg_ready = sg_ready
        self.hold_s = hold_s
        self._cem = cem
        self._live: DeviceLive = cem.device(device_id)

    def _available(self) -> None:
        if not self._cem.connected:
            raise DeviceUnavailableError(
                f"device {self.device_id}: not connected to the MQTT broker {self._cem.address}"
            )
        if self._live.availability == OFFLINE:
            raise DeviceUnavailableError(
                f"device {self.device_id} is offline ({self._live.topics.availability})"
            )
        if self._live.invalid is not None:
            raise DeviceUnavailableError(f"device {self.device_id}: {self._live.invalid}")

    async def capabilities(self) -> DeviceCapabilities | None:
        """What the device's retained ``capabilities`` message says it can do; None when it
        sent none."""
        return self._live.capabilities

    async def read_state(self) -> DeviceState:
        """The device's last state; :class:`DeviceUnavailableError` when the broker is not
        connected, the device is offline, its state is missing, garbage or stale."""
        self._available()
        state = self._live.state
        if state is None:
            raise DeviceUnavailableError(
                f"device {self.device_id} has published no state on {self._live.topics.state}"
            )
        if self._live.state_retained:
            age_s = (datetime.now(UTC) - state.at_utc).total_seconds()
        else:
            age_s = time.monotonic() - self._live.state_received_s
        if age_s > self.stale_after_s:
            raise DeviceUnavailableError(
                f"device {self.device_id}'s state is {age_s:.0f} s old "
                f"(stale after {self.stale_after_s:.0f} s)"
            )
        return DeviceState(
            at_utc=state.at_utc,
            power_kw=state.power_kw,
            soc=state.soc,
            temperature_c=state.temperature_c,
            manual_override=state.manual_override or self._live.manual_setpoint_kw is not None,
        )

    async def apply(self, setpoint: Setpoint) -> None:
        """Publish ``setpoint`` (or its SG-Ready state) and wait for the device's ack;
        :class:`DeviceUnavailableError` if it cannot be published, the device is offline
        (it gets the retained setpoint when it returns), refuses it or does not answer in
        ``ack_timeout_s``."""
        if not math.isfinite(setpoint.power_kw):
            raise ValueError(f"setpoint power must be a finite number, got {setpoint.power_kw}")
        seq = self._live.next_seq()
        now = datetime.now(UTC)
        if self.sg_ready is not None:
            state = sg_ready_state(setpoint.power_kw, self.sg_ready)
            await self._send(
                self._live.topics.sg_ready, sg_ready_payload(seq, state, now, self.hold_s), seq
            )
        else:
            await self._send(
                self._live.topics.setpoint, setpoint_payload(seq, setpoint, now, self.hold_s), seq
            )
        self._live.manual_setpoint_kw = None

    async def send_plan(self, steps: Sequence[PlanStep], end_utc: datetime) -> None:
        """Leave the plan's next hours on the ``plan`` topic (retained), each step with its
        start time, so the device follows it if the CEM goes offline; waits for the ack."""
        if not steps:
            raise ValueError("a plan needs at least one step")
        starts = [step.start_utc for step in steps]
        if starts != sorted(starts) or end_utc <= starts[-1]:
            raise ValueError("plan steps must start in order and before the plan's end")
        for step in steps:
            if not math.isfinite(step.power_kw):
                raise ValueError(f"plan power must be a finite number, got {step.power_kw}")
        states = None
        if self.sg_ready is not None:
            states = [sg_ready_state(step.power_kw, self.sg_ready) for step in steps]
        seq = self._live.next_seq()
        payload = plan_payload(seq, steps, end_utc, datetime.now(UTC), states)
        await self._send(self._live.topics.plan, payload, seq)

    async def publish_discovery(self, description: DeviceDescription) -> None:
        """Publish the Home Assistant discovery messages of this device (and of the CEM's own
        connectivity), retained; re-sent after each reconnection like every retained message."""
        s = self._cem.settings
        if description.device_id != self.device_id:
            raise ValueError(f"description of {description.device_id}, not {self.device_id}")
        messages = [
            cem_discovery_message(s.home, prefix=s.prefix, discovery_prefix=s.discovery_prefix)
        ]
        messages += discovery_messages(
            s.home, description, prefix=s.prefix, discovery_prefix=s.discovery_prefix
        )
        for topic, payload in messages:
            await self._cem.publish(topic, payload, retain=True, timeout_s=self.ack_timeout_s)

    async def _send(self, topic: str, payload: bytes, seq: int) -> None:
        # Published even to an offline device: it is retained, so the device finds it on its
        # return; the caller still hears that the device did not take it.
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._live.acks[seq] = future
        deadline = time.monotonic() + self.ack_timeout_s
        try:
            await self._cem.publish(topic, payload, retain=True, timeout_s=self.ack_timeout_s)
            if self._live.availability == OFFLINE:
                raise DeviceUnavailableError(
                    f"device {self.device_id} is offline; the message on {topic} is retained "
                    "for when it returns"
                )
            ack = await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise DeviceUnavailableError(
                f"device {self.device_id} did not acknowledge {topic} seq {seq} within "
                f"{self.ack_timeout_s} s"
            ) from None
        finally:
            self._live.acks.pop(seq, None)
            if future.done() and not future.cancelled():
                future.exception()  # seen: a failure after publish() raised is not "unretrieved"
        if not ack.accepted:
            raise DeviceUnavailableError(
                f"device {self.device_id} refused {topic} seq {seq}: "
                f"{ack.reason or 'no reason given'}"
            )
