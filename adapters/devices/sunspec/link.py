"""One Modbus TCP connection to one device (pymodbus), reconnected on demand.

Modbus has no authentication and no encryption: the link talks only to the host and port it
was configured with (the consumer's own device on the home network) and never searches for
devices. Every failure is raised as :class:`DeviceUnavailableError` (or a subclass) naming the
device and the reason; after a lost connection or a timeout the next call connects again, so
a device that restarts is picked up without restarting the service.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from adapters.devices.driver import DeviceUnavailableError
from adapters.devices.sunspec.errors import ModbusExceptionError

log = logging.getLogger(__name__)

MAX_READ_REGISTERS = 125
"""Modbus's limit on one read request."""


class ModbusLink:
    """Reads and writes holding registers of unit ``unit_id`` at ``host``:``port``.

    Requests are serialised (one at a time on the connection); each is bounded by
    ``timeout_s`` and not retried here: the service retries with backoff.
    """

    def __init__(self, host: str, port: int = 502, *, unit_id: int = 1, timeout_s: float = 2.0):
        if not 0 <= unit_id <= 247:
            raise ValueError(f"Modbus unit id {unit_id} is outside 0-247")
        if not 0 < port < 65536:
            raise ValueError(f"TCP port {port} is outside 1-65535")
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._failing = False

    @property
    def where(self) -> str:
        """The device's address for messages."""
        return f"{self.host}:{self.port} unit {self.unit_id}"

    async def read(self, address: int, count: int, *, input_registers: bool = False) -> list[int]:
        """``count`` holding registers (function 3), or input registers (function 4), from
        ``address`` (several requests when more than :data:`MAX_READ_REGISTERS`)."""
        if address < 0 or count < 1 or address + count > 0x10000:
            raise ModbusExceptionError(
                f"{self.where}: registers {address}..{address + count - 1} are outside 0-65535",
                code=2,
            )
        out: list[int] = []
        async with self._lock:
            while len(out) < count:
                n = min(MAX_READ_REGISTERS, count - len(out))
                start = address + len(out)
                response = await self._call(
                    f"read {n} {'input ' if input_registers else ''}registers at {start}",
                    functools.partial(self._read, start, n, input_registers),
                )
                registers = list(response.registers)
                if len(registers) != n:
                    raise DeviceUnavailableError(
                        f"{self.where}: asked for {n} registers at {start}, got {len(registers)}"
                    )
                out.extend(registers)
        return out

    async def write(self, address: int, values: Sequence[int]) -> None:
        """Write ``values`` to consecutive holding registers from ``address`` (function 16)."""
        async with self._lock:
            await self._call(
                f"write {len(values)} registers at {address}",
                functools.partial(self._write, address, list(values)),
            )

    async def close(self) -> None:
        """Drop the connection (the next call opens a new one)."""
        async with self._lock:
            self._drop()
        await asyncio.sleep(0)  # the transport closes its socket on the loop's next turn

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        # reconnect_delay=0: no reconnection in the background; the next call reconnects
        client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException) as e:
            client.close()
            raise DeviceUnavailableError(f"{self.where}: cannot connect ({e!r})") from e
        if not ok:
            client.close()
            raise DeviceUnavailableError(f"{self.where}: cannot connect (connection refused)")
        self._client = client
        return client

    async def _read(
        self, address: int, count: int, input_registers: bool, client: AsyncModbusTcpClient
    ) -> ModbusPDU:
        if input_registers:
            return await client.read_input_registers(address, count=count, device_id=self.unit_id)
        return await client.read_holding_registers(address, count=count, device_id=self.unit_id)

    async def _write(
        self, address: int, values: list[int], client: AsyncModbusTcpClient
    ) -> ModbusPDU:
        return await client.write_registers(address, values, device_id=self.unit_id)

    async def _call(
        self, what: str, request: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        """One request; a warning is logged when the device stops answering (or starts
        refusing) and a line when it answers again, not one per failed poll."""
        try:
            response = await self._request(what, request)
        except DeviceUnavailableError as e:
            if not self._failing:
                log.warning("%s", e)
                self._failing = True
            raise
        if self._failing:
            log.info("%s: answering again", self.where)
            self._failing = False
        return response

    async def _request(
        self, what: str, request: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        client = await self._connected()
        try:
            # pymodbus bounds the request by timeout_s; this bounds it too should it hang
            async with asyncio.timeout(self.timeout_s * 2):
                response = await request(client)
        except (TimeoutError, ModbusIOException) as e:
            # pymodbus reports a request unanswered within its timeout as an IO error
            self._drop()
            raise DeviceUnavailableError(
                f"{self.where}: no answer to {what} within {self.timeout_s} s (timeout)"
            ) from e
        except (ModbusException, OSError) as e:
            self._drop()
            raise DeviceUnavailableError(f"{self.where}: {what} failed ({e})") from e
        if isinstance(response, ExceptionResponse) or response.isError():
            code = int(getattr(response, "exception_code", 0))
            raise ModbusExceptionError(
                f"{self.where}: {what} answered with Modbus exception {code}", code=code
            )
        return response
