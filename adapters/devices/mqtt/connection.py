"""The CEM's one connection to a home's MQTT broker, shared by the home's MQTT devices.

It runs in a background task that reconnects with backoff when the broker goes away, so the
drivers never hold a dead connection: while it is down their calls raise
:class:`DeviceUnavailableError` at once. It leaves ``offline`` as the CEM's last will on
``<prefix>/<home>/availability`` (and publishes ``online`` there, retained, on each connection)
so the devices know when to fall back to the retained plan. Every message a device sends is
checked; garbage is logged and reported as the device being unavailable, never raised into the
loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from adapters.devices.driver import DeviceUnavailableError, Setpoint
from adapters.devices.mqtt.payloads import (
    Ack,
    InvalidPayloadError,
    ReportedState,
    parse_ack,
    parse_capabilities,
    parse_meter,
    parse_power_command,
    parse_state,
    setpoint_payload,
)
from adapters.devices.mqtt.settings import BrokerSettings
from adapters.devices.mqtt.topics import (
    OFFLINE,
    ONLINE,
    DeviceTopics,
    cem_availability_topic,
    check_id,
    device_topics,
    split_device_topic,
)
from kernel.devices import DeviceCapabilities, MeterReading

log = logging.getLogger(__name__)

# CONNACK codes that mean "these credentials are refused" (MQTT 3.1.1: 4, 5; MQTT 5: 134, 135).
_AUTH_REFUSED = {4, 5, 134, 135}


class MqttAuthError(DeviceUnavailableError):
    """The broker refused the CEM's credentials."""


class MqttAccessDeniedError(DeviceUnavailableError):
    """The broker's ACL denied the CEM a topic it needs."""


@dataclass
class DeviceLive:
    """What the CEM knows of one device, from its messages."""

    topics: DeviceTopics
    state: ReportedState | None = None
    state_received_s: float = 0.0  # monotonic
    state_retained: bool = False
    invalid: str | None = None  # why the device's last state or availability was refused
    availability: str | None = None
    manual_setpoint_kw: float | None = None
    capabilities: DeviceCapabilities | None = None  # from its retained ``capabilities``
    meter: MeterReading | None = None  # a site meter's last ``meter`` message
    meter_received_s: float = 0.0  # monotonic
    meter_retained: bool = False
    seq: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    acks: dict[int, asyncio.Future[Ack]] = field(default_factory=dict)

    def next_seq(self) -> int:
        """A sequence number that rises across CEM restarts too (it starts at the clock's ms)."""
        self.seq += 1
        return self.seq


def _code(rc: Any) -> int:
    return int(rc.value) if hasattr(rc, "value") else int(rc)


def _payload(message: aiomqtt.Message) -> bytes:
    raw = message.payload
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    return b"" if raw is None else str(raw).encode()


