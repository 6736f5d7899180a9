"""What both OCPP versions' connections share: the guard on incoming frames, calls that end
when the charger disconnects, and the interface the driver uses.

The guard exists because the ``ocpp`` library logs a malformed frame or an unhandled action
with a traceback; here each gets one clear warning, and nothing a charger sends can end the
connection's loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from ocpp.exceptions import NotImplementedError as OcppNotImplementedError
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, unpack
from ocpp.routing import after, on
from websockets.exceptions import ConnectionClosed

from adapters.devices.driver import DeviceUnavailableError
from adapters.devices.ocpp.schedule import ChargingSchedule

log = logging.getLogger(__name__)

# how much of a bad frame a log line quotes
_QUOTE_CHARS = 200

Handler = TypeVar("Handler", bound=Callable[..., Any])


def handles(action: str) -> Callable[[Handler], Handler]:
    """``ocpp.routing.on`` with a type: marks a method as the handler of ``action``."""
    decorator: Callable[[Handler], Handler] = on(action)
    return decorator


def handles_after(action: str) -> Callable[[Handler], Handler]:
    """``ocpp.routing.after`` with a type: runs a method once ``action`` has been answered (a
    coroutine runs as a task of its own, so it may call the charger)."""
    decorator: Callable[[Handler], Handler] = after(action)
    return decorator


class LibraryLog(logging.LoggerAdapter[logging.Logger]):
    """The ``ocpp`` library's log for the CSMS: where it logs an exception (a payload that
    fails the OCPP schema, a handler that raised), one warning line with the error instead of a
    traceback; a charger's bad input is not the CEM's crash."""

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        self.warning(f"{msg}: %s", *args, error)


LIBRARY_LOG = LibraryLog(logging.getLogger("ocpp"), {})


class ChargerLink(Protocol):
    """A connected charger, whichever OCPP version it speaks."""

    identity: str
    closed: asyncio.Event

    async def close(self) -> None:
        """End the session."""
        ...

    async def set_profile(
        self, schedule: ChargingSchedule, *, transaction_id: str | None, connector_id: int
    ) -> None:
        """Send ``schedule`` as a TxProfile (with ``transaction_id``) or a TxDefaultProfile;
        raises :class:`DeviceUnavailableError` when refused or unanswered."""
        ...

    async def start_transaction(
        self, schedule: ChargingSchedule, *, connector_id: int, id_tag: str
    ) -> None:
        """Ask the charger to start charging under ``schedule`` (RemoteStartTransaction /
        RequestStartTransaction); raises :class:`DeviceUnavailableError` when refused."""
        ...


async def route_guarded(
    identity: str,
    raw: str | bytes,
    route_map: Mapping[str, Any],
    route: Callable[[str | bytes], Awaitable[None]],
    send: Callable[[str], Awaitable[None]],
) -> None:
    """Hand ``raw`` to the library's router unless it is malformed (logged, dropped) or a call
    of an action no handler takes (logged, answered with a NotImplemented CALLERROR)."""
    try:
        message = unpack(raw)
    except OCPPError as error:
        log.warning(
            "charger %s sent a malformed OCPP frame (%s), ignored: %.*r",
            identity,
            error.details.get("cause", error.description),
            _QUOTE_CHARS,
            raw,
        )
        return
    try:
        if isinstance(message, Call) and (
            not isinstance(message.action, str) or message.action not in route_map
        ):
            log.warning(
                "charger %s sent an action the CSMS does not handle: %.*r",
                identity,
                _QUOTE_CHARS,
                message.action,
            )
            refusal = OcppNotImplementedError(
                description=f"the CSMS does not handle {message.action!r}"
            )
            await send(message.create_call_error(refusal).to_json())
            return
        await route(raw)
    except (asyncio.CancelledError, ConnectionClosed):
        raise
    except Exception as failure:  # a charger's frame must never end the loop
        log.warning(
            "charger %s: could not handle frame %.*r: %s", identity, _QUOTE_CHARS, raw, failure
        )


async def call_until_closed(
    identity: str,
    closed: asyncio.Event,
    call: Awaitable[Any],
    what: str,
) -> Any:
    """The result of ``call`` (a ChargePoint.call), or :class:`DeviceUnavailableError` when the
    charger disconnects first, answers with a CALLERROR or does not answer in time."""
    call_task = asyncio.ensure_future(call)
    closed_task = asyncio.ensure_future(closed.wait())
    try:
        done, _ = await asyncio.wait({call_task, closed_task}, return_when=asyncio.FIRST_COMPLETED)
        if call_task not in done:
            raise DeviceUnavailableError(f"charger {identity} disconnected during {what}")
        return call_task.result()
    except OCPPError as error:
        raise DeviceUnavailableError(
            f"charger {identity} answered {what} with an error: "
            f"{type(error).__name__} {error.description}"
        ) from error
    except TimeoutError as error:
        raise DeviceUnavailableError(f"charger {identity} did not answer {what}") from error
    finally:
        for task in (call_task, closed_task):
            if not task.done():
                task.cancel()