class MqttCem:
    """The CEM on one home's broker. Use ``async with MqttCem(settings) as cem``."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self._availability = cem_availability_topic(settings.home, settings.prefix)
        self._devices: dict[str, DeviceLive] = {}
        self._retained: dict[str, bytes] = {}  # the CEM's own retained messages, re-sent
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._lost_logged = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        return self._client is not None

    def device(self, device_id: str) -> DeviceLive:
        """The live record of ``device_id`` (registered on first use)."""
        check_id("device", device_id)
        live = self._devices.get(device_id)
        if live is None:
            live = DeviceLive(device_topics(self.settings.home, device_id, self.settings.prefix))
            self._devices[device_id] = live
        return live

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect; raises :class:`MqttAuthError`, :class:`MqttAccessDeniedError` or
        :class:`DeviceUnavailableError` if the first connection fails. Later losses are
        retried in the background."""
        self._first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-cem-{self.settings.home}")
        try:
            await asyncio.wait_for(asyncio.shield(self._first), self.settings.connect_timeout_s)
        except TimeoutError:
            await self._stop_task()
            raise DeviceUnavailableError(
                f"MQTT broker {self.address} did not accept a connection within "
                f"{self.settings.connect_timeout_s} s"
            ) from None
        except BaseException:
            await self._stop_task()
            raise

    async def close(self) -> None:
        """Say ``offline`` (a clean disconnect does not fire the will) and disconnect."""
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(self._availability, OFFLINE, qos=1, retain=True, timeout=2)
        await self._stop_task()

    async def _stop_task(self) -> None:
        for task in list(self._tasks):  # a manual setpoint being passed on
            task.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def publish(self, topic: str, payload: bytes, *, retain: bool, timeout_s: float) -> None:
        """Publish with QoS 1; a retained message is kept to be re-sent after a reconnection
        (a broker without persistence loses it). :class:`DeviceUnavailableError` when the
        broker is not connected or does not take it within ``timeout_s``."""
        client = self._client
        if client is None:
            raise DeviceUnavailableError(f"not connected to the MQTT broker {self.address}")
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=timeout_s)
        except aiomqtt.MqttError as exc:
            raise DeviceUnavailableError(
                f"could not publish to {topic} on {self.address}: {exc}"
            ) from None
        if retain:
            self._retained[topic] = payload

    def _client_for_attempt(self) -> aiomqtt.Client:
        s = self.settings
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=f"{s.prefix}-{s.home}-cem",
            will=aiomqtt.Will(self._availability, OFFLINE, qos=1, retain=True),
            keepalive=s.keepalive_s,
            tls_context=s.tls_context(),
            timeout=s.connect_timeout_s,
            # paho leaves Nagle's algorithm on: a QoS 1 message then waits for the peer's
            # delayed TCP ack, ~40 ms a hop (measured: apply() -> ack 88 ms median, 2 ms
            # without it).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    async def _run(self) -> None:
        delay_s = self.settings.reconnect_min_s
        while True:
            error: DeviceUnavailableError
            try:
                async with self._client_for_attempt() as client:
                    await self._subscribe(client)
                    await client.publish(self._availability, ONLINE, qos=1, retain=True)
                    await self._confirm_access(client)
                    for topic, payload in list(self._retained.items()):
                        await client.publish(topic, payload, qos=1, retain=True)
                    self._client = client
                    delay_s = self.settings.reconnect_min_s
                    self._connected()
                    async for message in client.messages:
                        self._handle(message)
                error = DeviceUnavailableError(f"MQTT broker {self.address} closed the session")
            except MqttConnectError as exc:
                error = self._connect_error(exc)
            except DeviceUnavailableError as exc:  # an ACL denial
                error = exc
            except (aiomqtt.MqttError, OSError) as exc:
                error = DeviceUnavailableError(f"MQTT broker {self.address}: {exc}")
            finally:
                self._client = None
                self._fail_pending()
            if self._first is not None and not self._first.done():
                self._first.set_exception(error)
                return
            if not self._lost_logged:
                log.warning(
                    "%s; reconnecting (every %.1f-%.0f s)",
                    error,
                    delay_s,
                    self.settings.reconnect_max_s,
                )
                self._lost_logged = True
            else:
                log.debug("%s; retrying in %.1f s", error, delay_s)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, self.settings.reconnect_max_s)

    def _connected(self) -> None:
        if self._first is not None and not self._first.done():
            self._first.set_result(None)
            log.info("connected to MQTT broker %s as %s", self.address, self.settings.username)
        elif self._lost_logged:
            log.warning("reconnected to MQTT broker %s", self.address)
        self._lost_logged = False

    def _connect_error(self, exc: MqttConnectError) -> DeviceUnavailableError:
        if exc.rc is not None and _code(exc.rc) in _AUTH_REFUSED:
            return MqttAuthError(
                f"MQTT broker {self.address} refused the CEM's credentials "
                f"(user {self.settings.username!r}): {exc}"
            )
        return DeviceUnavailableError(f"MQTT broker {self.address} refused the connection: {exc}")

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        head = f"{self.settings.prefix}/{self.settings.home}/+"
        topics = [
            self._availability,
            f"{head}/state",
            f"{head}/availability",
            f"{head}/ack",
            f"{head}/setpoint/set",
            f"{head}/capabilities",
            f"{head}/meter",
        ]
        codes = await client.subscribe([(topic, 1) for topic in topics])
        denied = [t for t, c in zip(topics, codes, strict=True) if _code(c) >= 0x80]
        if denied:
            raise MqttAccessDeniedError(
                f"MQTT broker {self.address} denied user {self.settings.username!r} "
                f"the subscription to {', '.join(denied)} (check the broker's ACL)"
            )

    async def _confirm_access(self, client: aiomqtt.Client) -> None:
        """Wait for our own ``online`` to come back: a broker that drops a publish or a
        subscription its ACL denies, without saying so (Mosquitto does, over MQTT 3.1.1),
        is caught here rather than by setpoints that silently go nowhere."""

        async def echo() -> None:
            async for message in client.messages:
                if message.topic.value != self._availability:
                    self._handle(message)  # a device's retained state, not to be lost
                elif not message.retain and _payload(message) == ONLINE.encode():
                    return

        try:
            await asyncio.wait_for(echo(), min(self.settings.connect_timeout_s / 2, 5.0))
        except TimeoutError:
            raise MqttAccessDeniedError(
                f"MQTT broker {self.address} did not pass the CEM's own message on "
                f"{self._availability} back to it: check that its ACL lets user "
                f"{self.settings.username!r} read and write "
                f"{self.settings.prefix}/{self.settings.home}/#"
            ) from None

    def _fail_pending(self) -> None:
        for live in self._devices.values():
            for future in live.acks.values():
                if not future.done():
                    future.set_exception(
                        DeviceUnavailableError(f"lost the MQTT broker {self.address}")
                    )
            live.acks.clear()

    def _handle(self, message: aiomqtt.Message) -> None:
        """One message from a device; never raises (a bad one is logged and reported)."""
        topic = message.topic.value
        try:
            device_id, leaf = split_device_topic(topic, self.settings.home, self.settings.prefix)
        except ValueError:
            log.debug("ignored a message on %s", topic)
            return
        # Kept for a device no driver has asked for yet: its retained state arrives once, at
        # the subscription. Only the home's devices can publish here (the ACL).
        try:
            live = self.device(device_id)
        except ValueError:
            log.debug("ignored a message on %s: not a device id", topic)
            return
        payload = _payload(message)
        try:
            if leaf == "state":
                self._on_state(live, payload, retained=bool(message.retain))
            elif leaf == "availability":
                self._on_availability(live, payload)
            elif leaf == "ack":
                self._on_ack(live, parse_ack(payload))
            elif leaf == "setpoint/set":
                self._on_manual_setpoint(device_id, live, parse_power_command(payload))
            elif leaf == "meter":
                self._on_meter(live, payload, retained=bool(message.retain))
            elif leaf == "capabilities":
                live.capabilities = parse_capabilities(device_id, payload) if payload else None
        except InvalidPayloadError as exc:
            retained = " (retained)" if message.retain else ""
            log.warning(
                "device %s sent an invalid %s on %s%s, ignored: %s",
                device_id,
                leaf,
                topic,
                retained,
                exc,
            )
            if leaf == "state":
                live.state, live.invalid = None, f"its last state was invalid: {exc}"
            if leaf == "meter":
                live.meter = None  # not read as a reading until a valid one comes
        except Exception:  # a bug of ours must not end the connection's loop
            log.exception("failed to handle a message on %s", topic)

    def _on_manual_setpoint(self, device_id: str, live: DeviceLive, power_kw: float) -> None:
        """Home Assistant's number entity: the consumer's own setpoint, passed on to the device
        and reported as a manual override until the CEM's next ``apply``."""
        log.info("a manual setpoint for %s from Home Assistant: %.3f kW", device_id, power_kw)
        live.manual_setpoint_kw = power_kw
        payload = setpoint_payload(live.next_seq(), Setpoint(power_kw=power_kw), datetime.now(UTC))
        task = asyncio.create_task(self._publish_logged(live.topics.setpoint, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_logged(self, topic: str, payload: bytes) -> None:
        try:
            await self.publish(topic, payload, retain=True, timeout_s=5.0)
        except DeviceUnavailableError as exc:
            log.warning("%s", exc)

    @staticmethod
    def _on_state(live: DeviceLive, payload: bytes, *, retained: bool) -> None:
        if not payload:  # the retained state was cleared
            live.state, live.invalid = None, None
            return
        live.state = parse_state(payload)
        live.state_received_s = time.monotonic()
        live.state_retained = retained
        live.invalid = None

    @staticmethod
    def _on_meter(live: DeviceLive, payload: bytes, *, retained: bool) -> None:
        live.meter = parse_meter(payload) if payload else None
        live.meter_received_s = time.monotonic()
        live.meter_retained = retained

    @staticmethod
    def _on_availability(live: DeviceLive, payload: bytes) -> None:
        text = payload.decode("utf-8", errors="replace").strip()
        if text not in (ONLINE, OFFLINE, ""):
            live.availability = None
            raise InvalidPayloadError(f"availability is neither online nor offline: {text[:40]!r}")
        live.availability = text or None

    @staticmethod
    def _on_ack(live: DeviceLive, ack: Ack) -> None:
        future = live.acks.pop(ack.seq, None)
        if future is not None and not future.done():
            future.set_result(ack)
